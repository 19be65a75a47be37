"""Cloud-init user data of the app VM (v1, and v2's GPU VM), rendered by pure functions.

One typed input, :class:`AppVmStartup`, and one pure render function per template under
``templates/``:

===================================  =====================================
template                             render function
===================================  =====================================
``app-vm.cloud-config.yaml.j2``      :func:`render_app_vm_cloud_config`
``app-vm-setup.sh.j2``               :func:`render_app_vm_setup_script`
``app-vm.compose.yaml.j2``           :func:`render_app_vm_compose`
``app-vm.Caddyfile.j2``              :func:`render_app_vm_caddyfile`
``gpu-vm.ops-agent.yaml.j2``         :func:`render_gpu_ops_agent_config`
===================================  =====================================

GPU VM (stage v2): set ``AppVmStartup.gpu`` to a :class:`GpuSetup` and the same functions
render the GPU variant from the ``gpu-vm*`` child templates, which ``{% extends %}`` the
``app-vm*`` ones and only fill their blocks (NVIDIA driver with Canonical-signed modules,
reboot once, CUDA toolkit, container toolkit, DCGM + Ops Agent ``dcgm`` receiver, GPU
check published as guest attribute ``looper/gpu``); there is one copy of the shared logic.

The cloud-config embeds the other three documents through ``write_files``; each is
rendered on its own and embedded as a YAML scalar produced by PyYAML (never by pasting
text at an indentation), and the cloud-config renderer parses its own output to prove
that every embedded file reads back byte for byte.

Escaping (:mod:`looper_infra.bootstrap.render`): values reach the setup script through
``shlex.quote``, the compose file as YAML double-quoted scalars with ``$`` doubled (compose
interpolation), the Caddyfile as quoted tokens; the domain and the port, which a Caddyfile
site address cannot quote, come validated from config.

The templates define empty Jinja blocks (``title``, ``extra_settings``, ``extra_functions``,
``extra_steps``, ``extra_on_exit``, ``extra_write_files``, ``extra_runcmd``, ``app_extra``)
that a later stage's template fills by ``{% extends %}``; empty, they render nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from looper_infra.bootstrap import versions
from looper_infra.bootstrap.render import check_embedding, render
from looper_infra.facts import app_image

# --- where things live on the VM ---------------------------------------------------------

#: Directory of the compose file and the Caddyfile.
APP_VM_CONFIG_DIR: Final = "/etc/looper"
#: Markers, lock and readiness stamp of the setup script.
APP_VM_STATE_DIR: Final = "/var/lib/looper"
#: The idempotent setup script (run by cloud-init `runcmd`, and at every boot by systemd).
APP_VM_SETUP_SCRIPT_PATH: Final = "/usr/local/sbin/looper-setup"
#: systemd unit that re-runs the setup script at boot (heals a failed first boot).
APP_VM_SETUP_UNIT: Final = "looper-setup.service"
#: Guest attribute (namespace/key) where the GPU VM publishes its GPU check:
#: ``gcloud compute instances get-guest-attributes VM --query-path=looper/gpu`` shows
#: ``ready: N x MODEL``, ``rebooting: ...`` or ``failed: ...``.
APP_VM_GPU_GUEST_ATTRIBUTE: Final = "looper/gpu"

_PATHS: Final = MappingProxyType(
    {
        "config_dir": APP_VM_CONFIG_DIR,
        "state_dir": APP_VM_STATE_DIR,
        "compose_file": f"{APP_VM_CONFIG_DIR}/compose.yaml",
        "caddyfile": f"{APP_VM_CONFIG_DIR}/Caddyfile",
        "setup_script": APP_VM_SETUP_SCRIPT_PATH,
        "setup_unit": f"/etc/systemd/system/{APP_VM_SETUP_UNIT}",
        "keyring_dir": "/etc/apt/keyrings",
        "apt_sources_dir": "/etc/apt/sources.list.d",
        "os_release": "/etc/os-release",
        # GPU VM only
        "apt_preferences_dir": "/etc/apt/preferences.d",
        "ops_agent_gpu_config": f"{APP_VM_CONFIG_DIR}/ops-agent.yaml",
        "ops_agent_config": "/etc/google-cloud-ops-agent/config.yaml",
        "boot_id": "/proc/sys/kernel/random/boot_id",
        "guest_attribute_url": "http://metadata.google.internal/computeMetadata/v1/instance/"
        f"guest-attributes/{APP_VM_GPU_GUEST_ATTRIBUTE}",
    }
)

_CUDA_TOOLKIT_VERSION = re.compile(r"([0-9]+)\.([0-9]+)\.[0-9]+-[0-9]+")


def _image_repository(ref: str) -> str:
    """`docker.io/traefik/whoami:v1@sha256:...` -> `traefik/whoami`."""
    head, _, last = ref.split("@", 1)[0].rpartition("/")
    name = last.split(":", 1)[0]
    return (f"{head}/{name}" if head else name).removeprefix("docker.io/")


@dataclass(frozen=True)
class GpuSetup:
    """The NVIDIA part of the GPU VM's startup (stage v2).

    ``count`` GPUs named ``model`` (as ``nvidia-smi --query-gpu=name`` reports them) must be
    visible on the host and inside a container before the app starts. ``count`` comes
    validated from config (1-8, the G2 machine type's); the version fields default to the
    pins in :mod:`looper_infra.bootstrap.versions`, which say where each was confirmed and
    why the driver loads under Secure Boot.
    """

    count: int
    model: str = versions.NVIDIA_L4_MODEL
    #: Also install the CUDA toolkit (nvcc, libraries) on the host; containers bring their
    #: own CUDA runtime either way.
    install_cuda_toolkit: bool = True
    driver_branch: str = versions.NVIDIA_DRIVER_BRANCH
    driver_version: str = versions.NVIDIA_DRIVER_VERSION
    cuda_toolkit_version: str = versions.CUDA_TOOLKIT_VERSION
    container_toolkit_version: str = versions.NVIDIA_CONTAINER_TOOLKIT_VERSION
    dcgm_version: str = versions.DCGM_VERSION
    cuda_image: str = versions.CUDA_BASE_IMAGE

    @property
    def cuda_toolkit_package(self) -> str:
        """`cuda-toolkit-12-9` for version 12.9.1-1."""
        match = _CUDA_TOOLKIT_VERSION.fullmatch(self.cuda_toolkit_version)
        if match is None:
            raise ValueError(f"{self.cuda_toolkit_version!r} is not a CUDA toolkit apt version (12.9.1-1)")
        return f"cuda-toolkit-{match[1]}-{match[2]}"


@dataclass(frozen=True)
class AppVmStartup:
    """Everything the app VM's first boot needs.

    The app container listens on ``app_port``, published on 127.0.0.1 only; Caddy proxies
    ``https://<domain>`` to it over the compose network and obtains certificates itself
    (HTTP-01 / TLS-ALPN). The container always gets ``PORT=<app_port>`` in its environment
    unless ``app_env`` sets ``PORT``.

    With ``gpu`` set (stage v2) the VM also gets the NVIDIA stack, the app container gets
    every GPU, and the app only starts once ``gpu.count`` GPUs pass the host and container
    checks.

    Values come validated from config (``config.gcp``: domain, e-mail, image, port, health
    path, environment keys) or are pins from ``versions``; the renderers quote each for the
    file it lands in and check nothing again.
    """

    domain: str
    #: ACME account for Caddy's certificates; None only behind a load balancer
    acme_email: str | None
    app_image: str
    app_port: int
    health_path: str
    #: Non-secret environment of the app container (rendered in instance metadata!).
    app_env: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Arguments for the image's entrypoint (compose `command`). None: `--port=<app_port>`
    #: for the default app image (traefik/whoami), the image's own default otherwise.
    app_command: tuple[str, ...] | None = None
    caddy_image: str = versions.CADDY_IMAGE
    ubuntu_codename: str = versions.UBUNTU_CODENAME
    docker_ce_version: str = versions.DOCKER_CE_VERSION
    docker_ce_cli_version: str = versions.DOCKER_CE_CLI_VERSION
    containerd_io_version: str = versions.CONTAINERD_IO_VERSION
    docker_compose_plugin_version: str = versions.DOCKER_COMPOSE_PLUGIN_VERSION
    ops_agent_version: str = versions.OPS_AGENT_VERSION
    #: NVIDIA GPUs to set up (stage v2); None: a VM without GPUs (stage v1).
    gpu: GpuSetup | None = None
    #: Stage v3: a load balancer terminates TLS and health-checks the app port directly,
    #: so there is no Caddy and the app port is published on all interfaces (the
    #: firewall admits only the load balancer's ranges).
    behind_load_balancer: bool = False

    def __post_init__(self) -> None:
        # Not guaranteed by config (``app.env`` takes any string): a NUL cannot reach a
        # container's environment, so it is refused here rather than at boot.
        with_nul = [key for key, value in self.app_env.items() if "\x00" in value]
        if with_nul:
            raise ValueError(
                f"invalid AppVmStartup: app_env: values of {', '.join(map(repr, with_nul))} "
                "must not contain NUL characters"
            )
        # Freeze the mapping so the spec cannot change after construction.
        object.__setattr__(self, "app_env", MappingProxyType(dict(self.app_env)))

    @property
    def effective_app_command(self) -> tuple[str, ...]:
        """The compose `command` of the app container (empty: the image's default)."""
        if self.app_command is not None:
            return self.app_command
        if _image_repository(self.app_image) == app_image.DEMO_APP_REPOSITORY:
            return (f"--port={self.app_port}",)
        return ()

    @property
    def effective_app_env(self) -> dict[str, str]:
        """The app container's environment: `PORT` first, then `app_env` sorted by key."""
        env = {"PORT": str(self.app_port)}
        env.update(sorted(self.app_env.items()))
        return env


# --- render functions (pure: same spec, same text) -----------------------------------------


def _render(template: str, **context: Any) -> str:
    return render(template, paths=_PATHS, **context)


def _variant(spec: AppVmStartup, template: str) -> str:
    """``app-vm<rest>`` or, for a GPU VM, its child template ``gpu-vm<rest>``."""
    return "gpu-vm" + template.removeprefix("app-vm") if spec.gpu is not None else template


#: Repositories, keys and names of the GPU stack (template context of the GPU variant).
_NVIDIA: Final = MappingProxyType(
    {
        "kernel_flavour": versions.UBUNTU_KERNEL_FLAVOUR,
        "cuda_apt_url": versions.CUDA_APT_URL,
        "cuda_apt_key_url": versions.CUDA_APT_KEY_URL,
        "cuda_apt_key_fingerprint": versions.CUDA_APT_KEY_FINGERPRINT,
        "ctk_apt_url": versions.NVIDIA_CONTAINER_TOOLKIT_APT_URL,
        "ctk_key_url": versions.NVIDIA_CONTAINER_TOOLKIT_KEY_URL,
        "ctk_key_fingerprint": versions.NVIDIA_CONTAINER_TOOLKIT_KEY_FINGERPRINT,
        "dcgm_service": versions.DCGM_SERVICE,
    }
)


def render_app_vm_setup_script(spec: AppVmStartup) -> str:
    """The idempotent bash setup script (``app-vm-setup.sh.j2``; GPU: ``gpu-vm-setup.sh.j2``)."""
    return _render(
        _variant(spec, "app-vm-setup.sh.j2"),
        spec=spec,
        gpu=spec.gpu,
        nvidia=_NVIDIA,
        docker_apt_url=versions.DOCKER_APT_URL,
        docker_apt_key_fingerprint=versions.DOCKER_APT_KEY_FINGERPRINT,
        ops_agent_repo_script_url=versions.OPS_AGENT_REPO_SCRIPT_URL,
    )


def render_gpu_ops_agent_config(gpu: GpuSetup) -> str:
    """Ops Agent config of the GPU VM: host metrics plus the ``dcgm`` receiver (DCGM metrics).

    Written to ``/etc/looper/ops-agent.yaml`` by cloud-init and installed as
    ``/etc/google-cloud-ops-agent/config.yaml`` by the setup script once DCGM runs.
    """
    return _render("gpu-vm.ops-agent.yaml.j2", gpu=gpu)


def render_app_vm_compose(spec: AppVmStartup) -> str:
    """The compose file: app + Caddy (``app-vm.compose.yaml.j2``; GPU: every GPU to the app)."""
    return _render(
        _variant(spec, "app-vm.compose.yaml.j2"),
        spec=spec,
        command=spec.effective_app_command,
        env=spec.effective_app_env,
    )


def render_app_vm_caddyfile(spec: AppVmStartup) -> str:
    """Caddy's config: HTTPS for the domain, proxy to the app (``app-vm.Caddyfile.j2``)."""
    return _render("app-vm.Caddyfile.j2", spec=spec)


def render_app_vm_cloud_config(spec: AppVmStartup) -> str:
    """The VM's cloud-init user data (``app-vm.cloud-config.yaml.j2``; GPU: ``gpu-vm...``)."""
    files = {
        _PATHS["compose_file"]: render_app_vm_compose(spec),
        _PATHS["setup_script"]: render_app_vm_setup_script(spec),
    }
    if not spec.behind_load_balancer:
        files[_PATHS["caddyfile"]] = render_app_vm_caddyfile(spec)
    if spec.gpu is not None:
        files[_PATHS["ops_agent_gpu_config"]] = render_gpu_ops_agent_config(spec.gpu)
    text = _render(
        _variant(spec, "app-vm.cloud-config.yaml.j2"),
        spec=spec,
        compose=files[_PATHS["compose_file"]],
        caddyfile=files.get(_PATHS["caddyfile"]),
        setup_script=files[_PATHS["setup_script"]],
        ops_agent_config=files.get(_PATHS["ops_agent_gpu_config"]),
    )
    check_embedding(text, files)
    return text


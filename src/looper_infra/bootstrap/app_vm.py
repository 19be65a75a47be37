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

Escaping: values reach the setup script through ``shlex.quote``, the compose file as
YAML double-quoted scalars with ``$`` doubled (compose interpolation), the Caddyfile as
quoted tokens; values that cannot be quoted safely (domain, port) are validated instead.

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

# --- validation ------------------------------------------------------------------------------

_FQDN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
# Tag or digest required; no whitespace, quotes or shell/YAML metacharacters possible.
_IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$")
# URL path (and optional query) characters that need no quoting in a URL, Caddyfile or YAML.
_HEALTH_PATH = re.compile(r"^/[A-Za-z0-9._~/%?&=+-]*$")
_ENV_KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_APT_VERSION = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*$")
_SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_CODENAME = re.compile(r"^[a-z]+$")
_DRIVER_BRANCH = re.compile(r"^[0-9]{3,4}$")
_CUDA_TOOLKIT_VERSION = re.compile(r"^([0-9]+)\.([0-9]+)\.[0-9]+-[0-9]+$")
# DCGM 3.x only: the package `datacenter-gpu-manager` (DCGM 4 is datacenter-gpu-manager-4-*,
# which the Ops Agent's dcgm receiver does not support).
_DCGM3_VERSION = re.compile(r"^1:3\.[0-9]+\.[0-9]+$")
# What nvidia-smi prints as a GPU name, e.g. "NVIDIA L4", "NVIDIA A100-SXM4-40GB".
_GPU_MODEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 ._()/+-]{0,62}[A-Za-z0-9)])?$")
#: Most GPUs one Compute Engine VM takes (g2-standard-96: 8 x L4).
MAX_GPU_COUNT: Final = 8


def _fqdn_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    labels = value.split(".")
    if (
        value != value.lower()
        or len(value) > 253
        or len(labels) < 2
        or not all(_FQDN_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        return (
            f"{value!r} is not a lowercase fully-qualified domain name "
            "(e.g. app.example.com, no trailing dot)"
        )
    return None


def _image_problem(value: object) -> str | None:
    if not isinstance(value, str) or not _IMAGE_REF.match(value):
        return f"{value!r} is not a valid container image reference"
    last = value.rsplit("/", 1)[-1]
    if "@sha256:" not in value and ":" not in last:
        return f"image {value!r} must be pinned with a tag or digest"
    if last.endswith(":latest"):
        return f"image {value!r} uses the floating tag 'latest'; pin a version"
    return None


def _pattern_problem(value: object, pattern: re.Pattern[str], what: str) -> str | None:
    if not isinstance(value, str) or not pattern.match(value):
        return f"{value!r} is not {what}"
    return None


def _has_nul(value: str) -> bool:
    return "\x00" in value


def _image_repository(ref: str) -> str:
    """`docker.io/traefik/whoami:v1@sha256:...` -> `traefik/whoami`."""
    head, _, last = ref.split("@", 1)[0].rpartition("/")
    name = last.split(":", 1)[0]
    return (f"{head}/{name}" if head else name).removeprefix("docker.io/")


@dataclass(frozen=True)
class GpuSetup:
    """The NVIDIA part of the GPU VM's startup (stage v2); validated on construction.

    ``count`` GPUs named ``model`` (as ``nvidia-smi --query-gpu=name`` reports them) must be
    visible on the host and inside a container before the app starts. The version fields
    default to the pins in :mod:`looper_infra.bootstrap.versions`, which say where each was
    confirmed and why the driver loads under Secure Boot.
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

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}
        count = self.count
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_GPU_COUNT:
            problems["count"] = f"{count!r} is not a GPU count (1-{MAX_GPU_COUNT})"
        if not isinstance(self.model, str) or not _GPU_MODEL.match(self.model):
            problems["model"] = (
                f"{self.model!r} is not a GPU name as nvidia-smi prints it (e.g. 'NVIDIA L4')"
            )
        if not isinstance(self.install_cuda_toolkit, bool):
            problems["install_cuda_toolkit"] = f"{self.install_cuda_toolkit!r} is not a bool"
        branch_ok = isinstance(self.driver_branch, str) and bool(
            _DRIVER_BRANCH.match(self.driver_branch)
        )
        if not branch_ok:
            problems["driver_branch"] = (
                f"{self.driver_branch!r} is not an NVIDIA driver branch (e.g. '580')"
            )
        version = self.driver_version
        if not isinstance(version, str) or not _APT_VERSION.match(version):
            problems["driver_version"] = f"{version!r} is not an apt version"
        elif branch_ok and not version.startswith(f"{self.driver_branch}."):
            problems["driver_version"] = (
                f"{version!r} is not a version of driver branch {self.driver_branch}"
            )
        if not isinstance(self.cuda_toolkit_version, str) or not _CUDA_TOOLKIT_VERSION.match(
            self.cuda_toolkit_version
        ):
            problems["cuda_toolkit_version"] = (
                f"{self.cuda_toolkit_version!r} is not a CUDA toolkit apt version "
                "(MAJOR.MINOR.PATCH-N, e.g. '12.9.1-1')"
            )
        check = _pattern_problem(self.container_toolkit_version, _APT_VERSION, "an apt version")
        if check:
            problems["container_toolkit_version"] = check
        check = _pattern_problem(
            self.dcgm_version, _DCGM3_VERSION,
            "a DCGM 3 apt version like '1:3.3.9' (the Ops Agent dcgm receiver supports "
            "DCGM 3.1-3.3.9, not DCGM 4)",
        )
        if check:
            problems["dcgm_version"] = check
        check = _image_problem(self.cuda_image)
        if check:
            problems["cuda_image"] = check
        if problems:
            raise ValueError(
                "invalid GpuSetup: "
                + "; ".join(f"{name}: {why}" for name, why in problems.items())
            )

    @property
    def cuda_toolkit_package(self) -> str:
        """`cuda-toolkit-12-9` for version 12.9.1-1."""
        match = _CUDA_TOOLKIT_VERSION.match(self.cuda_toolkit_version)
        assert match is not None  # validated
        return f"cuda-toolkit-{match[1]}-{match[2]}"


@dataclass(frozen=True)
class AppVmStartup:
    """Everything the app VM's first boot needs; validated on construction.

    The app container listens on ``app_port``, published on 127.0.0.1 only; Caddy proxies
    ``https://<domain>`` to it over the compose network and obtains certificates itself
    (HTTP-01 / TLS-ALPN). The container always gets ``PORT=<app_port>`` in its environment
    unless ``app_env`` sets ``PORT``.

    With ``gpu`` set (stage v2) the VM also gets the NVIDIA stack, the app container gets
    every GPU, and the app only starts once ``gpu.count`` GPUs pass the host and container
    checks.
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
        problems: dict[str, str] = {}

        def check(name: str, problem: str | None) -> None:
            if problem is not None:
                problems[name] = problem

        check("domain", _fqdn_problem(self.domain))
        if self.behind_load_balancer:
            if self.acme_email is not None:
                problems["acme_email"] = "not used behind a load balancer (no Caddy); leave it None"
        else:
            check(
                "acme_email", _pattern_problem(self.acme_email, _EMAIL, "a valid e-mail address")
            )
        check("app_image", _image_problem(self.app_image))
        check("caddy_image", _image_problem(self.caddy_image))
        port = self.app_port
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            problems["app_port"] = f"{port!r} is not a port number (1-65535)"
        if not isinstance(self.health_path, str) or not self.health_path.startswith("/"):
            problems["health_path"] = f"{self.health_path!r} must start with '/'"
        else:
            check(
                "health_path",
                _pattern_problem(
                    self.health_path, _HEALTH_PATH,
                    "a plain URL path (letters, digits and ._~/%?&=+- only)",
                ),
            )
        check("app_env", self._env_problem())
        check("app_command", self._command_problem())
        check(
            "ubuntu_codename",
            _pattern_problem(self.ubuntu_codename, _CODENAME, "an Ubuntu codename"),
        )
        for name in (
            "docker_ce_version",
            "docker_ce_cli_version",
            "containerd_io_version",
            "docker_compose_plugin_version",
        ):
            check(name, _pattern_problem(getattr(self, name), _APT_VERSION, "an apt version"))
        check(
            "ops_agent_version",
            _pattern_problem(self.ops_agent_version, _SEMVER, "a MAJOR.MINOR.PATCH version"),
        )
        check("gpu", self._gpu_problem())
        if problems:
            raise ValueError(
                "invalid AppVmStartup: "
                + "; ".join(f"{name}: {why}" for name, why in problems.items())
            )
        # Freeze the mapping so the spec cannot change after validation.
        object.__setattr__(self, "app_env", MappingProxyType(dict(self.app_env)))

    def _env_problem(self) -> str | None:
        if not isinstance(self.app_env, Mapping):
            return "must be a mapping of str to str"
        bad_keys = [k for k in self.app_env if not (isinstance(k, str) and _ENV_KEY.match(k))]
        bad_values = [
            k for k, v in self.app_env.items() if not isinstance(v, str) or _has_nul(v)
        ]
        parts = []
        if bad_keys:
            parts.append(
                f"keys {', '.join(repr(k) for k in bad_keys)} do not match [A-Z_][A-Z0-9_]*"
            )
        if bad_values:
            parts.append(
                f"values of {', '.join(repr(k) for k in bad_values)} must be strings "
                "without NUL characters"
            )
        return "; ".join(parts) or None

    def _gpu_problem(self) -> str | None:
        if self.gpu is None:
            return None
        if not isinstance(self.gpu, GpuSetup):
            return f"{self.gpu!r} is not a GpuSetup or None"
        if self.ubuntu_codename != versions.UBUNTU_CODENAME:
            return (
                f"the NVIDIA packages are pinned for Ubuntu {versions.UBUNTU_CODENAME}, "
                f"not {self.ubuntu_codename!r}"
            )
        return None

    def _command_problem(self) -> str | None:
        command = self.app_command
        if command is None:
            return None
        if not isinstance(command, tuple) or not all(
            isinstance(a, str) and not _has_nul(a) for a in command
        ):
            return "must be None or a tuple of strings without NUL characters"
        return None

    @property
    def effective_app_command(self) -> tuple[str, ...]:
        """The compose `command` of the app container (empty: the image's default)."""
        if self.app_command is not None:
            return self.app_command
        if _image_repository(self.app_image) == versions.DEFAULT_APP_REPOSITORY:
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


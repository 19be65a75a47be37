"""Cloud-init user data of the v1 app VM, rendered from templates by pure functions.

One typed input, :class:`AppVmStartup`, and one pure render function per template under
``templates/``:

===================================  =====================================
template                             render function
===================================  =====================================
``app-vm.cloud-config.yaml.j2``      :func:`render_app_vm_cloud_config`
``app-vm-setup.sh.j2``               :func:`render_app_vm_setup_script`
``app-vm.compose.yaml.j2``           :func:`render_app_vm_compose`
``app-vm.Caddyfile.j2``              :func:`render_app_vm_caddyfile`
===================================  =====================================

The cloud-config embeds the other three documents through ``write_files``; each is
rendered on its own and embedded as a YAML scalar produced by PyYAML (never by pasting
text at an indentation), and the cloud-config renderer parses its own output to prove
that every embedded file reads back byte for byte.

Escaping: values reach the setup script through ``shlex.quote``, the compose file as
YAML double-quoted scalars with ``$`` doubled (compose interpolation), the Caddyfile as
quoted tokens; values that cannot be quoted safely (domain, port) are validated instead.

The templates define empty Jinja blocks (``extra_functions``, ``extra_steps``,
``extra_write_files``, ``extra_runcmd``) that a later stage's template can fill by
``{% extends %}`` (stage v2: NVIDIA driver / CUDA steps).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any, Final

import jinja2
import yaml

from looper_infra.bootstrap import versions

# --- where things live on the VM ---------------------------------------------------------

#: Directory of the compose file and the Caddyfile.
APP_VM_CONFIG_DIR: Final = "/etc/looper"
#: Markers, lock and readiness stamp of the setup script.
APP_VM_STATE_DIR: Final = "/var/lib/looper"
#: The idempotent setup script (run by cloud-init `runcmd`, and at every boot by systemd).
APP_VM_SETUP_SCRIPT_PATH: Final = "/usr/local/sbin/looper-setup"
#: systemd unit that re-runs the setup script at boot (heals a failed first boot).
APP_VM_SETUP_UNIT: Final = "looper-setup.service"

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
class AppVmStartup:
    """Everything the v1 app VM's first boot needs; validated on construction.

    The app container listens on ``app_port``, published on 127.0.0.1 only; Caddy proxies
    ``https://<domain>`` to it over the compose network and obtains certificates itself
    (HTTP-01 / TLS-ALPN). The container always gets ``PORT=<app_port>`` in its environment
    unless ``app_env`` sets ``PORT``.
    """

    domain: str
    acme_email: str
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

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}

        def check(name: str, problem: str | None) -> None:
            if problem is not None:
                problems[name] = problem

        check("domain", _fqdn_problem(self.domain))
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


# --- escaping filters ----------------------------------------------------------------------


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks where YAML allows it, else double-quoted."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    )


_BlockDumper.add_representer(str, _represent_str)

_WIDE = 1 << 30  # never fold long lines


def _yaml_str(value: object) -> str:
    """A YAML double-quoted scalar (one line) holding exactly ``str(value)``."""
    dumped = yaml.safe_dump(str(value), default_style='"', width=_WIDE, allow_unicode=True)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def _compose_str(value: object) -> str:
    """A YAML scalar for a compose file: ``$`` doubled so compose never interpolates."""
    return _yaml_str(str(value).replace("$", "$$"))


def _yaml_block(value: str, indent: int) -> str:
    """``value`` as the scalar of a mapping key that starts at column ``indent``.

    PyYAML chooses the style (literal block when the text allows it, double-quoted
    otherwise) and writes the content two columns deeper than the key.
    """
    dumped = yaml.dump(
        {"k": value}, Dumper=_BlockDumper, width=_WIDE, allow_unicode=True, sort_keys=False
    )
    dumped = dumped.removesuffix("...\n").removeprefix("k: ").rstrip("\n")
    first, *rest = dumped.split("\n")
    pad = " " * indent
    return "\n".join([first, *((pad + line) if line else line for line in rest)])


def _caddy_str(value: object) -> str:
    """A double-quoted Caddyfile token."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"{text!r}: a Caddyfile token cannot span lines")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _shq(value: object) -> str:
    return shlex.quote(str(value))


@cache
def _environment() -> jinja2.Environment:
    # Shell, YAML and Caddyfile text, never HTML: escaping is explicit, per output syntax.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("looper_infra.bootstrap", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        shq=_shq,
        yaml_str=_yaml_str,
        compose_str=_compose_str,
        yaml_block=_yaml_block,
        caddy_str=_caddy_str,
    )
    return env


def _render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(paths=_PATHS, **context)


# --- render functions (pure: same spec, same text) -----------------------------------------


def render_app_vm_setup_script(spec: AppVmStartup) -> str:
    """The idempotent bash setup script (``templates/app-vm-setup.sh.j2``)."""
    return _render(
        "app-vm-setup.sh.j2",
        spec=spec,
        docker_apt_url=versions.DOCKER_APT_URL,
        docker_apt_key_fingerprint=versions.DOCKER_APT_KEY_FINGERPRINT,
        ops_agent_repo_script_url=versions.OPS_AGENT_REPO_SCRIPT_URL,
    )


def render_app_vm_compose(spec: AppVmStartup) -> str:
    """The docker compose file: app + Caddy (``templates/app-vm.compose.yaml.j2``)."""
    return _render(
        "app-vm.compose.yaml.j2",
        spec=spec,
        command=spec.effective_app_command,
        env=spec.effective_app_env,
    )


def render_app_vm_caddyfile(spec: AppVmStartup) -> str:
    """Caddy's config: HTTPS for the domain, proxy to the app (``app-vm.Caddyfile.j2``)."""
    return _render("app-vm.Caddyfile.j2", spec=spec)


def render_app_vm_cloud_config(spec: AppVmStartup) -> str:
    """The VM's cloud-init user data (``templates/app-vm.cloud-config.yaml.j2``)."""
    files = {
        _PATHS["compose_file"]: render_app_vm_compose(spec),
        _PATHS["caddyfile"]: render_app_vm_caddyfile(spec),
        _PATHS["setup_script"]: render_app_vm_setup_script(spec),
    }
    text = _render(
        "app-vm.cloud-config.yaml.j2",
        spec=spec,
        compose=files[_PATHS["compose_file"]],
        caddyfile=files[_PATHS["caddyfile"]],
        setup_script=files[_PATHS["setup_script"]],
    )
    _check_embedding(text, files)
    return text


def _check_embedding(text: str, files: Mapping[str, str]) -> None:
    """Fail loudly if the document does not read back as the files it was built from."""
    if not text.startswith("#cloud-config\n"):
        raise RuntimeError("rendered user data must start with '#cloud-config'")
    doc = yaml.safe_load(text)
    written = {
        entry["path"]: entry["content"]
        for entry in (doc.get("write_files") or [])
        if isinstance(entry, dict) and "path" in entry
    }
    for path, content in files.items():
        if written.get(path) != content:
            raise RuntimeError(f"embedding of {path} in the cloud-config does not round-trip")

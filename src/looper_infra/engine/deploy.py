"""The real deployment path: `looper preview|up|destroy` through the Pulumi Automation API.

Everything that can be decided without the Pulumi CLI (prerequisites, the
backend, the workspace options, the order of operations) is plain code with
its inputs passed in, so it is unit-tested; the CLI run itself needs a
user's machine with Pulumi and cloud credentials.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from looper_infra.core.files import write_private

Action = Literal["preview", "up", "destroy"]
ACTIONS: tuple[Action, ...] = ("preview", "up", "destroy")
DEFAULT_BACKEND_DIR = "~/.looper/state"
SECRETS_PROVIDER = "passphrase"
#: The cloud each stage needs credentials for.
STAGE_CLOUDS: dict[str, tuple[str, ...]] = {
    "v1": ("gcp",), "v2": ("gcp",), "v3": ("gcp",), "v4": ("aws", "gcp"), "v4-platform": ("aws",),
}


def stack_clouds(stage: str, cfg: object) -> tuple[str, ...]:
    """The clouds a validated stack config uses: a v4 stack without `looper:gcp` is AWS only."""
    clouds = STAGE_CLOUDS.get(stage, ())
    if stage == "v4" and getattr(cfg, "gcp", None) is None:
        clouds = tuple(c for c in clouds if c != "gcp")
    return clouds


class DeployError(Exception):
    """A deployment cannot start or failed; the message says what to do."""


class NotReady(DeployError):
    """A prerequisite is missing (the Pulumi CLI, the secrets passphrase, cloud credentials):
    nothing was started; `looper` exits 4 ("cannot deploy yet") listing every missing piece."""


@dataclass(frozen=True)
class DeployRequest:
    action: str
    stage: str
    stack: str
    project_dir: Path
    backend_url: str | None = None
    yes: bool = False
    #: the clouds this stack really uses (from its config); None: every cloud the stage can use
    clouds: tuple[str, ...] | None = None
    #: preview only: a preview that shows any change raises Drift (the scheduled drift check)
    expect_no_changes: bool = False

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {self.action!r}")
        if self.expect_no_changes and self.action != "preview":
            raise ValueError("expect_no_changes is a preview option")


class Drift(DeployError):
    """`preview --expect-no-changes` found changes: the cloud differs from the stack's program
    and config (drift, or a change not deployed yet). `looper` exits 7."""

    def __init__(self, stack: str, changes: Mapping[str, int]) -> None:
        self.changes = dict(changes)
        counted = ", ".join(f"{n} to {op}" for op, n in sorted(self.changes.items()))
        super().__init__(f"stack {stack}: the preview shows changes ({counted}); the cloud differs "
                         "from the program and config (drift or an undeployed change)")


#: preview steps that change no cloud resource (reads, and the refresh that reads the cloud first)
UNCHANGED_OPS = frozenset({"same", "read", "read-replacement", "refresh", "discard"})


def changes_of(change_summary: Mapping[Any, int] | None) -> dict[str, int]:
    """The changing steps of a preview's change summary (op name -> count), e.g. {"update": 2}."""
    changes: dict[str, int] = {}
    for op, count in (change_summary or {}).items():
        name = str(getattr(op, "value", op))
        if name not in UNCHANGED_OPS and count:
            changes[name] = changes.get(name, 0) + int(count)
    return changes


def resolve_backend(request: DeployRequest, environ: Mapping[str, str]) -> str:
    """--backend, else $PULUMI_BACKEND_URL, else a local file backend under the user's home."""
    if request.backend_url:
        return request.backend_url
    if environ.get("PULUMI_BACKEND_URL"):
        return environ["PULUMI_BACKEND_URL"]
    home = Path(environ.get("HOME") or Path.home())
    return "file://" + str(home / DEFAULT_BACKEND_DIR.removeprefix("~/"))


def _has_gcp_credentials(environ: Mapping[str, str]) -> bool:
    if environ.get("GOOGLE_APPLICATION_CREDENTIALS") or environ.get("GOOGLE_CREDENTIALS"):
        return True
    if environ.get("GOOGLE_OAUTH_ACCESS_TOKEN"):
        return True
    home = Path(environ.get("HOME") or Path.home())
    config_dir = Path(environ.get("CLOUDSDK_CONFIG") or home / ".config" / "gcloud")
    return (config_dir / "application_default_credentials.json").is_file()


def _has_aws_credentials(environ: Mapping[str, str]) -> bool:
    if environ.get("AWS_ACCESS_KEY_ID") or environ.get("AWS_PROFILE"):
        return True
    if environ.get("AWS_WEB_IDENTITY_TOKEN_FILE") or environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return True
    home = Path(environ.get("HOME") or Path.home())
    return (home / ".aws" / "credentials").is_file() or (home / ".aws" / "config").is_file()


def check_prerequisites(
    request: DeployRequest,
    environ: Mapping[str, str],
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    """Every reason the deployment cannot start, as instructions (empty when ready)."""
    problems: list[str] = []
    if which("pulumi") is None:
        problems.append(
            "the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/) "
            "and run the command again"
        )
    if not (environ.get("PULUMI_CONFIG_PASSPHRASE") or environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        problems.append(
            "no secrets passphrase: export PULUMI_CONFIG_PASSPHRASE (or "
            "PULUMI_CONFIG_PASSPHRASE_FILE); it encrypts this stack's secrets in the state"
        )
    clouds = request.clouds if request.clouds is not None else STAGE_CLOUDS.get(request.stage, ())
    if "gcp" in clouds and not _has_gcp_credentials(environ):
        problems.append(
            "no GCP credentials: run `gcloud auth application-default login` or set "
            "GOOGLE_APPLICATION_CREDENTIALS"
        )
    if "aws" in clouds and not _has_aws_credentials(environ):
        problems.append("no AWS credentials: run `aws configure` / `aws sso login` or set AWS_PROFILE")
    return problems


def workspace_env(request: DeployRequest, environ: Mapping[str, str]) -> dict[str, str]:
    """Environment the Pulumi CLI runs with (the backend is always explicit)."""
    return {"PULUMI_BACKEND_URL": resolve_backend(request, environ),
            "PULUMI_SKIP_UPDATE_CHECK": "true"}


def prepare_backend(url: str) -> None:
    """A local file backend's directory must exist (and stay private to the user)."""
    if url.startswith("file://"):
        path = Path(url.removeprefix("file://")).expanduser()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)


def _select_stack(request: DeployRequest, env: Mapping[str, str]) -> Any:
    from pulumi import automation as auto

    opts = auto.LocalWorkspaceOptions(
        work_dir=str(request.project_dir), env_vars=dict(env), secrets_provider=SECRETS_PROVIDER
    )
    return auto.create_or_select_stack(
        stack_name=request.stack, work_dir=str(request.project_dir), opts=opts
    )


def run(
    request: DeployRequest,
    on_output: Callable[[str], None],
    confirm: Callable[[str], bool] | None = None,
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
    select_stack: Callable[[DeployRequest, Mapping[str, str]], Any] = _select_stack,
) -> dict[str, Any]:
    """Run the action; `up`/`destroy` show a preview and ask first unless `yes`.

    Returns the stack outputs after `up` (secrets stay wrapped by the Automation API).
    Every call passes show_secrets=False: the Automation API defaults to True.
    """
    env = dict(os.environ if environ is None else environ)
    problems = check_prerequisites(request, env, which)
    if problems:
        raise NotReady("cannot deploy yet:\n" + "\n".join(f"  - {p}" for p in problems))
    if request.action != "preview" and not request.yes and confirm is None:
        raise DeployError(f"`{request.action}` changes real infrastructure: pass --yes, or run it "
                          "in a terminal to be asked")
    workspace = workspace_env(request, env)
    prepare_backend(workspace["PULUMI_BACKEND_URL"])
    stack = select_stack(request, workspace)
    if request.action == "preview":
        # The drift check refreshes first: without it a preview compares the program with the
        # state only, and a change made in the cloud console would go unseen.
        result = stack.preview(on_output=on_output, diff=True,
                               **({"refresh": True} if request.expect_no_changes else {}))
        if request.expect_no_changes and (changes := changes_of(
                getattr(result, "change_summary", None))):
            raise Drift(request.stack, changes)
        return {}
    if not request.yes:
        if request.action == "up":
            stack.preview(on_output=on_output, diff=True)
        else:
            stack.preview_destroy(on_output=on_output, show_secrets=False)
        assert confirm is not None
        if not confirm(f"{request.action} stack {request.stack} ({request.stage})?"):
            raise DeployError("cancelled; nothing was changed")
    if request.action == "up":
        result = stack.up(on_output=on_output, show_secrets=False)
        return dict(getattr(result, "outputs", {}) or {})
    stack.destroy(on_output=on_output, show_secrets=False)
    return {}


# --- Kubernetes versions against the deployed stack (v4) ------------------------------------
# The config alone cannot know what runs: `looper up v4` reads the deployed stack's
# `kubernetes_version` output (the control planes' release of the last deploy) first. A new
# stack has none. Kubernetes supports upgrading one minor at a time and no downgrade
# (kubernetes.io "Upgrading kubeadm clusters": "Skipping MINOR versions when upgrading is
# unsupported"; kubeadm upgrade only goes up).

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def stack_output_command(stack: str) -> list[str]:
    """``pulumi stack output --json`` of ``stack`` (secrets stay "[secret]": not asked for)."""
    return ["pulumi", "stack", "output", "--json", "--stack", stack, "--non-interactive"]


def deployed_outputs(request: DeployRequest, environ: Mapping[str, str],
                     runner: Runner = subprocess.run) -> dict[str, Any] | None:
    """The deployed stack's outputs, with the backend and environment the deploy uses; None
    when the stack does not exist yet (a first `looper up`)."""
    env = {**environ, **workspace_env(request, environ)}
    prepare_backend(env["PULUMI_BACKEND_URL"])
    proc = runner(stack_output_command(request.stack), cwd=str(request.project_dir), env=env,
                  capture_output=True, text=True, check=False, timeout=300)
    if proc.returncode != 0:
        if "no stack named" in proc.stderr:
            return None
        raise DeployError(f"cannot read the outputs of stack {request.stack}: "
                          f"{proc.stderr.strip() or proc.stdout.strip()}")
    outputs = json.loads(proc.stdout or "{}")
    if not isinstance(outputs, dict):
        raise DeployError(f"`pulumi stack output --json` of {request.stack} is not an object")
    return outputs


def kubernetes_version_issues(deployed: str | None, control_planes: str, nodes: str
                              ) -> list[tuple[str, str]]:
    """(config field, reason) for every version the deployed cluster cannot move to.

    ``deployed`` is the control planes' release of the last deploy (None: a new stack). The
    control planes go up by at most one minor and never down; the other kubelets stay at or
    below the deployed minor in the same `looper up`, because the control planes keep running
    it until they are replaced one by one (docs/runbooks/kubernetes-upgrade.md).
    """
    if deployed is None:
        return []
    from looper_infra.bootstrap.k8s_versions import minor_number

    issues: list[tuple[str, str]] = []
    was, new = minor_number(deployed), minor_number(control_planes)
    parts = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    if new > was + 1:
        issues.append(("cluster.kubernetes_version",
                       f"{control_planes} skips a minor: the stack runs {deployed}; go one minor at a "
                       f"time (1.{was + 1} first)"))
    elif parts(control_planes) < parts(deployed):
        issues.append(("cluster.kubernetes_version",
                       f"{control_planes} is older than the deployed {deployed}: Kubernetes has no "
                       "downgrade (restore an etcd snapshot instead: docs/runbooks/control-plane-dr.md)"))
    if minor_number(nodes) > was:
        issues.append(("cluster.node_kubernetes_version",
                       f"{nodes} is newer than the control planes' deployed {deployed}: they run it until "
                       f"they are replaced; set node_kubernetes_version to {deployed} for this upgrade"))
    return issues


# --- reading a deployed stack ----------------------------------------------------------------

def _select_existing_stack(stack: str, project_dir: Path, env: Mapping[str, str]) -> Any:
    from pulumi import automation as auto

    opts = auto.LocalWorkspaceOptions(work_dir=str(project_dir), env_vars=dict(env),
                                      secrets_provider=SECRETS_PROVIDER)
    try:
        return auto.select_stack(stack_name=stack, work_dir=str(project_dir), opts=opts)
    except auto.StackNotFoundError:
        raise DeployError(f"no stack {stack!r} in the backend {env.get('PULUMI_BACKEND_URL')}: "
                          "deploy it first (`looper up v4 --stack ...`) or pass --backend") from None


def stack_outputs(
    stack: str,
    project_dir: Path,
    *,
    backend_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
    select_stack: Callable[[str, Path, Mapping[str, str]], Any] = _select_existing_stack,
) -> dict[str, Any]:
    """The outputs of a deployed stack, secrets decrypted (`{name: value}`).

    Needs the Pulumi CLI and the stack's passphrase, not cloud credentials.
    """
    env = dict(os.environ if environ is None else environ)
    problems = [p for p in check_prerequisites(
        DeployRequest(action="preview", stage="", stack=stack, project_dir=project_dir), env, which)]
    if problems:
        raise NotReady("cannot read the stack yet:\n" + "\n".join(f"  - {p}" for p in problems))
    url = backend_url or resolve_backend(
        DeployRequest(action="preview", stage="", stack=stack, project_dir=project_dir), env)
    selected = select_stack(stack, project_dir, {**env, "PULUMI_BACKEND_URL": url,
                                                 "PULUMI_SKIP_UPDATE_CHECK": "true"})
    return {k: getattr(v, "value", v) for k, v in dict(selected.outputs()).items()}


def vpn_profile(outputs: Mapping[str, Any], user: str, stack: str) -> str:
    """`user`'s .ovpn profile from the `vpn_profiles` output of a v4 stack."""
    profiles = outputs.get("vpn_profiles")
    if not isinstance(profiles, Mapping) or not profiles:
        raise DeployError(f"stack {stack!r} exports no VPN profiles: it is not a v4 stack with "
                          "looper:openvpn users, or it was not deployed with `looper up v4`")
    if user not in profiles:
        raise DeployError(f"no VPN user {user!r} in stack {stack!r} (users: {', '.join(sorted(profiles))}); "
                          "add them to looper:openvpn.users and run `looper up v4`")
    profile = profiles[user]
    if not isinstance(profile, str) or "<cert>" not in profile:
        raise DeployError(f"the profile of {user!r} in stack {stack!r} is not an OpenVPN profile")
    return profile


# --- `looper up v4`: the cluster, then the platform inside it ------------------------------------

def platform_stack_for(cluster_stack: str, project_dir: Path) -> str | None:
    """The platform stack that goes with a v4 stack (`v4-dev` -> `v4-platform-dev`), if it has a file."""
    if not cluster_stack.startswith("v4-") or cluster_stack.startswith("v4-platform-"):
        return None
    name = "v4-platform-" + cluster_stack.removeprefix("v4-")
    return name if (project_dir / f"Pulumi.{name}.yaml").is_file() else None


def api_ready(kubeconfig: str, timeout: float = 5.0) -> bool:
    """Whether the API server in `kubeconfig` answers `/readyz` with 200 (mutual TLS, its CA pinned)."""
    import base64
    import ssl
    import tempfile
    import urllib.error
    import urllib.request

    import yaml

    doc = yaml.safe_load(kubeconfig)
    cluster, user = doc["clusters"][0]["cluster"], doc["users"][0]["user"]
    context = ssl.create_default_context(
        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    with tempfile.TemporaryDirectory(prefix="looper-kube-") as tmp:
        cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
        write_private(cert, base64.b64decode(user["client-certificate-data"]).decode())
        write_private(key, base64.b64decode(user["client-key-data"]).decode())
        context.load_cert_chain(cert, key)
    handler = urllib.request.HTTPSHandler(context=context)
    try:
        with urllib.request.build_opener(handler).open(cluster["server"].rstrip("/") + "/readyz",
                                                       timeout=timeout) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.URLError, ssl.SSLError):
        return False


def wait_for_api(
    kubeconfig: str,
    *,
    timeout: float,
    interval: float = 15.0,
    probe: Callable[[str], bool] = api_ready,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> bool:
    """Poll the API server until it is ready or `timeout` seconds have passed."""
    import time

    sleep, clock = sleep or time.sleep, clock or time.monotonic
    deadline = clock() + timeout
    while True:
        if probe(kubeconfig):
            return True
        if clock() + interval > deadline:
            return False
        sleep(interval)

"""Config of GitOps delivery in stage `v4-platform` (`looper:gitops`): Argo CD and the Git repository
it applies the Looper apps from.

Unset (the default), Pulumi applies the apps of `apps` itself. Set, Pulumi installs Argo CD
(pinned, reachable only through the Kubernetes API, i.e. the VPN) with an AppProject and one
Application for this environment, and stops applying the app workloads: Argo CD owns them, from
`repository` at `revision`, directory `path`. Pulumi keeps the platform, including the edge's
routes made from `apps[].routes` (public hostnames are reviewed with the platform, not in the app
repository) and the namespaces' default-deny policies.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from looper_infra.config.base import DnsName, Strict

#: https://host[:port]/path, ssh://[user@]host[:port]/path or scp-like user@host:path (what Argo CD
#: and git accept); plain http:// and git:// are refused: nothing authenticates the server
_HTTPS = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/[A-Za-z0-9._~/-]+\Z")
_SSH = re.compile(r"^ssh://(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(?::[0-9]{1,5})?/[A-Za-z0-9._~/-]+\Z")
_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+\Z")
#: a directory inside the repository: relative, no `..`, no leading or trailing slash
_PATH = re.compile(r"^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*\Z")
#: a branch, tag or commit: git's ref-name rules, narrowed (no spaces, `..`, `~^:?*[\`, `@{`)
_REVISION = re.compile(r"^[A-Za-z0-9._/-]{1,200}\Z")


def check_repository(url: str) -> str:
    if url.startswith(("http://", "git://")):
        raise ValueError(f"{url!r}: plain http:// and git:// are refused (the server is not authenticated); "
                         "use https:// or ssh")
    if not (_HTTPS.fullmatch(url) or _SSH.fullmatch(url) or _SCP.fullmatch(url)):
        raise ValueError(f"{url!r} is not a Git repository URL (https://host/org/repo.git, "
                         "ssh://git@host/org/repo.git or git@host:org/repo.git)")
    return url


def is_ssh(url: str) -> bool:
    return not url.startswith("https://")


def check_path(path: str) -> str:
    if not _PATH.fullmatch(path) or ".." in path.split("/"):
        raise ValueError(f"{path!r} is not a directory inside the repository (relative, e.g. envs/dev; "
                         "no leading or trailing '/', no '..')")
    return path


def check_revision(rev: str) -> str:
    if (not _REVISION.fullmatch(rev) or ".." in rev or rev.startswith(("/", "-")) or rev.endswith(("/", "."))
            or rev.endswith(".lock")):
        raise ValueError(f"{rev!r} is not a branch, tag or commit name")
    return rev


class GitOpsSync(Strict):
    """How the Application syncs (Argo CD `syncPolicy`)."""

    automated: bool = Field(True, description="Sync on every new commit (false: an operator syncs by hand).")
    prune: bool = Field(True, description="Delete objects that left the repository (with `automated`).")
    self_heal: bool = Field(
        True, description="Undo changes made in the cluster outside Git (with `automated`).")


class GitOpsConfig(Strict):
    """Argo CD delivering the apps from a Git repository (docs/stages/v4-platform.md, GitOps)."""

    repository: Annotated[str, AfterValidator(check_repository)] = Field(
        description="The apps' Git repository (https:// or ssh; plain http is refused).")
    path: Annotated[str, AfterValidator(check_path)] = Field(
        description="Directory in the repository holding this environment's manifests (e.g. envs/dev).")
    revision: Annotated[str, AfterValidator(check_revision)] = Field(
        description="Branch, tag or commit Argo CD follows (e.g. main, or a release tag).")
    credentials: DnsName | None = Field(
        None, description="Key of the repository's credentials in Secrets Manager, looper/<env>/<key>: "
        "JSON {\"username\", \"password\"} (https) or {\"sshPrivateKey\"} (ssh). Unset: a public "
        "https repository.")
    sync: GitOpsSync = Field(default_factory=GitOpsSync, description="Automated sync, prune, self-heal.")
    replicas: int = Field(2, ge=2, le=5, description="Replicas of Argo CD's API server, repo server and "
                          "ApplicationSet controller (>= 2, spread across zones).")


def cross_issues(gitops: GitOpsConfig | None, *, argocd_enabled: bool) -> list[tuple[str, str]]:
    """(field, problem) pairs that need more than one field: the retired switch, ssh credentials."""
    issues: list[tuple[str, str]] = []
    if argocd_enabled:
        issues.append(("observability.argocd.enabled",
                       "Argo CD moved to section `gitops` (repository, path, revision: it now delivers the "
                       "apps); remove this key and set `gitops` (docs/runbooks/gitops.md)"))
    if gitops is not None and is_ssh(gitops.repository) and gitops.credentials is None:
        issues.append(("gitops.credentials", f"{gitops.repository!r} is an ssh repository: it needs "
                                             "credentials (a key with sshPrivateKey)"))
    if gitops is not None and not gitops.sync.automated:
        issues += [(f"gitops.sync.{name}", "only applies to automated sync (sync.automated is false)")
                   for name in ("prune", "self_heal") if name in gitops.sync.model_fields_set]
    return issues

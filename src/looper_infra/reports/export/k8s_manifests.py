"""Kubernetes manifests from an offline plan: what the provider would send to the API server.

The recorded inputs of each `kubernetes:*` resource are the object itself (pulumi-kubernetes
sends `apiVersion`, `kind`, `metadata`, `spec`/`data`/... as given). Helm releases are not
objects (their manifests are rendered by Helm from a chart archive, which needs the network),
and the provider is not one either: both are left out. Secret values are masked in a plan
(`"[secret]"`), so rendered Secrets carry the mask, never the value.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from looper_infra.engine.mocks import SECRET_MASK, RecordedResource
from looper_infra.reports.export.terraform_plan import CRD_K8S_GROUPS

#: resources of the kubernetes provider that are not Kubernetes objects
NOT_OBJECTS = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart",
               "kubernetes:yaml/v2:ConfigGroup", "kubernetes:yaml/v2:ConfigFile",
               "kubernetes:kustomize/v2:Directory")
_TOKEN = re.compile(r"^kubernetes:(?P<group>[^:/]+)/(?P<version>[^:]+):(?P<kind>[A-Za-z0-9]+)\Z")
#: fields pulumi-kubernetes adds to its inputs that are not part of the object
_PROVIDER_FIELDS = ("__inputs", "__initialApiVersion")
#: annotation naming the fields whose secret values the plan masks (emptied in the manifest)
MASKED_ANNOTATION = "looper/masked-fields"


def api_version_kind(type_token: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:StatefulSet` -> (`apps/v1`, `StatefulSet`); the core group has no prefix."""
    m = _TOKEN.match(type_token)
    if not m:
        raise ValueError(f"{type_token!r} is not a kubernetes resource type token")
    group, version, kind = m.group("group"), m.group("version"), m.group("kind")
    return (version if group == "core" else f"{group}/{version}"), kind


def is_object(r: RecordedResource) -> bool:
    """A whole object; a `*Patch` resource (server-side apply onto an object a chart created)
    carries only the fields it sets, so it is no manifest of its own."""
    return (r.type.startswith("kubernetes:") and r.custom and r.type not in NOT_OBJECTS
            and not r.type.endswith("Patch"))


def to_object(r: RecordedResource) -> dict[str, Any]:
    """The Kubernetes object of one recorded resource (CustomResources carry apiVersion/kind), a
    deep copy: whatever a caller changes in it, the plan's inputs stay as planned."""
    body = {k: copy.deepcopy(v) for k, v in r.inputs.items() if k not in _PROVIDER_FIELDS}
    if r.type.startswith("kubernetes:apiextensions.k8s.io/v1:CustomResource") or (
            "apiVersion" in body and "kind" in body and not _is_builtin(r.type)):
        api_version, kind = str(body["apiVersion"]), str(body["kind"])
    else:
        api_version, kind = api_version_kind(r.type)
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    obj.update({k: v for k, v in body.items() if k not in ("apiVersion", "kind")})
    # a Secret's data is masked as a whole in a plan: keep the object valid, say what is hidden
    masked = [k for k in ("data", "stringData") if obj.get(k) == SECRET_MASK]
    if masked:
        for k in masked:
            obj[k] = {}
        meta = obj.setdefault("metadata", {})
        meta["annotations"] = {**(meta.get("annotations") or {}), MASKED_ANNOTATION: ",".join(masked)}
    return obj


def _is_builtin(type_token: str) -> bool:
    m = _TOKEN.match(type_token)
    if m is None:
        return False
    group = m.group("group")
    return group not in CRD_K8S_GROUPS and ("." not in group or group.endswith(".k8s.io"))


def manifests_from_plan(plan: Any) -> list[dict[str, Any]]:
    """Every Kubernetes object of the plan, in registration order."""
    return [to_object(r) for r in plan.resources if is_object(r)]


def manifest_filename(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or "_cluster"
    return f"{ns}--{obj['kind'].lower()}--{meta.get('name', 'unnamed')}.yaml"


def write_manifests(plan: Any, directory: Path) -> list[Path]:
    """One YAML file per object (`<namespace>--<kind>--<name>.yaml`); returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for obj in manifests_from_plan(plan):
        path = directory / manifest_filename(obj)
        if path.exists():
            raise ValueError(f"two objects would be written to {path.name}")
        path.write_text(yaml.safe_dump(obj, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths

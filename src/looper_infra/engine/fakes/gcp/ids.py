"""GCP names, IDs and self links in the API's formats, and where a resource is.

A resource's project, region and zone are its own inputs, else the stack's (`MockContext`).
Pulumi auto-names with a random 7-character suffix; a stable hash keeps plans reproducible.
"""

from __future__ import annotations

import hashlib
from typing import Any

from looper_infra.engine.mocks import Fake, MockContext

API = "https://www.googleapis.com/compute/v1"


def numeric_id(name: str) -> str:
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:15], 16))


def project_of(inputs: dict[str, Any], ctx: MockContext) -> str:
    return str(inputs.get("project") or ctx.project)


def region_of(inputs: dict[str, Any], ctx: MockContext) -> str:
    return str(inputs.get("region") or ctx.region)


def zone_of(inputs: dict[str, Any], ctx: MockContext) -> str:
    return str(inputs.get("zone") or ctx.zone)


def cloud_name(name: str, inputs: dict[str, Any]) -> str:
    return str(inputs.get("name") or f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:7]}")


def last_segment(ref: Any) -> str:
    """`projects/p/regions/r/routers/looper-router` (or a self link) -> `looper-router`."""
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


def fingerprint(path: str) -> str:
    """A label fingerprint."""
    return hashlib.sha256(f"labels:{path}".encode()).hexdigest()[:12]


def compute_resource(scope: str, collection: str) -> Fake:
    """Any Compute resource: its name, ID path and self link in its scope (global, region, zone)."""

    def fake(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
        cloud = cloud_name(name, inputs) if "namePrefix" not in inputs else \
            f"{inputs['namePrefix']}{hashlib.sha256(name.encode()).hexdigest()[:20]}"
        where = {"global": "global",
                 "region": f"regions/{region_of(inputs, ctx)}",
                 "zone": f"zones/{zone_of(inputs, ctx)}"}[scope]
        path = f"projects/{project_of(inputs, ctx)}/{where}/{collection}/{cloud}"
        state = {**inputs, "name": cloud, "id": path, "selfLink": f"{API}/{path}"}
        if scope == "region":
            state["region"] = region_of(inputs, ctx)
        if scope == "zone":
            state["zone"] = zone_of(inputs, ctx)
        return state

    return fake

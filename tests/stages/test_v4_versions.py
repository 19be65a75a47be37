"""Stage v4 under mocks: each node installs exactly its release row. Control planes take
cluster.kubernetes_version, every other kubelet (worker, Kafka and GPU pools, the GCP node)
cluster.node_kubernetes_version; the stack exports both. A made-up 1.37 row stands in for a
future minor (the real table holds only verified rows)."""

from __future__ import annotations

import base64
import gzip
import re
from typing import Any

import pytest

from helpers.k8s_releases import with_fake_releases
from helpers.plans import example_plan, example_values, plan_values
from looper_infra.engine.plan import Plan


def setup_vars(user_data: str) -> dict[str, str]:
    """The `readonly NAME=value` lines of the setup script in user data (EC2: base64 gzip)."""
    try:
        text = gzip.decompress(base64.b64decode(user_data, validate=True)).decode()
    except ValueError:
        text = user_data  # GCE metadata: the cloud-config as text
    return dict(re.findall(r"^\s*readonly ([A-Z_]+)='?([^'\n]*)'?$", text, re.M))


def versions_by_template(plan: Plan) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for r in plan.resources:
        data: Any = None
        if r.type == "aws:ec2/launchTemplate:LaunchTemplate":
            data = r.inputs.get("userData")
        elif r.type == "gcp:compute/instance:Instance":
            data = (r.inputs.get("metadata") or {}).get("user-data")
        if isinstance(data, str) and "KUBERNETES_VERSION" in setup_vars(data):
            v = setup_vars(data)
            found[r.name] = (v["KUBERNETES_VERSION"], v["KUBERNETES_APT_VERSION"], v["CRIO_APT_VERSION"],
                             v["KUBERNETES_APT_URL"], v["CRIO_APT_URL"])
    return found


def row(version: str, apt: str, crio: str) -> tuple[str, ...]:
    minor = version.rsplit(".", 1)[0]
    return (version, apt, crio, f"https://pkgs.k8s.io/core:/stable:/v{minor}/deb/",
            f"https://download.opensuse.org/repositories/isv:/cri-o:/stable:/v{minor}/deb/")


def test_control_planes_and_nodes_install_their_own_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    with_fake_releases(monkeypatch)
    values = example_values("v4-dev")
    values["cluster"].update(kubernetes_version="1.37.2", node_kubernetes_version="1.36.5")
    plan = plan_values(values, stack="v4-dev")
    found = versions_by_template(plan)
    control_planes = {name for name in found if name.startswith("control-plane-")}
    others = set(found) - control_planes
    assert len(control_planes) == values["cluster"].get("control_plane_count", 1)
    assert others == {"worker-lt-template", "kafka-lt-template", "gcp-gpu-node-vm-instance"}
    for name in control_planes:
        assert found[name] == row("1.37.2", "1.37.2-9.9", "1.37.1-9.9"), name
    for name in others:
        assert found[name] == row("1.36.5", "1.36.5-1.1", "1.36.6-3.1"), name
    assert plan.outputs["kubernetes_version"] == "1.37.2"
    assert plan.outputs["node_kubernetes_version"] == "1.36.5"


def test_the_default_is_the_pinned_release_everywhere() -> None:
    plan = example_plan("v4-dev")
    found = versions_by_template(plan)
    assert len(found) >= 4
    assert set(found.values()) == {row("1.36.5", "1.36.5-1.1", "1.36.6-3.1")}
    assert plan.outputs["kubernetes_version"] == plan.outputs["node_kubernetes_version"] == "1.36.5"

"""Issue 15 in the planned v4 stacks: every node's bootstrap registers its kubelet's provider ID
(the AWS pools and control planes aws:///, the GCP GPU node gce://), and the control planes'
bundle carries the dead-Node cleanup, its timer, and graceful node shutdown."""

from __future__ import annotations

import pytest
import yaml

from helpers.v4_user_data import GCE_INSTANCE, LAUNCH_TEMPLATE, bundle, written_files
from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan

JOIN = "/etc/looper/k8s/kubeadm-join.yaml"
INIT = "/etc/looper/k8s/kubeadm-init.yaml"
AWS_HELPER, CP_HELPER, GCP_HELPER = (f"/usr/local/sbin/looper-k8s-{n}" for n in ("aws", "cp", "gcp"))


def kubelet_args(kubeadm_yaml: str) -> list[dict[str, str]]:
    """The kubeletExtraArgs of every document with a nodeRegistration."""
    docs = [d for d in yaml.safe_load_all(kubeadm_yaml) if d and "nodeRegistration" in d]
    assert docs
    return [{a["name"]: a["value"] for a in d["nodeRegistration"]["kubeletExtraArgs"]} for d in docs]


def nodes(plan: Plan) -> list[RecordedResource]:
    return [r for r in plan.of_type(LAUNCH_TEMPLATE)
            if r.name.startswith("control-plane-") or r.name.endswith("-lt-template")]


@pytest.mark.parametrize("stack", ["v4_dev_plan", "v4_prod_plan"])
def test_every_node_registers_its_provider_id(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(stack)
    day2 = bundle(plan)
    templates = nodes(plan)
    names = {t.name for t in templates}
    assert {"worker-lt-template", "kafka-lt-template", "control-plane-0-template"} <= names
    for template in templates:
        files = written_files(template)
        if template.name.startswith("control-plane-"):
            configs, helper = [day2[JOIN], day2[INIT]], files[CP_HELPER]
        else:
            configs, helper = [files[JOIN]], files[AWS_HELPER]
        for config in configs:
            assert all(a["provider-id"] == "@@provider_id@@" for a in kubelet_args(config)), template.name
        assert 'f"aws:///{facts[\'zone\']}/{imds(\'meta-data/instance-id\', token)}"' in helper
    (gcp,) = [r for r in plan.of_type(GCE_INSTANCE) if r.name.startswith("gcp-gpu-node")]
    files = written_files(gcp)
    assert [a["provider-id"] for a in kubelet_args(files[JOIN])] == ["@@provider_id@@"]
    assert "gce://{metadata('project/project-id')}/{zone}/{metadata('instance/name')}" in files[GCP_HELPER]


@pytest.mark.parametrize("stack", ["v4_dev_plan", "v4_prod_plan"])
def test_control_planes_prune_dead_nodes_and_shut_down_gracefully(
    stack: str, request: pytest.FixtureRequest
) -> None:
    plan: Plan = request.getfixturevalue(stack)
    day2 = bundle(plan)
    assert day2["/usr/local/sbin/looper-k8s-nodes"].startswith("#!/usr/bin/env python3\n")
    assert "OnCalendar=*:0/5\n" in day2["/etc/systemd/system/looper-k8s-prune-nodes.timer"]
    assert "prune-nodes) " in day2["/usr/local/sbin/looper-k8s-lifecycle"]
    setup = written_files(nodes(plan)[0])["/usr/local/sbin/looper-k8s-node"]
    assert "looper-k8s-prune-nodes.timer" in setup  # enabled once the control plane is up
    (kubelet,) = [d for d in yaml.safe_load_all(day2[INIT]) if d and d["kind"] == "KubeletConfiguration"]
    assert (kubelet["shutdownGracePeriod"], kubelet["shutdownGracePeriodCriticalPods"]) == ("30s", "10s")

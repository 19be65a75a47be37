"""GcpGpuNode under recording mocks: a private, hardened L4 VM whose only secret is its join token."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pulumi
import pytest
import yaml

from looper_infra.bootstrap.k8s_node import GPU_TAINT, K8S_SETUP_SCRIPT_PATH
from looper_infra.components.gcp.k8s_gpu_node import (
    NODE_ROLES,
    SECRET_ACCESSOR,
    GcpGpuNode,
    GcpGpuNodeArgs,
    K8sJoin,
)
from looper_infra.engine.mocks import SECRET_MASK, MockContext
from looper_infra.engine.plan import Plan, run_program

PROJECT = "looper-offline"
TOKEN = "k8sgpu.z9y8x7w6v5u4t3s2"
ENDPOINT = "internal-looper-dev-api-0123456789abcdef.elb.ap-northeast-2.amazonaws.com"
ADDRESSES = ["10.1.16.10", "10.1.32.10"]
HASH = "sha256:" + "3f" * 32

INSTANCE = "gcp:compute/instance:Instance"
ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
SECRET = "gcp:secretmanager/secret:Secret"
VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SECRET_MEMBER = "gcp:secretmanager/secretIamMember:SecretIamMember"


def node_args(**changes: Any) -> GcpGpuNodeArgs:
    args = GcpGpuNodeArgs(
        project=PROJECT, zone="asia-northeast3-a", cloud_name="looper-dev-gpu-0",
        subnetwork="projects/looper-offline/regions/asia-northeast3/subnetworks/looper-dev-private",
        cluster=K8sJoin(
            cluster_name="looper-dev-k8s", control_plane_endpoint=ENDPOINT,
            api_server_addresses=ADDRESSES, ca_cert_hash=HASH,
            join_token=pulumi.Output.secret(TOKEN)),
        labels={"env": "dev"})
    return replace(args, **changes)


def plan_of(args: GcpGpuNodeArgs) -> Plan:
    def program() -> None:
        node = GcpGpuNode("gpu-0", args)
        pulumi.export("secret_name", node.secret_name)

    return run_program(program, stage="test", stack="test", context=MockContext(project=PROJECT))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_of(node_args())


@pytest.fixture
def collect_garbage() -> Iterator[None]:
    """Failed programs leave futures whose finalizers must run now (see test_aws_cluster_components)."""
    yield
    gc.collect()


def test_vm_is_private_hardened_and_has_one_l4(plan: Plan) -> None:
    vm = plan.one(INSTANCE)
    assert vm.inputs["name"] == "looper-dev-gpu-0"
    assert vm.inputs["zone"] == "asia-northeast3-a"
    assert vm.inputs["machineType"] == "g2-standard-4"
    [nic] = vm.inputs["networkInterfaces"]
    assert not nic.get("accessConfigs")  # no external IP: outbound through Cloud NAT only
    assert vm.inputs["guestAccelerators"] == [{"type": "nvidia-l4", "count": 1}]
    sched = vm.inputs["scheduling"]
    assert sched["onHostMaintenance"] == "TERMINATE" and sched["provisioningModel"] == "STANDARD"
    shielded = vm.inputs["shieldedInstanceConfig"]
    assert shielded == {"enableSecureBoot": True, "enableVtpm": True, "enableIntegrityMonitoring": True}
    metadata = vm.inputs["metadata"]
    assert metadata["enable-oslogin"] == "TRUE" and metadata["block-project-ssh-keys"] == "TRUE"
    assert metadata["serial-port-enable"] == "FALSE"
    assert vm.inputs["tags"] == ["looper-k8s-node", "looper-k8s-gpu"]
    assert vm.inputs["bootDisk"]["initializeParams"]["image"] == "ubuntu-os-cloud/ubuntu-2404-lts-amd64"
    # runs as its own account
    account = plan.one(ACCOUNT)
    assert vm.inputs["serviceAccount"]["email"] == account.state["email"]


def test_the_account_may_read_only_its_join_secret(plan: Plan) -> None:
    account = plan.one(ACCOUNT)
    member = account.state["member"]
    grants = plan.of_type(PROJECT_MEMBER)
    assert sorted(g.inputs["role"] for g in grants) == sorted(NODE_ROLES)
    assert all(g.inputs["member"] == member for g in grants)
    assert not any("secretmanager" in g.inputs["role"] for g in grants)  # not project-wide
    [grant] = plan.of_type(SECRET_MEMBER)
    secret = plan.one(SECRET)
    assert grant.inputs["role"] == SECRET_ACCESSOR
    assert grant.inputs["member"] == member
    assert grant.inputs["secretId"] == secret.state["secretId"] == "looper-dev-gpu-0-k8s-join"


def test_token_is_a_secret_and_never_in_user_data(plan: Plan) -> None:
    version = plan.one(VERSION)
    assert version.inputs["secretData"] == SECRET_MASK
    assert json.loads(version.state["secretData"]) == {"token": TOKEN}
    vm = plan.one(INSTANCE)
    user_data = vm.inputs["metadata"]["user-data"]
    assert user_data != SECRET_MASK  # rendered from non-secret values only
    assert TOKEN not in user_data and TOKEN.split(".")[1] not in user_data
    assert not re.search(r"[a-z0-9]{6}\.[a-z0-9]{16}", user_data)
    assert TOKEN not in json.dumps([r.inputs for r in plan.resources])


def test_user_data_names_the_secret_and_waits_for_its_version_and_grant(plan: Plan) -> None:
    secret = plan.one(SECRET)
    vm = plan.one(INSTANCE)
    doc = yaml.safe_load(vm.inputs["metadata"]["user-data"])
    files = {f["path"]: f["content"] for f in doc["write_files"]}
    script = files[K8S_SETUP_SCRIPT_PATH]
    assert f"readonly JOIN_SECRET_ID={secret.state['name']}" in script
    assert "readonly API_ADDRESSES=(10.1.16.10 10.1.32.10)" in script
    join = yaml.safe_load(files["/etc/looper/k8s/kubeadm-join.yaml"])
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in join[
        "nodeRegistration"]["taints"]
    assert GPU_TAINT == "nvidia.com/gpu=present:NoSchedule"
    # the VM's user data depends on the secret version and on the accessor grant (data, not depends_on)
    deps = {urn for urns in plan.one(INSTANCE).property_dependencies.values() for urn in urns}
    names = {r.urn: r.type for r in plan.resources if r.urn in deps}
    assert {VERSION, SECRET_MEMBER, SECRET} <= set(names.values()), names


@pytest.mark.usefixtures("collect_garbage")
@pytest.mark.parametrize("changes, field", [
    # zone, machine type, disk size and scheduling are the config's facts (tests/config/test_v4.py)
    ({"boot_disk_type": "pd-standard"}, "boot_disk_type"),
    ({"network_tags": ()}, "network_tags"),
    ({"cluster": K8sJoin(cluster_name="looper-dev-k8s", control_plane_endpoint=ENDPOINT,
                         api_server_addresses=ADDRESSES, ca_cert_hash=HASH, join_token="x",
                         calico_mtu=1440)}, "calico_mtu"),
])
def test_invalid_args_create_nothing(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(Exception, match=field):
        plan_of(node_args(**changes))

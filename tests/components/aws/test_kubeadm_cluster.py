"""KubeadmCluster and NodePool under recording mocks: who may read what, who inits, how nodes join."""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
import yaml

from looper_infra.bootstrap.k8s_node import K8sGpuWorker
from looper_infra.components.aws.kubeadm_cluster import (
    ClusterPlacement,
    ControlPlaneSpec,
    KubeadmCluster,
    KubeadmClusterArgs,
    NodeKind,
)
from looper_infra.components.aws.node_pool import NodePool, NodePoolArgs, PoolSize
from looper_infra.components.base import InvalidArgs
from looper_infra.engine.mocks import MockContext, RecordedResource
from looper_infra.engine.plan import Plan, run_program

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
ADDRESSES = ("10.1.10.10", "10.1.11.10", "10.1.12.10")


def subnets() -> pulumi.Output[list[str]]:
    vpc = aws.ec2.Vpc("k8s", cidr_block="10.1.0.0/16")
    made = [
        aws.ec2.Subnet(
            f"private-{i}", vpc_id=vpc.id, cidr_block=f"10.1.{10 + i}.0/24", availability_zone=f"{REGION}{az}"
        )
        for i, az in enumerate("abc")
    ]
    return pulumi.Output.all(*[s.id for s in made]).apply(list)


def cluster_args(count: int = 3, addresses: tuple[str, ...] = ADDRESSES) -> KubeadmClusterArgs:
    return KubeadmClusterArgs(
        name_prefix="looper",
        env="prod",
        region=REGION,
        account_id=ACCOUNT,
        placement=ClusterPlacement(
            vpc_id="vpc-0123",
            private_subnet_ids=subnets(),
            control_plane_security_group_id="sg-cp",
            api_lb_security_group_id="sg-api",
            api_server_addresses=addresses,
        ),
        control_planes=ControlPlaneSpec(count=count),
    )


def program() -> None:
    cluster = KubeadmCluster("cluster", cluster_args())
    kafka = NodeKind(labels={"dedicated": "kafka"}, taints=("dedicated=kafka:NoSchedule",))
    NodePool(
        "kafka",
        NodePoolArgs(
            template=cluster.node_template(
                name_prefix="looper-prod-kafka",
                node_role="kafka",
                instance_type="r7i.large",
                volume_gb=200,
                security_group_ids=("sg-worker",),
                kind=kafka,
            ),
            group_name="looper-prod-kafka",
            subnet_ids=["subnet-a"],
            size=PoolSize(1, 1, 1),
        ),
    )
    gpu = NodeKind(gpu=K8sGpuWorker(accelerator="nvidia-a10g", count=1, model="NVIDIA A10G"))
    NodePool(
        "gpu-workers",
        NodePoolArgs(
            template=cluster.node_template(
                name_prefix="looper-prod-gpu",
                node_role="gpu",
                instance_type="g5.xlarge",
                volume_gb=200,
                security_group_ids=("sg-worker",),
                kind=gpu,
            ),
            group_name="looper-prod-gpu",
            subnet_ids=["subnet-a", "subnet-b"],
            size=PoolSize(0, 0, 2),
            template_resource_name="gpu-lt",
        ),
    )


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_program(program, stage="v4", stack="test", context=MockContext())


def named(plan: Plan, name: str) -> RecordedResource:
    (found,) = [r for r in plan.resources if r.name == name]
    return found


def setup_vars(user_data_b64: str) -> dict[str, str]:
    """The `readonly NAME=value` lines of the node setup script inside the gzipped cloud-config."""
    text = gzip.decompress(base64.b64decode(user_data_b64)).decode()
    return dict(re.findall(r"^\s*readonly ([A-Z_]+)='?([^'\n]*)'?$", text, re.M))


def join_registration(user_data_b64: str) -> dict[str, Any]:
    """The kubeadm JoinConfiguration's nodeRegistration written by the cloud-config."""
    doc = yaml.safe_load(gzip.decompress(base64.b64decode(user_data_b64)).decode())
    for entry in doc["write_files"]:
        for part in yaml.safe_load_all(entry.get("content", "")) if entry["path"].endswith(".yaml") else ():
            if isinstance(part, dict) and part.get("kind") == "JoinConfiguration":
                return dict(part["nodeRegistration"])
    raise AssertionError("no JoinConfiguration in the user data")


def test_one_init_node_and_every_control_plane_reads_the_control_plane_secret(plan: Plan) -> None:
    nodes = sorted((r for r in plan.resources if r.type == "aws:ec2/launchTemplate:LaunchTemplate"
                    and r.name.startswith("control-plane-")), key=lambda r: r.name)
    assert [n.name for n in nodes] == ["control-plane-0-template", "control-plane-1-template",
                                       "control-plane-2-template"]
    found = [setup_vars(n.inputs["userData"]) for n in nodes]
    assert [v["INIT_NODE"] for v in found] == ["true", "false", "false"]
    assert {v["ROLE"] for v in found} == {"control-plane"}
    assert {v["CONTROL_PLANE_SECRET_ID"] for v in found} == {"looper-cluster/prod/control-plane"}


def test_pools_join_as_workers_with_their_labels_taints_and_gpus(plan: Plan) -> None:
    kafka = setup_vars(named(plan, "kafka-lt-template").inputs["userData"])
    gpu = setup_vars(named(plan, "gpu-lt-template").inputs["userData"])
    assert kafka["ROLE"] == gpu["ROLE"] == "worker"
    # workers fetch only the join secret and can never run kubeadm init
    assert kafka["JOIN_SECRET_ID"] == gpu["JOIN_SECRET_ID"] == "looper-cluster/prod/join"
    assert "INIT_NODE" not in kafka and "CONTROL_PLANE_SECRET_ID" not in kafka
    assert gpu["GPU_MODEL"] == "NVIDIA A10G" and gpu["GPU_COUNT"] == "1"
    registration = join_registration(named(plan, "kafka-lt-template").inputs["userData"])
    assert registration["taints"] == [{"key": "dedicated", "value": "kafka", "effect": "NoSchedule"}]
    labels = {a["value"] for a in registration["kubeletExtraArgs"] if a["name"] == "node-labels"}
    assert all(v.startswith("dedicated=kafka,") for v in labels) and labels
    # the pool's group is pinned to its own template's version: a new template rolls the pool
    group = named(plan, "gpu-workers-group").inputs
    assert (group["minSize"], group["desiredCapacity"], group["maxSize"]) == (0, 0, 2)
    assert group["launchTemplate"]["id"] == named(plan, "gpu-lt-template").id


def test_the_join_secret_is_all_a_worker_may_read(plan: Plan) -> None:
    arn = {n: named(plan, f"{n}-secret").state["arn"] for n in ("cp-secret", "join-secret")}
    readable = {
        n: set(json.loads(named(plan, f"{n}-policy").inputs["policy"])["Statement"][0]["Resource"])
        for n in ("cp-role", "worker-role")
    }
    assert readable == {
        "cp-role": {arn["cp-secret"], arn["join-secret"]},
        "worker-role": {arn["join-secret"]},
    }
    assert named(plan, "join-secret-secret").inputs["name"] == "looper-cluster/prod/join"


def test_platform_roles_trust_the_contract_service_accounts(plan: Plan) -> None:
    trust = {
        n: json.loads(named(plan, n).inputs["assumeRolePolicy"])
        for n in ("eso-role-role", "ebs-csi-role-role")
    }
    subjects = {
        n: next(iter(t["Statement"][0]["Condition"]["StringEquals"].items())) for n, t in trust.items()
    }
    assert subjects["eso-role-role"][1] == "system:serviceaccount:external-secrets:external-secrets"
    assert subjects["ebs-csi-role-role"][1] == "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    eso = json.loads(named(plan, "eso-role-policy").inputs["policy"])
    assert (
        eso["Statement"][0]["Resource"] == f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:looper/prod/*"
    )


def test_moved_parts_answer_to_their_old_top_level_urns(plan: Plan) -> None:
    aliases = plan.aliases()
    for r in plan.resources:
        if (
            r.name in ("pki", "irsa", "api-lb", "control-plane", "kafka-lt", "gpu-workers")
            and r.type != "looper:aws:NodePool"
        ):
            assert f"urn:pulumi:test::looper::{r.type}::{r.name}" in aliases[r.urn], r.urn


def test_bad_pool_and_cluster_args_are_refused_all_at_once() -> None:
    def bad_pool() -> None:
        cluster = KubeadmCluster("cluster", cluster_args(count=1))
        NodePool(
            "bad",
            NodePoolArgs(
                template=cluster.node_template(
                    name_prefix="Bad_Name",
                    node_role="worker",
                    instance_type="m7i.large",
                    volume_gb=4,
                    security_group_ids=("sg-worker",),
                ),
                group_name="looper-prod-bad",
                subnet_ids=["subnet-a"],
                size=PoolSize(3, 2, 4),
            ),
        )

    with pytest.raises(InvalidArgs) as info:
        run_program(bad_pool, stage="v4", stack="test", context=MockContext())
    problems: Any = info.value.problems
    assert any(p.startswith("template.volume_gb") for p in problems)
    assert any(p.startswith("template.name_prefix") for p in problems)
    assert any(p.startswith("group.min_size/desired/max_size") for p in problems)
    with pytest.raises(InvalidArgs, match="api_server_addresses: duplicates"):
        run_program(
            lambda: KubeadmCluster("cluster", cluster_args(count=1, addresses=("10.1.10.10",) * 3)),
            stage="v4",
            stack="test",
            context=MockContext(),
        )

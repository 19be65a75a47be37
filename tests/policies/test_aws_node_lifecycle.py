"""Node-lifecycle policies: node groups drain before termination; SQS queues use a KMS key.

Hand-built resources in the shape the v4 cluster plans them: a node group is an Auto Scaling group
whose hook names it by `autoscalingGroupName` (a property dependency on the group); control
planes are groups tagged role=control-plane and need no hook.
"""

from __future__ import annotations

from typing import Any

from looper_infra.policies import aws
from looper_infra.policies.aws import LinkedResource
from looper_infra.policies.evaluate import evaluate

STACK = "v4-prod"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::looper::{type_}::{name}"


def res(type_: str, logical: str, deps: dict[str, list[str]] | None = None, **props: Any) -> LinkedResource:
    return LinkedResource(type_, logical, urn(type_, logical), props, deps or {})


def group(name: str, role: str = "worker") -> LinkedResource:
    return res(aws.ASG, f"{name}-group", name=f"looper-prod-{name}",
               tags=[{"key": "role", "value": role, "propagateAtLaunch": True}])


def hook(name: str, transition: str = aws.TERMINATING, linked: bool = True) -> LinkedResource:
    deps = {"autoscalingGroupName": [urn(aws.ASG, f"{name}-group")]} if linked else {}
    return res(aws.LIFECYCLE_HOOK, f"{name}-termination-hook", deps, lifecycleTransition=transition,
               autoscalingGroupName=f"looper-prod-{name}", defaultResult="CONTINUE", heartbeatTimeout=420)


def drain_findings(resources: list[LinkedResource]) -> list[tuple[str, str]]:
    return list(aws.node_groups_drain(resources))


def test_node_groups_with_termination_hooks_comply_and_control_planes_need_none() -> None:
    resources = [group("workers"), hook("workers"), group("kafka"), hook("kafka"),
                 group("cp-0", role="control-plane")]
    assert drain_findings(resources) == []


def test_a_node_group_without_a_termination_hook_is_a_violation() -> None:
    found = drain_findings([group("workers"), hook("workers"), group("gpu")])
    assert [u for u, _ in found] == [urn(aws.ASG, "gpu-group")]
    assert "EC2_INSTANCE_TERMINATING" in found[0][1]


def test_a_launching_hook_does_not_count_and_a_hook_joins_by_name_too() -> None:
    launching = drain_findings([group("gpu"), hook("gpu", transition="autoscaling:EC2_INSTANCE_LAUNCHING")])
    assert [u for u, _ in launching] == [urn(aws.ASG, "gpu-group")]
    # no recorded dependency: joined by the group's name
    assert drain_findings([group("gpu"), hook("gpu", linked=False)]) == []


def test_sqs_queue_without_kms_is_a_violation_and_the_pack_reports_it() -> None:
    plain = res(aws.SQS_QUEUE, "plain", name="q", sqsManagedSseEnabled=True)
    keyed = res(aws.SQS_QUEUE, "keyed", name="q2", kmsMasterKeyId="arn:aws:kms:ap-northeast-2:1:key/k")
    assert list(aws.sqs_kms(plain)) == ["SQS queue not encrypted with a KMS key (kmsMasterKeyId)"]
    assert list(aws.sqs_kms(keyed)) == []
    violations = evaluate([plain, keyed, group("gpu")])
    assert {(v.policy, v.level) for v in violations} >= {("aws-sqs-kms", "mandatory"),
                                                         ("aws-node-groups-drain", "mandatory")}
    assert [v.urn for v in violations if v.policy == "aws-sqs-kms"] == [plain.urn]

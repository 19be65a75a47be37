"""NodeLifecycle (termination queue, rules, IRSA roles), node groups' hooks and refresh, IRSA
statement checks: under recording mocks, asserting what the engine would receive."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from looper_infra.components.aws import node_lifecycle
from looper_infra.components.aws.irsa import IrsaRoleArgs
from looper_infra.components.aws.node_group import (
    InstanceRefreshSpec,
    NodeGroup,
    NodeGroupArgs,
    TerminationHook,
)
from looper_infra.components.aws.node_lifecycle import NodeLifecycle, NodeLifecycleArgs
from looper_infra.engine.mocks import MockContext, RecordedResource
from looper_infra.engine.plan import Plan, run_program

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
GROUPS = {"workers": "looper-dev-workers", "kafka": "looper-dev-kafka", "gpu": "looper-dev-gpu"}
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/d111111abcdef8.cloudfront.net"
HOST = "d111111abcdef8.cloudfront.net"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
QUEUE = "aws:sqs/queue:Queue"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ASG = "aws:autoscaling/group:Group"
HOOK = "aws:autoscaling/lifecycleHook:LifecycleHook"


def program() -> None:
    lifecycle = NodeLifecycle(
        "node-lifecycle",
        NodeLifecycleArgs(
            name="looper-dev-node-termination",
            cluster_name="looper-dev-k8s",
            region=REGION,
            account_id=ACCOUNT,
            partition="aws",
            group_names=GROUPS,
            provider_arn=PROVIDER,
            issuer_host=HOST,
            handler_role_name="looper-dev-node-termination-handler",
            autoscaler_role_name="looper-dev-cluster-autoscaler",
        ),
    )
    NodeGroup(
        "workers",
        NodeGroupArgs(
            name="looper-dev-workers",
            launch_template_id="lt-0123",
            launch_template_version=3,
            subnet_ids=["s-a", "s-b"],
            min_size=2,
            max_size=6,
            desired=2,
            node_role="worker",
            target_group_arns=["arn:tg"],
            health_check_type="ELB",
            autoscaled=True,
            termination_hook=TerminationHook(900),
            refresh=InstanceRefreshSpec(
                min_healthy_percentage=75, checkpoint_percentages=(20, 60, 100), checkpoint_delay_sec=120
            ),
        ),
    )
    NodeGroup(
        "kafka",
        NodeGroupArgs(
            name="looper-dev-kafka",
            launch_template_id="lt-0456",
            launch_template_version=1,
            subnet_ids=["s-a"],
            min_size=1,
            max_size=1,
            desired=1,
            node_role="kafka",
            refresh=InstanceRefreshSpec(min_healthy_percentage=0),
        ),
    )
    pulumi.export("queue_url", lifecycle.queue_url)
    pulumi.export("handler", lifecycle.handler_role_arn)
    pulumi.export("autoscaler", lifecycle.autoscaler_role_arn)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_program(program, stage="test", stack="test", context=MockContext())


def named(plan: Plan, type_: str, name: str) -> RecordedResource:
    (found,) = [r for r in plan.of_type(type_) if r.name == name]
    return found


def policy_of(plan: Plan, role_prefix: str) -> list[dict[str, Any]]:
    (policy,) = [p for p in plan.of_type(ROLE_POLICY) if p.name.startswith(role_prefix)]
    statements: list[dict[str, Any]] = json.loads(policy.inputs["policy"])["Statement"]
    return statements


def test_queue_is_encrypted_with_its_own_key_that_eventbridge_may_use(plan: Plan) -> None:
    queue = named(plan, QUEUE, "node-lifecycle-queue")
    key = named(plan, "aws:kms/key:Key", "node-lifecycle-queue-key")
    assert queue.inputs["kmsMasterKeyId"] == key.state["arn"]
    assert (
        queue.inputs["messageRetentionSeconds"] == 300
        and queue.inputs["name"] == "looper-dev-node-termination"
    )
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["AccountAdministersKey"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    events = statements["EventBridgeEncryptsToQueue"]
    assert (events["Principal"], sorted(events["Action"])) == (
        {"Service": "events.amazonaws.com"},
        ["kms:Decrypt", "kms:GenerateDataKey*"],
    )
    assert (
        plan.outputs["queue_url"]
        == f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/looper-dev-node-termination"
    )


def test_each_rule_has_the_handlers_pattern_and_targets_the_queue(plan: Plan) -> None:
    queue = named(plan, QUEUE, "node-lifecycle-queue")
    rules = {r.inputs["name"].removeprefix("looper-dev-node-termination-"): r for r in plan.of_type(RULE)}
    patterns = {k: json.loads(r.inputs["eventPattern"]) for k, r in rules.items()}
    assert patterns == {
        "asg-terminate": {
            "source": ["aws.autoscaling"],
            "detail-type": ["EC2 Instance-terminate Lifecycle Action"],
            "detail": {"AutoScalingGroupName": sorted(GROUPS.values())},
        },
        "spot-interruption": {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Spot Instance Interruption Warning"],
        },
        "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
        "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
        "scheduled-change": {
            "source": ["aws.health"],
            "detail-type": ["AWS Health Event"],
            "detail": {"service": ["EC2"], "eventTypeCategory": ["scheduledChange"]},
        },
    }
    targets = {t.inputs["rule"]: t.inputs for t in plan.of_type(TARGET)}
    assert set(targets) == {r.state["name"] for r in rules.values()}
    assert all(t["arn"] == queue.state["arn"] for t in targets.values())


def test_only_the_rules_may_send_and_only_over_tls(plan: Plan) -> None:
    queue = named(plan, QUEUE, "node-lifecycle-queue")
    policy = plan.one("aws:sqs/queuePolicy:QueuePolicy")
    assert policy.inputs["queueUrl"] == queue.state["url"]
    allow, deny = json.loads(policy.inputs["policy"])["Statement"]
    assert (allow["Effect"], allow["Principal"], allow["Action"], allow["Resource"]) == (
        "Allow",
        {"Service": "events.amazonaws.com"},
        "sqs:SendMessage",
        queue.state["arn"],
    )
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": sorted(r.state["arn"] for r in plan.of_type(RULE))}
    }
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def trust_subject(plan: Plan, role_name: str) -> tuple[str, dict[str, str]]:
    (role,) = [r for r in plan.of_type(ROLE) if r.inputs["name"] == role_name]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    return statement["Principal"]["Federated"], statement["Condition"]["StringEquals"]


def test_the_handler_role_reads_its_queue_and_completes_only_these_groups_actions(plan: Plan) -> None:
    assert trust_subject(plan, "looper-dev-node-termination-handler") == (
        PROVIDER,
        {
            f"{HOST}:sub": "system:serviceaccount:kube-system:aws-node-termination-handler",
            f"{HOST}:aud": "sts.amazonaws.com",
        },
    )
    queue = named(plan, QUEUE, "node-lifecycle-queue")
    key = named(plan, "aws:kms/key:Key", "node-lifecycle-queue-key")
    asg = "arn:aws:autoscaling:ap-northeast-2:123456789012:autoScalingGroup:*:autoScalingGroupName/"
    got = {
        s["Sid"]: (s["Effect"], s["Action"], s["Resource"], s.get("Condition"))
        for s in policy_of(plan, "node-lifecycle-handler-role")
    }
    assert got == {
        "ReadTerminationQueue": (
            "Allow",
            ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
            queue.state["arn"],
            None,
        ),
        "DecryptTerminationQueue": ("Allow", "kms:Decrypt", key.state["arn"], None),
        "CompleteNodeLifecycleActions": (
            "Allow",
            "autoscaling:CompleteLifecycleAction",
            sorted(asg + g for g in GROUPS.values()),
            None,
        ),
        "DescribeNodes": (
            "Allow",
            ["autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeTags", "ec2:DescribeInstances"],
            "*",
            None,
        ),
    }
    assert plan.outputs["handler"] == f"arn:aws:iam::{ACCOUNT}:role/looper-dev-node-termination-handler"


def test_the_autoscaler_scales_only_groups_tagged_as_this_clusters(plan: Plan) -> None:
    assert trust_subject(plan, "looper-dev-cluster-autoscaler")[1][f"{HOST}:sub"] == (
        "system:serviceaccount:kube-system:cluster-autoscaler"
    )
    describe, scale = policy_of(plan, "node-lifecycle-autoscaler-role")
    assert (describe["Resource"], "Condition" in describe) == ("*", False)
    assert sorted(describe["Action"]) == sorted(
        [
            "autoscaling:DescribeAutoScalingGroups",
            "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeLaunchConfigurations",
            "autoscaling:DescribeScalingActivities",
            "autoscaling:DescribeTags",
            "ec2:DescribeImages",
            "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions",
            "ec2:GetInstanceTypesFromInstanceRequirements",
        ]
    )
    assert (scale["Action"], scale["Resource"]) == (
        ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
        "*",
    )
    assert scale["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
            "aws:ResourceTag/k8s.io/cluster-autoscaler/looper-dev-k8s": "owned",
        }
    }


def test_node_groups_hook_refresh_and_autoscaler_ownership(plan: Plan) -> None:
    workers, kafka = named(plan, ASG, "workers-group"), named(plan, ASG, "kafka-group")
    assert workers.ignore_changes == ["desiredCapacity"] and kafka.ignore_changes == []
    assert workers.inputs["healthCheckType"] == "ELB"
    prefs = workers.inputs["instanceRefresh"]["preferences"]
    assert (
        prefs["minHealthyPercentage"],
        prefs["checkpointPercentages"],
        prefs["checkpointDelay"],
        prefs["skipMatching"],
    ) == (75, [20, 60, 100], "120", True)
    assert kafka.inputs["instanceRefresh"]["preferences"]["minHealthyPercentage"] == 0
    hooks = {h.inputs["autoscalingGroupName"]: h.inputs for h in plan.of_type(HOOK)}
    assert {
        g: (h["heartbeatTimeout"], h["defaultResult"], h["lifecycleTransition"]) for g, h in hooks.items()
    } == {
        "looper-dev-workers": (900, "CONTINUE", "autoscaling:EC2_INSTANCE_TERMINATING"),
        "looper-dev-kafka": (420, "CONTINUE", "autoscaling:EC2_INSTANCE_TERMINATING"),
    }
    for group in (workers, kafka):
        assert {
            "key": "aws-node-termination-handler/managed",
            "value": "true",
            "propagateAtLaunch": True,
        } in (group.inputs["tags"])


def test_scale_from_zero_tags_and_heartbeat() -> None:
    tags = node_lifecycle.autoscaler_node_template(
        {"looper/accelerator": "nvidia-t4"},
        ["nvidia.com/gpu=present:NoSchedule", "dedicated:NoExecute"],
        {"nvidia.com/gpu": 4},
    )
    prefix = "k8s.io/cluster-autoscaler/node-template/"
    assert tags == {
        f"{prefix}label/looper/accelerator": "nvidia-t4",
        f"{prefix}taint/nvidia.com/gpu": "present:NoSchedule",
        f"{prefix}taint/dedicated": ":NoExecute",
        f"{prefix}resources/nvidia.com/gpu": "4",
    }
    with pytest.raises(ValueError, match="not a taint"):
        node_lifecycle.autoscaler_node_template({}, ["no-effect"], {})
    assert node_lifecycle.hook_heartbeat_seconds(300) == 420


def base_group(**overrides: Any) -> NodeGroupArgs:
    values: dict[str, Any] = {
        "name": "w",
        "launch_template_id": "lt",
        "launch_template_version": 1,
        "subnet_ids": ["s"],
        "min_size": 1,
        "max_size": 3,
        "desired": 1,
        "node_role": "worker",
    }
    return NodeGroupArgs(**{**values, **overrides})


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (base_group(termination_hook=TerminationHook(7201)), "termination_hook.heartbeat_timeout_sec: 7201"),
        (base_group(termination_hook=TerminationHook(10)), "termination_hook.heartbeat_timeout_sec: 10"),
        (
            base_group(refresh=InstanceRefreshSpec(checkpoint_percentages=(50, 90))),
            "refresh.checkpoint_percentages",
        ),
        (
            base_group(refresh=InstanceRefreshSpec(min_healthy_percentage=0)),
            "50-100 for a group of more than one",
        ),
        (
            base_group(refresh=InstanceRefreshSpec(min_healthy_percentage=101)),
            "refresh.min_healthy_percentage: 101",
        ),
        (
            NodeLifecycleArgs(
                name="x" * 48,
                cluster_name="c",
                region=REGION,
                account_id=ACCOUNT,
                partition="aws",
                group_names={},
                provider_arn=PROVIDER,
                issuer_host=HOST,
                handler_role_name="h",
                autoscaler_role_name="a",
            ),
            "name: ",
        ),
    ],
)
def test_bad_args_are_named(args: Any, fragment: str) -> None:
    assert any(fragment in p for p in args.problems()), args.problems()


def irsa(statement: dict[str, Any]) -> list[str]:
    return IrsaRoleArgs(
        name="r",
        provider_arn=PROVIDER,
        issuer_host=HOST,
        namespace="kube-system",
        service_account="sa",
        statements=[statement],
    ).problems()


def test_irsa_allows_resource_star_only_for_read_only_actions_or_under_a_condition() -> None:
    assert (
        irsa(
            {
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeInstances",
                    "autoscaling:DescribeTags",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            }
        )
        == []
    )
    assert (
        irsa(
            {
                "Effect": "Allow",
                "Action": "autoscaling:SetDesiredCapacity",
                "Resource": ["*"],
                "Condition": {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/c": "owned"}},
            }
        )
        == []
    )
    for action in (
        "autoscaling:SetDesiredCapacity",
        ["ec2:DescribeInstances", "sqs:DeleteMessage"],
        "ec2:*",
        "*",
        "ec2:Describe*Or*Delete",
    ):
        (problem,) = irsa({"Effect": "Allow", "Action": action, "Resource": "*"})
        assert problem.startswith("statements[0]: Resource '*'"), problem
    assert irsa({"Effect": "Deny", "Action": "sqs:*", "Resource": "*"}) == []

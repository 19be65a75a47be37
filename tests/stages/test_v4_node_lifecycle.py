"""Stage v4's node lifecycle, planned from the example stacks: hooks, queue, roles, tags, health."""

from __future__ import annotations

import base64
import gzip
import json
import re

import pytest
import yaml

from helpers.plans import example_values, plan_values
from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.facts import v4_contract

ASG = "aws:autoscaling/group:Group"
HOOK = "aws:autoscaling/lifecycleHook:LifecycleHook"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
TG = "aws:lb/targetGroup:TargetGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
TEMPLATE = v4_contract.AUTOSCALER_NODE_TEMPLATE


def groups(plan: Plan) -> dict[str, RecordedResource]:
    return {g.name.removesuffix("-group"): g for g in plan.of_type(ASG)}


def tags(group: RecordedResource) -> dict[str, str]:
    return {t["key"]: t["value"] for t in group.inputs["tags"]}


def node_pools(plan: Plan) -> dict[str, RecordedResource]:
    return {k: g for k, g in groups(plan).items() if not k.startswith("control-plane")}


@pytest.mark.parametrize(
    ("stack", "pools", "heartbeat"),
    [
        ("v4-dev", {"workers", "kafka"}, 300 + 120),
        ("v4-prod", {"workers", "kafka", "kafka-ap-northeast-2a", "kafka-ap-northeast-2c", "gpu-workers"},
         600 + 120),
    ],
)
def test_every_node_group_has_a_termination_hook_from_config_and_control_planes_none(
    stack: str, pools: set[str], heartbeat: int, request: pytest.FixtureRequest
) -> None:
    plan: Plan = request.getfixturevalue(f"{stack.replace('-', '_')}_plan")
    by_group = {h.inputs["autoscalingGroupName"]: h.inputs for h in plan.of_type(HOOK)}
    names = {k: g.inputs["name"] for k, g in node_pools(plan).items()}
    assert set(names) == pools
    assert set(by_group) == set(names.values())  # no hook on a control-plane group
    for hook in by_group.values():
        assert (hook["lifecycleTransition"], hook["defaultResult"], hook["heartbeatTimeout"]) == (
            "autoscaling:EC2_INSTANCE_TERMINATING",
            "CONTINUE",
            heartbeat,
        )
    for group in node_pools(plan).values():
        assert tags(group)[v4_contract.NTH_MANAGED_TAG] == "true"
    # the ASG rule hears exactly the node groups
    (rule,) = [
        r for r in plan.of_type("aws:cloudwatch/eventRule:EventRule") if r.name.endswith("asg-terminate")
    ]
    assert json.loads(rule.inputs["eventPattern"])["detail"]["AutoScalingGroupName"] == sorted(names.values())


def test_discovery_tags_on_workers_and_gpu_not_kafka(v4_prod_plan: Plan) -> None:
    pools = node_pools(v4_prod_plan)
    discovery = v4_contract.autoscaler_discovery_tags("looper-prod-k8s")
    for key in ("workers", "gpu-workers"):
        assert discovery.items() <= tags(pools[key]).items(), key
        assert pools[key].ignore_changes == ["desiredCapacity"]
    assert not {k for k in tags(pools["kafka"]) if k.startswith("k8s.io/cluster-autoscaler/")}
    assert pools["kafka"].ignore_changes == []
    for cp in (g for k, g in groups(v4_prod_plan).items() if k.startswith("control-plane")):
        assert not {k for k in tags(cp) if k.startswith("k8s.io/cluster-autoscaler/")}


def test_gpu_scale_from_zero_tags_say_what_the_bootstrap_registers(v4_prod_plan: Plan) -> None:
    gpu = tags(node_pools(v4_prod_plan)["gpu-workers"])
    template = {k.removeprefix(TEMPLATE): v for k, v in gpu.items() if k.startswith(TEMPLATE)}
    (lt,) = [r for r in v4_prod_plan.of_type(LT) if r.name == "gpu-lt-template"]
    user_data = gzip.decompress(base64.b64decode(lt.inputs["userData"])).decode()
    (labels,) = re.findall(r'name: node-labels\n\s+value: "([^"]+)"', user_data)
    registered = dict(pair.split("=", 1) for pair in labels.split(",") if "@@" not in pair)
    assert {k.removeprefix("label/"): v for k, v in template.items() if k.startswith("label/")} == registered
    taints = yaml.safe_load(user_data[user_data.index("        taints:") :].split("\n  - path:")[0])["taints"]
    assert {k.removeprefix("taint/"): v for k, v in template.items() if k.startswith("taint/")} == {
        t["key"]: f"{t.get('value', '')}:{t['effect']}" for t in taints
    }
    # g4dn.xlarge: one T4
    assert template["resources/nvidia.com/gpu"] == "1"
    assert registered["looper/accelerator"] == "nvidia-t4"


def test_workers_use_elb_health_on_kube_proxy_and_the_refresh_follows_config(v4_prod_plan: Plan) -> None:
    pools = node_pools(v4_prod_plan)
    assert pools["workers"].inputs["healthCheckType"] == "ELB"
    assert pools["workers"].inputs["healthCheckGracePeriod"] >= 600
    assert {pools[k].inputs["healthCheckType"] for k in ("kafka", "gpu-workers")} == {"EC2"}
    for tg in (t for t in v4_prod_plan.of_type(TG) if t.name.startswith("app-lb-tg-")):
        check = tg.inputs["healthCheck"]
        assert (check["protocol"], check["port"], check["path"], check["matcher"]) == (
            "HTTP",
            "10256",
            "/livez",
            "200",
        )
    refresh = example_values("v4-prod")["node_lifecycle"]["instance_refresh"]
    for key, min_healthy in (
        ("workers", refresh["min_healthy_percentage"]),
        ("gpu-workers", refresh["min_healthy_percentage"]),
        ("kafka", 0),
    ):
        prefs = pools[key].inputs["instanceRefresh"]["preferences"]
        assert (
            prefs["minHealthyPercentage"],
            prefs["checkpointPercentages"],
            prefs["checkpointDelay"],
            prefs["skipMatching"],
        ) == (
            min_healthy,
            refresh["checkpoint_percentages"],
            str(refresh["checkpoint_delay_seconds"]),
            True,
        ), key


def test_kube_proxy_health_port_is_open_only_from_the_app_nlb(v4_dev_plan: Plan) -> None:
    role_of = {g.id: g.inputs["tags"].get("looper/role") for g in v4_dev_plan.of_type(SG)}
    opened = [
        (
            role_of.get(r.inputs["securityGroupId"]),
            role_of.get(r.inputs.get("referencedSecurityGroupId")),
            r.inputs.get("cidrIpv4"),
        )
        for r in v4_dev_plan.of_type(INGRESS)
        if r.inputs.get("fromPort", -1) <= 10256 <= r.inputs.get("toPort", -1)
    ]
    assert opened == [("worker", "app-nlb", None)]
    out = [
        (role_of.get(r.inputs["securityGroupId"]), role_of.get(r.inputs.get("referencedSecurityGroupId")))
        for r in v4_dev_plan.of_type(EGRESS)
        if r.inputs.get("fromPort") == 10256
    ]
    assert out == [("app-nlb", "worker")]


def test_target_groups_check_kube_proxy_only_once_the_rules_let_the_checks_in(v4_dev_plan: Plan) -> None:
    """With ELB health on the workers, a check that cannot connect would replace every worker: the
    target groups' health check follows (data dependency) both rules for port 10256."""
    rules = {r.urn for r in (*v4_dev_plan.of_type(INGRESS), *v4_dev_plan.of_type(EGRESS))
             if r.inputs.get("fromPort") == 10256}
    assert len(rules) == 2
    for tg in (t for t in v4_dev_plan.of_type(TG) if t.name.startswith("app-lb-tg-")):
        assert set(tg.property_dependencies["healthCheck"]) >= rules, tg.name


def test_outputs_the_platform_reads(v4_prod_plan: Plan) -> None:
    out = v4_prod_plan.outputs
    assert set(v4_contract.NODE_LIFECYCLE_OUTPUTS) <= set(out)
    assert out["node_termination_queue_url"] == (
        "https://sqs.ap-northeast-2.amazonaws.com/123456789012/looper-prod-node-termination"
    )
    assert (
        out["node_termination_role_arn"]
        == "arn:aws:iam::123456789012:role/looper-prod-node-termination-handler"
    )
    assert (
        out["cluster_autoscaler_role_arn"] == "arn:aws:iam::123456789012:role/looper-prod-cluster-autoscaler"
    )
    assert out["node_drain_timeout_seconds"] == 600
    assert out["node_asg_names"] == {
        "workers": "looper-prod-workers",
        "kafka": "looper-prod-kafka",
        "kafka-ap-northeast-2a": "looper-prod-kafka-ap-northeast-2a",
        "kafka-ap-northeast-2c": "looper-prod-kafka-ap-northeast-2c",
        "gpu": "looper-prod-gpu",
    }


def test_the_drain_timeout_moves_the_hooks_and_the_output() -> None:
    values = example_values("v4-dev")
    values["node_lifecycle"] = {"drain_timeout_seconds": 900}
    plan = plan_values(values)
    assert {h.inputs["heartbeatTimeout"] for h in plan.of_type(HOOK)} == {1020}
    assert plan.outputs["node_drain_timeout_seconds"] == 900

"""Control planes as Auto Scaling groups of one (one per AZ slot) behind the API NLB, under mocks.

Assertions compare a resource's inputs with what the engine handed back for the resources it
references (`state`), so they hold whether a type has a realistic fake or echoes its inputs.
"""

from __future__ import annotations

import base64
import gc
from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pytest

from looper_infra.components.aws.control_planes import (
    SINGLE_AZ_TAG,
    SLOT_TAG,
    ControlPlaneNodes,
    ControlPlaneNodesArgs,
)
from looper_infra.components.aws.nlb import ApiLoadBalancer, ApiLoadBalancerArgs
from looper_infra.engine.mocks import MockContext, RecordedResource
from looper_infra.engine.plan import Plan, run_program

AZS = ("ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c")
CIDRS = ("10.1.16.0/20", "10.1.32.0/20", "10.1.48.0/20")
AMI = "resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
CLUSTER = "looper-prod-k8s"
CLUSTER_TAG = f"kubernetes.io/cluster/{CLUSTER}"
KMS = "arn:aws:kms:ap-northeast-2:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"

LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
SUBNET = "aws:ec2/subnet:Subnet"
TG = "aws:lb/targetGroup:TargetGroup"
ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
LISTENER = "aws:lb/listener:Listener"
INSTANCE = "aws:ec2/instance:Instance"


def slot_user_data(i: int) -> str:
    return f"#cloud-config\n# control plane slot {i}: {'init' if i == 0 else 'join'}\n"



def program(count: int) -> Callable[[], None]:
    def run() -> None:
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.1.0.0/16")
        private = [aws.ec2.Subnet(f"private-{az[-1]}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=az)
                   for az, cidr in zip(AZS, CIDRS, strict=True)]
        subnet_ids = pulumi.Output.all(*[s.id for s in private]).apply(list)
        api = ApiLoadBalancer("api-lb", ApiLoadBalancerArgs(
            name="looper-prod-api", vpc_id=vpc.id, subnet_ids=subnet_ids, security_group_id="sg-0api",
            deletion_protection=True))
        cps = ControlPlaneNodes("control-plane", ControlPlaneNodesArgs(
            name_prefix="looper-prod-cp", count=count, cluster_name=CLUSTER, image_id=AMI,
            instance_type="m7i.large", subnet_ids=subnet_ids, security_group_ids=("sg-0cp",),
            instance_profile="looper-prod-control-plane", kms_key_id=KMS,
            user_data=[slot_user_data(i) for i in range(count)], api_target_group_arn=api.target_group_arn,
            tags={"env": "prod"}))
        pulumi.export("group_names", cps.group_names)
        pulumi.export("group_arns", cps.group_arns)
    return run


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_program(program(3), stage="test", stack="test", context=MockContext())


@pytest.fixture(scope="module")
def plan5() -> Plan:
    return run_program(program(5), stage="test", stack="test", context=MockContext())


def slots(plan: Plan, type_: str) -> list[RecordedResource]:
    found = [r for r in plan.of_type(type_) if r.name.startswith("control-plane-")]
    # groups are `control-plane-<slot>`, their templates `control-plane-<slot>-template`
    return sorted(found, key=lambda r: int(r.name.split("-")[2]))


def test_each_slot_is_one_group_of_one_in_its_own_az(plan: Plan) -> None:
    groups = slots(plan, ASG)
    assert [g.name for g in groups] == ["control-plane-0", "control-plane-1", "control-plane-2"]
    subnets = {s.id: s.inputs["availabilityZone"] for s in plan.of_type(SUBNET)}
    zones = []
    for i, group in enumerate(groups):
        x = group.inputs
        assert x["name"] == f"looper-prod-cp-{i}"
        assert (x["minSize"], x["maxSize"], x["desiredCapacity"]) == (1, 1, 1)
        (subnet,) = x["vpcZoneIdentifiers"]
        zones.append(subnets[subnet])
    assert zones == list(AZS)
    # no control plane is an EC2 instance of its own any more, nor a per-instance attachment
    assert plan.of_type(INSTANCE) == [] and plan.of_type(ATTACH) == []
    assert plan.outputs["group_names"] == [f"looper-prod-cp-{i}" for i in range(3)]
    assert plan.outputs["group_arns"] == [g.state["arn"] for g in groups]


def test_five_slots_wrap_around_three_azs(plan5: Plan) -> None:
    subnets = {s.id: s.inputs["availabilityZone"] for s in plan5.of_type(SUBNET)}
    zones = [subnets[g.inputs["vpcZoneIdentifiers"][0]] for g in slots(plan5, ASG)]
    assert zones == [AZS[0], AZS[1], AZS[2], AZS[0], AZS[1]]
    assert all(len(g.inputs["vpcZoneIdentifiers"]) == 1 for g in slots(plan5, ASG))


def test_groups_register_in_the_api_target_group_and_heal_on_its_health(plan: Plan) -> None:
    api_tg = plan.named(TG, "api-lb-tg")
    for group in slots(plan, ASG):
        x = group.inputs
        assert x["targetGroupArns"] == [api_tg.state["arn"]]
        assert x["healthCheckType"] == "ELB" and x["healthCheckGracePeriod"] == 1200
        assert x["defaultInstanceWarmup"] == 900
        assert x["capacityRebalance"] is False and x["terminationPolicies"] == ["OldestInstance"]
        # replacing a control plane is the operator's sequenced refresh, never Pulumi's
        assert "instanceRefresh" not in x


def test_each_group_pins_its_own_slots_template_version(plan: Plan) -> None:
    templates = slots(plan, LT)
    assert len(templates) == 3
    for i, (group, template) in enumerate(zip(slots(plan, ASG), templates, strict=True)):
        version = group.inputs["launchTemplate"]["version"]
        assert group.inputs["launchTemplate"] == {"id": template.id,
                                                  "version": str(template.state["latestVersion"])}
        assert version.isdigit() and version != "$Latest"
        assert template.inputs["namePrefix"] == f"looper-prod-cp-{i}-"
        assert base64.b64decode(template.inputs["userData"]).decode() == slot_user_data(i)


def test_templates_are_hardened_and_without_termination_protection(plan: Plan) -> None:
    for template in slots(plan, LT):
        x = template.inputs
        assert x["imageId"] == AMI and x["instanceType"] == "m7i.large"
        assert x["iamInstanceProfile"] == {"name": "looper-prod-control-plane"}
        assert x["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                        "httpPutResponseHopLimit": 1, "instanceMetadataTags": "disabled"}
        (root,) = x["blockDeviceMappings"]
        assert root["deviceName"] == "/dev/sda1"
        assert root["ebs"] == {"volumeType": "gp3", "volumeSize": 50, "encrypted": "true", "kmsKeyId": KMS,
                               "deleteOnTermination": "true"}
        (nic,) = x["networkInterfaces"]
        assert nic["associatePublicIpAddress"] == "false" and nic["securityGroups"] == ["sg-0cp"]
        assert x["monitoring"] == {"enabled": True}
        # a protected group member could not be replaced by its group
        assert "disableApiTermination" not in x


def test_instances_carry_name_role_cluster_and_slot_tags(plan: Plan) -> None:
    for i, (group, template) in enumerate(zip(slots(plan, ASG), slots(plan, LT), strict=True)):
        expected = {"Name": f"looper-prod-cp-{i}", "role": "control-plane", CLUSTER_TAG: "owned",
                    SLOT_TAG: str(i), "env": "prod"}
        tags = {t["key"]: (t["value"], t["propagateAtLaunch"]) for t in group.inputs["tags"]}
        reason, propagated = tags.pop(SINGLE_AZ_TAG)
        # one AZ per group on purpose, declared so the policy pack reports it instead of failing
        assert reason and propagated is True
        assert tags == {k: (v, True) for k, v in expected.items()}
        specs = {s["resourceType"]: s["tags"] for s in template.inputs["tagSpecifications"]}
        assert set(specs) == {"instance", "volume", "network-interface"}
        assert specs["instance"] == expected


def test_api_target_group_takes_instance_targets_without_client_ip(plan: Plan) -> None:
    tg = plan.named(TG, "api-lb-tg")
    x = tg.inputs
    assert (x["port"], x["protocol"], x["targetType"], x["preserveClientIp"]) == (
        6443, "TCP", "instance", "false")
    assert x["healthCheck"]["protocol"] == "HTTPS" and x["healthCheck"]["path"] == "/readyz"
    assert x["deregistrationDelay"] <= 60 and x["connectionTermination"] is True
    # auto-named: the replacement (target_type is immutable) cannot collide with the old group
    assert "name" not in x
    (listener,) = [r for r in plan.of_type(LISTENER) if r.name.startswith("api-lb")]
    assert listener.inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": tg.state["arn"]}]


def bad_args() -> ControlPlaneNodesArgs:
    return ControlPlaneNodesArgs(
        name_prefix="Looper_CP", count=2, cluster_name="Looper K8s", image_id="ubuntu-24.04",
        instance_type="m7i.large", subnet_ids=["s"], security_group_ids=(), instance_profile="p",
        user_data=["a", "b", "c"], api_target_group_arn="tg", volume_gb=4,
        health_check_grace_period_sec=60, instance_warmup_sec=-1, tags={"role": "x"})


def test_bad_args_name_every_problem() -> None:
    problems = bad_args().problems()
    fields = ["volume_gb", "image_id", "count: 2", "user_data: 3 entries for 2", "name_prefix",
              "cluster_name", "security_group_ids", "health_check_grace_period_sec: 60",
              "instance_warmup_sec: -1", "tags: ['role']"]
    for f in fields:
        assert any(p.startswith(f) for p in problems), (f, problems)
    assert len(problems) == len(fields)


def test_good_args_have_no_problems() -> None:
    args = ControlPlaneNodesArgs(
        name_prefix="looper-prod-cp", count=3, cluster_name=CLUSTER, image_id=AMI, instance_type="m7i.large",
        subnet_ids=["s"], security_group_ids=("sg",), instance_profile="p", user_data=["a", "b", "c"],
        api_target_group_arn="tg")
    assert args.problems() == []


def test_bad_args_are_refused_before_anything_is_created() -> None:
    def run() -> None:
        ControlPlaneNodes("cp", bad_args())

    try:
        with pytest.raises(pulumi.RunError, match="cp: volume_gb") as raised:
            run_program(run, stage="test", stack="test", context=MockContext())
        assert "tags: ['role']" in str(raised.value)
    finally:
        gc.collect()


def test_grace_period_above_two_hours_is_the_only_problem() -> None:
    args = ControlPlaneNodesArgs(
        name_prefix="cp", count=1, cluster_name="c", image_id=AMI, instance_type="t", subnet_ids=["s"],
        security_group_ids=("sg",), instance_profile="p", user_data=["a"], api_target_group_arn="tg",
        health_check_grace_period_sec=7201)
    assert args.problems() == ["health_check_grace_period_sec: 7201 (300-7200: a control plane bootstraps "
                               "for minutes)"]

"""Elastic Load Balancing v2: load balancers (application, network, gateway), target groups,
attachments and listeners, with the DNS names and Route 53 hosted zones of the region."""

from __future__ import annotations

import string
from typing import Any

from looper_infra.engine.fakes.aws.ids import arn, auto_name, unique_suffix
from looper_infra.engine.fakes.aws.regions import hosted_zone
from looper_infra.engine.fakes.aws.state import region_of, registry
from looper_infra.engine.fakes.inputs import fail
from looper_infra.engine.fakes.seeded import HEX, chars
from looper_infra.engine.mocks import Fake, MockContext

ARN_KINDS = {"application": "app", "network": "net", "gateway": "gwy"}


def _dns_and_zone(name: str, lb_name: str, kind: str, internal: bool, region: str) -> tuple[str, str]:
    if kind == "network":  # NLBs never get the "internal-" prefix
        dns = f"{lb_name}-{chars(HEX, 16, 'lb-dns', name)}.elb.{region}.amazonaws.com"
        return dns.lower(), hosted_zone("network_load_balancer", region)
    dns = ("internal-" if internal else "") + f"{lb_name}-{chars(string.digits, 10, 'lb-dns', name)}" \
        f".{region}.elb.amazonaws.com"
    return dns.lower(), hosted_zone("application_load_balancer", region)


def load_balancer(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    lb_name = auto_name(name, inputs, max_length=32)
    kind = inputs.get("loadBalancerType") or "application"
    suffix = f"{ARN_KINDS[kind]}/{lb_name}/{chars(HEX, 16, 'lb', name)}"
    internal = bool(inputs.get("internal"))
    dns, zone = _dns_and_zone(name, lb_name, kind, internal, region)
    subnets = registry(ctx, "subnets")
    subnet_ids = list(inputs.get("subnets") or []) + [
        m.get("subnetId") for m in inputs.get("subnetMappings") or []]
    vpcs = {subnets[s]["vpcId"] for s in subnet_ids if s in subnets}
    lb_arn = arn("elasticloadbalancing", region, ctx.aws_account, f"loadbalancer/{suffix}")
    return {**inputs, "id": lb_arn, "arn": lb_arn, "arnSuffix": suffix, "name": lb_name,
            "loadBalancerType": kind, "internal": internal, "dnsName": dns, "zoneId": zone,
            "vpcId": next(iter(vpcs)) if len(vpcs) == 1 else inputs.get("vpcId", ""),
            "ipAddressType": inputs.get("ipAddressType") or "ipv4", "region": region}


def target_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    tg_name = auto_name(name, inputs, max_length=32)
    suffix = f"targetgroup/{tg_name}/{chars(HEX, 16, 'tg', name)}"
    tg_arn = arn("elasticloadbalancing", region, ctx.aws_account, suffix)
    return {**inputs, "id": tg_arn, "arn": tg_arn, "arnSuffix": suffix, "name": tg_name,
            "targetType": inputs.get("targetType") or "instance", "loadBalancerArns": [],
            "ipAddressType": inputs.get("ipAddressType") or "ipv4", "region": region}


def target_group_attachment(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['targetGroupArn']}-{unique_suffix('tga', name)}",
            "region": region_of(inputs, ctx)}


def listener(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    lb_arn = str(inputs["loadBalancerArn"])
    head, sep, lb_suffix = lb_arn.partition(":loadbalancer/")
    if not sep:
        raise fail("aws", "Listener", name, f"loadBalancerArn {lb_arn!r} is not a load balancer ARN")
    listener_arn = f"{head}:listener/{lb_suffix}/{chars(HEX, 16, 'listener', name)}"
    return {**inputs, "id": listener_arn, "arn": listener_arn, "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:lb/targetGroup:TargetGroup": target_group,
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": target_group_attachment,
    "aws:lb/listener:Listener": listener,
}

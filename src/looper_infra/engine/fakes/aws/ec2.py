"""EC2 instances and launch templates: an instance lands in its (or its template's) subnet,
takes a private address from it, and a public one only when asked or when the subnet maps one."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.aws.addresses import (
    allocate_private,
    allocate_public,
    private_dns,
    public_dns,
    subnet_of,
)
from looper_infra.engine.fakes.aws.ids import arn, auto_name, ec2_id
from looper_infra.engine.fakes.aws.state import region_of, registry
from looper_infra.engine.fakes.inputs import fail
from looper_infra.engine.mocks import Fake, MockContext


def launch_template(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    lid = ec2_id("lt", name)
    template_name = auto_name(name, inputs, max_length=128)
    nics = inputs.get("networkInterfaces") or []
    first = nics[0] if nics else {}
    registry(ctx, "launch_templates")[lid] = registry(ctx, "launch_templates")[template_name] = {
        "subnetId": first.get("subnetId"),
        "associatePublicIpAddress": first.get("associatePublicIpAddress")}
    return {**inputs, "id": lid, "name": template_name, "latestVersion": 1, "defaultVersion": 1,
            "arn": arn("ec2", region, ctx.aws_account, f"launch-template/{lid}"), "region": region}


def _public_ip_wanted(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return value is True or str(value).lower() == "true"  # launch templates carry "true"/"false"


def _template_of(inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    if not inputs.get("launchTemplate"):
        return {}
    ref = inputs["launchTemplate"]
    return registry(ctx, "launch_templates").get(str(ref.get("id") or ref.get("name"))) or {}


def _has_public_ip(inputs: dict[str, Any], template: dict[str, Any], where: dict[str, Any]) -> bool:
    wanted = _public_ip_wanted(inputs.get("associatePublicIpAddress"))
    if wanted is None:
        wanted = _public_ip_wanted(template.get("associatePublicIpAddress"))
    return bool(where["mapPublicIpOnLaunch"] if wanted is None else wanted)


def instance(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    iid = ec2_id("i", name)
    template = _template_of(inputs, ctx)
    where = subnet_of(ctx, inputs.get("subnetId") or template.get("subnetId"), "Instance", name)
    if inputs.get("availabilityZone") and inputs["availabilityZone"] != where["az"]:
        raise fail("aws", "Instance", name, f"availabilityZone {inputs['availabilityZone']} differs from "
                   f"its subnet's {where['az']}")
    ip = allocate_private(where, name, "Instance", inputs.get("privateIp"))
    dns = f"{iid}.{region}.compute.internal" if where["hostnameType"] == "resource-name" else \
        private_dns(ip, region)
    public_ip = allocate_public(ctx, region, name) if _has_public_ip(inputs, template, where) else ""
    root = {"deviceName": "/dev/xvda", **(inputs.get("rootBlockDevice") or {}),
            "volumeId": ec2_id("vol", f"{name}/root")}
    return {
        **inputs, "id": iid, "arn": arn("ec2", region, ctx.aws_account, f"instance/{iid}"),
        "availabilityZone": where["az"], "subnetId": inputs.get("subnetId") or template.get("subnetId"),
        "privateIp": ip, "privateDns": dns, "publicIp": public_ip,
        "publicDns": public_dns(public_ip, region) if public_ip else "",
        "associatePublicIpAddress": bool(public_ip), "instanceState": "running",
        "primaryNetworkInterfaceId": ec2_id("eni", f"{name}/primary"), "rootBlockDevice": root,
        "tenancy": inputs.get("tenancy") or "default", "sourceDestCheck": inputs.get("sourceDestCheck", True),
        "region": region,
    }


FAKES: dict[str, Fake] = {
    "aws:ec2/launchTemplate:LaunchTemplate": launch_template,
    "aws:ec2/instance:Instance": instance,
}

"""Transit gateways, their VPC attachments, route tables, table associations/propagations, routes."""

from __future__ import annotations

from typing import Any

from looper_infra.engine.fakes.aws.ids import ec2_id, ec2_resource
from looper_infra.engine.fakes.aws.state import region_of, registry
from looper_infra.engine.fakes.aws.vpn import DEFAULT_AMAZON_ASN
from looper_infra.engine.mocks import Fake, MockContext

GATEWAY_DEFAULTS = {"autoAcceptSharedAttachments": "disable", "defaultRouteTableAssociation": "enable",
                    "defaultRouteTablePropagation": "enable", "dnsSupport": "enable",
                    "vpnEcmpSupport": "enable", "multicastSupport": "disable",
                    "securityGroupReferencingSupport": "disable"}
ATTACHMENT_DEFAULTS = {"dnsSupport": "enable", "ipv6Support": "disable", "applianceModeSupport": "disable",
                       "securityGroupReferencingSupport": "enable",
                       "transitGatewayDefaultRouteTableAssociation": True,
                       "transitGatewayDefaultRouteTablePropagation": True}


def transit_gateway(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = ec2_resource("tgw", "transit-gateway")(name, inputs, ctx)
    asn = int(float(inputs.get("amazonSideAsn") or DEFAULT_AMAZON_ASN))
    registry(ctx, "gateway_asns")[state["id"]] = str(asn)
    state.update({k: inputs.get(k) or v for k, v in {"amazonSideAsn": asn, **GATEWAY_DEFAULTS}.items()})
    default_table = ec2_id("tgw-rtb", f"{name}/default")
    state["associationDefaultRouteTableId"] = \
        default_table if state["defaultRouteTableAssociation"] == "enable" else ""
    state["propagationDefaultRouteTableId"] = \
        default_table if state["defaultRouteTablePropagation"] == "enable" else ""
    return state


def tgw_vpc_attachment(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = ec2_resource("tgw-attach", "transit-gateway-attachment", owner=False)(name, inputs, ctx)
    registry(ctx, "tgw_attachments")[state["id"]] = {"resourceId": inputs.get("vpcId"),
                                                     "resourceType": "vpc"}
    for key, value in ATTACHMENT_DEFAULTS.items():
        state.setdefault(key, value)
    state["vpcOwnerId"] = ctx.aws_account
    return state


def tgw_route_table(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    state = ec2_resource("tgw-rtb", "transit-gateway-route-table", owner=False)(name, inputs, ctx)
    state.update({"defaultAssociationRouteTable": False, "defaultPropagationRouteTable": False})
    return state


def tgw_route_table_link(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """A transit gateway route table association or propagation: `<table>_<attachment>`."""
    attachment = str(inputs["transitGatewayAttachmentId"])
    target = registry(ctx, "tgw_attachments").get(attachment, {})
    return {**inputs, "id": f"{inputs['transitGatewayRouteTableId']}_{attachment}",
            "resourceId": target.get("resourceId", ""), "resourceType": target.get("resourceType", ""),
            "region": region_of(inputs, ctx)}


def tgw_route(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {**inputs, "id": f"{inputs['transitGatewayRouteTableId']}_{inputs['destinationCidrBlock']}",
            "blackhole": bool(inputs.get("blackhole")), "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:ec2transitgateway/transitGateway:TransitGateway": transit_gateway,
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": tgw_vpc_attachment,
    "aws:ec2transitgateway/routeTable:RouteTable": tgw_route_table,
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": tgw_route_table_link,
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": tgw_route_table_link,
    "aws:ec2transitgateway/route:Route": tgw_route,
}

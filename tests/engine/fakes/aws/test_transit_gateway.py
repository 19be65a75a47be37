"""Transit gateways: their ASN for VPN connections, attachments, route table links."""

from __future__ import annotations

import re

from looper_infra.engine.fakes.aws import transit_gateway, vpn
from looper_infra.engine.mocks import MockContext

EC2_ID = r"[0-9a-f]{17}"


def test_vpn_on_a_transit_gateway_takes_its_asn_and_gets_an_attachment() -> None:
    c = MockContext()
    tgw = transit_gateway.transit_gateway("tgw", {"amazonSideAsn": 64600.0}, c)
    assert re.fullmatch(rf"tgw-{EC2_ID}", tgw["id"]) and tgw["amazonSideAsn"] == 64600
    assert re.fullmatch(rf"tgw-rtb-{EC2_ID}", tgw["associationDefaultRouteTableId"])
    conn = vpn.vpn_connection("tgw-vpn", {"transitGatewayId": tgw["id"], "customerGatewayId": "cgw-x"}, c)
    assert conn["tunnel1BgpAsn"] == "64600" and re.fullmatch(rf"tgw-attach-{EC2_ID}",
                                                             conn["transitGatewayAttachmentId"])
    table = transit_gateway.tgw_route_table("rt", {"transitGatewayId": tgw["id"]}, c)
    assoc = transit_gateway.tgw_route_table_link("assoc", {
        "transitGatewayRouteTableId": table["id"],
        "transitGatewayAttachmentId": conn["transitGatewayAttachmentId"]}, c)
    assert (assoc["resourceType"], assoc["resourceId"]) == ("vpn", conn["id"])


def test_vpc_attachment_and_gateway_without_default_tables() -> None:
    c = MockContext()
    tgw = transit_gateway.transit_gateway("hub", {"defaultRouteTableAssociation": "disable",
                                                  "defaultRouteTablePropagation": "disable"}, c)
    assert tgw["amazonSideAsn"] == 64512 and tgw["associationDefaultRouteTableId"] == ""
    attach = transit_gateway.tgw_vpc_attachment("hub-k8s", {"transitGatewayId": tgw["id"],
                                                            "vpcId": "vpc-1"}, c)
    link = transit_gateway.tgw_route_table_link("prop", {"transitGatewayRouteTableId": "tgw-rtb-1",
                                                         "transitGatewayAttachmentId": attach["id"]}, c)
    assert (link["resourceType"], link["resourceId"]) == ("vpc", "vpc-1")
    assert attach["vpcOwnerId"] == "123456789012" and attach["dnsSupport"] == "enable"

"""The v4 network topology as Markdown, generated from a plan (the docs section cannot go stale).

Lists the networks (VPCs, GCP subnets) with their CIDRs, every route between networks (not the
default routes) with what carries it, the routes learnt over BGP, the networks pushed to VPN
clients, and the HA VPN tunnels. `python -m looper_infra.reports.docs --write` (every generated doc)
or `python -m looper_infra.reports.topology --write docs/stages/v4.md` rewrites the sections between
`<!-- topology:STACK -->` and `<!-- /topology:STACK -->`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan

VPC = "aws:ec2/vpc:Vpc"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
PROPAGATION = "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation"
GCP_SUBNET = "gcp:compute/subnetwork:Subnetwork"
TUNNEL = "gcp:compute/vPNTunnel:VPNTunnel"
PEER = "gcp:compute/routerPeer:RouterPeer"
INTERFACE = "gcp:compute/routerInterface:RouterInterface"
#: Stacks whose topology docs/stages/v4.md carries.
DOC_STACKS = ("v4-dev", "v4-prod")


def _name(r: RecordedResource) -> str:
    tags = r.inputs.get("tags") or {}
    return str(tags.get("Name") or r.inputs.get("name") or r.name)


def _via(route: dict[str, Any]) -> str:
    if route.get("vpcPeeringConnectionId"):
        return "VPC peering"
    if route.get("transitGatewayId"):
        return "transit gateway"
    if route.get("natGatewayId"):
        return "NAT gateway"
    if route.get("gatewayId"):
        return "internet gateway" if str(route["gatewayId"]).startswith("igw-") else "gateway"
    return "?"


def topology_markdown(plan: Plan) -> str:
    by_id = {r.id: r for r in plan.resources if r.id}
    lines = [f"Generated from `looper plan v4 --stack {plan.stack}`.", "",
             "| network | cloud | CIDR |", "|---|---|---|"]
    for vpc in sorted(plan.of_type(VPC), key=_name):
        lines.append(f"| {_name(vpc)} | AWS VPC | {vpc.inputs['cidrBlock']} |")
    for subnet in sorted(plan.of_type(GCP_SUBNET), key=_name):
        lines.append(f"| {_name(subnet)} | GCP subnet | {subnet.inputs['ipCidrRange']} |")

    routes = []
    for route in plan.of_type(ROUTE):
        dest = route.inputs.get("destinationCidrBlock")
        if dest in (None, "0.0.0.0/0"):
            continue
        table = by_id.get(route.inputs.get("routeTableId", ""))
        routes.append((_name(table) if table else "?", dest, _via(route.inputs)))
    lines += ["", "| route table | destination | via |", "|---|---|---|"]
    lines += [f"| {t} | {d} | {v} |" for t, d, v in sorted(routes)] or ["| (none) | | |"]

    propagated = sorted(_name(by_id[p.inputs["routeTableId"]]) for p in plan.of_type(PROPAGATION)
                        if p.inputs.get("routeTableId") in by_id)
    if propagated:
        lines += ["", "GCP's ranges are learnt over BGP (VGW route propagation) in: "
                  + ", ".join(propagated) + "."]
    elif plan.of_type(TUNNEL):
        lines += ["", "GCP's ranges are learnt over BGP by the transit gateway's route table (ECMP)."]
    pushed = plan.outputs.get("vpn_pushed_routes")
    if pushed is not None:
        lines += ["", "OpenVPN clients get routes to: " + ", ".join(pushed) + "."]

    tunnels = sorted(plan.of_type(TUNNEL), key=_name)
    if tunnels:
        peers = {p.inputs["interface"]: p for p in plan.of_type(PEER)}
        ifaces = {i.inputs["vpnTunnel"]: i for i in plan.of_type(INTERFACE)}
        lines += ["", "| tunnel | GCP interface | AWS outside interface | inside CIDR (GCP side) "
                      "| BGP peer | "
                      "ASN GCP / AWS |", "|---|---|---|---|---|---|"]
        for t in tunnels:
            iface = ifaces.get(t.inputs["name"])
            peer = peers.get(iface.inputs["name"]) if iface else None
            lines.append(
                f"| {t.inputs['name']} | {t.inputs['vpnGatewayInterface']} | "
                f"{t.inputs['peerExternalGatewayInterface']} | {iface.inputs['ipRange'] if iface else '?'} | "
                f"{peer.inputs['peerIpAddress'] if peer else '?'} | "
                f"{_router_asn(plan)} / {peer.inputs['peerAsn'] if peer else '?'} |")
    return "\n".join(lines) + "\n"


def _router_asn(plan: Plan) -> str:
    for r in plan.of_type("gcp:compute/router:Router"):
        asn = (r.inputs.get("bgp") or {}).get("asn")
        if asn is not None:
            return str(asn)
    return "?"


def _markers(stack: str) -> tuple[str, str]:
    return f"<!-- topology:{stack} -->", f"<!-- /topology:{stack} -->"


def replace_section(text: str, stack: str, body: str) -> str:
    start, end = _markers(stack)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):  # regex-guard: search (a marked section)
        raise ValueError(f"no {start} ... {end} section")
    return pattern.sub(lambda _: f"{start}\n{body}{end}", text)


def plan_example(stack: str, root: Path) -> Plan:
    """The offline plan of the v4 example stack `stack` of the project in `root`."""
    from looper_infra.config import load_stack_file
    from looper_infra.engine.plan import plan_stage
    from looper_infra.stages import load_program

    cfg = load_stack_file(root / f"Pulumi.{stack}.yaml", stage="v4")
    return plan_stage(cfg, load_program("v4"), stack=stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="rewrite the topology sections of this file")
    args = parser.parse_args(argv)
    root = Path.cwd()
    if args.write is None:
        for stack in DOC_STACKS:
            sys.stdout.write(topology_markdown(plan_example(stack, root)))
        return 0
    text = args.write.read_text(encoding="utf-8")
    for stack in DOC_STACKS:
        text = replace_section(text, stack, topology_markdown(plan_example(stack, root)))
    args.write.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

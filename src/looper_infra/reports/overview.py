"""The overview diagram: where things run, as nested boxes cloud > VPC > zone > subnet.

Drawn from the plan with Graphviz clusters (no icons yet): AWS VPCs with their subnets per
availability zone and GCP networks with their subnetworks per region; instances, Auto Scaling
groups, load balancers and databases are placed in the subnets they are given (a group or a
load balancer spanning zones is shown in each). The Internet points at the public entries
(the same rule as the component diagram), and a global front end points at what it reaches
through resources not drawn (forwarding rule > proxy > URL map > backend > instance group).
"""

from __future__ import annotations

from collections import defaultdict

from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.reports.diagram import _is_public_entry, dot_quote

_AWS_PLACED = {
    "aws:ec2/instance:Instance": "instance",
    "aws:autoscaling/group:Group": "group",
    "aws:lb/loadBalancer:LoadBalancer": "load balancer",
    "aws:rds/instance:Instance": "database",
}
_GCP_PLACED = {
    "gcp:compute/instance:Instance": "instance",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": "instance group",
}
#: drawn in the cloud's box, outside any network (global front ends)
_EDGE = {"gcp:compute/globalForwardingRule:GlobalForwardingRule": "global forwarding rule"}


def _tail(value: object) -> str:
    return str(value).rstrip("/").rsplit("/", 1)[-1]


def _subnets_of(r: RecordedResource, groups: dict[str, list[str]],
                by_urn: dict[str, RecordedResource]) -> list[str]:
    i = r.inputs
    if r.type == "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
        templates = [by_urn[u] for u in r.dependencies if u in by_urn
                     and by_urn[u].type == "gcp:compute/instanceTemplate:InstanceTemplate"]
        return [_tail(n["subnetwork"]) for t in templates
                for n in t.inputs.get("networkInterfaces") or []
                if isinstance(n, dict) and n.get("subnetwork")][:1]
    if r.type == "aws:ec2/instance:Instance":
        return [i["subnetId"]] if i.get("subnetId") else []
    if r.type == "aws:autoscaling/group:Group":
        return list(i.get("vpcZoneIdentifiers") or [])
    if r.type == "aws:lb/loadBalancer:LoadBalancer":
        return list(i.get("subnets") or []) + [m["subnetId"] for m in i.get("subnetMappings") or []
                                               if isinstance(m, dict) and "subnetId" in m]
    if r.type == "aws:rds/instance:Instance":
        return groups.get(str(i.get("dbSubnetGroupName")), [])
    if r.type in ("gcp:compute/instance:Instance",):
        return [_tail(n["subnetwork"]) for n in i.get("networkInterfaces") or []
                if isinstance(n, dict) and n.get("subnetwork")][:1]
    return []


def to_overview_dot(plan: Plan) -> str:
    """DOT with one cluster per cloud, VPC/network, zone/region and subnet."""
    ids: dict[str, str] = {}

    def node_id(key: str) -> str:
        return ids.setdefault(key, f"n{len(ids)}")

    # subnets: id (AWS) or name (GCP) -> (cloud, network key, zone, label)
    vpcs = {r.id: r for r in plan.of_type("aws:ec2/vpc:Vpc")}
    networks = {str(r.inputs.get("name")): r for r in plan.of_type("gcp:compute/network:Network")}
    subnets: dict[str, tuple[str, str, str, str]] = {}
    for s in plan.of_type("aws:ec2/subnet:Subnet"):
        tier = (s.inputs.get("tags") or {}).get("looper/tier", "subnet")
        subnets[str(s.id)] = ("AWS", str(s.inputs.get("vpcId")), str(s.inputs.get("availabilityZone")),
                              f"{tier} {s.inputs.get('cidrBlock', '')}")
    for s in plan.of_type("gcp:compute/subnetwork:Subnetwork"):
        subnets[str(s.inputs.get("name"))] = (
            "GCP", _tail(s.inputs.get("network")), str(s.inputs.get("region")),
            f"{s.inputs.get('name')} {s.inputs.get('ipCidrRange', '')}")
    groups = {str(g.inputs.get("name")): list(g.inputs.get("subnetIds") or [])
              for g in plan.of_type("aws:rds/subnetGroup:SubnetGroup")}

    by_urn = {r.urn: r for r in plan.resources}
    placed: dict[str, list[tuple[str, str]]] = defaultdict(list)  # subnet -> [(node id, label)]
    first: dict[str, str] = {}  # urn -> the node id of its first placement
    edge_nodes: dict[str, list[tuple[str, str]]] = defaultdict(list)  # cloud -> [(id, label)]
    entries: list[str] = []
    for r in plan.resources:
        if r.type in _EDGE:
            nid = node_id(r.urn)
            edge_nodes[r.type.split(":")[0].upper()].append((nid, f"{r.name}\n{_EDGE[r.type]}"))
            first[r.urn] = nid
            if _is_public_entry(r):
                entries.append(nid)
            continue
        kind = _AWS_PLACED.get(r.type) or _GCP_PLACED.get(r.type)
        if kind is None:
            continue
        label = f"{r.name}\n{kind}"
        for n, subnet in enumerate(s for s in _subnets_of(r, groups, by_urn) if s in subnets):
            nid = node_id(f"{r.urn}#{subnet}")
            placed[subnet].append((nid, label))
            if n == 0:
                first[r.urn] = nid
                if _is_public_entry(r):
                    entries.append(nid)
    # the request path from a front end: what it reaches through resources not drawn
    paths: list[tuple[str, str]] = []
    for urn in (u for u in first if by_urn[u].type in _EDGE):
        seen, todo = {urn}, list(by_urn[urn].dependencies)
        while todo:
            dep = todo.pop()
            if dep in seen or dep not in by_urn:
                continue
            seen.add(dep)
            if dep in first:
                paths.append((first[urn], first[dep]))
            else:
                todo += by_urn[dep].dependencies

    tree: dict[str, dict[str, dict[str, list[str]]]] = defaultdict(lambda: defaultdict(
        lambda: defaultdict(list)))
    for key, (cloud, network, zone, _) in subnets.items():
        tree[cloud][network][zone].append(key)

    out = ["digraph overview {", "  rankdir=LR; compound=true; fontname=Helvetica;",
           "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=Helvetica, "
           "fontsize=10];", '  internet [label="Internet", shape=doublecircle];']
    for cloud, nets in sorted(tree.items()):
        out.append(f"  subgraph {dot_quote('cluster_' + cloud)} {{ label={dot_quote(cloud)}; "
                   "style=filled; fillcolor=\"#f4f6fb\";")
        out += [f"    {nid} [label={dot_quote(label)}];" for nid, label in edge_nodes.get(cloud, [])]
        for network, zones in sorted(nets.items()):
            vpc = vpcs.get(network) if cloud == "AWS" else networks.get(network)
            title = (f"VPC {vpc.name} {vpc.inputs.get('cidrBlock', '')}" if cloud == "AWS" and vpc
                     else f"network {network}")
            out.append(f"    subgraph {dot_quote('cluster_' + node_id(cloud + network))} {{ "
                       f"label={dot_quote(title)}; fillcolor=\"#e8eef8\";")
            for zone, keys in sorted(zones.items()):
                zone_title = ("zone " if cloud == "AWS" else "region ") + zone
                out.append(f"      subgraph {dot_quote('cluster_' + node_id(network + zone))} {{ "
                           f"label={dot_quote(zone_title)}; fillcolor=\"#dde6f5\";")
                for key in sorted(keys, key=lambda k: subnets[k][3]):
                    out.append(f"        subgraph {dot_quote('cluster_' + node_id('s' + key))} {{ "
                               f"label={dot_quote(subnets[key][3])}; fillcolor=\"#ffffff\";")
                    members = placed.get(key) or [(node_id("empty" + key), "")]
                    for nid, label in members:
                        shape = "" if label else ", shape=point, style=invis"
                        out.append(f"          {nid} [label={dot_quote(label)}{shape}];")
                    out.append("        }")
                out.append("      }")
            out.append("    }")
        out.append("  }")
    out += [f"  internet -> {nid} [color=\"#b00020\", penwidth=2];" for nid in entries]
    out += [f"  {a} -> {b} [color=\"#b00020\"];" for a, b in sorted(set(paths))]
    out.append("}")
    return "\n".join(out) + "\n"


def overview_svg(plan: Plan) -> str:
    from looper_infra.reports.diagram import render_image

    return render_image(to_overview_dot(plan), "svg").decode("utf-8")


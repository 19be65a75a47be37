"""The overview diagram: where things run, as nested boxes cloud > VPC > zone > subnet.

Drawn from the plan with Graphviz clusters and the official cloud icons (the `diagrams` package's
PNGs, embedded as data: URIs so the report loads nothing): AWS VPCs with their subnets per
availability zone and GCP networks with their subnetworks per region; instances, Auto Scaling
groups, load balancers and databases are placed in the subnets they are given (a group or a
load balancer spanning zones is shown in each). The Internet points at the public entries
(the same rule as the component diagram), and a global front end points at what it reaches
through resources not drawn (forwarding rule > proxy > URL map > backend > instance group).
"""

from __future__ import annotations

import base64
import html
import importlib.util
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

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
_EDGE = {"gcp:compute/globalForwardingRule:GlobalForwardingRule": "global forwarding rule",
         "aws:s3/bucket:Bucket": "S3 bucket"}
#: Kubernetes workloads, drawn in the cluster's box per namespace (the v4-platform stage)
_WORKLOADS = {
    "kubernetes:helm.sh/v3:Release": "Helm release",
    "kubernetes:apps/v1:StatefulSet": "StatefulSet",
    "kubernetes:apps/v1:Deployment": "Deployment",
    "kubernetes:apps/v1:DaemonSet": "DaemonSet",
}


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


#: the official icon (the `diagrams` package's resources/, PNG) drawn for each placed type
ICONS = {
    "aws:ec2/instance:Instance": "aws/compute/ec2.png",
    "aws:autoscaling/group:Group": "aws/compute/ec2-auto-scaling.png",
    "aws:lb/loadBalancer:LoadBalancer": "aws/network/elb-network-load-balancer.png",
    "aws:rds/instance:Instance": "aws/database/rds.png",
    "gcp:compute/instance:Instance": "gcp/compute/compute-engine.png",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
        "gcp/compute/compute-engine.png",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": "gcp/network/load-balancing.png",
    "aws:s3/bucket:Bucket": "aws/storage/simple-storage-service-s3.png",
    "kubernetes:helm.sh/v3:Release": "k8s/ecosystem/helm.png",
    "kubernetes:apps/v1:StatefulSet": "k8s/compute/sts.png",
    "kubernetes:apps/v1:Deployment": "k8s/compute/deploy.png",
    "kubernetes:apps/v1:DaemonSet": "k8s/compute/ds.png",
}
INTERNET_ICON = "onprem/network/internet.png"


def icon_dir() -> Path:
    """The icons the `diagrams` package ships (site-packages/resources), beside its module."""
    spec = importlib.util.find_spec("diagrams")
    if spec is None or spec.origin is None:
        raise RuntimeError("the diagrams package (its icons) is not installed: run scripts/install")
    return Path(spec.origin).resolve().parents[1] / "resources"


@dataclass
class _Layout:
    """What the overview draws: subnets, placed nodes, front ends and the request path."""

    ids: dict[str, str] = field(default_factory=dict)
    #: subnet key: id (AWS) or name (GCP) -> (cloud, network key, zone, label)
    subnets: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    placed: dict[str, list[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(list))  # subnet -> [(node id, label, type)]
    edge_nodes: dict[str, list[tuple[str, str, str]]] = field(
        default_factory=lambda: defaultdict(list))  # cloud -> [(node id, label, type)]
    first: dict[str, str] = field(default_factory=dict)  # urn -> its first node id
    entries: list[str] = field(default_factory=list)  # node ids the Internet points at
    paths: list[tuple[str, str]] = field(default_factory=list)

    def node_id(self, key: str) -> str:
        return self.ids.setdefault(key, f"n{len(self.ids)}")


def _collect_subnets(plan: Plan, layout: _Layout) -> None:
    for s in plan.of_type("aws:ec2/subnet:Subnet"):
        tier = (s.inputs.get("tags") or {}).get("looper/tier", "subnet")
        layout.subnets[str(s.id)] = ("AWS", str(s.inputs.get("vpcId")),
                                     str(s.inputs.get("availabilityZone")),
                                     f"{tier} {s.inputs.get('cidrBlock', '')}")
    for s in plan.of_type("gcp:compute/subnetwork:Subnetwork"):
        layout.subnets[str(s.inputs.get("name"))] = (
            "GCP", _tail(s.inputs.get("network")), str(s.inputs.get("region")),
            f"{s.inputs.get('name')} {s.inputs.get('ipCidrRange', '')}")


def _place_resources(plan: Plan, layout: _Layout) -> None:
    """Each drawn resource in its subnets (front ends in their cloud's box)."""
    groups = {str(g.inputs.get("name")): list(g.inputs.get("subnetIds") or [])
              for g in plan.of_type("aws:rds/subnetGroup:SubnetGroup")}
    by_urn = {r.urn: r for r in plan.resources}
    for r in plan.resources:
        if r.type in _EDGE:
            nid = layout.node_id(r.urn)
            cloud = r.type.split(":")[0].upper()
            layout.edge_nodes[cloud].append((nid, f"{r.name}\n{_EDGE[r.type]}", r.type))
            layout.first[r.urn] = nid
            if _is_public_entry(r):
                layout.entries.append(nid)
            continue
        kind = _AWS_PLACED.get(r.type) or _GCP_PLACED.get(r.type)
        if kind is None:
            continue
        in_subnets = [s for s in _subnets_of(r, groups, by_urn) if s in layout.subnets]
        for n, subnet in enumerate(in_subnets):
            nid = layout.node_id(f"{r.urn}#{subnet}")
            layout.placed[subnet].append((nid, f"{r.name}\n{kind}", r.type))
            if n == 0:
                layout.first[r.urn] = nid
                if _is_public_entry(r):
                    layout.entries.append(nid)


def _request_paths(plan: Plan, layout: _Layout) -> None:
    """From each front end to what it reaches through resources not drawn."""
    by_urn = {r.urn: r for r in plan.resources}
    for urn in (u for u in layout.first if by_urn[u].type in _EDGE):
        seen, todo = {urn}, list(by_urn[urn].dependencies)
        while todo:
            dep = todo.pop()
            if dep in seen or dep not in by_urn:
                continue
            seen.add(dep)
            if dep in layout.first:
                layout.paths.append((layout.first[urn], layout.first[dep]))
            else:
                todo += by_urn[dep].dependencies


def _node(nid: str, label: str, type_: str, icons: Path | None) -> str:
    icon = ICONS.get(type_)
    if icons is None or icon is None:
        return f"{nid} [label={dot_quote(label)}];"
    return (f"{nid} [label={dot_quote(label)}, image={dot_quote(str(icons / icon))}, "
            "shape=none, style=\"\", imagescale=true, fixedsize=true, width=0.9, height=1.25, "
            "labelloc=b, imagepos=tc, fontsize=9];")


def _subnet_lines(layout: _Layout, key: str, icons: Path | None) -> list[str]:
    out = [f"        subgraph {dot_quote('cluster_' + layout.node_id('s' + key))} {{ "
           f"label={dot_quote(layout.subnets[key][3])}; fillcolor=\"#ffffff\";"]
    members = layout.placed.get(key)
    if not members:
        out.append(f"          {layout.node_id('empty' + key)} [label=\"\", shape=point, style=invis];")
    out += [f"          {_node(nid, label, type_, icons)}" for nid, label, type_ in members or []]
    return [*out, "        }"]


def _network_lines(plan: Plan, layout: _Layout, cloud: str, network: str,
                   zones: dict[str, list[str]], icons: Path | None) -> list[str]:
    if cloud == "AWS":
        vpc = next((r for r in plan.of_type("aws:ec2/vpc:Vpc") if r.id == network), None)
        title = f"VPC {vpc.name} {vpc.inputs.get('cidrBlock', '')}" if vpc else f"network {network}"
    else:
        title = f"network {network}"
    out = [f"    subgraph {dot_quote('cluster_' + layout.node_id(cloud + network))} {{ "
           f"label={dot_quote(title)}; fillcolor=\"#e8eef8\";"]
    for zone, keys in sorted(zones.items()):
        zone_title = ("zone " if cloud == "AWS" else "region ") + zone
        out.append(f"      subgraph {dot_quote('cluster_' + layout.node_id(network + zone))} {{ "
                   f"label={dot_quote(zone_title)}; fillcolor=\"#dde6f5\";")
        for key in sorted(keys, key=lambda k: layout.subnets[k][3]):
            out += _subnet_lines(layout, key, icons)
        out.append("      }")
    return [*out, "    }"]


def _kubernetes_lines(plan: Plan, layout: _Layout, icons: Path | None) -> list[str]:
    """The cluster's workloads (Helm releases, StatefulSets, ...) in one box per namespace."""
    by_namespace: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for r in plan.resources:
        if r.type in _WORKLOADS:
            namespace = (r.inputs.get("metadata") or {}).get("namespace") or r.inputs.get("namespace")
            by_namespace[str(namespace or "default")].append(
                (layout.node_id(r.urn), f"{r.name}\n{_WORKLOADS[r.type]}", r.type))
    if not by_namespace:
        return []
    out = ['  subgraph "cluster_kubernetes" { label="Kubernetes cluster"; style=filled; '
           'fillcolor="#eef4ff";']
    for namespace, members in sorted(by_namespace.items()):
        out.append(f"    subgraph {dot_quote('cluster_ns_' + namespace)} {{ "
                   f"label={dot_quote('namespace ' + namespace)}; fillcolor=\"#ffffff\";")
        out += [f"      {_node(nid, label, type_, icons)}" for nid, label, type_ in members]
        out.append("    }")
    return [*out, "  }"]


def to_overview_dot(plan: Plan, *, icons: Path | None = None) -> str:
    """DOT with one cluster per cloud, VPC/network, zone/region and subnet; `icons`: the
    directory of the official icons (icon_dir()), else plain boxes."""
    layout = _Layout()
    _collect_subnets(plan, layout)
    _place_resources(plan, layout)
    _request_paths(plan, layout)
    tree: dict[str, dict[str, dict[str, list[str]]]] = defaultdict(lambda: defaultdict(
        lambda: defaultdict(list)))
    for key, (cloud, network, zone, _) in layout.subnets.items():
        tree[cloud][network][zone].append(key)
    internet = (f"image={dot_quote(str(icons / INTERNET_ICON))}, shape=none, imagescale=true, "
                "fixedsize=true, width=0.8, height=0.9, labelloc=b, imagepos=tc" if icons
                else "shape=doublecircle")
    out = ["digraph overview {", "  rankdir=LR; compound=true; fontname=Helvetica;",
           "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=Helvetica, "
           "fontsize=10];", f'  internet [label="Internet", {internet}];']
    for cloud in sorted(set(tree) | set(layout.edge_nodes)):
        nets = tree.get(cloud, {})
        out.append(f"  subgraph {dot_quote('cluster_' + cloud)} {{ label={dot_quote(cloud)}; "
                   "style=filled; fillcolor=\"#f4f6fb\";")
        out += [f"    {_node(nid, label, type_, icons)}"
                for nid, label, type_ in layout.edge_nodes.get(cloud, [])]
        for network, zones in sorted(nets.items()):
            out += _network_lines(plan, layout, cloud, network, zones, icons)
        out.append("  }")
    out += _kubernetes_lines(plan, layout, icons)
    out += [f"  internet -> {nid} [color=\"#b00020\", penwidth=2];" for nid in layout.entries]
    out += [f"  {a} -> {b} [color=\"#b00020\"];" for a, b in sorted(set(layout.paths))]
    out.append("}")
    return "\n".join(out) + "\n"


def embed_images(svg: str, icons: Path) -> str:
    """Graphviz links each icon by its file path; the report loads nothing: inline them as
    data: URIs (only files under `icons` are read)."""
    root = icons.resolve()

    def inline(match: re.Match[str]) -> str:
        path = Path(html.unescape(match.group(2))).resolve()
        if not path.is_relative_to(root) or path.suffix != ".png":
            raise ValueError(f"overview SVG links an unexpected file: {path}")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'{match.group(1)}="data:image/png;base64,{data}"'

    return re.sub(r'(xlink:href|href)="([^"]+\.png)"', inline, svg)


def overview_svg(plan: Plan) -> str:
    """The overview as SVG with the official icons embedded (self-contained)."""
    from looper_infra.reports.diagram import render_image

    icons = icon_dir()
    return embed_images(render_image(to_overview_dot(plan, icons=icons), "svg").decode("utf-8"),
                        icons)

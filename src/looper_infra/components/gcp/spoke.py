"""The GCP side of the v4 cluster: what joins a GCP VPC to the AWS cluster and runs on it.

    GcpSpoke (on the VPC and Cloud NAT of the GCP foundation)
      Firewall      kubelet and Calico VXLAN from the K8s VPC and the pods, both to the GCP nodes;
                    node-exporter and kube-proxy metrics from the AWS node subnets (Prometheus)
                    SSH from the access VPC only through a transit gateway (peering cannot carry it)
      HaVpn         GCP HA VPN + Cloud Router <-> two AWS VPN connections, 4 IKEv2 tunnels, BGP
      GcpGpuNode    the L4 node that joins the cluster through the VPN (optional)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

import pulumi

from looper_infra.components.base import Component, moved_from_root
from looper_infra.components.gcp.firewall import Firewall, FirewallArgs
from looper_infra.components.gcp.k8s_gpu_node import DEFAULT_NETWORK_TAGS, GcpGpuNode, GcpGpuNodeArgs, K8sJoin
from looper_infra.components.hybrid_vpn import HaVpn, HaVpnArgs, TransitSide, VgwSide
from looper_infra.core.naming import name as cloud_name
from looper_infra.rules import ha_vpn
from looper_infra.rules.gcp_firewall import FirewallRule


@dataclass(frozen=True)
class VpnSpec:
    """The HA VPN to AWS: its AWS end (a VGW on the K8s VPC, or the transit gateway) and BGP."""

    aws: VgwSide | TransitSide
    cloud_router_asn: int
    #: tunnel key (a1, a2, b1, b2) -> its inside /30
    inside_cidrs: Mapping[str, str]
    cipher_suite: str
    aws_provider: pulumi.ProviderResource
    gcp_provider: pulumi.ProviderResource


@dataclass(frozen=True)
class GpuNodeSpec:
    cluster: K8sJoin
    machine_type: str = "g2-standard-4"
    boot_disk_gb: int = 200
    provisioning_model: str = "STANDARD"
    termination_action: str | None = None


@dataclass(frozen=True)
class GcpSpokeArgs:
    #: cloud names are `<name_prefix>-<env>-<role>`
    name_prefix: str
    env: str
    project: str
    region: str
    zone: str
    #: the foundation's VPC (self link), its CIDR and the nodes' subnet (self link)
    network: pulumi.Input[str]
    vpc_cidr: str
    nodes_subnetwork: pulumi.Input[str]
    #: networks on AWS whose traffic reaches the GCP nodes: name -> CIDR (K8s VPC, pods)
    aws_cidrs: Mapping[str, IPv4Network]
    #: the AWS node subnets Prometheus scrapes from: name -> CIDR (a scrape of a node address
    #: leaves its node SNATed to the node's address: rules.ha_vpn.gcp_from_aws_rules)
    scraper_cidrs: Mapping[str, IPv4Network]
    vpn: VpnSpec
    #: the access VPC's CIDR when operators reach GCP (transit gateway only); None: no SSH rule
    operator_cidr: IPv4Network | None = None
    gpu_node: GpuNodeSpec | None = None


class GcpSpoke(Component):
    vpn: HaVpn
    gpu_node: GcpGpuNode | None

    def __init__(self, name: str, args: GcpSpokeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # config validates the VPN, the node and the CIDRs; the parts check what is theirs
        super().__init__("looper:gcp:GcpSpoke", name, None, opts)
        self._args = args

        def nm(role: str) -> str:
            return cloud_name(args.name_prefix, args.env, role)

        # these parts were top-level components of stage v4: `moved` keeps the deployed ones
        moved = moved_from_root(self.child_opts)
        rules: dict[str, FirewallRule] = ha_vpn.gcp_from_aws_rules(
            aws_cidrs=dict(args.aws_cidrs), scraper_cidrs=dict(args.scraper_cidrs),
            target_tags=DEFAULT_NETWORK_TAGS)
        if args.operator_cidr is not None:
            rules["allow-vpn-ssh"] = FirewallRule(
                description=f"SSH to the GCP nodes from the OpenVPN access VPC {args.operator_cidr} "
                            "(OS Login)",
                allows={"tcp": (22,)}, source_ranges=(args.operator_cidr,), target_tags=DEFAULT_NETWORK_TAGS)
        Firewall("gcp-firewall", FirewallArgs(project=args.project, network=args.network, rules=rules,
                                              name_prefix=nm("gcp-fw")), moved)
        v = args.vpn
        self.vpn = HaVpn("hybrid-vpn", HaVpnArgs(
            name_prefix=nm("hvpn"), gcp_project=args.project, gcp_region=args.region,
            gcp_network=args.network,
            gcp_cidrs=(args.vpc_cidr,), aws=v.aws, cloud_router_asn=v.cloud_router_asn,
            inside_cidrs=dict(v.inside_cidrs), cipher_suite=v.cipher_suite,
            aws_provider=v.aws_provider, gcp_provider=v.gcp_provider), moved)
        self.gpu_node = None
        if args.gpu_node is not None:
            g = args.gpu_node
            self.gpu_node = GcpGpuNode("gcp-gpu-node", GcpGpuNodeArgs(
                project=args.project, zone=args.zone, cloud_name=nm("gpu"), subnetwork=args.nodes_subnetwork,
                cluster=g.cluster, machine_type=g.machine_type, boot_disk_gb=g.boot_disk_gb,
                provisioning_model=g.provisioning_model, termination_action=g.termination_action), moved)
        self.register_outputs({"bgp_peer_ips": self.vpn.bgp_peer_ips})

    @property
    def outputs(self) -> dict[str, Any]:
        """The stage outputs of the GCP side."""
        args = self._args
        nm = cloud_name(args.name_prefix, args.env, "hvpn")
        out: dict[str, Any] = {
            "gcp_vpc": args.network,
            "vpn_tunnels": {key: {"inside_cidr": args.vpn.inside_cidrs[key], "bgp_peer_ip": ip}
                            for key, ip in sorted(self.vpn.bgp_peer_ips.items())},
            "vpn_status_hint": (
                f"gcloud compute vpn-tunnels list --project {args.project} --regions {args.region} "
                f"--filter='name~^{nm}-tunnel' --format='table(name,status,detailedStatus)'; "
                f"gcloud compute routers get-status {nm}-vpn-router --project {args.project} "
                f"--region {args.region}"),
        }
        if self.gpu_node is not None:
            out["gcp_gpu_node"] = self.gpu_node.instance_name
        return out

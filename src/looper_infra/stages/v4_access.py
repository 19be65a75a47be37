"""Stage v4, private access and multi-cloud: the parts of the v4 program outside the K8s VPC.

    operators ── UDP 1194 ──> OpenVPN server (access VPC, EIP, SNAT) ──┬─ peering ──> K8s VPC
                                                                      └─ or transit gateway ─┬─> K8s VPC
                                                                                             └─> GCP (HA VPN)
    K8s VPC (VGW, peering mode) / transit gateway <── 4 IKEv2 tunnels, BGP ──> GCP HA VPN + Cloud Router
    GCP VPC: Cloud NAT, firewall admitting only the cluster's traffic from AWS, the L4 GPU node that
    joins the cluster through the VPN with its token from Secret Manager

`connectivity.mode: peering` never creates a route to GCP from the access VPC: peering is
non-transitive, so AWS would not carry it (DESIGN.md "Hard facts"); the OpenVPN server pushes
only the networks a client can really reach (`bootstrap.openvpn.reachable_cidrs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

import pulumi

from looper_infra.bootstrap.openvpn import client_profile, reachable_cidrs
from looper_infra.components.aws.openvpn import AccessVpc, AccessVpcArgs, OpenVpnServer, OpenVpnServerArgs
from looper_infra.components.aws.peering import PeerSide, VpcPeering, VpcPeeringArgs
from looper_infra.components.aws.transit import TransitHub, TransitHubArgs, TransitVpc
from looper_infra.components.aws.vpc import Vpc
from looper_infra.components.vpn_pki import VpnPki, VpnPkiArgs
from looper_infra.config.v4 import V4Config
from looper_infra.rules import ha_vpn
from looper_infra.rules.gcp_firewall import FirewallRule


@dataclass(frozen=True)
class ClusterFacts:
    """What the access and GCP parts need from the cluster part of the program."""

    nm: Callable[[str], str]
    vpc: Vpc
    aws_provider: pulumi.ProviderResource
    image_id: str
    cluster_name: str
    api_endpoint: pulumi.Output[str]
    ca_cert_hash: pulumi.Output[str]
    #: secret
    join_token: pulumi.Output[str]


@dataclass
class Access:
    """The built access side (None parts when not configured)."""

    access_vpc: AccessVpc | None = None
    server: OpenVpnServer | None = None
    transit: TransitHub | None = None
    outputs: dict[str, Any] | None = None


def _private_tables(vpc: Vpc) -> Mapping[str, pulumi.Input[str]]:
    return dict(vpc.private_route_tables)


def operator_access(cfg: V4Config, facts: ClusterFacts) -> Access:
    """The access VPC, the VPN PKI and server, and peering or the transit gateway."""
    nm, a, o = facts.nm, cfg.aws, cfg.openvpn
    opts = pulumi.ResourceOptions(providers=[facts.aws_provider])
    transit_mode = cfg.connectivity.mode == "transit-gateway"
    built = Access(outputs={})
    assert built.outputs is not None

    if o is not None:
        built.access_vpc = AccessVpc("access-vpc", AccessVpcArgs(
            name_prefix=nm("access"), region=a.region, account_id=a.account_id, azs=tuple(a.azs),
            cidr=str(o.vpc_cidr), public_cidrs=tuple(str(c) for c in o.effective_public_cidrs(len(a.azs))),
            flow_log_retention_days=cfg.network.flow_log_retention_days), opts)

    if transit_mode:
        vpcs = {"k8s": TransitVpc(vpc_id=facts.vpc.vpc_id, cidr=str(cfg.network.vpc_cidr),
                                  subnet_ids=facts.vpc.private_subnet_ids,
                                  route_table_ids=_private_tables(facts.vpc))}
        if built.access_vpc is not None:
            vpcs["access"] = TransitVpc(vpc_id=built.access_vpc.vpc_id, cidr=built.access_vpc.cidr,
                                        subnet_ids=built.access_vpc.public_subnet_ids,
                                        route_table_ids={"public": built.access_vpc.public_route_table_id})
        built.transit = TransitHub("transit", TransitHubArgs(
            name_prefix=nm("hub"), vpcs=vpcs, remote_cidrs=cfg.gcp_cidrs,
            amazon_side_asn=cfg.gcp.vpn.aws_asn if cfg.gcp else ha_vpn.DEFAULT_AWS_ASN), opts)
    elif built.access_vpc is not None:
        VpcPeering("access-peering", VpcPeeringArgs(
            name_prefix=nm("access"),
            requester=PeerSide(vpc_id=built.access_vpc.vpc_id, cidr=built.access_vpc.cidr,
                               route_table_ids={"public": built.access_vpc.public_route_table_id}),
            accepter=PeerSide(vpc_id=facts.vpc.vpc_id, cidr=str(cfg.network.vpc_cidr),
                              route_table_ids=_private_tables(facts.vpc))), opts)

    if o is None or built.access_vpc is None:
        return built
    pki = VpnPki("vpn-pki", VpnPkiArgs(users=tuple(o.users), organization=f"{cfg.name_prefix} {cfg.env}"))
    push = reachable_cidrs(k8s_vpc_cidr=str(cfg.network.vpc_cidr), gcp_cidrs=cfg.gcp_cidrs,
                           transit_gateway=transit_mode)
    server = OpenVpnServer("openvpn", OpenVpnServerArgs(
        name_prefix=nm("vpn"), region=a.region, account_id=a.account_id, vpc_id=built.access_vpc.vpc_id,
        subnet_id=built.access_vpc.public_subnet_ids.apply(lambda ids: ids[0]), image_id=facts.image_id,
        users=tuple(o.users), push_cidrs=push, tls=pki.server_secret_values(),
        secret_name=f"looper-vpn/{cfg.env}/server", server_cn=pki.server_cn, pool_cidr=str(o.pool_cidr),
        instance_type=o.instance_type, client_cidrs=tuple(str(c) for c in o.client_cidrs),
        admin_ssh_cidrs={k: str(v) for k, v in o.admin_ssh_cidrs.items()},
        log_retention_days=o.log_retention_days,
        termination_protection=cfg.cluster.termination_protection), opts)
    built.server = server

    def profile(user: str) -> pulumi.Output[str]:
        creds = pki.clients[user]
        return pulumi.Output.secret(pulumi.Output.all(
            server.public_ip, pki.ca_cert_pem, creds.cert_pem, creds.key_pem, pki.tls_crypt_key,
        ).apply(lambda v: client_profile(user, v[0], v[1], v[2], v[3], v[4], server_cn=pki.server_cn)))

    built.outputs.update({
        "vpn_server_address": server.public_ip,
        "vpn_pushed_routes": list(push),
        "vpn_profiles": {user: profile(user) for user in sorted(o.users)},
        "vpn_log_group": server.log_group_name,
    })
    return built


def gcp_side(cfg: V4Config, facts: ClusterFacts, access: Access) -> dict[str, Any]:
    """The GCP VPC, Cloud NAT, firewall, the HA VPN to AWS and the L4 GPU node."""
    # pulumi_gcp costs seconds of imports: only a stack with a GCP side pays for it
    from looper_infra.components.gcp.cloud_nat import CloudNat, CloudNatArgs
    from looper_infra.components.gcp.firewall import Firewall, FirewallArgs
    from looper_infra.components.gcp.k8s_gpu_node import (
        DEFAULT_NETWORK_TAGS,
        GcpGpuNode,
        GcpGpuNodeArgs,
        K8sJoin,
    )
    from looper_infra.components.gcp.network import Network, NetworkArgs
    from looper_infra.components.gcp.provider import gcp_provider
    from looper_infra.components.hybrid_vpn import HaVpn, HaVpnArgs, VgwSide
    from looper_infra.core.tags import gcp_labels

    g = cfg.gcp
    assert g is not None
    nm = facts.nm
    provider = gcp_provider("gcp", project=g.project, region=g.region, zone=g.zone, labels=gcp_labels(
        app=cfg.name_prefix, env=cfg.env, stack=pulumi.get_stack(), extra=cfg.labels))
    gopts = pulumi.ResourceOptions(providers=[provider])
    network = Network("gcp-vpc", NetworkArgs(project=g.project, region=g.region, cloud_name=nm("gcp"),
                                             subnets={"nodes": str(g.subnet_cidr)}), gopts)
    CloudNat("gcp-nat", CloudNatArgs(project=g.project, region=g.region, network=network.self_link,
                                     cloud_name=nm("gcp")), gopts)
    rules: dict[str, FirewallRule] = ha_vpn.gcp_from_aws_rules(
        aws_cidrs={"k8s-vpc": cfg.network.vpc_cidr, "pods": cfg.cluster.pod_cidr},
        target_tags=DEFAULT_NETWORK_TAGS)
    if access.transit is not None and cfg.openvpn is not None:
        # only through the transit gateway do VPN clients (SNATed to the server) reach GCP
        rules["allow-vpn-ssh"] = FirewallRule(
            description=f"SSH to the GCP nodes from the OpenVPN access VPC {cfg.openvpn.vpc_cidr} (OS Login)",
            allows={"tcp": (22,)}, source_ranges=(IPv4Network(cfg.openvpn.vpc_cidr),),
            target_tags=DEFAULT_NETWORK_TAGS)
    Firewall("gcp-firewall", FirewallArgs(project=g.project, network=network.self_link, rules=rules,
                                          name_prefix=nm("gcp-fw")), gopts)

    side = (access.transit.vpn_side() if access.transit is not None else
            VgwSide(vpc_id=facts.vpc.vpc_id, route_table_ids=_private_tables(facts.vpc),
                    amazon_side_asn=g.vpn.aws_asn))
    vpn = HaVpn("hybrid-vpn", HaVpnArgs(
        name_prefix=nm("hvpn"), gcp_project=g.project, gcp_region=g.region, gcp_network=network.self_link,
        gcp_cidrs=(str(g.vpc_cidr),), aws=side, cloud_router_asn=g.vpn.cloud_router_asn,
        inside_cidrs=dict(g.vpn.inside_cidrs), cipher_suite=g.vpn.cipher_suite,
        aws_provider=facts.aws_provider, gcp_provider=provider))
    outputs: dict[str, Any] = {
        "gcp_vpc": network.self_link,
        "vpn_tunnels": {key: {"inside_cidr": g.vpn.inside_cidrs[key], "bgp_peer_ip": ip}
                        for key, ip in sorted(vpn.bgp_peer_ips.items())},
        "vpn_status_hint": (
            f"gcloud compute vpn-tunnels list --project {g.project} --regions {g.region} "
            f"--filter='name~^{nm('hvpn')}-tunnel' --format='table(name,status,detailedStatus)'; "
            f"gcloud compute routers get-status {nm('hvpn')}-vpn-router --project {g.project} "
            f"--region {g.region}"),
    }
    if g.gpu_node is not None:
        cl = cfg.cluster
        node = GcpGpuNode("gcp-gpu-node", GcpGpuNodeArgs(
            project=g.project, zone=g.zone, cloud_name=nm("gpu"),
            subnetwork=network.subnet_self_links["nodes"],
            cluster=K8sJoin(
                cluster_name=facts.cluster_name, control_plane_endpoint=facts.api_endpoint,
                api_server_addresses=cfg.api_server_addresses(), ca_cert_hash=facts.ca_cert_hash,
                join_token=facts.join_token, pod_cidr=str(cl.pod_cidr), service_cidr=str(cl.service_cidr),
                calico_mtu=cl.calico_mtu, control_plane_count=cl.control_plane_count),
            machine_type=g.gpu_node.machine_type, boot_disk_gb=g.gpu_node.boot_disk_gb,
            provisioning_model=g.gpu_node.scheduling.provisioning_model,
            termination_action=g.gpu_node.scheduling.termination_action), gopts)
        outputs["gcp_gpu_node"] = node.instance_name
    return outputs

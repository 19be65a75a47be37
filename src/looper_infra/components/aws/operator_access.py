"""Private access for operators: an OpenVPN server in its own VPC, its PKI and one profile per user.

    operators -- UDP 1194 --> OpenVPN server (access VPC, Elastic IP, SNAT) --+-- peering --> K8s VPC
                                                                             +-- or the transit gateway
    OperatorAccess
      AccessVpc        its own VPC: public subnets per AZ, internet gateway, flow logs
      VpcPeering       to the K8s VPC (peering mode; in transit mode the stage attaches the VPC)
      VpnPki           VPN CA, server and per-user client certificates, tls-crypt key
      OpenVpnServer    the instance, its role, security group, log group and server secret

The server pushes only the networks a client can really reach: peering is non-transitive, so
GCP is reachable (and pushed) only through a transit gateway (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from looper_infra.bootstrap.openvpn import reachable_cidrs
from looper_infra.components.aws.openvpn import AccessVpc, AccessVpcArgs, OpenVpnServer, OpenVpnServerArgs
from looper_infra.components.aws.peering import PeerSide, VpcPeering, VpcPeeringArgs
from looper_infra.components.base import Component, moved_from_root
from looper_infra.components.vpn_pki import VpnPki, VpnPkiArgs
from looper_infra.core.naming import name as cloud_name


@dataclass(frozen=True)
class AccessNetwork:
    cidr: str = "10.2.0.0/16"
    #: one per AZ
    public_cidrs: tuple[str, ...] = ()
    flow_log_retention_days: int = 90


@dataclass(frozen=True)
class VpnServerSpec:
    #: VPN users: one client certificate and profile each
    users: tuple[str, ...]
    #: revoked users: their certificates are kept and listed in the server's CRL; no profile
    revoked: tuple[str, ...] = ()
    #: who may reach UDP 1194 (the internet by default: road-warrior clients)
    client_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    #: SSH sources by name; none by default (Session Manager instead)
    admin_ssh_cidrs: Mapping[str, str] = field(default_factory=dict)
    pool_cidr: str = "10.8.0.0/24"
    instance_type: str = "t3.small"
    log_retention_days: int = 365
    termination_protection: bool = True


@dataclass(frozen=True)
class ClusterVpcRef:
    """The K8s VPC the operators reach."""

    cidr: str
    vpc_id: pulumi.Input[str]
    #: private route tables by AZ (peering routes back to the access VPC)
    route_table_ids: Mapping[str, pulumi.Input[str]]


@dataclass(frozen=True)
class OperatorAccessArgs:
    #: cloud names are `<name_prefix>-<env>-<role>`
    name_prefix: str
    env: str
    region: str
    account_id: str
    azs: tuple[str, ...]
    image_id: str
    network: AccessNetwork
    server: VpnServerSpec
    cluster_vpc: ClusterVpcRef
    #: the cluster's secrets key (KubeadmCluster.secrets_key_arn): encrypts the server's secret
    secrets_key_arn: pulumi.Input[str]
    #: True: the stage attaches the access VPC to a transit gateway (no peering), and GCP is reachable
    transit_gateway: bool = False
    #: networks on GCP (pushed to clients only through a transit gateway)
    gcp_cidrs: tuple[str, ...] = ()


class OperatorAccess(Component):
    vpc: AccessVpc
    pki: VpnPki
    server: OpenVpnServer
    #: the routes the server pushes
    pushed_routes: tuple[str, ...]
    #: user -> .ovpn profile (secrets)
    profiles: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: OperatorAccessArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        # config validates users, CIDRs and overlaps; the parts check what is theirs
        super().__init__("looper:aws:OperatorAccess", name, None, opts)

        def nm(role: str) -> str:
            return cloud_name(args.name_prefix, args.env, role)

        # these parts were top-level components of stage v4: `moved` keeps the deployed ones
        moved = moved_from_root(self.child_opts)
        net, spec = args.network, args.server
        self.vpc = AccessVpc("access-vpc", AccessVpcArgs(
            name_prefix=nm("access"), region=args.region, account_id=args.account_id, azs=args.azs,
            cidr=net.cidr, public_cidrs=net.public_cidrs or None,
            flow_log_retention_days=net.flow_log_retention_days), moved)
        if not args.transit_gateway:
            k8s = args.cluster_vpc
            VpcPeering("access-peering", VpcPeeringArgs(
                name_prefix=nm("access"),
                requester=PeerSide(vpc_id=self.vpc.vpc_id, cidr=self.vpc.cidr,
                                   route_table_ids={"public": self.vpc.public_route_table_id}),
                accepter=PeerSide(vpc_id=k8s.vpc_id, cidr=k8s.cidr, route_table_ids=k8s.route_table_ids)),
                moved)
        organization = f"{args.name_prefix} {args.env}"
        self.pki = VpnPki("vpn-pki", VpnPkiArgs(users=spec.users, organization=organization,
                                                 revoked=spec.revoked), moved)
        self.pushed_routes = reachable_cidrs(k8s_vpc_cidr=args.cluster_vpc.cidr, gcp_cidrs=args.gcp_cidrs,
                                             transit_gateway=args.transit_gateway)
        self.server = OpenVpnServer("openvpn", OpenVpnServerArgs(
            name_prefix=nm("vpn"), region=args.region, account_id=args.account_id, vpc_id=self.vpc.vpc_id,
            subnet_id=self.vpc.public_subnet_ids.apply(lambda ids: ids[0]), image_id=args.image_id,
            users=spec.users, push_cidrs=self.pushed_routes, tls=self.pki.server_secret_values(),
            secret_name=f"looper-vpn/{args.env}/server", secret_kms_key_arn=args.secrets_key_arn,
            server_cn=self.pki.server_cn,
            pool_cidr=spec.pool_cidr, instance_type=spec.instance_type, client_cidrs=spec.client_cidrs,
            admin_ssh_cidrs=dict(spec.admin_ssh_cidrs), log_retention_days=spec.log_retention_days,
            termination_protection=spec.termination_protection, revoked=spec.revoked), moved)
        self.profiles = dict(sorted(self.pki.profiles(self.server.public_ip).items()))
        self.register_outputs({"server_address": self.server.public_ip,
                               "pushed_routes": list(self.pushed_routes)})

    @property
    def outputs(self) -> dict[str, object]:
        """The stage outputs of operator access."""
        return {"vpn_server_address": self.server.public_ip, "vpn_pushed_routes": list(self.pushed_routes),
                "vpn_profiles": self.profiles, "vpn_log_group": self.server.log_group_name,
                # public: what the server's crl-verify enforces (`openssl crl -noout -text`)
                "vpn_crl_pem": self.pki.crl_pem}

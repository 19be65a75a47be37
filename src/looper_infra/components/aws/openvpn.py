"""OpenVPN access for stage v4: its own VPC and one OpenVPN server with an Elastic IP.

    AccessVpc      10.2.0.0/16, one public subnet per AZ, internet gateway, flow logs, the
                   default security group emptied. Peered with the K8s VPC by the stage.
    OpenVpnServer  one EC2 instance in a public subnet, launched from a hardened launch
                   template (IMDSv2 hop 1, encrypted gp3), reachable at an Elastic IP (kept
                   across instance replacement); security group: UDP 1194 from the clients
                   (the internet by default: a declared public entry point), SSH only from
                   named admin CIDRs (none by default: Session Manager instead); instance role
                   that reads only its secret and writes only its log group.

The server's TLS material (CA certificate, server key and certificate, tls-crypt key, the CRL)
is one Secrets Manager secret fetched at boot; the user data (bootstrap/openvpn.py) only names
it. A change of users, revoked users, routes or package pin changes the user data and replaces the instance
(`user_data_replace_on_change`); the Elastic IP stays, so profiles stay valid.

Why one instance and not an Auto Scaling group: an OpenVPN server holds its clients' sessions
and the Elastic IP can only point at one instance; an ASG of one would need the instance to
associate the address itself (more IAM) for a gain of minutes on an AZ outage. EC2 auto
recovery (the default `auto_recovery`) restarts it on a host failure.

Clients reach the networks behind the server with their pool masqueraded to the server's
private address (source/destination check stays on; the peered VPC needs no route back to
the pool).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

import pulumi
import pulumi_aws as aws

from looper_infra.bootstrap.openvpn import OpenVpnServerSpec, render_openvpn_server_cloud_config
from looper_infra.components.aws.flow_logs import vpc_flow_logs
from looper_infra.components.aws.iam import NodeRole, NodeRoleArgs
from looper_infra.components.aws.node_hardening import (
    UBUNTU_ROOT_DEVICE,
    encode_user_data,
    from_template,
    instance_template,
    volume_problems,
)
from looper_infra.components.aws.provider import partition
from looper_infra.components.aws.secrets import JsonSecret, JsonSecretArgs, use_through_secrets_manager
from looper_infra.components.aws.vpc import LOG_RETENTION_DAYS
from looper_infra.components.base import Component
from looper_infra.core.cidr import ANYWHERE, is_private
from looper_infra.facts.openvpn import DEFAULT_POOL_CIDR, DEFAULT_SERVER_CN, OPENVPN_PORT

SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
#: Tag of a security group that is a declared public entry point (the policy pack requires it
#: on any group with internet ingress).
PUBLIC_ENTRY_TAG = "looper/public-entry"
SSH_PORT = 22
#: Keys of the server secret (VpnPki.server_secret_values()).
SERVER_SECRET_KEYS = ("ca_crt", "server_crt", "server_key", "tls_crypt", "crl_pem")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,49}\Z")


def _net(path: str, value: str, errors: list[str]) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(value)
    except ValueError as exc:
        errors.append(f"{path}: {value!r} is not an IPv4 network ({exc})")
        return None


# --- the access VPC ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AccessVpcArgs:
    #: `Name` tags and cloud names: `<name_prefix>-public-<az>`
    name_prefix: str
    region: str
    account_id: str
    #: availability zones, in order (public_cidrs is aligned with it)
    azs: tuple[str, ...]
    cidr: str = "10.2.0.0/16"
    #: one per AZ; None: the first /24s of `cidr` in AZ order
    public_cidrs: tuple[str, ...] | None = None
    flow_log_retention_days: int = 90

    @property
    def effective_public_cidrs(self) -> tuple[str, ...]:
        if self.public_cidrs is not None:
            return self.public_cidrs
        subnets = ipaddress.IPv4Network(self.cidr).subnets(new_prefix=24)
        return tuple(str(next(subnets)) for _ in self.azs)

    def problems(self) -> list[str]:
        errors: list[str] = []
        vpc = _net("cidr", self.cidr, errors)
        if vpc is not None and (not is_private(vpc) or not 16 <= vpc.prefixlen <= 24):
            errors.append(f"cidr: {vpc} must be a /16-/24 inside RFC 1918 space")
        if len(self.azs) < 2 or len(set(self.azs)) != len(self.azs):
            errors.append("azs: at least 2 distinct availability zones")
        errors += [f"azs[{i}]: {az!r} is not a zone of {self.region!r}" for i, az in enumerate(self.azs)
                   if not (az.startswith(self.region) and az[len(self.region):].isalpha())]
        if vpc is None:
            return errors
        cidrs = self.effective_public_cidrs
        if len(cidrs) != len(self.azs):
            errors.append(f"public_cidrs: {len(cidrs)} for {len(self.azs)} availability zones")
        nets = [n for i, c in enumerate(cidrs) if (n := _net(f"public_cidrs[{i}]", c, errors)) is not None]
        errors += [f"public_cidrs: {n} is outside the VPC {vpc}" for n in nets if not n.subnet_of(vpc)]
        errors += [f"public_cidrs: {a} overlaps {b}" for i, a in enumerate(nets) for b in nets[i + 1:]
                   if a.overlaps(b)]
        if self.flow_log_retention_days not in LOG_RETENTION_DAYS:
            errors.append(f"flow_log_retention_days: {self.flow_log_retention_days} is not a "
                          "CloudWatch value")
        if not _NAME.match(self.name_prefix):
            errors.append(f"name_prefix: {self.name_prefix!r} (lowercase letters, digits, '-', <= 50)")
        if not (len(self.account_id) == 12 and self.account_id.isdigit()):
            errors.append(f"account_id: {self.account_id!r} is not a 12-digit AWS account ID")
        return errors


class AccessVpc(Component):
    vpc_id: pulumi.Output[str]
    cidr: str
    azs: tuple[str, ...]
    #: aligned with azs
    public_subnet_ids: pulumi.Output[list[str]]
    #: peering routes to the K8s VPC go here
    public_route_table_id: pulumi.Output[str]
    flow_log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: AccessVpcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:AccessVpc", name, args, opts)
        child = self.child_opts
        p = args.name_prefix
        self.cidr, self.azs = args.cidr, args.azs
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_support=True,
                          enable_dns_hostnames=True, tags={"Name": f"{p}-vpc"}, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{p}-igw"}, opts=child)
        rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags={"Name": f"{p}-public"}, opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=child)
        subnets = []
        for az, cidr in zip(args.azs, args.effective_public_cidrs, strict=True):
            # no automatic public IPs: the server gets its Elastic IP, nothing else lives here
            subnet = aws.ec2.Subnet(
                f"{name}-public-{az}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{p}-public-{az}", "looper/tier": "public"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-assoc-{az}", route_table_id=rt.id,
                                          subnet_id=subnet.id, opts=child)
            subnets.append(subnet)
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[],
                                     tags={"Name": f"{p}-default-unused"}, opts=child)
        self.flow_log_group_name = _flow_logs(name, args, vpc.id, child)
        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in subnets]).apply(list)
        self.public_route_table_id = rt.id
        self.register_outputs({
            "vpc_id": self.vpc_id, "cidr": self.cidr, "azs": list(self.azs),
            "public_subnet_ids": self.public_subnet_ids, "public_route_table_id": self.public_route_table_id,
            "flow_log_group_name": self.flow_log_group_name,
        })


def _flow_logs(name: str, args: AccessVpcArgs, vpc_id: pulumi.Output[str],
               child: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """Flow logs to a CloudWatch group, as the K8s VPC has them."""
    return vpc_flow_logs(name, vpc_id=vpc_id, name_prefix=args.name_prefix, region=args.region,
                         account_id=args.account_id, retention_days=args.flow_log_retention_days, opts=child)


# --- the server -------------------------------------------------------------------------------

@dataclass(frozen=True)
class OpenVpnServerArgs:
    #: cloud names: role, launch template, log group `/looper/openvpn/<name_prefix>`, `Name` tags
    name_prefix: str
    region: str
    account_id: str
    vpc_id: pulumi.Input[str]
    #: a public subnet of the access VPC
    subnet_id: pulumi.Input[str]
    #: `ami-...` or `resolve:ssm:<public parameter>` (Ubuntu 24.04)
    image_id: str
    #: VPN users (client certificate CNs): one ccd file each; anyone else is refused
    users: tuple[str, ...]
    #: networks really reachable through this server, pushed as routes (bootstrap.openvpn.reachable_cidrs)
    push_cidrs: tuple[str, ...]
    #: ca_crt, server_crt, server_key, tls_crypt, crl_pem (VpnPki.server_secret_values())
    tls: Mapping[str, pulumi.Input[str]]
    #: Secrets Manager name of the server secret, e.g. `looper-vpn/dev/server`
    secret_name: str
    #: customer managed key of that secret (the cluster's secrets key)
    secret_kms_key_arn: pulumi.Input[str]
    server_cn: str = DEFAULT_SERVER_CN
    pool_cidr: str = DEFAULT_POOL_CIDR
    instance_type: str = "t3.small"
    volume_gb: int = 16
    kms_key_id: pulumi.Input[str] | None = None
    #: who may reach UDP 1194 (the internet: road-warrior clients)
    client_cidrs: tuple[str, ...] = (str(ANYWHERE),)
    #: SSH sources, by name; none by default (AWS Systems Manager Session Manager instead)
    admin_ssh_cidrs: Mapping[str, str] = field(default_factory=dict)
    log_retention_days: int = 90
    secret_recovery_window_days: int = 7
    termination_protection: bool = False
    root_device_name: str = UBUNTU_ROOT_DEVICE
    #: revoked users, whose certificates `tls["crl_pem"]` lists: in the user data, so that a
    #: change replaces the instance (which fetches the new list) and the server checks the count
    revoked: tuple[str, ...] = ()

    @property
    def log_group_name(self) -> str:
        return f"/looper/openvpn/{self.name_prefix}"

    def spec(self) -> OpenVpnServerSpec:
        return OpenVpnServerSpec(
            users=tuple(sorted(self.users)), push_cidrs=self.push_cidrs, region=self.region,
            secret_id=self.secret_name, log_group_name=self.log_group_name, server_cn=self.server_cn,
            pool_cidr=self.pool_cidr, revoked=tuple(sorted(self.revoked)))

    def problems(self) -> list[str]:
        errors = volume_problems(self.volume_gb, self.image_id)
        try:
            self.spec()
        except ValueError as exc:
            errors.append(str(exc))
        if not _NAME.match(self.name_prefix):
            errors.append(f"name_prefix: {self.name_prefix!r} (lowercase letters, digits, '-', <= 50)")
        if sorted(self.tls) != sorted(SERVER_SECRET_KEYS):
            errors.append(f"tls: keys must be exactly {list(SERVER_SECRET_KEYS)}, got {sorted(self.tls)}")
        if not self.client_cidrs:
            errors.append("client_cidrs: at least one (nobody could connect)")
        # CIDR syntax, SSH ranges (at most /16), their keys and the log retention are the
        # config's facts (config.v4.OpenVpn); this component adds the rules below only
        return errors


class OpenVpnServer(Component):
    instance: aws.ec2.Instance
    instance_id: pulumi.Output[str]
    public_ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: OpenVpnServerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:OpenVpnServer", name, args, opts)
        child = self.child_opts
        p = args.name_prefix
        part = partition(args.region)

        # --- security group: VPN port public (declared), SSH only from named admins ----------
        public = any(not is_private(ipaddress.IPv4Network(c)) for c in args.client_cidrs)
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description="Looper OpenVPN server",
            tags={"Name": f"{p}-openvpn", **({PUBLIC_ENTRY_TAG: "true"} if public else {})}, opts=child)
        for cidr in args.client_cidrs:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-in-udp-{OPENVPN_PORT}-from-{cidr.replace('/', '-')}", security_group_id=sg.id,
                description=f"OpenVPN from clients {cidr}", ip_protocol="udp", from_port=OPENVPN_PORT,
                to_port=OPENVPN_PORT, cidr_ipv4=cidr, opts=child)
        for key, cidr in sorted(args.admin_ssh_cidrs.items()):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-in-ssh-{key}", security_group_id=sg.id, description=f"SSH from admin {key} {cidr}",
                ip_protocol="tcp", from_port=SSH_PORT, to_port=SSH_PORT, cidr_ipv4=cidr, opts=child)
        # packages, AWS APIs, and the clients' traffic to the pushed networks
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-out-all", security_group_id=sg.id,
            description="All outbound (APIs, packages, VPN routes)",
            ip_protocol="-1", cidr_ipv4=str(ANYWHERE), opts=child)

        # --- secret, log group, identity --------------------------------------------------------
        secret = JsonSecret(f"{name}-secret", JsonSecretArgs(
            name=args.secret_name, values=dict(args.tls), kms_key_id=args.secret_kms_key_arn,
            description=f"{p}: OpenVPN CA certificate, server key and certificate, tls-crypt key, CRL",
            recovery_window_in_days=args.secret_recovery_window_days), opts=child)
        group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=args.log_group_name, retention_in_days=args.log_retention_days,
            tags={"Name": f"{p}-openvpn"}, opts=child)
        group_arn = f"arn:{part}:logs:{args.region}:{args.account_id}:log-group:{args.log_group_name}"
        role = NodeRole(f"{name}-role", NodeRoleArgs(
            name=f"{p}-openvpn", secret_arns=(secret.arn,), managed_policy_arns=(SSM_CORE,),
            extra_statements=({"Sid": "ShipOpenVpnLogs", "Effect": "Allow",
                               "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                               "Resource": [group_arn, f"{group_arn}:log-stream:*"]},
                              use_through_secrets_manager(args.secret_kms_key_arn, args.region,
                                                          args.account_id))), opts=child)

        # --- instance --------------------------------------------------------------------------
        user_data = render_openvpn_server_cloud_config(args.spec())
        tags = {"Name": f"{p}-openvpn", "role": "openvpn"}
        template = instance_template(
            f"{name}-template", name_prefix=f"{p}-openvpn", image_id=args.image_id,
            instance_type=args.instance_type, instance_profile=role.instance_profile_name,
            security_group_ids=[sg.id], root_device_name=args.root_device_name, volume_gb=args.volume_gb,
            kms_key_id=args.kms_key_id, termination_protection=args.termination_protection, tags=tags,
            opts=child)
        self.instance = aws.ec2.Instance(
            f"{name}-instance", **from_template(template),
            # the Elastic IP below is its public address (kept across replacements)
            subnet_id=args.subnet_id, vpc_security_group_ids=[sg.id],
            iam_instance_profile=role.instance_profile_name,
            user_data_base64=partial(encode_user_data, what=name, gzip_it=True)(user_data),
            disable_api_termination=args.termination_protection, tags=tags, opts=child)
        eip = aws.ec2.Eip(f"{name}-eip", domain="vpc", tags={"Name": f"{p}-openvpn"}, opts=child)
        association = aws.ec2.EipAssociation(f"{name}-eip-assoc", allocation_id=eip.allocation_id,
                                             instance_id=self.instance.id, opts=child)

        self.instance_id = self.instance.id
        # readiness in the output: the address is given out once it points at the instance
        self.public_ip = pulumi.Output.all(eip.public_ip, association.id).apply(lambda v: str(v[0]))
        self.private_ip = self.instance.private_ip
        self.security_group_id = sg.id
        self.log_group_name = group.name
        self.secret_arn = secret.arn
        self.role_arn = role.role_arn
        self.register_outputs({
            "instance_id": self.instance_id, "public_ip": self.public_ip, "private_ip": self.private_ip,
            "security_group_id": self.security_group_id, "log_group_name": self.log_group_name,
            "secret_arn": self.secret_arn, "role_arn": self.role_arn,
        })

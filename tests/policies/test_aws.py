"""AWS policy validators: compliant, violating and missing-property cases, joins between resources."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest

from looper_infra.policies import aws
from looper_infra.policies.aws import LinkedResource
from looper_infra.policies.evaluate import evaluate, resources_of
from looper_infra.policies.model import Resource

STACK = "v4-dev"
PUBLIC = {aws.PUBLIC_ENTRY_TAG: "true"}
SSH = "SSH (or every port) open to the internet"
NOT_ENTRY = ("internet ingress on a security group that is not a declared public entry point "
             "(tag looper/public-entry=true)")


def urn(type_: str, name: str, stack: str = STACK) -> str:
    return f"urn:pulumi:{stack}::looper::{type_}::{name}"


def res(type_: str, logical: str = "r", deps: dict[str, list[str]] | None = None, stack: str = STACK,
        **props: Any) -> LinkedResource:
    """A resource view with inputs `props` and recorded property dependencies `deps`."""
    return LinkedResource(type_, logical, urn(type_, logical, stack), props, deps or {})


def messages(check: Callable[[Resource], Iterable[str]], r: Resource) -> list[str]:
    return list(check(r))


def stack_messages(check: Callable[[Sequence[Resource]], Iterable[tuple[str, str]]],
                   *resources: Resource) -> list[tuple[str, str]]:
    """(resource name, message) pairs."""
    names = {r.urn: r.name for r in resources}
    return [(names.get(u, u), m) for u, m in check(list(resources))]


# --- security groups -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("rule", "public", "expected"),
    [
        ({"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}, True, []),
        ({"protocol": "udp", "fromPort": 1194, "toPort": 1194, "ipv6CidrBlocks": ["::/0"]}, True, []),
        ({"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["10.2.0.0/16"]}, False, []),
        ({"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}, True, [SSH]),
        ({"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}, True, [SSH]),
        ({"protocol": "tcp", "fromPort": 0, "toPort": 65535, "ipv6CidrBlocks": ["::/0"]}, True, [SSH]),
        ({"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["0.0.0.0/0"]}, True,
         ["tcp 5432 open to the internet (only tcp 80/443 and udp 1194 may be)"]),
        ({"protocol": "tcp", "fromPort": 80, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}, True,
         ["tcp 80-443 open to the internet (only tcp 80/443 and udp 1194 may be)"]),
        ({"protocol": "udp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}, True,
         ["udp 443 open to the internet (only tcp 80/443 and udp 1194 may be)"]),
        ({"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}, False,
         [NOT_ENTRY]),
        # missing protocol/ports: AWS reads every protocol
        ({"cidrBlocks": ["0.0.0.0/0"]}, True, [SSH]),
    ],
)
def test_security_group_inline_ingress(rule: dict[str, Any], public: bool, expected: list[str]) -> None:
    sg = res(aws.SECURITY_GROUP, ingress=[rule], tags=PUBLIC if public else {"Name": "x"})
    assert messages(aws.sg_inline_internet_ingress, sg) == expected


def test_security_group_without_rules_or_egress_only_is_compliant() -> None:
    assert messages(aws.sg_inline_internet_ingress, res(aws.SECURITY_GROUP)) == []
    egress = res(aws.SECURITY_GROUP, egress=[{"protocol": "-1", "fromPort": 0, "toPort": 0,
                                              "cidrBlocks": ["0.0.0.0/0"]}])
    assert messages(aws.sg_inline_internet_ingress, egress) == []


def test_default_security_group_is_closed() -> None:
    assert messages(aws.default_sg_closed, res(aws.DEFAULT_SECURITY_GROUP, vpcId="v")) == []
    opened = res(aws.DEFAULT_SECURITY_GROUP, ingress=[{"protocol": "-1", "self": True}])
    assert messages(aws.default_sg_closed, opened) == [
        "the VPC's default security group must have no rules (attach dedicated groups)"]


def test_ingress_rules_join_their_security_group_by_property_dependency() -> None:
    web = res(aws.SECURITY_GROUP, "app-nlb", tags=PUBLIC)
    nodes = res(aws.SECURITY_GROUP, "worker", tags={"Name": "worker"})

    def rule(name: str, sg: LinkedResource, **props: Any) -> LinkedResource:
        return res(aws.INGRESS_RULE, name, deps={"securityGroupId": [sg.urn]},
                   securityGroupId=f"{sg.name}-id", **props)

    resources = [
        web, nodes,
        rule("https", web, ipProtocol="tcp", fromPort=443, toPort=443, cidrIpv4="0.0.0.0/0"),
        rule("http", web, ipProtocol="tcp", fromPort=80, toPort=80, cidrIpv6="::/0"),
        rule("nodeport", nodes, ipProtocol="tcp", fromPort=30080, toPort=30080,
             referencedSecurityGroupId="app-nlb-id"),
        rule("ssh-vpn", nodes, ipProtocol="tcp", fromPort=22, toPort=22, cidrIpv4="10.2.0.0/16"),
    ]
    assert stack_messages(aws.sg_rule_internet_ingress, *resources) == []
    bad = [
        rule("ssh", web, ipProtocol="tcp", fromPort=22, toPort=22, cidrIpv4="0.0.0.0/0"),
        rule("direct", nodes, ipProtocol="tcp", fromPort=443, toPort=443, cidrIpv4="0.0.0.0/0"),
        # no dependency and an id that names no group here: not provably a public entry point
        res(aws.INGRESS_RULE, "orphan", securityGroupId="sg-0123", ipProtocol="tcp", fromPort=443,
            toPort=443, cidrIpv4="0.0.0.0/0"),
    ]
    assert stack_messages(aws.sg_rule_internet_ingress, *resources, *bad) == [
        ("ssh", SSH), ("direct", NOT_ENTRY), ("orphan", NOT_ENTRY)]


# --- EC2 ------------------------------------------------------------------------------------------

def test_ebs_encryption_on_launch_templates_and_instances() -> None:
    lt = res(aws.LAUNCH_TEMPLATE, blockDeviceMappings=[
        {"deviceName": "/dev/sda1", "ebs": {"encrypted": "true", "volumeSize": 50, "volumeType": "gp3"}}])
    assert messages(aws.ebs_encrypted, lt) == []
    plain = res(aws.LAUNCH_TEMPLATE, blockDeviceMappings=[
        {"deviceName": "/dev/sda1", "ebs": {"encrypted": "false"}}, {"deviceName": "/dev/sdf", "ebs": {}}])
    assert messages(aws.ebs_encrypted, plain) == ["EBS volume /dev/sda1 is not encrypted",
                                                  "EBS volume /dev/sdf is not encrypted"]
    assert messages(aws.ebs_encrypted, res(aws.LAUNCH_TEMPLATE)) == [
        "no block device mapping: the root volume's encryption is left to the AMI"]
    vm = res(aws.INSTANCE, rootBlockDevice={"encrypted": True, "volumeSize": 50},
             ebsBlockDevices=[{"deviceName": "/dev/sdf", "encrypted": True}])
    assert messages(aws.ebs_encrypted, vm) == []
    assert messages(aws.ebs_encrypted, res(aws.INSTANCE)) == [
        "root volume is not encrypted (rootBlockDevice.encrypted)"]
    extra = res(aws.INSTANCE, rootBlockDevice={"encrypted": True},
                ebsBlockDevices=[{"deviceName": "/dev/sdg"}])
    assert messages(aws.ebs_encrypted, extra) == ["EBS volume /dev/sdg is not encrypted"]
    # launched from a template without overriding the root volume: the template is checked instead
    from_template = res(aws.INSTANCE, launchTemplate={"id": "lt-0123", "version": "1"})
    assert messages(aws.ebs_encrypted, from_template) == []
    overridden = res(aws.INSTANCE, launchTemplate={"id": "lt-0123"}, rootBlockDevice={"encrypted": False})
    assert messages(aws.ebs_encrypted, overridden) == [
        "root volume is not encrypted (rootBlockDevice.encrypted)"]


@pytest.mark.parametrize("type_", [aws.INSTANCE, aws.LAUNCH_TEMPLATE])
def test_imdsv2_required(type_: str) -> None:
    message = "IMDSv2 not enforced: metadataOptions.httpTokens must be \"required\""
    assert messages(aws.imdsv2_required, res(type_, metadataOptions={"httpTokens": "required"})) == []
    assert messages(aws.imdsv2_required, res(type_, metadataOptions={"httpEndpoint": "disabled"})) == []
    assert messages(aws.imdsv2_required, res(type_, metadataOptions={"httpTokens": "optional"})) == [message]
    assert messages(aws.imdsv2_required, res(type_)) == [message]


# --- RDS ------------------------------------------------------------------------------------------

def test_rds_hardening() -> None:
    good = res(aws.DB_INSTANCE, storageEncrypted=True, publiclyAccessible=False, backupRetentionPeriod=7)
    assert messages(aws.rds_hardening, good) == []
    bad = res(aws.DB_INSTANCE, storageEncrypted=False, publiclyAccessible=True, backupRetentionPeriod=1)
    assert messages(aws.rds_hardening, bad) == [
        "storage is not encrypted (cannot be turned on later)", "the database is publicly accessible",
        "backups kept 1 day(s): at least 7"]
    assert messages(aws.rds_hardening, res(aws.DB_INSTANCE)) == [
        "storage is not encrypted (cannot be turned on later)", "backups kept 0 day(s): at least 7"]


# --- Secrets Manager ------------------------------------------------------------------------------

CMK = "arn:aws:kms:ap-northeast-2:123456789012:key/00000000-0000-4000-8000-000000000001"
NO_CMK = ("Secrets Manager secret without a customer managed KMS key (kmsKeyId): it would use the "
          "account's aws/secretsmanager key, whose policy no one here controls")
NO_RDS_CMK = ("RDS-managed master user secret without a customer managed KMS key "
              "(masterUserSecretKmsKeyId; it cannot be changed after creation)")


@pytest.mark.parametrize(("type_", "props", "expected"), [
    (aws.SM_SECRET, {"kmsKeyId": CMK}, []),
    (aws.SM_SECRET, {}, [NO_CMK]),
    (aws.SM_SECRET, {"kmsKeyId": ""}, [NO_CMK]),
    (aws.SM_SECRET, {"kmsKeyId": "alias/aws/secretsmanager"}, [NO_CMK]),
    (aws.SM_SECRET, {"kmsKeyId": "arn:aws:kms:ap-northeast-2:123456789012:alias/aws/secretsmanager"},
     [NO_CMK]),
    (aws.DB_INSTANCE, {"manageMasterUserPassword": True, "masterUserSecretKmsKeyId": CMK}, []),
    (aws.DB_INSTANCE, {"manageMasterUserPassword": True}, [NO_RDS_CMK]),
    (aws.DB_INSTANCE, {}, []),  # no RDS-managed secret, nothing to encrypt
])
def test_secrets_need_a_customer_managed_key(type_: str, props: dict[str, Any], expected: list[str]) -> None:
    assert messages(aws.secrets_cmk, res(type_, **props)) == expected
    pack = [v.message for v in evaluate([res(type_, **props)]) if v.policy == "aws-secrets-cmk"]
    assert pack == expected


def _network(nat_azs: str, stack: str = STACK) -> list[LinkedResource]:
    vpc = res(aws.VPC, "vpc", stack=stack)
    subnets = [res(aws.SUBNET, f"public-{z}", deps={"vpcId": [vpc.urn]}, stack=stack,
                   availabilityZone=f"ap-northeast-2{z}") for z in "ac"]
    nats = [res(aws.NAT_GATEWAY, f"nat-{z}", deps={"subnetId": [urn(aws.SUBNET, f"public-{z}", stack)]},
                stack=stack, subnetId=f"public-{z}-id") for z in nat_azs]
    return [vpc, *subnets, *nats]


def test_production_is_told_by_stack_name_or_env_tag() -> None:
    assert not aws.is_production([res(aws.VPC, stack="v4-dev")])
    assert aws.is_production([res(aws.VPC, stack="v4-prod")])
    assert aws.is_production([res(aws.VPC, stack="prod")])
    assert not aws.is_production([res(aws.VPC, stack="v4-product-demo")])
    assert aws.is_production([res(aws.VPC, stack="test", tags={"env": "prod"})])
    provider = res(aws.AWS_PROVIDER, stack="test", defaultTags=json.dumps({"tags": {"env": "production"}}))
    assert aws.is_production([provider])
    dev = res(aws.AWS_PROVIDER, stack="test", defaultTags='{"tags": {"env": "dev"}}')
    assert not aws.is_production([dev])


def test_production_resilience_is_mandatory_in_prod_and_a_cost_option_elsewhere() -> None:
    db = {"storageEncrypted": True, "backupRetentionPeriod": 7}
    ha = [res(aws.DB_INSTANCE, "db", stack="v4-prod", multiAz=True, deletionProtection=True, **db),
          *_network("ac", stack="v4-prod")]
    assert stack_messages(aws.production_resilience, *ha) == []
    assert stack_messages(aws.cost_options, *ha) == []

    cheap = [res(aws.DB_INSTANCE, "db", **db), *_network("a")]  # multiAz/deletionProtection missing
    gaps = [("db", "RDS without Multi-AZ (no standby in another AZ)"),
            ("db", "RDS without deletion protection"),
            ("nat-a", "NAT gateways not in every AZ (none in ap-northeast-2c): one AZ's outage cuts egress")]
    assert stack_messages(aws.production_resilience, *cheap) == []  # v4-dev: not production
    assert stack_messages(aws.cost_options, *cheap) == [
        (n, f"cost option in a non-production stack: {m}") for n, m in gaps]
    prod = [*cheap, res(aws.AWS_PROVIDER, "aws", defaultTags='{"tags": {"env": "prod"}}')]
    assert stack_messages(aws.production_resilience, *prod) == gaps
    assert stack_messages(aws.cost_options, *prod) == []


# --- S3 -------------------------------------------------------------------------------------------

def _bucket_set(flags: dict[str, bool] | None, sse: bool) -> list[LinkedResource]:
    bucket = res(aws.BUCKET, "oidc", bucket="looper-dev-oidc-123456789012")
    out = [bucket]
    if flags is not None:
        out.append(res(aws.BUCKET_PUBLIC_ACCESS_BLOCK, "oidc-pab", deps={"bucket": [bucket.urn]},
                       bucket="oidc-id", **flags))
    if sse:
        # joined by name (no dependency recorded): the bucket's `bucket` input
        out.append(res(aws.BUCKET_SSE, "oidc-sse", bucket="looper-dev-oidc-123456789012",
                       rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]))
    return out


def test_s3_buckets_private_and_encrypted() -> None:
    full = dict.fromkeys(aws._PAB_FLAGS, True)
    assert stack_messages(aws.s3_private_encrypted, *_bucket_set(full, sse=True)) == []
    assert stack_messages(aws.s3_private_encrypted, *_bucket_set({**full, "blockPublicPolicy": False},
                                                                 sse=True)) == [
        ("oidc", "public access block leaves blockPublicPolicy off")]
    assert stack_messages(aws.s3_private_encrypted, *_bucket_set({}, sse=True)) == [
        ("oidc", "public access block leaves blockPublicAcls, blockPublicPolicy, ignorePublicAcls, "
                 "restrictPublicBuckets off")]
    assert stack_messages(aws.s3_private_encrypted, *_bucket_set(None, sse=False)) == [
        ("oidc", "no BucketPublicAccessBlock"), ("oidc", "no server-side encryption configuration")]
    inline = res(aws.BUCKET, "inline", serverSideEncryptionConfiguration={"rules": [{}]})
    assert stack_messages(aws.s3_private_encrypted, inline) == [("inline", "no BucketPublicAccessBlock")]


# --- load balancers -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"protocol": "TLS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}, []),
        ({"protocol": "TLS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"}, []),
        ({"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06"}, []),
        ({"protocol": "TLS", "port": 443, "sslPolicy": "ELBSecurityPolicy-FS-1-2-Res-2020-10"}, []),
        ({"protocol": "TCP", "port": 80}, []),
        ({"protocol": "TLS", "port": 443, "sslPolicy": "ELBSecurityPolicy-2016-08"},
         ["sslPolicy ELBSecurityPolicy-2016-08 allows TLS older than 1.2"]),
        ({"protocol": "TLS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-0-2021-06"},
         ["sslPolicy ELBSecurityPolicy-TLS13-1-0-2021-06 allows TLS older than 1.2"]),
        ({"protocol": "TLS", "port": 443},
         ["TLS listener without sslPolicy: the API default ELBSecurityPolicy-2016-08 allows TLS 1.0"]),
    ],
)
def test_listener_tls_policy(props: dict[str, Any], expected: list[str]) -> None:
    assert messages(aws.listener_tls_policy, res(aws.LISTENER, **props)) == expected


def test_plain_listeners_only_on_port_80_of_public_entry_points() -> None:
    app = res(aws.LOAD_BALANCER, "app", internal=False, loadBalancerType="network", tags=PUBLIC)
    api = res(aws.LOAD_BALANCER, "api", internal=True, loadBalancerType="network")
    other = res(aws.LOAD_BALANCER, "other", loadBalancerType="network")  # internal missing: internet-facing

    def listener(name: str, lb: LinkedResource, **props: Any) -> LinkedResource:
        return res(aws.LISTENER, name, deps={"loadBalancerArn": [lb.urn]}, loadBalancerArn=f"{lb.name}-id",
                   **props)

    good = [app, api, other,
            listener("app-tls", app, protocol="TLS", port=443,
                     sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06"),
            listener("app-http", app, protocol="TCP", port=80),
            listener("api-6443", api, protocol="TCP", port=6443)]
    assert stack_messages(aws.plain_listeners, *good) == []
    bad = [listener("app-8080", app, protocol="TCP", port=8080),
           listener("other-80", other, protocol="TCP", port=80),
           listener("api-http", api, protocol="HTTP", port=8080),
           res(aws.LISTENER, "lost", port=80)]  # no protocol (HTTP), no load balancer known
    assert stack_messages(aws.plain_listeners, *good, *bad) == [
        ("app-8080", "plain TCP listener on port 8080 of an internet-facing load balancer (only 80, "
                     "redirecting to TLS)"),
        ("other-80", "plain TCP listener on a load balancer that is not a declared public entry point "
                     "(tag looper/public-entry=true)"),
        ("api-http", "plain HTTP listener (use HTTPS, or TCP passthrough to a TLS target)"),
        ("lost", "plain HTTP listener on a load balancer that is not a declared public entry point "
                 "(tag looper/public-entry=true)"),
    ]


# --- zones ----------------------------------------------------------------------------------------

def test_ha_zones() -> None:
    vpc = res(aws.VPC, "vpc")
    subnets = {z: res(aws.SUBNET, f"private-{z}", deps={"vpcId": [vpc.urn]},
                      availabilityZone=f"ap-northeast-2{z}") for z in "ac"}
    a, c = subnets["a"].urn, subnets["c"].urn
    base = [vpc, *subnets.values()]
    good = [*base,
            res(aws.ASG, "workers", deps={"vpcZoneIdentifiers": [a, c]}, vpcZoneIdentifiers=["x", "y"]),
            res(aws.ASG, "kafka", deps={"vpcZoneIdentifiers": [a]}, vpcZoneIdentifiers=["x"],
                tags=[{"key": aws.SINGLE_AZ_TAG, "value": "dedicated Kafka node",
                       "propagateAtLaunch": False}]),
            res(aws.INSTANCE, "cp-0", deps={"subnetId": [a]}, iamInstanceProfile="cp"),
            res(aws.INSTANCE, "cp-1", deps={"subnetId": [c]}, iamInstanceProfile="cp"),
            res(aws.INSTANCE, "bastion", deps={"subnetId": [a]}, iamInstanceProfile="vpn"),
            res(aws.DB_SUBNET_GROUP, "db", deps={"subnetIds": [a, c]}, subnetIds=["x", "y"])]
    assert stack_messages(aws.ha_zones, *good) == []
    assert stack_messages(aws.declared_single_az, *good) == [
        ("kafka", "single availability zone by declaration: dedicated Kafka node")]
    one_az_vpc = res(aws.VPC, "vpn-vpc")
    bad = [*base,
           one_az_vpc,
           res(aws.SUBNET, "vpn-a", deps={"vpcId": [one_az_vpc.urn]}, availabilityZone="ap-northeast-2a"),
           res(aws.ASG, "workers", deps={"vpcZoneIdentifiers": [a]}, vpcZoneIdentifiers=["x"]),
           res(aws.ASG, "bare"),  # neither subnets nor zones
           res(aws.INSTANCE, "cp-0", deps={"subnetId": [a]}, iamInstanceProfile="cp"),
           res(aws.INSTANCE, "cp-1", availabilityZone="ap-northeast-2a", iamInstanceProfile="cp"),
           res(aws.DB_SUBNET_GROUP, "db-one", deps={"subnetIds": [a]}, subnetIds=["x"]),
           res(aws.DB_SUBNET_GROUP, "db-same-az", deps={"subnetIds": [a, a]}, subnetIds=["x", "x2"]),
           res(aws.DB_SUBNET_GROUP, "db-bare")]
    assert stack_messages(aws.ha_zones, *bad) == [
        ("vpn-vpc", "the VPC's subnets span fewer than 2 availability zones"),
        ("workers", "an Auto Scaling group spans at least 2 availability zones"),
        ("bare", "an Auto Scaling group spans at least 2 availability zones"),
        ("cp-0", "2 instances of profile cp all in one availability zone"),
        ("db-one", "an RDS subnet group spans at least 2 subnets in 2 availability zones"),
        ("db-same-az", "an RDS subnet group spans at least 2 subnets in 2 availability zones"),
        ("db-bare", "an RDS subnet group spans at least 2 subnets in 2 availability zones"),
    ]


def test_ha_vpn_needs_four_tunnels_each_with_a_bgp_peer() -> None:
    gw = res(aws.GCP_HA_VPN_GATEWAY, "ha-vpn", name="looper-dev-ha-vpn")
    tunnels, interfaces, peers = [], [], []
    for n in range(4):
        t = res(aws.GCP_VPN_TUNNEL, f"tunnel-{n}", deps={"vpnGateway": [gw.urn]}, name=f"tunnel-{n}",
                vpnGatewayInterface=n // 2)
        i = res(aws.GCP_ROUTER_INTERFACE, f"if-{n}", deps={"vpnTunnel": [t.urn]}, name=f"if-{n}")
        # the peer names its interface by name (no dependency): joined by value
        p = res(aws.GCP_ROUTER_PEER, f"peer-{n}", interface=f"if-{n}", peerAsn=64512)
        tunnels.append(t)
        interfaces.append(i)
        peers.append(p)
    assert stack_messages(aws.ha_vpn) == []  # no HA VPN: nothing to check
    assert stack_messages(aws.ha_vpn, gw, *tunnels, *interfaces, *peers) == []
    assert stack_messages(aws.ha_vpn, gw, *tunnels[:2], *interfaces, *peers[:1]) == [
        ("ha-vpn", "HA VPN gateway with 2 tunnel(s): 4 for 99.99% to AWS"),
        ("tunnel-1", "VPN tunnel without a Cloud Router interface and BGP peer")]


# --- IAM ------------------------------------------------------------------------------------------

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
SCOPED = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
     "Resource": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:looper/dev/*"},
    {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"},
    {"Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def test_iam_no_admin() -> None:
    admin = "policy allows Action \"*\" on Resource \"*\" (administrator)"
    assert messages(aws.iam_no_admin, res(aws.ROLE_POLICY, policy=json.dumps(SCOPED))) == []
    assert messages(aws.iam_no_admin, res(aws.ROLE_POLICY, policy=json.dumps(ADMIN))) == [admin]
    assert messages(aws.iam_no_admin, res(aws.ROLE_POLICY, policy=ADMIN)) == [admin]
    assert messages(aws.iam_no_admin, res(aws.ROLE_POLICY)) == []  # no document: nothing granted
    assert messages(aws.iam_no_admin, res(aws.ROLE_POLICY, policy="[unknown]")) == []
    role = res(aws.ROLE, inlinePolicies=[{"name": "a", "policy": json.dumps(SCOPED)},
                                         {"name": "b", "policy": json.dumps(ADMIN)}])
    assert messages(aws.iam_no_admin, role) == [admin]
    assert messages(aws.iam_no_admin, res(aws.ROLE_POLICY_ATTACHMENT,
                                          policyArn="arn:aws:iam::aws:policy/AdministratorAccess")) == [
        "arn:aws:iam::aws:policy/AdministratorAccess attached"]
    ssm = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert messages(aws.iam_no_admin, res(aws.ROLE_POLICY_ATTACHMENT, policyArn=ssm)) == []


# --- on a recorded plan and in the Pulumi policy pack ---------------------------------------------

def _program() -> None:
    import pulumi
    import pulumi_aws as aws_sdk

    provider = aws_sdk.Provider("aws", region="ap-northeast-2",
                                default_tags={"tags": {"env": "dev", "app": "looper"}})
    opts = pulumi.ResourceOptions(provider=provider)
    web = aws_sdk.ec2.SecurityGroup("web", vpc_id="vpc-1", tags=PUBLIC, opts=opts)
    nodes = aws_sdk.ec2.SecurityGroup("nodes", vpc_id="vpc-1", opts=opts)
    aws_sdk.vpc.SecurityGroupIngressRule("web-https", security_group_id=web.id, cidr_ipv4="0.0.0.0/0",
                                         ip_protocol="tcp", from_port=443, to_port=443, opts=opts)
    aws_sdk.vpc.SecurityGroupIngressRule("nodes-ssh", security_group_id=nodes.id, cidr_ipv4="0.0.0.0/0",
                                         ip_protocol="tcp", from_port=22, to_port=22, opts=opts)
    aws_sdk.vpc.SecurityGroupIngressRule("nodes-https", security_group_id=nodes.id, cidr_ipv4="0.0.0.0/0",
                                         ip_protocol="tcp", from_port=443, to_port=443, opts=opts)
    aws_sdk.ec2.LaunchTemplate("lt", block_device_mappings=[{"device_name": "/dev/sda1", "ebs": {
        "encrypted": "true", "volume_size": 50, "volume_type": "gp3"}}],
        metadata_options={"http_tokens": "required", "http_endpoint": "enabled"}, opts=opts)


def test_recorded_plan_joins_rules_to_groups() -> None:
    from looper_infra.engine.mocks import MockContext
    from looper_infra.engine.plan import run_program

    plan = run_program(_program, stage="test", stack="v4-dev", context=MockContext())
    found = [(v.policy, v.urn.rsplit("::", 1)[-1], v.message) for v in evaluate(resources_of(plan))]
    assert found == [
        ("aws-sg-rule-no-internet-ingress", "nodes-https", NOT_ENTRY),
        ("aws-sg-rule-no-internet-ingress", "nodes-ssh", SSH),
        ("aws-sg-rule-no-internet-ingress", "nodes-ssh", NOT_ENTRY),
    ]


def test_pulumi_policy_pack_passes_property_dependencies_to_stack_policies() -> None:
    from pulumi_policy import EnforcementLevel, StackValidationArgs
    from pulumi_policy.policy import PolicyResource

    from looper_infra.policies.evaluate import STACK_POLICIES
    from looper_infra.policies.pulumi_pack import _stack_policy

    policy = next(p for p in STACK_POLICIES if p.name == "aws-sg-rule-no-internet-ingress")
    wrapped = _stack_policy(policy)
    assert wrapped.enforcement_level == EnforcementLevel.MANDATORY

    def resource(type_: str, name: str, props: dict[str, Any],
                 deps: dict[str, list[PolicyResource]]) -> PolicyResource:
        return PolicyResource(type_, props, urn(type_, name), name, None, None, None,  # type: ignore[arg-type]
                              [d for v in deps.values() for d in v], deps)

    web = resource(aws.SECURITY_GROUP, "web", {"tags": PUBLIC}, {})
    nodes = resource(aws.SECURITY_GROUP, "nodes", {}, {})
    rule = {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}
    args = StackValidationArgs([
        web, nodes,
        resource(aws.INGRESS_RULE, "web-https", rule, {"securityGroupId": [web]}),
        resource(aws.INGRESS_RULE, "nodes-https", rule, {"securityGroupId": [nodes]}),
    ], None)  # type: ignore[arg-type]
    reported: list[tuple[str, str | None]] = []
    validate = wrapped.validate[0] if isinstance(wrapped.validate, list) else wrapped.validate
    assert validate is not None
    validate(args, lambda message, urn=None: reported.append((message, urn)))
    assert reported == [(NOT_ENTRY, urn(aws.INGRESS_RULE, "nodes-https"))]


def test_policy_names_are_unique_and_registered() -> None:
    from looper_infra.policies.evaluate import RESOURCE_POLICIES, STACK_POLICIES

    names = [p.name for p in (*RESOURCE_POLICIES, *STACK_POLICIES)]
    assert len(names) == len(set(names))
    assert {p.name for p in aws.RESOURCE_POLICIES} | {p.name for p in aws.STACK_POLICIES} <= set(names)
    advisory = {p.name for p in aws.STACK_POLICIES if p.level == "advisory"}
    assert advisory == {"aws-cost-options", "aws-declared-single-az"}

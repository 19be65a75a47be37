"""The OpenVPN access components (AccessVpc, OpenVpnServer, VpnPki) under recording mocks."""

from __future__ import annotations

import base64
import gc
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from looper_infra.components.aws.openvpn import (
    PUBLIC_ENTRY_TAG,
    AccessVpc,
    AccessVpcArgs,
    OpenVpnServer,
    OpenVpnServerArgs,
)
from looper_infra.components.vpn_pki import VpnPki, VpnPkiArgs
from looper_infra.engine.mocks import SECRET_MASK, MockContext, RecordedResource
from looper_infra.engine.plan import Plan, run_program

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
AZS = ("ap-northeast-2a", "ap-northeast-2c")
AMI = "resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
SECRETS_KEY = "arn:aws:kms:ap-northeast-2:123456789012:key/00000000-0000-4000-8000-000000000001"


@pytest.fixture
def collect_garbage() -> Iterator[None]:
    """Run failed programs' future finalizers now (see test_aws_cluster_components.py)."""
    yield
    gc.collect()


def access(**server: Any) -> None:
    vpc = AccessVpc("access", AccessVpcArgs(name_prefix="looper-dev-vpn", region=REGION, account_id=ACCOUNT,
                                            azs=AZS))
    pki = VpnPki("vpn-pki", VpnPkiArgs(users=("alice", "bob"), organization="looper-dev", revoked=("carol",)))
    srv = OpenVpnServer("vpn", OpenVpnServerArgs(**{
        "name_prefix": "looper-dev-vpn", "region": REGION, "account_id": ACCOUNT, "vpc_id": vpc.vpc_id,
        "subnet_id": vpc.public_subnet_ids.apply(lambda ids: ids[0]), "image_id": AMI,
        "users": ("alice", "bob"), "push_cidrs": ("10.1.0.0/16",), "tls": pki.server_secret_values(),
        "secret_name": "looper-vpn/dev/server", "secret_kms_key_arn": SECRETS_KEY, "revoked": ("carol",),
        **server}))
    pulumi.export("profiles", pki.profiles(srv.public_ip))
    pulumi.export("public_ip", srv.public_ip)


def plan_of(**server: Any) -> Plan:
    return run_program(lambda: access(**server), stage="test", stack="test", context=MockContext())


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_of()


def named(plan: Plan, type_: str, name: str) -> RecordedResource:
    (found,) = [r for r in plan.resources if r.type == type_ and r.name == name]
    return found


def test_security_group_opens_only_the_vpn_port_to_the_internet(plan: Plan) -> None:
    (sg,) = plan.of_type(SG)
    assert sg.inputs["tags"][PUBLIC_ENTRY_TAG] == "true"
    rules = [(r.inputs["ipProtocol"], r.inputs.get("fromPort"), r.inputs.get("toPort"), r.inputs["cidrIpv4"])
             for r in plan.of_type(INGRESS)]
    assert rules == [("udp", 1194, 1194, "0.0.0.0/0")]  # no SSH without admin CIDRs


def test_ssh_only_from_named_admin_cidrs(collect_garbage: None) -> None:
    plan = plan_of(admin_ssh_cidrs={"office": "203.0.113.0/28"})
    ssh = [r.inputs for r in plan.of_type(INGRESS) if r.inputs.get("fromPort") == 22]
    assert [(r["ipProtocol"], r["cidrIpv4"]) for r in ssh] == [("tcp", "203.0.113.0/28")]
    # how broad an SSH range may be is the config's fact (tests/config/test_v4.py)


def test_instance_hardening_eip_and_user_data(plan: Plan) -> None:
    (lt,) = plan.of_type(LT)
    (instance,) = plan.of_type(INSTANCE)
    for meta in (lt.inputs["metadataOptions"], instance.inputs["metadataOptions"]):
        assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == 1
    (volume,) = lt.inputs["blockDeviceMappings"]
    assert volume["ebs"]["encrypted"] == "true" and volume["ebs"]["volumeType"] == "gp3"
    assert instance.inputs["associatePublicIpAddress"] is False
    eip = plan.one("aws:ec2/eip:Eip")
    assoc = plan.one("aws:ec2/eipAssociation:EipAssociation")
    assert assoc.inputs["allocationId"] == eip.state["allocationId"]
    assert assoc.inputs["instanceId"] == instance.id
    assert plan.outputs["public_ip"] == eip.state["publicIp"]
    user_data = gzip.decompress(base64.b64decode(instance.inputs["userDataBase64"])).decode()
    assert user_data.startswith("#cloud-config") and "PRIVATE KEY" not in user_data
    assert "looper-vpn/dev/server" in user_data and "/looper/openvpn/looper-dev-vpn" in user_data
    assert instance.inputs["userDataReplaceOnChange"] is True


def test_secret_log_group_and_least_privilege_role(plan: Plan) -> None:
    secret = plan.one("aws:secretsmanager/secret:Secret")
    version = plan.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert secret.inputs["name"] == "looper-vpn/dev/server"
    assert version.inputs["secretString"] == SECRET_MASK
    assert sorted(json.loads(version.state["secretString"])) == [
        "ca_crt", "crl_pem", "server_crt", "server_key", "tls_crypt"]
    group = named(plan, "aws:cloudwatch/logGroup:LogGroup", "vpn-logs")
    assert group.inputs["name"] == "/looper/openvpn/looper-dev-vpn"
    policy = json.loads(named(plan, "aws:iam/rolePolicy:RolePolicy", "vpn-role-policy").inputs["policy"])
    by_action = {json.dumps(s["Action"]): s["Resource"] for s in policy["Statement"]}
    assert by_action['"secretsmanager:GetSecretValue"'] == [secret.state["arn"]]
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/looper/openvpn/looper-dev-vpn"
    assert by_action['["logs:CreateLogStream", "logs:PutLogEvents"]'] == [arn, f"{arn}:log-stream:*"]
    attachments = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    attached = [r.inputs["policyArn"] for r in attachments]
    assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]


def test_access_vpc_public_subnets_per_az_and_flow_logs(plan: Plan) -> None:
    subnets = plan.of_type("aws:ec2/subnet:Subnet")
    assert sorted((s.inputs["availabilityZone"], s.inputs["cidrBlock"]) for s in subnets) == [
        ("ap-northeast-2a", "10.2.0.0/24"), ("ap-northeast-2c", "10.2.1.0/24")]
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    assert plan.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"] == "10.2.0.0/16"
    assert plan.one("aws:ec2/route:Route").inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert plan.one("aws:ec2/flowLog:FlowLog").inputs["trafficType"] == "ALL"


def test_profiles_are_secret_outputs(plan: Plan) -> None:
    # none for carol: she is revoked
    assert plan.outputs["profiles"] == {"alice": SECRET_MASK, "bob": SECRET_MASK}


def test_server_gets_a_crl_of_exactly_the_revoked_certificates(plan: Plan) -> None:
    version = plan.one("aws:secretsmanager/secretVersion:SecretVersion")
    crl = x509.load_pem_x509_crl(json.loads(version.state["secretString"])["crl_pem"].encode())
    ca, carol = _cert(plan, "vpn-pki-ca"), _cert(plan, "vpn-pki-client-carol")
    assert crl.is_signature_valid(ca.public_key()) and crl.issuer == ca.subject
    assert [r.serial_number for r in crl] == [carol.serial_number]
    # the revoked user keeps her certificate resources (the serial the CRL names), not a ccd file
    instance = plan.one(INSTANCE)
    user_data = gzip.decompress(base64.b64decode(instance.inputs["userDataBase64"])).decode()
    assert "crl-verify /etc/openvpn/server/crl.pem" in user_data
    assert "readonly REVOKED_COUNT=1" in user_data and "readonly REVOKED_USERS=carol" in user_data
    assert "/etc/looper/openvpn/ccd/carol" not in user_data and "/etc/looper/openvpn/ccd/alice" in user_data


def _cert(plan: Plan, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(plan.resources[[r.name for r in plan.resources].index(name)]
                                          .state["certPem"].encode())


def test_certificates_have_the_right_usages_and_chain(plan: Plan) -> None:
    ca = _cert(plan, "vpn-pki-ca")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    server = _cert(plan, "vpn-pki-server")
    assert list(server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]
    ku = server.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_agreement
    server.verify_directly_issued_by(ca)
    for user in ("alice", "bob"):
        cert = _cert(plan, f"vpn-pki-client-{user}")
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == user
        assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
            ExtendedKeyUsageOID.CLIENT_AUTH]
        cert.verify_directly_issued_by(ca)
    keys = [r for r in plan.of_type("tls:index/privateKey:PrivateKey")]
    assert {(k.inputs["algorithm"], k.inputs["ecdsaCurve"]) for k in keys} == {("ECDSA", "P256")}
    assert plan.one("random:index/randomBytes:RandomBytes").inputs["length"] == 256

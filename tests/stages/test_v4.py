"""Stage v4 (cluster) planned offline with the shipped example stacks: what would be built."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from helpers.plans import example_values
from helpers.v4_user_data import bundle, user_data
from looper_infra.engine.mocks import RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.manifests import pki
from looper_infra.policies.evaluate import evaluate, resources_of
from looper_infra.rules import aws_security_groups

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT = "aws:ec2/natGateway:NatGateway"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
INSTANCE = "aws:ec2/instance:Instance"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
RDS = "aws:rds/instance:Instance"
LISTENER = "aws:lb/listener:Listener"
TG = "aws:lb/targetGroup:TargetGroup"
LB = "aws:lb/loadBalancer:LoadBalancer"


@pytest.fixture
def dev(v4_dev_plan: Plan) -> Plan:
    return v4_dev_plan


@pytest.fixture
def prod(v4_prod_plan: Plan) -> Plan:
    return v4_prod_plan


def by_name(plan: Plan, type_: str) -> dict[str, RecordedResource]:
    return {r.name: r for r in plan.of_type(type_)}


def tier_of(subnet: RecordedResource) -> str:
    return subnet.name.split("-")[1]  # vpc-<tier>-<az>


# --- network ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_subnet_per_tier_per_az(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(stack)
    values = example_values(f"v4-{stack}")
    azs = values["aws"]["azs"]
    subnets = [s for s in plan.of_type(SUBNET) if "looper:aws:Vpc$" in s.urn]  # the K8s VPC's
    assert len(subnets) == 3 * len(azs)
    for tier, key in (("public", "public_cidrs"), ("private", "private_cidrs"), ("data", "data_cidrs")):
        got = sorted((s.inputs["availabilityZone"], s.inputs["cidrBlock"]) for s in subnets
                     if s.inputs["cidrBlock"] in values["network"][key])
        assert got == sorted(zip(azs, values["network"][key], strict=True)), tier
    assert not any(s.inputs.get("mapPublicIpOnLaunch") for s in subnets)


def test_nat_per_az_in_prod_single_in_dev(dev: Plan, prod: Plan) -> None:
    assert len(prod.of_type(NAT)) == 3
    assert len(dev.of_type(NAT)) == 1
    # every private route table of prod sends 0.0.0.0/0 to a NAT of its own AZ
    nat_az = {n.id: n.name.rsplit("nat-", 1)[1] for n in prod.of_type(NAT)}
    defaults = [r for r in prod.of_type(ROUTE) if r.inputs.get("natGatewayId")]
    assert len(defaults) == 3
    assert all(r.inputs["destinationCidrBlock"] == "0.0.0.0/0" for r in defaults)
    assert sorted(nat_az[r.inputs["natGatewayId"]] for r in defaults) == sorted(
        example_values("v4-prod")["aws"]["azs"])


def test_endpoints_keep_aws_api_traffic_private(dev: Plan) -> None:
    endpoints = dev.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    services = {e.inputs["serviceName"].rsplit(".", 1)[-1] if "ecr" not in e.inputs["serviceName"]
                else e.inputs["serviceName"].split("ap-northeast-2.", 1)[1] for e in endpoints}
    assert {"s3", "sts", "secretsmanager", "ec2", "ecr.api", "ecr.dkr", "ssm", "logs"} <= services
    interface = [e for e in endpoints if e.inputs.get("vpcEndpointType") == "Interface"]
    assert interface and all(e.inputs.get("privateDnsEnabled") for e in interface)


def test_flow_logs_and_emptied_default_sg(dev: Plan) -> None:
    flows = dev.of_type("aws:ec2/flowLog:FlowLog")
    assert len(flows) == 2  # the K8s VPC and the OpenVPN access VPC
    assert all(flow.inputs["trafficType"] == "ALL" for flow in flows)
    defaults = dev.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert len(defaults) == 2
    assert all(not d.inputs.get("ingress") and not d.inputs.get("egress") for d in defaults)


# --- security groups ---------------------------------------------------------------------------------

def sg_roles(plan: Plan) -> dict[str, str]:
    """security-group id -> role (from the component's child names `sg-<role>`)."""
    return {g.id: g.name.removeprefix("sg-") for g in plan.of_type(SG) if g.name.startswith("sg-")}


def test_every_ingress_rule_comes_from_the_role_table(dev: Plan) -> None:
    roles = sg_roles(dev)
    values = example_values("v4-dev")
    got: set[tuple[str, str, int, int, str]] = set()
    for r in dev.of_type(INGRESS):
        target = roles.get(r.inputs["securityGroupId"])
        if target is None:
            continue  # the endpoints' own group (checked in test_aws_network)
        source = roles.get(r.inputs.get("referencedSecurityGroupId", ""), r.inputs.get("cidrIpv4", "?"))
        got.add((target, r.inputs["ipProtocol"], int(r.inputs.get("fromPort", -1)),
                 int(r.inputs.get("toPort", -1)), source))
    expected: set[tuple[str, str, int, int, str]] = set()
    for role in aws_security_groups.ROLES:
        for rule in aws_security_groups.rules_for(role, vpn_cidrs=(values["openvpn"]["vpc_cidr"],),
                                        gcp_cidrs=(values["gcp"]["vpc_cidr"],),
                                        node_ports=(30080, 30081)):
            expected.add((role, rule.protocol, rule.from_port, rule.to_port,
                          rule.source_role or str(rule.source_cidr)))
    assert got == expected


def test_only_the_app_nlb_faces_the_internet(dev: Plan) -> None:
    roles = sg_roles(dev)
    open_rules = [(roles.get(r.inputs["securityGroupId"], r.parent.rsplit("::", 1)[-1]),
                   r.inputs["ipProtocol"], r.inputs["fromPort"])
                  for r in dev.of_type(INGRESS) if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    # the app NLB, and the OpenVPN server's UDP port (its own VPC)
    assert sorted(open_rules) == [("app-nlb", "tcp", 80), ("app-nlb", "tcp", 443), ("openvpn", "udp", 1194)]
    for r in dev.of_type(INGRESS):
        cidr = r.inputs.get("cidrIpv4")
        if cidr and r.inputs.get("fromPort") == 22:
            assert ipaddress.ip_network(cidr).subnet_of(ipaddress.ip_network("10.2.0.0/16"))


def test_etcd_and_database_sources(dev: Plan) -> None:
    roles = sg_roles(dev)
    etcd = {roles.get(r.inputs.get("referencedSecurityGroupId")) for r in dev.of_type(INGRESS)
            if r.inputs.get("fromPort") == 2379}
    assert etcd == {"control-plane"}
    pg = {(roles[r.inputs["securityGroupId"]], roles.get(r.inputs.get("referencedSecurityGroupId")))
          for r in dev.of_type(INGRESS) if r.inputs.get("fromPort") == 5432}
    assert pg == {("rds", "worker")}


# --- nodes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_imdsv2_and_encrypted_volumes_everywhere(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(stack)
    for r in plan.of_type(LT) + plan.of_type(INSTANCE):
        meta = r.inputs["metadataOptions"]
        assert (meta["httpTokens"], meta["httpPutResponseHopLimit"]) == ("required", 1), r.name
    for lt in plan.of_type(LT):
        (root,) = lt.inputs["blockDeviceMappings"]
        assert root["ebs"]["encrypted"] in (True, "true") and root["ebs"]["volumeType"] == "gp3"
    for i in plan.of_type(INSTANCE):
        assert i.inputs["associatePublicIpAddress"] is False
        assert "rootBlockDevice" not in i.inputs and i.inputs["launchTemplate"]["id"]


def cluster_nodes(plan: Plan, type_: str) -> list[RecordedResource]:
    """Instances / launch templates of the cluster's nodes (not the OpenVPN server's)."""
    return [r for r in plan.of_type(type_) if "OpenVpnServer" not in r.urn]


def test_control_planes_are_groups_of_one_per_az_registered_in_the_api_target_group(prod: Plan) -> None:
    cps = [g for g in prod.of_type(ASG) if g.name.startswith("control-plane-")]
    assert len(cps) == 3 and cluster_nodes(prod, INSTANCE) == []
    subnet_az = {s.id: s.inputs["availabilityZone"] for s in prod.of_type(SUBNET)}
    (azs,) = {tuple(subnet_az[s] for c in cps for s in c.inputs["vpcZoneIdentifiers"])}
    assert len(azs) == len(set(azs)) == 3
    api_tg = by_name(prod, TG)["api-lb-tg"]
    assert {tuple(c.inputs["targetGroupArns"]) for c in cps} == {(api_tg.state["arn"],)}
    assert (api_tg.inputs["targetType"], api_tg.inputs["port"], api_tg.inputs["protocol"],
            api_tg.inputs["preserveClientIp"]) == ("instance", 6443, "TCP", "false")
    assert prod.outputs["control_plane_groups"] == [f"looper-prod-cp-{i}" for i in range(3)]


def test_worker_and_kafka_groups(dev: Plan) -> None:
    groups = by_name(dev, ASG)
    workers, kafka = groups["workers-group"].inputs, groups["kafka-group"].inputs
    private = sorted(s.id for s in dev.of_type(SUBNET) if s.inputs["cidrBlock"].startswith("10.1.16.")
                     or s.inputs["cidrBlock"].startswith("10.1.32."))
    assert sorted(workers["vpcZoneIdentifiers"]) == private
    assert (workers["minSize"], workers["desiredCapacity"], workers["maxSize"]) == (2, 2, 4)
    tgs = {t.name: t for t in dev.of_type(TG)}
    assert sorted(workers["targetGroupArns"]) == sorted(
        tgs[n].state["arn"] for n in ("app-lb-tg-http", "app-lb-tg-redirect"))
    assert (kafka["minSize"], kafka["maxSize"]) == (1, 1)
    kafka_az = {s.id: s.inputs["availabilityZone"] for s in dev.of_type(SUBNET)}
    assert [kafka_az[s] for s in kafka["vpcZoneIdentifiers"]] == ["ap-northeast-2a"]
    # dev: one Kafka node (one broker, not durable)
    assert [g for g in groups if g.startswith("kafka")] == ["kafka-group"]


def test_prod_has_one_kafka_group_per_az(prod: Plan) -> None:
    """Three groups of one, each in its own AZ (its broker's volume stays there); the first is the
    group of before (same resource names), the others are keyed by their zone."""
    zone_of = {s.id: s.inputs["availabilityZone"] for s in prod.of_type(SUBNET)}
    kafka = {r.name: r.inputs for r in prod.of_type(ASG) if r.name.startswith("kafka")}
    assert {name: [zone_of[s] for s in g["vpcZoneIdentifiers"]] for name, g in kafka.items()} == {
        "kafka-group": ["ap-northeast-2b"], "kafka-ap-northeast-2a-group": ["ap-northeast-2a"],
        "kafka-ap-northeast-2c-group": ["ap-northeast-2c"]}
    for g in kafka.values():
        assert (g["minSize"], g["desiredCapacity"], g["maxSize"]) == (1, 1, 1)
        tags = {t["key"]: t["value"] for t in g["tags"]}
        assert "looper/single-az" in tags and "k8s.io/cluster-autoscaler/enabled" not in tags
    lts = {r.name: user_data_of(r) for r in prod.of_type(LT) if r.name.startswith("kafka")}
    assert len(lts) == 3 and all('value: "dedicated=kafka,' in ud for ud in lts.values())
    assert set(prod.outputs["node_asg_names"]) >= {"kafka", "kafka-ap-northeast-2a", "kafka-ap-northeast-2c"}


def user_data_of(r: RecordedResource) -> str:
    raw = base64.b64decode(r.inputs.get("userDataBase64") or r.inputs["userData"])
    assert len(raw) <= 16384, f"{r.name}: {len(raw)} bytes of user data"
    return user_data(r)


def node_text(plan: Plan, r: RecordedResource) -> str:
    """What a node's launch template brings to the machine: its user data and, on a control
    plane, the bundle its setup script fetches."""
    text = user_data_of(r)
    if r.name.startswith("control-plane-"):
        text += "".join(bundle(plan).values())
    return text


def test_control_planes_fetch_the_uploaded_bundle_by_its_sha256(dev: Plan) -> None:
    (obj,) = [o for o in dev.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.name == "cp-bundle"]
    digest = hashlib.sha256(base64.b64decode(obj.inputs["contentBase64"])).hexdigest()
    assert obj.inputs["key"] == f"looper-dev-k8s/bootstrap/{digest}.tar.gz"
    assert obj.inputs["serverSideEncryption"] == "aws:kms"
    assert obj.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    for lt in cluster_nodes(dev, LT):
        if lt.name.startswith("control-plane-"):
            assert f"readonly BUNDLE_SHA256={digest}" in user_data_of(lt), lt.name
    assert "/usr/local/sbin/looper-etcd" in bundle(dev)


TOKEN = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_user_data_is_small_and_holds_no_secret(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(stack)
    secrets = [r.state[k] for r in plan.resources for k in ("privateKeyPem", "result", "hex", "base64")
               if isinstance(r.state.get(k), str) and len(r.state[k]) >= 6]
    nodes = cluster_nodes(plan, INSTANCE) + cluster_nodes(plan, LT)
    assert len(nodes) >= 3
    for r in nodes:
        text = user_data_of(r)
        assert "PRIVATE KEY" not in text and not TOKEN.search(text), r.name
        assert not any(s in text for s in secrets), r.name
        assert "looper-cluster/" in text  # it names the secret it fetches


def test_nodes_pin_the_ca_hash_the_test_computes(dev: Plan) -> None:
    (ca,) = [c for c in dev.of_type("tls:index/selfSignedCert:SelfSignedCert") if c.name == "pki-ca"]
    cert = x509.load_pem_x509_certificate(ca.state["certPem"].encode())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = "sha256:" + hashlib.sha256(spki).hexdigest()
    assert dev.outputs["ca_cert_hash"] == expected
    for r in cluster_nodes(dev, INSTANCE) + cluster_nodes(dev, LT):
        if "userDataBase64" in r.inputs or "userData" in r.inputs:
            assert expected in node_text(dev, r), r.name


def test_control_plane_user_data_configures_irsa_and_the_api_endpoint(dev: Plan) -> None:
    (cp,) = [lt for lt in cluster_nodes(dev, LT) if lt.name.startswith("control-plane-")]
    text = node_text(dev, cp)
    api = by_name(dev, LB)["api-lb-nlb"].state["dnsName"]
    assert f"{api}:6443" in text
    issuer = dev.outputs["oidc_issuer"]
    assert issuer.startswith("https://") and issuer.endswith(".cloudfront.net")
    assert issuer in text and pki.jwks_uri(issuer) in text


def test_kafka_node_is_tainted_and_labelled(dev: Plan) -> None:
    lts = by_name(dev, LT)
    kafka = user_data_of(lts["kafka-lt-template"])
    worker = user_data_of(lts["worker-lt-template"])
    taint = re.compile(r'- key: "dedicated"\s+value: "kafka"\s+effect: "NoSchedule"')
    assert taint.search(kafka) and not taint.search(worker)
    assert 'value: "dedicated=kafka,' in kafka and "dedicated=kafka" not in worker


# --- RDS -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rds_is_multi_az_encrypted_and_backed_up(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(stack)
    db = plan.one(RDS).inputs
    assert db["multiAz"] is True and db["storageEncrypted"] is True
    assert db["kmsKeyId"].startswith("arn:aws:kms:")
    assert db["backupRetentionPeriod"] >= 7 and db["manageMasterUserPassword"] is True
    assert db.get("publiclyAccessible") in (None, False)
    assert "password" not in db
    group_params = plan.one("aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]
    params = {p["name"]: p["value"] for p in group_params}
    assert params["rds.force_ssl"] == "1"
    (group,) = plan.of_type("aws:rds/subnetGroup:SubnetGroup")
    assert len(group.inputs["subnetIds"]) >= 2


def test_rds_protection_follows_the_stack(dev: Plan, prod: Plan) -> None:
    p, d = prod.one(RDS).inputs, dev.one(RDS).inputs
    assert p["deletionProtection"] is True and p["skipFinalSnapshot"] is False
    assert p["finalSnapshotIdentifier"]
    assert d["deletionProtection"] is False and d["skipFinalSnapshot"] is True


# --- load balancers --------------------------------------------------------------------------------

def test_application_nlb(dev: Plan, prod: Plan) -> None:
    lbs = by_name(dev, LB)
    app, api = lbs["app-lb-nlb"].inputs, lbs["api-lb-nlb"].inputs
    assert app["loadBalancerType"] == "network" and app.get("internal") in (None, False)
    assert api["internal"] is True
    listeners = {r.inputs["port"]: r.inputs for r in dev.of_type(LISTENER)}
    assert listeners[443]["protocol"] == "TLS"
    assert listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert listeners[80]["protocol"] == "TCP" and listeners[6443]["protocol"] == "TCP"
    tgs = {t.name: t.inputs for t in dev.of_type(TG)}
    assert (tgs["app-lb-tg-http"]["port"], tgs["app-lb-tg-redirect"]["port"]) == (30080, 30081)
    # dev: no certificate given -> ACM certificate created and DNS-validated; prod: the given ARN
    assert len(dev.of_type("aws:acm/certificate:Certificate")) == 1
    assert len(dev.of_type("aws:acm/certificateValidation:CertificateValidation")) == 1
    assert prod.of_type("aws:acm/certificate:Certificate") == []
    prod_tls = next(r for r in prod.of_type(LISTENER) if r.inputs["port"] == 443)
    assert prod_tls.inputs["certificateArn"] == example_values("v4-prod")["ingress"]["certificate_arn"]
    alias = [r for r in dev.of_type("aws:route53/record:Record") if r.inputs.get("aliases")]
    assert [a.inputs["name"] for a in alias] == ["dev.k8s.looper.example.com"]


# --- IRSA ------------------------------------------------------------------------------------------

def test_irsa_trust_and_permissions(dev: Plan) -> None:
    roles = by_name(dev, "aws:iam/role:Role")
    trust = json.loads(roles["eso-role-role"].inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    host = dev.outputs["oidc_issuer"].removeprefix("https://")
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(f":oidc-provider/{host}")
    assert statement["Condition"]["StringEquals"] == {
        f"{host}:sub": "system:serviceaccount:external-secrets:external-secrets",
        f"{host}:aud": "sts.amazonaws.com"}
    policies = [json.loads(p.inputs["policy"]) for p in dev.of_type("aws:iam/rolePolicy:RolePolicy")
                if p.name.startswith("eso-role")]
    resources = {s["Resource"] if isinstance(s["Resource"], str) else tuple(s["Resource"])
                 for doc in policies for s in doc["Statement"] if s["Action"] != "kms:Decrypt"}
    # the app secrets and the RDS master secret (synced by stage v4-platform), nothing else
    assert resources == {"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:looper/dev/*",
                         dev.outputs["rds_secret_arn"]}
    (provider,) = dev.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == dev.outputs["oidc_issuer"]
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_ebs_csi_controller_gets_ebs_rights_through_irsa_not_the_nodes(dev: Plan) -> None:
    ebs_policy = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    roles = by_name(dev, "aws:iam/role:Role")
    (statement,) = json.loads(roles["ebs-csi-role-role"].inputs["assumeRolePolicy"])["Statement"]
    host = dev.outputs["oidc_issuer"].removeprefix("https://")
    assert statement["Condition"]["StringEquals"] == {
        f"{host}:sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
        f"{host}:aud": "sts.amazonaws.com"}
    attached = {(a.parent.rsplit("::", 1)[-1], a.inputs["policyArn"])
                for a in dev.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert [p for p, arn in attached if arn == ebs_policy] == ["ebs-csi-role"]
    assert dev.outputs["ebs_csi_role_arn"].endswith(":role/looper-dev-ebs-csi")


def test_irsa_documents_match_the_sa_key(dev: Plan) -> None:
    objects = {o.inputs["key"]: o.state for o in dev.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    sa = next(r for r in dev.of_type("tls:index/privateKey:PrivateKey") if r.name == "pki-sa-key")
    expected = json.loads(pki.jwks_document(sa.state["publicKeyPem"]))
    assert json.loads(objects[pki.JWKS_PATH]["content"]) == expected
    discovery = json.loads(objects[pki.DISCOVERY_PATH]["content"])
    assert discovery["issuer"] == dev.outputs["oidc_issuer"]
    (block,) = [b for b in dev.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
                if b.name.startswith("irsa")]
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy",
                                                  "ignorePublicAcls", "restrictPublicBuckets"))


def test_the_join_token_is_rotated_by_the_cluster_not_reverted_by_pulumi(dev: Plan) -> None:
    versions = {v.name: v for v in dev.of_type("aws:secretsmanager/secretVersion:SecretVersion")}
    assert versions["join-secret-version"].ignore_changes == ["secretString"]
    assert versions["cp-secret-version"].ignore_changes == []
    init = next(p for p in dev.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.startswith("cp-role"))
    statements = json.loads(init.inputs["policy"])["Statement"]
    secrets = {s.inputs["name"]: s.state["arn"] for s in dev.of_type("aws:secretsmanager/secret:Secret")}
    writes = [s for s in statements if "secretsmanager:PutSecretValue" in s["Action"]]
    assert [w["Resource"] for w in writes] == [secrets["looper-cluster/dev/join"]]
    kubeadm = bundle(dev)["/etc/looper/k8s/kubeadm-init.yaml"]
    assert 'ttl: "24h0m0s"' in kubeadm


def test_node_roles_read_only_their_own_secrets(dev: Plan) -> None:
    secrets = {s.inputs["name"]: s.state["arn"] for s in dev.of_type("aws:secretsmanager/secret:Secret")}
    cp_arn, join_arn = secrets["looper-cluster/dev/control-plane"], secrets["looper-cluster/dev/join"]

    def readable(prefix: str) -> set[str]:
        out: set[str] = set()
        for p in dev.of_type("aws:iam/rolePolicy:RolePolicy"):
            if p.name.startswith(prefix):
                for s in json.loads(p.inputs["policy"])["Statement"]:
                    if "secretsmanager:GetSecretValue" in s["Action"]:
                        out |= {s["Resource"]} if isinstance(s["Resource"], str) else set(s["Resource"])
        return out

    assert readable("cp-role") == {cp_arn, join_arn}
    assert readable("worker-role") == {join_arn}
    for s in dev.of_type("aws:secretsmanager/secretVersion:SecretVersion"):
        assert s.inputs["secretString"] == "[secret]"


# --- Secrets Manager: the cluster's customer managed key ------------------------------------------

KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRETS_MANAGER = {"kms:ViaService": "secretsmanager.ap-northeast-2.amazonaws.com",
                   "kms:CallerAccount": "123456789012"}


def kms_grants(plan: Plan, role_prefix: str) -> list[dict[str, Any]]:
    """The kms statements of the inline policies of the role whose children are named `role_prefix*`."""
    return [s for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.startswith(role_prefix)
            for s in json.loads(p.inputs["policy"])["Statement"]
            if any(a.startswith("kms:") for a in
                   ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_secret_is_encrypted_with_the_clusters_key(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(stack)
    keys = {k.name: k for k in plan.of_type(KEY)}
    key = keys["secrets-key"]
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    (alias,) = [a for a in plan.of_type("aws:kms/alias:Alias") if a.name == "secrets-key-alias"]
    assert alias.inputs["name"] == f"alias/looper-{stack}-secrets"
    secrets = plan.of_type(SECRET)
    assert {s.inputs["name"] for s in secrets} == {
        f"looper-cluster/{stack}/control-plane", f"looper-cluster/{stack}/join", f"looper-vpn/{stack}/server"}
    assert {s.inputs["kmsKeyId"] for s in secrets} == {key.state["arn"]}
    # the master secret RDS keeps in Secrets Manager: the database's own customer managed key
    (db,) = plan.of_type(RDS)
    assert db.inputs["manageMasterUserPassword"] is True
    assert db.inputs["masterUserSecretKmsKeyId"] == keys["db-key"].state["arn"]
    assert not [v for v in evaluate(resources_of(plan)) if v.policy == "aws-secrets-cmk"]


def test_the_secrets_key_works_only_through_secrets_manager(dev: Plan) -> None:
    (key,) = [k for k in dev.of_type(KEY) if k.name == "secrets-key"]
    admin, use = json.loads(key.inputs["policy"])["Statement"]
    root = {"AWS": "arn:aws:iam::123456789012:root"}
    assert admin["Principal"] == root and admin["Effect"] == "Allow"
    crypto = {"kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
    assert not crypto & set(admin["Action"])
    assert "kms:PutKeyPolicy" not in admin["Action"] and "kms:Put*" in admin["Action"]  # no lock-out
    assert use["Principal"] == root and use["Condition"] == {"StringEquals": SECRETS_MANAGER}
    assert "kms:Decrypt" in use["Action"]


def test_readers_decrypt_only_their_key_and_only_through_secrets_manager(dev: Plan) -> None:
    keys = {k.name: k.state["arn"] for k in dev.of_type(KEY)}
    expected = {  # role -> [(actions, key)]
        "eso-role": [("kms:Decrypt", keys["secrets-key"]), ("kms:Decrypt", keys["db-key"])],
        "worker-role": [("kms:Decrypt", keys["secrets-key"])],
        "cp-role": [(["kms:GenerateDataKey", "kms:Decrypt"], keys["etcd-backups-key"]),  # snapshots
                    (["kms:Decrypt", "kms:GenerateDataKey"], keys["secrets-key"])],  # writes the join token
        "openvpn-role": [("kms:Decrypt", keys["secrets-key"])],
    }
    for role, grants in expected.items():
        found = kms_grants(dev, role)
        assert [(s["Action"], s["Resource"]) for s in found] == grants, role
        for s in found:
            if s["Resource"] != keys["etcd-backups-key"]:
                assert s["Condition"] == {"StringEquals": SECRETS_MANAGER}, role


# --- outputs and policy --------------------------------------------------------------------------

def test_outputs(dev: Plan) -> None:
    out = dev.outputs
    assert out["kubeconfig"] == "[secret]"
    assert out["api_endpoint"].startswith("https://") and out["api_endpoint"].endswith(":6443")
    assert out["rds_endpoint"].endswith(".rds.amazonaws.com:5432")
    assert out["rds_secret_arn"].startswith("arn:aws:secretsmanager:")
    assert out["eso_role_arn"].endswith(":role/looper-dev-external-secrets")
    assert set(out["node_asg_names"]) == {"workers", "kafka"}
    assert out["app_nlb_dns_name"].endswith(".elb.ap-northeast-2.amazonaws.com")


def test_nothing_secret_in_the_plan_document(dev: Plan) -> None:
    text = json.dumps(dev.to_document())
    assert "PRIVATE KEY" not in text
    assert not TOKEN.search(text)


def test_prod_passes_every_policy_and_dev_reports_its_cost_options(dev: Plan, prod: Plan) -> None:
    prod_violations = evaluate(resources_of(prod))
    # each Kafka broker's group and each control-plane slot's group are single-AZ on purpose
    assert [(v.policy, v.level) for v in prod_violations] == [("aws-declared-single-az", "advisory")] * 6
    assert sum("Kafka" in v.message for v in prod_violations) == 3
    assert sum("one control plane per AZ" in v.message for v in prod_violations) == 3
    dev_violations = evaluate(resources_of(dev))
    assert [v for v in dev_violations if v.level == "mandatory"] == []
    messages = " ".join(v.message for v in dev_violations)
    assert "deletion protection" in messages and "NAT" in messages


def test_admin_kubeconfig_verifies(dev: Plan) -> None:
    """The stage's own kubeconfig output: the cluster CA, a client cert it issued, the API endpoint."""
    assert dev.outputs["kubeconfig"] == "[secret]"
    kc = yaml.safe_load(dev.clear_outputs["kubeconfig"])
    state: dict[str, Any] = {r.name: r.state for r in dev.resources}
    cluster, user = kc["clusters"][0]["cluster"], kc["users"][0]["user"]
    assert cluster["server"] == dev.outputs["api_endpoint"]
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == state["pki-ca"]["certPem"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(cluster["certificate-authority-data"]))
    client = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    client.verify_directly_issued_by(ca)
    assert client.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == \
        "kubeadm:cluster-admins"


# --- kubelet serving certificates ------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cluster_exports_its_node_networks(stack: str, request: pytest.FixtureRequest) -> None:
    import re

    from looper_infra.engine.fakes.k8s import cluster_outputs
    from looper_infra.engine.mocks import MockContext

    plan: Plan = request.getfixturevalue(stack)
    values = example_values(f"v4-{stack}")
    out = plan.outputs["node_networks"]
    assert set(out) == {"aws", "gcp"}
    assert out["aws"]["cidr"] == values["network"]["vpc_cidr"] == "10.1.0.0/16"
    assert out["gcp"]["cidr"] == values["gcp"]["subnet_cidr"] == "10.0.0.0/20"
    assert (out["aws"]["resolvable"], out["gcp"]["resolvable"]) == (True, False)
    assert re.fullmatch(out["aws"]["name_regex"], "ip-10-1-0-17.ap-northeast-2.compute.internal")
    project, zone = values["gcp"]["project"], values["gcp"]["zone"]
    assert re.fullmatch(out["gcp"]["name_regex"], f"looper-{stack}-gpu.{zone}.c.{project}.internal")
    # the platform's offline fake answers what this stack exports
    assert cluster_outputs(f"organization/looper/v4-{stack}", MockContext())["node_networks"] == out


def test_a_cluster_without_a_gcp_node_exports_only_its_vpc() -> None:
    from looper_infra.config import validate_mapping
    from looper_infra.stages.v4_parts import node_networks

    values = example_values("v4-dev")
    values["gcp"]["gpu_node"] = None  # VPN only: no node on GCP
    cfg = validate_mapping(values, "test")
    assert node_networks(cfg) == {"aws": {"cidr": "10.1.0.0/16", "resolvable": True,
                                          "name_regex": r"ip-(?:[0-9]{1,3}-){3}[0-9]{1,3}\.ap-northeast-2"
                                                        r"\.compute\.internal"}}

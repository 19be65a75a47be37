"""The v4 AWS compute, data and identity components under recording mocks.

Assertions compare inputs with each other and with the values the engine handed back for the
resources they reference (`state`), not with a fake's output format, so they hold whether a
type has a realistic fake or echoes its inputs.
"""

from __future__ import annotations

import base64
import gc
import gzip
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls
import pytest

from looper_infra.components.aws.control_planes import ControlPlaneNodes, ControlPlaneNodesArgs
from looper_infra.components.aws.iam import NodeRole, NodeRoleArgs
from looper_infra.components.aws.irsa import IrsaIssuer, IrsaIssuerArgs, IrsaRole, IrsaRoleArgs
from looper_infra.components.aws.nlb import (
    TLS_POLICY,
    ApiLoadBalancer,
    ApiLoadBalancerArgs,
    AppLoadBalancer,
    AppLoadBalancerArgs,
)
from looper_infra.components.aws.node_group import NodeGroup, NodeGroupArgs
from looper_infra.components.aws.node_hardening import USER_DATA_LIMIT
from looper_infra.components.aws.node_launch_template import NodeLaunchTemplate, NodeLaunchTemplateArgs
from looper_infra.components.aws.rds import PostgresDatabase, PostgresDatabaseArgs, windows_overlap
from looper_infra.components.aws.secrets import JsonSecret, JsonSecretArgs, secret_json
from looper_infra.engine.mocks import SECRET_MASK, MockContext, RecordedResource
from looper_infra.engine.plan import Plan, run_program
from looper_infra.manifests.pki import DISCOVERY_PATH, JWKS_PATH, jwks_document

REGION, ACCOUNT, ENV = "ap-northeast-2", "123456789012", "dev"
AZS = ("ap-northeast-2a", "ap-northeast-2c")
AMI = "resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
ECR_READ = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
EBS_CSI = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
CERT_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0123abcd-0123-4567-89ab-0123456789ab"
DOMAIN, ZONE = "dev.k8s.looper.example.com", "Z0123456789EXAMPLE00"
ESO_SCOPE = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:looper/{ENV}/*"
SECRETS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-4000-8000-000000000001"

LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
SUBNET = "aws:ec2/subnet:Subnet"
LB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
LISTENER = "aws:lb/listener:Listener"
CERT = "aws:acm/certificate:Certificate"
CERT_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
DB = "aws:rds/instance:Instance"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


@pytest.fixture
def collect_garbage() -> Any:
    """For tests whose program fails: run its futures' finalizers now, not in a later `ast.parse`.

    CPython 3.11.7 raises "AST constructor recursion depth mismatch" when the garbage collector
    runs Python finalizers (asyncio's "exception never retrieved" logging) during AST
    construction, e.g. while pytest rewrites a module imported at the end of the session.
    """
    yield
    gc.collect()


def named(plan: Plan, type_: str, name: str) -> RecordedResource:
    (found,) = [r for r in plan.of_type(type_) if r.name == name]
    return found


def children(plan: Plan, type_: str, prefix: str) -> list[RecordedResource]:
    return [r for r in plan.of_type(type_) if r.name.startswith(prefix)]


def plan_of(program: Callable[[], None]) -> Plan:
    return run_program(program, stage="test", stack="test", context=MockContext())


def subnets(tier: str, cidrs: tuple[str, ...]) -> tuple[aws.ec2.Vpc, list[aws.ec2.Subnet]]:
    vpc = aws.ec2.Vpc(f"{tier}-vpc", cidr_block="10.1.0.0/16")
    return vpc, [aws.ec2.Subnet(f"{tier}-{az[-1]}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=az)
                 for az, cidr in zip(AZS, cidrs, strict=True)]


def ids(items: list[aws.ec2.Subnet]) -> pulumi.Output[list[str]]:
    """Subnet IDs as the VPC component hands them over: one Output of a list."""
    return pulumi.Output.all(*[s.id for s in items]).apply(list)


def user_data(role: str, i: int = 0) -> str:
    return f"#cloud-config\n# {role} {i}: fetches looper-cluster/{ENV}/join with its instance role\n"


# --- one program with the whole cluster layer ------------------------------------------------

def cluster(*, certificate_arn: str | None = None, control_planes: int = 3) -> None:
    vpc, private = subnets("private", ("10.1.16.0/20", "10.1.32.0/20"))
    _, public = subnets("public", ("10.1.0.0/24", "10.1.1.0/24"))
    join = JsonSecret("join-secret", JsonSecretArgs(
        name=f"looper-cluster/{ENV}/join", values={"token": pulumi.Output.secret("abcdef.0123456789abcdef")},
        kms_key_id=SECRETS_KEY, recovery_window_in_days=0))
    cp_secret = JsonSecret("cp-secret", JsonSecretArgs(
        name=f"looper-cluster/{ENV}/control-plane",
        values={"ca_key": pulumi.Output.secret("-----BEGIN PRIVATE KEY-----"), "token": "t"},
        kms_key_id=SECRETS_KEY))
    # plain strings in, still a secret out
    JsonSecret("app-secret", JsonSecretArgs(name=f"looper/{ENV}/app", values={"api_key": "plain-value-123"},
                                          kms_key_id=SECRETS_KEY))
    cp_role = NodeRole("cp-role", NodeRoleArgs(
        name="looper-dev-control-plane", secret_arns=(cp_secret.arn, join.arn),
        managed_policy_arns=(ECR_READ, SSM_CORE)))
    worker_role = NodeRole("worker-role", NodeRoleArgs(
        name="looper-dev-worker", secret_arns=(join.arn,), managed_policy_arns=(ECR_READ, SSM_CORE, EBS_CSI)))
    api = ApiLoadBalancer("api-lb", ApiLoadBalancerArgs(
        name="looper-dev-api", vpc_id=vpc.id, subnet_ids=ids(private), security_group_id="sg-0api"))
    app = AppLoadBalancer("app-lb", AppLoadBalancerArgs(
        name="looper-dev-app", vpc_id=vpc.id, subnet_ids=ids(public), security_group_id="sg-0app",
        domain=DOMAIN, hosted_zone_id=ZONE, certificate_arn=certificate_arn,
        node_ports={"http": 30080, "redirect": 30081}))
    cps = ControlPlaneNodes("control-plane", ControlPlaneNodesArgs(
        name_prefix="looper-dev-cp", count=control_planes, image_id=AMI, instance_type="m7i.large",
        subnet_ids=ids(private), security_group_ids=("sg-0cp",),
        instance_profile=cp_role.instance_profile_name,
        user_data=[user_data("init" if i == 0 else "join", i) for i in range(control_planes)],
        api_target_group_arn=api.target_group_arn, volume_gb=50, cluster_name="looper-dev-k8s"))
    lt = NodeLaunchTemplate("worker-lt", NodeLaunchTemplateArgs(
        name_prefix="looper-dev-worker", image_id=AMI, instance_type="m7i.xlarge",
        instance_profile=worker_role.instance_profile_name, security_group_ids=("sg-0worker",),
        user_data=user_data("worker"), volume_gb=100, node_role="worker"))
    workers = NodeGroup("workers", NodeGroupArgs(
        name="looper-dev-workers", launch_template_id=lt.id, launch_template_version=lt.latest_version,
        subnet_ids=ids(private), min_size=2, max_size=4, desired=2,
        target_group_arns=list(app.target_group_arns.values()), node_role="worker"))
    pulumi.export("control_plane_groups", cps.group_names)
    pulumi.export("workers", workers.name)
    pulumi.export("certificate_arn", app.certificate_arn)
    pulumi.export("url", app.url)
    pulumi.export("api_dns", api.dns_name)
    pulumi.export("rendered_secret", secret_json({"api_key": "plain-value-123"}))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_of(cluster)


def test_launch_template_is_hardened(plan: Plan) -> None:
    for lt in plan.of_type(LT):
        i = lt.inputs
        assert i["imageId"] == AMI
        assert i["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                        "httpPutResponseHopLimit": 1, "instanceMetadataTags": "disabled"}
        (root,) = i["blockDeviceMappings"]
        assert root["deviceName"] == "/dev/sda1"
        assert root["ebs"]["volumeType"] == "gp3" and root["ebs"]["encrypted"] == "true"
        assert root["ebs"]["deleteOnTermination"] == "true"
        assert i["monitoring"] == {"enabled": True}
        assert {t["resourceType"] for t in i["tagSpecifications"]} >= {"instance", "volume"}
    worker = named(plan, LT, "worker-lt-template").inputs
    assert worker["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 100
    # no public IP: the interface says so, and carries the security groups
    (nic,) = worker["networkInterfaces"]
    assert nic["associatePublicIpAddress"] == "false" and nic["securityGroups"] == ["sg-0worker"]
    assert "vpcSecurityGroupIds" not in worker
    # the API takes base64; the node gets exactly the text it was given
    assert base64.b64decode(worker["userData"]).decode() == user_data("worker")
    profile = named(plan, "aws:iam/instanceProfile:InstanceProfile", "worker-role-profile")
    assert worker["iamInstanceProfile"] == {"name": profile.state["name"]}


def test_node_group_spans_the_subnets_and_registers_in_the_app_target_groups(plan: Plan) -> None:
    asg = named(plan, ASG, "workers-group").inputs
    private = [named(plan, SUBNET, f"private-{az[-1]}").id for az in AZS]
    assert asg["vpcZoneIdentifiers"] == private
    tgs = [named(plan, TG, f"app-lb-tg-{role}").state["arn"] for role in ("http", "redirect")]
    assert sorted(asg["targetGroupArns"]) == sorted(tgs)
    lt = named(plan, LT, "worker-lt-template")
    assert asg["launchTemplate"] == {"id": lt.id, "version": str(lt.state["latestVersion"])}
    assert (asg["minSize"], asg["desiredCapacity"], asg["maxSize"]) == (2, 2, 4)
    # EC2 health: a node-port check would fail on every node at once when ingress is down
    assert asg["healthCheckType"] == "EC2" and asg["healthCheckGracePeriod"] >= 600
    refresh = asg["instanceRefresh"]
    assert refresh["strategy"] == "Rolling" and 50 <= refresh["preferences"]["minHealthyPercentage"] <= 100
    assert {(t["key"], t["value"], t["propagateAtLaunch"]) for t in asg["tags"]} == {
        ("Name", "looper-dev-workers", True), ("role", "worker", True),
        ("aws-node-termination-handler/managed", "true", True)}
    # every node group waits for a drain before it terminates a node (default heartbeat)
    hook = named(plan, "aws:autoscaling/lifecycleHook:LifecycleHook", "workers-termination-hook").inputs
    assert (hook["autoscalingGroupName"], hook["lifecycleTransition"], hook["defaultResult"],
            hook["heartbeatTimeout"]) == ("looper-dev-workers", "autoscaling:EC2_INSTANCE_TERMINATING",
                                          "CONTINUE", 420)


def test_api_nlb_is_internal_with_instance_targets_on_6443(plan: Plan) -> None:
    lb = named(plan, LB, "api-lb-nlb")
    assert lb.inputs["internal"] is True and lb.inputs["loadBalancerType"] == "network"
    assert lb.inputs["enableCrossZoneLoadBalancing"] is True
    assert lb.inputs["securityGroups"] == ["sg-0api"]
    assert lb.inputs["subnets"] == [named(plan, SUBNET, f"private-{az[-1]}").id for az in AZS]
    tg = named(plan, TG, "api-lb-tg").inputs
    assert (tg["port"], tg["protocol"], tg["targetType"], tg["preserveClientIp"]) == (
        6443, "TCP", "instance", "false")
    assert tg["healthCheck"]["protocol"] == "HTTPS" and tg["healthCheck"]["path"] == "/readyz"
    assert tg["deregistrationDelay"] <= 60
    (listener,) = [r for r in plan.of_type(LISTENER) if r.name.startswith("api-lb")]
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (6443, "TCP")
    assert listener.inputs["loadBalancerArn"] == lb.state["arn"]
    assert listener.inputs["defaultActions"] == [
        {"type": "forward", "targetGroupArn": named(plan, TG, "api-lb-tg").state["arn"]}]
    assert plan.outputs["api_dns"] == lb.state["dnsName"]


def app_listeners(plan: Plan) -> dict[int, dict[str, Any]]:
    return {r.inputs["port"]: r.inputs for r in plan.of_type(LISTENER) if r.name.startswith("app-lb")}


def test_app_nlb_tls_443_and_tcp_80_to_the_ingress_node_ports(plan: Plan) -> None:
    lb = named(plan, LB, "app-lb-nlb")
    assert lb.inputs["internal"] is False and lb.inputs["enableCrossZoneLoadBalancing"] is True
    assert lb.inputs["tags"]["looper/public-entry"] == "true"
    assert "looper/public-entry" not in named(plan, LB, "api-lb-nlb").inputs["tags"]
    assert lb.inputs["subnets"] == [named(plan, SUBNET, f"public-{az[-1]}").id for az in AZS]
    tgs = {r.name.removeprefix("app-lb-tg-"): r for r in children(plan, TG, "app-lb-tg-")}
    assert {k: (v.inputs["port"], v.inputs["protocol"], v.inputs["targetType"]) for k, v in tgs.items()} == {
        "http": (30080, "TCP", "instance"), "redirect": (30081, "TCP", "instance")}
    # each node's kube-proxy /livez (port 10256), not the NodePort: ELB health must not replace
    # every worker while the ingress controller is down
    checks = {k: v.inputs["healthCheck"] for k, v in tgs.items()}
    assert {k: (c["protocol"], c["port"], c["path"], c["matcher"]) for k, c in checks.items()} == {
        role: ("HTTP", "10256", "/livez", "200") for role in ("http", "redirect")}
    listeners = app_listeners(plan)
    assert set(listeners) == {443, 80}
    tls_, plain = listeners[443], listeners[80]
    assert (tls_["protocol"], tls_["sslPolicy"]) == ("TLS", "ELBSecurityPolicy-TLS13-1-2-2021-06") == (
        "TLS", TLS_POLICY)
    assert "alpnPolicy" not in tls_
    assert tls_["defaultActions"][0]["targetGroupArn"] == tgs["http"].state["arn"]
    assert plain["protocol"] == "TCP" and "certificateArn" not in plain
    assert plain["defaultActions"][0]["targetGroupArn"] == tgs["redirect"].state["arn"]
    assert plan.outputs["url"] == f"https://{DOMAIN}"


def test_acm_certificate_is_created_and_dns_validated_when_none_is_given(plan: Plan) -> None:
    cert = plan.one(CERT)
    assert (cert.inputs["domainName"], cert.inputs["validationMethod"]) == (DOMAIN, "DNS")
    (option,) = cert.state["domainValidationOptions"]
    record = named(plan, RECORD, "app-lb-cert-validation").inputs
    assert (record["zoneId"], record["name"], record["type"], record["records"]) == (
        ZONE, option["resourceRecordName"], option["resourceRecordType"], [option["resourceRecordValue"]])
    validation = plan.one(CERT_VALIDATION)
    assert validation.inputs["certificateArn"] == cert.state["arn"]
    assert validation.inputs["validationRecordFqdns"] == [
        named(plan, RECORD, "app-lb-cert-validation").state["fqdn"]]
    # the listener gets the ARN from the validation: it waits for an issued certificate
    assert app_listeners(plan)[443]["certificateArn"] == validation.state["certificateArn"]
    assert plan.outputs["certificate_arn"] == validation.state["certificateArn"]
    assert validation.urn in named(plan, LISTENER, "app-lb-https").dependencies


def test_alias_record_points_the_domain_at_the_app_nlb(plan: Plan) -> None:
    lb = named(plan, LB, "app-lb-nlb")
    alias = named(plan, RECORD, "app-lb-alias").inputs
    assert (alias["zoneId"], alias["name"], alias["type"]) == (ZONE, DOMAIN, "A")
    assert alias["aliases"] == [{"name": lb.state["dnsName"], "zoneId": lb.state["zoneId"],
                                 "evaluateTargetHealth": True}]


def test_a_given_certificate_is_used_and_none_is_requested() -> None:
    plan = plan_of(lambda: cluster(certificate_arn=CERT_ARN, control_planes=1))
    assert plan.of_type(CERT) == [] and plan.of_type(CERT_VALIDATION) == []
    assert [r.name for r in plan.of_type(RECORD)] == ["app-lb-alias"]
    assert app_listeners(plan)[443]["certificateArn"] == CERT_ARN
    assert len(children(plan, ASG, "control-plane-")) == 1 and plan.of_type(ATTACH) == []


# --- secrets and node roles ------------------------------------------------------------------

def test_secret_value_is_a_pulumi_secret_with_the_given_keys(plan: Plan) -> None:
    versions = {r.name: r for r in plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")}
    assert set(versions) == {"join-secret-version", "cp-secret-version", "app-secret-version"}
    for r in versions.values():
        assert r.inputs["secretString"] == SECRET_MASK
    assert json.loads(versions["join-secret-version"].state["secretString"]) == {
        "token": "abcdef.0123456789abcdef"}
    assert set(json.loads(versions["cp-secret-version"].state["secretString"])) == {"ca_key", "token"}
    join = named(plan, "aws:secretsmanager/secret:Secret", "join-secret-secret")
    assert versions["join-secret-version"].inputs["secretId"] == join.id
    assert (join.inputs["name"], join.inputs["recoveryWindowInDays"]) == (f"looper-cluster/{ENV}/join", 0)
    # and nothing in clear anywhere in the recorded inputs
    assert json.loads(versions["app-secret-version"].state["secretString"]) == {"api_key": "plain-value-123"}
    assert plan.outputs["rendered_secret"] == SECRET_MASK  # the helper itself marks it secret
    recorded = json.dumps([r.inputs for r in plan.resources])
    assert "0123456789abcdef" not in recorded and "plain-value-123" not in recorded


def test_node_roles_read_only_their_secrets(plan: Plan) -> None:
    arns = {r.name: r.state["arn"] for r in plan.of_type("aws:secretsmanager/secret:Secret")}
    expected = {"cp-role": [arns["cp-secret-secret"], arns["join-secret-secret"]],
                "worker-role": [arns["join-secret-secret"]]}
    for role_name, secret_arns in expected.items():
        role = named(plan, ROLE, f"{role_name}-role")
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [{
            "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
        policy = json.loads(named(plan, ROLE_POLICY, f"{role_name}-policy").inputs["policy"])
        assert policy["Statement"] == [{"Sid": "ReadBootstrapSecrets", "Effect": "Allow",
                                        "Action": "secretsmanager:GetSecretValue", "Resource": secret_arns}]
    attached = {(r.name.split("-role-")[0], r.inputs["policyArn"]) for r in plan.of_type(ATTACHMENT)}
    assert attached == {("cp", ECR_READ), ("cp", SSM_CORE), ("worker", ECR_READ), ("worker", SSM_CORE),
                        ("worker", EBS_CSI)}


def test_instance_profile_waits_for_the_role_permissions(plan: Plan) -> None:
    profile = named(plan, "aws:iam/instanceProfile:InstanceProfile", "worker-role-profile")
    deps = set(profile.property_dependencies["role"])
    assert named(plan, ROLE_POLICY, "worker-role-policy").urn in deps
    assert {r.urn for r in plan.of_type(ATTACHMENT) if r.name.startswith("worker-role-")} <= deps


# --- RDS ---------------------------------------------------------------------------------------

def database(**overrides: Any) -> Callable[[], None]:
    def program() -> None:
        _, data = subnets("data", ("10.1.8.0/24", "10.1.9.0/24"))
        args = PostgresDatabaseArgs(
            identifier="looper-dev-db", subnet_ids=ids(data), security_group_ids=("sg-0rds",),
            engine_version="17.6", instance_class="db.m7g.large")
        db = PostgresDatabase("db", replace(args, **overrides))
        pulumi.export("secret_arn", db.master_user_secret_arn)
        pulumi.export("endpoint", db.endpoint)
    return program


@pytest.fixture(scope="module")
def production_db() -> Plan:
    return plan_of(database())


def test_rds_is_multi_az_encrypted_backed_up_tls_only_with_a_managed_password(production_db: Plan) -> None:
    plan = production_db
    db = plan.one(DB)
    x = db.inputs
    key = plan.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert plan.one("aws:kms/alias:Alias").inputs == {"name": "alias/looper-dev-db",
                                                      "targetKeyId": key.state["keyId"]}
    assert (x["engine"], x["engineVersion"], x["multiAz"], x["publiclyAccessible"]) == (
        "postgres", "17.6", True, False)
    assert (x["storageType"], x["storageEncrypted"], x["kmsKeyId"]) == ("gp3", True, key.state["arn"])
    assert x["manageMasterUserPassword"] is True and "password" not in x
    assert x["masterUserSecretKmsKeyId"] == key.state["arn"]
    assert x["backupRetentionPeriod"] >= 7
    assert not windows_overlap(x["backupWindow"], x["maintenanceWindow"])
    assert x["vpcSecurityGroupIds"] == ["sg-0rds"]
    assert x["enabledCloudwatchLogsExports"][0] == "postgresql"
    assert x["copyTagsToSnapshot"] is True and x["autoMinorVersionUpgrade"] is True
    params = plan.one("aws:rds/parameterGroup:ParameterGroup")
    assert params.inputs["family"] == "postgres17"
    settings = {p["name"]: p["value"] for p in params.inputs["parameters"]}
    assert settings["rds.force_ssl"] == "1" and settings["log_connections"] == "1"
    assert x["parameterGroupName"] == params.state["name"]
    group = plan.one("aws:rds/subnetGroup:SubnetGroup")
    assert group.inputs["subnetIds"] == [named(plan, SUBNET, f"data-{az[-1]}").id for az in AZS]
    assert x["dbSubnetGroupName"] == group.state["name"]
    assert plan.outputs["secret_arn"] == db.state["masterUserSecrets"][0]["secretArn"]
    # enhanced monitoring through its own role
    role = named(plan, ROLE, "db-monitoring")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "monitoring.rds.amazonaws.com"}
    assert x["monitoringInterval"] == 60 and x["monitoringRoleArn"] == role.state["arn"]
    assert plan.one(ATTACHMENT).inputs["policyArn"].endswith("service-role/AmazonRDSEnhancedMonitoringRole")


def test_rds_deletion_protection_and_final_snapshot_only_when_asked(production_db: Plan) -> None:
    prod = production_db.one(DB).inputs
    assert prod["deletionProtection"] is True and prod["skipFinalSnapshot"] is False
    assert prod["finalSnapshotIdentifier"] == "looper-dev-db-final"
    dev = plan_of(database(deletion_protection=False, final_snapshot=False, monitoring_interval=0,
                           multi_az=False))
    x = dev.one(DB).inputs
    assert x["deletionProtection"] is False and x["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in x and x["multiAz"] is False
    assert dev.of_type(ROLE) == [] and "monitoringRoleArn" not in x
    assert x["storageEncrypted"] is True  # never optional


@pytest.mark.usefixtures("collect_garbage")
def test_rds_refuses_a_subnet_group_in_one_az() -> None:
    # known subnet IDs: refused before anything is created
    args = PostgresDatabaseArgs(identifier="looper-dev-db", subnet_ids=["subnet-0a"],
                                security_group_ids=("sg-0rds",), engine_version="17.6",
                                instance_class="db.m7g.large")
    assert any("at least 2 AZs" in p for p in args.problems())
    with pytest.raises(pulumi.RunError, match="at least 2 AZs"):
        plan_of(lambda: PostgresDatabase("db", args).register_outputs({}))

    # subnet IDs known only once the VPC exists: refused when they resolve
    def program() -> None:
        _, data = subnets("data", ("10.1.8.0/24", "10.1.9.0/24"))
        PostgresDatabase("db", replace(args, subnet_ids=ids(data[:1])))

    with pytest.raises(Exception, match="at least 2 AZs"):
        plan_of(program)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"backup_retention_days": 3}, "backup_retention_days: 3"),
    ({"backup_window": "18:00-19:00", "maintenance_window": "sun:18:30-sun:19:30"},
     "maintenance_window: overlaps backup_window"),
    ({"engine_version": "17"}, "engine_version"),
    ({"monitoring_interval": 2}, "monitoring_interval"),
])
def test_rds_args_problems(overrides: dict[str, Any], message: str) -> None:
    args = PostgresDatabaseArgs(identifier="looper-dev-db", subnet_ids=["subnet-0a", "subnet-0b"],
                                security_group_ids=("sg-0rds",), engine_version="17.6",
                                instance_class="db.m7g.large")
    assert args.problems() == []
    assert any(message in p for p in replace(args, **overrides).problems())


# --- IRSA ------------------------------------------------------------------------------------

def irsa() -> None:
    key = tls.PrivateKey("sa-key", algorithm="RSA", rsa_bits=2048)
    issuer = IrsaIssuer("irsa", IrsaIssuerArgs(
        name_prefix="looper-dev-oidc", bucket_name=f"looper-dev-oidc-{ACCOUNT}",
        sa_public_key_pem=key.public_key_pem))
    role = IrsaRole("eso-role", IrsaRoleArgs(
        name="looper-dev-external-secrets", provider_arn=issuer.provider_arn, issuer_host=issuer.issuer_host,
        namespace="external-secrets", service_account="external-secrets",
        statements=[{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue",
                                                   "secretsmanager:DescribeSecret"],
                     "Resource": ESO_SCOPE}]))
    pulumi.export("issuer", issuer.issuer)
    pulumi.export("issuer_host", issuer.issuer_host)
    pulumi.export("role_arn", role.arn)


@pytest.fixture(scope="module")
def oidc() -> Plan:
    return plan_of(irsa)


def test_oidc_bucket_is_private_and_readable_only_by_this_distribution(oidc: Plan) -> None:
    bucket = oidc.one("aws:s3/bucket:Bucket")
    block = oidc.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert {k: block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                  "restrictPublicBuckets")} == dict.fromkeys(
        ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    assert oidc.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    assert oidc.one("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"] == {
        "status": "Enabled"}
    sse = oidc.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    cdn = oidc.one("aws:cloudfront/distribution:Distribution")
    policy = json.loads(oidc.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    arn = bucket.state["arn"]
    assert allow == [{
        "Sid": "CloudFrontReadsOidcDocuments", "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
        "Resource": [f"{arn}/{DISCOVERY_PATH}", f"{arn}/{JWKS_PATH}"],
        "Condition": {"StringEquals": {"AWS:SourceArn": cdn.state["arn"]}}}]
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_cloudfront_serves_https_only_through_sigv4_origin_access(oidc: Plan) -> None:
    oac = oidc.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert (oac.inputs["signingBehavior"], oac.inputs["signingProtocol"],
            oac.inputs["originAccessControlOriginType"]) == ("always", "sigv4", "s3")
    cdn = oidc.one("aws:cloudfront/distribution:Distribution").inputs
    (origin,) = cdn["origins"]
    bucket = oidc.one("aws:s3/bucket:Bucket")
    assert origin["domainName"] == bucket.state["bucketRegionalDomainName"]
    assert origin["originAccessControlId"] == oac.id
    behaviour = cdn["defaultCacheBehavior"]
    assert behaviour["viewerProtocolPolicy"] == "https-only"
    assert behaviour["allowedMethods"] == ["GET", "HEAD"]
    assert cdn["priceClass"] == "PriceClass_100"
    cache = oidc.one("aws:cloudfront/cachePolicy:CachePolicy")
    assert behaviour["cachePolicyId"] == cache.id
    assert cache.inputs["defaultTtl"] <= 300 and cache.inputs["maxTtl"] <= 3600
    key = cache.inputs["parametersInCacheKeyAndForwardedToOrigin"]
    assert (key["cookiesConfig"], key["queryStringsConfig"]) == (
        {"cookieBehavior": "none"}, {"queryStringBehavior": "none"})


def test_discovery_documents_match_the_issuer_and_the_real_key(oidc: Plan) -> None:
    cdn = oidc.one("aws:cloudfront/distribution:Distribution")
    issuer = oidc.outputs["issuer"]
    assert issuer == f"https://{cdn.state['domainName']}"
    assert oidc.outputs["issuer_host"] == cdn.state["domainName"]
    objects = {r.inputs["key"]: r for r in oidc.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert set(objects) == {DISCOVERY_PATH, JWKS_PATH}
    assert {r.inputs["contentType"] for r in objects.values()} == {"application/json"}
    discovery = json.loads(objects[DISCOVERY_PATH].inputs["content"])
    assert discovery["issuer"] == issuer and discovery["jwks_uri"] == f"{issuer}/{JWKS_PATH}"
    pem = oidc.one("tls:index/privateKey:PrivateKey").state["publicKeyPem"]
    assert "BEGIN PUBLIC KEY" in pem
    assert objects[JWKS_PATH].inputs["content"] == jwks_document(pem)
    provider = oidc.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == issuer and provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider.inputs
    # the provider (and the issuer output) wait for both documents and the bucket policy
    deps = set(provider.property_dependencies["url"])
    assert {r.urn for r in objects.values()} | {oidc.one("aws:s3/bucketPolicy:BucketPolicy").urn} <= deps


def test_eso_role_trusts_one_service_account_and_reads_only_env_secrets(oidc: Plan) -> None:
    provider = oidc.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    host = oidc.outputs["issuer_host"]
    role = named(oidc, ROLE, "eso-role-role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement == {
        "Effect": "Allow", "Principal": {"Federated": provider.state["arn"]},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{host}:sub": "system:serviceaccount:external-secrets:external-secrets",
            f"{host}:aud": "sts.amazonaws.com"}}}
    (permission,) = json.loads(named(oidc, ROLE_POLICY, "eso-role-policy").inputs["policy"])["Statement"]
    assert permission["Resource"] == ESO_SCOPE
    assert set(permission["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert oidc.outputs["role_arn"] == role.state["arn"]


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.usefixtures("collect_garbage")
def test_user_data_over_16_kb_is_refused() -> None:
    def program() -> None:
        NodeLaunchTemplate("lt", NodeLaunchTemplateArgs(
            name_prefix="looper-dev-worker", image_id=AMI, instance_type="m7i.large", instance_profile="p",
            security_group_ids=("sg-0",), user_data="#" * (USER_DATA_LIMIT + 1), node_role="worker"))

    with pytest.raises(Exception, match="EC2 accepts at most 16384"):
        plan_of(program)


def test_gzipped_user_data_fits_and_round_trips() -> None:
    big = "#cloud-config\n" + "".join(f"# line {i}: kubeadm join material is fetched, not embedded\n"
                                       for i in range(400))
    assert len(big.encode()) > USER_DATA_LIMIT

    def program() -> None:
        _, private = subnets("private", ("10.1.16.0/20", "10.1.32.0/20"))
        ControlPlaneNodes("cp", ControlPlaneNodesArgs(
            name_prefix="looper-dev-cp", count=1, image_id=AMI, instance_type="m7i.large",
            subnet_ids=ids(private), security_group_ids=("sg-0cp",), instance_profile="p",
            user_data=[big], api_target_group_arn="tg", gzip_user_data=True, cluster_name="looper-dev-k8s"))
        NodeLaunchTemplate("lt", NodeLaunchTemplateArgs(
            name_prefix="looper-dev-worker", image_id=AMI, instance_type="m7i.large", instance_profile="p",
            security_group_ids=("sg-0",), user_data=big, node_role="worker", gzip_user_data=True))

    plan = plan_of(program)
    node = named(plan, LT, "cp-0-template").inputs
    for encoded in (node["userData"], named(plan, LT, "lt-template").inputs["userData"]):
        packed = base64.b64decode(encoded)
        assert len(packed) <= USER_DATA_LIMIT and gzip.decompress(packed).decode() == big
    # deterministic bytes (no timestamp in the gzip header): no diff from one run to the next
    assert named(plan_of(program), LT, "cp-0-template").inputs["userData"] == node["userData"]


@pytest.mark.parametrize(("build", "message"), [
    (lambda: ControlPlaneNodesArgs(
        name_prefix="cp", count=2, image_id=AMI, instance_type="m7i.large", subnet_ids=["s"],
        security_group_ids=("sg",), instance_profile="p", user_data=["a", "b"], api_target_group_arn="tg",
        cluster_name="c"),
     "count: 2"),
    (lambda: ControlPlaneNodesArgs(
        name_prefix="cp", count=3, image_id="ubuntu-24.04", instance_type="m7i.large", subnet_ids=["s"],
        security_group_ids=("sg",), instance_profile="p", user_data=["a"], api_target_group_arn="tg",
        cluster_name="c"),
     "image_id"),
    (lambda: NodeGroupArgs(name="w", launch_template_id="lt", launch_template_version=1, subnet_ids=["s"],
                           min_size=3, max_size=4, desired=2, node_role="worker"),
     "min_size/desired/max_size"),
    (lambda: NodeGroupArgs(name="w", launch_template_id="lt", launch_template_version=1, subnet_ids=["s"],
                           min_size=1, max_size=2, desired=1, node_role="worker", health_check_type="ELB"),
     "ELB needs target_group_arns"),
    (lambda: AppLoadBalancerArgs(name="app", vpc_id="v", subnet_ids=["s"], security_group_id="sg",
                                 domain=DOMAIN, hosted_zone_id=ZONE, node_ports={"http": 30080}),
     "node_ports: needs exactly"),
    (lambda: AppLoadBalancerArgs(name="app", vpc_id="v", subnet_ids=["s"], security_group_id="sg",
                                 domain=DOMAIN, hosted_zone_id=ZONE,
                                 node_ports={"http": 80, "redirect": 30081}),
     "node_ports.http: 80"),
    (lambda: NodeRoleArgs(name="r", managed_policy_arns=("AmazonSSMManagedInstanceCore",)),
     "is not an IAM policy ARN"),
    (lambda: JsonSecretArgs(name="looper/dev/app-abc123", values={"k": "v"}, kms_key_id=SECRETS_KEY),
     "random suffix"),
    (lambda: JsonSecretArgs(name="looper/dev/app", values={"k": "v"}, kms_key_id="alias/aws/secretsmanager"),
     "kms_key_id: 'alias/aws/secretsmanager' is not a customer managed key"),
    (lambda: JsonSecretArgs(name="looper/dev/app", values={"k": "v"}, kms_key_id=SECRETS_KEY,
                           recovery_window_in_days=3),
     "recovery_window_in_days"),
    (lambda: IrsaRoleArgs(name="r", provider_arn="p", issuer_host="h", namespace="ns", service_account="sa",
                          statements=[{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
     "Resource '*'"),
])
def test_args_problems_name_the_field(build: Callable[[], Any], message: str) -> None:
    assert any(message in p for p in build().problems())


@pytest.mark.usefixtures("collect_garbage")
def test_a_component_refuses_bad_args_before_creating_anything() -> None:
    def program() -> None:
        ApiLoadBalancer("api", ApiLoadBalancerArgs(
            name="internal-looper-api-with-a-much-too-long-name", vpc_id="v", subnet_ids=["s"],
            security_group_id="sg"))

    with pytest.raises(pulumi.RunError, match="api: name: 'internal-looper"):
        plan_of(program)

"""The AWS fakes through the engine: every faked type in one program wired by outputs, as a v4
stage wires them; each returns only properties the SDK knows, and program logic sees real values."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from ipaddress import IPv4Address, IPv4Network

import pulumi
import pytest

from looper_infra.engine.fakes import aws
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

REGION = "eu-west-1"
ACCOUNT = "210987654321"


def _every_aws_type() -> None:
    """One of each faked AWS type, wired by outputs as a v4 stage wires them."""
    import pulumi_aws as aws

    vpc = aws.ec2.Vpc("k8s", cidr_block="10.1.0.0/16", enable_dns_hostnames=True)
    subnets = {z: aws.ec2.Subnet(f"k8s-private-{z}", vpc_id=vpc.id, cidr_block=f"10.1.{n}.0/24",
                                 availability_zone=f"{REGION}{z}") for n, z in ((1, "a"), (2, "b"))}
    public = aws.ec2.Subnet("k8s-public-a", vpc_id=vpc.id, cidr_block="10.1.100.0/24",
                            availability_zone=f"{REGION}a", map_public_ip_on_launch=True)
    igw = aws.ec2.InternetGateway("k8s-igw", vpc_id=vpc.id)
    eip = aws.ec2.Eip("k8s-nat-ip", domain="vpc")
    nat = aws.ec2.NatGateway("k8s-nat", subnet_id=public.id, allocation_id=eip.id)
    rt = aws.ec2.RouteTable("k8s-private-rt", vpc_id=vpc.id)
    aws.ec2.Route("k8s-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                  nat_gateway_id=nat.id)
    aws.ec2.RouteTableAssociation("k8s-rta", route_table_id=rt.id, subnet_id=subnets["a"].id)
    logs = aws.cloudwatch.LogGroup("k8s-flow-logs", retention_in_days=30)
    role = aws.iam.Role("k8s-node", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    aws.ec2.FlowLog("k8s-flow", vpc_id=vpc.id, traffic_type="ALL", log_destination=logs.arn,
                    iam_role_arn=role.arn)
    aws.ec2.DefaultSecurityGroup("k8s-default-sg", vpc_id=vpc.id)
    sg = aws.ec2.SecurityGroup("k8s-nodes", vpc_id=vpc.id, description="nodes")
    aws.vpc.SecurityGroupIngressRule("k8s-vxlan", security_group_id=sg.id, ip_protocol="udp", from_port=4789,
                                     to_port=4789, referenced_security_group_id=sg.id)
    aws.vpc.SecurityGroupEgressRule("k8s-out", security_group_id=sg.id, ip_protocol="-1",
                                    cidr_ipv4="0.0.0.0/0")
    aws.ec2.VpcEndpoint("k8s-secrets", vpc_id=vpc.id, service_name=f"com.amazonaws.{REGION}.secretsmanager",
                        vpc_endpoint_type="Interface", subnet_ids=[s.id for s in subnets.values()],
                        private_dns_enabled=True, security_group_ids=[sg.id])
    profile = aws.iam.InstanceProfile("k8s-node", role=role.name)
    aws.iam.RolePolicy("k8s-node-secret", role=role.id, policy="{}")
    policy = aws.iam.Policy("k8s-read", policy="{}")
    aws.iam.RolePolicyAttachment("k8s-read", role=role.name, policy_arn=policy.arn)
    lt = aws.ec2.LaunchTemplate("k8s-worker", image_id="ami-0123456789abcdef0", instance_type="m6i.large",
                                iam_instance_profile={"arn": profile.arn},
                                network_interfaces=[{"subnet_id": subnets["b"].id,
                                                     "security_groups": [sg.id]}])
    control = aws.ec2.Instance("k8s-cp-1", ami="ami-0123456789abcdef0", instance_type="m6i.large",
                               subnet_id=subnets["a"].id, vpc_security_group_ids=[sg.id])
    worker = aws.ec2.Instance("k8s-worker-1", launch_template={"id": lt.id, "version": "$Latest"})
    workers = aws.autoscaling.Group("k8s-workers", min_size=1, max_size=3,
                                    vpc_zone_identifiers=[s.id for s in subnets.values()],
                                    launch_template={"id": lt.id, "version": "$Latest"})
    aws.autoscaling.LifecycleHook("k8s-workers", name="drain", autoscaling_group_name=workers.name,
                                  lifecycle_transition="autoscaling:EC2_INSTANCE_TERMINATING",
                                  default_result="CONTINUE", heartbeat_timeout=420)
    nlb = aws.lb.LoadBalancer("k8s-api", load_balancer_type="network", internal=True,
                              subnets=[s.id for s in subnets.values()])
    tg = aws.lb.TargetGroup("k8s-api", port=6443, protocol="TCP", target_type="ip", vpc_id=vpc.id)
    aws.lb.TargetGroupAttachment("k8s-api-cp-1", target_group_arn=tg.arn, target_id=control.private_ip,
                                 port=6443)
    aws.lb.Listener("k8s-api", load_balancer_arn=nlb.arn, port=6443, protocol="TCP",
                    default_actions=[{"type": "forward", "target_group_arn": tg.arn}])
    zone = aws.route53.Zone("looper", name="looper.example.com")
    cert = aws.acm.Certificate("app", domain_name="app.looper.example.com", validation_method="DNS")
    option = cert.domain_validation_options[0]
    validation = aws.route53.Record("app-validation", zone_id=zone.zone_id, name=option.resource_record_name,
                                    type=option.resource_record_type, records=[option.resource_record_value],
                                    ttl=300)
    aws.acm.CertificateValidation("app", certificate_arn=cert.arn, validation_record_fqdns=[validation.fqdn])
    aws.route53.Record("api", zone_id=zone.zone_id, name="api", type="A",
                       aliases=[{"name": nlb.dns_name, "zone_id": nlb.zone_id,
                                 "evaluate_target_health": True}])
    key = aws.kms.Key("secrets", enable_key_rotation=True)
    aws.kms.Alias("secrets", name="alias/looper-secrets", target_key_id=key.key_id)
    secret = aws.secretsmanager.Secret("join", name="looper/join", kms_key_id=key.arn)
    aws.secretsmanager.SecretVersion("join", secret_id=secret.id, secret_string="token")
    db_subnets = aws.rds.SubnetGroup("db", subnet_ids=[s.id for s in subnets.values()])
    params = aws.rds.ParameterGroup("db", family="postgres16")
    db = aws.rds.Instance("db", engine="postgres", engine_version="16.4", instance_class="db.m6g.large",
                          allocated_storage=50, multi_az=True, storage_encrypted=True, kms_key_id=key.arn,
                          db_subnet_group_name=db_subnets.name, parameter_group_name=params.name,
                          username="looper", manage_master_user_password=True)
    bucket = aws.s3.Bucket("oidc")
    aws.s3.BucketPublicAccessBlock("oidc", bucket=bucket.id, block_public_acls=True)
    aws.s3.BucketServerSideEncryptionConfiguration("oidc", bucket=bucket.id, rules=[
        {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
    aws.s3.BucketVersioning("oidc", bucket=bucket.id, versioning_configuration={"status": "Enabled"})
    aws.s3.BucketOwnershipControls("oidc", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"})
    oac = aws.cloudfront.OriginAccessControl("oidc", origin_access_control_origin_type="s3",
                                             signing_behavior="always", signing_protocol="sigv4")
    cache = aws.cloudfront.CachePolicy("oidc", default_ttl=300, max_ttl=3600, min_ttl=0,
                                       parameters_in_cache_key_and_forwarded_to_origin={
                                           "cookies_config": {"cookie_behavior": "none"},
                                           "headers_config": {"header_behavior": "none"},
                                           "query_strings_config": {"query_string_behavior": "none"}})
    cdn = aws.cloudfront.Distribution(
        "oidc", enabled=True,
        origins=[{"domain_name": bucket.bucket_regional_domain_name, "origin_id": "s3",
                  "origin_access_control_id": oac.id}],
        default_cache_behavior={"allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                                "target_origin_id": "s3", "viewer_protocol_policy": "https-only",
                                "cache_policy_id": cache.id},
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate={"cloudfront_default_certificate": True})
    aws.s3.BucketPolicy("oidc", bucket=bucket.id, policy=cdn.arn.apply(lambda a: json.dumps({"arn": a})))
    aws.s3.BucketObjectv2("oidc-discovery", bucket=bucket.id, key=".well-known/openid-configuration",
                          content=cdn.domain_name.apply(lambda d: json.dumps({"issuer": f"https://{d}"})))
    oidc = aws.iam.OpenIdConnectProvider("irsa", url=cdn.domain_name.apply(lambda d: f"https://{d}"),
                                         client_id_lists=["sts.amazonaws.com"])
    peer_vpc = aws.ec2.Vpc("vpn-vpc", cidr_block="10.2.0.0/16")
    aws.ec2.VpcPeeringConnection("k8s-to-vpn", vpc_id=vpc.id, peer_vpc_id=peer_vpc.id, auto_accept=True)
    pcx = aws.ec2.VpcPeeringConnection("k8s-to-vpn-2", vpc_id=vpc.id, peer_vpc_id=peer_vpc.id)
    aws.ec2.VpcPeeringConnectionAccepter("k8s-to-vpn-2", vpc_peering_connection_id=pcx.id, auto_accept=True)
    vgw = aws.ec2.VpnGateway("k8s-vgw", vpc_id=vpc.id, amazon_side_asn="64513")
    aws.ec2.VpnGatewayRoutePropagation("k8s-vgw", vpn_gateway_id=vgw.id, route_table_id=rt.id)
    cgw = aws.ec2.CustomerGateway("gcp-if0", bgp_asn="65010", ip_address="34.64.0.10", type="ipsec.1")
    vpn = aws.ec2.VpnConnection("gcp-a", vpn_gateway_id=vgw.id, customer_gateway_id=cgw.id, type="ipsec.1",
                                tunnel1_inside_cidr="169.254.21.0/30", tunnel2_inside_cidr="169.254.22.0/30",
                                tunnel1_preshared_key="Looper.tunnel1key",
                                tunnel2_preshared_key="Looper.t2key")
    aws.ec2.VpnConnectionRoute("gcp-a", vpn_connection_id=vpn.id, destination_cidr_block="10.0.0.0/16")
    aws.ec2.SecurityGroupRule("legacy", type="ingress", security_group_id=sg.id, protocol="tcp", from_port=22,
                              to_port=22, cidr_blocks=["10.2.0.0/16"])
    tgw = aws.ec2transitgateway.TransitGateway("hub", amazon_side_asn=64600)
    attach = aws.ec2transitgateway.VpcAttachment("hub-k8s", transit_gateway_id=tgw.id, vpc_id=vpc.id,
                                                 subnet_ids=[s.id for s in subnets.values()])
    table = aws.ec2transitgateway.RouteTable("hub", transit_gateway_id=tgw.id)
    aws.ec2transitgateway.RouteTableAssociation("hub-k8s", transit_gateway_route_table_id=table.id,
                                                transit_gateway_attachment_id=attach.id)
    aws.ec2transitgateway.RouteTablePropagation("hub-k8s", transit_gateway_route_table_id=table.id,
                                                transit_gateway_attachment_id=attach.id)
    aws.ec2transitgateway.Route("hub-gcp", transit_gateway_route_table_id=table.id,
                                destination_cidr_block="10.0.0.0/16", transit_gateway_attachment_id=attach.id)
    queue = aws.sqs.Queue("nth", name="looper-nth", message_retention_seconds=300, kms_master_key_id=key.arn)
    rule = aws.cloudwatch.EventRule("nth-spot", name="looper-nth-spot", event_pattern=json.dumps(
        {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]}))
    aws.cloudwatch.EventTarget("nth-spot", rule=rule.name, target_id="queue", arn=queue.arn)
    aws.sqs.QueuePolicy("nth", queue_url=queue.url, policy=rule.arn.apply(lambda a: json.dumps({"arn": a})))
    aws.Provider("aws-secondary", region="us-east-1")

    pulumi.export("control_ip", control.private_ip)
    pulumi.export("worker_ip", worker.private_ip)
    pulumi.export("worker_az", worker.availability_zone)
    pulumi.export("api_dns", nlb.dns_name)
    pulumi.export("api_zone", nlb.zone_id)
    # program logic that parses outputs the way a stage does
    pulumi.export("kube_api", nlb.dns_name.apply(lambda d: f"https://{d}:6443"))
    pulumi.export("oidc_arn", oidc.arn)
    pulumi.export("db_host", db.address)
    pulumi.export("db_secret", db.master_user_secrets[0].secret_arn)
    pulumi.export("tunnel1_peer", vpn.tunnel1_vgw_inside_address)
    pulumi.export("igw", igw.id)
    pulumi.export("queue_url", queue.url)
    pulumi.export("rule_arn", rule.arn)


@pytest.fixture(scope="module")
def every_type_plan() -> Plan:
    return run_program(_every_aws_type, stage="t", stack="unit",
                       context=MockContext(aws_region=REGION, aws_account=ACCOUNT))


def _sdk_property_names(token: str) -> set[str]:
    from pulumi._types import resource_py_to_pulumi_names

    if token.startswith("pulumi:providers:"):
        return set()
    module, cls = token.split(":", 1)[1].split(":")
    sdk_class = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), cls)
    return set(resource_py_to_pulumi_names(sdk_class).values())


def test_every_fake_runs_in_a_program_and_returns_only_real_properties(every_type_plan: Plan) -> None:
    by_type = every_type_plan.by_type()
    missing = [t for t in aws.FAKES if t not in by_type]
    assert not missing, f"not exercised: {missing}"
    for resource in every_type_plan.resources:
        if resource.type in aws.FAKES and not resource.type.startswith("pulumi:providers:"):
            unknown = set(resource.state) - _sdk_property_names(resource.type)
            assert not unknown, (resource.type, sorted(unknown))


def test_program_sees_region_account_and_subnet_addresses(every_type_plan: Plan) -> None:
    out = every_type_plan.outputs
    assert IPv4Address(out["control_ip"]) in IPv4Network("10.1.1.0/24")
    # the worker came from the launch template's subnet and zone
    assert IPv4Address(out["worker_ip"]) in IPv4Network("10.1.2.0/24") and out["worker_az"] == "eu-west-1b"
    assert re.fullmatch(r"k8s-api-[0-9a-f]{7}-[0-9a-f]{16}\.elb\.eu-west-1\.amazonaws\.com", out["api_dns"])
    assert out["api_zone"] == "Z2IFOLAFXWLO4F" and out["kube_api"] == f"https://{out['api_dns']}:6443"
    assert re.fullmatch(rf"arn:aws:iam::{ACCOUNT}:oidc-provider/d[a-z0-9]{{13}}\.cloudfront\.net",
                        out["oidc_arn"])
    assert out["db_host"].endswith(".eu-west-1.rds.amazonaws.com")
    assert out["db_secret"].startswith(f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:rds!db-")
    assert out["tunnel1_peer"] == "169.254.21.1"
    assert out["queue_url"] == f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/looper-nth"
    assert out["rule_arn"] == f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/looper-nth-spot"
    plan = every_type_plan
    record = next(r for r in plan.of_type("aws:route53/record:Record") if r.name == "app-validation")
    cert = plan.one("aws:acm/certificate:Certificate")
    assert record.inputs["name"] == cert.state["domainValidationOptions"][0]["resourceRecordName"]
    obj = plan.one("aws:s3/bucketObjectv2:BucketObjectv2")
    assert obj.state["etag"] == hashlib.md5(obj.state["content"].encode()).hexdigest()  # noqa: S324
    # the pre-shared keys are secret outputs of the SDK: masked in the plan, clear in the state
    vpn = plan.one("aws:ec2/vpnConnection:VpnConnection")
    assert vpn.state["tunnel1PresharedKey"] == "Looper.tunnel1key"
    assert "Looper.tunnel1key" not in json.dumps(plan.to_document())


def test_an_api_refusal_fails_the_plan() -> None:
    def program() -> None:
        import pulumi_aws as aws

        vpc = aws.ec2.Vpc("k8s", cidr_block="10.1.0.0/16")
        aws.ec2.Subnet("k8s-stray", vpc_id=vpc.id, cidr_block="10.9.0.0/24")

    with pytest.raises(ValueError, match=r"outside its VPC's range 10\.1\.0\.0/16"):
        run_program(program, stage="t", stack="unit", context=MockContext())

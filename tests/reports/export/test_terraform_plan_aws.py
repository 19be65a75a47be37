"""Terraform plan export of AWS, tls, random and GCP HA VPN resources; checkov on a known-bad AWS plan."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from helpers.export import FIXTURES, failures, resource, run_checkov, tiny_plan
from looper_infra.engine.mocks import RecordedResource
from looper_infra.policies.evaluate import evaluate, resources_of
from looper_infra.reports.export import TYPE_MAP, to_terraform_plan
from looper_infra.reports.export.terraform_plan import (
    AWS,
    GOOGLE,
    RANDOM,
    TLS,
    provider_name,
    terraform_values,
)

#: The types stage v4 and the VPN/peering issues create (DESIGN.md v4; the brief's inventory).
V4_TYPES = (
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/route:Route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/flowLog:FlowLog",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:autoscaling/group:Group",
    "aws:ec2/instance:Instance",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment",
    "aws:lb/listener:Listener",
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:route53/record:Record",
    "aws:rds/instance:Instance",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:kms/key:Key",
    "aws:kms/alias:Alias",
    "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:cloudfront/distribution:Distribution",
    "aws:cloudfront/originAccessControl:OriginAccessControl",
    "tls:index/privateKey:PrivateKey",
    "tls:index/selfSignedCert:SelfSignedCert",
    "tls:index/locallySignedCert:LocallySignedCert",
    "tls:index/certRequest:CertRequest",
    "random:index/randomString:RandomString",
    "random:index/randomId:RandomId",
    "random:index/randomBytes:RandomBytes",
    "aws:ec2/vpnGateway:VpnGateway",
    "aws:ec2/customerGateway:CustomerGateway",
    "aws:ec2/vpnConnection:VpnConnection",
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation",
    "gcp:compute/haVpnGateway:HaVpnGateway",
    "gcp:compute/externalVpnGateway:ExternalVpnGateway",
    "gcp:compute/vPNTunnel:VPNTunnel",
    "gcp:compute/routerInterface:RouterInterface",
    "gcp:compute/routerPeer:RouterPeer",
)

SPOT_CHECKS = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:lb/targetGroup:TargetGroup": "aws_lb_target_group",
    "aws:lb/listener:Listener": "aws_lb_listener",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:autoscaling/group:Group": "aws_autoscaling_group",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "gcp:compute/haVpnGateway:HaVpnGateway": "google_compute_ha_vpn_gateway",
    "gcp:compute/vPNTunnel:VPNTunnel": "google_compute_vpn_tunnel",
    "tls:index/locallySignedCert:LocallySignedCert": "tls_locally_signed_cert",
    "random:index/randomBytes:RandomBytes": "random_bytes",
}


@cache
def sdk_registry(package: str) -> str:
    """The SDK's resource-module registry (its __init__.py names every type token it implements)."""
    spec = importlib.util.find_spec(package)  # found, not imported: pulumi_gcp costs seconds
    assert spec is not None and spec.origin, package
    return Path(spec.origin).read_text(encoding="utf-8")


def test_every_new_type_is_mapped_and_every_mapped_token_exists_in_its_sdk() -> None:
    assert [t for t in V4_TYPES if t not in TYPE_MAP] == []
    packages = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "tls": "pulumi_tls", "random": "pulumi_random",
                "kubernetes": "pulumi_kubernetes"}
    missing = [t for t in TYPE_MAP if f'"{t}"' not in sdk_registry(packages[t.split(":", 1)[0]])]
    assert missing == [], "these Pulumi type tokens are not in the installed SDKs"
    for pulumi_type, tf_type in SPOT_CHECKS.items():
        assert TYPE_MAP[pulumi_type] == tf_type
    for pulumi_type, tf_type in TYPE_MAP.items():
        prefix = {"aws": "aws_", "gcp": "google_", "tls": "tls_", "random": "random_",
                  "kubernetes": ("kubernetes_", "helm_")}[
            pulumi_type.split(":")[0]
        ]
        assert tf_type.startswith(prefix) and tf_type == tf_type.lower(), pulumi_type
    assert len(set(TYPE_MAP.values())) == len(TYPE_MAP), "two Pulumi types map to one Terraform type"


def test_provider_names() -> None:
    assert provider_name("aws_vpc") == AWS == "registry.terraform.io/hashicorp/aws"
    assert provider_name("tls_private_key") == TLS == "registry.terraform.io/hashicorp/tls"
    assert provider_name("random_string") == RANDOM
    assert provider_name("google_compute_vpn_tunnel") == GOOGLE


def test_a_plan_with_one_resource_of_each_new_type_exports() -> None:
    plan = tiny_plan(
        *(
            resource(t, f"r{n}", {"tags": {"Name": f"r{n}"}} if t.startswith("aws:") else {})
            for n, t in enumerate(V4_TYPES)
        )
    )
    doc = to_terraform_plan(plan)
    planned = doc["planned_values"]["root_module"]["resources"]
    assert [r["type"] for r in planned] == [TYPE_MAP[t] for t in V4_TYPES]
    by_type = {r["type"]: r for r in planned}
    assert by_type["aws_vpc"]["provider_name"] == AWS
    assert by_type["aws_vpc"]["values"] == {"tags": {"Name": "r0"}}  # a map, not a block
    assert by_type["tls_self_signed_cert"]["provider_name"] == TLS
    assert by_type["random_bytes"]["provider_name"] == RANDOM
    assert by_type["google_compute_router_peer"]["provider_name"] == GOOGLE
    keys = {r["address"]: r["provider_config_key"] for r in doc["configuration"]["root_module"]["resources"]}
    assert keys["aws_vpc.r0"] == "aws" and keys["tls_private_key.r46"] == "tls"
    assert doc["configuration"]["provider_config"]["aws"] == {"name": "aws", "full_name": AWS}
    assert set(doc["configuration"]["provider_config"]) == {"aws", "google", "random", "tls"}
    json.dumps(doc)


def test_aws_values_follow_the_terraform_schema() -> None:
    lt = terraform_values(
        {
            "blockDeviceMappings": [
                {"deviceName": "/dev/sda1", "ebs": {"encrypted": "true", "volumeSize": 50}}
            ],
            "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2},
            "networkInterfaces": [{"securityGroups": ["sg-1"]}],
            "tagSpecifications": [
                {"resourceType": "instance", "tags": {"Name": "w", "kubernetes.io/cluster/x": "owned"}}
            ],
            "tags": {"looper:role": "worker"},
        },
        "aws_launch_template",
    )
    assert lt == {
        "block_device_mapping": [
            {"device_name": "/dev/sda1", "ebs": [{"encrypted": "true", "volume_size": 50}]}
        ],
        "metadata_options": [{"http_tokens": "required", "http_put_response_hop_limit": 2}],
        "network_interface": [{"security_groups": ["sg-1"]}],
        "tag_specifications": [
            {"resource_type": "instance", "tags": {"Name": "w", "kubernetes.io/cluster/x": "owned"}}
        ],
        "tags": {"looper:role": "worker"},
    }
    vm = terraform_values(
        {
            "rootBlockDevice": {"encrypted": True, "volumeType": "gp3"},
            "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True}],
        },
        "aws_instance",
    )
    assert vm == {
        "root_block_device": [{"encrypted": True, "volume_type": "gp3"}],
        "ebs_block_device": [{"device_name": "/dev/sdf", "encrypted": True}],
    }
    sg = terraform_values(
        {
            "ingress": [
                {
                    "protocol": "tcp",
                    "fromPort": 443,
                    "toPort": 443,
                    "cidrBlocks": ["0.0.0.0/0"],
                    "ipv6CidrBlocks": ["::/0"],
                }
            ]
        }
    )
    assert sg == {
        "ingress": [
            {
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_blocks": ["0.0.0.0/0"],
                "ipv6_cidr_blocks": ["::/0"],
            }
        ]
    }
    assert terraform_values(
        {"defaultActions": [{"type": "forward", "forward": {"targetGroups": [{"arn": "a"}]}}]}
    ) == {"default_action": [{"type": "forward", "forward": [{"target_group": [{"arn": "a"}]}]}]}
    assert terraform_values({"parameters": [{"name": "rds.force_ssl", "value": "1"}]}) == {
        "parameter": [{"name": "rds.force_ssl", "value": "1"}]
    }
    cf = terraform_values(
        {
            "origins": [{"domainName": "b.s3.amazonaws.com", "originId": "s3"}],
            "orderedCacheBehaviors": [{"pathPattern": "/.well-known/*"}],
            "aliases": ["oidc.example.com"],
        },
        "aws_cloudfront_distribution",
    )
    assert cf == {
        "origin": [{"domain_name": "b.s3.amazonaws.com", "origin_id": "s3"}],
        "ordered_cache_behavior": [{"path_pattern": "/.well-known/*"}],
        "aliases": ["oidc.example.com"],
    }
    record = terraform_values(
        {"aliases": [{"name": "nlb.aws", "zoneId": "Z1", "evaluateTargetHealth": True}]}, "aws_route53_record"
    )
    assert record == {"alias": [{"name": "nlb.aws", "zone_id": "Z1", "evaluate_target_health": True}]}
    asg = terraform_values(
        {
            "vpcZoneIdentifiers": ["subnet-a", "subnet-c"],
            "desiredCapacity": 2,
            "tags": [{"key": "Name", "value": "w", "propagateAtLaunch": True}],
        },
        "aws_autoscaling_group",
    )
    assert asg == {
        "vpc_zone_identifier": ["subnet-a", "subnet-c"],
        "desired_capacity": 2,
        "tag": [{"key": "Name", "value": "w", "propagate_at_launch": True}],
    }
    oidc = terraform_values({"clientIdLists": ["sts.amazonaws.com"], "thumbprintLists": ["a" * 40]})
    assert oidc == {"client_id_list": ["sts.amazonaws.com"], "thumbprint_list": ["a" * 40]}
    role = terraform_values({"inlinePolicies": [{"name": "p", "policy": "{}"}]})
    assert role == {"inline_policy": [{"name": "p", "policy": "{}"}]}
    assert terraform_values({"routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "n"}]}) == {
        "route": [{"cidr_block": "0.0.0.0/0", "nat_gateway_id": "n"}]
    }
    ext = terraform_values(
        {"redundancyType": "FOUR_IPS_REDUNDANCY", "interfaces": [{"id": 0, "ipAddress": "1.2.3.4"}]},
        "google_compute_external_vpn_gateway",
    )
    assert ext == {
        "redundancy_type": "FOUR_IPS_REDUNDANCY",
        "interface": [{"id": 0, "ip_address": "1.2.3.4"}],
    }
    assert terraform_values({"keepers": {"Rotate": "2026"}, "length": 6}) == {
        "keepers": {"Rotate": "2026"},
        "length": 6,
    }


def test_references_use_terraform_argument_names() -> None:
    subnet_a = resource("aws:ec2/subnet:Subnet", "private-a", {"availabilityZone": "ap-northeast-2a"})
    asg = RecordedResource(
        urn="urn:pulumi:test::looper::aws:autoscaling/group:Group::workers",
        type="aws:autoscaling/group:Group",
        name="workers",
        parent=None,
        provider=None,
        custom=True,
        dependencies=[subnet_a.urn],
        inputs={"vpcZoneIdentifiers": ["private-a-id"], "minSize": 2, "maxSize": 4},
        property_dependencies={"vpcZoneIdentifiers": [subnet_a.urn], "minSize": []},
    )
    doc = to_terraform_plan(tiny_plan(subnet_a, asg))
    configured = {r["address"]: r for r in doc["configuration"]["root_module"]["resources"]}
    assert configured["aws_autoscaling_group.workers"]["expressions"] == {
        "vpc_zone_identifier": {"references": ["aws_subnet.private-a.id", "aws_subnet.private-a"]}
    }


# --- checkov ---------------------------------------------------------------------------------------


def known_bad() -> tuple[list[RecordedResource], dict[str, list[str]]]:
    fixture = json.loads((FIXTURES / "known-bad-aws.json").read_text(encoding="utf-8"))
    resources = [resource(r["type"], r["name"], r["inputs"]) for r in fixture["resources"]]
    return resources, fixture["expected_failures"]


def test_checkov_flags_the_known_bad_aws_fixture(tmp_path: Path) -> None:
    resources, expected_failures = known_bad()
    report = run_checkov(to_terraform_plan(tiny_plan(*resources)), tmp_path)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] == len(resources)
    expected = {(check, address) for check, addresses in expected_failures.items() for address in addresses}
    assert expected <= failures(report), sorted(expected - failures(report))


def test_policy_pack_flags_what_checkov_cannot_in_the_fixture() -> None:
    """checkov 3.3.30 has no EBS-encryption check for launch templates; the policy pack does."""
    resources, _ = known_bad()
    plan = tiny_plan(*resources)
    found = {(v.policy, v.urn.rsplit("::", 1)[-1]) for v in evaluate(resources_of(plan))}
    assert {
        ("aws-ebs-encrypted", "unencrypted-lt"),
        ("aws-imdsv2", "unencrypted-lt"),
        ("aws-ebs-encrypted", "imdsv1-vm"),
        ("aws-imdsv2", "imdsv1-vm"),
        ("aws-sg-no-internet-ingress", "ssh-from-anywhere"),
        ("aws-sg-rule-no-internet-ingress", "rule-ssh-from-anywhere"),
        ("aws-rds-hardening", "plain-db"),
        ("aws-s3-private-encrypted", "open-bucket"),
    } <= found


@pytest.mark.parametrize("defect", ["CKV_AWS_79", "CKV_AWS_16"])
def test_fixing_a_defect_clears_its_check(tmp_path: Path, defect: str) -> None:
    """The fixture fails for the stated reason: repaired inputs pass the same check."""
    resources, expected = known_bad()
    fixed: list[RecordedResource] = []
    for r in resources:
        inputs: dict[str, Any] = dict(r.inputs)
        if defect == "CKV_AWS_79" and "metadataOptions" in inputs:
            inputs["metadataOptions"] = {"httpEndpoint": "enabled", "httpTokens": "required"}
        if defect == "CKV_AWS_16" and "storageEncrypted" in inputs:
            inputs["storageEncrypted"] = True
        fixed.append(resource(r.type, r.name, inputs))
    report = run_checkov(to_terraform_plan(tiny_plan(*fixed)), tmp_path)
    assert not {(c, a) for c, a in failures(report) if c == defect}
    assert expected[defect]

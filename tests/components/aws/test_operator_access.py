"""OperatorAccess: the server pushes only what a client can reach; peering only without a TGW."""

from __future__ import annotations

import pulumi
import pytest

from looper_infra.components.aws.operator_access import (
    AccessNetwork,
    ClusterVpcRef,
    OperatorAccess,
    OperatorAccessArgs,
    VpnServerSpec,
)
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

AMI = "resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
GCP = ("10.0.0.0/16",)


def access_plan(*, transit: bool) -> Plan:
    def program() -> None:
        access = OperatorAccess(
            "operator-access",
            OperatorAccessArgs(
                name_prefix="looper",
                env="dev",
                region="ap-northeast-2",
                account_id="123456789012",
                azs=("ap-northeast-2a", "ap-northeast-2c"),
                image_id=AMI,
                network=AccessNetwork(cidr="10.2.0.0/16", public_cidrs=("10.2.0.0/24", "10.2.1.0/24")),
                server=VpnServerSpec(users=("alice", "bob")),
                cluster_vpc=ClusterVpcRef(
                    cidr="10.1.0.0/16",
                    vpc_id="vpc-k8s",
                    route_table_ids={"ap-northeast-2a": "rtb-a", "ap-northeast-2c": "rtb-c"},
                ),
                secrets_key_arn="arn:aws:kms:ap-northeast-2:123456789012:key/00000000-0000-4000-8000-000000000001",
                transit_gateway=transit,
                gcp_cidrs=GCP,
            ),
        )
        pulumi.export("pushed", list(access.pushed_routes))
        pulumi.export("profiles", sorted(access.profiles))

    return run_program(program, stage="v4", stack="test", context=MockContext())


@pytest.mark.parametrize("transit", [False, True])
def test_routes_pushed_and_peering_follow_the_connectivity_mode(transit: bool) -> None:
    plan = access_plan(transit=transit)
    peering = plan.of_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
    routes = {
        (r.inputs["routeTableId"], r.inputs["destinationCidrBlock"])
        for r in plan.of_type("aws:ec2/route:Route")
        if "vpcPeeringConnectionId" in r.inputs
    }
    if transit:  # the stage attaches the access VPC to the transit gateway instead
        assert peering == [] and routes == set()
        assert plan.outputs["pushed"] == ["10.1.0.0/16", *GCP]
    else:  # peering is non-transitive: GCP is never pushed, and routes exist only for the two VPCs
        assert len(peering) == 1
        assert {cidr for _, cidr in routes} == {"10.1.0.0/16", "10.2.0.0/16"}
        assert ("rtb-a", "10.2.0.0/16") in routes and ("rtb-c", "10.2.0.0/16") in routes
        assert plan.outputs["pushed"] == ["10.1.0.0/16"]


def test_one_client_certificate_and_secret_profile_per_user() -> None:
    plan = access_plan(transit=False)
    clients = {r.name for r in plan.of_type("tls:index/locallySignedCert:LocallySignedCert")}
    assert clients == {"vpn-pki-server", "vpn-pki-client-alice", "vpn-pki-client-bob"}
    assert plan.outputs["profiles"] == ["alice", "bob"]

"""Network under recording mocks: custom-mode VPC, named subnets with flow logs, valid names."""

from __future__ import annotations

import gc

import pytest

from looper_infra.components.base import InvalidArgs
from looper_infra.components.gcp.network import FlowLogSpec, Network, NetworkArgs
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

SUBNET = "gcp:compute/subnetwork:Subnetwork"


def plan_of(args: NetworkArgs) -> Plan:
    return run_program(lambda: Network("net", args), stage="test", stack="test",
                       context=MockContext(project="looper-offline"))


def test_custom_mode_vpc_with_private_google_access_and_flow_logs() -> None:
    plan = plan_of(NetworkArgs(project="looper-offline", region="asia-northeast3",
                               cloud_name="looper-dev-vpc",
                               subnets={"app": "10.0.1.0/24", "db": "10.0.2.0/24"},
                               flow_logs=FlowLogSpec("INTERVAL_1_MIN", 0.25)))
    vpc = plan.one("gcp:compute/network:Network")
    assert (vpc.inputs["name"], vpc.inputs["autoCreateSubnetworks"]) == ("looper-dev-vpc", False)
    subnets = {s.inputs["name"]: s.inputs for s in plan.of_type(SUBNET)}
    assert {n: s["ipCidrRange"] for n, s in subnets.items()} == {
        "looper-dev-vpc-app": "10.0.1.0/24", "looper-dev-vpc-db": "10.0.2.0/24"}
    for s in subnets.values():
        assert s["privateIpGoogleAccess"] is True and s["region"] == "asia-northeast3"
        assert s["logConfig"] == {"aggregationInterval": "INTERVAL_1_MIN", "flowSampling": 0.25,
                                  "metadata": "INCLUDE_ALL_METADATA"}


def test_no_subnets_and_bad_subnet_names_are_refused_together() -> None:
    with pytest.raises(InvalidArgs) as info:
        plan_of(NetworkArgs(project="p", region="r", cloud_name="looper-dev-vpc",
                            subnets={"App_1": "10.0.1.0/24"}))
    gc.collect()  # the failed program's futures
    assert info.value.problems == ("subnets.App_1: cloud name looper-dev-vpc-'App_1' is not RFC 1035",)
    with pytest.raises(InvalidArgs, match="subnets: at least one subnet is required"):
        plan_of(NetworkArgs(project="p", region="r", cloud_name="looper-dev-vpc", subnets={}))
    gc.collect()

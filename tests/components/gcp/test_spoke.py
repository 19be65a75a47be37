"""GcpSpoke: only the cluster's traffic from AWS reaches the GCP nodes; four tunnels with BGP."""

from __future__ import annotations

from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pytest

from looper_infra.components.gcp.k8s_gpu_node import K8sJoin
from looper_infra.components.gcp.spoke import GcpSpoke, GcpSpokeArgs, GpuNodeSpec, VpnSpec
from looper_infra.components.hybrid_vpn import VgwSide
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program
from looper_infra.rules import ha_vpn

AWS_CIDRS = {"k8s-vpc": IPv4Network("10.1.0.0/16"), "pods": IPv4Network("192.168.0.0/16")}
NODE_SUBNETS = {"nodes-0": IPv4Network("10.1.10.0/24"), "nodes-1": IPv4Network("10.1.11.0/24")}


def spoke_plan(*, operator_cidr: IPv4Network | None, gpu: bool) -> Plan:
    def program() -> None:
        aws_p = aws.Provider("aws", region="ap-northeast-2")
        gcp_p = gcp.Provider("gcp", project="looper-dev-000000", region="asia-northeast3")
        join = K8sJoin(
            cluster_name="looper-dev-k8s",
            control_plane_endpoint="api.internal",
            api_server_addresses=("10.1.10.10", "10.1.11.10"),
            ca_cert_hash="sha256:" + "ab" * 32,
            join_token=pulumi.Output.secret("abcdef.0123456789abcdef"),
            control_plane_count=1,
        )
        GcpSpoke(
            "gcp-spoke",
            GcpSpokeArgs(
                name_prefix="looper",
                env="dev",
                project="looper-dev-000000",
                region="asia-northeast3",
                zone="asia-northeast3-a",
                network="projects/p/global/networks/looper-dev-gcp",
                vpc_cidr="10.0.0.0/16",
                nodes_subnetwork="projects/p/regions/asia-northeast3/subnetworks/nodes",
                aws_cidrs=AWS_CIDRS,
                scraper_cidrs=NODE_SUBNETS,
                vpn=VpnSpec(
                    aws=VgwSide(vpc_id="vpc-k8s", route_table_ids={"a": "rtb-a"}),
                    cloud_router_asn=ha_vpn.DEFAULT_CLOUD_ROUTER_ASN,
                    inside_cidrs=ha_vpn.default_inside_cidrs(),
                    cipher_suite=ha_vpn.DEFAULT_CIPHER_SUITE,
                    aws_provider=aws_p,
                    gcp_provider=gcp_p,
                ),
                operator_cidr=operator_cidr,
                gpu_node=GpuNodeSpec(cluster=join) if gpu else None,
            ),
            pulumi.ResourceOptions(providers=[gcp_p]),
        )

    return run_program(program, stage="v4", stack="test", context=MockContext())


@pytest.mark.parametrize("operator_cidr", [None, IPv4Network("10.2.0.0/16")])
def test_firewall_admits_the_cluster_and_ssh_only_from_operators_through_a_tgw(
    operator_cidr: IPv4Network | None,
) -> None:
    plan = spoke_plan(operator_cidr=operator_cidr, gpu=False)
    rules = {r.inputs["name"]: r.inputs for r in plan.of_type("gcp:compute/firewall:Firewall")}
    allows = {n: [(a["protocol"], a["ports"]) for a in r["allows"]] for n, r in rules.items()}
    expected = {
        "looper-dev-gcp-fw-allow-aws-kubelet": [("tcp", ["10250"])],
        "looper-dev-gcp-fw-allow-aws-vxlan": [("udp", ["4789"])],
        "looper-dev-gcp-fw-allow-aws-metrics": [("tcp", ["9100", "10249"])],
    }
    if operator_cidr is not None:
        expected["looper-dev-gcp-fw-allow-vpn-ssh"] = [("tcp", ["22"])]
        assert rules["looper-dev-gcp-fw-allow-vpn-ssh"]["sourceRanges"] == [str(operator_cidr)]
    assert allows == expected
    for name in ("looper-dev-gcp-fw-allow-aws-kubelet", "looper-dev-gcp-fw-allow-aws-vxlan"):
        assert sorted(rules[name]["sourceRanges"]) == ["10.1.0.0/16", "192.168.0.0/16"]
    # Prometheus's scrapes arrive SNATed to the AWS node's address: the node subnets, nothing else
    assert sorted(rules["looper-dev-gcp-fw-allow-aws-metrics"]["sourceRanges"]) == ["10.1.10.0/24",
                                                                                   "10.1.11.0/24"]


@pytest.mark.parametrize("gpu", [False, True])
def test_four_tunnels_with_bgp_and_the_gpu_node_only_when_asked(gpu: bool) -> None:
    plan = spoke_plan(operator_cidr=None, gpu=gpu)
    tunnels = plan.of_type("gcp:compute/vPNTunnel:VPNTunnel")
    assert len(tunnels) == 4 and {t.inputs["ikeVersion"] for t in tunnels} == {2}
    assert len(plan.of_type("gcp:compute/routerPeer:RouterPeer")) == 4
    nodes = plan.of_type("gcp:compute/instance:Instance")
    assert [n.inputs["name"] for n in nodes] == (["looper-dev-gpu"] if gpu else [])

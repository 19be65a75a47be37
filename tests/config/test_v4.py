"""Stage v4 config: AZs, CIDR plan, control-plane count, workers, RDS windows, ingress, ASN-free parts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.plans import example_values, issues_of
from looper_infra.config import validate_mapping
from looper_infra.config.v4 import V4Config


@pytest.mark.parametrize("stack", ["v4-dev", "v4-prod"])
def test_examples_are_valid(stack: str) -> None:
    cfg = validate_mapping(example_values(stack), stack)
    assert isinstance(cfg, V4Config)
    assert len(cfg.aws.azs) >= 2
    assert cfg.database.multi_az is True


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda v: v["aws"].update(azs=["ap-northeast-2a"]), "looper:aws.azs", "at least 2"),
        (lambda v: v["aws"].update(azs=["ap-northeast-2a", "ap-northeast-2a"]), "looper:aws.azs",
         "distinct"),
        (lambda v: v["aws"].update(azs=["ap-northeast-2a", "us-east-1b"]), "looper:aws.azs",
         "is in us-east-1, not ap-northeast-2"),
        (lambda v: v["aws"].update(region="mars-1"), "looper:aws.region", "unsupported AWS region"),
        (lambda v: v["aws"].update(account_id="12345"), "looper:aws.account_id", "pattern"),
        (lambda v: v["cluster"].update(control_plane_count=2), "looper:cluster.control_plane_count",
         "must be odd"),
        (lambda v: v["cluster"].update(control_plane_count=4), "looper:cluster.control_plane_count",
         "must be odd"),
        (lambda v: v["cluster"].update(calico_mtu=9500), "looper:cluster.calico_mtu", "less than or equal"),
        (lambda v: v["cluster"].update(pod_cidr="192.168.0.0/24"), "looper:cluster.pod_cidr", "too small"),
        (lambda v: v["cluster"].update(service_cidr="10.96.0.1/12"), "looper:cluster.service_cidr",
         "host bits set"),
        (lambda v: v["cluster"].update(service_cidr="10.96.0.0/26"), "looper:cluster.service_cidr",
         "between /12 and /24"),
        (lambda v: v["cluster"].update(service_cidr="192.168.0.0/20"), "looper:cluster.service_cidr",
         "overlaps cluster.pod_cidr"),
        (lambda v: v["cluster"].update(calico_mtu=1100), "looper:cluster.calico_mtu",
         "greater than or equal"),
        # a user name is a certificate CN and a ccd file name (facts/openvpn.py)
        (lambda v: v["openvpn"].update(users=["alice", "Bob"]), "looper:openvpn.users",
         "'Bob' is not a user name"),
        (lambda v: v["openvpn"].update(users=["alice\n"]), "looper:openvpn.users",
         "'alice\\n' is not a user name"),
        (lambda v: v["openvpn"].update(users=["../ccd"]), "looper:openvpn.users", "is not a user name"),
        (lambda v: v["openvpn"].update(users=["alice", "alice"]), "looper:openvpn.users",
         "duplicate users: alice"),
        # revocation: a name is active or revoked, never both; the same name rule and no duplicates
        (lambda v: v["openvpn"].update(users=["alice", "bob"], revoked=["bob"]), "looper:openvpn.revoked",
         "bob also in openvpn.users"),
        (lambda v: v["openvpn"].update(revoked=["carol", "carol"]), "looper:openvpn.revoked",
         "duplicate revoked: carol"),
        (lambda v: v["openvpn"].update(revoked=["Carol"]), "looper:openvpn.revoked", "is not a user name"),
        (lambda v: v["openvpn"].update(revoked=["carol\n"]), "looper:openvpn.revoked", "is not a user name"),
        (lambda v: v["openvpn"].update(revoked="carol"), "looper:openvpn.revoked", "valid list"),
        (lambda v: v["workers"].update(min_size=0), "looper:workers.min_size", "greater than or equal to 1"),
        (lambda v: v["workers"].update(min_size=3, desired=2), "looper:workers.desired", "below min_size"),
        (lambda v: v["workers"].update(desired=5, max_size=4), "looper:workers.max_size", "below desired"),
        (lambda v: v["workers"].update(instance_type="big"), "looper:workers.instance_type",
         "not an EC2 instance type"),
        (lambda v: v["database"].update(backup_retention_days=3), "looper:database.backup_retention_days",
         "greater than or equal to 7"),
        (lambda v: v["database"].update(instance_class="m5.large"), "looper:database.instance_class",
         "not an RDS instance class"),
        (lambda v: v["database"].update(backup_window="3am"), "looper:database.backup_window", "hh:mm"),
        (lambda v: v["database"].update(maintenance_window="sunday"), "looper:database.maintenance_window",
         "ddd:hh:mm"),
        (lambda v: v["database"].update(allocated_storage_gb=300, max_allocated_storage_gb=200),
         "looper:database.max_allocated_storage_gb", "below allocated"),
        (lambda v: v["ingress"].update(http_node_port=8080), "looper:ingress.http_node_port",
         "NodePort range"),
        (lambda v: v["ingress"].update(redirect_node_port=30080), "looper:ingress.redirect_node_port",
         "must differ"),
        (lambda v: v["ingress"].update(certificate_arn="arn:aws:iam::1:x"), "looper:ingress.certificate_arn",
         "not an ACM certificate ARN"),
        (lambda v: v["network"].update(nat="none"), "looper:network.nat", "per-az"),
        (lambda v: v["network"].update(flow_log_retention_days=10),
         "looper:network.flow_log_retention_days", "CloudWatch Logs accepts only"),
        (lambda v: v.update(colour="blue"), "looper:colour", "unknown key"),
    ],
)
def test_bad_field_is_reported_at_its_path(mutate: Any, path: str, fragment: str) -> None:
    values = example_values("v4-dev")
    mutate(values)
    issues = issues_of(values)
    assert path in issues, issues
    assert fragment in issues[path]


def test_every_bad_field_is_reported_at_once() -> None:
    values = example_values("v4-dev")
    values["cluster"]["control_plane_count"] = 2
    values["workers"]["min_size"] = 0
    values["aws"]["azs"] = ["ap-northeast-2a"]
    issues = issues_of(values)
    assert {"looper:cluster.control_plane_count", "looper:workers.min_size", "looper:aws.azs"} <= set(issues)


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (lambda v: v["cluster"].update(pod_cidr="10.1.0.0/16"), "looper:cluster.pod_cidr",
         "overlaps network.vpc_cidr"),
        (lambda v: v["cluster"].update(service_cidr="10.0.0.0/16"), "looper:gcp.vpc_cidr",
         "overlaps cluster.service_cidr"),
        (lambda v: v["openvpn"].update(vpc_cidr="10.1.128.0/17"), "looper:openvpn.vpc_cidr",
         "overlaps network.vpc_cidr"),
        (lambda v: v["openvpn"].update(pool_cidr="10.2.8.0/24"), "looper:openvpn.pool_cidr",
         "overlaps openvpn.vpc_cidr"),
        (lambda v: v["gcp"].update(vpc_cidr="192.168.0.0/20", subnet_cidr="192.168.0.0/24"),
         "looper:gcp.vpc_cidr", "overlaps cluster.pod_cidr"),
        (lambda v: v["gcp"].update(subnet_cidr="10.5.0.0/20"), "looper:gcp.subnet_cidr",
         "not inside vpc_cidr"),
        (lambda v: v["gcp"]["vpn"].update(aws_asn=65010), "looper:gcp.vpn.aws_asn",
         "must differ from cloud_router_asn"),
        (lambda v: v["gcp"].update(zone="asia-northeast3-c"), "looper:gcp.zone", "no NVIDIA L4"),
        (lambda v: v["gcp"]["gpu_node"].update(machine_type="n2-standard-8"),
         "looper:gcp.gpu_node.machine_type", "n2-standard-8"),
        (lambda v: v["gcp"]["gpu_node"].update(machine_type="g2-standard-24"),
         "looper:gcp.gpu_node.machine_type", "g2-standard-24"),
        (lambda v: v["openvpn"].update(public_cidrs=["10.2.0.0/24"]), "looper:openvpn.public_cidrs",
         "1 subnet(s) for 2 AZs"),
        (lambda v: v["openvpn"].update(public_cidrs=["10.2.0.0/24", "10.9.0.0/24"]),
         "looper:openvpn.public_cidrs[1]", "not inside vpc_cidr"),
        (lambda v: v.update(openvpn=None, gcp=None, connectivity={"mode": "transit-gateway"}),
         "looper:connectivity.mode", "neither is configured"),
        (lambda v: v["network"].update(private_cidrs=["10.1.16.0/20"]), "looper:network.private_cidrs",
         "1 subnet(s) for 2 AZs"),
        (lambda v: v["network"].update(data_cidrs=["10.1.8.0/24", "10.3.9.0/24"]),
         "looper:network.data_cidrs[1]", "not inside vpc_cidr"),
        (lambda v: v["network"].update(data_cidrs=["10.1.8.0/24", "10.1.0.0/25"]),
         "looper:network.data_cidrs[1]", "overlaps network.public_cidrs[0]"),
        (lambda v: v["kafka_node"].update(az="ap-northeast-2b"), "looper:kafka_node.az",
         "not one of aws.azs"),
        (lambda v: v["kafka_node"].update(count=3), "looper:kafka_node.count",
         "3 Kafka nodes need as many AZs (one each); aws.azs has 2"),
        (lambda v: v["cluster"].update(calico_mtu=1440), "looper:cluster.calico_mtu", "at most 1350"),
        (lambda v: v["ingress"].update(
            certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/"
                            "00000000-0000-4000-8000-000000000000"),
         "looper:ingress.certificate_arn", "needs one in ap-northeast-2"),
        (lambda v: v["database"].update(backup_window="18:00-19:00",
                                        maintenance_window="sun:18:30-sun:19:30"),
         "looper:database.maintenance_window", "overlaps the backup window"),
    ],
)
def test_cross_section_rules(mutate: Any, path: str, fragment: str) -> None:
    values = example_values("v4-dev")
    mutate(values)
    issues = issues_of(values)
    assert path in issues, issues
    assert fragment in issues[path]


def test_gpu_families_name_the_gpu_as_nvidia_smi_does() -> None:
    from looper_infra.config.v4 import AWS_GPU_FAMILIES, AWS_MULTI_GPU

    for family, (accelerator, model) in AWS_GPU_FAMILIES.items():
        assert re.fullmatch(r"nvidia-[a-z0-9-]+", accelerator), family
        assert re.fullmatch(r"(NVIDIA|Tesla) [A-Za-z0-9 .-]+", model), family
    assert all(t.split(".")[0] in AWS_GPU_FAMILIES and 1 < n <= 8 for t, n in AWS_MULTI_GPU.items())


def test_no_gcp_means_no_vpn_mtu_limit() -> None:
    values = example_values("v4-dev")
    values["gcp"] = None
    values["cluster"]["calico_mtu"] = 8951
    cfg = validate_mapping(values, "test")
    assert isinstance(cfg, V4Config) and cfg.cluster.calico_mtu == 8951


@settings(max_examples=60, deadline=None)
@given(count=st.integers(min_value=-2, max_value=9))
def test_control_plane_count_is_odd_and_small(count: int) -> None:
    values = example_values("v4-dev")
    values["cluster"]["control_plane_count"] = count
    if count in (1, 3, 5):
        cfg = validate_mapping(values, "test")
        assert isinstance(cfg, V4Config) and cfg.cluster.control_plane_count == count
    else:
        assert "looper:cluster.control_plane_count" in issues_of(values)


@settings(max_examples=60, deadline=None)
@given(third=st.integers(min_value=0, max_value=255), prefix=st.integers(min_value=16, max_value=28))
def test_any_overlap_with_the_vpc_is_rejected(third: int, prefix: int) -> None:
    import ipaddress

    values = example_values("v4-dev")
    net = ipaddress.IPv4Network(f"10.1.{third}.0/{prefix}", strict=False)
    values["openvpn"]["vpc_cidr"] = str(net)
    assert "looper:openvpn.vpc_cidr" in issues_of(values)


def test_vpn_admin_ssh_ranges_are_named_and_at_most_a_slash_16() -> None:
    values = example_values("v4-dev")
    values["openvpn"]["admin_ssh_cidrs"] = {"anyone": "0.0.0.0/0", "Bad_Key": "203.0.113.0/28"}
    message = issues_of(values)["looper:openvpn.admin_ssh_cidrs"]
    assert "anyone: 0.0.0.0/0 is too broad for SSH (at most a /16)" in message
    assert "key 'Bad_Key'" in message


@pytest.mark.parametrize(("count", "fragment"), [(None, "required"), (2, "1 or 3")])
def test_kafka_node_count_is_stated_and_one_or_three(count: int | None, fragment: str) -> None:
    values = example_values("v4-prod")
    if count is None:
        del values["kafka_node"]["count"]
    else:
        values["kafka_node"]["count"] = count
    issues = issues_of(values)
    assert fragment in issues["looper:kafka_node.count"].lower()


def test_kafka_nodes_take_their_first_zone_then_the_others_in_order() -> None:
    cfg = validate_mapping(example_values("v4-prod"), "test")
    assert isinstance(cfg, V4Config)
    assert cfg.kafka_node.zones(cfg.aws.azs) == ["ap-northeast-2b", "ap-northeast-2a", "ap-northeast-2c"]

"""Control-plane DR policies: HA control planes (one single-subnet ASG each) and etcd snapshots.

Hand-built resources in the shape the v4 cluster plans them: control planes are Auto Scaling groups
tagged role=control-plane with one subnet each; the etcd snapshot bucket is tagged
looper/etcd-backups with its versioning, encryption and lifecycle as separate resources.
"""

from __future__ import annotations

from typing import Any

import pytest

from looper_infra.policies import aws
from looper_infra.policies.aws import LinkedResource

AZ = "ap-northeast-2"
BUCKET = "looper-prod-etcd-backups-123456789012"


def urn(type_: str, name: str, stack: str) -> str:
    return f"urn:pulumi:{stack}::looper::{type_}::{name}"


def res(type_: str, logical: str, stack: str, deps: dict[str, list[str]] | None = None,
        **props: Any) -> LinkedResource:
    return LinkedResource(type_, logical, urn(type_, logical, stack), props, deps or {})


def control_planes(stack: str, zones: str) -> list[LinkedResource]:
    """One subnet per zone letter used, and one control-plane ASG per letter in `zones`."""
    subnets = [res(aws.SUBNET, f"private-{z}", stack, availabilityZone=f"{AZ}{z}")
               for z in sorted(set(zones))]
    groups = [res(aws.ASG, f"cp-{i}", stack,
                  deps={"vpcZoneIdentifiers": [urn(aws.SUBNET, f"private-{z}", stack)]},
                  vpcZoneIdentifiers=[f"private-{z}-id"],
                  tags=[{"key": "role", "value": "control-plane", "propagateAtLaunch": True}])
              for i, z in enumerate(zones)]
    return [*subnets, *groups]


def etcd_bucket(stack: str, *, versioned: bool = True, algorithm: str = "aws:kms",
                daily_days: int = 30) -> list[LinkedResource]:
    bucket = res(aws.BUCKET, "etcd-bucket", stack, bucket=BUCKET,
                 tags={aws.BACKUP_BUCKET_TAG: "looper-prod/", "Name": BUCKET})
    dep = {"bucket": [bucket.urn]}
    rules = [
        {"id": "expire-hourly", "status": "Enabled", "filter": {"prefix": "looper-prod/hourly/"},
         "expiration": {"days": 2}, "noncurrentVersionExpiration": {"noncurrentDays": 2}},
        {"id": "expire-daily", "status": "Enabled", "filter": {"prefix": "looper-prod/daily/"},
         "expiration": {"days": daily_days}, "noncurrentVersionExpiration": {"noncurrentDays": 2}},
        {"id": "tidy", "status": "Enabled", "filter": {"prefix": "looper-prod/"},
         "expiration": {"expiredObjectDeleteMarker": True},
         "abortIncompleteMultipartUpload": {"daysAfterInitiation": 1}},
    ]
    # the lifecycle names the bucket through the versioning resource (no dependency on the bucket itself)
    return [bucket,
            res(aws.BUCKET_VERSIONING, "etcd-versioning", stack, dep, bucket=BUCKET,
                versioningConfiguration={"status": "Enabled" if versioned else "Suspended"}),
            res(aws.BUCKET_SSE, "etcd-encryption", stack, dep, bucket=BUCKET,
                rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}}]),
            res(aws.BUCKET_LIFECYCLE, "etcd-lifecycle", stack, {"bucket": ["urn:versioning"]}, bucket=BUCKET,
                rules=rules)]


def found(check: Any, resources: list[LinkedResource]) -> list[tuple[str, str]]:
    """(resource name, message) of the findings about these resources (not about the VPC they omit)."""
    names = {r.urn: r.name for r in resources}
    return [(names[u], m) for u, m in check(resources) if u in names]


NO_HA = ("control planes: etcd keeps quorum through the loss of one member only with an odd number, at "
         "least 3 (no HA)")


def test_prod_with_three_control_planes_in_three_zones_and_kept_snapshots_passes() -> None:
    stack = [*control_planes("v4-prod", "abc"), *etcd_bucket("v4-prod")]
    assert found(aws.production_resilience, stack) == []
    assert found(aws.ha_zones, stack) == []
    assert found(aws.cost_options, stack) == []


@pytest.mark.parametrize(("zones", "message"), [
    ("a", f"1 control plane(s): {NO_HA.split(': ', 1)[1]}"),
    ("ab", f"2 control plane(s): {NO_HA.split(': ', 1)[1]}"),
    ("abcd", f"4 control plane(s): {NO_HA.split(': ', 1)[1]}"),
    ("aab", "3 control planes in 2 availability zone(s): at least 3, so one zone's outage keeps etcd quorum"),
    ("aabbc", None),  # five over three zones
])
def test_prod_needs_an_odd_count_of_at_least_three_over_three_zones(zones: str, message: str | None) -> None:
    stack = [*control_planes("v4-prod", zones), *etcd_bucket("v4-prod")]
    assert found(aws.production_resilience, stack) == ([("cp-0", message)] if message else [])


@pytest.mark.parametrize(("bucket", "message"), [
    ({"versioned": False}, "etcd snapshot bucket without versioning (an overwritten snapshot is lost)"),
    ({"algorithm": "AES256"}, "etcd snapshot bucket not encrypted with a KMS key (SSE-KMS)"),
    ({"daily_days": 6}, "etcd snapshots under looper-prod/daily/ expire after 6 day(s): keep daily snapshots "
                        "at least 7"),
])
def test_prod_etcd_snapshots_are_versioned_encrypted_and_kept_a_week(bucket: dict[str, Any],
                                                                     message: str) -> None:
    stack = [*control_planes("v4-prod", "abc"), *etcd_bucket("v4-prod", **bucket)]
    assert found(aws.production_resilience, stack) == [("etcd-bucket", message)]


def test_prod_without_an_etcd_snapshot_bucket_is_refused() -> None:
    assert found(aws.production_resilience, control_planes("v4-prod", "abc")) == [
        ("cp-0", "no etcd snapshot bucket (a bucket tagged looper/etcd-backups)")]


def test_a_rule_over_the_whole_cluster_prefix_counts_as_daily_retention() -> None:
    stack = [*control_planes("v4-prod", "abc"), *etcd_bucket("v4-prod")]
    lifecycle = stack[-1]
    short = {"id": "all", "status": "Enabled", "filter": {"prefix": "looper-prod/"},
             "expiration": {"days": 3}}
    stack[-1] = LinkedResource(lifecycle.type, lifecycle.name, lifecycle.urn,
                               {**lifecycle.props, "rules": [*lifecycle.props["rules"], short]},
                               lifecycle.property_dependencies)
    assert found(aws.production_resilience, stack) == [
        ("etcd-bucket",
         "etcd snapshots under looper-prod/ expire after 3 day(s): keep daily snapshots at least 7")]


def test_dev_single_control_plane_is_an_advisory_cost_option_not_a_zone_violation() -> None:
    stack = [*control_planes("v4-dev", "a"), *etcd_bucket("v4-dev", daily_days=3)]
    assert found(aws.production_resilience, stack) == []
    assert found(aws.cost_options, stack) == [
        ("cp-0", f"cost option in a non-production stack: 1 control plane(s): {NO_HA.split(': ', 1)[1]}"),
        ("etcd-bucket", "cost option in a non-production stack: etcd snapshots under looper-prod/daily/ "
                        "expire after 3 day(s): keep daily snapshots at least 7")]
    # a single-subnet control-plane group is not an ASG that fails to span two zones
    assert found(aws.ha_zones, stack) == []


def test_several_control_planes_in_one_zone_are_a_zone_violation_anywhere() -> None:
    stack = control_planes("v4-dev", "aaa")
    assert found(aws.ha_zones, stack) == [("cp-0", "3 control planes all in one availability zone")]


def test_other_single_zone_groups_still_fail_the_zone_check() -> None:
    subnet = res(aws.SUBNET, "private-a", "v4-dev", availabilityZone=f"{AZ}a")
    workers = res(aws.ASG, "workers", "v4-dev", deps={"vpcZoneIdentifiers": [subnet.urn]},
                  vpcZoneIdentifiers=["private-a-id"], tags=[{"key": "role", "value": "worker"}])
    assert found(aws.ha_zones, [subnet, workers]) == [
        ("workers", "an Auto Scaling group spans at least 2 availability zones")]

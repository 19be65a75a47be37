"""DbTier under recording mocks: a private DB VM whose data, secrets and backups outlive it."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import pulumi
import pytest
import yaml

from looper_infra.components.base import InvalidArgs
from looper_infra.components.gcp.db_tier import (
    DATA_DEVICE,
    Backups,
    Database,
    DbTier,
    DbTierArgs,
    Storage,
)
from looper_infra.components.gcp.placement import Placement
from looper_infra.components.gcp.vm import BootDisk, Machine
from looper_infra.engine.mocks import SECRET_MASK, MockContext
from looper_infra.engine.plan import Plan, run_program

PROJECT = "looper-offline"
SUBNET = "projects/looper-offline/regions/asia-northeast3/subnetworks/looper-dev-vpc-db"
APP_MEMBER = "serviceAccount:looper-dev-app@looper-offline.iam.gserviceaccount.com"
INSTANCE = "gcp:compute/instance:Instance"
ACCESSOR = "gcp:secretmanager/secretIamMember:SecretIamMember"


def tier_args(**changes: Any) -> DbTierArgs:
    args = DbTierArgs(
        placement=Placement(PROJECT, "asia-northeast3", "looper", "dev"), zone="asia-northeast3-b",
        subnetwork=SUBNET, app_subnet_cidr="10.0.1.0/24",
        machine=Machine("n2-standard-2", BootDisk("ubuntu-os-cloud/ubuntu-2404-lts-amd64", 30)),
        backups=Backups("looper-dev-backups", schedule="*-*-* 04:15:00", retention_days=14),
        secret_readers=(APP_MEMBER,), network_tags=("looper-dev-db",),
        storage=Storage(disk_gb=50, snapshot_retention_days=5, snapshot_start_time="02:00"),
        database=Database(name="looper", user="app", chroma_port=8001))
    return replace(args, **changes)


def plan_of(args: DbTierArgs) -> Plan:
    def program() -> None:
        tier = DbTier("db-tier", args)
        pulumi.export("host", tier.connection.host)
        pulumi.export("password_secret", tier.connection.password_secret)
        pulumi.export("internal_ip", tier.vm.internal_ip)

    return run_program(program, stage="test", stack="test", context=MockContext(project=PROJECT))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_of(tier_args())


def test_private_vm_on_its_reserved_internal_address(plan: Plan) -> None:
    vm = plan.one(INSTANCE).inputs
    assert (vm["name"], vm["zone"], vm["machineType"]) == ("looper-dev-db", "asia-northeast3-b",
                                                           "n2-standard-2")
    [nic] = vm["networkInterfaces"]
    assert "accessConfigs" not in nic  # no external IP
    address = plan.one("gcp:compute/address:Address").inputs
    assert (address["addressType"], address["subnetwork"]) == ("INTERNAL", SUBNET)
    assert nic["networkIp"] == plan.outputs["host"] == plan.outputs["internal_ip"]
    assert vm["tags"] == ["looper-dev-db"] and vm["labels"] == {"role": "db"}
    assert vm["serviceAccount"]["scopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    assert vm["deletionProtection"] is True


def test_data_disk_is_ssd_snapshotted_protected_and_attached(plan: Plan) -> None:
    disk = plan.one("gcp:compute/disk:Disk")
    assert (disk.inputs["type"], disk.inputs["size"], disk.inputs["zone"]) == (
        "pd-ssd", 50, "asia-northeast3-b")
    assert disk.protect is True
    policy = plan.one("gcp:compute/resourcePolicy:ResourcePolicy").inputs["snapshotSchedulePolicy"]
    assert policy["schedule"]["dailySchedule"] == {"daysInCycle": 1, "startTime": "02:00"}
    assert policy["retentionPolicy"]["maxRetentionDays"] == 5
    [attached] = plan.one(INSTANCE).inputs["attachedDisks"]
    assert attached["deviceName"] == DATA_DEVICE
    assert plan_of(tier_args(deletion_protection=False)).one("gcp:compute/disk:Disk").protect is False


def test_secrets_are_generated_and_readable_by_the_app_and_the_db_only(plan: Plan) -> None:
    secrets = {s.inputs["secretId"] for s in plan.of_type("gcp:secretmanager/secret:Secret")}
    assert secrets == {"looper-dev-db-password", "looper-dev-chroma-token"}
    versions = plan.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    assert [v.inputs["secretData"] for v in versions] == [SECRET_MASK, SECRET_MASK]
    db_member = plan.one("gcp:serviceaccount/account:Account").state["member"]
    members = sorted(a.inputs["member"] for a in plan.of_type(ACCESSOR))
    assert members == sorted([APP_MEMBER, db_member] * 2)
    assert {a.inputs["role"] for a in plan.of_type(ACCESSOR)} == {"roles/secretmanager.secretAccessor"}


def test_backup_bucket_in_the_region_the_db_identity_can_only_add_to(plan: Plan) -> None:
    bucket = plan.one("gcp:storage/bucket:Bucket").inputs
    assert (bucket["name"], bucket["location"]) == ("looper-dev-backups", "ASIA-NORTHEAST3")
    assert bucket["publicAccessPrevention"] == "enforced" and bucket["uniformBucketLevelAccess"] is True
    # write-once: 14 days of retention (unlocked by default), versioning off, soft delete 7 days
    assert bucket["retentionPolicy"] == {"retentionPeriod": str(14 * 86400), "isLocked": False}
    assert bucket["versioning"] == {"enabled": False}
    assert bucket["softDeletePolicy"] == {"retentionDurationSeconds": 7 * 86400}
    # the lifecycle deletes nothing the retention policy still holds
    assert [r["condition"]["age"] for r in bucket["lifecycleRules"]] == [15]
    assert all(r["action"] == {"type": "Delete"} for r in bucket["lifecycleRules"])
    # the DB identity's only role on the bucket: create objects (no read, list, delete, replace)
    db_member = plan.one("gcp:serviceaccount/account:Account").state["member"]
    grants = [(g.inputs["role"], g.inputs["member"])
              for g in plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")]
    assert grants == [("roles/storage.objectCreator", db_member)]
    assert plan.of_type("gcp:storage/bucketIAMBinding:BucketIAMBinding") == []
    located = plan_of(tier_args(backups=Backups("looper-dev-backups", location="asia")))
    assert located.one("gcp:storage/bucket:Bucket").inputs["location"] == "ASIA"


def test_a_locked_retention_and_operator_readers_when_asked() -> None:
    ops = ("group:looper-ops@example.com", "user:alice@example.com")
    locked = plan_of(tier_args(backups=Backups("looper-prod-backups", retention_days=30,
                                               lock_retention=True, restore_readers=ops)))
    bucket = locked.one("gcp:storage/bucket:Bucket").inputs
    assert bucket["retentionPolicy"] == {"retentionPeriod": str(30 * 86400), "isLocked": True}
    db_member = locked.one("gcp:serviceaccount/account:Account").state["member"]
    grants = {g.name: (g.inputs["role"], g.inputs["member"])
              for g in locked.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")}
    assert grants == {
        "backups-writer": ("roles/storage.objectCreator", db_member),
        "backups-reader-group-looper-ops-example-com": ("roles/storage.objectViewer", ops[0]),
        "backups-reader-user-alice-example-com": ("roles/storage.objectViewer", ops[1]),
    }


def test_startup_names_the_secrets_bucket_and_app_subnet(plan: Plan) -> None:
    user_data = plan.one(INSTANCE).inputs["metadata"]["user-data"]
    files = "\n".join(f["content"] for f in yaml.safe_load(user_data)["write_files"])
    assert plan.outputs["password_secret"] in files
    assert "secrets/looper-dev-chroma-token" in files
    assert "looper-dev-backups" in files and "*-*-* 04:15:00" in files
    assert "host    looper   app   10.0.1.0/24   scram-sha-256" in files
    assert SECRET_MASK not in user_data


def test_bad_args_are_refused_with_every_problem_at_once() -> None:
    args = tier_args(placement=Placement(PROJECT, "asia-northeast3", "looperlooperloop", "productionenv"),
                     network_tags=(),
                     database=Database(chroma_port=5432))
    with pytest.raises(InvalidArgs) as info:
        plan_of(args)
    gc.collect()  # the failed program's futures
    assert [p.split(":")[0] for p in info.value.problems] == [
        "placement", "database.chroma_port", "network_tags"]
    assert "5432 is PostgreSQL's" in info.value.problems[1]

"""The control planes' DR resources under recording mocks: the etcd backup bucket and the audit log.

Assertions compare inputs with the values the engine handed back for the resources they reference
(`state`: the KMS key's ARN), and run the policy pack on the recorded resources.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from looper_infra.components.aws.audit_logs import AuditLogGroup, AuditLogGroupArgs, audit_log_group_name
from looper_infra.components.aws.etcd_backups import (
    EtcdBackupBucket,
    EtcdBackupBucketArgs,
    etcd_backup_bucket_name,
)
from looper_infra.components.aws.iam import NodeRole, NodeRoleArgs
from looper_infra.components.base import InvalidArgs
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program
from looper_infra.policies import aws as aws_policy
from looper_infra.policies.aws import LinkedResource
from looper_infra.policies.evaluate import evaluate, resources_of

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
BUCKET = etcd_backup_bucket_name("looper", "prod", ACCOUNT)
GROUP = audit_log_group_name("looper", "prod")
KEY = "aws:kms/key:Key"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def program(*, object_lock: bool) -> None:
    backups = EtcdBackupBucket("etcd", EtcdBackupBucketArgs(
        bucket_name=BUCKET, account_id=ACCOUNT, cluster_prefix="looper-prod/", keep_recent_days=3,
        keep_daily_days=35, object_lock=object_lock, tags={"env": "prod"}))
    audit = AuditLogGroup("audit", AuditLogGroupArgs(name=GROUP, region=REGION, account_id=ACCOUNT,
                                                     retention_days=400))
    NodeRole("cp-role", NodeRoleArgs(
        name="looper-prod-control-plane",
        extra_statements=(*backups.writer_statements("looper-prod/"), *audit.writer_statements())))


def plan_of(object_lock: bool) -> Plan:
    return run_program(lambda: program(object_lock=object_lock), stage="test", stack="test",
                       context=MockContext())


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_of(object_lock=True)



def statements(document: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(document)["Statement"]
    return found


def allowed(policy: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Does an Allow statement (no conditions considered) match action and resource (IAM wildcards)?"""
    def listed(value: Any) -> list[str]:
        return value if isinstance(value, list) else [value]
    return any(s["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, a) for a in listed(s["Action"]))
               and any(fnmatch.fnmatchcase(resource, r) for r in listed(s["Resource"])) for s in policy)


def test_backup_bucket_is_private_versioned_and_encrypted_with_its_own_key(plan: Plan) -> None:
    key = plan.named(KEY, "etcd-key")
    key_arn = key.state["arn"]
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    (admin,) = statements(key.inputs["policy"])
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    bucket = plan.named("aws:s3/bucket:Bucket", "etcd-bucket")
    assert bucket.inputs["bucket"] == f"looper-prod-etcd-backups-{ACCOUNT}"
    assert bucket.inputs["objectLockEnabled"] is True and bucket.inputs["forceDestroy"] is False
    (sse,) = plan.named(SSE, "etcd-encryption").inputs["rules"]
    assert sse["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
    assert sse["bucketKeyEnabled"] is True
    block = plan.named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "etcd-public-access-block")
    assert all(block.inputs[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                 "restrictPublicBuckets"))
    ownership = plan.named("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "etcd-ownership")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    versioning = plan.named("aws:s3/bucketVersioning:BucketVersioning", "etcd-versioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    lock = plan.named(LOCK, "etcd-object-lock")
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 3}


def test_bucket_policy_refuses_plain_http_and_puts_without_this_key(plan: Plan) -> None:
    key_arn = plan.named(KEY, "etcd-key").state["arn"]
    policy = {s["Sid"]: s for s in statements(
        plan.named("aws:s3/bucketPolicy:BucketPolicy", "etcd-policy").inputs["policy"])}
    assert all(s["Effect"] == "Deny" for s in policy.values())
    assert policy["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert policy["DenyInsecureTransport"]["Resource"] == [
        f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]
    assert policy["DenyPutWithoutKms"]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    assert policy["DenyPutWithOtherKey"]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}}


def test_lifecycle_expires_snapshots_then_their_noncurrent_versions(plan: Plan) -> None:
    rules = {r["id"]: r for r in plan.named(LIFECYCLE, "etcd-lifecycle").inputs["rules"]}
    assert rules["expire-hourly"]["filter"] == {"prefix": "looper-prod/hourly/"}
    assert rules["expire-hourly"]["expiration"] == {"days": 3}
    assert rules["expire-daily"]["filter"] == {"prefix": "looper-prod/daily/"}
    assert rules["expire-daily"]["expiration"] == {"days": 35}
    for rule in ("expire-hourly", "expire-daily"):
        assert rules[rule]["noncurrentVersionExpiration"] == {"noncurrentDays": 3}
    assert rules["tidy"]["filter"] == {"prefix": ""}
    assert rules["tidy"]["expiration"] == {"expiredObjectDeleteMarker": True}
    assert rules["tidy"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 1}
    assert all(r["status"] == "Enabled" for r in rules.values())


def test_control_plane_role_writes_snapshots_and_audit_events_but_deletes_nothing(plan: Plan) -> None:
    key_arn = plan.named(KEY, "etcd-key").state["arn"]
    policy = statements(plan.named("aws:iam/rolePolicy:RolePolicy", "cp-role-policy").inputs["policy"])
    objects = f"arn:aws:s3:::{BUCKET}/looper-prod/hourly/20261205T070000Z-n1.db"
    assert allowed(policy, "s3:PutObject", objects) and allowed(policy, "s3:GetObject", objects)
    assert not allowed(policy, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/other-cluster/hourly/x.db")
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration",
                   "s3:PutBucketPolicy", "s3:BypassGovernanceRetention", "s3:PutObjectRetention"):
        assert not allowed(policy, action, objects) and not allowed(policy, action, f"arn:aws:s3:::{BUCKET}")
    (listing,) = [s for s in policy if s["Action"] == "s3:ListBucket"]
    assert listing["Resource"] == f"arn:aws:s3:::{BUCKET}"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "looper-prod/*"}}
    # the Output nested in the statement is resolved to this key's ARN
    assert allowed(policy, "kms:GenerateDataKey", key_arn) and allowed(policy, "kms:Decrypt", key_arn)
    assert not allowed(policy, "kms:ScheduleKeyDeletion", key_arn)
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"):
        assert allowed(policy, action, f"{group}:log-stream:ip-10-1-16-5")
    other = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/other:log-stream:x"
    assert not allowed(policy, "logs:PutLogEvents", other)
    assert not allowed(policy, "logs:DeleteLogGroup", group)
    assert not allowed(policy, "logs:PutRetentionPolicy", group)


def test_audit_log_group_is_encrypted_with_a_key_only_logs_here_may_use_for_it(plan: Plan) -> None:
    key = plan.named(KEY, "audit-key")
    group = plan.named("aws:cloudwatch/logGroup:LogGroup", "audit-group")
    assert group.inputs["name"] == "/looper/prod/k8s-audit"
    assert group.inputs["kmsKeyId"] == key.state["arn"] and group.inputs["retentionInDays"] == 400
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    admin, logs = statements(key.inputs["policy"])
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                             f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/looper/prod/k8s-audit"}}
    assert "kms:*" not in logs["Action"] and "kms:CreateGrant" not in logs["Action"]
    assert group.state["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/looper/prod/k8s-audit"


def test_policy_pack_finds_nothing_to_report(plan: Plan) -> None:
    assert evaluate(resources_of(plan)) == []


def test_without_object_lock_there_is_no_lock_configuration() -> None:
    plan = plan_of(object_lock=False)
    assert "objectLockEnabled" not in plan.named("aws:s3/bucket:Bucket", "etcd-bucket").inputs
    assert not plan.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")


def test_bad_args_are_all_named_before_anything_is_created() -> None:
    def bad() -> None:
        EtcdBackupBucket("etcd", EtcdBackupBucketArgs(
            bucket_name="Bad_Bucket", account_id="123", cluster_prefix="looper-prod", keep_recent_days=0,
            keep_daily_days=4000))

    with pytest.raises(InvalidArgs) as info:
        run_program(bad, stage="test", stack="test", context=MockContext())
    assert [p.split(":")[0] for p in info.value.problems] == [
        "bucket_name", "account_id", "cluster_prefix", "keep_recent_days", "keep_daily_days"]

    def bad_group() -> None:
        AuditLogGroup("audit", AuditLogGroupArgs(name="no spaces", region="mars", account_id="1",
                                                 retention_days=10))

    with pytest.raises(InvalidArgs) as info:
        run_program(bad_group, stage="test", stack="test", context=MockContext())
    assert [p.split(":")[0] for p in info.value.problems] == [
        "name", "region", "account_id", "retention_days"]


def test_production_policy_reads_the_real_bucket_shape(plan: Plan) -> None:
    """The etcd rules join this component's versioning, encryption and lifecycle to its bucket."""
    subnets = [LinkedResource(aws_policy.SUBNET, f"s-{z}", f"urn:pulumi:test::looper::subnet::s-{z}",
                              {"availabilityZone": f"{REGION}{z}"}, {}) for z in "abc"]
    role = [{"key": "role", "value": "control-plane"}]
    groups = [LinkedResource(aws_policy.ASG, f"cp-{z}", f"urn:pulumi:test::looper::asg::cp-{z}",
                             {"vpcZoneIdentifiers": [f"s-{z}-id"], "tags": role},
                             {"vpcZoneIdentifiers": [s.urn]})
              for z, s in zip("abc", subnets, strict=True)]
    resources = [*resources_of(plan), *subnets, *groups]
    assert aws_policy.is_production(resources)  # the bucket's env tag
    assert list(aws_policy.production_resilience(resources)) == []
    # and without the bucket the same control planes are refused
    others = [r for r in resources if not r.type.startswith("aws:s3/")]
    assert [m for _, m in aws_policy.production_resilience(others)] == [
        "no etcd snapshot bucket (a bucket tagged looper/etcd-backups)"]


def test_writer_statements_take_only_a_cluster_prefix() -> None:
    def bad() -> None:
        bucket = EtcdBackupBucket("etcd", EtcdBackupBucketArgs(bucket_name=BUCKET, account_id=ACCOUNT,
                                                               cluster_prefix="looper-prod/"))
        bucket.writer_statements("")  # would grant the whole bucket

    with pytest.raises(ValueError, match="prefix: '' must be `<cluster name>/`"):
        run_program(bad, stage="test", stack="test", context=MockContext())

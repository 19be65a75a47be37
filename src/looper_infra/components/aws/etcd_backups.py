"""Where the control planes put etcd snapshots: a private, versioned S3 bucket with its own KMS key.

The control planes write ``<cluster>/hourly/<YYYYmmddTHHMMSSZ>-<node>.db`` every run and
``<cluster>/daily/<YYYYmmdd>-<node>.db`` on the first run of a UTC day (`facts.etcd`). They may put
and read objects under their prefix and list it (`EtcdBackupBucket.writer_statements`), never
delete: only the lifecycle rules remove snapshots.

- the key: rotation on, 30-day deletion window, the account-root statement only (IAM policies
  grant its use; nothing is granted to a service or to `*`);
- the bucket (tagged `looper/etcd-backups = <cluster>/`, how the policy pack finds it): every
  public-access block, BucketOwnerEnforced (no ACLs), SSE-KMS with that key and
  an S3 bucket key, versioning on; the bucket policy refuses plain HTTP and any PutObject that does
  not ask for SSE-KMS with this key (a node cannot store an unencrypted or foreign-key snapshot);
- lifecycle: with versioning, an expiring current version becomes a delete marker and the data
  stays as a noncurrent version, so each rule also expires noncurrent versions. ``hourly/``
  objects expire after `keep_recent_days`, ``daily/`` ones after `keep_daily_days`; noncurrent
  versions (an expired snapshot, or one a compromised node overwrote) are kept `keep_recent_days`
  more, so an overwrite is recoverable for as long as the recent snapshots are; across the bucket,
  delete markers left alone and multipart uploads unfinished for a day are removed;
- optional Object Lock (governance mode, `keep_recent_days` by default on every version): S3
  enables it only when a bucket is created, so turning it on later replaces the bucket. The
  lifecycle cannot remove a locked version before its retention ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.kms import ACCOUNT_ID, PARTITIONS, customer_key
from looper_infra.components.aws.s3 import private_bucket
from looper_infra.components.base import Component
from looper_infra.facts.etcd import BACKUP_BUCKET_TAG, DAILY_PREFIX, HOURLY_PREFIX

_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_CLUSTER_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}/\Z")
#: KMS: 7-30 days before a key scheduled for deletion is gone; the maximum, for a backup key
#: days an unfinished multipart upload (an interrupted snapshot upload) is kept
ABORT_MULTIPART_DAYS = 1


def etcd_backup_bucket_name(name_prefix: str, env: str, account_id: str) -> str:
    """`<prefix>-<env>-etcd-backups-<account id>`: globally unique, like the IRSA issuer's bucket."""
    return f"{name_prefix}-{env}-etcd-backups-{account_id}"


def key_policy(account_id: str, partition: str = "aws") -> str:
    """Only the account (its IAM policies) may use and administer the key."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AccountAdministers", "Effect": "Allow",
                       "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                       "Action": "kms:*", "Resource": "*"}],
    })


def bucket_policy(bucket_arn: str, kms_key_arn: str) -> str:
    """No plain HTTP; every PutObject asks for SSE-KMS with the bucket's key."""
    objects = f"{bucket_arn}/*"
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [bucket_arn, objects], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "DenyPutWithoutKms", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": objects,
             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
            {"Sid": "DenyPutWithOtherKey", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": objects,
             "Condition": {"StringNotEquals": {
                 "s3:x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn}}},
        ],
    })


def lifecycle_rules(cluster_prefix: str, keep_recent_days: int,
                    keep_daily_days: int) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Expire `hourly/` and `daily/` snapshots (current, then noncurrent); over the whole bucket,
    remove delete markers left alone and abort uploads unfinished after a day."""
    def snapshots(kind: str, days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
        return aws.s3.BucketLifecycleConfigurationRuleArgs(
            id=f"expire-{kind.rstrip('/')}", status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{cluster_prefix}{kind}"),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=keep_recent_days))

    return [
        snapshots(HOURLY_PREFIX, keep_recent_days),
        snapshots(DAILY_PREFIX, keep_daily_days),
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="tidy", status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
            abort_incomplete_multipart_upload=aws.s3
            .BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=ABORT_MULTIPART_DAYS)),
    ]


@dataclass(frozen=True)
class EtcdBackupBucketArgs:
    #: globally unique bucket name: `etcd_backup_bucket_name(prefix, env, account_id)`
    bucket_name: str
    #: the account that owns the bucket and its key (the key policy's only principal)
    account_id: str
    #: the cluster's key prefix, `<cluster_name>/` (the lifecycle rules' filters)
    cluster_prefix: str
    #: days `hourly/` snapshots (and noncurrent versions) are kept; the Object Lock retention
    keep_recent_days: int = 2
    #: days `daily/` snapshots are kept
    keep_daily_days: int = 30
    #: S3 Object Lock, governance mode: only at bucket creation (changing it replaces the bucket)
    object_lock: bool = False
    partition: str = "aws"
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not _BUCKET.match(self.bucket_name) or re.fullmatch(r"([0-9]+\.){3}[0-9]+", self.bucket_name):
            errors.append(f"bucket_name: {self.bucket_name!r} is not an S3 bucket name")
        if not ACCOUNT_ID.match(self.account_id):
            errors.append(f"account_id: {self.account_id!r} is not a 12-digit AWS account ID")
        if not _CLUSTER_PREFIX.match(self.cluster_prefix):
            errors.append(f"cluster_prefix: {self.cluster_prefix!r} must be `<cluster name>/`")
        if not 1 <= self.keep_recent_days <= 35:
            errors.append(f"keep_recent_days: {self.keep_recent_days} (1-35)")
        if not 1 <= self.keep_daily_days <= 3650:
            errors.append(f"keep_daily_days: {self.keep_daily_days} (1-3650)")
        if self.partition not in PARTITIONS:
            errors.append(f"partition: {self.partition!r} is not an AWS partition")
        return errors


class EtcdBackupBucket(Component):
    #: the bucket's name (handed out once its policy, encryption and lifecycle are in place)
    bucket: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EtcdBackupBucketArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:EtcdBackupBucket", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.bucket_name, BACKUP_BUCKET_TAG: args.cluster_prefix, **args.tags}
        key = customer_key(name, description=f"{args.bucket_name}: etcd snapshots", tags=tags, opts=child,
                           policy=key_policy(args.account_id, args.partition), alias=args.bucket_name)
        bucket, block = private_bucket(f"{name}-bucket", prefix=name, bucket_name=args.bucket_name, tags=tags,
                                       kms_key_arn=key.arn, object_lock=args.object_lock, opts=child)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child)
        ready: list[pulumi.Output[Any]] = [versioning.id]
        if args.object_lock:
            ready.append(aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock", bucket=versioning.bucket,
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode="GOVERNANCE", days=args.keep_recent_days)),
                opts=child).id)
        ready.append(aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=lifecycle_rules(args.cluster_prefix, args.keep_recent_days, args.keep_daily_days),
            # noncurrent-version rules after versioning is on
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning]))).id)
        ready.append(aws.s3.BucketPolicy(
            # the bucket name taken from the public access block: the block exists first
            f"{name}-policy", bucket=block.bucket,
            policy=pulumi.Output.all(bucket.arn, key.arn).apply(
                lambda v: bucket_policy(str(v[0]), str(v[1]))),
            opts=child).id)
        self.bucket = pulumi.Output.all(bucket.bucket, *ready).apply(lambda v: str(v[0]))
        self.bucket_arn = bucket.arn
        self.kms_key_arn = key.arn
        self._bucket_arn = f"arn:{args.partition}:s3:::{args.bucket_name}"
        self.register_outputs({"bucket": self.bucket, "bucket_arn": self.bucket_arn,
                               "kms_key_arn": self.kms_key_arn})

    def writer_statements(self, prefix: str) -> list[dict[str, Any]]:
        """IAM statements for the control-plane role: put, get and list under `prefix`; no delete.

        `Resource` of the KMS statement is an Output: `NodeRoleArgs.extra_statements` resolves
        Outputs nested in statements.
        """
        if not _CLUSTER_PREFIX.match(prefix):
            raise ValueError(f"prefix: {prefix!r} must be `<cluster name>/`")
        return [
            {"Sid": "PutGetEtcdSnapshots", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
             "Resource": f"{self._bucket_arn}/{prefix}*"},
            {"Sid": "ListEtcdSnapshots", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": self._bucket_arn, "Condition": {"StringLike": {"s3:prefix": f"{prefix}*"}}},
            {"Sid": "EncryptEtcdSnapshots", "Effect": "Allow",
             "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
             "Resource": self.kms_key_arn},
        ]

"""The backup bucket: uniform access, public access prevented, versioned, expiring."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import storage

from looper_infra.components.base import Component


@dataclass(frozen=True)
class BackupBucketArgs:
    project: str
    name: str
    location: str
    #: member (serviceAccount:...) that writes and restores backups: bucket-level only
    writer: pulumi.Input[str]
    retention_days: int = 30
    noncurrent_versions_kept: int = 3


class BackupBucket(Component):
    bucket: storage.Bucket
    name: pulumi.Output[str]

    def __init__(self, name: str, args: BackupBucketArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:BackupBucket", name, None, opts)
        child = self.child_opts
        self.bucket = storage.Bucket(
            f"{name}-bucket", name=args.name, project=args.project, location=args.location,
            uniform_bucket_level_access=True, public_access_prevention="enforced",
            versioning=storage.BucketVersioningArgs(enabled=True),
            force_destroy=False,
            lifecycle_rules=[
                storage.BucketLifecycleRuleArgs(
                    action=storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=storage.BucketLifecycleRuleConditionArgs(age=args.retention_days)),
                storage.BucketLifecycleRuleArgs(
                    action=storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=storage.BucketLifecycleRuleConditionArgs(
                        num_newer_versions=args.noncurrent_versions_kept, with_state="ARCHIVED")),
            ],
            opts=child)
        # objectAdmin on this bucket only: write backups and read them back for restores
        storage.BucketIAMMember(
            f"{name}-writer", bucket=self.bucket.name, role="roles/storage.objectAdmin",
            member=args.writer, opts=child)
        self.name = self.bucket.name
        self.register_outputs({"name": self.name})

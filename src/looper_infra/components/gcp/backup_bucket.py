"""The backup bucket: uniform access, public access prevented, write-once for a retention period.

The writer (the DB VM's identity) holds `roles/storage.objectCreator` on this bucket only: it
can add objects, not read, list, replace or delete them, so whoever takes over the VM cannot
destroy the backups. The bucket's retention policy keeps anyone else from deleting or
replacing a backup younger than `retention_days` (lockable: a locked policy cannot be
shortened or removed, by anyone). Restores read through operator identities (`readers`,
`roles/storage.objectViewer`), never the VM's.

Object versioning is off: no one can replace or delete a retained object, so there are no
old versions to keep while it is retained; after that the lifecycle deletes it, and soft delete
keeps it recoverable for `SOFT_DELETE_DAYS` more.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import storage

from looper_infra.components.base import Component

#: role of the writer: storage.objects.create only (no get, list, delete or overwrite)
WRITER_ROLE = "roles/storage.objectCreator"
#: role of the restore operators: storage.objects.get and list on this bucket
READER_ROLE = "roles/storage.objectViewer"
#: deleted objects stay recoverable this long (Cloud Storage's default, stated explicitly)
SOFT_DELETE_DAYS = 7
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class BackupBucketArgs:
    project: str
    name: str
    location: str
    #: member (serviceAccount:...) that writes backups: create-only, bucket-level only
    writer: pulumi.Input[str]
    #: retention policy: no delete/replace before this age; the lifecycle deletes a day later
    retention_days: int = 30
    #: lock the retention policy (irreversible)
    lock_retention: bool = False
    #: members that read backups for restores (operators, not the VM)
    readers: tuple[str, ...] = ()


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
            versioning=storage.BucketVersioningArgs(enabled=False),
            retention_policy=storage.BucketRetentionPolicyArgs(
                retention_period=str(args.retention_days * DAY_SECONDS), is_locked=args.lock_retention),
            soft_delete_policy=storage.BucketSoftDeletePolicyArgs(
                retention_duration_seconds=SOFT_DELETE_DAYS * DAY_SECONDS),
            force_destroy=False,
            lifecycle_rules=[
                # every object (noncurrent ones from before versioning was turned off included),
                # a day after the retention policy lets it go
                storage.BucketLifecycleRuleArgs(
                    action=storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=storage.BucketLifecycleRuleConditionArgs(
                        age=args.retention_days + 1, with_state="ANY")),
            ],
            opts=child)
        # the writer adds backups and nothing else (same logical name as the former objectAdmin
        # grant: a deployed stack replaces it, objectCreator granted, then objectAdmin revoked)
        storage.BucketIAMMember(
            f"{name}-writer", bucket=self.bucket.name, role=WRITER_ROLE, member=args.writer, opts=child)
        for member in args.readers:
            storage.BucketIAMMember(
                f"{name}-reader-{_key(member)}", bucket=self.bucket.name, role=READER_ROLE,
                member=member, opts=child)
        self.name = self.bucket.name
        self.register_outputs({"name": self.name})


def _key(member: str) -> str:
    """A stable resource-name part of an IAM member: `group:ops@x.com` -> `group-ops-x-com`."""
    return "".join(c if c.isalnum() else "-" for c in member.lower())

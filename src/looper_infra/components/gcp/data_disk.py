"""A zonal SSD data disk with a daily snapshot schedule (survives VM replacement)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component


@dataclass(frozen=True)
class DataDiskArgs:
    project: str
    region: str
    zone: str
    cloud_name: str
    size_gb: int
    retention_days: int = 7
    start_time: str = "03:00"
    type: str = "pd-ssd"
    #: Pulumi refuses to delete a protected disk (production data)
    protect: bool = True


class DataDisk(Component):
    disk: compute.Disk
    #: the self link to attach; the VM finds it as /dev/disk/by-id/google-<device_name>
    self_link: pulumi.Output[str]

    def __init__(self, name: str, args: DataDiskArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:DataDisk", name, None, opts)
        child = self.child_opts
        self.disk = compute.Disk(
            f"{name}-disk", name=args.cloud_name, project=args.project, zone=args.zone,
            type=args.type, size=args.size_gb,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)))
        schedule = compute.ResourcePolicy(
            f"{name}-snapshots", name=f"{args.cloud_name}-daily", project=args.project, region=args.region,
            snapshot_schedule_policy=compute.ResourcePolicySnapshotSchedulePolicyArgs(
                schedule=compute.ResourcePolicySnapshotSchedulePolicyScheduleArgs(
                    daily_schedule=compute.ResourcePolicySnapshotSchedulePolicyScheduleDailyScheduleArgs(
                        days_in_cycle=1, start_time=args.start_time)),
                retention_policy=compute.ResourcePolicySnapshotSchedulePolicyRetentionPolicyArgs(
                    max_retention_days=args.retention_days,
                    on_source_disk_delete="KEEP_AUTO_SNAPSHOTS"),
                snapshot_properties=compute.ResourcePolicySnapshotSchedulePolicySnapshotPropertiesArgs(
                    storage_locations=args.region, guest_flush=False),
            ),
            opts=child)
        compute.DiskResourcePolicyAttachment(
            f"{name}-snapshot-schedule", name=schedule.name, disk=self.disk.name, zone=args.zone,
            project=args.project, opts=child)
        self.self_link = self.disk.self_link
        self.register_outputs({"self_link": self.self_link})

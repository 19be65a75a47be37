"""Stage v4-platform's backups: the CSI snapshot controller and Velero, from `looper:backups`."""

from __future__ import annotations

from typing import Any

import pulumi

from looper_infra.components.k8s.snapshots import CsiSnapshots, SnapshotsArgs
from looper_infra.components.k8s.velero import BackupSchedule, Velero, VeleroArgs
from looper_infra.config.v4_backups import backup_namespaces
from looper_infra.config.v4_platform import V4PlatformConfig

#: name of the Schedule backing up every object (cluster-scoped ones included), no volume data
CLUSTER_RESOURCES = "cluster-resources"


def schedules(cfg: V4PlatformConfig) -> dict[str, BackupSchedule]:
    """The namespace schedules (objects + CSI snapshots) and the cluster-resources schedule."""
    b, ns = cfg.backups, cfg.namespaces
    covered = tuple(backup_namespaces(b, app=ns.app, data=ns.data))
    out = {name: BackupSchedule(cron=s.cron, ttl=s.ttl, namespaces=covered)
           for name, s in b.schedules.items()}
    out[CLUSTER_RESOURCES] = BackupSchedule(cron=b.cluster_resources.cron, ttl=b.cluster_resources.ttl,
                                            cluster_resources=True, snapshot_volumes=False)
    return out


def backups(cfg: V4PlatformConfig, cluster: dict[str, pulumi.Output[Any]],
            opts: pulumi.ResourceOptions, *, monitoring_namespace: str) -> Velero | None:
    """Velero and what its volume snapshots need, unless `backups.enabled` is false."""
    b = cfg.backups
    if not b.enabled:
        return None
    snapshots = CsiSnapshots("snapshots", SnapshotsArgs(), opts)
    velero = Velero("velero", VeleroArgs(
        name_prefix=f"{cfg.name_prefix}-{cfg.env}", region=cfg.aws.region, account_id=cfg.aws.account_id,
        oidc_provider_arn=cluster["oidc_provider_arn"], oidc_issuer_host=cluster["oidc_issuer_host"],
        cluster_name=cluster["cluster_name"], schedules=schedules(cfg),
        expire_days=b.longest_ttl_days() + b.bucket_margin_days, noncurrent_days=b.noncurrent_version_days,
        snapshot_class=snapshots.snapshot_class, monitoring_namespace=monitoring_namespace), opts)
    pulumi.export("backup_bucket", velero.bucket)
    return velero

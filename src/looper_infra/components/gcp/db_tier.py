"""The data tier of stage v3: one private DB VM (PostgreSQL + ChromaDB) and what keeps its data.

    DbTier
      ServiceAccount "db-identity"         logs, metrics; reads the secrets, writes the bucket
      GeneratedSecret "db-password"        PostgreSQL password  } readable by the DB identity and
      GeneratedSecret "chroma-token"       ChromaDB auth token  } the `secret_readers` (the app)
      BackupBucket "backups"               nightly dumps: versioned, expiring, no public access
      DataDisk "db-data"                   SSD data disk with daily snapshots (survives the VM)
      StaticIp "db-ip"                     the internal address the app tier connects to
      Vm "db"                              no external IP; cloud-init mounts the disk, runs both

The DB VM's startup document is rendered here, from the secrets' and bucket's names (never
their values). Children keep the logical names stage v3 deployed them with as top-level
resources (a rename would replace them), so a stack holds one DbTier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from looper_infra.bootstrap.db_vm import DbVmStartup, render_db_vm_cloud_config
from looper_infra.components.base import Component, moved_from_root
from looper_infra.components.gcp.backup_bucket import BackupBucket, BackupBucketArgs
from looper_infra.components.gcp.data_disk import DataDisk, DataDiskArgs
from looper_infra.components.gcp.generated_secret import GeneratedSecret, GeneratedSecretArgs
from looper_infra.components.gcp.placement import Placement
from looper_infra.components.gcp.service_account import (
    VM_ROLES,
    ServiceAccount,
    ServiceAccountArgs,
    account_id_problems,
)
from looper_infra.components.gcp.static_ip import StaticIp, StaticIpArgs
from looper_infra.components.gcp.vm import IAM_LIMITED_SCOPES, AttachedDisk, Machine, Vm, VmArgs

POSTGRES_PORT = 5432
#: the data disk appears on the VM as /dev/disk/by-id/google-<DATA_DEVICE>
DATA_DEVICE = "looper-data"


@dataclass(frozen=True)
class Storage:
    """The SSD data disk and its daily snapshots."""

    disk_gb: int = 100
    snapshot_retention_days: int = 7
    #: UTC, HH:00
    snapshot_start_time: str = "03:00"


@dataclass(frozen=True)
class Database:
    name: str = "looper"
    user: str = "looper"
    chroma_port: int = 8000


@dataclass(frozen=True)
class Backups:
    """Nightly logical dumps to a bucket."""

    bucket: str
    #: None: the tier's region
    location: str | None = None
    #: systemd OnCalendar expression (UTC)
    schedule: str = "*-*-* 03:30:00"
    #: the bucket's retention policy: backups younger than this cannot be deleted or replaced
    retention_days: int = 30
    #: lock the retention policy (irreversible)
    lock_retention: bool = False
    #: members (group:/user:/serviceAccount:) that read backups for restores
    restore_readers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DbTierArgs:
    #: cloud names: `<prefix>-<env>-db` (identity and VM), `-db-data`, `-db-ip`, `-db-password`,
    #: `-chroma-token`
    placement: Placement
    zone: str
    subnetwork: pulumi.Input[str]
    #: the only range PostgreSQL admits (pg_hba)
    app_subnet_cidr: str
    machine: Machine
    backups: Backups
    #: members (serviceAccount:...) that may read the secrets besides the DB's own identity
    secret_readers: tuple[pulumi.Input[str], ...] = ()
    #: the tags the firewall admits the app tier's traffic by
    network_tags: tuple[str, ...] = ()
    storage: Storage = field(default_factory=Storage)
    database: Database = field(default_factory=Database)
    #: refuse to delete the VM, and Pulumi refuses to delete the data disk
    deletion_protection: bool = True

    def problems(self) -> list[str]:
        found = account_id_problems("placement", self.placement.name("db"))
        if self.database.chroma_port == POSTGRES_PORT:
            found.append(f"database.chroma_port: {POSTGRES_PORT} is PostgreSQL's on the same VM")
        if not self.network_tags:
            found.append("network_tags: at least one (the firewall admits the app tier by tag)")
        return found


@dataclass(frozen=True)
class DbConnection:
    """What the app tier needs to reach the database: the address and the secrets' names."""

    host: pulumi.Output[str]
    database: str
    user: str
    #: "projects/P/secrets/S" of the PostgreSQL password and the ChromaDB token
    password_secret: pulumi.Output[str]
    chroma_token_secret: pulumi.Output[str]
    chroma_port: int
    port: int = POSTGRES_PORT


class DbTier(Component):
    vm: Vm
    connection: DbConnection
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: DbTierArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:DbTier", name, args, opts)
        moved, at = moved_from_root(self.child_opts), args.placement
        p, nm = at.project, at.name
        identity = ServiceAccount("db-identity", ServiceAccountArgs(
            project=p, account_id=nm("db"), display_name=f"Looper {at.env} DB tier",
            roles=VM_ROLES), moved)
        readers = (*args.secret_readers, identity.member)
        password = GeneratedSecret("db-password", GeneratedSecretArgs(
            project=p, secret_id=nm("db-password"), accessors=readers), moved)
        token = GeneratedSecret("chroma-token", GeneratedSecretArgs(
            project=p, secret_id=nm("chroma-token"), accessors=readers), moved)
        b = args.backups
        bucket = BackupBucket("backups", BackupBucketArgs(
            project=p, name=b.bucket, location=(b.location or at.region).upper(),
            writer=identity.member, retention_days=b.retention_days, lock_retention=b.lock_retention,
            readers=b.restore_readers), moved)
        s = args.storage
        disk = DataDisk("db-data", DataDiskArgs(
            project=p, region=at.region, zone=args.zone, cloud_name=nm("db-data"),
            size_gb=s.disk_gb, retention_days=s.snapshot_retention_days,
            start_time=s.snapshot_start_time, protect=args.deletion_protection), moved)
        ip = StaticIp("db-ip", StaticIpArgs(
            project=p, region=at.region, cloud_name=nm("db-ip"), subnetwork=args.subnetwork), moved)
        startup = pulumi.Output.all(password.name, token.name, bucket.name).apply(
            lambda names: _startup(args, *names))
        self.vm = Vm("db", VmArgs(
            project=p, zone=args.zone, cloud_name=nm("db"), machine_type=args.machine.type,
            boot_disk=args.machine.boot_disk, subnetwork=args.subnetwork, network_ip=ip.address,
            service_account_email=identity.email, nat_ip=None, network_tags=args.network_tags,
            scopes=IAM_LIMITED_SCOPES,  # Secret Manager + GCS; limited by the identity's grants
            user_data=startup, labels={"role": "db"},
            attached_disks=(AttachedDisk(disk.self_link, DATA_DEVICE),),
            deletion_protection=args.deletion_protection), moved)
        d = args.database
        self.connection = DbConnection(
            host=ip.address, database=d.name, user=d.user, password_secret=password.name,
            chroma_token_secret=token.name, chroma_port=d.chroma_port)
        self.bucket_name = bucket.name
        self.register_outputs({"internal_ip": self.vm.internal_ip, "bucket_name": self.bucket_name,
                               "password_secret": password.name})


def _startup(args: DbTierArgs, password_secret: str, token_secret: str, bucket: str) -> str:
    """The DB VM's cloud-config: mount the data disk, run PostgreSQL and ChromaDB, back up."""
    d = args.database
    return render_db_vm_cloud_config(DbVmStartup(
        project=args.placement.project, data_disk_device_name=DATA_DEVICE,
        postgres_db=d.name, postgres_user=d.user, postgres_password_secret=password_secret,
        chroma_token_secret=token_secret, backup_bucket=bucket, app_subnet_cidr=args.app_subnet_cidr,
        chroma_port=d.chroma_port, backup_on_calendar=args.backups.schedule))

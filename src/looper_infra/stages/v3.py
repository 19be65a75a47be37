"""Stage v3: the first highly available Looper, in three tiers.

    internet -> global HTTPS LB (managed cert, SSL policy, CDN, Cloud Armor?) -> DNS A record
             -> regional MIG of app VMs (private, autoscaled, autohealed, rolling updates)
             -> DB VM (private; PostgreSQL + ChromaDB on an SSD data disk with daily snapshots,
                nightly dumps to a versioned bucket); Cloud NAT for outbound; IAP for SSH
"""

from __future__ import annotations

import pulumi

from looper_infra.bootstrap import AppVmStartup, render_app_vm_cloud_config
from looper_infra.bootstrap.app_vm import GpuSetup
from looper_infra.bootstrap.db_vm import DbVmStartup, render_db_vm_cloud_config
from looper_infra.components.gcp.backup_bucket import BackupBucket, BackupBucketArgs
from looper_infra.components.gcp.cloud_nat import CloudNat, CloudNatArgs
from looper_infra.components.gcp.data_disk import DataDisk, DataDiskArgs
from looper_infra.components.gcp.dns_record import DnsRecord, DnsRecordArgs
from looper_infra.components.gcp.firewall import Firewall, FirewallArgs
from looper_infra.components.gcp.generated_secret import GeneratedSecret, GeneratedSecretArgs
from looper_infra.components.gcp.https_lb import CdnSpec, HttpsLbArgs, HttpsLoadBalancer
from looper_infra.components.gcp.instance_template import InstanceTemplate, InstanceTemplateArgs
from looper_infra.components.gcp.regional_mig import RegionalMig, RegionalMigArgs
from looper_infra.components.gcp.service_account import ServiceAccount, ServiceAccountArgs
from looper_infra.components.gcp.static_ip import StaticIp, StaticIpArgs
from looper_infra.components.gcp.vm import (
    IAM_LIMITED_SCOPES,
    Accelerator,
    AttachedDisk,
    BootDisk,
    Scheduling,
    Vm,
    VmArgs,
)
from looper_infra.config.v3 import V3Config
from looper_infra.rules import gcp_firewall
from looper_infra.stages.foundation import gcp_foundation
from looper_infra.stages.single_vm import VM_ROLES

DATA_DEVICE = "looper-data"
PORT_NAME = "http"


def program(cfg: V3Config) -> None:
    g, app, db_cfg = cfg.gcp, cfg.app_tier, cfg.db_tier

    base = gcp_foundation(cfg, cfg.network)
    nm, opts, network = base.nm, base.opts, base.network
    CloudNat("nat", CloudNatArgs(project=g.project, region=g.region, network=network.self_link,
                                 cloud_name=nm("vpc")), opts)
    app_tag, db_tag = nm("app"), nm("db")
    Firewall("firewall", FirewallArgs(
        project=g.project, network=network.self_link, name_prefix=nm("fw"),
        rules=gcp_firewall.three_tier_rules(app_tag=app_tag, db_tag=db_tag, app_port=cfg.app.port,
                                     db_ports=(5432, db_cfg.chroma_port)),
    ), opts)

    # --- identities and secrets ------------------------------------------------------------
    app_sa = ServiceAccount("app-identity", ServiceAccountArgs(
        project=g.project, account_id=nm("app"), display_name=f"Looper {cfg.env} app tier",
        roles=VM_ROLES), opts)
    db_sa = ServiceAccount("db-identity", ServiceAccountArgs(
        project=g.project, account_id=nm("db"), display_name=f"Looper {cfg.env} DB tier",
        roles=VM_ROLES), opts)
    readers = (app_sa.member, db_sa.member)
    db_password = GeneratedSecret("db-password", GeneratedSecretArgs(
        project=g.project, secret_id=nm("db-password"), accessors=readers), opts)
    chroma_token = GeneratedSecret("chroma-token", GeneratedSecretArgs(
        project=g.project, secret_id=nm("chroma-token"), accessors=readers), opts)

    # --- data tier --------------------------------------------------------------------------
    bucket = BackupBucket("backups", BackupBucketArgs(
        project=g.project, name=cfg.backups.bucket,
        location=(cfg.backups.location or g.region).upper(), writer=db_sa.member,
        retention_days=cfg.backups.retention_days,
        noncurrent_versions_kept=cfg.backups.noncurrent_versions_kept), opts)
    disk = DataDisk("db-data", DataDiskArgs(
        project=g.project, region=g.region, zone=db_cfg.zone, cloud_name=nm("db-data"),
        size_gb=db_cfg.data_disk_gb, retention_days=db_cfg.snapshot_retention_days,
        start_time=db_cfg.snapshot_start_time, protect=db_cfg.deletion_protection), opts)
    db_ip = StaticIp("db-ip", StaticIpArgs(
        project=g.project, region=g.region, cloud_name=nm("db-ip"),
        subnetwork=network.subnet_self_links["db"]), opts)
    db_startup = pulumi.Output.all(db_password.name, chroma_token.name, bucket.name).apply(
        lambda v: render_db_vm_cloud_config(DbVmStartup(
            project=g.project, data_disk_device_name=DATA_DEVICE,
            postgres_db=db_cfg.postgres_db, postgres_user=db_cfg.postgres_user,
            postgres_password_secret=v[0], chroma_token_secret=v[1], backup_bucket=v[2],
            app_subnet_cidr=str(cfg.network.subnets["app"].cidr),
            chroma_port=db_cfg.chroma_port, backup_on_calendar=cfg.backups.schedule)))
    db = Vm("db", VmArgs(
        project=g.project, zone=db_cfg.zone, cloud_name=nm("db"), machine_type=db_cfg.machine_type,
        boot_disk=BootDisk(db_cfg.image, db_cfg.boot_disk_gb, db_cfg.boot_disk_type),
        subnetwork=network.subnet_self_links["db"], network_ip=db_ip.address,
        service_account_email=db_sa.email, nat_ip=None, network_tags=(db_tag,),
        scopes=IAM_LIMITED_SCOPES,  # Secret Manager + GCS; limited by db_sa's grants
        user_data=db_startup, labels={"role": "db"},
        attached_disks=(AttachedDisk(disk.self_link, DATA_DEVICE),),
        deletion_protection=db_cfg.deletion_protection,
    ), opts)

    # --- app tier ---------------------------------------------------------------------------
    app_startup = pulumi.Output.all(db_ip.address, db_password.name, chroma_token.name).apply(
        lambda v: render_app_vm_cloud_config(AppVmStartup(
            domain=cfg.dns.domain, acme_email=None, app_image=cfg.app.image,
            app_port=cfg.app.port, health_path=cfg.app.health_path, behind_load_balancer=True,
            gpu=GpuSetup(count=app.gpu.count) if app.gpu else None,
            app_env={**cfg.app.env,
                     "LOOPER_DB_HOST": v[0], "LOOPER_DB_PORT": "5432",
                     "LOOPER_DB_NAME": db_cfg.postgres_db, "LOOPER_DB_USER": db_cfg.postgres_user,
                     "LOOPER_DB_PASSWORD_SECRET": v[1],
                     "LOOPER_CHROMA_URL": f"http://{v[0]}:{db_cfg.chroma_port}",
                     "LOOPER_CHROMA_TOKEN_SECRET": v[2]})))
    gpu = app.gpu
    template = InstanceTemplate("app-template", InstanceTemplateArgs(
        project=g.project, region=g.region, name_prefix=nm("app"), machine_type=app.machine_type,
        boot_disk=BootDisk(app.image, app.boot_disk_gb, app.boot_disk_type),
        subnetwork=network.subnet_self_links["app"], service_account_email=app_sa.email,
        user_data=app_startup, network_tags=(app_tag,), labels={"role": "app"},
        scopes=IAM_LIMITED_SCOPES,  # the app reads its secrets; limited by app_sa's grants
        scheduling=Scheduling(on_host_maintenance="TERMINATE") if gpu else Scheduling(),
        accelerators=(Accelerator(gpu.type, gpu.count),) if gpu else ()), opts)
    group = RegionalMig("app-group", RegionalMigArgs(
        project=g.project, region=g.region, cloud_name=nm("app"),
        instance_template=template.self_link, zones=tuple(app.zones), port_name=PORT_NAME,
        port=cfg.app.port, health_path=cfg.app.health_path, min_replicas=app.min_replicas,
        max_replicas=app.max_replicas, cpu_target=app.cpu_target, cooldown_sec=app.cooldown_sec,
        autohealing_initial_delay_sec=app.autohealing_initial_delay_sec,
        max_surge=app.max_surge, max_unavailable=app.max_unavailable), opts)

    # --- presentation tier ------------------------------------------------------------------
    armor = None
    if cfg.lb.cloud_armor.enabled:
        from looper_infra.components.gcp.cloud_armor import CloudArmorArgs, CloudArmorPolicy

        armor = CloudArmorPolicy("armor", CloudArmorArgs(
            project=g.project, cloud_name=nm("lb"),
            blocked_cidrs=cfg.lb.cloud_armor.blocked_cidrs,
            rate_limit_per_minute=cfg.lb.cloud_armor.rate_limit_per_minute), opts)
    c = cfg.lb.cdn
    lb = HttpsLoadBalancer("lb", HttpsLbArgs(
        project=g.project, cloud_name=nm("lb"), domain=cfg.dns.domain,
        instance_group=group.instance_group, port_name=PORT_NAME, port=cfg.app.port,
        health_path=cfg.app.health_path, certificate_self_link=cfg.lb.certificate_self_link,
        ssl_profile=cfg.lb.ssl_profile, min_tls_version=cfg.lb.min_tls_version,
        log_sample_rate=cfg.lb.log_sample_rate,
        cdn=CdnSpec(c.enabled, c.cache_mode, c.default_ttl, c.max_ttl, c.client_ttl),
        security_policy=armor.id if armor else None), opts)
    if cfg.dns.managed_zone:
        DnsRecord("dns", DnsRecordArgs(
            project=g.project, managed_zone=cfg.dns.managed_zone, fqdn=cfg.dns.domain,
            addresses=lb.address.apply(lambda a: [a]), ttl=cfg.dns.ttl), opts)

    iap = f"--project {g.project} --tunnel-through-iap"
    pulumi.export("lb_ip", lb.address)
    pulumi.export("url", f"https://{cfg.dns.domain}")
    pulumi.export("db_internal_ip", db.internal_ip)
    pulumi.export("backup_bucket", bucket.name)
    pulumi.export("db_password_secret", db_password.name)
    pulumi.export("ssh_db", db.name.apply(lambda n: f"gcloud compute ssh {n} --zone {db_cfg.zone} {iap}"))
    pulumi.export("ssh_app", f"gcloud compute instances list --project {g.project} "
                             f"--filter='name~^{nm('app')}-' ; gcloud compute ssh INSTANCE "
                             f"--zone ZONE {iap}")

"""Stage v3: the first highly available Looper, in three tiers.

    internet -> web front: global HTTPS LB (managed cert, SSL policy, CDN, Cloud Armor?), DNS record
             -> app tier: regional MIG of app VMs (private, autoscaled, autohealed, rolling updates)
             -> DB tier: DB VM (private; PostgreSQL + ChromaDB on an SSD data disk with daily
                snapshots, nightly dumps to a versioned bucket); Cloud NAT for outbound; IAP for SSH
"""

from __future__ import annotations

import pulumi

from looper_infra.components.gcp.app_container import AppContainer
from looper_infra.components.gcp.app_tier import AppTier, AppTierArgs, Rollout, Scaling
from looper_infra.components.gcp.cloud_armor import ArmorRules
from looper_infra.components.gcp.db_tier import POSTGRES_PORT, Backups, Database, DbTier, DbTierArgs, Storage
from looper_infra.components.gcp.dns_record import DnsZone
from looper_infra.components.gcp.firewall import Firewall, FirewallArgs
from looper_infra.components.gcp.https_lb import CdnSpec, Tls
from looper_infra.components.gcp.placement import Placement
from looper_infra.components.gcp.service_account import VM_ROLES, ServiceAccount, ServiceAccountArgs
from looper_infra.components.gcp.vm import Accelerator, BootDisk, Machine
from looper_infra.components.gcp.web_front import WebFront, WebFrontArgs
from looper_infra.config.v3 import V3Config
from looper_infra.rules import gcp_firewall
from looper_infra.stages.foundation import stage_foundation


def program(cfg: V3Config) -> None:
    g, app, db, lb, bk = cfg.gcp, cfg.app_tier, cfg.db_tier, cfg.lb, cfg.backups
    base = stage_foundation(cfg, cfg.network, nat=True)
    nm, opts, subnets = base.nm, base.opts, base.network.subnet_self_links
    at = Placement(g.project, g.region, cfg.name_prefix, cfg.env)
    Firewall("firewall", FirewallArgs(
        project=g.project, network=base.network.self_link, name_prefix=nm("fw"),
        rules=gcp_firewall.three_tier_rules(app_tag=nm("app"), db_tag=nm("db"), app_port=cfg.app.port,
                                            db_ports=(POSTGRES_PORT, db.chroma_port))), opts)
    # runs the app tier and reads the DB tier's secrets: it belongs to neither tier
    app_identity = ServiceAccount("app-identity", ServiceAccountArgs(
        project=g.project, account_id=nm("app"), display_name=f"Looper {cfg.env} app tier",
        roles=VM_ROLES), opts)

    database = DbTier("db-tier", DbTierArgs(
        placement=at, zone=db.zone, subnetwork=subnets["db"], network_tags=(nm("db"),),
        app_subnet_cidr=str(cfg.network.subnets["app"].cidr),
        machine=Machine(db.machine_type, BootDisk(db.image, db.boot_disk_gb, db.boot_disk_type)),
        storage=Storage(disk_gb=db.data_disk_gb, snapshot_retention_days=db.snapshot_retention_days,
                        snapshot_start_time=db.snapshot_start_time),
        database=Database(name=db.postgres_db, user=db.postgres_user, chroma_port=db.chroma_port),
        backups=Backups(bucket=bk.bucket, location=bk.location, schedule=bk.schedule,
                        retention_days=bk.retention_days, lock_retention=bk.lock_retention,
                        restore_readers=tuple(bk.restore_readers)),
        secret_readers=(app_identity.member,), deletion_protection=db.deletion_protection), opts)

    app_group = AppTier("app-tier", AppTierArgs(
        placement=at, subnetwork=subnets["app"],
        service_account_email=app_identity.email, network_tags=(nm("app"),),
        app=AppContainer(cfg.app.image, cfg.app.port, cfg.app.health_path, dict(cfg.app.env)),
        domain=cfg.dns.domain, database=database.connection, zones=tuple(app.zones),
        machine=Machine(app.machine_type, BootDisk(app.image, app.boot_disk_gb, app.boot_disk_type)),
        gpu=Accelerator(app.gpu.type, app.gpu.count) if app.gpu else None,
        scaling=Scaling(min_replicas=app.min_replicas, max_replicas=app.max_replicas,
                        cpu_target=app.cpu_target, cooldown_sec=app.cooldown_sec,
                        autohealing_initial_delay_sec=app.autohealing_initial_delay_sec),
        rollout=Rollout(max_surge=app.max_surge, max_unavailable=app.max_unavailable)), opts)

    c, armor = lb.cdn, lb.cloud_armor
    front = WebFront("web-front", WebFrontArgs(
        placement=at, domain=cfg.dns.domain, backend=app_group.backend, log_sample_rate=lb.log_sample_rate,
        tls=Tls(certificate_self_link=lb.certificate_self_link, ssl_profile=lb.ssl_profile,
                min_tls_version=lb.min_tls_version),
        cdn=CdnSpec(c.enabled, c.cache_mode, c.default_ttl, c.max_ttl, c.client_ttl),
        armor=ArmorRules(armor.blocked_cidrs, armor.rate_limit_per_minute) if armor.enabled else None,
        dns=DnsZone(cfg.dns.managed_zone, cfg.dns.ttl) if cfg.dns.managed_zone else None), opts)

    iap = f"--project {g.project} --tunnel-through-iap"
    pulumi.export("lb_ip", front.address)
    pulumi.export("url", f"https://{cfg.dns.domain}")
    pulumi.export("db_internal_ip", database.vm.internal_ip)
    pulumi.export("backup_bucket", database.bucket_name)
    pulumi.export("db_password_secret", database.connection.password_secret)
    pulumi.export("ssh_db", database.vm.name.apply(
        lambda n: f"gcloud compute ssh {n} --zone {db.zone} {iap}"))
    pulumi.export("ssh_app", f"gcloud compute instances list --project {g.project} "
                             f"--filter='name~^{nm('app')}-' ; gcloud compute ssh INSTANCE "
                             f"--zone ZONE {iap}")

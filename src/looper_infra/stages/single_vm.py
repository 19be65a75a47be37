"""The single public VM shared by stages v1 and v2 (v2 adds GPU options, not a copy).

    provider -> network + firewall
             -> app server: service account, static IP, VM (cloud-init: Docker, app, Caddy HTTPS,
                Ops Agent[, NVIDIA stack]), DNS A record
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from looper_infra.components.gcp.app_container import AppContainer
from looper_infra.components.gcp.app_server import AppServer, AppServerArgs, GpuSpec
from looper_infra.components.gcp.dns_record import DnsZone
from looper_infra.components.gcp.firewall import Firewall, FirewallArgs
from looper_infra.components.gcp.placement import Placement
from looper_infra.components.gcp.vm import BootDisk, Machine
from looper_infra.config.v1 import SingleVmStage
from looper_infra.rules import gcp_firewall
from looper_infra.stages.foundation import stage_foundation


@dataclass(frozen=True)
class SingleVm:
    provider: pulumi.ProviderResource
    server: AppServer


def build(cfg: SingleVmStage, gpu: GpuSpec | None = None) -> SingleVm:
    """Create the stage's resources and its common outputs."""
    g, vm, app, dns = cfg.gcp, cfg.vm, cfg.app, cfg.dns
    base = stage_foundation(cfg, cfg.network)
    nm, network = base.nm, base.network

    open_ssh = sorted(k for k, v in cfg.access.admin_ssh_cidrs.items() if v.prefixlen == 0)
    if open_ssh:
        pulumi.log.warn(f"SSH is open to the internet through admin_ssh_cidrs {open_ssh} "
                        "(access.allow_ssh_from_internet is true)")
    web_tag, ssh_tag = nm("web"), nm("ssh")
    Firewall("firewall", FirewallArgs(
        project=g.project, network=network.self_link, name_prefix=nm("fw"),
        rules=gcp_firewall.app_vm_rules(web_tag=web_tag, ssh_tag=ssh_tag,
                                        admin_ssh_cidrs=cfg.access.admin_ssh_cidrs),
    ), base.opts)

    server = AppServer("app-server", AppServerArgs(
        placement=Placement(g.project, g.region, cfg.name_prefix, cfg.env), zone=g.zone,
        subnetwork=network.subnet_self_links[vm.subnet],
        machine=Machine(vm.machine_type, BootDisk(vm.image, vm.boot_disk_gb, vm.boot_disk_type)),
        app=AppContainer(app.image, app.port, app.health_path, dict(app.env)),
        domain=dns.domain, acme_email=app.acme_email, network_tags=(web_tag, ssh_tag),
        dns=DnsZone(dns.managed_zone, dns.ttl) if dns.managed_zone else None,
        gpu=gpu, deletion_protection=vm.deletion_protection,
    ), base.opts)

    pulumi.export("external_ip", server.address)
    pulumi.export("internal_ip", server.internal_ip)
    pulumi.export("url", f"https://{dns.domain}")
    pulumi.export("dns_managed", bool(dns.managed_zone))
    pulumi.export("service_account", server.service_account_email)
    pulumi.export("ssh_command", server.vm.name.apply(
        lambda n: f"gcloud compute ssh {n} --zone {g.zone} --project {g.project} "
                  "--tunnel-through-iap"))
    return SingleVm(provider=base.provider, server=server)

"""The single public VM shared by stages v1 and v2 (v2 adds GPU options, not a copy).

    provider -> network + firewall -> service account -> static IP
             -> VM (cloud-init: Docker, app, Caddy HTTPS, Ops Agent[, NVIDIA stack]) -> DNS A record
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from looper_infra.bootstrap import AppVmStartup, render_app_vm_cloud_config
from looper_infra.bootstrap.app_vm import GpuSetup
from looper_infra.components.gcp.dns_record import DnsRecord, DnsRecordArgs
from looper_infra.components.gcp.firewall import Firewall, FirewallArgs
from looper_infra.components.gcp.service_account import ServiceAccount, ServiceAccountArgs
from looper_infra.components.gcp.static_ip import StaticIp, StaticIpArgs
from looper_infra.components.gcp.vm import Accelerator, BootDisk, Scheduling, Vm, VmArgs
from looper_infra.config.v1 import SingleVmStage
from looper_infra.rules import gcp_firewall
from looper_infra.stages.foundation import gcp_foundation

#: The only project roles the VM's identity gets: write logs and metrics.
VM_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")


@dataclass(frozen=True)
class GpuOptions:
    accelerators: tuple[Accelerator, ...]
    scheduling: Scheduling
    secure_boot: bool
    setup: GpuSetup


@dataclass(frozen=True)
class SingleVm:
    provider: pulumi.ProviderResource
    vm: Vm
    address: pulumi.Output[str]


def build(cfg: SingleVmStage, gpu: GpuOptions | None = None) -> SingleVm:
    """Create the stage's resources and its common outputs."""
    g = cfg.gcp
    base = gcp_foundation(cfg, cfg.network)
    nm, opts, network, provider = base.nm, base.opts, base.network, base.provider

    open_ssh = sorted(k for k, v in cfg.access.admin_ssh_cidrs.items() if v.prefixlen == 0)
    if open_ssh:
        pulumi.log.warn(f"SSH is open to the internet through admin_ssh_cidrs {open_ssh} "
                        "(access.allow_ssh_from_internet is true)")
    web_tag, ssh_tag = nm("web"), nm("ssh")
    Firewall("firewall", FirewallArgs(
        project=g.project, network=network.self_link, name_prefix=nm("fw"),
        rules=gcp_firewall.app_vm_rules(web_tag=web_tag, ssh_tag=ssh_tag,
                                 admin_ssh_cidrs=cfg.access.admin_ssh_cidrs),
    ), opts)

    identity = ServiceAccount("vm-identity", ServiceAccountArgs(
        project=g.project, account_id=nm("vm"), display_name=f"Looper {cfg.env} app VM",
        roles=VM_ROLES,
    ), opts)

    ip = StaticIp("ip", StaticIpArgs(project=g.project, region=g.region, cloud_name=nm("ip")), opts)

    startup = render_app_vm_cloud_config(AppVmStartup(
        domain=cfg.dns.domain, acme_email=cfg.app.acme_email, app_image=cfg.app.image,
        app_port=cfg.app.port, health_path=cfg.app.health_path, app_env=dict(cfg.app.env),
        gpu=gpu.setup if gpu else None,
    ))
    vm = Vm("app", VmArgs(
        project=g.project, zone=g.zone, cloud_name=nm("app"), machine_type=cfg.vm.machine_type,
        boot_disk=BootDisk(cfg.vm.image, cfg.vm.boot_disk_gb, cfg.vm.boot_disk_type),
        subnetwork=network.subnet_self_links[cfg.vm.subnet],
        service_account_email=identity.email, nat_ip=ip.address, network_tags=(web_tag, ssh_tag),
        user_data=startup, labels={"role": "gpu-app" if gpu else "app"},
        deletion_protection=cfg.vm.deletion_protection,
        accelerators=gpu.accelerators if gpu else (),
        scheduling=gpu.scheduling if gpu else Scheduling(),
        secure_boot=gpu.secure_boot if gpu else True,
    ), opts)

    if cfg.dns.managed_zone:
        DnsRecord("dns", DnsRecordArgs(
            project=g.project, managed_zone=cfg.dns.managed_zone, fqdn=cfg.dns.domain,
            addresses=ip.address.apply(lambda a: [a]), ttl=cfg.dns.ttl,
        ), opts)

    pulumi.export("external_ip", ip.address)
    pulumi.export("internal_ip", vm.internal_ip)
    pulumi.export("url", f"https://{cfg.dns.domain}")
    pulumi.export("dns_managed", bool(cfg.dns.managed_zone))
    pulumi.export("service_account", identity.email)
    pulumi.export("ssh_command", vm.name.apply(
        lambda n: f"gcloud compute ssh {n} --zone {g.zone} --project {g.project} "
                  "--tunnel-through-iap"))
    return SingleVm(provider=provider, vm=vm, address=ip.address)

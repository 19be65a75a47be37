"""The public app server of stages v1 and v2: one VM serving the app over HTTPS, and its name.

    AppServer
      ServiceAccount "vm-identity"   its own identity: write logs and metrics, nothing else
      StaticIp "ip"                  the external address (survives VM replacement)
      Vm "app"                       cloud-init: Docker, the app, Caddy HTTPS, Ops Agent[, NVIDIA]
      DnsRecord "dns"                A record -> the address (when a managed zone is given)

The startup document is rendered here from plain values. Children keep the logical names the
stages deployed them with as top-level resources (a rename would replace them), so a stack
holds one AppServer.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from looper_infra.bootstrap.app_vm import AppVmStartup, GpuSetup, render_app_vm_cloud_config
from looper_infra.components.base import Component, moved_from_root
from looper_infra.components.gcp.app_container import AppContainer
from looper_infra.components.gcp.dns_record import DnsRecord, DnsRecordArgs, DnsZone
from looper_infra.components.gcp.placement import Placement
from looper_infra.components.gcp.service_account import (
    VM_ROLES,
    ServiceAccount,
    ServiceAccountArgs,
    account_id_problems,
)
from looper_infra.components.gcp.static_ip import StaticIp, StaticIpArgs
from looper_infra.components.gcp.vm import Accelerator, Machine, Scheduling, Vm, VmArgs


@dataclass(frozen=True)
class GpuSpec:
    """NVIDIA GPUs on the server; it stops for host maintenance (GPUs cannot live-migrate)."""

    type: str
    count: int
    install_cuda_toolkit: bool = True
    provisioning_model: str = "STANDARD"
    automatic_restart: bool = True
    #: SPOT only: STOP or DELETE a preempted VM
    termination_action: str | None = None
    #: Shielded VM Secure Boot (Ubuntu's NVIDIA modules are signed and load under it)
    secure_boot: bool = True


@dataclass(frozen=True)
class AppServerArgs:
    #: cloud names: `<prefix>-<env>-vm` (identity), `-ip`, `-app` (the VM)
    placement: Placement
    zone: str
    subnetwork: pulumi.Input[str]
    machine: Machine
    app: AppContainer
    #: the domain Caddy serves over HTTPS, and the ACME account of its certificates
    domain: str
    acme_email: str
    #: the tags the firewall admits traffic by
    network_tags: tuple[str, ...]
    #: publish `domain` -> the address in this zone (None: DNS is managed elsewhere)
    dns: DnsZone | None = None
    gpu: GpuSpec | None = None
    deletion_protection: bool = True

    def problems(self) -> list[str]:
        found = account_id_problems("placement", self.placement.name("vm"))
        if not self.network_tags:
            found.append("network_tags: at least one (the firewall admits traffic by tag)")
        return found


class AppServer(Component):
    vm: Vm
    #: the external address the DNS record points at
    address: pulumi.Output[str]
    internal_ip: pulumi.Output[str]
    service_account_email: pulumi.Output[str]

    def __init__(self, name: str, args: AppServerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:AppServer", name, args, opts)
        moved, gpu, at = moved_from_root(self.child_opts), args.gpu, args.placement
        identity = ServiceAccount("vm-identity", ServiceAccountArgs(
            project=at.project, account_id=at.name("vm"),
            display_name=f"Looper {at.env} app VM", roles=VM_ROLES), moved)
        ip = StaticIp("ip", StaticIpArgs(
            project=at.project, region=at.region, cloud_name=at.name("ip")), moved)
        self.vm = Vm("app", VmArgs(
            project=at.project, zone=args.zone, cloud_name=at.name("app"),
            machine_type=args.machine.type, boot_disk=args.machine.boot_disk,
            subnetwork=args.subnetwork, service_account_email=identity.email, nat_ip=ip.address,
            network_tags=args.network_tags, user_data=_startup(args),
            labels={"role": "gpu-app" if gpu else "app"},
            deletion_protection=args.deletion_protection,
            accelerators=(Accelerator(gpu.type, gpu.count),) if gpu else (),
            scheduling=Scheduling(
                provisioning_model=gpu.provisioning_model, on_host_maintenance="TERMINATE",
                automatic_restart=gpu.automatic_restart,
                instance_termination_action=gpu.termination_action) if gpu else Scheduling(),
            secure_boot=gpu.secure_boot if gpu else True,
        ), moved)
        if args.dns is not None:
            DnsRecord("dns", DnsRecordArgs(
                project=at.project, managed_zone=args.dns.managed_zone, fqdn=args.domain,
                addresses=ip.address.apply(lambda a: [a]), ttl=args.dns.ttl), moved)
        self.address = ip.address
        self.internal_ip = self.vm.internal_ip
        self.service_account_email = identity.email
        self.register_outputs({"address": self.address, "internal_ip": self.internal_ip,
                               "service_account_email": self.service_account_email})


def _startup(args: AppServerArgs) -> str:
    """The VM's cloud-config: the app behind Caddy (HTTPS), with the NVIDIA stack for GPUs."""
    app, gpu = args.app, args.gpu
    return render_app_vm_cloud_config(AppVmStartup(
        domain=args.domain, acme_email=args.acme_email, app_image=app.image, app_port=app.port,
        health_path=app.health_path, app_env=dict(app.env),
        gpu=GpuSetup(count=gpu.count, install_cuda_toolkit=gpu.install_cuda_toolkit) if gpu else None,
    ))

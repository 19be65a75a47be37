"""A hardened instance template for a managed instance group (no external IP)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component
from looper_infra.components.gcp.vm import (
    HARDENED_METADATA,
    LOG_METRIC_SCOPES,
    Accelerator,
    BootDisk,
    Scheduling,
)


@dataclass(frozen=True)
class InstanceTemplateArgs:
    project: str
    region: str
    name_prefix: str
    machine_type: str
    boot_disk: BootDisk
    subnetwork: pulumi.Input[str]
    service_account_email: pulumi.Input[str]
    user_data: pulumi.Input[str]
    network_tags: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    scopes: tuple[str, ...] = LOG_METRIC_SCOPES
    scheduling: Scheduling = field(default_factory=Scheduling)
    accelerators: tuple[Accelerator, ...] = ()

    def problems(self) -> list[str]:
        if self.accelerators and self.scheduling.on_host_maintenance != "TERMINATE":
            return ["scheduling.on_host_maintenance: templates with GPUs must use TERMINATE"]
        return []


class InstanceTemplate(Component):
    template: compute.InstanceTemplate
    self_link: pulumi.Output[str]

    def __init__(self, name: str, args: InstanceTemplateArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:InstanceTemplate", name, args, opts)
        sched = args.scheduling
        # Templates are immutable: a change creates a new one (name_prefix) before the
        # group moves to it and the old one is deleted.
        self.template = compute.InstanceTemplate(
            f"{name}-template",
            name_prefix=f"{args.name_prefix}-",
            project=args.project,
            region=args.region,
            machine_type=args.machine_type,
            disks=[compute.InstanceTemplateDiskArgs(
                boot=True, auto_delete=True, source_image=args.boot_disk.image,
                disk_size_gb=args.boot_disk.size_gb, disk_type=args.boot_disk.type)],
            network_interfaces=[compute.InstanceTemplateNetworkInterfaceArgs(
                subnetwork=args.subnetwork)],  # no access_configs: no external IP
            service_account=compute.InstanceTemplateServiceAccountArgs(
                email=args.service_account_email, scopes=list(args.scopes)),
            shielded_instance_config=compute.InstanceTemplateShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True),
            scheduling=compute.InstanceTemplateSchedulingArgs(
                provisioning_model=sched.provisioning_model,
                on_host_maintenance=sched.on_host_maintenance,
                automatic_restart=sched.automatic_restart),
            guest_accelerators=[
                compute.InstanceTemplateGuestAcceleratorArgs(type=a.type, count=a.count)
                for a in args.accelerators
            ] or None,
            metadata={**HARDENED_METADATA, "user-data": args.user_data},
            tags=list(args.network_tags),
            labels=dict(args.labels),
            opts=self.child_opts,
        )
        self.self_link = self.template.self_link
        self.register_outputs({"self_link": self.self_link})

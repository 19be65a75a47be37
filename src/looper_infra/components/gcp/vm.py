"""A hardened Compute Engine VM: Shielded VM, OS Login, no project SSH keys, no serial port.

Used as-is by v1 and extended by typed options (scheduling, accelerators) for
the GPU stage, so there is one VM component in the code base.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component

#: Narrow OAuth scopes: the VM's identity can only write logs and metrics,
#: whatever roles its service account is later given.
LOG_METRIC_SCOPES = (
    "https://www.googleapis.com/auth/logging.write",
    "https://www.googleapis.com/auth/monitoring.write",
)

#: For VMs that call Secret Manager (which accepts no narrower scope) or Cloud Storage:
#: the scope stops limiting, so the dedicated service account's IAM grants are the limit.
IAM_LIMITED_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)

#: Metadata every Looper VM carries; callers cannot switch these off.
HARDENED_METADATA = {
    "enable-oslogin": "TRUE",
    "block-project-ssh-keys": "TRUE",
    "serial-port-enable": "FALSE",
    "enable-guest-attributes": "TRUE",
}


@dataclass(frozen=True)
class BootDisk:
    image: str
    size_gb: int
    type: str = "pd-balanced"


@dataclass(frozen=True)
class Machine:
    """What a VM or instance template runs on: machine type and boot disk."""

    type: str
    boot_disk: BootDisk


@dataclass(frozen=True)
class Scheduling:
    """Host maintenance / provisioning behaviour (GPU and spot VMs override it)."""

    provisioning_model: str = "STANDARD"
    on_host_maintenance: str = "MIGRATE"
    automatic_restart: bool = True
    instance_termination_action: str | None = None


@dataclass(frozen=True)
class Accelerator:
    type: str
    count: int


@dataclass(frozen=True)
class AttachedDisk:
    source: pulumi.Input[str]
    #: the guest sees it as /dev/disk/by-id/google-<device_name>
    device_name: str


@dataclass(frozen=True)
class VmArgs:
    project: str
    zone: str
    cloud_name: str
    machine_type: str
    boot_disk: BootDisk
    subnetwork: pulumi.Input[str]
    service_account_email: pulumi.Input[str]
    #: None: no external IP; otherwise the reserved address to attach
    nat_ip: pulumi.Input[str] | None = None
    #: a reserved internal address (None: ephemeral)
    network_ip: pulumi.Input[str] | None = None
    network_tags: tuple[str, ...] = ()
    user_data: pulumi.Input[str] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    scopes: tuple[str, ...] = LOG_METRIC_SCOPES
    scheduling: Scheduling = field(default_factory=Scheduling)
    #: GPUs; a VM with any must use on_host_maintenance=TERMINATE (GPUs cannot live-migrate)
    accelerators: tuple[Accelerator, ...] = ()
    attached_disks: tuple[AttachedDisk, ...] = ()
    secure_boot: bool = True
    deletion_protection: bool = True
    #: cloud-init runs once per instance: a changed startup document only takes effect on a
    #: new instance, so metadata changes replace the VM (deleted first: its name is fixed;
    #: the static IP and DNS record stay). With deletion protection on, turn it off first.
    replace_on_startup_change: bool = True

    def problems(self) -> list[str]:
        """What GCP refuses and the caller, not config, decides (spot rules are config's)."""
        sched, found = self.scheduling, []
        if self.accelerators and sched.on_host_maintenance != "TERMINATE":
            found.append("scheduling.on_host_maintenance: VMs with GPUs must use TERMINATE")
        if sched.provisioning_model == "SPOT" and sched.on_host_maintenance != "TERMINATE":
            found.append("scheduling.on_host_maintenance: SPOT VMs must use TERMINATE")
        return found


class Vm(Component):
    instance: compute.Instance
    name: pulumi.Output[str]
    self_link: pulumi.Output[str]
    internal_ip: pulumi.Output[str]

    def __init__(self, name: str, args: VmArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:Vm", name, args, opts)
        metadata: dict[str, pulumi.Input[str]] = dict(HARDENED_METADATA)
        if args.user_data is not None:
            metadata["user-data"] = args.user_data
        access_configs = (
            [compute.InstanceNetworkInterfaceAccessConfigArgs(nat_ip=args.nat_ip,
                                                              network_tier="PREMIUM")]
            if args.nat_ip is not None
            else None
        )
        sched = args.scheduling
        self.instance = compute.Instance(
            f"{name}-instance",
            name=args.cloud_name,
            project=args.project,
            zone=args.zone,
            machine_type=args.machine_type,
            boot_disk=compute.InstanceBootDiskArgs(
                auto_delete=True,
                initialize_params=compute.InstanceBootDiskInitializeParamsArgs(
                    image=args.boot_disk.image,
                    size=args.boot_disk.size_gb,
                    type=args.boot_disk.type,
                ),
            ),
            network_interfaces=[
                compute.InstanceNetworkInterfaceArgs(
                    subnetwork=args.subnetwork, network_ip=args.network_ip,
                    access_configs=access_configs,
                )
            ],
            service_account=compute.InstanceServiceAccountArgs(
                email=args.service_account_email, scopes=list(args.scopes)
            ),
            attached_disks=[
                compute.InstanceAttachedDiskArgs(source=d.source, device_name=d.device_name)
                for d in args.attached_disks
            ] or None,
            guest_accelerators=[
                compute.InstanceGuestAcceleratorArgs(type=a.type, count=a.count)
                for a in args.accelerators
            ] or None,
            shielded_instance_config=compute.InstanceShieldedInstanceConfigArgs(
                enable_secure_boot=args.secure_boot,
                enable_vtpm=True,
                enable_integrity_monitoring=True,
            ),
            scheduling=compute.InstanceSchedulingArgs(
                provisioning_model=sched.provisioning_model,
                on_host_maintenance=sched.on_host_maintenance,
                automatic_restart=sched.automatic_restart,
                preemptible=sched.provisioning_model == "SPOT",
                instance_termination_action=sched.instance_termination_action,
            ),
            metadata=metadata,
            tags=list(args.network_tags),
            labels=dict(args.labels),
            deletion_protection=args.deletion_protection,
            allow_stopping_for_update=True,
            opts=pulumi.ResourceOptions.merge(self.child_opts, pulumi.ResourceOptions(
                replace_on_changes=["metadata"] if args.replace_on_startup_change else None,
                delete_before_replace=args.replace_on_startup_change,
            )),
        )
        self.name = self.instance.name
        self.self_link = self.instance.self_link
        self.internal_ip = self.instance.network_interfaces.apply(
            lambda nics: str(nics[0].network_ip)
        )
        self.register_outputs(
            {"name": self.name, "self_link": self.self_link, "internal_ip": self.internal_ip}
        )

"""Config models of NVIDIA L4 GPUs on G2 machine types: the v2 GPU VM, its scheduling, alerts."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from looper_infra.config.base import Strict
from looper_infra.config.gcp import Vm
from looper_infra.facts.gpu import G2_GPU_COUNTS


class Gpu(Strict):
    """The accelerator: its type and how many (must match the machine type)."""

    type: Literal["nvidia-l4"] = Field("nvidia-l4", description="Accelerator type (L4 on G2 only).")
    count: int = Field(1, ge=1, le=8, description="GPUs attached; fixed by the G2 machine type.")


class Scheduling(Strict):
    """Standard or spot capacity. GPU VMs always stop for host maintenance (TERMINATE)."""

    provisioning_model: Literal["STANDARD", "SPOT"] = Field(
        "STANDARD", description="SPOT is much cheaper but can be preempted at any time."
    )
    automatic_restart: bool = Field(
        True, description="Restart after a crash or maintenance; must be false for SPOT."
    )
    termination_action: Literal["STOP", "DELETE"] | None = Field(
        None, description="What GCP does to a preempted SPOT VM; required with SPOT, "
        "not allowed with STANDARD."
    )

    @field_validator("automatic_restart")
    @classmethod
    def _spot_cannot_restart(cls, v: bool, info: ValidationInfo) -> bool:
        if v and info.data.get("provisioning_model") == "SPOT":
            raise ValueError("SPOT VMs cannot restart automatically; set it to false")
        return v

    @field_validator("termination_action")
    @classmethod
    def _only_with_spot(cls, v: str | None, info: ValidationInfo) -> str | None:
        model = info.data.get("provisioning_model")
        if model == "SPOT" and v is None:
            raise ValueError("required with SPOT: STOP (keep the disk) or DELETE")
        if model == "STANDARD" and v is not None:
            raise ValueError("only applies to SPOT VMs")
        return v


class GpuVm(Vm):
    """The GPU VM: a G2 machine with L4 GPUs, Secure Boot with signed drivers."""

    FAMILIES: ClassVar[tuple[str, ...]] = ("g2",)
    VCPUS: ClassVar[tuple[int, int]] = (4, 96)
    #: the driver, CUDA toolkit, container toolkit and CUDA images need room
    DISK_GB: ClassVar[tuple[int, int]] = (100, 4000)

    machine_type: str = Field(
        "g2-standard-4", description="G2 machine type (`g2-standard-N`); fixes the GPU count."
    )
    boot_disk_gb: int = Field(
        150, description="Boot disk size in GB (100-4000): drivers, CUDA and images."
    )
    boot_disk_type: Literal["pd-balanced", "pd-ssd"] = Field(  # type: ignore[assignment]
        "pd-balanced", description="Boot disk type (G2 does not support pd-standard)."
    )
    gpu: Gpu = Field(default_factory=Gpu, description="The GPUs.")
    scheduling: Scheduling = Field(default_factory=Scheduling, description="Standard or spot.")
    secure_boot: bool = Field(
        True, description="Shielded VM Secure Boot. On by default: the driver comes from "
        "Ubuntu's archive with Canonical-signed kernel modules, which load under Secure Boot.",
    )
    install_cuda_toolkit: bool = Field(
        True, description="Also install the pinned CUDA toolkit on the host (containers bring "
        "their own CUDA runtime either way).",
    )

    @field_validator("gpu")
    @classmethod
    def _count_matches_machine(cls, v: Gpu, info: ValidationInfo) -> Gpu:
        machine = info.data.get("machine_type")
        if machine is None:  # invalid machine type, already reported
            return v
        expected = G2_GPU_COUNTS.get(machine)
        if expected is None:
            raise ValueError(f"{machine!r} is not a G2 machine type with L4 GPUs "
                             f"({', '.join(G2_GPU_COUNTS)})")
        if v.count != expected:
            raise ValueError(f"{machine} has {expected} L4 GPU(s), not {v.count}")
        return v


class GpuAlerts(Strict):
    """Optional Cloud Monitoring alert policies on the GPU (DCGM metrics via the Ops Agent)."""

    enabled: bool = Field(False, description="Create the alert policies.")
    utilization_below_percent: int = Field(
        5, ge=0, le=100, description="Alert when GPU utilisation stays below this (idle GPU)."
    )
    duration_minutes: int = Field(30, ge=1, le=1440, description="How long before alerting.")
    notification_channels: list[str] = Field(
        default_factory=list,
        description="Notification channel IDs (projects/P/notificationChannels/N).",
    )

    @field_validator("notification_channels")
    @classmethod
    def _channel_ids(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not c.startswith("projects/") or "/notificationChannels/" not in c]
        if bad:
            raise ValueError(f"not notification channel IDs: {', '.join(bad)}")
        return v

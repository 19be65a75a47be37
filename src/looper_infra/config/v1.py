"""Stack configs of the single-VM GCP stages: v1, and v2 with a GPU."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from looper_infra.config.base import Strict
from looper_infra.config.gcp import Access, App, Dns, GcpSettings, Network, Vm, check_labels
from looper_infra.config.gpu import L4_ZONES, L4_ZONES_AS_OF, GpuAlerts, GpuVm

Env = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,11}$")]


class StageBase(Strict):
    """What every stage has: which stage, the environment, names, labels and the GCP location."""

    stage: str = Field(description="Architecture stage this stack builds.")
    env: Env = Field(description="Environment name used in names and labels (e.g. dev, prod).")
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,15}$")] = Field(
        "looper", description="Prefix of every cloud resource name."
    )
    labels: Annotated[dict[str, str], AfterValidator(check_labels)] = Field(
        default_factory=dict, description="Extra labels on every resource."
    )
    gcp: GcpSettings


class SingleVmStage(StageBase):
    """What every single-VM stage has: network, access, the VM, DNS and the app."""

    network: Network
    access: Access = Field(default_factory=Access)
    vm: Vm = Field(default_factory=Vm)
    dns: Dns
    app: App

    def cross_issues(self) -> list[tuple[str, str]]:
        """Checks across sections, run once every section is valid: (path, message)."""
        issues = []
        subnet = self.vm.subnet
        if subnet not in self.network.subnets:
            issues.append(("vm.subnet", f"{subnet!r} is not a key of network.subnets "
                                        f"({', '.join(sorted(self.network.subnets))})"))
        return issues


class V1Config(SingleVmStage):
    """Stage v1: custom VPC, firewall, static IP, DNS record, service account, one VM."""

    stage: Literal["v1"] = Field(description="Architecture stage this stack builds.")


class V2Config(SingleVmStage):
    """Stage v2: v1 with NVIDIA L4 GPUs (drivers, CUDA, container toolkit, DCGM metrics)."""

    stage: Literal["v2"] = Field(description="Architecture stage this stack builds.")
    vm: GpuVm = Field(default_factory=GpuVm)  # type: ignore[assignment]
    gpu_alerts: GpuAlerts = Field(default_factory=GpuAlerts)

    def cross_issues(self) -> list[tuple[str, str]]:
        issues = super().cross_issues()
        offered = L4_ZONES.get(self.gcp.region, ())
        if self.gcp.zone not in offered:
            where = f"in {self.gcp.region}: {', '.join(offered)}" if offered else \
                f"anywhere in {self.gcp.region}"
            issues.append(("gcp.zone", f"{self.gcp.zone} does not offer NVIDIA L4 GPUs "
                                       f"(L4 zones {where}; table as of {L4_ZONES_AS_OF})"))
        return issues

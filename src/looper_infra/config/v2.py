"""Stack config of stage v2: the single-VM stage with NVIDIA L4 GPUs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from looper_infra.config.gpu import GpuAlerts, GpuVm
from looper_infra.config.v1 import SingleVmStage
from looper_infra.facts.gpu import L4_ZONES, L4_ZONES_AS_OF


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

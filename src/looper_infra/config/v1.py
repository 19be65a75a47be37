"""Stack config of stage v1, and what every GCP stage (StageBase) and single-VM stage share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from looper_infra.config.base import Strict
from looper_infra.config.gcp import Access, App, Dns, GcpSettings, Network, Vm, check_labels

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

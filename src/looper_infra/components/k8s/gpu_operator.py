"""The NVIDIA GPU operator for GPU nodes whose driver comes from Ubuntu (Canonical-signed).

GPU nodes (bootstrap/k8s_node.py) install the precompiled, Secure-Boot-signed NVIDIA driver
on the host and join labelled `nvidia.com/gpu.present=true`, `nvidia.com/gpu.deploy.driver=false`,
`looper/accelerator=<type>` and tainted `nvidia.com/gpu=present:NoSchedule`. So the operator
runs without its driver container; its toolkit configures CRI-O (the runtime of every node:
no mixed runtimes) and, with CDI (the default since v25.10), injects the devices through
CRI-O's CDI support. Operand DaemonSets select nodes by the operator's
`nvidia.com/gpu.deploy.<operand>` labels, which it sets only on GPU nodes, and tolerate the
GPU taint; the DCGM exporter exposes GPU metrics with a ServiceMonitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from looper_infra.components.k8s.helm import pinned_release

GPU_TAINT = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


@dataclass(frozen=True)
class GpuOperatorValues:
    """Values of the gpu-operator chart."""

    dcgm_exporter: bool = True
    service_monitor: bool = True
    #: the kube-prometheus-stack release (its ServiceMonitor CRD): the release waits for it by data
    prometheus_release: pulumi.Input[str] | None = None

    def values(self) -> dict[str, Any]:
        small = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
        return {
            "operator": {"defaultRuntime": "crio", "resources": small},
            "driver": {"enabled": False},  # the host's Canonical-signed driver
            "toolkit": {"enabled": True},
            "cdi": {"enabled": True},
            "devicePlugin": {"enabled": True},
            "gfd": {"enabled": True},
            "migManager": {"enabled": False},
            "dcgmExporter": {"enabled": self.dcgm_exporter,
                             "serviceMonitor": {"enabled": self.dcgm_exporter and self.service_monitor}},
            # operands: the operator schedules them by its `nvidia.com/gpu.deploy.<operand>` node
            # labels, which it sets only on GPU nodes (`nvidia.com/gpu.present=true`); they
            # tolerate exactly the GPU taint (not every taint: never the Kafka node)
            "daemonsets": {"tolerations": [GPU_TAINT],
                           "annotations": ({"looper/prometheus-release": self.prometheus_release}
                                           if self.prometheus_release is not None else {})},
            "nfd": {"enabled": True},
            "node-feature-discovery": {"worker": {"tolerations": [GPU_TAINT]}},
        }


@dataclass(frozen=True)
class GpuOperatorArgs:
    namespace: pulumi.Input[str]
    values: GpuOperatorValues


class GpuOperator(pulumi.ComponentResource):
    status: pulumi.Output[Any]

    def __init__(self, name: str, args: GpuOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:GpuOperator", name, None, opts)
        release = pinned_release(f"{name}-release", "gpu-operator", namespace=args.namespace,
                                 values=args.values.values(), timeout=900,
                                 opts=pulumi.ResourceOptions(parent=self))
        self.status = release.status
        self.register_outputs({"status": self.status})

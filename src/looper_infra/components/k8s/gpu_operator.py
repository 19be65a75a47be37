"""The NVIDIA GPU operator for GPU nodes whose driver comes from Ubuntu (Canonical-signed).

GPU nodes (bootstrap/k8s_node/) install the precompiled, Secure-Boot-signed NVIDIA driver
on the host and join labelled `nvidia.com/gpu.present=true`, `nvidia.com/gpu.deploy.driver=false`,
`looper/accelerator=<type>` and tainted `nvidia.com/gpu=present:NoSchedule`. So the operator
runs without its driver container; its toolkit configures CRI-O (the runtime of every node:
no mixed runtimes; the operator detects it from the node status' containerRuntimeVersion)
and, with CDI (the default since v25.10), injects the devices through CRI-O's CDI support.
Operand DaemonSets select nodes by the operator's `nvidia.com/gpu.deploy.<operand>` labels,
which it sets only on GPU nodes, and tolerate the
GPU taint; the DCGM exporter exposes GPU metrics with a ServiceMonitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from looper_infra.components.base import Component
from looper_infra.components.k8s.helm import pinned_release

GPU_TAINT = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


@dataclass(frozen=True)
class GpuOperatorArgs:
    namespace: pulumi.Input[str]
    dcgm_exporter: bool = True
    #: the kube-prometheus-stack release: the DCGM exporter gets a ServiceMonitor (its CRD comes
    #: with that release) and the release waits for it by data; None: no ServiceMonitor
    prometheus_release: pulumi.Input[str] | None = None


def gpu_operator_values(args: GpuOperatorArgs) -> dict[str, Any]:
    """Values of the gpu-operator chart."""
    small = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
    monitored = args.prometheus_release is not None
    return {
        # no `operator.defaultRuntime`: the chart dropped it in v25.3.0 (Helm ignored it since);
        # the operator reads each node's runtime from its status (`cri-o://...`)
        "operator": {"resources": small},
        "driver": {"enabled": False},  # the host's Canonical-signed driver
        "toolkit": {"enabled": True},
        "cdi": {"enabled": True},
        "devicePlugin": {"enabled": True},
        "gfd": {"enabled": True},
        "migManager": {"enabled": False},
        "dcgmExporter": {"enabled": args.dcgm_exporter,
                         "serviceMonitor": {"enabled": args.dcgm_exporter and monitored}},
        # operands: the operator schedules them by its `nvidia.com/gpu.deploy.<operand>` node
        # labels, which it sets only on GPU nodes (`nvidia.com/gpu.present=true`); they
        # tolerate exactly the GPU taint (not every taint: never the Kafka node)
        "daemonsets": {"tolerations": [GPU_TAINT],
                       "annotations": ({"looper/prometheus-release": args.prometheus_release}
                                       if monitored else {})},
        "nfd": {"enabled": True},
        "node-feature-discovery": {"worker": {"tolerations": [GPU_TAINT]}},
    }


class GpuOperator(Component):
    status: pulumi.Output[Any]

    def __init__(self, name: str, args: GpuOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:GpuOperator", name, None, opts)
        release = pinned_release(f"{name}-release", "gpu-operator", namespace=args.namespace,
                                 values=gpu_operator_values(args), timeout=900, opts=self.child_opts)
        self.status = release.status
        self.register_outputs({"status": self.status})

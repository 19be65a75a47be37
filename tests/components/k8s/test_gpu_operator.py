"""The GPU operator: pinned chart, host driver, CRI-O + CDI, operands only where the GPU taint is."""

from __future__ import annotations

from collections.abc import Callable

from looper_infra.components.k8s.gpu_operator import (
    GPU_TAINT,
    GpuOperator,
    GpuOperatorArgs,
    gpu_operator_values,
)
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS

RELEASE = "kubernetes:helm.sh/v3:Release"


def test_release_is_pinned_and_uses_the_host_driver_with_crio(plan_of: Callable[..., Plan]) -> None:
    plan = plan_of(lambda opts: GpuOperator("gpu", GpuOperatorArgs(
        namespace="gpu-operator", prometheus_release="kps"), opts))
    release = plan.one(RELEASE)
    pin = CHARTS["gpu-operator"]
    assert (release.inputs["chart"], release.inputs["version"]) == (pin.chart, pin.version)
    assert release.inputs["namespace"] == "gpu-operator" and release.inputs["timeout"] == 900
    values = release.inputs["values"]
    assert values["driver"] == {"enabled": False}  # the Canonical-signed host driver
    # the runtime is detected from the node (the chart has no operator.defaultRuntime since v25.3.0)
    assert "defaultRuntime" not in values["operator"]
    assert values["toolkit"]["enabled"] is True and values["cdi"]["enabled"] is True
    assert values["migManager"] == {"enabled": False}
    # operands tolerate exactly the GPU taint: never the Kafka node's
    assert values["daemonsets"]["tolerations"] == [GPU_TAINT]
    assert values["node-feature-discovery"]["worker"]["tolerations"] == [GPU_TAINT]
    assert values["dcgmExporter"] == {"enabled": True, "serviceMonitor": {"enabled": True}}
    assert values["daemonsets"]["annotations"] == {"looper/prometheus-release": "kps"}


def test_service_monitor_only_with_the_release_that_brings_its_crd() -> None:
    without = gpu_operator_values(GpuOperatorArgs(namespace="gpu-operator"))
    assert without["dcgmExporter"] == {"enabled": True, "serviceMonitor": {"enabled": False}}
    assert without["daemonsets"]["annotations"] == {}
    off = gpu_operator_values(GpuOperatorArgs(namespace="gpu-operator", dcgm_exporter=False,
                                              prometheus_release="kps"))
    assert off["dcgmExporter"] == {"enabled": False, "serviceMonitor": {"enabled": False}}

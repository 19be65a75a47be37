"""Cloud Monitoring alerts for a GPU VM, on the DCGM metrics the Ops Agent ships.

One policy, two conditions (either opens an incident):
  * GPU metrics absent: the driver, DCGM or the agent is broken, or the GPU is gone;
  * GPU utilisation below a threshold for a long time: an idle (paid-for) GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import monitoring

from looper_infra.components.base import Component

#: Metric the Ops Agent's `dcgm` receiver writes (ratio 0..1 per GPU).
GPU_UTILIZATION_METRIC = "workload.googleapis.com/gpu.dcgm.utilization"


@dataclass(frozen=True)
class GpuAlertPolicyArgs:
    project: str
    display_name: str
    instance_id: pulumi.Input[str]
    #: a ratio in [0, 1] (config/gpu.py GpuAlerts gives a percentage, 0-100)
    utilization_below: float
    duration_seconds: int
    notification_channels: tuple[str, ...] = ()


class GpuAlertPolicy(Component):
    policy: monitoring.AlertPolicy

    def __init__(self, name: str, args: GpuAlertPolicyArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:GpuAlertPolicy", name, None, opts)
        metric_filter = pulumi.Output.from_input(args.instance_id).apply(
            lambda iid: (f'metric.type = "{GPU_UTILIZATION_METRIC}" AND '
                         f'resource.type = "gce_instance" AND resource.label.instance_id = "{iid}"'))
        duration = f"{args.duration_seconds}s"
        aggregation = {"alignment_period": "60s", "per_series_aligner": "ALIGN_MEAN"}
        self.policy = monitoring.AlertPolicy(
            f"{name}-policy",
            project=args.project,
            display_name=args.display_name,
            combiner="OR",
            severity="WARNING",
            conditions=[
                monitoring.AlertPolicyConditionArgs(
                    display_name="GPU metrics absent (driver, DCGM or Ops Agent down)",
                    condition_absent=monitoring.AlertPolicyConditionConditionAbsentArgs(
                        filter=metric_filter, duration=duration,
                        aggregations=[monitoring.AlertPolicyConditionConditionAbsentAggregationArgs(
                            **aggregation)],
                    ),
                ),
                monitoring.AlertPolicyConditionArgs(
                    display_name=f"GPU utilisation below {args.utilization_below:.0%}",
                    condition_threshold=monitoring.AlertPolicyConditionConditionThresholdArgs(
                        filter=metric_filter, comparison="COMPARISON_LT",
                        threshold_value=args.utilization_below, duration=duration,
                        aggregations=[
                            monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                                **aggregation)],
                    ),
                ),
            ],
            notification_channels=list(args.notification_channels),
            documentation=monitoring.AlertPolicyDocumentationArgs(
                mime_type="text/markdown",
                content="Check `looper: gpu ready` in the VM's serial console and "
                        "`systemctl status nvidia-dcgm google-cloud-ops-agent` on the VM.",
            ),
            opts=self.child_opts,
        )
        self.register_outputs({"policy": self.policy.name})

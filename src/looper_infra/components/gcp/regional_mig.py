"""A regional managed instance group: spread over zones, autoscaled on CPU, autohealed.

The update policy is proactive and keeps capacity: new VMs are surged in before
old ones go. The zone count, replica bounds and the fixed surge/unavailable values
(0 or >= the zone count) are config's to validate (config/v3.py AppTier).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import compute

from looper_infra.components.base import Component


@dataclass(frozen=True)
class RegionalMigArgs:
    project: str
    region: str
    cloud_name: str
    instance_template: pulumi.Input[str]
    zones: tuple[str, ...]
    port_name: str
    port: int
    health_path: str
    min_replicas: int
    max_replicas: int
    cpu_target: float
    cooldown_sec: int
    autohealing_initial_delay_sec: int
    max_surge: int
    max_unavailable: int


class RegionalMig(Component):
    group: compute.RegionInstanceGroupManager
    #: the instance group URL a backend service points at
    instance_group: pulumi.Output[str]

    def __init__(self, name: str, args: RegionalMigArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:RegionalMig", name, None, opts)
        child = self.child_opts
        autohealing = compute.HealthCheck(
            f"{name}-autohealing", name=f"{args.cloud_name}-autohealing", project=args.project,
            check_interval_sec=10, timeout_sec=5, healthy_threshold=2, unhealthy_threshold=3,
            http_health_check=compute.HealthCheckHttpHealthCheckArgs(
                port=args.port, request_path=args.health_path),
            log_config=compute.HealthCheckLogConfigArgs(enable=True),
            opts=child)
        self.group = compute.RegionInstanceGroupManager(
            f"{name}-group", name=args.cloud_name, project=args.project, region=args.region,
            base_instance_name=args.cloud_name,
            distribution_policy_zones=list(args.zones),
            distribution_policy_target_shape="EVEN",
            versions=[compute.RegionInstanceGroupManagerVersionArgs(
                name="primary", instance_template=args.instance_template)],
            named_ports=[compute.RegionInstanceGroupManagerNamedPortArgs(
                name=args.port_name, port=args.port)],
            auto_healing_policies=compute.RegionInstanceGroupManagerAutoHealingPoliciesArgs(
                health_check=autohealing.id,
                initial_delay_sec=args.autohealing_initial_delay_sec),
            update_policy=compute.RegionInstanceGroupManagerUpdatePolicyArgs(
                type="PROACTIVE", minimal_action="REPLACE",
                instance_redistribution_type="PROACTIVE",
                max_surge_fixed=args.max_surge, max_unavailable_fixed=args.max_unavailable,
                replacement_method="SUBSTITUTE"),
            wait_for_instances=False,
            opts=child)
        compute.RegionAutoscaler(
            f"{name}-autoscaler", name=f"{args.cloud_name}-autoscaler", project=args.project,
            region=args.region, target=self.group.id,
            autoscaling_policy=compute.RegionAutoscalerAutoscalingPolicyArgs(
                min_replicas=args.min_replicas, max_replicas=args.max_replicas,
                cooldown_period=args.cooldown_sec,
                cpu_utilization=compute.RegionAutoscalerAutoscalingPolicyCpuUtilizationArgs(
                    target=args.cpu_target)),
            opts=child)
        self.instance_group = self.group.instance_group
        self.register_outputs({"instance_group": self.instance_group})

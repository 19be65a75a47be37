"""Stage v2: the v1 VM with NVIDIA L4 GPUs, ready for GPU containers at boot.

    v1 (single_vm) + guest accelerators, TERMINATE on maintenance, optional SPOT,
    NVIDIA driver / CUDA / container toolkit / DCGM in the startup automation,
    optional GPU alert policy
"""

from __future__ import annotations

import pulumi

from looper_infra.components.gcp.app_server import GpuSpec
from looper_infra.config.v2 import V2Config
from looper_infra.stages.single_vm import build


def program(cfg: V2Config) -> None:
    vm, sched = cfg.vm, cfg.vm.scheduling
    built = build(cfg, GpuSpec(
        type=vm.gpu.type, count=vm.gpu.count, install_cuda_toolkit=vm.install_cuda_toolkit,
        provisioning_model=sched.provisioning_model, automatic_restart=sched.automatic_restart,
        termination_action=sched.termination_action, secure_boot=vm.secure_boot))
    if cfg.gpu_alerts.enabled:
        from looper_infra.components.gcp.gpu_alert_policy import GpuAlertPolicy, GpuAlertPolicyArgs

        a = cfg.gpu_alerts
        GpuAlertPolicy("gpu-alerts", GpuAlertPolicyArgs(
            project=cfg.gcp.project, display_name=f"Looper {cfg.env} GPU VM",
            instance_id=built.server.vm.instance.instance_id,
            utilization_below=a.utilization_below_percent / 100,
            duration_seconds=a.duration_minutes * 60,
            notification_channels=tuple(a.notification_channels),
        ), pulumi.ResourceOptions(providers=[built.provider]))
    pulumi.export("gpu_type", vm.gpu.type)
    pulumi.export("gpu_count", vm.gpu.count)
    pulumi.export("provisioning_model", sched.provisioning_model)
    pulumi.export("gpu_ready_check", built.server.vm.name.apply(
        lambda n: f"gcloud compute instances get-guest-attributes {n} --zone {cfg.gcp.zone} "
                  f"--project {cfg.gcp.project} --query-path=looper/gpu"))

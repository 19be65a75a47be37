"""Vm under recording mocks: hardened by default; GPU and spot VMs stop for host maintenance."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import pytest

from looper_infra.components.base import InvalidArgs
from looper_infra.components.gcp.vm import (
    HARDENED_METADATA,
    Accelerator,
    AttachedDisk,
    BootDisk,
    Scheduling,
    Vm,
    VmArgs,
)
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program

PROJECT = "looper-offline"
INSTANCE = "gcp:compute/instance:Instance"


def vm_args(**changes: Any) -> VmArgs:
    args = VmArgs(project=PROJECT, zone="asia-northeast3-a", cloud_name="looper-dev-box",
                  machine_type="e2-standard-2",
                  boot_disk=BootDisk("ubuntu-os-cloud/ubuntu-2404-lts-amd64", 30),
                  subnetwork="subnet-self-link", service_account_email="box@looper.iam",
                  user_data="#cloud-config\n", network_tags=("box",))
    return replace(args, **changes)


def plan_of(args: VmArgs) -> Plan:
    return run_program(lambda: Vm("box", args), stage="test", stack="test",
                       context=MockContext(project=PROJECT))


def test_hardened_private_vm_replaced_when_its_startup_changes() -> None:
    vm = plan_of(vm_args(attached_disks=(AttachedDisk("disk-link", "data"),))).one(INSTANCE)
    assert {k: vm.inputs["metadata"][k] for k in HARDENED_METADATA} == HARDENED_METADATA
    assert vm.inputs["metadata"]["user-data"] == "#cloud-config\n"
    assert "accessConfigs" not in vm.inputs["networkInterfaces"][0]
    assert vm.inputs["shieldedInstanceConfig"] == {
        "enableSecureBoot": True, "enableVtpm": True, "enableIntegrityMonitoring": True}
    assert vm.inputs["attachedDisks"] == [{"source": "disk-link", "deviceName": "data"}]
    assert (vm.replace_on_changes, vm.delete_before_replace) == (["metadata"], True)


def test_gpu_vm_that_stops_for_maintenance_is_accepted() -> None:
    vm = plan_of(vm_args(accelerators=(Accelerator("nvidia-l4", 1),),
                         scheduling=Scheduling(on_host_maintenance="TERMINATE"))).one(INSTANCE)
    assert vm.inputs["guestAccelerators"] == [{"type": "nvidia-l4", "count": 1}]
    assert vm.inputs["scheduling"]["onHostMaintenance"] == "TERMINATE"


def test_live_migrating_gpu_or_spot_vm_is_refused() -> None:
    with pytest.raises(InvalidArgs) as info:
        plan_of(vm_args(accelerators=(Accelerator("nvidia-l4", 1),),
                        scheduling=Scheduling(provisioning_model="SPOT", automatic_restart=False,
                                              instance_termination_action="STOP")))
    gc.collect()  # the failed program's futures
    assert info.value.problems == (
        "scheduling.on_host_maintenance: VMs with GPUs must use TERMINATE",
        "scheduling.on_host_maintenance: SPOT VMs must use TERMINATE")

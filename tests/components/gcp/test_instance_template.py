"""InstanceTemplate under recording mocks: no external IP, hardened, GPUs only with TERMINATE."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import pytest

from looper_infra.components.base import InvalidArgs
from looper_infra.components.gcp.instance_template import InstanceTemplate, InstanceTemplateArgs
from looper_infra.components.gcp.vm import HARDENED_METADATA, Accelerator, BootDisk
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program


def plan_of(args: InstanceTemplateArgs) -> Plan:
    return run_program(lambda: InstanceTemplate("app-template", args), stage="test", stack="test",
                       context=MockContext(project="looper-offline"))


def template_args(**changes: Any) -> InstanceTemplateArgs:
    args = InstanceTemplateArgs(
        project="looper-offline", region="asia-northeast3", name_prefix="looper-dev-app",
        machine_type="e2-standard-2", boot_disk=BootDisk("ubuntu-os-cloud/ubuntu-2404-lts-amd64", 30),
        subnetwork="subnet-self-link", service_account_email="app@looper.iam",
        user_data="#cloud-config\n", network_tags=("app",))
    return replace(args, **changes)


def test_private_hardened_template_named_by_prefix() -> None:
    template = plan_of(template_args()).one("gcp:compute/instanceTemplate:InstanceTemplate").inputs
    assert template["namePrefix"] == "looper-dev-app-"
    assert template["networkInterfaces"] == [{"subnetwork": "subnet-self-link"}]
    assert template["metadata"] == {**HARDENED_METADATA, "user-data": "#cloud-config\n"}
    assert template["shieldedInstanceConfig"]["enableSecureBoot"] is True
    assert template["disks"][0]["boot"] is True and template["disks"][0]["diskSizeGb"] == 30


def test_gpus_without_terminate_are_refused() -> None:
    with pytest.raises(InvalidArgs) as info:
        plan_of(template_args(accelerators=(Accelerator("nvidia-l4", 1),)))
    gc.collect()  # the failed program's futures
    assert info.value.problems == (
        "scheduling.on_host_maintenance: templates with GPUs must use TERMINATE",)

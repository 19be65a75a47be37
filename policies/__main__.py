"""Pulumi policy pack entry point: `pulumi preview --policy-pack policies/`."""

from looper_infra.policies.pulumi_pack import build_pack

build_pack()

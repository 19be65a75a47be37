"""Exports of an offline plan into other tools' formats."""

from looper_infra.reports.export.terraform_plan import TYPE_MAP, UnmappedType, to_terraform_plan

__all__ = ["TYPE_MAP", "UnmappedType", "to_terraform_plan"]

"""ServiceAccount under recording mocks: a dedicated identity with a short list of project roles."""

from __future__ import annotations

import gc

import pytest

from looper_infra.components.base import InvalidArgs
from looper_infra.components.gcp.service_account import (
    VM_ROLES,
    ServiceAccount,
    ServiceAccountArgs,
    account_id_problems,
)
from looper_infra.engine.mocks import MockContext
from looper_infra.engine.plan import Plan, run_program


def plan_of(args: ServiceAccountArgs) -> Plan:
    return run_program(lambda: ServiceAccount("vm-identity", args), stage="test", stack="test",
                       context=MockContext(project="looper-offline"))


def test_account_and_one_binding_per_role() -> None:
    plan = plan_of(ServiceAccountArgs(project="looper-offline", account_id="looper-dev-vm",
                                      display_name="Looper dev app VM", roles=VM_ROLES))
    account = plan.one("gcp:serviceaccount/account:Account")
    assert account.inputs["accountId"] == "looper-dev-vm"
    bindings = plan.of_type("gcp:projects/iAMMember:IAMMember")
    assert sorted(b.inputs["role"] for b in bindings) == sorted(VM_ROLES)
    assert {b.name for b in bindings} == {"vm-identity-logging-logWriter",
                                          "vm-identity-monitoring-metricWriter"}
    assert {b.inputs["member"] for b in bindings} == {account.state["member"]}


def test_broad_roles_and_bad_ids_are_refused_together() -> None:
    with pytest.raises(InvalidArgs) as info:
        plan_of(ServiceAccountArgs(project="p", account_id="vm", display_name="x",
                                   roles=("roles/editor", "roles/owner")))
    gc.collect()  # the failed program's futures
    assert [p.split(":")[0] for p in info.value.problems] == ["account_id", "roles"]
    assert "roles/editor, roles/owner too broad" in info.value.problems[1]


@pytest.mark.parametrize(("account_id", "ok"), [
    ("looper-dev-vm", True), ("abcdef", True), ("a" * 30, True), ("a" * 31, False),
    ("abcde", False), ("1looper", False), ("looper-", False), ("Looper-dev", False)])
def test_account_id_rules(account_id: str, ok: bool) -> None:
    assert (account_id_problems("id", account_id) == []) is ok

"""GeneratedSecret under recording mocks: a value only Pulumi and Secret Manager hold."""

from __future__ import annotations

import gc

import pytest

from looper_infra.components.base import InvalidArgs
from looper_infra.components.gcp.generated_secret import GeneratedSecret, GeneratedSecretArgs
from looper_infra.engine.mocks import SECRET_MASK, MockContext
from looper_infra.engine.plan import Plan, run_program

READERS = ("serviceAccount:a@p.iam.gserviceaccount.com", "serviceAccount:b@p.iam.gserviceaccount.com")


def plan_of(args: GeneratedSecretArgs) -> Plan:
    return run_program(lambda: GeneratedSecret("db-password", args), stage="test", stack="test",
                       context=MockContext(project="looper-offline"))


def test_generated_value_is_a_secret_readable_by_the_named_members_only() -> None:
    plan = plan_of(GeneratedSecretArgs(project="looper-offline", secret_id="looper-dev-db-password",
                                       accessors=READERS))
    password = plan.one("random:index/randomPassword:RandomPassword")
    assert (password.inputs["length"], password.inputs["special"]) == (32, False)
    assert plan.one("gcp:secretmanager/secretVersion:SecretVersion").inputs["secretData"] == SECRET_MASK
    grants = plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert sorted((g.name, g.inputs["member"]) for g in grants) == [
        ("db-password-accessor-0", READERS[0]), ("db-password-accessor-1", READERS[1])]
    assert {g.inputs["role"] for g in grants} == {"roles/secretmanager.secretAccessor"}


def test_short_values_are_refused() -> None:
    with pytest.raises(InvalidArgs) as info:
        plan_of(GeneratedSecretArgs(project="p", secret_id="s", accessors=(), length=16))
    gc.collect()  # the failed program's futures
    assert info.value.problems == ("length: 16 (at least 24)",)

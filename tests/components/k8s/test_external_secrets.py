"""External Secrets: the pinned operator with the IRSA-trusted service account, a JWT-authenticated
ClusterSecretStore, and ExternalSecrets that wait for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from looper_infra.components.base import InvalidArgs
from looper_infra.components.k8s.external_secrets import (
    ExternalSecrets,
    ExternalSecretsArgs,
    SyncedSecret,
    app_secrets,
    database_credentials,
)
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS
from looper_infra.facts.v4_contract import EXTERNAL_SECRETS

ROLE = "arn:aws:iam::123456789012:role/looper-dev-external-secrets"
RDS = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds!db-1-abcdef"
STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
EXTERNAL = "kubernetes:external-secrets.io/v1:ExternalSecret"


ARGS = ExternalSecretsArgs(
    namespace="external-secrets", role_arn=ROLE, region="ap-northeast-2", target_namespace="looper",
    secrets={"rds": database_credentials(RDS), **app_secrets("dev", {"openai": "openai"})},
    refresh_interval="30m")


@pytest.fixture(scope="module")
def plan(plan_of: Callable[..., Plan]) -> Plan:
    return plan_of(lambda opts: ExternalSecrets("eso", ARGS, opts))


def test_operator_is_pinned_highly_available_and_uses_the_trusted_service_account(plan: Plan) -> None:
    release = plan.one("kubernetes:helm.sh/v3:Release")
    pin = CHARTS["external-secrets"]
    assert (release.inputs["chart"], release.inputs["version"]) == (pin.chart, pin.version)
    assert release.inputs["repositoryOpts"]["repo"] == pin.repo and release.inputs["atomic"] is True
    values = release.inputs["values"]
    assert values["serviceAccount"] == {"create": True, "name": EXTERNAL_SECRETS.name,
                                        "annotations": {"eks.amazonaws.com/role-arn": ROLE}}
    assert values["replicaCount"] == 2
    assert values["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    assert values["webhook"]["replicaCount"] == 2
    assert values["webhook"]["podDisruptionBudget"]["minAvailable"] == 1


def test_store_authenticates_with_the_service_account_token_and_no_second_role(plan: Plan) -> None:
    store = plan.one(STORE)
    aws = store.inputs["spec"]["provider"]["aws"]
    assert aws == {"service": "SecretsManager", "region": "ap-northeast-2", "auth": {"jwt": {
        "serviceAccountRef": {"name": EXTERNAL_SECRETS.name, "namespace": "external-secrets"}}}}
    assert plan.one("kubernetes:helm.sh/v3:Release").urn in store.dependencies


def test_secrets_sync_the_rds_properties_and_whole_app_secrets_after_the_store(plan: Plan) -> None:
    store = plan.one(STORE)
    specs = {r.inputs["metadata"]["name"]: r for r in plan.of_type(EXTERNAL)}
    assert set(specs) == {"rds", "openai"}
    rds, app = specs["rds"].inputs["spec"], specs["openai"].inputs["spec"]
    assert rds["data"] == [{"secretKey": k, "remoteRef": {"key": RDS, "property": k}}
                           for k in ("username", "password")]
    assert app["dataFrom"] == [{"extract": {"key": "looper/dev/openai"}}] and "data" not in app
    for r in specs.values():
        spec = r.inputs["spec"]
        assert r.inputs["metadata"]["namespace"] == "looper"
        assert spec["refreshInterval"] == "30m"
        assert spec["target"] == {"name": r.inputs["metadata"]["name"], "creationPolicy": "Owner",
                                  "deletionPolicy": "Retain"}
        assert store.urn in r.dependencies


def test_bad_names_keys_and_service_account_are_refused(refusal_of: Callable[..., InvalidArgs]) -> None:
    bad = replace(ARGS, service_account="External_Secrets",
                  secrets={"Bad_Name": SyncedSecret(remote_key="x"),
                           "db": SyncedSecret(remote_key=RDS, properties={"user/name": "username"})})
    error = refusal_of(lambda opts: ExternalSecrets("eso", bad, opts))
    assert [p.split(":")[0] for p in error.problems] == [
        "service_account", "secrets['Bad_Name']", "secrets['db'].properties"]

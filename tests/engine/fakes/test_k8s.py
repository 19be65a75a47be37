"""The v4 stack as v4-platform reads it: outputs in the formats the AWS fakes give them."""

from __future__ import annotations

from looper_infra.engine.fakes.aws import rds
from looper_infra.engine.fakes.k8s import SECRET_OUTPUTS, stack_reference
from looper_infra.engine.mocks import MockContext


def test_the_cluster_outputs_match_what_a_mocked_v4_plan_of_that_env_produces() -> None:
    c = MockContext(aws_region="eu-west-1", aws_account="210987654321")
    ref = stack_reference("cluster", {"name": "organization/looper/v4-prod"}, c)
    out = ref["outputs"]
    assert ref["id"] == "organization/looper/v4-prod" and ref["secretOutputNames"] == list(SECRET_OUTPUTS)
    assert out["env"] == "prod" and out["region"] == "eu-west-1"
    # the RDS instance v4 names looper-prod-db, as the rds fake answers for it
    db = rds.db_instance("db", {"identifier": "looper-prod-db", "manageMasterUserPassword": True}, c)
    assert out["rds_endpoint"] == db["endpoint"]
    assert out["rds_secret_arn"] == db["masterUserSecrets"][0]["secretArn"]
    assert out["oidc_provider_arn"] == f"arn:aws:iam::210987654321:oidc-provider/{out['oidc_issuer_host']}"
    assert out["api_endpoint"] in out["kubeconfig"] and out["vpc_id"].startswith("vpc-0")

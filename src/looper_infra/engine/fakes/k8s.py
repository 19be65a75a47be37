"""Mock outputs for stage v4-platform: the v4 cluster stack read through a StackReference.

`pulumi.StackReference` is a read of `pulumi:pulumi:StackReference` (`ReadResource` with the
input `name` = the referenced stack); the engine answers with `outputs` and
`secretOutputNames`, and the SDK wraps the outputs named there as secrets. The fake answers
with every output stage v4 exports, in the formats the AWS fakes give them (same hashing
helpers, so the RDS secret ARN is the one a mocked v4 plan of that env would produce), with
the env taken from the referenced stack's name (`.../v4-dev` -> `dev`) and the region and
account from the mock context. The kubeconfig is a well-formed kubeconfig whose credentials
are placeholders, listed as a secret output, so it stays masked like the real one.

Kubernetes resources need no fake: the engine echoes their inputs, as the API server would
echo a manifest.
"""

from __future__ import annotations

import base64
import string
from typing import Any

from looper_infra.engine.fakes.aws import _chars, _uuid, arn
from looper_infra.engine.mocks import Fake, MockContext
from looper_infra.facts.v4_contract import CLUSTER_OUTPUTS

SECRET_OUTPUTS = ("kubeconfig",)
_LOWER_ALNUM = string.ascii_lowercase + string.digits


def _env(stack_name: str) -> str:
    stack = stack_name.rsplit("/", 1)[-1]
    return stack.rsplit("-", 1)[-1] if "-" in stack else stack


def cluster_outputs(stack_name: str, ctx: MockContext) -> dict[str, Any]:
    """The outputs of a v4 cluster stack named `stack_name` (see stages/v4.py): every one the
    platform requires (`facts.v4_contract.CLUSTER_OUTPUTS`, a KeyError here if one is missing),
    then the others v4 exports."""
    env, region, account = _env(stack_name), ctx.aws_region, ctx.aws_account
    prefix = f"looper-{env}"
    api_id = _chars("0123456789abcdef", 16, "api-nlb", stack_name)
    api_host = f"internal-{prefix}-api-{api_id}.elb.{region}.amazonaws.com"
    cf = f"d{_chars(_LOWER_ALNUM, 13, 'cloudfront-domain', stack_name)}.cloudfront.net"
    db = f"{prefix}-db"
    cluster = "c" + _chars(_LOWER_ALNUM, 11, "rds", account, region)
    secret_name = f"rds!db-{_uuid('rds-secret', db)}"
    suffix = _chars(string.ascii_letters + string.digits, 6, "secret", region, secret_name)
    placeholder = base64.b64encode(b"offline placeholder, not a certificate").decode()
    kubeconfig = "\n".join([
        "apiVersion: v1", "kind: Config", "clusters:", f"- name: {prefix}-k8s", "  cluster:",
        f"    server: https://{api_host}:6443", f"    certificate-authority-data: {placeholder}",
        "users:", "- name: looper-admin", "  user:", f"    client-certificate-data: {placeholder}",
        f"    client-key-data: {placeholder}", "contexts:", f"- name: looper-admin@{prefix}-k8s",
        "  context:", f"    cluster: {prefix}-k8s", "    user: looper-admin",
        f"current-context: looper-admin@{prefix}-k8s", ""])
    required = {
        "env": env,
        "region": region,
        "kubeconfig": kubeconfig,
        "rds_secret_arn": arn("secretsmanager", region, account, f"secret:{secret_name}-{suffix}"),
        "eso_role_arn": f"arn:aws:iam::{account}:role/{prefix}-external-secrets",
        "oidc_provider_arn": f"arn:aws:iam::{account}:oidc-provider/{cf}",
        "oidc_issuer_host": cf,
        "ebs_csi_role_arn": f"arn:aws:iam::{account}:role/{prefix}-ebs-csi",
        "ingress_node_ports": {"http": 30080, "redirect": 30081},
    }
    return {
        **{name: required[name] for name in CLUSTER_OUTPUTS},
        "api_endpoint": f"https://{api_host}:6443",
        "oidc_issuer": f"https://{cf}",
        "rds_endpoint": f"{db}.{cluster}.{region}.rds.amazonaws.com:5432",
        "vpc_id": "vpc-0" + _chars("0123456789abcdef", 16, "vpc", stack_name),
    }


def stack_reference(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    stack_name = str(inputs.get("name") or name)
    return {"id": stack_name, "name": stack_name, "outputs": cluster_outputs(stack_name, ctx),
            "secretOutputNames": list(SECRET_OUTPUTS)}


FAKES: dict[str, Fake] = {
    "pulumi:pulumi:StackReference": stack_reference,
}

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
from typing import Any

from looper_infra.bootstrap.k8s_versions import KUBERNETES_VERSION
from looper_infra.engine.fakes.aws import cloudfront, rds
from looper_infra.engine.fakes.aws.ids import ec2_id, iam_arn
from looper_infra.engine.fakes.aws.secretsmanager import secret_arn
from looper_infra.engine.fakes.seeded import HEX, chars
from looper_infra.engine.mocks import Fake, MockContext
from looper_infra.facts.v4_contract import CLUSTER_OUTPUTS, ec2_node_name_regex, gce_node_name_regex

SECRET_OUTPUTS = ("kubeconfig",)


def _env(stack_name: str) -> str:
    stack = stack_name.rsplit("/", 1)[-1]
    return stack.rsplit("-", 1)[-1] if "-" in stack else stack


def cluster_outputs(stack_name: str, ctx: MockContext) -> dict[str, Any]:
    """The outputs of a v4 cluster stack named `stack_name` (see stages/v4.py): every one the
    platform requires (`facts.v4_contract.CLUSTER_OUTPUTS`, a KeyError here if one is missing),
    then the others v4 exports."""
    env, region, account = _env(stack_name), ctx.aws_region, ctx.aws_account
    prefix = f"looper-{env}"
    api_host = f"internal-{prefix}-api-{chars(HEX, 16, 'api-nlb', stack_name)}.elb.{region}.amazonaws.com"
    cf = cloudfront.domain_name(stack_name)
    db = f"{prefix}-db"
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
        "rds_secret_arn": secret_arn(region, account, rds.managed_secret_name(db)),
        "eso_role_arn": iam_arn(account, f"role/{prefix}-external-secrets"),
        "oidc_provider_arn": iam_arn(account, f"oidc-provider/{cf}"),
        "oidc_issuer_host": cf,
        "ebs_csi_role_arn": iam_arn(account, f"role/{prefix}-ebs-csi"),
        "ingress_node_ports": {"http": 30080, "redirect": 30081},
        # node lifecycle (issue 15): the handler's queue and both IRSA roles, the groups by key
        "cluster_name": f"{prefix}-k8s",
        "kubernetes_version": KUBERNETES_VERSION,
        "node_asg_names": {key: f"{prefix}-{key}" for key in ("workers", "kafka", "gpu")},
        "node_termination_queue_url": f"https://sqs.{region}.amazonaws.com/{account}/{prefix}-node-termination",
        "node_termination_role_arn": iam_arn(account, f"role/{prefix}-node-termination-handler"),
        "cluster_autoscaler_role_arn": iam_arn(account, f"role/{prefix}-cluster-autoscaler"),
        "node_drain_timeout_seconds": 300,
        # kubelet serving certificates: the example stacks' K8s VPC and GCP node (stages/v4_parts.py)
        "node_networks": {
            "aws": {"cidr": "10.1.0.0/16", "name_regex": ec2_node_name_regex(region), "resolvable": True},
            "gcp": {"cidr": "10.0.0.0/20", "name_regex": gce_node_name_regex(
                f"{prefix}-gpu", "asia-northeast3-a", f"looper-gpu-{env}"), "resolvable": False}},
    }
    return {
        **{name: required[name] for name in CLUSTER_OUTPUTS},
        "api_endpoint": f"https://{api_host}:6443",
        "oidc_issuer": f"https://{cf}",
        "rds_endpoint": f"{rds.instance_address(db, region, account)}:5432",
        "vpc_id": ec2_id("vpc", stack_name),
    }


def stack_reference(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    stack_name = str(inputs.get("name") or name)
    return {"id": stack_name, "name": stack_name, "outputs": cluster_outputs(stack_name, ctx),
            "secretOutputNames": list(SECRET_OUTPUTS)}


FAKES: dict[str, Fake] = {
    "pulumi:pulumi:StackReference": stack_reference,
}

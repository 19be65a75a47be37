"""The node's cloud helper, a Python standard-library script: instance identity, the join
(and control-plane) secret, filling the @@markers@@, the pki files. One per backend: AWS
(IMDSv2, SigV4-signed Secrets Manager calls) and GCP (metadata server, Secret Manager),
the GCP template extending the AWS one."""

from __future__ import annotations

from looper_infra.bootstrap.k8s_node.layout import render_node_document
from looper_infra.bootstrap.k8s_node.lifecycle import render_k8s_cp_helper
from looper_infra.bootstrap.k8s_node.spec import K8sNodeBootstrap


def render_k8s_aws_helper(spec: K8sNodeBootstrap) -> str:
    """``looper-k8s-aws``: IMDSv2 identity, Secrets Manager, marker filling, pki files."""
    return render_node_document("k8s-node-aws.py.j2", spec)


def render_k8s_gcp_helper(spec: K8sNodeBootstrap) -> str:
    """``looper-k8s-gcp``: metadata-server identity, Secret Manager, marker filling."""
    return render_node_document("k8s-node-gcp.py.j2", spec)


def render_k8s_node_helper(spec: K8sNodeBootstrap) -> str:
    """The helper of the spec's backend (installed at ``spec.helper_path``)."""
    if spec.is_control_plane:  # the AWS helper's commands plus S3, EC2, secret writes, logs
        return render_k8s_cp_helper(spec)
    return render_k8s_gcp_helper(spec) if spec.on_gcp else render_k8s_aws_helper(spec)

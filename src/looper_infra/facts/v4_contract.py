"""What stage v4 (the cluster) and stage v4-platform (what runs in it) agree on.

The platform stack reads the cluster stack's outputs through a StackReference and installs
charts whose service accounts the cluster's IRSA roles trust; a name that differs on one side
breaks IRSA or the StackReference only at deploy time. Both sides import these names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    name: str

    @property
    def subject(self) -> str:
        """The `sub` claim of the account's projected token (what an IRSA trust policy names)."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"


#: External Secrets Operator: reads `looper/<env>/*` from Secrets Manager through IRSA
def cluster_tag(cluster_name: str) -> str:
    """The ownership tag key (value `owned`) on the cluster's instances: a replacement control
    plane finds its running peers by it (with `role=control-plane`)."""
    return f"kubernetes.io/cluster/{cluster_name}"


#: node-exporter's textfile collector directory on the v4 hosts: control planes write their
#: snapshot and certificate metrics there (bootstrap), node-exporter reads it (v4-platform)
TEXTFILE_COLLECTOR_DIR = "/var/lib/node_exporter/textfile_collector"

EXTERNAL_SECRETS = ServiceAccountRef("external-secrets", "external-secrets")
#: the EBS CSI controller: calls EC2 through IRSA (pods cannot reach the node role)
EBS_CSI_CONTROLLER = ServiceAccountRef("kube-system", "ebs-csi-controller-sa")

#: AWS Node Termination Handler (queue mode): cordons and drains a node before its Auto Scaling
#: group terminates it, then completes the group's lifecycle action
NODE_TERMINATION_HANDLER = ServiceAccountRef("kube-system", "aws-node-termination-handler")
#: Cluster Autoscaler: sizes the node groups that carry this cluster's discovery tags
CLUSTER_AUTOSCALER = ServiceAccountRef("kube-system", "cluster-autoscaler")
#: Auto Scaling group tag the handler's queue mode requires before it acts on a group's events
#: (its `managedTag` default); every node group carries it
NTH_MANAGED_TAG = "aws-node-termination-handler/managed"
#: Auto Scaling group tag prefix of Cluster Autoscaler's scale-from-zero node templates
#: (`.../label/<label>`, `.../taint/<key>` = `<value>:<effect>`, `.../resources/<resource>`)
AUTOSCALER_NODE_TEMPLATE = "k8s.io/cluster-autoscaler/node-template/"


def autoscaler_discovery_tags(cluster_name: str) -> dict[str, str]:
    """The tags Cluster Autoscaler's auto-discovery selects a group by (its IAM role's scaling
    actions are conditioned on the second)."""
    return {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{cluster_name}": "owned"}


#: cluster stack outputs the platform's node-lifecycle controllers need (issue 15):
#: cluster_name (str), kubernetes_version (the control plane's, "1.36.5"), node_asg_names
#: ({"workers": ..., "kafka": ..., "gpu": ...}), node_termination_queue_url (SQS URL),
#: node_termination_role_arn, cluster_autoscaler_role_arn, node_drain_timeout_seconds (int)
NODE_LIFECYCLE_OUTPUTS = ("cluster_name", "kubernetes_version", "node_asg_names",
                          "node_termination_queue_url", "node_termination_role_arn",
                          "cluster_autoscaler_role_arn",
                          "node_drain_timeout_seconds")

#: cluster stack output the kubelet-serving CSR approver reads: where the cluster's nodes live,
#: by key ("aws", and "gcp" with a GCP node): {"cidr": the network its nodes take addresses
#: from, "name_regex": an unanchored RE2 pattern of its node names (`node_name_regex`),
#: "resolvable": whether the names resolve from the AWS VPC}
KUBELET_SERVING_OUTPUTS = ("node_networks",)

#: cluster stack outputs the platform stack requires (StackReference.require_output)
CLUSTER_OUTPUTS = ("env", "region", "kubeconfig", "rds_secret_arn", "eso_role_arn",
                   "oidc_provider_arn", "oidc_issuer_host", "ebs_csi_role_arn", "ingress_node_ports",
                   *NODE_LIFECYCLE_OUTPUTS, *KUBELET_SERVING_OUTPUTS)


def _literal(text: str) -> str:
    """`text` as an RE2 literal (names and domains hold only [a-z0-9.-]: the dot is the one
    character that means something)."""
    return text.replace(".", r"\.")


def ec2_node_name_regex(region: str) -> str:
    """Node names of EC2 instances in `region`. A node registers under the instance's private DNS
    name (IMDS `local-hostname`, bootstrap/templates/k8s-node-aws.py.j2), which with the subnets'
    default hostname type (ip-name) is `ip-<a>-<b>-<c>-<d>.<region>.compute.internal`, or
    `...ec2.internal` in us-east-1 (EC2 User Guide, "Amazon EC2 instance hostname types")."""
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return r"ip-(?:[0-9]{1,3}-){3}[0-9]{1,3}\." + _literal(domain)


def gce_node_name_regex(instance: str, zone: str, project: str) -> str:
    """The node name of GCE instance `instance`: its internal DNS name from the metadata server
    (`instance/hostname`, bootstrap/templates/k8s-node-gcp.py.j2), zonal
    `<instance>.<zone>.c.<project>.internal`, or global `<instance>.c.<project>.internal` in a
    project still on global DNS (GCP "Internal DNS": zonal is the default since 2018)."""
    return f"{_literal(instance)}\\.(?:{_literal(zone)}\\.)?c\\.{_literal(project)}\\.internal"


def node_name_regex(patterns: list[str]) -> str:
    """One anchored RE2 pattern matching a name of any of `patterns` in full (Go's `$` is the
    end of the text: RE2 has no multi-line mode unless asked)."""
    return "^(?:" + "|".join(f"(?:{p})" for p in patterns) + ")$"


def app_secret_prefix(env: str) -> str:
    """Secrets Manager names the platform syncs into the cluster: `looper/<env>/<key>`."""
    return f"looper/{env}/"


def cluster_secret_name(env: str, kind: str) -> str:
    """The cluster's own bootstrap secrets (`control-plane`, `join`): outside the app prefix, so
    External Secrets can never read them."""
    return f"looper-cluster/{env}/{kind}"

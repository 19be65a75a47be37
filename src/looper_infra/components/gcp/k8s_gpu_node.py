"""A GPU worker of the AWS kubeadm cluster on GCP: a G2 VM with NVIDIA L4 that joins over the VPN.

    GcpGpuNode
      ServiceAccount (dedicated)     roles/logging.logWriter, roles/monitoring.metricWriter
      Secret + SecretVersion         {"token": <bootstrap token>} (the caller's secret Output)
      SecretIamMember                secretAccessor on that one secret, for that one account
      Vm                             g2-standard-N + nvidia-l4, no external IP, OS Login,
                                     Shielded VM (Secure Boot), TERMINATE on maintenance,
                                     user data from looper_infra.bootstrap.k8s_node (gcp backend)

The node reaches the internet through Cloud NAT (components/gcp/cloud_nat.py) and the AWS API
NLB through the HA VPN (written elsewhere); the firewall admits it by ``network_tags``. The
user data names the secret and never holds it; it is rendered from the secret's resource
name, its version and its IAM grant, so the VM boots only once all three exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_gcp import secretmanager

from looper_infra.bootstrap import k8s_versions
from looper_infra.bootstrap.k8s_node import (
    K8sGpuWorker,
    K8sNodeBootstrap,
    render_k8s_node_gce_user_data,
)
from looper_infra.components.base import Component
from looper_infra.components.gcp.service_account import (
    ServiceAccount,
    ServiceAccountArgs,
    account_id_problems,
)
from looper_infra.components.gcp.vm import (
    IAM_LIMITED_SCOPES,
    Accelerator,
    BootDisk,
    Scheduling,
    Vm,
    VmArgs,
)

#: Project roles of the node's service account (the Ops Agent / journald shippers may write
#: logs and metrics); the join secret is granted on the secret itself, not the project.
NODE_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"  # noqa: S105 (a role name)
#: Ubuntu 24.04 LTS (the linux-gcp kernel, for which Canonical signs the NVIDIA modules).
UBUNTU_IMAGE = "ubuntu-os-cloud/ubuntu-2404-lts-amd64"
#: Firewall tags: every cluster node on GCP, and GPU nodes.
DEFAULT_NETWORK_TAGS = ("looper-k8s-node", "looper-k8s-gpu")

_CLOUD_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}\Z")
_TAG = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?\Z")


@dataclass(frozen=True)
class K8sJoin:
    """What the node needs to know about the AWS cluster (outputs of the v4 cluster stage)."""

    cluster_name: str
    #: DNS name of the internal API NLB
    control_plane_endpoint: pulumi.Input[str]
    #: the NLB's private IPs (one per AZ), pinned in /etc/hosts on the node
    api_server_addresses: pulumi.Input[Sequence[str]]
    #: "sha256:<hex>" of the cluster CA's public key
    ca_cert_hash: pulumi.Input[str]
    #: the bootstrap token "<6>.<16>"; stored in Secret Manager only (pass a secret Output)
    join_token: pulumi.Input[str]
    pod_cidr: str = "192.168.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    #: Calico MTU of the cluster (at most 1350 across the VPN)
    calico_mtu: int = 1350
    control_plane_count: int = 3
    #: the node's Kubernetes release (the cluster's node_kubernetes_version, a k8s_versions row)
    kubernetes_version: str = k8s_versions.KUBERNETES_VERSION


@dataclass(frozen=True)
class GcpGpuNodeArgs:
    project: str
    #: a zone with L4 GPUs (the config checks it against facts.gpu.L4_ZONES)
    zone: str
    #: the VM's name (and the stem of the secret and service account names)
    cloud_name: str
    subnetwork: pulumi.Input[str]
    cluster: K8sJoin
    #: a G2 machine type with exactly one L4 (g2-standard-4/8/12/16/32)
    machine_type: str = "g2-standard-4"
    boot_disk_gb: int = 200
    boot_disk_type: str = "pd-balanced"
    image: str = UBUNTU_IMAGE
    network_tags: tuple[str, ...] = DEFAULT_NETWORK_TAGS
    #: extra Kubernetes node labels (the GPU labels are added)
    node_labels: Mapping[str, str] = field(default_factory=dict)
    #: GCP resource labels
    labels: Mapping[str, str] = field(default_factory=dict)
    #: None: "<cloud_name>-k8s-join"
    secret_id: str | None = None
    #: None: derived from cloud_name (6-30 chars)
    account_id: str | None = None
    #: a node is cattle: replaced when its user data changes, so no deletion protection
    deletion_protection: bool = False
    #: STANDARD, or SPOT (much cheaper, preemptible at any time; cannot restart by itself)
    provisioning_model: str = "STANDARD"
    #: SPOT only: what GCP does to a preempted node (STOP keeps the boot disk, DELETE removes it)
    termination_action: str | None = None

    @property
    def effective_secret_id(self) -> str:
        return self.secret_id or f"{self.cloud_name}-k8s-join"

    @property
    def effective_account_id(self) -> str:
        return self.account_id or f"{self.cloud_name[:26].rstrip('-')}-sa"

    def problems(self) -> list[str]:
        """What config cannot guarantee: the names derived here and this component's own defaults.

        The zone (one with L4s), the G2 machine type with one L4, the disk size and the
        SPOT/STANDARD scheduling are the config's facts (config.v4.GcpGpuNodeConfig).
        """
        found = []
        if not _CLOUD_NAME.match(self.cloud_name):
            found.append(f"cloud_name: {self.cloud_name!r} is not a GCE name")
        found += account_id_problems("account_id", self.effective_account_id)
        if not _SECRET_ID.match(self.effective_secret_id):
            found.append(f"secret_id: {self.effective_secret_id!r} is not a Secret Manager id")
        if self.boot_disk_type not in ("pd-balanced", "pd-ssd"):
            found.append("boot_disk_type: pd-balanced or pd-ssd (G2 has no pd-standard)")
        bad_tags = [t for t in self.network_tags if not _TAG.match(t)]
        if not self.network_tags or bad_tags:
            found.append(f"network_tags: at least one, each a GCE tag ({bad_tags!r})")
        return found


class GcpGpuNode(Component):
    service_account: ServiceAccount
    secret: secretmanager.Secret
    vm: Vm
    #: "projects/NUMBER/secrets/ID": what the node fetches
    secret_name: pulumi.Output[str]
    service_account_email: pulumi.Output[str]
    instance_name: pulumi.Output[str]
    internal_ip: pulumi.Output[str]

    def __init__(self, name: str, args: GcpGpuNodeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:GcpGpuNode", name, args, opts)
        gpu = K8sGpuWorker(accelerator="nvidia-l4", count=1)
        child = self.child_opts
        c = args.cluster

        self.service_account = ServiceAccount(f"{name}-sa", ServiceAccountArgs(
            project=args.project, account_id=args.effective_account_id,
            display_name=f"Looper k8s GPU node {args.cloud_name}", roles=NODE_ROLES), child)
        self.secret = secretmanager.Secret(
            f"{name}-join-secret", project=args.project, secret_id=args.effective_secret_id,
            labels=dict(args.labels),
            replication=secretmanager.SecretReplicationArgs(auto=secretmanager.SecretReplicationAutoArgs()),
            opts=child)
        token: pulumi.Output[str] = pulumi.Output.from_input(c.join_token)
        value: pulumi.Output[str] = pulumi.Output.secret(token.apply(_token_json))
        version = secretmanager.SecretVersion(
            f"{name}-join-secret-version", secret=self.secret.id, secret_data=value,
            opts=child)
        accessor = secretmanager.SecretIamMember(
            f"{name}-join-secret-accessor", project=args.project, secret_id=self.secret.secret_id,
            role=SECRET_ACCESSOR, member=self.service_account.member, opts=child)

        def render(values: list[Any]) -> str:
            secret_name, endpoint, addresses, ca_hash = values[:4]
            return render_k8s_node_gce_user_data(_bootstrap(
                args, gpu, secret_name=secret_name, endpoint=endpoint, addresses=tuple(addresses),
                ca_hash=ca_hash))

        # version and grant are inputs so the VM boots only once the token is readable
        user_data = pulumi.Output.all(
            self.secret.name, c.control_plane_endpoint, c.api_server_addresses, c.ca_cert_hash,
            version.id, accessor.etag).apply(render)

        self.vm = Vm(f"{name}-vm", VmArgs(
            project=args.project, zone=args.zone, cloud_name=args.cloud_name,
            machine_type=args.machine_type,
            boot_disk=BootDisk(image=args.image, size_gb=args.boot_disk_gb, type=args.boot_disk_type),
            subnetwork=args.subnetwork, service_account_email=self.service_account.email,
            nat_ip=None, network_tags=args.network_tags, user_data=user_data,
            labels={**args.labels, "role": "k8s-gpu-node"},
            # Secret Manager has no narrower OAuth scope; the account's grants are the limit
            scopes=IAM_LIMITED_SCOPES,
            # GPUs cannot live-migrate; a standard VM restarts after maintenance and rejoins
            scheduling=Scheduling(
                provisioning_model=args.provisioning_model, on_host_maintenance="TERMINATE",
                automatic_restart=args.provisioning_model == "STANDARD",
                instance_termination_action=args.termination_action),
            accelerators=(Accelerator(type=gpu.accelerator, count=gpu.count),),
            secure_boot=True, deletion_protection=args.deletion_protection), child)

        self.secret_name = self.secret.name
        self.service_account_email = self.service_account.email
        self.instance_name = self.vm.name
        self.internal_ip = self.vm.internal_ip
        self.register_outputs({
            "secret_name": self.secret_name, "service_account_email": self.service_account_email,
            "instance_name": self.instance_name, "internal_ip": self.internal_ip})


def _token_json(token: str) -> str:
    """The join secret's value, the shape the node's helper reads ({"token": ...})."""
    return json.dumps({"token": token})


def _bootstrap(args: GcpGpuNodeArgs, gpu: K8sGpuWorker, *, secret_name: str, endpoint: str,
               addresses: tuple[str, ...], ca_hash: str) -> K8sNodeBootstrap:
    c = args.cluster
    return K8sNodeBootstrap(
        role="worker", cluster_name=c.cluster_name, control_plane_endpoint=endpoint,
        ca_cert_hash=ca_hash, pod_cidr=c.pod_cidr, service_cidr=c.service_cidr,
        calico_mtu=c.calico_mtu, region=None,
        secret_backend="gcp",  # noqa: S106 (a backend name, not a secret)
        join_secret_id=secret_name, control_plane_secret_id=None, service_account_issuer=None,
        control_plane_count=c.control_plane_count, node_labels=dict(args.node_labels),
        api_server_addresses=addresses, gpu=gpu, kubernetes_version=c.kubernetes_version)

"""What one Kubernetes node's first boot needs (:class:`K8sNodeBootstrap`), and the values
derived from it that every node document shares: endpoint, labels, taints, helper."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from looper_infra.bootstrap import k8s_versions, versions
from looper_infra.bootstrap.k8s_node.layout import (
    K8S_AWS_HELPER_PATH,
    K8S_CP_HELPER_PATH,
    K8S_GCP_HELPER_PATH,
)
from looper_infra.components.k8s.names import TAINT
from looper_infra.facts import v4_contract
from looper_infra.facts.etcd import SNAPSHOT_KEY as SNAPSHOT_KEY  # snapshot object keys (one fact)
from looper_infra.rules import ha_vpn

#: kube-apiserver port behind the API NLB.
API_SERVER_PORT: Final = 6443
#: Largest Calico MTU across the AWS-GCP VPN (one fact, in rules.ha_vpn).
VPN_CALICO_MTU_MAX: Final = ha_vpn.CALICO_MTU_MAX
#: Taint of GPU workers: only pods that tolerate it (and ask for nvidia.com/gpu) land there.
#: The GPU operator's daemonsets tolerate ``nvidia.com/gpu`` by default.
GPU_TAINT: Final = "nvidia.com/gpu=present:NoSchedule"
#: Labels the kubelet sets from instance metadata (values are @@markers@@ filled at boot).
TOPOLOGY_LABELS: Final = MappingProxyType(
    {
        "node.kubernetes.io/instance-type": "@@instance_type@@",
        "topology.kubernetes.io/region": "@@region@@",
        "topology.kubernetes.io/zone": "@@zone@@",
    }
)
_CONTROL_PLANE_TAINT: Final = "node-role.kubernetes.io/control-plane:NoSchedule"
#: Ubuntu kernel flavour of each backend's images, for which Canonical builds signed NVIDIA
#: modules (linux-modules-nvidia-<branch>-server-<flavour>, source
#: linux-restricted-modules-<flavour>).
_KERNEL_FLAVOURS: Final = MappingProxyType({"aws": "aws", "gcp": versions.UBUNTU_KERNEL_FLAVOUR})



@dataclass(frozen=True)
class Taint:
    """A node taint (``key[=value]:effect``)."""

    key: str
    value: str | None
    effect: str


def _parse_taint(text: str) -> Taint:
    match = TAINT.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a taint 'key[=value]:NoSchedule|PreferNoSchedule|NoExecute'")
    return Taint(match["key"], match["value"], match["effect"])


@dataclass(frozen=True)
class K8sGpuWorker:
    """The GPU part of a worker: what it labels, and the host driver it installs.

    ``count`` GPUs named ``model`` (as ``nvidia-smi`` reports them) must answer before the
    node joins. Accelerator, model and count come from the instance type (``config.v4``'s
    GPU family table, or the GCP node's one L4); the driver pins default to the v2 GPU VM's
    (:mod:`versions`, which says where each was confirmed and why the modules load under
    Secure Boot).
    """

    #: Value of the ``looper/accelerator`` label (the GCE accelerator type, e.g. nvidia-l4).
    accelerator: str = "nvidia-l4"
    count: int = 1
    model: str = versions.NVIDIA_L4_MODEL
    driver_branch: str = versions.NVIDIA_DRIVER_BRANCH
    driver_version: str = versions.NVIDIA_DRIVER_VERSION

    @property
    def labels(self) -> dict[str, str]:
        """Registration labels: what the GPU operator and workloads select on."""
        return {
            "looper/accelerator": self.accelerator,
            # Cluster Autoscaler's AWS provider (GPULabel, cloudprovider/aws/aws_cloud_provider.go)
            # treats a node with this label as a GPU node and waits for its GPUs to become
            # allocatable instead of starting more nodes while the device plugin comes up
            "k8s.amazonaws.com/accelerator": self.accelerator,
            # the operator deploys its operands where NFD finds an NVIDIA PCI device; set at
            # registration so nothing waits for NFD
            "nvidia.com/gpu.present": "true",
            # the driver is on the host: the operator must not deploy its driver container here
            "nvidia.com/gpu.deploy.driver": "false",
        }


@dataclass(frozen=True)
class EtcdBackup:
    """Where control planes put etcd snapshots (S3, SSE-KMS with the bucket's own key) and how
    often. The control-plane role may put and get objects under ``prefix``, never delete."""

    bucket: str
    #: this cluster's key prefix, ``<cluster_name>/``
    prefix: str
    #: ARN of the bucket's KMS key (sent with every PutObject)
    kms_key_arn: str
    #: minutes between snapshots (the systemd timer's interval)
    interval_minutes: int = 60
    #: a snapshot the init node restores when no control plane answers; None: the latest
    restore_key: str | None = None


@dataclass(frozen=True)
class K8sNodeBootstrap:
    """Everything one node role's first boot needs.

    Plain values only (the stage passes Pulumi outputs through ``Output.apply``). Secrets are
    named by Secrets Manager id, never given: ``join_secret_id`` holds ``{"token": ...}``;
    ``control_plane_secret_id`` holds ``ca_crt``, ``ca_key``, ``sa_key``, ``sa_pub``,
    ``token``, ``certificate_key``, ``encryption_key``.

    ``secret_backend="gcp"`` (a worker on a GCE VM): ``join_secret_id`` is a GCP Secret
    Manager name ``projects/P/secrets/S``, ``region`` is None (Secret Manager is global;
    the topology labels come from the metadata server), ``api_server_addresses`` is
    required and ``calico_mtu`` at most :data:`VPN_CALICO_MTU_MAX`.

    The cluster's networks, MTU, control-plane count and region come validated from config
    (``config.v4``); names, endpoint, hash, issuer and secret ids from the stage and its
    components; the versions are pins. The renderers quote each value for the file it lands
    in and check nothing again.
    """

    role: Literal["control-plane", "worker"]
    #: Cluster name (kubeadm clusterName), a DNS label such as "looper-dev".
    cluster_name: str
    #: DNS name of the internal API NLB (no port: it listens on :data:`API_SERVER_PORT`).
    control_plane_endpoint: str
    #: "sha256:<64 hex>" of the cluster CA's SubjectPublicKeyInfo (not secret).
    ca_cert_hash: str
    pod_cidr: str
    service_cidr: str
    #: Calico MTU (explicit: pod traffic may cross the VPN; VXLAN costs 50 bytes).
    calico_mtu: int
    #: Where the secrets are fetched from: "aws" (Secrets Manager, instance role) or "gcp"
    #: (Secret Manager, the VM's service account; workers only).
    secret_backend: Literal["aws", "gcp"]
    #: AWS region of the Secrets Manager endpoint (the cluster's region); None for "gcp".
    region: str | None
    #: Secret with {"token": "<6>.<16>"}; readable by every node's identity. A Secrets
    #: Manager name or ARN ("aws"), or ``projects/P/secrets/S`` ("gcp").
    join_secret_id: str
    #: Control planes only: the control-plane secret (see the class docstring).
    control_plane_secret_id: str | None
    #: Control planes only: service-account token issuer (IRSA), an https URL.
    service_account_issuer: str | None
    #: Control planes only: the one allowed to run ``kubeadm init``.
    init_node: bool = False
    #: Number of control planes (odd: 1, 3 or 5).
    control_plane_count: int = 1
    #: Extra node labels, set by the kubelet at registration (NodeRestriction rules apply).
    node_labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Taints at registration, "key[=value]:Effect".
    node_taints: tuple[str, ...] = ()
    #: Extra API server certificate SANs (the endpoint is always included).
    api_cert_sans: tuple[str, ...] = ()
    #: JWKS URL published in the issuer's discovery document. None: issuer +
    #: "/openid/v1/jwks", the API server's own path, which the IRSA bucket mirrors.
    service_account_jwks_uri: str | None = None
    #: The Kubernetes release this node installs (kubeadm, kubelet, kubectl, and CRI-O of the
    #: same minor, from that minor's apt repositories): a row of ``k8s_versions.RELEASES``.
    #: A control plane's is also the cluster version it brings the cluster to (``kubeadm
    #: upgrade apply`` when the cluster is one minor behind: the day-2 bundle's upgrade script).
    kubernetes_version: str = k8s_versions.KUBERNETES_VERSION
    #: Workers only: make this a GPU node (labels, taint, host driver). None: no GPU.
    gpu: K8sGpuWorker | None = None
    #: Private IPv4 addresses of the API NLB (one per AZ). When given, the setup script pins
    #: ``control_plane_endpoint`` to them in /etc/hosts at every run. Required for "gcp": a
    #: GCP resolver is not relied on for an AWS internal name.
    api_server_addresses: tuple[str, ...] = ()
    #: Control planes only: etcd snapshots to S3 (timer, restore, membership repair). None: none.
    etcd_backup: EtcdBackup | None = None
    #: Control planes only: bootstrap token lifetime (kubeadm ``ttl``); the control planes mint
    #: a new token and write it to the join secret before half of it has passed.
    bootstrap_token_ttl_hours: int = 24
    #: Control planes only: CloudWatch Logs group the API server audit log is shipped to.
    audit_log_group: str | None = None
    #: Control planes with ``etcd_backup``: sha256 of the day-2 bundle (etcd and lifecycle
    #: scripts, timers) that the setup script fetches from ``<prefix>bootstrap/<sha256>.tar.gz``
    #: in the snapshot bucket: EC2 user data (16 KB gzipped) cannot hold it too.
    bundle_sha256: str | None = None

    def __post_init__(self) -> None:
        # config.v4 guarantees this for the v4 stack (a cross-section rule); kept because the
        # GCP GPU node component takes the MTU as a plain arg and relies on this spec to refuse
        # it (tests/components/gcp/test_k8s_gpu_node.py).
        if self.on_gcp and self.calico_mtu > VPN_CALICO_MTU_MAX:
            raise ValueError(
                f"invalid K8sNodeBootstrap: calico_mtu: {self.calico_mtu} is too large across "
                f"the AWS-GCP VPN (at most {VPN_CALICO_MTU_MAX})"
            )
        if self.is_control_plane and self.etcd_backup is None:
            raise ValueError(
                "invalid K8sNodeBootstrap: etcd_backup: a control plane needs one (snapshots, "
                "restore, membership repair and its day-2 bundle live in that bucket)"
            )
        try:
            k8s_versions.release(self.kubernetes_version)
        except (KeyError, ValueError) as error:
            raise ValueError(f"invalid K8sNodeBootstrap: kubernetes_version: {error.args[0]}") from None
        # Freeze the mapping so the spec cannot change after construction.
        object.__setattr__(self, "node_labels", MappingProxyType(dict(self.node_labels)))

    # --- derived values --------------------------------------------------------------------

    @property
    def release(self) -> k8s_versions.K8sRelease:
        """This node's row of the version table: what it installs."""
        return k8s_versions.release(self.kubernetes_version)

    @property
    def kubernetes_apt_version(self) -> str:
        return self.release.apt_version

    @property
    def crio_apt_version(self) -> str:
        return self.release.crio_apt_version

    @property
    def upgrade_from(self) -> k8s_versions.K8sRelease | None:
        """Control planes: the previous minor's row (None when the table lacks it), which a
        replacement joins with when the cluster still runs that minor, before upgrading it."""
        return k8s_versions.previous_release(self.kubernetes_version) if self.is_control_plane else None

    @property
    def is_control_plane(self) -> bool:
        return self.role == "control-plane"

    @property
    def api_server_endpoint(self) -> str:
        """``<nlb dns>:6443`` (kubeadm controlPlaneEndpoint and discovery endpoint)."""
        return f"{self.control_plane_endpoint}:{API_SERVER_PORT}"

    @property
    def effective_cert_sans(self) -> tuple[str, ...]:
        """API server certificate SANs: the endpoint, then ``api_cert_sans`` (deduplicated)."""
        return tuple(dict.fromkeys((self.control_plane_endpoint, *self.api_cert_sans)))

    @property
    def effective_jwks_uri(self) -> str:
        """The JWKS URL the API server advertises in its discovery document."""
        assert self.service_account_issuer is not None  # control planes only
        return self.service_account_jwks_uri or f"{self.service_account_issuer}/openid/v1/jwks"

    @property
    def on_gcp(self) -> bool:
        """A GCE VM (secret_backend "gcp")."""
        return self.secret_backend == "gcp"  # noqa: S105 (a backend name)

    @property
    def cluster_tag(self) -> str:
        """The tag key (value ``owned``) on every instance of the cluster; control planes also
        carry ``role=control-plane``: how a replacement finds the running control planes."""
        return v4_contract.cluster_tag(self.cluster_name)

    @property
    def helper_path(self) -> str:
        """Where the backend's helper (identity, secrets, marker filling) is installed."""
        if self.on_gcp:
            return K8S_GCP_HELPER_PATH
        # control planes: the AWS helper's commands plus S3, EC2, secret writes and logs
        return K8S_CP_HELPER_PATH if self.is_control_plane else K8S_AWS_HELPER_PATH

    @property
    def bundle_key(self) -> str | None:
        """S3 key of the day-2 bundle in the snapshot bucket (None without one)."""
        if self.etcd_backup is None or self.bundle_sha256 is None:
            return None
        return f"{self.etcd_backup.prefix}bootstrap/{self.bundle_sha256}.tar.gz"

    @property
    def kernel_flavour(self) -> str:
        """The Ubuntu kernel flavour of the backend's images (signed NVIDIA modules)."""
        return _KERNEL_FLAVOURS[self.secret_backend]

    @property
    def all_node_labels(self) -> dict[str, str]:
        """Registration labels without the topology markers: ``node_labels`` plus the GPU's."""
        return dict(sorted({**self.node_labels, **(self.gpu.labels if self.gpu else {})}.items()))

    @property
    def taints(self) -> tuple[Taint, ...]:
        """Registration taints: the control-plane taint first on control planes, the GPU
        taint last on GPU workers."""
        specs = ((_CONTROL_PLANE_TAINT,) if self.is_control_plane else ()) + self.node_taints
        specs += (GPU_TAINT,) if self.gpu is not None else ()
        return tuple(_parse_taint(text) for text in dict.fromkeys(specs))

    @property
    def node_labels_arg(self) -> str:
        """The kubelet ``--node-labels`` value: extra labels, then the topology markers."""
        labels = {**self.all_node_labels, **TOPOLOGY_LABELS}
        return ",".join(f"{key}={value}" for key, value in labels.items())


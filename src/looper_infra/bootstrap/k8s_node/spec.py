"""What one Kubernetes node's first boot needs (:class:`K8sNodeBootstrap`), and the values
derived from it that every node document shares: endpoint, labels, taints, helper."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from looper_infra.bootstrap import k8s_versions, versions
from looper_infra.bootstrap.k8s_node.layout import K8S_AWS_HELPER_PATH, K8S_GCP_HELPER_PATH
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

# --- validation ------------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_FQDN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")
# Secrets Manager secret name or ARN.
_SECRET_ID = re.compile(
    r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$"
)
# GCP Secret Manager secret resource name (project id or number).
_GCP_SECRET_NAME = re.compile(r"^projects/[a-z0-9-]{1,30}/secrets/[A-Za-z0-9_-]{1,255}$")
_GPU_ACCELERATOR = re.compile(r"^nvidia-[a-z0-9-]{1,40}$")
#: nvidia-smi names data-centre GPUs "NVIDIA L4", "NVIDIA A10G", but older ones "Tesla T4"
_GPU_MODEL = re.compile(r"^(NVIDIA|Tesla) [A-Za-z0-9 .-]{1,60}$")
_DRIVER_BRANCH = re.compile(r"^[0-9]{3}$")
_ISSUER = re.compile(r"^https://[a-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-])?$")
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_APT_VERSION = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*$")
# Kubernetes label key: [prefix/]name; value: empty or a name.
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_TAINT = re.compile(
    r"^(?P<key>[^=:\s]+)(=(?P<value>[^:\s]*))?:(?P<effect>NoSchedule|PreferNoSchedule|NoExecute)$"
)
# Label namespaces the NodeRestriction admission plugin lets a kubelet set on itself.
_KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


@dataclass(frozen=True)
class Taint:
    """A node taint (``key[=value]:effect``)."""

    key: str
    value: str | None
    effect: str


def _label_key_problem(key: object) -> str | None:
    if not isinstance(key, str) or not key:
        return f"{key!r} is not a label key"
    prefix, _, name = key.rpartition("/")
    if not _LABEL_NAME.match(name) or (prefix and not _LABEL_PREFIX.match(prefix)):
        return f"{key!r} is not a Kubernetes label key ([dns-prefix/]name, name <= 63 chars)"
    if key in TOPOLOGY_LABELS:
        return f"{key!r} is set from instance metadata at join time"
    restricted = prefix.endswith(("kubernetes.io", "k8s.io"))
    if restricted and not prefix.endswith(_KUBELET_LABEL_NAMESPACES):
        return (
            f"{key!r}: the NodeRestriction admission plugin forbids kubelets to set labels "
            "under kubernetes.io/k8s.io (except node.kubernetes.io and kubelet.kubernetes.io)"
        )
    return None


def _taint_problem(text: str) -> bool:
    """True unless ``text`` is ``key[=value]:Effect`` with a valid key and value."""
    match = _TAINT.match(text)
    if match is None:
        return True
    prefix, _, name = match["key"].rpartition("/")
    value = match["value"]
    return (
        not _LABEL_NAME.match(name)
        or bool(prefix and not _LABEL_PREFIX.match(prefix))
        or bool(value and not _LABEL_NAME.match(value))
    )


def _cidr(value: object, name: str, problems: dict[str, str]) -> ipaddress.IPv4Network | None:
    if not isinstance(value, str):
        problems[name] = f"{value!r} is not a CIDR string such as '10.96.0.0/12'"
        return None
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as err:
        problems[name] = f"{value!r} is not a network in CIDR notation ({err})"
        return None
    if not isinstance(net, ipaddress.IPv4Network):
        problems[name] = f"{value!r}: only IPv4 is supported"
        return None
    return net


@dataclass(frozen=True)
class K8sGpuWorker:
    """The GPU part of a worker: what it labels, and the host driver it installs.

    ``count`` GPUs named ``model`` (as ``nvidia-smi`` reports them) must answer before the
    node joins. The driver pins default to the v2 GPU VM's (:mod:`versions`, which says
    where each was confirmed and why the modules load under Secure Boot).
    """

    #: Value of the ``looper/accelerator`` label (the GCE accelerator type, e.g. nvidia-l4).
    accelerator: str = "nvidia-l4"
    count: int = 1
    model: str = versions.NVIDIA_L4_MODEL
    driver_branch: str = versions.NVIDIA_DRIVER_BRANCH
    driver_version: str = versions.NVIDIA_DRIVER_VERSION

    def problems(self) -> list[str]:
        found = []
        if not isinstance(self.accelerator, str) or not _GPU_ACCELERATOR.match(self.accelerator):
            found.append(f"accelerator {self.accelerator!r} is not like 'nvidia-l4'")
        count = self.count
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 8:
            found.append(f"count {count!r} is not 1-8")
        if not isinstance(self.model, str) or not _GPU_MODEL.match(self.model):
            found.append(f"model {self.model!r} is not a name as nvidia-smi prints it ('NVIDIA L4')")
        branch = self.driver_branch
        if not isinstance(branch, str) or not _DRIVER_BRANCH.match(branch):
            found.append(f"driver_branch {branch!r} is not an NVIDIA driver branch such as '580'")
        version = self.driver_version
        if not isinstance(version, str) or not _APT_VERSION.match(version):
            found.append(f"driver_version {version!r} is not an apt version")
        elif isinstance(branch, str) and not version.startswith(f"{branch}."):
            found.append(f"driver_version {version!r} is not of driver branch {branch}")
        return found

    @property
    def labels(self) -> dict[str, str]:
        """Registration labels: what the GPU operator and workloads select on."""
        return {
            "looper/accelerator": self.accelerator,
            # the operator deploys its operands where NFD finds an NVIDIA PCI device; set at
            # registration so nothing waits for NFD
            "nvidia.com/gpu.present": "true",
            # the driver is on the host: the operator must not deploy its driver container here
            "nvidia.com/gpu.deploy.driver": "false",
        }


@dataclass(frozen=True)
class K8sNodeBootstrap:
    """Everything one node role's first boot needs; validated on construction.

    Plain values only (the stage passes Pulumi outputs through ``Output.apply``). Secrets are
    named by Secrets Manager id, never given: ``join_secret_id`` holds ``{"token": ...}``;
    ``control_plane_secret_id`` holds ``ca_crt``, ``ca_key``, ``sa_key``, ``sa_pub``,
    ``token``, ``certificate_key``, ``encryption_key``.

    ``secret_backend="gcp"`` (a worker on a GCE VM): ``join_secret_id`` is a GCP Secret
    Manager name ``projects/P/secrets/S``, ``region`` is None (Secret Manager is global;
    the topology labels come from the metadata server), ``api_server_addresses`` is
    required and ``calico_mtu`` at most :data:`VPN_CALICO_MTU_MAX`.
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
    #: Number of control planes (1 or 3).
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
    kubernetes_version: str = k8s_versions.KUBERNETES_VERSION
    kubernetes_apt_version: str = k8s_versions.KUBERNETES_APT_VERSION
    crio_apt_version: str = k8s_versions.CRIO_APT_VERSION
    #: Workers only: make this a GPU node (labels, taint, host driver). None: no GPU.
    gpu: K8sGpuWorker | None = None
    #: Private IPv4 addresses of the API NLB (one per AZ). When given, the setup script pins
    #: ``control_plane_endpoint`` to them in /etc/hosts at every run. Required for "gcp": a
    #: GCP resolver is not relied on for an AWS internal name.
    api_server_addresses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}
        control_plane = self.role == "control-plane"
        if self.role not in ("control-plane", "worker"):
            problems["role"] = f"{self.role!r} is not 'control-plane' or 'worker'"
        if not isinstance(self.cluster_name, str) or not _DNS_LABEL.match(self.cluster_name):
            problems["cluster_name"] = f"{self.cluster_name!r} is not a DNS label (a-z, 0-9, '-')"
        if not isinstance(self.control_plane_endpoint, str) or not _FQDN.match(
            self.control_plane_endpoint
        ):
            problems["control_plane_endpoint"] = (
                f"{self.control_plane_endpoint!r} is not a lowercase DNS name (no scheme, no port)"
            )
        if not isinstance(self.ca_cert_hash, str) or not _HASH.match(self.ca_cert_hash):
            problems["ca_cert_hash"] = f"{self.ca_cert_hash!r} is not 'sha256:' + 64 lowercase hex"
        pods = _cidr(self.pod_cidr, "pod_cidr", problems)
        services = _cidr(self.service_cidr, "service_cidr", problems)
        if pods is not None and pods.prefixlen > 24:
            problems["pod_cidr"] = f"{self.pod_cidr!r} is too small (at most /24; Calico blocks are /26)"
        if services is not None and not 12 <= services.prefixlen <= 28:
            problems["service_cidr"] = f"{self.service_cidr!r} must be a /12 to /28 (kube-apiserver limit)"
        if pods is not None and services is not None and pods.overlaps(services):
            problems["service_cidr"] = f"{self.service_cidr!r} overlaps pod_cidr {self.pod_cidr!r}"
        mtu = self.calico_mtu
        if isinstance(mtu, bool) or not isinstance(mtu, int) or not 1200 <= mtu <= 8951:
            problems["calico_mtu"] = f"{mtu!r} is not an MTU between 1200 and 8951"
        self._backend_problems(problems)
        self._role_problems(control_plane, problems)
        self._label_problems(problems)
        self._version_problems(problems)
        if problems:
            raise ValueError(
                "invalid K8sNodeBootstrap: "
                + "; ".join(f"{name}: {why}" for name, why in problems.items())
            )
        object.__setattr__(self, "node_labels", MappingProxyType(dict(self.node_labels)))

    def _backend_problems(self, problems: dict[str, str]) -> None:
        """Each backend's secret name and region; "gcp" also its network facts. Values that
        belong to the other backend are reported under ``secret_backend`` (the switch)."""
        backend, secret_id, region = self.secret_backend, self.join_secret_id, self.region
        gcp_name = isinstance(secret_id, str) and bool(_GCP_SECRET_NAME.match(secret_id))
        if backend == "aws":
            if not isinstance(region, str) or not _AWS_REGION.match(region):
                problems["region"] = f"{region!r} is not an AWS region such as 'ap-northeast-2'"
            if gcp_name:
                why = "'aws' reads AWS Secrets Manager, but join_secret_id is a GCP secret name"
                problems["secret_backend"] = why
            elif not isinstance(secret_id, str) or not _SECRET_ID.match(secret_id):
                problems["join_secret_id"] = f"{secret_id!r} is not a Secrets Manager name or ARN"
        elif backend == "gcp":
            mismatched = []
            if region is not None:
                mismatched.append("region must be None (Secret Manager is global)")
            if not gcp_name:
                mismatched.append(
                    f"join_secret_id {secret_id!r} must be a GCP Secret Manager name "
                    "'projects/P/secrets/S'"
                )
            if mismatched:
                problems["secret_backend"] = "'gcp' reads GCP Secret Manager: " + "; ".join(mismatched)
            if self.role != "worker":
                problems["role"] = "a GCP node can only be a worker (the control planes run on AWS)"
            if not self.api_server_addresses:
                problems["api_server_addresses"] = (
                    "a GCP node needs the API NLB's private IPs (the endpoint is an AWS internal name)"
                )
            mtu = self.calico_mtu
            if isinstance(mtu, int) and not isinstance(mtu, bool) and mtu > VPN_CALICO_MTU_MAX:
                problems["calico_mtu"] = (
                    f"{mtu} is too large across the AWS-GCP VPN (at most {VPN_CALICO_MTU_MAX})"
                )
        else:
            problems["secret_backend"] = f"{backend!r} is not 'aws' or 'gcp'"
        addresses = self.api_server_addresses
        if not isinstance(addresses, tuple) or not all(isinstance(a, str) for a in addresses):
            problems["api_server_addresses"] = "must be a tuple of IPv4 addresses"
        else:
            bad = [a for a in addresses if not _is_private_ipv4(a)]
            if bad or len(set(addresses)) != len(addresses):
                problems["api_server_addresses"] = (
                    f"{list(addresses)!r}: distinct private IPv4 addresses (the internal NLB's)"
                )

    def _role_problems(self, control_plane: bool, problems: dict[str, str]) -> None:
        secret = self.control_plane_secret_id
        issuer = self.service_account_issuer
        if control_plane:
            if not isinstance(secret, str) or not _SECRET_ID.match(secret):
                problems["control_plane_secret_id"] = (
                    f"{secret!r}: a control plane needs the control-plane secret's name or ARN"
                )
            elif secret == self.join_secret_id:
                problems["control_plane_secret_id"] = "must differ from join_secret_id"  # noqa: S105
            if not isinstance(issuer, str) or not _ISSUER.match(issuer):
                problems["service_account_issuer"] = (
                    f"{issuer!r}: a control plane needs an https issuer URL without a trailing '/'"
                )
            jwks = self.service_account_jwks_uri
            if jwks is not None and (not isinstance(jwks, str) or not _ISSUER.match(jwks)):
                problems["service_account_jwks_uri"] = f"{jwks!r} is not an https URL"
        else:
            for name in ("control_plane_secret_id", "service_account_issuer", "service_account_jwks_uri"):
                if getattr(self, name) is not None:
                    problems[name] = "only control planes use it; leave it None for a worker"
            if self.init_node:
                problems["init_node"] = "only a control plane can run kubeadm init"
            if self.api_cert_sans:
                problems["api_cert_sans"] = "only control planes serve the API"
        gpu = self.gpu
        if gpu is not None:
            if not isinstance(gpu, K8sGpuWorker):
                problems["gpu"] = f"{gpu!r} is not a K8sGpuWorker"
            elif control_plane:
                problems["gpu"] = "only workers carry GPUs"
            else:
                found = gpu.problems()
                clash = sorted(
                    key for key, value in gpu.labels.items()
                    if isinstance(self.node_labels, Mapping) and self.node_labels.get(key, value) != value
                )
                if clash:
                    found.append(f"node_labels {clash!r} contradict the GPU labels")
                if found:
                    problems["gpu"] = "; ".join(found)
        count = self.control_plane_count
        if isinstance(count, bool) or count not in (1, 3):
            problems["control_plane_count"] = f"{count!r} is not 1 or 3"
        elif control_plane and count == 1 and not self.init_node:
            problems["init_node"] = "with a single control plane, it must be the init node"
        if not isinstance(self.init_node, bool):
            problems["init_node"] = f"{self.init_node!r} is not a bool"
        sans = self.api_cert_sans
        if not isinstance(sans, tuple) or not all(isinstance(s, str) for s in sans):
            problems["api_cert_sans"] = "must be a tuple of DNS names or IP addresses"
        else:
            bad = [s for s in sans if not (_FQDN.match(s) or _is_ip(s))]
            if bad:
                problems["api_cert_sans"] = f"{bad!r} are not DNS names or IP addresses"

    def _label_problems(self, problems: dict[str, str]) -> None:
        if not isinstance(self.node_labels, Mapping):
            problems["node_labels"] = "must be a mapping of label keys to values"
        else:
            found = []
            for key, value in self.node_labels.items():
                why = _label_key_problem(key)
                if why is None and not (
                    isinstance(value, str) and (value == "" or _LABEL_NAME.match(value))
                ):
                    why = f"value {value!r} of {key!r} is not a label value"
                if why:
                    found.append(why)
            if found:
                problems["node_labels"] = "; ".join(found)
        taints = self.node_taints
        if not isinstance(taints, tuple) or not all(isinstance(t, str) for t in taints):
            problems["node_taints"] = "must be a tuple of 'key[=value]:Effect' strings"
        else:
            bad = [t for t in taints if _taint_problem(t)]
            if bad:
                problems["node_taints"] = (
                    f"{bad!r} are not taints 'key[=value]:NoSchedule|PreferNoSchedule|NoExecute'"
                )

    def _version_problems(self, problems: dict[str, str]) -> None:
        version = self.kubernetes_version
        match = _SEMVER.match(version) if isinstance(version, str) else None
        if match is None:
            problems["kubernetes_version"] = f"{version!r} is not MAJOR.MINOR.PATCH"
        elif f"{match[1]}.{match[2]}" != k8s_versions.KUBERNETES_MINOR:
            problems["kubernetes_version"] = (
                f"{version!r}: the apt repositories are pinned to Kubernetes "
                f"{k8s_versions.KUBERNETES_MINOR} (bump k8s_versions to change the minor)"
            )
        for name in ("kubernetes_apt_version", "crio_apt_version"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _APT_VERSION.match(value):
                problems[name] = f"{value!r} is not an apt version"
        if match is not None and isinstance(self.kubernetes_apt_version, str) and not (
            self.kubernetes_apt_version.startswith(f"{version}-")
        ):
            problems["kubernetes_apt_version"] = (
                f"{self.kubernetes_apt_version!r} is not a build of Kubernetes {version}"
            )
        crio = self.crio_apt_version
        if isinstance(crio, str) and not crio.startswith(f"{k8s_versions.KUBERNETES_MINOR}."):
            problems["crio_apt_version"] = (
                f"{crio!r}: CRI-O must match the Kubernetes minor {k8s_versions.KUBERNETES_MINOR}"
            )

    # --- derived values --------------------------------------------------------------------

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
    def helper_path(self) -> str:
        """Where the backend's helper (identity, secrets, marker filling) is installed."""
        return K8S_GCP_HELPER_PATH if self.on_gcp else K8S_AWS_HELPER_PATH

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
        parsed = []
        for text in dict.fromkeys(specs):
            match = _TAINT.match(text)
            assert match is not None  # validated
            parsed.append(Taint(match["key"], match["value"], match["effect"]))
        return tuple(parsed)

    @property
    def node_labels_arg(self) -> str:
        """The kubelet ``--node-labels`` value: extra labels, then the topology markers."""
        labels = {**self.all_node_labels, **TOPOLOGY_LABELS}
        return ",".join(f"{key}={value}" for key, value in labels.items())


def _is_private_ipv4(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return isinstance(address, ipaddress.IPv4Address) and address.is_private and not (
        address.is_loopback or address.is_link_local or address.is_unspecified
    )


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True

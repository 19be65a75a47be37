"""Stack config of stage v4-platform: what runs inside the v4 cluster (everything but observability).

The cluster itself is another stack (stage v4): `cluster_stack` names it, and its outputs
(kubeconfig, IRSA role, RDS secret, ingress NodePorts) are read through a StackReference.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from looper_infra.config.aws import AwsSettings as _AwsSettings
from looper_infra.config.aws import Env
from looper_infra.config.base import Cidr, DnsName, Strict
from looper_infra.config.v4_backups import BackupsConfig
from looper_infra.config.v4_backups import cross_issues as backups_cross_issues
from looper_infra.config.v4_gitops import GitOpsConfig
from looper_infra.config.v4_gitops import cross_issues as gitops_cross_issues
from looper_infra.config.v4_observability import ObservabilityConfig
from looper_infra.facts.app_contract import ARGOCD_NAMESPACE, EDGE_NAMESPACE, KAFKA_CLIENT_SECRET
from looper_infra.facts.v4_contract import EXTERNAL_SECRETS, app_secret_prefix
from looper_infra.manifests.pods import Resources

# --- Kubernetes quantities ------------------------------------------------------------------

_QUANTITY = re.compile(r"^(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>Ki|Mi|Gi|Ti|Pi|m|k|M|G|T)?\Z")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_DECIMAL = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(10**3), "M": Decimal(10**6),
            "G": Decimal(10**9), "T": Decimal(10**12)}
#: Kafka topic names: legal characters, and no '.'/'_' mix (Kafka warns: they collide in metrics);
#: Kafka's own rule less a leading "-", which kafka-topics.sh would read as an option.
_TOPIC = re.compile(r"^[a-zA-Z0-9._][a-zA-Z0-9._-]{0,248}\Z")
_SECRET_KEY = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,200}\Z")
_DURATION = re.compile(r"^([0-9]+(s|m|h))+\Z")
GIB = 2**30


def quantity_value(text: str) -> Decimal:
    """A Kubernetes quantity as a number (bytes or cores): `20Gi` -> 21474836480, `500m` -> 0.5."""
    m = _QUANTITY.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 20Gi)")
    try:
        num = Decimal(m.group("num"))
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{text!r} is not a number") from None
    unit = m.group("unit") or ""
    return num * (_BINARY[unit] if unit in _BINARY else _DECIMAL[unit])


def check_storage_size(text: str) -> str:
    """A volume size: binary units (Gi/Ti), 1Gi to 16Ti (the gp3 range)."""
    if not re.match(r"^[0-9]+(Gi|Ti)\Z", text):
        raise ValueError(f"{text!r} is not a volume size in Gi or Ti (e.g. 20Gi)")
    value = quantity_value(text)
    if value < GIB or value > 16 * 2**40:
        raise ValueError(f"{text} is outside the gp3 volume range 1Gi-16Ti")
    return text


def check_cpu(text: str) -> str:
    if not re.match(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)\Z", text):
        raise ValueError(f"{text!r} is not a CPU quantity (e.g. 250m, 1, 1.5)")
    if quantity_value(text) <= 0:
        raise ValueError("a CPU quantity must be positive")
    return text


def check_memory(text: str) -> str:
    if not re.match(r"^[0-9]+(Mi|Gi)\Z", text):
        raise ValueError(f"{text!r} is not a memory quantity in Mi or Gi (e.g. 512Mi)")
    if quantity_value(text) < 16 * 2**20:
        raise ValueError(f"{text} is below 16Mi")
    return text


StorageSize = Annotated[str, AfterValidator(check_storage_size)]
Cpu = Annotated[str, AfterValidator(check_cpu)]
Memory = Annotated[str, AfterValidator(check_memory)]


class ResourceSpec(Strict):
    """Container requests and limits (limits at least the requests)."""

    cpu_request: Cpu = Field(description="CPU request (e.g. 250m).")
    memory_request: Memory = Field(description="Memory request (e.g. 256Mi).")
    cpu_limit: Cpu = Field(description="CPU limit (>= request).")
    memory_limit: Memory = Field(description="Memory limit (>= request).")

    @field_validator("cpu_limit", "memory_limit")
    @classmethod
    def _limit_at_least_request(cls, v: str, info: ValidationInfo) -> str:
        request = info.data.get(str(info.field_name).replace("limit", "request"))
        if request is not None and quantity_value(v) < quantity_value(request):
            raise ValueError(f"{v} is below the request {request}")
        return v

    def resources(self) -> Resources:
        return Resources(self.cpu_request, self.memory_request, self.cpu_limit, self.memory_limit)


def _res(cpu: str, mem: str, cpu_limit: str, mem_limit: str) -> ResourceSpec:
    return ResourceSpec(cpu_request=cpu, memory_request=mem, cpu_limit=cpu_limit, memory_limit=mem_limit)





# --- sections ---------------------------------------------------------------------------------


class PlatformAws(_AwsSettings):
    """The AWS account and region of the cluster stack (availability zones are the cluster's)."""

    azs: list[str] = Field(
        default_factory=list, max_length=6,
        description="Unused here (the cluster stack owns the zones); leave empty.")


class Namespaces(Strict):
    """Application namespaces: default-deny NetworkPolicies apply to each."""

    app: DnsName = Field("looper", description="Namespace of the Looper application workloads.")
    data: DnsName = Field("looper-data", description="Namespace of Redis, ChromaDB and Kafka.")

    @field_validator("data")
    @classmethod
    def _distinct(cls, v: str, info: ValidationInfo) -> str:
        if v == info.data.get("app"):
            raise ValueError("must differ from the app namespace")
        return v


class IngressSettings(Strict):
    """The edge: Envoy Gateway's proxies behind the application NLB (TLS ends at the NLB; plain HTTP
    to the NodePorts)."""

    replicas: int = Field(2, ge=2, le=10, description="Envoy proxy replicas (>= 2, spread across zones).")
    resources: ResourceSpec = Field(
        default_factory=lambda: _res("100m", "256Mi", "1", "512Mi"),
        description="Envoy proxy container requests/limits.")
    app_port: int | None = Field(
        None, description="Retired with ingress-nginx (each app's port is `apps[].port`): must stay unset.")


class StorageSettings(Strict):
    """The EBS CSI driver and its StorageClasses (`gp3` default, `gp3-retain` for data)."""

    kms_key_arn: str | None = Field(
        None, pattern=r"^arn:aws:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$",
        description="Customer-managed KMS key for the volumes; unset: the account's aws/ebs key.")
    iops: int = Field(3000, ge=3000, le=16000, description="gp3 IOPS per volume (3000 is free).")
    throughput: int = Field(125, ge=125, le=1000, description="gp3 throughput MiB/s (125 is free).")

    @field_validator("throughput")
    @classmethod
    def _throughput_per_iops(cls, v: int, info: ValidationInfo) -> int:
        iops = info.data.get("iops")
        if iops is not None and v * 4 > iops:
            raise ValueError(f"{v} MiB/s needs at least {v * 4} iops (gp3 allows 0.25 MiB/s per IOPS)")
        return v


class SecretsSettings(Strict):
    """External Secrets Operator: AWS Secrets Manager -> Kubernetes Secrets in the app namespace."""

    refresh_interval: str = Field("1h", description="How often ESO re-reads each secret (e.g. 30m, 1h).")
    app_secrets: dict[DnsName, str] = Field(
        default_factory=dict,
        description="Kubernetes Secret name -> Secrets Manager key under looper/<env>/ (a JSON secret; "
        "every property becomes a key of the Kubernetes Secret).")

    @field_validator("refresh_interval")
    @classmethod
    def _duration(cls, v: str) -> str:
        if not _DURATION.match(v):
            raise ValueError(f"{v!r} is not a duration like 30m or 1h")
        return v

    @field_validator("app_secrets")
    @classmethod
    def _keys(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [f"{k}: {key!r}" for k, key in v.items()
               if not _SECRET_KEY.match(key) or key.startswith("/") or ".." in key]
        if bad:
            raise ValueError(f"not a Secrets Manager key below looper/<env>/: {', '.join(bad)}")
        if "rds" in v:
            raise ValueError("'rds' is reserved for the RDS credentials")
        if KAFKA_CLIENT_SECRET in v:
            raise ValueError(f"{KAFKA_CLIENT_SECRET!r} is reserved for the Kafka client credentials")
        return v


class GpuSettings(Strict):
    """The NVIDIA GPU operator (host driver from Ubuntu, toolkit for CRI-O, DCGM exporter)."""

    enabled: bool = Field(True, description="Install the GPU operator (no effect until GPU nodes join).")
    dcgm_exporter: bool = Field(True, description="DCGM exporter with a ServiceMonitor for Prometheus.")


class RedisSettings(Strict):
    """Redis (official image), one replica with AOF persistence on a retained gp3 volume."""

    storage: StorageSize = Field("8Gi", description="Persistent volume size.")
    maxmemory: Memory = Field("768Mi", description="Redis maxmemory (below the memory limit).")
    resources: ResourceSpec = Field(default_factory=lambda: _res("100m", "512Mi", "1", "1Gi"),
                                    description="Requests/limits.")

    @field_validator("resources")
    @classmethod
    def _fits(cls, v: ResourceSpec, info: ValidationInfo) -> ResourceSpec:
        mm = info.data.get("maxmemory")
        if mm is not None and quantity_value(mm) >= quantity_value(v.memory_limit):
            raise ValueError(f"memory_limit {v.memory_limit} must exceed maxmemory {mm}")
        return v


class ChromaSettings(Strict):
    """ChromaDB (official image) behind a token-checking Envoy sidecar, on a retained gp3 volume."""

    storage: StorageSize = Field("20Gi", description="Persistent volume size.")
    resources: ResourceSpec = Field(default_factory=lambda: _res("250m", "1Gi", "2", "4Gi"),
                                    description="ChromaDB container requests/limits.")


class KafkaTopic(Strict):
    """One topic, created idempotently by a Job."""

    partitions: int = Field(3, ge=1, le=1000, description="Partition count.")
    replication_factor: int = Field(
        3, ge=1, le=3, description="Replicas (<= kafka.brokers); below 3 survives fewer broker losses.")
    min_insync_replicas: int | None = Field(
        None, ge=1, le=3, description="In-sync replicas an acks=all write needs (< replication_factor "
        "when it is above 1, so one broker may be down); unset: the brokers' default (2, or 1 for one "
        "broker / replication factor 1).")
    retention_ms: int = Field(
        7 * 24 * 3600 * 1000, description="Retention in ms (>= 60000), or -1 for unlimited.")
    cleanup_policy: Literal["delete", "compact"] = Field("delete", description="delete or compact.")

    @field_validator("retention_ms")
    @classmethod
    def _retention(cls, v: int) -> int:
        if v != -1 and v < 60_000:
            raise ValueError(f"{v} ms: retention must be at least 60000 ms (1 minute), or -1")
        return v

    def effective_min_insync(self, brokers: int) -> int:
        """The topic's min.insync.replicas: its own, else what the brokers default to for it."""
        if self.min_insync_replicas is not None:
            return self.min_insync_replicas
        return max(1, min(2, brokers, self.replication_factor - 1))


class KafkaSettings(Strict):
    """Kafka in KRaft combined mode (apache/kafka image) on the dedicated Kafka nodes: 3 brokers, one
    per AZ (replication factor 3, min.insync.replicas 2, no unclean leader election), clients on
    SASL/SCRAM-SHA-512 over TLS, brokers and controllers on mutual TLS. One broker is the
    non-durable dev shape."""

    brokers: Literal[1, 3] = Field(
        3, description="Brokers (combined broker+controller), one per Kafka node of the cluster stack "
        "(kafka_node.count): 3 (durable, one per AZ) or 1 (dev: no replication, data lost with its volume).")
    storage: StorageSize = Field("50Gi", description="Log volume per broker.")
    heap: Memory = Field("1Gi", description="JVM heap (-Xmx/-Xms); below the memory limit.")
    resources: ResourceSpec = Field(default_factory=lambda: _res("500m", "2Gi", "2", "3Gi"),
                                    description="Broker requests/limits.")
    topics: dict[str, KafkaTopic] = Field(default_factory=dict, description="Topics keyed by name.")

    @field_validator("resources")
    @classmethod
    def _heap_fits(cls, v: ResourceSpec, info: ValidationInfo) -> ResourceSpec:
        heap = info.data.get("heap")
        if heap is not None and quantity_value(heap) >= quantity_value(v.memory_limit):
            raise ValueError(f"memory_limit {v.memory_limit} must exceed the heap {heap}")
        return v

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, v: dict[str, KafkaTopic]) -> dict[str, KafkaTopic]:
        errors = []
        for name in v:
            if not _TOPIC.match(name) or name in (".", ".."):
                errors.append(f"{name!r} is not a valid topic name")
            elif "." in name and "_" in name:
                errors.append(f"{name!r} mixes '.' and '_' (they collide in Kafka metric names)")
        if errors:
            raise ValueError("; ".join(errors))
        return v

    def topic_issues(self) -> list[tuple[str, str]]:
        """Each topic against the broker count: replicas that cannot be placed, or an in-sync
        minimum that one broker down (or any) would break."""
        issues: list[tuple[str, str]] = []
        for name, t in sorted(self.topics.items()):
            path = f"kafka.topics.{name}"
            if t.replication_factor > self.brokers:
                issues.append((f"{path}.replication_factor", f"{t.replication_factor} exceeds kafka.brokers "
                                                             f"{self.brokers} (one replica per broker)"))
            isr = t.min_insync_replicas
            if isr is not None and t.replication_factor > 1 and isr >= t.replication_factor:
                issues.append((f"{path}.min_insync_replicas",
                               f"{isr} >= replication_factor {t.replication_factor}: one broker down "
                               "would stop every acks=all write (use replication_factor - 1 or less)"))
            elif isr is not None and isr > t.replication_factor:
                issues.append((f"{path}.min_insync_replicas",
                               f"{isr} exceeds replication_factor {t.replication_factor}"))
        return issues


class NetworkPolicySettings(Strict):
    """Default-deny per application namespace plus the allows each workload needs."""

    rds_cidrs: list[Cidr] = Field(
        min_length=1, description="Data subnets of RDS (the cluster stack's network.data_cidrs): the app "
        "may reach PostgreSQL 5432 there.")
    https_egress_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Where the app may call HTTPS 443 (external APIs); empty: nowhere outside the cluster.")


def check_duration(text: str) -> str:
    """A positive Go duration of whole hours, minutes and seconds (`10m`, `1h30m`, `90s`)."""
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration like 90s, 10m or 1h30m")
    if all(int(n) == 0 for n in re.findall(r"[0-9]+", text)):
        raise ValueError(f"{text!r} is zero")
    return text


Duration = Annotated[str, AfterValidator(check_duration)]


class ClusterAutoscalerSettings(Strict):
    """Cluster Autoscaler (kube-system): sizes the worker and GPU groups that carry the cluster's
    discovery tags; the Kafka group is not autoscaled (its broker's volume lives in one zone)."""

    replicas: int = Field(2, ge=1, le=3, description="Replicas (one leads, the other takes over "
                          "within the leader-election lease; 1 only to save a pod).")
    scale_down_enabled: bool = Field(True, description="Remove nodes that stay unneeded (false: grow "
                                     "only, e.g. during an incident).")
    scale_down_unneeded_time: Duration = Field(
        "10m", description="How long a node must be unneeded before it is removed.")
    scale_down_delay_after_add: Duration = Field(
        "10m", description="No scale-down evaluation for this long after a scale-up.")
    scale_down_delay_after_failure: Duration = Field(
        "3m", description="No scale-down evaluation for this long after a failed scale-down.")
    scale_down_utilization_threshold: float = Field(
        0.5, gt=0, lt=1, description="A node whose requests use less than this share of its "
        "capacity is a scale-down candidate.")
    max_node_provision_time: Duration = Field(
        "15m", description="A new node not Ready within this is given up (its group backs off).")
    resources: ResourceSpec = Field(default_factory=lambda: _res("50m", "300Mi", "500m", "600Mi"),
                                    description="Requests and limits of the autoscaler.")


class NodeTerminationHandlerSettings(Strict):
    """AWS Node Termination Handler in queue mode (kube-system): drains a node before its group
    terminates it. Its drain timeout is the cluster stack's `node_drain_timeout_seconds`."""

    replicas: int = Field(2, ge=1, le=3, description="Replicas reading the queue (a message is "
                          "handled by one; two keep draining while one is rescheduled).")
    resources: ResourceSpec = Field(default_factory=lambda: _res("25m", "64Mi", "250m", "256Mi"),
                                    description="Requests and limits of the handler.")


class MetricsServerSettings(Strict):
    """metrics-server (kube-system): the resource metrics HorizontalPodAutoscalers scale on, read
    from the kubelets over TLS verified with the cluster CA (kubelet serving certificates are
    approved by kubelet-csr-approver; docs/runbooks/kubelet-serving-certs.md)."""

    replicas: int = Field(2, ge=1, le=5, description="Replicas, one per node (the metrics API "
                          "answers while one is rescheduled; 1 only to save a pod).")
    resources: ResourceSpec = Field(default_factory=lambda: _res("100m", "200Mi", "500m", "400Mi"),
                                    description="Requests and limits of each replica (upstream sizing: "
                                    "about 1 millicore and 2 MiB per node).")


class V4PlatformConfig(Strict):
    """Stage v4-platform: ingress, storage, secrets, GPU operator, Redis, ChromaDB, Kafka in the cluster."""

    stage: Literal["v4-platform"] = Field(description="Architecture stage this stack builds.")
    env: Env = Field(description="Environment name (must equal the cluster stack's env).")
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,15}$")] = Field(
        "looper", description="Prefix of every name.")
    cluster_stack: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="The v4 cluster stack read through a StackReference (org/project/stack, e.g. "
        "organization/looper/v4-dev).")
    aws: PlatformAws
    namespaces: Namespaces = Field(default_factory=Namespaces)
    ingress: IngressSettings = Field(default_factory=IngressSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    gpu: GpuSettings = Field(default_factory=GpuSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    chromadb: ChromaSettings = Field(default_factory=ChromaSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    network_policies: NetworkPolicySettings
    cluster_autoscaler: ClusterAutoscalerSettings = Field(
        default_factory=ClusterAutoscalerSettings,
        description="Cluster Autoscaler of the worker and GPU groups (image follows the cluster's "
        "Kubernetes minor).")
    node_termination_handler: NodeTerminationHandlerSettings = Field(
        default_factory=NodeTerminationHandlerSettings,
        description="AWS Node Termination Handler (queue mode).")
    metrics_server: MetricsServerSettings = Field(
        default_factory=MetricsServerSettings,
        description="metrics-server for the HPAs (CPU and memory), with verified kubelet TLS.")
    observability: ObservabilityConfig = Field(
        default_factory=ObservabilityConfig, description="Metrics, logs and traces (see its own section).")
    backups: BackupsConfig = Field(default_factory=BackupsConfig,
                                   description="Velero backups (see its own section).")
    apps: list[v4_apps.AppService] = Field(
        default_factory=list, description="The Looper app services: each a Deployment with its HPA, PDB, "
        "NetworkPolicies, ExternalSecrets and routes.")
    gitops: GitOpsConfig | None = Field(
        None, description="Argo CD applying the apps from a Git repository; unset: Pulumi applies `apps`.")

    def cross_issues(self) -> list[tuple[str, str]]:
        issues: list[tuple[str, str]] = []
        stack = self.cluster_stack.rsplit("/", 1)[-1]
        from looper_infra.config.stack_names import stack_name_problem

        if (problem := stack_name_problem(stack)) is not None:
            issues.append(("cluster_stack", problem))
        if not stack.endswith(f"-{self.env}"):
            issues.append(("cluster_stack", f"stack {stack!r} is not the {self.env!r} cluster "
                                            f"(expected a name ending in -{self.env})"))
        if self.aws.azs:
            issues.append(("aws.azs", "the cluster stack owns the zones: leave empty"))
        if self.ingress.app_port is not None:
            issues.append(("ingress.app_port", "retired with ingress-nginx: each app names its own port "
                                               "(apps[].port); remove this key"))
        platform = {"default", EDGE_NAMESPACE, EXTERNAL_SECRETS.namespace, "gpu-operator", "monitoring",
                    ARGOCD_NAMESPACE}
        for ns in sorted({self.namespaces.app, self.namespaces.data}):
            if ns in platform or ns.startswith("kube-"):
                issues.append(("namespaces", f"{ns!r} is a platform namespace"))
        issues += self.kafka.topic_issues()
        issues += v4_apps.cross_issues(self.apps, app_secret_names=list(self.secrets.app_secrets),
                                       gpu_operator=self.gpu.enabled)
        smtp = self.observability.alertmanager.smtp
        if smtp is not None and not smtp.password_secret_key.startswith(app_secret_prefix(self.env)):
            issues.append(("observability.alertmanager.smtp.password_secret_key",
                           f"{smtp.password_secret_key!r} is not under {app_secret_prefix(self.env)} (the "
                           f"secrets this env's External Secrets role may read)"))
        issues += backups_cross_issues(self.backups, app=self.namespaces.app, data=self.namespaces.data)
        issues += gitops_cross_issues(self.gitops, argocd_enabled=self.observability.argocd.enabled)
        return issues


# the apps section reuses ResourceSpec and DnsName from above: imported last (no import cycle)
from looper_infra.config import v4_apps  # noqa: E402

V4PlatformConfig.model_rebuild(force=True)  # resolve `apps` now, for the config reference

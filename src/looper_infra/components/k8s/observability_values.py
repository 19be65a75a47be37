"""Helm values of the observability charts, built from typed inputs (pure functions, no Pulumi).

One builder per chart; each takes its settings (`observability_settings`) and the facts it needs
(service addresses, bucket names, the IRSA role ARN as an opaque value) and returns the values
mapping. Values never hold a secret: passwords live in Kubernetes Secrets the charts reference by
name (`existingSecret`, files mounted from Secrets), so the plan, which shows Helm values, shows
no secret.

Service addresses are derived from the release names below in one place (`Endpoints`), so the
collector, Alloy and Grafana point at exactly the Services the releases create.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from looper_infra.components.k8s.observability_rules import CONTROL_PLANE_DR_RULE, control_plane_dr_rules
from looper_infra.components.k8s.observability_settings import (
    AlertmanagerSettings,
    LokiSettings,
    ObservabilitySettings,
)
from looper_infra.facts import v4_contract
from looper_infra.facts.observability_charts import OTEL_COLLECTOR_IMAGE_REPOSITORY
from looper_infra.manifests.web_identity import WebIdentity

#: Helm release name per chart; the Services below follow from them (fullname = release name
#: for loki/tempo, fullnameOverride for the others)
RELEASE_NAMES: Mapping[str, str] = {
    "kube-prometheus-stack": "kps",
    "loki": "loki",
    "tempo": "tempo",
    "alloy": "alloy",
    "opentelemetry-collector": "otel-collector",
}
#: kube-prometheus-stack resources are `<fullnameOverride>-prometheus`, `-alertmanager`
KPS_FULLNAME = RELEASE_NAMES["kube-prometheus-stack"]
GRAFANA_FULLNAME = "grafana"
OTEL_FULLNAME = RELEASE_NAMES["opentelemetry-collector"]
LOKI_SERVICE_ACCOUNT = "loki"
TEMPO_SERVICE_ACCOUNT = "tempo"
#: the EBS CSI StorageClass of the platform stack (encrypted gp3)
STORAGE_CLASS = "gp3"
GRAFANA_PORT = 3000
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
LOKI_HTTP_PORT = 3100
TEMPO_HTTP_PORT = 3200
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093

#: Control-plane metrics endpoints as the v4 kubeadm config (bootstrap/templates/k8s-kubeadm.yaml.j2)
#: exposes them: controller-manager and scheduler on their default secure ports (bind-address
#: 0.0.0.0, self-signed serving certificates, /metrics behind delegated authorization), etcd's
#: plain-HTTP metrics listener and kube-proxy's metricsBindAddress.
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259
ETCD_METRICS_PORT = 2381
KUBE_PROXY_METRICS_PORT = 10249

#: Loki's schema: tsdb + v13 from a fixed date in the past. Never edit an entry: add one with a
#: future `from` date to change schema.
LOKI_SCHEMA_FROM = "2026-01-01"

#: node-exporter's textfile collector: the control planes write their etcd snapshot and certificate
#: metrics as `*.prom` files into TEXTFILE_DIR on the host (bootstrap/k8s_node); the chart mounts
#: the host's root read-only at HOST_ROOT (`hostRootFsMount`, HostToContainer propagation, so a
#: directory made after the pod started is seen too), so the collector reads it through that mount
HOST_ROOT = "/host/root"
TEXTFILE_DIR = v4_contract.TEXTFILE_COLLECTOR_DIR
#: the arguments kube-prometheus-stack 92.x passes node-exporter by default: a values list replaces
#: the chart's list instead of extending it, so they are repeated here next to ours
KPS_NODE_EXPORTER_ARGS = (
    "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+|var/lib/kubelet/.+)($|/)",
    "--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts"
    "|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs"
    "|selinuxfs|squashfs|sysfs|tracefs|erofs)$",
)
#: every node, control planes (node-role.kubernetes.io/control-plane:NoSchedule) included: the
#: chart's default, pinned so a chart bump cannot drop the control planes' metrics
NODE_EXPORTER_TOLERATIONS = ({"operator": "Exists", "effect": "NoSchedule"},)

#: where Alertmanager finds the mounted SMTP password (`alertmanagerSpec.secrets` mounts each
#: Secret under /etc/alertmanager/secrets/<name>/)
SMTP_PASSWORD_KEY = "password"  # noqa: S105 (a key name)


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container."""

    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str

    def values(self) -> dict[str, Any]:
        return {"requests": {"cpu": self.cpu, "memory": self.memory},
                "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit}}


SMALL = Resources("10m", "32Mi", "100m", "64Mi")
#: sizes per component (starting points for a small cluster; Prometheus and Loki grow with load)
SIZES: Mapping[str, Resources] = {
    "prometheus": Resources("500m", "2Gi", "2", "4Gi"),
    "prometheus-operator": Resources("100m", "128Mi", "500m", "256Mi"),
    "config-reloader": SMALL,
    "admission-webhook-patch": SMALL,
    "alertmanager": Resources("50m", "64Mi", "200m", "256Mi"),
    "grafana": Resources("100m", "256Mi", "1", "512Mi"),
    "grafana-sidecar": Resources("20m", "64Mi", "100m", "128Mi"),
    "kube-state-metrics": Resources("50m", "128Mi", "200m", "256Mi"),
    "node-exporter": Resources("50m", "32Mi", "200m", "64Mi"),
    "loki": Resources("250m", "512Mi", "2", "2Gi"),
    "loki-sidecar": Resources("10m", "32Mi", "100m", "128Mi"),
    "tempo": Resources("250m", "512Mi", "2", "2Gi"),
    "alloy": Resources("100m", "128Mi", "500m", "512Mi"),
    "alloy-config-reloader": SMALL,
    "otel-collector": Resources("200m", "256Mi", "1", "1Gi"),
}


@dataclass(frozen=True)
class Endpoints:
    """In-cluster addresses of the stack's Services, from the release names."""

    namespace: str
    loki_mode: str = "monolithic"

    def _svc(self, name: str) -> str:
        return f"{name}.{self.namespace}.svc"

    @property
    def prometheus(self) -> str:
        return f"http://{self._svc(f'{KPS_FULLNAME}-prometheus')}:{PROMETHEUS_PORT}"

    @property
    def prometheus_remote_write(self) -> str:
        return f"{self.prometheus}/api/v1/write"

    @property
    def alertmanager(self) -> str:
        return f"http://{self._svc(f'{KPS_FULLNAME}-alertmanager')}:{ALERTMANAGER_PORT}"

    @property
    def loki_write(self) -> str:
        name = "loki" if self.loki_mode == "monolithic" else "loki-write"
        return f"http://{self._svc(name)}:{LOKI_HTTP_PORT}"

    @property
    def loki_read(self) -> str:
        name = "loki" if self.loki_mode == "monolithic" else "loki-read"
        return f"http://{self._svc(name)}:{LOKI_HTTP_PORT}"

    @property
    def loki_push(self) -> str:
        return f"{self.loki_write}/loki/api/v1/push"

    @property
    def loki_otlp(self) -> str:
        """Loki's native OTLP endpoint (the otlp_http exporter appends /v1/logs)."""
        return f"{self.loki_write}/otlp"

    @property
    def tempo_otlp_grpc(self) -> str:
        return f"{self._svc('tempo')}:{OTLP_GRPC_PORT}"

    @property
    def tempo_query(self) -> str:
        return f"http://{self._svc('tempo')}:{TEMPO_HTTP_PORT}"

    @property
    def otlp_grpc(self) -> str:
        return f"http://{self._svc(OTEL_FULLNAME)}:{OTLP_GRPC_PORT}"

    @property
    def otlp_http(self) -> str:
        return f"http://{self._svc(OTEL_FULLNAME)}:{OTLP_HTTP_PORT}"


# -- kube-prometheus-stack -------------------------------------------------------------------------

def alertmanager_config(am: AlertmanagerSettings, smtp_secret: str | None) -> dict[str, Any]:
    """Alertmanager routing: mail when SMTP is configured, else alerts stay in the UI."""
    smtp = am.smtp
    null_route = {"receiver": "null", "matchers": ['alertname = "Watchdog"']}
    if smtp is None or smtp_secret is None:
        return {"route": {"receiver": "null", "group_by": ["alertname", "namespace"], "routes": [null_route]},
                "receivers": [{"name": "null"}]}
    glob: dict[str, Any] = {
        "smtp_smarthost": f"{smtp.host}:{smtp.port}",
        "smtp_from": smtp.from_address,
        "smtp_auth_username": smtp.username,
        # a file mounted from the Secret the ExternalSecret writes: the password is never in values
        "smtp_auth_password_file": f"/etc/alertmanager/secrets/{smtp_secret}/{SMTP_PASSWORD_KEY}",
        # 587 must upgrade with STARTTLS; 465 is TLS from the first byte
        "smtp_require_tls": smtp.port == 587,
    }
    return {
        "global": glob,
        "route": {"receiver": "email", "group_by": ["alertname", "namespace"], "group_wait": "30s",
                  "group_interval": "5m", "repeat_interval": "4h", "routes": [null_route]},
        "receivers": [{"name": "null"},
                      {"name": "email", "email_configs": [{"to": smtp.to_address, "send_resolved": True}]}],
        "inhibit_rules": [{"source_matchers": ['severity = "critical"'],
                           "target_matchers": ['severity = "warning"'],
                           "equal": ["namespace", "alertname"]}],
    }


def grafana_datasources(ep: Endpoints) -> list[dict[str, Any]]:
    """Prometheus, Alertmanager, Loki and Tempo with fixed UIDs so the cross-links resolve."""
    return [
        {"name": "Prometheus", "uid": "prometheus", "type": "prometheus", "access": "proxy",
         "url": ep.prometheus, "isDefault": True,
         "jsonData": {"httpMethod": "POST",
                      "exemplarTraceIdDestinations": [{"name": "trace_id", "datasourceUid": "tempo"}]}},
        {"name": "Alertmanager", "uid": "alertmanager", "type": "alertmanager", "access": "proxy",
         "url": ep.alertmanager, "jsonData": {"implementation": "prometheus"}},
        {"name": "Loki", "uid": "loki", "type": "loki", "access": "proxy", "url": ep.loki_read,
         # OTLP logs carry trace_id as structured metadata: a label-type derived field
         "jsonData": {"derivedFields": [{"name": "trace_id", "matcherType": "label",
                                         "matcherRegex": "trace_id", "datasourceUid": "tempo",
                                         "url": "$${__value.raw}", "urlDisplayLabel": "View trace"}]}},
        {"name": "Tempo", "uid": "tempo", "type": "tempo", "access": "proxy", "url": ep.tempo_query,
         "jsonData": {
             "tracesToLogsV2": {"datasourceUid": "loki", "filterByTraceID": True, "filterBySpanID": False,
                                "spanStartTimeShift": "-5m", "spanEndTimeShift": "5m",
                                "tags": [{"key": "service.name", "value": "service_name"}]},
             "tracesToMetrics": {"datasourceUid": "prometheus"},
             "serviceMap": {"datasourceUid": "prometheus"},
             "nodeGraph": {"enabled": True},
             "lokiSearch": {"datasourceUid": "loki"}}},
    ]


def _scrape(port: int, https: bool) -> dict[str, Any]:
    monitor: dict[str, Any] = {"enabled": True, "https": https}
    if https:
        # kubeadm's controller-manager/scheduler serve self-signed certificates for localhost
        monitor["insecureSkipVerify"] = True
    return {"enabled": True, "service": {"enabled": True, "port": port, "targetPort": port},
            "serviceMonitor": monitor}


def node_exporter_values() -> dict[str, Any]:
    """node-exporter on every node, reading the control planes' textfile metrics from the host."""
    return {
        "resources": SIZES["node-exporter"].values(),
        "hostRootFsMount": {"enabled": True, "mountPropagation": "HostToContainer"},
        "extraArgs": [*KPS_NODE_EXPORTER_ARGS, f"--collector.textfile.directory={HOST_ROOT}{TEXTFILE_DIR}"],
        "tolerations": [dict(t) for t in NODE_EXPORTER_TOLERATIONS],
    }


def kube_prometheus_stack_values(
    settings: ObservabilitySettings, ep: Endpoints, *, grafana_admin_secret: Any, smtp_secret: str | None,
) -> dict[str, Any]:
    """Prometheus (remote-write receiver on), Alertmanager, Grafana, control-plane scraping."""
    p, am, g = settings.prometheus, settings.alertmanager, settings.grafana
    prometheus_spec: dict[str, Any] = {
        "replicas": p.replicas,
        "retention": p.retention,
        # the OTel collector and Tempo's metrics generator push here (NetworkPolicy: monitoring only)
        "enableRemoteWriteReceiver": True,
        "enableFeatures": ["exemplar-storage"],
        "walCompression": True,
        "storageSpec": {"volumeClaimTemplate": {"spec": {
            "storageClassName": STORAGE_CLASS, "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": p.storage_size}}}}},
        "resources": SIZES["prometheus"].values(),
        # pick up ServiceMonitors/PodMonitors/rules of every release, not only this chart's
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "probeSelectorNilUsesHelmValues": False,
    }
    if p.retention_size is not None:
        prometheus_spec["retentionSize"] = p.retention_size
    alertmanager_spec: dict[str, Any] = {
        "replicas": am.replicas,
        "resources": SIZES["alertmanager"].values(),
        "storage": {"volumeClaimTemplate": {"spec": {
            "storageClassName": STORAGE_CLASS, "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "2Gi"}}}}},
    }
    if smtp_secret is not None:
        alertmanager_spec["secrets"] = [smtp_secret]
    return {
        "fullnameOverride": KPS_FULLNAME,
        "crds": {"enabled": True},
        "prometheusOperator": {
            "resources": SIZES["prometheus-operator"].values(),
            "prometheusConfigReloader": {"resources": SIZES["config-reloader"].values()},
            "admissionWebhooks": {"patch": {"resources": SIZES["admission-webhook-patch"].values()}},
        },
        "prometheus": {"prometheusSpec": prometheus_spec},
        "alertmanager": {"alertmanagerSpec": alertmanager_spec,
                         "config": alertmanager_config(am, smtp_secret)},
        "grafana": {
            "fullnameOverride": GRAFANA_FULLNAME,
            "replicas": g.replicas,
            # the password stays in the Secret; the chart only names it
            "admin": {"existingSecret": grafana_admin_secret, "userKey": "admin-user",
                      "passwordKey": "admin-password"},
            "persistence": {"enabled": True, "type": "pvc", "storageClassName": STORAGE_CLASS,
                            "accessModes": ["ReadWriteOnce"], "size": g.persistence_size},
            "resources": SIZES["grafana"].values(),
            "sidecar": {"resources": SIZES["grafana-sidecar"].values(),
                        "datasources": {"defaultDatasourceEnabled": False,
                                        "alertmanager": {"enabled": False}}},
            "additionalDataSources": grafana_datasources(ep),
            "grafana.ini": {"analytics": {"reporting_enabled": False, "check_for_updates": False},
                            "users": {"allow_sign_up": False}, "auth.anonymous": {"enabled": False}},
        },
        "kube-state-metrics": {"resources": SIZES["kube-state-metrics"].values()},
        "prometheus-node-exporter": node_exporter_values(),
        # the control-plane DR alerts (etcd snapshots, certificates): a PrometheusRule of this release
        "additionalPrometheusRulesMap": {CONTROL_PLANE_DR_RULE: control_plane_dr_rules()},
        # control plane: what the v4 kubeadm config exposes (see the constants above)
        "kubeControllerManager": _scrape(CONTROLLER_MANAGER_PORT, https=True),
        "kubeScheduler": _scrape(SCHEDULER_PORT, https=True),
        "kubeEtcd": {"enabled": True,
                     "service": {"enabled": True, "port": ETCD_METRICS_PORT, "targetPort": ETCD_METRICS_PORT},
                     "serviceMonitor": {"enabled": True, "scheme": "http"}},
        "kubeProxy": _scrape(KUBE_PROXY_METRICS_PORT, https=False),
    }


# -- Loki ----------------------------------------------------------------------------------------

def loki_values(lk: LokiSettings, *, chunks_bucket: Any, ruler_bucket: Any,
                identity: WebIdentity) -> dict[str, Any]:
    """Loki on S3 (no static keys: web identity), retention by the compactor."""
    monolithic = lk.mode == "monolithic"
    component = {
        "resources": SIZES["loki"].values(),
        "persistence": {"enabled": True, "storageClass": STORAGE_CLASS, "size": "10Gi"},
        "extraEnv": identity.env(),
        "extraVolumes": identity.volumes(),
        "extraVolumeMounts": identity.mounts(),
    }
    targets = {"singleBinary": lk.replicas if monolithic else 0,
               "read": 0 if monolithic else lk.replicas,
               "write": 0 if monolithic else lk.replicas,
               "backend": 0 if monolithic else lk.replicas}
    per_target = {k: ({"replicas": n, **component} if n else {"replicas": 0}) for k, n in targets.items()}
    return {
        "deploymentMode": "Monolithic" if monolithic else "SimpleScalable",
        "serviceAccount": identity.service_account(LOKI_SERVICE_ACCOUNT),
        "loki": {
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 3 if lk.replicas >= 3 else 1},
            "storage": {"type": "s3", "bucketNames": {"chunks": chunks_bucket, "ruler": ruler_bucket},
                        "s3": {"region": identity.region, "s3ForcePathStyle": False, "insecure": False}},
            "schemaConfig": {"configs": [{"from": LOKI_SCHEMA_FROM, "store": "tsdb", "object_store": "s3",
                                          "schema": "v13", "index": {"prefix": "index_", "period": "24h"}}]},
            "limits_config": {"retention_period": f"{lk.retention_days * 24}h",
                              "allow_structured_metadata": True, "volume_enabled": True},
            "compactor": {"retention_enabled": True, "delete_request_store": "s3"},
            "pattern_ingester": {"enabled": False},
        },
        **per_target,
        "sidecar": {"resources": SIZES["loki-sidecar"].values()},
        # memcached caches default to GBs of memory: off for this size of cluster
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        "gateway": {"enabled": False},
        "lokiCanary": {"enabled": False},
        "test": {"enabled": False},
        "minio": {"enabled": False},
    }


# -- Tempo ---------------------------------------------------------------------------------------

def tempo_values(retention_hours: int, ep: Endpoints, *, bucket: Any,
                 identity: WebIdentity) -> dict[str, Any]:
    """Tempo 3 monolithic on S3; its metrics generator remote-writes service graphs to Prometheus."""
    return {
        "replicas": 1,
        "serviceAccount": identity.service_account(TEMPO_SERVICE_ACCOUNT),
        "tempo": {
            "reportingEnabled": False,
            "retention": f"{retention_hours}h",
            "storage": {"trace": {"backend": "s3", "s3": {
                "bucket": bucket, "endpoint": f"s3.{identity.region}.amazonaws.com",
                "region": identity.region}}},
            "receivers": {
                # OTLP only. Jaeger: every protocol the chart enables is removed (null), so no
                # Jaeger port listens or is in the Service. `jaeger` itself must stay a map with a
                # `protocols` map: the chart's templates/_ports.tpl reads
                # `.Values.tempo.receivers.jaeger.protocols.<protocol>` unguarded, and `jaeger: null`
                # (or `{}`) fails the render with "nil pointer evaluating interface {}.protocols"
                # (grafana/helm-charts#3495; still so in grafana-community tempo 2.2.4, the newest
                # chart read). Tempo starts no Jaeger listener for `protocols: {}`.
                "jaeger": {"protocols": {"grpc": None, "thrift_binary": None, "thrift_compact": None,
                                         "thrift_http": None}},
                "otlp": {"protocols": {"grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                                       "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"}}}},
            "metricsGenerator": {"enabled": True, "storage": {
                "path": "/var/tempo/metrics",
                "remote_write": [{"url": ep.prometheus_remote_write, "send_exemplars": True}]}},
            "overrides": {"defaults": {"metrics_generator": {
                "processors": ["service-graphs", "span-metrics"]}}},
            "resources": SIZES["tempo"].values(),
            "extraEnv": identity.env(),
            "extraVolumeMounts": identity.mounts(),
        },
        "extraVolumes": identity.volumes(),
        "persistence": {"enabled": True, "storageClassName": STORAGE_CLASS, "size": "10Gi"},
    }


# -- Alloy ---------------------------------------------------------------------------------------

def alloy_config(ep: Endpoints) -> str:
    """Alloy pipeline: this node's pod log files -> CRI parsing -> Loki (what Promtail used to do)."""
    return "\n".join([
        'discovery.kubernetes "pods" {',
        '  role = "pod"',
        '  selectors {',
        '    role  = "pod"',
        '    field = "spec.nodeName=" + sys.env("HOSTNAME")',
        '  }',
        '}',
        '',
        'discovery.relabel "pods" {',
        '  targets = discovery.kubernetes.pods.targets',
        '  rule {',
        '    source_labels = ["__meta_kubernetes_namespace"]',
        '    target_label  = "namespace"',
        '  }',
        '  rule {',
        '    source_labels = ["__meta_kubernetes_pod_name"]',
        '    target_label  = "pod"',
        '  }',
        '  rule {',
        '    source_labels = ["__meta_kubernetes_pod_container_name"]',
        '    target_label  = "container"',
        '  }',
        '  rule {',
        '    source_labels = ["__meta_kubernetes_pod_node_name"]',
        '    target_label  = "node"',
        '  }',
        '  rule {',
        '    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]',
        '    separator     = "/"',
        '    target_label  = "__path__"',
        '    replacement   = "/var/log/pods/*$1/*.log"',
        '  }',
        '}',
        '',
        'local.file_match "pods" {',
        '  path_targets = discovery.relabel.pods.output',
        '}',
        '',
        'loki.source.file "pods" {',
        '  targets    = local.file_match.pods.targets',
        '  forward_to = [loki.process.pods.receiver]',
        '}',
        '',
        'loki.process "pods" {',
        '  stage.cri {}',
        '  forward_to = [loki.write.default.receiver]',
        '}',
        '',
        'loki.write "default" {',
        '  endpoint {',
        f'    url = "{ep.loki_push}"',
        '  }',
        '}',
        '',
    ])


def alloy_values(ep: Endpoints) -> dict[str, Any]:
    """A DaemonSet on every node (tolerates every taint: control plane, Kafka, GPU nodes too)."""
    return {
        "alloy": {
            "configMap": {"create": True, "content": alloy_config(ep)},
            # /var/log from the host: the pod log files (needs the privileged PodSecurity level)
            "mounts": {"varlog": True},
            "resources": SIZES["alloy"].values(),
        },
        "configReloader": {"resources": SIZES["alloy-config-reloader"].values()},
        "controller": {"type": "daemonset", "tolerations": [{"operator": "Exists"}]},
        "serviceMonitor": {"enabled": True},
    }


# -- OpenTelemetry Collector -----------------------------------------------------------------------

def otel_collector_values(replicas: int, ep: Endpoints) -> dict[str, Any]:
    """OTLP in (gRPC 4317, HTTP 4318); traces -> Tempo, metrics -> Prometheus, logs -> Loki."""
    processors = ["memory_limiter", "batch"]
    return {
        "mode": "deployment",
        "fullnameOverride": OTEL_FULLNAME,
        "replicaCount": replicas,
        "image": {"repository": OTEL_COLLECTOR_IMAGE_REPOSITORY},
        "resources": SIZES["otel-collector"].values(),
        "ports": {"jaeger-compact": {"enabled": False}, "jaeger-thrift": {"enabled": False},
                  "jaeger-grpc": {"enabled": False}, "zipkin": {"enabled": False},
                  "metrics": {"enabled": True}},
        "serviceMonitor": {"enabled": True},
        "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
        "config": {
            # the chart's defaults enable these receivers: switched off (null) explicitly
            "receivers": {
                "jaeger": None, "zipkin": None, "prometheus": None,
                "otlp": {"protocols": {"grpc": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_GRPC_PORT}"},
                                       "http": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_HTTP_PORT}"}}},
            },
            # the component names of collector v0.144.0+ (otlp_grpc, otlp_http) and contrib
            # v0.154.0+ (prometheus_remote_write); the old names are deprecated aliases
            "exporters": {
                "otlp_grpc/tempo": {"endpoint": ep.tempo_otlp_grpc, "tls": {"insecure": True}},
                "otlp_http/loki": {"endpoint": ep.loki_otlp},
                "prometheus_remote_write": {"endpoint": ep.prometheus_remote_write,
                                            "resource_to_telemetry_conversion": {"enabled": True}},
            },
            "service": {"pipelines": {
                "traces": {"receivers": ["otlp"], "processors": processors,
                           "exporters": ["otlp_grpc/tempo"]},
                "metrics": {"receivers": ["otlp"], "processors": processors,
                            "exporters": ["prometheus_remote_write"]},
                "logs": {"receivers": ["otlp"], "processors": processors, "exporters": ["otlp_http/loki"]},
            }},
        },
    }

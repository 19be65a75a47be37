"""The observability stack of stage `v4-platform`: metrics, logs, traces, alerting.

What it builds (all in namespace `monitoring` unless noted):

- the namespace, PodSecurity `privileged` (enforced) with `baseline` warnings/audit: the
  node-exporter DaemonSet of kube-prometheus-stack needs hostNetwork/hostPID and host mounts, and
  Alloy reads `/var/log/pods` through a hostPath; `baseline` rejects both and has no per-workload
  exemptions, so the namespace is privileged and only this stack's charts deploy into it;
- S3 buckets for Loki (chunks, ruler) and Tempo: SSE-S3 (AES256 - see `_bucket`), all four public
  access blocks, BucketOwnerEnforced, TLS-only bucket policy, lifecycle expiry one day after the
  configured retention (the ruler bucket, which holds rules rather than data, keeps versions);
- IRSA roles (`IrsaRole`) for the `loki` and `tempo` service accounts, each limited to its own
  bucket(s); the pods mount a projected token (audience sts.amazonaws.com) and get
  AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE: there is no pod identity webhook on this cluster;
- Helm releases at the versions pinned in `facts/observability_charts.py`: kube-prometheus-stack
  (Prometheus with the remote-write receiver, Alertmanager, Grafana with its datasources wired and
  its admin password from a Secret made here from a random password, control-plane scraping as the
  kubeadm config exposes it, node-exporter on every node reading the control planes' textfile
  metrics, and the control-plane DR alerts of `observability_rules`), Loki, Tempo, Grafana Alloy
  (pod logs, the Promtail successor), the OpenTelemetry Collector (OTLP in; traces to Tempo,
  metrics to Prometheus by remote write, logs to Loki's OTLP endpoint);
- the SMTP password of Alertmanager through an ExternalSecret (AWS Secrets Manager -> Secret);
- NetworkPolicies: default-deny ingress, intra-namespace allowed, OTLP 4317/4318 from the
  application namespaces, Grafana 3000 from the edge namespace, the operator's admission webhook.

Metrics reach Prometheus by remote write rather than a scraped `prometheus` exporter: the
collector forwards what it receives without a second hop and a ServiceMonitor per replica, Tempo's
metrics generator uses the same receiver, and the NetworkPolicies keep the receiver (which has no
authentication) reachable from inside the namespace only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from looper_infra.components.aws.irsa import IrsaRole, IrsaRoleArgs
from looper_infra.components.aws.provider import partition
from looper_infra.components.aws.s3 import bucket_statements, private_bucket
from looper_infra.components.aws.s3 import tls_only_policy as bucket_policy
from looper_infra.components.base import Component
from looper_infra.components.k8s import observability_values as v
from looper_infra.components.k8s.external_secrets import API_VERSION as EXTERNAL_SECRETS_API
from looper_infra.components.k8s.external_secrets import STORE_NAME as CLUSTER_SECRET_STORE
from looper_infra.components.k8s.observability_settings import ObservabilitySettings
from looper_infra.facts.app_contract import EDGE_NAMESPACE
from looper_infra.facts.observability_charts import CHARTS
from looper_infra.manifests.web_identity import WebIdentity

INGRESS_NAMESPACE = EDGE_NAMESPACE  # the Gateway API proxies
#: names of Kubernetes Secrets (not secret values)
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105
SMTP_SECRET = "alertmanager-smtp"  # noqa: S105
#: seconds Helm waits for a release's resources to become ready
HELM_TIMEOUT_SEC = 900
_NAME_LABEL = "kubernetes.io/metadata.name"
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
#: S3 bucket names as made here: 3-63 lowercase letters, digits and '-'
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
#: what each bucket holds (part of its name); Loki's role reaches the first two, Tempo's the last
BUCKET_ROLES = ("loki-chunks", "loki-ruler", "tempo")

#: Days a replaced version of a Loki rule file is kept (the ruler bucket is versioned).
NONCURRENT_DAYS = 90


@dataclass(frozen=True)
class OidcIssuer:
    """The cluster's IRSA issuer (outputs of the v4 stack): the Loki and Tempo roles trust it."""

    provider_arn: pulumi.Input[str]
    host: pulumi.Input[str]


@dataclass(frozen=True)
class ObservabilityArgs:
    #: prefix of bucket and role names, e.g. "looper-dev"
    name_prefix: str
    region: str
    account_id: str
    oidc: OidcIssuer
    settings: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    namespace: str = "monitoring"
    #: namespaces whose pods export OTLP / get scraped (for NetworkPolicies they create in monitoring)
    app_namespaces: tuple[str, ...] = ()
    #: the ClusterSecretStore the SMTP ExternalSecret reads through; pass the ESO component's
    #: `store_name` so the ExternalSecret waits for the store (and the CRDs) by data
    secret_store: pulumi.Input[str] = CLUSTER_SECRET_STORE

    def bucket_name(self, role: str) -> str:
        """Globally unique: prefix, role and account (`looper-dev-loki-chunks-123456789012`)."""
        return f"{self.name_prefix}-{role}-{self.account_id}"

    def problems(self) -> list[str]:
        """What the stage's config cannot vouch for: the names this component makes from its args."""
        errors = []
        if not _K8S_NAME.match(self.namespace):
            errors.append(f"namespace: {self.namespace!r} is not a Kubernetes name")
        errors += [f"name_prefix: bucket name {name!r} is not an S3 bucket name (3-63 of a-z0-9-)"
                   for name in map(self.bucket_name, BUCKET_ROLES) if not _BUCKET_NAME.match(name)]
        return errors


@dataclass(frozen=True)
class _ObjectStorage:
    """The buckets of Loki and Tempo and the roles that reach them."""

    loki_chunks: aws.s3.Bucket
    loki_ruler: aws.s3.Bucket
    tempo: aws.s3.Bucket
    loki_role: IrsaRole
    tempo_role: IrsaRole


class Observability(Component):
    #: where applications send OTLP (gRPC); `otlp_http_endpoint` for OTLP/HTTP
    otlp_endpoint: str
    otlp_http_endpoint: str
    grafana_admin_password: pulumi.Output[str]
    #: Loki's chunks bucket (`loki_ruler_bucket`: its ruler bucket)
    loki_bucket: pulumi.Output[str]
    loki_ruler_bucket: pulumi.Output[str]
    tempo_bucket: pulumi.Output[str]
    #: name of the kube-prometheus-stack release, resolved once Helm reports it deployed
    prometheus_release: pulumi.Output[str]

    def __init__(self, name: str, args: ObservabilityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:k8s:Observability", name, args, opts)
        self._prefix = name
        self._args = args
        ep = v.Endpoints(namespace=args.namespace, loki_mode=args.settings.loki.mode)
        # the node-exporter and Alloy need host access: privileged, with baseline warnings
        namespace = self._namespace(f"{name}-namespace", args.namespace,
                                    enforce="privileged", warn="baseline")
        storage = self._object_storage()
        grafana_secret = self._grafana_admin(namespace)
        kps = self._releases(namespace, ep, storage, grafana_secret, self._smtp_secret(namespace))
        self._network_policies(namespace, args.app_namespaces)

        self.otlp_endpoint = ep.otlp_grpc
        self.otlp_http_endpoint = ep.otlp_http
        self.loki_bucket = storage.loki_chunks.bucket
        self.loki_ruler_bucket = storage.loki_ruler.bucket
        self.tempo_bucket = storage.tempo.bucket
        self.prometheus_release = kps.name.apply(lambda n: n or "")
        self.register_outputs({
            "otlp_endpoint": self.otlp_endpoint, "otlp_http_endpoint": self.otlp_http_endpoint,
            "grafana_admin_password": self.grafana_admin_password, "loki_bucket": self.loki_bucket,
            "loki_ruler_bucket": self.loki_ruler_bucket, "tempo_bucket": self.tempo_bucket,
            "prometheus_release": self.prometheus_release,
        })

    # -- what it builds ----------------------------------------------------------------------------

    def _namespace(self, resource_name: str, name: str, *, enforce: str, warn: str) -> pulumi.Output[str]:
        ns = k8s.core.v1.Namespace(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={
                "pod-security.kubernetes.io/enforce": enforce,
                "pod-security.kubernetes.io/warn": warn,
                "pod-security.kubernetes.io/audit": warn,
            }),
            opts=self.child_opts)
        return ns.metadata.name

    def _object_storage(self) -> _ObjectStorage:
        """Buckets expiring a day after the retention (the ruler's rules are kept), one role each."""
        s = self._args.settings
        tempo_days = -(-s.tempo_retention_hours // 24)
        return _ObjectStorage(
            loki_chunks=self._bucket("loki-chunks", expire_days=s.loki.retention_days + 1),
            loki_ruler=self._bucket("loki-ruler", expire_days=None),
            tempo=self._bucket("tempo", expire_days=tempo_days + 1),
            loki_role=self._role("loki", v.LOKI_SERVICE_ACCOUNT, ["loki-chunks", "loki-ruler"]),
            tempo_role=self._role("tempo", v.TEMPO_SERVICE_ACCOUNT, ["tempo"]))

    def _grafana_admin(self, namespace: pulumi.Output[str]) -> k8s.core.v1.Secret:
        """A random admin password, kept in a Secret the chart names (values never hold it)."""
        password = random.RandomPassword(f"{self._prefix}-grafana-admin-password", length=32, special=False,
                                         opts=self.child_opts)
        # secret already (RandomPassword.result); said again so no refactoring can lose it
        self.grafana_admin_password = password.result.apply(pulumi.Output.secret)
        return k8s.core.v1.Secret(
            f"{self._prefix}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GRAFANA_ADMIN_SECRET, namespace=namespace),
            type="Opaque",
            string_data={"admin-user": self._args.settings.grafana.admin_user,
                         "admin-password": self.grafana_admin_password},
            opts=self.child_opts)

    def _smtp_secret(self, namespace: pulumi.Output[str]) -> pulumi.Output[str] | None:
        """The SMTP password from Secrets Manager; the Secret's name once the ExternalSecret exists."""
        smtp = self._args.settings.alertmanager.smtp
        if smtp is None:
            return None
        external = k8s.apiextensions.CustomResource(
            f"{self._prefix}-smtp-external-secret",
            api_version=EXTERNAL_SECRETS_API, kind="ExternalSecret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SMTP_SECRET, namespace=namespace),
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "ClusterSecretStore", "name": self._args.secret_store},
                "target": {"name": SMTP_SECRET, "creationPolicy": "Owner"},
                "data": [{"secretKey": v.SMTP_PASSWORD_KEY,
                          "remoteRef": {"key": smtp.password_secret_key}}],
            },
            opts=self.child_opts)
        return external.id.apply(lambda _: SMTP_SECRET)

    def _releases(self, namespace: pulumi.Output[str], ep: v.Endpoints, storage: _ObjectStorage,
                  grafana_secret: k8s.core.v1.Secret,
                  smtp_ready: pulumi.Output[str] | None) -> k8s.helm.v3.Release:
        """The charts, wired to each other's Services; returns kube-prometheus-stack's release."""
        s, region = self._args.settings, self._args.region
        kps_values = v.kube_prometheus_stack_values(
            s, ep, grafana_admin_secret=grafana_secret.metadata.name,
            smtp_secret=SMTP_SECRET if smtp_ready is not None else None)
        if smtp_ready is not None:
            # the release waits for the ExternalSecret (the Secret it mounts), by data
            kps_values["alertmanager"]["alertmanagerSpec"]["secrets"] = [smtp_ready]
        kps = self._release("kube-prometheus-stack", namespace, kps_values)
        loki = self._release("loki", namespace, v.loki_values(
            s.loki, chunks_bucket=storage.loki_chunks.bucket, ruler_bucket=storage.loki_ruler.bucket,
            identity=WebIdentity(role_arn=storage.loki_role.arn, region=region)))
        self._release("tempo", namespace, v.tempo_values(
            s.tempo_retention_hours, ep, bucket=storage.tempo.bucket,
            identity=WebIdentity(role_arn=storage.tempo_role.arn, region=region)))
        # these two create ServiceMonitors: the CRDs come with kube-prometheus-stack
        self._release("alloy", namespace, v.alloy_values(ep), after=[kps, loki])
        self._release("opentelemetry-collector", namespace,
                      v.otel_collector_values(s.otel_collector_replicas, ep), after=[kps])
        return kps

    # -- helpers -----------------------------------------------------------------------------------

    def _bucket(self, role: str, *, expire_days: int | None) -> aws.s3.Bucket:
        """A private, TLS-only, encrypted bucket.

        SSE-S3 (AES256) rather than SSE-KMS: S3 IAM policy already confines each bucket to one
        role; a customer key would add a key policy naming both IRSA roles, KMS request charges and
        throttling on the many small objects Loki and Tempo write, and the AWS-managed aws/s3 key
        adds no access control over SSE-S3.
        """
        name, bucket_name = f"{self._prefix}-{role}-bucket", self._args.bucket_name(role)
        child = self.child_opts
        bucket, block = private_bucket(name, prefix=name, bucket_name=bucket_name,
                                       tags={"Name": bucket_name, "looper/role": role}, opts=child)
        s3 = aws.s3
        abort = s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(days_after_initiation=1)
        everything = s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
        if expire_days is None:
            versioning = s3.BucketVersioning(
                f"{name}-versioning", bucket=bucket.id,
                versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                opts=child)
            # rules are kept; their replaced versions only for NONCURRENT_DAYS
            rule = s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-old-versions", status="Enabled", filter=everything,
                noncurrent_version_expiration=s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=NONCURRENT_DAYS),
                abort_incomplete_multipart_upload=abort)
            # noncurrent-version rules need versioning on first
            lifecycle_opts = child.merge(pulumi.ResourceOptions(depends_on=[versioning]))
        else:
            rule = s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-after-retention", status="Enabled", filter=everything,
                expiration=s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_days),
                abort_incomplete_multipart_upload=abort)
            lifecycle_opts = child
        s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket.id, rules=[rule],
                                        opts=lifecycle_opts)
        s3.BucketPolicy(
            # the bucket name taken from the public access block: the block exists first
            f"{name}-policy", bucket=block.bucket, policy=bucket.arn.apply(bucket_policy), opts=child)
        return bucket

    def _role(self, role: str, service_account: str, bucket_roles: list[str]) -> IrsaRole:
        a = self._args
        # ARNs from the names (known now): the policy is plain JSON, as IrsaRoleArgs wants
        arns = [f"arn:{partition(a.region)}:s3:::{a.bucket_name(r)}" for r in bucket_roles]
        return IrsaRole(
            f"{self._prefix}-{role}-irsa",
            IrsaRoleArgs(name=f"{a.name_prefix}-{role}", provider_arn=a.oidc.provider_arn,
                         issuer_host=a.oidc.host, namespace=a.namespace,
                         service_account=service_account, statements=bucket_statements(arns)),
            opts=self.child_opts)

    def _release(self, chart_key: str, namespace: pulumi.Input[str], values: dict[str, Any],
                 after: list[pulumi.Resource] | None = None) -> k8s.helm.v3.Release:
        pin = CHARTS[chart_key]
        return k8s.helm.v3.Release(
            f"{self._prefix}-{chart_key}",
            name=v.RELEASE_NAMES[chart_key],
            chart=pin.chart, version=pin.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pin.repo),
            namespace=namespace,
            values=values,
            # the collector and Tempo switch chart defaults off with null
            allow_null_values=True,
            atomic=True, cleanup_on_fail=True, timeout=HELM_TIMEOUT_SEC, max_history=5,
            opts=self.child_opts.merge(pulumi.ResourceOptions(depends_on=after or [])))

    def _network_policies(self, namespace: pulumi.Output[str], app_namespaces: tuple[str, ...]) -> None:
        np = k8s.networking.v1
        meta = k8s.meta.v1

        def policy(key: str, spec: k8s.networking.v1.NetworkPolicySpecArgs) -> None:
            np.NetworkPolicy(f"{self._prefix}-netpol-{key}",
                             metadata=meta.ObjectMetaArgs(name=key, namespace=namespace),
                             spec=spec, opts=self.child_opts)

        def tcp(*ports: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
            return [np.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in ports]

        policy("default-deny-ingress", np.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(), policy_types=["Ingress"]))
        policy("allow-same-namespace", np.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(), policy_types=["Ingress"],
            ingress=[np.NetworkPolicyIngressRuleArgs(from_=[np.NetworkPolicyPeerArgs(
                pod_selector=meta.LabelSelectorArgs())])]))
        if app_namespaces:
            policy("allow-otlp-from-apps", np.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(match_labels={
                    "app.kubernetes.io/name": "opentelemetry-collector",
                    "app.kubernetes.io/instance": v.RELEASE_NAMES["opentelemetry-collector"]}),
                policy_types=["Ingress"],
                ingress=[np.NetworkPolicyIngressRuleArgs(
                    from_=[np.NetworkPolicyPeerArgs(namespace_selector=meta.LabelSelectorArgs(
                        match_expressions=[meta.LabelSelectorRequirementArgs(
                            key=_NAME_LABEL, operator="In", values=list(app_namespaces))]))],
                    ports=tcp(v.OTLP_GRPC_PORT, v.OTLP_HTTP_PORT))]))
        policy("allow-grafana-from-ingress", np.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": "grafana"}),
            policy_types=["Ingress"],
            ingress=[np.NetworkPolicyIngressRuleArgs(
                from_=[np.NetworkPolicyPeerArgs(namespace_selector=meta.LabelSelectorArgs(
                    match_labels={_NAME_LABEL: INGRESS_NAMESPACE}))],
                ports=tcp(v.GRAFANA_PORT))]))
        # kube-apiserver calls the operator's admission webhook from the host network (node IPs)
        policy("allow-operator-webhook", np.NetworkPolicySpecArgs(
            pod_selector=meta.LabelSelectorArgs(match_labels={
                "app": "kube-prometheus-stack-operator", "release": v.KPS_FULLNAME}),
            policy_types=["Ingress"],
            ingress=[np.NetworkPolicyIngressRuleArgs(ports=tcp(10250))]))

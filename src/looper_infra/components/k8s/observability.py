"""The observability stack of stage `v4-platform`: metrics, logs, traces, alerting, optional Argo CD.

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
- Helm releases at the versions pinned in `k8s/observability_charts.py`: kube-prometheus-stack
  (Prometheus with the remote-write receiver, Alertmanager, Grafana with its datasources wired and
  its admin password from a Secret made here from a random password, control-plane scraping as the
  kubeadm config exposes it), Loki, Tempo, Grafana Alloy (pod logs, the Promtail successor), the
  OpenTelemetry Collector (OTLP in; traces to Tempo, metrics to Prometheus by remote write, logs to
  Loki's OTLP endpoint) and Argo CD when enabled;
- the SMTP password of Alertmanager through an ExternalSecret (AWS Secrets Manager -> Secret);
- NetworkPolicies: default-deny ingress, intra-namespace allowed, OTLP 4317/4318 from the
  application namespaces, Grafana 3000 from `ingress-nginx`, the operator's admission webhook.

Metrics reach Prometheus by remote write rather than a scraped `prometheus` exporter: the
collector forwards what it receives without a second hop and a ServiceMonitor per replica, Tempo's
metrics generator uses the same receiver, and the NetworkPolicies keep the receiver (which has no
authentication) reachable from inside the namespace only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from looper_infra.components.aws.irsa import IrsaRole, IrsaRoleArgs
from looper_infra.components.aws.provider import partition
from looper_infra.components.aws.s3 import private_bucket
from looper_infra.components.k8s import observability_values as v
from looper_infra.components.k8s.external_secrets import API_VERSION as EXTERNAL_SECRETS_API
from looper_infra.components.k8s.external_secrets import STORE_NAME as CLUSTER_SECRET_STORE
from looper_infra.config.v4_observability import ObservabilityConfig
from looper_infra.facts.observability_charts import CHARTS

INGRESS_NAMESPACE = "ingress-nginx"
ARGOCD_NAMESPACE = "argocd"
#: names of Kubernetes Secrets (not secret values)
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105
SMTP_SECRET = "alertmanager-smtp"  # noqa: S105
#: seconds Helm waits for a release's resources to become ready
HELM_TIMEOUT_SEC = 900
_NAME_LABEL = "kubernetes.io/metadata.name"

#: Days a replaced version of a Loki rule file is kept (the ruler bucket is versioned).
NONCURRENT_DAYS = 90


@dataclass(frozen=True)
class ObservabilityArgs:
    cfg: ObservabilityConfig
    name_prefix: str            # e.g. "looper-dev"
    region: str
    account_id: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_host: pulumi.Input[str]
    namespace: str = "monitoring"
    #: namespaces whose pods export OTLP / get scraped (for NetworkPolicies they create in monitoring)
    app_namespaces: tuple[str, ...] = ()
    #: the ClusterSecretStore the SMTP ExternalSecret reads through; pass the ESO component's
    #: `store_name` so the ExternalSecret waits for the store (and the CRDs) by data
    secret_store: pulumi.Input[str] = CLUSTER_SECRET_STORE

    def problems(self) -> list[str]:
        errors = []
        k8s_name = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
        if not re.match(r"^[a-z][a-z0-9-]{1,30}$", self.name_prefix):
            errors.append(f"name_prefix: {self.name_prefix!r} (2-31 of a-z0-9-, starting with a letter)")
        if not re.match(r"^\d{12}$", self.account_id):
            errors.append(f"account_id: {self.account_id!r} is not a 12-digit AWS account ID")
        if not k8s_name.match(self.namespace):
            errors.append(f"namespace: {self.namespace!r} is not a Kubernetes name")
        for i, ns in enumerate(self.app_namespaces):
            if not k8s_name.match(ns):
                errors.append(f"app_namespaces[{i}]: {ns!r} is not a Kubernetes name")
            elif ns == self.namespace:
                errors.append(f"app_namespaces[{i}]: {ns!r} is the monitoring namespace itself")
        return errors


def bucket_policy(bucket_arn: str) -> str:
    """Refuse every request that does not use TLS."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": [bucket_arn, f"{bucket_arn}/*"],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
    })


def bucket_statements(bucket_arns: list[str]) -> list[dict[str, Any]]:
    """What Loki/Tempo need on their own buckets, and nothing else."""
    return [
        {"Sid": "ListOwnBuckets", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arns},
        {"Sid": "ReadWriteOwnObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"{arn}/*" for arn in bucket_arns]},
    ]


class Observability(pulumi.ComponentResource):
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
        super().__init__("looper:k8s:Observability", name, None, opts)
        errors = args.problems()
        if errors:
            raise pulumi.RunError(f"{name}: " + "; ".join(errors))
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        cfg, ns_name = args.cfg, args.namespace
        ep = v.Endpoints(namespace=ns_name, loki_mode=cfg.loki.mode)

        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ns_name, labels={
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/warn": "baseline",
                "pod-security.kubernetes.io/audit": "baseline",
            }),
            opts=self._child)
        namespace = ns.metadata.name

        # -- object storage + IRSA -------------------------------------------------------------
        retention_days = cfg.loki.retention_days
        tempo_days = -(-cfg.tempo.retention_hours // 24)
        loki_chunks = self._bucket("loki-chunks", expire_days=retention_days + 1)
        loki_ruler = self._bucket("loki-ruler", expire_days=None)
        tempo = self._bucket("tempo", expire_days=tempo_days + 1)
        loki_role = self._role("loki", v.LOKI_SERVICE_ACCOUNT, ["loki-chunks", "loki-ruler"])
        tempo_role = self._role("tempo", v.TEMPO_SERVICE_ACCOUNT, ["tempo"])

        # -- secrets (values only ever name them) -------------------------------------------------
        password = random.RandomPassword(f"{name}-grafana-admin-password", length=32, special=False,
                                         opts=self._child)
        # secret already (RandomPassword.result); said again so no refactoring can lose it
        admin_password: pulumi.Output[str] = password.result.apply(pulumi.Output.secret)
        grafana_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GRAFANA_ADMIN_SECRET, namespace=namespace),
            type="Opaque",
            string_data={"admin-user": cfg.grafana.admin_user,
                         "admin-password": admin_password},
            opts=self._child)
        smtp_secret: str | None = None
        smtp_ready: pulumi.Output[str] | None = None
        if cfg.alertmanager.smtp is not None:
            external = k8s.apiextensions.CustomResource(
                f"{name}-smtp-external-secret",
                api_version=EXTERNAL_SECRETS_API, kind="ExternalSecret",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=SMTP_SECRET, namespace=namespace),
                spec={
                    "refreshInterval": "1h",
                    "secretStoreRef": {"kind": "ClusterSecretStore", "name": self._args.secret_store},
                    "target": {"name": SMTP_SECRET, "creationPolicy": "Owner"},
                    "data": [{"secretKey": v.SMTP_PASSWORD_KEY,
                              "remoteRef": {"key": cfg.alertmanager.smtp.password_secret_key}}],
                },
                opts=self._child)
            smtp_secret = SMTP_SECRET
            smtp_ready = external.id.apply(lambda _: SMTP_SECRET)

        # -- releases ----------------------------------------------------------------------------
        kps_values = v.kube_prometheus_stack_values(
            cfg, ep, grafana_admin_secret=grafana_secret.metadata.name, smtp_secret=smtp_secret)
        if smtp_ready is not None:
            # the release waits for the ExternalSecret (the Secret it mounts), by data
            kps_values["alertmanager"]["alertmanagerSpec"]["secrets"] = [smtp_ready]
        kps = self._release("kube-prometheus-stack", namespace, kps_values)
        loki = self._release("loki", namespace, v.loki_values(
            cfg, chunks_bucket=loki_chunks.bucket, ruler_bucket=loki_ruler.bucket,
            identity=v.WebIdentity(role_arn=loki_role.arn, region=args.region)))
        self._release("tempo", namespace, v.tempo_values(
            cfg, ep, bucket=tempo.bucket,
            identity=v.WebIdentity(role_arn=tempo_role.arn, region=args.region)))
        # these two create ServiceMonitors: the CRDs come with kube-prometheus-stack
        self._release("alloy", namespace, v.alloy_values(ep), after=[kps, loki])
        self._release("opentelemetry-collector", namespace, v.otel_collector_values(cfg, ep), after=[kps])
        if cfg.argocd.enabled:
            argo_ns = k8s.core.v1.Namespace(
                f"{name}-argocd-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=ARGOCD_NAMESPACE, labels={
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                }),
                opts=self._child)
            self._release("argo-cd", argo_ns.metadata.name, v.argocd_values())

        self._network_policies(namespace, args.app_namespaces)

        self.otlp_endpoint = ep.otlp_grpc
        self.otlp_http_endpoint = ep.otlp_http
        self.grafana_admin_password = admin_password
        self.loki_bucket = loki_chunks.bucket
        self.loki_ruler_bucket = loki_ruler.bucket
        self.tempo_bucket = tempo.bucket
        self.prometheus_release = kps.name.apply(lambda n: n or "")
        self.register_outputs({
            "otlp_endpoint": self.otlp_endpoint, "otlp_http_endpoint": self.otlp_http_endpoint,
            "grafana_admin_password": self.grafana_admin_password, "loki_bucket": self.loki_bucket,
            "loki_ruler_bucket": self.loki_ruler_bucket, "tempo_bucket": self.tempo_bucket,
            "prometheus_release": self.prometheus_release,
        })

    # -- helpers -----------------------------------------------------------------------------------

    def _bucket(self, role: str, *, expire_days: int | None) -> aws.s3.Bucket:
        """A private, TLS-only, encrypted bucket.

        SSE-S3 (AES256) rather than SSE-KMS: S3 IAM policy already confines each bucket to one
        role; a customer key would add a key policy naming both IRSA roles, KMS request charges and
        throttling on the many small objects Loki and Tempo write, and the AWS-managed aws/s3 key
        adds no access control over SSE-S3.
        """
        name, bucket_name = f"{self._name}-{role}-bucket", self._bucket_name(role)
        child = self._child
        bucket, block = private_bucket(name, prefix=name, bucket_name=bucket_name,
                                       tags={"Name": bucket_name, "looper/role": role}, opts=child)
        if expire_days is None:
            versioning = aws.s3.BucketVersioning(
                f"{name}-versioning", bucket=bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                opts=child)
            # rules are kept; their replaced versions only for NONCURRENT_DAYS
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-lifecycle", bucket=bucket.id,
                rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions", status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3
                    .BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=NONCURRENT_DAYS),
                    abort_incomplete_multipart_upload=aws.s3
                    .BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(days_after_initiation=1),
                )],
                # noncurrent-version rules need versioning on first
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning])))
        else:
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-lifecycle", bucket=bucket.id,
                rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-after-retention", status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_days),
                    abort_incomplete_multipart_upload=aws.s3
                    .BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(days_after_initiation=1),
                )],
                opts=child)
        aws.s3.BucketPolicy(
            # the bucket name taken from the public access block: the block exists first
            f"{name}-policy", bucket=block.bucket, policy=bucket.arn.apply(bucket_policy), opts=child)
        return bucket

    def _bucket_name(self, role: str) -> str:
        """Globally unique: prefix, role and account (`looper-dev-loki-chunks-123456789012`)."""
        return f"{self._args.name_prefix}-{role}-{self._args.account_id}"

    def _role(self, role: str, service_account: str, bucket_roles: list[str]) -> IrsaRole:
        a = self._args
        # ARNs from the names (known now): the policy is plain JSON, as IrsaRoleArgs wants
        arns = [f"arn:{partition(a.region)}:s3:::{self._bucket_name(r)}" for r in bucket_roles]
        return IrsaRole(
            f"{self._name}-{role}-irsa",
            IrsaRoleArgs(name=f"{a.name_prefix}-{role}", provider_arn=a.oidc_provider_arn,
                         issuer_host=a.oidc_issuer_host, namespace=a.namespace,
                         service_account=service_account, statements=bucket_statements(arns)),
            opts=self._child)

    def _release(self, chart_key: str, namespace: pulumi.Input[str], values: dict[str, Any],
                 after: list[pulumi.Resource] | None = None) -> k8s.helm.v3.Release:
        pin = CHARTS[chart_key]
        return k8s.helm.v3.Release(
            f"{self._name}-{chart_key}",
            name=v.RELEASE_NAMES[chart_key],
            chart=pin.chart, version=pin.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pin.repo),
            namespace=namespace,
            values=values,
            # the collector and Tempo switch chart defaults off with null
            allow_null_values=True,
            atomic=True, cleanup_on_fail=True, timeout=HELM_TIMEOUT_SEC, max_history=5,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after or []))

    def _network_policies(self, namespace: pulumi.Output[str], app_namespaces: tuple[str, ...]) -> None:
        np = k8s.networking.v1
        meta = k8s.meta.v1

        def policy(key: str, spec: k8s.networking.v1.NetworkPolicySpecArgs) -> None:
            np.NetworkPolicy(f"{self._name}-netpol-{key}",
                             metadata=meta.ObjectMetaArgs(name=key, namespace=namespace),
                             spec=spec, opts=self._child)

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

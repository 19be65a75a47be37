"""Stage v4-platform: the platform inside the v4 cluster, applied with pulumi-kubernetes.

    v4 stack outputs (StackReference) -> kubernetes provider (its kubeconfig, server-side apply)
    namespaces (Pod Security labels) -> EBS CSI + StorageClasses gp3 / gp3-retain
    Envoy Gateway (Gateway API) on the NodePorts the app NLB targets (TLS ends at the NLB)
    External Secrets: ClusterSecretStore (IRSA via service-account JWT) -> RDS + app secrets
    NVIDIA GPU operator (host driver, CRI-O, CDI, DCGM exporter)
    node lifecycle: AWS Node Termination Handler (queue mode) + Cluster Autoscaler (kube-system)
    Redis, ChromaDB (+ token-checking Envoy), Kafka (KRaft, dedicated nodes, SASL/TLS, topics Job)
    NetworkPolicies: default-deny per app namespace + the allows each workload needs
    apps (config `apps`): Deployment/Service/HPA/PDB/NetworkPolicies/ExternalSecrets per service,
      applied by Pulumi, or with `gitops` by Argo CD from a Git repository (AppProject + Application)
    observability (kube-prometheus-stack, Loki, Tempo, Alloy, OTel Collector)
    backups: CSI snapshot controller + EBS VolumeSnapshotClass, Velero (S3 + KMS + IRSA), schedules

Every Kubernetes resource goes through the explicit provider (passed down through the
components), never an ambient kubeconfig.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from looper_infra.components.aws.provider import aws_provider
from looper_infra.components.k8s.chromadb import ChromaDb, ChromaDbArgs
from looper_infra.components.k8s.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs, ScaleDown
from looper_infra.components.k8s.external_secrets import (
    ExternalSecrets,
    ExternalSecretsArgs,
    app_secrets,
    database_credentials,
)
from looper_infra.components.k8s.gateway import Gateway, GatewayArgs, NodePorts
from looper_infra.components.k8s.gpu_operator import GpuOperator, GpuOperatorArgs
from looper_infra.components.k8s.metrics_server import (
    KubeletCsrApprover,
    KubeletCsrApproverArgs,
    MetricsServer,
    MetricsServerArgs,
)
from looper_infra.components.k8s.namespaces import Namespaces, NamespacesArgs
from looper_infra.components.k8s.network_policies import NetworkPolicies, NetworkPoliciesArgs
from looper_infra.components.k8s.node_termination_handler import (
    NodeTerminationHandler,
    NodeTerminationHandlerArgs,
)
from looper_infra.components.k8s.observability import Observability, ObservabilityArgs, OidcIssuer
from looper_infra.components.k8s.observability_settings import (
    AlertmanagerSettings,
    GrafanaSettings,
    LokiSettings,
    ObservabilitySettings,
    PrometheusSettings,
    SmtpRelay,
)
from looper_infra.components.k8s.redis import Redis, RedisArgs
from looper_infra.components.k8s.storage import BlockStorage, BlockStorageArgs, Gp3Volumes
from looper_infra.config.v4_observability import ObservabilityConfig
from looper_infra.config.v4_platform import V4PlatformConfig, quantity_value
from looper_infra.core.tags import aws_tags
from looper_infra.facts.app_contract import EDGE_NAMESPACE, AppRoute
from looper_infra.facts.v4_contract import CLUSTER_OUTPUTS, EXTERNAL_SECRETS
from looper_infra.rules import network_policies
from looper_infra.stages import v4_platform_gitops, v4_platform_kafka
from looper_infra.stages.v4_apps import app_routes, deploy_apps
from looper_infra.stages.v4_platform_backups import backups

GPU_NS, MONITORING_NS = "gpu-operator", "monitoring"
ESO_NS = EXTERNAL_SECRETS.namespace


def checked_kubeconfig(cfg: V4PlatformConfig, env: str, region: str, kubeconfig: str) -> str:
    """The cluster stack's kubeconfig, once that stack is confirmed to be this env's and region's."""
    if (env, region) != (cfg.env, cfg.aws.region):
        raise ValueError(f"cluster stack {cfg.cluster_stack} is env {env!r} in {region}, but this stack "
                         f"is env {cfg.env!r} in {cfg.aws.region}: refusing to apply to it")
    return kubeconfig


def cluster_stack_outputs(cfg: V4PlatformConfig) -> dict[str, pulumi.Output[Any]]:
    """The v4 stack's outputs the platform requires (`facts.v4_contract.CLUSTER_OUTPUTS`)."""
    cluster = pulumi.StackReference("cluster", stack_name=cfg.cluster_stack)
    return {name: cluster.require_output(name) for name in CLUSTER_OUTPUTS}


def providers(cfg: V4PlatformConfig, cluster: dict[str, pulumi.Output[Any]]) -> pulumi.ResourceOptions:
    """The cluster's Kubernetes API (its kubeconfig, server-side apply) and this stack's AWS account."""
    kubeconfig = pulumi.Output.all(cluster["env"], cluster["region"], cluster["kubeconfig"]).apply(
        lambda v: checked_kubeconfig(cfg, str(v[0]), str(v[1]), v[2]))
    kube = k8s.Provider("k8s", kubeconfig=kubeconfig, enable_server_side_apply=True,
                        delete_unreachable=False)
    aws = aws_provider("aws", region=cfg.aws.region, account_id=cfg.aws.account_id,
                       tags=aws_tags(app=cfg.name_prefix, env=cfg.env, stack=pulumi.get_stack()))
    return pulumi.ResourceOptions(providers=[kube, aws])


def observability_settings(o: ObservabilityConfig) -> ObservabilitySettings:
    """The observability stack as config describes it, in the component's plain values."""
    p, am, g, lk, smtp = o.prometheus, o.alertmanager, o.grafana, o.loki, o.alertmanager.smtp
    relay = None if smtp is None else SmtpRelay(
        host=smtp.host, port=smtp.port, from_address=smtp.from_address, to_address=smtp.to_address,
        username=smtp.username, password_secret_key=smtp.password_secret_key)
    return ObservabilitySettings(
        prometheus=PrometheusSettings(retention=p.retention, storage_size=p.storage_size,
                                      retention_size=p.retention_size, replicas=p.replicas),
        alertmanager=AlertmanagerSettings(replicas=am.replicas, smtp=relay),
        grafana=GrafanaSettings(admin_user=g.admin_user, persistence_size=g.persistence_size,
                                replicas=g.replicas),
        loki=LokiSettings(mode=lk.mode, replicas=lk.replicas, retention_days=lk.retention_days),
        tempo_retention_hours=o.tempo.retention_hours, otel_collector_replicas=o.otel_collector.replicas)


def node_lifecycle(cfg: V4PlatformConfig, cluster: dict[str, pulumi.Output[Any]],
                   opts: pulumi.ResourceOptions) -> None:
    """Drain before termination (the handler reads the cluster's queue), size the node groups, and
    give the HPAs resource metrics read from the kubelets over verified TLS."""
    nth, ca = cfg.node_termination_handler, cfg.cluster_autoscaler
    NodeTerminationHandler("node-termination", NodeTerminationHandlerArgs(
        queue_url=cluster["node_termination_queue_url"], region=cfg.aws.region,
        role_arn=cluster["node_termination_role_arn"],
        drain_timeout_seconds=cluster["node_drain_timeout_seconds"].apply(int),
        resources=nth.resources.resources(), replicas=nth.replicas), opts)
    ClusterAutoscaler("autoscaler", ClusterAutoscalerArgs(
        region=cfg.aws.region, cluster_name=cluster["cluster_name"],
        kubernetes_version=cluster["kubernetes_version"], node_asg_names=cluster["node_asg_names"],
        role_arn=cluster["cluster_autoscaler_role_arn"], resources=ca.resources.resources(),
        scale_down=ScaleDown(enabled=ca.scale_down_enabled, unneeded_time=ca.scale_down_unneeded_time,
                             delay_after_add=ca.scale_down_delay_after_add,
                             delay_after_failure=ca.scale_down_delay_after_failure,
                             utilization_threshold=ca.scale_down_utilization_threshold),
        max_node_provision_time=ca.max_node_provision_time, replicas=ca.replicas), opts)
    # kubelet serving certificates signed by the cluster CA, then metrics-server verifying them
    KubeletCsrApprover("kubelet-csr-approver", KubeletCsrApproverArgs(
        node_networks=cluster["node_networks"]), opts)
    MetricsServer("metrics-server", MetricsServerArgs(
        resources=cfg.metrics_server.resources.resources(), replicas=cfg.metrics_server.replicas), opts)


def policy_inputs(cfg: V4PlatformConfig) -> network_policies.PolicyInputs:
    """What the platform's NetworkPolicies are made from: namespaces, the app port, outside CIDRs."""
    ns, np = cfg.namespaces, cfg.network_policies
    return network_policies.PolicyInputs(
        ns=network_policies.Namespaces(app=ns.app, data=ns.data, ingress=EDGE_NAMESPACE,
                                       monitoring=MONITORING_NS),
        rds_cidrs=tuple(str(x) for x in np.rds_cidrs),
        https_egress_cidrs=tuple(str(x) for x in np.https_egress_cidrs))


def edge(cfg: V4PlatformConfig, names: dict[str, pulumi.Output[str]], cluster: dict[str, pulumi.Output[Any]],
         routes: tuple[AppRoute, ...], opts: pulumi.ResourceOptions) -> Gateway:
    """Envoy Gateway on the NLB's NodePorts; `routes` become HTTPRoutes in the app namespace."""
    return Gateway("edge", GatewayArgs(
        namespace=names[EDGE_NAMESPACE], namespace_name=EDGE_NAMESPACE,
        node_ports=NodePorts.of(cluster["ingress_node_ports"]), routes=routes,
        route_namespaces=(cfg.namespaces.app,), proxy_replicas=cfg.ingress.replicas,
        proxy_resources=cfg.ingress.resources.resources()), opts)


def program(cfg: V4PlatformConfig) -> None:
    env, ns, region = cfg.env, cfg.namespaces, cfg.aws.region
    cluster = cluster_stack_outputs(cfg)
    opts = providers(cfg, cluster)
    names = Namespaces("ns", NamespacesArgs(levels={
        ns.app: "restricted", ns.data: "restricted", EDGE_NAMESPACE: "baseline", ESO_NS: "restricted",
        GPU_NS: "privileged"}), opts).names

    eso = ExternalSecrets("eso", ExternalSecretsArgs(
        namespace=names[ESO_NS], role_arn=cluster["eso_role_arn"], region=region,
        target_namespace=names[ns.app], refresh_interval=cfg.secrets.refresh_interval,
        secrets={"rds": database_credentials(cluster["rds_secret_arn"]),
                 **app_secrets(env, cfg.secrets.app_secrets)}), opts)
    obs = Observability("observability", ObservabilityArgs(
        name_prefix=f"{cfg.name_prefix}-{env}", region=region, account_id=cfg.aws.account_id,
        oidc=OidcIssuer(provider_arn=cluster["oidc_provider_arn"], host=cluster["oidc_issuer_host"]),
        settings=observability_settings(cfg.observability), namespace=MONITORING_NS,
        app_namespaces=(ns.app, ns.data), secret_store=eso.store_name), opts)
    storage = BlockStorage("storage", BlockStorageArgs(
        region=region, controller_role_arn=cluster["ebs_csi_role_arn"], volumes=Gp3Volumes(
            iops=cfg.storage.iops, throughput=cfg.storage.throughput,
            kms_key_arn=cfg.storage.kms_key_arn), cluster_name=cluster["cluster_name"]), opts)
    # ServiceMonitor CRDs come with kube-prometheus-stack: the charts wait for its release by data
    edge(cfg, names, cluster, routes=app_routes(cfg), opts=opts)
    if cfg.gpu.enabled:
        GpuOperator("gpu", GpuOperatorArgs(namespace=names[GPU_NS], dcgm_exporter=cfg.gpu.dcgm_exporter,
                                           prometheus_release=obs.prometheus_release), opts)

    node_lifecycle(cfg, cluster, opts)

    redis = Redis("redis", RedisArgs(
        namespace=names[ns.data], storage=cfg.redis.storage, storage_class=storage.retain_class,
        maxmemory_bytes=int(quantity_value(cfg.redis.maxmemory)), resources=cfg.redis.resources.resources(),
        client_namespace=names[ns.app]), opts)
    chroma = ChromaDb("chromadb", ChromaDbArgs(
        namespace=names[ns.data], storage=cfg.chromadb.storage, storage_class=storage.retain_class,
        resources=cfg.chromadb.resources.resources(), client_namespace=names[ns.app]), opts)
    kafka = v4_platform_kafka.kafka(cfg, names, storage_class=storage.retain_class,
                                    secret_store=eso.store_name, opts=opts)

    NetworkPolicies("netpol", NetworkPoliciesArgs(inputs=policy_inputs(cfg), namespace_refs=dict(names)),
                    opts)
    backups(cfg, cluster, opts, monitoring_namespace=MONITORING_NS)
    argocd = v4_platform_gitops.gitops(cfg, names, secret_store=eso.store_name, previous_parent=obs,
                                       opts=opts)
    if argocd is None:  # no repository: Pulumi applies the apps (else Argo CD owns them)
        deploy_apps(cfg, policy_inputs(cfg), namespaces=names, rds_secret_arn=cluster["rds_secret_arn"],
                    secret_store=eso.store_name, opts=opts)

    pulumi.export("namespaces", {"app": ns.app, "data": ns.data})
    pulumi.export("secret_store", eso.store_name)
    pulumi.export("redis_host", redis.host)
    pulumi.export("chromadb_url", chroma.url)
    pulumi.export("kafka_bootstrap", kafka.bootstrap)
    pulumi.export("otlp_endpoint", obs.otlp_endpoint)
    pulumi.export("grafana_admin_password", obs.grafana_admin_password)
    pulumi.export("storage_classes", {"default": storage.default_class, "retain": storage.retain_class})
    if argocd is not None:
        pulumi.export("argocd_application", argocd.application)
        pulumi.export("argocd_admin_password", argocd.admin_password)

"""Stage v4-platform: the platform inside the v4 cluster, applied with pulumi-kubernetes.

    v4 stack outputs (StackReference) -> kubernetes provider (its kubeconfig, server-side apply)
    namespaces (Pod Security labels) -> EBS CSI + StorageClasses gp3 / gp3-retain
    ingress-nginx on the NodePorts the app NLB targets (TLS ends at the NLB)
    External Secrets: ClusterSecretStore (IRSA via service-account JWT) -> RDS + app secrets
    NVIDIA GPU operator (host driver, CRI-O, CDI, DCGM exporter)
    Redis, ChromaDB (+ token-checking Envoy), Kafka (KRaft, dedicated node, topics Job)
    NetworkPolicies: default-deny per app namespace + the allows each workload needs
    observability (kube-prometheus-stack, Loki, Tempo, Alloy, OTel Collector)

Every Kubernetes resource goes through the explicit provider (passed down through the
components), never an ambient kubeconfig.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from looper_infra.components.aws.provider import aws_provider
from looper_infra.components.k8s.chromadb import ChromaDb, ChromaDbArgs
from looper_infra.components.k8s.external_secrets import ExternalSecrets, ExternalSecretsArgs, SyncedSecret
from looper_infra.components.k8s.gpu_operator import GpuOperator, GpuOperatorArgs, GpuOperatorValues
from looper_infra.components.k8s.ingress_nginx import IngressNginx, IngressNginxArgs, IngressNginxValues
from looper_infra.components.k8s.kafka import Kafka, KafkaArgs, Topic
from looper_infra.components.k8s.namespaces import Namespaces, NamespacesArgs
from looper_infra.components.k8s.network_policies import NetworkPolicies, NetworkPoliciesArgs
from looper_infra.components.k8s.observability import Observability, ObservabilityArgs
from looper_infra.components.k8s.redis import Redis, RedisArgs
from looper_infra.components.k8s.storage import BlockStorage, BlockStorageArgs
from looper_infra.config.v4_platform import V4PlatformConfig, quantity_value
from looper_infra.core import naming
from looper_infra.rules import network_policies

INGRESS_NS, ESO_NS, GPU_NS, MONITORING_NS = "ingress-nginx", "external-secrets", "gpu-operator", "monitoring"
#: the service account the v4 stack's IRSA role trusts (stages/v4.py ESO_SERVICE_ACCOUNT)
ESO_SERVICE_ACCOUNT = "external-secrets"


def _same_cluster(cfg: V4PlatformConfig, env: str, region: str, kubeconfig: str) -> str:
    if (env, region) != (cfg.env, cfg.aws.region):
        raise ValueError(f"cluster stack {cfg.cluster_stack} is env {env!r} in {region}, but this stack "
                         f"is env {cfg.env!r} in {cfg.aws.region}: refusing to apply to it")
    return kubeconfig


def program(cfg: V4PlatformConfig) -> None:
    env, ns = cfg.env, cfg.namespaces
    cluster = pulumi.StackReference("cluster", stack_name=cfg.cluster_stack)
    # the kubeconfig is used only once the cluster stack is confirmed to be this env's and region's
    kubeconfig = pulumi.Output.all(cluster.require_output("env"), cluster.require_output("region"),
                                   cluster.require_output("kubeconfig")).apply(
        lambda v: _same_cluster(cfg, str(v[0]), str(v[1]), v[2]))
    kube = k8s.Provider("k8s", kubeconfig=kubeconfig, enable_server_side_apply=True,
                        delete_unreachable=False)
    tags = {"app": cfg.name_prefix, "env": env, "stack": pulumi.get_stack(), "managed-by": "pulumi"}
    aws = aws_provider("aws", region=cfg.aws.region, account_id=cfg.aws.account_id, tags=tags)
    opts = pulumi.ResourceOptions(providers=[kube, aws])

    namespaces = Namespaces("ns", NamespacesArgs(levels={
        ns.app: "restricted", ns.data: "restricted", INGRESS_NS: "baseline", ESO_NS: "restricted",
        GPU_NS: "privileged"}), opts)
    nsref = namespaces.names

    secrets = {"rds": SyncedSecret(remote_key=cluster.require_output("rds_secret_arn"),
                                   properties={"username": "username", "password": "password"})}
    secrets |= {name: SyncedSecret(remote_key=f"looper/{env}/{key}")
                for name, key in cfg.secrets.app_secrets.items()}
    eso = ExternalSecrets("eso", ExternalSecretsArgs(
        namespace=nsref[ESO_NS], service_account=ESO_SERVICE_ACCOUNT,
        role_arn=cluster.require_output("eso_role_arn"), region=cfg.aws.region,
        target_namespace=nsref[ns.app], secrets=secrets, refresh_interval=cfg.secrets.refresh_interval), opts)

    obs = Observability("observability", ObservabilityArgs(
        cfg=cfg.observability, name_prefix=f"{cfg.name_prefix}-{env}",
        region=cfg.aws.region, account_id=cfg.aws.account_id,
        oidc_provider_arn=cluster.require_output("oidc_provider_arn"),
        oidc_issuer_host=cluster.require_output("oidc_issuer_host"), namespace=MONITORING_NS,
        app_namespaces=(ns.app, ns.data), secret_store=eso.store_name), opts)

    st = cfg.storage
    storage = BlockStorage("storage", BlockStorageArgs(
        region=cfg.aws.region, controller_role_arn=cluster.require_output("ebs_csi_role_arn"),
        kms_key_arn=st.kms_key_arn, iops=st.iops, throughput=st.throughput), opts)

    ports: Any = cluster.require_output("ingress_node_ports")
    IngressNginx("ingress", IngressNginxArgs(namespace=nsref[INGRESS_NS], values=IngressNginxValues(
        http_node_port=ports.apply(lambda p: int(p["http"])),
        redirect_node_port=ports.apply(lambda p: int(p["redirect"])),
        replicas=cfg.ingress.replicas, resources=cfg.ingress.resources.resources(),
        # ServiceMonitor CRDs come with kube-prometheus-stack: wait for it by data
        service_monitor=True, prometheus_release=obs.prometheus_release)), opts)

    if cfg.gpu.enabled:
        GpuOperator("gpu", GpuOperatorArgs(namespace=nsref[GPU_NS], values=GpuOperatorValues(
            dcgm_exporter=cfg.gpu.dcgm_exporter, prometheus_release=obs.prometheus_release)), opts)

    r, c, k = cfg.redis, cfg.chromadb, cfg.kafka
    redis = Redis("redis", RedisArgs(
        namespace=nsref[ns.data], storage=r.storage, storage_class=storage.retain_class,
        maxmemory_bytes=int(quantity_value(r.maxmemory)), resources=r.resources.resources(),
        client_namespace=nsref[ns.app]), opts)
    chroma = ChromaDb("chromadb", ChromaDbArgs(
        namespace=nsref[ns.data], storage=c.storage, storage_class=storage.retain_class,
        resources=c.resources.resources(), client_namespace=nsref[ns.app]), opts)
    kafka = Kafka("kafka", KafkaArgs(
        namespace=ns.data, namespace_ref=nsref[ns.data],
        cluster_name=naming.name(cfg.name_prefix, env, "kafka"),
        brokers=k.brokers, storage=k.storage, storage_class=storage.retain_class, heap=k.heap,
        resources=k.resources.resources(),
        topics={n: Topic(partitions=t.partitions, replication_factor=t.replication_factor,
                         retention_ms=t.retention_ms, cleanup_policy=t.cleanup_policy)
                for n, t in k.topics.items()}), opts)

    np = cfg.network_policies
    NetworkPolicies("netpol", NetworkPoliciesArgs(
        inputs=network_policies.PolicyInputs(
            ns=network_policies.Namespaces(app=ns.app, data=ns.data, ingress=INGRESS_NS,
                                           monitoring=MONITORING_NS),
            app_port=cfg.ingress.app_port, rds_cidrs=tuple(str(x) for x in np.rds_cidrs),
            https_egress_cidrs=tuple(str(x) for x in np.https_egress_cidrs)),
        namespace_refs=dict(nsref)), opts)

    outputs: dict[str, Any] = {
        "namespaces": {"app": ns.app, "data": ns.data},
        "secret_store": eso.store_name,
        "redis_host": redis.host,
        "chromadb_url": chroma.url,
        "kafka_bootstrap": kafka.bootstrap,
        "otlp_endpoint": obs.otlp_endpoint,
        "grafana_admin_password": obs.grafana_admin_password,
        "storage_classes": {"default": storage.default_class, "retain": storage.retain_class},
    }
    for key, value in outputs.items():
        pulumi.export(key, value)

"""Stage v4-platform's Kafka: its credentials (CA, certificates, the app's SCRAM password, synced
by External Secrets) and the brokers with their topics, from config section `kafka`."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from looper_infra.components.k8s.kafka import Kafka, KafkaArgs, Topic
from looper_infra.components.k8s.kafka_credentials import KafkaCredentials, KafkaCredentialsArgs
from looper_infra.config.v4_platform import V4PlatformConfig
from looper_infra.core import naming
from looper_infra.facts.v4_contract import app_secret_prefix


def secret_name(cfg: V4PlatformConfig) -> str:
    """The Secrets Manager secret of Kafka's material: under the External Secrets role's prefix."""
    return f"{app_secret_prefix(cfg.env)}kafka"


def secrets_key_alias(cfg: V4PlatformConfig) -> str:
    """The cluster stack's secrets key (components/aws/kubeadm_cluster.py names its alias so): the
    External Secrets role may decrypt with it, through Secrets Manager only."""
    return f"alias/{naming.name(cfg.name_prefix, cfg.env, 'secrets')}"


def kafka_args(cfg: V4PlatformConfig, namespace: pulumi.Output[str], storage_class: pulumi.Output[str],
               secrets_ready: pulumi.Input[str] | None = None) -> KafkaArgs:
    """Kafka in the data namespace, its topics from config."""
    k = cfg.kafka
    return KafkaArgs(
        namespace=cfg.namespaces.data, namespace_ref=namespace,
        cluster_name=naming.name(cfg.name_prefix, cfg.env, "kafka"), brokers=k.brokers, storage=k.storage,
        storage_class=storage_class, heap=k.heap, resources=k.resources.resources(),
        topics={name: Topic(partitions=t.partitions, replication_factor=t.replication_factor,
                            retention_ms=t.retention_ms, cleanup_policy=t.cleanup_policy,
                            min_insync_replicas=t.effective_min_insync(k.brokers))
                for name, t in k.topics.items()},
        secrets_ready=secrets_ready)


def kafka(cfg: V4PlatformConfig, namespaces: Mapping[str, pulumi.Output[str]], *,
          storage_class: pulumi.Output[str], secret_store: pulumi.Input[str],
          opts: pulumi.ResourceOptions) -> Kafka:
    ns = cfg.namespaces
    credentials = KafkaCredentials("kafka-credentials", KafkaCredentialsArgs(
        namespace=ns.data, namespace_ref=namespaces[ns.data], client_namespace=namespaces[ns.app],
        secret_name=secret_name(cfg), kms_key_id=secrets_key_alias(cfg), secret_store=secret_store,
        refresh_interval=cfg.secrets.refresh_interval), opts)
    return Kafka("kafka", kafka_args(cfg, namespaces[ns.data], storage_class, credentials.ready), opts)

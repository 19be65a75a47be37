"""Stage v4-platform config: examples load; sizes, retention, replicas, topics checked at their paths."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.plans import example_values, issues_of
from looper_infra.config import validate_mapping
from looper_infra.config.v4_platform import V4PlatformConfig, quantity_value


@pytest.mark.parametrize("stack", ["v4-platform-dev", "v4-platform-prod"])
def test_examples_are_valid(stack: str) -> None:
    cfg = validate_mapping(example_values(stack), stack)
    assert isinstance(cfg, V4PlatformConfig)
    assert cfg.cluster_stack == f"organization/looper/{stack.replace('platform-', '')}"
    assert cfg.ingress.replicas >= 2
    assert cfg.kafka.topics, "the examples define Looper's topics"
    assert all(t.replication_factor <= cfg.kafka.brokers for t in cfg.kafka.topics.values())


@pytest.mark.parametrize(("text", "value"), [
    ("20Gi", 20 * 2**30), ("1Ti", 2**40), ("512Mi", 512 * 2**20), ("500m", 0.5), ("2", 2), ("1.5", 1.5)])
def test_quantities_parse_like_kubernetes(text: str, value: float) -> None:
    assert quantity_value(text) == pytest.approx(value)


SMTP = {"host": "email-smtp.ap-northeast-2.amazonaws.com", "from_address": "alerts@example.com",
        "to_address": "ops@example.com", "username": "AKIAEXAMPLEUSER"}


def topic(**kw: Any) -> dict[str, Any]:
    return {"partitions": 3, "replication_factor": 1, "retention_ms": 86_400_000, **kw}


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        # sizes
        (lambda v: v["redis"].update(storage="20GB"), "looper:redis.storage", "in Gi or Ti"),
        (lambda v: v["redis"].update(storage="0Gi"), "looper:redis.storage", "outside the gp3 volume range"),
        (lambda v: v["chromadb"].update(storage="17Ti"), "looper:chromadb.storage", "outside the gp3"),
        (lambda v: v["kafka"].update(storage="lots"), "looper:kafka.storage", "in Gi or Ti"),
        (lambda v: v["kafka"].update(heap="1G"), "looper:kafka.heap", "memory quantity in Mi or Gi"),
        (lambda v: v["redis"].update(maxmemory="2Gi"), "looper:redis.resources",
         "must exceed maxmemory"),
        (lambda v: v["kafka"].update(heap="3Gi"), "looper:kafka.resources", "must exceed the heap"),
        (lambda v: v["ingress"].update(resources={"cpu_request": "2", "memory_request": "1Gi",
                                                  "cpu_limit": "1", "memory_limit": "1Gi"}),
         "looper:ingress.resources.cpu_limit", "below the request 2"),
        (lambda v: v["ingress"].update(resources={"cpu_request": "abc", "memory_request": "1Gi",
                                                  "cpu_limit": "1", "memory_limit": "1Gi"}),
         "looper:ingress.resources.cpu_request", "not a CPU quantity"),
        # replicas
        (lambda v: v["ingress"].update(replicas=1), "looper:ingress.replicas", "greater than or equal to 2"),
        (lambda v: v["kafka"].update(brokers=2), "looper:kafka.brokers", "1 or 3"),
        # topics and retention
        (lambda v: v["kafka"]["topics"].update(bad=topic(replication_factor=3)),
         "looper:kafka.topics.bad.replication_factor", "3 exceeds kafka.brokers 1"),
        (lambda v: v["kafka"]["topics"].update(bad=topic(min_insync_replicas=2)),
         "looper:kafka.topics.bad.min_insync_replicas", "exceeds replication_factor 1"),
        (lambda v: v["kafka"]["topics"].update(bad=topic(min_insync_replicas=4)),
         "looper:kafka.topics.bad.min_insync_replicas", "less than or equal to 3"),
        (lambda v: v["kafka"]["topics"].update(bad=topic(retention_ms=1000)),
         "looper:kafka.topics.bad.retention_ms", "at least 60000 ms"),
        (lambda v: v["kafka"]["topics"].update(bad=topic(partitions=0)), "looper:kafka.topics.bad.partitions",
         "greater than or equal to 1"),
        (lambda v: v["kafka"]["topics"].update({"has space": topic()}), "looper:kafka.topics",
         "not a valid topic name"),
        (lambda v: v["kafka"]["topics"].update({"a.b_c": topic()}), "looper:kafka.topics",
         "mixes '.' and '_'"),
        (lambda v: v["kafka"]["topics"].update(bad=topic(cleanup_policy="forever")),
         "looper:kafka.topics.bad.cleanup_policy", "'delete' or 'compact'"),
        # the rest
        (lambda v: v["secrets"].update(refresh_interval="hourly"), "looper:secrets.refresh_interval",
         "duration"),
        (lambda v: v["secrets"]["app_secrets"].update(x="../other-env/secret"), "looper:secrets.app_secrets",
         "not a Secrets Manager key"),
        (lambda v: v["secrets"]["app_secrets"].update(rds="rds"), "looper:secrets.app_secrets", "reserved"),
        (lambda v: v["network_policies"].update(rds_cidrs=[]), "looper:network_policies.rds_cidrs",
         "at least 1"),
        (lambda v: v.update(cluster_stack="v4-dev"), "looper:cluster_stack", "pattern"),
        (lambda v: v.update(cluster_stack="organization/looper/v4-prod"), "looper:cluster_stack",
         "is not the 'dev' cluster"),
        (lambda v: v.update(namespaces={"app": "kube-system"}), "looper:namespaces", "platform namespace"),
        # what the components no longer re-check: names they build from these are sound
        (lambda v: v.update(namespaces={"app": "kube-node-lease"}), "looper:namespaces",
         "platform namespace"),
        (lambda v: v.update(namespaces={"app": "monitoring"}), "looper:namespaces", "platform namespace"),
        (lambda v: v.update(namespaces={"data": "Looper_Data"}), "looper:namespaces.data", "DNS-1123"),
        (lambda v: v.update(name_prefix="Looper"), "looper:name_prefix", "pattern"),
        (lambda v: v.update(name_prefix="l" * 17), "looper:name_prefix", "pattern"),
        (lambda v: v.update(env="a" * 13), "looper:env", "pattern"),
        (lambda v: v["aws"].update(account_id="42"), "looper:aws.account_id", "pattern"),
        (lambda v: v.update(storage={"iops": 3000, "throughput": 1000}), "looper:storage.throughput",
         "needs at least 4000 iops"),
        (lambda v: v.update(observability={"alertmanager": {"smtp": SMTP | {
            "password_secret_key": "looper/prod/alertmanager-smtp"}}}),
         "looper:observability.alertmanager.smtp.password_secret_key", "not under looper/dev/"),
        (lambda v: v.update(namespaces={"app": "x", "data": "x"}), "looper:namespaces.data", "must differ"),
        (lambda v: v.update(colour="blue"), "looper:colour", "unknown key"),
        # node lifecycle
        (lambda v: v.update(cluster_autoscaler={"scale_down_unneeded_time": "10 minutes"}),
         "looper:cluster_autoscaler.scale_down_unneeded_time", "not a duration"),
        (lambda v: v.update(cluster_autoscaler={"scale_down_delay_after_add": "0m"}),
         "looper:cluster_autoscaler.scale_down_delay_after_add", "is zero"),
        (lambda v: v.update(cluster_autoscaler={"max_node_provision_time": "15m\n"}),
         "looper:cluster_autoscaler.max_node_provision_time", "not a duration"),
        (lambda v: v.update(cluster_autoscaler={"scale_down_utilization_threshold": 1.5}),
         "looper:cluster_autoscaler.scale_down_utilization_threshold", "less than 1"),
        (lambda v: v.update(cluster_autoscaler={"replicas": 0}), "looper:cluster_autoscaler.replicas",
         "greater than or equal to 1"),
        (lambda v: v.update(node_termination_handler={"replicas": 4}),
         "looper:node_termination_handler.replicas", "less than or equal to 3"),
        (lambda v: v.update(node_termination_handler={"drain_timeout": 300}),
         "looper:node_termination_handler.drain_timeout", "unknown key"),
        # ingress-nginx's app port is gone: a stack that still sets it is told where the port lives
        (lambda v: v["ingress"].update(app_port=8080), "looper:ingress.app_port", "apps[].port"),
    ],
)
def test_bad_field_is_reported_at_its_path(mutate: Any, path: str, fragment: str) -> None:
    values = example_values("v4-platform-dev")
    mutate(values)
    issues = issues_of(values)
    assert path in issues, issues
    assert fragment in issues[path]


def test_every_bad_field_is_reported_at_once() -> None:
    values = example_values("v4-platform-dev")
    values["redis"]["storage"] = "8GB"
    values["ingress"]["replicas"] = 1
    values["kafka"]["topics"]["x"] = topic(retention_ms=5)
    issues = issues_of(values)
    expected = {"looper:redis.storage", "looper:ingress.replicas", "looper:kafka.topics.x.retention_ms"}
    assert expected <= set(issues)


def test_prod_topics_are_checked_against_three_brokers() -> None:
    """Every bad topic is named at once; RF 3 with min ISR 3 would stop writes with one broker down."""
    values = example_values("v4-platform-prod")
    values["kafka"]["topics"]["schedule-events"]["min_insync_replicas"] = 3
    values["kafka"]["topics"]["embedding-jobs"].update(replication_factor=2, min_insync_replicas=2)
    values["kafka"]["brokers"] = 3
    issues = issues_of(values)
    assert "3 >= replication_factor 3" in issues["looper:kafka.topics.schedule-events.min_insync_replicas"]
    assert "2 >= replication_factor 2" in issues["looper:kafka.topics.embedding-jobs.min_insync_replicas"]
    values["kafka"]["brokers"] = 1
    issues = issues_of(values)
    assert {p for p in issues if p.endswith(".replication_factor")} == {
        f"looper:kafka.topics.{t}.replication_factor" for t in values["kafka"]["topics"]}


def test_unset_min_insync_follows_the_brokers() -> None:
    from looper_infra.config.v4_platform import KafkaTopic

    assert [KafkaTopic(replication_factor=rf).effective_min_insync(3) for rf in (1, 2, 3)] == [1, 1, 2]
    assert KafkaTopic(replication_factor=1).effective_min_insync(1) == 1


def test_the_kafka_client_secret_name_is_reserved() -> None:
    values = example_values("v4-platform-dev")
    values["secrets"]["app_secrets"]["kafka-client"] = "kafka"
    assert "reserved for the Kafka client" in issues_of(values)["looper:secrets.app_secrets"]


def test_defaults_need_only_the_cluster_and_rds_subnets() -> None:
    cfg = validate_mapping({
        "stage": "v4-platform", "env": "dev", "cluster_stack": "organization/looper/v4-dev",
        "aws": {"region": "ap-northeast-2", "account_id": "123456789012"},
        "network_policies": {"rds_cidrs": ["10.1.8.0/24"]}}, "test")
    assert isinstance(cfg, V4PlatformConfig)
    # durable by default: three brokers; one is the named dev choice
    assert (cfg.redis.storage, cfg.kafka.brokers, cfg.gpu.enabled) == ("8Gi", 3, True)
    # node lifecycle: two replicas each, the autoscaler's own defaults for scale-down
    ca = cfg.cluster_autoscaler
    assert (ca.replicas, cfg.node_termination_handler.replicas, ca.scale_down_enabled) == (2, 2, True)
    assert (ca.scale_down_unneeded_time, ca.scale_down_delay_after_add, ca.max_node_provision_time) == (
        "10m", "10m", "15m")


def test_every_bad_autoscaler_duration_is_named() -> None:
    values = example_values("v4-platform-dev")
    values["cluster_autoscaler"] = {"scale_down_unneeded_time": "soon", "scale_down_delay_after_add": "-1m",
                                    "scale_down_delay_after_failure": "1d"}
    issues = issues_of(values)
    fields = ("scale_down_unneeded_time", "scale_down_delay_after_add", "scale_down_delay_after_failure")
    assert {f"looper:cluster_autoscaler.{f}" for f in fields} <= set(issues)

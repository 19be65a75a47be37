"""Kafka durability, reported (advisory): fewer than three brokers, or a topic with fewer than three
replicas, survives no broker, volume or AZ loss without losing acknowledged writes.

Dev runs one broker on purpose (config `kafka.brokers: 1`); prod runs three with replication
factor 3. The validators read what would be applied: the broker StatefulSet's replicas and the
topics Job's `kafka-topics.sh --create ... --replication-factor N` calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from looper_infra.policies.model import Resource, ResourcePolicy

STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
JOB = "kubernetes:batch/v1:Job"
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
DURABLE_REPLICAS = 3
_CREATE = re.compile(r"--create --if-not-exists --topic ([^ ]+) --partitions [0-9]+ "
                     r"--replication-factor ([0-9]+)")


def _pod_labels(r: Resource) -> dict[str, Any]:
    template = (r.props.get("spec") or {}).get("template") or {}
    return dict((template.get("metadata") or {}).get("labels") or {})


def kafka_brokers_durable(r: Resource) -> Iterator[str]:
    if _pod_labels(r).get(NAME_LABEL) != "kafka":
        return
    replicas = (r.props.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < DURABLE_REPLICAS:
        yield (f"Kafka runs {replicas} broker(s): not durable (a broker, volume or AZ loss loses data); "
               f"prod runs {DURABLE_REPLICAS}, one per AZ")


def kafka_topics_replicated(r: Resource) -> Iterator[str]:
    labels = _pod_labels(r)
    if labels.get(NAME_LABEL) != "kafka" or labels.get(COMPONENT_LABEL) != "kafka-topics":
        return
    spec = ((r.props.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in spec.get("containers") or []:
        script = " ".join(str(a) for a in container.get("command") or [])
        for topic, rf in _CREATE.findall(script):
            if int(rf) < DURABLE_REPLICAS:
                yield f"Kafka topic {topic} has replication factor {rf}: not durable (prod uses 3)"


RESOURCE_POLICIES = (
    ResourcePolicy("k8s-kafka-brokers-durable", "Kafka runs at least three brokers (reported: dev runs one)",
                   "advisory", (STATEFUL_SET,), kafka_brokers_durable),
    ResourcePolicy("k8s-kafka-topics-replicated", "Kafka topics keep three replicas (reported below)",
                   "advisory", (JOB,), kafka_topics_replicated),
)

"""Every Helm values key the v4-platform stage sets is one the chart has (issue 19, item 1).

The charts' keys come from the records in tests/fixtures/charts (read from each chart's
values.yaml at the version stated there; see tests/helpers/chart_values.py for how to re-record
after a bump). Free-form paths are allow-listed by path with a reason (FREE_FORM).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from helpers.chart_values import (
    CHART_RECORDS,
    FREE_FORM,
    RELEASE,
    STACKS,
    ChartRecord,
    helm_merge,
    index_of,
    release_values,
    rule_errors,
    unknown_paths,
)
from helpers.plans import example_plan
from looper_infra.facts.charts import CHARTS
from looper_infra.facts.observability_charts import CHARTS as OBSERVABILITY_CHARTS

PINS = {**{c.chart.rsplit("/", 1)[-1]: c.version for c in CHARTS.values()},
        **{c.chart: c.version for c in OBSERVABILITY_CHARTS.values()}}


#: the charts with a record (the test below proves they are exactly the stage's releases)
RECORDED = sorted(p.stem for p in CHART_RECORDS.glob("*.yaml"))


def released(stack: str) -> set[str]:
    return {r.inputs["chart"].rsplit("/", 1)[-1] for r in example_plan(stack).of_type(RELEASE)}


def check(chart: str, values: dict[str, Any]) -> list[str]:
    return unknown_paths(values, ChartRecord.load(chart).keys, FREE_FORM.get(chart, {}))


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("chart", RECORDED)
def test_every_values_key_is_one_the_chart_has(stack: str, chart: str) -> None:
    values = release_values(chart)
    if stack not in values:  # the one chart only the GitOps example (v4-platform-dev) installs
        assert (chart, stack) == ("argo-cd", "v4-platform-prod") and "v4-platform-dev" in values
        return
    assert check(chart, values[stack]) == []


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("chart", [c for c in RECORDED if ChartRecord.load(c).schema_rules])
def test_values_meet_the_chart_schema_at_every_recorded_path(stack: str, chart: str) -> None:
    assert rule_errors(release_values(chart)[stack], ChartRecord.load(chart).schema_rules) == []


def test_a_value_the_chart_schema_refuses_fails() -> None:
    rules = ChartRecord.load("opentelemetry-collector").schema_rules
    values = copy.deepcopy(release_values("opentelemetry-collector")["v4-platform-prod"])
    values["mode"], values["replicaCount"] = "bogus", "2"
    assert sorted(rule_errors(values, rules)) == [
        "mode: 'bogus' is not one of ['daemonset', 'deployment', 'statefulset', '']",
        "replicaCount: '2' is not of type 'integer'"]


def test_every_release_has_a_record_of_its_pinned_chart() -> None:
    # the stage builds these sixteen (argo-cd only with `gitops`: the dev example)
    assert released("v4-platform-dev") == released("v4-platform-prod") | {"argo-cd"} == set(RECORDED)
    assert len(RECORDED) == 16
    # the five charts that ship a values.schema.json: what it requires at our paths is recorded
    assert {c for c in RECORDED if ChartRecord.load(c).schema_rules} == {
        "aws-ebs-csi-driver", "external-secrets", "loki", "opentelemetry-collector", "velero"}
    for chart in RECORDED:
        record = ChartRecord.load(chart)
        # a bump must re-record the chart's keys (or state why the old record still holds)
        assert record.pinned == PINS[chart], chart
        assert record.source and record.keys, chart
        if record.read_from != record.pinned:
            assert record.gap, f"{chart}: read from {record.read_from}, pinned {record.pinned}: state the gap"


def test_a_planted_unknown_key_fails_naming_its_path() -> None:
    values = copy.deepcopy(release_values("gpu-operator")["v4-platform-prod"])
    values["operator"]["defaultRuntim"] = "crio"
    assert check("gpu-operator", values) == ["operator.defaultRuntim: not a key of the chart's values"]
    # and the key the chart dropped in v25.3.0 (Helm ignored it silently) is refused the same way
    values["operator"] = {**values["operator"], "defaultRuntime": "crio"}
    del values["operator"]["defaultRuntim"]
    assert check("gpu-operator", values) == ["operator.defaultRuntime: not a key of the chart's values"]


def test_planted_keys_in_list_items_and_subcharts_fail_too() -> None:
    values = copy.deepcopy(release_values("gpu-operator")["v4-platform-dev"])
    values["node-feature-discovery"]["worker"]["tolerations"][0]["efect"] = "NoSchedule"
    values["node-feature-discovery"]["wroker"] = {}
    assert check("gpu-operator", values) == [
        "node-feature-discovery.worker.tolerations[].efect: not a key of the chart's values",
        "node-feature-discovery.wroker: not a key of the chart's values"]
    kps = copy.deepcopy(release_values("kube-prometheus-stack")["v4-platform-prod"])
    kps["prometheus"]["prometheusSpec"]["retentionSise"] = "1GB"
    kps["grafana"]["sidecar"]["datasources"]["defaultDatasourceEnable"] = False
    assert check("kube-prometheus-stack", kps) == [
        "prometheus.prometheusSpec.retentionSise: not a key of the chart's values",
        "grafana.sidecar.datasources.defaultDatasourceEnable: not a key of the chart's values"]


def test_the_walk_rules() -> None:
    chart = {"a": {"b": 1, "empty": {}, "nothing": None, "items": [{"name": "x", "value": 1}],
                   "plain": []}, "c": "s"}
    keys = index_of(chart)
    free = {"a.empty.free": "test"}
    assert unknown_paths({"a": {"b": 2, "items": [{"name": "y"}], "plain": ["v"]}, "c": None}, keys, {}) == []
    assert unknown_paths({"a": {"items": [{"nmae": "y"}]}}, keys, {}) == [
        "a.items[].nmae: not a key of the chart's values"]
    # an empty default documents no keys: setting some needs an allow-list entry
    (empty,) = unknown_paths({"a": {"empty": {"k": 1}}}, keys, {})
    assert empty.startswith("a.empty: the chart's default is {}")
    (nothing,) = unknown_paths({"a": {"nothing": {"k": 1}}}, keys, {})
    assert nothing.startswith("a.nothing: the chart's default is null")
    assert unknown_paths({"a": {"empty": {"free": {"any": {"thing": 1}}}}}, keys, {"a.empty": "test"}) == []
    assert unknown_paths({"a": {"empty": {"free": {"k": 1}}}}, keys, free)[0].startswith("a.empty:")
    # list items with keys where the default list has none to compare
    assert unknown_paths({"a": {"plain": [{"k": 1}]}}, keys, {}) == [
        "a.plain[]: list items with keys where the chart's default list has no element to compare "
        "(allow-list the path if it is free-form)"]
    assert unknown_paths({"a": {"plain": [{"k": 1}]}}, keys, {"a.plain[]": "test"}) == []
    # deleting (null) a key the chart does not have is an unknown key too
    assert unknown_paths({"a": {"gone": None}}, keys, {}) == ["a.gone: not a key of the chart's values"]
    assert unknown_paths({"c": {"k": 1}}, keys, {}) == ["c: a map where the chart's default is a scalar"]


def test_helm_merge_merges_maps_replaces_lists_and_deletes_nulls() -> None:
    base = {"m": {"a": 1, "b": 2}, "l": [1, 2], "s": "x", "gone": {"k": 1}}
    merged = helm_merge(base, {"m": {"b": 3}, "l": [9], "gone": None})
    assert merged == {"m": {"a": 1, "b": 3}, "l": [9], "s": "x"}
    assert base["m"] == {"a": 1, "b": 2}


def test_every_allow_list_entry_is_used() -> None:
    """An allow-list entry the values no longer reach would hide the next key set there."""
    def paths(value: Any, path: str = "") -> set[str]:
        found = {path} if path else set()
        if isinstance(value, dict):
            for key, sub in value.items():
                found |= paths(sub, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    found |= {f"{path}[]"} | paths(item, f"{path}[]")
        return found

    for chart, entries in FREE_FORM.items():
        used = set().union(*(paths(v) for v in release_values(chart).values()))
        for entry in entries:
            assert entry in used, f"{chart}: allow-list entry {entry!r} is set by no example stack"
        assert all(reason.strip() for reason in entries.values())


# --- issue 19 item 3: current exporter names, no Tempo Jaeger listener, patched images -------------

#: collector component types that are now deprecated aliases (the new name follows)
DEPRECATED_EXPORTERS = {"otlp": "otlp_grpc", "otlphttp": "otlp_http",
                        "prometheusremotewrite": "prometheus_remote_write"}


@pytest.mark.parametrize("stack", STACKS)
def test_collector_uses_the_current_exporter_names(stack: str) -> None:
    config = release_values("opentelemetry-collector")[stack]["config"]
    types = {name.split("/", 1)[0] for name in config["exporters"]}
    assert types == {"otlp_grpc", "otlp_http", "prometheus_remote_write"}
    assert not types & set(DEPRECATED_EXPORTERS)
    used = {e for p in config["service"]["pipelines"].values() for e in p["exporters"]}
    assert used == set(config["exporters"])  # every pipeline names a configured exporter


@pytest.mark.parametrize("stack", STACKS)
def test_tempo_runs_no_jaeger_protocol(stack: str) -> None:
    tempo = release_values("tempo")[stack]["tempo"]
    record = ChartRecord.load("tempo")
    chart_protocols = {p.rsplit(".", 1)[1] for p in record.keys
                       if re.fullmatch(r"tempo\.receivers\.jaeger\.protocols\.[a-z_]+", p)}
    assert chart_protocols == {"grpc", "thrift_binary", "thrift_compact", "thrift_http"}
    # every protocol the chart enables is removed: after Helm's merge Tempo's config holds
    # `jaeger: {protocols: {}}` (no listener; the chart's templates need the map, see tempo_values)
    ours = tempo["receivers"]["jaeger"]["protocols"]
    assert ours == dict.fromkeys(chart_protocols)
    merged = helm_merge({"jaeger": {"protocols": {p: {"endpoint": "0.0.0.0:1"} for p in chart_protocols}}},
                        tempo["receivers"])
    assert merged["jaeger"] == {"protocols": {}}
    assert set(merged) == {"jaeger", "otlp"}


def _version(image: str) -> tuple[int, ...]:
    return tuple(int(part) for part in image.rsplit(":", 1)[1].removeprefix("v").split("."))


@pytest.mark.parametrize("stack", STACKS)
def test_images_are_at_least_the_security_releases(stack: str) -> None:
    images = {c["image"] for r in example_plan(stack).of_type("kubernetes:apps/v1:StatefulSet")
              for c in r.inputs["spec"]["template"]["spec"]["containers"]}
    redis = [i for i in images if i.startswith("docker.io/library/redis:")]
    envoy = [i for i in images if i.startswith("docker.io/envoyproxy/envoy:")]
    assert redis and envoy
    assert all(_version(i) >= (8, 2, 8) for i in redis)  # 8.2.8: remote code execution fix
    assert all(_version(i) >= (1, 36, 3) for i in envoy)  # v1.36.3: crash CVEs

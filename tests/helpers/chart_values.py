"""Our Helm values checked against the keys of the charts' own `values.yaml`.

Helm ignores a values key the chart does not read, silently: a misspelt or removed key is a
setting that never happens. `unknown_paths` walks every key path we set and names each one the
chart does not have.

The charts' files are not copied into this repository: a record per chart
(tests/fixtures/charts/<chart>.yaml) holds the facts read from the chart's values.yaml at the
version stated there: every key path the project's example stacks set, with the kind of the
chart's default at that path. `record` writes it from a values.yaml you obtained (`helm show
values <repo>/<chart> --version <pin>`), walking the same paths, so a key is recorded only if
the chart has it; given the chart's values.schema.json it validates the merged values against it
and keeps what the schema requires (type, enum, const) at each recorded path. The offline test
then walks our values against the record: a new or misspelt key fails until it is recorded from
the real chart, and a value of the wrong type or outside the enum fails where the schema says so.

Paths are dotted (`operator.resources.limits`), list items are `[]` (`tolerations[]`). A key
that itself holds dots (`grafana.ini`, an annotation name) is written as is.

    PYTHONPATH=src:tests python -m helpers.chart_values gpu-operator values.yaml \
        --version v26.3.3 --source "NVIDIA/gpu-operator tag v26.3.3 ..." [--schema values.schema.json] \
        [--subchart node-feature-discovery=nfd-values.yaml]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART_RECORDS = Path(__file__).resolve().parents[1] / "fixtures" / "charts"
RELEASE = "kubernetes:helm.sh/v3:Release"
#: the stacks whose Helm releases are checked (every release stage v4-platform builds)
STACKS = ("v4-platform-dev", "v4-platform-prod")

_RESOURCES = "a Kubernetes ResourceRequirements (requests/limits), copied into the pod spec as is"
_ANNOTATIONS = "free-form annotations (IRSA role ARN, our scrape marker)"
_K8S_LIST = ("a list of Kubernetes objects (env vars, volumes, mounts, tolerations, spread constraints) "
             "copied as is")
_SECURITY = "a Kubernetes (Pod)SecurityContext, copied into the pod spec as is (`with .Values...` + toYaml)"

#: Free-form paths per chart: their keys belong to another format (Kubernetes objects, a
#: program's config file, CLI flags), so the chart's values.yaml does not list them.
FREE_FORM: Mapping[str, Mapping[str, str]] = {
    "kube-prometheus-stack": {
        "additionalPrometheusRulesMap": "PrometheusRule groups keyed by name (Prometheus rule format)",
        "alertmanager.config": "Alertmanager's configuration file (alertmanager.yaml), rendered as is",
        "alertmanager.alertmanagerSpec.resources": _RESOURCES,
        "alertmanager.alertmanagerSpec.storage": "a StorageSpec (volumeClaimTemplate) of the Alertmanager "
                                                 "CRD",
        "prometheus.prometheusSpec.resources": _RESOURCES,
        "prometheus.prometheusSpec.storageSpec": "a StorageSpec (volumeClaimTemplate) of the Prometheus CRD",
        "prometheusOperator.resources": _RESOURCES,
        "prometheusOperator.prometheusConfigReloader.resources": _RESOURCES,
        "prometheusOperator.admissionWebhooks.patch.resources": _RESOURCES,
        "kube-state-metrics.resources": _RESOURCES,
        "prometheus-node-exporter.resources": _RESOURCES,
        "grafana.resources": _RESOURCES,
        "grafana.sidecar.resources": _RESOURCES,
        "grafana.grafana.ini": "Grafana's grafana.ini, section -> key, rendered as is",
        "grafana.additionalDataSources[]": "Grafana datasource provisioning entries (Grafana's format)",
        # commented out in grafana's values.yaml, read by its templates:
        "grafana.fullnameOverride": "read by grafana templates/_helpers.tpl (`.Values.fullnameOverride`), "
                                    "not listed in its values.yaml",
        "grafana.persistence.storageClassName": "read by grafana templates/pvc.yaml, commented out "
                                                "(`# storageClassName: default`) in its values.yaml",
    },
    "loki": {
        "loki.compactor": "Loki's compactor config block, rendered into loki.yaml as is",
        "loki.schemaConfig": "Loki's schema_config, rendered into loki.yaml as is",
        "loki.limits_config": "Loki's limits_config, rendered into loki.yaml as is "
                              "(`with .Values.loki.limits_config`)",
        "loki.storage.bucketNames": "bucket names, commented out (`# bucketNames:`) in loki's values.yaml, "
                                    "read by its storage config template",
        "serviceAccount.annotations": _ANNOTATIONS,
        "sidecar.resources": _RESOURCES,
        "singleBinary.resources": _RESOURCES,
        "singleBinary.extraEnv[]": _K8S_LIST,
        "singleBinary.extraVolumes[]": _K8S_LIST,
        "singleBinary.extraVolumeMounts[]": _K8S_LIST,
    },
    "tempo": {
        "tempo.storage.trace.s3": "Tempo's storage.trace.s3 block (`toYaml .Values.tempo.storage` "
                                  "into tempo.yaml)",
        "tempo.overrides.defaults": "Tempo's overrides block (`toYaml .Values.tempo.overrides` "
                                    "into tempo.yaml)",
        "tempo.metricsGenerator.storage.remote_write[]": "Tempo's remote_write entries, rendered as is",
        "tempo.resources": _RESOURCES,
        "tempo.extraEnv[]": _K8S_LIST,
        "tempo.extraVolumeMounts[]": _K8S_LIST,
        "extraVolumes[]": _K8S_LIST,
        "serviceAccount.annotations": _ANNOTATIONS,
        "persistence.storageClassName": "read by tempo templates/statefulset.yaml, commented out in "
                                        "its values.yaml",
    },
    "alloy": {
        "alloy.resources": _RESOURCES,
        "configReloader.resources": _RESOURCES,
        "controller.tolerations[]": _K8S_LIST,
    },
    "opentelemetry-collector": {
        "config.exporters": "the collector's exporters, by the collector's own component names",
        "resources": _RESOURCES,
        "podDisruptionBudget.minAvailable": "read by templates/pdb.yaml, commented out "
                                            "(`#   minAvailable: 2`) in the chart's values.yaml",
    },
    "gpu-operator": {
        "daemonsets.annotations": _ANNOTATIONS,
        "daemonsets.tolerations[]": _K8S_LIST,
    },
    "aws-ebs-csi-driver": {
        "controller.resources": _RESOURCES,
        "node.resources": _RESOURCES,
        "controller.serviceAccount.annotations": _ANNOTATIONS,
        "controller.env[]": _K8S_LIST,
        "controller.volumes[]": _K8S_LIST,
        "controller.volumeMounts[]": _K8S_LIST,
        "controller.topologySpreadConstraints[]": _K8S_LIST,
    },
    "external-secrets": {
        "resources": _RESOURCES,
        "webhook.resources": _RESOURCES,
        "certController.resources": _RESOURCES,
        "serviceAccount.annotations": _ANNOTATIONS,
        "topologySpreadConstraints[]": _K8S_LIST,
    },
    "aws-node-termination-handler": {
        "resources": _RESOURCES,
        "securityContext": _SECURITY,
        "podSecurityContext": _SECURITY,
        "podDisruptionBudget": "a PodDisruptionBudget spec (templates/pdb.yaml: "
                               "toYaml .Values.podDisruptionBudget)",
        "serviceAccount.annotations": _ANNOTATIONS,
        "extraEnv[]": _K8S_LIST,
        "topologySpreadConstraints[]": _K8S_LIST,
    },
    "cluster-autoscaler": {
        "extraArgs": "cluster-autoscaler command-line flags by name (`--<key>=<value>`)",
        "extraEnv": "environment variables by name",
        "resources": _RESOURCES,
        "securityContext": _SECURITY,
        "containerSecurityContext": _SECURITY,
        "rbac.serviceAccount.annotations": _ANNOTATIONS,
        "extraVolumes[]": _K8S_LIST,
        "extraVolumeMounts[]": _K8S_LIST,
        "topologySpreadConstraints[]": _K8S_LIST,
    },
    "gateway-helm": {
        "deployment.envoyGateway.resources": _RESOURCES,
        "deployment.pod.annotations": "free-form pod annotations (our wait-for-CRDs marker)",
        "deployment.pod.topologySpreadConstraints": "Kubernetes TopologySpreadConstraints, copied "
                                                    "into the pod spec as is",
    },
    "metrics-server": {
        "resources": _RESOURCES,
        "securityContext": _SECURITY,
        "podSecurityContext": _SECURITY,
        "topologySpreadConstraints[]": _K8S_LIST,
    },
    "kubelet-csr-approver": {
        "resources": _RESOURCES,
        "securityContext": _SECURITY,
        "podSecurityContext": _SECURITY,
        "affinity": "a Kubernetes Affinity, copied into the pod spec as is (`with .Values.affinity`)",
        "dnsConfig": "a Kubernetes PodDNSConfig, copied into the pod spec as is "
                     "(`.Values.dnsConfig | toYaml`)",
    },
    "argo-cd": {
        "configs.cm": "argocd-cm's data, rendered as is (keys of Argo CD's operator manual argocd-cm.yaml: "
                      "users.anonymous.enabled, users.session.duration)",
        **{f"{c}.resources": _RESOURCES for c in ("controller", "server", "repoServer", "applicationSet",
                                                  "redis")},
        **{f"{c}.topologySpreadConstraints[]": "Kubernetes TopologySpreadConstraints, copied into the pod "
           "spec as is" for c in ("server", "repoServer", "applicationSet")},
    },
    "velero": {
        "resources": _RESOURCES,
        "upgradeJobResources": _RESOURCES,
        "podSecurityContext": _SECURITY,
        "containerSecurityContext": _SECURITY,
        "initContainers[]": _K8S_LIST,
        "extraVolumes[]": _K8S_LIST,
        "extraVolumeMounts[]": _K8S_LIST,
        "configuration.extraEnvVars[]": _K8S_LIST,
        "serviceAccount.server.annotations": _ANNOTATIONS,
        "configuration.backupStorageLocation[].config": "the AWS plugin's BackupStorageLocation config "
                                                        "(region, kmsKeyId), copied into the BSL as is",
        "configuration.backupStorageLocation[].name": "read by templates/backupstoragelocation.yaml; the "
                                                      "values.yaml's item starts with `- name:` (null)",
    },
}


@dataclass(frozen=True)
class ChartRecord:
    """The facts read from one chart's values.yaml (tests/fixtures/charts/<chart>.yaml)."""

    chart: str
    #: the version the project installed when the record was made
    pinned: str
    #: the version whose values.yaml was read (the pinned one, or the nearest obtainable: see gap)
    read_from: str
    source: str
    gap: str
    schema: str
    #: key path -> kind of the chart's default there ("map", "empty-map", "null", "list", "scalar")
    keys: Mapping[str, str]
    #: key path -> what the chart's values.schema.json requires of the value there (its `type`,
    #: `enum`, `const`), for the recorded paths where the schema says so
    schema_rules: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    @classmethod
    def load(cls, chart: str) -> ChartRecord:
        doc = yaml.safe_load((CHART_RECORDS / f"{chart}.yaml").read_text(encoding="utf-8"))
        return cls(**doc)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _pattern(allowed: str) -> re.Pattern[str]:
    """An allow-listed path covers itself and everything under it."""
    return re.compile(re.escape(allowed) + r"(?=$|[.\[])")


def _kind(default: Any) -> str:
    if isinstance(default, dict):
        return "map" if default else "empty-map"
    if isinstance(default, list):
        return "list"
    return "null" if default is None else "scalar"


def index_of(defaults: Mapping[str, Any]) -> dict[str, str]:
    """Every key path of a chart's values (list items with keys under `path[]`) -> its kind."""
    index: dict[str, str] = {}

    def visit(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                here = _join(path, key)
                index[here] = _kind(sub)
                visit(sub, here)
        elif isinstance(value, list):
            elements = [v for v in value if isinstance(v, dict)]
            if elements:
                index[f"{path}[]"] = "map"
                merged: dict[str, Any] = {}
                for element in elements:
                    merged = helm_merge(merged, element)
                for key, sub in merged.items():
                    here = f"{path}[].{key}"
                    index[here] = _kind(sub)
                    visit(sub, here)

    visit(dict(defaults), "")
    return index


def unknown_paths(ours: Mapping[str, Any], keys: Mapping[str, str], free_form: Mapping[str, str],
                  *, seen: Callable[[str], None] = lambda path: None) -> list[str]:
    """Every key path of `ours` the chart does not have (`keys`: path -> kind), with why.

    A path under an entry of `free_form` (path -> reason) is not walked. A map whose chart
    default is empty (`{}`, `null`) documents no keys, so setting keys there needs an allow-list
    entry too. List items are walked when the chart's default list has an element with keys;
    list items with keys against a default without one need an allow-list entry. `seen` is
    called with every chart path the walk relied on (what `record` keeps).
    """
    patterns = [_pattern(p) for p in free_form]
    problems: list[str] = []

    def allowed(path: str) -> bool:
        return any(p.match(path) for p in patterns)

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            kind = keys.get(path, "map") if path else "map"
            if kind == "map":
                for key, sub in value.items():
                    here = _join(path, key)
                    if allowed(here):
                        continue
                    if here not in keys:
                        problems.append(f"{here}: not a key of the chart's values")
                        continue
                    seen(here)
                    if sub is not None:  # null deletes a default key: it only has to exist
                        walk(sub, here)
            elif value and kind in ("empty-map", "null"):
                problems.append(f"{path}: the chart's default is {'{}' if kind == 'empty-map' else 'null'} "
                                "and documents no keys (allow-list the path if it is free-form)")
            elif value and kind not in ("empty-map", "null"):
                problems.append(f"{path}: a map where the chart's default is a {kind}")
        elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
            items = f"{path}[]"
            if allowed(items):
                return
            if keys.get(items) != "map":
                problems.append(f"{items}: list items with keys where the chart's default list has no "
                                "element to compare (allow-list the path if it is free-form)")
                return
            seen(items)
            for item in value:
                walk(item, items)

    walk(dict(ours), "")
    return problems


def helm_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values over chart defaults: maps merge key by key, lists and
    scalars replace, a `null` removes the default key."""
    merged = dict(base)
    for key, value in over.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def value_paths(values: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...], Any]]:
    """(path, its keys one by one, value) of every map key of `values`, list items as `[]`."""
    found: list[tuple[str, tuple[str, ...], Any]] = []

    def visit(value: Any, path: str, keys: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                here = _join(path, key)
                found.append((here, (*keys, key), sub))
                visit(sub, here, (*keys, key))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    visit(item, f"{path}[]", (*keys, "[]"))

    visit(dict(values), "", ())
    return found


def schema_rule(schema: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The `type` / `enum` / `const` the schema states for the value at `keys` ({} if none)."""
    def deref(node: Any) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            target: Any = schema
            for part in node["$ref"][2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            node = target
        return node

    node: Any = deref(schema)
    for key in keys:
        if not isinstance(node, dict):
            return {}
        node = deref(node.get("items") if key == "[]" else node.get("properties", {}).get(key))
    if not isinstance(node, dict):
        return {}
    return {k: node[k] for k in ("type", "enum", "const") if k in node}


def rule_errors(values: Mapping[str, Any], rules: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Values at recorded paths that break what the chart's schema requires there."""
    import jsonschema

    problems = []
    for path, _, value in value_paths(values):
        rule = rules.get(path)
        if rule and value is not None:
            validator = jsonschema.Draft7Validator(dict(rule))
            problems += [f"{path}: {e.message}" for e in validator.iter_errors(value)]
    return problems


def schema_errors(values: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The schema violations of `values` (`path: message`), as `helm install` would report them."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)(schema)
    return sorted(f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                  for e in validator.iter_errors(dict(values)))


def release_values(chart: str) -> dict[str, dict[str, Any]]:
    """{stack: the values of `chart`'s Helm release} in the planned example stacks."""
    from helpers.plans import example_plan

    found = {}
    for stack in STACKS:
        for r in example_plan(stack).of_type(RELEASE):
            if r.inputs["chart"].rsplit("/", 1)[-1] == chart:
                found[stack] = r.inputs["values"]
    return found


def _load_yaml(path: str) -> dict[str, Any]:
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def record(argv: list[str]) -> int:
    """Write tests/fixtures/charts/<chart>.yaml from the chart's values.yaml; 1 on unknown keys."""
    from looper_infra.facts.charts import CHARTS
    from looper_infra.facts.observability_charts import CHARTS as OBSERVABILITY_CHARTS

    parser = argparse.ArgumentParser(prog="python -m helpers.chart_values")
    parser.add_argument("chart")
    parser.add_argument("values", help="the chart's values.yaml at --version")
    parser.add_argument("--version", required=True, help="the chart version the values.yaml is from")
    parser.add_argument("--source", required=True, help="repository, path, tag/commit, date read")
    parser.add_argument("--gap", default="", help="why --version is not the pinned one")
    parser.add_argument("--schema", help="the chart's values.schema.json, where it ships one")
    parser.add_argument("--subchart", action="append", default=[], metavar="KEY=VALUES.yaml",
                        help="a subchart's values.yaml, merged under KEY (the parent's values win)")
    args = parser.parse_args(argv)

    pins = {**{c.chart.rsplit("/", 1)[-1]: c.version for c in CHARTS.values()},
        **{c.chart: c.version for c in OBSERVABILITY_CHARTS.values()}}
    defaults = _load_yaml(args.values)
    for sub in args.subchart:
        key, _, path = sub.partition("=")
        defaults[key] = helm_merge(_load_yaml(path), defaults.get(key) or {})
    full = index_of(defaults)
    kept: dict[str, str] = {}
    problems: list[str] = []
    schema_note = "the chart ships no values.schema.json"
    rules: dict[str, dict[str, Any]] = {}
    for stack, values in release_values(args.chart).items():
        problems += [f"{stack}: {p}" for p in unknown_paths(
            values, full, FREE_FORM.get(args.chart, {}), seen=lambda p: kept.__setitem__(p, full[p]))]
        if args.schema:
            schema = json.loads(Path(args.schema).read_text(encoding="utf-8"))
            errors = schema_errors(helm_merge(defaults, values), schema)
            problems += [f"{stack}: schema: {e}" for e in errors]
            for path, keys, _ in value_paths(values):
                if path in kept and (rule := schema_rule(schema, keys)):
                    rules[path] = rule
            schema_note = ("values.schema.json: the chart defaults merged with each example stack's values "
                           "validated without error when recorded; schema_rules keep what it requires "
                           "at the recorded paths")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    doc = {"chart": args.chart, "pinned": pins[args.chart], "read_from": args.version,
           "source": args.source, "gap": args.gap, "schema": schema_note, "keys": dict(sorted(kept.items())),
           **({"schema_rules": dict(sorted(rules.items()))} if rules else {})}
    CHART_RECORDS.mkdir(parents=True, exist_ok=True)
    (CHART_RECORDS / f"{args.chart}.yaml").write_text(
        "# Facts read from the chart's values.yaml by tests/helpers/chart_values.py (see its docstring).\n"
        + yaml.safe_dump(doc, sort_keys=False, width=100), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(record(sys.argv[1:]))

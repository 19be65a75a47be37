"""The observability component planned offline: pinned charts, private buckets, IRSA scoped to one
bucket each, no secret in any Helm values, wiring between the releases, control-plane scraping."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from helpers.plans import ROOT
from looper_infra.components.aws.provider import aws_provider
from looper_infra.components.base import InvalidArgs
from looper_infra.components.k8s.external_secrets import STORE_NAME
from looper_infra.components.k8s.observability import (
    NONCURRENT_DAYS,
    Observability,
    ObservabilityArgs,
    OidcIssuer,
)
from looper_infra.components.k8s.observability_settings import (
    AlertmanagerSettings,
    LokiSettings,
    ObservabilitySettings,
    PrometheusSettings,
    SmtpRelay,
)
from looper_infra.engine.mocks import SECRET_MASK, MockContext, RecordedResource
from looper_infra.engine.plan import Plan, run_program
from looper_infra.facts.observability_charts import CHARTS

RELEASE = "kubernetes:helm.sh/v3:Release"
BUCKET = "aws:s3/bucket:Bucket"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ACCOUNT, REGION, PREFIX = "123456789012", "ap-northeast-2", "looper-dev"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/d1234abcd.cloudfront.net"
ISSUER_HOST = "d1234abcd.cloudfront.net"
APP_NAMESPACES = ("looper", "looper-data")
KUBEADM_TEMPLATE = (ROOT / "src" / "looper_infra" / "bootstrap" / "templates"
                    / "k8s-kubeadm.yaml.j2")
SMTP = SmtpRelay(host="email-smtp.ap-northeast-2.amazonaws.com", from_address="alerts@example.com",
                 to_address="ops@example.com", username="AKIAEXAMPLEUSER",
                 password_secret_key="looper/dev/alertmanager-smtp")
FULL = ObservabilitySettings(
    prometheus=PrometheusSettings(retention="30d", storage_size="80Gi", retention_size="70GB", replicas=2),
    alertmanager=AlertmanagerSettings(replicas=2, smtp=SMTP),
    loki=LokiSettings(retention_days=10), tempo_retention_hours=100)
MINIMAL = ObservabilitySettings(loki=LokiSettings(mode="simple-scalable", replicas=3))
ARGS = ObservabilityArgs(name_prefix=PREFIX, region=REGION, account_id=ACCOUNT,
                         oidc=OidcIssuer(provider_arn=PROVIDER_ARN, host=ISSUER_HOST))


def observability_plan(settings: ObservabilitySettings, app_namespaces: tuple[str, ...]) -> Plan:
    def program() -> None:
        k8s_provider = k8s.Provider("k8s", kubeconfig="{}")
        aws = aws_provider("aws", region=REGION, account_id=ACCOUNT, tags={"app": "looper"})
        obs = Observability("obs", replace(ARGS, settings=settings, app_namespaces=app_namespaces),
                            opts=pulumi.ResourceOptions(providers=[k8s_provider, aws]))
        pulumi.export("otlp_endpoint", obs.otlp_endpoint)
        pulumi.export("grafana_admin_password", obs.grafana_admin_password)
        pulumi.export("loki_bucket", obs.loki_bucket)
        pulumi.export("tempo_bucket", obs.tempo_bucket)

    return run_program(program, stage="test", stack="test", context=MockContext())


@pytest.fixture(scope="module")
def plan() -> Plan:
    return observability_plan(FULL, APP_NAMESPACES)


@pytest.fixture(scope="module")
def minimal() -> Plan:
    return observability_plan(MINIMAL, ())


def releases(plan: Plan) -> dict[str, RecordedResource]:
    """Releases by chart."""
    return {r.inputs["chart"]: r for r in plan.of_type(RELEASE)}


def values(plan: Plan, chart: str) -> dict[str, Any]:
    found: dict[str, Any] = releases(plan)[chart].inputs["values"]
    return found


def svc(release: RecordedResource, suffix: str = "") -> str:
    """`<service>.<namespace>.svc` of a release: fullnameOverride or the release name, plus suffix."""
    base = release.inputs["values"].get("fullnameOverride") or release.inputs["name"]
    return f"{base}{suffix}.{release.inputs['namespace']}.svc"


def walk(node: Any, key: str) -> Iterator[Any]:
    """Every value stored under `key` anywhere in a nested structure."""
    if isinstance(node, dict):
        for k, val in node.items():
            if k == key:
                yield val
            yield from walk(val, key)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, key)


# --- charts -----------------------------------------------------------------------------------------

def test_every_release_is_a_pinned_chart_at_an_exact_version(plan: Plan, minimal: Plan) -> None:
    full = releases(plan)
    assert set(full) == set(releases(minimal)) == set(CHARTS)  # Argo CD is config `gitops`, elsewhere
    for chart, release in full.items():
        pin = CHARTS[chart]
        assert release.inputs["version"] == pin.version
        assert re.fullmatch(r"\d+\.\d+\.\d+", release.inputs["version"])
        assert release.inputs["repositoryOpts"]["repo"] == pin.repo
        assert release.inputs["atomic"] is True
        assert release.inputs.get("createNamespace") in (None, False)
    assert {r.inputs["namespace"] for r in full.values()} == {"monitoring"}


def test_every_container_the_values_configure_has_requests_and_limits(plan: Plan) -> None:
    minimum = {"kube-prometheus-stack": 9, "loki": 2, "tempo": 1, "alloy": 2, "opentelemetry-collector": 1}
    for chart, release in releases(plan).items():
        # container resources (PVC claims also have `resources`, with storage requests only)
        found = [r for r in walk(release.inputs["values"], "resources")
                 if "storage" not in r.get("requests", {})]
        assert len(found) >= minimum[chart], chart
        for res in found:
            for kind in ("requests", "limits"):
                assert set(res[kind]) == {"cpu", "memory"}, (chart, res)


# --- buckets and IRSA -------------------------------------------------------------------------------

def test_buckets_are_private_encrypted_tls_only_and_expire_after_retention(plan: Plan) -> None:
    buckets = {b.inputs["bucket"]: b for b in plan.of_type(BUCKET)}
    chunks, ruler, tempo = (f"{PREFIX}-{r}-{ACCOUNT}" for r in ("loki-chunks", "loki-ruler", "tempo"))
    assert set(buckets) == {chunks, ruler, tempo}
    assert plan.outputs["loki_bucket"] == chunks and plan.outputs["tempo_bucket"] == tempo

    def of(type_: str) -> dict[str, RecordedResource]:
        return {r.inputs["bucket"]: r for r in plan.of_type(f"aws:s3/{type_}")}

    blocks, sse = of("bucketPublicAccessBlock:BucketPublicAccessBlock"), of(
        "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    owners, policies = of("bucketOwnershipControls:BucketOwnershipControls"), of("bucketPolicy:BucketPolicy")
    lifecycles, versioning = of("bucketLifecycleConfiguration:BucketLifecycleConfiguration"), of(
        "bucketVersioning:BucketVersioning")
    for name in buckets:
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(blocks[name].inputs[f] is True for f in flags)
        rule = sse[name].inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert rule["sseAlgorithm"] == "AES256"
        assert owners[name].inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        (deny,) = json.loads(policies[name].inputs["policy"])["Statement"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    # retention + one day: Loki 10 days, Tempo 100 h = 5 days (rounded up)
    expiry = {n: lc.inputs["rules"][0]["expiration"]["days"] for n, lc in lifecycles.items() if n != ruler}
    assert expiry == {chunks: 11, tempo: 6}
    assert versioning[ruler].inputs["versioningConfiguration"]["status"] == "Enabled"
    # the ruler keeps its rules; replaced versions go after NONCURRENT_DAYS
    (old,) = lifecycles[ruler].inputs["rules"]
    assert "expiration" not in old
    assert old["noncurrentVersionExpiration"]["noncurrentDays"] == NONCURRENT_DAYS


@pytest.mark.parametrize(("service_account", "own"), [("loki", ("loki-chunks", "loki-ruler")),
                                                      ("tempo", ("tempo",))])
def test_irsa_roles_trust_one_service_account_and_reach_only_their_buckets(
        plan: Plan, service_account: str, own: tuple[str, ...]) -> None:
    role = {r.inputs["name"]: r for r in plan.of_type(ROLE)}[f"{PREFIX}-{service_account}"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": PROVIDER_ARN}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {"StringEquals": {
        f"{ISSUER_HOST}:sub": f"system:serviceaccount:monitoring:{service_account}",
        f"{ISSUER_HOST}:aud": "sts.amazonaws.com"}}
    policy = {p.inputs["name"]: p for p in plan.of_type(ROLE_POLICY)}[f"{PREFIX}-{service_account}-inline"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    arns = [f"arn:aws:s3:::{PREFIX}-{b}-{ACCOUNT}" for b in own]
    granted = {(a, r) for st in statements for a in st["Action"] for r in st["Resource"]}
    assert all(st["Effect"] == "Allow" for st in statements)
    assert granted == {("s3:ListBucket", a) for a in arns} | {
        (action, f"{a}/*") for a in arns for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")}


@pytest.mark.parametrize("chart", ["loki", "tempo"])
def test_loki_and_tempo_pods_carry_their_own_web_identity(plan: Plan, chart: str) -> None:
    vals = values(plan, chart)
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-{chart}"
    assert vals["serviceAccount"]["name"] == chart
    envs = list(walk(vals, "extraEnv"))
    assert envs, "no environment for the web identity"
    for env in envs:
        by_name = {e["name"]: e["value"] for e in env}
        assert by_name["AWS_ROLE_ARN"] == role_arn
        token_file = by_name["AWS_WEB_IDENTITY_TOKEN_FILE"]
    volumes = [v for vols in walk(vals, "extraVolumes") for v in vols]
    mounts = [m for ms in walk(vals, "extraVolumeMounts") for m in ms]
    sources = [s["serviceAccountToken"] for v in volumes for s in v["projected"]["sources"]]
    assert sources and all(s["audience"] == "sts.amazonaws.com" for s in sources)
    assert {f"{m['mountPath']}/{sources[0]['path']}" for m in mounts} == {token_file}


# --- secrets ----------------------------------------------------------------------------------------

def test_grafana_admin_password_is_secret_and_only_referenced(plan: Plan) -> None:
    password = plan.one("random:index/randomPassword:RandomPassword").state["result"]
    assert len(password) == 32
    secret = plan.one("kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == SECRET_MASK
    assert plan.outputs["grafana_admin_password"] == SECRET_MASK
    admin = values(plan, "kube-prometheus-stack")["grafana"]["admin"]
    assert admin["existingSecret"] == secret.inputs["metadata"]["name"]
    assert {admin["userKey"], admin["passwordKey"]} == set(secret.state["stringData"])
    # not in any helm values, nor anywhere else the plan shows
    for release in plan.of_type(RELEASE):
        assert password not in json.dumps(release.inputs)
    assert password not in json.dumps([r.inputs for r in plan.resources])


def test_alertmanager_mails_with_a_password_file_from_an_external_secret(plan: Plan) -> None:
    external = plan.one("kubernetes:external-secrets.io/v1:ExternalSecret")
    spec = external.inputs["spec"]
    assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": STORE_NAME}
    assert [d["remoteRef"]["key"] for d in spec["data"]] == [SMTP.password_secret_key]
    target, key = spec["target"]["name"], spec["data"][0]["secretKey"]
    am = values(plan, "kube-prometheus-stack")["alertmanager"]
    assert am["alertmanagerSpec"]["secrets"] == [target]
    smtp = am["config"]["global"]
    assert smtp["smtp_auth_password_file"] == f"/etc/alertmanager/secrets/{target}/{key}"
    assert smtp["smtp_smarthost"] == f"{SMTP.host}:587" and smtp["smtp_require_tls"] is True
    assert not [k for r in plan.of_type(RELEASE) for k in walk(r.inputs, "smtp_auth_password")]
    email = [c["to"] for rcv in am["config"]["receivers"] for c in rcv.get("email_configs", [])]
    assert email == [SMTP.to_address]


def test_without_smtp_there_is_no_external_secret_nor_mail_receiver(minimal: Plan) -> None:
    assert not minimal.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    config = values(minimal, "kube-prometheus-stack")["alertmanager"]["config"]
    assert "global" not in config and config["route"]["receiver"] == "null"


# --- Prometheus and the control plane -------------------------------------------------------------

def test_prometheus_retention_and_storage_follow_the_config(plan: Plan) -> None:
    spec = values(plan, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d" and spec["retentionSize"] == "70GB" and spec["replicas"] == 2
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "80Gi"
    assert claim["storageClassName"] == "gp3"
    assert spec["enableRemoteWriteReceiver"] is True


def test_control_plane_scraping_matches_the_kubeadm_config(plan: Plan) -> None:
    text = KUBEADM_TEMPLATE.read_text(encoding="utf-8")
    for component in ("controllerManager", "scheduler"):
        block = text.split(f"{component}:", 1)[1].split("\n", 6)
        assert 'value: "0.0.0.0"' in "\n".join(block), component
    # no secure-port override: controller-manager and scheduler serve HTTPS on their defaults
    assert "secure-port" not in text
    etcd_port = int(re.search(r'value: "http://0\.0\.0\.0:(\d+)"', text).group(1))  # type: ignore[union-attr]
    proxy_port = int(re.search(r'metricsBindAddress: "0\.0\.0\.0:(\d+)"', text).group(1))  # type: ignore[union-attr]
    kps = values(plan, "kube-prometheus-stack")
    expected = {"kubeControllerManager": (10257, True), "kubeScheduler": (10259, True),
                "kubeProxy": (proxy_port, False)}
    for key, (port, https) in expected.items():
        assert kps[key]["enabled"] is True
        assert kps[key]["service"]["port"] == kps[key]["service"]["targetPort"] == port, key
        assert kps[key]["serviceMonitor"]["https"] is https, key
    assert kps["kubeEtcd"]["service"]["port"] == kps["kubeEtcd"]["service"]["targetPort"] == etcd_port == 2381
    assert kps["kubeEtcd"]["serviceMonitor"]["scheme"] == "http"


def test_release_ships_node_exporter_textfile_and_the_control_plane_dr_rule(plan: Plan) -> None:
    kps = values(plan, "kube-prometheus-stack")
    assert ("--collector.textfile.directory=/host/root/var/lib/node_exporter/textfile_collector"
            in kps["prometheus-node-exporter"]["extraArgs"])
    groups = kps["additionalPrometheusRulesMap"]["control-plane-dr"]["groups"]
    assert {rule["alert"] for g in groups for rule in g["rules"]} == {
        "EtcdSnapshotStale", "EtcdSnapshotFailing", "EtcdSnapshotNeverSucceeded",
        "KubernetesCertificateExpiringSoon"}


# --- wiring between the releases ------------------------------------------------------------------

@pytest.mark.parametrize(("fixture", "loki_write", "loki_read"), [("plan", "", ""),
                                                                  ("minimal", "-write", "-read")])
def test_collector_alloy_and_grafana_point_at_the_releases_services(
        fixture: str, loki_write: str, loki_read: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(fixture)
    rel = releases(plan)
    prometheus = f"http://{svc(rel['kube-prometheus-stack'], '-prometheus')}:9090"
    loki_w, loki_r = (f"http://{svc(rel['loki'], s)}:3100" for s in (loki_write, loki_read))
    tempo = svc(rel["tempo"])
    otel = values(plan, "opentelemetry-collector")
    exporters, pipelines = otel["config"]["exporters"], otel["config"]["service"]["pipelines"]
    assert otel["mode"] == "deployment"
    assert exporters["otlp_grpc/tempo"]["endpoint"] == f"{tempo}:4317"
    assert exporters["otlp_http/loki"]["endpoint"] == f"{loki_w}/otlp"
    assert exporters["prometheus_remote_write"]["endpoint"] == f"{prometheus}/api/v1/write"
    assert {k: (p["receivers"], p["exporters"]) for k, p in pipelines.items()} == {
        "traces": (["otlp"], ["otlp_grpc/tempo"]), "metrics": (["otlp"], ["prometheus_remote_write"]),
        "logs": (["otlp"], ["otlp_http/loki"])}
    protocols = otel["config"]["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317") and protocols["http"]["endpoint"].endswith(":4318")
    if fixture == "plan":
        assert plan.outputs["otlp_endpoint"] == f"http://{svc(rel['opentelemetry-collector'])}:4317"
    alloy = values(plan, "alloy")
    assert alloy["controller"]["type"] == "daemonset"
    assert f'url = "{loki_w}/loki/api/v1/push"' in alloy["alloy"]["configMap"]["content"]
    sources = {d["uid"]: d for d in values(plan, "kube-prometheus-stack")["grafana"]["additionalDataSources"]}
    assert sources["prometheus"]["url"] == prometheus
    assert sources["loki"]["url"] == loki_r
    assert sources["tempo"]["url"] == f"http://{tempo}:3200"
    assert sources["tempo"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert sources["loki"]["jsonData"]["derivedFields"][0]["datasourceUid"] == "tempo"


def test_loki_mode_sets_the_targets(plan: Plan, minimal: Plan) -> None:
    mono, ssd = values(plan, "loki"), values(minimal, "loki")
    assert mono["deploymentMode"] == "Monolithic"
    assert [mono[t]["replicas"] for t in ("singleBinary", "read", "write", "backend")] == [1, 0, 0, 0]
    assert ssd["deploymentMode"] == "SimpleScalable"
    assert [ssd[t]["replicas"] for t in ("singleBinary", "read", "write", "backend")] == [0, 3, 3, 3]
    assert mono["loki"]["limits_config"]["retention_period"] == "240h"
    assert mono["loki"]["compactor"]["retention_enabled"] is True
    assert mono["loki"]["storage"]["bucketNames"] == {"chunks": f"{PREFIX}-loki-chunks-{ACCOUNT}",
                                                      "ruler": f"{PREFIX}-loki-ruler-{ACCOUNT}"}
    assert values(plan, "tempo")["tempo"]["retention"] == "100h"


# --- namespace and network policies ---------------------------------------------------------------

def test_namespace_pod_security_and_network_policies(plan: Plan, minimal: Plan) -> None:
    ns = {n.inputs["metadata"]["name"]: n.inputs["metadata"]["labels"]
          for n in plan.of_type("kubernetes:core/v1:Namespace")}
    assert ns["monitoring"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert ns["monitoring"]["pod-security.kubernetes.io/warn"] == "baseline"
    assert set(ns) == {"monitoring"}
    policies = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in plan.of_type(NETPOL)}
    assert {p.inputs["metadata"]["namespace"] for p in plan.of_type(NETPOL)} == {"monitoring"}
    deny = policies["default-deny-ingress"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert policies["allow-same-namespace"]["ingress"] == [{"from": [{"podSelector": {}}]}]
    (otlp,) = policies["allow-otlp-from-apps"]["ingress"]
    (peer,) = otlp["from"]
    assert peer["namespaceSelector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(APP_NAMESPACES)}]
    assert sorted(p["port"] for p in otlp["ports"]) == [4317, 4318]
    assert policies["allow-otlp-from-apps"]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == \
        releases(plan)["opentelemetry-collector"].inputs["name"]
    (grafana,) = policies["allow-grafana-from-ingress"]["ingress"]
    assert grafana["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "envoy-gateway-system"}}}]
    assert [p["port"] for p in grafana["ports"]] == [3000]
    # no application namespaces: no OTLP opening at all
    assert "allow-otlp-from-apps" not in {p.inputs["metadata"]["name"] for p in minimal.of_type(NETPOL)}


@pytest.mark.parametrize(("args", "fields"), [
    (replace(ARGS, name_prefix="Looper", namespace="Monitoring"), ["namespace"] + ["name_prefix"] * 3),
    (replace(ARGS, name_prefix="looper-" + "x" * 33), ["name_prefix"] * 2),  # loki buckets: 64, 65 chars
])
def test_names_it_would_make_badly_are_refused_before_anything_is_built(
        args: ObservabilityArgs, fields: list[str]) -> None:
    with pytest.raises(InvalidArgs) as info:
        run_program(lambda: Observability("obs", args), stage="test", stack="test", context=MockContext())
    assert [p.split(":")[0] for p in info.value.problems] == fields
    assert info.value.resource is not None

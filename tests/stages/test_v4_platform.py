"""Stage v4-platform planned offline with the shipped example stacks: what would be applied."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from helpers.plans import example_values, plan_values
from looper_infra.components.k8s.observability_settings import (
    ObservabilitySettings,
    PrometheusSettings,
    SmtpRelay,
)
from looper_infra.config import validate_mapping
from looper_infra.config.v4_observability import ObservabilityConfig
from looper_infra.config.v4_platform import V4PlatformConfig
from looper_infra.engine.fakes.k8s import cluster_outputs
from looper_infra.engine.mocks import SECRET_MASK, MockContext, RecordedResource
from looper_infra.engine.plan import Plan
from looper_infra.facts.charts import CHARTS, IMAGES
from looper_infra.policies.evaluate import evaluate, resources_of
from looper_infra.stages.v4_platform import checked_kubeconfig, observability_settings

RELEASE = "kubernetes:helm.sh/v3:Release"
STS = "kubernetes:apps/v1:StatefulSet"
JOB = "kubernetes:batch/v1:Job"
SECRET = "kubernetes:core/v1:Secret"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SC = "kubernetes:storage.k8s.io/v1:StorageClass"
STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
NAMESPACE = "kubernetes:core/v1:Namespace"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
GPU_TAINT = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest) -> Plan:
    stack = f"v4-platform-{request.param}"
    return plan_values(example_values(stack), stack=stack)


def cluster(plan: Plan) -> dict[str, Any]:
    """The outputs the mocked v4 stack answered with (what the program must have used)."""
    env = plan.stack.rsplit("-", 1)[-1]
    return cluster_outputs(f"organization/looper/v4-{env}", MockContext())


def release(plan: Plan, chart: str) -> RecordedResource:
    (r,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == chart]
    return r


def named(plan: Plan, type_: str, name: str) -> RecordedResource:
    (r,) = [r for r in plan.of_type(type_) if r.inputs["metadata"]["name"] == name]
    return r


def pod_spec(r: RecordedResource) -> dict[str, Any]:
    spec: dict[str, Any] = r.inputs["spec"]["template"]["spec"]
    return spec


def test_every_chart_is_the_pinned_one_installed_atomically(plan: Plan) -> None:
    from looper_infra.facts.observability_charts import CHARTS as OBSERVABILITY_CHARTS

    tables: dict[str, tuple[str, str]] = {c.chart: (c.repo, c.version) for c in CHARTS.values()}
    obs_table = {c.chart: (c.repo, c.version) for c in OBSERVABILITY_CHARTS.values()}
    ours = {r.inputs["chart"] for r in plan.of_type(RELEASE)} - set(obs_table)
    gitops = {"argo-cd"} if plan.stack == "v4-platform-dev" else set()  # dev shows the GitOps mode
    assert ours == {CHARTS["gateway-helm"].chart, CHARTS["gateway-crds-helm"].chart,
                    "aws-ebs-csi-driver", "external-secrets", "gpu-operator",
                    CHARTS["aws-node-termination-handler"].chart, "cluster-autoscaler", "velero",
                    "kubelet-csr-approver", "metrics-server"} | gitops
    for r in plan.of_type(RELEASE):
        repo, version = tables.get(r.inputs["chart"]) or obs_table[r.inputs["chart"]]
        assert (r.inputs.get("repositoryOpts", {}).get("repo", ""), r.inputs["version"]) == (repo, version)
        assert r.inputs["timeout"] >= 300, r.name
        # the one exception: the handler's pods need the token the patch adds before they are ready,
        # so its release does not wait (the patch does: test_termination_handler_...)
        waits = r.inputs["chart"] != CHARTS["aws-node-termination-handler"].chart
        assert r.inputs["atomic"] is waits and r.inputs.get("skipAwait", False) is not waits, r.name
    for r in (release(plan, c) for c in ours):
        assert r.inputs["createNamespace"] is False, r.name  # namespaces are ours, with PSS labels


def test_everything_goes_through_the_cluster_stacks_kubeconfig(plan: Plan) -> None:
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == SECRET_MASK
    assert provider.inputs["enableServerSideApply"] == "true"
    k8s = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert len(k8s) > 40
    assert {r.provider for r in k8s} == {provider.urn}


def test_our_containers_are_hardened(plan: Plan) -> None:
    workloads = plan.of_type(STS) + plan.of_type(JOB)
    assert {r.inputs["metadata"]["name"] for r in plan.of_type(STS)} == {"redis", "chromadb", "kafka"}
    for r in workloads:
        spec = pod_spec(r)
        assert spec["automountServiceAccountToken"] is False, r.name
        assert spec["securityContext"]["runAsNonRoot"] is True, r.name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in spec["containers"]:
            where = f"{r.name}/{c['name']}"
            assert set(c["resources"]["limits"]) == {"cpu", "memory"}, where
            assert set(c["resources"]["requests"]) == {"cpu", "memory"}, where
            ctx = c["securityContext"]
            assert ctx["runAsNonRoot"] is True and ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"] == {"drop": ["ALL"]}, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert c["image"] in IMAGES.values(), where
            if r.type == STS:
                assert c["livenessProbe"] and c["readinessProbe"], where


def test_data_services_keep_their_volumes_and_have_pdbs(plan: Plan) -> None:
    for r in plan.of_type(STS):
        claims = r.inputs["spec"]["volumeClaimTemplates"]
        assert [c["spec"]["storageClassName"] for c in claims] == ["gp3-retain"], r.name
        assert r.inputs["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    pdbs = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in plan.of_type(PDB)
            if not p.name.startswith("apps-")}  # the apps' budgets: tests/stages/test_v4_apps.py
    # + the backups' controller and the kubelet-csr-approver (its chart has no budget of its own)
    assert set(pdbs) == {"redis", "chromadb", "kafka", "snapshot-controller", "kubelet-csr-approver"}
    # one replica each (the approver: one of two): a drain moves the pod (the service is down
    # meanwhile, docs/v4-platform.md) instead of waiting forever; a crash-looping pod never holds a drain
    assert all(p["maxUnavailable"] == 1 and p["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
               for p in pdbs.values())
    # ... and the autoscaler does not take a singleton down just to empty a node
    for r in plan.of_type(STS):
        annotations = r.inputs["spec"]["template"]["metadata"]["annotations"]
        singleton = r.inputs["spec"]["replicas"] == 1
        assert annotations.get("cluster-autoscaler.kubernetes.io/safe-to-evict") == (
            "false" if singleton else None), r.name


def test_kafka_runs_only_on_the_dedicated_node(plan: Plan) -> None:
    spec = pod_spec(named(plan, STS, "kafka"))
    toleration = {"key": "dedicated", "operator": "Equal", "value": "kafka", "effect": "NoSchedule"}
    assert toleration in spec["tolerations"]
    required = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    terms = required["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "dedicated", "operator": "In", "values": ["kafka"]}]}]
    props = kafka_properties(plan)
    assert props["process.roles"] == "broker,controller"
    assert props["auto.create.topics.enable"] == "false"


def kafka_properties(plan: Plan) -> dict[str, str]:
    text = named(plan, "kubernetes:core/v1:ConfigMap", "kafka-config").inputs[
        "data"]["server.properties"]
    return dict(line.split("=", 1) for line in text.splitlines())


def test_prod_kafka_is_three_brokers_over_three_zones_and_dev_one(plan: Plan) -> None:
    sts = named(plan, STS, "kafka").inputs["spec"]
    props = kafka_properties(plan)
    durable = ("default.replication.factor", "min.insync.replicas", "unclean.leader.election.enable",
               "offsets.topic.replication.factor", "transaction.state.log.min.isr")
    if plan.stack.endswith("prod"):
        assert sts["replicas"] == 3
        assert props["controller.quorum.voters"].count("@") == 3
        (spread,) = sts["template"]["spec"]["topologySpreadConstraints"]
        assert [spread[k] for k in ("topologyKey", "whenUnsatisfiable", "maxSkew", "minDomains")] == [
            "topology.kubernetes.io/zone", "DoNotSchedule", 1, 3]
        assert [props[k] for k in durable] == ["3", "2", "false", "3", "2"]
        topics = example_values(plan.stack)["kafka"]["topics"]
        assert all(t["replication_factor"] == 3 and t["min_insync_replicas"] == 2 for t in topics.values())
    else:  # dev: one broker, not durable (documented)
        assert sts["replicas"] == 1 and "topologySpreadConstraints" not in sts["template"]["spec"]
        assert [props[k] for k in durable] == ["1", "1", "false", "1", "1"]
    assert props["listener.security.protocol.map"] == "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"


def test_kafka_credentials_come_from_secrets_manager_through_external_secrets(plan: Plan) -> None:
    from looper_infra.facts.app_contract import KAFKA_CLIENT_KEYS, KAFKA_CLIENT_SECRET

    env = plan.stack.rsplit("-", 1)[-1]
    (secret,) = [r for r in plan.of_type("aws:secretsmanager/secret:Secret") if r.name.startswith("kafka")]
    # under the prefix the cluster's External Secrets role may read, with the cluster's secrets key
    assert secret.inputs["name"] == f"looper/{env}/kafka"
    assert secret.inputs["kmsKeyId"] == f"alias/looper-{env}-secrets"
    (version,) = [r for r in plan.of_type("aws:secretsmanager/secretVersion:SecretVersion")
                  if r.name.startswith("kafka")]
    assert version.inputs["secretString"] == SECRET_MASK
    synced = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["spec"]
              for r in plan.of_type(EXTERNAL_SECRET) if r.name.startswith("kafka-credentials")}
    assert set(synced) == {("looper-data", "kafka-tls"), ("looper-data", "kafka-admin"),
                           ("looper", KAFKA_CLIENT_SECRET)}
    for spec in synced.values():
        assert {d["remoteRef"]["key"] for d in spec["data"]} == {f"looper/{env}/kafka"}
        assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
    keys = {name: [d["secretKey"] for d in spec["data"]] for (_, name), spec in synced.items()}
    assert keys["kafka-tls"] == ["ca.crt", "broker.key", "broker.crt"]  # brokers: no client password
    assert set(KAFKA_CLIENT_KEYS) <= set(keys[KAFKA_CLIENT_SECRET])
    assert not [k for k in keys[KAFKA_CLIENT_SECRET] if k.endswith(".key")]  # the app gets no key
    # no Kubernetes Secret carries Kafka material in the manifests, and no key material in the plan
    assert not [r for r in plan.of_type(SECRET) if "kafka" in r.inputs["metadata"]["name"]]
    assert "PRIVATE KEY" not in json.dumps(plan.to_document())


def test_kafka_broker_certificate_names_every_broker_and_serves_both_sides(plan: Plan) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    cert_of = {r.name: r for r in plan.of_type("tls:index/locallySignedCert:LocallySignedCert")}
    broker = x509.load_pem_x509_certificate(cert_of["kafka-credentials-broker"].state["certPem"].encode())
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"kafka.looper-data.svc", "*.kafka-headless.looper-data.svc"} <= set(
        names.get_values_for_type(x509.DNSName))
    uses = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(uses)
    admin = x509.load_pem_x509_certificate(cert_of["kafka-credentials-admin"].state["certPem"].encode())
    assert list(admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH]
    ca_pem = plan.named("tls:index/selfSignedCert:SelfSignedCert", "kafka-credentials-ca").state["certPem"]
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    assert broker.issuer == admin.issuer == ca.subject


def test_topics_job_creates_every_configured_topic_idempotently(plan: Plan) -> None:
    cfg = example_values(plan.stack)["kafka"]["topics"]
    (job,) = plan.of_type(JOB)
    script = pod_spec(job)["containers"][0]["command"][2]
    for name, t in cfg.items():
        create = (f"--create --if-not-exists --topic {name} --partitions {t['partitions']} "
                  f"--replication-factor {t['replication_factor']} --config retention.ms={t['retention_ms']}")
        assert create in script
        alter = (f"--alter --entity-type topics --entity-name {name} "
                 f"--add-config retention.ms={t['retention_ms']}")
        assert alter in script
    assert script.count("--create") == len(cfg)


def test_gpu_operator_uses_the_host_driver_crio_and_only_gpu_nodes(plan: Plan) -> None:
    values = release(plan, "gpu-operator").inputs["values"]
    assert values["driver"] == {"enabled": False}
    assert "defaultRuntime" not in values["operator"]  # detected from the node since chart v25.3.0
    assert values["toolkit"]["enabled"] is True and values["cdi"]["enabled"] is True
    assert values["dcgmExporter"] == {"enabled": True, "serviceMonitor": {"enabled": True}}
    # operands go where the operator's deploy labels are (GPU nodes only) and tolerate exactly
    # the GPU taint: no wildcard toleration that would also land them on the Kafka node
    ds = values["daemonsets"]
    assert ds["tolerations"] == [GPU_TAINT]
    assert values["node-feature-discovery"]["worker"]["tolerations"] == [GPU_TAINT]
    assert "nodeSelector" not in values["operator"]  # the operator itself runs on workers


def test_secret_store_uses_the_service_account_jwt_and_the_irsa_role(plan: Plan) -> None:
    out = cluster(plan)
    (store,) = plan.of_type(STORE)
    aws = store.inputs["spec"]["provider"]["aws"]
    assert aws["service"] == "SecretsManager" and aws["region"] == "ap-northeast-2"
    assert aws["auth"] == {"jwt": {"serviceAccountRef": {"name": "external-secrets",
                                                         "namespace": "external-secrets"}}}
    assert "role" not in aws  # the role comes from the account's annotation (no role chaining)
    sa = release(plan, "external-secrets").inputs["values"]["serviceAccount"]
    assert sa["name"] == "external-secrets"
    assert sa["annotations"] == {"eks.amazonaws.com/role-arn": out["eso_role_arn"]}
    assert "secretRef" not in json.dumps(store.inputs)  # no static keys
    rds = named(plan, EXTERNAL_SECRET, "rds").inputs
    assert rds["metadata"]["namespace"] == "looper"
    assert {(d["secretKey"], d["remoteRef"]["key"]) for d in rds["spec"]["data"]} == {
        ("username", out["rds_secret_arn"]), ("password", out["rds_secret_arn"])}
    env = plan.stack.rsplit("-", 1)[-1]
    app = named(plan, EXTERNAL_SECRET, "openai").inputs["spec"]
    assert app["dataFrom"] == [{"extract": {"key": f"looper/{env}/openai"}}]


def test_storage_classes_are_encrypted_gp3_bound_at_scheduling(plan: Plan) -> None:
    classes = {r.inputs["metadata"]["name"]: r.inputs for r in plan.of_type(SC)}
    assert set(classes) == {"gp3", "gp3-retain"}
    for name, c in classes.items():
        assert c["provisioner"] == "ebs.csi.aws.com"
        assert c["parameters"]["type"] == "gp3" and c["parameters"]["encrypted"] == "true"
        assert c["volumeBindingMode"] == "WaitForFirstConsumer" and c["allowVolumeExpansion"] is True
        default = c["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]
        assert (name, c["reclaimPolicy"], default) in {("gp3", "Delete", "true"),
                                                       ("gp3-retain", "Retain", "false")}


def test_ebs_csi_controller_assumes_its_irsa_role_with_a_projected_token(plan: Plan) -> None:
    values = release(plan, "aws-ebs-csi-driver").inputs["values"]
    controller = values["controller"]
    role = cluster(plan)["ebs_csi_role_arn"]
    assert controller["serviceAccount"]["name"] == "ebs-csi-controller-sa"  # the role trusts this one
    env = {e["name"]: e["value"] for e in controller["env"]}
    assert env["AWS_ROLE_ARN"] == role
    (volume,) = controller["volumes"]
    (source,) = volume["projected"]["sources"]
    assert source["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    (mount,) = controller["volumeMounts"]
    assert mount["name"] == volume["name"]
    token = source["serviceAccountToken"]["path"]
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == f"{mount['mountPath']}/{token}"
    # the node plugin reads the instance id / zone from IMDS (hop limit 1: host network only)
    assert values["node"]["hostNetwork"] is True


def test_namespaces_enforce_pod_security(plan: Plan) -> None:
    key = "pod-security.kubernetes.io/enforce"
    levels = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"][key]
              for r in plan.of_type(NAMESPACE)}
    assert levels["looper"] == levels["looper-data"] == levels["external-secrets"] == "restricted"
    assert levels["gpu-operator"] == "privileged"  # the toolkit and device plugin need the host


def test_network_policies_deny_by_default_and_allow_what_each_workload_needs(plan: Plan) -> None:
    pols = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["spec"]
            for r in plan.of_type(NETPOL)}
    for ns in ("looper", "looper-data"):
        assert pols[(ns, "default-deny")] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        (dns,) = pols[(ns, "allow-dns")]["egress"]
        assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    rds = pols[("looper", "allow-to-rds")]["egress"][0]
    cidrs = example_values(plan.stack)["network_policies"]["rds_cidrs"]
    assert [t["ipBlock"]["cidr"] for t in rds["to"]] == cidrs
    assert rds["ports"] == [{"protocol": "TCP", "port": 5432}]
    # ingress-nginx is gone; the edge's allow into each app is the apps' own policy
    assert not [k for k in pols if "ingress-nginx" in k[1] or k[0] == "ingress-nginx"]
    otlp = pols[("looper", "allow-otlp")]["egress"][0]
    assert {p["port"] for p in otlp["ports"]} == {4317, 4318}
    scrape = pols[("looper-data", "allow-prometheus-scrape")]["ingress"][0]["from"][0]
    assert scrape["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    for app, port in (("redis", 6379), ("chromadb", 8000), ("kafka", 9092)):
        rule = pols[("looper-data", f"allow-app-to-{app}")]
        assert rule["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": app}}
        assert rule["ingress"][0]["ports"] == [{"protocol": "TCP", "port": port}]
    assert ("looper", "allow-https-egress") not in pols  # nothing configured: no internet egress


def test_edge_on_the_nlb_nodeports_and_no_ingress_nginx_left(plan: Plan) -> None:
    ports = cluster(plan)["ingress_node_ports"]
    (proxy,) = plan.of_type("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")
    kube = proxy.inputs["spec"]["provider"]["kubernetes"]
    svc = kube["envoyService"]
    assert (svc["type"], svc["externalTrafficPolicy"]) == ("NodePort", "Cluster")
    # NLB TLS 443 (decrypted) -> `http` NodePort -> listener 443; NLB TCP 80 -> `redirect` -> listener 80
    assert {p["port"]: p["nodePort"] for p in svc["patch"]["value"]["spec"]["ports"]} == {
        443: ports["http"], 80: ports["redirect"]}
    assert kube["envoyDeployment"]["replicas"] == example_values(plan.stack)["ingress"]["replicas"] >= 2
    assert kube["envoyPDB"] == {"minAvailable": 1}
    ns = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
          for r in plan.of_type("kubernetes:core/v1:Namespace")}
    assert ns["envoy-gateway-system"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert "ingress-nginx" not in ns
    assert not [r.name for r in plan.resources if "ingress-nginx" in json.dumps(r.inputs)
                or "nginx" in r.name]


def test_redis_and_chroma_credentials_are_pulumi_secrets(plan: Plan) -> None:
    secrets = {r.name: r for r in plan.of_type(SECRET)}
    for name in ("redis-auth", "redis-client-secret", "chromadb-auth", "chromadb-client-secret"):
        assert secrets[name].inputs["stringData"] == SECRET_MASK, name
    passwords = {r.name: r.state["result"]
                 for r in plan.of_type("random:index/randomPassword:RandomPassword")}
    # the real values reach the right places: Redis' included auth file, Envoy's token check
    auth = secrets["redis-auth"].state["stringData"]["auth.conf"]
    assert auth == f"requirepass {passwords['redis-password']}\n"
    envoy = json.loads(secrets["chromadb-auth"].state["stringData"]["envoy.json"])
    rbac = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"][
        "http_filters"][0]["typed_config"]["rules"]["policies"]["token"]["permissions"][0]["header"]
    assert rbac == {"name": "x-chroma-token", "string_match": {"exact": passwords["chromadb-token"]}}
    doc = json.dumps([r.inputs for r in plan.resources])
    assert passwords["redis-password"] not in doc and passwords["chromadb-token"] not in doc


def test_chroma_is_reachable_only_through_envoy(plan: Plan) -> None:
    containers = {c["name"]: c for c in pod_spec(named(plan, STS, "chromadb"))["containers"]}
    args = containers["chromadb"]["args"]
    assert args[args.index("--host") + 1] == "127.0.0.1" and args[args.index("--port") + 1] == "8001"
    assert "ports" not in containers["chromadb"]
    assert containers["envoy"]["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]


def test_policy_pack_finds_nothing_mandatory(plan: Plan) -> None:
    found = [v for v in evaluate(resources_of(plan)) if v.level == "mandatory"]
    assert found == []


def test_dev_kafka_is_reported_non_durable_and_prod_is_not(plan: Plan) -> None:
    kafka = sorted(v.policy for v in evaluate(resources_of(plan)) if v.policy.startswith("k8s-kafka-"))
    if plan.stack.endswith("prod"):
        assert kafka == []
    else:  # one broker, and each of the three example topics with one replica
        assert kafka == ["k8s-kafka-brokers-durable"] + ["k8s-kafka-topics-replicated"] * 3


def test_a_cluster_stack_of_another_env_or_region_is_refused() -> None:
    cfg = validate_mapping(example_values("v4-platform-dev"), "test")
    assert isinstance(cfg, V4PlatformConfig)
    assert checked_kubeconfig(cfg, "dev", "ap-northeast-2", "kubeconfig") == "kubeconfig"
    for env, region in (("prod", "ap-northeast-2"), ("dev", "us-east-1")):
        with pytest.raises(ValueError, match="refusing to apply"):
            checked_kubeconfig(cfg, env, region, "kubeconfig")


def test_custom_resources_wait_for_the_secret_store_by_data(plan: Plan) -> None:
    """Every ExternalSecret (ours and Alertmanager's SMTP one) depends on the ClusterSecretStore,
    which depends on the ESO release that installs the CRDs: a first `up` never applies a kind
    the API server does not know yet."""
    (store,) = plan.of_type("kubernetes:external-secrets.io/v1:ClusterSecretStore")
    (eso,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "external-secrets"]
    assert eso.urn in store.dependencies
    externals = plan.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    names = {r.inputs["metadata"]["name"] for r in externals}
    if plan.stack.endswith("prod"):  # prod mails alerts: the SMTP password comes through ESO
        assert "alertmanager-smtp" in names or any("smtp" in n for n in names)
    for r in externals:
        assert store.urn in r.dependencies, r.name
        assert r.inputs["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore",
                                                      "name": store.inputs["metadata"]["name"]}


def test_observability_config_becomes_the_components_settings_unchanged() -> None:
    """Defaults agree on both sides, and every configured value reaches the component."""
    assert observability_settings(ObservabilityConfig()) == ObservabilitySettings()
    values = example_values("v4-platform-prod")["observability"]
    cfg = ObservabilityConfig.model_validate({**values, "loki": {"mode": "simple-scalable", "replicas": 3},
                                              "tempo": {"retention_hours": 48}})
    settings = observability_settings(cfg)
    assert settings.alertmanager.smtp == SmtpRelay(**values["alertmanager"]["smtp"])
    assert settings.prometheus == PrometheusSettings(retention="30d", storage_size="200Gi", replicas=2)
    assert settings.alertmanager.replicas == 3
    assert (settings.loki.mode, settings.loki.replicas) == ("simple-scalable", 3)
    assert settings.tempo_retention_hours == 48


def test_no_disruption_budget_blocks_a_drain(plan: Plan) -> None:
    """Neither our PDBs nor the budgets the charts' values ask for forbid every eviction (a drain
    that never ends blocks scale-in, instance refresh and upgrades)."""
    from looper_infra.policies.k8s import PDB as PDB_TYPE
    from looper_infra.policies.k8s import pdb_allows_eviction

    checked = resources_of(plan)
    budgets = [r for r in checked if r.type in (PDB_TYPE, RELEASE)]
    # redis, chromadb, kafka, the snapshot controller, kubelet-csr-approver and the two example apps
    # (Argo CD's in dev)
    pdbs = 5 if plan.stack == "v4-platform-dev" else 7
    assert sum(r.type == PDB_TYPE for r in budgets) == pdbs and sum(r.type == RELEASE for r in budgets) >= 10
    blocking = {r.name: list(pdb_allows_eviction(r)) for r in budgets}
    assert {name: found for name, found in blocking.items() if found} == {}
    # and the charts that run two replicas of ours let one go at a time
    for chart in (CHARTS["aws-node-termination-handler"].chart, "cluster-autoscaler"):
        assert release(plan, chart).inputs["values"]["podDisruptionBudget"] == {"maxUnavailable": 1}


def test_termination_handler_reads_the_cluster_stacks_queue_and_drain_timeout(plan: Plan) -> None:
    out = cluster(plan)
    nth = release(plan, CHARTS["aws-node-termination-handler"].chart)
    values = nth.inputs["values"]
    assert (nth.inputs["namespace"], values["serviceAccount"]["name"]) == ("kube-system",
                                                                          "aws-node-termination-handler")
    assert values["queueURL"] == out["node_termination_queue_url"]
    assert values["queueURL"].endswith(f"/looper-{out['env']}-node-termination")
    assert values["awsRegion"] == out["region"]
    assert values["nodeTerminationGracePeriod"] == out["node_drain_timeout_seconds"] == 300
    env = {e["name"]: e["value"] for e in values["extraEnv"]}
    assert env["AWS_ROLE_ARN"] == out["node_termination_role_arn"]
    # the release does not wait; the patch that mounts the token does, after the release
    (patch,) = plan.of_type("kubernetes:apps/v1:DeploymentPatch")
    assert nth.urn in patch.dependencies
    assert patch.inputs["metadata"] == {"name": "aws-node-termination-handler", "namespace": "kube-system"}


def test_autoscaler_follows_the_cluster_stacks_name_version_and_groups(plan: Plan) -> None:
    from looper_infra.facts.charts import CLUSTER_AUTOSCALER_IMAGES

    out = cluster(plan)
    ca = release(plan, "cluster-autoscaler")
    values = ca.inputs["values"]
    assert values["autoDiscovery"]["clusterName"] == out["cluster_name"] == f"looper-{out['env']}-k8s"
    minor = ".".join(out["kubernetes_version"].split(".")[:2])
    assert values["image"]["tag"] == CLUSTER_AUTOSCALER_IMAGES[minor]
    assert values["extraEnv"]["AWS_ROLE_ARN"] == out["cluster_autoscaler_role_arn"]
    priorities = named(plan, "kubernetes:core/v1:ConfigMap", "cluster-autoscaler-priority-expander")
    assert priorities.inputs["metadata"]["namespace"] == "kube-system"
    groups = out["node_asg_names"]
    assert priorities.inputs["data"] == {
        "priorities": f"20:\n- ^{groups['workers']}$\n10:\n- ^{groups['gpu']}$\n"}


def test_kubelet_csr_approver_trusts_the_cluster_stacks_node_networks(plan: Plan) -> None:
    from looper_infra.components.k8s.metrics_server import approver_policy

    networks = cluster(plan)["node_networks"]
    values = release(plan, "kubelet-csr-approver").inputs["values"]
    policy = approver_policy(networks)
    assert values["providerRegex"] == policy.provider_regex
    assert values["providerIpPrefixes"] == list(policy.ip_prefixes) == [
        networks["aws"]["cidr"], networks["gcp"]["cidr"]] == ["10.1.0.0/16", "10.0.0.0/20"]
    assert values["bypassDnsResolution"] is True  # the example clusters have a GCP node
    env = cluster(plan)["env"]
    gpu_node = f"looper-{env}-gpu.asia-northeast3-a.c.looper-gpu-{env}.internal"
    assert re.fullmatch(values["providerRegex"], gpu_node)
    assert re.fullmatch(values["providerRegex"], "ip-10-1-32-7.ap-northeast-2.compute.internal")


def test_metrics_server_serves_the_hpas_without_skipping_kubelet_tls(plan: Plan) -> None:
    values = release(plan, "metrics-server").inputs["values"]
    assert not [a for a in (*values["defaultArgs"], *values.get("args", [])) if "insecure" in a]
    assert values["replicas"] == 2 and values["podDisruptionBudget"]["enabled"] is True
    assert values["apiService"]["insecureSkipTLSVerify"] is False
    # HPAs exist to use it: every app's HPA scales on CPU utilisation (dev's apps come through
    # Argo CD, `gitops`: not in the Pulumi plan)
    hpas = plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert bool(hpas) is (plan.stack == "v4-platform-prod")
    for hpa in hpas:
        metrics = hpa.inputs["spec"]["metrics"]
        assert "cpu" in {m["resource"]["name"] for m in metrics if m["type"] == "Resource"}

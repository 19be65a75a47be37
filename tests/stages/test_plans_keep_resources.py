"""Changes replace nothing they don't mean to: every example stack plans the resources it
planned before.

The baselines are each example stack's `looper plan --json` from before issue 13 (the
architecture step) and from before issue 14 (tests/fixtures/plans/*/README.md). A resource that
now lives under another component has another URN; `pulumi up` would delete and recreate it
(a database, a VPN, a cluster) unless it answers to its old URN through an alias. So: every old
resource is found under its old URN or an alias, with the same type, name and inputs, and
nothing is added but the new grouping components (they hold no cloud object and no inputs) --
except what a change alters on purpose, listed in `INTENDED` by resource name.
"""

from __future__ import annotations

import re

import pytest

from helpers.plans import BASELINES, EXAMPLE_STACKS, baseline, example_plan, match, normalize

#: Issue 14 (control-plane DR), on purpose, in the v4 stacks only: control planes become auto
#: scaling groups of one (their instances, template and IP-target attachments go; one launch
#: template and one group per slot come), the API target group takes instance targets (a new
#: group, the listener points at it), the cluster PKI gains an etcd CA (so the control-plane
#: secret changes), the control-plane role gains snapshot, log and join-secret rights, and the
#: snapshot bucket and audit log group are new; the `control_plane_instance_ids` output becomes
#: `control_plane_groups`. Everything else -- VPCs, RDS, VPN, node pools and their user data --
#: must stay as it was.
ISSUE_14: dict[str, re.Pattern[str]] = {
    "v4": re.compile(
        r"control-plane(-\d+)?(-template|-api)?|control-plane-\d+-template|api-lb-(tg|tg-i|listener)"
        r"|cp-secret.*|cp-role.*|cp-bundle|pki-etcd-ca.*|etcd-backups.*|audit-logs.*"
    ),
    # kube-prometheus-stack's values gain node-exporter's textfile collector and the
    # control-plane DR alert rules (an in-place Helm upgrade)
    "v4-platform": re.compile(r"observability-kube-prometheus-stack"),
}
ISSUE_14_OUTPUTS = {"v4": {"control_plane_instance_ids", "control_plane_groups"}}
#: Issue 15 (node lifecycle): the control planes' day-2 bundle gains the dead-Node cleanup (its
#: key is its sha256, which also covers the run's CA hash; control-plane user data names the key),
#: and the cluster stack exports what the platform's node-lifecycle controllers read
#: (facts.v4_contract.NODE_LIFECYCLE_OUTPUTS).
#: lc-aws: the node-lifecycle queue, rules and roles are new; every node group gains a termination
#: hook, tags, refresh checkpoints (workers: ELB health); the app target groups check kube-proxy,
#: whose port opens from the app NLB's group (all in-place updates or additions).
ISSUE_15: dict[str, re.Pattern[str]] = {"v4": re.compile(
    r"cp-bundle|control-plane-\d+-template"
    r"|node-lifecycle.*|(workers|kafka|gpu-workers)-(group|termination-hook)|app-lb-tg-(http|redirect)"
    r"|sg-(worker-in|app-nlb-out)-tcp-10256-.*"
    # every kubelet registers its provider ID (worker, Kafka, GPU templates; the GCP node's
    # user data, which replaces that VM once)
    r"|(worker|kafka|gpu)-lt-template|gcp-gpu-node-vm-instance"),
    # the handler and autoscaler releases are new; the data services' budgets allow a drain
    # and their singletons are marked not safe to evict for the autoscaler
    "v4-platform": re.compile(r"node-termination-.*|autoscaler-.*|(redis|chromadb|kafka)-(pdb|statefulset)")}
ISSUE_15_OUTPUTS = {"v4": {"cluster_name", "kubernetes_version", "node_termination_queue_url",
                           "node_termination_role_arn", "cluster_autoscaler_role_arn",
                           "node_drain_timeout_seconds",
                           "node_kubernetes_version"}}
#: Issues 18 (hardening) and 19 (pins), in place:
#: every node installs crictl (all launch templates and the GCP node's user data); the first
#: control plane applies Calico's CRDs, operator and Installation at every boot from its day-2
#: bundle (new script and retry timer in the bundle, whose sha256 the templates name).
#: Secrets Manager secrets move to their own customer-managed key (an in-place re-encryption; the
#: roles that read them may decrypt it through Secrets Manager only); External Secrets may read
#: the RDS-managed secret; the GCP node admits Prometheus' scrapes (node-exporter, kube-proxy).
#: v4-platform: security bumps (redis 8.2.8, envoy v1.36.10), current OpenTelemetry exporter
#: names, gpu-operator's dead `operator.defaultRuntime` key dropped (in-place Helm upgrades).
ISSUE_18: dict[str, re.Pattern[str]] = {
    "v4": re.compile(r"cp-bundle|control-plane-\d+-template|(worker|kafka|gpu)-lt-template"
                     r"|gcp-gpu-node-vm-instance"
                     r"|secrets-key(-alias)?|eso-role-rds-secret|gcp-firewall-allow-aws-metrics"
                     r"|(cp|join|openvpn)-secret-secret|(cp|worker|openvpn|eso)-role-policy"
                     # the OpenVPN server's secret carries its CRL; its user data the revoked
                     # count (a changed count replaces the server, which then reads the new CRL)
                     r"|openvpn-secret-version|openvpn-instance"),
    "v4-platform": re.compile(r"(redis|chromadb)-statefulset|gpu-release"
                              r"|observability-opentelemetry-collector"),
}
ISSUE_18_OUTPUTS: dict[str, set[str]] = {"v4": {"vpn_crl_pem"}}
#: Issue 16 (data that survives): v3's DB VM may only create backup objects (its binding
#: changes role; the bucket gains a retention policy, soft delete, no versioning; the VM's user
#: data the create-only upload; prod operators may read for restores). v4-prod grows the Kafka
#: node group to one per AZ (two new groups; the lifecycle rule and handler list them).
#: v4-platform: Velero (bucket, key, IRSA role, schedules), the CSI snapshot controller and
#: class; the EBS CSI driver tags volumes with the cluster; Kafka's brokers, Service, Job and
#: policies change for SASL/TLS and three brokers, with new credentials and config.
ISSUE_16: dict[str, re.Pattern[str]] = {
    "v3": re.compile(r"backups-(bucket|writer|reader-group-.*)|db-instance"),
    "v4": re.compile(r"kafka-[a-z]+-[a-z]+-[0-9][a-z]-(group|termination-hook|lt-template)"
                     r"|node-lifecycle-(asg-terminate|handler-role-policy)"),
    "v4-platform": re.compile(r"velero-.*|snapshots-.*|storage-ebs-csi"
                              r"|kafka-(statefulset|topics|headless|service|config|credentials-.*)"
                              r"|netpol-looper-data-allow-(kafka-.*|topics-job-to-kafka)"),
}
ISSUE_16_OUTPUTS: dict[str, set[str]] = {"v4": {"node_asg_names"}, "v4-platform": {"backup_bucket"}}
#: Issue 17 (apps on v4): the Looper apps (Deployments, HPAs, PDBs, Services, service accounts,
#: ExternalSecrets, NetworkPolicies) are new; Envoy Gateway replaces ingress-nginx (its release,
#: namespace and policy go, the Gateway, routes, controller, CRDs and policies come; Grafana's
#: allow names the edge's namespace); the namespace-wide app egress allows stop covering app pods.
#: Kubelet serving certificates from the cluster CA (so metrics-server verifies the kubelets and the
#: HPAs scale): the kubeadm KubeletConfiguration says `serverTLSBootstrap: true`. It travels in the
#: control planes' day-2 bundle (kubeadm-init.yaml), whose sha256 the control-plane templates name
#: (a new template version only: the control-plane groups have no instance refresh, running control
#: planes stay; docs/runbooks/kubelet-serving-certs.md). Worker templates do not change (joining
#: nodes read ConfigMap kubelet-config). The cluster stack exports `node_networks` for the approver.
#: v4-platform: kubelet-csr-approver (release, budget) and metrics-server (release) are new.
ISSUE_17: dict[str, re.Pattern[str]] = {
    "v4": re.compile(r"cp-bundle|control-plane-\d+-template"),
    "v4-platform": re.compile(r"apps-.*|edge-.*|ns-envoy-gateway-system|ingress(-release)?|ns-ingress-nginx"
                              r"|netpol-looper-allow-(from-ingress-nginx|to-data-services|to-rds)"
                              r"|observability-netpol-allow-grafana-from-ingress"
                              # v4-platform-dev shows the GitOps mode: Argo CD and its Application
                              # are added, and Argo CD (not Pulumi) applies the apps-* objects
                              r"|gitops-.*"
                              r"|kubelet-csr-approver-(release|pdb)|metrics-server-release"),
}
ISSUE_17_OUTPUTS: dict[str, set[str]] = {"v4": {"node_networks"},
                                         "v4-platform": {"argocd_application", "argocd_admin_password"}}
#: baseline folder -> the issues since it (their intended changes add up)
_NOW = (ISSUE_16, ISSUE_17)
_NOW_OUTPUTS = (ISSUE_16_OUTPUTS, ISSUE_17_OUTPUTS)
SINCE = {"before-issue-13": (ISSUE_14, ISSUE_15, ISSUE_18, *_NOW),
         "before-issue-14": (ISSUE_14, ISSUE_15, ISSUE_18, *_NOW),
         "before-issue-15": (ISSUE_15, ISSUE_18, *_NOW), "before-issue-18": (ISSUE_18, *_NOW),
         "before-issue-16": _NOW}
SINCE_OUTPUTS = {"before-issue-13": (ISSUE_14_OUTPUTS, ISSUE_15_OUTPUTS, ISSUE_18_OUTPUTS, *_NOW_OUTPUTS),
                 "before-issue-14": (ISSUE_14_OUTPUTS, ISSUE_15_OUTPUTS, ISSUE_18_OUTPUTS, *_NOW_OUTPUTS),
                 "before-issue-15": (ISSUE_15_OUTPUTS, ISSUE_18_OUTPUTS, *_NOW_OUTPUTS),
                 "before-issue-18": (ISSUE_18_OUTPUTS, *_NOW_OUTPUTS), "before-issue-16": _NOW_OUTPUTS}


def _intended(stack: str, folder: str) -> tuple[re.Pattern[str] | None, set[str]]:
    stage = stack.rsplit("-", 1)[0]
    patterns = [issue[stage].pattern for issue in SINCE[folder] if stage in issue]
    outputs = {o for issue in SINCE_OUTPUTS[folder] for o in issue.get(stage, set())}
    return (re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None), outputs


@pytest.mark.parametrize("folder", BASELINES)
@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_same_resources_same_inputs(stack: str, folder: str) -> None:
    old, old_outputs = baseline(stack, folder)
    plan = example_plan(stack)
    pattern, outputs = _intended(stack, folder)

    def meant(urn: str) -> bool:
        return pattern is not None and pattern.fullmatch(urn.rsplit("::", 1)[-1]) is not None

    m = match(old, plan)
    lost = [urn for urn in m.lost if not meant(urn)]
    assert not lost, f"{stack}: resources that would be deleted (no alias to the old URN): {lost}"
    assert not m.ambiguous, f"{stack}: old URNs claimed by several resources: {m.ambiguous}"
    current = {r.urn: r for r in plan.resources}
    added = [urn for urn in m.new if (current[urn].custom or current[urn].inputs) and not meant(urn)]
    assert not added, f"{stack}: resources the baseline does not have: {added}"
    for old_urn, new_urn in m.found.items():
        before, now = old[old_urn], current[new_urn]
        assert (now.type, now.name) == (before.type, before.name), old_urn
        if not meant(new_urn):
            assert normalize(now.inputs) == normalize(dict(before.inputs)), f"{stack}: {old_urn} inputs"

    def kept(values: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in values.items() if k not in outputs}

    assert normalize(kept(plan.outputs)) == normalize(kept(old_outputs)), f"{stack}: stack outputs changed"


def test_intended_changes_stay_narrow() -> None:
    """The exemption covers the control plane's parts, never a node pool, VPC or database."""
    pattern = ISSUE_14["v4"]
    for name in ("control-plane-0", "control-plane-2-template", "api-lb-tg", "cp-role-policy",
                 "etcd-backups-bucket", "audit-logs-group"):
        assert pattern.fullmatch(name), name
    for name in ("workers", "workers-template", "kafka-0", "db", "vpc-private-0", "api-lb-nlb",
                 "openvpn", "gpu-0", "sg-control-plane", "irsa-bucket"):
        assert not pattern.fullmatch(name), name


@pytest.mark.parametrize("folder", BASELINES)
@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_moved_resources_carry_aliases(stack: str, folder: str) -> None:
    """Every URN that changed is reachable through the plan's own alias list (the engine's rule)."""
    old, _ = baseline(stack, folder)
    plan = example_plan(stack)
    aliases = plan.aliases()
    moved = {o: n for o, n in match(old, plan).found.items() if o != n}
    for old_urn, new_urn in moved.items():
        assert old_urn in aliases[new_urn], (old_urn, new_urn)
    document = {r["urn"]: r for r in plan.to_document()["resources"]}
    assert all(old_urn in document[new_urn]["aliases"] for old_urn, new_urn in moved.items())


def test_normalize_masks_only_key_material() -> None:
    """Two runs differ only in keys and certificates; the program's own values are compared."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    assert normalize({"a": [pem, "sha256:" + "ab" * 32]}) == {"a": ["<CERTIFICATE>\n", "sha256:<hash>"]}
    assert normalize("port 6443") == "port 6443"
    assert normalize('{"kid": "abc_-1", "e": "AQAB"}') == '{"kid": "<jwk>", "e": "AQAB"}'

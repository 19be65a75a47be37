"""Calico: the Installation (VXLAN, pod CIDR, explicit MTU), the pinned manifests, and
``looper-k8s-calico`` run in bash against a fake cluster: fake ``kubectl`` and ``curl`` (small
scripts that keep what was applied in files and record their argv). The first control plane's
setup runs it at every boot: a run that fails leaves it pending and the next run (the retry
timer's or the next boot's) applies it, without running ``kubeadm init`` again."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.k8s_node import (
    CONTROL_PLANE,
    GOLDEN_DIR,
    SPECS,
    docs,
    script,
    shell_function,
)
from helpers.tools import assert_matches_golden, assert_shellcheck_clean, require_tool
from looper_infra.bootstrap import k8s_versions
from looper_infra.bootstrap.k8s_node import (
    K8S_SETUP_SCRIPT_PATH,
    K8sNodeBootstrap,
    calico,
    k8s_node_files,
    render_k8s_calico_manifests,
)
from looper_infra.bootstrap.k8s_node.bundle import bundle_files
from looper_infra.bootstrap.k8s_node.calico import (
    CALICO_INSTALLATION_PATH,
    CALICO_SERVICE,
    calico_files,
    render_k8s_calico_script,
)
from looper_infra.bootstrap.k8s_node.layout import CALICO_PENDING, CALICO_TIMER, K8S_CALICO_SCRIPT_PATH

INIT, JOIN = SPECS["k8s_control_plane_init"], SPECS["k8s_control_plane_join"]
UNIT_DIR = "/etc/systemd/system"


def test_calico_installation() -> None:
    spec = SPECS["k8s_control_plane_init"]
    installation = docs(render_k8s_calico_manifests(spec))["Installation"]
    assert installation["apiVersion"] == "operator.tigera.io/v1"
    assert installation["metadata"]["name"] == "default"
    network = installation["spec"]["calicoNetwork"]
    assert network["mtu"] == 1350 and network["bgp"] == "Disabled"
    assert network["ipPools"] == [{
        "name": "default-ipv4-ippool", "cidr": "192.168.0.0/16", "blockSize": 26,
        "encapsulation": "VXLAN", "natOutgoing": "Enabled", "nodeSelector": "all()"}]
    other = K8sNodeBootstrap(**{**CONTROL_PLANE, "calico_mtu": 1400, "pod_cidr": "172.20.0.0/16"},
                             init_node=True)
    network = docs(render_k8s_calico_manifests(other))["Installation"]["spec"]["calicoNetwork"]
    assert network["mtu"] == 1400 and network["ipPools"][0]["cidr"] == "172.20.0.0/16"


# --- pins, bundle, units ----------------------------------------------------------------------


def test_both_manifests_are_pinned_by_url_and_sha256_of_one_release() -> None:
    version = k8s_versions.CALICO_VERSION
    base = f"https://raw.githubusercontent.com/projectcalico/calico/{version}/manifests/"
    assert base + "operator-crds.yaml" == k8s_versions.CALICO_CRDS_MANIFEST_URL
    assert base + "tigera-operator.yaml" == k8s_versions.CALICO_OPERATOR_MANIFEST_URL
    # sha256 of the files at tag v3.32.1 (git blobs 7cb3ee93... and 383bacf5...)
    assert k8s_versions.CALICO_CRDS_MANIFEST_SHA256 == \
        "192f8b2d934ef24b62e86b7e1a6e1762d1c8af26a916f78057bc13fa5ed60f71"
    assert k8s_versions.CALICO_OPERATOR_MANIFEST_SHA256 == \
        "f18e073794207d372606bc3ea6f8fd73972f86d6828f4ba666dfe0d4aa8ab07f"
    text = render_k8s_calico_script(JOIN)
    for name, value in {
        "CRDS_URL": k8s_versions.CALICO_CRDS_MANIFEST_URL,
        "CRDS_SHA256": k8s_versions.CALICO_CRDS_MANIFEST_SHA256,
        "OPERATOR_URL": k8s_versions.CALICO_OPERATOR_MANIFEST_URL,
        "OPERATOR_SHA256": k8s_versions.CALICO_OPERATOR_MANIFEST_SHA256,
    }.items():
        assert f"readonly {name}={value}\n" in text
    assert f"Calico through the Tigera operator, {version}." in text


def test_calico_travels_in_the_bundle_and_only_the_init_node_runs_it() -> None:
    bundle = bundle_files(JOIN)
    assert {p: bundle[p].mode for p in calico_files(JOIN)} == {
        CALICO_INSTALLATION_PATH: "0644", K8S_CALICO_SCRIPT_PATH: "0755",
        f"{UNIT_DIR}/{CALICO_SERVICE}": "0644", f"{UNIT_DIR}/{CALICO_TIMER}": "0644"}
    for spec in (INIT, JOIN):
        assert not set(calico_files(spec)) & set(k8s_node_files(spec))  # no user data
    init = k8s_node_files(INIT)[K8S_SETUP_SCRIPT_PATH]
    setup = init[init.index("\nsetup() {"):]
    # at every boot (after the joined-or-not branch), the retry timer enabled before the apply,
    # the node's readiness after it
    assert setup.index("bring_up\n  fi\n") < setup.index("systemctl enable --now looper-etcd") \
        < setup.index(f"{CALICO_TIMER}\n") < setup.index(f"  {K8S_CALICO_SCRIPT_PATH} apply\n") \
        < setup.index("wait_node_ready") < setup.index("k8s ready")
    assert "looper-k8s-calico" not in k8s_node_files(JOIN)[K8S_SETUP_SCRIPT_PATH]
    assert "looper-k8s-calico" not in script("k8s_worker")


def test_retry_units_rerun_the_setup_while_calico_is_pending(tmp_path: Path) -> None:
    files = calico_files(INIT)
    service = files[f"{UNIT_DIR}/{CALICO_SERVICE}"].content
    timer = files[f"{UNIT_DIR}/{CALICO_TIMER}"].content
    assert f"ConditionPathExists={CALICO_PENDING}\n" in service
    assert "ExecStart=/usr/bin/systemctl start looper-k8s-node.service\n" in service
    assert "OnCalendar=*:0/5\n" in timer and "WantedBy=timers.target" in timer
    assert_matches_golden(service, GOLDEN_DIR / f"k8s_calico_{CALICO_SERVICE}")
    assert_matches_golden(timer, GOLDEN_DIR / f"k8s_calico_{CALICO_TIMER}")
    systemctl = tmp_path / "systemctl"
    systemctl.write_text("#!/bin/sh\n")
    systemctl.chmod(0o755)
    (tmp_path / CALICO_SERVICE).write_text(service.replace("/usr/bin/systemctl", str(systemctl)))
    (tmp_path / CALICO_TIMER).write_text(timer)
    proc = subprocess.run([require_tool("systemd-analyze"), "verify", "--man=no", CALICO_SERVICE,
                           CALICO_TIMER], capture_output=True, text=True, timeout=60, check=False,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "looper-k8s-calico" not in proc.stderr, proc.stderr


def test_script_golden_and_shellcheck(tmp_path: Path) -> None:
    text = render_k8s_calico_script(JOIN)
    assert text == bundle_files(JOIN)[K8S_CALICO_SCRIPT_PATH].content
    assert_matches_golden(text, GOLDEN_DIR / "k8s_calico_looper-k8s-calico")
    path = tmp_path / "looper-k8s-calico"
    path.write_text(text)
    assert_shellcheck_clean(path)
    with pytest.raises(ValueError, match="control planes only"):
        render_k8s_calico_script(SPECS["k8s_worker"])


# --- looper-k8s-calico in bash against a fake cluster --------------------------------------------

FAKE = f"""#!{sys.executable}
import os, shutil, sys
d = os.environ["FAKE_DIR"]
name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
names = dict(line.split(" ", 1) for line in open(os.path.join(d, "names")).read().splitlines())
def short(word):
    return names.get(os.path.basename(word), word)
with open(os.path.join(d, "calls"), "a") as log:
    log.write(name + " " + " ".join(short(a) for a in args) + "\\n")
applied = os.path.join(d, "applied")
if name == "curl":
    source = os.path.join(d, "server", os.path.basename(args[-1]))
    shutil.copy(source, args[args.index("--output") + 1])
elif name == "kubectl" and "apply" in args:
    fail = os.path.join(d, "fail-apply")
    if os.path.exists(fail):  # one failure (a webhook timeout, an API restart)
        os.remove(fail)
        sys.exit("error: Internal error occurred: failed calling webhook")
    with open(applied, "a") as out:
        out.write(short(args[args.index("--filename") + 1]) + "\\n")
elif name == "kubectl" and "get" in args:  # the Calico version calico-node reports, if any
    running = os.path.join(d, "running-version")
    if os.path.exists(running) and "crd" in args:
        print("customresourcedefinition.apiextensions.k8s.io/clusterinformations.crd.projectcalico.org")
    elif os.path.exists(running):
        print(open(running).read(), end="")
elif name == "kubectl" and "wait" in args:
    done = open(applied).read().split() if os.path.exists(applied) else []
    if "--for=condition=Established" in args:
        sys.exit(0 if "operator-crds.yaml" in done else 1)
    if "tigerastatus/calico" in args:
        sys.exit(0 if "tigera-operator.yaml" in done and "installation.yaml" in done else 1)
    sys.exit(1)
elif name == "kubeadm":
    open(os.path.join(d, "kubelet.conf"), "w").write("{{}}")
"""
CRDS = b"# operator-crds.yaml of the fake release\nkind: CustomResourceDefinition\n"
OPERATOR = b"# tigera-operator.yaml of the fake release\nkind: Deployment\n"


class Node:
    """The first control plane, its files under ``root``, its cluster faked."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, *, served: bytes = CRDS) -> None:
        self.root = root
        (root / "bin").mkdir()
        for tool in ("kubectl", "curl", "kubeadm", "systemctl"):
            (root / "bin" / tool).write_text(FAKE)
            (root / "bin" / tool).chmod(0o755)
        (root / "server").mkdir()
        (root / "server" / "operator-crds.yaml").write_bytes(served)
        (root / "server" / "tigera-operator.yaml").write_bytes(OPERATOR)
        crds, operator = (hashlib.sha256(b).hexdigest() for b in (CRDS, OPERATOR))
        (root / "names").write_text(f"{crds}.yaml operator-crds.yaml\n{operator}.yaml tigera-operator.yaml\n"
                                    "admin.conf admin.conf\ninstallation.yaml installation.yaml\n")
        (root / "installation.yaml").write_text(render_k8s_calico_manifests(INIT))
        # the same template, pinned to the fake release's files
        monkeypatch.setattr(calico, "CALICO_PINS", {
            "version": "v0.0.0-fake", "crds_url": "https://example.invalid/v0/operator-crds.yaml",
            "crds_sha256": crds, "operator_url": "https://example.invalid/v0/tigera-operator.yaml",
            "operator_sha256": operator})
        self.calico = root / "looper-k8s-calico"
        self.calico.write_text(render_k8s_calico_script(INIT))
        self.env = {**os.environ, "FAKE_DIR": str(root), "PATH": f"{root / 'bin'}:{os.environ['PATH']}",
                    "LOOPER_K8S_ETC": str(root), "LOOPER_K8S_STATE_DIR": str(root / "state"),
                    "LOOPER_CALICO_PENDING": str(root / "run" / "calico.pending"),
                    "LOOPER_CALICO_INSTALLATION": str(root / "installation.yaml"),
                    "LOOPER_CALICO_ATTEMPTS": "1", "LOOPER_CALICO_INTERVAL": "0"}

    def apply(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([require_tool("bash"), str(self.calico), "apply"], capture_output=True,
                              text=True, env=self.env, timeout=60, check=False)

    def boot(self) -> subprocess.CompletedProcess[str]:
        """The setup's own flow (setup() as rendered for the init node) with the steps before
        and around it stubbed: `kubeadm init` when kubelet.conf is absent, then the real
        looper-k8s-calico, then readiness."""
        text = script("k8s_control_plane_init")
        setup = shell_function(text, "setup").replace("/etc/kubernetes/kubelet.conf",
                                                      str(self.root / "kubelet.conf"))
        body = "\n".join([
            "set -euo pipefail", "log() { printf 'looper: %s\\n' \"$*\"; }",
            "fail() { log \"k8s FAILED: $*\"; exit 1; }",
            "ROLE=control-plane API_ENDPOINT=api:6443 KUBERNETES_VERSION=1.36.5 NODE_NAME=''",
            "KUBERNETES_APT_URL=k CRIO_APT_URL=c CRIO_APT_VERSION=c KUBERNETES_APT_VERSION=k CRICTL_SHA256=s",
            f"STATE_DIR={self.root / 'state'} UPGRADE_SCRIPT=true",
            f"mkdir -p {self.root / 'state'}",
            "check_os() { :; }", "step() { :; }", "prepare_host() { :; }", "install_bundle() { :; }",
            "fetch_identity() { NODE_NAME=cp-a; }", "fetch_control_plane_secrets() { :; }",
            "bring_up() { kubeadm init --config kubeadm-init.yaml; }", "wait_node_ready() { :; }",
            f'{K8S_CALICO_SCRIPT_PATH}() {{ bash {self.calico} "$@"; }}',
            setup, "setup",
        ])
        return subprocess.run([require_tool("bash"), "-c", body], capture_output=True, text=True,
                              env=self.env, timeout=60, check=False)

    def calls(self, tool: str | None = None) -> list[str]:
        path = self.root / "calls"
        lines = path.read_text().splitlines() if path.exists() else []
        return [line for line in lines if tool is None or line.startswith(tool + " ")]

    def pending(self) -> bool:
        return (self.root / "run" / "calico.pending").exists()

    def clear(self) -> None:
        (self.root / "calls").unlink(missing_ok=True)


KUBECTL = "kubectl --kubeconfig admin.conf "
RUNNING = KUBECTL + "get crd clusterinformations.crd.projectcalico.org --ignore-not-found --output name"
IN_ORDER = [
    RUNNING,
    KUBECTL + "apply --server-side --force-conflicts --filename operator-crds.yaml",
    KUBECTL + "wait --for=condition=Established --timeout=60s --filename operator-crds.yaml",
    KUBECTL + "apply --server-side --force-conflicts --filename tigera-operator.yaml",
    KUBECTL + "apply --server-side --force-conflicts --filename installation.yaml",
    KUBECTL + "wait --for=condition=Available --timeout=10s tigerastatus/calico",
]


def test_crds_then_operator_then_installation_then_calico_available(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    node = Node(tmp_path, monkeypatch)
    proc = node.apply()
    assert proc.returncode == 0, proc.stderr
    assert node.calls("kubectl") == IN_ORDER
    assert [c.split()[-1] for c in node.calls("curl")] == [
        "https://example.invalid/v0/operator-crds.yaml", "https://example.invalid/v0/tigera-operator.yaml"]
    assert "Calico is Available" in proc.stderr and not node.pending()
    # a later run (the next boot) applies everything again, server-side, from the verified cache
    node.clear()
    assert node.apply().returncode == 0
    assert node.calls("kubectl") == IN_ORDER and node.calls("curl") == []


@pytest.mark.parametrize(("running", "applied"), [
    ("v0.0.0-fake", True), ("v0.0.0-alpha", True), ("", True), ("v0.0.1", False), ("v3.99.0", False)])
def test_a_newer_calico_on_the_cluster_is_not_downgraded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, running: str, applied: bool) -> None:
    node = Node(tmp_path, monkeypatch)
    (tmp_path / "applied").write_text("tigera-operator.yaml\ninstallation.yaml\n")  # Calico runs
    (tmp_path / "running-version").write_text(running)
    proc = node.apply()
    assert proc.returncode == 0, proc.stderr
    kubectl = node.calls("kubectl")
    assert kubectl[:2] == [RUNNING, KUBECTL + "get clusterinformations.crd.projectcalico.org default "
                           "--ignore-not-found --output jsonpath={.spec.calicoVersion}"]
    assert any(" apply " in c for c in kubectl) is applied
    assert ("not downgrading" in proc.stderr) is not applied
    assert kubectl[-1] == IN_ORDER[-1] and not node.pending()


def test_a_manifest_with_another_sha256_is_refused_and_nothing_applied(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = Node(tmp_path, monkeypatch, served=CRDS + b"# tampered\n")
    proc = node.apply()
    assert proc.returncode == 1
    assert re.search(r"FAILED: https://example.invalid/v0/operator-crds.yaml has sha256 [0-9a-f]{64}, "
                     rf"expected {hashlib.sha256(CRDS).hexdigest()}", proc.stderr)
    assert node.calls("kubectl") == [RUNNING] and node.pending()  # only the version asked
    assert not list((tmp_path / "state" / "calico").iterdir())  # no partial file kept


def test_calico_not_available_fails_the_run_and_stays_pending(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    node = Node(tmp_path, monkeypatch)
    (tmp_path / "installation.yaml").rename(tmp_path / "other.yaml")  # tigerastatus never Available
    (tmp_path / "names").write_text((tmp_path / "names").read_text() + "other.yaml other.yaml\n")
    node.env["LOOPER_CALICO_INSTALLATION"] = str(tmp_path / "other.yaml")
    proc = node.apply()
    assert proc.returncode == 1 and node.pending()
    assert "FAILED: tigerastatus/calico is not Available" in proc.stderr


def test_a_failed_first_apply_heals_on_the_next_run_without_a_second_init(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = Node(tmp_path, monkeypatch)
    (tmp_path / "fail-apply").write_text("")
    # first boot: kubeadm init, then the apply fails (its retries exhausted): setup fails, Calico
    # stays pending, the retry timer is already enabled; no readiness reported
    first = node.boot()
    assert first.returncode != 0
    assert node.calls("kubeadm") == ["kubeadm init --config kubeadm-init.yaml"]
    [enable] = node.calls("systemctl")
    assert enable.startswith("systemctl enable --now ") and enable.endswith(f" {CALICO_TIMER}")
    assert node.calls("kubectl") == IN_ORDER[:2]  # the CRDs' apply failed: nothing after it
    assert node.pending() and "k8s ready" not in first.stdout
    assert "giving up after 1 tries: server_side_apply" in first.stderr
    # the retry (timer) or the next boot: kubelet.conf exists, no init; Calico applied in order
    node.clear()
    second = node.boot()
    assert second.returncode == 0, second.stdout + second.stderr
    assert node.calls("kubeadm") == []
    assert node.calls("systemctl")[0] == "systemctl start crio.service kubelet.service"
    assert node.calls("kubectl") == IN_ORDER
    assert not node.pending()
    assert "looper: k8s ready: control-plane cp-a is Ready" in second.stdout
    # every later boot applies it all again, harmlessly (server-side), and never inits again
    node.clear()
    third = node.boot()
    assert third.returncode == 0 and "k8s ready" in third.stdout
    assert node.calls("kubeadm") == [] and node.calls("kubectl") == IN_ORDER
    assert (tmp_path / "applied").read_text().split() == [
        "operator-crds.yaml", "tigera-operator.yaml", "installation.yaml"] * 2

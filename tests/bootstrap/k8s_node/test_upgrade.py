"""``looper-k8s-upgrade``: a replacement control plane of a newer release joins at the cluster's
release and upgrades the cluster once. The rendered script runs in bash with fake ``kubectl``,
``kubeadm``, ``apt-get``, ``apt-mark`` and ``systemctl`` (small scripts that keep the cluster's
version and the lease in files and record their argv); two nodes share one fake cluster."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.k8s_node import SPECS, script
from helpers.k8s_releases import with_fake_releases
from helpers.tools import assert_shellcheck_clean
from looper_infra.bootstrap import k8s_versions
from looper_infra.bootstrap.k8s_node import K8sNodeBootstrap
from looper_infra.bootstrap.k8s_node.bundle import bundle_files
from looper_infra.bootstrap.k8s_node.layout import K8S_UPGRADE_SCRIPT_PATH
from looper_infra.bootstrap.k8s_node.upgrade import UPGRADE_LEASE, render_k8s_upgrade_script

TOKEN = "abcdef.0123456789abcdef"

FAKE = f"""#!{sys.executable}
import json, os, sys
d = os.environ["FAKE_DIR"]
name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.path.join(d, "calls"), "a") as log:
    log.write(os.environ["NODE"] + " " + name + " " + " ".join(args) + "\\n")
version, lease = os.path.join(d, "cluster-version"), os.path.join(d, "lease")
if name == "kubectl":
    kubeconfig = args[args.index("--kubeconfig") + 1]
    if kubeconfig.endswith("bootstrap.kubeconfig"):  # the token is in a private file only
        mode = os.stat(kubeconfig).st_mode & 0o777
        assert mode == 0o600, oct(mode)
        assert json.load(open(kubeconfig))["users"][0]["user"]["token"] == "{TOKEN}"
    if "configmap" in args:
        print("apiVersion: kubeadm.k8s.io/v1beta4\\nkind: ClusterConfiguration\\n"
              "kubernetesVersion: v" + open(version).read().strip() + "\\nclusterName: looper-dev")
    elif "create" in args:
        if os.path.exists(lease):
            sys.exit("Error from server (AlreadyExists): leases \\"x\\" already exists")
        open(lease, "w").write(json.load(sys.stdin)["spec"]["holderIdentity"])
    elif args[-3:-1] == ["get", "lease"] or "lease" in args and "get" in args:
        if not os.path.exists(lease):
            sys.exit(1)
        print(open(lease).read(), end="")
    elif "delete" in args:
        os.remove(lease)
    elif "node" in args:
        sys.exit(0 if args[args.index("node") + 1] in open(os.path.join(d, "nodes")).read().split() else 1)
elif name == "kubeadm" and args[:2] == ["upgrade", "apply"]:
    open(version, "w").write(args[2].lstrip("v"))
"""


class Cluster:
    """A fake cluster (version, lease, live nodes) shared by control planes booting from a spec."""

    def __init__(self, root: Path, version: str) -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        for name in ("kubectl", "kubeadm", "apt-get", "apt-mark", "systemctl"):
            (self.bin / name).write_text(FAKE)
            (self.bin / name).chmod(0o755)
        (root / "cluster-version").write_text(version)
        (root / "nodes").write_text("cp-a\ncp-b\n")
        (root / "etc" / "pki").mkdir(parents=True)
        (root / "etc" / "admin.conf").write_text("{}")
        (root / "sources").mkdir()
        (root / "join.json").write_text(json.dumps({"token": TOKEN}))

    def run(self, spec: K8sNodeBootstrap, node: str, *argv: str) -> subprocess.CompletedProcess[str]:
        path = self.root / f"looper-k8s-upgrade-{spec.kubernetes_version}"
        path.write_text(render_k8s_upgrade_script(spec))
        env = {**os.environ, "FAKE_DIR": str(self.root), "NODE": node,
               "PATH": f"{self.bin}:{os.environ['PATH']}",
               "LOOPER_K8S_STATE_DIR": str(self.root / node / "state"),
               "LOOPER_K8S_ETC": str(self.root / "etc"),
               "LOOPER_KUBEADM_LOG": str(self.root / node / "kubeadm.log"),
               "LOOPER_APT_SOURCES_DIR": str(self.root / "sources"),
               "LOOPER_KEYRING_DIR": "/etc/apt/keyrings",
               "LOOPER_UPGRADE_LOCK_ATTEMPTS": "2", "LOOPER_UPGRADE_LOCK_INTERVAL": "0"}
        return subprocess.run(["bash", str(path), *argv], capture_output=True, text=True, env=env, timeout=60,
                              check=False)

    def join(self, spec: K8sNodeBootstrap, node: str) -> subprocess.CompletedProcess[str]:
        return self.run(spec, node, "pre-join", str(self.root / "join.json"))

    def calls(self, node: str | None = None) -> list[str]:
        path = self.root / "calls"
        lines = path.read_text().splitlines() if path.exists() else []
        return [line.split(" ", 1)[1] for line in lines if node is None or line.startswith(node + " ")]

    def version(self) -> str:
        return (self.root / "cluster-version").read_text()

    def pending(self, node: str) -> bool:
        return (self.root / node / "state" / "upgrade-pending").exists()


def spec_at(version: str) -> K8sNodeBootstrap:
    return dataclasses.replace(SPECS["k8s_control_plane_join"], kubernetes_version=version)


def test_same_release_joins_without_upgrade(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, "1.36.5")
    spec = spec_at("1.36.5")
    proc = cluster.join(spec, "cp-a")
    assert proc.returncode == 0, proc.stderr
    assert "a plain join" in proc.stderr
    assert cluster.calls() == [
        f"kubectl --kubeconfig {_bootstrap_kubeconfig(cluster)} --namespace kube-system get configmap "
        "kubeadm-config --output jsonpath={.data.ClusterConfiguration}"]
    assert [c.split()[0] for c in cluster.calls()] == ["kubectl"]  # read the version, nothing else
    assert not cluster.pending("cp-a")
    proc = cluster.run(spec, "cp-a", "finish", "cp-a")
    assert proc.returncode == 0, proc.stderr
    assert [c.split()[0] for c in cluster.calls()] == ["kubectl"]  # nothing pending: no upgrade
    for text in (proc.stdout, proc.stderr, "\n".join(cluster.calls())):
        assert TOKEN not in text


def _bootstrap_kubeconfig(cluster: Cluster) -> str:
    [call] = [c for c in cluster.calls() if "bootstrap.kubeconfig" in c]
    return call.split("--kubeconfig ")[1].split()[0]


def test_one_minor_newer_joins_at_the_clusters_release_and_upgrades_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_fake_releases(monkeypatch)
    cluster = Cluster(tmp_path, "1.36.5")
    new = spec_at("1.37.2")
    assert new.upgrade_from is not None and new.upgrade_from.version == "1.36.5"
    # two replacement control planes boot together: both join at 1.36.5 first
    for node in ("cp-a", "cp-b"):
        proc = cluster.join(new, node)
        assert proc.returncode == 0, proc.stderr
        assert "joining with 1.36.5, then upgrading it to 1.37.2" in proc.stderr
        assert cluster.pending(node)
        assert cluster.calls(node)[1:] == [
            "apt-get -o DPkg::Lock::Timeout=600 update",
            "apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends --allow-downgrades "
            "--allow-change-held-packages kubeadm=1.36.5-1.1 kubelet=1.36.5-1.1 kubectl=1.36.5-1.1",
            "apt-mark hold kubeadm kubelet kubectl",
            "systemctl restart kubelet.service"]
    source_file = tmp_path / "sources" / "kubernetes-v1.36.sources"
    assert source_file.stat().st_mode & 0o777 == 0o644  # apt's unprivileged fetcher reads it
    source = source_file.read_text()
    assert source == ("Types: deb\nURIs: https://pkgs.k8s.io/core:/stable:/v1.36/deb/\nSuites: /\n"
                      "Signed-By: /etc/apt/keyrings/kubernetes.asc\n")
    # the first to finish holds the lease and upgrades the cluster; the second upgrades its node
    proc = cluster.run(new, "cp-a", "finish", "cp-a")
    assert proc.returncode == 0, proc.stderr
    assert cluster.version() == "1.37.2"
    proc = cluster.run(new, "cp-b", "finish", "cp-b")
    assert proc.returncode == 0, proc.stderr
    applies = [c for c in cluster.calls() if c.startswith("kubeadm upgrade apply")]
    assert applies == ["kubeadm upgrade apply v1.37.2 --yes"]
    assert "kubeadm upgrade node" in cluster.calls("cp-b")
    for node in ("cp-a", "cp-b"):
        calls = cluster.calls(node)
        finish = calls[calls.index("apt-mark hold kubeadm kubelet kubectl") + 2:]
        kubeadm = next(c for c in finish if c.startswith("kubeadm upgrade"))
        assert finish.index(next(c for c in finish if "kubeadm=1.37.2-9.9" in c)) < finish.index(kubeadm) \
            < finish.index(next(c for c in finish if "kubelet=1.37.2-9.9 kubectl=1.37.2-9.9" in c)) \
            < finish.index("systemctl restart kubelet.service")
        assert finish[0].startswith("kubectl") and "create --filename -" in finish[0]  # the lease first
        assert "delete lease looper-k8s-upgrade" in finish[-1]
        assert not cluster.pending(node)
    assert not (tmp_path / "lease").exists()
    # a later boot has nothing pending
    before = len(cluster.calls())
    assert cluster.run(new, "cp-a", "finish", "cp-a").returncode == 0
    assert len(cluster.calls()) == before


@pytest.mark.parametrize(("cluster_version", "node_version", "message"), [
    ("1.35.7", "1.37.2", "more than one minor above the cluster's 1.35.7"),
    ("1.37.2", "1.36.5", "older than the cluster's 1.37.2"),
    ("1.36.5", "1.36.4", "older than the cluster's 1.36.5"),
])
def test_refuses_two_minors_newer_or_older(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           cluster_version: str, node_version: str, message: str) -> None:
    with_fake_releases(monkeypatch)
    if node_version == "1.36.4":  # an older patch of the cluster's minor
        rows = dict(k8s_versions.RELEASES)
        rows["1.36"] = dataclasses.replace(rows["1.36"], version="1.36.4", apt_version="1.36.4-1.1")
        monkeypatch.setattr(k8s_versions, "RELEASES", rows)
    cluster = Cluster(tmp_path, cluster_version)
    proc = cluster.join(spec_at(node_version), "cp-a")
    assert proc.returncode == 3, proc.stderr
    assert "REFUSED" in proc.stderr and message in proc.stderr
    assert [c.split()[0] for c in cluster.calls()] == ["kubectl"]  # no package, no upgrade
    assert not cluster.pending("cp-a")


def test_a_minor_without_the_previous_rows_pins_is_refused(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with_fake_releases(monkeypatch)
    cluster = Cluster(tmp_path, "1.36.2")  # the table's 1.36 row is 1.36.5: not what the cluster runs
    proc = cluster.join(spec_at("1.37.2"), "cp-a")
    assert proc.returncode == 3 and "needs its pins" in proc.stderr, proc.stderr


def test_the_lease_is_waited_for_and_a_stale_one_removed(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with_fake_releases(monkeypatch)
    cluster = Cluster(tmp_path, "1.36.5")
    new = spec_at("1.37.2")
    assert cluster.join(new, "cp-a").returncode == 0
    (tmp_path / "lease").write_text("cp-b")  # a live control plane is upgrading
    proc = cluster.run(new, "cp-a", "finish", "cp-a")
    assert proc.returncode == 1 and "the upgrade lease stayed with 'cp-b'" in proc.stderr
    assert not any(c.startswith("kubeadm upgrade") for c in cluster.calls())
    assert cluster.pending("cp-a")
    (tmp_path / "lease").write_text("cp-gone")  # its holder is no node any more
    proc = cluster.run(new, "cp-a", "finish", "cp-a")
    assert proc.returncode == 0, proc.stderr
    assert "is stale: removing it" in proc.stderr
    upgrades = [c for c in cluster.calls() if c.startswith("kubeadm upgrade")]
    assert upgrades == ["kubeadm upgrade apply v1.37.2 --yes"]


def test_script_shellcheck_bundle_and_setup_order(tmp_path: Path) -> None:
    spec = SPECS["k8s_control_plane_join"]
    path = tmp_path / "looper-k8s-upgrade"
    path.write_text(render_k8s_upgrade_script(spec))
    assert_shellcheck_clean(path)
    bundled = bundle_files(spec)[K8S_UPGRADE_SCRIPT_PATH]
    assert bundled.mode == "0755" and bundled.content == path.read_text()
    assert f"readonly LEASE={UPGRADE_LEASE}" in bundled.content
    assert "readonly PREVIOUS_VERSION=''" in bundled.content  # the table has no 1.35 row
    setup = script("k8s_control_plane_join")
    flow = setup[setup.index("bring_up_control_plane() {"):setup.index("root_kubeconfig() {")]
    pre_join = flow.index('"$UPGRADE_SCRIPT" pre-join "${TMP_DIR}/join.json"')
    assert flow.index("repair_etcd_membership") < pre_join < flow.index("join --config")
    # a refusal (3) ends the setup; anything else (the API did not answer) is polled again
    assert 'if ((rc == 3)); then\n        fail "Kubernetes ${KUBERNETES_VERSION} cannot join' in flow
    main = setup[setup.index("\nsetup() {"):]
    finish = main.index('"$UPGRADE_SCRIPT" finish "$NODE_NAME"')
    assert main.index("wait_node_ready") < finish < main.index("k8s ready")
    assert "UPGRADE_SCRIPT" not in script("k8s_worker")
    with pytest.raises(ValueError, match="control planes only"):
        render_k8s_upgrade_script(SPECS["k8s_worker"])

"""The dead-Node cleanup of the control planes (``looper-k8s-nodes``): its decision as pure code
against fake Node lists and EC2 states, then the whole ``looper-k8s-lifecycle prune-nodes`` run
with a fake ``kubectl`` on PATH (a JSON store of Nodes that records every call) and a loopback
fake of IMDSv2 and EC2 DescribeInstances that checks every request's SigV4 signature."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
import types
import urllib.parse
from collections.abc import Iterator
from functools import cache
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.k8s_node import SPECS
from helpers.sigv4 import IMDS_ANSWERS, LoopbackAws, expected_signature
from looper_infra.bootstrap.k8s_node.lifecycle import (
    DEAD_NODES_METRICS_FILE,
    UNKNOWN_INSTANCE_MIN_AGE,
    render_k8s_cp_helper,
    render_k8s_lifecycle_script,
    render_k8s_nodes_script,
)

SPEC = SPECS["k8s_control_plane_init"]
REGION = "ap-northeast-2"
NOW = 1_796_454_000.0  # 2026-12-05T07:00:00Z
OLD = "2026-12-05T05:00:00Z"  # two hours before NOW
NEW = "2026-12-05T06:58:00Z"  # two minutes before NOW


def node(name: str, provider_id: str | None, ready: str | None = "Unknown", created: str = OLD,
         n: int = 0) -> dict[str, Any]:
    """A Node as `kubectl get nodes -o json` lists it (Ready condition status, or none)."""
    conditions = [{"type": "MemoryPressure", "status": "Unknown"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready, "reason": "NodeStatusUnknown"})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": str(100 + n),
                         "creationTimestamp": created},
            "spec": {"providerID": provider_id} if provider_id else {},
            "status": {"conditions": conditions}}


def aws(instance: str, zone: str = "ap-northeast-2a") -> str:
    return f"aws:///{zone}/{instance}"


#: name -> (Node, EC2 state of its instance or None when EC2 does not know it)
CASES: dict[str, tuple[dict[str, Any], str | None]] = {
    "terminated": (node("terminated", aws("i-0000000000000000a")), "terminated"),
    "shutting-down": (node("shutting-down", aws("i-0000000000000000b", "ap-northeast-2c")),
                      "shutting-down"),
    "no-ready-condition": (node("no-ready-condition", aws("i-0000000000000000c"), ready=None),
                           "terminated"),
    "not-found-old": (node("not-found-old", aws("i-0000000000000000d")), None),
    # kept:
    "not-found-new": (node("not-found-new", aws("i-0000000000000000e"), created=NEW), None),
    "running": (node("running", aws("i-0000000000000000f"), ready="False"), "running"),
    "stopped": (node("stopped", aws("i-00000000000000010")), "stopped"),
    "pending": (node("pending", aws("i-00000000000000011"), created=NEW), "pending"),
    "ready-terminated": (node("ready-terminated", aws("i-00000000000000012"), ready="True"), "terminated"),
    "gcp": (node("gcp", "gce://looper-dev/asia-northeast3-a/looper-dev-gpu-0"), None),
    "no-provider-id": (node("no-provider-id", None), None),
    "other-region": (node("other-region", aws("i-00000000000000013", "us-east-1a")), None),
    "malformed": (node("malformed", "aws:///ap-northeast-2a/../i-00000000000000014"), None),
}
DEAD = ["no-ready-condition", "not-found-old", "shutting-down", "terminated"]


@cache
def script_module() -> types.ModuleType:
    """The rendered looper-k8s-nodes as a module (its functions as pure code)."""
    module = types.ModuleType("looper_k8s_nodes")
    exec(compile(render_k8s_nodes_script(SPEC), "looper-k8s-nodes", "exec"), module.__dict__)  # noqa: S102
    return module


def ec2_states() -> dict[str, str]:
    """What DescribeInstances knows: every case's instance with a state."""
    module = script_module()
    return {module.PROVIDER_ID.fullmatch(n["spec"]["providerID"])["instance"]: state
            for n, state in CASES.values() if state is not None}


def test_decision_deletes_only_not_ready_aws_nodes_whose_instance_is_gone() -> None:
    module = script_module()
    nodes = [n for n, _ in CASES.values()]
    assert module.dead_nodes(nodes, ec2_states(), REGION, NOW) == DEAD
    # what EC2 is asked about: not Ready, aws:/// in this region, well-formed
    assert set(module.suspects(nodes, REGION)) == {
        "terminated", "shutting-down", "no-ready-condition", "not-found-old", "not-found-new",
        "running", "stopped", "pending"}
    # the young Node whose instance EC2 does not know goes once it is old enough
    later = NOW + UNKNOWN_INSTANCE_MIN_AGE
    assert module.dead_nodes(nodes, ec2_states(), REGION, later) == sorted([*DEAD, "not-found-new"])
    # an instance EC2 does not return is gone: every old suspect, none of the young ones
    assert module.dead_nodes(nodes, {}, REGION, NOW) == [
        "no-ready-condition", "not-found-old", "running", "shutting-down", "stopped", "terminated"]
    assert module.dead_nodes([], {}, REGION, NOW) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["aws", "gce", "none", "other-region"]),
    st.sampled_from(["True", "False", "Unknown", None]),
    st.sampled_from(["pending", "running", "stopping", "stopped", "shutting-down", "terminated", None]),
    st.sampled_from([OLD, NEW, "not a time"]),
), max_size=12))
def test_decision_never_condemns_a_ready_or_non_aws_node(
    draws: list[tuple[str, str | None, str | None, str]],
) -> None:
    module = script_module()
    ids = {"aws": aws, "gce": lambda i: f"gce://p/asia-northeast3-a/{i}", "none": lambda i: None,
           "other-region": lambda i: aws(i, "eu-west-1b")}
    nodes, states = [], {}
    for n, (kind, ready, state, created) in enumerate(draws):
        instance = f"i-{n:017x}"
        nodes.append(node(f"n{n}", ids[kind](instance), ready, created))
        if state is not None:
            states[instance] = state
    for name in module.dead_nodes(nodes, states, REGION, NOW):
        kind, ready, state, created = draws[int(name[1:])]
        assert kind == "aws" and ready != "True"
        assert state in ("shutting-down", "terminated") or (state is None and created == OLD)


def test_instance_states_batches_ids_and_pages() -> None:
    module = script_module()
    sent: list[dict[str, str]] = []

    def request(method: str, url: str, region: str, service: str, body: bytes, headers: Any) -> bytes:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        sent.append(form)
        ids = [v for k, v in form.items() if k.startswith("Filter.1.Value.")]
        page = int(form.get("NextToken", "0"))
        half = ids[page * 60:(page + 1) * 60]
        items = "".join(f"<item><instanceId>{i}</instanceId><instanceState><code>48</code>"
                        f"<name>terminated</name></instanceState></item>" for i in half)
        more = f"<nextToken>{page + 1}</nextToken>" if (page + 1) * 60 < len(ids) else ""
        return (f'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                f"<reservationSet><item><instancesSet>{items}</instancesSet></item></reservationSet>"
                f"{more}</DescribeInstancesResponse>").encode()

    helper = types.SimpleNamespace(**{name: getattr(cp_module(), name) for name in (
        "quote", "children", "text_of")}, request=request, EC2_ENDPOINT="https://ec2.{region}.x")
    ids = [f"i-{n:017x}" for n in range(150)]
    states = module.instance_states(helper, REGION, [*ids, ids[0]])
    assert states == dict.fromkeys(ids, "terminated")
    batches = [sorted(v for k, v in f.items() if k.startswith("Filter.1.Value.")) for f in sent]
    assert [len(b) for b in batches] == [100, 100, 50]  # two pages of the first batch, then one
    assert all(f["Action"] == "DescribeInstances" and f["Filter.1.Name"] == "instance-id" for f in sent)
    assert sorted({i for batch in batches for i in batch}) == ids


@cache
def cp_module() -> types.ModuleType:
    module = types.ModuleType("looper_k8s_cp")
    exec(compile(render_k8s_cp_helper(SPEC), "looper-k8s-cp", "exec"), module.__dict__)  # noqa: S102
    return module


# --- the whole command ------------------------------------------------------------------------


class FakeEc2(LoopbackAws):
    """IMDSv2 and EC2 DescribeInstances (instance-id filter, pages of two) on loopback."""

    states: ClassVar[dict[str, str]] = {}
    seen: ClassVar[list[dict[str, str]]] = []
    error: ClassVar[tuple[int, str] | None] = None

    def handle_any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/latest/"):
            known = self.path in IMDS_ANSWERS
            return self.answer(200 if known else 404, IMDS_ANSWERS.get(self.path, ""))
        headers = {k.lower(): v for k, v in self.headers.items()}
        form = dict(urllib.parse.parse_qsl(body.decode()))
        self.seen.append(form)
        if not expected_signature(self.command, self.path, headers, body):
            return self.answer(403, "<Response><Errors><Error><Code>SignatureDoesNotMatch</Code>"
                                    "</Error></Errors></Response>")
        if self.error:
            code, error = self.error
            return self.answer(code, f"<Response><Errors><Error><Code>{error}</Code><Message>no"
                                     f"</Message></Error></Errors><RequestID>r</RequestID></Response>")
        ids = [v for k, v in sorted(form.items()) if k.startswith("Filter.1.Value.")]
        known = [i for i in ids if i in self.states]
        page = int(form.get("NextToken", "0"))
        items = "".join(
            f"<item><reservationId>r-{i}</reservationId><instancesSet><item><instanceId>{i}</instanceId>"
            f"<instanceState><code>0</code><name>{self.states[i]}</name></instanceState>"
            f"</item></instancesSet></item>" for i in known[page * 2:page * 2 + 2])
        more = f"<nextToken>{page + 1}</nextToken>" if page * 2 + 2 < len(known) else ""
        self.answer(200, '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                         f"<reservationSet>{items}</reservationSet>{more}</DescribeInstancesResponse>")

    do_GET = do_PUT = do_POST = handle_any


FAKE_KUBECTL = f"""#!{sys.executable}
import json, os, sys
d = os.environ["FAKE_DIR"]
args = sys.argv[1:]
call = {{"argv": args}}
if "-f" in args:
    call["body"] = json.load(open(args[args.index("-f") + 1]))
with open(os.path.join(d, "calls.jsonl"), "a") as log:
    log.write(json.dumps(call) + "\\n")
store = os.path.join(d, "nodes.json")
nodes = json.load(open(store))
rest = args[args.index("--request-timeout=30s") + 1:]
if rest == ["get", "nodes", "-o", "json"]:
    print(json.dumps({{"apiVersion": "v1", "kind": "List", "items": nodes}}))
elif rest[:2] == ["delete", "--raw"]:
    name = rest[2].rsplit("/", 1)[1]
    found = [n for n in nodes if n["metadata"]["name"] == name]
    pre = call["body"]["preconditions"]
    if not found:
        sys.exit('Error from server (NotFound): nodes "%s" not found' % name)
    if name in os.environ.get("FAKE_CHANGED", "").split(","):
        sys.exit("Error from server (Conflict): Operation cannot be fulfilled: the ResourceVersion "
                 "in the precondition does not match")
    if name in os.environ.get("FAKE_FORBIDDEN", "").split(","):
        sys.exit('Error from server (Forbidden): nodes "%s" is forbidden' % name)
    assert pre == {{"uid": found[0]["metadata"]["uid"],
                    "resourceVersion": found[0]["metadata"]["resourceVersion"]}}, pre
    json.dump([n for n in nodes if n["metadata"]["name"] != name], open(store, "w"))
    print(json.dumps({{"kind": "Status", "status": "Success"}}))
else:
    sys.exit("unexpected " + " ".join(args))
"""


@pytest.fixture
def fake_ec2() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEc2)
    FakeEc2.states, FakeEc2.seen, FakeEc2.error = ec2_states(), [], None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class ControlPlane:
    """A temp dir standing in for a control plane: the rendered lifecycle script, nodes script
    and cp helper, a fake kubectl with a Node store, the textfile directory."""

    def __init__(self, root: Path, endpoint: str, nodes: list[dict[str, Any]]) -> None:
        self.root = root
        (root / "bin").mkdir()
        (root / "etc").mkdir()
        (root / "etc" / "admin.conf").write_text("apiVersion: v1\nkind: Config\n")
        files = {"bin/kubectl": FAKE_KUBECTL, "looper-k8s-lifecycle": render_k8s_lifecycle_script(SPEC),
                 "looper-k8s-nodes": render_k8s_nodes_script(SPEC),
                 "looper-k8s-cp": render_k8s_cp_helper(SPEC)}
        for name, text in files.items():
            (root / name).write_text(text)
            (root / name).chmod(0o755)
        (root / "nodes.json").write_text(json.dumps(nodes))
        self.env = {
            **os.environ, "FAKE_DIR": str(root), "PATH": f"{root / 'bin'}:{os.environ['PATH']}",
            "LOOPER_K8S_NODES": str(root / "looper-k8s-nodes"),
            "LOOPER_CP_HELPER": str(root / "looper-k8s-cp"),
            "LOOPER_K8S_ETC": str(root / "etc"), "LOOPER_TEXTFILE_DIR": str(root / "textfile"),
            "LOOPER_IMDS_URL": endpoint, "LOOPER_EC2_ENDPOINT": endpoint,
        }

    def run(self, **env: str) -> subprocess.CompletedProcess[str]:
        script = str(self.root / "looper-k8s-lifecycle")
        return subprocess.run(["bash", script, "prune-nodes"], capture_output=True, text=True,
                              env={**self.env, **env}, timeout=60, check=False)

    def calls(self) -> list[dict[str, Any]]:
        path = self.root / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def deletes(self) -> list[str]:
        return [c["argv"][c["argv"].index("--raw") + 1] for c in self.calls() if "delete" in c["argv"]]

    def nodes(self) -> list[str]:
        return sorted(n["metadata"]["name"] for n in json.loads((self.root / "nodes.json").read_text()))

    def metrics(self) -> dict[str, float]:
        path = self.root / "textfile" / DEAD_NODES_METRICS_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o644 and not list(path.parent.glob("*.tmp"))
        lines = path.read_text().splitlines()
        assert all(line.startswith(("# HELP ", "# TYPE ")) for line in lines if line.startswith("#"))
        return {line.split()[0]: float(line.split()[1]) for line in lines if not line.startswith("#")}


def cluster() -> list[dict[str, Any]]:
    """The cases, their ages relative to the clock the command reads."""
    ages = {OLD: 7200, NEW: 120}
    nodes = []
    for n, (item, _) in enumerate(CASES.values()):
        copy = json.loads(json.dumps(item))
        created = time.time() - ages[copy["metadata"]["creationTimestamp"]]
        copy["metadata"]["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
        copy["metadata"]["resourceVersion"] = str(500 + n)
        nodes.append(copy)
    return nodes


def test_prune_deletes_the_dead_nodes_with_preconditions_and_counts_them(
    tmp_path: Path, fake_ec2: str
) -> None:
    cp = ControlPlane(tmp_path, fake_ec2, cluster())
    proc = cp.run()
    assert proc.returncode == 0, proc.stderr
    assert cp.deletes() == [f"/api/v1/nodes/{name}" for name in DEAD]
    assert cp.nodes() == sorted(set(CASES) - set(DEAD))
    bodies = [c["body"] for c in cp.calls() if "delete" in c["argv"]]
    assert all(b["kind"] == "DeleteOptions" and set(b["preconditions"]) == {"uid", "resourceVersion"}
               for b in bodies)
    assert all(c["argv"][:3] == ["--kubeconfig", f"{tmp_path}/etc/admin.conf", "--request-timeout=30s"]
               for c in cp.calls())
    # EC2 was asked about exactly the suspects' instances (six known: three pages of two)
    pages = [sorted(v for k, v in f.items() if k.startswith("Filter.1.Value.")) for f in FakeEc2.seen]
    suspects = script_module().suspects([n for n, _ in CASES.values()], REGION)
    assert pages == [sorted(suspects.values())] * 3
    assert [f.get("NextToken") for f in FakeEc2.seen] == [None, "1", "2"]
    for name in DEAD:
        assert f"node {name}: instance " in proc.stderr
    assert "node stopped is not Ready; instance i-00000000000000010 is 'stopped': kept" in proc.stderr
    assert "node not-found-new is not Ready; instance i-0000000000000000e is unknown to EC2 (a new " \
           "node): kept" in proc.stderr
    assert "node not-found-old: instance i-0000000000000000d is unknown to EC2: deleted" in proc.stderr
    assert "node terminated: instance i-0000000000000000a is terminated: deleted" in proc.stderr
    metrics = cp.metrics()
    assert metrics["looper_dead_nodes_deleted_total"] == 4
    assert metrics["looper_dead_node_check_success"] == 1
    assert abs(metrics["looper_dead_node_check_timestamp_seconds"] - time.time()) < 60
    assert metrics["looper_dead_node_check_last_success_timestamp_seconds"] == (
        metrics["looper_dead_node_check_timestamp_seconds"])

    # the next run finds nothing more to delete; the counter keeps its total
    proc = cp.run()
    assert proc.returncode == 0, proc.stderr
    assert len(cp.deletes()) == 4 and cp.metrics()["looper_dead_nodes_deleted_total"] == 4


def test_an_ec2_error_deletes_nothing_and_fails(tmp_path: Path, fake_ec2: str) -> None:
    cp = ControlPlane(tmp_path, fake_ec2, cluster())
    assert cp.run().returncode == 0  # a good run first: its success time must survive
    before = cp.metrics()
    (tmp_path / "nodes.json").write_text(json.dumps(cluster()))  # the dead are back
    for code, error in ((503, "RequestLimitExceeded"), (403, "UnauthorizedOperation"),
                        (400, "InvalidInstanceID.Malformed")):
        FakeEc2.error = (code, error)
        proc = cp.run()
        assert proc.returncode != 0
        assert f"HTTP {code}" in proc.stderr and error in proc.stderr and "FAILED" in proc.stderr
        assert len(cp.deletes()) == 4  # only the first run's
        assert cp.nodes() == sorted(CASES)
        metrics = cp.metrics()
        assert metrics["looper_dead_node_check_success"] == 0
        assert metrics["looper_dead_nodes_deleted_total"] == 4
        assert metrics["looper_dead_node_check_last_success_timestamp_seconds"] == (
            before["looper_dead_node_check_last_success_timestamp_seconds"])


def test_a_changed_node_stays_and_other_delete_errors_fail(tmp_path: Path, fake_ec2: str) -> None:
    cp = ControlPlane(tmp_path, fake_ec2, cluster())
    proc = cp.run(FAKE_CHANGED="terminated")
    assert proc.returncode == 0, proc.stderr
    assert "node terminated: instance i-0000000000000000a is terminated: changed" in proc.stderr
    assert "terminated" in cp.nodes() and cp.metrics()["looper_dead_nodes_deleted_total"] == 3
    proc = cp.run(FAKE_FORBIDDEN="terminated")
    assert proc.returncode != 0 and "Forbidden" in proc.stderr
    assert "terminated" in cp.nodes() and cp.metrics()["looper_dead_node_check_success"] == 0


def test_no_suspects_no_ec2_call_and_kubectl_errors_fail(tmp_path: Path, fake_ec2: str) -> None:
    healthy = [node("a", aws("i-0000000000000000a"), ready="True"), CASES["gcp"][0],
               CASES["no-provider-id"][0]]
    cp = ControlPlane(tmp_path, fake_ec2, healthy)
    proc = cp.run()
    assert proc.returncode == 0, proc.stderr
    assert FakeEc2.seen == [] and cp.deletes() == [] and proc.stderr == ""
    assert cp.metrics()["looper_dead_node_check_success"] == 1
    (tmp_path / "nodes.json").write_text("not json")  # the fake kubectl fails
    proc = cp.run()
    assert proc.returncode != 0 and "kubectl get nodes" in proc.stderr
    assert cp.metrics()["looper_dead_node_check_success"] == 0

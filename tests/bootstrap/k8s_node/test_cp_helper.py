"""``looper-k8s-cp``, the control-plane helper, rendered and run as a subprocess against a
loopback fake of IMDSv2, S3 (path style), EC2, Secrets Manager and CloudWatch Logs that
recomputes every request's SigV4 signature with the credentials the fake IMDS hands out."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from helpers.k8s_node import SPECS, run_helper
from helpers.sigv4 import IMDS_ANSWERS, LoopbackAws, expected_signature
from looper_infra.bootstrap.k8s_node.cloud_helpers import (
    render_k8s_aws_helper,
    render_k8s_gcp_helper,
)
from looper_infra.bootstrap.k8s_node.lifecycle import render_k8s_cp_helper

REGION = "ap-northeast-2"
KMS = "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CLUSTER_TAG = "kubernetes.io/cluster/looper-dev"


class Fake(LoopbackAws):
    seen: ClassVar[list[dict[str, Any]]] = []
    objects: ClassVar[dict[str, bytes]] = {}
    instances: ClassVar[list[list[tuple[str, str]]]] = []
    streams: ClassVar[set[str]] = set()
    events: ClassVar[list[list[dict[str, Any]]]] = []
    fail_puts: ClassVar[bool] = False
    page_size: ClassVar[int] = 2

    def handle_any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        path, _, query = self.path.partition("?")
        if path.startswith("/latest/"):
            return self.imds(path)
        ok = expected_signature(self.command, self.path, headers, body)
        self.seen.append({"method": self.command, "path": path, "headers": headers, "body": body,
                          "query": dict(urllib.parse.parse_qsl(query)), "signed": ok})
        if not ok:
            return self.answer(403, "SignatureDoesNotMatch")
        target = headers.get("x-amz-target", "")
        if path.startswith("/bucket"):
            return self.s3(path.removeprefix("/bucket/"), urllib.parse.parse_qs(query), body)
        if target.startswith("secretsmanager."):
            return self.answer(200, json.dumps({"ARN": "arn", "VersionId": "v2"}))
        if target.startswith("Logs_20140328."):
            return self.logs(target.split(".")[1], json.loads(body))
        if path == "/" and b"Action=DescribeInstances" in body:
            return self.ec2(dict(urllib.parse.parse_qsl(body.decode())))
        return self.answer(404, "<Error><Code>NoSuchBucket</Code></Error>")

    do_GET = do_PUT = do_POST = handle_any

    def imds(self, path: str) -> None:
        self.answer(200, IMDS_ANSWERS[path]) if path in IMDS_ANSWERS else self.answer(404)

    def s3(self, key: str, query: dict[str, list[str]], body: bytes) -> None:
        if self.command == "PUT":
            self.objects[key] = body
            return self.answer(200)
        if key:
            return self.answer(200, self.objects[key]) if key in self.objects else self.answer(404)
        prefix = query["prefix"][0]
        keys = sorted(k for k in self.objects if k.startswith(prefix))
        start = int(query.get("continuation-token", ["0"])[0])
        page = keys[start:start + self.page_size]
        more = start + self.page_size < len(keys)
        xml = ('<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
               + "".join(f"<Contents><Key>{k}</Key></Contents>" for k in page)
               + f"<IsTruncated>{str(more).lower()}</IsTruncated>"
               + (f"<NextContinuationToken>{start + self.page_size}</NextContinuationToken>" if more else "")
               + "</ListBucketResult>")
        self.answer(200, xml)

    def ec2(self, form: dict[str, str]) -> None:
        page = int(form.get("NextToken", "0"))
        items = "".join(
            f"<item><instancesSet><item><instanceId>i-{n}</instanceId><privateDnsName>{dns}</privateDnsName>"
            f"<privateIpAddress>{ip}</privateIpAddress><networkInterfaceSet><item><privateDnsName>eni"
            f"</privateDnsName></item></networkInterfaceSet></item></instancesSet></item>"
            for n, (dns, ip) in enumerate(self.instances[page]))
        more = page + 1 < len(self.instances)
        xml = ('<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
               f"<reservationSet>{items}</reservationSet>"
               + (f"<nextToken>{page + 1}</nextToken>" if more else "")
               + "</DescribeInstancesResponse>")
        self.answer(200, xml)

    def logs(self, action: str, payload: dict[str, Any]) -> None:
        if action == "CreateLogStream":
            self.streams.add(payload["logStreamName"])
            return self.answer(200, "{}")
        if self.fail_puts:
            return self.answer(500, '{"__type": "ServiceUnavailableException"}')
        if payload["logStreamName"] not in self.streams:
            return self.answer(400, '{"__type": "ResourceNotFoundException"}')
        self.events.append(payload["logEvents"])
        self.answer(200, "{}")


@pytest.fixture
def fake() -> Iterator[dict[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    Fake.seen, Fake.objects, Fake.instances, Fake.streams, Fake.events = [], {}, [], set(), []
    Fake.fail_puts = False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield {"LOOPER_IMDS_URL": url, "LOOPER_S3_ENDPOINT": url, "LOOPER_EC2_ENDPOINT": url,
               "LOOPER_SECRETS_ENDPOINT": url, "LOOPER_LOGS_ENDPOINT": url}
    finally:
        server.shutdown()


@pytest.fixture
def helper(tmp_path: Path) -> Path:
    path = tmp_path / "looper-k8s-cp"
    path.write_text(render_k8s_cp_helper(SPECS["k8s_control_plane_init"]), encoding="utf-8")
    return path


def test_base_helpers_render_unchanged_and_cp_helper_keeps_their_commands() -> None:
    spec = SPECS["k8s_control_plane_init"]
    cp = render_k8s_cp_helper(spec)
    assert 'method, path, "", ' in render_k8s_aws_helper(spec)  # the hook renders as before
    assert "partition" not in render_k8s_aws_helper(spec) + render_k8s_gcp_helper(SPECS["k8s_gcp_gpu_worker"])
    for command in ('"identity"', '"secret"', '"pki"', '"s3-put"', '"ship-logs"', '"control-planes"'):
        assert command in cp
    assert "looper-k8s-cp {name}" in cp


def test_s3_put_get_latest_signed_with_sse_kms(helper: Path, tmp_path: Path, fake: dict[str, str]) -> None:
    snapshot = tmp_path / "snap.db"
    snapshot.write_bytes(os.urandom(5000))
    keys = ["looper-dev/hourly/20260101T000000Z-ip-a.db", "looper-dev/hourly/20260101T010000Z-ip-b.db",
            "looper-dev/daily/20260102-ip-a.db", "looper-dev/hourly/20260101T020000Z-ip a+b.db"]
    for key in keys:
        proc = run_helper(helper, "s3-put", REGION, "bucket", key, str(snapshot), KMS, env=fake)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == ""
    Fake.objects["looper-dev/hourly/zzz.txt"] = b"not a snapshot"
    put = Fake.seen[0]
    body = snapshot.read_bytes()
    assert put["method"] == "PUT" and put["path"] == "/bucket/looper-dev/hourly/20260101T000000Z-ip-a.db"
    assert put["body"] == body and put["signed"]
    assert put["headers"]["x-amz-server-side-encryption"] == "aws:kms"
    assert put["headers"]["x-amz-server-side-encryption-aws-kms-key-id"] == KMS
    assert put["headers"]["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert put["headers"]["content-md5"] == base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324
    assert "x-amz-server-side-encryption-aws-kms-key-id" in put["headers"]["authorization"]
    # a key with a space and a plus: encoded once, signed as sent
    assert Fake.seen[3]["path"] == "/bucket/looper-dev/hourly/20260101T020000Z-ip%20a%2Bb.db"
    assert Fake.objects["looper-dev/hourly/20260101T020000Z-ip%20a%2Bb.db"] == body

    Fake.seen.clear()
    proc = run_helper(helper, "s3-latest", REGION, "bucket", "looper-dev/hourly/", env=fake)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "looper-dev/hourly/20260101T020000Z-ip%20a%2Bb.db\n"
    lists = [s for s in Fake.seen if s["method"] == "GET"]
    assert len(lists) == 2 and all(s["signed"] for s in lists)  # two pages of two
    assert lists[0]["query"] == {"list-type": "2", "prefix": "looper-dev/hourly/"}
    assert lists[1]["query"]["continuation-token"] == "2"
    proc = run_helper(helper, "s3-latest", REGION, "bucket", "other/", env=fake)
    assert (proc.returncode, proc.stdout) == (0, "")

    out = tmp_path / "restored.db"
    proc = run_helper(helper, "s3-get", REGION, "bucket", keys[2], str(out), env=fake)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == body and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_errors_exit_1_without_partial_output(helper: Path, tmp_path: Path, fake: dict[str, str]) -> None:
    proc = run_helper(helper, "s3-get", REGION, "bucket", "missing.db", str(tmp_path / "o"), env=fake)
    assert proc.returncode == 1 and "HTTP 404" in proc.stderr
    assert not list(tmp_path.glob("o*"))  # neither OUT nor its temp file
    broken = {**fake, "LOOPER_S3_ENDPOINT": fake["LOOPER_S3_ENDPOINT"] + "/nothing-here"}
    Fake.objects["nothing-here/x"] = b""
    proc = run_helper(helper, "s3-latest", REGION, "bucket", "p/", env=broken)
    assert proc.returncode == 1 and proc.stdout == ""
    Fake.seen.clear()
    big = tmp_path / "big.db"
    with big.open("wb") as handle:
        handle.truncate((2 << 30) + 1)  # sparse
    proc = run_helper(helper, "s3-put", REGION, "bucket", "k.db", str(big), KMS, env=fake)
    assert proc.returncode == 1 and "larger than" in proc.stderr and not Fake.seen


def test_control_planes_paginated_describe_instances(helper: Path, fake: dict[str, str]) -> None:
    Fake.instances = [[("IP-10-1-16-5.ap-northeast-2.compute.internal", "10.1.16.5")],
                      [("ip-10-1-32-7.ap-northeast-2.compute.internal", "10.1.32.7")]]
    proc = run_helper(helper, "control-planes", REGION, CLUSTER_TAG, env=fake)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ("ip-10-1-16-5.ap-northeast-2.compute.internal 10.1.16.5\n"
                           "ip-10-1-32-7.ap-northeast-2.compute.internal 10.1.32.7\n")
    assert len(Fake.seen) == 2 and all(s["signed"] and s["method"] == "POST" for s in Fake.seen)
    form = dict(urllib.parse.parse_qsl(Fake.seen[0]["body"].decode()))
    assert form == {"Action": "DescribeInstances", "Version": "2016-11-15",
                    "Filter.1.Name": f"tag:{CLUSTER_TAG}", "Filter.1.Value.1": "owned",
                    "Filter.2.Name": "tag:role", "Filter.2.Value.1": "control-plane",
                    "Filter.3.Name": "instance-state-name", "Filter.3.Value.1": "pending",
                    "Filter.3.Value.2": "running"}
    assert dict(urllib.parse.parse_qsl(Fake.seen[1]["body"].decode()))["NextToken"] == "1"
    assert "/ec2/aws4_request" in Fake.seen[0]["headers"]["authorization"]


def test_put_secret_sends_the_file_and_prints_nothing(
    helper: Path, tmp_path: Path, fake: dict[str, str]
) -> None:
    token = "abcdef.0123456789abcdef"
    source = tmp_path / "join.json"
    source.write_text(json.dumps({"token": token}))
    proc = run_helper(helper, "put-secret", REGION, "looper-dev/k8s/join", str(source), env=fake)
    assert proc.returncode == 0, proc.stderr
    assert token not in proc.stdout + proc.stderr
    (call,) = Fake.seen
    assert call["signed"] and call["headers"]["x-amz-target"] == "secretsmanager.PutSecretValue"
    assert json.loads(call["body"]) == {"SecretId": "looper-dev/k8s/join",
                                        "SecretString": json.dumps({"token": token})}


def audit_line(n: int, stamp: str | None = None) -> str:
    stamp = stamp or f"2026-12-05T07:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:06d}Z"
    return json.dumps({"kind": "Event", "auditID": f"id-{n}", "stageTimestamp": stamp}) + "\n"


def ship(helper: Path, log: Path, state: Path, env: dict[str, str]) -> Any:
    return run_helper(helper, "ship-logs", REGION, "/looper/dev/audit", "ip-a", str(log), str(state), env=env)


def test_ship_logs_resumes_rotates_and_keeps_offset_on_failure(
    helper: Path, tmp_path: Path, fake: dict[str, str]
) -> None:
    log, state = tmp_path / "audit.log", tmp_path / "state.json"
    log.write_text(audit_line(1) + audit_line(0) + "not json\n" + '{"partial": ')
    proc = ship(helper, log, state, fake)
    assert proc.returncode == 0, proc.stderr
    assert Fake.streams == {"ip-a"}  # created on ResourceNotFoundException, then put again
    (batch,) = Fake.events
    assert [json.loads(e["message"]).get("auditID") for e in batch[:2]] == ["id-0", "id-1"]  # time order
    assert batch[0]["timestamp"] == 1796454000000 and batch[1]["timestamp"] == 1796454001000
    assert batch[2]["message"] == "not json" and len(batch) == 3  # the partial line waits
    assert json.loads(state.read_text())["offset"] == log.stat().st_size - len('{"partial": ')

    with log.open("a") as handle:
        handle.write('"x"}\n')
    Fake.fail_puts = True
    before = state.read_text()
    assert ship(helper, log, state, fake).returncode == 1
    assert state.read_text() == before
    Fake.fail_puts = False
    assert ship(helper, log, state, fake).returncode == 0
    assert [e["message"] for e in Fake.events[-1]] == ['{"partial": "x"}']
    assert ship(helper, log, state, fake).returncode == 0 and len(Fake.events) == 2  # nothing new

    log.rename(tmp_path / "audit.log.1")  # rotation: a new inode
    log.write_text(audit_line(7))
    assert ship(helper, log, state, fake).returncode == 0
    assert [json.loads(e["message"])["auditID"] for e in Fake.events[-1]] == ["id-7"]
    log.write_text('{"n": 8}\n')  # truncated in place (same inode), shorter than the offset
    assert ship(helper, log, state, fake).returncode == 0
    assert [e["message"] for e in Fake.events[-1]] == ['{"n": 8}']
    assert all(s["signed"] for s in Fake.seen)


def test_ship_logs_batches_within_the_api_limits(helper: Path, tmp_path: Path, fake: dict[str, str]) -> None:
    log, state = tmp_path / "audit.log", tmp_path / "state.json"
    Fake.streams.add("ip-a")
    big = "x" * 100_000
    lines = [audit_line(n) for n in range(10_050)]
    lines += [json.dumps({"m": big, "n": n}) + "\n" for n in range(12)]  # 12 x 100 kB > 1 MiB
    lines += [audit_line(1, "2026-12-07T00:00:00Z")]  # more than 24 h after the others
    log.write_text("".join(lines))
    assert ship(helper, log, state, fake).returncode == 0
    sizes = [sum(len(e["message"].encode()) + 26 for e in b) for b in Fake.events]
    assert sum(len(b) for b in Fake.events) == len(lines)
    assert all(len(b) <= 10_000 for b in Fake.events) and all(s <= 1_048_576 for s in sizes)
    assert all(max(e["timestamp"] for e in b) - min(e["timestamp"] for e in b) < 86_400_000
               for b in Fake.events)
    assert len(Fake.events) >= 4
    assert all([e["timestamp"] for e in b] == sorted(e["timestamp"] for e in b) for b in Fake.events)

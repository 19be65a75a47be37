"""The pin checker against a loopback Helm repository and OCI registry (recorded-style answers).

The real HTTP code runs (`UrllibFetcher`); only the hosts are loopback. Fixtures:
tests/fixtures/pins (README there).
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers.pins_server import FIXTURES, PinsServer, serve
from looper_infra.pins.check import Checker, Repository, Status, newer_apt_patches, newer_patches
from looper_infra.pins.http import UrllibFetcher
from looper_infra.pins.registry import AptIndex, Kind, Pin


@pytest.fixture(scope="module")
def server() -> Iterator[PinsServer]:
    with serve() as state:
        yield state


@pytest.fixture
def checker(server: PinsServer) -> Checker:
    server.requests.clear()
    return Checker(UrllibFetcher(timeout=5))


def pin(kind: Kind, name: str, version: str, origin: str, digest: str | None = None) -> Pin:
    return Pin(kind, name, version, origin, "test", "tests", digest=digest)


# --- charts in a Helm repository ---------------------------------------------------------

def test_chart_present_reports_newer_patches_of_its_line_only(server: PinsServer, checker: Checker) -> None:
    result = checker.check(pin(Kind.chart, "demo", "1.2.3", f"{server.url}/charts"))
    assert result.status is Status.ok
    # 1.2.5-rc.1 is a pre-release, 1.3.0 and 2.0.0 are other lines
    assert result.newer == ("1.2.4", "1.2.10")


def test_chart_version_missing_from_the_index(server: PinsServer, checker: Checker) -> None:
    result = checker.check(pin(Kind.chart, "demo", "1.2.6", f"{server.url}/charts"))
    assert result.status is Status.missing
    assert "1.2.6 is not in" in result.detail and "index.yaml" in result.detail
    assert result.newer == ("1.2.10",)


def test_chart_not_in_the_index_at_all(server: PinsServer, checker: Checker) -> None:
    result = checker.check(pin(Kind.chart, "no-such-chart", "1.0.0", f"{server.url}/charts"))
    assert result.status is Status.missing and "'no-such-chart' is not in" in result.detail


def test_v_prefixed_chart_versions_and_one_index_fetch_per_repository(
        server: PinsServer, checker: Checker) -> None:
    results = list(checker.check_all([pin(Kind.chart, "vendor-style", "v26.3.3", f"{server.url}/charts"),
                                      pin(Kind.chart, "demo", "2.0.0", f"{server.url}/charts/")]))
    assert [(r.status, r.newer) for r in results] == [(Status.ok, ("v26.3.4",)), (Status.ok, ())]
    assert [r.path for r in server.requests] == ["/charts/index.yaml"]


@pytest.mark.parametrize(("path", "message"), [("/nowhere", "answered 404"),
                                               ("/garbage", "not a Helm repository index")])
def test_a_broken_repository_is_that_pins_error(server: PinsServer, checker: Checker, path: str,
                                                message: str) -> None:
    result = checker.check(pin(Kind.chart, "demo", "1.2.3", server.url + path))
    assert result.status is Status.error and message in result.detail


# --- OCI: charts and images, with the anonymous token flow ---------------------------------

def test_oci_chart_tags_with_the_token_flow(server: PinsServer, checker: Checker) -> None:
    origin = f"oci://{server.host}/aws-ec2/helm/aws-node-termination-handler"
    present = checker.check(pin(Kind.chart, "nth", "0.27.6", origin))
    missing = checker.check(pin(Kind.chart, "nth", "0.27.9", origin))
    assert (present.status, present.newer) == (Status.ok, ("0.27.7",))
    assert missing.status is Status.missing and "0.27.9 is not in the tags of" in missing.detail
    first, token, *rest = server.requests
    # anonymous first, 401 with a challenge, then a token for exactly this scope, then Bearer
    assert first.path == "/v2/aws-ec2/helm/aws-node-termination-handler/tags/list"
    assert first.authorization is None
    query = parse_qs(urlsplit(token.path).query)
    assert urlsplit(token.path).path == "/token"
    assert query == {"service": ["loopback-registry"],
                     "scope": ["repository:aws-ec2/helm/aws-node-termination-handler:pull"]}
    assert [r.authorization for r in rest] == [
        "Bearer anon-repository:aws-ec2/helm/aws-node-termination-handler:pull"] * 2  # token reused


def test_image_resolves_with_its_digest_and_newer_patch_tags_across_pages(
        server: PinsServer, checker: Checker) -> None:
    result = checker.check(pin(Kind.image, "redis", "8.2.3", f"{server.host}/library/redis"))
    assert result.status is Status.ok
    assert result.digest == "sha256:1f6f2c4a9e0a3c6b5d8e7f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"
    # page 1 and page 2 (behind Link); -alpine, -rc1, 8.4.0, latest are not on the line
    assert result.newer == ("8.2.4", "8.2.5", "8.2.8")
    methods = [(r.method, urlsplit(r.path).path) for r in server.requests if r.authorization]
    assert methods == [("HEAD", "/v2/library/redis/manifests/8.2.3"),
                       ("GET", "/v2/library/redis/tags/list"), ("GET", "/v2/library/redis/tags/list")]


def test_image_tag_that_does_not_resolve(server: PinsServer, checker: Checker) -> None:
    result = checker.check(pin(Kind.image, "redis", "8.2.2", f"{server.host}/library/redis"))
    assert result.status is Status.missing and "library/redis:8.2.2 does not resolve" in result.detail
    assert result.newer == ("8.2.3", "8.2.4", "8.2.5", "8.2.8")


def test_unknown_repository_is_missing(server: PinsServer, checker: Checker) -> None:
    result = checker.check(pin(Kind.image, "ghost", "1.0.0", f"{server.host}/library/ghost"))
    assert (result.status, result.newer) == (Status.missing, ())


def test_network_errors_are_reported_per_pin(checker: Checker) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pins = [pin(Kind.chart, "demo", "1.2.3", f"http://127.0.0.1:{port}/charts"),
            pin(Kind.image, "redis", "8.2.3", f"127.0.0.1:{port}/library/redis"),
            pin(Kind.manifest, "m", "v1", f"http://127.0.0.1:{port}/m.yaml")]
    results = list(checker.check_all(pins))
    assert [r.status for r in results] == [Status.error] * 3
    assert all(f"127.0.0.1:{port}" in r.detail for r in results)
    # one connection attempt per dead host, not one per pin
    assert ["unreachable earlier" in r.detail for r in results] == [False, True, True]


# --- manifests by sha256 -----------------------------------------------------------------

def test_manifest_sha256(server: PinsServer, checker: Checker) -> None:
    body = (FIXTURES / "manifests" / "tigera-operator.yaml").read_bytes()
    real = hashlib.sha256(body).hexdigest()
    url = f"{server.url}/manifests/tigera-operator.yaml"
    matches = checker.check(pin(Kind.manifest, "calico", "v1", url, digest=f"sha256:{real}"))
    bare_hex = checker.check(pin(Kind.manifest, "calico", "v1", url, digest=real))
    differs = checker.check(pin(Kind.manifest, "calico", "v1", url, digest="sha256:" + "0" * 64))
    unpinned = checker.check(pin(Kind.manifest, "calico", "v1", url))
    gone = checker.check(pin(Kind.manifest, "calico", "v1", f"{server.url}/manifests/gone.yaml"))
    assert (matches.status, bare_hex.status) == (Status.ok, Status.ok)
    assert differs.status is Status.mismatch and differs.digest == f"sha256:{real}"
    assert unpinned.status is Status.ok and unpinned.digest == f"sha256:{real}"
    assert "no sha256 pinned" in unpinned.detail
    assert gone.status is Status.missing


# --- apt packages in their Packages indexes ---------------------------------------------------

def package(name: str, version: str, *indexes: str) -> Pin:
    return Pin(Kind.package, name, version, "apt", "test", "tests", apt=AptIndex(name, indexes))


def test_apt_package_in_a_flat_repository(server: PinsServer, checker: Checker) -> None:
    flat = f"{server.url}/apt/flat/Packages"
    results = list(checker.check_all([
        package("kubeadm", "1.36.5-1.1", flat), package("kubeadm", "1.36.3-1.1", flat),
        package("docker-ce", "5:29.8.2-1~ubuntu.24.04~noble", flat), package("kubectl", "1.36.5-1.1", flat)]))
    assert [(r.status, r.newer) for r in results] == [
        (Status.ok, ("1.36.6-1.1",)),  # not the -rc.0 build, not the continuation line's "Version:"
        (Status.missing, ("1.36.4-1.1", "1.36.5-1.1", "1.36.6-1.1")),
        (Status.ok, ("5:29.8.3-1~ubuntu.24.04~noble",)),
        (Status.missing, ())]
    assert "kubeadm=1.36.3-1.1 is not in" in results[1].detail
    assert [r.path for r in server.requests] == ["/apt/flat/Packages"]  # fetched once


def test_ubuntu_package_in_updates_or_security_gzipped(server: PinsServer, checker: Checker) -> None:
    pockets = (f"{server.url}/apt/noble-updates/Packages.gz", f"{server.url}/apt/noble-security/Packages.gz")
    result = checker.check(package("openvpn", "2.6.14-0ubuntu0.24.04.1", *pockets))
    assert (result.status, result.newer) == (Status.ok, ("2.6.15-0ubuntu0.24.04.1",))


def test_apt_index_errors(server: PinsServer, checker: Checker) -> None:
    broken = checker.check(package("openvpn", "2.6.14-0ubuntu0.24.04.1",
                                   f"{server.url}/apt/not-gzip/Packages.gz"))
    gone = checker.check(package("openvpn", "2.6.14-0ubuntu0.24.04.1", f"{server.url}/apt/gone/Packages"))
    # found in a good index even though another answered 404
    found = checker.check(package("openvpn", "2.6.14-0ubuntu0.24.04.1", f"{server.url}/apt/gone/Packages",
                                  f"{server.url}/apt/noble-security/Packages.gz"))
    assert (broken.status, gone.status, found.status) == (Status.error, Status.error, Status.ok)
    assert "not gzip" in broken.detail and "answered 404" in gone.detail


def test_without_an_apt_index_or_a_tag_a_pin_is_listed_not_checked(checker: Checker) -> None:
    results = list(checker.check_all([pin(Kind.package, "google-cloud-ops-agent", "2.70.0", "http://127.0.0.1:9/"),
                                      pin(Kind.image, "otel", "", "otel/opentelemetry-collector")]))
    assert [r.status for r in results] == [Status.unchecked] * 2


# --- pure parts ------------------------------------------------------------------------------

@pytest.mark.parametrize(("pinned", "available", "newer"), [
    ("17.11", ["17.12", "17.10", "18.0", "17.11.1", "17.13-bookworm"], ["17.12"]),
    ("12.9.1-base-ubuntu24.04", ["12.9.2-base-ubuntu24.04", "12.9.2-runtime-ubuntu24.04",
                                 "12.10.0-base-ubuntu24.04"], ["12.9.2-base-ubuntu24.04"]),
    ("v1.36.5", ["v1.36.6", "1.36.7", "v1.36.7-rc.0", "v1.37.0", "v1.36.10"], ["v1.36.6", "v1.36.10"]),
    ("latest", ["1.0.0"], []),
])
def test_newer_patches(pinned: str, available: list[str], newer: list[str]) -> None:
    assert newer_patches(pinned, available) == newer


def test_newer_apt_patches_keep_the_epoch() -> None:
    available = ["1:3.3.9", "1:3.3.10", "3.3.11", "1:3.4.0"]
    assert newer_apt_patches("1:3.3.9", available) == ["1:3.3.10"]
    assert newer_apt_patches("580.173.02-0ubuntu0.24.04.1", ["580.173.03-0ubuntu0.24.04.1",
                                                            "580.173.03-0ubuntu0.24.04.2"]) == [
        "580.173.03-0ubuntu0.24.04.1", "580.173.03-0ubuntu0.24.04.2"]


@pytest.mark.parametrize(("reference", "registry", "name", "base"), [
    ("redis", "docker.io", "library/redis", "https://registry-1.docker.io"),
    ("docker.io/chromadb/chroma", "docker.io", "chromadb/chroma", "https://registry-1.docker.io"),
    ("registry.k8s.io/autoscaling/cluster-autoscaler", "registry.k8s.io", "autoscaling/cluster-autoscaler",
     "https://registry.k8s.io"),
    ("oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler", "public.ecr.aws",
     "aws-ec2/helm/aws-node-termination-handler", "https://public.ecr.aws"),
    ("127.0.0.1:5000/x/y", "127.0.0.1:5000", "x/y", "http://127.0.0.1:5000"),
])
def test_repository_references(reference: str, registry: str, name: str, base: str) -> None:
    repo = Repository.parse(reference)
    assert (repo.registry, repo.name, repo.base_url) == (registry, name, base)

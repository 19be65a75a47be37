"""Check pins against upstream: chart indexes, OCI registries, manifest URLs.

- chart (Helm repository): the version is an entry of `<repo>/index.yaml`;
- chart (`oci://`) and image: the tag is in the registry's tag list (OCI distribution API
  `/v2/<name>/tags/list`), an image's manifest resolves (`HEAD /v2/<name>/manifests/<tag>`),
  with the anonymous bearer-token flow registries answer 401 with;
- manifest or file: the URL answers 200, and its sha256 matches where one is pinned;
- apt package: the version is a `Version:` of the package in one of its `Packages` indexes.

Newer patch releases (same version line, only the last number higher) are reported, never
fatal. A network or registry error is that pin's result (`error`), not an exception.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import yaml

from looper_infra.pins.http import Fetcher, FetchError, Response
from looper_infra.pins.registry import Kind, Pin


class Status(StrEnum):
    ok = "ok"
    #: the version/tag does not exist upstream
    missing = "missing"
    #: the manifest's sha256 differs from the pinned one
    mismatch = "mismatch"
    #: could not be checked: network, registry or format error
    error = "error"
    #: not checkable by this command (a package without an exact apt version or known
    #: index; an image whose tag a chart pins)
    unchecked = "unchecked"


@dataclass(frozen=True)
class Result:
    pin: Pin
    status: Status
    detail: str = ""
    newer: tuple[str, ...] = ()
    #: the digest observed upstream (image manifest digest, manifest sha256)
    digest: str | None = None


class CheckError(Exception):
    """A check could not be completed (reported as the pin's `error`)."""


#: Accept header for a manifest: the multi-arch index first, then single manifests
MANIFEST_ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
#: at most this many pages of a paginated tag list
MAX_TAG_PAGES = 100

_LINE = re.compile(r"(?P<prefix>v?)(?P<numbers>[0-9]+(?:\.[0-9]+)+)(?P<suffix>.*)", re.S)


def newer_patches(pinned: str, available: Iterable[str]) -> list[str]:
    """Versions of `pinned`'s line with a higher last number, oldest first.

    The line is every number but the last, with the same `v` prefix and suffix: `8.2.3` ->
    `8.2.5`, `17.11` -> `17.12`, `12.9.1-base-ubuntu24.04` -> `12.9.2-base-ubuntu24.04`; a
    pre-release (`8.2.5-rc1`) has another suffix, so it is not on the line.
    """
    mine = _LINE.fullmatch(pinned)
    if mine is None:
        return []
    numbers = tuple(int(n) for n in mine["numbers"].split("."))
    found: list[tuple[tuple[int, ...], str]] = []
    for version in set(available):
        other = _LINE.fullmatch(version)
        if other is None or (other["prefix"], other["suffix"]) != (mine["prefix"], mine["suffix"]):
            continue
        theirs = tuple(int(n) for n in other["numbers"].split("."))
        if len(theirs) == len(numbers) and theirs[:-1] == numbers[:-1] and theirs[-1] > numbers[-1]:
            found.append((theirs, version))
    return [version for _, version in sorted(found)]


def _apt_parts(version: str) -> tuple[str, str]:
    """(`epoch:` or "", upstream version) of a Debian version `[epoch:]upstream[-revision]`."""
    epoch, _, rest = version.rpartition(":")
    upstream = rest.rpartition("-")[0] if "-" in rest else rest
    return (f"{epoch}:" if epoch else ""), upstream


def newer_apt_patches(pinned: str, available: Iterable[str]) -> list[str]:
    """Debian versions whose upstream part is a newer patch of the pin's (same epoch), any
    revision: `1.36.5-1.1` -> `1.36.6-1.1`, `5:29.8.2-1~ubuntu.24.04~noble` -> `5:29.8.3-1~...`."""
    epoch, upstream = _apt_parts(pinned)
    by_upstream: dict[str, list[str]] = {}
    for version in set(available):
        their_epoch, their_upstream = _apt_parts(version)
        if their_epoch == epoch:
            by_upstream.setdefault(their_upstream, []).append(version)
    return [v for line in newer_patches(upstream, by_upstream) for v in sorted(by_upstream[line])]


def apt_versions(packages_file: str, package: str) -> list[str]:
    """Every `Version:` of `package` in an apt `Packages` file."""
    versions = []
    for stanza in re.split(r"\n\s*\n", packages_file):
        fields = dict(re.findall(r"^([A-Za-z0-9-]+):[ \t]*(.*)$", stanza, re.M))
        if fields.get("Package") == package and "Version" in fields:
            versions.append(fields["Version"])
    return versions


# --- references ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Repository:
    """An OCI repository: `registry` (host[:port]) and `name` (`library/redis`)."""

    registry: str
    name: str

    @classmethod
    def parse(cls, reference: str) -> Repository:
        """`redis`, `docker.io/library/redis`, `oci://public.ecr.aws/x/y`, `127.0.0.1:5000/x`."""
        reference = reference.removeprefix("oci://")
        first, _, rest = reference.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            registry, name = first, rest
        else:
            registry, name = "docker.io", reference
        if registry == "docker.io" and "/" not in name:
            name = f"library/{name}"
        return cls(registry, name)

    @property
    def base_url(self) -> str:
        """Docker Hub's API host is registry-1.docker.io; a loopback registry speaks HTTP."""
        host = "registry-1.docker.io" if self.registry == "docker.io" else self.registry
        loopback = host.split(":")[0] in ("127.0.0.1", "localhost", "[::1]")
        return f"{'http' if loopback else 'https'}://{host}"


def _challenge(header: str) -> dict[str, str] | None:
    """The parameters of a `Bearer realm="...",service="...",scope="..."` challenge."""
    scheme, _, params = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return dict(re.findall(r'(\w+)="([^"]*)"', params))


class OciClient:
    """OCI distribution API reads with the anonymous token flow (one token per registry+scope)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self._tokens: dict[tuple[str, str], str] = {}

    def _request(self, method: str, repo: Repository, url: str, accept: str) -> Response:
        scope = f"repository:{repo.name}:pull"
        headers = {"Accept": accept}
        token = self._tokens.get((repo.registry, scope))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        resp = self.fetcher.request(method, url, headers)
        if resp.status != 401:
            return resp
        challenge = _challenge(resp.header("www-authenticate"))
        if challenge is None or "realm" not in challenge:
            raise CheckError(f"{repo.registry}: 401 without a bearer challenge")
        token = self._token(challenge, scope)
        self._tokens[(repo.registry, scope)] = token
        return self.fetcher.request(method, url, {**headers, "Authorization": f"Bearer {token}"})

    def _token(self, challenge: dict[str, str], scope: str) -> str:
        query = {"service": challenge["service"]} if "service" in challenge else {}
        query["scope"] = challenge.get("scope", scope)
        realm = challenge["realm"]
        url = f"{realm}{'&' if '?' in realm else '?'}{urllib.parse.urlencode(query)}"
        resp = self.fetcher.request("GET", url, {"Accept": "application/json"})
        if resp.status != 200:
            raise CheckError(f"token endpoint {realm} answered {resp.status}")
        try:
            doc = json.loads(resp.body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError) as exc:
            raise CheckError(f"token endpoint {realm}: not a token document") from exc
        if not isinstance(token, str) or not token:
            raise CheckError(f"token endpoint {realm}: no token in the answer")
        return token

    def manifest(self, repo: Repository, reference: str) -> str | None:
        """The manifest digest of `reference` (`""` if the registry names none); None if absent."""
        url = f"{repo.base_url}/v2/{repo.name}/manifests/{urllib.parse.quote(reference, safe=':')}"
        resp = self._request("HEAD", repo, url, MANIFEST_ACCEPT)
        if resp.status == 405:  # a registry without HEAD
            resp = self._request("GET", repo, url, MANIFEST_ACCEPT)
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise CheckError(f"{repo.registry}/{repo.name}:{reference}: manifest answered {resp.status}")
        return resp.header("docker-content-digest")

    def tags(self, repo: Repository) -> list[str]:
        """Every tag, following `Link: <...>; rel="next"` pages; [] if the repository is unknown."""
        url: str | None = f"{repo.base_url}/v2/{repo.name}/tags/list"
        tags: list[str] = []
        for _ in range(MAX_TAG_PAGES):
            if url is None:
                return tags
            resp = self._request("GET", repo, url, "application/json")
            if resp.status == 404:
                return tags
            if resp.status != 200:
                raise CheckError(f"{repo.registry}/{repo.name}: tag list answered {resp.status}")
            try:
                page = json.loads(resp.body).get("tags") or []
            except (ValueError, AttributeError) as exc:
                raise CheckError(f"{repo.registry}/{repo.name}: tag list is not JSON") from exc
            tags += [t for t in page if isinstance(t, str)]
            url = _next_page(url, resp.header("link"))
        raise CheckError(f"{repo.registry}/{repo.name}: more than {MAX_TAG_PAGES} pages of tags")


def _next_page(url: str, link: str) -> str | None:
    match = re.search(r'<([^>]+)>[ \t]*;[ \t]*rel="?next"?', link)  # regex-guard: search (Link: next)
    return urllib.parse.urljoin(url, match[1]) if match else None


# --- the checker ---------------------------------------------------------------------------

@dataclass
class Checker:
    fetcher: Fetcher
    _indexes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    _packages: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.oci = OciClient(self.fetcher)

    def check(self, pin: Pin) -> Result:
        try:
            if pin.kind is Kind.chart:
                return self._chart(pin)
            if pin.kind is Kind.image:
                return self._image(pin)
            if pin.kind in (Kind.manifest, Kind.file):
                return self._manifest(pin)
            return self._package(pin)
        except (FetchError, CheckError) as exc:
            return Result(pin, Status.error, str(exc))

    def check_all(self, pins: Iterable[Pin]) -> Iterator[Result]:
        for pin in pins:
            yield self.check(pin)

    def _chart(self, pin: Pin) -> Result:
        if pin.origin.startswith("oci://"):
            # Helm stores `+` of a SemVer build as `_` in an OCI tag
            versions = self.oci.tags(Repository.parse(pin.origin))
            versions = [v.replace("_", "+") for v in versions]
            where = f"the tags of {pin.origin}"
        else:
            index = self._index(pin.origin)
            versions = index.get(pin.name, [])
            if not versions:
                return Result(pin, Status.missing, f"chart {pin.name!r} is not in {pin.origin}/index.yaml")
            where = f"{pin.origin}/index.yaml"
        newer = tuple(newer_patches(pin.version, versions))
        if pin.version not in versions:
            return Result(pin, Status.missing, f"{pin.version} is not in {where}", newer)
        return Result(pin, Status.ok, f"in {where}", newer)

    def _index(self, repo_url: str) -> dict[str, list[str]]:
        """chart name -> versions of a Helm repository's index.yaml (fetched once per run)."""
        repo_url = repo_url.rstrip("/")
        if repo_url not in self._indexes:
            url = repo_url + "/index.yaml"
            resp = self.fetcher.request("GET", url, {"Accept": "application/x-yaml, text/yaml, */*"})
            if resp.status != 200:
                raise CheckError(f"{url} answered {resp.status}")
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            try:
                doc = yaml.load(resp.body, Loader=loader)  # noqa: S506 (a safe loader)
                entries = doc["entries"]
                self._indexes[repo_url] = {
                    name: [str(e["version"]) for e in charts if isinstance(e, dict) and "version" in e]
                    for name, charts in entries.items()}
            except (yaml.YAMLError, TypeError, KeyError, AttributeError) as exc:
                raise CheckError(f"{url} is not a Helm repository index") from exc
        return self._indexes[repo_url]

    def _image(self, pin: Pin) -> Result:
        if not pin.version:
            return Result(pin, Status.unchecked, pin.source)
        repo = Repository.parse(pin.origin)
        digest = self.oci.manifest(repo, pin.version)
        newer = tuple(newer_patches(pin.version, self.oci.tags(repo)))
        if digest is None:
            return Result(pin, Status.missing, f"{pin.image_ref} does not resolve", newer)
        return Result(pin, Status.ok, f"{pin.image_ref} resolves", newer, digest or None)

    def _manifest(self, pin: Pin) -> Result:
        resp = self.fetcher.request("GET", pin.origin)
        if resp.status == 404:
            return Result(pin, Status.missing, f"{pin.origin} answered 404")
        if resp.status != 200:
            raise CheckError(f"{pin.origin} answered {resp.status}")
        digest = "sha256:" + hashlib.sha256(resp.body).hexdigest()
        if pin.digest is None:
            return Result(pin, Status.ok, "fetched; no sha256 pinned", digest=digest)
        if digest.removeprefix("sha256:") != pin.digest.removeprefix("sha256:"):
            return Result(pin, Status.mismatch, f"sha256 differs from the pinned {pin.digest}",
                          digest=digest)
        return Result(pin, Status.ok, "sha256 matches", digest=digest)

    def _package(self, pin: Pin) -> Result:
        if pin.apt is None:
            return Result(pin, Status.unchecked, "no exact apt version or index to check it in")
        versions: list[str] = []
        errors: list[str] = []
        for url in pin.apt.indexes:
            try:
                versions += apt_versions(self._packages_file(url), pin.apt.package)
            except (FetchError, CheckError) as exc:
                errors.append(str(exc))
        newer = tuple(newer_apt_patches(pin.version, versions))
        where = " or ".join(pin.apt.indexes)
        if pin.version in versions:
            return Result(pin, Status.ok, f"{pin.apt.package}={pin.version} in {where}", newer)
        if errors:
            raise CheckError("; ".join(errors))
        return Result(pin, Status.missing, f"{pin.apt.package}={pin.version} is not in {where}", newer)

    def _packages_file(self, url: str) -> str:
        """An apt `Packages` file (gunzipped for `.gz`), fetched once per run."""
        if url not in self._packages:
            resp = self.fetcher.request("GET", url)
            if resp.status != 200:
                raise CheckError(f"{url} answered {resp.status}")
            try:
                body = gzip.decompress(resp.body) if url.endswith(".gz") else resp.body
                self._packages[url] = body.decode("utf-8", errors="replace")
            except (OSError, EOFError) as exc:
                raise CheckError(f"{url}: not gzip") from exc
        return self._packages[url]

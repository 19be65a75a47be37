"""A loopback server answering like a Helm repository and an OCI registry, from tests/fixtures/pins.

Registry paths (`/v2/...`) demand a bearer token: without one they answer 401 with a challenge
naming `/token`, as ghcr.io, registry-1.docker.io and public.ecr.aws do; `/token` hands out a
token per scope. Every request is recorded (method, path, Authorization) for assertions.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pins"
INDEX_ACCEPT = "application/vnd.oci.image.index.v1+json"


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None


@dataclass
class PinsServer:
    url: str
    host: str
    requests: list[Recorded] = field(default_factory=list)


def _token(scope: str) -> str:
    return f"anon-{scope}"


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              head: bool = False) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _answer(self, head: bool) -> None:
        state: PinsServer = self.server.state  # type: ignore[attr-defined]
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        state.requests.append(Recorded(self.command, self.path, self.headers.get("Authorization")))
        if url.path == "/charts/index.yaml":
            return self._send(200, (FIXTURES / "charts" / "index.yaml").read_bytes(), head=head)
        if url.path == "/garbage/index.yaml":
            return self._send(200, b"entries: [not, a, mapping", head=head)
        if url.path == "/manifests/tigera-operator.yaml":
            return self._send(200, (FIXTURES / "manifests" / "tigera-operator.yaml").read_bytes(),
                              head=head)
        if url.path == "/apt/flat/Packages":
            return self._send(200, (FIXTURES / "apt" / "flat-Packages").read_bytes(), head=head)
        if url.path in ("/apt/noble-updates/Packages.gz", "/apt/noble-security/Packages.gz"):
            pocket = url.path.split("/")[2].removeprefix("noble-")
            body = gzip.compress((FIXTURES / "apt" / f"{pocket}-Packages").read_bytes(), mtime=0)
            return self._send(200, body, head=head)
        if url.path == "/apt/not-gzip/Packages.gz":
            return self._send(200, b"Package: openvpn", head=head)
        if url.path == "/token":
            body = json.dumps({"token": _token(query.get("scope", "")), "expires_in": 300})
            return self._send(200, body.encode(), {"Content-Type": "application/json"}, head)
        if url.path.startswith("/v2/"):
            return self._registry(state, url.path, query, head)
        return self._send(404, b"not found", head=head)

    def _registry(self, state: PinsServer, path: str, query: dict[str, str], head: bool) -> None:
        match = re.fullmatch(r"/v2/(?P<name>.+)/(?P<what>tags/list|manifests/(?P<ref>[^/]+))", path)
        if match is None:
            return self._send(404, head=head)
        scope = f"repository:{match['name']}:pull"
        if self.headers.get("Authorization") != f"Bearer {_token(scope)}":
            challenge = (f'Bearer realm="{state.url}/token",service="loopback-registry",'
                         f'scope="{scope}"')
            return self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                              {"WWW-Authenticate": challenge}, head)
        unknown = b'{"errors":[{"code":"NAME_UNKNOWN"}]}'
        if match["ref"] is not None:
            digests = json.loads((FIXTURES / "registry" / "manifests.json").read_text())
            digest = digests.get(match["name"], {}).get(match["ref"])
            if digest is None or INDEX_ACCEPT not in self.headers.get("Accept", ""):
                return self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', head=head)
            return self._send(200, b"{}", {"Docker-Content-Digest": digest,
                                           "Content-Type": INDEX_ACCEPT}, head)
        if match["name"] == "library/redis":  # two pages, the second behind a relative Link
            if "last" not in query:
                return self._send(200, (FIXTURES / "registry" / "library-redis-tags-1.json").read_bytes(),
                                  {"Link": '</v2/library/redis/tags/list?last=8.2.4&n=5>; rel="next"'})
            return self._send(200, (FIXTURES / "registry" / "library-redis-tags-2.json").read_bytes())
        if match["name"] == "aws-ec2/helm/aws-node-termination-handler":
            return self._send(200, (FIXTURES / "registry" / "nth-chart-tags.json").read_bytes())
        return self._send(404, unknown, head=head)


@contextmanager
def serve() -> Iterator[PinsServer]:
    """The server on 127.0.0.1 (a free port) for the duration of the block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    host = f"127.0.0.1:{httpd.server_address[1]}"
    state = PinsServer(url=f"http://{host}", host=host)
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

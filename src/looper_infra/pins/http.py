"""The checker's only door to the network: `Fetcher.request`, one HTTP exchange.

`UrllibFetcher` is the real one (stdlib, HTTPS verified, redirects followed); tests pass the
same class pointed at a loopback server, or any object with this method.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Protocol

#: seconds per request
TIMEOUT = 20.0
USER_AGENT = "looper-pins/1"


class FetchError(Exception):
    """The exchange did not happen: DNS, connection, TLS, timeout."""


@dataclass(frozen=True)
class Response:
    status: int
    #: header names lowercased
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class Fetcher(Protocol):
    def request(self, method: str, url: str, headers: dict[str, str] | None = None) -> Response: ...


class UrllibFetcher:
    """HTTP(S) with the standard library; any HTTP status is a `Response`, never an exception."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        #: hosts that could not be reached in this run: later requests fail at once, so a dead
        #: registry costs one timeout, not one per pin
        self._unreachable: dict[str, str] = {}

    def request(self, method: str, url: str, headers: dict[str, str] | None = None) -> Response:
        if not url.startswith(("https://", "http://")):
            raise FetchError(f"{url}: not an http(s) URL")
        host = urllib.parse.urlsplit(url).netloc
        if host in self._unreachable:
            raise FetchError(f"{method} {url}: {host} was unreachable earlier in this run "
                             f"({self._unreachable[host]})")
        req = urllib.request.Request(url, method=method,  # noqa: S310 (scheme checked above)
                                     headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return Response(resp.status, _lower(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as exc:
            body = exc.read() if exc.fp is not None else b""
            return Response(exc.code, _lower(exc.headers.items() if exc.headers else []), body)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            self._unreachable[host] = str(reason)
            raise FetchError(f"{method} {url}: {reason}") from exc


def _lower(items: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in items:  # type: ignore[attr-defined]
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out

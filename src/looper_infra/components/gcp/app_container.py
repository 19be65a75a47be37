"""The application container a Looper VM runs: image, port, health endpoint, environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AppContainer:
    image: str
    port: int = 8080
    #: HTTP path the health checks (Caddy, load balancer, autohealing) request
    health_path: str = "/health"
    #: non-secret environment: it is rendered into the instance metadata
    env: Mapping[str, str] = field(default_factory=dict)

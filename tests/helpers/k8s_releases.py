"""Extra rows of the Kubernetes release table, for tests of skew and upgrade logic only.

These pins are made up (apt revisions ``-9.9``): the real table holds only verified rows.
"""

from __future__ import annotations

from types import MappingProxyType

import pytest

from looper_infra.bootstrap import k8s_versions

FAKE_ROWS = {
    "1.34": k8s_versions.K8sRelease("1.34.9", "1.34.9-9.9", "1.34.8", "1.34.8-9.9", "1.34.0", "00" * 32),
    "1.35": k8s_versions.K8sRelease("1.35.7", "1.35.7-9.9", "1.35.6", "1.35.6-9.9", "1.35.0", "00" * 32),
    "1.37": k8s_versions.K8sRelease("1.37.2", "1.37.2-9.9", "1.37.1", "1.37.1-9.9", "1.37.0", "00" * 32),
}


def with_fake_releases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Add 1.34, 1.35 and 1.37 rows around the real 1.36 one."""
    rows = {**k8s_versions.RELEASES, **FAKE_ROWS}
    monkeypatch.setattr(k8s_versions, "RELEASES", MappingProxyType(dict(sorted(rows.items()))))

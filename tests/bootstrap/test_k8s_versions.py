"""The Kubernetes node pins agree: the apt repositories are per minor, so the Kubernetes
version, its apt build and CRI-O's must all be of that minor."""

from __future__ import annotations

import re

from looper_infra.bootstrap import k8s_versions as pins


def test_kubernetes_and_crio_pins_are_of_the_repositories_minor() -> None:
    assert re.fullmatch(r"1\.[0-9]+", pins.KUBERNETES_MINOR)
    assert re.fullmatch(rf"{re.escape(pins.KUBERNETES_MINOR)}\.(0|[1-9][0-9]*)", pins.KUBERNETES_VERSION)
    assert re.fullmatch(rf"{re.escape(pins.KUBERNETES_VERSION)}-[0-9.]+", pins.KUBERNETES_APT_VERSION)
    assert pins.CRIO_VERSION.startswith(f"{pins.KUBERNETES_MINOR}.")
    assert re.fullmatch(rf"{re.escape(pins.CRIO_VERSION)}-[0-9.]+", pins.CRIO_APT_VERSION)
    assert f"/v{pins.KUBERNETES_MINOR}/" in pins.KUBERNETES_APT_URL
    assert f"/v{pins.KUBERNETES_MINOR}/" in pins.CRIO_APT_URL
    assert re.fullmatch(r"v[0-9]+\.[0-9]+\.[0-9]+", pins.CALICO_VERSION)
    assert pins.CALICO_VERSION in pins.CALICO_OPERATOR_MANIFEST_URL

"""The Kubernetes node pins agree: the apt repositories are per minor, so the Kubernetes
version, its apt build and CRI-O's must all be of that minor."""

from __future__ import annotations

import re

import pytest

from helpers.k8s_releases import with_fake_releases
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
    assert pins.CALICO_VERSION in pins.CALICO_CRDS_MANIFEST_URL
    for sha256 in (pins.CALICO_OPERATOR_MANIFEST_SHA256, pins.CALICO_CRDS_MANIFEST_SHA256,
                   pins.CRICTL_SHA256):
        assert re.fullmatch(r"[0-9a-f]{64}", sha256)


def test_the_release_table_is_the_default_row_and_only_verified_rows() -> None:
    assert list(pins.RELEASES) == [pins.KUBERNETES_MINOR]  # 1.36 only: no guessed pins
    default = pins.release(pins.KUBERNETES_VERSION)
    assert (default.version, default.apt_version, default.crio_version, default.crio_apt_version) == (
        pins.KUBERNETES_VERSION, pins.KUBERNETES_APT_VERSION, pins.CRIO_VERSION, pins.CRIO_APT_VERSION)
    assert (default.crictl_version, default.crictl_sha256) == (pins.CRICTL_VERSION, pins.CRICTL_SHA256)
    assert default.kubernetes_apt_url == pins.KUBERNETES_APT_URL
    assert default.kubernetes_apt_key_url == pins.KUBERNETES_APT_KEY_URL
    assert default.crio_apt_url == pins.CRIO_APT_URL and default.crio_apt_key_url == pins.CRIO_APT_KEY_URL
    for minor, row in pins.RELEASES.items():  # every row is of its repositories' minor
        assert row.minor == minor
        assert row.apt_version.startswith(row.version + "-") and row.crio_version.startswith(minor + ".")
        assert row.crio_apt_version.startswith(row.crio_version + "-")
        assert row.crictl_version.startswith(minor + ".")  # cri-tools follows the minor


def test_lookups_refuse_unknown_and_malformed_releases() -> None:
    with pytest.raises(KeyError, match=r"1\.37\.0 has no verified pins .*supported: 1\.36\.5"):
        pins.release("1.37.0")
    with pytest.raises(KeyError, match="no verified pins"):
        pins.release("1.36.4")  # another patch of a known minor is not a row
    for bad in ("v1.36.5", "1.36", "1.36.05", "2.0.0", "1.36.5\n"):
        with pytest.raises(ValueError, match="is not a Kubernetes release"):
            pins.minor_of(bad)
    assert pins.minor_number("1.36.5") == pins.minor_number("1.36") == 36
    assert pins.previous_release("1.36.5") is None  # no 1.35 row


def test_previous_release_with_a_second_row(monkeypatch: pytest.MonkeyPatch) -> None:
    with_fake_releases(monkeypatch)
    previous = pins.previous_release("1.37.2")
    assert previous is not None and previous.version == pins.KUBERNETES_VERSION
    assert pins.release("1.37.2").kubernetes_apt_url == "https://pkgs.k8s.io/core:/stable:/v1.37/deb/"

"""The Kubernetes name rules the components check their args against."""

from __future__ import annotations

import pytest

from looper_infra.components.k8s.names import is_data_key, is_label, is_subdomain


@pytest.mark.parametrize(("name", "label", "subdomain"), [
    ("looper", True, True), ("looper-data", True, True), ("a" * 63, True, True), ("a" * 64, False, True),
    ("app.example", False, True), ("-looper", False, False), ("Looper", False, False),
    ("looper\n", False, False), ("", False, False), ("a." * 126 + "a", False, True),
    ("a." * 127 + "a", False, False),
])
def test_labels_and_subdomains(name: str, label: bool, subdomain: bool) -> None:
    assert (is_label(name), is_subdomain(name)) == (label, subdomain)


@pytest.mark.parametrize(("key", "ok"), [("password", True), ("envoy.json", True), ("tls_crt-1", True),
                                         ("a/b", False), ("", False), ("key\n", False)])
def test_secret_data_keys(key: str, ok: bool) -> None:
    assert is_data_key(key) is ok

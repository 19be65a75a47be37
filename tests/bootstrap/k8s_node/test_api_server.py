"""The API server's Secrets encryption config and audit policy (control planes only)."""

from __future__ import annotations

from helpers.k8s_node import (
    SPECS,
    docs,
)
from looper_infra.bootstrap.k8s_node import (
    render_k8s_audit_policy,
    render_k8s_encryption_config,
)


def test_encryption_config_and_audit_policy() -> None:
    spec = SPECS["k8s_control_plane_init"]
    enc = docs(render_k8s_encryption_config(spec))["EncryptionConfiguration"]
    assert enc["apiVersion"] == "apiserver.config.k8s.io/v1"
    [rule] = enc["resources"]
    assert rule["resources"] == ["secrets"]
    assert [next(iter(p)) for p in rule["providers"]] == ["secretbox", "identity"]
    assert rule["providers"][0]["secretbox"]["keys"][0]["secret"] == "@@encryption_key@@"
    policy = docs(render_k8s_audit_policy(spec))["Policy"]
    assert policy["apiVersion"] == "audit.k8s.io/v1"

    def level(group: str, resource: str, verb: str) -> str:
        for rule in policy["rules"]:  # first match wins
            if "nonResourceURLs" in rule:
                continue
            if "verbs" in rule and verb not in rule["verbs"]:
                continue
            if "resources" in rule and not any(
                r["group"] == group and resource in r["resources"] for r in rule["resources"]
            ):
                continue
            return str(rule["level"])
        raise AssertionError("no rule matched")

    assert level("", "secrets", "create") == "Metadata"  # never a secret's body
    assert level("", "configmaps", "update") == "Metadata"
    assert level("authentication.k8s.io", "tokenreviews", "create") == "Metadata"
    assert level("apps", "deployments", "patch") == "Request"
    assert level("", "pods", "get") == "Metadata"

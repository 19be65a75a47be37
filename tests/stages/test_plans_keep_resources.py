"""Refactors replace nothing: every example stack plans the resources it planned before.

The baseline is each example stack's `looper plan --json` from before issue 13 (the
architecture step, tests/fixtures/plans/before-issue-13/README.md). A resource that now lives
under another component has another URN; `pulumi up` would delete and recreate it (a database,
a VPN, a cluster) unless it answers to its old URN through an alias. So: every old resource is
found under its old URN or an alias, with the same type, name and inputs, and nothing is added
but the new grouping components (they hold no cloud object and no inputs).
"""

from __future__ import annotations

import pytest

from helpers.plans import EXAMPLE_STACKS, baseline, example_plan, match, normalize

#: resources added on purpose since the baseline, by (type, name): issue 14 (control-plane DR)
ADDED = frozenset({
    ("tls:index/privateKey:PrivateKey", "pki-etcd-ca-key"),
    ("tls:index/selfSignedCert:SelfSignedCert", "pki-etcd-ca"),
})


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_same_resources_same_inputs(stack: str) -> None:
    old, old_outputs = baseline(stack)
    plan = example_plan(stack)
    m = match(old, plan)
    assert not m.lost, f"{stack}: resources that would be deleted (no alias to the old URN): {m.lost}"
    assert not m.ambiguous, f"{stack}: old URNs claimed by several resources: {m.ambiguous}"
    current = {r.urn: r for r in plan.resources}
    added = [urn for urn in m.new if (current[urn].custom or current[urn].inputs)
             and (current[urn].type, current[urn].name) not in ADDED]
    assert not added, f"{stack}: resources the baseline does not have: {added}"
    for old_urn, new_urn in m.found.items():
        before, now = old[old_urn], current[new_urn]
        assert (now.type, now.name) == (before.type, before.name), old_urn
        assert normalize(now.inputs) == normalize(dict(before.inputs)), f"{stack}: {old_urn} inputs"
    assert normalize(plan.outputs) == normalize(old_outputs), f"{stack}: stack outputs changed"


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_moved_resources_carry_aliases(stack: str) -> None:
    """Every URN that changed is reachable through the plan's own alias list (the engine's rule)."""
    old, _ = baseline(stack)
    plan = example_plan(stack)
    aliases = plan.aliases()
    moved = {o: n for o, n in match(old, plan).found.items() if o != n}
    for old_urn, new_urn in moved.items():
        assert old_urn in aliases[new_urn], (old_urn, new_urn)
    document = {r["urn"]: r for r in plan.to_document()["resources"]}
    assert all(old_urn in document[new_urn]["aliases"] for old_urn, new_urn in moved.items())


def test_normalize_masks_only_key_material() -> None:
    """Two runs differ only in keys and certificates; the program's own values are compared."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    assert normalize({"a": [pem, "sha256:" + "ab" * 32]}) == {"a": ["<CERTIFICATE>\n", "sha256:<hash>"]}
    assert normalize("port 6443") == "port 6443"
    assert normalize('{"kid": "abc_-1", "e": "AQAB"}') == '{"kid": "<jwk>", "e": "AQAB"}'

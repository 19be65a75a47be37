"""The VPN user-name rule: a certificate CN and a ccd file name, nothing a shell, a path or
the OpenVPN config would split."""

from __future__ import annotations

import pytest

from looper_infra.facts.openvpn import user_problem


@pytest.mark.parametrize("user", ["alice", "a", "bob.smith", "ops_1", "x-y", "a" + "b" * 62])
def test_good_names(user: str) -> None:
    assert user_problem(user) is None


@pytest.mark.parametrize("user", [
    "", "Alice", "1alice", "-x", "a b", "../etc", "a/b", "alice\n", "alice\nbob", "a" * 64, 7, None,
])
def test_bad_names_say_why(user: object) -> None:
    assert user_problem(user) == (
        f"{user!r} is not a user name (lowercase letter first, then a-z 0-9 . _ -, <= 63)"
    )

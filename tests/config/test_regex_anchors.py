"""Issue 18 item 1: `$` in a Python regex matches before a final newline, so anchored validators
must end with `\\Z` (or use fullmatch). This guards the whole class across src/looper_infra."""
import pathlib
import re

from looper_infra.components.k8s import names

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "looper_infra"
_DOLLAR_ANCHORED = re.compile(r're\.(?:compile|match|search)\(r?"\^[^"]*\$"')


def test_no_anchored_validator_ends_with_dollar() -> None:
    offenders = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if _DOLLAR_ANCHORED.search(line)]
    assert offenders == []


def test_k8s_name_with_trailing_newline_is_rejected() -> None:
    assert names.is_label("kafka")
    assert not names.is_label("kafka\n")

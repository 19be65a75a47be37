"""Issue 18 item 1: every regex validator matches in full.

`$` in a Python regex matches before a final newline and `re.match` anchors only the start, so
validators must use `re.fullmatch` or end with `\\Z`. The guard (tests/helpers/regex_guard.py)
reads src/looper_infra and the Python bootstrap templates with `ast`, so non-raw strings,
patterns split over lines or built with `+` / f-strings, unanchored `match`/`search`, Unicode
`\\d`/`\\w`/`\\s` and pydantic `pattern=` are all seen."""
from __future__ import annotations

import pathlib
import re

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpers.regex_guard import scan
from looper_infra.components.k8s import names

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "looper_infra"
_DOLLAR_ANCHORED = re.compile(r're\.(?:compile|match|search)\(r?"\^[^"]*\$"')
#: Offences left on purpose, by file and the start of the reason: one non-validator. An entry
#: that matches nothing fails the test.
_KNOWN = {
    # parses timestamps the API server writes (not a validator); a change here would change the
    # control planes' user data, so it waits for a change that needs one
    ("bootstrap/templates/k8s-node-cp.py.j2", "re.compile pattern '(\\\\d{4}-"),
}


def _python_template(text: str) -> str:
    """A `*.py.j2` template as Python: Jinja expressions become a name, tags and comments go
    (their newlines kept, so line numbers still point into the template)."""
    text = re.sub(r"\{\{.*?\}\}", "X", text)
    return re.sub(r"\{%.*?%\}|\{#.*?#\}", lambda m: "\n" * m[0].count("\n"), text, flags=re.S)


def _offences() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(SRC.rglob("*.py")) + sorted(SRC.rglob("*.py.j2")):
        text = path.read_text(encoding="utf-8")
        source = _python_template(text) if path.suffix == ".j2" else text
        for problem in scan(source):
            _, _, why = problem.partition(": ")
            found.add((str(path.relative_to(SRC)), why))
    return found


def test_no_regex_validator_matches_partially() -> None:
    offences = _offences()

    def known(offence: tuple[str, str], entry: tuple[str, str]) -> bool:
        return offence[0] == entry[0] and offence[1].startswith(entry[1])

    assert [o for o in sorted(offences) if not any(known(o, k) for k in _KNOWN)] == []
    assert [k for k in sorted(_KNOWN) if not any(known(o, k) for o in offences)] == [], (
        "fixed: remove these entries from _KNOWN")


def test_no_anchored_validator_ends_with_dollar() -> None:
    offenders = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if _DOLLAR_ANCHORED.search(line)]
    assert offenders == []


def test_k8s_name_with_trailing_newline_is_rejected() -> None:
    assert names.is_label("kafka")
    assert not names.is_label("kafka\n")


@pytest.mark.parametrize(("source", "reason"), [
    ('P = re.compile("^[a-z]+$")', "uses $"),  # not raw
    ('P = re.compile(r"^[a-z]+"\n               r"(-[0-9]+)?$")', "uses $"),  # split over lines
    ('P = re.compile(r"^" + PART + r"$")', "uses $"),  # concatenation
    ('P = re.compile(rf"^{PART}-[a-z]+$")', "uses $"),  # f-string
    ('P = re.compile(r"^(?=.{1,9}$)[a-z]+\\Z")', "uses $"),  # $ inside a lookahead
    ('ok = re.match(r"^[a-z]+", v)', "prefix only"),
    ('ok = re.match(r"[a-z]+\\Z", v)', "prefix only"),
    ('P = re.compile(r"[a-z]+")\nok = P.match(v)', "prefix only"),
    ('ok = re.search(r"[a-z]+", v)', "substring only"),
    ('P = re.compile(r"-[a-z]{6}\\Z")\nok = P.search(v)', "substring only"),
    ('P = re.compile(r"^[0-9]{3}-\\d+\\Z")', "Unicode class"),
    ('ok = re.fullmatch(r"\\w+", v)', "Unicode class"),
    ('x: str = Field(pattern=re.compile(r"^[a-z]+$"))', "not a string literal"),
    ('x: str = Field(pattern=PATTERN)', "not a string literal"),
    ('x: str = Field(pattern=r"[a-z]+")', "must be anchored"),
    ('X = constr(pattern=r"^[0-9]{12}")', "must be anchored"),
    ('X = Annotated[str, StringConstraints(pattern=r"^\\d{12}$")]', "Unicode class"),
    ('model_config = ConfigDict(regex_engine="python-re")', "python-re"),
    ('model_config = {"regex_engine": "python-re"}', "python-re"),
])
def test_guard_catches_planted_bad_pattern(source: str, reason: str) -> None:
    problems = scan(source)
    assert any(reason in p for p in problems), problems


@pytest.mark.parametrize("source", [
    'P = re.compile(r"^[a-z]+\\Z")\nok = P.match(v)',
    'P = re.compile(r"\\A[a-z]+\\Z")\nok = P.search(v)',
    'P = re.compile(r"[a-z]+")\nok = P.fullmatch(v)',
    'ok = re.fullmatch(r"[a-z$]+", v)',  # $ in a character class is a literal
    'ok = re.fullmatch(r"[0-9]+\\$", v)',  # an escaped $
    'ok = re.search(r"@[a-z]+", v)  # regex-guard: search (a part of a longer text)',
    'P = re.compile(r"^[0-9]+-\\d+\\Z", re.ASCII)',
    'x: str = Field(pattern=r"^[a-z]+$")',
    'X = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]',
])
def test_guard_passes_full_matches(source: str) -> None:
    assert scan(source) == []


def test_pydantic_pattern_semantics_the_guard_relies_on() -> None:
    """pydantic's default (Rust) engine reads `$` as the end of the text; Python's engine, which a
    compiled pattern or `regex_engine="python-re"` selects, accepts a trailing newline."""
    class Rust(BaseModel):
        x: str = Field(pattern=r"^[a-z]+$")

    class PythonRe(BaseModel):
        model_config = ConfigDict(regex_engine="python-re")
        x: str = Field(pattern=r"^[a-z]+$")

    assert Rust(x="abc").x == "abc"
    with pytest.raises(ValidationError):
        Rust(x="abc\n")
    assert PythonRe(x="abc\n").x == "abc\n"

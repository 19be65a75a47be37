"""A static check that every regex validator in a Python source matches in full (issue 18 item 1).

Python's ``$`` matches before a final newline and ``re.match`` anchors only the start, so a
validator written ``re.match(r"^[a-z]+$", v)`` accepts ``"abc\\n"``. The check reads the source
with ``ast`` (so non-raw strings, implicit concatenation over several lines, ``+`` and f-strings
are seen as the pattern Python builds) and reports, as ``line: reason``:

- a Python pattern (``re.compile/match/search/fullmatch``) with an unescaped ``$`` outside a
  character class: write ``\\Z``;
- ``re.match(p, …)`` / ``P.match(…)`` with a pattern that is not ``^…\\Z`` (or ``\\A…\\Z``):
  use ``fullmatch``;
- ``re.search`` / ``P.search`` on a pattern not anchored at both ends, unless the call's line
  carries ``# regex-guard: search`` with a reason (a search that is not a validation);
- ``\\d \\w \\s`` (and their negations) in a validator pattern without ``re.ASCII``: both
  engines read them as Unicode classes, so ``\\d{12}`` accepts Arabic-Indic digits;
- a pydantic ``pattern=`` (``Field``, ``constr``, ``StringConstraints``) that is not a plain
  string literal ``^…$``: pydantic's default Rust engine reads ``$`` as the end of the text
  (it rejects ``\\Z``), but a compiled ``re.Pattern`` switches the field to Python's engine;
- ``regex_engine="python-re"`` in a model config, for the same reason.
"""

from __future__ import annotations

import ast
import re

_PYDANTIC_CALLS = frozenset({"Field", "constr", "StringConstraints"})
_UNICODE_CLASSES = frozenset("dwsDWS")
_HOLE = "\x00"  # stands for a part of a pattern built at run time (an f-string value, a call)
_SEARCH_OK = "# regex-guard: search"


def _fold(node: ast.AST) -> str | None:
    """The pattern text an expression builds; run-time parts become _HOLE; None if not a string."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return "".join(_fold(v) or _HOLE if isinstance(v, ast.Constant) else _HOLE for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _fold(node.left), _fold(node.right)
        return None if left is None and right is None else (left or _HOLE) + (right or _HOLE)
    if isinstance(node, (ast.Call, ast.Name, ast.Attribute, ast.Subscript)):
        return _HOLE
    return None


def _tokens(pattern: str) -> list[tuple[str, bool]]:
    """(token, inside a character class) for each token: an escape is one token."""
    out: list[tuple[str, bool]] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append((pattern[i:i + 2], in_class))
            i += 2
            continue
        if in_class and ch == "]":
            in_class = False
        elif not in_class and ch == "[":
            out.append((ch, False))
            in_class = True
            i += 1
            if i < len(pattern) and pattern[i] == "^":
                out.append(("^", True))
                i += 1
            if i < len(pattern) and pattern[i] == "]":
                out.append(("]", True))
                i += 1
            continue
        out.append((ch, in_class))
        i += 1
    return out


def _dollar(pattern: str) -> bool:
    return any(tok == "$" and not in_class for tok, in_class in _tokens(pattern))


def _unicode_class(pattern: str) -> bool:
    return any(len(tok) == 2 and tok[0] == "\\" and tok[1] in _UNICODE_CLASSES for tok, _ in _tokens(pattern))


def _full(pattern: str) -> bool:
    return pattern.startswith(("^", "\\A")) and pattern.endswith("\\Z") and not pattern.endswith("\\\\Z")


def _ascii_flag(call: ast.Call) -> bool:
    flags = [*call.args[1:], *(k.value for k in call.keywords if k.arg == "flags")]
    return any("ASCII" in ast.unparse(f) or re.search(r"\bre\.A\b", ast.unparse(f)) for f in flags)


def _re_call(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "re":
        return f.attr
    return None


def scan(source: str) -> list[str]:
    """Offending lines of one Python module, as 'LINE: reason'."""
    tree = ast.parse(source)
    lines = source.splitlines()
    compiled: dict[str, tuple[str | None, bool]] = {}
    for node in ast.walk(tree):
        if (isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call)
                and _re_call(node.value) == "compile" and node.value.args):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    compiled[t.id] = (_fold(node.value.args[0]), _ascii_flag(node.value))
    problems: list[str] = []

    def report(node: ast.AST, why: str) -> None:
        problems.append(f"{node.lineno}: {why}")  # type: ignore[attr-defined]

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        kind = _re_call(node)
        if kind in ("compile", "match", "search", "fullmatch") and node.args:
            pattern = _fold(node.args[0])
            if pattern is None:
                continue
            if _dollar(pattern):
                report(node, f"re.{kind} pattern {pattern!r} uses $ (matches before a final newline): "
                             "use \\Z")
            if kind != "compile" and _unicode_class(pattern) and not _ascii_flag(node):
                report(node, f"re.{kind} pattern {pattern!r} uses a Unicode class (\\d \\w \\s): "
                             "write it out")
            if kind == "compile" and _unicode_class(pattern) and not _ascii_flag(node):
                report(node, f"re.compile pattern {pattern!r} uses a Unicode class (\\d \\w \\s): write it "
                             "out or pass re.ASCII")
            if kind == "match" and not _full(pattern):
                report(node, f"re.match with {pattern!r} checks a prefix only: use re.fullmatch")
            if kind == "search" and not _full(pattern) and _SEARCH_OK not in line:
                report(node, f"re.search with {pattern!r} checks a substring only: use re.fullmatch")
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in compiled:
            pattern, _ = compiled[f.value.id]
            if pattern is None:
                continue
            if f.attr == "match" and not _full(pattern):
                report(node, f"{f.value.id}.match with {pattern!r} checks a prefix only: use fullmatch")
            if f.attr == "search" and not _full(pattern) and _SEARCH_OK not in line:
                report(node, f"{f.value.id}.search with {pattern!r} checks a substring only: use fullmatch")
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        for kw in node.keywords:
            if (kw.arg == "regex_engine" and isinstance(kw.value, ast.Constant)
                    and kw.value.value == "python-re"):
                report(node, "regex_engine='python-re' makes pydantic's $ match before a final newline")
            if kw.arg != "pattern" or name not in _PYDANTIC_CALLS:
                continue
            value = kw.value
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                report(node, f"{name}(pattern=…) is not a string literal: a compiled pattern runs on "
                             "Python's engine, where $ matches before a final newline")
                continue
            pattern = value.value
            if not (pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$")):
                report(node, f"{name}(pattern={pattern!r}) must be anchored ^…$ (pydantic searches)")
            if _dollar(pattern[:-1]):
                report(node, f"{name}(pattern={pattern!r}) has a $ before its end")
            if _unicode_class(pattern):
                report(node, f"{name}(pattern={pattern!r}) uses a Unicode class (\\d \\w \\s): write it out")
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if (isinstance(k, ast.Constant) and k.value == "regex_engine"
                        and isinstance(v, ast.Constant) and v.value == "python-re"):
                    report(node, "regex_engine='python-re' makes pydantic's $ match before a final newline")
    return sorted(set(problems), key=lambda p: int(p.split(":")[0]))

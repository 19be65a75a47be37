"""The shared rendering module: escaping filters, compiled templates kept between runs, and
the cloud-config embedding check every renderer relies on."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.app_vm import DEFAULT_SPEC
from looper_infra.bootstrap import render, render_app_vm_cloud_config
from looper_infra.bootstrap.render import File, check_embedding, environment, macro_file

TEXT = st.text(st.characters(blacklist_categories=("Cs",)))


def apply(name: str, value: object, *args: Any) -> str:
    result = environment().filters[name](value, *args)
    assert isinstance(result, str)
    return result


@settings(max_examples=60, deadline=None)
@given(value=TEXT)
def test_every_filter_gives_the_value_back_in_its_syntax(value: str) -> None:
    assert shlex.split(apply("shq", value)) == [value]
    assert yaml.safe_load(apply("yaml_str", value)) == value
    assert yaml.safe_load(apply("compose_str", value)) == value.replace("$", "$$")
    # as in a cloud-config: a key at column 2, the next key after the block
    document = "a:\n  key: " + apply("yaml_block", value, 2) + "\n  next: 1\n"
    assert yaml.safe_load(document) == {"a": {"key": value, "next": 1}}


@pytest.mark.parametrize("value", ["\n", "\n\n", "a\n\n", "a\n\n\n", "\n\nb", " x\n", "x\r\ny", ""])
def test_blank_lines_and_odd_ends_survive_a_yaml_block(value: str) -> None:
    document = "key: " + apply("yaml_block", value, 0) + "\n"
    assert yaml.safe_load(document) == {"key": value}


def test_yaml_block_nests_at_the_given_column() -> None:
    document = "a:\n  b: " + apply("yaml_block", "line 1\nline 2\n", 2) + "\n"
    assert document == "a:\n  b: |\n    line 1\n    line 2\n"
    assert yaml.safe_load(document) == {"a": {"b": "line 1\nline 2\n"}}


def test_caddy_tokens_are_quoted_and_cannot_span_lines() -> None:
    assert apply("caddy_str", 'say "hi" \\ there') == '"say \\"hi\\" \\\\ there"'
    with pytest.raises(ValueError, match="cannot span lines"):
        apply("caddy_str", "a\nb")


def test_templates_render_strictly_without_autoescape() -> None:
    env = environment()
    assert env.autoescape is False
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ missing }}").render()
    assert render.render("openvpn-server.units.j2", paths={}, spec=None) == ""  # macros only


def test_macro_files_end_in_one_newline() -> None:
    assert macro_file(lambda: "\n\n[Unit]\nA=b\n\n\n") == File("[Unit]\nA=b\n", "0644")
    assert macro_file(lambda: "x", "0755").mode == "0755"


def test_embedding_check_refuses_what_does_not_read_back() -> None:
    document = '#cloud-config\nwrite_files:\n  - path: /a\n    content: "x\\n"\n'
    check_embedding(document, {"/a": "x\n"})
    with pytest.raises(RuntimeError, match="embedding of /a"):
        check_embedding(document, {"/a": "y\n"})
    with pytest.raises(RuntimeError, match="embedding of /b"):
        check_embedding(document, {"/b": ""})
    with pytest.raises(RuntimeError, match="must start with '#cloud-config'"):
        check_embedding(document.removeprefix("#cloud-config\n"), {})


def test_compiled_templates_are_reused_and_render_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jinja2

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    compiled: list[str | None] = []
    original = jinja2.Environment.compile

    def spy(self: jinja2.Environment, source: Any, name: str | None = None,
            *args: Any, **kwargs: Any) -> Any:
        compiled.append(name)
        return original(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    environment.cache_clear()
    try:
        first = render_app_vm_cloud_config(DEFAULT_SPEC)
        assert "app-vm.cloud-config.yaml.j2" in compiled
        stored = list((tmp_path / "looper" / "jinja2").iterdir())
        assert len(stored) >= len(set(compiled)) > 0
        compiled.clear()
        environment.cache_clear()  # a new process, as far as jinja2 can tell
        assert render_app_vm_cloud_config(DEFAULT_SPEC) == first
        assert compiled == []
    finally:
        environment.cache_clear()

"""How every bootstrap renderer turns a template into text: one jinja2 environment, the
escaping filters, and the cloud-config assembly checks.

Templates are shell, YAML, systemd, Caddyfile, OpenVPN and Python text, never HTML, so
nothing is escaped implicitly; each value is escaped explicitly for the syntax it lands in:

==================  ==================================================================
filter              output
==================  ==================================================================
``shq``             one shell word (``shlex.quote``)
``yaml_str``        a one-line YAML double-quoted scalar
``compose_str``     the same with ``$`` doubled (compose never interpolates)
``yaml_block(n)``   the scalar of a mapping key at column ``n`` (literal block or quoted),
                    as PyYAML writes it
``caddy_str``       a double-quoted Caddyfile token
==================  ==================================================================

A cloud-config embeds each file as a YAML scalar; :func:`check_embedding` parses the
rendered document and proves every file reads back byte for byte.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
import yaml

from looper_infra.core import cache

# --- escaping filters ----------------------------------------------------------------------


class _BlockDumper(yaml.CSafeDumper):
    """Multi-line strings as literal blocks where YAML allows it, else double-quoted.

    libyaml's emitter (PyYAML's wheels ship it) is much faster than the pure-Python one for
    the embedded scripts; the golden tests and `cloud-init schema` check what it writes.
    """


def _represent_str(dumper: yaml.CSafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    )


_BlockDumper.add_representer(str, _represent_str)

_WIDE = 1 << 30  # never fold long lines


def _yaml_str(value: object) -> str:
    """A YAML double-quoted scalar (one line) holding exactly ``str(value)``."""
    dumped = yaml.safe_dump(str(value), default_style='"', width=_WIDE, allow_unicode=True)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def _compose_str(value: object) -> str:
    """A YAML scalar for a compose file: ``$`` doubled so compose never interpolates."""
    return _yaml_str(str(value).replace("$", "$$"))


@functools.lru_cache(maxsize=256)
def _yaml_block(value: str, indent: int) -> str:
    """``value`` as the scalar of a mapping key that starts at column ``indent``.

    PyYAML chooses the style (literal block when the text allows it, double-quoted
    otherwise) and writes the content two columns deeper than the key.
    """
    dumped = yaml.dump(
        {"k": value}, Dumper=_BlockDumper, width=_WIDE, allow_unicode=True, sort_keys=False
    )
    # the line break that ends the mapping (the template writes its own); blank lines before
    # it are content (a "|+" block keeps them)
    dumped = dumped.removesuffix("...\n").removeprefix("k: ").removesuffix("\n")
    first, *rest = dumped.split("\n")
    pad = " " * indent
    return "\n".join([first, *((pad + line) if line else line for line in rest)])


def _caddy_str(value: object) -> str:
    """A double-quoted Caddyfile token."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"{text!r}: a Caddyfile token cannot span lines")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _shq(value: object) -> str:
    return shlex.quote(str(value))


# --- the environment -------------------------------------------------------------------------


class PrivateBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept between runs in the user's cache (looper_infra.core.cache).

    jinja2 keys each template by a hash of its name and checks the checksum of its source (and
    the Python version is in the stored format), so an edited template or another interpreter
    compiles afresh. Unlike jinja2's FileSystemBytecodeCache, every file is opened through
    core.cache: checked directories, no symbolic link followed, and any error turns the cache
    off instead of failing the run; an entry that does not decode is compiled again and replaced.
    """

    NAME = "jinja2"

    @staticmethod
    def entry(bucket: jinja2.bccache.Bucket) -> str:
        return f"__jinja2_{bucket.key}.cache"  # FileSystemBytecodeCache's name for it

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = cache.read(self.NAME, self.entry(bucket))
        if data is None:
            return
        try:
            bucket.bytecode_from_string(data)
        except Exception:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        cache.write(self.NAME, self.entry(bucket), bucket.bytecode_to_string())


@functools.cache
def environment() -> jinja2.Environment:
    """The one jinja2 environment of ``bootstrap/templates`` (strict, no autoescape)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("looper_infra.bootstrap", "templates"),
        bytecode_cache=PrivateBytecodeCache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 (escaping is explicit, per output syntax)
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        shq=_shq,
        yaml_str=_yaml_str,
        compose_str=_compose_str,
        yaml_block=_yaml_block,
        caddy_str=_caddy_str,
    )
    return env


def render(template: str, **context: Any) -> str:
    """``template`` rendered with ``context``, as the template writes it."""
    return environment().get_template(template).render(**context)


def render_document(template: str, **context: Any) -> str:
    """``template`` rendered with ``context``, ending in exactly one newline."""
    return render(template, **context).rstrip("\n") + "\n"


def template_module(template: str, context: Mapping[str, Any]) -> Any:
    """The template as a module: its macros, called by name (systemd units and the like)."""
    return environment().get_template(template).make_module(dict(context))


# --- cloud-config assembly -------------------------------------------------------------------


@dataclass(frozen=True)
class File:
    """One ``write_files`` entry of a cloud-config: its text and its octal mode."""

    content: str
    mode: str


def macro_file(macro: Callable[[], object], mode: str = "0644") -> File:
    """A file whose text is what a template macro writes (one trailing newline)."""
    return File(str(macro()).strip("\n") + "\n", mode)


def check_embedding(text: str, files: Mapping[str, str]) -> None:
    """Fail loudly if the cloud-config does not read back as the files it was built from."""
    if not text.startswith("#cloud-config\n"):
        raise RuntimeError("rendered user data must start with '#cloud-config'")
    doc = yaml.load(text, Loader=yaml.CSafeLoader)  # libyaml: same result, much faster
    written = {
        entry["path"]: entry["content"]
        for entry in (doc.get("write_files") or [])
        if isinstance(entry, dict) and "path" in entry
    }
    for path, content in files.items():
        if written.get(path) != content:
            raise RuntimeError(f"embedding of {path} in the cloud-config does not round-trip")

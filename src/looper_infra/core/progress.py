"""Progress for long steps, on a terminal only: never in JSON output, pipes or files.

`with step("running checkov"):` shows a rich spinner on stderr while the block runs when
stderr is a terminal and `quiet` is false (pass `quiet=as_json`); otherwise it prints nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


def shown(stream: TextIO | None = None, *, quiet: bool = False) -> bool:
    """Whether progress is shown on `stream` (default stderr): a terminal, and not quiet."""
    stream = sys.stderr if stream is None else stream
    return not quiet and stream.isatty()


@contextmanager
def step(message: str, *, quiet: bool = False, stream: TextIO | None = None) -> Iterator[None]:
    """Show `message` with a spinner on stderr (or `stream`) while the block runs, on a TTY only."""
    stream = sys.stderr if stream is None else stream
    if not shown(stream, quiet=quiet):
        yield
        return
    from rich.console import Console

    with Console(file=stream, force_terminal=True).status(message):
        yield

"""Consoles for human output: nothing is cut when stdout is a pipe or a file.

rich sizes a console to 80 columns when it is not writing to a terminal and ellipsizes table
cells ("gcp-no-internet-…"). `console()` gives such a console `COLUMNS` (when set) or a wide
`PIPE_WIDTH`, and `table()` makes every column fold long values onto the next line rather than
cut them, so a CA hash or an API endpoint always appears whole in piped output.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

#: Width of human output written to a pipe or a file when `COLUMNS` is not set.
PIPE_WIDTH = 200


def console(*, stderr: bool = False) -> Console:
    """A rich console for stdout (or stderr): terminal width on a TTY, else COLUMNS or PIPE_WIDTH."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty():
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH
    return Console(stderr=stderr, width=width)


def table(*columns: str | dict[str, Any], **kwargs: Any) -> Table:
    """A rich table whose columns wrap (and fold words longer than the column), never cut."""
    from rich.table import Table

    result = Table(**kwargs)
    for column in columns:
        spec = {"header": column} if isinstance(column, str) else dict(column)
        result.add_column(**{"overflow": "fold", "no_wrap": False, **spec})
    return result

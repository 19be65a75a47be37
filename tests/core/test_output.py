"""Human output is never cut: pipes get COLUMNS or a wide console, table cells fold."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from looper_infra.core import output


def test_a_pipe_gets_a_wide_console_and_columns_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.delenv("COLUMNS", raising=False)
    assert output.console().width == output.PIPE_WIDTH
    monkeypatch.setenv("COLUMNS", "123")
    assert output.console().width == 123


def test_a_cell_longer_than_its_column_is_folded_not_ellipsized() -> None:
    value = "sha256:" + "ab" * 32
    table = output.table("name", "value")
    table.add_row("ca_cert_hash", value)
    buffer = io.StringIO()
    Console(file=buffer, width=40).print(table)
    text = buffer.getvalue()
    assert "…" not in text
    folded = "".join(line.split("│")[2].strip() for line in text.splitlines() if "│" in line)
    assert value in folded

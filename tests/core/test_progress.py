"""Progress for long steps: a spinner on a terminal, nothing in pipes, files or JSON mode."""

from __future__ import annotations

import io

from looper_infra.core.progress import shown, step


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_printed_when_the_stream_is_not_a_terminal() -> None:
    pipe = io.StringIO()
    with step("running checkov", stream=pipe):
        pass
    assert pipe.getvalue() == "" and not shown(pipe)


def test_a_terminal_sees_the_message_while_the_step_runs() -> None:
    tty = FakeTerminal()
    with step("running checkov on v4-dev", stream=tty):
        pass
    assert "running checkov on v4-dev" in tty.getvalue() and shown(tty)


def test_json_mode_is_quiet_even_on_a_terminal() -> None:
    tty = FakeTerminal()
    with step("planning", stream=tty, quiet=True):
        pass
    assert tty.getvalue() == "" and not shown(tty, quiet=True)

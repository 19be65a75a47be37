"""Config errors: every problem, each with its field path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """Raised once with every issue found; never partially."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        noun = "error" if len(issues) == 1 else "errors"
        lines = "\n".join(f"  {i}" for i in issues)
        super().__init__(f"invalid stack config {source} ({len(issues)} {noun}):\n{lines}")

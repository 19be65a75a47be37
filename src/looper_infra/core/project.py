"""Where the Pulumi project and its stack files live."""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT_NAME = "looper"


def _is_project_dir(path: Path) -> bool:
    f = path / "Pulumi.yaml"
    if not f.is_file():
        return False
    try:
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and doc.get("name") == PROJECT_NAME


def find_project_dir(start: Path | None = None) -> Path | None:
    """The looper Pulumi project: the nearest one above `start`, else the one this package ships in."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if _is_project_dir(candidate):
            return candidate
    shipped = Path(__file__).resolve().parents[2]
    return shipped if _is_project_dir(shipped) else None


def default_stack(stage: str) -> str:
    return f"{stage}-dev"


def stack_file(project_dir: Path, stack: str) -> Path:
    """`Pulumi.<stack>.yaml` of the project; a name Pulumi would refuse is a ConfigError."""
    # config (above core) owns the rule; imported here, when a name becomes a path, not at import
    from looper_infra.config.stack_names import require_stack_name

    path = project_dir / f"Pulumi.{stack}.yaml"
    require_stack_name(stack, str(path))
    return path


def stage_named_by(path: Path) -> str:
    """The stage a stack file names (`looper:stage`): what every verb plans when STAGE is left out.

    Raises ConfigError (the file's own errors, or `looper:stage` missing), never exits.
    """
    from looper_infra.config.errors import ConfigError, ConfigIssue
    from looper_infra.config.loader import read_stack_document

    doc = read_stack_document(path)
    values = doc.get("config") if isinstance(doc, dict) else None
    named = values.get("looper:stage") if isinstance(values, dict) else None
    if not isinstance(named, str) or not named:
        raise ConfigError(str(path), [ConfigIssue("looper:stage", "not set, so the stage cannot be "
                                                                  "inferred; give STAGE")])
    return named

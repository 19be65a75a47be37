"""Stack names are checked as Pulumi checks them wherever looper reads one, and a stack whose name
disagrees with its file or `looper:env` is planned with a warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from helpers.plans import ROOT, example_values
from looper_infra import cli
from looper_infra.config import ConfigError, validate_mapping
from looper_infra.config.stack_names import env_of_stack, stack_name_problem, stack_warnings
from looper_infra.core.project import stack_file
from looper_infra.engine.plan import plan_stage
from looper_infra.reports import docs
from looper_infra.stages import load_program

runner = CliRunner()

#: every verb that takes --stack, with what else it needs
VERBS = [["plan", "v1"], ["check", "v1"], ["cost", "v1"], ["export", "v1"], ["diagram", "v1"],
         ["preview", "v1"], ["up", "v1", "--yes"], ["destroy", "v1", "--yes"]]


def test_pulumis_own_wording_and_position() -> None:
    # pulumi/pulumi sdk/go/common/tokens/stack_name_test.go
    assert stack_name_problem("my bad") == (
        "invalid stack name 'my bad': a stack name may only contain alphanumeric, hyphens, "
        "underscores, or periods: invalid character ' ' at position 2")
    assert "invalid character '%' at position 5" in (stack_name_problem("mybad%") or "")
    assert "invalid character '/' at position 3" in (stack_name_problem("foo/bar") or "")
    assert stack_name_problem("") == "a stack name may not be empty"
    assert "cannot exceed 100 characters" in (stack_name_problem("x" * 101) or "")
    for ok in ("my-stack", "stack", "s-92", "stack_foo", "foo_bar_123", "v4.dev"):
        assert stack_name_problem(ok) is None


@pytest.mark.parametrize("verb", VERBS, ids=lambda v: v[0])
@pytest.mark.parametrize("name", ["v1 dev", "../v1-dev", "v1-dev\n", "x" * 101])
def test_every_verb_refuses_a_bad_stack_name_with_exit_2(
    verb: list[str], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import looper_infra.engine.deploy as deploy

    called: list[object] = []
    monkeypatch.setattr(deploy, "run", lambda *a, **k: called.append(a))
    result = runner.invoke(cli.app, [*verb, "--stack", name, "--project-dir", str(ROOT)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("--stack: ") and "stack name" in result.output
    assert "Traceback" not in result.output and called == []


@pytest.mark.parametrize("verb", [v for v in VERBS if v[0] in
                                  ("plan", "check", "cost", "export", "diagram")],
                         ids=lambda v: v[0])
def test_every_offline_verb_refuses_a_bad_stack_file_name(verb: list[str], tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.v1:dev.yaml"
    path.write_text((ROOT / "Pulumi.v1-dev.yaml").read_text())
    result = runner.invoke(cli.app, [*verb, "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "invalid character ':' at position 2" in result.output and "--config" in result.output
    assert "Traceback" not in result.output


def test_vpn_profile_refuses_a_bad_stack_name() -> None:
    result = runner.invoke(cli.app, ["vpn-profile", "alice", "--stack", "v4 prod"])
    assert result.exit_code == 2, result.output
    assert "--stack: invalid stack name 'v4 prod'" in result.output


def test_stack_file_path_refuses_a_name_pulumi_refuses(tmp_path: Path) -> None:
    assert stack_file(tmp_path, "v4-dev") == tmp_path / "Pulumi.v4-dev.yaml"
    with pytest.raises(ConfigError) as err:
        stack_file(tmp_path, "../../etc/v4")
    assert "invalid character '/' at position 2" in str(err.value)


def test_plan_refuses_a_stack_name_that_would_end_up_in_urns() -> None:
    cfg = validate_mapping(example_values("v1-dev"), "test")
    with pytest.raises(ConfigError) as err:
        plan_stage(cfg, load_program("v1"), stack="v1 dev")
    assert "invalid stack name 'v1 dev'" in str(err.value)


def _docs_root(root: Path, name: str, data: bytes) -> Path:
    """A project root with the v1-dev example and one more stack file `name` holding `data`."""
    root.mkdir()
    (root / "Pulumi.v1-dev.yaml").write_bytes((ROOT / "Pulumi.v1-dev.yaml").read_bytes())
    (root / name).write_bytes(data)
    return root


def test_docs_generator_reads_stack_files_like_the_cli(tmp_path: Path) -> None:
    good = (ROOT / "Pulumi.v1-dev.yaml").read_bytes()
    assert docs.example_stacks(_docs_root(tmp_path / "ok", "Pulumi.v1-prod.yaml", good), "v1") == [
        "Pulumi.v1-dev.yaml", "Pulumi.v1-prod.yaml"]
    cases = {
        "bad-name": ("Pulumi.v1 x.yaml", good, "invalid stack name 'v1 x'"),
        "latin1": ("Pulumi.v1-x.yaml", good + "# caf\u00e9\n".encode("latin-1"), "not UTF-8 text"),
        "twice": ("Pulumi.v1-y.yaml", b"config:\n  looper:stage: v1\n  looper:stage: v2\n",
                  "config.looper:stage: key written twice (lines 2 and 3)"),
    }
    for sub, (name, data, message) in cases.items():
        with pytest.raises(ConfigError) as err:
            docs.example_stacks(_docs_root(tmp_path / sub, name, data), "v1")
        assert message in str(err.value), sub


# --- a stack whose name disagrees with its file or looper:env ------------------------------------

def test_env_part_of_a_stack_name() -> None:
    assert env_of_stack("v4-dev", "v4") == "dev"
    assert env_of_stack("v4-platform-prod", "v4-platform") == "prod"
    assert env_of_stack("v4-platform-prod", "v4") == "platform-prod"
    assert env_of_stack("mystack", "v4") is None and env_of_stack("v4-", "v4") is None


def test_no_warning_when_name_file_and_env_agree() -> None:
    assert stack_warnings("v4-dev", "v4", "dev", "v4-dev") == []
    assert stack_warnings("custom", "v4", "dev") == []  # not <stage>-<env>: nothing to compare


def _plan_json(*args: str) -> tuple[dict[str, object], str]:
    result = runner.invoke(cli.app, ["plan", "v1", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.output


def test_stack_option_against_another_stacks_file_is_a_warning_in_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.v1-staging.yaml"
    path.write_text((ROOT / "Pulumi.v1-dev.yaml").read_text())  # looper:env: dev
    doc, _ = _plan_json("--stack", "v1-dev", "--config", str(path))
    assert doc["stack"] == "v1-dev"
    assert doc["warnings"] == ["stack 'v1-dev' is planned from the stack file of 'v1-staging' "
                               "(Pulumi.v1-staging.yaml): its resources are labelled as stack "
                               "'v1-dev'"]
    human = runner.invoke(cli.app, ["plan", "v1", "--stack", "v1-dev", "--config", str(path)])
    assert human.exit_code == 0
    assert "warning: stack 'v1-dev' is planned from the stack file of 'v1-staging'" in human.output


def test_stack_named_for_another_env_is_a_warning_in_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.v1-prod.yaml"
    path.write_text((ROOT / "Pulumi.v1-dev.yaml").read_text())  # looper:env: dev
    doc, _ = _plan_json("--config", str(path))
    assert doc["stack"] == "v1-prod"
    assert doc["warnings"] == ["stack 'v1-prod' is named for env 'prod' but looper:env is 'dev': "
                               "its resources are named and tagged 'dev'"]


def test_both_disagreements_and_the_other_verbs_say_so_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.v1-dev.yaml"
    path.write_text((ROOT / "Pulumi.v1-dev.yaml").read_text())
    result = runner.invoke(cli.app, ["cost", "v1", "--json", "--stack", "v1-prod",
                                     "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stack"] == "v1-prod"
    assert "warning: stack 'v1-prod' is planned from the stack file of 'v1-dev'" in result.stderr
    assert "warning: stack 'v1-prod' is named for env 'prod' but looper:env is 'dev'" in result.stderr


def test_the_example_stacks_plan_without_a_stack_warning() -> None:
    for path in sorted(ROOT.glob("Pulumi.*-*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))["config"]
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        assert stack_warnings(stack, doc["looper:stage"], doc["looper:env"], stack) == [], stack


def test_plain_pulumi_run_of_the_program_warns_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pulumi up` without looper runs program.main: the same warning, in Pulumi's own output."""
    from looper_infra import program
    from looper_infra.engine.mocks import MockContext
    from looper_infra.engine.plan import run_program

    values = example_values("v1-dev")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(
        {f"looper:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}))
    gcp = values["gcp"]
    plan = run_program(program.main, stage="v1", stack="v1-prod",
                       context=MockContext(project=gcp["project"], region=gcp["region"],
                                           zone=gcp["zone"]))
    assert plan.resources
    assert ("stack 'v1-prod' is named for env 'prod' but looper:env is 'dev': its resources are "
            "named and tagged 'dev'") in plan.warnings

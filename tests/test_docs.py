"""Every command has help text and is described in the README (as sqlite-utils does)."""

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from curate.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands():
    group = typer.main.get_command(app)
    out = []
    for name, cmd in group.commands.items():
        sub = getattr(cmd, "commands", None)
        if sub:
            out.extend((f"{name} {s}", c) for s, c in sub.items())
        else:
            out.append((name, cmd))
    return out


COMMANDS = _commands()


def test_the_pipeline_commands_exist():
    names = {n.split()[0] for n, _ in COMMANDS}
    assert {"ingest", "preannotate", "studio", "push", "pull", "export", "evaluate"} <= names


@pytest.mark.parametrize("name,cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help_and_is_in_readme(name, cmd):
    assert (cmd.help or "").strip(), f"`curate {name}` has no help text"
    assert f"curate {name}" in README, f"`curate {name}` is not described in README.md"
    result = CliRunner().invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_readme_names_the_two_setup_commands_and_ci_runs_the_test_one():
    assert "make demo" in README and "make test" in README
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci

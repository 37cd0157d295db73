"""Every command has help text and is described in the README (as sqlite-utils does)."""

import inspect
import re
from pathlib import Path

import pytest
import typer.main
from rich.text import Text
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


def _all_commands():
    """Every command and group, the root included, as (argv, click command)."""
    group = typer.main.get_command(app)
    out = [([], group)]
    for name, cmd in group.commands.items():
        out.append(([name], cmd))
        for sub, c in (getattr(cmd, "commands", None) or {}).items():
            out.append(([name, sub], c))
    return out


ALL = _all_commands()


def _help(argv):
    result = CliRunner().invoke(app, [*argv, "--help"], env={"COLUMNS": "3000"})
    assert result.exit_code == 0, result.output
    return result.output


def _paragraphs(text: str) -> list[str]:
    """Each paragraph of a docstring as one line (list items on their own lines)."""
    out = []
    for para in inspect.cleandoc(text).split("\n\n"):
        for item in re.split(r"\n(?=\s*(?:[-*]|\d+\.)\s)", para):
            out.append(" ".join(item.split()))
    return out


@pytest.mark.parametrize("argv,cmd", ALL, ids=[" ".join(a) or "curate" for a, _ in ALL])
def test_help_shows_flags_as_flags(argv, cmd):
    """A boolean flag takes no value: its help row shows no type (`--resume`, not
    `--resume <bool>`, which reads as if `--resume true` were the way to give it)."""
    out = _help(argv)
    assert "<bool>" not in out and "BOOLEAN" not in out
    flags = [p.opts[0] for p in cmd.params if getattr(p, "is_flag", False)] + ["--help"]
    for flag in flags:
        (row,) = [line for line in out.splitlines() if f" {flag} " in line]
        assert not re.search(rf"{re.escape(flag)}(\s+--no-\S+)?(\s+-\w)?\s+<", row), row


@pytest.mark.parametrize("argv,cmd", ALL, ids=[" ".join(a) or "curate" for a, _ in ALL])
def test_help_paragraphs_are_not_cut_where_the_docstring_wraps(argv, cmd):
    """On a wide terminal each help paragraph is one line, as the docstring means it
    (typer keeps a docstring's line breaks after the first paragraph)."""
    callback = None if hasattr(cmd, "commands") else cmd.callback
    source = (inspect.getdoc(callback) if callback else None) or cmd.help or ""
    assert source.strip()
    lines = {" ".join(line.split()) for line in _help(argv).splitlines()}
    for para in _paragraphs(source):
        plain = Text.from_markup(para).plain
        assert plain in lines, f"`curate {' '.join(argv)} --help` cuts: {plain[:80]!r}"

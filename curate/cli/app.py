"""The typer app and the one place where library errors become an exit code."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from typer.core import TyperCommand, TyperGroup

from curate.errors import CurateError, NothingChanged


class _FlagsReadAsFlags:
    """Help that shows a boolean flag as ``--resume``, not ``--resume <bool>``, and an
    argument as ``SOURCE`` in the usage line.

    Typer's rich help prints every option's type, a flag's too, as if it took a value.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
            elif param.param_type_name == "argument" and param.metavar is None:
                # Usage reads `curate ingest [OPTIONS] {SOURCE}`, an argument as a name to fill in.
                param.metavar = param.name.upper()
        return params


class CurateCommand(_FlagsReadAsFlags, TyperCommand):
    """A command whose help reads flags as flags."""


class CurateGroup(_FlagsReadAsFlags, TyperGroup):
    """A command group whose help reads flags as flags."""


app = typer.Typer(
    cls=CurateGroup,
    name="curate",
    help="Turn news articles into a versioned gold dataset of entities and quotes, "
    "with Label Studio in the loop, and score extractors against it.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
# No emoji codes: a message naming ``file.jsonl:100:`` showed line 100 as an emoji.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line and return the Exit to raise."""
    err_console.print(
        f"[bold red]error:[/] {escape(str(message))}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code)


def warn(message: str) -> None:
    """Print one ``warning: <message>`` line on stderr (the message is text, not markup)."""
    err_console.print(
        f"[yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True
    )


#: At most this many ``skipped`` lines are printed; the rest are counted in one line.
MAX_PROBLEM_LINES = 50


def print_skipped(problems: Any) -> None:
    """One ``skipped <where>: <what>`` line on stderr per problem (said once, not twice),
    the first :data:`MAX_PROBLEM_LINES`, then how many more there are (a file that is not
    JSONL at all is a screenful, not one line per line)."""
    problems = list(problems)
    for p in problems[:MAX_PROBLEM_LINES]:
        text = str(p).removesuffix("; skipped")
        err_console.print(f"[yellow]skipped[/] {escape(text)}", highlight=False, soft_wrap=True)
    if len(problems) > MAX_PROBLEM_LINES:
        more = len(problems) - MAX_PROBLEM_LINES
        err_console.print(
            f"[yellow]skipped[/] {more} more like these (the first {MAX_PROBLEM_LINES} are above)",
            highlight=False,
        )


def plural(n: int, word: str) -> str:
    """``1 article``, ``2 articles``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def skipped(n: int) -> typer.Exit:
    """The exit (code 1) of a command that wrote what it could but met ``n`` problems."""
    return fail(f"{n} problem(s), listed above; the rest went through. Fix them and run again")


def handle_errors(fn: F) -> F:
    """Turn a CurateError raised by the library into one clear line and exit code 1;
    Ctrl-C into one line and exit code 130 (as a shell reports SIGINT); a release that
    found nothing changed (:class:`~curate.errors.NothingChanged`) into its line and 0."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NothingChanged as e:  # a release with nothing new: said, not a failure
            console.print(str(e), highlight=False, markup=False, soft_wrap=True)
            return None
        except CurateError as e:
            raise fail(str(e)) from None
        except OSError as e:  # a path the system refused (a folder given for a file, ...)
            raise fail(os_message(e)) from None
        except KeyboardInterrupt as e:
            err_console.print(
                e.args[0] if isinstance(e, Interrupted) else INTERRUPTED,
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


# Outputs are written whole or not at all (atomic writes, temporary folders).
INTERRUPTED = "interrupted: nothing half-written is left; run the command again to redo it"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C carrying the line its command wants said (raised by :func:`on_interrupt`)."""


@contextmanager
def on_interrupt(line: str | Callable[[], str]) -> Iterator[None]:
    """Within the block, Ctrl-C makes :func:`handle_errors` print ``line`` (not the
    generic one) before exit code 130: a command says what its outputs hold. A callable
    is asked at the interrupt (a line that counts what was kept by then)."""
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(line() if callable(line) else line) from None


def os_message(e: OSError) -> str:
    """One line for an OSError: the path it names (the final one of a rename), why, and
    what to do."""
    path = e.filename2 if e.filename2 is not None else e.filename
    why = (e.strerror or str(e)).lower()
    if path is None:
        return f"{why}; check the paths and permissions given"
    if isinstance(e, IsADirectoryError):
        return f"{path}: is a folder; give a file name (e.g. {Path(path) / 'out.jsonl'})"
    return f"{path}: {why}; give another path or fix its permissions"


# A line that starts a list item or a table row keeps its line break in help text.
_KEEP_BREAK = re.compile(r"\s*([-*•]|\d+[.)]|\|)\s")


def reflow(text: str | None) -> str | None:
    """Help text with each paragraph on one line, so the terminal wraps it.

    Typer's rich help keeps a docstring's line breaks after the first paragraph, which
    cuts sentences where the source wrapped them. Paragraphs are separated by blank
    lines; list items (``- ``, ``1. ``) keep their own lines.
    """
    if not text:
        return text
    out = []
    for para in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in para.splitlines():
            if lines and not _KEEP_BREAK.match(line):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.rstrip())
        out.append("\n".join(lines))
    return "\n\n".join(out)


def finish(typer_app: typer.Typer) -> None:
    """Give every command of ``typer_app`` (and its sub-apps) curate's help conventions:
    flags shown as flags, paragraphs reflowed. Called once all commands are registered."""
    for cmd in typer_app.registered_commands:
        if cmd.cls in (None, TyperCommand):
            cmd.cls = CurateCommand
        cmd.help = reflow(cmd.help or inspect.getdoc(cmd.callback))
    for group in typer_app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        if not isinstance(sub.info.cls, type) or sub.info.cls is TyperGroup:
            sub.info.cls = CurateGroup  # none given (typer's Default placeholder) or typer's
        sub.info.help = reflow(sub.info.help if isinstance(sub.info.help, str) else None)
        finish(sub)


def command(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """``@command()`` registers a CLI command on ``app`` with curate's error handling."""

    def deco(fn: F) -> F:
        app.command(*args, **kwargs)(handle_errors(fn))
        return fn

    return deco


def _version(value: bool) -> None:
    if value:
        from curate import __version__

        console.print(f"curate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Turn news articles into a versioned gold dataset of entities and quotes."""


@contextmanager
def shown(progress: Progress) -> Iterator[Progress]:
    """Show ``progress`` for the block; it stays after a finished run (unless made
    ``transient``) and is cleared when the block fails, so an error's line is not preceded
    by a stale bar. Off a terminal (a log, a pipe) a cleared bar leaves nothing, not the
    blank line rich writes for it."""
    console = progress.console
    quiet = console.quiet
    try:
        with progress:
            try:
                yield progress
            except BaseException:
                progress.live.transient = True
                raise
            finally:
                if progress.live.transient and not console.is_terminal:
                    console.quiet = True
    finally:
        console.quiet = quiet

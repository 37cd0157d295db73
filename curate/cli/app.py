"""The typer app and the one place where library errors become an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from curate.errors import CurateError

app = typer.Typer(
    name="curate",
    help="Turn news articles into a versioned gold dataset of entities and quotes, "
    "with Label Studio in the loop, and score extractors against it.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn a CurateError raised by the library into one clear line and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CurateError as e:
            raise fail(str(e)) from None

    return wrapper  # type: ignore[return-value]


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

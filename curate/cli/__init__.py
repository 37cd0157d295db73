"""Command-line interface: thin typer commands over the library.

Each module in this package registers its commands on :data:`curate.cli.app.app`;
they are imported here in a fixed order so ``curate --help`` lists them in pipeline order.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import signal
import sys
import threading
from types import FrameType


def _interrupted_while_starting(signum: int, frame: FrameType | None) -> None:
    # Nothing is open or written yet: one line, not a traceback through spaCy's imports
    # (loading the commands takes seconds).
    sys.stderr.write("interrupted while starting; nothing was done\n")
    sys.stderr.flush()
    os._exit(130)


# Not where Ctrl-C is ignored (a background job of a script): it stays ignored.
_quiet = (
    threading.current_thread() is threading.main_thread()
    and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
)
_previous = signal.signal(signal.SIGINT, _interrupted_while_starting) if _quiet else None

from curate.cli.app import app, finish  # noqa: E402

_ORDER = [
    "ingest", "preannotate", "studio", "push", "pull", "adjudicate", "export", "train", "evaluate",
]  # fmt: skip


def _load_commands() -> None:
    found = {m.name for m in pkgutil.iter_modules(__path__) if m.name != "app"}
    for name in [n for n in _ORDER if n in found] + sorted(found - set(_ORDER)):
        importlib.import_module(f"{__name__}.{name}")
    finish(app)


try:
    _load_commands()
finally:
    if _quiet:
        signal.signal(signal.SIGINT, _previous)


def main() -> None:
    app()


__all__ = ["app", "main"]

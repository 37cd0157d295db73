"""Command-line interface: thin typer commands over the library.

Each module in this package registers its commands on :data:`curate.cli.app.app`;
they are imported here in a fixed order so ``curate --help`` lists them in pipeline order.
"""

from __future__ import annotations

import importlib
import pkgutil

from curate.cli.app import app, finish

_ORDER = [
    "ingest", "preannotate", "studio", "push", "pull", "adjudicate", "export", "train", "evaluate",
]  # fmt: skip


def _load_commands() -> None:
    found = {m.name for m in pkgutil.iter_modules(__path__) if m.name != "app"}
    for name in [n for n in _ORDER if n in found] + sorted(found - set(_ORDER)):
        importlib.import_module(f"{__name__}.{name}")
    finish(app)


_load_commands()


def main() -> None:
    app()


__all__ = ["app", "main"]

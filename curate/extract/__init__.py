"""Extractors behind a small registry of versioned names (``curate.quotes.v2``).

A changed behaviour gets a new name beside the old one, so a score report or a Label
Studio prediction says exactly which extractor made it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from curate.errors import CurateError

_REGISTRY: dict[str, Callable[..., Any]] = {}
# Names whose rules changed: what replaced them. Reports and predictions made with a
# retired name keep it, so they never pass for the new rules.
RETIRED: dict[str, str] = {"curate.quotes.v1": "curate.quotes.v2"}


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an extractor under a versioned name such as ``curate.quotes.v2``."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = fn
        return fn

    return deco


def get(name: str) -> Callable[..., Any]:
    _load_builtin()
    if name in RETIRED:
        raise CurateError(
            f"extractor {name!r} was retired when its rules changed; use {RETIRED[name]!r} "
            f"(predictions and scores made with {name!r} keep that name)"
        )
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise CurateError(f"unknown extractor {name!r}; registered: {known}") from None


def names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    # Imported lazily so that importing curate never loads spaCy.
    import importlib

    for mod in ("curate.extract.entities", "curate.extract.quotes", "curate.extract.learned"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise

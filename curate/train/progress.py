"""A spaCy training logger that reports each step to a callback instead of printing.

spaCy's loop calls the logger's ``log_step`` once per step, with the scores at an
evaluation step and None otherwise; ``curate train`` turns that into a progress bar.
Importing this module registers ``curate.TrainProgress.v1`` in spaCy's logger registry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from spacy.util import registry

# (step, scores at an evaluation step or None)
Callback = Callable[[int, dict[str, Any] | None], Any]

_local = threading.local()


@contextmanager
def reporting(callback: Callback) -> Iterator[None]:
    """Send this thread's training steps to ``callback`` while the block runs."""
    old = getattr(_local, "callback", None)
    _local.callback = callback
    try:
        yield
    finally:
        _local.callback = old


@registry.loggers("curate.TrainProgress.v1")
def progress_logger() -> Callable[..., Any]:
    """The logger factory named in the training config."""

    def setup(nlp: Any, stdout: IO[str], stderr: IO[str]) -> tuple[Callable, Callable]:
        callback: Callback | None = getattr(_local, "callback", None)
        step = 0

        def log_step(info: dict[str, Any] | None) -> None:
            nonlocal step
            step += 1
            if callback is not None:
                callback(step if info is None else int(info["step"]) + 1, info)

        def finalize() -> None:
            return None

        return log_step, finalize

    return setup

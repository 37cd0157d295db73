"""Training curate's quote models from a gold version (``curate train``).

:func:`train` writes a versioned model folder; :func:`find_model` finds one by path,
name or ``name@version``; :mod:`curate.extract.learned` runs it.
"""

from __future__ import annotations

from curate.train.config import Settings
from curate.train.models import META_FILE, TrainedModel, find_model
from curate.train.run import TrainError, TrainResult, train

__all__ = [
    "META_FILE",
    "Settings",
    "TrainError",
    "TrainResult",
    "TrainedModel",
    "find_model",
    "train",
]

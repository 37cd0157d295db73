"""Every default path and environment variable curate reads, in one place.

Nothing here touches the disk or the environment at import time: the functions read the
environment when called, so tests and notebooks can change it.
"""

from __future__ import annotations

import os
from pathlib import Path

# Default folders, relative to the working directory.
GOLD_ROOT = Path("data/gold")
"""Gold versions: ``GOLD_ROOT/<name>/<version>/``."""
PULLS_DIR = Path("data/pulls")
"""Pulls: ``PULLS_DIR/<project>/<snapshot>/``."""
ARTICLES_FILE = Path("data/articles.jsonl")
PREANNOTATED_FILE = Path("data/preannotated.jsonl")
MODELS_DIR = Path("models")
"""Trained models: ``MODELS_DIR/<name>/<version>/``."""
STUDIO_DIR = Path(".curate/studio")
"""The embedded Label Studio's data folder (database, media, credentials)."""
LEDGER_DIR = Path(".curate/ledger")
"""The push ledger (a cache of task ids per project)."""

# Environment variables.
ENV_URL = "LABEL_STUDIO_URL"
ENV_API_KEY = "LABEL_STUDIO_API_KEY"
ENV_STUDIO_DIR = "CURATE_STUDIO_DIR"
ENV_LEDGER_DIR = "CURATE_LEDGER_DIR"
SECRET_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", ENV_API_KEY)
"""Variables whose values are secrets: never written to logs, cards or exports."""


def env(name: str) -> str | None:
    """The value of environment variable ``name``, or None when unset or empty."""
    return os.environ.get(name) or None


def studio_dir() -> Path:
    """The embedded server's data folder: ``$CURATE_STUDIO_DIR``, else :data:`STUDIO_DIR`
    of the project (:func:`project_path`)."""
    return Path(env(ENV_STUDIO_DIR) or project_path(STUDIO_DIR))


def ledger_dir() -> Path:
    """The push ledger folder: ``$CURATE_LEDGER_DIR``, else :data:`LEDGER_DIR` of the
    project (:func:`project_path`)."""
    return Path(env(ENV_LEDGER_DIR) or project_path(LEDGER_DIR))


def project_path(rel: Path) -> Path:
    """``rel`` under the nearest folder, from the working directory up, whose
    ``.curate/studio/`` holds an embedded server's login (as git finds ``.git``), so a
    command run in a subfolder finds the project's server; ``rel`` itself (under the
    working directory) when there is none."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / STUDIO_DIR / "credentials.json").is_file():
            return rel if folder == here else folder / rel
    return rel


def secret_values(min_length: int = 8) -> list[str]:
    """The values of the secret variables that are set (to scrub them from text)."""
    return [v for v in (env(k) for k in SECRET_ENV) if v and len(v) >= min_length]

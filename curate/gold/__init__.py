"""The versioned gold dataset: write, load, diff and verify versions; training exports.

A version lives in ``data/gold/<name>/<version>/``: Parquet splits with typed Features,
a dataset card, a changelog, training exports and a manifest with a sha256 per file.
"""

from __future__ import annotations

from curate.gold.diff import Changes, diff
from curate.gold.hub import HubPayload, prepare_push, push_to_hub
from curate.gold.load import load, load_documents
from curate.gold.manifest import Verification, verify
from curate.gold.version import Version, list_versions, resolve
from curate.gold.write import ALL_TEST, DEFAULT_SPLITS, Release, release, split_of, write_version

__all__ = [
    "ALL_TEST",
    "DEFAULT_SPLITS",
    "Changes",
    "HubPayload",
    "Release",
    "Verification",
    "Version",
    "diff",
    "list_versions",
    "load",
    "load_documents",
    "prepare_push",
    "push_to_hub",
    "release",
    "resolve",
    "split_of",
    "verify",
    "write_version",
]

"""The manifest of a version (``manifest.json``): what it is and a sha256 per file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import DatasetError
from curate.gold.version import MANIFEST

HASH_BLOCK = 1 << 16
"""Bytes of a file read at a time to hash it."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(HASH_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def hash_files(folder: Path) -> dict[str, str]:
    """``{relative posix path: sha256}`` for every file under ``folder`` but the manifest."""
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST
    }


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing; this folder is not a gold version") from None
    except (OSError, json.JSONDecodeError) as e:
        raise DatasetError(f"{path}: unreadable manifest ({e}); the version is damaged") from e


@dataclass
class Verification:
    """The result of checking a version folder against its manifest."""

    path: Path
    name: str = ""
    version: str = ""
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.mismatched or self.unexpected)

    def problems(self) -> list[str]:
        return (
            [f"{p}: missing" for p in self.missing]
            + [
                f"{p}: sha256 differs from the manifest (changed after release)"
                for p in self.mismatched
            ]
            + [f"{p}: not in the manifest (added after release)" for p in self.unexpected]
        )


def verify(path: str | Path) -> Verification:
    """Check every file of a version folder against the sha256 in its manifest."""
    folder = Path(path)
    manifest = read_manifest(folder)
    listed: dict[str, str] = manifest.get("files") or {}
    if not listed:
        raise DatasetError(f"{folder / MANIFEST}: lists no files; the version is damaged")
    result = Verification(folder, str(manifest.get("name", "")), str(manifest.get("version", "")))
    for rel, expected in sorted(listed.items()):
        p = folder / rel
        if not p.is_file():
            result.missing.append(rel)
            continue
        result.checked += 1
        if sha256_file(p) != expected:
            result.mismatched.append(rel)
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {
        MANIFEST
    }
    result.unexpected = sorted(present - set(listed))
    return result

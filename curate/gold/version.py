"""Semantic versions of a gold dataset: parsing, bumping, finding, and what bump a change needs.

Versioning policy (also in the README):

* **major**: the label schema changed (entity labels or their order, quote kinds, quote
  part labels, relations, or curate's row layout): old label ids no longer mean the same.
* **minor**: articles were added or removed, or articles moved between splits: what is
  scored changes.
* **patch**: the same articles with corrected annotations (spans added, removed,
  relabelled or moved; quote kind, speaker or cue changed), text, metadata or
  provenance: the same questions with better answers.

A chosen bump or version may be bigger than the derived one, never smaller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from curate import settings
from curate.errors import DatasetError, NothingChanged

Bump = Literal["major", "minor", "patch"]
BUMPS: tuple[str, ...] = ("patch", "minor", "major")
FIRST_VERSION = "1.0.0"
MANIFEST = "manifest.json"

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, order=True)
class Version:
    """A ``MAJOR.MINOR.PATCH`` version; compares numerically."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        m = _SEMVER.match(str(text).strip().removeprefix("v"))
        if not m:
            raise DatasetError(f"{text!r} is not a version; use MAJOR.MINOR.PATCH such as 1.2.0")
        return cls(*map(int, m.groups()))

    def bump(self, kind: str) -> Version:
        if kind == "major":
            return Version(self.major + 1, 0, 0)
        if kind == "minor":
            return Version(self.major, self.minor + 1, 0)
        if kind == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise DatasetError(f"unknown bump {kind!r}; use major, minor or patch")

    def level_from(self, older: Version) -> str | None:
        """Which bump leads from ``older`` to this version (None if not newer)."""
        if self <= older:
            return None
        if self.major != older.major:
            return "major"
        return "minor" if self.minor != older.minor else "patch"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def check_name(name: str) -> str:
    if not name or not _NAME.match(name):
        raise DatasetError(
            f"dataset name {name!r} is not usable as a folder name; "
            "use letters, digits, '.', '_' or '-'"
        )
    return name


def list_versions(dataset_dir: Path) -> list[Version]:
    """The complete versions under ``data/gold/<name>/``, oldest first (temp dirs ignored)."""
    if not dataset_dir.is_dir():
        return []
    out = []
    for child in dataset_dir.iterdir():
        if child.name.startswith(".") or not (child / MANIFEST).is_file():
            continue
        try:
            out.append(Version.parse(child.name))
        except DatasetError:
            continue
    return sorted(out)


def next_version(
    existing: list[Version], required: str | None, *, version: str | None, bump: str | None
) -> tuple[Version, str | None]:
    """The version to write and its bump, checking a chosen one against the required bump.

    ``required`` is the derived bump (None when nothing changed, or for a first version).
    """
    if version is not None and bump is not None:
        raise DatasetError("give either a version or a bump, not both")
    latest = existing[-1] if existing else None
    if version is not None:
        v = Version.parse(version)
        if v in existing:
            raise DatasetError(
                f"version {v} already exists and versions never change; choose a new version"
            )
        if latest is None:
            return v, None
        level = v.level_from(latest)
        if level is None:
            raise DatasetError(f"version {v} is not newer than the latest version {latest}")
        _check_level(level, required, latest)
        return v, level
    if latest is None:
        return Version.parse(FIRST_VERSION), None
    if bump is None:
        if required is None:
            raise NothingChanged(
                f"nothing changed since version {latest}; no new version written "
                "(give a bump or a version to release anyway)",
                str(latest),
            )
        bump = required
    if bump not in BUMPS:
        raise DatasetError(f"unknown bump {bump!r}; use major, minor or patch")
    _check_level(bump, required, latest)
    return latest.bump(bump), bump


def _check_level(level: str, required: str | None, latest: Version) -> None:
    if required is not None and BUMPS.index(level) < BUMPS.index(required):
        raise DatasetError(
            f"the changes since {latest} need at least a {required} bump, not {level} "
            "(see the versioning policy in the README)"
        )


def resolve(
    path_or_name: str | Path, version: str | None = None, root: str | Path = settings.GOLD_ROOT
) -> Path:
    """The folder of a version: a version folder, a dataset folder (latest) or a name.

    ``name@1.2.0`` is accepted for ``name`` with ``version="1.2.0"``.
    """
    text = str(path_or_name)
    p = Path(text)
    if (p / MANIFEST).is_file() and version is None:
        return p
    if not p.is_dir() and "@" in text:
        text, _, at = text.rpartition("@")
        version = version or at
        p = Path(text)
    under_root = Path(root) / text
    # A bare name means root/name even if a folder of that name sits in the cwd.
    dataset_dir = under_root if under_root.is_dir() or not p.is_dir() else p
    if not dataset_dir.is_dir():
        raise DatasetError(
            f"no gold dataset {text!r} (looked for the folder {dataset_dir}); "
            "write one with `curate export` or give the path of a version folder"
        )
    versions = list_versions(dataset_dir)
    if version is not None:
        v = Version.parse(version)
        if v not in versions:
            have = ", ".join(map(str, versions)) or "none"
            raise DatasetError(f"{dataset_dir}: no version {v} (have: {have})")
        return dataset_dir / str(v)
    if not versions:
        raise DatasetError(
            f"{dataset_dir}: no complete version in this folder (a gold dataset folder "
            "holds version folders such as 1.0.0, each with a manifest.json); pass a dataset "
            "name, NAME@X.Y.Z or a version folder"
        )
    return dataset_dir / str(versions[-1])

"""Trained model folders: ``<root>/<name>/<version>/`` with ``curate-model.json`` beside the
spaCy pipeline, found by path, by ``name`` (latest version) or ``name@version``.

Models shipped with curate live in the package (``curate/models/``) and are found after
the ``models/`` folder of the current directory.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.errors import CurateError
from curate.settings import MODELS_DIR

META_FILE = "curate-model.json"
DEFAULT_ROOT = MODELS_DIR
SHIPPED_ROOT = Path(__file__).resolve().parent.parent / "models"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ModelNotFound(CurateError):
    """A trained model name, version or folder that does not exist."""


@dataclass(frozen=True)
class TrainedModel:
    """A trained model folder and its meta (see :mod:`curate.train.run`)."""

    path: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @property
    def components(self) -> tuple[str, ...]:
        """The trained components in the folder's pipeline: ``quotes`` and/or ``entities``
        (a ``curate-model/1`` meta names its one component)."""
        listed = self.meta.get("components")
        if isinstance(listed, dict) and listed:
            return tuple(listed)
        return (str(self.meta.get("component") or "quotes"),)

    @property
    def ref(self) -> str:
        """``name@version``: how reports and predictions name the model."""
        return f"{self.name}@{self.version}"


def check_model_name(name: str) -> str:
    if not name or not _NAME.match(name):
        raise CurateError(
            f"model name {name!r} is not usable as a folder name; "
            "use letters, digits, '.', '_' or '-'"
        )
    return name


def model_dir(root: str | Path, name: str, version: str) -> Path:
    return Path(root) / name / version


def is_model_folder(path: str | Path) -> bool:
    return (Path(path) / META_FILE).is_file()


def read_model(path: str | Path) -> TrainedModel:
    path = Path(path)
    try:
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelNotFound(f"{path}: not a curate model folder ({e})") from e
    return TrainedModel(path, meta)


def find_model(ref: str | Path, root: str | Path = DEFAULT_ROOT) -> TrainedModel:
    """The model a reference names: a model folder, ``name`` (latest) or ``name@version``.

    Names are looked up under ``root`` first, then among the models shipped with curate.
    Raises :class:`ModelNotFound` naming where it looked.
    """
    from curate.gold.version import Version

    text = str(ref)
    if is_model_folder(text):
        return read_model(text)
    name, _, version = text.partition("@")
    looked = []
    # A version asked for and missing under root may be a shipped one (a model trained
    # under a shipped model's name does not hide the shipped versions).
    missing = []
    for base in (Path(root), SHIPPED_ROOT):
        folder = base / name
        looked.append(str(folder))
        if not folder.is_dir() or not _NAME.match(name):
            continue
        versions = sorted(
            (Version.parse(p.name), p) for p in folder.iterdir() if is_model_folder(p)
        )
        if version:
            hit = [p for v, p in versions if str(v) == version.removeprefix("v")]
            if hit:
                return read_model(hit[0])
            have = ", ".join(str(v) for v, _ in versions) or "none"
            missing.append(f"{folder} (have: {have})")
        elif versions:
            return read_model(versions[-1][1])
    if missing:
        raise ModelNotFound(f"model {name!r} has no version {version} in {'; '.join(missing)}")
    raise ModelNotFound(
        f"no trained model {text!r} (looked in {', '.join(looked)}); train one with "
        "`curate train` or give the path of a model folder"
    )


def looks_like_model(ref: str, root: str | Path = DEFAULT_ROOT) -> bool:
    """Whether ``ref`` names an existing trained model (used to resolve extractor specs)."""
    try:
        find_model(ref, root)
    except (CurateError, ValueError):
        return False
    return True

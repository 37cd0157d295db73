"""Writing a gold version: rows, splits, card, changelog, exports and manifest, atomically.

Everything is built in a hidden temp folder beside the target and renamed into place
in one step, so a crash leaves no partial version; an existing version is never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import curate
from curate import settings
from curate.errors import DatasetError
from curate.gold.card import render_card
from curate.gold.diff import Changes, diff_documents
from curate.gold.exports import FORMATS, load_tokenizer, write_exports
from curate.gold.features import build_features, schema_changes, schema_summary
from curate.gold.identities import (
    MAPPING_FILE,
    PREFIX,
    PSEUDONYMOUS,
    REAL,
    Pseudonyms,
    known_identities,
    load_pseudonyms,
    pseudonymize,
)
from curate.gold.load import read_version
from curate.gold.manifest import hash_files, read_manifest
from curate.gold.rows import document_to_row, provenance, scrub, scrub_provenance
from curate.gold.version import MANIFEST, check_name, list_versions, next_version
from curate.model import Document, Provenance
from curate.schema import LabelSchema, load_schema

DEFAULT_SPLITS: dict[str, float] = {"train": 0.8, "dev": 0.1, "test": 0.1}
ALL_TEST: dict[str, float] = {"test": 1.0}
_SPLIT_NAME = re.compile(r"^\w+$")


@dataclass(frozen=True)
class Release:
    """What :func:`release` wrote."""

    path: Path
    name: str
    version: str
    previous: str | None
    bump: str | None
    counts: dict[str, int]
    changes: Changes
    exports: dict[str, Any] = field(default_factory=dict)
    identities: str = PSEUDONYMOUS
    """``pseudonymous`` or ``real``: how annotators are named in the version."""


def parse_splits(text: str) -> dict[str, float]:
    """``"train=0.8,dev=0.1,test=0.1"`` -> ratios (checked by :func:`check_splits`)."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        split, sep, value = part.partition("=")
        try:
            out[split.strip()] = float(value)
        except ValueError:
            raise DatasetError(
                f"bad split {part!r}; write splits as train=0.8,dev=0.1,test=0.1"
            ) from None
        if not sep:
            raise DatasetError(f"bad split {part!r}; write splits as train=0.8,dev=0.1,test=0.1")
    return check_splits(out)


def check_splits(ratios: Mapping[str, float]) -> dict[str, float]:
    ratios = dict(ratios)
    if not ratios:
        raise DatasetError("no splits given; use e.g. train=0.8,dev=0.1,test=0.1")
    for name, r in ratios.items():
        if not _SPLIT_NAME.match(name):
            raise DatasetError(f"split name {name!r} must be letters, digits or '_'")
        if not 0 < r <= 1:
            raise DatasetError(f"split {name}={r} must be a ratio above 0 and at most 1")
    if abs(sum(ratios.values()) - 1) > 1e-6:
        raise DatasetError(f"split ratios add up to {sum(ratios.values()):g}, not 1")
    return ratios


def split_of(doc_id: str, ratios: Mapping[str, float]) -> str:
    """The split of an article: a function of its id alone, stable across versions."""
    x = int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:15], 16) / 16**15
    acc = 0.0
    for name, r in ratios.items():
        acc += r
        if x < acc:
            return name
    return list(ratios)[-1]


def release(
    docs: Iterable[Document],
    *,
    name: str,
    root: str | Path = settings.GOLD_ROOT,
    version: str | None = None,
    bump: str | None = None,
    splits: Mapping[str, float] | str | None = None,
    meta: Mapping[str, Any] | None = None,
    agreement: Mapping[str, Any] | None = None,
    schema: LabelSchema | None = None,
    formats: Iterable[str] = FORMATS,
    tokenizer: str | None = None,
    extra_files: Mapping[str, Callable[[Path], Any]] | None = None,
    note: str | None = None,
    real_identities: bool = False,
) -> Release:
    """Write a new immutable version of gold dataset ``name`` under ``root/name/``.

    The version is ``version``, or the latest bumped by ``bump``, or the bump the changes
    need (see :mod:`curate.gold.version`); the first version is 1.0.0. ``meta`` may carry
    ``project``, ``snapshot``, ``description`` and ``license`` for the card; credential-like
    keys are dropped. ``splits`` is a ratio mapping, ``"train=0.8,dev=0.1,test=0.1"`` or
    one split name (``"test"``: everything in it, for evaluation-only gold).
    ``extra_files`` maps a relative path to a function writing it (listed in the manifest);
    ``note`` is a line for the changelog. Annotators appear under stable pseudonyms
    (:mod:`curate.gold.identities`; the private mapping stays in ``root``) unless
    ``real_identities``. Raises DatasetError and leaves nothing behind when anything fails.
    """
    check_name(name)
    formats = tuple(dict.fromkeys(formats))
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise DatasetError(
            f"unknown export format(s) {', '.join(unknown)}; use {', '.join(FORMATS)}"
        )
    if "hf" not in formats:
        formats = ("hf", *formats)  # the Parquet dataset is the version itself
    schema = schema or load_schema()
    features = build_features(schema)
    summary = schema_summary(schema)
    if isinstance(splits, str):
        ratios = parse_splits(splits) if "=" in splits else check_splits({splits: 1.0})
    else:
        ratios = check_splits(splits or DEFAULT_SPLITS)
    # Credentials never enter a version, whatever the caller put in meta or provenance.
    docs = [d.with_(meta=scrub(d.meta), provenance=scrub_provenance(d.provenance)) for d in docs]
    if not docs:
        raise DatasetError("no gold documents to release")
    seen: set[str] = set()
    for d in docs:
        if d.id in seen:
            raise DatasetError(f"article {d.id!r} appears twice; ids must be unique in a version")
        seen.add(d.id)
    meta = dict(scrub(dict(meta or {})))
    agreement = dict(scrub(dict(agreement))) if agreement else None
    if not real_identities:
        docs, meta, agreement = _pseudonymize(docs, meta, agreement, root)
    rows = {d.id: features.encode_example(document_to_row(d, schema, meta)) for d in docs}

    by_split: dict[str, list[Document]] = {s: [] for s in ratios}
    for d in sorted(docs, key=lambda d: d.id):
        by_split[split_of(d.id, ratios)].append(d)
    empty = [s for s, ds in by_split.items() if not ds]
    by_split = {s: ds for s, ds in by_split.items() if ds}

    dataset_dir = Path(root) / name
    existing = list_versions(dataset_dir)
    previous = str(existing[-1]) if existing else None
    new_map = {d.id: (d, s) for s, ds in by_split.items() for d in ds}
    if previous:
        prev_dir = dataset_dir / previous
        old_map = {d.id: (d, s) for s, ds in read_version(prev_dir).items() for d in ds}
        schema_diff = schema_changes(read_manifest(prev_dir)["label_schema"], summary)
    else:
        old_map, schema_diff = {}, []
    changes = diff_documents(
        old_map,
        new_map,
        schema=tuple(schema_diff),
        old_label=f"{name} {previous}" if previous else "",
        new_label=name,
    )
    v, level = next_version(existing, changes.required_bump, version=version, bump=bump)
    changes = Changes(**{**changes.__dict__, "new_label": f"{name} {v}"})

    target = dataset_dir / str(v)
    if target.exists():
        raise DatasetError(
            f"{target}: already exists and versions never change; choose a new version"
        )
    dataset_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(dataset_dir)
    tmp = dataset_dir / f".tmp-{v}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for split, ds in by_split.items():
            path = tmp / "data" / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pylist([rows[d.id] for d in ds], schema=features.arrow_schema)
            pq.write_table(table, path)
        need_tok = bool(set(formats) & {"spacy", "conll"})
        exports = write_exports(
            by_split, tmp, formats, load_tokenizer(tokenizer) if need_tok else None
        )
        counts = {s: len(ds) for s, ds in by_split.items()}
        manifest: dict[str, Any] = {
            "format": "curate-gold/1",
            "name": name,
            "version": str(v),
            "previous": previous,
            "bump": level,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "curate_version": curate.__version__,
            "articles": len(docs),
            "splits": {
                "ratios": ratios,
                "counts": counts,
                "empty": empty,
                "rule": "sha256 of the article id, as a number in [0, 1), cut at the "
                f"cumulative ratios {', '.join(f'{k}={r:g}' for k, r in ratios.items())}; "
                "an article keeps its split across versions",
            },
            "label_schema": summary,
            "features": features.to_dict(),
            "meta": meta,
            "agreement": agreement,
            "provenance": _provenance_summary(docs),
            "identities": _identities_note(real_identities),
            "exports": exports,
            "note": note,
            "changes": changes.to_dict(),
        }
        for rel, writer in (extra_files or {}).items():
            path = tmp / rel
            if path.exists() or rel == MANIFEST or ".." in Path(rel).parts:
                raise DatasetError(f"extra file {rel!r} would overwrite a version file")
            path.parent.mkdir(parents=True, exist_ok=True)
            writer(path)
        changelog = f"# {name} {v}\n\n" + (f"{note}\n\n" if note else "")
        changelog += changes.to_markdown()
        (tmp / "CHANGELOG.md").write_text(changelog, encoding="utf-8")
        card = render_card(
            manifest,
            by_split,
            features,
            (f"{note}\n\n" if note else "") + changes.to_markdown(details=False),
        )
        (tmp / "README.md").write_text(card, encoding="utf-8")
        manifest["files"] = hash_files(tmp)
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n",
            encoding="utf-8",
        )
        _make_read_only(tmp)
        try:
            tmp.rename(target)  # atomic; fails if another writer got there first
        except OSError as e:
            raise DatasetError(
                f"{target}: could not be created ({e.strerror}); nothing was written"
            ) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    identities = REAL if real_identities else PSEUDONYMOUS
    return Release(target, name, str(v), previous, level, counts, changes, exports, identities)


def write_version(docs: Iterable[Document], **kwargs: Any) -> Path:
    """:func:`release` returning only the folder of the new version."""
    return release(docs, **kwargs).path


def _pseudonymize(
    docs: list[Document],
    meta: Mapping[str, Any],
    agreement: dict[str, Any] | None,
    root: str | Path,
) -> tuple[list[Document], Any, dict[str, Any] | None]:
    """Annotators under their pseudonyms in everything a version holds; the key and the
    mapping are saved (0600) before anything is written, so pseudonyms stay stable."""
    names = load_pseudonyms(root)
    known: set[str] = set()
    for d in docs:
        known |= known_identities(d.provenance.to_dict() if d.provenance else {})
    known |= known_identities(meta) | known_identities(agreement)
    docs = [
        d.with_(
            provenance=_pseudonymous(d.provenance, names, known),
            # Article metadata may hold e-mails of the article's authors: only annotators go.
            meta=pseudonymize(d.meta, names, known, thorough=False),
        )
        for d in docs
    ]
    agreement = pseudonymize(agreement, names, known) if agreement else None
    names.save()
    return docs, pseudonymize(meta, names, known), agreement


def _pseudonymous(prov: Provenance | None, names: Pseudonyms, known: set[str]) -> Any:
    # Through the wire form, where every key naming a person is a plain field.
    if prov is None:
        return None
    return type(prov).from_dict(pseudonymize(prov.to_dict(), names, known))


def _identities_note(real: bool) -> dict[str, str]:
    if real:
        return {"mode": REAL, "rule": "annotators as Label Studio names them (--real-identities)"}
    return {
        "mode": PSEUDONYMOUS,
        "rule": f"{PREFIX}<HMAC-SHA256 of the identity under a key of the gold root, "
        f"10 hex digits>; stable across versions; the private mapping ({MAPPING_FILE} in "
        "the gold root) is not released",
    }


def _provenance_summary(docs: list[Document]) -> dict[str, Any]:
    people: set[str] = set()
    models: set[str] = set()
    for d in docs:
        prov = provenance(d.provenance)
        people.update(prov["annotators"])
        if prov["model_version"]:
            models.add(prov["model_version"])
    return {"annotators": len(people), "model_versions": sorted(models)}


def _make_read_only(folder: Path) -> None:
    # A guard against accidental edits; `curate verify` is the real check.
    for p in folder.rglob("*"):
        if p.is_file():
            p.chmod(0o444)


def _remove_stale_temps(dataset_dir: Path) -> None:
    """Remove temp folders left by writers that crashed (their process is gone)."""
    for child in dataset_dir.glob(".tmp-*"):
        parts = child.name.split("-")
        try:
            pid = int(parts[2])
            os.kill(pid, 0)
        except (IndexError, ValueError):
            continue
        except ProcessLookupError:
            shutil.rmtree(child, ignore_errors=True)
        except PermissionError:
            continue

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
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

import curate
from curate import settings
from curate.compact import DuplicateKey, SpilledMap, SpilledStrings
from curate.errors import DatasetError
from curate.gold.card import LabelCounts, render_card
from curate.gold.diff import FULL_LIST, LISTED, Changes, diff_pairs, diff_stream
from curate.gold.exports import FORMATS, ExportWriter, load_tokenizer, packed_fast
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
from curate.gold.load import iter_version
from curate.gold.manifest import hash_files, read_manifest
from curate.gold.rows import document_to_row, provenance, scrub, scrub_provenance
from curate.gold.version import MANIFEST, check_name, list_versions, next_version
from curate.io.jsonl import dumps, make_folders, remove_made_folders
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
    empty_reason: str | None = None,
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
    ``real_identities``. Raises DatasetError and leaves nothing behind when anything fails
    (a dataset folder this call created is removed again if it is empty); with no
    documents the message ends with ``empty_reason`` (why the caller found none) if given.
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
    meta = dict(scrub(dict(meta or {})))
    agreement = dict(scrub(dict(agreement))) if agreement else None

    dataset_dir = Path(root) / name
    created = make_folders(dataset_dir)
    _remove_stale_temps(dataset_dir)
    tmp = dataset_dir / f".tmp-new-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    spill = SpilledMap()  # the documents by id, in a temporary database (memory stays flat)
    exports: ExportWriter | None = None
    try:
        # Pass 1: every document once, to disk; what must be known of all of them first
        # (ids, for the order and the splits; the identities to pseudonymize) stays here.
        known: set[str] = set()
        for d in docs:
            # Credentials never enter a version, whatever the caller put in meta or provenance.
            d = d.with_(meta=scrub(d.meta), provenance=scrub_provenance(d.provenance))
            if not real_identities:
                known |= known_identities(d.provenance.to_dict() if d.provenance else {})
            spill.add(d.id, d)
        if not len(spill):
            why = f": {empty_reason}" if empty_reason else ""
            raise DatasetError(f"no gold documents to release{why}")
        try:
            spill.seal()  # the ids sorted, on disk
        except DuplicateKey as e:
            raise DatasetError(
                f"article {e.key!r} appears twice; ids must be unique in a version"
            ) from None
        names: Pseudonyms | None = None
        visible: Callable[[Document], Document] = _as_is
        if not real_identities:
            visible, meta, agreement, names = _pseudonymizer(known, meta, agreement, root)
        split_counts = Counter(split_of(i, ratios) for i in spill.sorted_keys())
        empty = [s for s in ratios if not split_counts[s]]
        counts = {s: split_counts[s] for s in ratios if split_counts[s]}

        existing = list_versions(dataset_dir)
        previous = str(existing[-1]) if existing else None
        changes = _changes(dataset_dir, previous, spill, visible, ratios, summary, name)
        v, level = next_version(existing, changes.required_bump, version=version, bump=bump)
        changes = Changes(**{**changes.__dict__, "new_label": f"{name} {v}"})
        target = dataset_dir / str(v)
        if target.exists():
            raise DatasetError(
                f"{target}: already exists and versions never change; choose a new version"
            )

        # Pass 2: the documents by id, each written to its split's files as it comes.
        need_tok = bool(set(formats) & {"spacy", "conll"})
        exports = ExportWriter(
            tmp, formats, load_tokenizer(tokenizer) if need_tok else None, splits=counts
        )
        labels = LabelCounts()
        people: set[str] = set()
        models: set[str] = set()
        splits_out: dict[str, _ParquetSplit] = {}
        with packed_fast():
            for doc_id, stored in spill.items():
                d = visible(stored)
                split = split_of(doc_id, ratios)
                if split not in splits_out:
                    splits_out[split] = _ParquetSplit(tmp / "data", split, features.arrow_schema)
                splits_out[split].add(features.encode_example(document_to_row(d, schema, meta)))
                exports.add(split, d)
                labels.add(split, d)
                prov = provenance(d.provenance)
                people.update(prov["annotators"])
                if prov["model_version"]:
                    models.add(prov["model_version"])
            for part in splits_out.values():
                part.close()
            written = exports.close()
        spill.close()
        if names is not None:
            names.save()  # with any identity first met in pass 2
        manifest: dict[str, Any] = {
            "format": "curate-gold/1",
            "name": name,
            "version": str(v),
            "previous": previous,
            "bump": level,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "curate_version": curate.__version__,
            "articles": len(spill),
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
            "provenance": {"annotators": len(people), "model_versions": sorted(models)},
            "identities": _identities_note(real_identities),
            "exports": written,
            "note": note,
            "changes": changes.to_dict(limit=LISTED),
        }
        if changes.capped(LISTED):  # the card, CHANGELOG and manifest list LISTED a section
            with (tmp / FULL_LIST).open("w", encoding="utf-8") as fh:
                fh.writelines(dumps(r) + "\n" for r in changes.article_records())
        for rel, writer in (extra_files or {}).items():
            path = tmp / rel
            if path.exists() or rel == MANIFEST or ".." in Path(rel).parts:
                raise DatasetError(f"extra file {rel!r} would overwrite a version file")
            path.parent.mkdir(parents=True, exist_ok=True)
            writer(path)
        with (tmp / "CHANGELOG.md").open("w", encoding="utf-8") as fh:
            fh.write(f"# {name} {v}\n\n" + (f"{note}\n\n" if note else ""))
            fh.writelines(line + "\n" for line in changes.markdown_lines(limit=LISTED))
        card = render_card(
            manifest,
            labels.table(counts),
            features,
            (f"{note}\n\n" if note else "") + changes.to_markdown(details=False, limit=LISTED),
        )
        (tmp / "README.md").write_text(card, encoding="utf-8")
        manifest["files"] = hash_files(tmp)
        with (tmp / MANIFEST).open("w", encoding="utf-8") as fh:
            # json.dump writes piece by piece (dumps would join them all in memory first).
            json.dump(manifest, fh, ensure_ascii=False, indent=2, sort_keys=False)
            fh.write("\n")
        _make_read_only(tmp)
        try:
            tmp.rename(target)  # atomic; fails if another writer got there first
        except OSError as e:
            raise DatasetError(
                f"{target}: could not be created ({e.strerror}); nothing was written"
            ) from e
    except BaseException:
        spill.close()
        if exports is not None:
            exports.discard()
        shutil.rmtree(tmp, ignore_errors=True)
        remove_made_folders(created)
        raise
    identities = REAL if real_identities else PSEUDONYMOUS
    return Release(target, name, str(v), previous, level, counts, changes, written, identities)


def write_version(docs: Iterable[Document], **kwargs: Any) -> Path:
    """:func:`release` returning only the folder of the new version."""
    return release(docs, **kwargs).path


def _as_is(doc: Document) -> Document:
    return doc


def _pseudonymizer(
    known: set[str],
    meta: Mapping[str, Any],
    agreement: dict[str, Any] | None,
    root: str | Path,
) -> tuple[Callable[[Document], Document], Any, dict[str, Any] | None, Pseudonyms]:
    """Annotators under their pseudonyms in everything a version holds: a function giving
    a document as released, and the release's meta and agreement so rewritten. ``known``
    are the identities named in the documents' provenance. The key and the mapping are
    saved (0600) before anything is written, so pseudonyms stay stable."""
    names = load_pseudonyms(root)
    known = known | known_identities(meta) | known_identities(agreement)
    for who in sorted(known):
        names.of(who)
    names.save()

    def visible(d: Document) -> Document:
        return d.with_(
            provenance=_pseudonymous(d.provenance, names, known),
            # Article metadata may hold e-mails of the article's authors: only annotators go.
            meta=pseudonymize(d.meta, names, known, thorough=False),
        )

    agreement = pseudonymize(agreement, names, known) if agreement else None
    return visible, pseudonymize(meta, names, known), agreement, names


def _changes(
    dataset_dir: Path,
    previous: str | None,
    spill: SpilledMap,
    visible: Callable[[Document], Document],
    ratios: Mapping[str, float],
    summary: dict[str, Any],
    name: str,
) -> Changes:
    """What changed since the ``previous`` version, reading it a batch at a time against
    the documents of the new one (``spill``, sealed)."""
    if previous is None:
        # Every article is new: the ids on disk, in order.
        return replace(diff_pairs((), new_label=name), added=SpilledStrings(spill.sorted_keys()))
    prev_dir = dataset_dir / previous
    schema_diff = schema_changes(read_manifest(prev_dir)["label_schema"], summary)

    def as_released(doc: Document) -> tuple[Document, str]:
        return visible(doc), split_of(doc.id, ratios)

    return diff_stream(
        iter_version(prev_dir),
        spill,
        as_released,
        schema=tuple(schema_diff),
        old_label=f"{name} {previous}",
        new_label=name,
    )


ROWS_PER_GROUP = 1000
"""Rows buffered before they are written as one Parquet row group. A version of at most
this many articles per split is one row group, as ``pq.write_table`` writes it."""

ROWS_PER_FILE = 20 * ROWS_PER_GROUP
"""Articles of one split per Parquet file. A bigger split is several files
(``test-00000-of-00003.parquet``, ...; the card's configs and :mod:`curate.gold.load` read
``{split}-*.parquet`` in name order, as the Hugging Face Hub shards a dataset): a Parquet
writer holds each row group's metadata until its file is closed, and a reader holds its
file's, about 40 KB a row group here, so one file per split grew memory with the split
(3.9 MB at 100,000 articles, each writer and reader). A split of at most this many
articles is one file, ``{split}-00000-of-00001.parquet``, byte for byte as before."""


class _ParquetSplit:
    """One split's Parquet files, written a row group at a time, a new file every
    :data:`ROWS_PER_FILE` articles; named ``{split}-NNNNN-of-MMMMM.parquet`` on close."""

    def __init__(self, folder: Path, split: str, schema: pa.Schema) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.split, self.schema = folder, split, schema
        self._paths: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._in_file = 0
        self._rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        if self._writer is None or self._in_file >= ROWS_PER_FILE:
            self._next_file()
        assert self._writer is not None
        self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
        self._in_file += len(self._rows)
        self._rows = []

    def _next_file(self) -> None:
        if self._writer is not None:
            self._writer.close()  # its row groups' metadata goes with it
        path = self.folder / f"{self.split}-{len(self._paths):05d}.parquet.partial"
        self._paths.append(path)
        self._writer = pq.ParquetWriter(path, self.schema)
        self._in_file = 0

    def close(self) -> None:
        self._flush()
        if self._writer is None:  # no row at all: one empty file, as before
            self._next_file()
        assert self._writer is not None
        self._writer.close()
        n = len(self._paths)
        for i, path in enumerate(self._paths):
            path.rename(self.folder / f"{self.split}-{i:05d}-of-{n:05d}.parquet")


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

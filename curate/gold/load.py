"""Loading a version: as a ``datasets.DatasetDict`` or as curate Documents.

Both read the Parquet files of the version folder (checked against the manifest first),
so ``curate.gold.load`` and ``datasets.load_dataset(<version folder>)`` give the same
features, ClassLabel names included.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.table import InMemoryTable

from curate import settings
from curate.errors import DatasetError
from curate.gold.manifest import read_manifest, verify
from curate.gold.rows import row_to_document
from curate.gold.version import resolve
from curate.model import Document


def split_files(folder: Path, split: str) -> list[Path]:
    return sorted((folder / "data").glob(f"{split}-*.parquet"))


def _check(folder: Path) -> None:
    result = verify(folder)
    if not result.ok:
        raise DatasetError(
            f"{folder}: does not match its manifest ({'; '.join(result.problems()[:3])}); "
            "a released version must not change: restore it or release a new version"
        )


def read_tables(folder: Path, check: bool = True) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    """The manifest and one Arrow table per split of a version folder."""
    manifest = read_manifest(folder)
    if check:
        _check(folder)
    tables: dict[str, pa.Table] = {}
    for split in manifest["splits"]["counts"]:
        files = split_files(folder, split)
        if not files:
            raise DatasetError(
                f"{folder}: split {split!r} has no Parquet file; the version is damaged"
            )
        tables[split] = pa.concat_tables(pq.read_table(f) for f in files)
    return manifest, tables


def read_version(folder: str | Path, check: bool = True) -> dict[str, list[Document]]:
    """``{split: [Document, ...]}`` of a version folder, in stored order."""
    out: dict[str, list[Document]] = {}
    for split, doc in iter_version(folder, check):
        out.setdefault(split, []).append(doc)
    return out


def _parquet_files(folder: str | Path, check: bool) -> Iterator[tuple[str, pq.ParquetFile]]:
    """``(split, Parquet file)`` of a version folder in stored order. Raises DatasetError
    as :func:`read_tables` does, before the first file."""
    folder = Path(folder)
    # Only the split names are kept: the manifest lists every article id of the version.
    splits = list(read_manifest(folder)["splits"]["counts"])
    if check:
        _check(folder)
    files = {split: split_files(folder, split) for split in splits}
    for split, paths in files.items():
        if not paths:
            raise DatasetError(
                f"{folder}: split {split!r} has no Parquet file; the version is damaged"
            )
    for split, paths in files.items():
        for path in paths:
            yield split, pq.ParquetFile(path)


def _batches(
    parquet: pq.ParquetFile, batch_size: int, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    # One thread: a batch is small, and reader threads each keep an allocator arena that
    # grows over the file (memory would not stay flat).
    return parquet.iter_batches(batch_size=batch_size, columns=columns, use_threads=False)


def iter_batches(
    folder: str | Path, columns: list[str], check: bool = True, batch_size: int = 1000
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """``(split, Arrow record batch of ``columns``)`` of a version folder in stored order,
    ``batch_size`` rows at a time (a scan that needs no Documents). Raises DatasetError as
    :func:`read_tables` does, before the first batch."""
    for split, parquet in _parquet_files(folder, check):
        for batch in _batches(parquet, batch_size, columns):
            yield split, batch


def iter_version(
    folder: str | Path, check: bool = True, batch_size: int = 1000
) -> Iterator[tuple[str, Document]]:
    """``(split, Document)`` of a version folder in stored order, ``batch_size`` rows read
    at a time (memory does not grow with the version). Raises DatasetError as
    :func:`read_tables` does, before the first document."""
    for split, parquet in _parquet_files(folder, check):
        features = datasets.Features.from_arrow_schema(parquet.schema_arrow)
        for batch in _batches(parquet, batch_size):
            for row in batch.to_pylist():
                yield split, row_to_document(row, features)


def load_documents(
    path_or_name: str | Path,
    version: str | None = None,
    split: str | None = None,
    root: str | Path = settings.GOLD_ROOT,
    check: bool = True,
) -> list[Document]:
    """The Documents of a version (all splits, or one): what scoring and training read.

    ``path_or_name`` is a dataset name under ``root`` (latest version unless ``version``),
    ``name@1.2.0``, a dataset folder, or a version folder.
    """
    folder = resolve(path_or_name, version, root)
    by_split = read_version(folder, check)
    if split is not None:
        if split not in by_split:
            raise DatasetError(f"{folder}: no split {split!r} (have: {', '.join(by_split)})")
        return by_split[split]
    return [d for docs in by_split.values() for d in docs]


def load(
    path_or_name: str | Path,
    version: str | None = None,
    root: str | Path = settings.GOLD_ROOT,
    check: bool = True,
) -> datasets.DatasetDict:
    """A version as a ``datasets.DatasetDict`` (in memory, no cache files written)."""
    folder = resolve(path_or_name, version, root)
    _, tables = read_tables(folder, check)
    out = datasets.DatasetDict()
    for split, table in tables.items():
        features = datasets.Features.from_arrow_schema(table.schema)
        info = datasets.DatasetInfo(features=features)
        out[split] = datasets.Dataset(
            InMemoryTable(table), info=info, split=datasets.NamedSplit(split)
        )
    return out

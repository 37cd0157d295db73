"""The gold articles an evaluation scores, read again on each pass instead of held.

:func:`open_gold` reads a gold spec once to check it (bad records, duplicate ids, which
tasks it has) and keeps per article only its id and text hash (:class:`GoldSet`); each
later iteration reads the articles again from the source, so scoring 100,000 articles
holds one article at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from curate.compact import Spilled, SpilledIndex, SpilledStrings
from curate.errors import DatasetError
from curate.model import Article, Document
from curate.schema import LabelSchema, load_schema

DEFAULT_GOLD = "seeds"


class GoldSet:
    """Gold documents read from their source on every iteration, in the same order.

    ``ids`` (a :class:`SpilledStrings`, on disk) and :meth:`hashes` (the text hash of each
    article, 8 bytes a number in a :class:`Spilled` array, on disk past a chunk) are kept
    from the first pass, so memory does not grow with the articles, with
    ``has`` (task -> whether any article has a span of it), ``info`` (where the gold came
    from, ``articles`` its size) and ``warnings`` (records left out, one line each).
    Raises DatasetError when the gold has no article or two articles share an id.
    """

    def __init__(
        self,
        read: Callable[[], Iterator[Document]],
        info: dict[str, Any],
        warnings: Iterable[str] = (),
        spec: str = "the gold",
        scan: Iterable[tuple[str, str, bool, bool]] | None = None,
    ) -> None:
        self._read = read
        self.info = info
        self.warnings = list(warnings)
        self.ids = SpilledStrings()
        self._hashes = Spilled("Q")
        self.has = {"entities": False, "quotes": False}
        if scan is None:  # (id, text hash, has entities, has quotes) of each article
            scan = ((d.id, d.hash, bool(d.entities), bool(d.quotes)) for d in read())
        for doc_id, text_hash, ents, quotes in scan:
            self.ids.append(doc_id)
            self._hashes.append(int(text_hash, 16))
            self.has["entities"] = self.has["entities"] or ents
            self.has["quotes"] = self.has["quotes"] or quotes
        if not self.ids:
            raise DatasetError(f"gold {spec!r} has no articles; nothing to score against")
        index = SpilledIndex(self.ids)
        try:
            dup = list(dict.fromkeys(s for _, s in index.repeated(keep="last")))
        finally:
            index.close()
        if dup:
            raise DatasetError(
                f"gold {spec!r} has {len(dup)} duplicate article ids (first: {dup[0]!r}); "
                "article ids must be unique"
            )
        self.info["articles"] = len(self.ids)

    @classmethod
    def of(cls, docs: Iterable[Document], info: dict[str, Any] | None = None) -> GoldSet:
        """A gold set over documents already in memory (a list is read as it is)."""
        held = docs if isinstance(docs, list | tuple) else list(docs)
        return cls(lambda: iter(held), dict(info or {"name": None}))

    def __iter__(self) -> Iterator[Document]:
        return self._read()

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def hashes(self) -> Spilled:
        """The text hash of each article (:func:`curate.model.content_hash` as a number)."""
        return self._hashes

    def articles(self) -> Articles:
        """The articles (text and meta, no spans) as a collection an extractor may read
        more than once."""
        return Articles(self)

    def one_pass(self) -> tuple[Articles, Iterator[Document]]:
        """The articles for an extractor and the documents to score its predictions
        against, from one read of the gold: the articles' first iteration goes along with
        the documents (what one side has read and the other not yet is held; an extractor
        reads a batch ahead), a later iteration reads the source again."""
        docs, ahead = itertools.tee(self)
        return Articles(self, (d.article for d in ahead)), docs


class Articles(Collection[Article]):
    """The articles of a :class:`GoldSet`: ``len`` and iteration, each iteration a new
    read of the gold, the first one ``first`` when given (what extractors get instead of
    a list)."""

    def __init__(self, gold: GoldSet, first: Iterator[Article] | None = None) -> None:
        self._gold = gold
        self._first = first

    def __len__(self) -> int:
        return len(self._gold)

    def __iter__(self) -> Iterator[Article]:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return (d.article for d in self._gold)

    def __contains__(self, item: object) -> bool:
        return any(a == item for a in self)


def hex_hash(h: int) -> str:
    """A text hash kept as a number, as :func:`curate.model.content_hash` writes it."""
    return f"{h:016x}"


def open_gold(
    spec: str | Path | None = None,
    version: str | None = None,
    split: str | None = None,
    schema: LabelSchema | None = None,
) -> GoldSet:
    """The gold of ``spec``, checked, read again on each iteration (see :class:`GoldSet`).

    ``spec`` is a gold dataset name or folder (``curate.gold``; ``version``, default the
    latest, and ``split``, default all), a ``.jsonl`` of Document dicts, or a brat folder
    (read as ``curate import brat`` reads it, labels mapped by ``schema``, default the
    shipped config; held in memory, as the brat reader builds it). Bad records of a
    ``.jsonl`` and records with an entity label the config lacks are left out and named
    in the warnings. Raises DatasetError for a gold that cannot be read or is empty.
    """
    from curate.io import records

    schema = schema or load_schema()
    spec = str(spec or DEFAULT_GOLD)
    path = Path(spec)
    if path.suffix in (".jsonl", ".ndjson") or path.is_file():

        def read_jsonl(problems: list[str] | None = None) -> Iterator[Document]:
            problems = [] if problems is None else problems
            for lineno, doc in records.iter_documents(path, problems):
                if why := records.unknown_labels(doc, schema.entity_labels):
                    problems.append(f"{path}:{lineno}: {why}")
                else:
                    yield doc

        problems: list[str] = []
        first = iter([read_jsonl(problems)])
        info = {"name": path.stem, "path": str(path), "version": None, "split": split}

        def read() -> Iterator[Document]:  # the first pass gathers the problems
            return next(first, None) or read_jsonl()

        gold = GoldSet(read, info, spec=spec)
        gold.warnings += [f"{p}; gold record left out" for p in problems]
        return gold
    if _is_brat(path):
        from curate.io.brat import read_brat

        corpus = read_brat(path, schema)
        warnings = list(corpus.problems)
        if corpus.dropped_labels:
            dropped = ", ".join(f"{k} ({n})" for k, n in sorted(corpus.dropped_labels.items()))
            warnings.append(f"{path}: labels not in the config, not scored: {dropped}")
        info = {"name": path.name, "path": str(path), "version": None, "split": split}
        docs = corpus.gold()
        return GoldSet(lambda: iter(docs), info, warnings, spec=spec)
    return _dataset(spec, version, split)


def _dataset(spec: str, version: str | None, split: str | None) -> GoldSet:
    try:
        from curate.gold.load import iter_batches, iter_version
        from curate.gold.manifest import read_manifest
        from curate.gold.version import resolve
    except ImportError as e:
        raise DatasetError(
            f"cannot read gold dataset {spec!r}: curate.gold is not available ({e}); "
            "pass a gold .jsonl of Document dicts instead"
        ) from e
    folder = resolve(spec, version)
    if split is not None:
        have = list(read_manifest(folder)["splits"]["counts"])
        if split not in have:
            raise DatasetError(f"{folder}: no split {split!r} (have: {', '.join(have)})")

    def scan() -> Iterator[tuple[str, str, bool, bool]]:
        """The check pass from four columns, no Documents made (the files are checked
        against the manifest first; a row's hash is its text's, as written)."""
        columns = ["id", "hash", "entities", "quotes"]
        for s, batch in iter_batches(folder, columns, check=True):
            if split is None or s == split:
                ents = batch.column("entities").value_lengths().to_pylist()
                quotes = batch.column("quotes").value_lengths().to_pylist()
                yield from zip(
                    batch.column("id").to_pylist(),
                    batch.column("hash").to_pylist(),
                    (bool(n) for n in ents),
                    (bool(n) for n in quotes),
                    strict=True,
                )

    def read() -> Iterator[Document]:
        for s, doc in iter_version(folder, check=False):
            if split is None or s == split:
                yield doc

    info: dict[str, Any] = {"name": folder.parent.name, "path": str(folder)}
    info.update(version=folder.name, split=split)
    return GoldSet(read, info, spec=spec, scan=scan())


def _is_brat(path: Path) -> bool:
    """A PolNeAR-style folder, or a folder of NAME.txt beside NAME.ann files."""
    if (path / "text").is_dir() and (path / "attributions").is_dir():
        return True
    return path.is_dir() and any(path.glob("*.ann"))

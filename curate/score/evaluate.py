"""Scoring extractors against a gold set: load gold, run extractors, count, add intervals.

:func:`evaluate` is what ``curate evaluate`` calls; :func:`score` scores predictions you
already have. Both return data (:class:`Evaluation`, :class:`ExtractorResult`); the
report module renders it.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.compact import Spilled, SpilledStrings
from curate.errors import CurateError, InputError
from curate.extract.resolve import TASKS, Resolved
from curate.model import Document
from curate.schema import LabelSchema, load_schema
from curate.score import bootstrap, entities, metrics, quotes
from curate.score.gold import DEFAULT_GOLD, Articles, GoldSet, hex_hash, open_gold

__all__ = ["DEFAULT_GOLD", "Evaluation", "ExtractorResult", "Metric", "evaluate", "score"]
FORMAT = "curate.evaluation.v1"
ERROR_ARTICLES = 1000
"""Articles whose errors a result keeps by default: those with the most errors."""
LISTED_ARTICLES = 25
"""Articles :func:`evaluate` keeps the gold and predicted documents of, per extractor:
those with the most errors, which the HTML report shows with their text."""


@dataclass(frozen=True)
class Metric:
    """A point estimate with its bootstrap interval (None without resampling)."""

    value: float
    lo: float | None = None
    hi: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"value": _num(self.value), "lo": _num(self.lo), "hi": _num(self.hi)}


@dataclass
class ExtractorResult:
    """One extractor's scores: metrics, per-article counts, confusion and errors.

    ``errors`` lists the errors of at most ``max_error_articles`` articles of
    :func:`score`, those with the most errors (ties by id); ``error_kinds`` counts the
    errors of every article by kind and ``error_articles`` the articles with any.
    """

    name: str
    kind: str
    tasks: tuple[str, ...]
    version: str | None
    table: metrics.CountTable
    metrics: dict[str, Metric]
    support: dict[str, int]
    confusion: Counter[tuple[str, str]]
    errors: dict[str, list[dict]]
    predictions: list[Document] = field(default_factory=list, repr=False)
    """Every prediction with ``keep_predictions``, else those of the listed articles."""
    listed_gold: list[Document] = field(default_factory=list, repr=False)
    """The gold documents of the ``keep_documents`` articles with most errors."""
    error_kinds: Counter[str] = field(default_factory=Counter)
    error_articles: int = 0

    @property
    def labels(self) -> list[str]:
        return self.table.labels()

    def value(self, name: str) -> float | None:
        m = self.metrics.get(name)
        return m.value if m else None

    def to_dict(self, hashes: Iterable[str | None]) -> dict[str, Any]:
        """The result as the JSON report writes it; ``hashes`` gives each article's text
        hash in the order of ``table.ids``."""
        return {
            **self.head(),
            "articles": list(self.articles(hashes)),
            **self.tail(),
        }

    def head(self) -> dict[str, Any]:
        """The report's fields before the per-article counts."""
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "tasks": list(self.tasks),
            "labels": self.labels,
            "metrics": {k: m.to_dict() for k, m in sorted(self.metrics.items())},
            "support": self.support,
            "confusion": [[g, p, n] for (g, p), n in sorted(self.confusion.items())],
        }

    def articles(self, hashes: Iterable[str | None]) -> Iterator[dict[str, Any]]:
        """Each article's id, text hash and nonzero counts, read from the table in turn."""
        rows = zip(self.table.ids, hashes, self.table.iter_counts(), strict=True)
        for i, h, c in rows:
            yield {"id": i, "hash": h, "counts": c}

    def tail(self) -> dict[str, Any]:
        """The report's fields after the per-article counts."""
        return {
            "errors": self.errors,
            "error_summary": {
                "articles": self.error_articles,
                "total": sum(self.error_kinds.values()),
                "kinds": dict(sorted(self.error_kinds.items())),
                "listed_articles": len(self.errors),
            },
        }


@dataclass
class Evaluation:
    """Everything ``curate evaluate`` found, for the terminal, JSON and HTML reports.

    ``gold_docs`` holds the gold documents the reports show (of the articles with most
    errors, :data:`LISTED_ARTICLES` per extractor, when :func:`evaluate` made it; any
    documents when built by hand). ``hashes`` is the text hash of every gold article in
    scoring order (a :class:`~curate.compact.Spilled` array of numbers); without it the
    hashes come from ``gold_docs``.
    """

    gold: dict[str, Any]
    gold_docs: list[Document]
    results: list[ExtractorResult]
    settings: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    created: str = ""
    hashes: Spilled | None = field(default=None, repr=False)

    @property
    def articles(self) -> int:
        """How many gold articles were scored."""
        return len(self.hashes) if self.hashes is not None else len(self.gold_docs)

    def article_hashes(self, ids: Iterable[str]) -> Iterator[str | None]:
        """The text hash of each article of ``ids`` (the scoring order), None if unknown."""
        if self.hashes is None:
            by_id = {d.id: d.hash for d in self.gold_docs}
            yield from (by_id.get(i) for i in ids)
            return
        for _, chunk in self.hashes.chunks():
            yield from (hex_hash(h) for h in chunk.tolist())

    def hash_lookup(self) -> Callable[[int, str], str | None]:
        """``(row, id) -> text hash`` of a gold article (row: its place in scoring order)."""
        if self.hashes is None:
            by_id = {d.id: d.hash for d in self.gold_docs}
            return lambda row, doc_id: by_id.get(doc_id)
        hashes = self.hashes
        return lambda row, doc_id: hex_hash(int(hashes.read(row, row + 1)[0]))

    def head(self) -> dict[str, Any]:
        """The report's fields before the extractors."""
        return {
            "format": FORMAT,
            "created": self.created,
            "gold": self.gold,
            "settings": self.settings,
            "warnings": self.warnings,
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole JSON report as one dict (:func:`curate.score.report.write_json`
        writes the same a piece at a time)."""
        return {
            **self.head(),
            "extractors": [r.to_dict(self.article_hashes(r.table.ids)) for r in self.results],
        }


def load_gold(
    spec: str | Path | None = None,
    version: str | None = None,
    split: str | None = None,
    schema: LabelSchema | None = None,
) -> tuple[list[Document], dict[str, Any], list[str]]:
    """Gold documents as a list, a description of where they came from, and warnings:
    :func:`curate.score.gold.open_gold` read whole (``curate evaluate`` streams instead)."""
    gold = open_gold(spec, version, split, schema)
    return list(gold), gold.info, gold.warnings


def score(
    gold: Iterable[Document],
    predictions: Iterable[Document],
    *,
    tasks: Iterable[str] = TASKS,
    name: str = "predictions",
    kind: str = "predictions",
    version: str | None = None,
    draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_overlap: float = 0.0,
    keep_predictions: bool = True,
    max_error_articles: int = ERROR_ARTICLES,
    keep_documents: int = 0,
    gold_ids: Sequence[str] | None = None,
) -> ExtractorResult:
    """Score predictions (same articles, same order as ``gold``) on ``tasks``.

    ``gold`` and ``predictions`` are iterables read once, side by side, so a caller can
    stream them (e.g. :func:`curate.gold.load.iter_version`); per article only its id
    and nonzero counts are kept (a few dozen bytes), the errors of the
    ``max_error_articles`` articles with the most errors, the gold and predicted documents
    of the ``keep_documents`` articles with most errors (``listed_gold`` and
    ``predictions``: what the HTML report shows), and every prediction only with
    ``keep_predictions``. Intervals come from a
    streamed Poisson bootstrap (:mod:`curate.score.bootstrap`) of ``draws`` resamples.
    ``gold_ids``: the ids of ``gold`` in order when they are kept already (a
    :class:`~curate.score.gold.GoldSet`'s, read in order alongside); the table shares
    them instead of a copy. Otherwise the ids go to disk as they come
    (:class:`~curate.compact.SpilledStrings`): memory does not grow with the articles.
    Raises CurateError when the two differ in length or an article's id or text differs.
    """
    tasks = tuple(t for t in TASKS if t in set(tasks))
    counts = metrics.CountRows()
    spilled = SpilledStrings() if gold_ids is None else None
    ids: Sequence[str] = spilled if spilled is not None else gold_ids or ()
    expected = iter(gold_ids or ())
    n = 0
    kept: list[Document] = []
    confusion: Counter[tuple[str, str]] = Counter()
    worst = _Worst(max_error_articles, keep_documents)
    gold_it, pred_it = iter(gold), iter(predictions)
    while True:
        g, p = next(gold_it, None), next(pred_it, None)
        if g is None or p is None:
            if g is not None or p is not None:
                n_gold = n + (g is not None) + sum(1 for _ in gold_it)
                n_pred = n + (p is not None) + sum(1 for _ in pred_it)
                raise CurateError(f"{name}: {n_pred} predictions for {n_gold} articles")
            break
        if spilled is not None:
            spilled.append(g.id)
        elif next(expected, None) != g.id:
            raise CurateError(f"{name}: gold article {g.id!r} is not the one its ids name")
        n += 1
        if keep_predictions:
            kept.append(p)
        if g.id != p.id or g.text != p.text:
            raise CurateError(
                f"{name}: prediction {p.id!r} does not belong to gold article {g.id!r} "
                "(ids or texts differ)"
            )
        c: dict[str, int] = {}
        errs: list[dict] = []
        if "entities" in tasks:
            gs, ps = entities.spans(g.entities), entities.spans(p.entities)
            ent_counts, ent_errors = entities.score_article(gs, ps, min_overlap)
            c.update(ent_counts)
            confusion.update(entities.confusion(gs, ps))
            errs += ent_errors
        if "quotes" in tasks:
            qc, pairs = quotes.article_counts(g.quotes, p.quotes)
            c.update(qc)
            errs += quotes.errors(g.quotes, p.quotes, pairs)
        counts.add(c)
        worst.add(g.id, errs, (g, p))
    if n != len(ids):
        raise CurateError(f"{name}: {n} gold articles for {len(ids)} ids")
    table = counts.table(ids)
    del counts
    totals = table.totals()
    point = metrics.compute(totals, table.columns, tasks)

    def fn(sums: Any) -> dict[str, Any]:
        return metrics.compute(sums, table.columns, tasks)

    cis = bootstrap.intervals(
        table.blocks(bootstrap.BLOCK), fn, draws=draws, seed=seed, confidence=confidence
    )
    found = {k: Metric(float(v), *cis.get(k, (None, None))) for k, v in point.items()}
    return ExtractorResult(
        name=name,
        kind=kind,
        tasks=tasks,
        version=version,
        table=table,
        metrics=found,
        support=metrics.support(totals, table.columns),
        confusion=confusion,
        errors=worst.errors(),
        predictions=kept if keep_predictions else [p for _, p in worst.documents()],
        listed_gold=[g for g, _ in worst.documents()],
        error_kinds=worst.kinds,
        error_articles=worst.articles,
    )


class _Worst:
    """The errors of the ``keep`` articles with the most errors (ties: smaller id first),
    and the documents of the ``keep_docs`` first of them, in bounded memory; counts over
    every article."""

    def __init__(self, keep: int, keep_docs: int = 0) -> None:
        self.keep = max(keep, 0)
        self.keep_docs = max(keep_docs, 0)
        self.kinds: Counter[str] = Counter()
        self.articles = 0
        self._kept: dict[str, list[dict]] = {}
        self._docs: dict[str, tuple[int, tuple[Document, Document]]] = {}

    def add(self, doc_id: str, errs: list[dict], docs: tuple[Document, Document]) -> None:
        if not errs:
            return
        self.articles += 1
        self.kinds.update(e["kind"] for e in errs)
        if self.keep_docs:
            self._docs[doc_id] = (len(errs), docs)
            if len(self._docs) >= 2 * self.keep_docs:
                self._docs = _top(self._docs, self.keep_docs, lambda v: v[0])
        if not self.keep:
            return
        self._kept[doc_id] = sorted(errs, key=lambda e: (e["start"], e["end"]))
        if len(self._kept) >= 2 * self.keep:
            self._kept = _top(self._kept, self.keep, len)

    def errors(self) -> dict[str, list[dict]]:
        """Article id -> its errors sorted by offsets, in scoring order of the articles."""
        self._kept = _top(self._kept, self.keep, len)
        return self._kept

    def documents(self) -> list[tuple[Document, Document]]:
        """(gold, prediction) of the ``keep_docs`` articles with most errors, in scoring
        order."""
        self._docs = _top(self._docs, self.keep_docs, lambda v: v[0])
        return [docs for _, docs in self._docs.values()]


def _top(kept: dict[str, Any], keep: int, size: Callable[[Any], int]) -> dict[str, Any]:
    """The ``keep`` entries of largest ``size`` (ties: smaller id), in their order.
    An article outside the top of a part of the stream is outside the top of all."""
    ranked = sorted(kept.items(), key=lambda kv: (-size(kv[1]), kv[0]))
    top = {doc_id for doc_id, _ in ranked[:keep]}
    return {k: v for k, v in kept.items() if k in top}


def evaluate(
    gold: GoldSet | Sequence[Document],
    extractors: Sequence[Resolved],
    *,
    only: Iterable[str] | None = None,
    draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    min_overlap: float = 0.0,
    gold_info: dict[str, Any] | None = None,
    warnings: Sequence[str] = (),
    on_article: Callable[[str, int, int], None] | None = None,
) -> Evaluation:
    """Run each extractor over the gold articles and score it, side by side.

    ``gold`` is a :class:`~curate.score.gold.GoldSet` (read again for each extractor:
    the articles go to the extractor and its predictions are scored one at a time, so
    memory holds per article its id, hash and counts, plus the documents of the
    :data:`LISTED_ARTICLES` articles with most errors) or documents in memory.
    A task the gold has no span of (no entities, or no quotes, in any article) is not
    scored and a warning says so: every prediction would count as spurious. Raises
    InputError when that leaves nothing to score. ``on_article(extractor name, articles
    done, articles)`` is called as each extractor's predictions come in (progress).
    """
    if not extractors:
        raise CurateError("no extractor to evaluate; name at least one")
    if not 0 < confidence < 1:
        raise CurateError(f"confidence must be between 0 and 1, not {confidence}")
    if not 0 <= min_overlap <= 1:
        raise CurateError(f"min_overlap must be between 0 and 1, not {min_overlap}")
    wanted = set(only or TASKS)
    unknown = wanted - set(TASKS)
    if unknown:
        raise CurateError(f"unknown task {sorted(unknown)[0]!r}; use entities and/or quotes")
    if not isinstance(gold, GoldSet):
        gold = GoldSet.of(gold, gold_info or {"name": None})
    notes = list(warnings)
    has = gold.has
    lacking = sorted(t for t, present in has.items() if t in wanted and not present)
    for task in lacking:
        notes.append(f"the gold set has no {task}; {task} not scored (nothing to compare with)")
    wanted -= set(lacking)
    if not wanted:
        where = (gold_info or {}).get("name") or "the gold"
        if not any(has.values()):
            raise InputError(
                f"{where}: none of its {len(gold)} article(s) has an entity or a quote: "
                "nothing to score; pull or import annotated articles"
            )
        raise InputError(
            f"{where} has no {' or '.join(lacking)}: nothing to score for --only "
            f"{' '.join(lacking)}; score {', '.join(sorted(t for t, on in has.items() if on))} "
            "instead"
        )
    results = []
    for ex in extractors:
        tasks = tuple(t for t in ex.tasks if t in wanted)
        if not tasks:
            notes.append(f"{ex.name}: predicts none of {', '.join(sorted(wanted))}; skipped")
            continue
        versions: set[str] = set()

        articles, docs = gold.one_pass()

        def predicted(
            ex: Resolved = ex, versions: set[str] = versions, articles: Articles = articles
        ) -> Iterator[Document]:
            for n, doc in enumerate(ex.run(articles), 1):
                if doc.provenance and (v := doc.provenance.model_version):
                    versions.add(v)
                if on_article is not None:
                    on_article(ex.name, n, len(gold))
                yield doc

        result = score(
            docs,
            predicted(),
            tasks=tasks,
            name=ex.name,
            kind=ex.kind,
            draws=draws,
            seed=seed,
            confidence=confidence,
            min_overlap=min_overlap,
            keep_predictions=False,
            keep_documents=LISTED_ARTICLES,
            gold_ids=gold.ids,
        )
        notes += ex.notes
        result.version = ex.version or ", ".join(sorted(versions)) or None
        results.append(result)
    if not results:
        why = "what --only asks for" if only else f"the gold's {' or '.join(sorted(wanted))}"
        raise InputError(f"no extractor predicts {why}; nothing was scored")
    listed = {d.id: d for r in results for d in r.listed_gold}
    return Evaluation(
        gold=gold_info or gold.info,
        gold_docs=list(listed.values()),
        results=results,
        settings={
            "bootstrap": draws,
            "seed": seed,
            "confidence": confidence,
            "min_overlap": min_overlap,
            "tasks": sorted(wanted),
        },
        warnings=notes,
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        hashes=gold.hashes,
    )


def _num(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return float(x)


def evaluate_specs(
    specs: Sequence[str],
    *,
    gold: str | Path | None = None,
    version: str | None = None,
    split: str | None = None,
    schema_path: str | Path | None = None,
    **kw: Any,
) -> Evaluation:
    """:func:`evaluate` from names: a gold spec (:func:`load_gold`) and extractor specs
    (:func:`curate.extract.resolve.resolve`); ``kw`` goes to :func:`evaluate`."""
    from curate.extract.resolve import resolve, scored_on_training

    schema = load_schema(schema_path) if schema_path else None
    extractors = [resolve(s, schema) for s in specs or ["curate"]]
    docs = open_gold(gold, version, split, schema)
    warnings = docs.warnings + [w for s in specs or () if (w := scored_on_training(s, docs.info))]
    return evaluate(docs, extractors, gold_info=docs.info, warnings=warnings, **kw)

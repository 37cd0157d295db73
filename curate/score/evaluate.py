"""Scoring extractors against a gold set: load gold, run extractors, count, add intervals.

:func:`evaluate` is what ``curate evaluate`` calls; :func:`score` scores predictions you
already have. Both return data (:class:`Evaluation`, :class:`ExtractorResult`); the
report module renders it.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.compact import StringList
from curate.errors import CurateError, DatasetError, InputError
from curate.extract.resolve import TASKS, Resolved
from curate.model import Document
from curate.schema import LabelSchema, load_schema
from curate.score import bootstrap, entities, metrics, quotes

DEFAULT_GOLD = "seeds"
FORMAT = "curate.evaluation.v1"
ERROR_ARTICLES = 1000
"""Articles whose errors a result keeps by default: those with the most errors."""


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
    error_kinds: Counter[str] = field(default_factory=Counter)
    error_articles: int = 0

    @property
    def labels(self) -> list[str]:
        return self.table.labels()

    def value(self, name: str) -> float | None:
        m = self.metrics.get(name)
        return m.value if m else None

    def to_dict(self, hashes: dict[str, str]) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "tasks": list(self.tasks),
            "labels": self.labels,
            "metrics": {k: m.to_dict() for k, m in sorted(self.metrics.items())},
            "support": self.support,
            "confusion": [[g, p, n] for (g, p), n in sorted(self.confusion.items())],
            "articles": [
                {"id": i, "hash": hashes.get(i), "counts": c}
                for i, c in zip(self.table.ids, self.table.iter_counts(), strict=True)
            ],
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
    """Everything ``curate evaluate`` found, for the terminal, JSON and HTML reports."""

    gold: dict[str, Any]
    gold_docs: list[Document]
    results: list[ExtractorResult]
    settings: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        hashes = {d.id: d.hash for d in self.gold_docs}
        return {
            "format": FORMAT,
            "created": self.created,
            "gold": self.gold,
            "settings": self.settings,
            "warnings": self.warnings,
            "extractors": [r.to_dict(hashes) for r in self.results],
        }


def load_gold(
    spec: str | Path | None = None,
    version: str | None = None,
    split: str | None = None,
    schema: LabelSchema | None = None,
) -> tuple[list[Document], dict[str, Any], list[str]]:
    """Gold documents, a description of where they came from, and warnings.

    ``spec`` is a gold dataset name or folder (``curate.gold``), a ``.jsonl`` of
    Document dicts, or a brat folder (read as ``curate import brat`` reads it, labels
    mapped by ``schema``, default the shipped config). Bad records of a ``.jsonl`` and
    records with an entity label the config lacks are left out and named in the warnings.
    """
    from curate.io import records

    schema = schema or load_schema()
    spec = str(spec or DEFAULT_GOLD)
    path = Path(spec)
    warnings: list[str] = []
    info: dict[str, Any]
    if path.suffix in (".jsonl", ".ndjson") or path.is_file():
        problems: list[str] = []
        docs = []
        for lineno, doc in records.iter_documents(path, problems):
            if why := records.unknown_labels(doc, schema.entity_labels):
                problems.append(f"{path}:{lineno}: {why}")
            else:
                docs.append(doc)
        warnings += [f"{p}; gold record left out" for p in problems]
        info = {"name": path.stem, "path": str(path), "version": None, "split": split}
    elif _is_brat(path):
        from curate.io.brat import read_brat

        corpus = read_brat(path, schema)
        docs = corpus.gold()
        warnings += corpus.problems
        if corpus.dropped_labels:
            dropped = ", ".join(f"{k} ({n})" for k, n in sorted(corpus.dropped_labels.items()))
            warnings.append(f"{path}: labels not in the config, not scored: {dropped}")
        info = {"name": path.name, "path": str(path), "version": None, "split": split}
    else:
        try:
            from curate.gold import load_documents
        except ImportError as e:
            raise DatasetError(
                f"cannot read gold dataset {spec!r}: curate.gold is not available ({e}); "
                "pass a gold .jsonl of Document dicts instead"
            ) from e
        docs = list(load_documents(spec, version=version, split=split))
        info = {"name": spec, "path": None, "version": version, "split": split}
        try:
            from curate.gold.version import resolve

            where = resolve(spec, version)
            info.update(name=where.parent.name, path=str(where), version=where.name)
        except (ImportError, CurateError):
            pass
    if not docs:
        raise DatasetError(f"gold {spec!r} has no articles; nothing to score against")
    ids = Counter(d.id for d in docs)
    dup = [i for i, n in ids.items() if n > 1]
    if dup:
        raise DatasetError(
            f"gold {spec!r} has {len(dup)} duplicate article ids (first: {dup[0]!r}); "
            "article ids must be unique"
        )
    info["articles"] = len(docs)
    return docs, info, warnings


def _is_brat(path: Path) -> bool:
    """A PolNeAR-style folder, or a folder of NAME.txt beside NAME.ann files."""
    if (path / "text").is_dir() and (path / "attributions").is_dir():
        return True
    return path.is_dir() and any(path.glob("*.ann"))


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
) -> ExtractorResult:
    """Score predictions (same articles, same order as ``gold``) on ``tasks``.

    ``gold`` and ``predictions`` are iterables read once, side by side, so a caller can
    stream them (e.g. :func:`curate.gold.load.iter_version`); per article only its id
    and nonzero counts are kept (a few dozen bytes), the errors of the
    ``max_error_articles`` articles with the most errors, and the predictions themselves
    only with ``keep_predictions`` (the HTML report shows them). Intervals come from a
    streamed Poisson bootstrap (:mod:`curate.score.bootstrap`) of ``draws`` resamples.
    Raises CurateError when the two differ in length or an article's id or text differs.
    """
    tasks = tuple(t for t in TASKS if t in set(tasks))
    counts = metrics.CountRows()
    ids = StringList()
    kept: list[Document] = []
    confusion: Counter[tuple[str, str]] = Counter()
    worst = _Worst(max_error_articles)
    gold_it, pred_it = iter(gold), iter(predictions)
    while True:
        g, p = next(gold_it, None), next(pred_it, None)
        if g is None or p is None:
            if g is not None or p is not None:
                n_gold = len(ids) + (g is not None) + sum(1 for _ in gold_it)
                n_pred = len(ids) + (p is not None) + sum(1 for _ in pred_it)
                raise CurateError(f"{name}: {n_pred} predictions for {n_gold} articles")
            break
        ids.append(g.id)
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
        worst.add(g.id, errs)
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
        predictions=kept,
        error_kinds=worst.kinds,
        error_articles=worst.articles,
    )


class _Worst:
    """The errors of the ``keep`` articles with the most errors (ties: smaller id first),
    in bounded memory, and counts over every article."""

    def __init__(self, keep: int) -> None:
        self.keep = max(keep, 0)
        self.kinds: Counter[str] = Counter()
        self.articles = 0
        self._kept: dict[str, list[dict]] = {}

    def add(self, doc_id: str, errs: list[dict]) -> None:
        if not errs:
            return
        self.articles += 1
        self.kinds.update(e["kind"] for e in errs)
        if not self.keep:
            return
        self._kept[doc_id] = sorted(errs, key=lambda e: (e["start"], e["end"]))
        if len(self._kept) >= 2 * self.keep:
            self._prune()

    def _prune(self) -> None:
        # An article outside the top of a part of the stream is outside the top of all.
        ranked = sorted(self._kept.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        top = {doc_id for doc_id, _ in ranked[: self.keep]}
        self._kept = {k: v for k, v in self._kept.items() if k in top}

    def errors(self) -> dict[str, list[dict]]:
        """Article id -> its errors sorted by offsets, in scoring order of the articles."""
        self._prune()
        return self._kept


def evaluate(
    gold: Sequence[Document],
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
    notes = list(warnings)
    has = {"entities": any(d.entities for d in gold), "quotes": any(d.quotes for d in gold)}
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
    articles = [d.article for d in gold]
    results = []
    for ex in extractors:
        tasks = tuple(t for t in ex.tasks if t in wanted)
        if not tasks:
            notes.append(f"{ex.name}: predicts none of {', '.join(sorted(wanted))}; skipped")
            continue
        preds = []
        for doc in ex.run(articles):
            preds.append(doc)
            if on_article is not None:
                on_article(ex.name, len(preds), len(articles))
        notes += ex.notes
        version = ex.version or _version_of(preds)
        results.append(
            score(
                gold,
                preds,
                tasks=tasks,
                name=ex.name,
                kind=ex.kind,
                version=version,
                draws=draws,
                seed=seed,
                confidence=confidence,
                min_overlap=min_overlap,
            )
        )
    if not results:
        why = "what --only asks for" if only else f"the gold's {' or '.join(sorted(wanted))}"
        raise InputError(f"no extractor predicts {why}; nothing was scored")
    return Evaluation(
        gold=gold_info or {"name": None, "articles": len(gold)},
        gold_docs=list(gold),
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
    )


def _version_of(preds: Sequence[Document]) -> str | None:
    versions = sorted({v for d in preds if d.provenance and (v := d.provenance.model_version)})
    return ", ".join(versions) or None


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
    docs, info, warnings = load_gold(gold, version, split, schema)
    warnings += [w for s in specs or () if (w := scored_on_training(s, info))]
    return evaluate(docs, extractors, gold_info=info, warnings=warnings, **kw)

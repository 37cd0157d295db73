"""Scoring extractors against a gold set: load gold, run extractors, count, add intervals.

:func:`evaluate` is what ``curate evaluate`` calls; :func:`score` scores predictions you
already have. Both return data (:class:`Evaluation`, :class:`ExtractorResult`); the
report module renders it.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import CurateError, DatasetError, InputError
from curate.extract.resolve import TASKS, Resolved
from curate.model import Document
from curate.schema import LabelSchema, load_schema
from curate.score import bootstrap, entities, metrics, quotes

DEFAULT_GOLD = "seeds"
FORMAT = "curate.evaluation.v1"


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
    """One extractor's scores: metrics, per-article counts, confusion and errors."""

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
                {"id": i, "hash": hashes.get(i), "counts": _nonzero(self.table, r)}
                for r, i in enumerate(self.table.ids)
            ],
            "errors": self.errors,
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
) -> ExtractorResult:
    """Score predictions (same articles, same order as ``gold``) on ``tasks``.

    ``gold`` and ``predictions`` are iterables read once, side by side, so a caller can
    stream them (e.g. :func:`curate.gold.load.iter_version`); per article only its counts
    and errors are kept, and the predictions themselves only with ``keep_predictions``
    (the HTML report shows them). Raises CurateError when the two differ in length or an
    article's id or text differs.
    """
    tasks = tuple(t for t in TASKS if t in set(tasks))
    counts = metrics.CountRows()
    ids: list[str] = []
    kept: list[Document] = []
    confusion: Counter[tuple[str, str]] = Counter()
    errors: dict[str, list[dict]] = {}
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
        if errs:
            errors[g.id] = sorted(errs, key=lambda e: (e["start"], e["end"]))
    table = counts.table(ids)
    totals = table.totals()
    point = metrics.compute(totals, table.columns, tasks)

    def fn(sums: Any) -> dict[str, Any]:
        return metrics.compute(sums, table.columns, tasks)

    cis = bootstrap.intervals(table.rows, fn, draws=draws, seed=seed, confidence=confidence)
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
        errors=errors,
        predictions=kept,
    )


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
) -> Evaluation:
    """Run each extractor over the gold articles and score it, side by side."""
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
    for task, present in has.items():
        if task in wanted and not present:
            notes.append(f"the gold set has no {task}; {task} scores would be meaningless")
    articles = [d.article for d in gold]
    results = []
    for ex in extractors:
        tasks = tuple(t for t in ex.tasks if t in wanted)
        if not tasks:
            notes.append(f"{ex.name}: predicts none of {', '.join(sorted(wanted))}; skipped")
            continue
        preds = list(ex.run(articles))
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
        raise InputError("no extractor predicts what --only asks for; nothing was scored")
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


def _nonzero(table: metrics.CountTable, row: int) -> dict[str, int]:
    r = table.rows[row]
    return {k: int(r[i]) for i, k in enumerate(table.columns) if r[i]}


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
    from curate.extract.resolve import resolve

    schema = load_schema(schema_path) if schema_path else None
    extractors = [resolve(s, schema) for s in specs or ["curate"]]
    docs, info, warnings = load_gold(gold, version, split, schema)
    warnings += [w for s in specs or () if (w := scored_on_training(s, info))]
    return evaluate(docs, extractors, gold_info=info, warnings=warnings, **kw)


def scored_on_training(spec: str, gold_info: dict[str, Any]) -> str | None:
    """A warning when ``spec`` names a trained model (``NAME``, ``NAME@VERSION``,
    ``curate@NAME``, ``curate.quotes.hybrid.v2@NAME``) whose training articles are among
    the gold articles scored, else None.

    The model's meta names the gold it was trained on (name and version); only a gold
    with its own train/dev splits keeps the model's training articles out of the splits
    other than ``train``. Scores on training articles are optimistic, so they are flagged,
    never refused.
    """
    from curate import extract
    from curate.extract.resolve import PIPELINE_NAMES
    from curate.train.models import find_model

    base, _, model = spec.partition("@")
    named = base in PIPELINE_NAMES or base in extract.names() or base in extract.retired()
    try:
        trained = find_model(model if named else spec)
    except (CurateError, ValueError):
        return None
    src = trained.meta.get("gold") or {}
    name, version, split = gold_info.get("name"), gold_info.get("version"), gold_info.get("split")
    if not name or src.get("name") != name or str(src.get("version")) != str(version):
        return None
    rule = str(src.get("dev_rule") or "")
    if rule.startswith("gold splits train/") and split not in (None, "train"):
        return None
    dev = rule.removeprefix("gold splits train/") if rule.startswith("gold splits") else None
    where = f"gold {name} {version}" + (f" split {split}" if split else "")
    fix = f"score --split {dev} or another gold" if dev else "score another gold"
    return (
        f"{spec}: model {trained.ref} was trained on {where}; its training articles are "
        f"among those scored, so these scores are optimistic: {fix}"
    )

"""Evaluation reports: JSON for machines and the comparison of two reports.

The JSON report keeps each article's counts, so a later report can be compared with it
by a paired bootstrap over the articles both scored (:func:`compare`). Renderers for
people live in :mod:`curate.report` (terminal tables and the HTML page).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curate.errors import InputError
from curate.io.jsonl import atomic_writer
from curate.score import bootstrap, metrics
from curate.score.evaluate import FORMAT, Evaluation
from curate.score.quotes import RULES

# ---------------------------------------------------------------- JSON


def write_json(evaluation: Evaluation, path: str | Path) -> Path:
    """Write the report as JSON, atomically."""
    path = Path(path)
    with atomic_writer(path) as fh:
        json.dump(evaluation.to_dict(), fh, ensure_ascii=False, indent=1, allow_nan=False)
        fh.write("\n")
    readable(path)
    return path


def readable(path: Path) -> None:
    """Make a written report readable by others (temp files are created 0600)."""
    path.chmod(0o644)


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a JSON report written by :func:`write_json`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(
            f"cannot read report ({e.strerror}); check the path", path=str(path)
        ) from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(
            f"not a curate evaluation report (invalid JSON: {e}); "
            "write one with `curate evaluate --json`",
            path=str(path),
        ) from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            f"not a curate evaluation report (expected format {FORMAT!r}); "
            "write one with `curate evaluate --json`",
            path=str(path),
        )
    return data


# ---------------------------------------------------------------- compare

MIN_ARTICLES = 5


@dataclass(frozen=True)
class Change:
    """One metric of one extractor in an old and a new report."""

    extractor: str
    metric: str
    old: float
    new: float
    lo: float | None
    hi: float | None
    status: str
    """``regression``, ``improvement`` or ``same`` (not significant)."""

    @property
    def delta(self) -> float:
        return self.new - self.old


@dataclass
class Comparison:
    """What changed between an old report and this evaluation."""

    old_path: str
    changes: list[Change]
    paired: dict[str, int]
    """Extractor -> number of articles both reports scored (0: compared unpaired)."""
    unmatched: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.status == "regression"]

    @property
    def improvements(self) -> list[Change]:
        return [c for c in self.changes if c.status == "improvement"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_report": self.old_path,
            "paired_articles": self.paired,
            "unmatched_extractors": self.unmatched,
            "notes": self.notes,
            "changes": [
                {
                    "extractor": c.extractor,
                    "metric": c.metric,
                    "old": c.old,
                    "new": c.new,
                    "delta": c.delta,
                    "lo": c.lo,
                    "hi": c.hi,
                    "status": c.status,
                }
                for c in self.changes
                if c.status != "same"
            ],
        }


def headline(names: Iterable[str]) -> list[str]:
    """The metrics compared between reports: the F1s and accuracies people read.

    Entities: micro and macro F1 under each scheme, per-label F1 under strict. Quotes:
    F1 under each rule, per kind under overlap, speaker and cue accuracy overall.
    """
    keep = []
    for n in names:
        parts = n.split("/")
        if parts[-1] == "f1" and parts[0] == "entities":
            # Micro and macro under every scheme; per label under strict only.
            keep += [n] if parts[2] in ("micro", "macro") or parts[1] == "strict" else []
        elif parts[-1] == "f1" and parts[1] in RULES:
            keep += [n] if parts[2] == metrics.ALL or parts[1] == "overlap" else []
        elif parts[0] == "quotes" and parts[-1] == "acc" and parts[2] == metrics.ALL:
            keep.append(n)
    return sorted(keep)


def compare(
    old: Mapping[str, Any],
    new: Evaluation,
    *,
    old_path: str = "",
    draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """Flag significant changes of the headline metrics, extractor by extractor (by name).

    Paired bootstrap over the articles both reports scored (same id and text hash): a
    change is significant when the interval of ``new - old`` excludes 0. Without shared
    articles (another gold set) the reports' own intervals must not overlap. With fewer
    than :data:`MIN_ARTICLES` articles nothing is flagged: resampling a handful of
    articles gives intervals far too narrow to trust.
    """
    old_list = list(old.get("extractors", []))
    old_by_name = {e["name"]: e for e in old_list}
    hashes = {d.id: d.hash for d in new.gold_docs}
    changes: list[Change] = []
    paired: dict[str, int] = {}
    unmatched = []
    notes = []
    for key in ("min_overlap",):
        before, now = (old.get("settings") or {}).get(key), new.settings.get(key)
        if before is not None and before != now:
            notes.append(f"the old report used {key}={before}, this one {now}; not comparable")
    single = len(old_list) == 1 and len(new.results) == 1
    for res in new.results:
        o = old_by_name.get(res.name)
        if o is None and single:
            # One extractor on each side: compare them whatever their names.
            o = old_list[0]
            notes.append(f"comparing {res.name} with {o['name']} of the old report")
        if o is None:
            unmatched.append(res.name)
            continue
        old_metrics = o.get("metrics", {})
        names = [
            n
            for n in headline(res.metrics)
            if n in old_metrics and (old_metrics[n] or {}).get("value") is not None
        ]
        old_rows = {
            a["id"]: a.get("counts", {})
            for a in o.get("articles", [])
            if a.get("id") in hashes and a.get("hash") == hashes[a["id"]]
        }
        common = [i for i in res.table.ids if i in old_rows]
        paired[res.name] = len(common)
        diffs: dict[str, tuple[float, float]] = {}
        too_few = len(common) < MIN_ARTICLES if common else len(new.gold_docs) < MIN_ARTICLES
        if too_few:
            changes += [
                Change(
                    res.name, n, old_metrics[n]["value"], res.metrics[n].value, None, None, "same"
                )
                for n in names
            ]
            continue
        if common and draws > 0:
            new_rows = [
                c
                for i, c in zip(res.table.ids, res.table.iter_counts(), strict=True)
                if i in old_rows
            ]
            columns = sorted(
                {k for i, r in zip(common, new_rows, strict=True) for k in (*r, *old_rows[i])}
            )
            a = _matrix(columns, new_rows)
            b = _matrix(columns, [old_rows[i] for i in common])
            tasks = res.tasks

            def fn(
                sums: np.ndarray, columns: Any = columns, tasks: Any = tasks
            ) -> dict[str, np.ndarray]:
                return metrics.compute(sums, columns, tasks)

            diffs = bootstrap.paired_differences(
                a, b, fn, draws=draws, seed=seed, confidence=confidence
            )
        for n in names:
            new_m, old_m = res.metrics[n], old_metrics[n]
            lo, hi = diffs.get(n, (None, None))
            if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi):
                status = "regression" if hi < 0 else "improvement" if lo > 0 else "same"
            else:
                status = _unpaired(new_m.lo, new_m.hi, old_m.get("lo"), old_m.get("hi"))
                lo = hi = None
            changes.append(Change(res.name, n, old_m["value"], new_m.value, lo, hi, status))
    return Comparison(old_path, changes, paired, unmatched, notes)


def _unpaired(nlo: Any, nhi: Any, olo: Any, ohi: Any) -> str:
    if None in (nlo, nhi, olo, ohi):
        return "same"
    if nhi < olo:
        return "regression"
    if nlo > ohi:
        return "improvement"
    return "same"


def _matrix(columns: Sequence[str], rows: Sequence[Mapping[str, int]]) -> np.ndarray:
    col = {k: i for i, k in enumerate(columns)}
    m = np.zeros((len(rows), len(columns)))
    for i, r in enumerate(rows):
        for k, v in r.items():
            m[i, col[k]] = v
    return m

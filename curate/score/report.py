"""Evaluation reports: JSON for machines and the comparison of two reports.

The JSON report keeps each article's counts, so a later report can be compared with it
by a paired bootstrap over the articles both scored (:func:`compare`). Renderers for
people live in :mod:`curate.report` (terminal tables and the HTML page).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ijson
import numpy as np

from curate.compact import Spilled, SpilledMap, SpilledStrings
from curate.errors import InputError
from curate.io.jsonl import atomic_writer
from curate.score import bootstrap, metrics
from curate.score.evaluate import FORMAT, Evaluation, ExtractorResult
from curate.score.quotes import RULES

# ---------------------------------------------------------------- JSON


def write_json(evaluation: Evaluation, path: str | Path) -> Path:
    """Write the report as JSON, atomically, an article at a time: the same text as
    ``json.dump(evaluation.to_dict(), fh, ensure_ascii=False, indent=1)`` without the
    list of every article's counts in memory."""
    path = Path(path)
    ev = evaluation
    results = [_PLACEHOLDER.format(k) for k in range(len(ev.results))]
    outline = _dumps({**ev.head(), "extractors": results}, 0)
    with atomic_writer(path) as fh:
        for k, r in enumerate(ev.results):
            before, _, outline = outline.partition(_dumps(results[k], 0))
            fh.write(before)
            result = {**r.head(), "articles": _PLACEHOLDER.format("articles"), **r.tail()}
            head, _, tail = _dumps(result, 2).partition(_dumps(_PLACEHOLDER.format("articles"), 0))
            fh.write(head)
            _write_list(fh, r.articles(ev.article_hashes(r.table.ids)), 3)
            fh.write(tail)
        fh.write(outline)
        fh.write("\n")
    readable(path)
    return path


_PLACEHOLDER = "\0curate-report-{}\0"
"""A string no report holds (a NUL character) marking where a streamed part goes."""


def _dumps(obj: Any, depth: int) -> str:
    """``obj`` as ``json.dump(..., indent=1)`` writes it ``depth`` levels deep."""
    text = json.dumps(obj, ensure_ascii=False, indent=1, allow_nan=False)
    return text.replace("\n", "\n" + " " * depth)


def _write_list(fh: Any, items: Iterable[Any], depth: int) -> None:
    """A JSON list of ``items`` at ``depth`` (its items one level deeper), as
    ``json.dump(..., indent=1)`` writes it, an item at a time."""
    inner = "\n" + " " * (depth + 1)
    fh.write("[")
    first = True
    for item in items:
        fh.write(("" if first else ",") + inner + _dumps(item, depth + 1))
        first = False
    fh.write("]" if first else "\n" + " " * depth + "]")


def readable(path: Path) -> None:
    """Make a written report readable by others (temp files are created 0600)."""
    path.chmod(0o644)


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a JSON report written by :func:`write_json`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise _unreadable(e, path) from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _invalid(e, path) from e
    _check_format(data, path)
    return data


_STREAMED = ("articles", "errors")
"""An extractor's fields :class:`OldReport` reads from the file when asked, not kept."""


@dataclass
class OldReport:
    """An earlier JSON report, read a part at a time: ``head`` is the report without each
    extractor's ``articles`` and ``errors``; :meth:`articles` reads one extractor's
    articles from the file as they are used (or from ``data``, a report in memory)."""

    head: dict[str, Any]
    path: Path | None = None
    data: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> OldReport:
        """A report already read whole (:func:`load_report`)."""
        return cls(dict(data), data=data)

    def articles(self, k: int) -> Iterator[Mapping[str, Any]]:
        """The per-article records (id, hash, counts) of extractor number ``k``."""
        if self.data is not None:
            yield from self.data["extractors"][k].get("articles") or []
            return
        assert self.path is not None
        at, inside = "extractors.item.articles.item", -1
        builder: ijson.ObjectBuilder | None = None
        with _parsing(self.path) as events:
            for prefix, event, value in events:
                if prefix == "extractors.item" and event == "start_map":
                    inside += 1
                if inside != k or not prefix.startswith(at):
                    continue
                if prefix == at and event == "start_map" and builder is None:
                    builder = ijson.ObjectBuilder()
                if builder is not None:
                    builder.event(event, value)
                    if prefix == at and event == "end_map":
                        if isinstance(builder.value, dict):
                            yield builder.value
                        builder = None


def open_report(path: str | Path) -> OldReport:
    """An earlier report written by :func:`write_json`, checked and read a part at a time
    (:class:`OldReport`): what ``curate evaluate --compare`` reads. Raises InputError
    for a file that is not a curate evaluation report."""
    path = Path(path)
    builder = ijson.ObjectBuilder()
    with _parsing(path) as events:
        for prefix, event, value in events:
            if prefix.startswith(("extractors.item.articles", "extractors.item.errors")):
                continue
            if prefix == "extractors.item" and event == "map_key" and value in _STREAMED:
                continue
            builder.event(event, value)
    head = getattr(builder, "value", None)
    _check_format(head, path)
    assert isinstance(head, dict)
    return OldReport(head, path=path)


@contextmanager
def _parsing(path: Path) -> Iterator[Iterator[tuple[str, str, Any]]]:
    """ijson's events of a report file, its errors turned into InputError."""
    try:
        fh = path.open("rb")
    except OSError as e:
        raise _unreadable(e, path) from e
    with fh:
        try:
            yield ijson.parse(fh, use_float=True)
        except (ijson.JSONError, UnicodeDecodeError) as e:
            raise _invalid(e, path) from e


def _unreadable(e: OSError, path: Path) -> InputError:
    return InputError(f"cannot read report ({e.strerror}); check the path", path=str(path))


def _invalid(e: Exception, path: Path) -> InputError:
    return InputError(
        f"not a curate evaluation report (invalid JSON: {e}); "
        "write one with `curate evaluate --json`",
        path=str(path),
    )


def _check_format(data: Any, path: Path) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            f"not a curate evaluation report (expected format {FORMAT!r}); "
            "write one with `curate evaluate --json`",
            path=str(path),
        )


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
    old: Mapping[str, Any] | OldReport,
    new: Evaluation,
    *,
    old_path: str = "",
    draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """Flag significant changes of the headline metrics, extractor by extractor (by name).

    ``old`` is a report read whole (:func:`load_report`) or a part at a time
    (:func:`open_report`; its articles are read as they are paired, so memory holds per
    shared article its row number and counts, the counts on disk past a chunk).
    Paired bootstrap over the articles both reports scored (same id and text hash): a
    change is significant when the interval of ``new - old`` excludes 0. Without shared
    articles (another gold set) the reports' own intervals must not overlap. With fewer
    than :data:`MIN_ARTICLES` articles nothing is flagged: resampling a handful of
    articles gives intervals far too narrow to trust.
    """
    report = old if isinstance(old, OldReport) else OldReport.of(old)
    old_list = list(report.head.get("extractors", []))
    old_by_name = {e["name"]: k for k, e in enumerate(old_list)}
    changes: list[Change] = []
    paired: dict[str, int] = {}
    unmatched = []
    notes = []
    for key in ("min_overlap",):
        before, now = (report.head.get("settings") or {}).get(key), new.settings.get(key)
        if before is not None and before != now:
            notes.append(f"the old report used {key}={before}, this one {now}; not comparable")
    single = len(old_list) == 1 and len(new.results) == 1
    for res in new.results:
        k = old_by_name.get(res.name)
        if k is None and single:
            # One extractor on each side: compare them whatever their names.
            k = 0
            notes.append(f"comparing {res.name} with {old_list[0]['name']} of the old report")
        if k is None:
            unmatched.append(res.name)
            continue
        old_metrics = old_list[k].get("metrics", {})
        names = [
            n
            for n in headline(res.metrics)
            if n in old_metrics and (old_metrics[n] or {}).get("value") is not None
        ]
        pairs = _Pairs(res, new, report.articles(k))
        paired[res.name] = pairs.n
        diffs: dict[str, tuple[float, float]] = {}
        too_few = pairs.n < MIN_ARTICLES if pairs.n else new.articles < MIN_ARTICLES
        if too_few:
            changes += [
                Change(
                    res.name, n, old_metrics[n]["value"], res.metrics[n].value, None, None, "same"
                )
                for n in names
            ]
            continue
        if pairs.n and draws > 0:
            columns = pairs.columns()
            tasks = res.tasks

            def fn(
                sums: np.ndarray, columns: Any = columns, tasks: Any = tasks
            ) -> dict[str, np.ndarray]:
                return metrics.compute(sums, columns, tasks)

            diffs = bootstrap.paired_blocks(
                pairs.blocks(columns), fn, draws=draws, seed=seed, confidence=confidence
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


class _Pairs:
    """The articles an old report and a new result both scored (same id, same text hash),
    in the new result's order: the new row numbers (8 bytes an article shared, found by id
    in a temporary database) and the old
    counts (:class:`~curate.score.metrics.CountRows`, on disk past a chunk)."""

    def __init__(
        self, res: ExtractorResult, new: Evaluation, old_articles: Iterable[Mapping[str, Any]]
    ) -> None:
        self.res = res
        index = SpilledMap()  # id -> new row, on disk: memory does not grow with the ids
        try:
            for k, scored in enumerate(res.table.ids):
                index.add(scored, k)
            index.seal()  # the scored ids are unique (GoldSet checks them)
            hash_of = new.hash_lookup()
            seen = np.zeros(len(res.table), dtype=bool)
            rows = Spilled("q")  # on disk past a chunk
            in_order, last = True, -1  # the old report lists them in scoring order
            old = metrics.CountRows()
            for a in old_articles:
                doc_id = a.get("id")
                if not isinstance(doc_id, str):
                    continue
                row = index.get(doc_id)
                if row is None or seen[row] or a.get("hash") != hash_of(row, doc_id):
                    continue  # not scored now, changed, or twice in the old report
                seen[row] = True
                in_order = in_order and row > last
                rows.append(row)
                last = row
                old.add(a.get("counts") or {})
        finally:
            index.close()
        self.n = len(rows)
        self._rows = rows
        # Old rows in new order: none needed when the old report was in scoring order (then
        # nothing here grows with the articles); else the rows in memory, 16 bytes each.
        self._order = None if in_order else np.argsort(rows.read(), kind="stable")
        self.old = old.table(SpilledStrings("" for _ in range(self.n)))

    def _sides(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(new rows, old rows) of a block of shared articles at a time, in new order."""
        for s in range(0, self.n, bootstrap.BLOCK):
            at: np.ndarray
            if self._order is None:
                at = np.arange(s, min(s + bootstrap.BLOCK, self.n))
                rows = self._rows.read(s, s + bootstrap.BLOCK)
            else:
                at = self._order[s : s + bootstrap.BLOCK]
                rows = self._rows.read()[at]
            yield self.res.table.take(rows), self.old.take(at)

    def columns(self) -> list[str]:
        """The columns with a count in the shared articles (old: every key written)."""
        used = np.zeros(len(self.res.table.columns), dtype=bool)
        for a, _ in self._sides():
            used |= (a != 0).any(axis=0)
        named = {c for c, on in zip(self.res.table.columns, used.tolist(), strict=True) if on}
        return sorted(named | set(self.old.columns))

    def blocks(self, columns: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The shared articles' counts in ``columns``, new and old, a block at a time."""
        for a, b in self._sides():
            yield (
                _project(a, self.res.table.columns, columns),
                _project(b, self.old.columns, columns),
            )


def _project(m: np.ndarray, have: Sequence[str], columns: Sequence[str]) -> np.ndarray:
    """``m`` (columns ``have``) with the columns ``columns``; a missing one is zeros."""
    where = {c: i for i, c in enumerate(have)}
    out = np.zeros((m.shape[0], len(columns)), dtype=m.dtype)
    for j, c in enumerate(columns):
        if c in where:
            out[:, j] = m[:, where[c]]
    return out


def _unpaired(nlo: Any, nhi: Any, olo: Any, ohi: Any) -> str:
    if None in (nlo, nhi, olo, ohi):
        return "same"
    if nhi < olo:
        return "regression"
    if nlo > ohi:
        return "improvement"
    return "same"

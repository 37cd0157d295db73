"""Evaluation reports for the terminal: rich tables of scores and of a comparison.

The JSON report and the comparison itself are in :mod:`curate.score.report`; the HTML
page is :mod:`curate.report.html`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from curate.score import metrics
from curate.score.entities import NONE, SCHEMES
from curate.score.evaluate import Evaluation
from curate.score.quotes import KINDS, RULES
from curate.score.report import MIN_ARTICLES, Comparison


def pct(x: float | None) -> str:
    """A share as a percentage with one decimal, ``-`` for none."""
    return "-" if x is None else f"{100 * x:.1f}"


def ci(m: Any) -> str:
    """A metric's interval as ``lo–hi`` in percent, empty without one."""
    if m is None or m.lo is None or m.hi is None:
        return ""
    return f"{100 * m.lo:.1f}–{100 * m.hi:.1f}"


def render(evaluation: Evaluation) -> list[RenderableType]:
    """Rich renderables for the terminal: summary, per label, confusion, quotes."""
    ev = evaluation
    out: list[RenderableType] = [_header(ev)]
    ents = [r for r in ev.results if "entities" in r.tasks]
    qs = [r for r in ev.results if "quotes" in r.tasks]
    if ents:
        out += [_entity_summary(ents), _per_label(ents)]
        out += [_confusion(r) for r in ents if r.confusion]
    if qs:
        out += [_quote_summary(qs), _quote_kinds(qs), _speakers(qs)]
    return out


def _header(ev: Evaluation) -> Text:
    g = ev.gold
    name = g.get("name") or "gold"
    version = f" {g['version']}" if g.get("version") else ""
    split = f" [{g['split']}]" if g.get("split") else ""
    s = ev.settings
    boot = (
        f"{int(s['confidence'] * 100)}% intervals from {s['bootstrap']} bootstrap resamples "
        f"of articles (seed {s['seed']})"
        if s.get("bootstrap")
        else "no confidence intervals (--bootstrap 0)"
    )
    t = Text()
    t.append("Gold ", style="bold")
    n = g.get("articles")
    t.append(f"{name}{version}{split}: {n} article{'' if n == 1 else 's'}. ")
    t.append(f"Scores in %; {boot}.", style="dim")
    return t


def _grouped(
    title: str,
    group: str,
    groups: Sequence[str],
    results: Sequence[Any],
    columns: Sequence[str],
    cells: Callable[[str, Any], Sequence[RenderableType]],
) -> Table:
    """A table with one block of rows per group (scheme, rule, kind), one row per extractor.

    ``columns`` are right-aligned; a name starting with ``~`` is dimmed (intervals).
    """
    t = Table(title=title, title_justify="left")
    t.add_column(group)
    t.add_column("extractor")
    for c in columns:
        t.add_column(c.lstrip("~"), justify="right", style="dim" if c[0] == "~" else None)
    for i, g in enumerate(groups):
        for j, r in enumerate(results):
            t.add_row(
                g if j == 0 else "",
                r.name,
                *cells(g, r),
                end_section=j == len(results) - 1 and i < len(groups) - 1,
            )
    return t


def _scores(r: Any, key: str) -> list[RenderableType]:
    """P, R, F1 (bold) and the F1 interval of ``key`` (a prefix of ``/p``, ``/r``, ``/f1``)."""
    return [
        pct(r.value(f"{key}/p")),
        pct(r.value(f"{key}/r")),
        Text(pct(r.value(f"{key}/f1")), style="bold"),
        ci(r.metrics.get(f"{key}/f1")),
    ]


def _entity_summary(results: Sequence[Any]) -> Table:
    return _grouped(
        "Entities: micro and macro, four SemEval-2013 schemes",
        "scheme",
        SCHEMES,
        results,
        ("P", "R", "F1", "~F1 95% CI", "macro F1"),
        lambda scheme, r: [
            *_scores(r, f"entities/{scheme}/micro"),
            pct(r.value(f"entities/{scheme}/macro/f1")),
        ],
    )


def _per_label(results: Sequence[Any]) -> Table:
    t = Table(title="Entities per label (strict): F1 (P/R)", title_justify="left")
    t.add_column("label")
    t.add_column("gold", justify="right")
    for r in results:
        t.add_column(r.name, justify="right")
    labels = sorted({lab for r in results for lab in r.labels})
    for lab in labels:
        gold = max(r.support.get(f"entities/{lab}/gold", 0) for r in results)
        cells = []
        for r in results:
            f = r.value(f"entities/strict/{lab}/f1")
            if f is None:
                cells.append("")
                continue
            p, rec = r.value(f"entities/strict/{lab}/p"), r.value(f"entities/strict/{lab}/r")
            cells.append(f"{pct(f)} ({pct(p)}/{pct(rec)})")
        t.add_row(lab, str(gold), *cells)
    return t


def _confusion(r: Any) -> Table:
    gold_labels = sorted({g for g, _ in r.confusion} - {NONE}) + [NONE]
    pred_labels = sorted({p for _, p in r.confusion} - {NONE}) + [NONE]
    t = Table(
        title=f"Label confusion, same boundaries: {r.name} (rows gold, columns predicted)",
        title_justify="left",
    )
    t.add_column("gold \\ pred")
    for p in pred_labels:
        t.add_column(p, justify="right")
    for g in gold_labels:
        if g == NONE and not any(r.confusion.get((NONE, p)) for p in pred_labels):
            continue
        cells = []
        for p in pred_labels:
            n = r.confusion.get((g, p), 0)
            style = "green" if g == p else "red" if n else "dim"
            cells.append(Text(str(n) if n else "·", style=style))
        t.add_row(g, *cells)
    return t


def _quote_summary(results: Sequence[Any]) -> Table:
    return _grouped(
        "Quotes: content spans by matching rule",
        "rule",
        list(RULES),
        results,
        ("P", "R", "F1", "~F1 95% CI"),
        lambda rule, r: _scores(r, f"quotes/{rule}/{metrics.ALL}"),
    )


def _quote_kinds(results: Sequence[Any]) -> Table:
    return _grouped(
        "Quotes by kind (overlap rule): precision by predicted kind, recall by gold kind",
        "kind",
        [metrics.ALL, *KINDS],
        results,
        ("gold", "pred", "P", "R", "F1"),
        lambda kind, r: [
            str(r.support.get(f"quotes/{kind}/gold", 0)),
            str(r.support.get(f"quotes/{kind}/pred", 0)),
            *_scores(r, f"quotes/overlap/{kind}")[:3],
        ],
    )


def _speakers(results: Sequence[Any]) -> Table:
    t = _grouped(
        "Speaker and cue accuracy on matched quotes (overlap rule), by gold kind",
        "kind",
        [metrics.ALL, *KINDS],
        results,
        ("matched", "speaker", "speaker entity", "cue"),
        lambda kind, r: [
            str(r.support.get(f"quotes/{kind}/matched", 0)),
            _acc(r, "speaker_mention", kind),
            _acc(r, "speaker_entity", kind),
            _acc(r, "cue", kind),
        ],
    )
    t.caption = "accuracy (of n gold quotes with a speaker / a cue)"
    return t


def _acc(r: Any, what: str, kind: str) -> str:
    n = r.support.get(f"quotes/{'cue' if what == 'cue' else 'speaker'}/{kind}/n", 0)
    if not n:
        return "-"
    return f"{pct(r.value(f'quotes/{what}/{kind}/acc'))} ({n})"


def render_comparison(c: Comparison) -> RenderableType:
    """The significant changes against an old report, regressions first."""
    parts: list[RenderableType] = []
    for name, n in c.paired.items():
        how = (
            f"paired over {n} shared articles"
            if n >= MIN_ARTICLES
            else f"only {n} shared articles: too few to flag changes"
            if n
            else "unpaired (no shared articles)"
        )
        parts.append(Text(f"Compared {name} with {c.old_path}: {how}.", style="dim"))
    for name in c.unmatched:
        parts.append(Text(f"{name}: not in {c.old_path}; not compared.", style="yellow"))
    for note in c.notes:
        parts.append(Text(f"Note: {note}.", style="yellow"))
    flagged = sorted(
        (x for x in c.changes if x.status != "same"),
        key=lambda x: (x.status != "regression", x.delta),
    )
    if not flagged:
        parts.append(Text("No significant change in the headline metrics.", style="green"))
        return Group(*parts)
    t = Table(title="Significant changes against the old report", title_justify="left")
    for col in ("status", "extractor", "metric"):
        # Wrapped, never cut: quotes/overlap/direct/f1 and .../all/f1 must stay apart.
        t.add_column(col, overflow="fold")
    for col in ("old", "new", "Δ", "Δ 95% CI"):
        t.add_column(col, justify="right")
    for x in flagged:
        style = "bold red" if x.status == "regression" else "green"
        t.add_row(
            Text(x.status, style=style),
            x.extractor,
            x.metric,
            pct(x.old),
            pct(x.new),
            Text(f"{100 * x.delta:+.1f}", style=style),
            f"[{100 * x.lo:+.1f}, {100 * x.hi:+.1f}]"
            if x.lo is not None and x.hi is not None
            else "unpaired",
        )
    parts.append(t)
    return Group(*parts)

"""A self-contained HTML evaluation report: inline CSS and inline SVG, nothing fetched.

Sections: summary, entity scores (per-label F1 bars with interval whiskers, scheme
table, confusion heat map), quote scores (F1 by rule, by kind with speaker and cue),
the comparison with an old report, and per-article errors with the text highlighted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from curate.io.jsonl import atomic_writer
from curate.model import Document
from curate.score import metrics
from curate.score.entities import NONE, SCHEMES
from curate.score.evaluate import LISTED_ARTICLES, Evaluation, ExtractorResult, Metric
from curate.score.quotes import KINDS, RULES
from curate.score.report import MIN_ARTICLES, Comparison, readable

MAX_ARTICLES = LISTED_ARTICLES
PALETTE = ("#3b6fb6", "#e08a2c", "#4a9b5c", "#9a5bb5", "#c4474f", "#5aa6b8")

ENTITY_LEGEND = (
    ("e-ok", "correct entity"),
    ("e-missed", "missed"),
    ("e-spurious", "spurious"),
    ("e-wrong_label", "wrong label"),
    ("e-wrong_boundary", "wrong boundary"),
    ("q-ok", "matched quote"),
    ("q-missed_quote", "missed quote"),
    ("q-spurious_quote", "spurious quote"),
    ("p-wrong_speaker", "wrong speaker / cue (gold span)"),
)


def write_html(
    evaluation: Evaluation,
    path: str | Path,
    *,
    comparison: Comparison | None = None,
    max_articles: int = MAX_ARTICLES,
) -> Path:
    """Write the report to ``path`` atomically; return the path."""
    path = Path(path)
    with atomic_writer(path) as fh:
        fh.write(render_html(evaluation, comparison=comparison, max_articles=max_articles))
    readable(path)
    return path


def render_html(
    evaluation: Evaluation,
    *,
    comparison: Comparison | None = None,
    max_articles: int = MAX_ARTICLES,
) -> str:
    """The report as one HTML string, from the package template ``report.html.j2``.

    This module turns the evaluation into plain values (numbers, strings, chart
    geometry); the template writes the markup and escapes every value.
    """
    ev = evaluation
    g = ev.gold
    colors = {r.name: _color(i) for i, r in enumerate(ev.results)}
    ents = [r for r in ev.results if "entities" in r.tasks]
    qs = [r for r in ev.results if "quotes" in r.tasks]
    return _TEMPLATES.get_template("report.html.j2").render(
        title=f"curate evaluation: {g.get('name') or 'gold'}",
        version=f" {g['version']}" if g.get("version") else "",
        articles=g.get("articles"),
        created=ev.created,
        settings=_settings(ev),
        warnings=ev.warnings,
        summary=_summary(ev),
        entities=_entities(ents, colors) if ents else None,
        quotes=_quotes(qs, colors) if qs else None,
        comparison=_comparison(comparison) if comparison is not None else None,
        legend=ENTITY_LEGEND,
        errors=_errors(ev, max_articles),
    )


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _ci(m: Metric | None) -> str:
    if m is None or m.lo is None or m.hi is None:
        return ""
    return f"{100 * m.lo:.1f}–{100 * m.hi:.1f}"


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("curate.report", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
_TEMPLATES.filters["pct"] = _pct


def _settings(ev: Evaluation) -> str:
    s = ev.settings
    if not s.get("bootstrap"):
        return "no confidence intervals"
    return (
        f"{int(s['confidence'] * 100)}% intervals from {s['bootstrap']} bootstrap resamples "
        f"of articles (seed {s['seed']})"
    )


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _summary(ev: Evaluation) -> list[dict[str, Any]]:
    cards = []
    for i, r in enumerate(ev.results):
        rows = []
        if "entities" in r.tasks:
            m = r.metrics.get("entities/strict/micro/f1")
            rows.append(("entities, strict F1", _pct(m.value if m else None), _ci(m)))
        if "quotes" in r.tasks:
            m = r.metrics.get(f"quotes/overlap/{metrics.ALL}/f1")
            rows.append(("quotes, overlap F1", _pct(m.value if m else None), _ci(m)))
        cards.append({"name": r.name, "tag": r.version or r.kind, "color": _color(i), "rows": rows})
    return cards


def _bars(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[Metric | None]]],
    title: str,
    colors: dict[str, str],
) -> dict[str, Any]:
    """Geometry of horizontal grouped bars (0-100%) with interval whiskers, for SVG."""
    n = max(len(series), 1)
    bar, gap, left, width = 14, 10, 130, 520
    height = len(groups) * (n * bar + gap) + 40
    chart: dict[str, Any] = {
        "title": title,
        "width": left + width + 60,
        "height": height,
        "ticks": [(left + width * t / 100, t) for t in range(0, 101, 20)],
        "labels": [],
        "bars": [],
        "legend": [(name, colors.get(name, _color(i))) for i, (name, _) in enumerate(series)],
    }
    y = 14
    for gi, group in enumerate(groups):
        chart["labels"].append({"x": left - 8, "y": y + n * bar / 2 + 4, "text": group})
        for si, (name, values) in enumerate(series):
            m = values[gi]
            if m is not None:
                w = width * max(m.value, 0)
                whisker = None
                if m.lo is not None and m.hi is not None:
                    whisker = (
                        f"{left + width * m.lo:.1f}",
                        f"{left + width * m.hi:.1f}",
                        y + (bar - 3) / 2,
                    )
                chart["bars"].append(
                    {
                        "x": left,
                        "y": y,
                        "w": f"{w:.1f}",
                        "h": bar - 3,
                        "fill": colors.get(name, _color(si)),
                        "title": f"{name} {group}: {_pct(m.value)}",
                        "whisker": whisker,
                        "tx": f"{left + w + 4 + (width * ((m.hi or m.value) - m.value)):.1f}",
                        "ty": y + bar - 4,
                        "value": _pct(m.value),
                    }
                )
            y += bar
        y += gap
    return chart


def _entities(results: Sequence[ExtractorResult], colors: dict[str, str]) -> dict[str, Any]:
    labels = sorted({lab for r in results for lab in r.labels})
    series = [
        (r.name, [r.metrics.get(f"entities/strict/{lab}/f1") for lab in labels]) for r in results
    ]
    schemes = [
        (r.name, [r.metrics.get(f"entities/{s}/micro/f1") for s in SCHEMES]) for r in results
    ]
    micro = [
        {
            "scheme": s,
            "name": r.name,
            "p": _pct(r.value(f"entities/{s}/micro/p")),
            "r": _pct(r.value(f"entities/{s}/micro/r")),
            "f1": _pct(r.value(f"entities/{s}/micro/f1")),
            "ci": _ci(r.metrics.get(f"entities/{s}/micro/f1")),
            "macro": _pct(r.value(f"entities/{s}/macro/f1")),
        }
        for s in SCHEMES
        for r in results
    ]
    per_label = [
        {
            "label": lab,
            "gold": max(r.support.get(f"entities/{lab}/gold", 0) for r in results),
            "cells": [
                tuple(_pct(r.value(f"entities/strict/{lab}/{m}")) for m in ("p", "r", "f1"))
                for r in results
            ],
        }
        for lab in labels
    ]
    return {
        "per_label": _bars(labels, series, "F1 per label (strict), with 95% intervals", colors),
        "schemes": _bars(list(SCHEMES), schemes, "Micro F1 by SemEval-2013 scheme", colors),
        "micro": micro,
        "names": [r.name for r in results],
        "labels": per_label,
        "heatmaps": [_heatmap(r) for r in results if r.confusion],
    }


def _heatmap(r: ExtractorResult) -> dict[str, Any]:
    """Confusion heat map: rows gold, columns predicted, colour by share of the gold row."""
    golds = sorted({g for g, _ in r.confusion} - {NONE}) + [NONE]
    preds = sorted({p for _, p in r.confusion} - {NONE}) + [NONE]
    cell, left, top = 44, 110, 96
    cells = []
    for i, g in enumerate(golds):
        total = sum(r.confusion.get((g, p), 0) for p in preds) or 1
        y = top + i * cell
        for j, p in enumerate(preds):
            n = r.confusion.get((g, p), 0)
            share = n / total
            light = 97 - 52 * share if n else 98
            x = left + j * cell
            cells.append(
                {
                    "x": x,
                    "y": y,
                    "gold": g,
                    "pred": p,
                    "n": n,
                    "fill": f"hsl({140 if g == p else 0},{60 if n else 0}%,{light:.0f}%)",
                    "tx": x + cell / 2 - 1,
                    "ty": y + cell / 2 + 4,
                    "ink": "#fff" if share > 0.6 else "#1d2330",
                }
            )
    return {
        "name": r.name,
        "cell": cell,
        "left": left,
        "top": top,
        "width": left + cell * len(preds) + 10,
        "height": top + cell * len(golds) + 10,
        "columns": [(left + j * cell + cell / 2 + 4, p) for j, p in enumerate(preds)],
        "rows": [(top + i * cell + cell / 2 + 4, g) for i, g in enumerate(golds)],
        "cells": cells,
    }


def _quotes(results: Sequence[ExtractorResult], colors: dict[str, str]) -> dict[str, Any]:
    series = [
        (r.name, [r.metrics.get(f"quotes/{k}/{metrics.ALL}/f1") for k in RULES]) for r in results
    ]
    kinds = []
    for kind in [metrics.ALL, *KINDS]:
        for r in results:
            v, s = r.value, r.support
            key = f"quotes/overlap/{kind}"
            kinds.append(
                {
                    "kind": kind,
                    "name": r.name,
                    "gold": s.get(f"quotes/{kind}/gold", 0),
                    "pred": s.get(f"quotes/{kind}/pred", 0),
                    "p": _pct(v(key + "/p")),
                    "r": _pct(v(key + "/r")),
                    "f1": _pct(v(key + "/f1")),
                    "ci": _ci(r.metrics.get(key + "/f1")),
                    "speaker": _pct(v(f"quotes/speaker_mention/{kind}/acc")),
                    "speaker_entity": _pct(v(f"quotes/speaker_entity/{kind}/acc")),
                    "cue": _pct(v(f"quotes/cue/{kind}/acc")),
                }
            )
    by_rule = [
        (
            r.name,
            [
                (
                    _pct(r.value(f"quotes/{k}/{metrics.ALL}/p")),
                    _pct(r.value(f"quotes/{k}/{metrics.ALL}/r")),
                )
                for k in RULES
            ],
        )
        for r in results
    ]
    return {
        "rules_chart": _bars(list(RULES), series, "Content F1 by matching rule", colors),
        "kinds": kinds,
        "rules": list(RULES),
        "by_rule": by_rule,
    }


def _comparison(c: Comparison) -> dict[str, Any]:
    flagged = sorted(
        (x for x in c.changes if x.status != "same"),
        key=lambda x: (x.status != "regression", x.delta),
    )
    return {
        "old_path": c.old_path,
        "paired": [f"{n}: {_paired(k)}" for n, k in c.paired.items()],
        "notes": c.notes,
        "flagged": flagged,
    }


def _paired(k: int) -> str:
    if not k:
        return "unpaired (no shared articles)"
    if k < MIN_ARTICLES:
        return f"only {k} shared articles, too few to flag changes"
    return f"paired over {k} shared articles"


def _errors(ev: Evaluation, max_articles: int) -> list[dict[str, Any]]:
    gold = {d.id: d for d in ev.gold_docs}
    out = []
    for r in ev.results:
        preds = {d.id: d for d in r.predictions}
        # the articles whose documents the evaluation kept (evaluate keeps the first 25)
        ranked = sorted(
            ((k, v) for k, v in r.errors.items() if k in gold),
            key=lambda kv: (-len(kv[1]), kv[0]),
        )
        shown = []
        for doc_id, errs in ranked[:max_articles]:
            counts: dict[str, int] = {}
            for e in errs:
                counts[e["kind"]] = counts.get(e["kind"], 0) + 1
            shown.append(
                {
                    "id": doc_id,
                    "summary": ", ".join(
                        f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items())
                    ),
                    "pieces": _highlight(gold[doc_id], preds.get(doc_id), errs, r.tasks),
                }
            )
        out.append(
            {
                "name": r.name,
                "total": sum(r.error_kinds.values()),
                "articles": r.error_articles,
                "gold_articles": ev.articles,
                "shown": shown,
            }
        )
    return out


def _highlight(
    gold: Document, pred: Document | None, errs: Sequence[dict], tasks: Sequence[str]
) -> list[tuple[str, str, str]]:
    """The article text cut at every marked boundary: (piece, classes, tooltip) each."""
    text = gold.text
    marks: list[tuple[int, int, str, str]] = []
    for e in errs:
        k = e["kind"]
        if k in ("wrong_speaker", "wrong_cue"):
            s, t = e["gold_span"]
            what = "speaker" if k == "wrong_speaker" else "cue"
            marks.append((s, t, f"p-{k}", f"{what}: gold {e['gold']!r}, predicted {e['pred']!r}"))
        elif k.endswith("_quote"):
            marks.append((e["start"], e["end"], f"q-{k}", k.replace("_", " ")))
        else:
            marks.append((e["start"], e["end"], f"e-{k}", _entity_title(e)))
    if pred is not None:
        if "entities" in tasks:
            ok = {(x.start, x.end, x.label) for x in gold.entities} & {
                (x.start, x.end, x.label) for x in pred.entities
            }
            marks += [(s, t, "e-ok", f"correct {lab}") for s, t, lab in ok]
        if "quotes" in tasks:
            missed = {(e["start"], e["end"]) for e in errs if e["kind"] == "missed_quote"}
            marks += [
                (q.start, q.end, "q-ok", f"matched {q.kind} quote")
                for q in gold.quotes
                if (q.start, q.end) not in missed
            ]
    cuts = sorted({0, len(text), *(m[0] for m in marks), *(m[1] for m in marks)})
    out: list[tuple[str, str, str]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        on = [m for m in marks if m[0] <= a and b <= m[1]]
        piece = text[a:b]
        if not on:
            out.append((piece, "", ""))
            continue
        ent = [m for m in on if m[2].startswith("e-")]
        # An error outranks the green 'correct' mark where both cover a piece.
        ent.sort(key=lambda m: m[2] == "e-ok")
        quo = [m for m in on if m[2].startswith("q-")]
        quo.sort(key=lambda m: m[2] == "q-ok")
        part = [m for m in on if m[2].startswith("p-")]
        classes = " ".join(x[0][2] for x in (ent, quo, part) if x)
        title = " | ".join(dict.fromkeys(m[3] for m in on))
        out.append((piece, classes, title))
    return out


def _entity_title(e: dict) -> str:
    k = e["kind"]
    if k == "missed":
        return f"missed {e['gold'][2]}"
    if k == "spurious":
        return f"spurious {e['pred']}"
    gs, ge, gl = e["gold"]
    return (
        f"{k.replace('_', ' ')}: predicted {e['pred']} {e['start']}–{e['end']}, gold {gl} {gs}–{ge}"
    )

"""A self-contained HTML evaluation report: inline CSS and inline SVG, nothing fetched.

Sections: summary, entity scores (per-label F1 bars with interval whiskers, scheme
table, confusion heat map), quote scores (F1 by rule, by kind with speaker and cue),
the comparison with an old report, and per-article errors with the text highlighted.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from curate.io.jsonl import atomic_writer
from curate.model import Document
from curate.score import metrics
from curate.score.entities import NONE, SCHEMES
from curate.score.evaluate import Evaluation, ExtractorResult, Metric
from curate.score.quotes import KINDS, RULES
from curate.score.report import MIN_ARTICLES, Comparison, readable

MAX_ARTICLES = 25
PALETTE = ("#3b6fb6", "#e08a2c", "#4a9b5c", "#9a5bb5", "#c4474f", "#5aa6b8")

CSS = """
:root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#fff;--soft:#f6f7f9}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
 background:var(--soft);margin:0}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px}
h3{font-size:16px;margin:20px 0 6px}
.muted{color:var(--muted)}
section,.card{background:var(--bg);border:1px solid var(--line);border-radius:10px;
 padding:16px 20px;margin:12px 0}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 220px;margin:0}
.big{font-size:30px;font-weight:650}
.ci{color:var(--muted);font-size:12px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:6px 0}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:right}
th:first-child,td:first-child{text-align:left}
th{font-weight:600;background:var(--soft)}
.warn{background:#fff8e6;border-color:#f5d48a}
.legend span{display:inline-block;margin:2px 10px 2px 0;padding:0 6px;border-radius:3px}
.doc{white-space:pre-wrap;line-height:1.9;font-size:14px;background:var(--soft);
 padding:12px 14px;border-radius:8px;max-height:520px;overflow:auto}
.e-ok{background:#dcf3e2}
.e-missed{background:#f9c9cc}
.e-spurious{background:#ffd9a8}
.e-wrong_label{background:#e3d2f5}
.e-wrong_boundary{background:#cfe0fb}
.e-wrong_both{background:#cfe0fb;outline:1px dashed #9a5bb5}
.q-missed_quote{border-bottom:2px dashed #c4474f}
.q-spurious_quote{border-bottom:2px dotted #e08a2c}
.q-ok{border-bottom:2px solid #7cc38f}
.p-wrong_speaker,.p-wrong_cue{outline:2px solid #c4474f;border-radius:2px}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
.tag{font-size:12px;color:var(--muted);margin-left:6px}
.reg{color:#c4474f;font-weight:600}.imp{color:#2f8a4a;font-weight:600}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}
"""

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
    """The report as one HTML string."""
    ev = evaluation
    g = ev.gold
    title = f"curate evaluation: {g.get('name') or 'gold'}"
    version = f" {g['version']}" if g.get("version") else ""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{_e(title)}{_e(version)}</h1>",
        f"<p class='muted'>{g.get('articles')} gold articles · created {_e(ev.created)} · "
        f"{_settings(ev)}</p>",
    ]
    if ev.warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in ev.warnings)
        parts.append(f"<section class='warn'><strong>Warnings</strong><ul>{items}</ul></section>")
    parts.append(_summary(ev))
    colors = {r.name: _color(i) for i, r in enumerate(ev.results)}
    ents = [r for r in ev.results if "entities" in r.tasks]
    qs = [r for r in ev.results if "quotes" in r.tasks]
    if ents:
        parts.append(_entities(ents, colors))
    if qs:
        parts.append(_quotes(qs, colors))
    if comparison is not None:
        parts.append(_comparison(comparison))
    parts.append(_errors(ev, max_articles))
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _ci(m: Metric | None) -> str:
    if m is None or m.lo is None or m.hi is None:
        return ""
    return f"<span class='ci'>{100 * m.lo:.1f}–{100 * m.hi:.1f}</span>"


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


def _summary(ev: Evaluation) -> str:
    cards = []
    for i, r in enumerate(ev.results):
        rows = []
        if "entities" in r.tasks:
            m = r.metrics.get("entities/strict/micro/f1")
            big = _pct(m.value if m else None)
            rows.append(f"<div>entities, strict F1</div><div class='big'>{big}</div>{_ci(m)}")
        if "quotes" in r.tasks:
            m = r.metrics.get(f"quotes/overlap/{metrics.ALL}/f1")
            big = _pct(m.value if m else None)
            rows.append(f"<div>quotes, overlap F1</div><div class='big'>{big}</div>{_ci(m)}")
        cards.append(
            f"<div class='card' style='border-top:4px solid {_color(i)}'>"
            f"<strong>{_e(r.name)}</strong><div class='tag'>{_e(r.version or r.kind)}</div>"
            + "".join(rows)
            + "</div>"
        )
    return f"<h2>Summary</h2><div class='cards'>{''.join(cards)}</div>"


def _bars(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[Metric | None]]],
    title: str,
    colors: dict[str, str],
) -> str:
    """Horizontal grouped bars (0-100%) with interval whiskers, as inline SVG."""
    n = max(len(series), 1)
    bar, gap, left, width = 14, 10, 130, 520
    height = len(groups) * (n * bar + gap) + 40
    out = [
        f"<svg role='img' aria-label='{_e(title)}' width='{left + width + 60}' "
        f"height='{height}' viewBox='0 0 {left + width + 60} {height}'>"
    ]
    for t in range(0, 101, 20):
        x = left + width * t / 100
        out.append(
            f"<line x1='{x}' y1='10' x2='{x}' y2='{height - 24}' stroke='#e4e7ec'/>"
            f"<text x='{x}' y='{height - 8}' text-anchor='middle'>{t}</text>"
        )
    y = 14
    for gi, group in enumerate(groups):
        mid = y + n * bar / 2
        out.append(f"<text x='{left - 8}' y='{mid + 4}' text-anchor='end'>{_e(group)}</text>")
        for si, (name, values) in enumerate(series):
            m = values[gi]
            if m is not None:
                w = width * max(m.value, 0)
                out.append(
                    f"<rect x='{left}' y='{y}' width='{w:.1f}' height='{bar - 3}' "
                    f"fill='{colors.get(name, _color(si))}' rx='2'><title>{_e(name)} {_e(group)}: "
                    f"{_pct(m.value)}</title></rect>"
                )
                if m.lo is not None and m.hi is not None:
                    x1, x2 = left + width * m.lo, left + width * m.hi
                    yc = y + (bar - 3) / 2
                    out.append(
                        f"<line x1='{x1:.1f}' y1='{yc}' x2='{x2:.1f}' y2='{yc}' "
                        f"stroke='#1d2330' stroke-width='1'/>"
                    )
                out.append(
                    f"<text x='{left + w + 4 + (width * ((m.hi or m.value) - m.value)):.1f}' "
                    f"y='{y + bar - 4}'>{_pct(m.value)}</text>"
                )
            y += bar
        y += gap
    out.append("</svg>")
    legend = "".join(
        f"<span style='background:{colors.get(name, _color(i))};color:#fff'>{_e(name)}</span>"
        for i, (name, _) in enumerate(series)
    )
    return f"<h3>{_e(title)}</h3><div class='legend'>{legend}</div>{''.join(out)}"


def _entities(results: Sequence[ExtractorResult], colors: dict[str, str]) -> str:
    labels = sorted({lab for r in results for lab in r.labels})
    series = [
        (r.name, [r.metrics.get(f"entities/strict/{lab}/f1") for lab in labels]) for r in results
    ]
    parts = ["<h2>Entities</h2><section>"]
    parts.append(_bars(labels, series, "F1 per label (strict), with 95% intervals", colors))
    schemes = [
        (r.name, [r.metrics.get(f"entities/{s}/micro/f1") for s in SCHEMES]) for r in results
    ]
    parts.append(_bars(list(SCHEMES), schemes, "Micro F1 by SemEval-2013 scheme", colors))
    head = "".join(f"<th>{c}</th>" for c in ("P", "R", "F1", "95% CI", "macro F1"))
    rows = []
    for s in SCHEMES:
        for r in results:
            v = r.value
            rows.append(
                f"<tr><td>{s} · {_e(r.name)}</td><td>{_pct(v(f'entities/{s}/micro/p'))}</td>"
                f"<td>{_pct(v(f'entities/{s}/micro/r'))}</td>"
                f"<td><strong>{_pct(v(f'entities/{s}/micro/f1'))}</strong></td>"
                f"<td>{_ci(r.metrics.get(f'entities/{s}/micro/f1'))}</td>"
                f"<td>{_pct(v(f'entities/{s}/macro/f1'))}</td></tr>"
            )
    parts.append(
        f"<h3>Micro and macro scores</h3><table><tr><th>scheme · extractor</th>{head}</tr>"
        + "".join(rows)
        + "</table>"
    )
    head = "<th>label</th><th>gold</th>" + "".join(
        f"<th>{_e(r.name)}<br>P / R / F1</th>" for r in results
    )
    rows = []
    for lab in labels:
        gold = max(r.support.get(f"entities/{lab}/gold", 0) for r in results)
        cells = "".join(
            f"<td>{_pct(r.value(f'entities/strict/{lab}/p'))} / "
            f"{_pct(r.value(f'entities/strict/{lab}/r'))} / "
            f"<strong>{_pct(r.value(f'entities/strict/{lab}/f1'))}</strong></td>"
            for r in results
        )
        rows.append(f"<tr><td>{_e(lab)}</td><td>{gold}</td>{cells}</tr>")
    parts.append(f"<h3>Per label (strict)</h3><table><tr>{head}</tr>{''.join(rows)}</table>")
    for r in results:
        if r.confusion:
            parts.append(_heatmap(r))
    parts.append("</section>")
    return "".join(parts)


def _heatmap(r: ExtractorResult) -> str:
    """Confusion heat map: rows gold, columns predicted, colour by share of the gold row."""
    golds = sorted({g for g, _ in r.confusion} - {NONE}) + [NONE]
    preds = sorted({p for _, p in r.confusion} - {NONE}) + [NONE]
    cell, left, top = 44, 110, 96
    w, h = left + cell * len(preds) + 10, top + cell * len(golds) + 10
    out = [f"<svg role='img' aria-label='confusion {_e(r.name)}' width='{w}' height='{h}'>"]
    for j, p in enumerate(preds):
        x = left + j * cell + cell / 2
        out.append(f"<text transform='translate({x + 4},{top - 6}) rotate(-50)'>{_e(p)}</text>")
    for i, g in enumerate(golds):
        total = sum(r.confusion.get((g, p), 0) for p in preds) or 1
        y = top + i * cell
        out.append(f"<text x='{left - 6}' y='{y + cell / 2 + 4}' text-anchor='end'>{_e(g)}</text>")
        for j, p in enumerate(preds):
            n = r.confusion.get((g, p), 0)
            share = n / total
            hue = 140 if g == p else 0
            light = 97 - 52 * share if n else 98
            x = left + j * cell
            out.append(
                f"<rect x='{x}' y='{y}' width='{cell - 2}' height='{cell - 2}' rx='3' "
                f"fill='hsl({hue},{60 if n else 0}%,{light:.0f}%)'>"
                f"<title>gold {_e(g)} → predicted {_e(p)}: {n}</title></rect>"
            )
            if n:
                fill = "#fff" if share > 0.6 else "#1d2330"
                out.append(
                    f"<text x='{x + cell / 2 - 1}' y='{y + cell / 2 + 4}' text-anchor='middle' "
                    f"style='fill:{fill}'>{n}</text>"
                )
    out.append("</svg>")
    return (
        f"<h3>Label confusion, same boundaries: {_e(r.name)}</h3>"
        "<p class='muted'>Rows gold, columns predicted; (none) = no span with those "
        "boundaries on that side. Green diagonal = agreement, red = confusion; shade = share "
        f"of the gold row.</p>{''.join(out)}"
    )


def _quotes(results: Sequence[ExtractorResult], colors: dict[str, str]) -> str:
    parts = ["<h2>Quotes</h2><section>"]
    series = [
        (r.name, [r.metrics.get(f"quotes/{k}/{metrics.ALL}/f1") for k in RULES]) for r in results
    ]
    parts.append(_bars(list(RULES), series, "Content F1 by matching rule", colors))
    head = "".join(
        f"<th>{c}</th>"
        for c in ("gold", "pred", "P", "R", "F1", "95% CI", "speaker", "speaker entity", "cue")
    )
    rows = []
    for kind in [metrics.ALL, *KINDS]:
        for r in results:
            v, s = r.value, r.support
            key = f"quotes/overlap/{kind}"
            rows.append(
                f"<tr><td>{kind} · {_e(r.name)}</td><td>{s.get(f'quotes/{kind}/gold', 0)}</td>"
                f"<td>{s.get(f'quotes/{kind}/pred', 0)}</td><td>{_pct(v(key + '/p'))}</td>"
                f"<td>{_pct(v(key + '/r'))}</td><td><strong>{_pct(v(key + '/f1'))}</strong></td>"
                f"<td>{_ci(r.metrics.get(key + '/f1'))}</td>"
                f"<td>{_pct(v(f'quotes/speaker_mention/{kind}/acc'))}</td>"
                f"<td>{_pct(v(f'quotes/speaker_entity/{kind}/acc'))}</td>"
                f"<td>{_pct(v(f'quotes/cue/{kind}/acc'))}</td></tr>"
            )
    parts.append(
        "<h3>By kind (overlap rule)</h3><p class='muted'>Precision by predicted kind, recall "
        "by gold kind; speaker and cue accuracy on matched quotes by gold kind.</p>"
        f"<table><tr><th>kind · extractor</th>{head}</tr>{''.join(rows)}</table>"
    )
    head = "".join(f"<th>{k}</th>" for k in RULES)
    rows = []
    for r in results:
        cells = "".join(
            f"<td>{_pct(r.value(f'quotes/{k}/{metrics.ALL}/p'))} / "
            f"{_pct(r.value(f'quotes/{k}/{metrics.ALL}/r'))}</td>"
            for k in RULES
        )
        rows.append(f"<tr><td>{_e(r.name)}</td>{cells}</tr>")
    parts.append(
        f"<h3>Precision / recall by rule</h3><table><tr><th>extractor</th>{head}</tr>"
        + "".join(rows)
        + "</table></section>"
    )
    return "".join(parts)


def _comparison(c: Comparison) -> str:
    flagged = sorted(
        (x for x in c.changes if x.status != "same"),
        key=lambda x: (x.status != "regression", x.delta),
    )
    intro = (
        f"<p class='muted'>Against {_e(c.old_path)}; "
        + "; ".join(f"{_e(n)}: {_paired(k)}" for n, k in c.paired.items())
        + ".</p>"
    )
    intro += "".join(f"<p class='muted'>Note: {_e(n)}.</p>" for n in c.notes)
    if not flagged:
        return f"<h2>Comparison</h2><section>{intro}<p>No significant change.</p></section>"
    rows = "".join(
        f"<tr><td class='{'reg' if x.status == 'regression' else 'imp'}'>{x.status}</td>"
        f"<td>{_e(x.extractor)}</td><td>{_e(x.metric)}</td><td>{_pct(x.old)}</td>"
        f"<td>{_pct(x.new)}</td><td>{100 * x.delta:+.1f}</td></tr>"
        for x in flagged
    )
    return (
        f"<h2>Comparison</h2><section>{intro}<table><tr><th>status</th><th>extractor</th>"
        f"<th>metric</th><th>old</th><th>new</th><th>Δ</th></tr>{rows}</table></section>"
    )


def _paired(k: int) -> str:
    if not k:
        return "unpaired (no shared articles)"
    if k < MIN_ARTICLES:
        return f"only {k} shared articles, too few to flag changes"
    return f"paired over {k} shared articles"


def _errors(ev: Evaluation, max_articles: int) -> str:
    legend = "".join(f"<span class='{c}'>{_e(t)}</span>" for c, t in ENTITY_LEGEND)
    parts = [
        "<h2>Errors by article</h2><section>",
        f"<div class='legend'>{legend}</div>",
        "<p class='muted'>Hover a highlight for details. Entities judged by the strict "
        "scheme, quotes by the overlap rule.</p>",
    ]
    gold = {d.id: d for d in ev.gold_docs}
    for r in ev.results:
        preds = {d.id: d for d in r.predictions}
        ranked = sorted(r.errors.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        total = sum(len(v) for v in r.errors.values())
        parts.append(
            f"<h3>{_e(r.name)}</h3><p class='muted'>{total} errors in {len(ranked)} of "
            f"{len(ev.gold_docs)} articles; showing the {min(len(ranked), max_articles)} "
            "with most errors.</p>"
        )
        for i, (doc_id, errs) in enumerate(ranked[:max_articles]):
            counts: dict[str, int] = {}
            for e in errs:
                counts[e["kind"]] = counts.get(e["kind"], 0) + 1
            summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
            body = _highlight(gold[doc_id], preds.get(doc_id), errs, r.tasks)
            parts.append(
                f"<details{' open' if i < 3 else ''}><summary>{_e(doc_id)}"
                f"<span class='tag'>{_e(summary)}</span></summary>"
                f"<div class='doc'>{body}</div></details>"
            )
    parts.append("</section>")
    return "".join(parts)


def _highlight(
    gold: Document, pred: Document | None, errs: Sequence[dict], tasks: Sequence[str]
) -> str:
    """The article text cut at every marked boundary, each piece with its classes."""
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
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        on = [m for m in marks if m[0] <= a and b <= m[1]]
        piece = _e(text[a:b])
        if not on:
            out.append(piece)
            continue
        ent = [m for m in on if m[2].startswith("e-")]
        # An error outranks the green 'correct' mark where both cover a piece.
        ent.sort(key=lambda m: m[2] == "e-ok")
        quo = [m for m in on if m[2].startswith("q-")]
        quo.sort(key=lambda m: m[2] == "q-ok")
        part = [m for m in on if m[2].startswith("p-")]
        classes = " ".join(x[0][2] for x in (ent, quo, part) if x)
        title = " | ".join(dict.fromkeys(m[3] for m in on))
        out.append(f"<span class='{classes}' title='{_e(title)}'>{piece}</span>")
    return "".join(out)


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

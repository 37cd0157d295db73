"""The agreement report as one self-contained HTML file (Jinja2, inline CSS and SVG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from curate.io.jsonl import atomic_writer
from curate.score.span_agreement import EDITS

LOW = 0.67
"""Below this a coefficient is marked: Krippendorff's (2004) lowest level for tentative
conclusions from alpha, used for every coefficient here as a flag, not a verdict."""


def render_agreement_html(report: Mapping[str, Any], title: str, *, threshold: float = LOW) -> str:
    """The HTML page for ``report`` (the JSON form of ``curate agreement``)."""
    env = Environment(
        loader=PackageLoader("curate.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )

    def cell(x: float | None) -> Markup:
        if x is None:
            return Markup("<td>-</td>")
        cls = ' class="low"' if x < threshold else ""
        return Markup(f"<td{cls}>{x:.3f}</td>")

    def chart(rows: Sequence[Mapping[str, Any]], key: str, caption: str) -> Markup:
        first = next(iter(rows[0])) if rows else "label"
        width, bar_h, left = 640, 18, 160
        out = [
            f'<svg width="{width}" height="{bar_h * len(rows) + 30}" role="img" '
            f'aria-label="{escape(caption)}">'
        ]
        for i, r in enumerate(rows):
            v = r.get(key)
            y = i * bar_h + 4
            name = escape(str(r.get("label") or r.get("annotator") or r.get(first)))
            out.append(f'<text x="0" y="{y + 12}">{name}</text>')
            if v is None:
                out.append(f'<text x="{left}" y="{y + 12}">-</text>')
                continue
            w = max(0.0, min(1.0, float(v))) * (width - left - 60)
            low = " low" if v < threshold else ""
            out.append(
                f'<rect class="bar{low}" x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 4}">'
                f"<title>{name}: {v:.3f}</title></rect>"
                f'<text x="{left + w + 4:.1f}" y="{y + 12}">{v:.2f}</text>'
            )
        out.append(f'<text x="{left}" y="{bar_h * len(rows) + 22}">{escape(caption)}</text></svg>')
        return Markup("".join(out))

    template = env.get_template("agreement.html.j2")
    return template.render(
        title=title,
        report=report,
        labels=report.get("labels") or [],
        overall=report.get("overall"),
        annotators=report.get("by_annotator") or [],
        articles=(report.get("by_article") or [])[:25],
        gamma=report.get("gamma") or {},
        against=report.get("against") or {},
        edits=EDITS,
        threshold=threshold,
        cell=cell,
        chart=chart,
    )


def write_agreement_html(report: Mapping[str, Any], path: str | Path, title: str) -> Path:
    """Write :func:`render_agreement_html` atomically to ``path``."""
    with atomic_writer(path) as fh:
        fh.write(render_agreement_html(report, title))
    return Path(path)

"""The HTML report: sections, escaping, highlighted errors, and the terminal tables."""

from __future__ import annotations

from rich.console import Console

from curate.model import Document, Entity, Quote, Span
from curate.report.html import render_html
from curate.report.terminal import render
from curate.score.evaluate import Evaluation, score

TEXT = 'Acme <b>Corp</b> hired Ann Lee in Paris. "We grow," Ann Lee said & left.'


def ent(s: str, label: str, nth: int = 0) -> Entity:
    i = -1
    for _ in range(nth + 1):
        i = TEXT.index(s, i + 1)
    return Entity.of(TEXT, i, i + len(s), label)


def q(s: str, **parts) -> Quote:
    i = TEXT.index(s)
    return Quote(i, i + len(s), s, "direct", **parts)


GOLD = Document(
    "doc-1",
    TEXT,
    (
        ent("Acme <b>Corp</b>", "ORG"),
        ent("Ann Lee", "PERSON"),
        ent("Paris", "GPE"),
        ent("Ann Lee", "PERSON", 1),
    ),
    (q('"We grow,"', speaker=Span.of(TEXT, 52, 59), cue=Span.of(TEXT, 60, 64)),),
)
PRED = Document(
    "doc-1",
    TEXT,
    (ent("Acme", "ORG"), ent("Ann Lee", "ORG"), ent("Ann Lee", "PERSON", 1)),
    (),
)


def evaluation(draws: int = 100) -> Evaluation:
    res = score([GOLD], [PRED], name="x<y>", draws=draws)
    return Evaluation(
        {"name": "tiny", "version": "1.0.0", "articles": 1},
        [GOLD],
        [res],
        {"bootstrap": draws, "seed": 0, "confidence": 0.95},
        ["a <warning>"],
        "2026-01-01T00:00:00+00:00",
    )


def test_sections_and_charts_are_there():
    page = render_html(evaluation())
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    for part in (
        "curate evaluation: tiny 1.0.0",
        "<h2>Summary</h2>",
        "F1 per label (strict)",
        "Micro F1 by SemEval-2013 scheme",
        "Label confusion, same boundaries",
        "Content F1 by matching rule",
        "<h2>Errors by article</h2>",
    ):
        assert part in page, part
    assert page.count("<svg") == 4  # per-label bars, scheme bars, heat map, quote bars


def test_text_and_names_are_escaped():
    page = render_html(evaluation())
    assert "<b>Corp</b>" not in page and "&lt;b&gt;Corp&lt;/b&gt;" in page
    assert "x&lt;y&gt;" in page and "x<y>" not in page
    assert "a &lt;warning&gt;" in page
    assert "&amp; left" in page


def test_errors_are_highlighted_in_the_text():
    page = render_html(evaluation())
    doc = page[page.index("<div class='doc'>") :]
    # "Acme" predicted for "Acme <b>Corp</b>": wrong boundary on the predicted span.
    assert "class='e-wrong_boundary'" in doc
    # "Ann Lee" labelled ORG instead of PERSON; "Paris" missed; the quote missed.
    assert "class='e-wrong_label'" in doc and "wrong label: predicted ORG" in doc
    assert "title='missed GPE'>Paris</span>" in doc
    assert "q-missed_quote" in doc
    # The second "Ann Lee" is right.
    assert "class='e-ok'" in doc


def test_terminal_tables_render():
    console = Console(width=160, record=True)
    for part in render(evaluation(draws=0)):
        console.print(part)
    out = console.export_text()
    assert "no confidence intervals" in out
    assert "strict" in out and "PERSON" in out and "GPE" in out
    assert "gold \\ pred" in out

"""Property tests: quote extraction never raises and every span lies inside the text."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.extract.nlp import load_model, pipes_to_exclude  # noqa: E402
from curate.extract.quotes import REQUIRED_PIPES, extract_quotes  # noqa: E402
from curate.marks import find_quoted  # noqa: E402
from curate.model import Document  # noqa: E402

# News-like pieces, quote marks of every style (often unbalanced), paragraph breaks,
# odd whitespace and a few characters outside the BMP.
PIECES = [
    "“",
    "”",
    '"',
    "‘",
    "’",
    "'",
    "''",
    "«",
    "»",
    "„",
    "‹",
    "›",
    "\n",
    "\n\n",
    "\r\n",
    "\xa0",
    " ",
    ", ",
    ". ",
    ": ",
    " — ",
    "he said",
    "said Kirby",
    "Smith said",
    "according to officials",
    "told reporters that",
    "saying",
    "noting that",
    "the NSC spokesperson",
    "We will win",
    "the talks",
    "Dmitry Peskov",
    "would pay a price",
    "it's",
    "don’t",
    "the '90s",
    "😀",
    "𝔘𝔓𝔌",
]
texts = st.lists(st.sampled_from(PIECES), max_size=30).map(" ".join) | st.text(max_size=120)


@pytest.fixture(scope="module")
def nlp():
    model, _ = load_model(None, disable=pipes_to_exclude(None, REQUIRED_PIPES))
    return model


def _inside(span, text: str) -> None:
    assert 0 <= span.start < span.end <= len(text)
    assert text[span.start : span.end] == span.text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts)
def test_extraction_never_raises_and_spans_are_inside(nlp, text):
    quotes = extract_quotes(nlp(text))
    for q in quotes:
        _inside(q, text)
        assert q.kind in ("direct", "indirect", "mixed")
        for part in (q.speaker, q.cue, q.speaker_entity):
            if part is not None:
                _inside(part, text)
    # What the extractor gives always builds a valid Document and round-trips.
    doc = Document("p", text, quotes=tuple(quotes))
    assert Document.from_dict(doc.to_dict()) == doc


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_quote_marks_are_found_inside_text_without_overlap(text):
    found = find_quoted(text)
    last_end = 0
    for q in found:
        assert 0 <= q.start < q.end <= len(text)
        assert q.start >= last_end  # sorted, never overlapping
        last_end = q.end

"""The learned filter over reported-quote candidates (``curate.extract._quote_filter``)."""

from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.extract._quote_filter import WEIGHTS, QuoteFilter, shipped_filter  # noqa: E402
from curate.extract.nlp import load_model, pipes_to_exclude  # noqa: E402
from curate.extract.quotes import REQUIRED_PIPES, _extract, extract_quotes  # noqa: E402


@pytest.fixture(scope="module")
def nlp():
    model, _ = load_model(None, disable=pipes_to_exclude(None, REQUIRED_PIPES))
    return model


@pytest.mark.parametrize(
    "text, content",
    [
        # poll figures, not a report: PolNeAR train candidates like these are rarely gold
        (
            "Female troops preferred Clinton, while male troops backed Trump, 57 percent to "
            "22 percent.",
            "Trump, 57 percent to 22 percent",
        ),
        ("Polls showing a tie give him an opening.", "a tie"),
    ],
)
def test_unlikely_reported_quotes_are_dropped(nlp, text, content):
    doc = nlp(text)
    # The rules suggest it (curate.quotes.v3 did); the filter drops it.
    assert content in [q.text for q, _ in _extract(doc, learned_filter=False)]
    assert content not in [q.text for q in extract_quotes(doc)]


@pytest.mark.parametrize(
    "text, content",
    [
        ("The senator said the bill would pass next week.", "the bill would pass next week"),
        ("Corker declined to speculate on a backup plan.", "to speculate on a backup plan"),
    ],
)
def test_likely_reported_quotes_are_kept(nlp, text, content):
    assert content in [q.text for q in extract_quotes(nlp(text))]


def test_probability_is_a_logistic_of_the_summed_weights():
    f = QuoteFilter({"bias": 0.0, "lemma=say": 2.0}, threshold=0.5)
    assert f.probability(["bias"]) == 0.5
    assert f.probability(["bias", "unknown=x"]) == 0.5  # unseen features weigh nothing
    assert f.probability(["bias", "lemma=say"]) == pytest.approx(0.8808, abs=1e-4)


def test_shipped_weights_say_where_they_come_from():
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    assert "PolNeAR train" in data["trained_on"] and "scikit-learn" in data["model"]
    f = shipped_filter()
    assert 0.0 < f.threshold < 1.0 and "bias" in f.weights


def test_a_content_among_several_of_its_cue_is_a_feature(nlp):
    from curate.extract._quote_filter import candidate_features

    doc = nlp("Kirby said the talks had stalled.")
    cue = next(t for t in doc if t.lower_ == "said")
    start = doc.text.index("the talks")
    end = doc.text.index(".")
    alone = candidate_features(doc, cue, "speech", start, end, cue.head)
    later = candidate_features(doc, cue, "speech", start, end, cue.head, "later")
    assert set(later) - set(alone) == {"among=later", "rule|among=speech|later"}
    # The shipped weights know it (it lowers the probability of a later content).
    weights = shipped_filter().weights
    assert weights.get("among=later", 0.0) < 0

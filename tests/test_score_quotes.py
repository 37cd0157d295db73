"""Quote scoring: content rules, speaker and cue accuracy, breakdown by kind."""

from __future__ import annotations

import numpy as np
import pytest

from curate.model import Quote, Span
from curate.score import metrics
from curate.score.quotes import RULES, article_counts, errors, same_speaker

TEXT = (
    'John Smith arrived. "We will win the vote," he said on Monday. '
    "Critics said that the plan would fail badly. "
    '"It is over," Mary Jones told reporters.'
)


def span(s: str, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(s, start + 1)
    return Span(start, start + len(s), s)


def quote(content: str, kind: str = "direct", speaker=None, cue=None, entity=None) -> Quote:
    c = span(content)
    return Quote(c.start, c.end, c.text, kind, speaker, cue, entity)


Q1 = quote(
    '"We will win the vote,"', speaker=span("he"), cue=span("said"), entity=span("John Smith")
)
Q2 = quote("the plan would fail badly", "indirect", speaker=span("Critics"), cue=span("said", 1))
Q3 = quote('"It is over,"', speaker=span("Mary Jones"), cue=span("told"))
GOLD = [Q1, Q2, Q3]


def metric_values(gold, pred) -> dict[str, float]:
    counts, _ = article_counts(gold, pred)
    cols = sorted(counts)
    m = metrics.compute(np.array([counts[c] for c in cols], dtype=float), cols, ["quotes"])
    return {k: float(v) for k, v in m.items()}


def test_perfect_predictions_score_one_everywhere():
    m = metric_values(GOLD, GOLD)
    for rule in RULES:
        assert m[f"quotes/{rule}/all/f1"] == 1.0
    assert m["quotes/speaker_mention/all/acc"] == 1.0
    assert m["quotes/speaker_entity/all/acc"] == 1.0
    assert m["quotes/cue/all/acc"] == 1.0


def test_rules_differ_on_a_shortened_quote():
    # Gold "the plan would fail badly" (25 chars); predictions cut short.
    g = [Q2]
    nearly = [quote("the plan would fail", "indirect")]  # 19/25 covered
    half = [quote("the plan would", "indirect")]  # 14/25 covered
    third = [quote("the plan", "indirect")]  # 8/25 covered
    m = metric_values(g, nearly)
    assert (m["quotes/exact/all/f1"], m["quotes/overlap/all/f1"]) == (0.0, 1.0)
    assert (m["quotes/cov0.3/all/f1"], m["quotes/cov0.8/all/f1"]) == (1.0, 0.0)
    m = metric_values(g, half)
    assert m["quotes/overlap/all/f1"] == 1.0  # 14 > 25/2 and 14 > 14/2
    m = metric_values(g, third)
    assert m["quotes/overlap/all/f1"] == 0.0  # 8 is not more than half of 25
    assert m["quotes/cov0.3/all/f1"] == 1.0  # 8/25 = 0.32


def test_matching_is_one_to_one():
    # Two predictions inside one gold quote: one matches, the other is a false positive.
    g = [Q2]
    pred = [quote("the plan would fail badly", "indirect"), quote("plan would fail", "indirect")]
    counts, pairs = article_counts(g, pred)
    assert pairs == [(0, 0)]
    assert counts["q/overlap/tpg/*"] == 1 and counts["q/pred/*"] == 2
    m = metric_values(g, pred)
    assert m["quotes/overlap/all/p"] == 0.5 and m["quotes/overlap/all/r"] == 1.0


def test_missed_and_spurious_quotes():
    pred = [Q1, quote("John Smith arrived.", "indirect")]
    m = metric_values(GOLD, pred)
    assert m["quotes/exact/all/p"] == 0.5
    assert m["quotes/exact/all/r"] == pytest.approx(1 / 3)
    _, pairs = article_counts(GOLD, pred)
    kinds = sorted(e["kind"] for e in errors(GOLD, pred, pairs))
    assert kinds == ["missed_quote", "missed_quote", "spurious_quote"]


def test_speaker_by_mention_and_by_resolved_entity():
    # Right mention, no resolution: mention right, entity wrong (gold says John Smith).
    pred = [quote(Q1.text, speaker=span("he"), cue=span("said"))]
    m = metric_values([Q1], pred)
    assert m["quotes/speaker_mention/all/acc"] == 1.0
    assert m["quotes/speaker_entity/all/acc"] == 0.0
    # Wrong mention resolved to the right entity: mention wrong, entity right.
    pred = [quote(Q1.text, speaker=span("Critics"), cue=span("said"), entity=span("John Smith"))]
    m = metric_values([Q1], pred)
    assert m["quotes/speaker_mention/all/acc"] == 0.0
    assert m["quotes/speaker_entity/all/acc"] == 1.0
    # No speaker at all: both wrong; the cue is still judged.
    pred = [quote(Q1.text, cue=span("said", 1))]
    m = metric_values([Q1], pred)
    assert m["quotes/speaker_mention/all/acc"] == 0.0
    assert m["quotes/cue/all/acc"] == 0.0


def test_same_speaker_accepts_the_same_name_elsewhere():
    text_twice = Span(0, 10, "John Smith")
    gold = Quote(20, 42, Q1.text, speaker=span("he"), speaker_entity=text_twice)
    pred = Quote(20, 42, Q1.text, speaker=Span(100, 110, "john  smith"))
    assert same_speaker(gold, pred)
    assert not same_speaker(gold, Quote(20, 42, Q1.text))


def test_resolving_further_than_the_gold_is_not_an_error():
    # Gold: speaker "he", unresolved. Prediction: "he", resolved to John Smith.
    gold = quote(Q1.text, speaker=span("he"))
    pred = quote(Q1.text, speaker=span("he"), entity=span("John Smith"))
    assert same_speaker(gold, pred)
    # But a resolved gold needs the prediction's resolution (or named mention) to match.
    assert not same_speaker(Q1, quote(Q1.text, speaker=span("he")))
    assert same_speaker(Q1, quote(Q1.text, speaker=span("John Smith")))


def test_gold_quotes_without_speaker_do_not_count_for_speaker_accuracy():
    g = [quote(Q3.text, cue=span("told"))]
    counts, _ = article_counts(g, [quote(Q3.text)])
    assert "q/speaker/n/*" not in counts
    assert counts["q/cue/n/*"] == 1 and "q/cue/ok/*" not in counts


def test_breakdown_by_kind():
    # Predicted kinds: precision by predicted kind, recall by gold kind.
    pred = [Q1, quote(Q2.text, "mixed", speaker=span("Critics"), cue=span("said", 1))]
    m = metric_values(GOLD, pred)
    assert m["quotes/overlap/direct/r"] == 0.5  # Q1 found, Q3 missed
    assert m["quotes/overlap/direct/p"] == 1.0
    assert m["quotes/overlap/indirect/r"] == 1.0  # Q2 found (predicted as mixed)
    assert m["quotes/overlap/mixed/p"] == 1.0
    assert m["quotes/overlap/indirect/p"] == 0.0  # no indirect predictions
    assert m["quotes/kind/all/acc"] == 0.5  # Q2's kind is wrong
    assert m["quotes/cue/indirect/acc"] == 1.0


def test_wrong_speaker_and_cue_are_listed_as_errors():
    pred = [quote(Q3.text, speaker=span("reporters"), cue=None)]
    _, pairs = article_counts([Q3], pred)
    errs = errors([Q3], pred, pairs)
    assert [e["kind"] for e in errs] == ["wrong_speaker", "wrong_cue"]
    assert errs[0]["gold"] == "Mary Jones" and errs[0]["pred"] == "reporters"


def test_matching_is_optimal_whatever_the_order():
    # Greedy by Jaccard would give the long prediction to the second gold quote (its best
    # pair) and leave both the first gold quote and the short prediction unmatched.
    text = "x" * 40
    gold = [Quote(0, 10, text[0:10], "direct"), Quote(10, 20, text[10:20], "direct")]
    long, short = Quote(5, 20, text[5:20], "direct"), Quote(10, 14, text[10:14], "direct")
    for pred in ([long, short], [short, long]):
        counts, pairs = article_counts(gold, pred)
        assert counts["q/cov0.3/tpg/*"] == counts["q/cov0.3/tpp/*"] == 2
    # Quote order does not change which pairs the main rule makes either.
    a, _ = article_counts(GOLD, [Q3, Q1, Q2])
    b, _ = article_counts(GOLD, [Q1, Q2, Q3])
    assert a == b

"""Region-by-region merge policies (curate.gold.merge) and their use in gold selection."""

from __future__ import annotations

import pytest

from curate.errors import CurateError
from curate.gold.merge import (
    ACCEPTED,
    REJECTED,
    REVIEW,
    MergePolicy,
    merge,
    merge_counts,
    parse_label_rule,
)
from curate.model import Document, Entity, Quote, Span
from curate.studio.gold import CONFLICT, MERGED, POLICY_MERGED, SINGLE, Candidate, select_gold

TEXT = "Anna Smith met Bob Jones in Paris. “We will win,” she said."
ANNA = Entity.of(TEXT, 0, 10, "PERSON")
BOB = Entity.of(TEXT, 15, 24, "PERSON")
PARIS = Entity.of(TEXT, 28, 33, "GPE")
PARIS_ORG = Entity.of(TEXT, 28, 33, "ORG")
Q_START = TEXT.index("“")
Q_END = TEXT.index("”") + 1
QUOTE = Quote(
    Q_START,
    Q_END,
    TEXT[Q_START:Q_END],
    "direct",
    speaker=Span.of(TEXT, TEXT.index("she"), TEXT.index("she") + 3),
    cue=Span.of(TEXT, TEXT.index("said"), TEXT.index("said") + 4),
)
QUOTE_INNER = Quote(
    Q_START + 1, Q_END - 2, TEXT[Q_START + 1 : Q_END - 2], "direct", QUOTE.speaker, QUOTE.cue
)


def doc(*regions) -> Document:
    return Document(
        id="a1",
        text=TEXT,
        entities=tuple(r for r in regions if isinstance(r, Entity)),
        quotes=tuple(r for r in regions if isinstance(r, Quote)),
    )


def outcomes(result) -> dict:
    return {
        (type(v.region).__name__, v.region.start, v.region.end): v.outcome for v in result.votes
    }


@pytest.mark.parametrize(
    ("policy", "n", "k"),
    [
        (MergePolicy("unanimous"), 3, 3),
        (MergePolicy("majority"), 3, 2),
        (MergePolicy("majority"), 4, 3),
        (MergePolicy("majority"), 2, 2),
        (MergePolicy("k-of-n", k=2), 5, 2),
        (MergePolicy("k-of-n", k=4), 3, 3),
    ],
)
def test_thresholds(policy, n, k):
    assert policy.threshold(n) == k


def test_majority_of_three_accepts_two_rejects_one_marks():
    versions = {"a": doc(ANNA, BOB, PARIS), "b": doc(ANNA, BOB), "c": doc(ANNA, PARIS_ORG)}
    out = merge(versions, MergePolicy("majority"))
    assert outcomes(out) == {
        ("Entity", 0, 10): ACCEPTED,  # 3 of 3
        ("Entity", 15, 24): ACCEPTED,  # 2 of 3
        ("Entity", 28, 33): REJECTED,  # GPE and ORG each 1 of 3; 2 leave each out
    }
    assert out.settled
    assert out.agreed.entities == (ANNA, BOB)


def test_unanimous_sends_partial_regions_to_review():
    versions = {"a": doc(ANNA, BOB), "b": doc(ANNA)}
    out = merge(versions, MergePolicy("unanimous"))
    assert outcomes(out) == {("Entity", 0, 10): ACCEPTED, ("Entity", 15, 24): REVIEW}
    assert not out.settled
    assert out.agreed.entities == (ANNA,)
    assert [v.annotators for v in out.review()] == [("a",)]


def test_two_annotators_majority_is_unanimity():
    out = merge({"a": doc(ANNA, BOB), "b": doc(ANNA)}, MergePolicy("majority"))
    assert out.counts() == {ACCEPTED: 1, REJECTED: 0, REVIEW: 1}


def test_quotes_exact_by_default_and_overlap_when_asked():
    versions = {"a": doc(QUOTE), "b": doc(QUOTE), "c": doc(QUOTE_INNER)}
    exact = merge(versions, MergePolicy("unanimous"))
    assert exact.counts() == {ACCEPTED: 0, REJECTED: 0, REVIEW: 2}
    loose = merge(versions, MergePolicy("unanimous", quote_overlap=0.75))
    assert loose.counts() == {ACCEPTED: 1, REJECTED: 0, REVIEW: 0}
    assert loose.agreed.quotes == (QUOTE,)  # the variant most annotators chose


def test_quote_overlap_needs_equal_speaker_and_cue():
    other = Quote(QUOTE.start, QUOTE.end, QUOTE.text, "direct", speaker=None, cue=QUOTE.cue)
    out = merge({"a": doc(QUOTE), "b": doc(other)}, MergePolicy("unanimous", quote_overlap=0.5))
    assert out.counts()[REVIEW] == 2


def test_too_few_annotators_is_not_settled():
    out = merge({"a": doc(ANNA)}, MergePolicy("majority", min_annotators=2))
    assert out.too_few_annotators and not out.settled


def test_counts_over_tasks():
    a = merge({"a": doc(ANNA), "b": doc(ANNA)}, MergePolicy("unanimous"))
    b = merge({"a": doc(ANNA, BOB), "b": doc(ANNA)}, MergePolicy("unanimous"))
    assert merge_counts([a, b]) == {
        "regions_accepted": 2,
        "regions_rejected": 0,
        "regions_review": 1,
        "tasks_settled": 1,
        "tasks_review": 1,
    }


@pytest.mark.parametrize(
    "kw", [{"name": "vote"}, {"name": "k-of-n"}, {"min_annotators": 0}, {"quote_overlap": 1.5}]
)
def test_bad_policies_say_what_to_do(kw):
    with pytest.raises(CurateError):
        MergePolicy(**kw)


def cand(i: int, *regions) -> Candidate:
    return Candidate(annotation_id=i, annotator=f"u{i}", document=doc(*regions))


def test_select_gold_with_policy():
    kw = {"task_id": 1, "curate_id": "a1", "url": "u"}
    three = [cand(1, ANNA, BOB), cand(2, ANNA, BOB), cand(3, ANNA)]
    assert select_gold(three, **kw).rule == CONFLICT  # default: any difference
    sel = select_gold(three, **kw, merge_policy=MergePolicy("majority"))
    assert sel.rule == POLICY_MERGED and sel.gold.entities == (ANNA, BOB)
    sel = select_gold(three, **kw, merge_policy=MergePolicy("unanimous"))
    assert sel.rule == CONFLICT
    assert sel.conflict.agreed.entities == (ANNA,)
    assert sel.conflict.to_dict()["agreed"]["entities"] == [ANNA.to_dict()]
    assert any("15:24" in line for line in sel.conflict.differences)
    same = [cand(1, ANNA), cand(2, ANNA)]
    assert select_gold(same, **kw, merge_policy=MergePolicy("unanimous")).rule == MERGED
    one = [cand(1, ANNA)]
    assert select_gold(one, **kw).rule == SINGLE
    sel = select_gold(one, **kw, merge_policy=MergePolicy("majority", min_annotators=2))
    assert sel.rule == CONFLICT and "fewer than 2" in sel.conflict.reason


def test_label_rule_sets_its_own_threshold():
    # Three annotators: majority accepts 2 of 3; QUOTE=unanimous sends the 2-of-3 quote
    # to review, ORG=1-of-n accepts a lone ORG mark.
    versions = {"a": doc(ANNA, QUOTE), "b": doc(ANNA, QUOTE, PARIS_ORG), "c": doc(BOB)}
    plain = merge(versions, MergePolicy("majority"))
    assert outcomes(plain)[("Quote", Q_START, Q_END)] == ACCEPTED
    assert outcomes(plain)[("Entity", 28, 33)] == REJECTED
    rules = (parse_label_rule("QUOTE=unanimous"), parse_label_rule("ORG=1-of-n"))
    out = merge(versions, MergePolicy("majority", labels=rules))
    assert outcomes(out) == {
        ("Entity", 0, 10): ACCEPTED,  # PERSON follows majority: 2 of 3
        ("Entity", 15, 24): REJECTED,  # 1 of 3
        ("Entity", 28, 33): ACCEPTED,  # ORG: 1 of n is enough
        ("Quote", Q_START, Q_END): REVIEW,  # QUOTE: unanimous, 2 of 3
    }
    assert out.agreed.entities == (ANNA, PARIS_ORG) and not out.settled


def test_label_minimum_sends_only_that_labels_regions_to_review():
    versions = {"a": doc(ANNA, PARIS), "b": doc(ANNA, PARIS)}
    policy = MergePolicy("majority", labels=(parse_label_rule("GPE=majority,min=3"),))
    out = merge(versions, policy)
    assert outcomes(out) == {("Entity", 0, 10): ACCEPTED, ("Entity", 28, 33): REVIEW}
    assert not out.too_few_annotators and not out.settled
    three = merge({**versions, "c": doc(ANNA, PARIS)}, policy)
    assert three.settled and three.agreed.entities == (ANNA, PARIS)


def test_label_rules_are_recorded_and_read_back():
    policy = MergePolicy(
        "majority",
        labels=(parse_label_rule("QUOTE=unanimous"), parse_label_rule(" ORG = 2-of-n , min=3")),
    )
    d = policy.to_dict()
    assert d["labels"] == {
        "QUOTE": {"name": "unanimous", "k": None, "min_annotators": None},
        "ORG": {"name": "k-of-n", "k": 2, "min_annotators": 3},
    }
    assert "QUOTE regions when every annotator marks it" in d["description"]
    assert "ORG regions when at least 2 annotators mark it of at least 3" in d["description"]
    assert [r.to_text() for r in policy.labels] == ["QUOTE=unanimous", "ORG=2-of-n,min=3"]
    assert MergePolicy("majority").to_dict()["labels"] == {}


@pytest.mark.parametrize(
    "text",
    [
        "QUOTE",
        "=majority",
        "QUOTE=most",
        "QUOTE=0-of-n",
        "ORG=majority,max=3",
        "A=b,",
        "ORG=2-of-n,min=0",
    ],
)
def test_bad_label_rules_say_how_to_write_them(text):
    with pytest.raises(CurateError, match="LABEL=RULE"):
        parse_label_rule(text)


def test_label_rules_unknown_or_twice_are_refused():
    with pytest.raises(CurateError, match="two label policies"):
        MergePolicy(labels=(parse_label_rule("ORG=majority"), parse_label_rule("ORG=1-of-n")))
    policy = MergePolicy(labels=(parse_label_rule("ORGG=majority"),))
    with pytest.raises(CurateError, match="unknown label.*ORGG"):
        policy.check_labels(["PERSON", "ORG"])
    MergePolicy(labels=(parse_label_rule("QUOTE=majority"),)).check_labels(["ORG"])


def test_pull_cli_checks_label_policies_before_connecting(monkeypatch):
    from typer.testing import CliRunner

    from curate.cli import app

    def no_server(*args, **kwargs):
        raise AssertionError("connected to Label Studio")

    monkeypatch.setattr("curate.studio.client.connect", no_server)
    run = CliRunner().invoke
    r = run(app, ["pull", "--label-policy", "QUOTE=unanimous"])
    assert r.exit_code == 2 and "--label-policy needs --merge" in r.output
    r = run(app, ["pull", "--quote-overlap", "0.8", "--min-annotators", "3"])
    assert r.exit_code == 2 and "--min-annotators, --quote-overlap: used only with --merge" in (
        " ".join(r.output.split())
    )
    r = run(app, ["pull", "--merge", "majority", "--label-policy", "PERSN=unanimous"])
    assert r.exit_code == 2 and "unknown label(s) PERSN" in r.output
    r = run(app, ["pull", "--merge", "majority", "--label-policy", "QUOTE=most"])
    assert r.exit_code == 2 and "LABEL=RULE" in r.output


def test_counts_per_label_rule():
    policy = MergePolicy("majority", labels=(parse_label_rule("QUOTE=unanimous"),))
    versions = {"a": doc(ANNA, QUOTE), "b": doc(ANNA, QUOTE), "c": doc(ANNA)}
    out = merge(versions, policy)
    counts = merge_counts([out], [r.label for r in policy.labels])
    assert counts["regions_accepted"] == 1 and counts["regions_review"] == 1
    assert {k: v for k, v in counts.items() if k.startswith("QUOTE")} == {
        "QUOTE regions_accepted": 0,
        "QUOTE regions_rejected": 0,
        "QUOTE regions_review": 1,
    }
    assert "PERSON regions_accepted" not in counts

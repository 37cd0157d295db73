"""Bootstrap intervals (seeded, reproducible) and the comparison of two reports."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from curate.errors import CurateError
from curate.model import Document, Entity, Quote
from curate.score import bootstrap
from curate.score.evaluate import Evaluation, score
from curate.score.metrics import CountTable
from curate.score.report import compare, load_report, write_json

LABELS = ("PERSON", "ORG", "GPE")


def make_gold(n: int = 30, seed: int = 1) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        text = " ".join(f"w{j:03d}" for j in range(60))  # 4 chars + space per word
        ents = [Entity.of(text, 5 * j, 5 * j + 4, rng.choice(LABELS)) for j in range(0, 60, 6)]
        quotes = [Quote(100, 140, text[100:140], "indirect")]
        docs.append(Document(f"a{i:02d}", text, tuple(ents), tuple(quotes)))
    return docs


def degrade(gold: list[Document], keep: float, seed: int = 2) -> list[Document]:
    """Predictions keeping each gold entity with probability ``keep``."""
    rng = random.Random(seed)
    return [
        d.with_(entities=tuple(e for e in d.entities if rng.random() < keep), provenance=None)
        for d in gold
    ]


def evaluation(gold, preds, name="x", draws=300, seed=0) -> Evaluation:
    res = score(gold, preds, name=name, draws=draws, seed=seed)
    return Evaluation({"name": "g", "articles": len(gold)}, gold, [res], {"bootstrap": draws})


def test_intervals_are_reproducible_with_a_seed():
    gold = make_gold()
    preds = degrade(gold, 0.7)
    a = score(gold, preds, draws=200, seed=7).metrics
    b = score(gold, preds, draws=200, seed=7).metrics
    c = score(gold, preds, draws=200, seed=8).metrics
    key = "entities/strict/micro/f1"
    assert (a[key].lo, a[key].hi) == (b[key].lo, b[key].hi)
    assert (a[key].lo, a[key].hi) != (c[key].lo, c[key].hi)


def test_intervals_bracket_the_point_estimate():
    gold = make_gold()
    res = score(gold, degrade(gold, 0.6), draws=500)
    for name in ("entities/strict/micro/f1", "entities/type/micro/p", "quotes/exact/all/f1"):
        m = res.metrics[name]
        assert m.lo is not None and m.hi is not None
        assert m.lo <= m.value <= m.hi
    m = res.metrics["entities/strict/micro/r"]
    assert m.hi - m.lo > 0.01  # recall varies across articles


def test_no_resampling_gives_no_intervals():
    gold = make_gold(5)
    m = score(gold, gold, draws=0).metrics["entities/strict/micro/f1"]
    assert m.value == 1.0 and m.lo is None and m.hi is None


def test_weights_are_poisson_and_a_function_of_seed_and_block():
    w = bootstrap.block_weights(0, 400, seed=3)
    assert w.shape == (400, bootstrap.BLOCK)
    assert abs(w.mean() - 1) < 0.01 and abs(w.var() - 1) < 0.02  # Poisson(1)
    assert (bootstrap.block_weights(0, 400, seed=3) == w).all()
    assert (bootstrap.block_weights(0, 100, seed=3) == w[:100]).all()  # more draws extend
    assert not (bootstrap.block_weights(1, 400, seed=3) == w).all()
    assert not (bootstrap.block_weights(0, 400, seed=4) == w).all()


def _ratio(sums: np.ndarray) -> dict[str, np.ndarray]:
    """A metric of summed counts: column 0 over column 1 (a precision, say)."""
    return {"p": sums[..., 0] / sums[..., 1]}


def _counts(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pred = rng.integers(1, 20, size=n)
    return np.stack([rng.binomial(pred, 0.7), pred], axis=1)


def test_bootstrap_is_reproducible_with_a_seed():
    counts = _counts(300)
    a = bootstrap.intervals(counts, _ratio, draws=500, seed=1)
    assert a == bootstrap.intervals(counts, _ratio, draws=500, seed=1)
    assert a != bootstrap.intervals(counts, _ratio, draws=500, seed=2)


def test_interval_covers_the_point_estimate_and_shrinks_with_more_articles():
    small, large = _counts(50), _counts(5000)
    widths = []
    for counts in (small, large):
        lo, hi = bootstrap.intervals(counts, _ratio, draws=1000)["p"]
        point = _ratio(counts.sum(axis=0))["p"]
        assert lo < point < hi
        assert lo > 0.6 and hi < 0.8  # the true rate is 0.7
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 5  # about sqrt(100) narrower


def test_chunking_the_articles_does_not_change_the_intervals():
    counts = _counts(3000)
    whole = bootstrap.intervals(counts, _ratio, draws=300, seed=5)
    cuts = [0, 7, 300, 301, 2500, 3000]  # across the weight blocks' edges
    chunks = (counts[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True))
    assert bootstrap.intervals(chunks, _ratio, draws=300, seed=5) == whole
    r = bootstrap.Resampler(300, seed=5)
    for row in counts:
        r.add(row[None, :])
    assert {k: bootstrap._bounds(v, 0.95) for k, v in _ratio(r.sums).items()} == whole


def test_paired_difference_of_identical_reports_is_zero_and_of_different_ones_is_not():
    counts = _counts(400)
    assert bootstrap.paired_differences(counts, counts, _ratio, draws=300) == {"p": (0.0, 0.0)}
    worse = counts.copy()
    worse[:, 0] = np.maximum(worse[:, 0] - 2, 0)
    lo, hi = bootstrap.paired_differences(worse, counts, _ratio, draws=300)["p"]
    assert lo < hi < 0
    # Pairing: the same weights for both, so the interval is narrower than the unpaired one.
    a = bootstrap.intervals(worse, _ratio, draws=300)["p"]
    b = bootstrap.intervals(counts, _ratio, draws=300)["p"]
    assert hi - lo < (a[1] - a[0]) + (b[1] - b[0])


def test_resamples_that_draw_no_article_are_left_out():
    r = bootstrap.Resampler(2000, seed=0)
    r.add(np.array([[3, 4]]))
    kept = r.sums
    assert 0 < len(kept) < 2000  # about e**-1 of the resamples draw the one article 0 times
    assert (kept[:, 1] > 0).all() and (kept[:, 0] * 4 == kept[:, 1] * 3).all()
    assert bootstrap.intervals(np.zeros((0, 2)), _ratio, draws=100) == {}


def test_count_table_is_sparse_and_gives_the_dense_rows():
    rows = [{"b": 2, "a": 0}, {}, {"c": 5, "a": 1}, {"b": 1}]
    table = CountTable.build(["w", "x", "y", "z"], rows)
    assert table.columns == ["a", "b", "c"] and len(table) == 4
    dense = np.array([[0, 2, 0], [0, 0, 0], [1, 0, 5], [0, 1, 0]])
    assert (table.dense() == dense).all()
    assert (table.dense(1, 3) == dense[1:3]).all()
    assert (np.concatenate(list(table.blocks(3))) == dense).all()
    assert table.counts(2) == {"a": 1, "c": 5} and table.counts(1) == {}
    assert table.totals().tolist() == [1, 3, 5]
    assert len(table.data) == 4  # only the nonzero cells


def test_only_the_articles_with_most_errors_keep_their_errors():
    gold = make_gold(40)
    preds = degrade(gold, 0.5)
    everything = score(gold, preds, draws=0, max_error_articles=100)
    few = score(gold, preds, draws=0, max_error_articles=3)
    assert len(few.errors) == 3
    ranked = sorted(everything.errors.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    assert set(few.errors) == {k for k, _ in ranked[:3]}
    assert few.errors == {k: everything.errors[k] for k in few.errors}
    assert few.error_articles == everything.error_articles == len(everything.errors)
    assert few.error_kinds == everything.error_kinds
    assert sum(few.error_kinds.values()) == sum(len(v) for v in everything.errors.values())
    assert few.metrics == everything.metrics


def test_compare_flags_a_real_regression_and_not_noise(tmp_path):
    gold = make_gold()
    old = evaluation(gold, degrade(gold, 0.95))
    path = write_json(old, tmp_path / "old.json")
    old_report = load_report(path)
    # The same predictions again: nothing significant.
    same = compare(old_report, evaluation(gold, degrade(gold, 0.95)), draws=300)
    assert same.paired == {"x": 30}
    assert not same.regressions and not same.improvements
    # Much worse predictions: strict micro F1 is flagged, with a negative interval.
    worse = compare(old_report, evaluation(gold, degrade(gold, 0.5)), draws=300)
    flagged = {c.metric: c for c in worse.regressions}
    assert "entities/strict/micro/f1" in flagged
    c = flagged["entities/strict/micro/f1"]
    assert c.delta < 0 and c.hi is not None and c.hi < 0
    assert "quotes/exact/all/f1" not in flagged  # quotes did not change
    better = compare(
        load_report(write_json(evaluation(gold, degrade(gold, 0.5)), tmp_path / "b.json")),
        old,
        draws=300,
    )
    assert "entities/strict/micro/f1" in {c.metric for c in better.improvements}


def test_compare_is_reproducible_and_skips_unknown_extractors(tmp_path):
    gold = make_gold()
    old = load_report(write_json(evaluation(gold, degrade(gold, 0.9)), tmp_path / "o.json"))
    new = evaluation(gold, degrade(gold, 0.6))
    a = compare(old, new, draws=200, seed=5)
    b = compare(old, new, draws=200, seed=5)
    assert [(c.metric, c.lo, c.hi) for c in a.changes] == [
        (c.metric, c.lo, c.hi) for c in b.changes
    ]
    # One extractor on each side is compared whatever the names; with more, by name.
    other = evaluation(gold, degrade(gold, 0.6), name="y")
    c = compare(old, other, draws=200)
    assert c.paired == {"y": 30} and "comparing y with x" in c.notes[0]
    two = Evaluation(
        other.gold,
        gold,
        [other.results[0], score(gold, gold, name="z", draws=0)],
        {"bootstrap": 0},
    )
    assert compare(old, two, draws=0).unmatched == ["y", "z"]


def test_compare_does_not_flag_with_too_few_shared_articles(tmp_path):
    gold = make_gold(3)
    old = load_report(write_json(evaluation(gold, gold), tmp_path / "o.json"))
    c = compare(old, evaluation(gold, degrade(gold, 0.1)), draws=200)
    assert c.paired == {"x": 3} and not c.regressions


def test_json_report_round_trips_counts_and_has_no_nan(tmp_path):
    gold = make_gold(8)
    ev = evaluation(gold, degrade(gold, 0.5))
    path = write_json(ev, tmp_path / "r.json")
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text
    data = json.loads(text)
    (ex,) = data["extractors"]
    assert len(ex["articles"]) == 8 and ex["articles"][0]["hash"] == gold[0].hash
    total = sum(a["counts"].get("ent/strict/*/cor", 0) for a in ex["articles"])
    assert total == int(ev.results[0].table.totals()[ev.results[0].table.col["ent/strict/*/cor"]])
    assert ex["metrics"]["entities/strict/micro/f1"]["value"] == ev.results[0].value(
        "entities/strict/micro/f1"
    )


def test_score_streams_generators_and_reports_a_length_mismatch():
    gold = make_gold(12)
    preds = degrade(gold, 0.7)
    listed = score(gold, preds, draws=0)
    streamed = score((d for d in gold), (p for p in preds), draws=0, keep_predictions=False)
    assert streamed.metrics == listed.metrics
    assert streamed.predictions == [] and len(listed.predictions) == 12
    assert len(streamed.table) == 12
    with pytest.raises(CurateError, match="11 predictions for 12 articles"):
        score(iter(gold), iter(preds[:11]), draws=0)
    with pytest.raises(CurateError, match="12 predictions for 11 articles"):
        score(iter(gold[:11]), iter(preds), draws=0)


def test_count_table_spilled_to_disk_reads_the_same_rows(monkeypatch):
    from curate.score.metrics import Spilled

    monkeypatch.setattr(Spilled, "CHUNK", 3)  # every array crosses memory and disk
    rng = random.Random(4)
    keys = ["z", "a", "m", "b"]
    rows = [{k: rng.randrange(3) for k in rng.sample(keys, rng.randrange(5))} for _ in range(41)]
    table = CountTable.build([f"r{i}" for i in range(41)], rows)
    assert table.columns == sorted({k for r in rows for k in r})
    dense = np.array([[r.get(k, 0) for k in table.columns] for r in rows])
    assert (table.dense() == dense).all()
    assert (np.concatenate(list(table.blocks(4))) == dense).all()
    assert (table.dense(7, 19) == dense[7:19]).all() and table.dense(40, 99).shape == (1, 4)
    nonzero = [{k: v for k, v in sorted(r.items()) if v} for r in rows]
    assert [table.counts(i) for i in range(41)] == nonzero
    assert list(table.iter_counts(size=5)) == nonzero
    assert table.totals().tolist() == dense.sum(axis=0).tolist()
    assert len(table.data) == int((dense > 0).sum())
    ints = Spilled("q", range(10))
    assert ints.read(2, 8).tolist() == list(range(2, 8)) and ints.read(8).tolist() == [8, 9]

"""`curate evaluate` streamed: what the CLI calls holds only the listed articles, writes the
JSON report an article at a time and reads the old report of --compare a part at a time,
with the numbers of the whole-list code paths."""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest

from curate.compact import Spilled, SpilledIndex, StringList
from curate.errors import CurateError, DatasetError, InputError
from curate.io.jsonl import write_jsonl
from curate.model import Document, Entity, Prediction, Quote
from curate.report.html import render_html
from curate.score.evaluate import LISTED_ARTICLES, Evaluation, evaluate_specs, load_gold
from curate.score.gold import open_gold
from curate.score.report import compare, load_report, open_report, write_json

LABELS = ("PERSON", "ORG", "GPE")


def make_gold(n: int) -> list[Document]:
    rng = random.Random(3)
    docs = []
    for i in range(n):
        text = f"Story {i}. " + " ".join(f"w{j:03d}" for j in range(40))
        base = len(f"Story {i}. ")
        ents = tuple(
            Entity.of(text, base + 5 * j, base + 5 * j + 4, rng.choice(LABELS))
            for j in range(0, 40, 5)
        )
        quotes = (Quote(base + 50, base + 80, text[base + 50 : base + 80], "indirect"),)
        docs.append(Document(f"s{i:03d}", text, ents, quotes))
    return docs


def degrade(gold: list[Document], keep: float, seed: int = 4) -> list[Document]:
    rng = random.Random(seed)
    return [
        d.with_(
            entities=tuple(e for e in d.entities if rng.random() < keep),
            provenance=Prediction("stream-1"),
        )
        for d in gold
    ]


@pytest.fixture
def files(tmp_path):
    gold = make_gold(80)
    write_jsonl(tmp_path / "gold.jsonl", (d.to_dict() for d in gold))
    preds = degrade(gold, 0.6)
    write_jsonl(tmp_path / "preds.jsonl", (d.to_dict() for d in preds))
    return tmp_path, gold, preds


def whole(ev: Evaluation, gold: list[Document], preds: list[Document]) -> Evaluation:
    """The evaluation as the list-holding code made it: every gold document and prediction."""
    results = [dataclasses.replace(r, predictions=list(preds)) for r in ev.results]
    return Evaluation(ev.gold, list(gold), results, ev.settings, ev.warnings, ev.created)


def test_the_cli_evaluation_keeps_only_the_listed_articles_documents(files):
    tmp, gold, preds = files
    ev = evaluate_specs([str(tmp / "preds.jsonl")], gold=tmp / "gold.jsonl", draws=50)
    (res,) = ev.results
    assert ev.articles == len(gold) == len(res.table) and res.error_articles > LISTED_ARTICLES
    # Only the documents of the articles the HTML report shows, not the 80 scored.
    assert len(ev.gold_docs) == LISTED_ARTICLES and len(res.predictions) == LISTED_ARTICLES
    ranked = sorted(res.errors, key=lambda k: (-len(res.errors[k]), k))[:LISTED_ARTICLES]
    assert {d.id for d in ev.gold_docs} == set(ranked) == {p.id for p in res.predictions}
    # The page is the one the whole lists give.
    assert render_html(ev) == render_html(whole(ev, gold, preds))
    assert res.version == "stream-1"


def test_the_streamed_json_report_is_the_whole_one_text_for_text(files):
    tmp, gold, preds = files
    ev = evaluate_specs([str(tmp / "preds.jsonl")], gold=tmp / "gold.jsonl", draws=50)
    text = write_json(ev, tmp / "r.json").read_text(encoding="utf-8")
    held = whole(ev, gold, preds)
    assert text == json.dumps(held.to_dict(), ensure_ascii=False, indent=1) + "\n"
    data = json.loads(text)
    hashes = [a["hash"] for a in data["extractors"][0]["articles"]]
    assert hashes == [d.hash for d in gold]


def test_the_streamed_json_report_on_the_seeds(tmp_path):
    seeds, _, _ = load_gold("seeds")
    preds = degrade(seeds, 0.5)
    write_jsonl(tmp_path / "p.jsonl", (d.to_dict() for d in preds))
    ev = evaluate_specs([str(tmp_path / "p.jsonl"), str(tmp_path / "p.jsonl")], draws=20)
    text = write_json(ev, tmp_path / "r.json").read_text(encoding="utf-8")
    held = whole(ev, seeds, preds).to_dict()
    assert text == json.dumps(held, ensure_ascii=False, indent=1) + "\n"
    assert len(json.loads(text)["extractors"]) == 2


def test_compare_reading_the_old_report_in_parts_gives_the_same_changes(files):
    tmp, gold, preds = files
    old_ev = evaluate_specs([str(tmp / "preds.jsonl")], gold=tmp / "gold.jsonl", draws=50)
    old = write_json(old_ev, tmp / "old.json")
    # The old report in another order, without some articles, one of them changed.
    data = json.loads(old.read_text(encoding="utf-8"))
    arts = data["extractors"][0]["articles"]
    random.Random(5).shuffle(arts)
    del arts[:7]
    arts[0]["hash"] = "0" * 16
    (tmp / "shuffled.json").write_text(json.dumps(data), encoding="utf-8")
    write_jsonl(tmp / "worse.jsonl", (d.to_dict() for d in degrade(gold, 0.3, seed=6)))
    new = evaluate_specs([str(tmp / "worse.jsonl")], gold=tmp / "gold.jsonl", draws=200)
    for path in (old, tmp / "shuffled.json"):
        held = compare(load_report(path), whole(new, gold, []), draws=200)
        parts = compare(open_report(path), new, draws=200)
        assert parts.paired == held.paired
        assert parts.changes == held.changes and parts.regressions
    assert parts.paired == {str(tmp / "worse.jsonl"): 80 - 8}


def test_open_report_names_a_file_that_is_not_a_report(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "curate.evaluation.v1", "extractors": [', encoding="utf-8")
    with pytest.raises(InputError, match="invalid JSON"):
        open_report(bad)
    bad.write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(InputError, match="not a curate evaluation report"):
        open_report(bad)


def test_predictions_out_of_order_and_repeated_score_as_in_order(files):
    tmp, gold, preds = files
    shuffled = list(preds)
    random.Random(7).shuffle(shuffled)
    stale = preds[3].with_(entities=())
    write_jsonl(tmp / "mixed.jsonl", (d.to_dict() for d in [stale, *shuffled]))
    a = evaluate_specs([str(tmp / "preds.jsonl")], gold=tmp / "gold.jsonl", draws=30)
    b = evaluate_specs([str(tmp / "mixed.jsonl")], gold=tmp / "gold.jsonl", draws=30)
    assert a.results[0].metrics == b.results[0].metrics
    assert any("second prediction for 's003'; it is used" in w for w in b.warnings)


def test_the_gold_is_read_again_per_pass_and_checked_once(tmp_path):
    gold = make_gold(5)
    write_jsonl(tmp_path / "g.jsonl", [*(d.to_dict() for d in gold), {"id": 1}])
    g = open_gold(tmp_path / "g.jsonl")
    assert len(g) == 5 and list(g) == gold and list(g) == gold
    assert [a.id for a in g.articles()] == [d.id for d in gold] and len(g.articles()) == 5
    assert len(g.warnings) == 1 and g.warnings[0].endswith("gold record left out")
    assert [f"{h:016x}" for h in g.hashes.read().tolist()] == [d.hash for d in gold]
    write_jsonl(tmp_path / "d.jsonl", (d.to_dict() for d in [*gold, gold[2]]))
    with pytest.raises(DatasetError, match="1 duplicate article ids \\(first: 's002'\\)"):
        open_gold(tmp_path / "d.jsonl")


def test_spilled_index_finds_first_and_last_of_equal_strings():
    ids = StringList(["b", "a", "c", "a", "é", ""])
    index = SpilledIndex(ids)
    assert [index.find(s) for s in ("b", "a", "c", "é", "")] == [0, 3, 2, 4, 5]
    assert index.find("a", first=True) == 1 and index.find("zz") == -1


def test_count_table_take_reads_rows_in_any_order(monkeypatch):
    from curate.score.metrics import CountTable

    monkeypatch.setattr(Spilled, "CHUNK", 4)
    rows = [{"a": i % 3, "b": i} for i in range(40)]
    table = CountTable.build([str(i) for i in range(40)], rows)
    dense = table.dense()
    for pick in ([5, 6, 7], [39, 0, 17], [3, 3, 1]):
        assert (table.take(np.array(pick)) == dense[pick]).all()


def test_score_shares_the_gold_ids_it_is_given_and_checks_them():
    from curate.score.evaluate import score

    gold = make_gold(6)
    ids = StringList(d.id for d in gold)
    res = score(gold, gold, draws=0, gold_ids=ids)
    assert res.table.ids is ids and res.value("entities/strict/micro/f1") == 1.0
    with pytest.raises(CurateError, match="is not the one its ids name"):
        score(gold[::-1], gold[::-1], draws=0, gold_ids=ids)
    with pytest.raises(CurateError, match="5 gold articles for 6 ids"):
        score(gold[:5], gold[:5], draws=0, gold_ids=ids)

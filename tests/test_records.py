"""Records read by evaluate, export and agreement pass the check every command shares."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from curate.cli import app
from curate.gold.inputs import read_gold
from curate.io.jsonl import write_jsonl
from curate.model import Document, Entity
from curate.schema import load_schema
from curate.score.evaluate import load_gold

TEXT = "Anna Smith met Acme in Paris."


def _doc(i: int, label: str = "PERSON") -> Document:
    return Document(f"a{i}", TEXT, (Entity.of(TEXT, 0, 10, label),))


def _lines(path: Path, rows: list) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


def test_evaluate_lists_every_bad_prediction_line(tmp_path: Path) -> None:
    gold = [_doc(i) for i in range(4)]
    write_jsonl(tmp_path / "gold.jsonl", (d.to_dict() for d in gold))
    preds = [d.to_dict() for d in gold]
    preds[1]["entities"][0]["start"] = 0.0
    preds[3]["text"] = None
    _lines(tmp_path / "pred.jsonl", [preds[0], preds[1], "{broken", preds[2], preds[3]])
    r = CliRunner().invoke(
        app,
        ["evaluate", str(tmp_path / "pred.jsonl"), "-g", str(tmp_path / "gold.jsonl")],
        env={"COLUMNS": "300"},
    )
    assert r.exit_code == 1
    pred = tmp_path / "pred.jsonl"
    assert "3 line(s) are not pre-annotation records" in r.output
    for line, message in [
        (2, "'entities[0].start' must be an integer offset, not a number 0.0 (id 'a1')"),
        (3, "invalid JSON"),
        (5, "'text' must be a string, not null (id 'a3')"),
    ]:
        assert f"{pred}:{line}: {message}" in r.output
    assert "Traceback" not in r.output


def test_unknown_label_in_an_evaluation_gold_is_reported_and_left_out(tmp_path: Path) -> None:
    gold = _lines(
        tmp_path / "gold.jsonl",
        [_doc(0).to_dict(), _doc(1, "PLANET").to_dict(), _doc(2).to_dict()],
    )
    docs, _, warnings = load_gold(gold)
    assert [d.id for d in docs] == ["a0", "a2"]
    assert warnings == [
        f"{gold}:2: article 'a1' uses entity label(s) PLANET that the label config lacks; "
        "map them in [entity_labels] of the mapping or add them to the config; "
        "gold record left out"
    ]


def test_export_and_evaluate_give_the_same_answer_to_the_same_bad_record(tmp_path: Path) -> None:
    bad = _doc(1).to_dict()
    bad["entities"][0]["end"] = "10"
    gold = _lines(tmp_path / "gold.jsonl", [_doc(0).to_dict(), bad])
    _, _, warnings = load_gold(gold)
    read = read_gold(gold, load_schema())
    message = f"{gold}:2: 'entities[0].end' must be an integer offset, not a string '10' (id 'a1')"
    assert warnings == [message + "; gold record left out"]
    assert read.problems == [message + "; left out"]
    assert [d.id for d in read.docs] == ["a0"]


def test_evaluate_scores_the_rest_and_exits_1_when_gold_records_are_left_out(
    tmp_path: Path,
) -> None:
    gold = [_doc(i) for i in range(3)]
    bad = gold[1].to_dict()
    bad["text"] = None
    _lines(tmp_path / "gold.jsonl", [gold[0].to_dict(), bad, gold[2].to_dict()])
    write_jsonl(tmp_path / "pred.jsonl", (d.to_dict() for d in gold))
    r = CliRunner().invoke(
        app,
        ["evaluate", str(tmp_path / "pred.jsonl"), "-g", str(tmp_path / "gold.jsonl")],
        env={"COLUMNS": "300"},
    )
    assert r.exit_code == 1, r.output
    assert f"{tmp_path / 'gold.jsonl'}:2: 'text' must be a string, not null" in r.output
    assert "1 gold record(s) left out" in r.output
    assert "Traceback" not in r.output

"""Discontinuous quote content through a real Label Studio, and a quote deleted as a unit.

push (a quote interrupted by its attribution: two QUOTE regions joined by ``continues``;
a second quote with speaker and cue) -> a person, through the API as the UI stores it,
moves the start of one fragment and deletes the second quote's content region, leaving
its speaker and cue behind -> pull -> export -> reload -> DocBin. The gold keeps the two
fragments with the edit, the deleted quote's parts go with it, and the correction report
counts one quote deleted with its parts and nothing of it kept.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from curate.cli import app
from curate.io.jsonl import read_jsonl, write_jsonl
from curate.model import Document, Entity, Prediction, Quote, Span

pytestmark = pytest.mark.studio

TEXT = (
    "“It’s horrifying,” Tapper said, “and I’m sure it will have an impact.”\n\n"
    "The mayor of Kafé 😀 said the port would reopen.\n"
)
MODEL = "curate.test.fragments"


def _predicted() -> Document:
    t = TEXT
    a, b = 0, t.index("”") + 1
    c = t.index("“and")
    d = t.index("impact.”") + len("impact.”")
    who, said = t.index("Tapper"), t.index("said")
    mayor, said2 = t.index("The mayor"), t.index("said the")
    content = t.index("the port")
    return Document(
        "frag",
        t,
        entities=(Entity.of(t, who, who + 6, "PERSON"),),
        quotes=(
            Quote.of_fragments(
                t,
                [(a, b), (c, d)],
                "direct",
                speaker=Span.of(t, who, who + 6),
                cue=Span.of(t, said, said + 4),
                speaker_entity=Span.of(t, who, who + 6),
            ),
            Quote.of_fragments(
                t,
                [(content, t.index(" would"))],
                "indirect",
                speaker=Span.of(t, mayor, mayor + len("The mayor of Kafé")),
                cue=Span.of(t, said2, said2 + 4),
            ),
        ),
        meta={"title": "Fragments"},
        provenance=Prediction(MODEL),
    )


def cli(*args: Any, env: dict[str, str]) -> Result:
    res = CliRunner().invoke(app, [str(a) for a in args], env=env)
    assert res.exit_code == 0, f"curate {' '.join(map(str, args))}:\n{res.output}"
    return res


def _edit_as_a_person(sdk: Any, task_id: int) -> int:
    """Start from the prediction as the UI does, move one fragment, delete one quote."""
    (pred,) = list(sdk.predictions.list(task=task_id))
    result = [json.loads(json.dumps(r)) for r in pred.result]
    for r in result:
        if r["type"] != "relation":
            r["origin"] = "prediction"
    by_id = {r["id"]: r for r in result if r["type"] == "labels"}
    assert by_id["q0"]["value"]["text"] == "“It’s horrifying,”"
    second = by_id["q0f1"]
    assert second["value"]["text"] == "“and I’m sure it will have an impact.”"
    start = TEXT.index("I’m")  # the labeler takes "and" out of the content
    second["value"].update(start=start, text=TEXT[start : second["value"]["end"]])
    second["origin"] = "prediction-changed"
    # Deleting a region in the UI deletes it, its per-region kind and its relations; the
    # SPEAKER and CUE regions it was linked to stay.
    gone = "q1"
    result = [
        r for r in result if r.get("id") != gone and gone not in (r.get("from_id"), r.get("to_id"))
    ]
    assert {r["id"] for r in result if r["type"] == "labels"} >= {"q1s", "q1c"}
    ann = sdk.annotations.create(id=task_id, result=result, parent_prediction=pred.id)
    return int(ann.id)


def test_fragments_and_a_deleted_quote_through_label_studio(
    studio: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import spacy
    from spacy.tokens import DocBin

    from curate.gold import load_documents
    from curate.studio.client import connect

    monkeypatch.chdir(tmp_path)
    env = {
        "LABEL_STUDIO_URL": studio.url,
        "LABEL_STUDIO_API_KEY": studio.api_key,
        "CURATE_STUDIO_DIR": str(tmp_path / "no-embedded-server"),
        "HF_DATASETS_CACHE": str(tmp_path / "hf-cache"),
    }
    predicted = _predicted()
    write_jsonl(tmp_path / "pre.jsonl", [predicted.to_dict()])
    title = f"fragments {uuid.uuid4().hex[:8]}"
    sdk = connect(studio.url, studio.api_key).sdk
    cli("push", "pre.jsonl", "--project", title, env=env)
    project_id = int(next(p.id for p in sdk.projects.list() if p.title == title))
    try:
        (task,) = list(sdk.tasks.list(project=project_id, fields="all"))
        _edit_as_a_person(sdk, int(task.id))
        pulled = cli("pull", "--project", title, "--out", "pulls", env=env)
    finally:
        sdk.projects.delete(id=project_id)

    (pull_dir,) = [p for p in (tmp_path / "pulls").glob("*/*") if p.is_dir()]
    (gold,) = [Document.from_dict(d) for _, d in read_jsonl(pull_dir / "gold.jsonl")]
    (quote,) = gold.quotes  # the deleted quote is gone, its speaker and cue with it
    assert [f.text for f in quote.fragments] == [
        "“It’s horrifying,”",
        "I’m sure it will have an impact.”",
    ]
    assert quote.text.startswith("“It’s horrifying,” Tapper said,")  # the covering span
    assert (quote.speaker.text, quote.cue.text, quote.kind) == ("Tapper", "said", "direct")
    raw = json.loads((pull_dir / "gold.jsonl").read_text(encoding="utf-8"))
    assert [f["text"] for f in raw["quotes"][0]["fragments"]] == [f.text for f in quote.fragments]

    assert "1 deleted (1 with their speaker or cue)" in pulled.output
    assert "dropped_with_quote 2" in pulled.output
    report = json.loads((pull_dir / "report.json").read_text(encoding="utf-8"))
    assert report["problems"]["counts"] == {"dropped_with_quote": 2}
    rows = {r["label"]: r for r in report["corrections"]["rows"]}
    assert rows["QUOTE"] | {"label": "", "model_version": ""} == {
        "label": "",
        "model_version": "",
        "kept": 0,
        "changed": 1,
        "deleted": 1,
        "added": 0,
    }
    assert (rows["SPEAKER"]["kept"], rows["SPEAKER"]["deleted"]) == (1, 1)
    assert (rows["CUE"]["kept"], rows["CUE"]["deleted"]) == (1, 1)
    assert report["corrections"]["quotes"][MODEL] == {
        "changed": 1,
        "deleted": 1,
        "deleted_with_parts": 1,
    }

    cli("export", pull_dir / "gold.jsonl", "--name", "frag", "--root", "gold", "--all-test",
        "--formats", "hf,spacy", "--tokenizer", "blank:en", env=env)  # fmt: skip
    version = tmp_path / "gold" / "frag" / "1.0.0"
    (reloaded,) = load_documents(version)
    assert reloaded.quotes == gold.quotes and reloaded.quotes[0].discontinuous

    vocab = spacy.blank("en").vocab
    (sdoc,) = list(DocBin().from_disk(version / "exports/spacy/test.spacy").get_docs(vocab))
    spans = list(sdoc.spans["quotes"])
    assert [s.text for s in spans] == [f.text for f in quote.fragments]
    assert {s.id_ for s in spans} == {"q0"} == {s.id_ for s in sdoc.spans["speakers"]}

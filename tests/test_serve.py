"""``curate serve`` without Label Studio: routes, suggestions, version gating, ordering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from curate.errors import CurateError
from curate.model import Article, Document, Quote, Span
from curate.schema import load_schema
from curate.serve import training
from curate.serve.app import create_app
from curate.serve.backend import Backend
from curate.serve.tagger import decode
from curate.studio.convert import document_to_task

TEXT = "Officials met on Monday.\n“The bridge will open in May,” said Anne Hidalgo."


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    return Backend(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def client(backend: Backend) -> TestClient:
    return TestClient(create_app(backend))


def _task(i: int, text: str) -> dict[str, Any]:
    return {"id": i, **document_to_task(Document(f"a{i}", text), load_schema())}


def test_health_and_setup_answer_the_model_version(client: TestClient) -> None:
    assert client.get("/health").json() == {
        "status": "UP",
        "model_class": "curate",
        "model_version": "curate",
    }
    r = client.post("/setup", json={"project": "3.1700000000", "access_token": "s3cret-token"})
    assert r.json() == {"model_version": "curate"}


def test_predict_answers_one_prediction_per_task_in_order(client: TestClient) -> None:
    tasks = [_task(1, TEXT), {"id": 2, "data": {}}, _task(3, "Nothing quoted here.")]
    results = client.post("/predict", json={"tasks": tasks}).json()["results"]
    assert len(results) == 3
    quotes = [r for r in results[0]["result"] if r.get("value", {}).get("labels") == ["QUOTE"]]
    assert [q["value"]["text"] for q in quotes] == ["“The bridge will open in May,”"]
    assert results[1]["result"] == []  # a task without text keeps its place
    assert all(r["model_version"] == "curate" for r in results)


def test_a_bad_body_is_one_clear_400(client: TestClient) -> None:
    r = client.post("/predict", json={"tasks": "not a list"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("bad request body: tasks:")


def test_webhook_without_trainer_ignores_events(client: TestClient) -> None:
    r = client.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 1}})
    assert r.json() == {"status": "ignored", "action": "ANNOTATION_CREATED"}
    assert client.post("/train", json={}).status_code == 400


def test_marking_a_cue_suggests_its_quote_and_speaker(client: TestClient) -> None:
    cue = TEXT.index("said")
    region = {
        "id": "mine",
        "from_name": "quote",
        "to_name": "text",
        "type": "labels",
        "value": {"start": cue, "end": cue + 4, "text": "said", "labels": ["CUE"]},
    }
    body = {"tasks": [_task(1, TEXT)], "params": {"context": {"result": [region]}}}
    (answer,) = client.post("/predict", json=body).json()["results"]
    labels = {
        (r["value"]["labels"][0], r["value"]["text"], r["id"])
        for r in answer["result"]
        if r["type"] == "labels"
    }
    assert labels == {
        ("QUOTE", "“The bridge will open in May,”", "q0"),
        ("SPEAKER", "Anne Hidalgo", "q0s"),
        ("CUE", "said", "mine"),  # the labeler's own region keeps its id
    }
    relations = {(r["from_id"], r["to_id"]) for r in answer["result"] if r["type"] == "relation"}
    assert relations == {("q0", "q0s"), ("q0", "mine")}  # no entity regions suggested


def test_a_region_that_matches_no_quote_gets_no_suggestion(client: TestClient) -> None:
    region = {
        "from_name": "quote",
        "value": {"start": 0, "end": 9, "text": "Officials", "labels": ["SPEAKER"]},
    }
    body = {"tasks": [_task(1, TEXT)], "params": {"context": {"result": [region]}}}
    (answer,) = client.post("/predict", json=body).json()["results"]
    assert answer["result"] == []


# --- gating -----------------------------------------------------------------------------


def _gold(n: int) -> list[Document]:
    out = []
    for i in range(n):
        text = f"“We will win number {i},” said Anne Hidalgo."
        q = Quote(0, text.index(",”") + 2, text[: text.index(",”") + 2], "direct")
        q = Quote(
            q.start,
            q.end,
            q.text,
            "direct",
            Span.of(text, text.index("Anne"), len(text) - 1),
            Span.of(text, text.index("said"), text.index("said") + 4),
        )
        out.append(Document(f"g{i}", text, quotes=(q,)))
    return out


class _Model:
    def __init__(self, perfect: bool, gold: list[Document]) -> None:
        self.version = "fake"
        self.by_id = {d.id: d for d in gold}
        self.perfect = perfect

    def predict(self, articles):
        for a in articles:
            doc = self.by_id[a.id]
            yield doc if self.perfect else doc.with_(quotes=())


class _Trainer:
    """A trainer whose model is perfect or empty (or that fails): the gate is what is tested."""

    def __init__(self, outcome: str, gold: list[Document]) -> None:
        self.outcome, self.gold, self.seen = outcome, gold, 0

    def __call__(self, train_docs, out_dir: Path) -> None:
        self.seen = len(train_docs)
        if self.outcome == "fail":
            raise CurateError("the training library crashed")
        out_dir.mkdir(parents=True)

    def load(self, out_dir: Path) -> _Model:
        return _Model(self.outcome == "good", self.gold)


def _retrainer(tmp_path: Path, outcome: str, serving_f1_perfect: bool) -> training.Retrainer:
    gold = _gold(12)
    promoted: list[str] = []
    r = training.Retrainer(
        store=training.VersionStore.open(tmp_path),
        trainer=_Trainer(outcome, gold),
        base_gold=gold,
        project_docs=lambda: _gold(2)[:1],
        predict_serving=lambda arts: list(_Model(serving_f1_perfect, gold).predict(arts)),
        on_promote=lambda v, m: promoted.append(v.name),
    )
    r.promoted = promoted  # type: ignore[attr-defined]
    return r


def test_a_better_candidate_serves_and_the_old_version_retires(tmp_path: Path) -> None:
    r = _retrainer(tmp_path, "good", serving_f1_perfect=False)
    v = r.run_once("test")
    assert (v.status, v.score, v.baseline) == ("serving", 1.0, 0.0)
    assert r.promoted == ["v1"]  # type: ignore[attr-defined]
    listed = json.loads((tmp_path / training.VERSIONS_FILE).read_text())
    assert [(x["name"], x["status"]) for x in listed] == [("rules", "retired"), ("v1", "serving")]


def test_a_worse_candidate_is_listed_but_never_serves(tmp_path: Path) -> None:
    r = _retrainer(tmp_path, "bad", serving_f1_perfect=True)
    v = r.run_once("test")
    assert (v.status, v.score, v.baseline) == ("rejected", 0.0, 1.0)
    assert r.promoted == []  # type: ignore[attr-defined]
    assert training.VersionStore.open(tmp_path).serving().name == "rules"


def test_a_failed_run_leaves_the_serving_version(tmp_path: Path) -> None:
    r = _retrainer(tmp_path, "fail", serving_f1_perfect=True)
    v = r.run_once("test")
    assert v.status == "failed" and "crashed" in v.detail
    assert training.VersionStore.open(tmp_path).serving().name == "rules"


def test_training_runs_in_the_background_and_requests_coalesce(tmp_path: Path) -> None:
    r = _retrainer(tmp_path, "good", serving_f1_perfect=False)
    first = r.request("ANNOTATION_CREATED")
    second = r.request("ANNOTATION_CREATED")
    assert first == "started" and second in ("queued", "started")
    r.join(60)
    assert not r.running
    names = [v.name for v in training.VersionStore.open(tmp_path).versions]
    assert names[0] == "rules" and 2 <= len(names) <= 3


def test_held_out_part_is_fixed_by_article_id_and_never_trained_on(tmp_path: Path) -> None:
    gold = _gold(40)
    train, test = training.held_out(gold)
    assert training.held_out(list(reversed(gold)))[1] == sorted(test, key=lambda d: -int(d.id[1:]))
    assert {d.id for d in train}.isdisjoint({d.id for d in test}) and 0 < len(test) < 20
    r = _retrainer(tmp_path, "good", serving_f1_perfect=False)
    r.run_once("test")
    assert r.trainer.seen == len(training.held_out(_gold(12))[0]) + 1  # type: ignore[attr-defined]


def test_a_run_cut_off_by_a_stop_is_listed_as_failed(tmp_path: Path) -> None:
    store = training.VersionStore.open(tmp_path)
    store.put(training.Version("v1", "training", "2026-01-01T00:00:00Z"))
    again = training.VersionStore.open(tmp_path)
    assert again.versions[-1].status == "failed" and "interrupted" in again.versions[-1].detail
    assert again.serving().name == "rules"


def test_quote_f1_uses_the_overlap_rule() -> None:
    gold = _gold(2)
    half = [gold[0], gold[1].with_(quotes=())]
    assert training.quote_f1(gold, gold) == 1.0
    assert training.quote_f1(gold, half) == pytest.approx(2 / 3)


# --- the learned model's decoding -------------------------------------------------------


def test_bio_tags_decode_to_a_quote_with_its_nearest_cue_and_speaker() -> None:
    import spacy

    text = "“We will win,” said Anne Hidalgo. Paris agreed."
    sdoc = spacy.blank("en").make_doc(text)
    words = [t.text for t in sdoc]
    tags = ["O"] * len(words)
    tags[0:6] = ["B-CONTENT"] + ["I-CONTENT"] * 5  # “ We will win , ”
    tags[words.index("said")] = "B-CUE"
    tags[words.index("Anne")], tags[words.index("Hidalgo")] = "B-SOURCE", "I-SOURCE"
    (q,) = decode(text, sdoc, tags)
    assert (q.text, q.kind) == ("“We will win,”", "direct")
    assert q.cue is not None and q.cue.text == "said"
    assert q.speaker is not None and q.speaker.text == "Anne Hidalgo"


def test_order_names_are_checked(tmp_path: Path) -> None:
    from curate.serve.order import scored, serving_model

    with pytest.raises(CurateError, match="unknown order"):
        list(scored([Document.from_article(Article("a", "x"))], "longest", tmp_path))
    with pytest.raises(CurateError, match="no trained model serves"):
        serving_model(tmp_path)


def test_uncertainty_and_disagreement_scores_from_a_trained_tagger(tmp_path: Path) -> None:
    from curate.score.evaluate import load_gold
    from curate.serve import tagger
    from curate.serve.order import scored

    gold = load_gold("seeds")[0]
    model = tagger.train(gold, tmp_path / "m", tagger.TrainSettings(30, 0, 0, 15))
    assert json.loads((model / tagger.META_FILE).read_text())["train_articles"] == len(gold)
    with pytest.raises(CurateError, match="never overwritten"):
        tagger.train(gold, model)
    docs = gold + [Document("empty", "No one said anything quotable today.")]
    for order in ("uncertainty", "disagreement"):
        out = list(scored(docs, order, model))
        assert [d.id for d in out] == [d.id for d in docs]
        scores = [d.provenance.score for d in out]
        assert all(0.0 <= s <= 1.0 for s in scores) and out[0].provenance.order == order
        assert out[0].quotes == docs[0].quotes  # the rules' prediction is pushed unchanged
    # A long article with many quotes holds more the model is unsure about than one line.
    unsure = [d.provenance.score for d in scored(docs, "uncertainty", model)]
    assert unsure[-1] > min(unsure[:-1])

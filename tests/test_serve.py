"""``curate serve`` without Label Studio: routes, suggestions, version gating, ordering."""

from __future__ import annotations

import json
from dataclasses import replace
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
from curate.studio.convert import document_to_task

TEXT = "Officials met on Monday.\n“The bridge will open in May,” said Anne Hidalgo."


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    return Backend(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def client(backend: Backend) -> TestClient:
    return TestClient(create_app(backend))


@pytest.fixture(scope="module")
def pipeline_version() -> str:
    """What `curate preannotate` (and so `curate push`) records for the default extractors."""
    from curate.extract.preannotate import load_pipeline, pipeline

    return load_pipeline(None, pipeline())[1]


def _task(i: int, text: str) -> dict[str, Any]:
    return {"id": i, **document_to_task(Document(f"a{i}", text), load_schema())}


def test_health_and_setup_answer_the_model_version(
    client: TestClient, pipeline_version: str
) -> None:
    assert pipeline_version.endswith("+curate.entities.v1+curate.quotes.v6")
    assert client.get("/health").json() == {
        "status": "UP",
        "model_class": "curate",
        "model_version": pipeline_version,
    }
    r = client.post("/setup", json={"project": "3.1700000000", "access_token": "s3cret-token"})
    assert r.json() == {"model_version": pipeline_version}


def test_predict_answers_one_prediction_per_task_in_order(
    client: TestClient, pipeline_version: str
) -> None:
    tasks = [_task(1, TEXT), {"id": 2, "data": {}}, _task(3, "Nothing quoted here.")]
    results = client.post("/predict", json={"tasks": tasks}).json()["results"]
    assert len(results) == 3
    quotes = [r for r in results[0]["result"] if r.get("value", {}).get("labels") == ["QUOTE"]]
    assert [q["value"]["text"] for q in quotes] == ["“The bridge will open in May,”"]
    assert results[1]["result"] == []  # a task without text keeps its place
    assert [r["score"] for r in results] == [1.0, 0.0, 1.0]  # and sorts last, not first
    assert all(r["model_version"] == pipeline_version for r in results)


def test_predict_with_no_text_in_any_task_is_one_clear_400(client: TestClient) -> None:
    """A request whose tasks carry no article text (data under another field) is a
    mistake to fix, not an empty prediction to store."""
    r = client.post("/predict", json={"tasks": [{"id": 7, "data": {"body": "Anna said."}}]})
    assert r.status_code == 400
    assert r.json()["error"].startswith("task 7: no text in data.text")


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
    # The project's article g0 replaces the base gold's g0 when both are trained on.
    base_train = {d.id for d in training.held_out(_gold(12))[0]}
    assert r.trainer.seen == len(base_train | {"g0"})  # type: ignore[attr-defined]


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


# --- curate train behind curate serve -----------------------------------------------------

TINY = training.CurateTrainer(max_steps=4, seed=0, eval_frequency=2)


def _unquotable(n: int) -> list[Document]:
    """Gold whose quotes the rules never find (no quote marks, no speech verb): the rules
    score 0 on it, so a trained candidate always scores at least as well and serves."""
    out = []
    for i in range(n):
        text = f"Prices rose in March number {i}. The weather was fine for everyone."
        s = text.index("The weather")
        out.append(
            Document(f"u{i}", text, quotes=(Quote(s, len(text) - 1, text[s:-1], "indirect"),))
        )
    return out


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Backend, training.Version]:
    """A backend whose first retraining (a real `curate train` run, 4 steps) was promoted."""
    state = tmp_path_factory.mktemp("retrain")
    project = [_unquotable(5)[0].with_(id="project-1")]
    backend = Backend(state, trainer=TINY, base_gold=_unquotable(4), project_docs=lambda: project)
    assert backend.retrainer is not None
    return backend, backend.retrainer.run_once("ANNOTATION_CREATED")


def test_a_retraining_run_trains_with_curate_train_and_serves_its_model(
    retrained: tuple[Backend, training.Version], pipeline_version: str
) -> None:
    from curate.train.models import read_model

    backend, version = retrained
    assert (version.name, version.status, version.baseline) == ("v1", "serving", 0.0)
    assert version.train_articles >= 2
    model = read_model(version.path or "")
    assert model.ref == "curate-serve@1.0.0" and model.meta["settings"]["max_steps"] == 4
    assert model.meta["gold"]["name"] == training.GOLD_NAME
    # Nothing but the version folder is left beside it (the temporary gold is gone).
    assert [p.name for p in Path(version.path or "").parent.iterdir()] == ["v1"]
    # Predictions now name the pipeline over the trained model, as preannotate would.
    expected = pipeline_version.replace(
        "curate.quotes.v6", "curate.quotes.hybrid.v3:curate-serve@1.0.0"
    )
    assert backend.model_version == expected
    (pred,) = backend.predict([_task(1, TEXT)])
    assert pred["model_version"] == expected and pred["result"]


def test_a_served_model_runs_the_pipeline_once_and_answers_the_regions_as_before(
    retrained: tuple[Backend, training.Version], monkeypatch: pytest.MonkeyPatch
) -> None:
    import curate.extract.preannotate as pre
    from curate.extract.resolve import resolve
    from curate.studio.convert import document_to_results

    backend, version = retrained
    article = backend.article(_task(1, TEXT))
    # Before: the rules' pipeline for the entities, then the trained pipeline for the quotes.
    base = next(resolve("curate").run([article]))
    learned = next(training.TrainedPipeline(version.path or "").predict([article]))
    before = base.with_(
        quotes=learned.quotes,
        provenance=replace(base.provenance, model_version=backend.model_version),
    )
    assert before.entities and before.quotes
    runs: list[int] = []
    real = pre.load_pipeline  # once for each run of the spaCy pipeline

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pre, "load_pipeline", counted)
    (pred,) = backend.predict([_task(1, TEXT)])
    assert len(runs) == 1
    assert pred["result"] == document_to_results(before, load_schema())
    assert pred["model_version"] == backend.model_version


def test_a_restarted_backend_serves_the_promoted_model_and_survives_a_failed_run(
    retrained: tuple[Backend, training.Version],
) -> None:
    backend, version = retrained
    again = Backend(
        backend.state_dir,
        trainer=TINY,
        base_gold=[d.with_(quotes=()) for d in _unquotable(4)],  # curate train refuses it
        project_docs=lambda: [],
    )
    try:
        assert again.store.serving().name == version.name
        assert again.model_version == backend.model_version
        assert again.retrainer is not None
        v = again.retrainer.run_once("test")
        assert v.status == "failed" and "no quotes" in v.detail
        assert not Path(v.path or "").exists()
        assert again.store.serving().name == "v1"
        assert again.model_version == backend.model_version
    finally:
        again.close()


def test_uncertainty_and_disagreement_scores_from_the_served_model(
    retrained: tuple[Backend, training.Version],
) -> None:
    from curate.score.evaluate import load_gold
    from curate.serve.order import scored, serving_model

    backend, version = retrained
    model = serving_model(backend.state_dir)
    assert str(model) == version.path
    gold = load_gold("seeds")[0]
    docs = gold + [Document("empty", "No one said anything quotable today.")]
    for order in ("uncertainty", "disagreement"):
        out = list(scored(docs, order, model))
        assert [d.id for d in out] == [d.id for d in docs]
        scores = [d.provenance.score for d in out]
        assert all(0.0 <= s <= 1.0 for s in scores) and out[0].provenance.order == order
        assert out[0].quotes == docs[0].quotes  # the rules' prediction is pushed unchanged
        # A plain article's empty prediction is named for what it carries, not "unknown".
        assert out[-1].provenance.model_version == f"curate.order.{order}"
        assert out[0].provenance.model_version != f"curate.order.{order}"


def test_long_articles_hold_more_uncertainty_than_one_line() -> None:
    from curate.score.evaluate import load_gold
    from curate.serve.order import scored

    gold = load_gold("seeds")[0]
    docs = gold + [Document("short", "Officials met on Monday.")]
    # The shipped PolNeAR model: a long article with many attributions holds more the
    # model is unsure about than one plain line.
    unsure = [d.provenance.score for d in scored(docs, "uncertainty", "polnear-quotes")]
    assert unsure[-1] > max(unsure[:-1])
    with pytest.raises(CurateError, match="no trained model"):
        list(scored(docs, "uncertainty", "no-such-model"))


def test_order_names_are_checked(tmp_path: Path) -> None:
    from curate.extract.learned import DEFAULT_MODEL
    from curate.serve.order import scored, serving_model

    with pytest.raises(CurateError, match="unknown order"):
        list(scored([Document.from_article(Article("a", "x"))], "longest", tmp_path))
    # Nothing trained serves yet: the quote model shipped with curate orders the tasks.
    assert serving_model(tmp_path) == DEFAULT_MODEL


def test_a_taken_port_is_one_line_before_the_model_loads() -> None:
    import socket

    from curate.serve.run import listen

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(CurateError, match=f"port {port} on 127.0.0.1 is already in use"):
            listen("127.0.0.1", port)
    free = listen("127.0.0.1", 0)
    try:
        assert free.getsockname()[1] > 0
    finally:
        free.close()


def test_connections_to_the_served_socket_send_without_delay() -> None:
    """Each response goes out at once (TCP_NODELAY), not held by Nagle's algorithm until
    the client's delayed ACK: asyncio sets it only on a socket that says it is TCP."""
    import asyncio
    import socket

    from curate.serve.run import listen

    async def accepted_nodelay() -> int:
        found: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                found.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        sock = listen("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            value = await asyncio.wait_for(found, 10)
            writer.close()
        return value

    assert asyncio.run(accepted_nodelay()) != 0


def test_ctrl_c_stops_serve_with_its_own_line(monkeypatch) -> None:
    """Ctrl-C is how a server is stopped: `curate serve` says so (not the batch commands'
    'nothing half-written' line) and exits 130 as a shell reports SIGINT."""
    from typer.testing import CliRunner

    from curate.cli import app

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("curate.serve.run.serve", interrupted)
    result = CliRunner().invoke(app, ["serve", "--port", "9"])
    assert result.exit_code == 130, result.output
    assert "curate serve stopped" in result.output and "half-written" not in result.output


def test_serve_status_is_a_table_and_json_on_request(tmp_path) -> None:
    """`curate serve --status` lists versions for a person; `--json` for a script."""
    from typer.testing import CliRunner

    from curate.cli import app

    state = tmp_path / "state"
    training.VersionStore.open(state).put(
        training.Version("v1", "rejected", "2026-11-30T00:00:00Z", score=0.5, baseline=0.6)
    )
    shown = CliRunner().invoke(app, ["serve", "--status", "--state-dir", str(state)])
    assert shown.exit_code == 0, shown.output
    said = " ".join(shown.output.split())
    assert "serving: rules" in said and "rejected" in said
    assert "0.500" in said and "0.600" in said
    listed = CliRunner().invoke(app, ["serve", "--status", "--json", "--state-dir", str(state)])
    assert [v["status"] for v in json.loads(listed.output)["versions"]] == ["serving", "rejected"]
    # a state folder curate serve never made: said so, nothing made up or created
    missing = tmp_path / "never"
    shown = CliRunner().invoke(app, ["serve", "--status", "--state-dir", str(missing)])
    assert shown.exit_code == 0, shown.output
    assert "has not run with this --state-dir" in " ".join(shown.output.split())
    assert len(shown.output.strip().splitlines()) == 1, shown.output  # one line in a pipe too
    listed = CliRunner().invoke(app, ["serve", "--status", "--json", "--state-dir", str(missing)])
    assert json.loads(listed.output) == {"serving": "rules", "versions": []}
    assert not missing.exists()


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("garbage{", "invalid JSON"),
        ('{"serving": "v1"}', "should be a valid array"),
        ('[{"name": "v1"}]', "entry 1, status: field required"),
        ('[{"name": "v1", "status": "serving", "created_at": "x", "score": "high"}]', "score"),
    ],
)
def test_a_broken_version_list_is_one_line_naming_the_entry(tmp_path, content, said) -> None:
    """A hand-edited or cut versions.json: the file, the entry and field, what to do; no
    Python type names."""
    (tmp_path / training.VERSIONS_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(CurateError) as e:
        training.VersionStore.open(tmp_path)
    message = str(e.value)
    assert str(tmp_path / training.VERSIONS_FILE) in message and said in message
    assert "curate.serve" not in message and "move the folder away" in message

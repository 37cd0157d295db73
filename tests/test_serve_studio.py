"""``curate serve`` as the ML backend of a real Label Studio (no mocks on either side).

The backend runs as its own process (``curate serve``) on a free port; Label Studio
reaches it on 127.0.0.1, which the embedded server allows (see curate.studio.server).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from curate.model import Document
from curate.schema import load_schema
from curate.score.evaluate import load_gold
from curate.serve.connect import connect_backend
from curate.studio.convert import document_to_results, document_to_task
from curate.studio.server import find_free_port

pytestmark = pytest.mark.studio
CURATE = str(Path(sys.executable).with_name("curate"))


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory, studio: Any) -> Iterator[dict[str, Any]]:
    """A running ``curate serve`` that trains on the seed gold in a few steps."""
    state = tmp_path_factory.mktemp("serve")
    port = find_free_port()
    log = (state / "serve.log").open("wb")
    env = {
        **os.environ,
        # Training runs pull the project through the session's Label Studio.
        "LABEL_STUDIO_URL": studio.url,
        "LABEL_STUDIO_API_KEY": studio.api_key,
    }
    cmd = [CURATE, "serve", "--port", str(port)]
    cmd += ["--state-dir", str(state), "--base-gold", "seeds", "--train-steps", "20"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=Path.cwd())
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _up(url), 180, proc)
        yield {"url": url, "proc": proc, "state": state, "log": state / "serve.log"}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        log.close()
    # Graceful shutdown: the app's shutdown ran; uvicorn re-raises SIGTERM once done.
    text = (state / "serve.log").read_text()
    assert code in (0, -signal.SIGTERM), text[-2000:]
    assert "Application shutdown complete" in text and '"event": "stop"' in text


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait(ok: Any, timeout: float, proc: subprocess.Popen | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"curate serve exited with {proc.returncode}")
        found = ok()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("timed out")


def _import(conn: Any, pid: int, task: dict[str, Any]) -> int:
    r = conn.request("POST", f"/api/projects/{pid}/import", json=[task]).json()
    ids = r.get("task_ids") or []
    if ids:
        return int(ids[0])
    tasks = conn.get_json("/api/tasks", params={"project": pid})
    return int(tasks["tasks"][-1]["id"])


def test_label_studio_gets_predictions_from_curate_serve(backend, studio_conn, studio_project):
    schema = load_schema()
    project = studio_project()
    done = connect_backend(studio_conn, project["id"], backend["url"])
    assert done.state == "CO" and done.webhook
    text = "“The bridge will open in May,” said Mayor Anne Hidalgo in Paris on Tuesday."
    task = document_to_task(Document(id="a1", text=text), schema)
    tid = _import(studio_conn, project["id"], task)
    # "Retrieve predictions" of the Data Manager, for every task of the project.
    studio_conn.request(
        "POST",
        "/api/dm/actions",
        params={"id": "retrieve_tasks_predictions", "project": project["id"]},
        json={"selectedItems": {"all": True, "excluded": []}},
    )
    preds = _wait(lambda: studio_conn.get_json("/api/predictions", params={"task": tid}), 60)
    result = preds[-1]["result"]
    quote = [r for r in result if r.get("value", {}).get("labels") == ["QUOTE"]]
    speaker = [r for r in result if r.get("value", {}).get("labels") == ["SPEAKER"]]
    assert [q["value"]["text"] for q in quote] == ["“The bridge will open in May,”"]
    assert speaker and "Hidalgo" in speaker[0]["value"]["text"]
    assert preds[-1]["model_version"] == "curate"
    # A second connect updates the same backend instead of adding one.
    again = connect_backend(studio_conn, project["id"], backend["url"])
    assert not again.created and again.backend_id == done.backend_id


def test_submitted_annotation_starts_a_training_run(backend, studio_conn, studio_project):
    schema = load_schema()
    project = studio_project()
    connect_backend(studio_conn, project["id"], backend["url"])
    before = requests.get(f"{backend['url']}/status", timeout=10).json()["versions"]
    # A new article id: the base gold's held-out part must not learn from it.
    gold = load_gold("seeds")[0][0].with_(id="project-article-1")
    tid = _import(studio_conn, project["id"], document_to_task(gold, schema))
    # A person submits an annotation; Label Studio's webhook tells the backend.
    studio_conn.request(
        "POST",
        f"/api/tasks/{tid}/annotations",
        json={"result": document_to_results(gold, schema), "lead_time": 3.0},
    )

    def new_version() -> dict[str, Any] | None:
        st = requests.get(f"{backend['url']}/status", timeout=10).json()
        done = [v for v in st["versions"][len(before) :] if v["status"] != "training"]
        return done[0] if done and not st["training"] else None

    version = _wait(new_version, 300)
    log = backend["log"].read_text()
    assert version["status"] in ("serving", "rejected"), log[-2000:]
    assert version["trigger"] == "ANNOTATION_CREATED"
    assert version["score"] is not None and version["baseline"] is not None
    # The project's annotation was pulled and used beside the base gold.
    assert version["train_articles"] >= 2
    # Versions are listed by the CLI too, from the state folder.
    out = subprocess.run(
        [CURATE, "serve", "--status", "--state-dir", str(backend["state"])],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = {v["name"]: v["status"] for v in json.loads(out.stdout)["versions"]}
    assert listed[version["name"]] == version["status"]
    # Nothing secret reaches the log: Label Studio's setup token is not there.
    assert studio_conn.api_key not in log

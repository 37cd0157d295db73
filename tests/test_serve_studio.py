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
from curate.serve.connect import connect_backend, disconnect_backend
from curate.studio.convert import document_to_results, document_to_task, results_to_document
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
    # The version `curate push` records for the same extractors, not a bare "curate".
    version = preds[-1]["model_version"]
    assert version.endswith("+curate.entities.v1+curate.quotes.v6")
    assert version == requests.get(f"{backend['url']}/health", timeout=10).json()["model_version"]
    # A second connect updates the same backend instead of adding one.
    again = connect_backend(studio_conn, project["id"], backend["url"])
    assert not again.created and again.backend_id == done.backend_id
    # Disconnect removes the backend and its webhook, as Label Studio stores them.
    gone = disconnect_backend(studio_conn, project["id"], backend["url"] + "/")
    assert gone.backends == (done.backend_id,) and len(gone.webhooks) == 1
    assert not studio_conn.get_json("/api/ml", params={"project": project["id"]})
    hooks = studio_conn.get_json("/api/webhooks", params={"project": project["id"]})
    assert not [h for h in hooks if h["url"].startswith(backend["url"])]
    assert disconnect_backend(studio_conn, project["id"], backend["url"]).backends == ()


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
    # A `curate train` model folder; once it serves, predictions are labelled with it.
    meta = json.loads((Path(version["path"]) / "curate-model.json").read_text())
    assert meta["name"] == "curate-serve" and meta["settings"]["max_steps"] == 20
    health = requests.get(f"{backend['url']}/health", timeout=10).json()
    trained = f"curate.quotes.hybrid.v3:curate-serve@{version['name'][1:]}.0.0"
    assert health["model_version"].endswith(trained) == (version["status"] == "serving")
    # Versions are listed by the CLI too, from the state folder.
    out = subprocess.run(
        [CURATE, "serve", "--status", "--json", "--state-dir", str(backend["state"])],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = {v["name"]: v["status"] for v in json.loads(out.stdout)["versions"]}
    assert listed[version["name"]] == version["status"]
    # Nothing secret reaches the log: Label Studio's setup token is not there.
    assert studio_conn.api_key not in log


CHROMIUM = Path(os.environ.get("CURATE_CHROMIUM", "/usr/bin/chromium"))
UI_TIMEOUT_MS = 90_000
# The on-screen box of the first occurrence of `word` in the article text.
_WORD_BOX_JS = """(root, word) => {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const i = n.data.indexOf(word);
    if (i < 0) continue;
    const range = document.createRange();
    range.setStart(n, i);
    range.setEnd(n, i + word.length);
    const b = range.getBoundingClientRect();
    return {x: b.x, y: b.y, width: b.width, height: b.height};
  }
  return null;
}"""


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CURATE_REQUIRE_BROWSER") != "1",
    reason=f"{CHROMIUM} missing: apt-get install -y chromium",
)
def test_marking_a_cue_in_the_browser_suggests_its_quote_and_speaker(
    backend, studio, studio_conn, studio_project
):
    from playwright.sync_api import sync_playwright

    schema = load_schema()
    project = studio_project(title="interactive suggestions")
    # Interactive suggestions only: no full prediction pre-fills the task when it opens.
    studio_conn.request(
        "PATCH", f"/api/projects/{project['id']}", json={"show_collab_predictions": False}
    )
    connect_backend(studio_conn, project["id"], backend["url"], interactive=True)
    text = "Officials met on Monday.\n“The bridge will open in May,” said Anne Hidalgo."
    tid = _import(studio_conn, project["id"], document_to_task(Document("i1", text), schema))
    cue = text.index("said")
    content = (text.index("“"), text.index("”") + 1)
    speaker = (text.index("Anne"), len(text) - 1)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            # Suggestions join the annotation at once instead of waiting for a click.
            page.add_init_script("localStorage.setItem('autoAcceptSuggestions', 'true')")
            page.goto(f"{studio.url}/user/login/")
            page.fill("#email", studio.username)
            page.fill("#password", studio.password)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/user/login" not in url)
            page.goto(f"{studio.url}/projects/{project['id']}/data?task={tid}")
            article = page.locator(".curate-article .lsf-htx-richtext")
            article.wait_for()
            # The toggle is there because the project has an interactive backend.
            toggle = page.get_by_test_id("bottombar-auto-annotation-toggle")
            toggle.check()
            page.locator(".lsf-label", has_text="CUE").first.click()
            page.locator(".lsf-label_selected", has_text="CUE").wait_for()
            box = article.evaluate(_WORD_BOX_JS, "said")
            y = box["y"] + box["height"] / 2
            with page.expect_response(lambda r: "interactive-annotating" in r.url) as asked:
                page.mouse.move(box["x"] + 1, y)
                page.mouse.down()
                page.mouse.move(box["x"] + box["width"] - 1, y, steps=8)
                page.mouse.up()
            assert asked.value.status == 200, asked.value.text()
            suggested = asked.value.json()["data"]["result"]
            assert {r["value"]["labels"][0] for r in suggested if r["type"] == "labels"} == {
                "QUOTE",
                "SPEAKER",
                "CUE",
            }
            with page.expect_response(
                lambda r: r.request.method == "POST" and f"/api/tasks/{tid}/annotations" in r.url
            ) as saved:
                page.get_by_role("button", name="Submit").click()
            assert saved.value.status == 201
            # The accepted suggestion is on screen: the quote and the speaker highlighted.
            article.locator(f'.htx-highlight[data-start="{content[0]}"]').first.wait_for()
            article.locator(f'.htx-highlight[data-start="{speaker[0]}"]').first.wait_for()
            page.screenshot(path=str(backend["state"] / "interactive.png"), full_page=True)
        finally:
            browser.close()
    (annotation,) = studio_conn.request("GET", f"/api/tasks/{tid}/annotations/").json()
    got = results_to_document(text, annotation["result"], schema, id="i1")
    (q,) = got.quotes
    assert (q.start, q.end) == content
    assert q.cue is not None and (q.cue.start, q.cue.end) == (cue, cue + 4)
    assert q.speaker is not None and (q.speaker.start, q.speaker.end) == speaker

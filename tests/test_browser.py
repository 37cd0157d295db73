"""A person's round trip through the real Label Studio UI, in headless chromium.

Push a seed article (plus a line with emoji) with the model's pre-annotations, log in,
open the task, check that every predicted region and relation is on screen at its exact
offsets, label a word that stands after two emoji with the GPE hotkey and a mouse drag,
submit, and pull: the gold document holds that span at exact Python code-point offsets,
and the pre-annotated quotes keep their speaker and cue links.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); skipped when it is missing
unless ``CURATE_REQUIRE_BROWSER=1`` (CI sets it, so a missing browser fails there).
Screenshots go to ``tests/browser_artifacts/``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from curate.model import Article, Document, Entity
from curate.schema import load_schema, validate_config
from curate.studio.push import build_task

CHROMIUM = Path(os.environ.get("CURATE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "browser_artifacts"
SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_4467d989d7ade940.txt"
# The word to label stands right after two emoji outside the BMP (U+1F389): a UTF-16
# count would put it two units further right than the code-point count.
EMOJI_LINE = "Online, fans posted 🎉🎉 Reykjavik memes 👍 overnight."
WORD = "Reykjavik"
UI_TIMEOUT_MS = 90_000  # two shared cores: the first page load compiles a lot of JS

pytestmark = [pytest.mark.browser, pytest.mark.studio]

if not CHROMIUM.exists() and os.environ.get("CURATE_REQUIRE_BROWSER") != "1":
    pytestmark.append(pytest.mark.skip(reason=f"{CHROMIUM} missing: apt-get install -y chromium"))

# Finds WORD where it follows an emoji and returns its on-screen box, so the mouse can
# select it the way a person does (LS builds the region from the browser selection).
# The text may be split over several DOM text nodes (highlights), so search their join.
_WORD_BOX_JS = """(root, [needle, word]) => {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let joined = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    nodes.push([n, joined.length]);
    joined += n.data;
  }
  const i = joined.indexOf(needle);
  if (i < 0) return null;
  const locate = (pos, isEnd) => {
    for (const [n, at] of nodes) {
      if (pos > at + n.data.length || (!isEnd && pos === at + n.data.length)) continue;
      return [n, pos - at];
    }
    return null;
  };
  const start = i + needle.length - word.length;
  const range = document.createRange();
  range.setStart(...locate(start, false));
  range.setEnd(...locate(start + word.length, true));
  range.startContainer.parentElement.scrollIntoView({block: 'center'});
  const b = range.getBoundingClientRect();
  return {x: b.x, y: b.y, width: b.width, height: b.height};
}"""


# (start, end, label) of every region highlighted in the article text. A region that
# overlaps others is drawn as several pieces sharing one "htx-highlight-<id>-<n>" class:
# the first piece carries data-start, the last data-end and data-label.
_HIGHLIGHTS_JS = """(root) => {
  const regions = {};
  for (const el of root.querySelectorAll('.htx-highlight')) {
    const key = [...el.classList].find((c) => /^htx-highlight-.+-\\d+$/.test(c));
    const r = (regions[key] ??= {});
    for (const k of ['start', 'end', 'label']) {
      if (el.dataset[k] !== undefined) r[k] = el.dataset[k];
    }
  }
  return Object.values(regions).map(
    (r) => [Number(r.start), Number(r.end), (r.label || '').split(':').pop()]);
}"""


@pytest.fixture
def seed_task(studio_conn: Any, studio_project: Any) -> dict[str, Any]:
    """The seed article plus an emoji line, pre-annotated by the real pipeline, pushed."""
    from curate.extract.preannotate import preannotate
    from curate.studio.convert import document_to_results, document_to_task

    schema = load_schema()
    validate_config(schema)
    text = SEED.read_text(encoding="utf-8").rstrip("\n") + "\n" + EMOJI_LINE + "\n"
    article = Article("seed-000-emoji", text, {"title": "Seed 000 with emoji", "source": "UPI"})
    (doc,) = list(preannotate([article], schema=schema))
    assert any(q.speaker and q.cue for q in doc.quotes), "precondition: a quote with speaker+cue"
    assert text.count(WORD) == 1, "the word to label must be new to the article"
    # Whatever the model found on the emoji line is dropped: the person adds the label.
    line_start = text.index(EMOJI_LINE)
    doc = doc.with_(
        entities=tuple(e for e in doc.entities if e.end <= line_start),
        quotes=tuple(q for q in doc.quotes if q.end <= line_start),
    )
    schema.check_tasks([build_task(doc, schema)], "project 'browser round trip'")
    results = document_to_results(doc, schema)
    task = document_to_task(doc, schema)
    version = doc.provenance.model_version if doc.provenance else "test"
    task["predictions"] = [{"model_version": version, "score": 1.0, "result": results}]
    project = studio_project(title="browser round trip")
    studio_conn.request("POST", f"/api/projects/{project['id']}/import", json=[task])
    listed = studio_conn.request("GET", "/api/tasks", params={"project": project["id"]}).json()
    tasks = listed["tasks"] if isinstance(listed, dict) else listed
    assert len(tasks) == 1
    return {"project": project, "task_id": tasks[0]["id"], "doc": doc, "results": results}


@pytest.fixture
def page(studio: Any) -> Any:
    """A logged-in chromium page on the session's Label Studio."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(f"{studio.url}/user/login/")
            page.fill("#email", studio.username)
            page.fill("#password", studio.password)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/user/login" not in url)
            yield page
        finally:
            browser.close()


@contextmanager
def _screenshot_on_failure(page: Any) -> Iterator[None]:
    """Keep what the browser showed when a UI step failed (CI uploads the folder)."""
    try:
        yield
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "99_failure.png"), full_page=True)
        raise


def _region_set(results: list[dict[str, Any]]) -> set[tuple[int, int, str]]:
    return {
        (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
        for r in results
        if r["type"] == "labels"
    }


def test_label_after_emoji_round_trip(
    studio: Any, studio_conn: Any, seed_task: dict[str, Any], page: Any, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from curate.cli import app
    from curate.io.jsonl import read_jsonl
    from curate.studio.convert import results_to_document

    pid, tid = seed_task["project"]["id"], seed_task["task_id"]
    doc: Document = seed_task["doc"]
    results: list[dict[str, Any]] = seed_task["results"]

    with _screenshot_on_failure(page):
        page.goto(f"{studio.url}/projects/{pid}/data?task={tid}")
        article = page.locator(".curate-article .lsf-htx-richtext")
        article.wait_for()
        # Pre-annotations: LS copies the prediction into the person's annotation on open.
        page.locator(".curate-article .htx-highlight").first.wait_for()
        overlay_labels = page.locator("svg.relations-overlay text")
        relations = [r for r in results if r["type"] == "relation"]
        overlay_labels.nth(len(relations) - 1).wait_for()
        page.screenshot(path=str(ARTIFACTS / "01_task_with_predictions.png"), full_page=True)

        shown = {tuple(h) for h in article.evaluate(_HIGHLIGHTS_JS)}
        assert shown == _region_set(results), "every predicted region, at its exact offsets"
        assert Counter(overlay_labels.all_text_contents()) == Counter(
            r["labels"][0] for r in relations
        ), "every predicted relation, with its label"

        # Label the word after the emoji: GPE by its hotkey, then select the word by mouse.
        page.keyboard.press("g")
        page.locator(".lsf-label_selected", has_text="GPE").wait_for()
        box = article.evaluate(_WORD_BOX_JS, ["🎉 " + WORD, WORD])
        assert box, f"{WORD!r} after the emoji is not on screen"
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 1, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 1, y, steps=8)
        page.mouse.up()
        start = doc.text.index(WORD)
        new = article.locator(f'.htx-highlight[data-start="{start}"][data-label$=":GPE"]')
        new.wait_for()
        assert new.inner_text() == WORD
        assert new.get_attribute("data-end") == str(start + len(WORD))
        page.screenshot(path=str(ARTIFACTS / "02_word_after_emoji_labelled.png"), full_page=True)

        with page.expect_response(
            lambda r: r.request.method == "POST" and f"/api/tasks/{tid}/annotations" in r.url
        ) as saved:
            page.get_by_role("button", name="Submit").click()
        assert saved.value.status == 201
        # LS reopens the task with the submitted annotation: Submit has become Update.
        page.locator("button", has_text="Update").wait_for()
        article.locator(f'.htx-highlight[data-start="{start}"][data-label$=":GPE"]').wait_for()
        page.screenshot(path=str(ARTIFACTS / "03_submitted.png"), full_page=True)

    # What the UI stored: code points, as curate speaks them (UTF-16 would say start + 2).
    (annotation,) = studio_conn.request("GET", f"/api/tasks/{tid}/annotations/").json()
    stored = [r for r in annotation["result"] if r.get("value", {}).get("labels") == ["GPE"]]
    assert {(r["value"]["start"], r["value"]["end"]) for r in stored} >= {
        (start, start + len(WORD))
    }

    # `curate pull`, as a person runs it, against this server.
    out = tmp_path / "pulls"
    run = CliRunner().invoke(
        app,
        ["pull", "--project", str(pid), "--out", str(out)],
        env={"LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.api_key},
    )
    assert run.exit_code == 0, run.output
    assert studio.api_key not in run.output
    (gold_file,) = out.glob("*/*/gold.jsonl")
    (gold,) = [Document.from_dict(row) for _, row in read_jsonl(gold_file)]
    predicted = results_to_document(doc.text, results, load_schema(), id=doc.id)
    added = Entity(start, start + len(WORD), "GPE", WORD)
    assert gold.text == doc.text
    assert added in gold.entities
    assert set(gold.entities) == set(predicted.entities) | {added}
    # The relations the model drew came back as the same speaker and cue links.
    assert gold.quotes == predicted.quotes
    assert any(q.speaker and q.cue for q in gold.quotes)

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
from curate.studio.convert import headline
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


def _open_task(page: Any, url: str) -> Any:
    """Open a task page and wait for its pre-annotations; the article's locator."""
    page.goto(url)
    article = page.locator(".curate-article .lsf-htx-richtext")
    article.wait_for()
    # Pre-annotations: LS copies the prediction into the person's annotation on open.
    page.locator(".curate-article .htx-highlight").first.wait_for()
    return article


def _submit(page: Any, task_id: int) -> None:
    """Press Submit and check that Label Studio stored the annotation."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and f"/api/tasks/{task_id}/annotations" in r.url
    ) as saved:
        page.get_by_role("button", name="Submit").click()
    assert saved.value.status == 201


def _pull(studio: Any, project_id: int, out: Path) -> Path:
    """`curate pull` as a person runs it against this server; the pulls folder."""
    from typer.testing import CliRunner

    from curate.cli import app

    run = CliRunner().invoke(
        app,
        ["pull", "--project", str(project_id), "--out", str(out)],
        env={"LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.api_key},
    )
    assert run.exit_code == 0, run.output
    assert studio.api_key not in run.output
    return out


def _region_set(results: list[dict[str, Any]]) -> set[tuple[int, int, str]]:
    return {
        (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
        for r in results
        if r["type"] == "labels"
    }


def test_label_after_emoji_round_trip(
    studio: Any, studio_conn: Any, seed_task: dict[str, Any], page: Any, tmp_path: Path
) -> None:

    from curate.io.jsonl import read_jsonl
    from curate.studio.convert import results_to_document

    pid, tid = seed_task["project"]["id"], seed_task["task_id"]
    doc: Document = seed_task["doc"]
    results: list[dict[str, Any]] = seed_task["results"]

    with _screenshot_on_failure(page):
        article = _open_task(page, f"{studio.url}/projects/{pid}/data?task={tid}")
        overlay_labels = page.locator("svg.relations-overlay text")
        relations = [r for r in results if r["type"] == "relation"]
        # Relation names are in the overlay but never drawn (the config hides them).
        overlay_labels.nth(len(relations) - 1).wait_for(state="attached")
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

        _submit(page, tid)
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
    out = _pull(studio, pid, tmp_path / "pulls")
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


def test_discontinuous_quote_is_shown_as_its_fragments_joined(
    studio: Any, studio_conn: Any, studio_project: Any, page: Any
) -> None:
    """A quote interrupted by its attribution: two QUOTE highlights and their link."""
    from curate.model import Quote, Span
    from curate.studio.convert import document_to_results, document_to_task

    text = "“It’s horrifying,” Tapper said, “and I’m sure it will have an impact.”\n"
    c = text.index("“and")
    who, said = text.index("Tapper"), text.index("said")
    quote = Quote.of_fragments(
        text,
        [(0, text.index("”") + 1), (c, text.index("impact.”") + len("impact.”"))],
        speaker=Span.of(text, who, who + 6),
        cue=Span.of(text, said, said + 4),
    )
    doc = Document("frag", text, quotes=(quote,), meta={"title": "Interrupted quote"})
    schema = load_schema()
    results = document_to_results(doc, schema)
    task = document_to_task(doc, schema)
    task["predictions"] = [{"model_version": "test", "score": 1.0, "result": results}]
    project = studio_project(title="discontinuous quote")
    studio_conn.request("POST", f"/api/projects/{project['id']}/import", json=[task])
    (tid,) = [t["id"] for t in studio_conn.paged("/api/tasks", {"project": project["id"]}, "tasks")]
    with _screenshot_on_failure(page):
        article = _open_task(page, f"{studio.url}/projects/{project['id']}/data?task={tid}")
        page.wait_for_timeout(1000)  # let the relation arrows settle for the picture
        page.screenshot(path=str(ARTIFACTS / "10_discontinuous_quote.png"), full_page=True)
        shown = {tuple(h) for h in article.evaluate(_HIGHLIGHTS_JS)}
        assert shown == _region_set(results)
        quotes = sorted((s, e) for s, e, label in shown if label == "QUOTE")
        assert quotes == list(quote.offsets), "one QUOTE highlight per fragment"
        # Selecting the second fragment: its link to the first, for the picture.
        article.locator(f'.htx-highlight[data-start="{c}"]').first.click()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "11_discontinuous_quote_selected.png"), full_page=True)
    (prediction,) = studio_conn.request("GET", "/api/predictions", params={"task": tid}).json()
    links = {
        (r["from_id"], r["to_id"], r["labels"][0])
        for r in prediction["result"]
        if r["type"] == "relation"
    }
    assert ("q0", "q0f1", "continues") in links


# ---------------------------------------------------------------- the labeling view

SEEDS = SEED.parent

# Boxes of the relation names drawn over the page, and whether each is shown at all.
_RELATION_LABELS_JS = """() => [...document.querySelectorAll('svg.relations-overlay text')]
.map((t) => {
  const b = t.getBoundingClientRect();
  let shown = b.width > 0 && b.height > 0;
  for (let e = t; e && shown; e = e.parentElement) {
    const s = getComputedStyle(e);
    shown = s.display !== 'none' && s.visibility !== 'hidden';
  }
  return {text: t.textContent, shown, x: b.x, y: b.y, width: b.width, height: b.height};
})"""

# Boxes of the lines of article text (one client rect per line fragment of each text node).
_TEXT_LINE_BOXES_JS = """(root) => {
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.data.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const b of range.getClientRects()) {
      if (b.width > 0 && b.height > 0) out.push({x: b.x, y: b.y, width: b.width, height: b.height});
    }
  }
  return out;
}"""

# Relation arrows drawn (visible path elements) in the overlay.
_VISIBLE_ARROWS_JS = """() => [...document.querySelectorAll('svg.relations-overlay path')].filter(
  (p) => getComputedStyle(p).visibility !== 'hidden' && getComputedStyle(p).display !== 'none'
).length"""


def _overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.fixture(scope="module")
def seed_push(studio: Any, studio_conn: Any) -> Iterator[dict[str, Any]]:
    """Both seed articles, pre-annotated and pushed by the real pipeline, as `make demo` does."""
    from curate.extract.preannotate import preannotate
    from curate.io.articles import iter_articles
    from curate.studio.push import push

    schema = load_schema()  # the shipped config, as `make demo` pushes it
    docs = list(preannotate(list(iter_articles(SEEDS)), schema=schema))
    result = push(studio_conn, docs, project=f"seeds view {os.getpid()}", schema=schema)
    listed = studio_conn.request(
        "GET", "/api/tasks", params={"project": result.project_id, "page_size": 100}
    ).json()
    tasks = listed["tasks"] if isinstance(listed, dict) else listed
    by_id = {t["data"]["curate_id"]: t["id"] for t in tasks}
    try:
        yield {"project_id": result.project_id, "docs": {d.id: d for d in docs}, "tasks": by_id}
    finally:
        studio_conn.request("DELETE", f"/api/projects/{result.project_id}", ok=(200, 204, 404))


def _open_seed_task(page: Any, studio: Any, project_id: int, task_id: int) -> Any:
    page.goto(f"{studio.url}/projects/{project_id}/data?task={task_id}")
    article = page.locator(".curate-article .lsf-htx-richtext")
    article.wait_for()
    page.locator(".curate-article .htx-highlight").first.wait_for()
    # The overlay draws a relation once both its regions are laid out: wait for all.
    page.wait_for_function(
        "n => document.querySelectorAll('svg.relations-overlay path').length >= n",
        arg=1,
    )
    page.wait_for_timeout(1500)  # let the overlay lay out every arrow (not an assertion)
    return article


@pytest.mark.parametrize("seed", sorted(p.stem for p in SEEDS.glob("*.txt")))
def test_default_view_leaves_the_text_readable(
    studio: Any, seed_push: dict[str, Any], page: Any, seed: str
) -> None:
    doc: Document = seed_push["docs"][seed]
    with _screenshot_on_failure(page):
        article = _open_seed_task(page, studio, seed_push["project_id"], seed_push["tasks"][seed])
        page.screenshot(path=str(ARTIFACTS / f"10_default_view_{seed}.png"), full_page=True)

        lines = article.evaluate(_TEXT_LINE_BOXES_JS)
        assert lines, "the article text is on screen"
        covering = [
            label["text"]
            for label in page.evaluate(_RELATION_LABELS_JS)
            if label["shown"] and any(_overlaps(label, line) for line in lines)
        ]
        assert not covering, f"relation names drawn over the article text: {Counter(covering)}"
        assert page.evaluate(_VISIBLE_ARROWS_JS) == 0, "no relation arrow until one is asked for"

        # The header: the article's first words as its title, the dateline as its byline,
        # never the file id or the file name.
        title, dateline = headline(doc.text)
        assert title and seed not in title and title.rstrip("…") in " ".join(doc.text.split())
        assert page.get_by_text(title, exact=True).first.is_visible()
        byline = page.locator(".curate-meta").inner_text().strip()
        assert byline == dateline and seed not in byline and ".txt" not in byline


def _a_full_quote(doc: Document) -> Any:
    """The first quote with a speaker and a cue (the seeds have several)."""
    return next(q for q in doc.quotes if q.speaker is not None and q.cue is not None)


# The box of the first piece of the region labelled LABEL that starts at START (a region
# over others is drawn as pieces sharing one "htx-highlight-<id>-<n>" class: the first
# piece carries data-start, the last data-label).
_REGION_BOX_JS = """(root, [start, label]) => {
  const key = (el) => [...el.classList].find((c) => /^htx-highlight-.+-\\d+$/.test(c));
  for (const first of root.querySelectorAll(`.htx-highlight[data-start="${start}"]`)) {
    const pieces = [...root.querySelectorAll(`.${CSS.escape(key(first))}`)];
    if (!pieces.some((p) => (p.dataset.label || '').endsWith(':' + label))) continue;
    first.scrollIntoView({block: 'center'});
    const b = first.getBoundingClientRect();
    return {x: b.x, y: b.y, width: b.width, height: b.height};
  }
  return null;
}"""


def _click_region(article: Any, start: int, label: str) -> None:
    box = article.evaluate(_REGION_BOX_JS, [start, label])
    assert box, f"{label} region at {start} is on screen"
    article.page.mouse.click(box["x"] + min(4, box["width"] / 2), box["y"] + box["height"] / 2)


def test_selected_quote_names_its_parts_in_words(
    studio: Any, seed_push: dict[str, Any], page: Any
) -> None:
    seed = SEED.stem
    doc: Document = seed_push["docs"][seed]
    q = _a_full_quote(doc)
    with _screenshot_on_failure(page):
        article = _open_seed_task(page, studio, seed_push["project_id"], seed_push["tasks"][seed])
        _click_region(article, q.start, "QUOTE")
        details = page.locator(".lsf-detailed-region").first
        details.wait_for()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "12_selected_quote.png"), full_page=True)
        said = " ".join(details.inner_text().split())
        for part in (q.speaker.text, q.cue.text, q.kind, " ".join(q.text.split())[:40]):
            assert " ".join(part.split()) in said, f"{part!r} not in the details: {said!r}"

        # Pointing at a relation in the Relations tab draws its arrow, still without a name.
        page.get_by_text("Relations", exact=True).first.click()
        page.locator(".lsf-relations__item").first.hover()
        page.wait_for_function(_VISIBLE_ARROWS_JS.replace("() =>", "() => 0 <"))
        assert not [label for label in page.evaluate(_RELATION_LABELS_JS) if label["shown"]]
        # Nor in the copy of the pointed relation Label Studio draws on top (an SVG <use>).
        assert page.evaluate(
            "() => [...document.querySelectorAll('svg.relations-overlay use')]"
            ".every((u) => getComputedStyle(u).display === 'none')"
        )
        page.screenshot(path=str(ARTIFACTS / "14_relation_pointed_at.png"), full_page=True)


# Each relation arrow drawn now (an overlay group shown, its path visible), with the boxes
# of the two regions it joins (the group's two plain rects, in page coordinates).
_DRAWN_ARROWS_JS = """() => [...document.querySelectorAll('svg.relations-overlay > g')]
.filter((g) => getComputedStyle(g).visibility !== 'hidden')
.map((g) => [...g.children].filter((c) => c.tagName === 'rect').map((r) => {
  const b = r.getBoundingClientRect();
  return {x: b.x, y: b.y, width: b.width, height: b.height};
}))"""

# The on-screen boxes of every piece of each region id (class "htx-highlight-<id>-<n>").
_REGION_PIECES_JS = """(root, ids) => Object.fromEntries(ids.map((id) => [id,
  [...root.querySelectorAll(`.htx-highlight[class*="htx-highlight-${id}-"]`)].map((el) => {
    const b = el.getBoundingClientRect();
    return {x: b.x, y: b.y, width: b.width, height: b.height};
  })]))"""

# Regions drawn with an outline (the ends of the selected region's links).
_OUTLINED_JS = """(root) => [...new Set([...root.querySelectorAll('.htx-highlight')]
  .filter((el) => getComputedStyle(el).outlineStyle !== 'none'
    && getComputedStyle(el).outlineColor !== 'rgba(0, 0, 0, 0)')
  .map((el) => [...el.classList].find((c) => /^htx-highlight-.+-\\d+$/.test(c))
    .replace(/^htx-highlight-/, '').replace(/-\\d+$/, '')))]"""


def _links_of(doc: Document, q: Any) -> tuple[str, list[tuple[str, str]]]:
    """The region id of quote ``q``'s first fragment and every link touching it."""
    from curate.studio.convert import document_to_results

    results = document_to_results(doc, load_schema())
    (rid,) = [
        r["id"]
        for r in results
        if r["type"] == "labels"
        and r["value"]["labels"] == ["QUOTE"]
        and (r["value"]["start"], r["value"]["end"]) == (q.start, q.end)
    ]
    links = [(r["from_id"], r["to_id"]) for r in results if r["type"] == "relation"]
    return rid, [link for link in links if rid in link]


def test_selecting_a_quote_draws_exactly_its_links(
    studio: Any, studio_conn: Any, seed_push: dict[str, Any], page: Any
) -> None:
    """Default view: no arrow. A quote selected: its speaker and cue arrows (each from the
    quote's box to its part's box), both ends outlined, no relation name. Deselected: none.
    "Show all links" draws every arrow, still without names."""
    seed = SEED.stem
    doc: Document = seed_push["docs"][seed]
    q = _a_full_quote(doc)
    rid, links = _links_of(doc, q)
    assert len(links) >= 2, "precondition: the quote has a speaker and a cue link"
    with _screenshot_on_failure(page):
        article = _open_seed_task(page, studio, seed_push["project_id"], seed_push["tasks"][seed])
        assert page.evaluate(_DRAWN_ARROWS_JS) == [], "no arrow in the default view"
        assert article.evaluate(_OUTLINED_JS) == []

        _click_region(article, q.start, "QUOTE")
        page.locator(".lsf-detailed-region").first.wait_for()
        page.wait_for_function(_VISIBLE_ARROWS_JS.replace("() =>", "() => 0 <"))
        page.wait_for_timeout(500)  # the overlay lays the arrows out after the selection
        page.screenshot(path=str(ARTIFACTS / "15_selected_quote_links.png"), full_page=True)
        drawn = page.evaluate(_DRAWN_ARROWS_JS)
        assert len(drawn) == len(links), f"{len(drawn)} arrows drawn for {len(links)} links"
        ends = {end for link in links for end in link}
        pieces = article.evaluate(_REGION_PIECES_JS, sorted(ends))

        def joins(box: dict[str, float]) -> set[str]:
            return {end for end in ends if any(_overlaps(box, p) for p in pieces[end])}

        for arrow in drawn:
            assert len(arrow) == 2, arrow
            touched = [joins(box) for box in arrow]
            assert any(rid in t for t in touched), f"an arrow not from the quote: {touched}"
        assert sorted(article.evaluate(_OUTLINED_JS)) == sorted(ends), "both ends outlined"
        lines = article.evaluate(_TEXT_LINE_BOXES_JS)
        assert not [
            label["text"]
            for label in page.evaluate(_RELATION_LABELS_JS)
            if label["shown"] and any(_overlaps(label, line) for line in lines)
        ], "no relation name over the text"

        page.keyboard.press("u")  # Label Studio's hotkey: unselect the region
        page.wait_for_function(_VISIBLE_ARROWS_JS.replace("() =>", "() => 0 ==="))
        assert page.evaluate(_DRAWN_ARROWS_JS) == [], "deselected: no arrow"
        assert article.evaluate(_OUTLINED_JS) == []

        (prediction,) = studio_conn.request(
            "GET", "/api/predictions", params={"task": seed_push["tasks"][seed]}
        ).json()
        relations = sum(r["type"] == "relation" for r in prediction["result"])
        page.locator("#curate-all-links").check()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "16_all_links_toggled.png"), full_page=True)
        assert len(page.evaluate(_DRAWN_ARROWS_JS)) == relations, "the toggle draws every link"
        assert not [label for label in page.evaluate(_RELATION_LABELS_JS) if label["shown"]]
        page.locator("#curate-all-links").uncheck()
        assert page.evaluate(_DRAWN_ARROWS_JS) == []


def test_deleting_a_quote_in_the_ui_deletes_its_parts_in_the_gold(
    studio: Any, seed_push: dict[str, Any], page: Any, tmp_path: Path
) -> None:
    import json

    from curate.io.jsonl import read_jsonl

    seed = sorted(seed_push["docs"])[-1]  # the other seed: the view tests leave it unannotated
    doc: Document = seed_push["docs"][seed]
    tid = seed_push["tasks"][seed]
    q = _a_full_quote(doc)
    with _screenshot_on_failure(page):
        article = _open_seed_task(page, studio, seed_push["project_id"], tid)
        _click_region(article, q.start, "QUOTE")
        page.get_by_role("button", name="Delete selected region").click()
        page.wait_for_function(
            "([root, args]) => !(" + _REGION_BOX_JS + ")(root, args)",
            arg=[article.element_handle(), [q.start, "QUOTE"]],
        )
        page.screenshot(path=str(ARTIFACTS / "13_quote_deleted.png"), full_page=True)
        # The suggested links are no longer intact: selecting another quote draws no arrow
        # rather than arrows the per-task rules can no longer place (curate/studio/linkview.py).
        other = next(o for o in doc.quotes if o.start != q.start and o.speaker and o.cue)
        _click_region(article, other.start, "QUOTE")
        page.locator(".lsf-detailed-region").first.wait_for()
        page.wait_for_timeout(500)
        assert page.evaluate(_DRAWN_ARROWS_JS) == []
        _submit(page, tid)

    out = _pull(studio, seed_push["project_id"], tmp_path / "pulls")
    (gold_file,) = out.glob("*/*/gold.jsonl")
    (gold,) = [Document.from_dict(row) for _, row in read_jsonl(gold_file)]
    assert gold.id == seed
    assert (q.start, q.end) not in {(g.start, g.end) for g in gold.quotes}
    others = [o for o in doc.quotes if o is not q]
    assert len(gold.quotes) == len(others)
    # Its speaker and cue went with it (unless another quote shares them).
    for part in (q.speaker, q.cue):
        still = [o for o in others if part in (o.speaker, o.cue)]
        assert [g for g in gold.quotes if part in (g.speaker, g.cue)] == [
            g for g in gold.quotes if any((g.start, g.end) == (o.start, o.end) for o in still)
        ]
    report = json.loads(next(out.glob("*/*/report.json")).read_text(encoding="utf-8"))
    problems = report["problems"]["counts"]
    assert not {k for k in problems if k.startswith("orphan")}, report["problems"]
    # The report says one quote deleted, with its parts; they count as deleted, never kept.
    (units,) = report["corrections"]["quotes"].values()
    assert units["deleted"] == 1 and units["deleted_with_parts"] == 1, units
    counts = {r["label"]: r for r in report["corrections"]["rows"]}
    assert counts["QUOTE"]["deleted"] == 1, counts
    for label in ("SPEAKER", "CUE"):
        assert counts[label]["deleted"] == 1, (label, counts[label])

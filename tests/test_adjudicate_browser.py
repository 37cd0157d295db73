"""The review task a reviewer opens: every annotator's version, the agreed regions drafted."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from test_adjudicate import ANNA, BOB, PARIS, SCHEMA, _annotate, _doc
from test_browser import ARTIFACTS, _screenshot_on_failure, page  # noqa: F401 - fixture

from curate.gold.identities import load_pseudonyms
from curate.gold.merge import MergePolicy
from curate.studio.convert import document_to_task
from curate.studio.pull import pull
from curate.studio.review import adjudicate, find_review_project

pytestmark = [pytest.mark.browser, pytest.mark.studio]


def test_review_task_shows_each_annotator_and_the_agreed_draft(
    studio: Any,
    studio_conn: Any,
    page: Any,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    conn = studio_conn
    project = conn.request(
        "POST",
        "/api/projects",
        json={"title": f"review ui {uuid.uuid4().hex[:6]}", "label_config": SCHEMA.xml},
    ).json()
    try:
        conn.request(
            "POST",
            f"/api/projects/{project['id']}/import",
            json=[document_to_task(_doc("s"), SCHEMA)],
        )
        (task,) = conn.get_json("/api/tasks", params={"project": project["id"]})["tasks"]
        other = conn.request(
            "POST",
            "/api/users/",
            json={"email": f"rev-{uuid.uuid4().hex[:6]}@curate.local", "username": "rev"},
        ).json()
        _annotate(conn, task["id"], _doc("s", ANNA, BOB, PARIS))
        _annotate(conn, task["id"], _doc("s", ANNA, BOB), completed_by=other["id"])
        pulled = pull(conn, project["id"], tmp_path, merge_policy=MergePolicy("majority"))
        names = load_pseudonyms(tmp_path / "gold")
        made = adjudicate(conn, pulled.path, schema=SCHEMA, pseudonyms=names)
        (review,) = conn.get_json("/api/tasks", params={"project": made.review_project_id})["tasks"]
        with _screenshot_on_failure(page):
            page.goto(f"{studio.url}/projects/{made.review_project_id}/data?task={review['id']}")
            article = page.locator(".curate-article .htx-highlight").first
            article.wait_for()
            page.screenshot(path=str(ARTIFACTS / "20_review_task.png"), full_page=True)
            # The draft starts from the agreed regions: Anna Smith and Bob Jones, not Paris.
            labelled = page.locator(".curate-article .htx-highlight").all_inner_texts()
            assert "Anna Smith" in labelled and "Bob Jones" in labelled
            assert "Paris" not in labelled
            # Every annotator's version is a tab beside the draft, under its alias (the
            # tab shortens long names in the middle: "annotato…82256d"), and `agreed`.
            tabs = page.locator("body").inner_text()
            for who in (names.of(conn.whoami()["email"]), names.of(other["email"])):
                assert who[-6:] in tabs, f"no tab for {who}"
            assert "agreed" in tabs
            assert other["email"] not in tabs, "aliases, never e-mail addresses"
    finally:
        review_project = find_review_project(conn, project["id"])
        for p in (project, review_project):
            if p:
                conn.request("DELETE", f"/api/projects/{p['id']}", ok=(200, 204, 404))

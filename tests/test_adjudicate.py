"""Adjudication against a real Label Studio: merge policies in pull, the review project,
a reviewer's decision back into the gold, and reruns that add nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from curate.gold.identities import load_pseudonyms
from curate.gold.merge import MergePolicy, parse_label_rule
from curate.model import Document, Entity
from curate.schema import load_schema
from curate.studio.convert import document_to_results, document_to_task
from curate.studio.pull import pull
from curate.studio.review import AGREED, adjudicate, find_review_project

pytestmark = pytest.mark.studio
SCHEMA = load_schema()
TEXT = "Anna Smith met Bob Jones in Paris on Monday, officials said."
ANNA = Entity.of(TEXT, 0, 10, "PERSON")
BOB = Entity.of(TEXT, 15, 24, "PERSON")
PARIS = Entity.of(TEXT, 28, 33, "GPE")


def _doc(cid: str, *ents: Entity) -> Document:
    return Document(id=cid, text=TEXT, entities=ents)


def _annotate(conn, tid: int, doc: Document, **extra: Any) -> dict[str, Any]:
    return conn.request(
        "POST",
        f"/api/tasks/{tid}/annotations",
        json={"result": document_to_results(doc, SCHEMA), **extra},
    ).json()


@pytest.fixture(scope="module")
def team(studio_conn):
    """A project of two tasks, each annotated by two people: they agree on `same` and
    disagree on one region (GPE Paris) of `split`."""
    conn = studio_conn
    project = conn.request(
        "POST",
        "/api/projects",
        json={"title": f"adjudicate {uuid.uuid4().hex[:8]}", "label_config": SCHEMA.xml},
    ).json()
    pid = project["id"]
    conn.request(
        "POST",
        f"/api/projects/{pid}/import",
        json=[document_to_task(_doc(c), SCHEMA) for c in ("same", "split")],
    )
    tids = {
        t["data"]["curate_id"]: t["id"]
        for t in conn.paged("/api/tasks", {"project": pid, "fields": "all"}, "tasks")
    }
    ann = conn.request(
        "POST",
        "/api/users/",
        json={"email": f"ann-{uuid.uuid4().hex[:6]}@curate.local", "username": "ann"},
    ).json()
    ids = {
        "same": [
            _annotate(conn, tids["same"], _doc("same", ANNA, BOB))["id"],
            _annotate(conn, tids["same"], _doc("same", ANNA, BOB), completed_by=ann["id"])["id"],
        ],
        "split": [
            _annotate(conn, tids["split"], _doc("split", ANNA, BOB, PARIS))["id"],
            _annotate(conn, tids["split"], _doc("split", ANNA, BOB), completed_by=ann["id"])["id"],
        ],
    }
    yield project, tids, ids, ann
    review = find_review_project(conn, pid)
    for p in (project, review):
        if p:
            conn.request("DELETE", f"/api/projects/{p['id']}", ok=(200, 204, 404))


def test_adjudication_round_trip(team, studio_conn, tmp_path):
    conn = studio_conn
    project, tids, ids, ann = team
    first = pull(conn, project["id"], tmp_path, merge_policy=MergePolicy("majority"))
    assert first.selection["merged"] == 1 and len(first.conflicts) == 1
    assert first.merge["regions_accepted"] == 2 and first.merge["regions_review"] == 1
    report = json.loads((first.path / "report.json").read_text())
    assert report["merge_policy"]["name"] == "majority"
    assert report["counts"]["merge"]["tasks_review"] == 1

    names = load_pseudonyms(tmp_path / "gold")
    made = adjudicate(conn, first.path, schema=SCHEMA, pseudonyms=names)
    assert (made.created_project, made.added, made.already_there) == (True, 1, 0)
    assert made.predictions_added == 3  # agreed + two annotators
    rid = made.review_project_id
    review = conn.get_json(f"/api/projects/{rid}")
    assert review["label_config"] == project["label_config"]
    assert review["model_version"] == AGREED and review["show_collab_predictions"]
    (task,) = list(conn.paged("/api/tasks", {"project": rid, "fields": "all"}, "tasks"))
    assert task["data"]["curate_review"] == {
        "project_id": project["id"],
        "task_id": tids["split"],
        "annotation_ids": ids["split"],
    }
    preds = conn.get_json("/api/predictions", params={"task": task["id"]})
    versions = {p["model_version"]: p for p in preds}
    assert set(versions) == {AGREED, names.of(ann["email"]), names.of(_me(conn))}
    assert not any("@" in v for v in versions)  # aliases, never e-mail addresses
    agreed = {r["value"]["text"] for r in versions[AGREED]["result"] if r["type"] == "labels"}
    assert agreed == {"Anna Smith", "Bob Jones"}

    again = adjudicate(conn, first.path, schema=SCHEMA, pseudonyms=names)
    assert (again.created_project, again.added, again.already_there) == (False, 0, 1)
    assert again.predictions_added == 0
    assert len(list(conn.paged("/api/tasks", {"project": rid}, "tasks"))) == 1

    # The reviewer keeps Paris as GPE and submits.
    decision = _doc("split", ANNA, BOB, PARIS)
    _annotate(conn, task["id"], decision)
    second = pull(conn, project["id"], tmp_path, merge_policy=MergePolicy("majority"))
    assert second.selection["adjudicated"] == 1 and not second.conflicts
    gold = {d.id: d for d in second.gold}
    assert gold["split"].entities == (ANNA, BOB, PARIS)
    src = gold["split"].provenance
    assert src.selection == "adjudicated"
    assert src.adjudication.by == _me(conn)  # pseudonymised on release, as annotators
    assert list(src.adjudication.from_annotation_ids) == ids["split"]
    assert src.adjudication.review_task_id == task["id"]

    # A pull without conflicts has nothing to review: no task, no project is added.
    nothing = adjudicate(conn, second.path, schema=SCHEMA, pseudonyms=names)
    assert (nothing.conflicts, nothing.added, nothing.review_project_id) == (0, 0, rid)
    assert len(list(conn.paged("/api/tasks", {"project": rid}, "tasks"))) == 1


def test_killed_run_resumes_missing_predictions(team, studio_conn, tmp_path):
    conn = studio_conn
    project, *_ = team
    first = pull(conn, project["id"], tmp_path, merge_policy=MergePolicy("unanimous"))
    names = load_pseudonyms(tmp_path / "gold")
    made = adjudicate(conn, first.path, schema=SCHEMA, pseudonyms=names)
    rid = made.review_project_id
    # A run killed after importing tasks but before their predictions: delete them.
    for p in conn.get_json("/api/predictions", params={"project": rid}):
        conn.request("DELETE", f"/api/predictions/{p['id']}", ok=(200, 204, 404))
    again = adjudicate(conn, first.path, schema=SCHEMA, pseudonyms=names)
    assert again.added == 0 and again.predictions_added == 3 * again.already_there


def _me(conn) -> str:
    return conn.whoami()["email"]


def test_a_label_rule_settles_what_the_policy_would_send_to_review(team, studio_conn, tmp_path):
    # GPE=1-of-n: the Paris only one of two annotators marked merges, so nothing is left.
    project, *_ = team
    policy = MergePolicy("majority", labels=(parse_label_rule("GPE=1-of-n"),))
    pulled = pull(studio_conn, project["id"], tmp_path, merge_policy=policy)
    assert not pulled.conflicts and pulled.merge["GPE regions_accepted"] == 1
    gold = {d.id: d for d in pulled.gold}
    assert gold["split"].entities == (ANNA, BOB, PARIS)
    report = json.loads((pulled.path / "report.json").read_text())
    assert report["merge_policy"]["labels"] == {
        "GPE": {"name": "k-of-n", "k": 1, "min_annotators": None}
    }
    assert "GPE regions when at least 1 annotators mark it" in pulled.policy_description()
    assert report["counts"]["merge"]["GPE regions_accepted"] == 1

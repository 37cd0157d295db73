"""Pull against a real Label Studio: annotations made through the API as a person would.

One project holds six tasks: a unicode article one person corrected (a label changed,
spans added after emoji and across CRLF), a cancelled annotation plus a draft, two
disagreeing annotations, a disagreement settled by ground truth, two agreeing
annotations, and a task nobody touched.
"""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from curate.errors import StudioError
from curate.model import Annotation, Document, Entity, Quote, Span
from curate.schema import load_schema
from curate.studio.convert import document_to_results, document_to_task
from curate.studio.pull import PullResult, find_project, pull

pytestmark = pytest.mark.studio

SCHEMA = load_schema()
MODEL = "curate.test.v1"
UNI = (
    "Mr. Zorbo 😀 said: “We will win 👍🏽 the vote,” in Kafé\r\nBrüssel.\r"
    "Next\tline  with e\u0301 marks. 😀 Ana Lopez agreed."
)
PLAIN = "Maria Silva spoke to reporters on Monday."


def _uni_prediction() -> Document:
    t = UNI
    z = t.index("Zorbo")
    q0, q1 = t.index("“"), t.index("”") + 1
    said = t.index("said")
    b = t.index("Brüssel")
    return Document(
        "uni",
        t,
        entities=(Entity.of(t, z, z + 5, "PERSON"), Entity.of(t, b, b + 7, "PERSON")),
        quotes=(
            Quote(
                q0,
                q1,
                t[q0:q1],
                "direct",
                speaker=Span.of(t, z, z + 5),
                cue=Span.of(t, said, said + 4),
                speaker_entity=Span.of(t, z, z + 5),
            ),
        ),
        meta={"title": "Unicode", "source": "test"},
    )


def _plain(cid: str) -> Document:
    return Document(cid, PLAIN, entities=(Entity.of(PLAIN, 0, 11, "PERSON"),))


def _gold_uni_entities() -> tuple[Entity, ...]:
    t = UNI
    z, b, ana, kafe = (t.index(w) for w in ("Zorbo", "Brüssel", "Ana Lopez", "Kafé"))
    return Document(
        "uni",
        t,
        entities=(
            Entity.of(t, z, z + 5, "PERSON"),
            Entity.of(t, b, b + 7, "GPE"),
            Entity.of(t, ana, ana + 9, "PERSON"),
            Entity.of(t, kafe, b + 7, "FAC"),
        ),
    ).entities


def _task(doc: Document) -> dict[str, Any]:
    task = document_to_task(doc, SCHEMA)
    task["predictions"] = [
        {"model_version": MODEL, "score": 0.5, "result": document_to_results(doc, SCHEMA)}
    ]
    return task


def _accept(doc: Document) -> list[dict[str, Any]]:
    """What submitting the pre-annotation unchanged in the UI stores."""
    return [
        dict(r, origin="prediction") if r["type"] != "relation" else r
        for r in document_to_results(doc, SCHEMA)
    ]


def _annotate(conn, tid: int, result: list, **extra: Any) -> dict[str, Any]:
    return conn.request(
        "POST", f"/api/tasks/{tid}/annotations", json={"result": result, **extra}
    ).json()


@pytest.fixture(scope="module")
def annotated(studio_conn):
    """The six-task project, annotated: (project, task ids by curate id, second user)."""
    conn = studio_conn
    project = conn.request(
        "POST",
        "/api/projects",
        json={"title": f"pull test {uuid.uuid4().hex[:8]}", "label_config": SCHEMA.xml},
    ).json()
    pid = project["id"]
    docs = [_uni_prediction(), *(_plain(c) for c in ("cancel", "conflict", "gt", "agree", "none"))]
    conn.request("POST", f"/api/projects/{pid}/import", json=[_task(d) for d in docs])
    tids = {
        t["data"]["curate_id"]: t["id"]
        for t in conn.paged("/api/tasks", {"project": pid, "fields": "all"}, "tasks")
    }
    bob = conn.request(
        "POST",
        "/api/users/",
        json={"email": f"bob-{uuid.uuid4().hex[:6]}@curate.local", "username": "bob"},
    ).json()

    # uni: one prediction relabelled, a span added after emoji, one across CRLF (stored
    # with the escaped text Label Studio's UI writes), everything else accepted.
    res = _accept(_uni_prediction())
    for r in res:
        if r.get("value", {}).get("text") == "Brüssel" and r["type"] == "labels":
            r["value"]["labels"] = ["GPE"]
            r["origin"] = "prediction-changed"
    ana = UNI.index("Ana Lopez")
    kafe = UNI.index("Kafé")
    res.append(
        {
            "id": "manual1",
            "from_name": "entity",
            "to_name": "text",
            "type": "labels",
            "origin": "manual",
            "value": {"start": ana, "end": ana + 9, "text": "Ana Lopez", "labels": ["PERSON"]},
        }
    )
    res.append(
        {
            "id": "manual2",
            "from_name": "entity",
            "to_name": "text",
            "type": "labels",
            "origin": "manual",
            "value": {
                "start": kafe,
                "end": UNI.index("Brüssel") + 7,
                "text": "Kafé\\n\\nBrüssel",
                "labels": ["FAC"],
            },
        }
    )
    _annotate(conn, tids["uni"], res)

    _annotate(conn, tids["cancel"], [], was_cancelled=True)
    conn.request(
        "POST", f"/api/tasks/{tids['cancel']}/drafts", json={"result": _accept(_plain("cancel"))}
    )

    plain = _accept(_plain("x"))
    _annotate(conn, tids["conflict"], plain)
    _annotate(conn, tids["conflict"], [], completed_by=bob["id"])
    _annotate(conn, tids["gt"], plain)
    _annotate(conn, tids["gt"], [], completed_by=bob["id"], ground_truth=True)
    _annotate(conn, tids["agree"], plain)
    _annotate(conn, tids["agree"], plain, completed_by=bob["id"])
    yield project, tids, bob
    conn.request("DELETE", f"/api/projects/{pid}", ok=(200, 204, 404))


@pytest.fixture(scope="module")
def pulled(annotated, studio_conn, tmp_path_factory):
    project, tids, bob = annotated
    out = tmp_path_factory.mktemp("pulls")
    return pull(studio_conn, project["title"], out), out


def _lines(path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]


def test_counts_and_files(pulled, annotated):
    r, out = pulled
    project, tids, _ = annotated
    assert (r.tasks, r.annotated_tasks, r.annotations) == (6, 4, 7)
    assert (r.cancelled, r.drafts) == (1, 1)
    assert dict(r.selection) == {
        "single": 1,
        "ground_truth": 1,
        "merged": 1,
        "conflict": 1,
        "unannotated": 2,
    }
    assert r.path.parent.name == r.path.parent.name.lower()
    assert r.path.name == str(r.snapshot_id)
    assert (r.path.parent / "latest").read_text().strip() == r.path.name
    raw = json.loads((r.path / "raw_export.json").read_text(encoding="utf-8"))
    assert {t["id"] for t in raw} == set(tids.values())
    assert all("predictions" in t for t in raw)  # full JSON, predictions included
    report = json.loads((r.path / "report.json").read_text())
    assert report["counts"]["skipped_cancelled"] == 1
    assert report["counts"]["gold"] == 3
    assert not list(r.path.parent.glob(".*.tmp"))
    # The pull holds annotator e-mails: private folder, private files.
    assert stat.S_IMODE(r.path.stat().st_mode) == 0o700
    files = sorted(p.name for p in r.path.iterdir())
    assert {"raw_export.json", "annotations.jsonl", "gold.jsonl", "report.json"} <= set(files)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in r.path.iterdir()} == dict.fromkeys(
        files, 0o600
    )


def test_unicode_gold_has_exact_offsets(pulled, annotated):
    r, _ = pulled
    _, tids, _ = annotated
    gold = {d["id"]: Document.from_dict(d) for d in _lines(r.path / "gold.jsonl")}
    assert set(gold) == {"uni", "gt", "agree"}
    doc = gold["uni"]
    assert doc.text == UNI
    assert doc.entities == _gold_uni_entities()
    assert doc.entities[1].text == "Kafé\r\nBrüssel"
    (q,) = doc.quotes
    assert q.text == "“We will win 👍🏽 the vote,”"
    assert (q.speaker.text, q.cue.text, q.speaker_entity.text) == ("Zorbo", "said", "Zorbo")
    assert doc.meta == {"title": "Unicode", "source": "test"}
    src = doc.provenance
    assert isinstance(src, Annotation)
    assert src.task_id == tids["uni"] and src.selection == "single"
    assert src.model_version == MODEL and src.ground_truth is False
    assert len(src.annotation_ids) == 1 and src.annotators[0].endswith("@curate.local")
    assert src.created_at and src.updated_at
    assert r.problems.counts == {"text_mismatch": 1}


def test_ground_truth_wins_and_agreement_merges(pulled, annotated):
    r, _ = pulled
    _, _, bob = annotated
    gold = {d["id"]: Document.from_dict(d) for d in _lines(r.path / "gold.jsonl")}
    assert gold["gt"].entities == ()  # bob's ground truth, not the other annotation
    assert gold["gt"].provenance.annotators == (bob["email"],)
    assert gold["gt"].provenance.ground_truth is True
    assert [e.text for e in gold["agree"].entities] == ["Maria Silva"]
    assert gold["agree"].provenance.selection == "merged"
    assert len(set(gold["agree"].provenance.annotators)) == 2


def test_conflicts_have_links_and_stay_out_of_gold(pulled, annotated, studio):
    r, _ = pulled
    project, tids, _ = annotated
    (c,) = _lines(r.path / "conflicts.jsonl")
    assert c["curate_id"] == "conflict"
    assert c["url"] == f"{studio.url}/projects/{project['id']}/data?task={tids['conflict']}"
    assert len(c["annotations"]) == 2
    assert any("Maria Silva" in d for d in c["differences"])


def test_every_annotation_is_written_with_its_annotator(pulled):
    r, _ = pulled
    anns = _lines(r.path / "annotations.jsonl")
    assert len(anns) == 7
    assert all(
        len(a["source"]["annotators"]) == len(a["source"]["annotation_ids"]) == 1 for a in anns
    )
    assert sorted(a["id"] for a in anns).count("conflict") == 2


def test_correction_report(pulled):
    r, _ = pulled
    rows = {(x["model_version"], x["label"]): x for x in r.corrections.rows()}
    person = rows[(MODEL, "PERSON")]
    # uni: Zorbo kept, Brüssel changed, Ana added; plain tasks: 4 kept, 2 deleted (bob).
    assert {k: person[k] for k in ("kept", "changed", "deleted", "added")} == {
        "kept": 5,
        "changed": 1,
        "deleted": 2,
        "added": 1,
    }
    assert rows[(MODEL, "FAC")]["added"] == 1
    assert rows[(MODEL, "QUOTE")]["kept"] == 1
    assert rows[(MODEL, "SPEAKER")]["kept"] == 1 and rows[(MODEL, "CUE")]["kept"] == 1
    assert r.corrections.quotes[MODEL]["kept"] == 1
    assert r.corrections.origins["GPE"] == {"prediction-changed": 1}
    report = json.loads((r.path / "report.json").read_text())
    assert report["corrections"]["rows"] == r.corrections.rows()


def test_second_pull_is_a_new_snapshot_folder(pulled, annotated, studio_conn):
    r, out = pulled
    project, _, _ = annotated
    again = pull(studio_conn, project["id"], out)
    assert again.snapshot_id != r.snapshot_id and again.path != r.path
    assert (again.path.parent / "latest").read_text().strip() == again.path.name
    assert (again.path / "gold.jsonl").read_bytes() != b""


def test_unknown_project_is_one_clear_error(studio_conn):
    with pytest.raises(StudioError, match="no project titled 'nope-nope'"):
        find_project(studio_conn, "nope-nope")


def test_cli_pull_renders_summary_and_links(pulled, annotated, studio, tmp_path, monkeypatch):
    from curate.cli import app

    project, tids, _ = annotated
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.api_key)
    res = CliRunner().invoke(
        app, ["pull", "--project", project["title"], "--out", str(tmp_path)], catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    assert f"data?task={tids['conflict']}" in res.output.replace("\n", "")
    assert "corrections" in res.output and "PERSON" in res.output
    assert studio.api_key not in res.output
    bad = CliRunner().invoke(app, ["pull", "--project", "nope-nope", "--out", str(tmp_path)])
    assert bad.exit_code == 1
    assert "no project titled 'nope-nope'" in bad.output


def test_cli_pull_release_writes_a_gold_version(annotated, studio, tmp_path, monkeypatch):
    from curate.cli import app
    from curate.gold import load_documents

    project, _, _ = annotated
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.api_key)
    args = ["pull", "--project", str(project["id"]), "--out", str(tmp_path / "pulls")]
    # a name no release can take is refused before anything is pulled
    bad = CliRunner().invoke(app, [*args, "--release", "bad name!"])
    assert bad.exit_code == 1 and "'bad name!' is not usable" in bad.output
    assert not (tmp_path / "pulls").exists()
    args += ["--release", "pulltest", "--gold-root", str(tmp_path / "gold")]
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    docs = {d.id: d for d in load_documents("pulltest", root=tmp_path / "gold")}
    assert set(docs) == {"uni", "gt", "agree"}
    assert docs["uni"].entities == _gold_uni_entities()


def test_folders_left_by_killed_pulls_are_removed_and_live_ones_kept(tmp_path):
    import os
    import subprocess

    from curate.studio.pull import remove_abandoned

    dead = subprocess.Popen(["true"])
    dead.wait()
    killed = tmp_path / f".12.{dead.pid}.abc123.tmp"
    running = tmp_path / f".13.{os.getpid()}.def456.tmp"
    finished = tmp_path / "11"
    for d in (killed, running, finished):
        d.mkdir()
        (d / "raw_export.json").write_text("[]")
    assert remove_abandoned(tmp_path) == [killed]
    assert not killed.exists() and running.exists() and finished.exists()


def _snapshots(conn, pid: int) -> list[int]:
    return [s["id"] for s in conn.get_json(f"/api/projects/{pid}/exports/")]


def test_pull_deletes_its_snapshot_on_the_server_unless_kept(
    pulled, annotated, studio, studio_conn, tmp_path, monkeypatch
):
    """Each snapshot is a full copy of the project: a pull removes its own after the
    verified download; --keep-snapshot leaves it."""
    from curate.cli import app

    r, _ = pulled
    project, _, _ = annotated
    assert r.snapshot_deleted and r.snapshot_id not in _snapshots(studio_conn, project["id"])
    before = set(_snapshots(studio_conn, project["id"]))
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.api_key)
    args = ["pull", "--project", str(project["id"]), "--out", str(tmp_path)]
    plain = CliRunner().invoke(app, args)
    assert plain.exit_code == 0, plain.output
    assert set(_snapshots(studio_conn, project["id"])) == before
    kept = CliRunner().invoke(app, [*args, "--keep-snapshot"])
    assert kept.exit_code == 0, kept.output
    (new,) = set(_snapshots(studio_conn, project["id"])) - before
    assert f"export snapshot {new} is kept" in kept.output
    studio_conn.request("DELETE", f"/api/projects/{project['id']}/exports/{new}", ok=(200, 204))


def test_pull_removes_the_export_files_label_studio_leaves_behind(annotated, studio, tmp_path):
    """Label Studio keeps a deleted snapshot's file (the whole project with annotator
    e-mails) under media/export; on curate's own server the pull removes it, and leaves the
    file of a snapshot that is kept."""
    from curate.studio.client import connect

    project, _, _ = annotated
    pid = project["id"]
    folder = Path(studio.data_dir) / "media" / "export" / str(pid)
    # A server curate did not start itself (no data folder known) is left alone.
    elsewhere = connect(studio.url, studio.api_key, data_dir=tmp_path / "none")
    assert elsewhere.data_dir is None
    pull(elsewhere, pid, tmp_path / "a")
    assert list(folder.glob("*.json")), "Label Studio wrote no export file to tidy"
    conn = connect(studio.url, studio.api_key, data_dir=studio.data_dir)
    assert conn.data_dir == Path(studio.data_dir).absolute()
    pull(conn, pid, tmp_path / "b")
    assert not list(folder.glob("*.json"))
    kept = pull(conn, pid, tmp_path / "c", keep_snapshot=True)
    (left,) = folder.glob("*.json")
    conn.request("DELETE", f"/api/projects/{pid}/exports/{kept.snapshot_id}", ok=(200, 204))
    pull(conn, pid, tmp_path / "d")
    assert not left.exists() and not list(folder.glob("*.json"))


def test_export_is_read_task_by_task_and_bad_exports_are_one_line(tmp_path):
    """The export is parsed incrementally (ijson); what is not a list of task objects
    is one clear error naming the snapshot."""
    import types

    from curate.studio.pull import iter_export

    path = tmp_path / "raw.json"
    path.write_text(
        json.dumps([{"id": 1, "data": {"text": "é 😀"}, "score": 0.5}, {"id": 2}]),
        encoding="utf-8",
    )
    tasks = iter_export(path, 7, 3)
    assert isinstance(tasks, types.GeneratorType)
    first = next(tasks)
    assert first == {"id": 1, "data": {"text": "é 😀"}, "score": 0.5}
    assert isinstance(first["score"], float) and next(tasks) == {"id": 2}
    for body, message in (
        ('{"tasks": []}', "snapshot 7 of project 3 is not a list of tasks"),
        ('[{"id": 1}, {"id": 2', "snapshot 7 of project 3 is not valid JSON"),
        ("[1, 2]", "holds a task that is not a JSON object"),
    ):
        path.write_text(body, encoding="utf-8")
        with pytest.raises(StudioError, match=message):
            list(iter_export(path, 7, 3))


def test_why_no_gold_names_the_cause():
    def result(**counts: int) -> PullResult:
        return PullResult(1, "news", 7, Path("pulls/news/7"), "http://ls", **counts)

    assert "no tasks" in result().why_no_gold()
    why = result(tasks=3, drafts=2).why_no_gold()
    assert why.startswith("no task has a submitted annotation yet (2 draft(s) skipped)")
    assert "curate adjudicate" in result(tasks=3, annotated_tasks=1, conflict_count=1).why_no_gold()


def test_a_project_title_with_accents_keeps_its_letters_in_the_folder_name() -> None:
    """Accented letters were dropped (``Élections`` -> ``lections``)."""
    from curate.studio.pull import slugify

    assert slugify("Élections à Montréal", 7) == "elections-a-montreal"
    assert slugify("新闻", 7) == "project-7"  # nothing ASCII left: the project's id

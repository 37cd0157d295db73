"""Pull: bring every human annotation back from Label Studio through an export snapshot.

``pull`` creates an export snapshot (full JSON with predictions and drafts, so relations
and the prediction each annotation started from survive; JSON_MIN and CONLL drop them),
polls it until it is ready, downloads it and writes, under
``<out_dir>/<project-slug>/<snapshot-id>/``:

* ``raw_export.json``: the export exactly as Label Studio sent it (the audit trail);
* ``gold.jsonl``: one Document per task with gold, chosen by :mod:`curate.studio.gold`;
* ``annotations.jsonl``: every submitted, non-cancelled annotation as its own Document
  (``provenance.annotator``), for agreement metrics;
* ``conflicts.jsonl``: tasks whose annotations disagree, with links to adjudicate them;
* ``report.json``: counts, conversion problems and the correction report.

The folder appears only when everything is written (built beside it, then renamed), and
``<project-slug>/latest`` names the newest one. Predictions never become gold.

The export is streamed: downloaded to disk in chunks (its md5 checked against the
snapshot's), then read task by task with ``ijson`` while gold, annotations and
conflicts are written line by line, so a pull's memory does not grow with the number
of tasks. After a verified download the snapshot is deleted on the server (each one is
a full copy of the project); ``keep_snapshot=True`` keeps it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ijson
import psutil

from curate import model, settings
from curate.errors import CurateError, StudioError
from curate.gold.merge import MergePolicy, merge_counts
from curate.io.jsonl import atomic_writer, dumps, open_private
from curate.model import Annotation, Document, content_hash
from curate.schema import LabelSchema, load_schema
from curate.studio.convert import ConvertReport, Parsed, parse_results, text_field
from curate.studio.corrections import CorrectionReport
from curate.studio.gold import (
    ADJUDICATED,
    CONFLICT,
    POLICY,
    Candidate,
    Conflict,
    Selection,
    select_gold,
    task_url,
)
from curate.studio.projects import pick_project
from curate.studio.review import Adjudication, adjudications

#: The export request: full JSON, predictions and drafts expanded, every annotation kind.
EXPORT_REQUEST: dict[str, Any] = {
    "title": "curate pull",
    "serialization_options": {
        "predictions": {"only_id": False},
        "drafts": {"only_id": False},
        "annotations__completed_by": {"only_id": False},
    },
    "annotation_filter_options": {"usual": True, "ground_truth": True, "skipped": True},
    "task_filter_options": {"only_with_annotations": False},
}

Policy = Callable[..., Selection]


@dataclass
class PullResult:
    """What a pull found and where it wrote it."""

    project_id: int
    project_title: str
    snapshot_id: int
    path: Path
    url: str
    tasks: int = 0
    annotated_tasks: int = 0
    annotations: int = 0
    cancelled: int = 0
    drafts: int = 0
    selection: Counter[str] = field(default_factory=Counter)
    gold_count: int = 0
    conflict_count: int = 0
    problems: ConvertReport = field(default_factory=ConvertReport)
    corrections: CorrectionReport = field(default_factory=CorrectionReport)
    #: Whether the export snapshot was deleted on the server after the download.
    snapshot_deleted: bool = False
    merge_policy: MergePolicy | None = None
    merge: Counter[str] = field(default_factory=Counter)
    #: Kept in memory only by :func:`convert_tasks` without a sink; else read from files.
    _gold: list[Document] | None = field(default=None, repr=False)
    _conflicts: list[Conflict] | None = field(default=None, repr=False)

    @property
    def gold(self) -> list[Document]:
        """The gold Documents (read from ``gold.jsonl`` after a pull)."""
        if self._gold is not None:
            return self._gold
        return list(self.iter_gold())

    def iter_gold(self) -> Iterator[Document]:
        """The gold Documents one at a time (``gold.jsonl`` streamed): for a release."""
        if self._gold is not None:
            yield from self._gold
            return
        for row in _rows(self.path / "gold.jsonl"):
            yield Document.from_dict(row)

    @property
    def conflicts(self) -> list[Conflict]:
        """The conflicts (read from ``conflicts.jsonl`` after a pull)."""
        if self._conflicts is not None:
            return self._conflicts
        return [
            Conflict(
                task_id=int(c["task_id"]),
                curate_id=str(c["curate_id"]),
                url=str(c["url"]),
                annotations=tuple(c.get("annotations") or ()),
                differences=tuple(c.get("differences") or ()),
                reason=str(c.get("reason") or "annotations disagree"),
            )
            for c in _rows(self.path / "conflicts.jsonl")
        ]

    @property
    def files(self) -> dict[str, Path]:
        names = ("raw_export.json", "gold.jsonl", "annotations.jsonl", "conflicts.jsonl")
        return {n: self.path / n for n in (*names, "report.json")}

    def policy_description(self) -> str:
        """How this pull chose gold: the task policy, the merge policy, adjudication."""
        merge = f" Merge: {self.merge_policy.describe()}." if self.merge_policy else ""
        return f"{POLICY}.{merge} Decisions of the review project (curate adjudicate) win."

    def why_no_gold(self) -> str:
        """Why this pull found no gold, as a clause for an error message (what to do)."""
        if not self.tasks:
            return "the project has no tasks; push articles first (curate push)"
        if not self.annotated_tasks:
            skipped = []
            if self.drafts:
                skipped.append(f"{self.drafts} draft(s)")
            if self.cancelled:
                skipped.append(f"{self.cancelled} cancelled")
            also = f" ({', '.join(skipped)} skipped)" if skipped else ""
            return f"no task has a submitted annotation yet{also}; annotate and submit first"
        if self.conflict_count:
            return (
                f"the {self.conflict_count} annotated task(s) are conflicts; settle them "
                "with curate adjudicate and pull again"
            )
        return f"no annotated task gave gold; see {self.path / 'report.json'}"

    def report(self) -> dict[str, Any]:
        """The content of ``report.json``."""
        return {
            "project": {"id": self.project_id, "title": self.project_title, "url": self.url},
            "snapshot_id": self.snapshot_id,
            "policy": POLICY,
            "merge_policy": self.merge_policy.to_dict() if self.merge_policy else None,
            "counts": {
                "tasks": self.tasks,
                "annotated_tasks": self.annotated_tasks,
                "annotations": self.annotations,
                "skipped_cancelled": self.cancelled,
                "skipped_drafts": self.drafts,
                "gold": self.gold_count,
                "conflicts": self.conflict_count,
                "selection": dict(sorted(self.selection.items())),
                "merge": dict(sorted(self.merge.items())),
            },
            "problems": {
                "counts": dict(sorted(self.problems.counts.items())),
                "messages": self.problems.messages[:200],
            },
            "corrections": self.corrections.to_dict(),
        }


def remove_abandoned(parent: Path) -> list[Path]:
    """Remove the half-written pull folders (``.SNAPSHOT.PID.*.tmp``) of pulls that were
    killed: those whose process no longer runs. Returns what was removed."""
    removed = []
    for tmp in parent.glob(".*.*.*.tmp"):
        parts = tmp.name.split(".")
        if not tmp.is_dir() or len(parts) < 5 or not parts[2].isdigit():
            continue
        if _process_alive(int(parts[2])):
            continue
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # another user's process: alive, not ours to judge


def pull(
    conn: Any,
    project: int | str | None = None,
    out_dir: str | Path = settings.PULLS_DIR,
    policy: Policy = select_gold,
    *,
    schema: LabelSchema | None = None,
    timeout: float = 3600.0,
    poll_interval: float = 0.5,
    keep_snapshot: bool = False,
    merge_policy: MergePolicy | None = None,
) -> PullResult:
    """Snapshot-export ``project`` (id, title, or the only project) and write the pull folder.

    ``conn`` is a :class:`curate.studio.client.Connection`. ``policy`` picks each task's
    gold from its candidates (default :func:`curate.studio.gold.select_gold`), merging
    region by region under ``merge_policy`` when one is given (:mod:`curate.gold.merge`).
    Decisions submitted in the project's review project (``curate adjudicate``) are the
    gold of the tasks they settle. The snapshot is deleted on the server afterwards
    unless ``keep_snapshot`` (also when the pull fails: it is only a copy of the
    project, and the next pull makes a new one).
    Raises StudioError if the project is not found, the export fails, or the download
    does not match the snapshot (md5, task count).
    """
    schema = schema or load_schema()
    proj = find_project(conn, project, schema)
    pid, title = int(proj["id"]), str(proj.get("title") or "")
    decided = adjudications(conn, pid, schema)
    snapshot = create_snapshot(conn, pid, timeout=timeout, poll_interval=poll_interval)
    sid = int(snapshot["id"])
    parent = Path(out_dir) / slugify(title, pid)
    parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{sid}.{os.getpid()}.", suffix=".tmp", dir=parent))
    # mkdtemp makes it 0700: keep it so, the pull holds annotator e-mails (files are 0600).
    result = PullResult(pid, title, sid, tmp, conn.url, merge_policy=merge_policy)
    try:
        raw_path = tmp / "raw_export.json"
        _, md5 = download_snapshot(conn, pid, sid, raw_path)
        if snapshot.get("md5") and snapshot["md5"] != md5:
            raise StudioError(
                f"the download of snapshot {sid} of project {pid} does not match its md5; "
                "pull again"
            )
        with _Files(tmp) as sink:
            tasks = iter_export(raw_path, sid, pid)
            convert_tasks(tasks, result, schema, policy, sink, decided=decided)
        expected = (snapshot.get("counters") or {}).get("task_number")
        if isinstance(expected, int) and expected != result.tasks:
            raise StudioError(
                f"snapshot {sid} of project {pid} holds {result.tasks} tasks, Label Studio "
                f"counted {expected}; pull again"
            )
        final = _free_name(parent, str(sid))
        result.path = final
        with atomic_writer(tmp / "report.json", private=True) as fh:
            json.dump(result.report(), fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if not keep_snapshot:
            result.snapshot_deleted = delete_snapshot(conn, pid, sid)
        remove_export_files(conn, pid)
    with atomic_writer(parent / "latest") as fh:
        fh.write(final.name + "\n")
    return result


def iter_export(path: Path, snapshot_id: int, project_id: int) -> Iterator[dict[str, Any]]:
    """The tasks of a JSON export file, one at a time (``ijson``: memory stays flat)."""
    where = f"snapshot {snapshot_id} of project {project_id}"
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()
        if not head.startswith(b"["):
            raise StudioError(f"{where} is not a list of tasks")
        fh.seek(0)
        try:
            for task in ijson.items(fh, "item", use_float=True):
                if not isinstance(task, dict):
                    raise StudioError(f"{where} holds a task that is not a JSON object")
                yield task
        except ijson.JSONError as e:
            raise StudioError(f"{where} is not valid JSON ({e})") from None


class _Collected:
    """A :func:`convert_tasks` sink that keeps everything in memory (small exports)."""

    def __init__(self) -> None:
        self.gold_docs: list[Document] = []
        self.annotation_docs: list[Document] = []
        self.conflict_list: list[Conflict] = []

    def gold(self, doc: Document) -> None:
        self.gold_docs.append(doc)

    def annotation(self, doc: Document) -> None:
        self.annotation_docs.append(doc)

    def conflict(self, conflict: Conflict) -> None:
        self.conflict_list.append(conflict)


class _Files:
    """A :func:`convert_tasks` sink that writes each record to its JSONL file at once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> _Files:
        names = ("gold.jsonl", "annotations.jsonl", "conflicts.jsonl")
        self._files = [open_private(self.folder / n) for n in names]
        return self

    def __exit__(self, *exc: object) -> None:
        for fh in self._files:
            fh.close()

    def gold(self, doc: Document) -> None:
        self._files[0].write(dumps(doc.to_dict()) + "\n")

    def annotation(self, doc: Document) -> None:
        self._files[1].write(dumps(doc.to_dict()) + "\n")

    def conflict(self, conflict: Conflict) -> None:
        self._files[2].write(dumps(conflict.to_dict()) + "\n")


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("r", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def convert_tasks(
    tasks: Iterable[Mapping[str, Any]],
    result: PullResult,
    schema: LabelSchema,
    policy: Policy = select_gold,
    sink: _Files | _Collected | None = None,
    decided: Mapping[int, Adjudication] | None = None,
) -> list[Document]:
    """Turn exported tasks into gold, conflicts and counts on ``result``, one task at a
    time; gold, annotations and conflicts go to ``sink`` as they are made.

    Without a sink they are kept in memory (``result.gold``, ``result.conflicts``) and
    every submitted annotation is returned as a Document (for ``annotations.jsonl``).
    ``decided`` maps task ids to reviewers' decisions
    (:func:`curate.studio.review.adjudications`): a conflicted task with a decision takes
    it as gold.
    """
    kept = _Collected() if sink is None else None
    out = sink or kept
    assert out is not None
    text_key = text_field(schema)
    for task in tasks:
        result.tasks += 1
        tid = int(task.get("id") or 0)
        data = task.get("data") or {}
        text = data.get(text_key)
        where = f"task {tid}"
        result.drafts += len(task.get("drafts") or ())
        if not isinstance(text, str) or not text:
            result.problems.add("no_text", f"{where}: has no data.{text_key}; skipped")
            continue
        curate_id = str(data.get("curate_id") or f"ls-task-{tid}")
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
        if data.get("curate_hash") and data["curate_hash"] != content_hash(text):
            result.problems.add(
                "hash_mismatch", f"{where}: text no longer matches curate_hash of {curate_id!r}"
            )
        predictions = {p.get("id"): p for p in task.get("predictions") or ()}
        parsed_predictions: dict[Any, Parsed | None] = {}
        latest = max(predictions.values(), key=lambda p: p.get("id") or 0, default=None)
        candidates: list[Candidate] = []
        for ann in task.get("annotations") or ():
            if ann.get("was_cancelled"):
                result.cancelled += 1
                continue
            pred = ann.get("prediction")
            if not (isinstance(pred, dict) and "result" in pred):
                pred = predictions.get(ann.get("parent_prediction")) or latest
            model_version = (pred or {}).get("model_version") or None
            annotator = _annotator(ann.get("completed_by"))
            lead_time = ann.get("lead_time")
            made_by = Annotation(
                annotators=(annotator,),
                annotation_ids=() if ann.get("id") is None else (int(ann["id"]),),
                task_id=tid,
                project_id=result.project_id,
                snapshot=str(result.snapshot_id),
                created_at=ann.get("created_at"),
                updated_at=ann.get("updated_at"),
                ground_truth=bool(ann.get("ground_truth")),
                lead_time=None if lead_time is None else float(lead_time),
                model_version=model_version,
            )
            parsed_pred = _parse_prediction(pred, text, schema, curate_id, parsed_predictions)
            report = ConvertReport()
            try:
                parsed = parse_results(
                    text,
                    ann.get("result") or [],
                    schema,
                    id=curate_id,
                    meta=meta,
                    provenance=made_by,
                    report=report,
                    where=f"task {tid} ({curate_id!r}) annotation {ann.get('id')}",
                    prediction=parsed_pred,
                )
            except CurateError as e:
                result.problems.add("bad_annotation", f"{where} annotation {ann.get('id')}: {e}")
                continue
            finally:
                result.problems.merge(report)
            doc = parsed.document
            result.annotations += 1
            result.corrections.add(parsed, parsed_pred, model_version, schema)
            out.annotation(doc)
            candidates.append(
                Candidate(
                    annotation_id=int(ann.get("id") or 0),
                    annotator=annotator,
                    document=doc,
                    ground_truth=bool(ann.get("ground_truth")),
                    created_at=ann.get("created_at"),
                    updated_at=ann.get("updated_at"),
                )
            )
        if candidates:
            result.annotated_tasks += 1
        extra = {"merge_policy": result.merge_policy} if result.merge_policy else {}
        sel = policy(
            candidates,
            task_id=tid,
            curate_id=curate_id,
            url=task_url(result.url, result.project_id, tid),
            **extra,
        )
        if sel.merge is not None:
            rules = result.merge_policy.labels if result.merge_policy else ()
            result.merge.update(merge_counts([sel.merge], [r.label for r in rules]))
        if sel.rule == CONFLICT and decided and tid in decided:
            adj = decided[tid]
            result.selection[ADJUDICATED] += 1
            made_by = replace(
                _gold_provenance(sel, result, tid),
                selection=ADJUDICATED,
                adjudication=model.Adjudication(
                    by=adj.reviewer,
                    at=adj.updated_at,
                    review_task_id=adj.review_task_id,
                    review_annotation_id=adj.review_annotation_id,
                    from_annotation_ids=adj.from_annotation_ids,
                ),
            )
            result.gold_count += 1
            out.gold(adj.document.with_(id=curate_id, meta=meta, provenance=made_by))
            continue
        result.selection[sel.rule] += 1
        if sel.rule == CONFLICT and sel.conflict is not None:
            result.conflict_count += 1
            out.conflict(sel.conflict)
        elif sel.gold is not None:
            result.gold_count += 1
            out.gold(sel.gold.with_(provenance=_gold_provenance(sel, result, tid)))
    if kept is None:
        return []
    result._gold, result._conflicts = kept.gold_docs, kept.conflict_list
    return kept.annotation_docs


def _parse_prediction(
    pred: Mapping[str, Any] | None,
    text: str,
    schema: LabelSchema,
    curate_id: str,
    cache: dict[Any, Parsed | None],
) -> Parsed | None:
    """The prediction an annotation started from, read once per prediction of a task."""
    if pred is None:
        return None
    key = pred.get("id") if pred.get("id") is not None else id(pred)
    if key not in cache:
        try:
            cache[key] = parse_results(
                text, pred.get("result") or [], schema, id=curate_id, report=ConvertReport()
            )
        except CurateError:  # a broken prediction: the annotation is diffed against nothing
            cache[key] = None
    return cache[key]


def _gold_provenance(sel: Selection, result: PullResult, task_id: int) -> Annotation:
    used = sel.used
    versions = [c.document.provenance.model_version for c in used if c.document.provenance]
    return Annotation(
        annotators=tuple(c.annotator for c in used),
        annotation_ids=tuple(c.annotation_id for c in used),
        task_id=task_id,
        project_id=result.project_id,
        project_title=result.project_title,
        snapshot=str(result.snapshot_id),
        created_at=min((c.created_at for c in used if c.created_at), default=None),
        updated_at=max((c.updated_at for c in used if c.updated_at), default=None),
        ground_truth=any(c.ground_truth for c in used),
        selection=sel.rule,
        model_version=next((v for v in versions if v), None),
    )


def _annotator(completed_by: Any) -> str:
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or completed_by.get("id") or "unknown")
    return str(completed_by) if completed_by is not None else "unknown"


def find_project(
    conn: Any, project: int | str | None, schema: LabelSchema | None = None
) -> dict[str, Any]:
    """The project with this id or exact title (:func:`curate.studio.projects.pick_project`).

    With None: the only project there is, else the one `curate push` creates by default
    (``curate <config name>``).
    """
    return pick_project(conn, project, schema or load_schema())


def create_snapshot(
    conn: Any, project_id: int, *, timeout: float = 3600.0, poll_interval: float = 0.5
) -> dict[str, Any]:
    """Create an export snapshot and wait until Label Studio has finished it.

    Returns the snapshot (``id``, ``status``, ``md5``, ``counters``). The creation is a
    raw POST on the connection's session: the SDK client resends a POST after a 5xx,
    which could leave a second full snapshot on the server.
    """
    # Label Studio builds the snapshot inside this request: a big project needs longer
    # than an ordinary call, up to the pull's own time limit.
    snap = conn.json_of(
        conn.request(
            "POST",
            f"/api/projects/{project_id}/exports/",
            json=EXPORT_REQUEST,
            timeout=max(timeout, conn.timeout),
        )
    )
    sid = int(snap["id"])
    deadline = time.monotonic() + timeout
    delay = min(poll_interval, 0.1)
    while snap.get("status") not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise StudioError(
                f"export snapshot {sid} of project {project_id} did not finish "
                f"within {timeout:.0f} s; try again later"
            )
        time.sleep(delay)
        delay = min(delay * 2, poll_interval)
        got = conn.call("read export snapshot", conn.sdk.projects.exports.get, project_id, sid)
        snap = got.model_dump(mode="json")
    if snap["status"] == "failed":
        raise StudioError(
            f"Label Studio failed to export project {project_id} (snapshot {sid}); "
            "see the server log"
        )
    return snap


def download_snapshot(conn: Any, project_id: int, snapshot_id: int, path: Path) -> tuple[int, str]:
    """Stream a finished snapshot as JSON to ``path`` (mode 0600: it holds annotator
    e-mails); return its size in bytes and md5."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    with open_private(path, "wb") as fh:

        def write_all() -> None:
            nonlocal size
            for chunk in conn.sdk.projects.exports.download(
                project_id,
                snapshot_id,
                export_type="JSON",
                request_options={"chunk_size": 1 << 20},
            ):
                fh.write(chunk)
                digest.update(chunk)
                size += len(chunk)

        conn.call("download export snapshot", write_all)
    return size, digest.hexdigest()


def delete_snapshot(conn: Any, project_id: int, snapshot_id: int) -> bool:
    """Delete an export snapshot on the server; False (never an error) if that failed,
    since the pull itself is done."""
    try:
        conn.call(
            "delete export snapshot", conn.sdk.projects.exports.delete, project_id, snapshot_id
        )
    except CurateError:
        return False
    return True


def remove_export_files(conn: Any, project_id: int) -> list[Path]:
    """Delete the export files of ``project_id``'s deleted snapshots on curate's embedded
    Label Studio; return the paths removed.

    Label Studio 1.23 keeps a snapshot's file (a full copy of the project, annotator
    e-mails included) under ``<data dir>/media/export/<project id>/`` when the snapshot is
    deleted: the flag that would delete it, ``ff_back_dev_4664_remove_storage_file_on_
    export_delete_29032023_short``, is a stale flag fixed to off. A file is named
    ``project-<id>-at-<date>-<md5[:8]>[_<suffix>].json``; one whose md5 prefix is no live
    snapshot's is removed. Nothing happens for a server elsewhere (``conn.data_dir`` is
    None). Never raises: the pull is done either way.
    """
    if conn.data_dir is None:
        return []
    folder = Path(conn.data_dir) / "media" / "export" / str(project_id)
    try:
        live = {
            str(s.get("md5") or "")[:8]
            for s in conn.get_json(f"/api/projects/{project_id}/exports/")
            if isinstance(s, dict)
        }
        removed = []
        for path in folder.glob(f"project-{project_id}-at-*.json"):
            m = re.fullmatch(rf"project-{project_id}-at-[\d-]+-([0-9a-f]{{8}})(?:_\w+)?", path.stem)
            if m and m.group(1) not in live:
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed
    except (CurateError, OSError):
        return []


def slugify(title: str, project_id: int) -> str:
    """A folder name for a project: its title in lowercase ASCII words joined by dashes;
    accented letters lose their accents (``Élections à Montréal`` ->
    ``elections-a-montreal``, by Unicode NFKD decomposition), other letters become dashes."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60]
    return slug or f"project-{project_id}"


def _free_name(parent: Path, name: str) -> Path:
    # Snapshot ids restart with a new server; never overwrite an earlier pull.
    path, n = parent / name, 1
    while path.exists():
        n += 1
        path = parent / f"{name}-{n}"
    return path

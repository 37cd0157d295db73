"""Writing tasks and predictions into a project, and checking what Label Studio stored.

Imports go in batches; each batch is one transaction in Label Studio, so a push that
is killed or loses the server leaves whole batches behind. The import body is encoded
in this process while the server stores the previous batch.

Label Studio can store a task and silently skip its prediction when its database is
busy (SQLite's "database is locked" while an annotator saves): the import answers
success all the same. So after every write of predictions :func:`ensure_predictions`
reads back, from the database, which of the tasks lack their prediction, adds those,
and reads again; what is still missing is returned by article id for the caller to
report.

These are raw calls on the connection's session rather than SDK calls: the SDK client
resends a POST after any 5xx (``label_studio_sdk.core.http_client._should_retry``),
which repeats an import Label Studio may already have committed, and it would
re-serialise the body that is encoded here ahead of time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from curate.errors import StudioError
from curate.studio.client import Connection, TransientError
from curate.studio.tasks import ExistingTask, existing_tasks, lacking_prediction

DEFAULT_BATCH_SIZE = 500
#: Rounds of "read back, add what is missing" before giving up on a prediction.
REPAIR_ROUNDS = 2
_JSON = {"Content-Type": "application/json; charset=utf-8"}

#: ``(curate id, task id, text hash)`` of a task that is in the project.
Stored = tuple[str, int, str | None]
ProgressFn = Callable[[int, int], None]


@dataclass
class ImportOutcome:
    """What :func:`import_tasks` did."""

    stored: list[Stored] = field(default_factory=list)
    batches: int = 0
    #: Batches whose import failed ambiguously and were completed from a read-back.
    reconciled: int = 0


@dataclass
class PredictionCheck:
    """What :func:`ensure_predictions` found and did."""

    checked: int = 0
    added: int = 0
    #: Article ids whose task still lacks its prediction after the repair rounds.
    missing: list[str] = field(default_factory=list)


def import_tasks(
    conn: Connection,
    project_id: int,
    title: str,
    tasks: list[dict[str, Any]],
    batch_size: int,
    progress: ProgressFn | None = None,
) -> ImportOutcome:
    """Import ``tasks`` (built by :func:`curate.studio.documents.build_task`) in batches.

    ``progress(done, total)`` is called after each batch. ``stored`` holds the task
    ids as Label Studio answered them: read the project back to know what it stored
    (:func:`curate.studio.tasks.tasks_since`). Raises StudioError when a batch cannot
    be stored; the batches before it stay (a repeated push skips them).
    """
    out = ImportOutcome()
    total, done = len(tasks), 0
    if progress:
        progress(0, total)
    if not tasks:
        return out

    def finish(future: Future[list[Stored]], size: int) -> None:
        nonlocal done
        stored = future.result()
        out.stored.extend(stored)
        out.batches += 1
        done += size
        if progress:
            progress(done, total)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curate-push") as pool:
        inflight: tuple[Future[list[Stored]], int] | None = None
        for k in range(0, total, batch_size):
            batch = tasks[k : k + batch_size]
            body = json.dumps(batch, ensure_ascii=False).encode("utf-8")
            future = pool.submit(_import_batch, conn, project_id, title, batch, body, out)
            if inflight is not None:
                finish(*inflight)
            inflight = (future, len(batch))
        if inflight is not None:
            finish(*inflight)
    return out


def _import_batch(
    conn: Connection,
    project_id: int,
    title: str,
    batch: list[dict[str, Any]],
    body: bytes,
    out: ImportOutcome,
) -> list[Stored]:
    """Import one batch. When the request fails where Label Studio may have acted on
    it, read back which of the batch's tasks are there and import only the others, once.
    """
    path = f"/api/projects/{project_id}/import?return_task_ids=true"
    try:
        return _stored(conn, path, batch, body, title)
    except TransientError:
        pass
    stored: list[Stored] = []
    try:
        there = existing_tasks(conn, project_id)
        missing = []
        for t in batch:
            old = there.get(t["meta"]["curate_id"])
            if old is None:
                missing.append(t)
            else:
                stored.append((t["meta"]["curate_id"], old.task_id, old.hash))
        if missing:
            body = json.dumps(missing, ensure_ascii=False).encode("utf-8")
            stored.extend(_stored(conn, path, missing, body, title))
    except TransientError:
        raise StudioError(
            f"Label Studio kept failing while importing into project {title!r}; run the "
            "same push again when the server is back: it skips what is there"
        ) from None
    out.reconciled += 1
    return stored


def _stored(
    conn: Connection, path: str, batch: list[dict[str, Any]], body: bytes, title: str
) -> list[Stored]:
    answer = conn.json_of(conn.request("POST", path, data=body, headers=_JSON))
    ids = answer.get("task_ids") or []
    if len(ids) != len(batch):
        raise StudioError(
            f"Label Studio stored {len(ids)} of {len(batch)} tasks of a batch in "
            f"project {title!r}; run the same push again to finish"
        )
    metas = (t["meta"] for t in batch)
    return [(m["curate_id"], int(i), m["curate_hash"]) for m, i in zip(metas, ids, strict=True)]


def ensure_predictions(
    conn: Connection,
    project_id: int,
    expected: dict[int, tuple[str, dict[str, Any]]],
    rounds: int = REPAIR_ROUNDS,
    *,
    any_version: bool = False,
) -> PredictionCheck:
    """Make sure every task in ``expected`` (``task id -> (curate id, prediction)``)
    holds a prediction of its model version (with ``any_version``: any prediction at
    all), reading the database, not import answers.

    Missing ones are imported again (``/import/predictions``) and read back, up to
    ``rounds`` times. ``added`` counts the tasks repaired so; the article ids still
    lacking a prediction are in ``missing``.
    """
    check = PredictionCheck(checked=len(expected))
    first = lacking = _lacking(conn, project_id, expected, any_version)
    for _ in range(rounds):
        if not lacking:
            break
        add_predictions(
            conn, project_id, [{"task": tid, **expected[tid][1]} for tid in sorted(lacking)]
        )
        lacking = _lacking(conn, project_id, {t: expected[t] for t in lacking}, any_version)
    check.added = len(first - lacking)
    check.missing = sorted(expected[t][0] for t in lacking)
    return check


def _lacking(
    conn: Connection,
    project_id: int,
    expected: dict[int, tuple[str, dict[str, Any]]],
    any_version: bool,
) -> set[int]:
    by_version: dict[str | None, list[int]] = defaultdict(list)
    for tid, (_, pred) in expected.items():
        by_version[None if any_version else str(pred.get("model_version") or "")].append(tid)
    out: set[int] = set()
    for version, tids in by_version.items():
        out |= lacking_prediction(conn, project_id, tids, version)
    return out


def add_predictions(conn: Connection, project_id: int, predictions: list[dict[str, Any]]) -> int:
    """Import predictions (``{"task": id, "model_version", "score", "result"}``) in
    batches; returns how many Label Studio says it created (check with
    :func:`ensure_predictions`)."""
    made = 0
    for i in range(0, len(predictions), DEFAULT_BATCH_SIZE):
        chunk = predictions[i : i + DEFAULT_BATCH_SIZE]
        body = conn.json_of(
            conn.request("POST", f"/api/projects/{project_id}/import/predictions", json=chunk)
        )
        made += int(body.get("created", len(chunk)))
    return made


def replace_task(
    conn: Connection, project_id: int, old: ExistingTask, task: dict[str, Any]
) -> bool:
    """Replace a task's text (data, meta) and its predictions with ``task``'s (none for a
    plain article's task); returns whether people had annotated it (their annotations
    are kept). Check the new prediction with :func:`ensure_predictions`."""
    tid = old.task_id
    annotated = bool(conn.call("read task", conn.sdk.tasks.get, str(tid)).total_annotations)
    conn.call("update task", conn.sdk.tasks.update, str(tid), data=task["data"], meta=task["meta"])
    for p in conn.call("list predictions", conn.sdk.predictions.list, task=tid):
        conn.call("delete prediction", conn.sdk.predictions.delete, p.id)
    if task.get("predictions"):
        add_predictions(conn, project_id, [{"task": tid, **task["predictions"][0]}])
    return annotated


def missing_versions(
    versions: dict[int, set[str]], tasks: Iterable[tuple[int, dict[str, Any] | None]]
) -> list[dict[str, Any]]:
    """The predictions of ``(task id, prediction)`` whose model version the task lacks
    (a None prediction, a plain article's, is never missing)."""
    return [
        {"task": tid, **pred}
        for tid, pred in tasks
        if pred is not None and pred["model_version"] not in versions.get(tid, set())
    ]

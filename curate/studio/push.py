"""Push pre-annotated documents to Label Studio as tasks with predictions, idempotently.

Label Studio duplicates tasks on every re-import, so push first looks up which
articles the project already has (one paged task list per push, reading the small
``task.meta`` where push records ``curate_id`` and ``curate_hash``), then imports only
the new ones in batches. Each batch is one transaction in Label Studio, so a push that
is killed or loses the server leaves whole batches behind; running it again finds them
and finishes the rest. A text that changed under the same id is refused unless
``update=True``; ``add_predictions=True`` adds a new model version's predictions to
tasks already there, never touching their annotations.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import InputError, StudioError
from curate.io import records
from curate.model import Document, Prediction
from curate.schema import LabelSchema, load_schema, validate_config
from curate.studio import ledger as ledgers
from curate.studio.client import Connection, TransientError
from curate.studio.convert import document_to_results, document_to_task, prediction_score

DEFAULT_BATCH_SIZE = 500
#: The score of a prediction none of whose regions has a score.
DEFAULT_SCORE = 1.0
UNKNOWN_MODEL = "unknown"
_LOOKUP_PAGE = 5000
_BATCH_ATTEMPTS = 4
_JSON = {"Content-Type": "application/json; charset=utf-8"}


@dataclass
class PushResult:
    """What a push did, per article id where it matters."""

    project_id: int
    project_title: str
    project_url: str
    project_created: bool = False
    read: int = 0
    created: int = 0
    unchanged: int = 0
    updated: list[str] = field(default_factory=list)
    updated_with_annotations: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    predictions_added: int = 0
    problems: list[str] = field(default_factory=list)
    duplicates_in_input: list[str] = field(default_factory=list)
    duplicates_in_project: list[str] = field(default_factory=list)
    model_versions: Counter[str] = field(default_factory=Counter)
    settings: dict[str, Any] = field(default_factory=dict)
    add_predictions: bool = False
    batches: int = 0
    retried_batches: int = 0
    #: How existing tasks were found: "new project", "ledger" (the local record, checked
    #: against the project's task count and highest id) or "task list".
    lookup: str = "new project"

    @property
    def ok(self) -> bool:
        return not self.refused and not self.problems


@dataclass(frozen=True)
class ExistingTask:
    """A task the project already holds for an article id."""

    task_id: int
    hash: str | None


ProgressFn = Callable[[int, int], None]


def iter_documents(path: str | Path, problems: list[str]) -> Iterator[Document]:
    """Yield pre-annotated documents; a bad line is named in ``problems`` and skipped
    (checked by :mod:`curate.io.records`, as every command checks records)."""
    return (doc for _, doc in records.iter_documents(path, problems))


def read_documents(path: str | Path, problems: list[str]) -> list[Document]:
    """All documents of :func:`iter_documents` as a list."""
    return list(iter_documents(path, problems))


def push_file(conn: Connection, path: str | Path, **kwargs: Any) -> PushResult:
    """:func:`push` the documents of a pre-annotated JSONL file (bad lines are reported).

    The file is read while Label Studio answers the lookup of existing tasks.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            "not found; pass the JSONL written by `curate preannotate`", path=str(path)
        )
    problems: list[str] = []
    result = push(conn, iter_documents(path, problems), **kwargs)
    result.problems[:0] = problems
    result.read += len(problems)
    return result


def push(
    conn: Connection,
    documents: Iterable[Document],
    *,
    project: str | None = None,
    schema: LabelSchema | None = None,
    config: str | Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    update: bool = False,
    add_predictions: bool = False,
    annotators_per_task: int | None = None,
    overlap: float | None = None,
    progress: ProgressFn | None = None,
    recheck: bool = False,
) -> PushResult:
    """Create or reuse the project titled ``project`` and import ``documents`` as tasks.

    Safe to repeat: existing articles (by ``curate_id``) are skipped, changed texts are
    refused (listed in ``result.refused``) unless ``update``, and with
    ``add_predictions`` a model version a task lacks is added to it.
    ``annotators_per_task`` and ``overlap`` (percent of tasks that get that many
    annotators) set the project's overlap settings. Existing tasks are read from the
    local ledger when it still matches the project (:mod:`curate.studio.ledger`), else
    from the task list; ``recheck`` always reads the task list.
    """
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, not {batch_size}")
    _check_overlap(annotators_per_task, overlap)
    schema = schema or load_schema(config)
    validate_config(schema)  # offline, before anything reaches the server
    title = project or default_title(schema)
    if not 3 <= len(title) <= 50:
        raise InputError(
            f"project title {title!r} must have 3 to 50 characters (Label Studio's rule)"
        )

    # Ask the server what it has while the documents are read (a file is read lazily).
    dup_project: list[str] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curate-lookup") as pool:
        lookup = pool.submit(_lookup, conn, title, dup_project, recheck)
        docs, dup_input, problems = _dedupe(documents)
        proj, existing, ledger, how = lookup.result()

    new: list[Document] = []
    changed: list[Document] = []
    same: list[Document] = []
    for d in docs:
        old = existing.get(d.id)
        if old is None:
            new.append(d)
        elif old.hash == d.hash:
            same.append(d)
        else:
            changed.append(d)
    # Only what will be written is converted; labels are checked against the config the
    # tasks will live under, before any write.
    outgoing = new + (changed if update else []) + (same if add_predictions else [])
    tasks = {d.id: build_task(d, schema) for d in outgoing}
    schema.check_tasks(tasks.values(), f"project {title!r}", proj["label_config"] if proj else None)

    created = proj is None
    if proj is None:
        proj = create_project(conn, title, schema)
        ledger = ledgers.Ledger(conn.url, int(proj["id"]), str(proj.get("created_at") or ""))
    result = PushResult(
        project_id=int(proj["id"]),
        project_title=title,
        project_url=f"{conn.url}/projects/{proj['id']}/data",
        project_created=created,
        read=len(docs) + len(dup_input) + len(problems),
        unchanged=len(same),
        duplicates_in_input=dup_input,
        duplicates_in_project=dup_project,
        problems=problems,
        add_predictions=add_predictions,
        lookup=how,
    )
    result.settings = apply_overlap(conn, proj, annotators_per_task, overlap)
    for d in docs:
        result.model_versions[model_version(d)] += 1

    assert ledger is not None
    try:
        if changed and not update:
            result.refused = sorted(d.id for d in changed)
        elif changed:
            _update_tasks(conn, changed, existing, tasks, result, ledger)
        if same and add_predictions:
            _add_missing_predictions(conn, result, same, existing, tasks)
            if result.predictions_added and len(result.model_versions) == 1:
                # Label Studio shows the predictions of the project's model version: the new one.
                (mv,) = result.model_versions
                conn.request(
                    "PATCH", f"/api/projects/{result.project_id}", json={"model_version": mv}
                )
        _import_new(conn, result, [tasks[d.id] for d in new], batch_size, progress, ledger)
    except BaseException:
        # What reached the server is uncertain now: the next push reads the task list.
        ledgers.forget(conn.url, result.project_id)
        raise
    ledgers.save(ledger)
    return result


def _lookup(
    conn: Connection, title: str, duplicates: list[str], recheck: bool
) -> tuple[dict[str, Any] | None, dict[str, ExistingTask], ledgers.Ledger | None, str]:
    """The project, its tasks by curate id, the ledger to keep, and how they were found."""
    proj = find_project(conn, title)
    if proj is None:
        return None, {}, None, "new project"
    pid = int(proj["id"])
    count, max_id = task_extent(conn, pid)
    created = str(proj.get("created_at") or "")
    if count == 0:
        return proj, {}, ledgers.Ledger(conn.url, pid, created), "task list"
    led = None if recheck else ledgers.load(conn.url, pid)
    if led is not None and (led.project_created, led.count, led.max_id) == (
        created,
        count,
        max_id,
    ):
        return proj, {k: ExistingTask(*v) for k, v in led.tasks.items()}, led, "ledger"
    existing = existing_tasks(conn, pid, duplicates)
    led = ledgers.Ledger(conn.url, pid, created, count=count, max_id=max_id)
    led.tasks = {k: (t.task_id, t.hash) for k, t in existing.items()}
    return proj, existing, led, "task list"


def task_extent(conn: Connection, project_id: int) -> tuple[int, int]:
    """How many tasks the project has and its highest task id, in one small request."""
    page = conn.get_json(
        "/api/tasks",
        params={
            "project": project_id,
            "page_size": 1,
            "include": "id",
            "query": json.dumps({"ordering": ["-tasks:id"]}),
        },
    )
    tasks = page.get("tasks") or []
    return int(page.get("total") or 0), int(tasks[0]["id"]) if tasks else 0


def default_title(schema: LabelSchema) -> str:
    """The project title used when none is given: ``curate <config name>``."""
    return f"curate {schema.config_path.stem}"


def model_version(doc: Document) -> str:
    """The model version a document's predictions come from (its provenance's)."""
    return (doc.provenance.model_version if doc.provenance else None) or UNKNOWN_MODEL


def build_task(doc: Document, schema: LabelSchema) -> dict[str, Any]:
    """The import JSON for ``doc``: task data, ``meta`` for the lookup, one prediction."""
    task = document_to_task(doc, schema)
    # task.meta is returned alone by the task list, which keeps the per-push lookup small.
    task["meta"] = {"curate_id": doc.id, "curate_hash": doc.hash}
    task["predictions"] = [prediction(doc, schema)]
    return task


def prediction(doc: Document, schema: LabelSchema) -> dict[str, Any]:
    """The prediction for ``doc``; its score is the provenance's if set, else the mean of
    its regions' scores (:func:`curate.studio.convert.prediction_score`)."""
    score = doc.provenance.score if isinstance(doc.provenance, Prediction) else None
    result = document_to_results(doc, schema)
    if score is None:
        score = prediction_score(result)
    return {
        "model_version": model_version(doc),
        "score": float(score) if score is not None else DEFAULT_SCORE,
        "result": result,
    }


def find_project(conn: Connection, title: str) -> dict[str, Any] | None:
    """The project with exactly this title; StudioError if several share it."""
    found = [
        p
        for p in conn.paged("/api/projects", {"title": title}, "results", page_size=100)
        if p.get("title") == title
    ]
    if len(found) > 1:
        ids = ", ".join(str(p["id"]) for p in found)
        raise StudioError(
            f"{len(found)} Label Studio projects are titled {title!r} (ids {ids}); "
            "rename all but one, or push with another --project title"
        )
    return found[0] if found else None


def create_project(conn: Connection, title: str, schema: LabelSchema) -> dict[str, Any]:
    """A new project with the schema's label config."""
    body = {
        "title": title,
        "label_config": schema.xml,
        "description": "Created by curate push.",
        "show_collab_predictions": True,
    }
    return conn.request("POST", "/api/projects", json=body).json()


def apply_overlap(
    conn: Connection, proj: dict[str, Any], annotators: int | None, overlap: float | None
) -> dict[str, Any]:
    """Set ``maximum_annotations`` / ``overlap_cohort_percentage`` where asked and changed."""
    want: dict[str, Any] = {}
    if annotators is not None:
        want["maximum_annotations"] = annotators
    if overlap is not None:
        want["overlap_cohort_percentage"] = round(overlap)
        want["show_overlap_first"] = overlap < 100
    if not want:
        return {}
    if any(proj.get(k) != v for k, v in want.items()):
        conn.request("PATCH", f"/api/projects/{proj['id']}", json=want)
        proj.update(want)
    return want


def existing_tasks(
    conn: Connection, project_id: int, duplicates: list[str] | None = None
) -> dict[str, ExistingTask]:
    """``curate_id -> task`` for the project's tasks, read in one paged list.

    Tasks that lack ``meta.curate_id`` (imported by other tools) are read a second time
    with their data, where ``data.curate_id`` is the fallback.
    """
    found: dict[str, ExistingTask] = {}
    foreign = 0
    for t in _task_pages(conn, project_id, "id,meta"):
        meta = t.get("meta") or {}
        if meta.get("curate_id") is None:
            foreign += 1
            continue
        _remember(found, str(meta["curate_id"]), t, meta.get("curate_hash"), duplicates)
    if foreign:
        for t in _task_pages(conn, project_id, "id,meta,data"):
            data = t.get("data") or {}
            if (t.get("meta") or {}).get("curate_id") is None and data.get("curate_id"):
                _remember(found, str(data["curate_id"]), t, data.get("curate_hash"), duplicates)
    return found


def _task_pages(conn: Connection, project_id: int, include: str) -> Iterator[dict[str, Any]]:
    return conn.paged(
        "/api/tasks", {"project": project_id, "include": include}, "tasks", page_size=_LOOKUP_PAGE
    )


def _remember(
    found: dict[str, ExistingTask],
    cid: str,
    task: dict[str, Any],
    hash_: Any,
    duplicates: list[str] | None,
) -> None:
    if cid in found:
        if duplicates is not None:
            duplicates.append(cid)
        return
    found[cid] = ExistingTask(int(task["id"]), str(hash_) if hash_ else None)


def prediction_versions(conn: Connection, project_id: int) -> dict[int, set[str]]:
    """``task id -> model versions`` of the project's predictions (one list request)."""
    preds = conn.get_json("/api/predictions", params={"project": project_id})
    out: dict[int, set[str]] = {}
    for p in preds if isinstance(preds, list) else preds.get("results", []):
        out.setdefault(int(p["task"]), set()).add(str(p.get("model_version") or ""))
    return out


# --- internals ---------------------------------------------------------------------


def _check_overlap(annotators: int | None, overlap: float | None) -> None:
    if annotators is not None and annotators < 1:
        raise InputError(f"annotators per task must be at least 1, not {annotators}")
    if overlap is not None and not 0 <= overlap <= 100:
        raise InputError(f"overlap is a percentage of tasks (0-100), not {overlap}")
    if overlap is not None and overlap > 0 and annotators is None:
        raise InputError(
            "--overlap needs --annotators-per-task N (N >= 2): it says which share of tasks "
            "gets N annotators"
        )


def _dedupe(documents: Iterable[Document]) -> tuple[list[Document], list[str], list[str]]:
    seen: dict[str, Document] = {}
    dups: list[str] = []
    problems: list[str] = []
    for d in documents:
        first = seen.get(d.id)
        if first is None:
            seen[d.id] = d
        elif first.hash == d.hash:
            dups.append(d.id)
        else:
            problems.append(
                f"article {d.id!r} appears twice in the input with different texts; "
                "the first was kept - give each article its own id"
            )
    return list(seen.values()), dups, problems


def _import_new(
    conn: Connection,
    result: PushResult,
    tasks: list[dict[str, Any]],
    batch_size: int,
    progress: ProgressFn | None,
    ledger: ledgers.Ledger,
) -> None:
    """Import ``tasks`` in batches, encoding the next batch while the server stores one."""
    total, done = len(tasks), 0
    if progress:
        progress(0, total)
    if not tasks:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curate-push") as pool:
        inflight: tuple[Future[list[tuple[str, int, str | None]]], int] | None = None
        for k in range(0, total, batch_size):
            batch = tasks[k : k + batch_size]
            body = json.dumps(batch, ensure_ascii=False).encode("utf-8")
            future = pool.submit(_import_batch, conn, result, batch, body)
            if inflight is not None:
                done += _finish(result, ledger, *inflight)
                if progress:
                    progress(done, total)
            inflight = (future, len(batch))
        if inflight is not None:
            done += _finish(result, ledger, *inflight)
            if progress:
                progress(done, total)


def _finish(
    result: PushResult,
    ledger: ledgers.Ledger,
    future: Future[list[tuple[str, int, str | None]]],
    size: int,
) -> int:
    stored = future.result()
    for cid, tid, hash_ in stored:
        ledger.add(cid, tid, hash_)
    result.created += len(stored)
    result.batches += 1
    return size


def _import_batch(
    conn: Connection, result: PushResult, batch: list[dict[str, Any]], body: bytes
) -> list[tuple[str, int, str | None]]:
    """Import one batch; after an ambiguous failure, look again and send only what is missing.

    Returns ``(curate id, task id, hash)`` of the batch's tasks that are now in the
    project because of this push.
    """
    path = f"/api/projects/{result.project_id}/import?return_task_ids=true"
    stored: list[tuple[str, int, str | None]] = []
    for attempt in range(1, _BATCH_ATTEMPTS + 1):
        try:
            if attempt > 1:
                # The failed request may have been committed: send only what is still missing.
                there = existing_tasks(conn, result.project_id)
                missing = []
                for t in batch:
                    old = there.get(t["meta"]["curate_id"])
                    if old is None:
                        missing.append(t)
                    else:
                        stored.append((t["meta"]["curate_id"], old.task_id, old.hash))
                batch = missing
                if not batch:
                    return stored
                body = json.dumps(batch, ensure_ascii=False).encode("utf-8")
            answer = conn.request("POST", path, data=body, headers=_JSON).json()
            ids = answer.get("task_ids") or []
            if len(ids) != len(batch):
                raise StudioError(
                    f"Label Studio stored {len(ids)} of {len(batch)} tasks of a batch in "
                    f"project {result.project_title!r}; run the same push again to finish"
                )
            meta = (t["meta"] for t in batch)
            stored.extend(
                (m["curate_id"], int(i), m["curate_hash"]) for m, i in zip(meta, ids, strict=True)
            )
            return stored
        except TransientError:
            if attempt == _BATCH_ATTEMPTS:
                raise StudioError(
                    f"Label Studio kept failing while importing into project "
                    f"{result.project_title!r}; {result.created} new tasks were pushed this run. "
                    "Run the same push again when the server is back: it skips what is there"
                ) from None
            result.retried_batches += 1
            time.sleep(min(2.0 * attempt, 10.0))
    return stored  # unreachable: the loop returns or raises


def _update_tasks(
    conn: Connection,
    changed: list[Document],
    existing: dict[str, ExistingTask],
    tasks: dict[str, dict[str, Any]],
    result: PushResult,
    ledger: ledgers.Ledger,
) -> None:
    """Replace the text (data, meta) and the predictions of tasks whose article changed."""
    for d in changed:
        old = existing[d.id]
        task = tasks[d.id]
        annotated = conn.get_json(f"/api/tasks/{old.task_id}").get("total_annotations") or 0
        conn.request(
            "PATCH", f"/api/tasks/{old.task_id}", json={"data": task["data"], "meta": task["meta"]}
        )
        for p in conn.get_json("/api/predictions", params={"task": old.task_id}):
            conn.request("DELETE", f"/api/predictions/{p['id']}", ok=(200, 204, 404))
        conn.request(
            "POST", "/api/predictions", json={"task": old.task_id, **task["predictions"][0]}
        )
        result.updated.append(d.id)
        ledger.tasks[d.id] = (old.task_id, d.hash)
        if annotated:
            result.updated_with_annotations.append(d.id)


def _add_missing_predictions(
    conn: Connection,
    result: PushResult,
    same: list[Document],
    existing: dict[str, ExistingTask],
    tasks: dict[str, dict[str, Any]],
) -> None:
    versions = prediction_versions(conn, result.project_id)
    todo = []
    for d in same:
        tid = existing[d.id].task_id
        pred = tasks[d.id]["predictions"][0]
        if pred["model_version"] not in versions.get(tid, set()):
            todo.append({"task": tid, **pred})
    for i in range(0, len(todo), DEFAULT_BATCH_SIZE):
        chunk = todo[i : i + DEFAULT_BATCH_SIZE]
        body = conn.request(
            "POST", f"/api/projects/{result.project_id}/import/predictions", json=chunk
        ).json()
        result.predictions_added += int(body.get("created", len(chunk)))

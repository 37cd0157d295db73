"""Push pre-annotated documents to Label Studio as tasks with predictions, idempotently.

The jobs live in their own modules: reading documents and building task JSON
(:mod:`curate.studio.documents`), finding or creating the project and the per-project
lock (:mod:`curate.studio.projects`), the label check
(:meth:`curate.schema.LabelSchema.check_tasks`),
which tasks are there already (:mod:`curate.studio.tasks` with the ledger), and the
imports with their read-back (:mod:`curate.studio.imports`). This module runs them in
order and says what happened in a :class:`PushResult`.

A push holds a lock per project (two pushes on one machine never interleave), imports
only the articles the project lacks, and then reads back from Label Studio that every
task it wrote holds its prediction, adding the missing ones. A text that changed under
the same id is refused unless ``update=True``; ``add_predictions=True`` adds a new model
version's predictions to tasks already there, never touching their annotations. A plain
article (not pre-annotated) becomes a task without predictions
(:func:`curate.studio.documents.is_plain`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import InputError
from curate.model import Document
from curate.schema import LabelSchema, load_schema, validate_config
from curate.studio import imports
from curate.studio import ledger as ledgers
from curate.studio import projects as projects_
from curate.studio.client import Connection
from curate.studio.documents import (
    build_task,
    dedupe,
    is_plain,
    iter_documents,
    model_version,
    prediction,
    read_documents,
    task_prediction,
)
from curate.studio.imports import DEFAULT_BATCH_SIZE, ProgressFn
from curate.studio.projects import LOCK_TIMEOUT, default_title, project_lock
from curate.studio.tasks import (
    ExistingTask,
    existing_tasks,
    lacking_prediction,
    lookup,
    prediction_versions,
    tasks_since,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "PushResult",
    "build_task",
    "existing_tasks",
    "iter_documents",
    "push",
    "push_file",
    "read_documents",
]


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
    #: Plain articles read (no model's provenance, no spans): their tasks hold no
    #: prediction, and they are not counted in ``model_versions``.
    plain: int = 0
    #: Tasks whose prediction was read back from Label Studio after this push wrote it.
    predictions_checked: int = 0
    #: Tasks found without their prediction in the read-back, and given it again.
    predictions_repaired: int = 0
    #: Article ids whose task still has no prediction: the push is not done.
    predictions_missing: list[str] = field(default_factory=list)
    #: Article ids imported but not found in the project when read back.
    tasks_missing: list[str] = field(default_factory=list)
    #: Tasks whose id in Label Studio's import answer is not the id it stored.
    answered_ids_wrong: int = 0
    problems: list[str] = field(default_factory=list)
    duplicates_in_input: list[str] = field(default_factory=list)
    duplicates_in_project: list[str] = field(default_factory=list)
    #: Empty projects with the same title that appeared while the project was created,
    #: removed (the oldest is kept).
    duplicate_projects_removed: list[int] = field(default_factory=list)
    #: Other projects with the same title that hold tasks: left alone, reported.
    duplicate_projects: list[int] = field(default_factory=list)
    model_versions: Counter[str] = field(default_factory=Counter)
    settings: dict[str, Any] = field(default_factory=dict)
    add_predictions: bool = False
    batches: int = 0
    #: Batches whose import failed where Label Studio may have acted, completed from a
    #: read-back of the project.
    reconciled_batches: int = 0
    #: How existing tasks were found: "new project", "ledger" (the local record, checked
    #: against the project's task count and highest id) or "task list".
    lookup: str = "new project"

    @property
    def ok(self) -> bool:
        """True when nothing was left undone (refused, skipped, missing, ambiguous)."""
        return not (
            self.refused
            or self.problems
            or self.predictions_missing
            or self.tasks_missing
            or self.duplicate_projects
        )


class NothingToPush(InputError):
    """A push into a project that does not exist yet with no article to import."""


def check_source(path: str | Path) -> Path:
    """``path`` as a Path when it is a file; raises InputError naming it otherwise (a
    folder of articles given where the pre-annotated JSONL belongs, or a wrong name)."""
    path = Path(path)
    if not path.is_file():
        why = "is a folder" if path.is_dir() else "not found"
        raise InputError(
            f"{why}; pass the JSONL file written by `curate preannotate` "
            "(e.g. curate preannotate seeds -o pre.jsonl, then push pre.jsonl)",
            path=str(path),
        )
    return path


def push_file(
    conn: Connection,
    path: str | Path,
    prepare: Callable[[Iterator[Document]], Iterable[Document]] | None = None,
    **kwargs: Any,
) -> PushResult:
    """:func:`push` the documents of a pre-annotated JSONL file (bad lines are reported).

    The file is read while Label Studio answers the lookup of existing tasks; ``prepare``,
    when given, maps the documents read on their way (``push --order`` scores them).
    """
    path = check_source(path)
    problems: list[str] = []
    docs = iter_documents(path, problems)
    try:
        result = push(conn, prepare(docs) if prepare else docs, **kwargs)
    except NothingToPush as e:
        if not problems:
            raise
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NothingToPush(
            f"every line was skipped, e.g. {problems[0]}{more}; fix them and push again; "
            "no project created"
        ) from e
    result.problems[:0] = problems
    result.read += len(problems)
    return result


def push(
    conn: Connection,
    documents: Iterable[Document],
    *,
    project: str | int | None = None,
    schema: LabelSchema | None = None,
    config: str | Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    update: bool = False,
    add_predictions: bool = False,
    annotators_per_task: int | None = None,
    overlap: float | None = None,
    progress: ProgressFn | None = None,
    recheck: bool = False,
    lock_timeout: float = LOCK_TIMEOUT,
) -> PushResult:
    """Create or reuse the project ``project`` (a title, or the id of an existing one)
    and import ``documents`` as tasks with predictions.

    Safe to repeat and to run twice at once: a lock per project serialises pushes, and
    existing articles (by ``curate_id``) are skipped; changed texts are refused (listed
    in ``result.refused``) unless ``update``, and with ``add_predictions`` a model
    version a task lacks is added to it. ``annotators_per_task`` and ``overlap``
    (percent of tasks that get that many annotators) set the project's overlap
    settings. Existing tasks are read from the local ledger when it still matches the
    project (:mod:`curate.studio.ledger`), else from the task list; ``recheck`` always
    reads the task list. Every prediction written is read back; ``result.ok`` is False
    when anything was left undone. Raises StudioError (naming the ids) when several
    projects share the title, ConfigError for labels the project's config lacks.
    """
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, not {batch_size}")
    projects_.check_overlap(annotators_per_task, overlap)
    schema = schema or load_schema(config)
    validate_config(schema)  # offline, before anything reaches the server
    target = str(project) if project is not None else default_title(schema)
    if not target.isdigit():
        projects_.check_title(target)

    with ExitStack() as held:
        # Pushes into one project take turns: by title (creation) then by id (writes).
        held.enter_context(project_lock(conn.url, _lock_key(target), timeout=lock_timeout))
        dup_project: list[str] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curate-lookup") as pool:
            # Ask the server what it has while the documents are read (a file is lazy).
            found = pool.submit(_find, conn, target, held, dup_project, recheck, lock_timeout)
            docs, dup_input, problems = dedupe(documents)
            proj, title, existing, ledger, how = found.result()

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
        # Only what will be written is converted; labels are checked against the config
        # the tasks will live under, before any write.
        outgoing = new + (changed if update else []) + (same if add_predictions else [])
        tasks = {d.id: build_task(d, schema) for d in outgoing}
        schema.check_tasks(
            tasks.values(), f"project {title!r}", proj["label_config"] if proj else None
        )

        created = proj is None
        removed: list[int] = []
        others: list[int] = []
        if proj is None and not docs:
            # Nothing to import: no empty project left behind for people to wonder about.
            raise NothingToPush("no articles to push; no project created")
        if proj is None:
            proj, removed, others = projects_.create_project(conn, title, schema)
            held.enter_context(
                project_lock(conn.url, _lock_key(str(proj["id"])), timeout=lock_timeout)
            )
            ledger = ledgers.Ledger(conn.url, int(proj["id"]), str(proj.get("created_at") or ""))
        assert ledger is not None
        result = PushResult(
            project_id=int(proj["id"]),
            project_title=title,
            project_url=f"{conn.url}/projects/{proj['id']}/data",
            project_created=created,
            read=len(docs) + len(dup_input) + len(problems),
            unchanged=len(same),
            duplicates_in_input=dup_input,
            duplicates_in_project=dup_project,
            duplicate_projects_removed=removed,
            duplicate_projects=others,
            problems=problems,
            add_predictions=add_predictions,
            lookup=how,
        )
        result.settings = projects_.apply_overlap(conn, proj, annotators_per_task, overlap)
        for d in docs:
            if is_plain(d):
                result.plain += 1
            else:
                result.model_versions[model_version(d)] += 1

        try:
            _write(
                conn,
                result,
                schema,
                ledger,
                tasks,
                existing,
                new,
                changed,
                same,
                update=update,
                batch_size=batch_size,
                progress=progress,
            )
        except BaseException:
            # What reached the server is uncertain now: the next push reads the task list.
            ledgers.forget(conn.url, result.project_id)
            raise
        if result.predictions_missing or result.tasks_missing:
            ledgers.forget(conn.url, result.project_id)  # the next push checks again
        else:
            ledgers.save(ledger)
    return result


def _lock_key(target: str) -> str:
    return f"#{target}" if target.isdigit() else target


def _find(
    conn: Connection,
    target: str,
    held: ExitStack,
    duplicates: list[str],
    recheck: bool,
    lock_timeout: float,
) -> tuple[dict[str, Any] | None, str, dict[str, ExistingTask], ledgers.Ledger | None, str]:
    """The project (None: to be created), its title, its tasks by curate id, the ledger
    to keep, and how the tasks were found. Takes the project's id lock before reading
    its tasks."""
    proj, title = projects_.find_push_target(conn, target)
    if proj is None:
        return None, title, {}, None, "new project"
    if not target.isdigit():
        held.enter_context(project_lock(conn.url, _lock_key(str(proj["id"])), timeout=lock_timeout))
    existing, led, how = lookup(conn, proj, duplicates, recheck)
    return proj, title, existing, led, how


def _write(
    conn: Connection,
    result: PushResult,
    schema: LabelSchema,
    ledger: ledgers.Ledger,
    tasks: dict[str, dict[str, Any]],
    existing: dict[str, ExistingTask],
    new: list[Document],
    changed: list[Document],
    same: list[Document],
    *,
    update: bool,
    batch_size: int,
    progress: ProgressFn | None,
) -> None:
    """Every write of a push, then the read-back of the predictions it wrote."""
    pid = result.project_id
    written: dict[int, tuple[str, dict[str, Any]]] = {}
    if changed and not update:
        result.refused = sorted(d.id for d in changed)
    elif changed:
        for d in changed:
            old = existing[d.id]
            if imports.replace_task(conn, pid, old, tasks[d.id]):
                result.updated_with_annotations.append(d.id)
            result.updated.append(d.id)
            ledger.tasks[d.id] = (old.task_id, d.hash)
            _expect(written, old.task_id, d.id, tasks[d.id])
    if same and result.add_predictions:
        versions = prediction_versions(conn, pid)
        todo = imports.missing_versions(
            versions,
            ((existing[d.id].task_id, task_prediction(tasks[d.id])) for d in same),
        )
        result.predictions_added = imports.add_predictions(conn, pid, todo)
        by_task = {existing[d.id].task_id: d.id for d in same}
        written.update({p["task"]: (by_task[p["task"]], _pred(p)) for p in todo})
        for tid in {p["task"] for p in todo if not versions.get(p["task"])}:
            # A task with no prediction before (pushed plain: the ledger does not know):
            # not plain any more, its meta says so, or a later --recheck would not
            # repair a prediction lost from it.
            meta = tasks[by_task[tid]]["meta"]
            conn.call("update task meta", conn.sdk.tasks.update, str(tid), meta=meta)
        if result.predictions_added and len(result.model_versions) == 1:
            # Label Studio shows the predictions of the project's model version: the new one.
            (mv,) = result.model_versions
            conn.call("set model version", conn.sdk.projects.update, pid, model_version=mv)

    before = ledger.max_id
    outcome = imports.import_tasks(
        conn, pid, result.project_title, [tasks[d.id] for d in new], batch_size, progress
    )
    result.batches = outcome.batches
    result.reconciled_batches = outcome.reconciled
    if new:
        # What Label Studio stored, read back: the ids it answered can be wrong.
        there = tasks_since(conn, pid, before)
        answered = {cid: tid for cid, tid, _ in outcome.stored}
        for d in new:
            ids = sorted(there.get(d.id, ()))
            if not ids:
                result.tasks_missing.append(d.id)
                continue
            if len(ids) > 1:
                result.duplicates_in_project.append(d.id)
            result.created += 1
            result.answered_ids_wrong += answered.get(d.id) not in ids
            ledger.add(d.id, ids[0], d.hash)
            _expect(written, ids[0], d.id, tasks[d.id])

    check = imports.ensure_predictions(conn, pid, written)
    result.predictions_checked = check.checked
    result.predictions_repaired = check.added
    result.predictions_missing = check.missing
    if same and result.lookup == "task list":
        # The ledger was not trusted: a task an earlier push left bare is given its
        # prediction now (any model version will do). Plain articles have none to give,
        # and a task pushed plain stays bare until --add-predictions.
        same_docs = {
            existing[d.id].task_id: d for d in same if not (is_plain(d) or existing[d.id].plain)
        }
        bare = lacking_prediction(conn, pid, same_docs, None)
        again = imports.ensure_predictions(
            conn,
            pid,
            {t: (same_docs[t].id, prediction(same_docs[t], schema)) for t in bare},
            any_version=True,
        )
        result.predictions_checked += again.checked
        result.predictions_repaired += again.added
        result.predictions_missing += again.missing


def _expect(
    written: dict[int, tuple[str, dict[str, Any]]], task_id: int, cid: str, task: dict[str, Any]
) -> None:
    """Note the prediction written with ``task`` for the read-back (a plain article's
    task has none to check)."""
    pred = task_prediction(task)
    if pred is not None:
        written[task_id] = (cid, pred)


def _pred(p: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in p.items() if k != "task"}

"""Which tasks a project already holds: the push ledger when it still matches, else
the task list; and which tasks lack a prediction, read from what Label Studio stored.

Label Studio duplicates tasks on every re-import, so push looks up the articles a
project has (``task.meta.curate_id`` / ``curate_hash``) before importing. The local
ledger (:mod:`curate.studio.ledger`) spares a repeated push the whole task list while
the project's task count and highest id still match it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from curate.studio import ledger as ledgers
from curate.studio.client import Connection

_LOOKUP_PAGE = 5000


@dataclass(frozen=True)
class ExistingTask:
    """A task the project already holds for an article id."""

    task_id: int
    hash: str | None
    #: Pushed as a plain article, without a prediction (``meta.curate_plain``; known
    #: from the task list only, the ledger does not keep it).
    plain: bool = False


def lookup(
    conn: Connection, proj: dict[str, Any], duplicates: list[str], recheck: bool
) -> tuple[dict[str, ExistingTask], ledgers.Ledger, str]:
    """The project's tasks by curate id, the ledger to keep, and how they were found
    (``"ledger"`` or ``"task list"``); repeated curate ids go to ``duplicates``."""
    pid = int(proj["id"])
    count, max_id = task_extent(conn, pid)
    created = str(proj.get("created_at") or "")
    if count == 0:
        return {}, ledgers.Ledger(conn.url, pid, created), "task list"
    led = None if recheck else ledgers.load(conn.url, pid)
    if led is not None and (led.project_created, led.count, led.max_id) == (
        created,
        count,
        max_id,
    ):
        return {k: ExistingTask(*v) for k, v in led.tasks.items()}, led, "ledger"
    existing = existing_tasks(conn, pid, duplicates)
    led = ledgers.Ledger(conn.url, pid, created, count=count, max_id=max_id)
    led.tasks = {k: (t.task_id, t.hash) for k, t in existing.items()}
    return existing, led, "task list"


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


def tasks_since(conn: Connection, project_id: int, after_id: int) -> dict[str, list[int]]:
    """``curate_id -> task ids`` of the project's tasks with an id above ``after_id``,
    as Label Studio stored them (several ids: a duplicate).

    Push reads back what it imported this way instead of trusting the ids an import
    answered: on SQLite Label Studio numbers new tasks itself, and under concurrent
    writes its answer and its database can disagree.
    """
    query = {
        "filters": {
            "conjunction": "and",
            "items": [
                {
                    "filter": "filter:tasks:id",
                    "operator": "greater",
                    "type": "Number",
                    "value": after_id,
                }
            ],
        }
    }
    found: dict[str, list[int]] = {}
    pages = conn.paged(
        "/api/tasks",
        {"project": project_id, "include": "id,meta", "query": json.dumps(query)},
        "tasks",
        page_size=_LOOKUP_PAGE,
    )
    for t in pages:
        cid = (t.get("meta") or {}).get("curate_id")
        if cid is not None:
            found.setdefault(str(cid), []).append(int(t["id"]))
    return found


def lacking_prediction(
    conn: Connection, project_id: int, task_ids: Iterable[int], model_version: str | None
) -> set[int]:
    """Which of ``task_ids`` hold no prediction of ``model_version`` (None: no prediction
    at all) in the database.

    One filtered task list over the ids' range (Label Studio's data manager joins the
    predictions table), so only the tasks that lack it come back: a read of what was
    stored, not of what an import answered. Model versions are matched as Label
    Studio's filter does, by substring.
    """
    ids = set(task_ids)
    if not ids:
        return set()
    version_filter: dict[str, Any] = (
        {
            "filter": "filter:tasks:predictions_model_versions",
            "operator": "empty",
            "type": "List",
            "value": True,
        }
        if model_version is None
        else {
            "filter": "filter:tasks:predictions_model_versions",
            "operator": "not_contains",
            "type": "List",
            "value": [model_version],
        }
    )
    query = {
        "filters": {
            "conjunction": "and",
            "items": [
                {
                    "filter": "filter:tasks:id",
                    "operator": "in",
                    "type": "Number",
                    "value": {"min": min(ids), "max": max(ids)},
                },
                version_filter,
            ],
        }
    }
    bare = conn.paged(
        "/api/tasks",
        {"project": project_id, "include": "id", "query": json.dumps(query)},
        "tasks",
        page_size=_LOOKUP_PAGE,
    )
    return {int(t["id"]) for t in bare} & ids


def prediction_versions(conn: Connection, project_id: int) -> dict[int, set[str]]:
    """``task id -> model versions`` of the project's predictions (one list request)."""
    preds = conn.get_json("/api/predictions", params={"project": project_id})
    out: dict[int, set[str]] = {}
    for p in preds if isinstance(preds, list) else preds.get("results", []):
        out.setdefault(int(p["task"]), set()).add(str(p.get("model_version") or ""))
    return out


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
    plain = bool((task.get("meta") or {}).get("curate_plain"))
    found[cid] = ExistingTask(int(task["id"]), str(hash_) if hash_ else None, plain)

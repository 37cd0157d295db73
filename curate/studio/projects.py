"""Label Studio projects: find one by id or title, create one exactly once, overlap,
and the per-project lock that keeps two pushes from interleaving.

Reads that must return the project as Label Studio's JSON (``created_at`` as it is
stored, for the ledger) are raw GETs; updates and deletes go through the SDK. Creation
is a raw POST on the connection's session: the SDK client resends a POST after any 5xx,
which is how a busy server ends up with several projects of one title.

Titles are not unique in Label Studio, and a project creation that meets a busy
database can be repeated by the server, so curate never trusts a title blindly: a
lookup that finds several projects with one title names their ids (pass one with
``--project ID``), and :func:`create_project` looks again after creating and removes
the empty duplicates that appeared meanwhile, keeping the oldest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from curate import settings
from curate.errors import InputError, StudioError
from curate.schema import LabelSchema
from curate.studio.client import Connection, TransientError

#: How long a push waits for another push into the same project to finish (seconds).
LOCK_TIMEOUT = 3600.0


class DuplicateProjectsError(StudioError):
    """Several projects share a title; ``ids`` names them."""

    def __init__(self, title: str, ids: list[int]):
        shown = ", ".join(str(i) for i in ids)
        super().__init__(
            f"{len(ids)} Label Studio projects are titled {title!r} (ids {shown}); "
            "pass the one to use with --project ID, and rename or delete the others"
        )
        self.title = title
        self.ids = ids


def default_title(schema: LabelSchema) -> str:
    """The project title used when none is given: ``curate <config name>``."""
    return f"curate {schema.config_path.stem}"


def check_title(title: str) -> None:
    """InputError unless ``title`` has 3 to 50 characters (Label Studio's rule)."""
    if not 3 <= len(title) <= 50:
        raise InputError(
            f"project title {title!r} must have 3 to 50 characters (Label Studio's rule)"
        )


def project_by_id(conn: Connection, project_id: int) -> dict[str, Any] | None:
    """The project with this id, or None."""
    r = conn.request("GET", f"/api/projects/{project_id}", ok=(200, 404))
    return conn.json_of(r) if r.status_code == 200 else None


def projects_titled(conn: Connection, title: str) -> list[dict[str, Any]]:
    """Every project with exactly this title, oldest (lowest id) first."""
    found = [
        p
        for p in conn.paged("/api/projects", {"title": title}, "results", page_size=100)
        if p.get("title") == title
    ]
    return sorted(found, key=lambda p: int(p["id"]))


def find_project(conn: Connection, title: str) -> dict[str, Any] | None:
    """The project with exactly this title, or None; :class:`DuplicateProjectsError` if
    several share it."""
    found = projects_titled(conn, title)
    if len(found) > 1:
        raise DuplicateProjectsError(title, [int(p["id"]) for p in found])
    return found[0] if found else None


def find_push_target(conn: Connection, project: str) -> tuple[dict[str, Any] | None, str]:
    """``(project or None, title)`` for push's ``--project`` value: a number is a project
    id (it must exist, else a title of digits), anything else a title (None: create it).
    """
    if project.isdigit():
        proj = project_by_id(conn, int(project))
        if proj is not None:
            return proj, str(proj.get("title") or project)
        titled = find_project(conn, project)
        if titled is None:
            raise StudioError(
                f"Label Studio at {conn.url} has no project with id {project}; "
                "pass an existing id, or a title (letters too) to create a project"
            )
        return titled, project
    check_title(project)
    return find_project(conn, project), project


def pick_project(
    conn: Connection, project: int | str | None, schema: LabelSchema
) -> dict[str, Any]:
    """The project with this id or exact title, for commands that read a project.

    With None: the only project there is, else the one `curate push` creates by default.
    Raises StudioError naming the choices when there is none or several.
    """
    if isinstance(project, int) or (isinstance(project, str) and project.isdigit()):
        proj = project_by_id(conn, int(project))
        if proj is not None:
            return proj
        if isinstance(project, int):
            raise StudioError(f"Label Studio at {conn.url} has no project {project}")
    projects = list(conn.paged("/api/projects", {}, "results", page_size=100))
    titles = ", ".join(repr(p.get("title")) for p in projects[:10]) or "none"
    if project is None:
        if len(projects) == 1:
            return projects[0]
        found = [p for p in projects if p.get("title") == default_title(schema)]
        if len(found) == 1:
            return found[0]
        raise StudioError(
            f"Label Studio at {conn.url} has {len(projects)} projects ({titles}); "
            "name one with --project"
        )
    found = sorted((p for p in projects if p.get("title") == project), key=lambda p: int(p["id"]))
    if len(found) == 1:
        return found[0]
    if not found:
        what = "with id or title" if str(project).isdigit() else "titled"
        raise StudioError(f"no project {what} {project!r} at {conn.url}; projects: {titles}")
    raise DuplicateProjectsError(project, [int(p["id"]) for p in found])


def create_project(
    conn: Connection, title: str, schema: LabelSchema
) -> tuple[dict[str, Any], list[int], list[int]]:
    """Create the project titled ``title`` once: ``(project, removed ids, other ids)``.

    Call it under :func:`project_lock` after :func:`find_project` found none. When the
    creation fails in a way where Label Studio may have acted on it, the title is looked
    up before anything else. Afterwards the title is looked up again: projects with it
    that appeared meanwhile (a creation the server repeated, another machine's push) and
    hold no task are deleted, the oldest is kept; ``other ids`` are those that could not
    be removed because they hold tasks (the caller reports them).
    """
    body = {
        "title": title,
        "label_config": schema.xml,
        "description": "Created by curate push.",
        "show_collab_predictions": True,
    }
    try:
        conn.request("POST", "/api/projects", json=body)
    except TransientError:
        if not projects_titled(conn, title):
            raise
    same = projects_titled(conn, title)
    if not same:
        raise StudioError(
            f"Label Studio accepted the new project {title!r} but does not list it; "
            "run the push again"
        )
    keep, removed, others = same[0], [], []
    for p in same[1:]:
        pid = int(p["id"])
        fresh = project_by_id(conn, pid)
        if fresh is not None and int(fresh.get("task_number") or 0) == 0:
            conn.call("delete duplicate project", conn.sdk.projects.delete, pid)
            removed.append(pid)
        elif fresh is not None:
            others.append(pid)
    return project_by_id(conn, int(keep["id"])) or keep, removed, others


def check_overlap(annotators: int | None, overlap: float | None) -> None:
    """InputError for overlap settings Label Studio cannot take."""
    if annotators is not None and annotators < 1:
        raise InputError(f"annotators per task must be at least 1, not {annotators}")
    if overlap is not None and not 0 <= overlap <= 100:
        raise InputError(f"overlap is a percentage of tasks (0-100), not {overlap}")
    if overlap is not None and overlap > 0 and annotators is None:
        raise InputError(
            "--overlap needs --annotators-per-task N (N >= 2): it says which share of tasks "
            "gets N annotators"
        )


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
        conn.call("set overlap", conn.sdk.projects.update, int(proj["id"]), **want)
        proj.update(want)
    return want


def lock_path(server: str, key: str, root: Path | None = None) -> Path:
    """The lock file of project ``key`` (a title or ``#id``) on ``server``, under the
    ledger folder; hashed, so no host or title appears in a file name."""
    digest = hashlib.sha256(f"{server.rstrip('/')}\0{key}".encode()).hexdigest()[:24]
    return (root or settings.ledger_dir()) / "locks" / f"{digest}.lock"


@contextmanager
def project_lock(
    server: str, key: str, *, timeout: float = LOCK_TIMEOUT, root: Path | None = None
) -> Iterator[Path]:
    """Hold the lock of project ``key`` on ``server`` for the ``with`` block.

    A second push into the same project (from this machine) waits until the first is
    done and then finds its tasks; the operating system releases the lock of a killed
    process. Raises StudioError after ``timeout`` seconds of waiting.
    """
    path = lock_path(server, key, root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not thread-local: push takes it in a worker thread and releases it in the caller.
        lock = FileLock(path, mode=0o600, thread_local=False)
        lock.acquire(timeout=timeout)
    except Timeout:
        raise StudioError(
            f"another push into project {key!r} has held its lock ({path}) for "
            f"{timeout:.0f} s; wait for it to finish and push again"
        ) from None
    except OSError as e:
        raise StudioError(
            f"cannot create the push lock {path} ({e.strerror}); set "
            f"{settings.ENV_LEDGER_DIR} to a writable folder"
        ) from None
    try:
        yield path
    finally:
        lock.release()

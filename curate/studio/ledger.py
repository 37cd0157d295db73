"""A local record of what push put where, so a repeated push need not list every task.

Label Studio's task list loads every task's predictions with it (about half a
millisecond per task), which makes reading 10,000 tasks back the bulk of a repeated
push. So after each push curate keeps, per server and project, ``curate_id -> (task id,
text hash)`` plus how many tasks the project held and its highest task id. The next push
trusts that record only if the project (same creation time) still has exactly that many
tasks and that highest id, which one tiny request tells: task ids are never reused, so any task
imported since has a higher id, and any task deleted lowers the count. Otherwise push
reads the whole task list as before and writes a fresh record.

The record is a cache: deleting it (``.curate/ledger/``, or ``$CURATE_LEDGER_DIR``) only
costs speed. It holds ids and hashes, never a token.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate import settings
from curate.io.jsonl import atomic_writer

LEDGER_DIR_ENV = settings.ENV_LEDGER_DIR
DEFAULT_LEDGER_DIR = settings.LEDGER_DIR
FORMAT = 1


@dataclass
class Ledger:
    """What one project held after the last push: ``tasks`` maps curate id to
    ``(task id, hash)``; ``count`` and ``max_id`` cover every task, curate's or not."""

    server: str
    project_id: int
    #: The project's ``created_at``: a new database can reuse the id, never this.
    project_created: str
    count: int = 0
    max_id: int = 0
    tasks: dict[str, tuple[int, str | None]] = field(default_factory=dict)

    def add(self, curate_id: str, task_id: int, hash_: str | None) -> None:
        if curate_id not in self.tasks:
            self.count += 1
        self.tasks[curate_id] = (task_id, hash_)
        self.max_id = max(self.max_id, task_id)


def ledger_dir() -> Path:
    return settings.ledger_dir()


def ledger_path(server: str, project_id: int, root: Path | None = None) -> Path:
    # The URL is hashed: a folder name must not carry a host (or credentials in a URL).
    key = hashlib.sha256(server.rstrip("/").encode("utf-8")).hexdigest()[:16]
    return (root or ledger_dir()) / key / f"project-{project_id}.json"


def load(server: str, project_id: int, root: Path | None = None) -> Ledger | None:
    """The recorded ledger, or None when there is none or it cannot be read."""
    path = ledger_path(server, project_id, root)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT or raw.get("server") != server.rstrip("/"):
            return None
        return Ledger(
            server=raw["server"],
            project_id=int(raw["project_id"]),
            project_created=str(raw["project_created"]),
            count=int(raw["count"]),
            max_id=int(raw["max_id"]),
            tasks={str(k): (int(v[0]), v[1]) for k, v in raw["tasks"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def save(ledger: Ledger, root: Path | None = None) -> bool:
    """Write the ledger atomically (a crash leaves the old one or none).

    It is only a cache: where it cannot be written (a read-only folder) push goes on
    without it, and False is returned.
    """
    body: dict[str, Any] = {
        "format": FORMAT,
        "server": ledger.server.rstrip("/"),
        "project_id": ledger.project_id,
        "project_created": ledger.project_created,
        "count": ledger.count,
        "max_id": ledger.max_id,
        "tasks": {k: list(v) for k, v in ledger.tasks.items()},
    }
    try:
        with atomic_writer(ledger_path(ledger.server, ledger.project_id, root)) as fh:
            json.dump(body, fh, ensure_ascii=False, separators=(",", ":"))
    except OSError:
        return False
    return True


def forget(server: str, project_id: int, root: Path | None = None) -> None:
    """Drop the ledger, so the next push reads the task list."""
    with contextlib.suppress(OSError):
        ledger_path(server, project_id, root).unlink(missing_ok=True)

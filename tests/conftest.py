"""Shared fixtures: one real Label Studio per test session, never a mock.

``studio`` starts the embedded server (free port, temporary data folder) once for the
session and stops it at the end; ``studio_conn`` is a checked connection to it and
``studio_project`` makes a fresh, empty project per test (deleted afterwards).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests never reach the Hugging Face hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def _private_push_ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Each test keeps its push ledger (curate.studio.ledger) in its own folder."""
    monkeypatch.setenv("CURATE_LEDGER_DIR", str(tmp_path_factory.mktemp("ledger")))


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running Label Studio: ``.url .api_key .username .password .data_dir``."""
    from curate.studio import server

    data_dir = tmp_path_factory.mktemp("label_studio")
    srv = server.start(data_dir, port=server.find_free_port())
    try:
        yield srv
    finally:
        server.stop_server(srv)


@pytest.fixture(scope="session")
def studio_conn(studio: Any) -> Any:
    """A checked :class:`curate.studio.client.Connection` to the session's server."""
    from curate.studio.client import connect

    return connect(studio.url, studio.api_key)


@pytest.fixture
def seed_studio_dir(studio: Any) -> Callable[[Path], Path]:
    """``seed(data_dir)`` copies the session server's database and login into ``data_dir``,
    so a second embedded server started there skips the minute of first-run migrations
    (sqlite's backup API copies the live database consistently)."""
    from curate.studio import server

    def seed(data_dir: Path) -> Path:
        data_dir.mkdir(parents=True, mode=0o700)
        src = sqlite3.connect(Path(studio.data_dir) / "label_studio.sqlite3")
        dst = sqlite3.connect(data_dir / "label_studio.sqlite3")
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()
        shutil.copy2(Path(studio.data_dir) / server.CREDENTIALS_FILE, data_dir)
        return data_dir

    return seed


@pytest.fixture
def studio_project(studio_conn: Any) -> Iterator[Callable[..., dict[str, Any]]]:
    """Factory ``make(title=None, label_config=None) -> project dict``; projects are
    deleted after the test so tests do not see each other's tasks."""
    from curate.schema import load_schema

    made: list[int] = []
    counter = iter(range(1_000_000))

    def make(title: str | None = None, label_config: str | None = None) -> dict[str, Any]:
        body = {
            "title": title or f"test project {os.getpid()}-{next(counter)}",
            "label_config": label_config or load_schema().xml,
        }
        project = studio_conn.request("POST", "/api/projects", json=body).json()
        made.append(project["id"])
        return project

    yield make
    for pid in made:
        studio_conn.request("DELETE", f"/api/projects/{pid}", ok=(200, 204, 404))


@pytest.fixture
def interrupted_run(tmp_path: Path) -> Callable[..., tuple[int, str]]:
    """``run(args, ready)``: ``curate ARGS`` on 400 copies of a seed article
    (``{articles}`` in ARGS is their JSONL) in a process group of its own; once
    ``ready(process)`` holds, Ctrl-C as a terminal sends it (SIGINT to the whole group).
    Returns the exit code and stderr. The group is killed if it outlives the test."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    seed = Path(__file__).resolve().parent.parent / "seeds" / "000_4467d989d7ade940.txt"
    text = seed.read_text(encoding="utf-8")
    articles = tmp_path / "many.jsonl"
    with articles.open("w", encoding="utf-8") as fh:
        for i in range(400):
            fh.write(json.dumps({"id": f"a{i}", "text": text}) + "\n")

    def run(args: list[str], ready: Callable[[psutil.Process], bool]) -> tuple[int, str]:
        curate = Path(sys.executable).with_name("curate")
        cmd = [str(curate), *(a.replace("{articles}", str(articles)) for a in args)]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 180
            while not ready(psutil.Process(proc.pid)) and time.monotonic() < deadline:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.2)
            os.killpg(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode, err

    return run

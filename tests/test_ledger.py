"""The push ledger on its own: atomic round trip, and anything odd means "no ledger"."""

from __future__ import annotations

import json

from curate.studio import ledger


def test_round_trip_and_counts(tmp_path):
    led = ledger.Ledger("http://127.0.0.1:8080/", 7, "2026-11-22T10:00:00Z", count=2, max_id=9)
    led.add("a", 12, "h1")
    led.add("a", 12, "h2")  # the same article again: replaced, not counted twice
    ledger.save(led, tmp_path)
    back = ledger.load("http://127.0.0.1:8080", 7, tmp_path)
    assert back == ledger.Ledger(
        "http://127.0.0.1:8080", 7, "2026-11-22T10:00:00Z", 3, 12, {"a": (12, "h2")}
    )
    # The folder name is a hash, not the host.
    (folder,) = tmp_path.iterdir()
    assert "127.0.0.1" not in folder.name and len(folder.name) == 16


def test_missing_corrupt_or_foreign_ledgers_are_ignored(tmp_path):
    assert ledger.load("http://h:1", 1, tmp_path) is None
    led = ledger.Ledger("http://h:1", 1, "t")
    ledger.save(led, tmp_path)
    path = ledger.ledger_path("http://h:1", 1, tmp_path)
    assert ledger.load("http://h:1", 1, tmp_path) is not None

    body = json.loads(path.read_text())
    path.write_text(json.dumps({**body, "format": 99}))
    assert ledger.load("http://h:1", 1, tmp_path) is None
    path.write_text(json.dumps({**body, "server": "http://other:1"}))
    assert ledger.load("http://h:1", 1, tmp_path) is None
    path.write_text('{"format": 1, "server": "http://h:1", "tasks": [')
    assert ledger.load("http://h:1", 1, tmp_path) is None

    ledger.forget("http://h:1", 1, tmp_path)
    ledger.forget("http://h:1", 1, tmp_path)  # twice is fine
    assert not path.exists()


def test_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(ledger.LEDGER_DIR_ENV, str(tmp_path / "l"))
    assert ledger.ledger_path("http://h:1", 3).parent.parent == tmp_path / "l"
    monkeypatch.delenv(ledger.LEDGER_DIR_ENV)
    assert ledger.ledger_path("http://h:1", 3).parts[:2] == (".curate", "ledger")


def test_an_unwritable_folder_is_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    led = ledger.Ledger("http://h:1", 1, "t")
    assert ledger.save(led, blocker) is False  # the ledger is a cache: push goes on
    ledger.forget("http://h:1", 1, blocker)
    assert ledger.save(led, tmp_path / "ok") is True


def test_project_lock_serialises_pushes_and_names_the_holder(tmp_path):
    """Two holders of one project's lock take turns; a wait that runs out is one line."""
    import threading

    import pytest

    from curate.errors import StudioError
    from curate.studio.projects import lock_path, project_lock

    order: list[str] = []
    first_in = threading.Event()
    release = threading.Event()

    def first() -> None:
        with project_lock("http://h:1", "news", root=tmp_path):
            order.append("first in")
            first_in.set()
            release.wait(10)
            order.append("first out")

    t = threading.Thread(target=first)
    t.start()
    assert first_in.wait(10)
    with (
        pytest.raises(StudioError, match="another push into project 'news'"),
        project_lock("http://h:1", "news", root=tmp_path, timeout=0.2),
    ):
        pass
    # Another project, or the same title on another server, is not held up.
    with project_lock("http://h:1", "other", root=tmp_path, timeout=0.2):
        pass
    with project_lock("http://h:2", "news", root=tmp_path, timeout=0.2):
        pass
    release.set()
    with project_lock("http://h:1", "news", root=tmp_path, timeout=10):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]
    path = lock_path("http://h:1", "news", tmp_path)
    assert "news" not in path.name and path.parent.name == "locks"

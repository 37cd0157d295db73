"""Where curate looks for its project state (pure logic, no server)."""

from __future__ import annotations

from pathlib import Path

from curate import settings


def test_a_subfolder_finds_the_projects_embedded_server(tmp_path, monkeypatch):
    monkeypatch.delenv(settings.ENV_STUDIO_DIR, raising=False)
    monkeypatch.delenv(settings.ENV_LEDGER_DIR, raising=False)
    deep = tmp_path / "seeds" / "more"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    # No server anywhere above: the working directory's own (relative) folders.
    assert settings.studio_dir() == Path(".curate/studio")
    studio = tmp_path / ".curate" / "studio"
    studio.mkdir(parents=True)
    (studio / "credentials.json").write_text("{}")
    assert settings.studio_dir() == studio
    assert settings.ledger_dir() == tmp_path / ".curate" / "ledger"
    monkeypatch.chdir(tmp_path)
    assert settings.studio_dir() == Path(".curate/studio")
    monkeypatch.setenv(settings.ENV_STUDIO_DIR, "/elsewhere")
    assert settings.studio_dir() == Path("/elsewhere")

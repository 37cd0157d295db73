"""The embedded Label Studio and connections to it, against a real server."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from curate.errors import StudioError
from curate.studio import server
from curate.studio.client import Connection, connect

pytestmark = pytest.mark.studio


def test_fixture_server_is_healthy_and_recorded(studio):
    st = server.status(studio.data_dir)
    assert st.running and st.healthy
    assert st.url == studio.url and st.pid == studio.pid
    state = json.loads((Path(studio.data_dir) / server.STATE_FILE).read_text())
    # The state file tells where the server is, never how to log in.
    assert studio.api_key not in json.dumps(state)
    assert studio.password not in json.dumps(state)


def test_credentials_file_is_private(studio):
    path = Path(studio.data_dir) / server.CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = server.read_credentials(studio.data_dir)
    assert creds is not None and creds.api_key == studio.api_key


def test_sdk_accepts_the_legacy_token(studio):
    from label_studio_sdk.client import LabelStudio

    me = LabelStudio(base_url=studio.url, api_key=studio.api_key).users.whoami()
    assert me.email == studio.username


def test_connect_resolution_order(studio, monkeypatch, tmp_path):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    # Nothing configured and no embedded server recorded: a clear error.
    with pytest.raises(StudioError, match="curate studio up"):
        connect(data_dir=tmp_path)
    # The embedded server's state and credentials.
    conn = connect(data_dir=studio.data_dir)
    assert conn.origin == "embedded server" and conn.url == studio.url
    # The environment wins over the embedded state.
    monkeypatch.setenv("LABEL_STUDIO_URL", studio.url + "/")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio.api_key)
    conn = connect(data_dir=tmp_path)
    assert conn.origin == "environment" and conn.url == studio.url
    assert conn.whoami()["email"] == studio.username


def test_wrong_token_is_one_line_without_the_token(studio, caplog):
    wrong = "0123456789abcdef-not-the-token-" + studio.api_key[:6]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StudioError) as exc:
        connect(studio.url, wrong)
    msg = str(exc.value)
    assert "refused the API key" in msg and "\n" not in msg
    assert wrong not in msg and studio.api_key not in msg
    assert wrong not in caplog.text and studio.api_key not in caplog.text
    conn = Connection(studio.url, wrong)
    assert wrong not in repr(conn)


def test_wrong_url_is_one_clear_line():
    port = server.find_free_port()
    conn = Connection(f"http://127.0.0.1:{port}", "secret-token-xyz", retries=1, backoff=0.01)
    with pytest.raises(StudioError) as exc:
        conn.whoami()
    msg = str(exc.value)
    assert "cannot reach Label Studio" in msg and "connection refused" in msg
    assert "secret-token-xyz" not in msg


def test_server_repr_hides_secrets(studio):
    text = repr(studio) + repr(server.read_credentials(studio.data_dir))
    assert studio.api_key not in text and studio.password not in text


def test_start_refuses_a_busy_port(studio, tmp_path):
    with pytest.raises(StudioError, match="already in use"):
        server.start(tmp_path / "other", port=studio.port)


def test_start_refuses_when_already_running(studio):
    with pytest.raises(StudioError, match="already running"):
        server.start(studio.data_dir, port=server.find_free_port())


def test_stop_leaves_foreign_processes_alone(tmp_path):
    # A state file pointing at a process that is not our Label Studio (this test run).
    import os

    (tmp_path / server.STATE_FILE).write_text(
        json.dumps({"pid": os.getpid(), "port": 1, "url": "http://127.0.0.1:1"})
    )
    st = server.status(tmp_path)
    assert not st.running and "stale" in st.note
    assert server.stop(tmp_path).running is False
    assert not (tmp_path / server.STATE_FILE).exists()


def test_studio_cli_up_status_down(seed_studio_dir, tmp_path, monkeypatch):
    """The embedded default through the CLI: up, up again, status, status --show-login, down."""
    from typer.testing import CliRunner

    from curate.cli import app

    runner = CliRunner()
    data_dir = tmp_path / "studio"
    seed_studio_dir(data_dir)
    monkeypatch.setenv("CURATE_STUDIO_DIR", str(data_dir))
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    port = str(server.find_free_port())
    up = runner.invoke(app, ["studio", "up", "--port", port])
    try:
        assert up.exit_code == 0, up.output
        assert f"Label Studio is up at http://127.0.0.1:{port}" in up.output
        creds = server.read_credentials(data_dir)
        assert creds is not None
        assert creds.password not in up.output and creds.api_key not in up.output

        again = runner.invoke(app, ["studio", "up"])
        assert again.exit_code == 0 and "already running" in again.output

        st = runner.invoke(app, ["studio", "status"])
        assert st.exit_code == 0 and "healthy" in st.output and creds.password not in st.output
        login = runner.invoke(app, ["studio", "status", "--show-login"])
        assert login.exit_code == 0
        assert creds.username in login.output and creds.password in login.output
        assert creds.api_key not in login.output

        # Other commands find it through the state file.
        conn = connect()
        assert conn.origin == "embedded server" and conn.whoami()["email"] == creds.username
    finally:
        down = runner.invoke(app, ["studio", "down"])
    assert down.exit_code == 0 and "stopped" in down.output
    gone = runner.invoke(app, ["studio", "status"])
    assert gone.exit_code == 1 and "not running" in gone.output
    again = runner.invoke(app, ["studio", "down"])
    assert again.exit_code == 0 and "not running" in again.output

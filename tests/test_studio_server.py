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
    # An existing folder others can read, with files as a umask of 022 leaves them.
    data_dir.chmod(0o755)
    for f in data_dir.iterdir():
        f.chmod(0o644)
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
        # The database holds the API token: folder 0700, every file in it 0600.
        assert f"made {data_dir} private" in up.output
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        files = {f.name: stat.S_IMODE(f.stat().st_mode) for f in data_dir.iterdir() if f.is_file()}
        assert {"label_studio.sqlite3", "credentials.json", "label_studio.log"} <= set(files)
        assert set(files.values()) == {0o600}, files
        # What Label Studio creates while it runs is private too.
        created = [p for p in data_dir.rglob("*") if p.is_file() and p.name not in files]
        assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in created), created

        again = runner.invoke(app, ["studio", "up"])
        assert again.exit_code == 0 and "already running" in again.output

        st = runner.invoke(app, ["studio", "status"])
        assert st.exit_code == 0 and "healthy" in st.output and creds.password not in st.output
        login = runner.invoke(app, ["studio", "status", "--show-login"])
        assert login.exit_code == 0
        # Not a terminal (a log, a pipe): the password stays in its 0600 file.
        assert creds.username in login.output and creds.password not in login.output
        assert "credentials.json (mode 0600)" in " ".join(login.output.split())
        monkeypatch.setattr("curate.cli.studio._terminal", lambda: True)
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


def test_connect_explains_a_url_without_scheme_or_with_a_path(studio, monkeypatch):
    """No traceback, no HTML page: one line that says what to write instead."""
    from curate.studio.client import normalize_url

    assert normalize_url("localhost:8080/") == "http://localhost:8080"
    assert normalize_url(" 127.0.0.1:9 ") == "http://127.0.0.1:9"
    with pytest.raises(StudioError, match="has no scheme; write it as https://ls.example.org"):
        normalize_url("ls.example.org")
    bare = studio.url.removeprefix("http://").replace("127.0.0.1", "localhost")
    assert connect(bare, studio.api_key).whoami()["email"] == studio.username
    with pytest.raises(StudioError) as exc:
        connect(studio.url + "/label-studio", studio.api_key)
    msg = str(exc.value)
    assert "'/label-studio'" in msg and f"({studio.url})" in msg
    assert "<" not in msg and "\n" not in msg


def _foreign_server(port_holder: list[int]):
    """Another web server that answers /health like Label Studio and refuses any token."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            ok = self.path.startswith("/health")
            body = b'{"status": "UP"}' if ok else b"<html><body>login</body></html>"
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json" if ok else "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_holder.append(httpd.server_address[1])
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_up_never_takes_another_server_for_its_own(seed_studio_dir, tmp_path, monkeypatch):
    """Another server takes the port between curate's check and Label Studio's start:
    curate finds the port its own process listens on (psutil), checks its token there,
    and never blames credentials; an explicit --port that was taken is one clear line."""
    ports: list[int] = []
    foreign = _foreign_server(ports)
    try:
        # The race: the port looked free when curate checked it.
        monkeypatch.setattr(server, "port_in_use", lambda host, port: False)
        monkeypatch.setattr(server, "DEFAULT_PORT", ports[0])
        data_dir = seed_studio_dir(tmp_path / "auto")
        srv = server.start(data_dir)
        try:
            assert srv.port != ports[0] and srv.port in server.listening_ports(srv.pid)
            st = server.status(data_dir)
            assert st.running and st.healthy and st.url == srv.url
            assert connect(srv.url, srv.api_key).whoami()["email"] == srv.username
        finally:
            server.stop_server(srv)
        assert not server.status(data_dir).running

        with pytest.raises(StudioError) as exc:
            server.start(seed_studio_dir(tmp_path / "explicit"), port=ports[0])
        msg = str(exc.value)
        assert f"port {ports[0]}" in msg and "another program" in msg and "--port" in msg
        assert "credentials" not in msg and "token" not in msg
        assert not server.status(tmp_path / "explicit").running
    finally:
        foreign.shutdown()
        foreign.server_close()


def test_one_retry_policy_resends_only_what_the_server_cannot_have_acted_on():
    """503/429 are resent for any method; a 500 only for idempotent methods (a POST after
    a 500 may have been stored); an HTML error page never reaches the message."""
    import http.server
    import threading
    from collections import Counter

    seen: Counter[tuple[str, str]] = Counter()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen[(self.command, self.path)] += 1
            code = 503 if self.path == "/busy" else 500
            if self.path == "/busy" and seen[(self.command, self.path)] >= 3:
                code = 200
            body = b"<!DOCTYPE html><html><body><h1>Server Error</h1></body></html>"
            if code == 200:
                body = b'{"ok": true}'
            self.send_response(code)
            self.send_header("Content-Type", "text/html" if code != 200 else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815 - the stdlib's names

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        conn = Connection(f"http://127.0.0.1:{httpd.server_address[1]}", "k" * 20, backoff=0.01)
        assert conn.request("POST", "/busy").json() == {"ok": True}
        assert seen[("POST", "/busy")] == 3
        with pytest.raises(StudioError) as exc:
            conn.request("POST", "/fail")
        assert seen[("POST", "/fail")] == 1  # never resent: it may have been stored
        assert "HTTP 500" in str(exc.value) and "an HTML page" in str(exc.value)
        assert "<" not in str(exc.value)
        with pytest.raises(StudioError):
            conn.request("GET", "/fail")
        assert seen[("GET", "/fail")] == 1 + conn.retries
    finally:
        httpd.shutdown()
        httpd.server_close()

"""Label Studio on a real PostgreSQL: `curate studio up --database postgres`, then the
full push / annotate / pull round trip, with the rows checked in PostgreSQL itself.

Needs Debian's ``postgresql`` package (``apt-get install -y postgresql``); skipped with a
clear reason when its binaries are missing, except under ``make test`` (and so CI), which
installs it and sets ``CURATE_REQUIRE_POSTGRES=1`` so a missing server fails instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.model import Document, Entity, Prediction, Quote, Span
from curate.schema import load_schema
from curate.studio import server
from curate.studio.client import connect
from curate.studio.convert import document_to_results
from curate.studio.push import push

pytestmark = [pytest.mark.postgres, pytest.mark.studio]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _version_key(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    dbname: str


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A private PostgreSQL server: own data folder, own port, password auth."""
    bindir = _pg_bin()
    if bindir is None:
        why = "PostgreSQL binaries not found; install Debian's `postgresql` package"
        if os.environ.get("CURATE_REQUIRE_POSTGRES") == "1":
            pytest.fail(why + " (CURATE_REQUIRE_POSTGRES=1: `make test` installs it)")
        pytest.skip(why)
    root = os.geteuid() == 0
    # initdb refuses to run as root: run the server as the `postgres` system user then.
    as_user = ["runuser", "-u", "postgres", "--"] if root else []
    base = Path(tempfile.mkdtemp(prefix="curate-pg-"))
    data, sock, pwfile = base / "data", base / "sock", base / "pw"
    sock.mkdir()
    password = "pg-test-" + os.urandom(6).hex()
    pwfile.write_text(password + "\n")
    if root:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        shutil.chown(pwfile, "postgres")
    port = server.find_free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8"}

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, env=env, capture_output=True, timeout=120)

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "curate",
        "--auth=scram-sha-256",
        f"--pwfile={pwfile}",
        "-E",
        "UTF8",
    )
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start")
    try:
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "curate", "ls"],
            check=True,
            env={**env, "PGPASSWORD": password},
            capture_output=True,
            timeout=60,
        )
        yield Postgres("127.0.0.1", port, "curate", password, "ls")
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(base, ignore_errors=True)


def _doc() -> Document:
    text = 'Ana Lima 🙂 said "the port reopens Monday" in Lisbon.\r\nShe left.'
    a, q, c, p = (text.index(s) for s in ("Ana Lima", '"the', "said", "Lisbon"))
    end = text.index("Monday") + len('Monday"')
    ana = Span.of(text, a, a + 8)
    return Document(
        id="pg-1",
        text=text,
        entities=(Entity.of(text, a, a + 8, "PERSON"), Entity.of(text, p, p + 6, "PERSON")),
        quotes=(Quote(q, end, text[q:end], "direct", ana, Span.of(text, c, c + 4), ana),),
        provenance=Prediction("pg-test v1"),
    )


def test_label_studio_on_postgres_round_trip(postgres, tmp_path, monkeypatch):
    from curate.studio.pull import pull

    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    for key, value in {
        "POSTGRE_HOST": postgres.host,
        "POSTGRE_PORT": str(postgres.port),
        "POSTGRE_USER": postgres.user,
        "POSTGRE_PASSWORD": postgres.password,
        "POSTGRE_NAME": postgres.dbname,
    }.items():
        monkeypatch.setenv(key, value)
    data_dir = tmp_path / "studio"
    runner = CliRunner()
    port = str(server.find_free_port())
    up = runner.invoke(
        app, ["studio", "up", "--database", "postgres", "--port", port, "--data-dir", str(data_dir)]
    )
    try:
        assert up.exit_code == 0, up.output
        assert "postgres" in up.output
        # Label Studio put no SQLite database in its data folder: it runs on PostgreSQL.
        assert not list(data_dir.glob("*.sqlite3"))

        conn = connect(data_dir=data_dir)
        assert conn.origin == "embedded server"
        doc = _doc()
        pushed = push(conn, [doc], project="postgres round trip")
        assert pushed.created == 1
        again = push(conn, [doc], project="postgres round trip")
        assert (again.created, again.unchanged) == (0, 1)

        # A person corrects the prediction: Lisbon is a GPE, and adds "She" as PERSON.
        (task,) = conn.get_json(
            "/api/tasks", params={"project": pushed.project_id, "fields": "all"}
        )["tasks"]
        results = document_to_results(doc, load_schema())
        for r in results:
            if r["type"] == "labels" and r["value"]["text"] == "Lisbon":
                r["value"]["labels"] = ["GPE"]
        she = doc.text.index("She")
        results.append(
            {
                "id": "she",
                "from_name": "entity",
                "to_name": "text",
                "type": "labels",
                "value": {"start": she, "end": she + 3, "text": "She", "labels": ["PERSON"]},
            }
        )
        conn.request("POST", f"/api/tasks/{task['id']}/annotations", json={"result": results})

        pulled = pull(conn, pushed.project_id, out_dir=tmp_path / "pulls")
        (gold,) = pulled.gold
        assert gold.id == "pg-1" and gold.text == doc.text
        labels = {(e.text, e.label) for e in gold.entities}
        assert ("Lisbon", "GPE") in labels and ("She", "PERSON") in labels
        (quote,) = gold.quotes
        assert quote.speaker == doc.quotes[0].speaker and quote.cue == doc.quotes[0].cue

        # The rows are in PostgreSQL.
        import psycopg2

        with (
            psycopg2.connect(
                host=postgres.host,
                port=postgres.port,
                user=postgres.user,
                password=postgres.password,
                dbname=postgres.dbname,
            ) as pg,
            pg.cursor() as cur,
        ):
            cur.execute("SELECT count(*) FROM task WHERE project_id = %s", (pushed.project_id,))
            assert cur.fetchone()[0] == 1
            cur.execute("SELECT count(*) FROM task_completion WHERE task_id = %s", (task["id"],))
            assert cur.fetchone()[0] == 1
        pg.close()

        status = runner.invoke(app, ["studio", "status", "--data-dir", str(data_dir)])
        assert status.exit_code == 0 and "postgres" in status.output
    finally:
        down = runner.invoke(app, ["studio", "down", "--data-dir", str(data_dir)])
    assert down.exit_code == 0 and "stopped" in down.output

"""Label Studio on a real PostgreSQL: `curate studio up --database postgres`, then the
full push / annotate / pull round trip, with the rows checked in PostgreSQL itself.

Needs Debian's ``postgresql`` package (``apt-get install -y postgresql``); skipped with a
clear reason when its binaries are missing, except under ``make test`` (and so CI), which
installs it and sets ``CURATE_REQUIRE_POSTGRES=1`` so a missing server fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.model import Document, Entity, Prediction, Quote, Span
from curate.schema import load_schema
from curate.studio import server
from curate.studio.client import connect
from curate.studio.convert import document_to_results
from curate.studio.postgres import pg_bin, private_postgres
from curate.studio.push import push
from curate.studio.server import PostgresSettings

pytestmark = [pytest.mark.postgres, pytest.mark.studio]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresSettings]:
    """A private PostgreSQL server: own data folder, own port, password auth."""
    if pg_bin() is None:
        why = "PostgreSQL binaries not found; install Debian's `postgresql` package"
        if os.environ.get("CURATE_REQUIRE_POSTGRES") == "1":
            pytest.fail(why + " (CURATE_REQUIRE_POSTGRES=1: `make test` installs it)")
        pytest.skip(why)
    with private_postgres() as pg:
        yield pg


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
        "POSTGRE_NAME": postgres.name,
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
                dbname=postgres.name,
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

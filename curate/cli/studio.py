"""``curate studio up | down | status``: the embedded Label Studio."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from curate.cli.app import app, console, err_console, fail, handle_errors
from curate.studio import server

studio_app = typer.Typer(
    help="Run the embedded Label Studio (127.0.0.1, data in .curate/studio/).",
    no_args_is_help=True,
)
app.add_typer(studio_app, name="studio")

DATA_DIR_HELP = (
    "Data folder of the embedded server (env CURATE_STUDIO_DIR; default .curate/studio)."
)


@studio_app.command("up")
@handle_errors
def up_cli(
    port: int | None = typer.Option(
        None,
        "--port",
        min=1,
        max=65535,
        help="Port to listen on (default: 8080, or a free port if taken).",
    ),
    database: str = typer.Option(
        "sqlite",
        "--database",
        help="sqlite (one person) or postgres (a team; set POSTGRE_NAME, POSTGRE_USER, "
        "POSTGRE_PASSWORD, POSTGRE_HOST, POSTGRE_PORT).",
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Start Label Studio in the background and wait until it is ready.

    The first start creates the admin user and an API token,
    random and kept in credentials.json in the data folder.
    The data folder is made private (0700) and every file in it 0600.
    `curate studio status --show-login` prints the login.
    Other curate commands find the server by themselves.
    """
    if database not in ("sqlite", "postgres"):
        raise fail(f"--database must be sqlite or postgres, not {database!r}")
    if not (data_dir or server.default_data_dir()).exists():
        err_console.print("starting Label Studio for the first time (about a minute)...")
    result = server.up(data_dir, port=port, database=database)
    st = result.status
    if result.tightened:
        folder = st.data_dir or result.tightened[0]
        files = len([p for p in result.tightened if p != folder])
        err_console.print(
            f"[yellow]note[/] made {folder} private, with {files} files in it "
            "(they were readable by other users; the database holds the API token)",
            highlight=False,
            soft_wrap=True,
        )
    if result.started:
        console.print(f"Label Studio is up at {st.url} (pid {st.pid}, {st.database})")
    else:
        console.print(f"Label Studio is already running at {st.url} (pid {st.pid})")
    console.print(f"log: {st.log_path}", highlight=False)


@studio_app.command("down")
@handle_errors
def down_cli(
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Stop the Label Studio that `curate studio up` started (and nothing else)."""
    before = server.stop(data_dir)
    if before.running:
        console.print(f"stopped Label Studio at {before.url} (pid {before.pid})")
    else:
        console.print(f"Label Studio is not running ({before.note})")


@studio_app.command("status")
@handle_errors
def status_cli(
    show_login: bool = typer.Option(
        False,
        "--show-login",
        help="Also print the admin e-mail and password (the password only to a terminal).",
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Say whether the embedded Label Studio runs, where, and (optionally) the login.

    Exits with code 1 when it is not running.
    """
    st = server.status(data_dir)
    if not st.running:
        console.print(f"Label Studio is not running ({st.note}); start it with `curate studio up`")
        raise typer.Exit(1)
    health = "healthy" if st.healthy else "[yellow]not answering /health[/]"
    console.print(f"Label Studio is running at {st.url} (pid {st.pid}, {st.database}, {health})")
    console.print(f"data: {st.data_dir}\nlog: {st.log_path}", highlight=False)
    if show_login:
        creds = server.read_credentials(st.data_dir or server.default_data_dir())
        if creds is None:
            raise fail(f"no stored login in {st.data_dir}")
        if _terminal():
            password = creds.password
        else:  # a CI log or a `| tee` file would keep the password
            where = Path(st.data_dir or server.default_data_dir()) / server.CREDENTIALS_FILE
            password = f"not printed (the output is not a terminal); it is in {where} (mode 0600)"
        console.print(
            f"login: {creds.username}\npassword: {password}", highlight=False, soft_wrap=True
        )


def _terminal() -> bool:
    """Whether standard output is a terminal a person reads (not a pipe, file or log)."""
    return sys.stdout.isatty()


@studio_app.command("connect")
@handle_errors
def connect_cli(
    url: str = typer.Argument(..., help="Where `curate serve` listens, e.g. http://127.0.0.1:9090"),
    project: str | None = typer.Option(
        None, "--project", help="Project title or id (default: the only project)."
    ),
    interactive: bool = typer.Option(
        True,
        "--interactive/--no-interactive",
        help="Also use the backend for interactive suggestions while labeling.",
    ),
) -> None:
    """Connect a running `curate serve` to a Label Studio project as its ML backend.

    Label Studio then asks it for predictions of imported tasks and of "Retrieve
    predictions" in the Data Manager, and sends it annotation events through a webhook.
    """
    from curate.serve.connect import connect_backend
    from curate.studio.client import connect

    done = connect_backend(connect(), project, url, interactive=interactive)
    verb = "connected" if done.created else "updated"
    console.print(
        f"{verb} ML backend {done.backend_id} ({done.url}) for project {done.project_id}; "
        f"webhook {'on' if done.webhook else '[yellow]missing[/]'}; interactive suggestions "
        + (
            "on (in a task, switch on Auto-Annotation and mark a CUE or SPEAKER: the backend "
            "proposes its quote and speaker)"
            if done.interactive
            else "off"
        ),
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        "tasks imported from now on get predictions; for tasks already there, select them "
        "in the Data Manager and run Actions > Retrieve Predictions. When the backend stops "
        f"for good: curate studio disconnect {done.url} --project {done.project_id}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


@studio_app.command("disconnect")
@handle_errors
def disconnect_cli(
    url: str = typer.Argument(..., help="The backend's URL, as given to `curate studio connect`."),
    project: str | None = typer.Option(
        None, "--project", help="Project title or id (default: the only project)."
    ),
) -> None:
    """Remove a `curate serve` ML backend (and its webhook) from a Label Studio project.

    Label Studio keeps a backend registered after it stops, and keeps asking its address
    for predictions; disconnect it when it is gone for good.
    """
    from curate.serve.connect import disconnect_backend
    from curate.studio.client import connect

    done = disconnect_backend(connect(), project, url)
    if not done.backends and not done.webhooks:
        console.print(
            f"project {done.project_id} has no ML backend at {url.rstrip('/')}; nothing removed",
            highlight=False,
            soft_wrap=True,
        )
        return
    console.print(
        f"disconnected ML backend {', '.join(map(str, done.backends)) or '(none)'} "
        f"({url.rstrip('/')}) from project {done.project_id}; "
        f"{len(done.webhooks)} webhook(s) removed",
        highlight=False,
        soft_wrap=True,
    )

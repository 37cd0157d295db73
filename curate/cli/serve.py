"""``curate serve``: curate as a Label Studio ML backend."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from curate.cli.app import command, console, fail, on_interrupt
from curate.serve.run import DEFAULT_PORT, DEFAULT_STATE_DIR


@command("serve")
def serve_cli(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(DEFAULT_PORT, "--port", min=1, max=65535, help="Port to listen on."),
    extractor: str = typer.Option(
        "curate", "--extractor", help="Extractor spec, as for `curate evaluate` (default: curate)."
    ),
    base_gold: str | None = typer.Option(
        None,
        "--base-gold",
        help="Gold (name, folder, .jsonl or brat corpus) to train on with the project's "
        "annotations; a quarter of it is held out to gate new versions. Without it the "
        "backend only predicts.",
    ),
    train_steps: int = typer.Option(
        600, "--train-steps", min=1, help="Updates per training run (`curate train --max-steps`)."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Random seed of training runs (`curate train --seed`)."
    ),
    state_dir: Path = typer.Option(
        DEFAULT_STATE_DIR, "--state-dir", help="Where model versions and their scores are kept."
    ),
    status: bool = typer.Option(
        False, "--status", help="List the model versions and their scores, then exit."
    ),
    as_json: bool = typer.Option(False, "--json", help="With --status: print JSON."),
) -> None:
    """Serve curate's extractors to Label Studio (health, setup, predict, webhook, train).

    Connect it to a project with `curate studio connect URL --project NAME`. With
    --base-gold, submitted annotations start a background `curate train` run on them and
    the base gold; the new model serves (as `curate preannotate --quote-model` would run
    it) only if its held-out quote F1 is at least the serving version's.
    """
    from curate.serve import run

    if as_json and not status:
        raise fail("--json goes with --status (it prints the versions as JSON)", code=2)
    if status:
        found = run.read_status(state_dir)
        if as_json:
            console.print_json(json.dumps(found))
        else:
            _print_status(found, state_dir)
        return
    with on_interrupt("curate serve stopped"):  # Ctrl-C is how a server is stopped
        run.serve(host, port, state_dir, extractor, base_gold, train_steps, seed)


def _print_status(found: dict, state_dir: Path) -> None:
    """The versions as a table: which serves, their held-out quote F1 against the version
    serving when they were trained, and why a version did not serve."""
    from rich.table import Table

    if not found["versions"]:
        console.print(
            f"no model versions in {state_dir}: `curate serve` has not run with this "
            "--state-dir; it would start by serving the rules",
            highlight=False,
            soft_wrap=True,
        )
        return
    table = Table(title=f"model versions in {state_dir} (serving: {found['serving']})")
    for column in ("version", "status", "F1", "baseline", "articles"):
        table.add_column(column, no_wrap=True, justify="right" if column[0] in "Fba" else "left")
    table.add_column("created", min_width=10)
    table.add_column("trigger, detail", min_width=12)
    for v in found["versions"]:
        table.add_row(
            v["name"],
            v["status"],
            "" if v["score"] is None else f"{v['score']:.3f}",
            "" if v["baseline"] is None else f"{v['baseline']:.3f}",
            str(v["train_articles"] or ""),
            v["created_at"][:16].replace("T", " "),
            ": ".join(x for x in (v["trigger"], v["detail"]) if x),
        )
    console.print(table)

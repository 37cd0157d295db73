"""``curate adjudicate``: a review project for the tasks whose annotators disagree."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from curate import settings
from curate.cli.app import command, console, err_console


@command("adjudicate")
def adjudicate_cli(
    pull_dir: Path = typer.Argument(
        ...,
        help="A pull folder (data/pulls/<project>/<snapshot>) or its parent (uses `latest`).",
        exists=True,
        file_okay=False,
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Label mapping (mapping.toml) or config .xml (default: the shipped config).",
    ),
) -> None:
    """Create or refresh the review project for the conflicts of a pull.

    Each conflicted task appears once in the project "<title> (review)", with every
    annotator's version as a prediction named by a pseudonym and the regions they agree on
    as the draft. Submit one annotation per task there, then run `curate pull` on the
    original project: the decisions become the gold of those tasks, with who adjudicated
    them and from which annotations. Running it again adds only new conflicts.
    """
    from curate.schema import load_schema
    from curate.studio.client import connect
    from curate.studio.review import adjudicate

    with err_console.status("creating review tasks in Label Studio..."):
        r = adjudicate(connect(), pull_dir, schema=load_schema(config))
    if r.conflicts == 0:
        console.print("no conflicts in this pull: nothing to review", highlight=False)
        return
    t = Table(title=f"review project {r.review_project_id}", show_header=False)
    t.add_column("what")
    t.add_column("count", justify="right")
    t.add_row("conflicts in the pull", str(r.conflicts))
    t.add_row("review tasks added", str(r.added))
    t.add_row("already in review", str(r.already_there))
    t.add_row("predictions added", str(r.predictions_added))
    console.print(t)
    for p in r.problems[:20]:
        err_console.print(f"[yellow]problem[/] {escape(str(p))}", highlight=False, soft_wrap=True)
    console.print(f"review the tasks at {r.review_url}", highlight=False, soft_wrap=True)
    console.print(
        f"then: curate pull --project {r.source_project_id} --out {settings.PULLS_DIR}",
        highlight=False,
    )

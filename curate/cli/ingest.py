"""``curate ingest``: read articles from a folder, .jsonl or .csv and write articles JSONL."""

from __future__ import annotations

from pathlib import Path

import typer

from curate import settings
from curate.cli.app import command, console, plural, print_skipped, skipped, warn
from curate.io.articles import IngestReport, ingest


@command("ingest")
def ingest_cli(
    source: Path = typer.Argument(..., help="A folder of .txt files, a .jsonl or a .csv."),
    output: Path = typer.Option(
        settings.ARTICLES_FILE, "-o", "--output", help="Articles JSONL to write."
    ),
) -> None:
    """Read articles (id, text, metadata) and write them as articles JSONL with a content hash.

    A folder of .txt gives one article per file (id = file stem); .jsonl and .csv need
    `id` and `text` fields, other fields become metadata. Bad records (empty text, a
    `meta` that is not an object, bytes that are not UTF-8, a ragged CSV row...) and
    duplicate ids are reported by file and line and skipped; the rest go through, and the
    exit code is 1 when anything was skipped.
    """
    report = IngestReport()
    try:
        n = ingest(source, output, report)
    finally:  # the skipped records, also before a "nothing to write" error
        render_report(report)
    console.print(f"wrote {plural(n, 'article')} to {output}")
    if report.problems:
        raise skipped(len(report.problems))


def render_report(report: IngestReport) -> None:
    print_skipped(report.problems)
    for first, dup in report.duplicate_texts:
        warn(f"duplicate text: {dup!r} has the same text as {first!r}")

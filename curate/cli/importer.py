"""``curate import brat``: gold made elsewhere (brat standoff, PolNeAR) into a gold version."""

from __future__ import annotations

from pathlib import Path

import typer

from curate import settings
from curate.cli.app import (
    app,
    console,
    handle_errors,
    plural,
    print_skipped,
    skipped,
    warn,
)
from curate.gold.brat_import import import_brat
from curate.schema import load_schema

sub = typer.Typer(help="Import existing gold annotations as a gold version.", no_args_is_help=True)
app.add_typer(sub, name="import")


@sub.command("brat")
@handle_errors
def brat_cli(
    path: Path = typer.Argument(
        ...,
        help="A brat folder: NAME.txt beside NAME.ann or NAME_<annotator>.ann, or PolNeAR's "
        "text/ and attributions/.",
    ),
    name: str = typer.Option(..., "--name", help="Gold dataset name (data/gold/NAME/)."),
    version: str | None = typer.Option(
        None, "--version", help="Version to write (default: 1.0.0, or the next one)."
    ),
    bump: str | None = typer.Option(
        None, "--bump", help="major, minor or patch, instead of an explicit --version."
    ),
    root: Path = typer.Option(settings.GOLD_ROOT, "--root", help="Where gold datasets live."),
    config: Path | None = typer.Option(
        None, "--config", help="Label mapping (mapping.toml) or config .xml."
    ),
) -> None:
    """Import brat standoff annotations into a gold version (all articles in `test`).

    T lines with an entity label of the config become entities; attributions (E lines
    joining Source, Cue and Content; discontinuous content keeps its fragments)
    become quotes, their kind (direct, mixed, indirect) decided by their quote marks.
    Several .ann files per article are kept as separate annotators in `annotations.jsonl`
    (for `curate agreement`); the gold gets the first in sorted order.

    Texts are read as `curate ingest` reads them (a byte order mark dropped, line endings
    kept), so predictions made from ingested texts score against the import; offsets that
    count a CRLF line break as one character are recognised and mapped. A file whose
    offsets do not fit its text, and every .ann line that is not read, is reported by file
    and line; the rest is imported and the exit code is 1.
    """
    result = import_brat(
        path, name=name, version=version, bump=bump, root=root, schema=load_schema(config)
    )
    print_skipped(result.problems)
    if result.unannotated:
        warn(
            f"{len(result.unannotated)} texts without any .ann not imported: "
            + ", ".join(result.unannotated[:5])
            + (" ..." if len(result.unannotated) > 5 else "")
        )
    if result.dropped_labels:
        dropped = ", ".join(f"{k} ({v})" for k, v in sorted(result.dropped_labels.items()))
        console.print(f"labels not in the config, not imported: {dropped}", highlight=False)
    console.print(
        f"imported {plural(result.documents, 'article')} "
        f"({plural(result.annotations, 'annotation')} by "
        f"{plural(len(result.annotators), 'annotator')}, {result.multi_annotated} with "
        f"several) into {result.path}",
        highlight=False,
    )
    if result.problems:
        raise skipped(len(result.problems))

"""``curate export``, ``diff``, ``verify``: release, compare and check gold dataset versions.

The library is imported inside each command: datasets and spaCy would slow every
``curate`` invocation, ``--help`` included.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from curate import settings
from curate.cli.app import command, console, err_console, fail, plural, warn
from curate.errors import DatasetError

DEFAULT_ROOT = settings.GOLD_ROOT


@command("export")
def export_cli(
    gold: Path = typer.Argument(
        ..., help="gold.jsonl written by `curate pull` (or its pull folder)."
    ),
    name: str = typer.Option(..., "--name", help="Dataset name: data/gold/NAME/VERSION/."),
    version: str | None = typer.Option(
        None, "--version", help="Version to write (X.Y.Z); default: derived from the changes."
    ),
    bump: str | None = typer.Option(
        None, "--bump", help="major, minor or patch; default: the bump the changes need."
    ),
    splits: str = typer.Option(
        "train=0.8,dev=0.1,test=0.1", "--splits", help="Split ratios, by hash of the article id."
    ),
    all_test: bool = typer.Option(
        False, "--all-test", help="Put every article in `test` (evaluation-only gold)."
    ),
    formats: str = typer.Option(
        "hf,spacy,conll,jsonl", "--formats", help="Comma-separated: hf,spacy,conll,jsonl."
    ),
    push_to_hub: str | None = typer.Option(
        None,
        "--push-to-hub",
        metavar="REPO",
        help="Also upload to this Hub dataset repo, tagged with the version (token from HF_TOKEN).",
    ),
    public: bool = typer.Option(False, "--public", help="Create the Hub repo public."),
    agreement: Path | None = typer.Option(
        None, "--agreement", help="JSON file of agreement figures for the card."
    ),
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="spaCy model whose tokenizer the exports use, or blank:en."
    ),
    label_config: Path | None = typer.Option(
        None,
        "--config",
        "--label-config",
        help="Label mapping (mapping.toml) or config .xml (default: the shipped config).",
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Refuse to release when any gold record is bad."
    ),
    real_identities: bool = typer.Option(
        False,
        "--real-identities",
        help="Release annotators' real identities (e-mails) instead of stable pseudonyms.",
    ),
    root: Path = typer.Option(DEFAULT_ROOT, "--root", help="Folder holding the gold datasets."),
) -> None:
    """Release pulled gold as a new immutable dataset version, with training exports.

    Writes data/gold/NAME/VERSION/: Parquet splits with typed Features (`datasets`
    loads the folder), a dataset card (README.md), CHANGELOG.md, exports/ (spaCy DocBin,
    CoNLL BIO, JSONL) and manifest.json with a sha256 per file. A label schema change is
    a major bump, added or removed articles minor, corrected spans patch. Existing
    versions are never overwritten. Bad gold records are reported and left out (exit code
    1 then, with the rest released).
    """
    from curate.gold.hub import check_repo_id
    from curate.gold.hub import push_to_hub as push
    from curate.gold.identities import MAPPING_FILE
    from curate.gold.inputs import read_gold
    from curate.gold.write import release
    from curate.schema import load_schema

    if push_to_hub:
        check_repo_id(push_to_hub)  # before writing anything
    schema = load_schema(label_config)
    read = read_gold(gold, schema)
    for problem in read.problems:
        err_console.print(
            f"[yellow]left out[/] {escape(str(problem).removesuffix('; left out'))}",
            highlight=False,
            soft_wrap=True,
        )
    if read.problems and strict:
        raise fail(f"{len(read.problems)} bad gold record(s) and --strict; nothing written")
    figures = read.agreement
    if agreement is not None:
        try:
            figures = json.loads(agreement.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise DatasetError(f"{agreement}: cannot read agreement figures ({e})") from e
    result = release(
        read.docs,
        name=name,
        root=root,
        version=version,
        bump=bump,
        splits="test" if all_test else splits,
        meta=read.meta,
        agreement=figures,
        schema=schema,
        formats=[f.strip() for f in formats.split(",") if f.strip()],
        tokenizer=tokenizer,
        real_identities=real_identities,
        empty_reason=None if len(read.docs) else read.why_empty(),
    )
    how = f"{result.bump} bump from {result.previous}" if result.previous else "first version"
    console.print(f"wrote {result.name} {result.version} ({how}) to {result.path}", soft_wrap=True)
    table = Table("split", "articles")
    for split, n in result.counts.items():
        table.add_row(split, str(n))
    console.print(table)
    console.print(
        result.changes.to_markdown(details=False, limit=0).split("\n\n###")[0].strip(),
        markup=False,
        soft_wrap=True,
    )
    align = result.exports.get("alignment")
    if align and align["left_out"]:
        left = ", ".join(f"{k}: {v}" for k, v in align["left_out"].items())
        warn(
            f"spans left out of the token exports (not widened): {left}; "
            f"listed in {result.path / 'manifest.json'}"
        )
    if result.identities == "real":
        err_console.print("[yellow]annotators under their real identities[/] (--real-identities)")
    else:
        console.print(
            f"annotators under stable pseudonyms; the private mapping is {root / MAPPING_FILE}",
            highlight=False,
            soft_wrap=True,
        )
    if read.problems:
        err_console.print(
            f"[yellow]{plural(len(read.problems), 'record')} left out[/]", highlight=False
        )
    if push_to_hub:
        payload = push(
            result.path, push_to_hub, private=not public, real_identities=real_identities
        )
        console.print(f"pushed {len(payload.files)} files to {payload.repo_id}, tag {payload.tag}")
    if read.problems:  # released without them; the exit code says something was left out
        raise typer.Exit(1)


@command("diff")
def diff_cli(
    a: str = typer.Argument(..., help="Older version: a version folder or NAME@X.Y.Z."),
    b: str = typer.Argument(..., help="Newer version: a version folder, NAME@X.Y.Z or NAME."),
    details: bool = typer.Option(True, "--details/--summary", help="List every span change."),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
    root: Path = typer.Option(DEFAULT_ROOT, "--root", help="Folder holding the gold datasets."),
) -> None:
    """Show what changed between two gold versions: articles added, removed, changed, and how.

    Changed articles list their span changes: entities added, removed or relabelled,
    quotes added or removed, a quote's kind, speaker or cue changed, split moves.
    """
    from rich.highlighter import JSONHighlighter

    from curate.gold.diff import diff

    changes = diff(a, b, root=root)
    if as_json:  # a line at a time too: the text print_json(data=changes.to_dict()) prints
        highlight = JSONHighlighter()
        for line in changes.json_lines():
            console.print(highlight(line), soft_wrap=True)
    else:  # a line at a time: a diff of large versions lists every article
        for line in changes.markdown_lines(details=details):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        console.print()  # the blank line that ended the whole text printed at once


@command("verify")
def verify_cli(
    versions: list[str] = typer.Argument(
        ..., help="Version folders, dataset names (latest version) or NAME@X.Y.Z."
    ),
    root: Path = typer.Option(DEFAULT_ROOT, "--root", help="Folder holding the gold datasets."),
    all_versions: bool = typer.Option(
        False,
        "--all-versions",
        help="For a dataset name or folder, check every version, not only the latest.",
    ),
) -> None:
    """Check gold versions against their manifest: every file present with its sha256.

    A dataset name checks its latest version (every one with --all-versions).
    Exits 1 when a file is missing, changed or added after release.
    """
    from curate.gold.manifest import verify
    from curate.gold.version import list_versions, resolve

    folders: list[Path] = []
    for spec in versions:
        folder = resolve(spec, None, root)
        if all_versions and "@" not in spec and folder != Path(spec):
            folders += [folder.parent / str(v) for v in list_versions(folder.parent)]
        else:
            folders.append(folder)
    bad = 0
    for folder in folders:
        result = verify(folder)
        if result.ok:
            console.print(
                f"[green]ok[/] {result.path}: {result.checked} files match the manifest",
                soft_wrap=True,
            )
            continue
        bad += 1
        for problem in result.problems():
            err_console.print(
                f"[red]bad[/] {result.path}/{problem}", highlight=False, soft_wrap=True
            )
    if bad:
        raise fail(f"{bad} version(s) do not match their manifest")

"""``curate agreement``: how well annotators agree, per label, per annotator and per article."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import typer
from rich.table import Table

from curate import settings
from curate.cli.app import command, console, err_console, print_skipped, warn
from curate.errors import InputError
from curate.gold.identities import has_email, load_pseudonyms
from curate.io.jsonl import atomic_writer
from curate.model import Annotation, Document
from curate.report.agreement import LOW
from curate.schema import LabelSchema, load_schema
from curate.score.agreement import AgreementReport, agreement, comparable, load_annotations


@command("agreement")
def agreement_cli(
    source: Path = typer.Argument(
        ...,
        help="An annotations.jsonl (one Document per annotator), a pull folder holding one, "
        "a gold NAME[@VERSION] or version folder imported with `curate import brat`, or a "
        "brat folder.",
    ),
    top: int = typer.Option(10, "--top", min=1, help="How many articles to list."),
    json_out: Path | None = typer.Option(
        None, "--json", help="Also write the full report as JSON to this file."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Label mapping (mapping.toml) or config .xml."
    ),
    gamma: bool = typer.Option(
        False,
        "--gamma",
        help="Also compute gamma per label (pygamma-agreement, installed by make install; "
        "minutes per label and article with many annotators).",
    ),
    gamma_canonical: bool = typer.Option(
        False,
        "--gamma-canonical",
        help="Gamma by the canonical alignment instead of fast-gamma (exact; can take hours "
        "with 5+ annotators).",
    ),
    predictions: Path | None = typer.Option(
        None,
        "--predictions",
        help="Pre-annotations (JSONL of Documents): how much each annotator changed them.",
    ),
    gold: str | None = typer.Option(
        None,
        "--gold",
        help="Gold name or folder (the adjudicated gold): how far each annotator is from it.",
    ),
    html: Path | None = typer.Option(
        None, "--html", help="Also write a self-contained HTML report with charts."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of gamma's chance sampling."),
) -> None:
    """Agreement between annotators on articles annotated by two or more people.

    Pairwise span F1 (exact offsets, and one-to-one majority overlap), Krippendorff's
    alpha (character-level, nominal) and unitizing alpha per label (gamma on request);
    per annotator against all others; and the articles with most disagreement first.
    """
    schema = load_schema(config)
    docs, problems = load_annotations(_named_gold(source), schema)
    print_skipped(problems)
    docs, left = comparable(pseudonymous(docs))  # e-mails never reach a message
    print_skipped(left)
    report = agreement(docs, schema)
    if report.articles == 0:
        raise InputError(
            f"no article has two or more annotators ({report.single_annotator_articles} "
            "articles with one); agreement needs overlapping annotations",
            path=str(source),
        )
    out = report.to_dict()
    if gamma:
        from curate.score.span_agreement import gamma_by_label

        with err_console.status("computing gamma..."):
            started = time.perf_counter()
            out["gamma"] = gamma_by_label(docs, schema, seed=seed, fast=not gamma_canonical)
            seconds = time.perf_counter() - started
        kind = "canonical" if gamma_canonical else "fast-gamma"
        err_console.print(f"gamma ({kind}): {seconds:.1f} s", highlight=False)
    against = {}
    if predictions is not None:
        against["the pre-annotation"] = _reference(predictions, schema)
    if gold is not None:
        from curate.gold import load_documents

        against["the gold"] = {d.id: d for d in load_documents(gold)}
    for name, ref in list(against.items()):
        if not any(d.id in ref for d in docs):  # said, not a silently missing section
            warn(f"{name} has none of the annotated articles; nothing to compare with {name}")
            del against[name]
    if against:
        from curate.score.span_agreement import against_reference

        out["against"] = {
            name: [r.to_dict() for r in against_reference(docs, ref, schema)]
            for name, ref in against.items()
        }
    render(report, top, out)
    if json_out is not None:
        with atomic_writer(json_out) as fh:
            json.dump(out, fh, indent=2, ensure_ascii=False)
        console.print(f"wrote {json_out}")
    if html is not None:
        from curate.report.agreement import write_agreement_html

        write_agreement_html(out, html, str(source))
        console.print(f"wrote {html}")


def _named_gold(source: Path) -> Path:
    """``source`` itself when it exists, else the gold version it names (``NAME`` or
    ``NAME@VERSION`` under the gold root, as ``curate import brat`` writes one with its
    annotations beside it); a name that is no dataset stays as given, for the reader's
    message. Raises DatasetError for a version the dataset does not have."""
    if source.exists():
        return source
    from curate.gold.version import resolve

    name = str(source).rpartition("@")[0] or str(source)
    if not (settings.GOLD_ROOT / name).is_dir():
        return source
    return resolve(str(source), root=settings.GOLD_ROOT)


def pseudonymous(docs: list[Document]) -> list[Document]:
    """The annotations with every annotator named by an e-mail address under the gold
    root's pseudonym (``annotator-<hash>``, as releases name them; the mapping back stays in
    the root's private ``.annotators.json``), so no e-mail reaches the terminal, the JSON
    or the HTML report. Names that are no e-mail (brat annotators, account names) stay."""
    if not any(has_email(list(_annotators(d))) for d in docs):
        return docs
    names = load_pseudonyms(settings.GOLD_ROOT)
    out = []
    for d in docs:
        prov = d.provenance
        if isinstance(prov, Annotation) and has_email(list(prov.annotators)):
            who = tuple(names.of(a) if has_email(a) else a for a in prov.annotators)
            d = d.with_(provenance=replace(prov, annotators=who))
        out.append(d)
    names.path.parent.mkdir(parents=True, exist_ok=True)
    names.save()
    return out


def _annotators(doc: Document) -> tuple[str, ...]:
    return doc.provenance.annotators if isinstance(doc.provenance, Annotation) else ()


def _reference(path: Path, schema: LabelSchema) -> dict[str, Document]:
    docs, problems = load_annotations(path, schema)
    print_skipped(problems)
    return {d.id: d for d in docs}


def _n(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _c(x: float | None) -> str:
    """A coefficient cell, red below the HTML report's mark (:data:`LOW`)."""
    return f"[red]{x:.3f}[/]" if x is not None and x < LOW else _n(x)


def render(report: AgreementReport, top: int, extra: dict | None = None) -> None:
    console.print(
        f"{report.articles} articles with 2+ annotators "
        f"({report.single_annotator_articles} with one, not counted); "
        f"annotators: {', '.join(report.annotators)}",
        highlight=False,
    )
    t = Table(title="Agreement per label", title_justify="left")
    extra = extra or {}
    gammas = extra.get("gamma") or {}
    cols = ["label", "spans", "F1 exact", "F1 overlap", "alpha (char)", "u-alpha"]
    for col in cols + (["gamma"] if gammas else []):
        t.add_column(col, justify="left" if col == "label" else "right")
    rows = [*report.labels, *([report.overall] if report.overall else [])]
    for i, r in enumerate(rows):
        cells = [r.label, str(r.spans), _c(r.f1_exact), _c(r.f1_overlap), _c(r.alpha)]
        cells.append(_c(r.u_alpha))
        if gammas:
            cells.append(_c(gammas.get(r.label)))
        t.add_row(*cells, end_section=i == len(report.labels) - 1)
    console.print(t)
    t = Table(title="Per annotator (against every other annotator)", title_justify="left")
    heads = ("annotator", "articles", "spans", "F1 exact", "F1 overlap", "mean pair alpha")
    for col in (*heads, "mean pair u-alpha"):
        t.add_column(col, justify="left" if col == "annotator" else "right")
    for a in report.by_annotator:
        t.add_row(
            a.annotator,
            str(a.articles),
            str(a.spans),
            _c(a.f1_exact),
            _c(a.f1_overlap),
            _c(a.alpha),
            _c(a.u_alpha),
        )
    console.print(t)
    qa = report.quote_attributes
    if qa is not None and qa.matched:
        t = Table(
            title=f"Quote attributes: agreement on {qa.matched} matched quote pairs (overlap)",
            title_justify="left",
        )
        for col in ("kind", "speaker", "cue", "speaker entity"):
            t.add_column(col, justify="right")
        t.add_row(_n(qa.kind), _n(qa.speaker), _n(qa.cue), _n(qa.speaker_entity))
        console.print(t)
    for name, rows in (extra.get("against") or {}).items():
        from curate.score.span_agreement import EDITS

        t = Table(title=f"Each annotator against {name}", title_justify="left")
        t.add_column("annotator")
        for col in ("articles", "F1 exact", *(e.replace("_", " ") for e in EDITS)):
            t.add_column(col, justify="right")
        for row in rows:
            t.add_row(
                row["annotator"],
                str(row["articles"]),
                _n(row["f1_exact"]),
                *(str(row["edits"][e]) for e in EDITS),
            )
        console.print(t)
    t = Table(title="Articles with most disagreement", title_justify="left")
    t.add_column("article", overflow="fold")  # ids that share a prefix stay apart
    for col in ("annotators", "spans", "F1 exact", "F1 overlap"):
        t.add_column(col, justify="right")
    for art in report.by_article[:top]:
        t.add_row(art.id, str(art.annotators), str(art.spans), _n(art.f1_exact), _n(art.f1_overlap))
    console.print(t)
    console.print(
        "F1: 2 x matched / (spans a + spans b) over every pair of annotators; overlap = "
        "one-to-one, more than half of both spans. alpha: Krippendorff, nominal, every "
        "character a unit; 'all' alpha is the mean over labels. u-alpha: Krippendorff's "
        "unitizing alpha over character offsets ('all': 1 - sum D_o / sum D_e). gamma: "
        f"Mathet et al. Red: below {LOW}.",
        style="dim",
    )

"""``curate pull``: annotations back from Label Studio into gold, conflicts and a report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from curate import settings
from curate.cli.app import command, console, err_console, fail
from curate.errors import CurateError
from curate.studio.pull import PullResult


@command("pull")
def pull_cli(
    project: str | None = typer.Option(
        None,
        "--project",
        help="Project title or id (default: the only project, else `curate news_quotes`).",
    ),
    out: Path = typer.Option(
        settings.PULLS_DIR, "--out", help="Folder for pulls: OUT/<project>/<snapshot>/."
    ),
    release: str | None = typer.Option(
        None,
        "--release",
        metavar="NAME",
        help="Also write the gold as a new version of dataset NAME under --root.",
    ),
    gold_root: Path = typer.Option(
        settings.GOLD_ROOT,
        "--root",
        "--gold-root",
        help="Folder holding the gold datasets (for --release).",
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Label mapping (mapping.toml) or config .xml (default: the shipped config).",
    ),
    real_identities: bool = typer.Option(
        False,
        "--real-identities",
        help="With --release: annotators' real identities instead of stable pseudonyms.",
    ),
    merge: str | None = typer.Option(
        None,
        "--merge",
        metavar="POLICY",
        help="Merge disagreeing annotations region by region: unanimous, majority or k-of-n.",
    ),
    min_annotators: int = typer.Option(
        2, "--min-annotators", help="With --merge: fewer annotations send a task to review."
    ),
    k: int | None = typer.Option(None, "--k", help="With --merge k-of-n: annotators needed."),
    quote_overlap: float | None = typer.Option(
        None,
        "--quote-overlap",
        help="With --merge: quotes overlapping by this share (0-1) count as one.",
    ),
    label_policy: list[str] = typer.Option(
        [],
        "--label-policy",
        metavar="LABEL=RULE[,min=N]",
        help="With --merge, repeatable: a rule for one label's regions (an entity label, "
        "or QUOTE for quotes); RULE is unanimous, majority or K-of-n, min=N the "
        "annotations they need. E.g. --label-policy QUOTE=unanimous "
        "--label-policy ORG=2-of-n,min=3.",
    ),
    keep_snapshot: bool = typer.Option(
        False,
        "--keep-snapshot",
        help="Keep the export snapshot on the Label Studio server (default: deleted after "
        "a verified download).",
    ),
) -> None:
    """Export a snapshot of the project and turn human annotations into gold.

    Writes raw_export.json (audit trail), gold.jsonl, annotations.jsonl, conflicts.jsonl
    and report.json. Gold policy: ground truth wins; a single annotation is taken;
    identical annotations are merged; disagreements are listed as conflicts with links
    and left out of the gold. Cancelled annotations and drafts are skipped and counted.

    With --merge, disagreeing annotations merge region by region and only regions without
    enough agreement make a conflict (see `curate adjudicate`); --label-policy gives one
    label its own rule (QUOTE=unanimous while entities go by majority). Decisions
    submitted in the project's review project become the gold of their tasks.
    """
    from curate.gold.merge import MergePolicy, parse_label_rule
    from curate.schema import load_schema
    from curate.studio.client import connect
    from curate.studio.pull import pull

    schema = load_schema(config)
    if release:
        from curate.gold.version import check_name

        check_name(release)  # before the pull, not after it
    if label_policy and not merge:
        raise fail("--label-policy needs --merge (the policy for every other label)", code=2)
    given = [
        name
        for name, used in (
            ("--min-annotators", min_annotators != 2),
            ("--k", k is not None),
            ("--quote-overlap", quote_overlap is not None),
        )
        if used
    ]
    if given and not merge:
        raise fail(f"{', '.join(given)}: used only with --merge; add --merge RULE", code=2)
    policy = None
    if merge:
        try:
            rules = tuple(parse_label_rule(text) for text in label_policy)
            policy = MergePolicy(merge, min_annotators, k, quote_overlap, rules)
            policy.check_labels(schema.entity_labels)
        except CurateError as e:  # a bad option value: a usage error
            raise fail(str(e), code=2) from None
    with err_console.status("exporting a snapshot from Label Studio..."):
        result = pull(
            connect(),
            project,
            out,
            schema=schema,
            merge_policy=policy,
            keep_snapshot=keep_snapshot,
        )
    render(result)
    if release:
        from curate.gold import write_version

        path = write_version(
            result.iter_gold(),
            name=release,
            root=gold_root,
            schema=schema,
            meta={
                "project": result.project_title,
                "snapshot": str(result.snapshot_id),
                "gold_policy": result.policy_description(),
            },
            real_identities=real_identities,
            empty_reason=None if result.gold_count else result.why_no_gold(),
        )
        console.print(f"released {result.gold_count} gold articles as {path}", highlight=False)


def render(r: PullResult) -> None:
    """Summary, conflicts with links, problems and the correction report."""
    t = Table(title=f"pull of {r.project_title!r} (snapshot {r.snapshot_id})", show_header=False)
    t.add_column("what")
    t.add_column("count", justify="right")
    sel = r.selection
    t.add_row("tasks", str(r.tasks))
    t.add_row("annotated tasks", str(r.annotated_tasks))
    t.add_row("annotations used", str(r.annotations))
    t.add_row(
        "gold",
        f"{r.gold_count} (ground truth {sel['ground_truth']}, single {sel['single']}, "
        f"merged {sel['merged']}, merged by policy {sel['policy_merged']}, "
        f"adjudicated {sel['adjudicated']})",
    )
    t.add_row("conflicts", str(r.conflict_count))
    if r.merge_policy is not None:
        merged = r.merge
        how = ", ".join([r.merge_policy.name, *(x.to_text() for x in r.merge_policy.labels)])
        t.add_row(
            f"regions ({how})",
            f"accepted {merged['regions_accepted']}, dropped {merged['regions_rejected']}, "
            f"to review {merged['regions_review']}",
        )
        t.add_row(
            f"tasks ({how})",
            f"settled {merged['tasks_settled']}, to review {merged['tasks_review']}",
        )
        for rule in r.merge_policy.labels:
            t.add_row(
                f"{rule.label} regions ({rule.to_text()})",
                ", ".join(
                    f"{word} {merged[f'{rule.label} regions_{key}']}"
                    for word, key in (
                        ("accepted", "accepted"),
                        ("dropped", "rejected"),
                        ("to review", "review"),
                    )
                ),
            )
    t.add_row("skipped: cancelled", str(r.cancelled))
    t.add_row("skipped: drafts", str(r.drafts))
    console.print(t)
    for c in r.conflicts[:50] if r.conflict_count else ():
        console.print(
            f"[yellow]conflict[/] {c.curate_id} (task {c.task_id}, "
            f"{len(c.annotations)} annotations): {c.url}",
            highlight=False,
            soft_wrap=True,
        )
    if r.conflict_count > 50:
        console.print(f"... {r.conflict_count - 50} more in conflicts.jsonl")
    if r.problems.counts:
        shown = ", ".join(f"{k} {v}" for k, v in sorted(r.problems.counts.items()))
        err_console.print(
            f"[yellow]problems[/] {escape(str(shown))}", highlight=False, soft_wrap=True
        )
        for msg in r.problems.messages[:10]:
            err_console.print(f"  {msg}", highlight=False, soft_wrap=True)
        if len(r.problems.messages) > 10:
            err_console.print(f"  ... all in {r.path / 'report.json'}", highlight=False)
    rows = r.corrections.rows()
    if rows:
        ct = Table(title="corrections of the pre-annotations")
        for col in ("model version", "label", "kept", "changed", "deleted", "added"):
            ct.add_column(
                col, justify="right" if col in ("kept", "changed", "deleted", "added") else "left"
            )
        for row in rows:
            ct.add_row(
                row["model_version"],
                row["label"],
                *(str(row[k]) for k in ("kept", "changed", "deleted", "added")),
            )
        console.print(ct)
    for model, q in sorted(r.corrections.quotes.items()):
        console.print(
            f"whole quotes of {model}: {q['kept']} kept, {q['changed']} changed, "
            f"{q['deleted']} deleted ({q['deleted_with_parts']} with their speaker or cue), "
            f"{q['added']} added",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"wrote {r.path}", highlight=False)
    if not r.snapshot_deleted:
        console.print(
            f"export snapshot {r.snapshot_id} is kept on the server "
            "(delete it in the project's Export dialog when done)",
            highlight=False,
        )

"""``curate train``: a quote model and an entity recognizer from a gold version, written to a
versioned model folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from curate.cli.app import command, console, err_console, plural, shown
from curate.settings import GOLD_ROOT, MODELS_DIR


@command("train")
def train_cli(
    gold: str = typer.Argument(
        ..., help="Gold dataset name (data/gold/NAME), NAME@VERSION or a version folder."
    ),
    name: str = typer.Option(..., "--name", help="Model name: the folder OUTPUT/NAME/."),
    version: str | None = typer.Option(None, "--version", help="Gold version (default: latest)."),
    model_version: str = typer.Option(
        "1.0.0", "--model-version", help="Version of the model to write; never overwritten."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (training and the dev hold-out)."),
    base_model: str | None = typer.Option(
        None,
        "--base-model",
        help="spaCy model whose tokenizer, tagger and parser the model reads "
        "(default: the default spaCy model).",
    ),
    max_steps: int = typer.Option(
        2000, "--max-steps", min=0, help="Stop after this many updates (0: bounded by --epochs)."
    ),
    epochs: int = typer.Option(
        0, "--epochs", min=0, help="Stop after this many passes over the gold (0: no bound)."
    ),
    eval_frequency: int = typer.Option(
        200, "--eval-frequency", min=1, help="Score on the dev articles every N steps."
    ),
    entities: bool = typer.Option(
        True,
        "--entities/--no-entities",
        help="Also train an entity recognizer (the base model's, fine-tuned) when the gold "
        "has entities.",
    ),
    output: Path = typer.Option(MODELS_DIR, "--output", "-o", help="Where models live."),
    root: Path = typer.Option(GOLD_ROOT, "--root", help="Where gold datasets live."),
) -> None:
    """Train a quote model (content, speaker, cue) and an entity recognizer on a gold
    version with spaCy.

    Uses the gold's train/dev splits when it has both, else holds out a tenth of its
    articles (chosen by --seed) to score on. The quote component learns from the gold's
    quotes; the entity component (when the gold has entities) starts from the base model's
    recognizer and is fine-tuned on the articles that have entities, each for at most
    --max-steps updates. A gold with only one of the two trains that one and says so.
    Writes OUTPUT/NAME/VERSION/ with the spaCy pipeline, training.cfg and
    training-entities.cfg (the exact config of each run, seed included) and
    curate-model.json (gold name, version and manifest hash, settings, per component its
    labels, counts and dev scores, library versions). Use it with `curate preannotate
    --quote-model NAME@VERSION` (its entities then come from the model too) and `curate
    evaluate NAME@VERSION`.
    """
    from curate.extract.nlp import default_model
    from curate.train import Settings, train
    from curate.train.run import peak_rss_mb

    settings = Settings(
        base_model=base_model or default_model(),
        seed=seed,
        max_steps=max_steps,
        epochs=epochs,
        eval_frequency=eval_frequency,
        entities=entities,
    )
    started = time.perf_counter()
    with shown(
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[score]}"),
            TimeElapsedColumn(),
            console=err_console,
        )
    ) as progress:
        task = progress.add_task("training", total=None, score="")
        current: dict[str, str] = {}

        def on_progress(step: int, total: int | None, info: dict[str, Any]) -> None:
            # Components train in turn, each its own --max-steps: the bar is the current
            # one's, named with its place ("training quotes (1/2)").
            what = f"training {info['component']} ({info['part']})"
            fields: dict[str, Any] = {"description": what}
            if info.get("score") is not None:
                fields["score"] = f"dev F1 {float(info['score']):.3f}"
            elif current.get("what") != what:
                fields["score"] = ""  # the last component's F1 is not this one's
            current["what"] = what
            progress.update(task, total=total, completed=step, **fields)

        result = train(
            gold,
            name=name,
            model_version=model_version,
            gold_version=version,
            gold_root=root,
            output=output,
            settings=settings,
            on_progress=on_progress,
        )
    render(result.meta, time.perf_counter() - started, peak_rss_mb())
    for note in result.meta.get("notes") or ():
        console.print(note, highlight=False, soft_wrap=True)
    console.print(f"wrote {result.path}", highlight=False, soft_wrap=True)


def render(meta: dict[str, Any], seconds: float, peak_mb: float) -> None:
    """The model's gold, settings and dev scores (per trained component) as one table."""
    gold = meta["gold"]
    table = Table(title=f"model {meta['name']}@{meta['version']}", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row(
        "gold", f"{gold['name']} {gold['version']} (manifest {gold['manifest_sha256'][:12]})"
    )
    table.add_row(
        "articles",
        f"{gold['train_articles']} train, {gold['dev_articles']} dev ({gold['dev_rule']})",
    )
    components = meta.get("components") or {meta["component"]: meta}
    quotes = components.get("quotes")
    if quotes is not None:
        table.add_row("quotes", f"{gold['train_quotes']} train, {gold['dev_quotes']} dev")
        _component_rows(table, "", quotes)
    ents = components.get("entities")
    if ents is not None:
        labels = ", ".join(f"{k} {v}" for k, v in ents["labels"].items())
        table.add_row(
            "entities",
            f"{ents['train_entities']} in {plural(ents['train_articles'], 'train article')}, "
            f"{ents['dev_entities']} in {ents['dev_articles']} dev ({labels})",
        )
        base = (ents.get("base_dev_scores") or {}).get("ents_f")
        now = (ents.get("dev_scores_gold_labels") or {}).get("ents_f")
        if now is not None:
            # The headline on the gold's labels, as the per-label list beside it (the
            # base model's other labels, which pre-annotation drops, scored apart).
            every = float((ents.get("dev_scores") or {}).get("ents_f") or 0)
            before = (
                f"; the base recognizer before training: {base:.3f}" if base is not None else ""
            )
            ents = {**ents, "dev_scores": {**(ents.get("dev_scores") or {}), "ents_f": now}}
            _component_rows(table, "entity ", ents)
            table.add_row(
                "",
                f"(on the gold's labels; {every:.3f} counting the base model's other "
                f"labels{before})",
            )
        else:
            _component_rows(table, "entity ", ents)
    table.add_row("seed", str(meta["settings"]["seed"]))
    table.add_row("wall time", f"{seconds:.0f} s")
    table.add_row("peak memory", f"{peak_mb:.0f} MB")
    console.print(table)


def _component_rows(table: Table, prefix: str, about: dict[str, Any]) -> None:
    """Span alignment and dev F1 (per label) of one trained component."""
    a = about["alignment"]
    table.add_row(
        f"{prefix}spans",
        f"{a['spans']} ({a['misaligned']} off token boundaries, {a['dropped']} dropped)",
    )
    scores = about.get("dev_scores") or {}
    per = scores.get("ents_per_type") or {}
    # Only the gold's labels: a sourced recognizer also scores the base model's other
    # labels (always 0 here: the gold has none), which pre-annotation drops anyway.
    gold_labels = set(about.get("labels") or per)
    figures = ", ".join(f"{k} {v['f']:.3f}" for k, v in sorted(per.items()) if k in gold_labels)
    table.add_row(
        f"{prefix}dev F1",
        f"{float(scores.get('ents_f') or 0):.3f}" + (f" ({figures})" if figures else ""),
    )

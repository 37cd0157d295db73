"""``curate train``: a quote model and an entity recognizer from a gold version, through
spaCy's config and training loop.

The gold's ``train``/``dev`` splits are used when it has both; otherwise a tenth of its
articles (chosen by seed) is held out to score the model while it trains. The quote
component and the entity component (when the gold has entities) are trained one after
the other, each in its own spaCy run (both write ``doc.ents``). The run writes
``<output>/<name>/<version>/``: one spaCy pipeline holding the trained ``quotes`` and
``entities`` components (``config.cfg``, weights), ``training.cfg`` and
``training-entities.cfg`` (the full config of each run, sources and seed included:
``spacy train training.cfg`` redoes it) and ``curate-model.json`` (:data:`META_FILE`:
gold, settings, per component its labels, counts and dev scores, versions). The folder
appears only when training finished; an existing version is never overwritten.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curate.errors import CurateError
from curate.io.jsonl import made_folders
from curate.model import Document
from curate.settings import GOLD_ROOT, MODELS_DIR
from curate.train.config import (
    COMPONENT,
    ENTITY_COMPONENT,
    Settings,
    build_config,
    build_entity_config,
)
from curate.train.data import (
    LABELS,
    Alignment,
    entity_labels,
    split_dev,
    to_entity_doc,
    to_training_doc,
)
from curate.train.models import META_FILE, check_model_name, model_dir

MIN_ARTICLES = 2
_UNUSED_PIPES = ("attribute_ruler", "lemmatizer", "ner", "senter")
DEV_SPLITS = ("dev", "validation")
_BINS = ("train", "dev", "entities-train", "entities-dev")
_TRAINING_CFG = {COMPONENT: "training.cfg", ENTITY_COMPONENT: "training-entities.cfg"}

# (step of the component in training, its total steps or None, info): info always names
# the "component" and its "part" ("1/2": first of two trained in turn), and holds the dev
# scores ("score", ...) at an evaluation step.
ProgressFn = Callable[[int, int | None, dict[str, Any]], None]


class TrainError(CurateError):
    """A gold that cannot train a model, or a model version that already exists."""


@dataclass
class TrainResult:
    """What a training run wrote and measured."""

    path: Path
    meta: dict[str, Any]


def train(
    gold: str | Path,
    *,
    name: str,
    model_version: str = "1.0.0",
    gold_version: str | None = None,
    gold_root: str | Path = GOLD_ROOT,
    output: str | Path = MODELS_DIR,
    settings: Settings | None = None,
    on_progress: ProgressFn | None = None,
) -> TrainResult:
    """Train a quote model (CONTENT, SOURCE, CUE) and an entity recognizer on a gold
    version; write its folder.

    ``gold`` is a dataset name under ``gold_root``, ``name@version`` or a version folder
    (as :func:`curate.gold.load_documents`). The quote component is trained when the
    gold's training articles have quotes, the entity component (see
    :func:`curate.train.config.build_entity_config`) when they have entities and
    ``settings.entities``; a gold with one of the two trains that one and says so in the
    meta's ``notes``. Entities are learned from the articles that have at least one (an
    article without any is taken as not annotated for entities, not as free of them).
    Raises :class:`TrainError` when the model version exists, the gold has fewer than
    :data:`MIN_ARTICLES` articles or neither quotes nor entities to learn from, and
    :class:`curate.errors.DatasetError` for a missing or damaged gold.
    """
    from curate.gold.load import read_version
    from curate.gold.version import Version, resolve

    settings = settings or Settings(base_model=_default_base())
    check_model_name(name)
    version = str(Version.parse(model_version))
    target = model_dir(output, name, version)
    if target.exists():
        raise TrainError(
            f"model {name} {version} already exists in {target}; model versions never change: "
            "choose another --model-version"
        )
    if settings.max_steps <= 0 and settings.epochs <= 0:
        raise TrainError("give --max-steps or --epochs (a training run needs a bound)")
    folder = resolve(gold, gold_version, gold_root)
    by_split = read_version(folder)
    manifest_bytes = (folder / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    gold_name = str(manifest.get("name") or folder.parent.name)
    train_docs, dev_docs, split_rule = _splits(by_split, settings.seed)
    every = train_docs + dev_docs
    where = f"gold {gold_name} {manifest.get('version', folder.name)}"
    if len(every) < MIN_ARTICLES:
        raise TrainError(
            f"{where} has {len(every)} article(s); training needs at least {MIN_ARTICLES} "
            "(one to learn from, one to score on): add articles or use a larger gold"
        )
    plan = _plan(where, train_docs, dev_docs, settings)

    from spacy.tokens import DocBin

    from curate.extract.nlp import load_model

    # Tokenized and parsed as the base model will do it while training and at inference.
    nlp, base_version = load_model(settings.base_model, _UNUSED_PIPES, fast=False)
    alignment, ent_alignment = Alignment(), Alignment()
    started = time.perf_counter()
    # A failed or interrupted run leaves no empty model folder.
    with made_folders(target.parent):
        work = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".tmp", dir=target.parent))
        try:
            bins = {key: DocBin() for key in _BINS}
            split_of = {d.id: "train" for d in train_docs} | {d.id: "dev" for d in dev_docs}
            parsed = nlp.pipe((d.text for d in every), batch_size=16)
            for p, d in zip(parsed, every, strict=True):
                if d.id in plan.entity_split:
                    bins[f"entities-{plan.entity_split[d.id]}"].add(
                        to_entity_doc(p.copy(), d, ent_alignment)
                    )
                if plan.quotes:
                    bins[split_of[d.id]].add(to_training_doc(p, d, alignment))
            paths = {key: work / f"{key}.spacy" for key in _BINS}
            for key, bin_ in bins.items():
                bin_.to_disk(paths[key])
            runs = []
            if plan.quotes:
                runs.append(
                    (COMPONENT, build_config(settings, str(paths["train"]), str(paths["dev"])))
                )
            base_ner = _base_ner(nlp) if plan.entity_split else None
            if plan.entity_split:
                config = build_entity_config(
                    settings, str(paths["entities-train"]), str(paths["entities-dev"]), base_ner
                )
                runs.append((ENTITY_COMPONENT, config))
            scores, best = _run_all(runs, work, on_progress, settings, plan.entity_labels)
            out = work / "model"
            best.meta.update({"name": name.replace("-", "_"), "version": version})
            best.to_disk(out)
            _forget_work_paths(out / "config.cfg")
            for component, config in runs:
                training_cfg = config.copy()
                training_cfg["paths"]["train"] = None
                training_cfg["paths"]["dev"] = None
                training_cfg.to_disk(out / _TRAINING_CFG[component])
            components: dict[str, dict[str, Any]] = {}
            if plan.quotes:
                components[COMPONENT] = {
                    "labels": list(LABELS),
                    "train_quotes": sum(len(d.quotes) for d in train_docs),
                    "dev_quotes": sum(len(d.quotes) for d in dev_docs),
                    "dev_scores": scores[COMPONENT],
                    "alignment": alignment.to_dict(),
                    "training_config": _TRAINING_CFG[COMPONENT],
                }
            if plan.entity_split:
                ent_scores = dict(scores[ENTITY_COMPONENT])
                gold_labels, base = (
                    ent_scores.pop("gold_labels", None),
                    ent_scores.pop("base", None),
                )
                components[ENTITY_COMPONENT] = {
                    "labels": plan.entity_labels,
                    **plan.entity_counts,
                    "initialised_from": f"{base_version} ner"
                    if base_ner is not None
                    else "nothing",
                    "dev_scores": ent_scores,
                    # Both on the gold's labels only: did fine-tuning help or make it forget?
                    "dev_scores_gold_labels": gold_labels,
                    "base_dev_scores": base,
                    "alignment": ent_alignment.to_dict(),
                    "training_config": _TRAINING_CFG[ENTITY_COMPONENT],
                }
                plan.notes.extend(_forgetting(components[ENTITY_COMPONENT], base_version))
            meta = _meta(
                name=name,
                version=version,
                gold_name=gold_name,
                manifest=manifest,
                manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
                folder=folder,
                counts={
                    "train_articles": len(train_docs),
                    "dev_articles": len(dev_docs),
                    "train_quotes": sum(len(d.quotes) for d in train_docs),
                    "dev_quotes": sum(len(d.quotes) for d in dev_docs),
                    "train_entities": sum(len(d.entities) for d in train_docs),
                    "dev_entities": sum(len(d.entities) for d in dev_docs),
                    "dev_rule": split_rule,
                },
                settings=settings,
                base_version=base_version,
                components=components,
                notes=plan.notes,
                seconds=time.perf_counter() - started,
            )
            (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            if target.exists():
                raise TrainError(f"model {name} {version} appeared in {target} while training")
            out.rename(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return TrainResult(target, meta)


@dataclass
class _Plan:
    """Which components a run trains: ``entity_split`` maps the id of each article the
    entity component learns from (``train``) or is scored on (``dev``)."""

    quotes: bool
    entity_split: dict[str, str]
    entity_labels: dict[str, int]
    entity_counts: dict[str, Any]
    notes: list[str]


def _plan(
    where: str, train_docs: list[Document], dev_docs: list[Document], settings: Settings
) -> _Plan:
    """What the gold can train; raises TrainError when it can train nothing."""
    quotes = any(d.quotes for d in train_docs)
    notes: list[str] = []
    ent_train = [d for d in train_docs if d.entities] if settings.entities else []
    ent_dev = [d for d in dev_docs if d.entities] if ent_train else []
    rule = "the gold's dev articles with entities"
    if ent_train and not ent_dev:
        if len(ent_train) < MIN_ARTICLES:
            notes.append(
                f"{where}: only one article has entities and no dev article has any: the "
                "entity component is not trained"
            )
            ent_train = []
        else:
            ent_train, ent_dev = split_dev(ent_train, settings.seed)
            rule = f"{len(ent_dev)} of {len(ent_dev) + len(ent_train)} by sha256(seed:id)"
    if not quotes and not ent_train:
        n_quotes = sum(len(d.quotes) for d in train_docs + dev_docs)
        in_train = " in its training articles" if n_quotes else ""
        entities = " and no entities" if settings.entities else ""
        raise TrainError(
            f"{where} has no quotes{in_train}{entities}; a model needs annotated quotes or "
            "entities: annotate some or use another gold"
        )
    if not quotes:
        notes.append(
            f"{where} has no quotes in its training articles: trained entities only "
            "(quotes stay with the rules)"
        )
    elif not ent_train and not notes:
        why = "has no entities" if settings.entities else "entities left out (--no-entities)"
        notes.append(f"{where} {why}: trained quotes only (entities stay with the base model)")
    split = {d.id: "train" for d in ent_train} | {d.id: "dev" for d in ent_dev}
    return _Plan(
        quotes=quotes,
        entity_split=split,
        entity_labels=entity_labels(ent_train),
        entity_counts={
            "train_articles": len(ent_train),
            "dev_articles": len(ent_dev),
            "dev_rule": rule,
            "train_entities": sum(len(d.entities) for d in ent_train),
            "dev_entities": sum(len(d.entities) for d in ent_dev),
        },
        notes=notes,
    )


def _base_ner(nlp: Any) -> dict[str, Any] | None:
    """The base model's ``[components.ner]`` config section (None: it has no ``ner``).

    Read from its config file: the parsing pipeline was loaded without ``ner``."""
    from spacy.util import load_config

    path = getattr(nlp, "path", None)
    if path is None or not (Path(path) / "config.cfg").is_file():
        return None
    components = load_config(Path(path) / "config.cfg", interpolate=False)["components"]
    ner = components.get("ner")
    return dict(ner) if ner and ner.get("factory") == "ner" else None


def _forgetting(entities: dict[str, Any], base_version: str) -> list[str]:
    """A note when fine-tuning left the recognizer worse on dev than it started (both
    scored on the gold's labels only)."""
    base = (entities.get("base_dev_scores") or {}).get("ents_f")
    now = (entities.get("dev_scores_gold_labels") or {}).get("ents_f")
    if base is None or now is None or now >= base:
        return []
    return [
        f"entities: dev F1 {now:.3f} is below the {base_version} recognizer's {base:.3f} on the "
        "same articles (gold labels only); the gold may be too small to fine-tune on"
    ]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux ``ru_maxrss`` is in KB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _default_base() -> str:
    from curate.extract.nlp import default_model

    return default_model()


def _forget_work_paths(path: Path) -> None:
    """Set ``[paths] train/dev`` of a saved pipeline's config to null: they named the
    temporary training folder, which is gone once the model is written."""
    from thinc.api import Config

    config = Config().from_disk(path, interpolate=False)
    config["paths"]["train"] = None
    config["paths"]["dev"] = None
    config.to_disk(path)


def _splits(
    by_split: dict[str, list[Document]], seed: int
) -> tuple[list[Document], list[Document], str]:
    dev_name = next((s for s in DEV_SPLITS if by_split.get(s)), None)
    if by_split.get("train") and dev_name:
        return list(by_split["train"]), list(by_split[dev_name]), f"gold splits train/{dev_name}"
    every = [d for docs in by_split.values() for d in docs]
    if len(every) < MIN_ARTICLES:
        return every, [], "none"
    train_docs, dev_docs = split_dev(every, seed)
    return train_docs, dev_docs, f"{len(dev_docs)} of {len(every)} articles by sha256(seed:id)"


def _run_all(
    runs: list[tuple[str, Any]],
    work: Path,
    on_progress: ProgressFn | None,
    settings: Settings,
    entity_labels: dict[str, int],
) -> tuple[dict[str, dict[str, Any]], Any]:
    """Train each ``(component, config)`` in turn; return the dev scores per component and
    one pipeline holding every trained component (the later ones sourced into the first).
    """
    import spacy

    scores: dict[str, dict[str, Any]] = {}
    best: Any = None
    for k, (component, config) in enumerate(runs, 1):
        part = {"component": component, "part": f"{k}/{len(runs)}"}

        def report(step: int, info: dict[str, Any] | None, part: dict[str, str] = part) -> None:
            if on_progress is not None:
                total = settings.max_steps or None
                # spaCy's loop counts one step past its bound before it stops.
                done = min(step, total) if total else step
                on_progress(done, total, {**(info or {}), **part})

        output = work / f"output-{component}"
        labels = entity_labels if component == ENTITY_COMPONENT else None
        scores[component], _ = _run_spacy(config, output, report, labels)
        trained = spacy.load(output / "model-best")
        if labels is not None:
            scores[component]["gold_labels"] = _label_scores(trained, config, labels)
        if best is None:
            best = trained
        else:
            best.add_pipe(component, source=trained)
    return scores, best


def _run_spacy(
    config: Any,
    output: Path,
    report: Callable[[int, dict[str, Any] | None], None],
    base_labels: dict[str, int] | None = None,
) -> tuple[dict[str, Any], int]:
    """Initialize and train through spaCy's own loop; return the best dev scores and the
    number of steps run. With ``base_labels`` the scores also hold, under ``base``, those
    of the component as initialised (before any update), on those labels only."""
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_loop

    # Imported for their registrations: the config names the reader and the logger.
    from curate.train import corpus, progress

    steps = 0

    def step(n: int, info: dict[str, Any] | None) -> None:
        nonlocal steps
        steps = max(steps, n)
        report(n, info)

    from curate.extract.nlp import ONE_BLAS_THREAD, numpy_products

    sink = io.StringIO()
    # The products of the forward and backward passes go through each layer's
    # ``ops.gemm``: on numpy's BLAS (one thread, held for the whole run) rather than
    # thinc's bundled BLIS, as at inference (see curate.extract.nlp's note on BLIS).
    with progress.reporting(step), ONE_BLAS_THREAD:
        nlp = init_nlp(config, use_gpu=-1)
        numpy_products(nlp)
        base = _label_scores(nlp, config, base_labels) if base_labels is not None else None
        output.mkdir(parents=True, exist_ok=True)
        train_loop(nlp, output, use_gpu=-1, stdout=sink, stderr=sink)
    del corpus
    best_meta = json.loads((output / "model-best" / "meta.json").read_text(encoding="utf-8"))
    perf = best_meta.get("performance") or {}
    scores = {k: v for k, v in perf.items() if k.startswith("ents") or k.endswith("_loss")}
    if base is not None:
        scores["base"] = base
    return scores, steps


def _label_scores(nlp: Any, config: Any, labels: dict[str, int]) -> dict[str, Any]:
    """P/R/F1 of ``nlp`` on the dev corpus of ``config``, its predictions of other labels
    left out (pre-annotation drops labels the label config does not have)."""
    from spacy.scorer import get_ner_prf
    from spacy.training import Example

    from curate.train.corpus import parsed_corpus

    examples = list(parsed_corpus(Path(config["paths"]["dev"]))(nlp))
    predicted = nlp.pipe(eg.predicted for eg in examples)
    scored = []
    for eg, doc in zip(examples, predicted, strict=True):
        doc.set_ents([e for e in doc.ents if e.label_ in labels], default="outside")
        scored.append(Example(doc, eg.reference))
    prf = get_ner_prf(scored)
    return {k: v for k, v in prf.items() if k in ("ents_p", "ents_r", "ents_f")}


def _meta(
    *,
    name: str,
    version: str,
    gold_name: str,
    manifest: dict[str, Any],
    manifest_sha256: str,
    folder: Path,
    counts: dict[str, Any],
    settings: Settings,
    base_version: str,
    components: dict[str, dict[str, Any]],
    notes: list[str],
    seconds: float,
) -> dict[str, Any]:
    """The model's ``curate-model.json``. ``components`` holds, per trained component (in
    pipeline order), its labels, counts, dev scores and alignment; the top-level
    ``component``, ``labels``, ``dev_scores`` and ``alignment`` repeat the first one's
    (what readers of ``curate-model/1`` find)."""
    import spacy
    import thinc

    from curate import __version__

    first, about = next(iter(components.items()))
    return {
        "format": "curate-model/2",
        "name": name,
        "version": version,
        "component": first,
        "components": components,
        "labels": list(about["labels"]),
        "notes": notes,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "gold": {
            "name": gold_name,
            "version": str(manifest.get("version") or folder.name),
            "manifest_sha256": manifest_sha256,
            **counts,
        },
        "settings": settings.to_dict(),
        "dev_scores": about["dev_scores"],
        "alignment": about["alignment"],
        "training_seconds": round(seconds, 1),
        "peak_rss_mb": peak_rss_mb(),
        "versions": {
            "curate": __version__,
            "spacy": spacy.__version__,
            "thinc": thinc.__version__,
            "python": platform.python_version(),
            "base_model": base_version,
        },
    }

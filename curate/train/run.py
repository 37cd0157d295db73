"""``curate train``: a quote model from a gold version, through spaCy's config and training loop.

The gold's ``train``/``dev`` splits are used when it has both; otherwise a tenth of its
articles (chosen by seed) is held out to score the model while it trains. The run
writes ``<output>/<name>/<version>/``: the spaCy pipeline of the trained ``quotes``
component (``config.cfg``, weights), ``training.cfg`` (the full config the run used,
sources and seed included: ``spacy train training.cfg`` redoes it) and
``curate-model.json`` (:data:`META_FILE`: gold, settings, dev scores, versions). The
folder appears only when training finished; an existing version is never overwritten.
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
from curate.model import Document
from curate.settings import GOLD_ROOT, MODELS_DIR
from curate.train.config import COMPONENT, Settings, build_config
from curate.train.data import LABELS, Alignment, split_dev, to_training_doc
from curate.train.models import META_FILE, check_model_name, model_dir

MIN_ARTICLES = 2
_UNUSED_PIPES = ("attribute_ruler", "lemmatizer", "ner", "senter")
DEV_SPLITS = ("dev", "validation")

# (step, total steps or None, scores at an evaluation step or None)
ProgressFn = Callable[[int, int | None, dict[str, Any] | None], None]


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
    """Train a quote model (CONTENT, SOURCE, CUE) on a gold version; write its folder.

    ``gold`` is a dataset name under ``gold_root``, ``name@version`` or a version folder
    (as :func:`curate.gold.load_documents`). Raises :class:`TrainError` when the model
    version exists, the gold has fewer than :data:`MIN_ARTICLES` articles or no quotes,
    and :class:`curate.errors.DatasetError` for a missing or damaged gold.
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
    n_quotes = sum(len(d.quotes) for d in every)
    if not any(d.quotes for d in train_docs):
        raise TrainError(
            f"{where} has no quotes{' in its training articles' if n_quotes else ''}; "
            "a quote model needs annotated quotes: annotate some or use another gold"
        )

    import spacy
    from spacy.tokens import DocBin

    from curate.extract.nlp import load_model

    # Tokenized and parsed as the base model will do it while training and at inference.
    nlp, base_version = load_model(settings.base_model, _UNUSED_PIPES, fast=False)
    alignment = Alignment()
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".tmp", dir=target.parent))
    try:
        paths = {}
        for split, docs in (("train", train_docs), ("dev", dev_docs)):
            parsed = nlp.pipe((d.text for d in docs), batch_size=16)
            bin_ = DocBin(
                docs=[to_training_doc(p, d, alignment) for p, d in zip(parsed, docs, strict=True)]
            )
            paths[split] = work / f"{split}.spacy"
            bin_.to_disk(paths[split])
        config = build_config(settings, str(paths["train"]), str(paths["dev"]))
        scores = _run_spacy(config, work / "output", on_progress, settings)
        out = work / "model"
        best = spacy.load(work / "output" / "model-best")
        best.meta.update({"name": name.replace("-", "_"), "version": version})
        best.to_disk(out)
        training_cfg = config.copy()
        training_cfg["paths"]["train"] = None
        training_cfg["paths"]["dev"] = None
        training_cfg.to_disk(out / "training.cfg")
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
                "dev_rule": split_rule,
            },
            settings=settings,
            base_version=base_version,
            scores=scores,
            alignment=alignment,
            seconds=time.perf_counter() - started,
        )
        (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            raise TrainError(f"model {name} {version} appeared in {target} while training")
        out.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TrainResult(target, meta)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux ``ru_maxrss`` is in KB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _default_base() -> str:
    from curate.extract.nlp import default_model

    return default_model()


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


def _run_spacy(
    config: Any, output: Path, on_progress: ProgressFn | None, settings: Settings
) -> dict[str, Any]:
    """Initialize and train through spaCy's own loop; return the best dev scores."""
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_loop

    # Imported for their registrations: the config names the reader and the logger.
    from curate.train import corpus, progress

    del corpus

    total = settings.max_steps or None
    sink = io.StringIO()
    with progress.reporting(lambda step, info: on_progress and on_progress(step, total, info)):
        nlp = init_nlp(config, use_gpu=-1)
        output.mkdir(parents=True, exist_ok=True)
        train_loop(nlp, output, use_gpu=-1, stdout=sink, stderr=sink)
    best_meta = json.loads((output / "model-best" / "meta.json").read_text(encoding="utf-8"))
    perf = best_meta.get("performance") or {}
    return {k: v for k, v in perf.items() if k.startswith("ents") or k.endswith("_loss")}


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
    scores: dict[str, Any],
    alignment: Alignment,
    seconds: float,
) -> dict[str, Any]:
    import spacy
    import thinc

    from curate import __version__

    return {
        "format": "curate-model/1",
        "name": name,
        "version": version,
        "component": COMPONENT,
        "labels": list(LABELS),
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "gold": {
            "name": gold_name,
            "version": str(manifest.get("version") or folder.name),
            "manifest_sha256": manifest_sha256,
            **counts,
        },
        "settings": settings.to_dict(),
        "dev_scores": scores,
        "alignment": alignment.to_dict(),
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

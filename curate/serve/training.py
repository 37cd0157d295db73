"""Gated retraining: train in the background, serve a new version only if it scores as well.

A run gathers the training documents (the project's gold, pulled from Label Studio, plus
the training part of a base gold), calls a :class:`Trainer`, scores the candidate and the
serving version on the held-out part of the base gold, and promotes the candidate only
when its quote F1 (overlap rule of :mod:`curate.score.quotes`) is at least the serving
one's. Every run is listed in ``versions.json`` with its score and outcome; a run that
fails is listed as failed and the serving version stays.

The held-out part is fixed by article id (:func:`held_out`), so it never changes
between runs and never leaks into training.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from curate.errors import CurateError
from curate.io.jsonl import atomic_writer
from curate.model import Document

VERSIONS_FILE = "versions.json"
MODEL_NAME = "curate-serve"
"""The name of the models retraining writes (``curate-serve@2.0.0`` is version ``v2``)."""
GOLD_NAME = "curate-serve-train"
RULES_VERSION = "rules"
"""The version that serves before any training: curate's rule pipeline."""
HELD_OUT_SHARE = 0.25


class Trainer(Protocol):
    """What gated retraining needs from a training library.

    ``__call__(train_docs, out_dir)`` trains on the documents' quotes, writes the model to
    ``out_dir`` (which does not exist yet) and returns nothing; raising CurateError (or
    anything) marks the run failed. ``load(out_dir)`` gives an object with
    ``predict(articles) -> Iterator[Document]`` (what ``curate serve`` answers once the
    version serves: its entities and its quotes) and a ``version`` string.
    :class:`CurateTrainer` is the one ``curate serve`` uses.
    """

    def __call__(self, train_docs: Sequence[Document], out_dir: Path) -> None: ...

    def load(self, out_dir: Path) -> Any: ...


@dataclass
class CurateTrainer:
    """:class:`Trainer` backed by ``curate train`` (:func:`curate.train.run.train`).

    A run writes the training documents as a gold version (one ``train`` split, in a
    temporary folder beside ``out_dir``; ``curate train`` holds a tenth of it out, chosen
    by ``seed``, to pick its best checkpoint), trains a quote model named
    :data:`MODEL_NAME` with version ``out_dir.name`` (``v3`` is ``3.0.0``) for at most
    ``max_steps`` updates on ``base_model`` (None: the default spaCy model), and moves the
    model folder to ``out_dir`` in one rename. ``load`` gives :class:`TrainedPipeline`.
    Raises :class:`curate.train.run.TrainError` for fewer than two articles or no quotes.
    ``entities`` also trains the entity component on the documents' entities; off by
    default because the gate scores quotes only, so a worse entity recognizer would
    still be promoted.
    """

    max_steps: int = 600
    seed: int = 0
    eval_frequency: int = 200
    base_model: str | None = None
    entities: bool = False

    def __call__(self, train_docs: Sequence[Document], out_dir: Path) -> None:
        from curate.extract.nlp import default_model
        from curate.gold.write import write_version
        from curate.train import Settings, train

        out = Path(out_dir)
        if out.exists():
            raise CurateError(f"model folder {out} already exists; a version is never overwritten")
        settings = Settings(
            base_model=self.base_model or default_model(),
            seed=self.seed,
            max_steps=self.max_steps,
            eval_frequency=max(1, min(self.eval_frequency, self.max_steps)),
            entities=self.entities,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
        try:
            gold = write_version(
                train_docs,
                name=GOLD_NAME,
                root=work / "gold",
                splits="train",
                formats=("hf",),
                note="training documents of one curate serve run",
            )
            result = train(
                gold,
                name=MODEL_NAME,
                model_version=_semver(out.name),
                output=work / "models",
                settings=settings,
            )
            result.path.rename(out)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def load(self, out_dir: Path) -> TrainedPipeline:
        return TrainedPipeline(out_dir)


class TrainedPipeline:
    """A model folder of :class:`CurateTrainer` run as ``curate preannotate --quote-model
    DIR`` runs it: spaCy entities and the hybrid quote extractor
    (:data:`curate.extract.learned.HYBRID_NAME`) over the trained model.

    ``version`` is the pipeline version ``curate preannotate`` and ``curate push`` record
    for it (``en_core_web_sm-3.8.0+curate.entities.v1+curate.quotes.hybrid.v3:
    curate-serve@2.0.0``); working it out loads the spaCy model in the calling thread, as
    predicting does. Raises :class:`curate.train.models.ModelNotFound` for a folder that
    is not a model.
    """

    def __init__(self, path: str | Path) -> None:
        from curate.extract.preannotate import load_pipeline, pipeline
        from curate.extract.resolve import resolve
        from curate.train.models import read_model

        self.path = Path(path)
        self.trained = read_model(self.path)
        self.version = load_pipeline(None, pipeline(None, str(self.path)))[1]
        self._pipelines = {
            split: resolve(str(self.path), ner_process=split) for split in (False, True)
        }

    def predict(self, articles: Sequence[Any], *, ner_process: bool = False) -> Iterator[Document]:
        """One predicted Document per article, in order (empty for one that failed):
        entities and quotes, from one run of the pipeline. ``ner_process`` runs the
        entity recognizer in a worker process (see :mod:`curate.extract.ner_process`)."""
        return self._pipelines[ner_process].run(list(articles))


@dataclass(frozen=True)
class Version:
    """One model version: ``status`` is serving, retired, rejected, failed or training."""

    name: str
    status: str
    created_at: str
    path: str | None = None
    score: float | None = None
    baseline: float | None = None
    train_articles: int = 0
    trigger: str = ""
    detail: str = ""


_VERSION_LIST = TypeAdapter(list[Version])


@dataclass
class VersionStore:
    """The versions of one backend, kept in ``<root>/versions.json`` (atomic writes)."""

    root: Path
    versions: list[Version] = field(default_factory=list)

    @classmethod
    def open(cls, root: str | Path) -> VersionStore:
        root = Path(root)
        store = cls(root)
        path = root / VERSIONS_FILE
        try:
            rows = _VERSION_LIST.validate_json(path.read_bytes())
        except FileNotFoundError:
            rows = []
        except ValidationError as e:
            first = e.errors()[0]
            where = ", ".join(
                f"entry {x + 1}" if isinstance(x, int) else str(x) for x in first["loc"]
            )
            msg = first["msg"][:1].lower() + first["msg"][1:]
            raise CurateError(
                f"{path} is not a curate serve version list ({where + ': ' if where else ''}"
                f"{msg}); fix it, or move the folder away and `curate serve` starts again "
                "from the rules"
            ) from e
        # A run listed as training when the store opens was cut off by a stop.
        store.versions = [
            replace(v, status="failed", detail="interrupted (the server stopped)")
            if v.status == "training"
            else v
            for v in rows
        ] or [Version(RULES_VERSION, "serving", _now(), detail="curate rules")]
        return store

    def serving(self) -> Version:
        return next((v for v in reversed(self.versions) if v.status == "serving"), self.versions[0])

    def put(self, version: Version) -> None:
        """Add or replace ``version`` (by name) and save; promoting retires the old one."""
        if version.status == "serving":
            self.versions = [
                replace(v, status="retired") if v.status == "serving" else v for v in self.versions
            ]
        self.versions = [v for v in self.versions if v.name != version.name] + [version]
        self.root.mkdir(parents=True, exist_ok=True)
        with atomic_writer(self.root / VERSIONS_FILE) as fh:
            json.dump([asdict(v) for v in self.versions], fh, indent=2)
            fh.write("\n")

    def next_name(self) -> str:
        n = sum(1 for v in self.versions if v.name != RULES_VERSION) + 1
        return f"v{n}"


def held_out(docs: Sequence[Document], share: float = HELD_OUT_SHARE) -> tuple[list, list]:
    """Split gold into (train, held-out) by a hash of the article id (stable across runs).

    With fewer than two articles both parts are the whole gold (tiny settings only).
    """
    test = [d for d in docs if _bucket(d.id) < share]
    train = [d for d in docs if _bucket(d.id) >= share]
    if not test or not train:
        return list(docs), list(docs)
    return train, test


def _bucket(article_id: str) -> float:
    return int(hashlib.sha256(article_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def quote_f1(gold: Sequence[Document], predictions: Sequence[Document]) -> float:
    """Quote content F1 under the overlap rule of :mod:`curate.score.quotes`, micro-averaged."""
    from curate.score.quotes import article_counts

    tot: dict[str, int] = {}
    for g, p in zip(gold, predictions, strict=True):
        for k, v in article_counts(g.quotes, p.quotes)[0].items():
            tot[k] = tot.get(k, 0) + v
    tp_p, tp_g = tot.get("q/overlap/tpp/*", 0), tot.get("q/overlap/tpg/*", 0)
    n_p, n_g = tot.get("q/pred/*", 0), tot.get("q/gold/*", 0)
    prec = tp_p / n_p if n_p else 0.0
    rec = tp_g / n_g if n_g else 0.0
    return 2 * prec * rec / (prec + rec) if prec + rec else 0.0


@dataclass
class Retrainer:
    """Runs one training at a time in a background thread; requests during a run coalesce.

    ``project_docs()`` returns the project's annotated documents (called in the thread,
    never in a request); ``predict_serving(articles)`` predicts with the serving version;
    ``on_promote(version)`` is told when a candidate becomes the serving version.
    """

    store: VersionStore
    trainer: Trainer
    base_gold: Sequence[Document]
    project_docs: Callable[[], Sequence[Document]]
    predict_serving: Callable[[Sequence[Any]], list[Document]]
    on_promote: Callable[[Version, Any], None]
    log: Callable[..., None] = lambda *a, **k: None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _again: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def request(self, trigger: str) -> str:
        """Start a run now, or once the current one ends. Returns queued or started."""
        with self._lock:
            if self.running:
                self._again = True
                return "queued"
            self._thread = threading.Thread(
                target=self._loop, args=(trigger,), name="curate-retrain", daemon=True
            )
            self._thread.start()
            return "started"

    def join(self, timeout: float | None = None) -> None:
        """Wait for the current run (and a queued one) to finish."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            t = self._thread
            if t is None:
                return
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            with self._lock:
                if self._thread is t or (deadline is not None and time.monotonic() > deadline):
                    return

    def stop(self) -> None:
        """Ask a queued run not to start (the current run finishes)."""
        self._stop.set()
        with self._lock:
            self._again = False

    def _loop(self, trigger: str) -> None:
        while not self._stop.is_set():
            self.run_once(trigger)
            with self._lock:
                if not self._again or self._stop.is_set():
                    self._thread = None
                    return
                self._again = False
                trigger = "queued"

    def run_once(self, trigger: str) -> Version:
        """Train, score and maybe promote one candidate (in the calling thread)."""
        name = self.store.next_name()
        out = self.store.root / "models" / name
        version = Version(name, "training", _now(), path=str(out), trigger=trigger)
        self.store.put(version)
        self.log("train.start", version=name, trigger=trigger)
        try:
            project = list(self.project_docs())
            train_base, test = held_out(self.base_gold)
            test_ids = {d.id for d in test}
            train = [d for d in project if d.id not in test_ids]
            # A project annotation of a base gold article replaces the base one.
            seen = {d.id for d in train}
            train += [d for d in train_base if d.id not in seen]
            version = replace(version, train_articles=len(train))
            self.trainer(train, out)
            model = self.trainer.load(out)
            articles = [d.article for d in test]
            score = quote_f1(test, list(model.predict(articles)))
            baseline = quote_f1(test, self.predict_serving(articles))
        except Exception as e:  # any failure of a run leaves the serving model untouched
            detail = f"{type(e).__name__}: {e}"
            version = replace(version, status="failed", detail=detail[:500])
            self.store.put(version)
            self.log(
                "train.failed", version=name, error=detail, trace=traceback.format_exc(limit=3)
            )
            return version
        promoted = score >= baseline
        version = replace(
            version,
            status="serving" if promoted else "rejected",
            score=round(score, 4),
            baseline=round(baseline, 4),
            detail="held-out quote F1 (overlap) on " + f"{len(test)} base gold articles",
        )
        if promoted:
            self.on_promote(version, model)
        self.store.put(version)
        self.log("train.done", version=name, status=version.status, score=score, baseline=baseline)
        return version


def _semver(name: str) -> str:
    """``v3`` -> ``3.0.0`` (a version name of :meth:`VersionStore.next_name`); others as is."""
    n = name.removeprefix("v")
    return f"{n}.0.0" if n.isdigit() else name


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

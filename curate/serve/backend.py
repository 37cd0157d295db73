"""The model behind ``curate serve``: Label Studio tasks in, predictions out.

:class:`Backend` turns tasks into :class:`~curate.model.Article` s, runs the extractor
the CLI uses (:func:`curate.extract.resolve.resolve`, ``curate`` by default: spaCy
entities and curate's quotes) or, once a trained version serves, that version's pipeline
instead (its entities and quotes, in one run);
:func:`curate.studio.convert.document_to_results` makes the Label Studio regions.
Interactive suggestions (:meth:`Backend.suggest`) answer a labeler's CUE or SPEAKER
region with the quote content and speaker that go with it.

Nothing here knows HTTP: :mod:`curate.serve.app` holds the routes.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from curate.errors import CurateError
from curate.model import Article, Document, Prediction, Quote
from curate.schema import LabelSchema, load_schema
from curate.serve import training
from curate.studio.convert import document_to_results, text_field

DEFAULT_EXTRACTOR = "curate"


@dataclass
class Backend:
    """Predictions for Label Studio tasks from curate's extractors and trained versions.

    ``state_dir`` keeps the model versions (``versions.json``, ``models/``). ``trainer``
    and ``base_gold`` enable retraining (:meth:`train`); ``project_docs`` returns the
    annotated documents of the connected project (set by :meth:`setup` when Label Studio
    gives its address, or by the caller).
    """

    state_dir: Path
    extractor: str = DEFAULT_EXTRACTOR
    schema: LabelSchema = field(default_factory=load_schema)
    trainer: training.Trainer | None = None
    base_gold: Sequence[Document] = ()
    project_docs: Callable[[], Sequence[Document]] | None = None
    log: Callable[..., None] = lambda *a, **k: None
    ner_process: bool = field(default_factory=lambda: (os.cpu_count() or 1) >= 2)
    """Run the entity recognizer in a worker process beside the rest of the pipeline
    (:mod:`curate.extract.ner_process`): same predictions, lower latency with two cores."""

    def __post_init__(self) -> None:
        from curate.extract.resolve import resolve

        self.state_dir = Path(self.state_dir)
        self._base = resolve(self.extractor, self.schema, ner_process=self.ner_process)
        # One worker thread runs every prediction: spaCy pipelines are not documented as
        # thread-safe, and curate caches a loaded model per thread.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="curate-predict")
        self.store = training.VersionStore.open(self.state_dir)
        self._quotes: Any = None
        self._ran = False
        serving = self.store.serving()
        if serving.name != training.RULES_VERSION and serving.path and self.trainer is not None:
            # Loaded in the prediction thread, which keeps the spaCy models it loads.
            self._quotes = self._worker.submit(self.trainer.load, Path(serving.path)).result()
        self.retrainer = (
            training.Retrainer(
                store=self.store,
                trainer=self.trainer,
                base_gold=self.base_gold,
                project_docs=self._project_docs,
                predict_serving=self.predict_documents,
                on_promote=self._promote,
                log=self.log,
            )
            if self.trainer is not None
            else None
        )

    # --- prediction -------------------------------------------------------------------

    @property
    def model_version(self) -> str:
        """What predictions are labelled with: the pipeline version ``curate push`` records
        for the same extractors (``en_core_web_sm-3.8.0+curate.entities.v1+curate.quotes.v6``),
        or, once a trained version serves, that of the pipeline over its model
        (``...+curate.quotes.hybrid.v3:curate-serve@2.0.0``). An extractor that reports
        no version (predictions file, callable) is named by its spec."""
        quotes = self._quotes
        if quotes is not None:
            return str(quotes.version)
        if not self._ran:
            self.predict_documents([])  # the pipeline's version is known once it loaded
        return self._base.version or self.extractor

    def warm_up(self) -> None:
        """Load the spaCy model now rather than on the first request.

        Then the objects loaded so far (models, vocabularies) leave the garbage
        collector's generations (``gc.freeze``): a full collection no longer walks them
        in the middle of a request (measured: one such pause of ~100 ms every few dozen
        articles).
        """
        self.predict_documents([Article("warm-up", "“Ready,” she said.")])
        gc.freeze()

    def predict_documents(self, articles: Sequence[Article]) -> list[Document]:
        """One predicted Document per article, in order (the serving version's quotes)."""
        return self._worker.submit(self._predict, list(articles)).result()

    def _predict(self, articles: list[Article]) -> list[Document]:
        quotes = self._quotes
        if quotes is None:
            docs = list(self._base.run(articles))
            self._ran = True
            version = self._base.version or self.extractor
        else:
            # The trained version's pipeline alone: its documents carry the same entities
            # as the rules' pipeline (the same spaCy recognizer, unless the model has its
            # own entity component, which its version then names) and its quotes.
            if isinstance(quotes, training.TrainedPipeline):
                docs = list(quotes.predict(articles, ner_process=self.ner_process))
            else:
                docs = list(quotes.predict(articles))
            version = str(quotes.version)
        return [_labelled(d, version) for d in docs]

    def predict(self, tasks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Label Studio predictions (``{"result", "score", "model_version"}``), one per task.

        A task without text gets an empty prediction scored 0, so the answer keeps the
        tasks' order (the server refuses a request in which no task has text).
        """
        return self.submit_predict(tasks).result()

    def submit_predict(self, tasks: Sequence[Mapping[str, Any]]) -> Future[list[dict[str, Any]]]:
        """:meth:`predict` as a future: the tasks are read, predicted and made into regions
        in the prediction thread, so an event loop awaits it without a thread of its own
        in between (each hand-over between threads waits for the GIL)."""
        return self._worker.submit(self._predict_tasks, list(tasks))

    def _predict_tasks(self, tasks: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        docs = self._predict([self.article(t) for t in tasks])
        return [self._prediction(d) for d in docs]

    def without_text(self, tasks: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The ids of the tasks whose ``data`` has no text under the label config's text
        field (they get an empty prediction scored 0)."""
        field = text_field(self.schema)
        return [t.get("id") for t in tasks if not isinstance((t.get("data") or {}).get(field), str)]

    def article(self, task: Mapping[str, Any]) -> Article:
        data = task.get("data") or {}
        text = data.get(text_field(self.schema))
        if not isinstance(text, str):
            text = ""
        art_id = str(data.get("curate_id") or f"ls-task-{task.get('id')}")
        return Article(art_id, text)

    def _prediction(self, doc: Document) -> dict[str, Any]:
        made_by = doc.provenance
        return {
            "result": document_to_results(doc, self.schema) if doc.text else [],
            # Nothing to predict from: sorted last by prediction score, not first.
            "score": 1.0 if doc.text else 0.0,
            # The version that made this document (a promotion may land in between).
            "model_version": made_by.model_version
            if isinstance(made_by, Prediction)
            else self.model_version,
        }

    # --- interactive suggestions -----------------------------------------------------

    def suggest(self, task: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
        """The quote parts that go with the labeler's CUE or SPEAKER region(s).

        ``context["result"]`` holds the regions the labeler just made (Label Studio's
        interactive request). For each CUE (or SPEAKER) region, the predicted quote whose
        cue (speaker) overlaps it gives its content, kind and speaker (cue), linked with
        the usual relations to the labeler's own region (which keeps its id, so Label
        Studio does not duplicate it). Regions of other labels are ignored; no entity
        regions are suggested.
        """
        article = self.article(task)
        marked = [r for r in context.get("result") or () if _is_part(r, self.schema)]
        if not marked or not article.text:
            return {"result": [], "score": 0.0, "model_version": self.model_version}
        doc = self.predict_documents([article])[0]
        picked: list[tuple[Quote, dict[str, Any]]] = []
        for region in marked:
            q = _quote_for(doc.quotes, region, self.schema)
            if q is not None:
                picked.append((q, region))
        # No entity regions: the suggestion is the quote, its speaker and its cue.
        quotes = tuple(replace(q, speaker_entity=None) for q, _ in picked)
        out = doc.with_(entities=(), quotes=quotes)
        results = document_to_results(out, self.schema)
        for i, (_, region) in enumerate(picked):
            label = region["value"]["labels"][0]
            own = f"q{i}c" if label == self.schema.cue_label else f"q{i}s"
            _rename(results, own, str(region.get("id") or own))
        return {"result": results, "score": 1.0, "model_version": self.model_version}

    # --- training --------------------------------------------------------------------

    def train(self, trigger: str) -> str:
        """Start (or queue) a background training run; returns started or queued."""
        if self.retrainer is None:
            raise CurateError("this backend has no trainer; start it with a base gold")
        return self.retrainer.request(trigger)

    def status(self) -> dict[str, Any]:
        """The serving version, whether a run is going on, and every version with scores."""
        return {
            "model_version": self.model_version,
            "serving": self.store.serving().name,
            "training": bool(self.retrainer and self.retrainer.running),
            "versions": [v.__dict__ for v in self.store.versions],
        }

    def close(self) -> None:
        """Cancel queued training and stop the prediction thread (after its work)."""
        if self.retrainer is not None:
            self.retrainer.stop()
        from curate.extract.ner_process import close_cached

        # The entity recognizer's worker process belongs to the prediction thread.
        self._worker.submit(close_cached).result()
        self._worker.shutdown(wait=True)

    def _project_docs(self) -> Sequence[Document]:
        return list(self.project_docs()) if self.project_docs is not None else []

    def _promote(self, version: training.Version, model: Any) -> None:
        self._quotes = model  # one assignment: a prediction uses the old or the new model


def _is_part(region: Mapping[str, Any], schema: LabelSchema) -> bool:
    value = region.get("value") or {}
    labels: Sequence[str] = value.get("labels") or ()
    return (
        region.get("from_name") == schema.quote_control
        and len(labels) == 1
        and labels[0] in (schema.cue_label, schema.speaker_label)
        and isinstance(value.get("start"), int)
        and isinstance(value.get("end"), int)
    )


def _quote_for(
    quotes: Sequence[Quote], region: Mapping[str, Any], schema: LabelSchema
) -> Quote | None:
    value = region["value"]
    span = (value["start"], value["end"])
    part = "cue" if value["labels"][0] == schema.cue_label else "speaker"

    def overlap(q: Quote) -> int:
        s = getattr(q, part)
        return 0 if s is None else max(0, min(s.end, span[1]) - max(s.start, span[0]))

    best = max(quotes, key=overlap, default=None)
    return best if best is not None and overlap(best) > 0 else None


def _rename(results: list[dict[str, Any]], old: str, new: str) -> None:
    for r in results:
        if r.get("id") == old:
            r["id"] = new
        for key in ("from_id", "to_id"):
            if r.get(key) == old:
                r[key] = new


def _labelled(doc: Document, version: str) -> Document:
    """``doc`` with its Prediction naming ``version`` (as it is when it already does: a
    new Document sorts and checks every span again, milliseconds on a long article)."""
    made_by = doc.provenance
    if isinstance(made_by, Prediction) and made_by.model_version == version:
        return doc
    return doc.with_(provenance=_made_by(doc, model_version=version))


def _made_by(doc: Document, **changes: Any) -> Prediction:
    """The document's Prediction with ``changes`` (a new one when it has none)."""
    prov = doc.provenance if isinstance(doc.provenance, Prediction) else Prediction("")
    return replace(prov, **changes)

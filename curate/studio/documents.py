"""What push sends: pre-annotated documents read from JSONL, deduplicated, as task JSON.

Each task carries ``meta.curate_id`` and ``meta.curate_hash`` (the task list returns
``meta`` alone, which keeps push's lookup of existing tasks small) and one prediction
whose ``model_version`` names the extractor that made it. A plain article (no model's
provenance and no spans: not pre-annotated) gets a task without predictions, marked
``meta.curate_plain``: an empty prediction would count the task as predicted, sort it as
confident by its score and show the model version "unknown".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from curate.io import records
from curate.model import Document, Prediction
from curate.schema import LabelSchema
from curate.studio.convert import document_to_results, document_to_task, prediction_score

#: Rule-based extractors give no confidence; a constant keeps score-based sampling neutral.
DEFAULT_SCORE = 1.0
UNKNOWN_MODEL = "unknown"
#: Task ``meta`` key set on a plain article's task (pushed without a prediction).
PLAIN_KEY = "curate_plain"


def iter_documents(path: str | Path, problems: list[str]) -> Iterator[Document]:
    """Yield pre-annotated documents; a bad line is named in ``problems`` and skipped
    (checked by :mod:`curate.io.records`, as every command checks records)."""
    return (doc for _, doc in records.iter_documents(path, problems))


def read_documents(path: str | Path, problems: list[str]) -> list[Document]:
    """All documents of :func:`iter_documents` as a list."""
    return list(iter_documents(path, problems))


def dedupe(documents: Iterable[Document]) -> tuple[list[Document], list[str], list[str]]:
    """``(first of each id, ids repeated with the same text, problems)``: an id repeated
    with another text keeps its first document and is named in the problems."""
    seen: dict[str, Document] = {}
    dups: list[str] = []
    problems: list[str] = []
    for d in documents:
        first = seen.get(d.id)
        if first is None:
            seen[d.id] = d
        elif first.hash == d.hash:
            dups.append(d.id)
        else:
            problems.append(
                f"article {d.id!r} appears twice in the input with different texts; "
                "the first was kept - give each article its own id"
            )
    return list(seen.values()), dups, problems


def model_version(doc: Document) -> str:
    """The model version a document's predictions come from (its provenance's)."""
    return (doc.provenance.model_version if doc.provenance else None) or UNKNOWN_MODEL


def is_plain(doc: Document) -> bool:
    """True when ``doc`` has nothing a model suggested: no model version in its
    provenance, no score (``push --order`` scores plain articles too, and the score is
    what sorts them) and no entities or quotes. Push gives its task no prediction."""
    scored = isinstance(doc.provenance, Prediction) and doc.provenance.score is not None
    return model_version(doc) == UNKNOWN_MODEL and not (doc.entities or doc.quotes or scored)


def build_task(doc: Document, schema: LabelSchema) -> dict[str, Any]:
    """The import JSON for ``doc``: task data, ``meta`` for the lookup, and one
    prediction, or none for a plain article (:func:`is_plain`, marked
    ``meta.curate_plain``)."""
    if is_plain(doc):
        task = document_to_task(doc, schema, [])
        task["meta"] = {"curate_id": doc.id, "curate_hash": doc.hash, PLAIN_KEY: True}
        return task
    predicted = prediction(doc, schema)
    task = document_to_task(doc, schema, predicted["result"])
    task["meta"] = {"curate_id": doc.id, "curate_hash": doc.hash}
    task["predictions"] = [predicted]
    return task


def task_prediction(task: dict[str, Any]) -> dict[str, Any] | None:
    """The prediction :func:`build_task` put in ``task``; None for a plain article."""
    preds = task.get("predictions")
    return preds[0] if preds else None


def prediction(doc: Document, schema: LabelSchema) -> dict[str, Any]:
    """The Label Studio prediction of ``doc``: model version, score, results.

    The score is the provenance's if set, else the mean of its regions' scores
    (:func:`curate.studio.convert.prediction_score`), else :data:`DEFAULT_SCORE`.
    """
    score = doc.provenance.score if isinstance(doc.provenance, Prediction) else None
    result = document_to_results(doc, schema)
    if score is None:
        score = prediction_score(result)
    return {
        "model_version": model_version(doc),
        "score": float(score) if score is not None else DEFAULT_SCORE,
        "result": result,
    }

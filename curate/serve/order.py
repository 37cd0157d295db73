"""Most useful task first: a prediction score that sorts tasks by what they would teach.

``curate push --order uncertainty|disagreement`` writes each task's prediction score
(``source["score"]``, which push sends as the prediction's ``score``); sorting the Data
Manager by "Prediction score" ascending then brings the most useful tasks first.

- ``uncertainty``: ``1 / (1 + u)`` where ``u`` is the ``curate train`` model's
  uncertainty on the article (:meth:`curate.extract.learned.QuoteModel.uncertainty`, from
  its beam search): low when the model is unsure.
- ``disagreement``: the quote F1 (overlap rule) between the rules' quotes already in the
  document and the learned model's quotes (``curate.quotes.learned.v2``): low when they
  disagree (1.0 when both find nothing).

Scores are in [0, 1]; the rules' own prediction (entities and quotes) is pushed unchanged.
A plain article (no model's predictions) gets an empty prediction named
``curate.order.<order>`` that carries only the score (Label Studio sorts by a prediction's
score; a task with none cannot be sorted).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from curate.errors import CurateError
from curate.model import Document, Prediction

ORDERS = ("uncertainty", "disagreement")
BATCH = 32


def scored(documents: Iterable[Document], order: str, model_path: str | Path) -> Iterator[Document]:
    """The documents with their Prediction's ``score`` set for ``order`` (streamed in
    batches). ``model_path`` is a ``curate train`` model: a folder, ``NAME`` or
    ``NAME@VERSION``; :class:`curate.train.models.ModelNotFound` when there is none."""
    from curate.extract.learned import LEARNED_NAME, trained_quotes
    from curate.extract.preannotate import load_pipeline
    from curate.serve.training import quote_f1

    if order not in ORDERS:
        raise CurateError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
    learned = trained_quotes(LEARNED_NAME, str(model_path))
    model = learned.extractor  # loads the model now: a wrong path fails before any work
    nlp, _ = load_pipeline(None, [learned])
    it = iter(documents)
    while batch := list(itertools.islice(it, BATCH)):
        sdocs = list(nlp.pipe(d.text for d in batch))
        if order == "uncertainty":
            scores = [1.0 / (1.0 + u) for u in model.model.uncertainty(sdocs)]
        else:
            model.prepare(sdocs)
            scores = [_agreement(d, model(s), quote_f1) for d, s in zip(batch, sdocs, strict=True)]
        for doc, score in zip(batch, scores, strict=True):
            prov = doc.provenance if isinstance(doc.provenance, Prediction) else Prediction("")
            if not (prov.model_version or doc.entities or doc.quotes):
                # A plain article: its task's prediction only carries the score the Data
                # Manager sorts by; named for that, not "unknown".
                prov = replace(prov, model_version=order_version(order))
            yield doc.with_(provenance=replace(prov, score=round(score, 6), order=order))


def order_version(order: str) -> str:
    """The model version of the empty prediction a plain article (no model's
    predictions) gets from ``push --order``: ``curate.order.<order>``."""
    return f"curate.order.{order}"


def _agreement(doc: Document, learned: list[Any], quote_f1: Any) -> float:
    if not doc.quotes and not learned:
        return 1.0
    return float(quote_f1([doc], [doc.with_(quotes=tuple(learned))]))


def serving_model(state_dir: str | Path) -> str | Path:
    """The trained model ``curate serve`` serves from ``state_dir``, else the quote model
    shipped with curate (:data:`curate.extract.learned.DEFAULT_MODEL`, trained on PolNeAR
    train), which is what ``--order`` then ranks by."""
    from curate.extract.learned import DEFAULT_MODEL
    from curate.serve.training import RULES_VERSION, VersionStore

    v = VersionStore.open(state_dir).serving()
    if v.name == RULES_VERSION or not v.path:
        return DEFAULT_MODEL
    return Path(v.path)


def push_ordered(
    conn: Any, path: str | Path, order: str, model_path: str | Path, **kwargs: Any
) -> Any:
    """:func:`curate.studio.push.push_file` with each prediction scored for ``order``."""
    from curate.studio.push import push_file

    return push_file(conn, path, lambda docs: scored(docs, order, model_path), **kwargs)

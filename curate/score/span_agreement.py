"""Span agreement beyond pairwise F1: gamma, and each annotator against a reference.

* **Gamma** (Mathet, Widlöcher and Métivier 2015, "The Unified and Holistic Method Gamma
  (γ) for Inter-Annotator Agreement Measure and Alignment", Computational Linguistics
  41(3)) per label, computed by the ``pygamma-agreement`` package (the reference
  implementation by the CoML team; ``pip install curate[agreement]``). It aligns units
  across annotators and weighs positional and categorical disagreement against the
  disagreement expected by chance (sampled, so it takes a seed). Gamma is computed per
  article (one continuum each: the alignment's cost grows fast with the units in a
  continuum) and a label's figure is the mean over articles weighted by its units.
* **Against a reference**: each annotator's annotations compared with the
  pre-annotation (how much they changed the machine's suggestions) or with the
  adjudicated gold (how far each is from it), through the one gold diff
  (:func:`curate.gold.diff.diff_article`): regions kept, entity labels changed, boundaries
  moved (a removed and an added region of the same label that overlap), quote kind,
  speaker and cue changed, regions added and deleted, and the exact-span F1 against the
  reference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from curate.errors import CurateError
from curate.gold.diff import diff_article
from curate.model import Document, Entity, Quote
from curate.schema import LabelSchema
from curate.score.agreement import annotation_spans, group_by_article

EDITS = (
    "kept",
    "label_changed",
    "boundary_moved",
    "kind_changed",
    "speaker_changed",
    "cue_changed",
    "added",
    "deleted",
)


def gamma_by_label(
    docs: Iterable[Document],
    schema: LabelSchema | None = None,
    *,
    seed: int = 0,
    precision_level: float = 0.05,
    fast: bool = True,
) -> dict[str, float | None]:
    """Gamma per label over the articles with two or more annotators.

    Returns ``{label: gamma}`` (unit-weighted mean of the articles' gammas), None for a
    label no article has two annotators of. ``fast`` uses pygamma-agreement's fast-gamma
    (see :func:`continuum_gamma`); the canonical alignment takes more than 15 minutes for
    6 annotators on one PolNeAR article. Raises CurateError when ``pygamma-agreement`` is
    not installed.
    """
    multi = {a: anns for a, anns in group_by_article(docs).items() if len(anns) >= 2}
    # label -> [(gamma of one article, units in it)]
    per_article: dict[str, list[tuple[float, int]]] = {}
    labels: set[str] = set()
    for _art, anns in sorted(multi.items()):
        units: dict[str, list[tuple[str, int, int]]] = {}
        for who, doc in sorted(anns.items()):
            for label, spans in annotation_spans(doc, schema).items():
                units.setdefault(label, []).extend((who, *_covering(sp)) for sp in spans)
        labels.update(units)
        for label, rows in sorted(units.items()):
            if len({who for who, _, _ in rows}) < 2:
                continue
            g = continuum_gamma(rows, label, seed=seed, precision_level=precision_level, fast=fast)
            per_article.setdefault(label, []).append((g, len(rows)))
    out: dict[str, float | None] = {}
    for label in sorted(labels):
        scored = per_article.get(label) or []
        total = sum(n for _, n in scored)
        out[label] = sum(g * n for g, n in scored) / total if total else None
    return out


def continuum_gamma(
    rows: Sequence[tuple[str, int, int]],
    label: str,
    *,
    seed: int = 0,
    precision_level: float = 0.05,
    fast: bool = True,
) -> float:
    """Gamma of one label's units ``(annotator, start, end)`` on one continuum.

    The combined dissimilarity (alpha = beta = 1) of Mathet et al. reduces to the
    positional one here, as the continuum holds one category. ``fast`` is
    pygamma-agreement's fast-gamma (best alignment found window by window along the
    continuum); its documentation ("Performance", "Fast option") reports it gives the
    exact best alignment on real data when the dissimilarity is positional, which is
    the case here. ``precision_level`` is the relative error of the chance-disorder
    estimate at 95% confidence (Mathet et al. 2015, section 5.3). Raises CurateError
    when ``pygamma-agreement`` is not installed.
    """
    try:
        import numpy as np
        from pyannote.core import Segment
        from pygamma_agreement import CombinedCategoricalDissimilarity, Continuum
    except ImportError as missing:  # an optional extra
        raise CurateError(
            f"gamma needs the pygamma-agreement package ({missing.name} is missing); "
            "install it with `pip install 'curate[agreement]'`"
        ) from None
    import logging

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # CBC notice
    try:  # the GLPK solver's log: cvxpy turns it off per solve, which pygamma's threads race
        import cvxopt.glpk

        cvxopt.glpk.options["msg_lev"] = "GLP_MSG_OFF"
    except ImportError:  # CBC is used instead
        pass
    continuum = Continuum()
    for who, s, e in rows:
        continuum.add(who, Segment(s, e), label)
    np.random.seed(seed)
    dissim = CombinedCategoricalDissimilarity(alpha=1, beta=1)
    result = continuum.compute_gamma(dissim, precision_level=precision_level, fast=fast)
    return float(result.gamma)


def _covering(span: Any) -> tuple[int, int]:
    """``(start, end)`` of a span, or of the covering span of a fragment tuple."""
    pieces = span if span and isinstance(span[0], tuple) else (span,)
    return min(s for s, _ in pieces), max(e for _, e in pieces)


@dataclass
class AnnotatorEdits:
    """One annotator against a reference, pooled over the articles both have."""

    annotator: str
    articles: int = 0
    reference_spans: int = 0
    annotator_spans: int = 0
    matched: int = 0
    edits: Counter[str] = field(default_factory=Counter)

    @property
    def f1(self) -> float | None:
        total = self.reference_spans + self.annotator_spans
        return 2 * self.matched / total if total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "annotator": self.annotator,
            "articles": self.articles,
            "reference_spans": self.reference_spans,
            "annotator_spans": self.annotator_spans,
            "f1_exact": self.f1,
            "edits": {k: self.edits.get(k, 0) for k in EDITS},
        }


def against_reference(
    docs: Iterable[Document],
    reference: Mapping[str, Document],
    schema: LabelSchema | None = None,
) -> list[AnnotatorEdits]:
    """Each annotator's edits from ``reference`` (``{article id: Document}``).

    Articles the reference lacks, or whose text differs, are left out. So are the
    reference's regions of a kind no annotator marks in any article (entity labels none of
    them uses, or quotes when none marks a quote): a corpus annotated for quotes only, such
    as PolNeAR, would otherwise count every suggested entity as deleted. Sorted by
    annotator.
    """
    by_article = group_by_article(docs)
    every = [d for anns in by_article.values() for d in anns.values()]
    labels = {e.label for d in every for e in d.entities}
    quotes = any(d.quotes for d in every)
    out: dict[str, AnnotatorEdits] = {}
    for art, anns in by_article.items():
        ref = reference.get(art)
        if ref is None or ref.text != next(iter(anns.values())).text:
            continue
        ref = ref.with_(
            entities=tuple(e for e in ref.entities if e.label in labels),
            quotes=ref.quotes if quotes else (),
        )
        ref_spans = _flat(annotation_spans(ref, schema))
        for who, doc in anns.items():
            row = out.setdefault(who, AnnotatorEdits(who))
            row.articles += 1
            mine = _flat(annotation_spans(doc, schema))
            row.reference_spans += len(ref_spans)
            row.annotator_spans += len(mine)
            row.matched += len(ref_spans & mine)
            row.edits.update(edit_counts(ref, doc))
    return [out[k] for k in sorted(out)]


def edit_counts(reference: Document, annotation: Document) -> Counter[str]:
    """The edits that turn ``reference`` into ``annotation`` (see :data:`EDITS`)."""
    change = diff_article(reference, annotation)
    c: Counter[str] = Counter()
    c["label_changed"] += len(change.entities_relabelled)
    for field_name in ("kind", "speaker", "cue"):
        c[f"{field_name}_changed"] += sum(1 for *_, f in change.quotes_changed if field_name in f)
    ents_moved = _moved(change.entities_removed, change.entities_added)
    quotes_moved = _moved(change.quotes_removed, change.quotes_added)
    c["boundary_moved"] += ents_moved + quotes_moved
    c["deleted"] += len(change.entities_removed) + len(change.quotes_removed) - ents_moved
    c["deleted"] -= quotes_moved
    c["added"] += len(change.entities_added) + len(change.quotes_added) - ents_moved
    c["added"] -= quotes_moved
    touched = len(change.entities_relabelled) + len(change.entities_removed)
    touched += len(change.quotes_removed) + len(change.quotes_changed)
    c["kept"] += len(reference.entities) + len(reference.quotes) - touched
    return c


def _moved(removed: Iterable[Entity | Quote], added: Iterable[Entity | Quote]) -> int:
    """Pairs of a removed and an added region of the same label that overlap (one-to-one)."""
    free = list(added)
    n = 0
    for r in removed:
        for a in free:
            if getattr(a, "label", None) == getattr(r, "label", None) and (
                a.start < r.end and r.start < a.end
            ):
                free.remove(a)
                n += 1
                break
    return n


def _flat(spans: Mapping[str, Sequence[Any]]) -> set[tuple[str, Any]]:
    return {(label, span) for label, rows in spans.items() for span in rows}

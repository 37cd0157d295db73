"""Agreement between annotators: pairwise span F1 and Krippendorff's alpha.

Input is one :class:`~curate.model.Document` per (article, annotator), the annotator in
``Document.provenance.annotator``: the ``annotations.jsonl`` a pull or a brat import
writes. Only articles with two or more annotators count.

Each annotation is a set of labelled spans: entities under their label, quote content,
speaker mention and cue under the schema's quote labels (``QUOTE``, ``SPEAKER``, ``CUE``).

* **Pairwise span F1** per label: for every pair of annotators on every article they both
  annotated, ``2 * matched / (spans of a + spans of b)`` (symmetric, so no annotator is
  the reference), pooled over pairs and articles. ``exact`` matches identical offsets;
  ``overlap`` matches one-to-one when the overlap covers more than half of both spans
  (the quote benchmark's rule, :func:`curate.score.match.majority_overlap`).
* **Krippendorff's alpha** per label, with character-level unitizing: every character of
  every multiply-annotated article is a unit, valued 1 when the annotator's spans of that
  label cover it and 0 otherwise (nominal alpha; an annotator who did not see an article
  is missing data there). Characters, not tokens, so the measure does not depend on a
  tokenizer and partial overlaps get partial credit. Discontinuous brat spans count as
  their covering span, as everywhere in curate. Computed from the coincidence matrix,
  summed article by article (the tests check it against the ``krippendorff`` package).
* **Unitizing alpha** per label (Krippendorff 1995, 2004; :mod:`curate.score.unitizing`):
  each annotator's units of a label and the gaps between them, compared by where they
  start and end, against every placement chance allows; for any number of annotators.
* **Per annotator**: pooled F1 against every other annotator, and the mean pairwise alpha
  with each other annotator (averaged over labels): an annotator far below the rest is
  the one to talk to.
* **Quote attributes**: on quote pairs matched by the overlap rule, how often the two
  annotators chose the same kind, speaker mention, cue and speaker entity (same offsets,
  or both none).
* **Articles** ranked by disagreement (lowest mean pairwise exact F1 first).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from curate.errors import InputError
from curate.io.brat import read_brat
from curate.io.records import iter_documents
from curate.model import Annotation, Document, Span
from curate.schema import LabelSchema
from curate.score.match import Spans as MatchSpans
from curate.score.match import match_spans, pieces

Spans = dict[str, list[MatchSpans]]
VERSION_MANIFEST = "manifest.json"
ANNOTATIONS = "annotations.jsonl"


@dataclass(frozen=True)
class LabelAgreement:
    label: str
    spans: int
    pairs: int
    f1_exact: float | None
    f1_overlap: float | None
    alpha: float | None
    u_alpha: float | None = None
    """Krippendorff's unitizing alpha (:mod:`curate.score.unitizing`)."""


@dataclass(frozen=True)
class AnnotatorAgreement:
    annotator: str
    articles: int
    spans: int
    f1_exact: float | None
    f1_overlap: float | None
    alpha: float | None
    u_alpha: float | None = None
    """Mean pairwise unitizing alpha with each other annotator, over labels."""


@dataclass(frozen=True)
class ArticleAgreement:
    id: str
    annotators: int
    spans: int
    f1_exact: float | None
    f1_overlap: float | None


@dataclass(frozen=True)
class QuoteAttributes:
    """On quote pairs matched by the overlap rule: how often the two annotators agree."""

    matched: int
    kind: float | None
    speaker: float | None
    cue: float | None
    speaker_entity: float | None


@dataclass
class AgreementReport:
    """What :func:`agreement` found; ``to_dict`` gives the JSON form."""

    annotators: list[str]
    articles: int
    single_annotator_articles: int
    labels: list[LabelAgreement] = field(default_factory=list)
    by_annotator: list[AnnotatorAgreement] = field(default_factory=list)
    by_article: list[ArticleAgreement] = field(default_factory=list)
    overall: LabelAgreement | None = None
    quote_attributes: QuoteAttributes | None = None
    unitizing: str = "character"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def annotation_spans(doc: Document, schema: LabelSchema | None = None) -> Spans:
    """The labelled spans of one annotation: entities plus quote content, speaker and cue."""
    quote, speaker, cue = schema.quote_labels if schema else ("QUOTE", "SPEAKER", "CUE")
    out: Spans = defaultdict(list)
    for e in doc.entities:
        out[e.label].append((e.start, e.end))
    for q in doc.quotes:
        # content: its fragments when the attribution interrupts it, else its span
        out[quote].append(q.offsets if q.discontinuous else (q.start, q.end))
        if q.speaker is not None:
            out[speaker].append((q.speaker.start, q.speaker.end))
        if q.cue is not None:
            out[cue].append((q.cue.start, q.cue.end))
    # Several quotes may share one speaker or cue ("..., Sullivan said. ..."): count it once.
    return {label: sorted(set(spans), key=pieces) for label, spans in out.items()}


def comparable(docs: Iterable[Document]) -> tuple[list[Document], list[str]]:
    """The annotations agreement can compare, and one line per article left out (each
    ending ``; skipped``): an annotation without an annotator, two annotations by one
    annotator, or annotators who saw different texts. The rest go through (what
    :func:`group_by_article` would raise for)."""
    docs = list(docs)
    bad: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    texts: dict[str, str] = {}
    for doc in docs:
        who = doc.provenance.annotator if isinstance(doc.provenance, Annotation) else ""
        if doc.id in bad:
            continue
        if not who:
            bad[doc.id] = (
                "an annotation without an annotator; agreement needs one Document per "
                "annotator (the annotations.jsonl of a pull or import)"
            )
        elif (doc.id, who) in seen:
            bad[doc.id] = f"two annotations by {who!r}; keep one per annotator"
        elif texts.setdefault(doc.id, doc.text) != doc.text:
            bad[doc.id] = "annotators saw different texts; offsets cannot be compared"
        seen.add((doc.id, who))
    left = [f"article {a!r}: {why}; skipped" for a, why in bad.items()]
    return [d for d in docs if d.id not in bad], left


def group_by_article(docs: Iterable[Document]) -> dict[str, dict[str, Document]]:
    """``{article id: {annotator: Document}}``. Raises InputError for the first article
    :func:`comparable` would leave out (the command leaves such articles out instead)."""
    docs, left = comparable(docs)
    if left:
        raise InputError(left[0].removesuffix("; skipped"))
    out: dict[str, dict[str, Document]] = defaultdict(dict)
    for doc in docs:
        assert isinstance(doc.provenance, Annotation)
        out[doc.id][doc.provenance.annotator] = doc
    return dict(out)


def agreement(docs: Iterable[Document], schema: LabelSchema | None = None) -> AgreementReport:
    """Pairwise span F1 and Krippendorff's alpha per label, per annotator and per article."""
    grouped = group_by_article(docs)
    multi = {a: anns for a, anns in sorted(grouped.items()) if len(anns) >= 2}
    annotators = sorted({w for anns in multi.values() for w in anns})
    spans = {
        (a, w): annotation_spans(doc, schema)
        for a, anns in multi.items()
        for w, doc in anns.items()
    }
    labels = sorted({lab for s in spans.values() for lab in s})
    report = AgreementReport(
        annotators=annotators,
        articles=len(multi),
        single_annotator_articles=len(grouped) - len(multi),
    )
    if not multi:
        return report

    # counts[(label, a, b)] = [matched exact, matched overlap, spans a, spans b], a < b
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    per_article: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for art, anns in multi.items():
        for a, b in combinations(sorted(anns), 2):
            for label in labels:
                sa = spans[(art, a)].get(label, [])
                sb = spans[(art, b)].get(label, [])
                exact = len(set(sa) & set(sb))
                over = len(match_spans(sa, sb))
                c = counts[(label, a, b)]
                c[0] += exact
                c[1] += over
                c[2] += len(sa)
                c[3] += len(sb)
                p = per_article[art]
                p[0] += exact
                p[1] += over
                p[2] += len(sa) + len(sb)

    alphas = _alphas(multi, spans, labels, annotators)
    from curate.score.unitizing import (  # it reads spans from here
        unitizing_alpha_by_annotator,
        unitizing_alpha_by_label,
    )

    multi_docs = [d for anns in multi.values() for d in anns.values()]
    u_alphas = unitizing_alpha_by_label(multi_docs, schema)
    u_by_annotator = unitizing_alpha_by_annotator(multi_docs, schema)
    report.quote_attributes = _quote_attributes(multi)

    for label in labels:
        rows = [c for (lab, _, _), c in counts.items() if lab == label]
        report.labels.append(
            LabelAgreement(
                label,
                sum(len(s.get(label, [])) for s in spans.values()),
                sum(1 for art in multi for _ in combinations(multi[art], 2)),
                _f1(sum(r[0] for r in rows), sum(r[2] + r[3] for r in rows)),
                _f1(sum(r[1] for r in rows), sum(r[2] + r[3] for r in rows)),
                alphas[(label, None)],
                u_alphas[label].alpha,
            )
        )
    all_rows = list(counts.values())
    defined = [la.alpha for la in report.labels if la.alpha is not None]
    report.overall = LabelAgreement(
        "all",
        sum(la.spans for la in report.labels),
        report.labels[0].pairs if report.labels else 0,
        _f1(sum(r[0] for r in all_rows), sum(r[2] + r[3] for r in all_rows)),
        _f1(sum(r[1] for r in all_rows), sum(r[2] + r[3] for r in all_rows)),
        sum(defined) / len(defined) if defined else None,  # macro over labels
        u_alphas["all"].alpha if "all" in u_alphas else None,
    )

    for who in annotators:
        rows = [c for (_, a, b), c in counts.items() if who in (a, b)]
        pair_alphas = [
            alphas[(label, frozenset((who, other)))]
            for label in labels
            for other in annotators
            if other != who
        ]
        known = [x for x in pair_alphas if x is not None]
        report.by_annotator.append(
            AnnotatorAgreement(
                who,
                sum(1 for anns in multi.values() if who in anns),
                sum(sum(map(len, s.values())) for (_, w), s in spans.items() if w == who),
                _f1(sum(r[0] for r in rows), sum(r[2] + r[3] for r in rows)),
                _f1(sum(r[1] for r in rows), sum(r[2] + r[3] for r in rows)),
                sum(known) / len(known) if known else None,
                u_by_annotator.get(who),
            )
        )

    for art, anns in multi.items():
        p = per_article[art]
        report.by_article.append(
            ArticleAgreement(
                art,
                len(anns),
                sum(sum(map(len, spans[(art, w)].values())) for w in anns),
                _f1(p[0], p[2]),
                _f1(p[1], p[2]),
            )
        )
    # Most disagreement first; an article nobody annotated anything in agrees trivially.
    report.by_article.sort(key=lambda r: (1.0 if r.f1_exact is None else r.f1_exact, r.id))
    return report


def _quote_attributes(multi: Mapping[str, Mapping[str, Document]]) -> QuoteAttributes:
    """Kind, speaker, cue and speaker entity agreement on matched quotes (same offsets).

    Speaker entity counts only pairs where at least one annotator resolved the speaker.
    """

    def key(span: Span | None) -> tuple[int, int] | None:
        return (span.start, span.end) if span is not None else None

    same = [0, 0, 0, 0]
    matched = resolved = 0
    for anns in multi.values():
        for a, b in combinations(sorted(anns), 2):
            qa, qb = anns[a].quotes, anns[b].quotes
            pairs = match_spans([q.offsets for q in qa], [q.offsets for q in qb])
            for i, j in pairs:
                x, y = qa[i], qb[j]
                matched += 1
                same[0] += x.kind == y.kind
                same[1] += key(x.speaker) == key(y.speaker)
                same[2] += key(x.cue) == key(y.cue)
                if x.speaker_entity is not None or y.speaker_entity is not None:
                    resolved += 1
                    same[3] += key(x.speaker_entity) == key(y.speaker_entity)
    kind, speaker, cue = (n / matched if matched else None for n in same[:3])
    # only where someone resolved a speaker (brat gold never does): else no number
    return QuoteAttributes(matched, kind, speaker, cue, same[3] / resolved if resolved else None)


def _f1(matched: int, total: int) -> float | None:
    """Symmetric F1 of two span sets: ``2 * matched / (|a| + |b|)``; None when both are empty."""
    return 2 * matched / total if total else None


def _alphas(
    multi: Mapping[str, Mapping[str, Document]],
    spans: Mapping[tuple[str, str], Spans],
    labels: Sequence[str],
    annotators: Sequence[str],
) -> dict[tuple[str, frozenset[str] | None], float | None]:
    """Alpha per label over all annotators (key None) and for every pair of annotators.

    Coincidences are summed article by article (they add up over units), so memory stays
    at one article's characters whatever the size of the corpus.
    """
    import numpy as np

    groups: list[frozenset[str] | None] = [None, *map(frozenset, combinations(annotators, 2))]
    coinc = {(label, g): np.zeros(3) for label in labels for g in groups}
    for art, anns in multi.items():
        n = len(next(iter(anns.values())).text)
        for label in labels:
            covered = {}
            for w in anns:
                v = np.zeros(n, dtype=np.int64)
                for span in spans[(art, w)].get(label, []):
                    for s, e in pieces(span):
                        v[s:e] = 1
                covered[w] = v
            coinc[(label, None)] += _coincidences(list(covered.values()))
            for a, b in combinations(sorted(anns), 2):
                coinc[(label, frozenset((a, b)))] += _coincidences([covered[a], covered[b]])
    return {key: _alpha(*c) for key, c in coinc.items()}


def _coincidences(vectors: Sequence[Any]) -> Any:
    """``[o00, o11, o01]`` of binary codings of the same units by ``m >= 2`` coders.

    Each unit coded by ``m`` coders contributes its ``m (m - 1)`` ordered pairs of values
    with weight ``1 / (m - 1)`` (Krippendorff's coincidence matrix); ``o10 == o01``.
    """
    import numpy as np

    m = len(vectors)
    ones = np.sum(vectors, axis=0)
    zeros = m - ones
    return np.array(
        [
            float((zeros * (zeros - 1)).sum()),
            float((ones * (ones - 1)).sum()),
            float((ones * zeros).sum()),
        ]
    ) / (m - 1)


def _alpha(o00: float, o11: float, o01: float) -> float | None:
    """Nominal Krippendorff's alpha from binary coincidences; None when undefined.

    ``alpha = 1 - (n - 1) * (o01 + o10) / (2 * n0 * n1)`` with ``n0 = o00 + o01``,
    ``n1 = o11 + o10``, ``n = n0 + n1`` (no variation at all: alpha is undefined).
    """
    n0, n1 = o00 + o01, o11 + o01
    if n0 == 0 or n1 == 0:
        return None
    return 1.0 - (n0 + n1 - 1) * o01 / (n0 * n1)


def load_annotations(
    source: str | Path, schema: LabelSchema | None = None
) -> tuple[list[Document], list[str]]:
    """Annotations to compare, and the problems met reading them.

    ``source`` is an ``annotations.jsonl`` (one Document per annotation, as ``curate pull``
    and ``curate import brat`` write), a folder holding one (a pull snapshot), a gold
    version folder with ``<version>.annotations.jsonl`` beside it (``curate import brat``),
    or a brat folder. A bad line is reported and skipped.
    """
    path = Path(source)
    if path.is_dir() and (path / ANNOTATIONS).is_file():
        path = path / ANNOTATIONS
    elif path.is_dir() and path.with_name(f"{path.name}.{ANNOTATIONS}").is_file():
        path = path.with_name(f"{path.name}.{ANNOTATIONS}")  # an imported gold version
    # A gold version's manifest (curate.gold.version.MANIFEST: not imported, gold imports
    # score, so score reads the name).
    if path.is_dir() and (path / VERSION_MANIFEST).is_file():
        raise InputError(
            "is a gold version: one settled annotation per article, nothing to compare; "
            "give the pull folder it came from (its annotations.jsonl keeps each "
            "annotator's), or compare the annotators with it: --gold",
            path=str(path),
        )
    if path.is_dir():
        corpus = read_brat(path, schema)
        return corpus.annotations, corpus.problems
    if not path.is_file():
        raise InputError(
            f"does not exist; give an {ANNOTATIONS}, a pull folder, a gold name imported "
            "with `curate import brat` or a brat folder",
            path=str(path),
        )
    problems: list[str] = []
    docs = [doc for _, doc in iter_documents(path, problems)]
    return docs, [f"{p}; skipped" for p in problems]

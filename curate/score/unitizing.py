"""Krippendorff's unitizing alpha (u-alpha) per label, for any number of annotators.

Krippendorff, K. (1995) "On the reliability of unitizing continuous data", Sociological
Methodology 25: 47-76; in the form of Krippendorff, K. (2004) "Measuring the reliability
of qualitative text analysis data", Quality & Quantity 38: 787-800 and *Content
Analysis*, 2nd ed., Sage 2004, section 12.4 (p. 251-256). DKPro Statistics'
``KrippendorffAlphaUnitizingAgreement`` implements the same formulas; the tests reproduce
the worked examples of both publications with its expected values.

The continuum is a stretch of ``L`` character offsets that ``m`` annotators all read. For
one label ``c``, each annotator cuts it into segments: their units of ``c`` and the gaps
between them (text they did not mark ``c``, including text they marked with another
label). With ``b`` a segment's start, ``e`` its end and ``l = e - b``, the distance
between segment ``g`` of annotator ``i`` and segment ``h`` of annotator ``j`` is

* ``(b_g - b_h)**2 + (e_g - e_h)**2`` when both are units of ``c`` and they overlap,
* ``l_g**2`` when ``g`` is a unit, ``h`` a gap and ``g`` lies inside ``h`` (one annotator
  marked what the other left out),
* ``0`` otherwise (two gaps; a unit partly covered by the other's units is measured
  against those units).

Observed disagreement, over ordered pairs of annotators ``i != j``::

    D_o(c) = sum_i sum_(j != i) sum_g sum_h dist(g, h) / (m (m - 1) L**2)

Expected disagreement, every unit of ``c`` against every placement in the continuum
(``N_c`` units of ``c`` over all annotators, gaps ``h`` of every annotator)::

    D_e(c) = (2 / L) * sum_(units g) [ (N_c - 1) (2 l_g**3 - 3 l_g**2 + l_g) / 3
                                       + l_g**2 * sum_(gaps h, l_h >= l_g) (l_h - l_g + 1) ]
             / ( m L (m L - 1) - sum_(units g) l_g (l_g - 1) )

and ``alpha_c = 1 - D_o(c) / D_e(c)``; across labels ``alpha = 1 - sum_c D_o(c) /
sum_c D_e(c)`` (Krippendorff 2004, p. 256). Computed in exact integer arithmetic.

The measure needs an annotator's units of one label not to overlap: overlapping (or
repeated) units of one annotator and label are merged into their union first. Zero-length
units carry no mass and are dropped. Undefined (None) when nobody marked the label.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate, combinations

from curate.model import Document
from curate.schema import LabelSchema
from curate.score.agreement import annotation_spans, group_by_article
from curate.score.match import pieces

Unit = tuple[int, int, int]
"""``(annotator index, start, end)``: one unit of one label, offsets end-exclusive."""


@dataclass(frozen=True)
class Disagreement:
    """Observed and expected disagreement of one label on one continuum."""

    observed: Fraction
    expected: Fraction
    units: int

    @property
    def alpha(self) -> float | None:
        """``1 - D_o / D_e``; None when no unit gives the chance model anything to place."""
        return None if self.expected == 0 else float(1 - self.observed / self.expected)


def disagreement(units: Iterable[Unit], annotators: int, begin: int, end: int) -> Disagreement:
    """``D_o`` and ``D_e`` of one label (module docstring) on the continuum ``[begin, end)``.

    ``units`` are ``(annotator index in range(annotators), start, end)``; an annotator with
    no unit marked nothing (all gap). Raises ValueError for a unit outside the continuum,
    an annotator index out of range or fewer than two annotators.
    """
    length = end - begin
    if annotators < 2 or length <= 0:
        raise ValueError("unitizing alpha needs two or more annotators and a non-empty continuum")
    by_annotator: list[list[tuple[int, int]]] = [[] for _ in range(annotators)]
    for who, s, e in units:
        if not (0 <= who < annotators and begin <= s <= e <= end):
            raise ValueError(f"unit {(who, s, e)} is outside [{begin}, {end}) or annotators")
        if e > s:
            by_annotator[who].append((s, e))
    merged = [_merge(u) for u in by_annotator]
    segments = [_segments(u, begin, end) for u in merged]

    observed = 0
    for a, b in combinations(segments, 2):
        observed += 2 * _pair_distance(a, b)  # both orders: the distance is symmetric

    lengths = [e - s for u in merged for s, e in u]
    gaps = sorted(e - s for segs in segments for s, e, unit in segs if not unit)
    prefix = [0, *accumulate(gaps)]
    n_units = len(lengths)
    placed = 0
    for ln in lengths:
        first = bisect_left(gaps, ln)  # gaps at least as long as the unit
        fits = (prefix[-1] - prefix[first]) - (len(gaps) - first) * (ln - 1)
        placed += (n_units - 1) * ln * (ln - 1) * (2 * ln - 1) // 3 + ln * ln * fits
    mass = annotators * length
    expected_den = length * (mass * (mass - 1) - sum(ln * (ln - 1) for ln in lengths))
    return Disagreement(
        Fraction(observed, annotators * (annotators - 1) * length * length),
        Fraction(2 * placed, expected_den) if n_units else Fraction(0),
        n_units,
    )


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlapping ones merged into their union (touching ones kept apart)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _segments(units: list[tuple[int, int]], begin: int, end: int) -> list[tuple[int, int, bool]]:
    """The continuum cut into ``(start, end, is_unit)``: the units and the gaps between."""
    out: list[tuple[int, int, bool]] = []
    pos = begin
    for s, e in units:
        if s > pos:
            out.append((pos, s, False))
        out.append((s, e, True))
        pos = e
    if pos < end:
        out.append((pos, end, False))
    return out


def _pair_distance(a: list[tuple[int, int, bool]], b: list[tuple[int, int, bool]]) -> int:
    """Sum of the distances between intersecting segments of two annotators (one order)."""
    i = j = total = 0
    while i < len(a) and j < len(b):
        (bg, eg, ug), (bh, eh, uh) = a[i], b[j]
        if ug and uh:
            total += (bg - bh) ** 2 + (eg - eh) ** 2
        elif ug and bh <= bg and eg <= eh:
            total += (eg - bg) ** 2
        elif uh and bg <= bh and eh <= eg:
            total += (eh - bh) ** 2
        if eg <= eh:
            i += 1
        if eh <= eg:
            j += 1
    return total


@dataclass(frozen=True)
class UnitizingAlpha:
    """u-alpha of one label over a corpus (see :func:`unitizing_alpha_by_label`)."""

    label: str
    alpha: float | None
    units: int
    continua: int


def unitizing_alpha_by_label(
    docs: Iterable[Document], schema: LabelSchema | None = None
) -> dict[str, UnitizingAlpha]:
    """Krippendorff's u-alpha per label, plus ``"all"`` across labels, over character offsets.

    ``docs`` is one Document per (article, annotator), as for
    :func:`curate.score.agreement.agreement`; only articles with two or more annotators
    count. The articles annotated by the same set of annotators are laid end to end into
    one continuum (a study in Krippendorff's sense: every annotator read all of it); a
    label's alpha is that continuum's, or, when annotator sets differ between articles,
    the mean over continua weighted by the label's units in each. Spans are those of
    :func:`curate.score.agreement.annotation_spans`; a discontinuous quote counts as its
    fragments. ``"all"`` is ``1 - sum_c D_o / sum_c D_e`` per continuum, weighted the same.
    """
    scored: dict[str, list[Disagreement]] = defaultdict(list)
    labels: set[str] = set()
    for order, length, units in _continua(docs, schema):
        labels.update(units)
        per_label = {lab: disagreement(u, len(order), 0, length) for lab, u in units.items()}
        for label, d in per_label.items():
            scored[label].append(d)
        scored["all"].append(
            Disagreement(
                sum((d.observed for d in per_label.values()), Fraction(0)),
                sum((d.expected for d in per_label.values()), Fraction(0)),
                sum(d.units for d in per_label.values()),
            )
        )
    return {
        label: _pooled(label, scored.get(label, []))
        for label in [*sorted(labels), *(["all"] if labels else [])]
    }


def unitizing_alpha_by_annotator(
    docs: Iterable[Document], schema: LabelSchema | None = None
) -> dict[str, float | None]:
    """Each annotator's mean pairwise u-alpha with every other annotator, over labels.

    For every pair of annotators and every label, u-alpha of the two alone on the
    continua they share (pooled as in :func:`unitizing_alpha_by_label`); an annotator's
    figure is the mean of their defined pair alphas. None when none is defined.
    """
    pairs: dict[tuple[str, str, str], list[Disagreement]] = defaultdict(list)
    names: set[str] = set()
    for order, length, units in _continua(docs, schema):
        names.update(order)
        for i, j in combinations(range(len(order)), 2):
            for label, rows in units.items():
                two = [(int(w == j), s, e) for w, s, e in rows if w in (i, j)]
                pairs[(label, order[i], order[j])].append(disagreement(two, 2, 0, length))
    alphas = {key: _pooled(key[0], parts).alpha for key, parts in pairs.items()}
    out: dict[str, float | None] = {}
    for who in sorted(names):
        mine = [a for (_, x, y), a in alphas.items() if who in (x, y) and a is not None]
        out[who] = sum(mine) / len(mine) if mine else None
    return out


def _continua(
    docs: Iterable[Document], schema: LabelSchema | None
) -> Iterator[tuple[list[str], int, dict[str, list[Unit]]]]:
    """``(annotators, length, {label: units})`` per continuum of articles with one annotator set.

    Annotator indices in the units follow the sorted annotator names; articles of one
    annotator set are laid end to end in article id order. Continua of empty texts are
    left out.
    """
    continua: dict[frozenset[str], list[dict[str, Document]]] = defaultdict(list)
    for _art, anns in sorted(group_by_article(docs).items()):
        if len(anns) >= 2:
            continua[frozenset(anns)].append(anns)
    for who, articles in sorted(continua.items(), key=lambda kv: sorted(kv[0])):
        order = sorted(who)
        units: dict[str, list[Unit]] = defaultdict(list)
        offset = 0
        for anns in articles:
            for i, name in enumerate(order):
                for label, spans in annotation_spans(anns[name], schema).items():
                    units[label].extend(
                        (i, offset + s, offset + e) for sp in spans for s, e in pieces(sp)
                    )
            offset += len(next(iter(anns.values())).text)
        if offset:
            yield order, offset, dict(units)


def _pooled(label: str, parts: Sequence[Disagreement]) -> UnitizingAlpha:
    """A label's alpha over continua: the unit-weighted mean of the defined ones."""
    defined = [(d.alpha, d.units) for d in parts if d.alpha is not None]
    total = sum(n for _, n in defined)
    alpha = sum(a * n for a, n in defined if a is not None) / total if total else None
    return UnitizingAlpha(label, alpha, sum(d.units for d in parts), len(parts))

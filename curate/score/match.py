"""Span matching rules shared by the quote benchmark and ``curate evaluate``.

A span is ``(start, end)``; a discontinuous one (a quote's content fragments) is a tuple
of such pairs, in text order and not overlapping. Overlap, length and the rules below
work on the union of the fragments, so text between fragments counts for neither side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Spans = tuple[int, int] | tuple[tuple[int, int], ...]


def pieces(a: Any) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` pieces of a span (itself) or of a fragment tuple."""
    return a if a and isinstance(a[0], tuple) else (a,)


def length(a: Spans) -> int:
    """Characters covered by a span or by the union of its fragments."""
    return sum(e - s for s, e in pieces(a))


def overlap(a: Spans, b: Spans) -> int:
    """Characters covered by both ``a`` and ``b`` (fragments: their unions)."""
    return sum(max(0, min(x[1], y[1]) - max(x[0], y[0])) for x in pieces(a) for y in pieces(b))


def jaccard(a: Spans, b: Spans) -> float:
    inter = overlap(a, b)
    union = length(a) + length(b) - inter
    return inter / union if union else 0.0


def majority_overlap(gold: Spans, pred: Spans) -> bool:
    """The quote benchmark's rule: overlap covers more than half of both spans."""
    inter = overlap(gold, pred)
    return 2 * inter > length(gold) and 2 * inter > length(pred)


def coverage(gold: Spans, pred: Spans) -> float:
    """Share of the gold span covered by the predicted span."""
    n = length(gold)
    return overlap(gold, pred) / n if n else 0.0


def match_greedy(
    gold: Sequence[Spans],
    pred: Sequence[Spans],
    accept=majority_overlap,
) -> list[tuple[int, int]]:
    """One-to-one matching, greedy by character Jaccard; returns (gold_i, pred_j) pairs.

    Pairs are considered best Jaccard first (ties by position) and kept when ``accept``
    holds and neither side is matched yet.
    """
    cands = []
    for i, g in enumerate(gold):
        for j, p in enumerate(pred):
            if overlap(g, p) and accept(g, p):
                cands.append((-jaccard(g, p), i, j))
    cands.sort()
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for _, i, j in cands:
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            pairs.append((i, j))
    return sorted(pairs)

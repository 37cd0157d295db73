"""Span matching shared by entity and quote scoring, agreement and the quote benchmark.

Every one-to-one matching here is optimal, so a score never depends on the order in
which predictions come: :func:`optimal_pairs` takes the candidate pairs with a weight
each and returns a matching of maximum weight, weights compared level by level (more
correct pairs first, then more pairs, then closer pairs). Overlapping spans form small
connected groups; a group with one span on a side is solved directly, any other with
``scipy.optimize.linear_sum_assignment`` (the Hungarian algorithm's modern variant).

A span is ``(start, end)``; a discontinuous one (a quote's content fragments) is a tuple
of such pairs, in text order and not overlapping. Overlap, length and the rules below
work on the union of the fragments, so text between fragments counts for neither side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
from scipy.optimize import linear_sum_assignment

T = TypeVar("T")
Weight = tuple[float, ...]
"""Levels compared in order; every level but the last is 0 or 1, the last in [0, 1]."""
Edge = tuple[int, int, Weight]
"""A candidate pair: (gold index, prediction index, weight)."""
Spans = tuple[int, int] | tuple[tuple[int, int], ...]


def pieces(a: Any) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` pieces of a span (itself) or of a fragment tuple."""
    return a if a and isinstance(a[0], tuple) else (a,)


def length(a: Spans) -> int:
    """Characters covered by a span or by the union of its fragments."""
    if isinstance(a[0], int):  # the common case, kept fast: entity scoring calls this a lot
        return a[1] - a[0]
    return sum(e - s for s, e in pieces(a))


def overlap(a: Spans, b: Spans) -> int:
    """Characters covered by both ``a`` and ``b`` (fragments: their unions)."""
    if isinstance(a[0], int) and isinstance(b[0], int):
        return max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return sum(max(0, min(x[1], y[1]) - max(x[0], y[0])) for x in pieces(a) for y in pieces(b))


def jaccard(a: Spans, b: Spans) -> float:
    """Shared characters over the characters of either span (fragments: unions), in [0, 1]."""
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


def optimal_pairs(
    candidates: Iterable[tuple[int, int]], weight: Callable[[int, int], Weight]
) -> list[tuple[int, int]]:
    """A maximum-weight one-to-one matching of candidate pairs, as sorted (gold, pred) pairs.

    ``candidates`` are (gold index, prediction index) pairs, ``weight(i, j)`` a tuple
    compared lexicographically: with levels ``(correct, 1)`` the matching has as many
    correct pairs as possible and, among those, as many pairs as possible. Every level
    but the last must be 0 or 1 (so no sum of lower levels can outweigh one unit of a
    higher level); the last may be any number in [0, 1]. The result depends on the set
    of candidates, not on their order (up to exact ties, broken by lowest index).
    """
    cands = list(candidates)
    if len(cands) <= 1:
        return cands
    if len({i for i, _ in cands}) == len(cands) == len({j for _, j in cands}):
        return sorted(cands)  # no span in two pairs: nothing to choose
    deg_g: dict[int, int] = {}
    deg_p: dict[int, int] = {}
    for i, j in cands:
        deg_g[i] = deg_g.get(i, 0) + 1
        deg_p[j] = deg_p.get(j, 0) + 1
    pairs: list[tuple[int, int]] = []
    contested: list[tuple[int, int]] = []
    for i, j in cands:
        # A pair alone in its group is in every best matching; most pairs are.
        if deg_g[i] == 1 and deg_p[j] == 1:
            pairs.append((i, j))
        else:
            contested.append((i, j))
    if contested:
        parent: dict[tuple[str, int], tuple[str, int]] = {}

        def find(x: tuple[str, int]) -> tuple[str, int]:
            root = x
            while parent.setdefault(root, root) != root:
                root = parent[root]
            while parent[x] != root:
                parent[x], x = root, parent[x]
            return root

        for i, j in contested:
            a, b = find(("g", i)), find(("p", j))
            if a != b:
                parent[a] = b
        groups: dict[tuple[str, int], list[Edge]] = {}
        for i, j in contested:
            groups.setdefault(find(("g", i)), []).append((i, j, weight(i, j)))
        for group in groups.values():
            pairs += _solve(group)
    return sorted(pairs)


def _solve(group: list[Edge]) -> list[tuple[int, int]]:
    """The best matching of one connected group of candidate pairs."""
    rows = sorted({e[0] for e in group})
    cols = sorted({e[1] for e in group})
    if len(rows) == 1 or len(cols) == 1:
        # A star: one pair at most, the heaviest (lowest indices on ties).
        best = max(group, key=lambda e: (e[2], -e[0], -e[1]))
        return [(best[0], best[1])]
    # Levels folded into one number: base exceeds any sum of a lower level.
    base = min(len(rows), len(cols)) + 1
    levels = len(group[0][2])
    scale = [float(base ** (levels - 1 - k)) for k in range(levels)]
    r = {g: n for n, g in enumerate(rows)}
    c = {p: n for n, p in enumerate(cols)}
    w = np.zeros((len(rows), len(cols)))
    present = np.zeros((len(rows), len(cols)), dtype=bool)
    for i, j, weight in group:
        w[r[i], c[j]] = sum(x * s for x, s in zip(weight, scale, strict=True))
        present[r[i], c[j]] = True
    ri, ci = linear_sum_assignment(w, maximize=True)
    return [(rows[a], cols[b]) for a, b in zip(ri, ci, strict=True) if present[a, b]]


def match_spans(
    gold: Sequence[T],
    pred: Sequence[T],
    accept: Callable[[T, T], bool] = majority_overlap,  # type: ignore[assignment]
    similarity: Callable[[T, T], float] = jaccard,  # type: ignore[assignment]
) -> list[tuple[int, int]]:
    """Optimal one-to-one matching; returns sorted (gold_i, pred_j) pairs.

    A pair is a candidate when ``accept`` holds; the matching has as many pairs as
    possible and, among those, the largest total ``similarity`` (character Jaccard by
    default, a value in [0, 1]). Items are anything ``accept`` and ``similarity`` take:
    ``(start, end)`` spans, or quotes whose content is several fragments.
    """
    cands = [(i, j) for i, g in enumerate(gold) for j, p in enumerate(pred) if accept(g, p)]
    return optimal_pairs(cands, lambda i, j: (1.0, similarity(gold[i], pred[j])))

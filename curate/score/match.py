"""Span matching shared by entity and quote scoring, agreement and the quote benchmark.

Every one-to-one matching here is optimal, so a score never depends on the order in
which predictions come: :func:`optimal_pairs` takes the candidate pairs with a weight
each and returns a matching of maximum weight, weights compared level by level (more
correct pairs first, then more pairs, then closer pairs). Overlapping spans form small
connected groups; a group with one span on a side is solved directly, any other with
``scipy.optimize.linear_sum_assignment`` (the Hungarian algorithm's modern variant).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import numpy as np
from scipy.optimize import linear_sum_assignment

T = TypeVar("T")
Weight = tuple[float, ...]
"""Levels compared in order; every level but the last is 0 or 1, the last in [0, 1]."""
Edge = tuple[int, int, Weight]
"""A candidate pair: (gold index, prediction index, weight)."""


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Characters two ``(start, end)`` spans share (end exclusive)."""
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def jaccard(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Shared characters over the characters of either span, in [0, 1]."""
    inter = overlap(a, b)
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union else 0.0


def majority_overlap(gold: tuple[int, int], pred: tuple[int, int]) -> bool:
    """The quote benchmark's rule: overlap covers more than half of both spans."""
    inter = overlap(gold, pred)
    return 2 * inter > gold[1] - gold[0] and 2 * inter > pred[1] - pred[0]


def coverage(gold: tuple[int, int], pred: tuple[int, int]) -> float:
    """Share of the gold span covered by the predicted span."""
    n = gold[1] - gold[0]
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

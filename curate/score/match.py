"""Span matching rules shared by the quote benchmark and ``curate evaluate``."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def jaccard(a: tuple[int, int], b: tuple[int, int]) -> float:
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


def match_greedy(
    gold: Sequence[tuple[int, int]],
    pred: Sequence[tuple[int, int]],
    accept: Callable[[tuple[int, int], tuple[int, int]], bool] = majority_overlap,
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

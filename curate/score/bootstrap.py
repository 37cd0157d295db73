"""Bootstrap confidence intervals over articles, seeded so a report can be reproduced.

Every metric curate reports is a function of counts summed over articles, so a
resample is a vector of article weights (how often each article was drawn) and its
sums are one matrix product. The same weights are used for every metric and, in a
comparison, for both reports (a paired bootstrap over the articles they share).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

MetricFn = Callable[[np.ndarray], dict[str, np.ndarray]]
"""Summed counts, shape (draws, columns) -> metric name -> values, shape (draws,)."""

CHUNK = 250


def resamples(n: int, draws: int, seed: int) -> Iterator[np.ndarray]:
    """Article weights of ``draws`` resamples of ``n`` articles, in chunks of rows."""
    rng = np.random.default_rng(seed)
    p = np.full(n, 1.0 / n)
    done = 0
    while done < draws:
        k = min(CHUNK, draws - done)
        yield rng.multinomial(n, p, size=k).astype(np.float64)
        done += k


def _collect(
    counts: list[np.ndarray], fn: MetricFn, draws: int, seed: int
) -> list[dict[str, np.ndarray]]:
    n = counts[0].shape[0]
    chunks: list[list[dict[str, np.ndarray]]] = [[] for _ in counts]
    for w in resamples(n, draws, seed):
        for out, c in zip(chunks, counts, strict=True):
            out.append(fn(w @ c))
    return [{k: np.concatenate([d[k] for d in out]) for k in out[0]} for out in chunks]


def _bounds(values: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


def intervals(
    counts: np.ndarray,
    fn: MetricFn,
    *,
    draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile interval of each metric over ``draws`` resamples of the articles.

    ``counts`` has one row per article and one column per count.
    """
    if draws <= 0 or counts.shape[0] == 0:
        return {}
    (values,) = _collect([counts.astype(np.float64)], fn, draws, seed)
    return {k: _bounds(v, confidence) for k, v in values.items()}


def paired_differences(
    new: np.ndarray,
    old: np.ndarray,
    fn: MetricFn,
    *,
    draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Interval of ``metric(new) - metric(old)`` resampling the same articles for both.

    Row ``i`` of ``new`` and ``old`` must be the same article.
    """
    if draws <= 0 or new.shape[0] == 0:
        return {}
    a, b = _collect([new.astype(np.float64), old.astype(np.float64)], fn, draws, seed)
    return {k: _bounds(a[k] - b[k], confidence) for k in a.keys() & b.keys()}

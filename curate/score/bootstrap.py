"""Bootstrap confidence intervals over articles, streamed, seeded so a report can be reproduced.

Every metric curate reports is a function of counts summed over articles, so a resample
is a vector of article weights and its sums are one matrix product. The weights are the
Poisson bootstrap's: in every resample each article is drawn ``Poisson(1)`` times,
independently of the others, instead of drawing exactly ``n`` articles with replacement
(a multinomial). For a large number of articles the two give the same distribution of the
resampled statistic; the Poisson weights need no knowledge of ``n`` and no matrix over all
articles, so the sums are accumulated a block of articles at a time in memory that does
not grow with the articles (``draws x columns`` sums, one ``draws x BLOCK`` weight matrix).
Sources: J. A. Hanley and B. J. MacGibbon, "Creating non-parametric bootstrap samples
using Poisson frequencies", Computer Methods and Programs in Biomedicine 83(1), 2006;
N. Chamandy, O. Muralidharan, A. Najmi and S. Naidu, "Estimating Uncertainty for Massive
Data Streams", Google, 2012 (the same scheme for streams, with weights derived from a
seed so every shard gives an article the same weights).

The weights of the article at position ``i`` (0-based, in scoring order) come from a
generator seeded by ``(seed, i // BLOCK)`` alone, so they do not depend on how the caller
cuts the articles into chunks nor on how many articles follow, and a paired comparison
gives both reports' rows the same weights. A resample that draws no article at all (all
weights 0, likely only for a handful of articles) is left out: it has no statistic.
Intervals are percentile intervals of the resampled metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

MetricFn = Callable[[np.ndarray], dict[str, np.ndarray]]
"""Summed counts, shape (draws, columns) -> metric name -> values, shape (draws,)."""

BLOCK = 256
"""Articles per block of weights: one generator each, ``draws x BLOCK`` floats in memory."""


def block_weights(block: int, draws: int, seed: int) -> np.ndarray:
    """Poisson(1) weights of articles ``block * BLOCK`` to ``(block + 1) * BLOCK - 1`` in
    ``draws`` resamples: a float64 array of shape (draws, BLOCK), a function of
    ``(seed, block)`` alone (the first ``k`` draws are the same for any ``draws >= k``)."""
    rng = np.random.default_rng([seed, block])
    return rng.poisson(1.0, size=(draws, BLOCK)).astype(np.float64)


class Resampler:
    """Resampled column sums of a stream of per-article count rows.

    :meth:`add` takes the next articles' rows (any number at a time, shape
    ``(articles, columns)``, the same columns every time); :attr:`sums` is the
    ``(draws, columns)`` weighted sums of the resamples that drew at least one article.
    Memory: the sums and one block of weights, whatever the number of articles.
    """

    def __init__(self, draws: int, seed: int = 0) -> None:
        self.draws = draws
        self.seed = seed
        self.articles = 0
        self._sums: np.ndarray | None = None
        self._drawn = np.zeros(draws)
        self._block = -1
        self._weights = np.zeros((draws, 0))

    def _weights_of(self, block: int) -> np.ndarray:
        if block != self._block:
            self._block, self._weights = block, block_weights(block, self.draws, self.seed)
        return self._weights

    def add(self, rows: np.ndarray) -> None:
        """Add the counts of the next ``len(rows)`` articles."""
        rows = np.asarray(rows, dtype=np.float64)
        if self._sums is None:
            self._sums = np.zeros((self.draws, rows.shape[1]))
        done = 0
        while done < len(rows):
            block, at = divmod(self.articles, BLOCK)
            take = min(BLOCK - at, len(rows) - done)
            w = self._weights_of(block)[:, at : at + take]
            self._sums += w @ rows[done : done + take]
            self._drawn += w.sum(axis=1)
            done += take
            self.articles += take

    @property
    def sums(self) -> np.ndarray:
        """The ``(draws, columns)`` sums of the resamples that drew an article."""
        if self._sums is None:
            return np.zeros((0, 0))
        return self._sums[self._drawn > 0]


def _bounds(values: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


def _blocks(counts: np.ndarray | Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    return (counts,) if isinstance(counts, np.ndarray) else counts


def intervals(
    counts: np.ndarray | Iterable[np.ndarray],
    fn: MetricFn,
    *,
    draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile interval of each metric over ``draws`` Poisson resamples of the articles.

    ``counts`` has one row per article and one column per count: one array, or the rows
    in consecutive chunks (arrays with the same columns; a generator streams them). The
    chunks do not change the result. Empty when ``draws`` is 0 or there are no articles.
    """
    if draws <= 0:
        return {}
    r = Resampler(draws, seed)
    for chunk in _blocks(counts):
        r.add(chunk)
    if not r.articles:
        return {}
    return {k: _bounds(v, confidence) for k, v in fn(r.sums).items()}


def paired_differences(
    new: np.ndarray,
    old: np.ndarray,
    fn: MetricFn,
    *,
    draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Interval of ``metric(new) - metric(old)``, both resampled with the same weights.

    Row ``i`` of ``new`` and ``old`` must be the same article (same columns in both).
    """
    if draws <= 0 or new.shape[0] == 0:
        return {}
    pairs = ((new[s : s + BLOCK], old[s : s + BLOCK]) for s in range(0, new.shape[0], BLOCK))
    return paired_blocks(pairs, fn, draws=draws, seed=seed, confidence=confidence)


def paired_blocks(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
    fn: MetricFn,
    *,
    draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """:func:`paired_differences` of rows that come a block at a time: ``(new, old)``
    arrays of the next articles (the same number of rows in both; the same columns in
    every block). Memory: one block and the sums, whatever the number of articles."""
    if draws <= 0:
        return {}
    # One resampler over both reports' columns side by side: the same weights for both.
    r = Resampler(draws, seed)
    width = 0
    for a, b in pairs:
        width = a.shape[1]
        r.add(np.hstack([a, b]))
    if not r.articles:
        return {}
    sums = r.sums
    fa, fb = fn(sums[:, :width]), fn(sums[:, width:])
    return {k: _bounds(fa[k] - fb[k], confidence) for k in fa.keys() & fb.keys()}

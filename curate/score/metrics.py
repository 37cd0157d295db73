"""Metrics as functions of summed counts, written once for point estimates and resamples.

Counts live in flat dicts per article (``ent/strict/PERSON/cor`` -> 3, ``q/overlap/tpg/*``
-> 5). :class:`CountTable` keeps them as a sparse article x column matrix; :func:`compute`
turns summed columns (one row, or one row per bootstrap resample) into named metrics:

- ``entities/<scheme>/micro/{p,r,f1}``, ``entities/<scheme>/macro/{p,r,f1}`` (mean over
  the labels present in gold or predictions), ``entities/<scheme>/<LABEL>/{p,r,f1}``;
- ``quotes/<rule>/<kind or all>/{p,r,f1}``;
- ``quotes/{speaker_mention,speaker_entity,cue,kind}/<kind or all>/acc``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from curate.compact import StringList
from curate.score.entities import SCHEMES
from curate.score.quotes import KINDS, RULES

ALL = "all"


@dataclass
class CountTable:
    """Per-article counts, kept sparse: the nonzero cells of an article x column matrix in
    compressed-row form (article ``i``'s cells are ``indices[indptr[i]:indptr[i + 1]]``,
    column numbers into ``columns``, and the same slice of ``data``). About 8 bytes an
    article and 8 a nonzero count, the ids in a :class:`~curate.compact.StringList`;
    :meth:`dense` gives rows as a matrix a block at a time."""

    ids: Sequence[str]
    columns: list[str]
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @property
    def col(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.columns)}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, ids: Sequence[str], counts: Iterable[Mapping[str, int]]) -> CountTable:
        """The table of ``counts`` (one mapping per article, in the order of ``ids``)."""
        gathered = CountRows()
        for c in counts:
            gathered.add(c)
        return gathered.table(ids)

    def counts(self, row: int) -> dict[str, int]:
        """The nonzero counts of article number ``row``, by column name."""
        at = slice(self.indptr[row], self.indptr[row + 1])
        return {
            self.columns[c]: int(v)
            for c, v in sorted(zip(self.indices[at].tolist(), self.data[at].tolist(), strict=True))
        }

    def dense(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` as an int64 matrix of shape (articles, columns)."""
        stop = max(start, len(self.ids) if stop is None else min(stop, len(self.ids)))
        out = np.zeros((stop - start, len(self.columns)), dtype=np.int64)
        lo, hi = self.indptr[start], self.indptr[stop]
        rows = np.repeat(np.arange(stop - start), np.diff(self.indptr[start : stop + 1]))
        out[rows, self.indices[lo:hi]] = self.data[lo:hi]
        return out

    def blocks(self, size: int = 256) -> Iterator[np.ndarray]:
        """:meth:`dense` rows ``size`` articles at a time, in order."""
        for start in range(0, len(self.ids), size):
            yield self.dense(start, start + size)

    def totals(self) -> np.ndarray:
        """Each column summed over the articles (int64, shape (columns,))."""
        out = np.zeros(len(self.columns), dtype=np.int64)
        np.add.at(out, self.indices, self.data)
        return out

    def labels(self) -> list[str]:
        """Entity labels with any count (gold or predicted)."""
        return sorted({k.split("/")[2] for k in self.columns if k.startswith("ent/")} - {"*"})


class CountRows:
    """Per-article counts gathered one article at a time for a :class:`CountTable`, kept
    compact while a stream is scored: the nonzero cells as a column number and a value
    (4 bytes each), plus an 8-byte offset per article, instead of a dict per article."""

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        self._indptr = array("q", [0])
        self._cols = array("i")
        self._values = array("i")

    @property
    def n(self) -> int:
        return len(self._indptr) - 1

    def add(self, counts: Mapping[str, int]) -> None:
        """Append one article's counts (a key with 0 still makes its column)."""
        cols, values = self._cols, self._values
        for k, v in counts.items():
            c = self.keys.setdefault(k, len(self.keys))
            if v:
                cols.append(c)
                values.append(v)
        self._indptr.append(len(values))

    def table(self, ids: Sequence[str]) -> CountTable:
        """The gathered counts as a table, columns sorted by key. The table takes the
        counts over without a copy (a stream's worth of them would double the memory
        for a moment); the gatherer starts empty again."""
        columns = sorted(self.keys)
        where = {k: i for i, k in enumerate(columns)}
        remap = np.array([where[k] for k in self.keys], dtype=np.int32)
        indptr, cols, values = self._indptr, self._cols, self._values
        self.keys = {}
        self._indptr, self._cols, self._values = array("q", [0]), array("i"), array("i")
        indices = np.frombuffer(cols, dtype=np.int32) if cols else np.zeros(0, np.int32)
        for at in range(0, len(indices), 1 << 16):  # in place: to sorted column numbers
            indices[at : at + (1 << 16)] = remap[indices[at : at + (1 << 16)]]
        return CountTable(
            ids if isinstance(ids, StringList) else StringList(ids),
            columns,
            np.frombuffer(indptr, dtype=np.int64),
            indices,
            np.frombuffer(values, dtype=np.int32) if values else np.zeros(0, np.int32),
        )


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def _f1(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    return _div(2 * p * r, p + r)


def compute(
    sums: np.ndarray, columns: Sequence[str], tasks: Iterable[str] = ("entities", "quotes")
) -> dict[str, np.ndarray]:
    """Metrics from summed counts; ``sums`` is (columns,) or (draws, columns)."""
    col = {k: i for i, k in enumerate(columns)}
    zero = np.zeros(sums.shape[:-1])

    def c(key: str) -> np.ndarray:
        i = col.get(key)
        return sums[..., i] if i is not None else zero

    out: dict[str, np.ndarray] = {}
    tasks = set(tasks)
    if "entities" in tasks:
        labels = sorted({k.split("/")[2] for k in columns if k.startswith("ent/")} - {"*"})
        for scheme in SCHEMES:
            half = scheme in ("partial", "type")
            per_label = []
            for label in ["*", *labels]:
                cor, inc, par, mis, spu = (
                    c(f"ent/{scheme}/{label}/{x}") for x in ("cor", "inc", "par", "mis", "spu")
                )
                credit = cor + 0.5 * par if half else cor
                p = _div(credit, cor + inc + par + spu)
                r = _div(credit, cor + inc + par + mis)
                f = _f1(p, r)
                name = "micro" if label == "*" else label
                out[f"entities/{scheme}/{name}/p"] = p
                out[f"entities/{scheme}/{name}/r"] = r
                out[f"entities/{scheme}/{name}/f1"] = f
                if label != "*":
                    present = (cor + inc + par + spu + mis) > 0
                    per_label.append((present, p, r, f))
            for i, m in enumerate(("p", "r", "f1"), start=1):
                if per_label:
                    present = np.stack([x[0] for x in per_label])
                    vals = np.stack([x[i] for x in per_label])
                    n = present.sum(axis=0)
                    out[f"entities/{scheme}/macro/{m}"] = _div((vals * present).sum(axis=0), n)
                else:
                    out[f"entities/{scheme}/macro/{m}"] = zero
    if "quotes" in tasks:
        for kind in ["*", *KINDS]:
            name = ALL if kind == "*" else kind
            gold, pred = c(f"q/gold/{kind}"), c(f"q/pred/{kind}")
            for rule in RULES:
                p = _div(c(f"q/{rule}/tpp/{kind}"), pred)
                r = _div(c(f"q/{rule}/tpg/{kind}"), gold)
                out[f"quotes/{rule}/{name}/p"] = p
                out[f"quotes/{rule}/{name}/r"] = r
                out[f"quotes/{rule}/{name}/f1"] = _f1(p, r)
            out[f"quotes/speaker_mention/{name}/acc"] = _div(
                c(f"q/speaker/mention/{kind}"), c(f"q/speaker/n/{kind}")
            )
            out[f"quotes/speaker_entity/{name}/acc"] = _div(
                c(f"q/speaker/entity/{kind}"), c(f"q/speaker/n/{kind}")
            )
            out[f"quotes/cue/{name}/acc"] = _div(c(f"q/cue/ok/{kind}"), c(f"q/cue/n/{kind}"))
            out[f"quotes/kind/{name}/acc"] = _div(c(f"q/kind/ok/{kind}"), c(f"q/kind/n/{kind}"))
    return out


def support(totals: np.ndarray, columns: Sequence[str]) -> dict[str, int]:
    """How many gold items stand behind each metric group (for tables and JSON)."""
    col = {k: i for i, k in enumerate(columns)}

    def c(key: str) -> int:
        i = col.get(key)
        return int(totals[i]) if i is not None else 0

    out: dict[str, int] = {}
    for k in columns:
        parts = k.split("/")
        if parts[0] == "ent" and parts[1] == "strict":
            label = "micro" if parts[2] == "*" else parts[2]
            out[f"entities/{label}/gold"] = sum(
                c(f"ent/strict/{parts[2]}/{x}") for x in ("cor", "inc", "par", "mis")
            )
            out[f"entities/{label}/pred"] = sum(
                c(f"ent/strict/{parts[2]}/{x}") for x in ("cor", "inc", "par", "spu")
            )
    for kind in ["*", *KINDS]:
        name = ALL if kind == "*" else kind
        out[f"quotes/{name}/gold"] = c(f"q/gold/{kind}")
        out[f"quotes/{name}/pred"] = c(f"q/pred/{kind}")
        out[f"quotes/speaker/{name}/n"] = c(f"q/speaker/n/{kind}")
        out[f"quotes/cue/{name}/n"] = c(f"q/cue/n/{kind}")
        out[f"quotes/{name}/matched"] = c(f"q/kind/n/{kind}")
    return out

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

from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from curate.compact import Spilled, SpilledStrings, StringList
from curate.score.entities import SCHEMES
from curate.score.quotes import KINDS, RULES

ALL = "all"


class CountTable:
    """Per-article counts, kept sparse: the nonzero cells of an article x column matrix in
    compressed-row form (article ``i``'s cells are ``indices[indptr[i]:indptr[i + 1]]``,
    column numbers into ``columns``, and the same slice of ``data``). The three arrays are
    :class:`Spilled` (on disk past 64K items each), so memory holds the ids (a
    :class:`~curate.compact.StringList`, about 20 bytes an article, or nothing when they are
    a :class:`~curate.compact.SpilledStrings` on disk) and one chunk of each;
    :meth:`dense` gives rows as a matrix a block at a time."""

    def __init__(
        self,
        ids: Sequence[str],
        columns: list[str],
        indptr: Spilled,
        indices: Spilled,
        data: Spilled,
        remap: np.ndarray | None = None,
    ) -> None:
        self.ids = ids
        self.columns = columns
        self._indptr, self._indices, self._data = indptr, indices, data
        # stored column numbers -> numbers into ``columns`` (the order they were met in)
        self._remap = remap if remap is not None else np.arange(len(columns), dtype=np.int32)

    @property
    def col(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.columns)}

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def indptr(self) -> np.ndarray:
        """The whole row-offset array, read into memory (for inspection)."""
        return self._indptr.read()

    @property
    def indices(self) -> np.ndarray:
        """Every nonzero cell's column number, read into memory (for inspection)."""
        return self._remap[self._indices.read()]

    @property
    def data(self) -> np.ndarray:
        """Every nonzero cell's count, read into memory (for inspection)."""
        return self._data.read()

    @classmethod
    def build(cls, ids: Sequence[str], counts: Iterable[Mapping[str, int]]) -> CountTable:
        """The table of ``counts`` (one mapping per article, in the order of ``ids``)."""
        gathered = CountRows()
        for c in counts:
            gathered.add(c)
        return gathered.table(ids)

    def _cells(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row offsets of rows ``start:stop`` plus the end, their cells' columns, counts)."""
        ptr = self._indptr.read(start, stop + 1)
        lo, hi = int(ptr[0]), int(ptr[-1])
        return ptr, self._remap[self._indices.read(lo, hi)], self._data.read(lo, hi)

    def counts(self, row: int) -> dict[str, int]:
        """The nonzero counts of article number ``row``, by column name."""
        _, cols, values = self._cells(row, row + 1)
        return {
            self.columns[c]: int(v)
            for c, v in sorted(zip(cols.tolist(), values.tolist(), strict=True))
        }

    def iter_counts(self, size: int = 4096) -> Iterator[dict[str, int]]:
        """:meth:`counts` of every article in order, read ``size`` articles at a time."""
        for start in range(0, len(self.ids), size):
            stop = min(start + size, len(self.ids))
            ptr, cols, values = self._cells(start, stop)
            ptr = ptr - ptr[0]
            for k in range(stop - start):
                at = slice(ptr[k], ptr[k + 1])
                yield {
                    self.columns[c]: int(v)
                    for c, v in sorted(zip(cols[at].tolist(), values[at].tolist(), strict=True))
                }

    def dense(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` as an int64 matrix of shape (articles, columns)."""
        stop = max(start, len(self.ids) if stop is None else min(stop, len(self.ids)))
        out = np.zeros((stop - start, len(self.columns)), dtype=np.int64)
        if stop == start:
            return out
        ptr, cols, values = self._cells(start, stop)
        rows = np.repeat(np.arange(stop - start), np.diff(ptr))
        out[rows, cols] = values
        return out

    def take(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`dense` of the given row numbers, in their order: one read of the span
        they cover when they lie close together, else a read per row."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros((0, len(self.columns)), dtype=np.int64)
        lo, hi = int(rows.min()), int(rows.max()) + 1
        if hi - lo <= 4 * len(rows):
            return self.dense(lo, hi)[rows - lo]
        return np.concatenate([self.dense(r, r + 1) for r in rows.tolist()])

    def blocks(self, size: int = 256) -> Iterator[np.ndarray]:
        """:meth:`dense` rows ``size`` articles at a time, in order."""
        for start in range(0, len(self.ids), size):
            yield self.dense(start, start + size)

    def totals(self) -> np.ndarray:
        """Each column summed over the articles (int64, shape (columns,))."""
        out = np.zeros(len(self.columns), dtype=np.int64)
        for start, cols in self._indices.chunks():
            np.add.at(out, self._remap[cols], self._data.read(start, start + len(cols)))
        return out

    def labels(self) -> list[str]:
        """Entity labels with any count (gold or predicted)."""
        return sorted({k.split("/")[2] for k in self.columns if k.startswith("ent/")} - {"*"})


class CountRows:
    """Per-article counts gathered one article at a time for a :class:`CountTable`, kept
    compact while a stream is scored: the nonzero cells as a column number and a value
    (4 bytes each), plus an 8-byte offset per article, in :class:`Spilled` arrays (on disk
    past a chunk), instead of a dict per article."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.keys: dict[str, int] = {}
        self._indptr = Spilled("q", [0])
        self._cols = Spilled("i")
        self._values = Spilled("i")
        self._n_values = 0

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
                self._n_values += 1
        self._indptr.append(self._n_values)

    def table(self, ids: Sequence[str]) -> CountTable:
        """The gathered counts as a table, columns sorted by key. The table takes the
        arrays over (its column numbers are mapped to the sorted columns as they are
        read); the gatherer starts empty again."""
        columns = sorted(self.keys)
        where = {k: i for i, k in enumerate(columns)}
        remap = np.array([where[k] for k in self.keys], dtype=np.int32)
        table = CountTable(
            ids if isinstance(ids, StringList | SpilledStrings) else StringList(ids),
            columns,
            self._indptr,
            self._cols,
            self._values,
            remap,
        )
        self._reset()
        return table


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

"""Compact containers for what a stream keeps of every article (its id), so memory stays
flat when a stage goes through 100,000 articles.

A Python ``str`` costs about 50 bytes more than its characters, and a hundred thousand
small objects kept among the short-lived ones of a stream are scattered over the heap's
pages, which then cannot be returned to the system when the stream's other objects are
freed. :class:`StringList` keeps its strings in one buffer instead; :class:`Spilled` keeps
numbers in an array that goes to a temporary file past :attr:`Spilled.CHUNK` items.
Where even a few dozen bytes an article are too many (a stage whose memory must not grow
from 10,000 to 100,000 articles), :class:`SpilledStrings` keeps strings on disk and
:class:`SpilledMap` keeps objects by key in a temporary SQLite database, sorted by it.
"""

from __future__ import annotations

import io
import os
import pickle
import sqlite3
import struct
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np

SORT_WIDTH = 64
"""Longest string (UTF-8 bytes) :meth:`StringList.argsort` sorts as a fixed-width byte
array; a list with a longer one is sorted through Python strings."""


def _position(i: int, n: int, name: str) -> int:
    """Index ``i`` of a list of ``n`` items as a position (a negative one from the end)."""
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(f"{name} index out of range")
    return i


def _equal(items: Sequence[Any], other: object) -> bool:
    """List equality of ``items`` with any sequence but a string."""
    if isinstance(other, Sequence) and not isinstance(other, str):
        return len(items) == len(other) and all(a == b for a, b in zip(items, other, strict=True))
    return NotImplemented


class _Strings(Sequence[str]):
    """Read access by index and slice to a list of strings that gives ``len`` and the
    string at a position (:meth:`_item`, given a position in range)."""

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return self._item(_position(i, len(self), type(self).__name__))

    def _item(self, i: int) -> str:
        raise NotImplementedError


class StringList(_Strings):
    """A list of strings kept as one UTF-8 buffer (lone surrogates kept) plus an 8-byte
    end offset each: :meth:`append` and read access (index, slice, iteration, ``in``,
    ``len``); a string is decoded each time it is read."""

    def __init__(self, items: Iterable[str] = ()) -> None:
        self._buf = bytearray()
        self._ends = array("q")
        for s in items:
            self.append(s)

    def append(self, s: str) -> None:
        self._buf += s.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._buf))

    def __len__(self) -> int:
        return len(self._ends)

    def _item(self, i: int) -> str:
        start = self._ends[i - 1] if i else 0
        return self._buf[start : self._ends[i]].decode("utf-8", "surrogatepass")

    def argsort(self) -> np.ndarray:
        """The positions of the strings in sorted order (Python's ``str`` order; equal
        strings keep their order), as an int64 array.

        Without a Python string each: UTF-8 bytes compare in code-point order, so the
        strings are sorted as a fixed-width byte array (at most :data:`SORT_WIDTH` bytes
        a string, zero-padded). A NUL byte would compare equal to the padding, so a list
        holding one, or a longer string, is sorted through Python strings instead.
        """
        n = len(self)
        ends = np.frombuffer(self._ends, np.int64) if n else np.zeros(0, np.int64)
        starts = np.concatenate(([0], ends[:-1])).astype(np.int64)
        lengths = ends - starts
        width = int(lengths.max()) if n else 0
        if width > SORT_WIDTH or b"\0" in self._buf:
            return np.array(sorted(range(n), key=self.__getitem__), dtype=np.int64)
        data = np.frombuffer(self._buf, np.uint8) if self._buf else np.zeros(0, np.uint8)
        fixed = np.zeros((n, max(width, 1)), np.uint8)
        for c in range(width):  # a column at a time: temporaries of one entry a string
            has = np.flatnonzero(lengths > c)
            fixed[has, c] = data[starts[has] + c]
        keys = fixed.view(f"S{max(width, 1)}").ravel()
        return np.argsort(keys, kind="stable").astype(np.int64)

    def __iter__(self) -> Iterator[str]:
        view, start = memoryview(self._buf), 0
        for end in self._ends:
            yield str(view[start:end], "utf-8", "surrogatepass")
            start = end

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StringList):
            return self._ends == other._ends and self._buf == other._buf
        return _equal(self, other)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"StringList({list(self)!r})"


class Spilled:
    """A growing array of one integer type that keeps at most :attr:`CHUNK` items in memory
    and the rest in an anonymous temporary file (gone when the process ends), read back a
    slice at a time with explicit reads (not ``mmap``: a mapped file's pages count in the
    process's memory once read)."""

    CHUNK = 1 << 16

    def __init__(self, typecode: str, items: Iterable[int] = ()) -> None:
        self.typecode = typecode
        self.dtype = np.dtype(typecode)
        self._buf = array(typecode)
        self._file: io.BufferedRandom | None = None
        self._on_disk = 0
        for v in items:
            self.append(v)

    def append(self, v: int) -> None:
        self._buf.append(v)
        if len(self._buf) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._buf:
            return
        if self._file is None:
            # lives as long as the array; closed (and gone) when the array is collected
            self._file = tempfile.TemporaryFile()  # noqa: SIM115  (w+b: a BufferedRandom)
        self._file.seek(0, os.SEEK_END)
        self._file.write(self._buf.tobytes())
        self._on_disk += len(self._buf)
        self._buf = array(self.typecode)

    def __len__(self) -> int:
        return self._on_disk + len(self._buf)

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Items ``start:stop`` as a new numpy array."""
        n = len(self)
        stop = n if stop is None else min(stop, n)
        start = min(max(start, 0), stop)
        out = np.empty(stop - start, self.dtype)
        disk_stop = min(stop, self._on_disk)
        if disk_stop > start and self._file is not None:
            self._file.seek(start * self.dtype.itemsize)
            self._file.readinto(out[: disk_stop - start].view(np.uint8).data)
        mem_start = max(start, self._on_disk)
        if stop > mem_start:
            buf = np.frombuffer(self._buf, self.dtype)
            out[mem_start - start :] = buf[mem_start - self._on_disk : stop - self._on_disk]
        return out

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(start, items) :attr:`CHUNK` at a time, in order."""
        for start in range(0, len(self), self.CHUNK):
            yield start, self.read(start, start + self.CHUNK)


class SpilledObjects(Sequence[Any]):
    """Objects pickled one after another into an anonymous temporary file (gone when the
    list is collected), each with a string key: memory keeps the keys (a
    :class:`StringList`) and 16 bytes of offsets an object. Read access by position
    unpickles the object again; :meth:`sorted_by_key` gives a view in key order.

    Only for objects this process pickled itself (unpickling runs code)."""

    def __init__(self) -> None:
        self.keys = StringList()
        self._starts = Spilled("q")
        self._sizes = Spilled("q")
        self._file: io.BufferedRandom | None = None
        self._order: np.ndarray | None = None

    def append(self, obj: Any, key: str) -> None:
        if self._order is not None:
            raise RuntimeError("a sorted view is read-only")
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115  (lives with the list)
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.seek(0, os.SEEK_END)
        self._starts.append(self._file.tell())
        self._sizes.append(len(data))
        self._file.write(data)
        self.keys.append(key)

    def sorted_by_key(self) -> SpilledObjects:
        """A view of the same objects in key order (equal keys keep their order)."""
        view = SpilledObjects()
        order = self.keys.argsort()
        view.keys = StringList(self.keys[int(i)] for i in order)
        view._starts, view._sizes, view._file = self._starts, self._sizes, self._file
        view._order = order
        return view

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        i = _position(i, len(self), "SpilledObjects")
        at = int(self._order[i]) if self._order is not None else i
        assert self._file is not None
        self._file.seek(int(self._starts.read(at, at + 1)[0]))
        return pickle.loads(self._file.read(int(self._sizes.read(at, at + 1)[0])))  # noqa: S301

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return _equal(self, other)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"SpilledObjects({len(self)} items)"


_LENGTH = struct.Struct("<I")


def _key(s: str) -> bytes:
    # UTF-8 bytes compare (memcmp, as SQLite compares BLOBs) in code-point order, which is
    # Python's str order; surrogatepass keeps a lone surrogate, in order too.
    return s.encode("utf-8", "surrogatepass")


class SpilledStrings(_Strings):
    """A list of strings written one after another (each after its 4-byte length) to an
    anonymous temporary file, gone when the list is collected. Memory keeps the count and
    the file offset of every :attr:`STEP`-th string (8 bytes per :attr:`STEP` strings), so
    it does not grow with the list. Iteration reads the file in order, a block at a time;
    a string by position is read from the nearest kept offset on. Appends only."""

    STEP = 1024
    BLOCK = 1 << 16

    def __init__(self, items: Iterable[str] = ()) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115  (lives with the list)
        self._n = 0
        self._end = 0
        self._marks = array("q")
        for s in items:
            self.append(s)

    def append(self, s: str) -> None:
        data = _key(s)
        if self._n % self.STEP == 0:
            self._marks.append(self._end)
        self._file.seek(self._end)
        self._file.write(_LENGTH.pack(len(data)) + data)
        self._end += _LENGTH.size + len(data)
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def _read(self, pos: int, count: int) -> Iterator[str]:
        """``count`` strings from file offset ``pos`` on (explicit reads, not the file's
        position, so an iteration survives appends and other reads)."""
        self._file.flush()
        fd, buf, at = self._file.fileno(), b"", 0
        for _ in range(count):
            while len(buf) - at < _LENGTH.size:
                buf, at = buf[at:] + os.pread(fd, self.BLOCK, pos), 0
                pos += self.BLOCK
            (size,) = _LENGTH.unpack_from(buf, at)
            while len(buf) - at < _LENGTH.size + size:
                buf, at = buf[at:] + os.pread(fd, max(self.BLOCK, size), pos), 0
                pos += max(self.BLOCK, size)
            start = at + _LENGTH.size
            yield buf[start : start + size].decode("utf-8", "surrogatepass")
            at = start + size

    def __iter__(self) -> Iterator[str]:
        return self._read(0, self._n)

    def _item(self, i: int) -> str:
        mark, skip = divmod(i, self.STEP)
        strings = self._read(self._marks[mark], skip + 1)
        for _ in range(skip):
            next(strings)
        return next(strings)

    def __eq__(self, other: object) -> bool:
        return _equal(self, other)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"SpilledStrings({len(self)} items)"


def sorted_spilled(strings: Iterable[str]) -> SpilledStrings:
    """The strings in Python's ``str`` order (equal ones kept), as a
    :class:`SpilledStrings`, sorted on disk (a temporary SQLite table): memory does not
    grow with their number."""
    db = _temporary_database()
    try:
        db.execute("CREATE TABLE s (key BLOB NOT NULL)")
        db.executemany("INSERT INTO s VALUES (?)", ((_key(s),) for s in strings))
        rows = db.execute("SELECT key FROM s ORDER BY key, rowid")
        return SpilledStrings(k.decode("utf-8", "surrogatepass") for (k,) in rows)
    finally:
        db.close()


def _temporary_database() -> sqlite3.Connection:
    """A private SQLite database on disk, deleted when it is closed (SQLite's own
    temporary database: an empty file name); its page cache is SQLite's default, a few
    MB, whatever it holds."""
    db = sqlite3.connect("", isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")  # never rolled back: nothing to journal
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    return db


class _Database:
    """A private temporary SQLite database (:func:`_temporary_database`), deleted by
    :meth:`close` or when the object is collected."""

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = _temporary_database()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"the {type(self).__name__} is closed")
        return self._db

    def close(self) -> None:
        """Delete the database (SQLite removes its temporary file)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __del__(self) -> None:
        self.close()


class DuplicateKey(KeyError):
    """:meth:`SpilledMap.seal` found a key added twice (the smallest such key)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class SpilledMap(_Database):
    """Objects by string key, pickled into a private temporary SQLite database (on disk,
    deleted when the map is closed or collected), read back in key order (Python's
    ``str`` order) or by key. Memory holds SQLite's page cache (a few MB), whatever the
    number of objects.

    Add every object first (:meth:`add`), then :meth:`seal` (indexes the keys; raises
    :class:`DuplicateKey` for a key added twice), then read. :meth:`take` reads an object
    and marks it seen; :meth:`unseen_keys` lists the keys never taken.

    Only for objects this process pickled itself (unpickling runs code)."""

    def __init__(self) -> None:
        super().__init__()
        self.db.execute(
            "CREATE TABLE items (key BLOB NOT NULL, seen INTEGER NOT NULL DEFAULT 0, "
            "data BLOB NOT NULL)"
        )
        self._n = 0
        self._sealed = False

    def add(self, key: str, obj: Any) -> None:
        if self._sealed:
            raise RuntimeError("objects are added before the map is sealed")
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        self.db.execute("INSERT INTO items (key, data) VALUES (?, ?)", (_key(key), data))
        self._n += 1

    def seal(self) -> None:
        """Index the keys for reading; raises :class:`DuplicateKey` (the smallest key added
        twice) and stays unsealed when a key was added twice."""
        if self._sealed:
            return
        try:
            self.db.execute("CREATE UNIQUE INDEX items_key ON items (key)")
        except sqlite3.IntegrityError:
            (key,) = self.db.execute(
                "SELECT key FROM items GROUP BY key HAVING count(*) > 1 ORDER BY key LIMIT 1"
            ).fetchone()
            raise DuplicateKey(key.decode("utf-8", "surrogatepass")) from None
        self._sealed = True

    def __len__(self) -> int:
        return self._n

    def _check_sealed(self) -> None:
        if not self._sealed:
            raise RuntimeError("seal the map before reading it")

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(key, object)`` in key order, one at a time."""
        self._check_sealed()
        for key, data in self.db.execute("SELECT key, data FROM items ORDER BY key"):
            yield key.decode("utf-8", "surrogatepass"), pickle.loads(data)  # noqa: S301

    def sorted_keys(self) -> Iterator[str]:
        """The keys in order, one at a time."""
        self._check_sealed()
        for (key,) in self.db.execute("SELECT key FROM items ORDER BY key"):
            yield key.decode("utf-8", "surrogatepass")

    def get(self, key: str) -> Any | None:
        """The object of ``key``, or None."""
        self._check_sealed()
        row = self.db.execute("SELECT data FROM items WHERE key = ?", (_key(key),)).fetchone()
        return None if row is None else pickle.loads(row[0])  # noqa: S301

    def take(self, key: str) -> Any | None:
        """The object of ``key``, marked seen; None when there is none."""
        self._check_sealed()
        row = self.db.execute(
            "UPDATE items SET seen = 1 WHERE key = ? RETURNING data", (_key(key),)
        ).fetchone()
        return None if row is None else pickle.loads(row[0])  # noqa: S301

    def unseen_keys(self) -> Iterator[str]:
        """The keys :meth:`take` never took, in order."""
        self._check_sealed()
        for (key,) in self.db.execute("SELECT key FROM items WHERE seen = 0 ORDER BY key"):
            yield key.decode("utf-8", "surrogatepass")

    def __repr__(self) -> str:
        return f"SpilledMap({len(self)} items)"


class SpilledIndex(_Database):
    """Where each string of a list is, on disk: the strings in a temporary SQLite table
    (row ``k + 1`` holds the ``k``-th), indexed when first looked up. Memory holds
    SQLite's page cache (a few MB), whatever the number of strings."""

    def __init__(self, strings: Iterable[str] = ()) -> None:
        super().__init__()
        self.db.execute("CREATE TABLE s (key BLOB NOT NULL)")
        self._indexed = False
        self._n = 0
        for s in strings:
            self.append(s)

    def append(self, s: str) -> None:
        if self._indexed:
            raise RuntimeError("strings are added before the first look-up")
        self.db.execute("INSERT INTO s VALUES (?)", (_key(s),))
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def _index(self) -> None:
        if not self._indexed:
            self.db.execute("CREATE INDEX s_key ON s (key)")
            self._indexed = True

    def find(self, s: str, first: bool = False) -> int:
        """The position of the last (``first``: the first) string equal to ``s``, or -1."""
        self._index()
        pick = "min" if first else "max"
        (at,) = self.db.execute(f"SELECT {pick}(rowid) FROM s WHERE key = ?", (_key(s),)).fetchone()
        return -1 if at is None else at - 1

    def repeated(self, keep: str = "first") -> Iterator[tuple[int, str]]:
        """``(position, string)`` of every string equal to another one, but the ``first``
        (or ``last``) of each, in the list's order."""
        if keep not in ("first", "last"):
            raise ValueError(f"keep is first or last, not {keep!r}")
        self._index()
        order = "ASC" if keep == "first" else "DESC"
        rows = self.db.execute(
            "SELECT at, key FROM (SELECT rowid AS at, key, row_number() OVER "
            f"(PARTITION BY key ORDER BY rowid {order}) AS k FROM s) WHERE k > 1 ORDER BY at"
        )
        for at, key in rows:
            yield at - 1, key.decode("utf-8", "surrogatepass")

"""Memory that stays flat: what a release, `curate diff` and `curate evaluate` keep of
every article is on disk (SQLite temporary databases, spilled string lists), so the peak
of a call on 10N articles is the peak on N plus a bound that does not grow with N.

tracemalloc sees Python's allocations (a list of ids, an index of them, numpy arrays),
the structures that grew with the articles before: a StringList of ids and 16 bytes of
offsets an article in a release, an in-memory hash index of the ids (16 bytes an
article) in diff and compare.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from curate.compact import (
    DuplicateKey,
    Spilled,
    SpilledIndex,
    SpilledMap,
    SpilledStrings,
    sorted_spilled,
)
from curate.gold import diff, release
from curate.io.jsonl import write_jsonl
from curate.model import Document, Entity
from curate.score.evaluate import evaluate_specs, score
from curate.score.report import compare, open_report, write_json

N = 400
"""Articles of the smaller call; the larger has 10N. The bounds below are bytes the peak
may grow by from N to 10N, with what grew before (the same measurement on the code
before this change): a release 5.1 MB (ids, offsets and their sorted copies in memory, a
hash block of 1 MB), a second release 1.1 MB and ``curate diff`` 1.0 MB (an index of
the ids), scoring 72 KB (the ids), compare 220 KB (an index of the ids)."""

TEXT = "Ana Lopez met Olaf Scholz in Brussels on Monday."
STRANGE = ["", "é", "日本", "😀 x", "\ud800", "a" * 300, "b" * 70_000, "team-000001"]


def article(i: int, label: str = "GPE") -> Document:
    ents = (
        Entity.of(TEXT, 0, 9, "PERSON"),
        Entity.of(TEXT, 14, 25, "PERSON"),
        Entity.of(TEXT, 29, 37, label),
    )
    return Document(f"team-{i:06d}", TEXT, ents, meta={"title": f"story {i}"})


def peak(fn: Callable[[], Any]) -> int:
    """Bytes tracemalloc saw at most above what was allocated when ``fn`` started."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


@pytest.fixture(autouse=True)
def small_buffers(monkeypatch):
    """The buffers a stage fills up to a fixed size, filled already by N articles: what
    is left to grow is what grows with the articles."""
    import sys

    import curate.gold.write

    monkeypatch.setattr(curate.gold.write, "ROWS_PER_GROUP", 50)
    monkeypatch.setattr(Spilled, "CHUNK", 256)
    load = sys.modules["curate.gold.load"]  # curate.gold.load is also a function's name
    monkeypatch.setattr(load.iter_version, "__defaults__", (True, 50))


def grows(fn: Callable[[int], Any]) -> int:
    """How much the peak of ``fn(10 * N)`` exceeds that of ``fn(N)`` (a warm-up first, so
    imports and caches are not counted)."""
    fn(N // 4)
    return peak(lambda: fn(10 * N)) - peak(lambda: fn(N))


def test_spilled_strings_read_back_in_order_and_by_position(monkeypatch):
    monkeypatch.setattr(SpilledStrings, "STEP", 3)
    monkeypatch.setattr(SpilledStrings, "BLOCK", 16)  # records cross block boundaries
    items = STRANGE * 5
    s = SpilledStrings(items[:-1])
    s.append(items[-1])
    assert len(s) == len(items) and list(s) == items and s == items
    assert [s[i] for i in range(len(s))] == items and s[-1] == items[-1]
    assert s[2:9] == items[2:9] and list(s) == items  # reads again from the start
    with pytest.raises(IndexError):
        s[len(items)]
    assert list(SpilledStrings()) == [] and not SpilledStrings()


def test_sorted_spilled_is_pythons_string_order():
    items = [*STRANGE, "\uffff", "\U0001f600", "a\x00", "a", "Z", "a"]
    assert list(sorted_spilled(items)) == sorted(items)


def test_spilled_map_reads_in_key_order_and_marks_what_was_taken():
    m = SpilledMap()
    for k in ("b", "é", "a", "\ud800"):
        m.add(k, {"key": k})
    with pytest.raises(RuntimeError):
        m.get("a")  # not sealed yet
    m.seal()
    assert [k for k, _ in m.items()] == sorted(["b", "é", "a", "\ud800"])
    assert list(m.sorted_keys()) == sorted(["b", "é", "a", "\ud800"]) and len(m) == 4
    assert m.get("é") == {"key": "é"} and m.get("zz") is None
    assert m.take("b") == {"key": "b"} and m.take("zz") is None
    assert list(m.unseen_keys()) == sorted(["é", "a", "\ud800"])
    with pytest.raises(RuntimeError):
        m.add("c", 1)
    m.close()
    twice = SpilledMap()
    for k in ("x", "b", "c", "b", "x"):
        twice.add(k, 0)
    with pytest.raises(DuplicateKey) as e:
        twice.seal()
    assert e.value.key == "b"  # the smallest key added twice


@pytest.mark.parametrize("first", [False, True])
def test_spilled_index_finds_first_and_last_positions(first):
    items = ["b", "a", "b", "c", "a", "b", "é"]
    disk = SpilledIndex(items)
    for s in [*items, "zz"]:
        at = [k for k, item in enumerate(items) if item == s] or [-1]
        assert disk.find(s, first=first) == (at[0] if first else at[-1])
    assert list(disk.repeated("first")) == [(2, "b"), (4, "a"), (5, "b")]
    assert list(disk.repeated("last")) == [(0, "b"), (1, "a"), (2, "b")]


def gold(n: int, changed: bool = False) -> Iterator[Document]:
    for i in range(n):
        if changed and i % 13 == 0:
            continue  # removed
        yield article(i, "ORG" if changed and i % 11 == 0 else "GPE")
    if changed:
        yield from (article(i) for i in range(n, n + n // 20))  # added


def test_release_and_diff_memory_does_not_grow_with_articles(tmp_path):
    made: dict[int, tuple[Any, Any]] = {}

    def first(n: int) -> None:
        made[n] = (release(gold(n), name=f"n{n}", root=tmp_path, formats=("jsonl",)).path, None)

    def second(n: int) -> None:
        r = release(gold(n, changed=True), name=f"n{n}", root=tmp_path, formats=("jsonl",))
        made[n] = (made[n][0], r.path)
        assert len(r.changes.added) == n // 20 and len(r.changes.removed) == -(-n // 13)

    def diffed(n: int) -> None:
        c = diff(*made[n])
        assert len(c.added) == n // 20 and len(c.changed) > 0
        assert "\n".join(c.json_lines()).count("team-") > n // 20

    assert grows(first) < 1_000_000  # 390 KB measured
    assert grows(second) < 400_000  # 120 KB measured
    assert grows(diffed) < 400_000  # 60 KB measured


def test_diff_json_lines_are_the_whole_dict_dumped(tmp_path):
    import json

    one = release(gold(60), name="d", root=tmp_path, formats=("jsonl",)).path
    two = release(gold(60, changed=True), name="d", root=tmp_path, formats=("jsonl",)).path
    c = diff(one, two)
    assert list(c.json_lines()) == json.dumps(c.to_dict(), ensure_ascii=False, indent=2).split("\n")


def test_score_memory_does_not_grow_with_articles():
    def scored(n: int) -> None:
        r = score(gold(n), gold(n), tasks=("entities",), draws=0, keep_predictions=False)
        assert len(r.table.ids) == n

    assert grows(scored) < 30_000  # nothing measured


def test_compare_memory_does_not_grow_with_articles(tmp_path, monkeypatch):
    monkeypatch.setitem(score.__kwdefaults__, "max_error_articles", 20)  # a bounded list

    def files(n: int) -> tuple[Any, Any]:
        g, p = tmp_path / f"gold-{n}.jsonl", tmp_path / f"preds-{n}.jsonl"
        write_jsonl(g, (d.to_dict() for d in gold(n)))
        preds = (
            d.with_(entities=d.entities[:-1] if i % 7 == 0 else d.entities)
            for i, d in enumerate(gold(n))
        )
        write_jsonl(p, (d.to_dict() for d in preds))
        g, p = str(g), str(p)
        ev = evaluate_specs([p], gold=g, only=["entities"], draws=20)
        write_json(ev, tmp_path / f"report-{n}.json")
        return p, g

    made = {n: files(n) for n in (N // 4, N, 10 * N)}

    def compared(n: int) -> None:
        p, g = made[n]
        again = evaluate_specs([p], gold=g, only=["entities"], draws=20)
        assert again.articles == n
        result = compare(open_report(tmp_path / f"report-{n}.json"), again, draws=20)
        assert list(result.paired.values()) == [n]

    # 12 KB measured; before, the gold ids, the predictions' index and compare's index of
    # the ids grew with the articles (evaluate 600 KB and compare 220 KB measured alone)
    assert grows(compared) < 100_000

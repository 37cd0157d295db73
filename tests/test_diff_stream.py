"""`curate diff` and a release's changes, streamed: the same changes as the whole-dict
diff, from compact lists (ids in one buffer, changed articles on disk)."""

from __future__ import annotations

import pytest
from test_gold_dataset import T, gold_doc

from curate.compact import Spilled, SpilledObjects, SpilledStrings, sorted_spilled
from curate.gold import diff, release
from curate.gold.diff import diff_documents
from curate.gold.load import read_version
from curate.model import Entity


def held_diff(a, b):
    """The diff as it was computed: both versions read whole into dicts."""
    old = {d.id: (d, s) for s, ds in read_version(a).items() for d in ds}
    new = {d.id: (d, s) for s, ds in read_version(b).items() for d in ds}
    return diff_documents(old, new, old_label="news 1.0.0", new_label="news 1.1.0")


def test_diff_streamed_equals_the_whole_dict_diff(tmp_path, monkeypatch):
    monkeypatch.setattr(Spilled, "CHUNK", 3)  # the offsets go to disk too
    first = [gold_doc(i) for i in range(30)]
    one = release(first, root=tmp_path, name="news").path
    second = [d for d in first if int(d.id[-3:]) % 7]  # 5 removed
    second += [gold_doc(i) for i in range(30, 36)]  # 6 added
    second = [
        d.with_(entities=(Entity.of(T, 0, 14, "ORG"),)) if int(d.id[-3:]) % 4 == 0 else d
        for d in second
    ]
    r = release(second, root=tmp_path, name="news")
    streamed, held = diff(one, r.path), held_diff(one, r.path)
    assert isinstance(streamed.added, SpilledStrings)
    assert isinstance(streamed.changed, SpilledObjects)
    assert list(streamed.added) == list(held.added) == [f"art-{i:03d}" for i in range(30, 36)]
    assert list(streamed.removed) == list(held.removed) and len(held.removed) == 5
    assert list(streamed.changed) == list(held.changed) and len(held.changed) > 3
    assert streamed.unchanged == held.unchanged and dict(streamed.counts) == dict(held.counts)
    assert streamed.to_markdown(limit=2) == held.to_markdown(limit=2)
    assert list(streamed.article_records()) == list(held.article_records())
    # The release wrote the same changes from its own stream.
    log = (r.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "`art-030`" in log and "`art-007`" in log


def test_spilled_objects_read_back_by_position_and_in_key_order():
    items = SpilledObjects()
    for k in ("b", "a", "c", "a"):
        items.append({"key": k, "n": len(items)}, k)
    assert [x["n"] for x in items] == [0, 1, 2, 3] and items[-1]["key"] == "a"
    view = items.sorted_by_key()
    assert [x["n"] for x in view] == [1, 3, 0, 2] and list(view.keys) == ["a", "a", "b", "c"]
    assert view == [items[1], items[3], items[0], items[2]]
    with pytest.raises(RuntimeError):
        view.append({}, "d")
    assert list(sorted_spilled(["b", "é", "a"])) == ["a", "b", "é"]

"""StringList: the compact list of article ids a streamed stage keeps."""

from __future__ import annotations

import pytest

from curate.compact import StringList


def test_string_list_reads_back_what_was_appended():
    items = ["team-000001", "", "é", "日本", "😀 x", "\ud800", "a" * 300]
    s = StringList(items)
    s.append("last")
    items.append("last")
    assert len(s) == len(items) and list(s) == items
    assert [s[i] for i in range(len(s))] == items and s[-1] == "last" and s[2:4] == items[2:4]
    assert "日本" in s and "nope" not in s and s.index("😀 x") == 4
    assert s == items and s == StringList(items) and s != items[:-1]
    with pytest.raises(IndexError):
        s[len(items)]


@pytest.mark.parametrize("extra", [[], ["a\x00", "a"], ["x" * 100]])
def test_argsort_is_pythons_string_order_with_ties_kept(extra):
    # the last two cases take the fallback through Python strings (a NUL, a long string)
    items = ["team-000010", "team-00002", "", "é", "日本", "😀 x", "\ud800", "\uffff", "b"]
    items += ["a", "ab", "a", "Z", "\U0001f600", *extra]
    order = StringList(items).argsort()
    assert order.tolist() == sorted(range(len(items)), key=items.__getitem__)
    assert StringList().argsort().tolist() == []

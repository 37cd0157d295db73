"""What changed between two sets of gold documents: articles and, inside them, spans.

The same computation feeds the changelog written with each version and ``curate diff``.
Entities are matched by offsets (same offsets, other label = relabelled), quotes by
their content offsets (same offsets, other kind/speaker/cue = changed).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from pathlib import Path
from typing import Any

from curate import settings
from curate.changes import ArticleChange, diff_article
from curate.compact import (
    SpilledMap,
    SpilledObjects,
    SpilledStrings,
    StringList,
    sorted_spilled,
)
from curate.gold.features import schema_changes
from curate.gold.load import iter_version
from curate.gold.manifest import read_manifest
from curate.gold.version import resolve
from curate.model import Document

LISTED = 50
"""Articles a version's card, CHANGELOG and manifest list per section (added, removed,
changed); when a section has more, they say how many more and :data:`FULL_LIST` in the
version folder lists every one (a card listing 100,000 ids is unreadable, and the card is
rendered in memory)."""
FULL_LIST = "changes.jsonl"


@dataclass(frozen=True)
class Changes:
    """The difference between an older and a newer set of gold documents."""

    added: Sequence[str] = ()
    """Ids of the new articles, sorted (a tuple, or a release's compact list)."""
    removed: Sequence[str] = ()
    """Ids of the articles gone, sorted (a tuple, or a compact list)."""
    changed: Sequence[ArticleChange] = ()
    """The changed articles, sorted by id (a tuple, or a list kept on disk)."""
    unchanged: int = 0
    schema: tuple[str, ...] = ()
    old_label: str = ""
    new_label: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.schema)

    @property
    def required_bump(self) -> str | None:
        """The smallest bump these changes need (see :mod:`curate.gold.version`)."""
        if self.schema:
            return "major"
        if self.added or self.removed or any(c.split for c in self.changed):
            return "minor"
        return "patch" if self.changed else None

    def capped(self, limit: int | None) -> bool:
        """Whether a section has more than ``limit`` articles (None: no limit)."""
        return limit is not None and max(self._sizes().values()) > limit

    def _sizes(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
        }

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """The changes as JSON. With ``limit``, each section holds its first ``limit``
        articles, and, when one has more, ``not_listed`` says how many each leaves out and
        ``full_list`` names the file listing every one (:meth:`article_records`)."""
        out = {
            "from": self.old_label,
            "to": self.new_label,
            "schema": list(self.schema),
            "added": list(islice(self.added, limit)),
            "removed": list(islice(self.removed, limit)),
            "changed": {
                c.id: {"summary": c.summary(), "details": c.details()}
                for c in islice(self.changed, limit)
            },
            "unchanged": self.unchanged,
            "span_counts": dict(self.counts),
        }
        if limit is not None and self.capped(limit):
            out["not_listed"] = {k: max(0, n - limit) for k, n in self._sizes().items()}
            out["full_list"] = FULL_LIST
        return out

    def json_lines(self) -> Iterator[str]:
        """The lines of ``json.dumps(self.to_dict(), ensure_ascii=False, indent=2)`` one
        at a time (what ``curate diff --json`` prints), the articles read as they are
        written: a diff of large versions is not held as one dict."""
        changed = _Pairs(
            (c.id, {"summary": c.summary(), "details": c.details()}) for c in self.changed
        )
        yield from _json_lines(
            {
                "from": self.old_label,
                "to": self.new_label,
                "schema": list(self.schema),
                "added": iter(self.added),
                "removed": iter(self.removed),
                "changed": changed,
                "unchanged": self.unchanged,
                "span_counts": dict(self.counts),
            }
        )

    def article_records(self) -> Iterator[dict[str, Any]]:
        """Every article that changed, one JSON-able record each, one at a time: ``id``,
        ``change`` (added, removed, changed) and, for a changed one, ``summary``,
        ``details`` and ``split`` (``[old, new]`` when it moved, else null). Added, then
        removed, then changed, each sorted by id."""
        yield from ({"id": i, "change": "added"} for i in self.added)
        yield from ({"id": i, "change": "removed"} for i in self.removed)
        for c in self.changed:
            yield {
                "id": c.id,
                "change": "changed",
                "summary": c.summary(),
                "details": c.details(),
                "split": list(c.split) if c.split else None,
            }

    def to_markdown(self, *, details: bool = True, limit: int | None = None) -> str:
        return "".join(line + "\n" for line in self.markdown_lines(details=details, limit=limit))

    def markdown_lines(self, *, details: bool = True, limit: int | None = None) -> Iterator[str]:
        """The lines of :meth:`to_markdown` one at a time (each without its newline), so a
        changelog listing every article of a large version is written without being held.
        With ``limit``, each section lists its first ``limit`` articles and ends with a line
        saying how many more there are, all in :data:`FULL_LIST`."""
        head = f"Changes from {self.old_label or 'nothing'} to {self.new_label}:"
        if self.empty:
            yield head + " none."
            return
        yield from (head, "")
        if self.schema:
            yield "- label schema changed: " + "; ".join(self.schema)
        c = self.counts
        yield (
            f"- articles: {len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} changed, {self.unchanged} unchanged"
        )
        if self.changed:  # the spans of added and removed articles are not counted here
            yield (
                f"- spans in the changed articles: {c.get('entities_added', 0)} entities "
                f"added, {c.get('entities_removed', 0)} removed, "
                f"{c.get('entities_relabelled', 0)} relabelled; "
                f"{c.get('quotes_added', 0)} quotes added, {c.get('quotes_removed', 0)} "
                f"removed, {c.get('quotes_changed', 0)} changed"
            )

        def more(n: int) -> Iterator[str]:
            if limit is not None and n > limit:
                yield f"- and {n - limit} more, every one in `{FULL_LIST}`"

        if self.added:
            yield from ("", "### Added", "")
            yield from (f"- `{i}`" for i in islice(self.added, limit))
            yield from more(len(self.added))
        if self.removed:
            yield from ("", "### Removed", "")
            yield from (f"- `{i}`" for i in islice(self.removed, limit))
            yield from more(len(self.removed))
        if self.changed:
            yield from ("", "### Changed", "")
            for ch in islice(self.changed, limit):
                yield f"- `{ch.id}`: {ch.summary()}"
                if details:
                    yield from (f"    - `{d}`" for d in ch.details())
            yield from more(len(self.changed))


class _Pairs:
    """``(key, value)`` pairs of a JSON object that :func:`_json_lines` writes as they
    come (an iterator stands for a list)."""

    def __init__(self, pairs: Iterable[tuple[str, Any]]) -> None:
        self.pairs = pairs


def _json_lines(value: Any, depth: int = 0) -> Iterator[str]:
    """The lines of ``json.dumps(value, ensure_ascii=False, indent=2)`` at ``depth``
    levels in (every line but the first carries its indentation), where an iterator is a
    list and :class:`_Pairs` an object, each read once as it is written."""
    if isinstance(value, _Pairs):
        pairs = ((json.dumps(k, ensure_ascii=False) + ": ", v) for k, v in value.pairs)
        brackets = "{}"
    elif isinstance(value, Iterator):
        pairs = (("", v) for v in value)
        brackets = "[]"
    elif isinstance(value, dict) and any(isinstance(v, Iterator | _Pairs) for v in value.values()):
        pairs = ((json.dumps(k, ensure_ascii=False) + ": ", v) for k, v in value.items())
        brackets = "{}"
    else:  # written whole; only a string holds a newline, and json escapes it
        first, *rest = json.dumps(value, ensure_ascii=False, indent=2).split("\n")
        yield first
        yield from (_INDENT * depth + line for line in rest)
        return
    pad = _INDENT * (depth + 1)
    held: str | None = None  # an item's last line: its comma depends on what follows
    for prefix, v in pairs:
        if held is None:
            yield brackets[0]
        else:
            yield held + ","
        held = None
        for k, line in enumerate(_json_lines(v, depth + 1)):
            if held is not None:
                yield held
            held = pad + prefix + line if k == 0 else line
    if held is None:
        yield brackets
        return
    yield held
    yield _INDENT * depth + brackets[1]


_INDENT = "  "


def diff_documents(
    old: Mapping[str, tuple[Document, str]],
    new: Mapping[str, tuple[Document, str]],
    *,
    schema: tuple[str, ...] = (),
    old_label: str = "",
    new_label: str = "",
) -> Changes:
    """Compare ``{id: (document, split)}`` maps; ids are the identity of an article."""
    pairs = ((*old[i], *new[i]) for i in set(old) & set(new))
    return diff_pairs(
        pairs,
        added=set(new) - set(old),
        removed=set(old) - set(new),
        schema=schema,
        old_label=old_label,
        new_label=new_label,
    )


def diff_pairs(
    pairs: Iterable[tuple[Document, str, Document, str]],
    *,
    added: Iterable[str] = (),
    removed: Iterable[str] = (),
    schema: tuple[str, ...] = (),
    old_label: str = "",
    new_label: str = "",
) -> Changes:
    """Changes from ``(old document, old split, new document, new split)`` of the articles
    in both sets, in any order (each read once, so they may stream from disk); ``added``
    and ``removed`` are the ids in only one of them. Only changed articles are kept, on
    disk (:class:`~curate.compact.SpilledObjects`: memory holds their ids)."""
    changed = SpilledObjects()
    unchanged = 0
    counts: dict[str, int] = defaultdict(int)
    for a, split_a, b, split_b in pairs:
        ch = diff_article(a, b)
        if split_a != split_b:
            ch = ArticleChange(**{**ch.__dict__, "split": (split_a, split_b)})
        if ch.changed:
            changed.append(ch, ch.id)
            for key in (
                "entities_added",
                "entities_removed",
                "entities_relabelled",
                "entities_moved",
            ):
                counts[key] += len(getattr(ch, key))
            for key in ("quotes_added", "quotes_removed", "quotes_changed"):
                counts[key] += len(getattr(ch, key))
        else:
            unchanged += 1
    return Changes(
        added if isinstance(added, StringList | SpilledStrings) else tuple(sorted(added)),
        removed if isinstance(removed, StringList | SpilledStrings) else tuple(sorted(removed)),
        changed.sorted_by_key(),
        unchanged,
        tuple(schema),
        old_label,
        new_label,
        counts,
    )


def diff_stream(
    old: Iterable[tuple[str, Document]],
    new: SpilledMap,
    released: Callable[[Any], tuple[Document, str]],
    *,
    schema: tuple[str, ...] = (),
    old_label: str = "",
    new_label: str = "",
) -> Changes:
    """Changes from ``(split, document)`` of the older set, read once as they come, to a
    newer set held on disk: ``new`` (sealed) maps each of its ids to what ``released``
    turns into its document and split. Memory does not grow with either set: the newer
    one is looked up by id in its temporary database, the ids added and removed are
    sorted on disk (:class:`~curate.compact.SpilledStrings`), the changed articles go to
    disk (:func:`diff_pairs`)."""
    removed: list[str] = []
    removed_runs: list[SpilledStrings] = []

    def pairs() -> Iterator[tuple[Document, str, Document, str]]:
        for split, doc in old:
            stored = new.take(doc.id)
            if stored is None:
                removed.append(doc.id)
                if len(removed) >= SpilledStrings.STEP:
                    removed_runs.append(SpilledStrings(removed))
                    removed.clear()
                continue
            now, now_split = released(stored)
            yield doc, split, now, now_split

    changes = diff_pairs(pairs(), schema=schema, old_label=old_label, new_label=new_label)
    gone = sorted_spilled(chain(*removed_runs, removed))
    return replace(changes, added=SpilledStrings(new.unseen_keys()), removed=gone)


def diff(a: str | Path, b: str | Path, root: str | Path = settings.GOLD_ROOT) -> Changes:
    """What changed from version ``a`` to version ``b`` (folders, names or ``name@X.Y.Z``).

    Streamed: ``b``'s documents go to a temporary database by id, then ``a`` is read a
    batch at a time against them (:func:`diff_stream`): memory does not grow with them."""
    fa, fb = resolve(a, None, root), resolve(b, None, root)
    ma, mb = read_manifest(fa), read_manifest(fb)
    new = SpilledMap()
    try:
        for split, doc in iter_version(fb):
            new.add(doc.id, (doc, split))
        new.seal()  # a version's ids are unique (its release checked them)
        return diff_stream(
            iter_version(fa),
            new,
            _as_stored,
            schema=tuple(schema_changes(ma["label_schema"], mb["label_schema"])),
            old_label=f"{ma['name']} {ma['version']}",
            new_label=f"{mb['name']} {mb['version']}",
        )
    finally:
        new.close()


def _as_stored(item: tuple[Document, str]) -> tuple[Document, str]:
    return item

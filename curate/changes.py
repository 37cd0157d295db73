"""What changed between two annotations of one article: the one span diff in curate.

Used by the gold changelog (``curate.gold.diff``) and by the correction report of a pull
(``curate.studio.corrections``), which diffs each annotation against its prediction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from curate.model import Annotation, Document, Entity, Provenance, Quote, Span

T = TypeVar("T", Entity, Quote)


@dataclass(frozen=True)
class ArticleChange:
    """How one article present in both sets changed."""

    id: str
    text_changed: bool = False
    entities_added: tuple[Entity, ...] = ()
    entities_removed: tuple[Entity, ...] = ()
    entities_relabelled: tuple[tuple[Entity, Entity], ...] = ()
    entities_moved: tuple[tuple[Entity, Entity], ...] = ()
    quotes_added: tuple[Quote, ...] = ()
    quotes_removed: tuple[Quote, ...] = ()
    quotes_changed: tuple[tuple[Quote, Quote, tuple[str, ...]], ...] = ()
    split: tuple[str, str] | None = None
    meta_changed: bool = False
    source_changed: bool = False

    @property
    def spans_changed(self) -> bool:
        return bool(
            self.text_changed
            or self.entities_added
            or self.entities_removed
            or self.entities_relabelled
            or self.entities_moved
            or self.quotes_added
            or self.quotes_removed
            or self.quotes_changed
        )

    @property
    def changed(self) -> bool:
        return self.spans_changed or self.meta_changed or self.source_changed or bool(self.split)

    def summary(self) -> str:
        """One line: ``+2 entities, -1 entity, 1 relabelled, quote kind changed...``."""
        parts: list[str] = []
        if self.text_changed:
            parts.append("text changed")
        for n, what in (
            (len(self.entities_added), "entity added"),
            (len(self.entities_removed), "entity removed"),
            (len(self.entities_relabelled), "entity relabelled"),
            (len(self.entities_moved), "entity moved"),
            (len(self.quotes_added), "quote added"),
            (len(self.quotes_removed), "quote removed"),
            (len(self.quotes_changed), "quote changed"),
        ):
            if n:
                noun, verb = what.split(" ")
                parts.append(f"{n} {noun if n == 1 else _plural(noun)} {verb}")
        if self.split:
            parts.append(f"moved {self.split[0]} -> {self.split[1]}")
        if self.meta_changed:
            parts.append("metadata changed")
        if self.source_changed:
            parts.append("provenance changed")
        return ", ".join(parts)

    def details(self) -> list[str]:
        """One line per span change, for the changelog and ``curate diff -v``."""
        out = [f"+ {e.label} {e.start}:{e.end} {e.text!r}" for e in self.entities_added]
        out += [f"- {e.label} {e.start}:{e.end} {e.text!r}" for e in self.entities_removed]
        out += [
            f"~ {a.label} -> {b.label} {a.start}:{a.end} {a.text!r}"
            for a, b in self.entities_relabelled
        ]
        out += [
            f"~ {a.label} {a.start}:{a.end} -> {b.label} {b.start}:{b.end} {b.text!r}"
            for a, b in self.entities_moved
        ]
        out += [f"+ quote {q.start}:{q.end} {_short(q.text)}" for q in self.quotes_added]
        out += [f"- quote {q.start}:{q.end} {_short(q.text)}" for q in self.quotes_removed]
        for a, b, fields in self.quotes_changed:
            changes = ", ".join(
                f"{f} {_part(getattr(a, f))} -> {_part(getattr(b, f))}" for f in fields
            )
            out.append(f"~ quote {a.start}:{a.end} {changes}")
        return out


def diff_article(a: Document, b: Document, *, moved: bool = False) -> ArticleChange:
    """The span-level changes from ``a`` to ``b`` (two versions of one article).

    Entities pair by offsets (another label = relabelled) and quotes by their covering
    span (another kind, fragments, speaker, cue or speaker entity = changed). With
    ``moved``, what is left then pairs by overlap, most overlap first: an entity whose
    boundary moved is ``entities_moved`` and a quote whose content moved is changed in
    ``content``, rather than one removed and one added. This is the one diff of two
    annotations: the changelog uses it without ``moved``, the correction report with it.
    """
    ea, eb = _by_offsets(a.entities), _by_offsets(b.entities)
    added: list[Entity] = []
    removed: list[Entity] = []
    relabelled: list[tuple[Entity, Entity]] = []
    for key in sorted(set(ea) | set(eb)):
        la, lb = ea.get(key, []), eb.get(key, [])
        only_a = [e for e in la if e.label not in {x.label for x in lb}]
        only_b = [e for e in lb if e.label not in {x.label for x in la}]
        if len(only_a) == 1 and len(only_b) == 1:
            relabelled.append((only_a[0], only_b[0]))
        else:
            removed += only_a
            added += only_b
    entities_moved: list[tuple[Entity, Entity]] = []
    if moved:
        entities_moved, removed, added = _pair_by_overlap(removed, added, lambda e: [e])
    qa = {(q.start, q.end): q for q in a.quotes}
    qb = {(q.start, q.end): q for q in b.quotes}
    q_changed = []
    for key in sorted(set(qa) & set(qb)):
        fields = _quote_fields(qa[key], qb[key])
        if fields:
            q_changed.append((qa[key], qb[key], fields))
    q_removed = [qa[k] for k in sorted(set(qa) - set(qb))]
    q_added = [qb[k] for k in sorted(set(qb) - set(qa))]
    if moved:
        pairs, q_removed, q_added = _pair_by_overlap(q_removed, q_added, lambda q: q.fragments)
        q_changed += [
            (x, y, ("content", *(f for f in _quote_fields(x, y) if f != "fragments")))
            for x, y in pairs
        ]
        q_changed.sort(key=lambda c: (c[0].start, c[0].end))
    return ArticleChange(
        id=b.id,
        text_changed=a.text != b.text,
        entities_added=tuple(added),
        entities_removed=tuple(removed),
        entities_relabelled=tuple(relabelled),
        entities_moved=tuple(entities_moved),
        quotes_added=tuple(q_added),
        quotes_removed=tuple(q_removed),
        quotes_changed=tuple(q_changed),
        meta_changed=dict(a.meta) != dict(b.meta),
        source_changed=_article_source(a.provenance) != _article_source(b.provenance),
    )


_QUOTE_FIELDS = ("fragments", "kind", "speaker", "cue", "speaker_entity")


def _quote_fields(a: Quote, b: Quote) -> tuple[str, ...]:
    return tuple(f for f in _QUOTE_FIELDS if getattr(a, f) != getattr(b, f))


def _pair_by_overlap(
    old: list[T], new: list[T], spans: Callable[[T], Sequence[Any]]
) -> tuple[list[tuple[T, T]], list[T], list[T]]:
    """Pairs of ``old`` and ``new`` items that overlap, most overlapping first; the rest."""
    cands = sorted(
        (
            -sum(
                max(0, min(x.end, y.end) - max(x.start, y.start))
                for x in spans(o)
                for y in spans(n)
            ),
            i,
            j,
        )
        for i, o in enumerate(old)
        for j, n in enumerate(new)
    )
    used_i: set[int] = set()
    used_j: set[int] = set()
    pairs: list[tuple[T, T]] = []
    for score, i, j in cands:
        if score < 0 and i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.append((old[i], new[j]))
    rest_old = [o for i, o in enumerate(old) if i not in used_i]
    rest_new = [n for j, n in enumerate(new) if j not in used_j]
    return pairs, rest_old, rest_new


def _by_offsets(entities: tuple[Entity, ...]) -> dict[tuple[int, int], list[Entity]]:
    out: dict[tuple[int, int], list[Entity]] = defaultdict(list)
    for e in entities:
        out[(e.start, e.end)].append(e)
    return out


def _plural(noun: str) -> str:
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def _short(text: str, n: int = 40) -> str:
    return repr(text if len(text) <= n else text[: n - 1] + "…")


def _part(v: Any) -> str:
    if isinstance(v, Span):
        return f"{v.start}:{v.end} {v.text!r}"
    if isinstance(v, tuple):  # fragments
        return " + ".join(f"{f.start}:{f.end}" for f in v)
    return "none" if v is None else str(v)


def _article_source(prov: Provenance | None) -> Provenance | None:
    # Fields that describe the pull, not the article: a new snapshot of an untouched task
    # must not make the article look changed.
    if isinstance(prov, Annotation):
        return replace(prov, snapshot=None, project_id=None, project_title=None)
    return prov

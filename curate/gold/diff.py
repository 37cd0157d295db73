"""What changed between two sets of gold documents: articles and, inside them, spans.

The same computation feeds the changelog written with each version and ``curate diff``.
Entities are matched by offsets (same offsets, other label = relabelled), quotes by
their content offsets (same offsets, other kind/speaker/cue = changed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from curate import settings
from curate.gold.features import schema_changes
from curate.gold.load import read_version
from curate.gold.manifest import read_manifest
from curate.gold.version import resolve
from curate.model import Annotation, Document, Entity, Provenance, Quote, Span


@dataclass(frozen=True)
class ArticleChange:
    """How one article present in both sets changed."""

    id: str
    text_changed: bool = False
    entities_added: tuple[Entity, ...] = ()
    entities_removed: tuple[Entity, ...] = ()
    entities_relabelled: tuple[tuple[Entity, Entity], ...] = ()
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
        out += [f"+ quote {q.start}:{q.end} {_short(q.text)}" for q in self.quotes_added]
        out += [f"- quote {q.start}:{q.end} {_short(q.text)}" for q in self.quotes_removed]
        for a, b, fields in self.quotes_changed:
            changes = ", ".join(
                f"{f} {_part(getattr(a, f))} -> {_part(getattr(b, f))}" for f in fields
            )
            out.append(f"~ quote {a.start}:{a.end} {changes}")
        return out


@dataclass(frozen=True)
class Changes:
    """The difference between an older and a newer set of gold documents."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[ArticleChange, ...] = ()
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.old_label,
            "to": self.new_label,
            "schema": list(self.schema),
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": {
                c.id: {"summary": c.summary(), "details": c.details()} for c in self.changed
            },
            "unchanged": self.unchanged,
            "span_counts": dict(self.counts),
        }

    def to_markdown(self, *, details: bool = True) -> str:
        lines = [f"Changes from {self.old_label or 'nothing'} to {self.new_label}:", ""]
        if self.empty:
            return lines[0] + " none.\n"
        if self.schema:
            lines.append("- label schema changed: " + "; ".join(self.schema))
        c = self.counts
        lines.append(
            f"- articles: {len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} changed, {self.unchanged} unchanged"
        )
        lines.append(
            f"- spans: {c.get('entities_added', 0)} entities added, "
            f"{c.get('entities_removed', 0)} removed, "
            f"{c.get('entities_relabelled', 0)} relabelled; "
            f"{c.get('quotes_added', 0)} quotes added, {c.get('quotes_removed', 0)} removed, "
            f"{c.get('quotes_changed', 0)} changed"
        )
        if self.added:
            lines += ["", "### Added", "", *[f"- `{i}`" for i in self.added]]
        if self.removed:
            lines += ["", "### Removed", "", *[f"- `{i}`" for i in self.removed]]
        if self.changed:
            lines += ["", "### Changed", ""]
            for ch in self.changed:
                lines.append(f"- `{ch.id}`: {ch.summary()}")
                if details:
                    lines += [f"    - `{d}`" for d in ch.details()]
        return "\n".join(lines) + "\n"


def diff_documents(
    old: Mapping[str, tuple[Document, str]],
    new: Mapping[str, tuple[Document, str]],
    *,
    schema: tuple[str, ...] = (),
    old_label: str = "",
    new_label: str = "",
) -> Changes:
    """Compare ``{id: (document, split)}`` maps; ids are the identity of an article."""
    added = tuple(sorted(set(new) - set(old)))
    removed = tuple(sorted(set(old) - set(new)))
    changed: list[ArticleChange] = []
    unchanged = 0
    counts: dict[str, int] = defaultdict(int)
    for doc_id in sorted(set(old) & set(new)):
        (a, split_a), (b, split_b) = old[doc_id], new[doc_id]
        ch = diff_article(a, b)
        if split_a != split_b:
            ch = ArticleChange(**{**ch.__dict__, "split": (split_a, split_b)})
        if ch.changed:
            changed.append(ch)
            for key in ("entities_added", "entities_removed", "entities_relabelled"):
                counts[key] += len(getattr(ch, key))
            for key in ("quotes_added", "quotes_removed", "quotes_changed"):
                counts[key] += len(getattr(ch, key))
        else:
            unchanged += 1
    return Changes(
        added, removed, tuple(changed), unchanged, tuple(schema), old_label, new_label, counts
    )


def diff_article(a: Document, b: Document) -> ArticleChange:
    """The span-level changes from ``a`` to ``b`` (two versions of one article)."""
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
    qa = {(q.start, q.end): q for q in a.quotes}
    qb = {(q.start, q.end): q for q in b.quotes}
    q_changed = []
    for key in sorted(set(qa) & set(qb)):
        fields = tuple(
            f
            for f in ("kind", "speaker", "cue", "speaker_entity")
            if getattr(qa[key], f) != getattr(qb[key], f)
        )
        if fields:
            q_changed.append((qa[key], qb[key], fields))
    return ArticleChange(
        id=b.id,
        text_changed=a.text != b.text,
        entities_added=tuple(added),
        entities_removed=tuple(removed),
        entities_relabelled=tuple(relabelled),
        quotes_added=tuple(qb[k] for k in sorted(set(qb) - set(qa))),
        quotes_removed=tuple(qa[k] for k in sorted(set(qa) - set(qb))),
        quotes_changed=tuple(q_changed),
        meta_changed=dict(a.meta) != dict(b.meta),
        source_changed=_article_source(a.provenance) != _article_source(b.provenance),
    )


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
    return "none" if v is None else str(v)


def diff(a: str | Path, b: str | Path, root: str | Path = settings.GOLD_ROOT) -> Changes:
    """What changed from version ``a`` to version ``b`` (folders, names or ``name@X.Y.Z``)."""
    fa, fb = resolve(a, None, root), resolve(b, None, root)
    ma, mb = read_manifest(fa), read_manifest(fb)
    old = {d.id: (d, s) for s, docs in read_version(fa).items() for d in docs}
    new = {d.id: (d, s) for s, docs in read_version(fb).items() for d in docs}
    return diff_documents(
        old,
        new,
        schema=tuple(schema_changes(ma["label_schema"], mb["label_schema"])),
        old_label=f"{ma['name']} {ma['version']}",
        new_label=f"{mb['name']} {mb['version']}",
    )


def _article_source(prov: Provenance | None) -> Provenance | None:
    # Fields that describe the pull, not the article: a new snapshot of an untouched task
    # must not make the article look changed.
    if isinstance(prov, Annotation):
        return replace(prov, snapshot=None, project_id=None, project_title=None)
    return prov

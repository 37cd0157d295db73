"""The data model every stage speaks: articles, entity spans and quotes.

Offsets are character offsets into ``Article.text``: Python code points, end exclusive,
the convention of spaCy's ``start_char``/``end_char`` and Label Studio's
``value.start``/``value.end``. Every span stores its text and is checked against
``text[start:end]`` when a :class:`Document` is built, so a bad span fails loudly at the
edge where it enters instead of corrupting the gold set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from curate.errors import SpanError

QuoteKind = Literal["direct", "indirect", "mixed"]
QUOTE_KINDS: tuple[str, ...] = ("direct", "indirect", "mixed")


def content_hash(text: str) -> str:
    """Stable hash of an article text (sha256 of its UTF-8 bytes, first 16 hex digits)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of article text: ``text[start:end] == self.text``."""

    start: int
    end: int
    text: str

    def check(self, text: str, where: str) -> None:
        _check_span(self.start, self.end, self.text, text, where)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Span:
        return cls(int(d["start"]), int(d["end"]), str(d["text"]))

    @classmethod
    def of(cls, text: str, start: int, end: int) -> Span:
        """The span ``start:end`` of ``text``, its text filled in."""
        return cls(start, end, text[start:end])


@dataclass(frozen=True, slots=True)
class Entity:
    """A named-entity mention with its label (a label of the Label Studio config)."""

    start: int
    end: int
    label: str
    text: str

    def check(self, text: str, where: str) -> None:
        _check_span(self.start, self.end, self.text, text, where)
        if not self.label:
            raise SpanError(f"{where}: entity {self.start}:{self.end} has no label")

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label, "text": self.text}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Entity:
        return cls(int(d["start"]), int(d["end"]), str(d["label"]), str(d["text"]))

    @classmethod
    def of(cls, text: str, start: int, end: int, label: str) -> Entity:
        return cls(start, end, label, text[start:end])


@dataclass(frozen=True, slots=True)
class Quote:
    """A quote: its content, how it is quoted, who said it and the cue word.

    The content is one or more ``fragments`` (spans in text order, neither overlapping nor
    touching): ``“A,” he said, “B.”`` has the two fragments ``“A,”`` and ``“B.”``, and the
    text between them (``he said,``) is not content. ``start``/``end``/``text`` are the
    covering span, from the first fragment's start to the last one's end, so code that
    knows nothing of fragments still sees where the quote is. Without ``fragments`` the
    quote has one fragment, its covering span; :meth:`of_fragments` builds a quote from
    fragment offsets.

    ``speaker`` is the mention in the text (``he``, ``the NSC spokesperson``);
    ``speaker_entity`` is the named mention it refers to where the article names one
    (``Dmitry Peskov``), which may be the same span as the speaker.
    """

    start: int
    end: int
    text: str
    kind: str = "direct"
    speaker: Span | None = None
    cue: Span | None = None
    speaker_entity: Span | None = None
    fragments: tuple[Span, ...] = ()

    def __post_init__(self) -> None:
        if not self.fragments:
            object.__setattr__(self, "fragments", (Span(self.start, self.end, self.text),))
        else:
            object.__setattr__(
                self, "fragments", tuple(sorted(self.fragments, key=lambda f: (f.start, f.end)))
            )

    @classmethod
    def of_fragments(
        cls,
        text: str,
        fragments: Sequence[tuple[int, int]],
        kind: str = "direct",
        speaker: Span | None = None,
        cue: Span | None = None,
        speaker_entity: Span | None = None,
    ) -> Quote:
        """The quote whose content is ``fragments`` (``(start, end)`` pairs) of ``text``.

        Overlapping or touching fragments are joined into one; the covering span is
        filled in. Raises :class:`SpanError` when no fragment is given.
        """
        merged: list[list[int]] = []
        for s, e in sorted(fragments):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        if not merged:
            raise SpanError("a quote needs at least one content fragment")
        start, end = merged[0][0], merged[-1][1]
        spans = tuple(Span.of(text, s, e) for s, e in merged)
        return cls(start, end, text[start:end], kind, speaker, cue, speaker_entity, spans)

    @property
    def content(self) -> Span:
        """The covering span (first fragment's start to last fragment's end)."""
        return Span(self.start, self.end, self.text)

    @property
    def discontinuous(self) -> bool:
        """True when the content has more than one fragment."""
        return len(self.fragments) > 1

    @property
    def offsets(self) -> tuple[tuple[int, int], ...]:
        """The fragments as ``(start, end)`` pairs, in text order."""
        return tuple((f.start, f.end) for f in self.fragments)

    def check(self, text: str, where: str) -> None:
        _check_span(self.start, self.end, self.text, text, where)
        if self.kind not in QUOTE_KINDS:
            raise SpanError(
                f"{where}: quote {self.start}:{self.end} has kind {self.kind!r}; "
                f"use one of {', '.join(QUOTE_KINDS)}"
            )
        frags = self.fragments
        for f in frags:
            f.check(text, f"{where} fragment of quote {self.start}:{self.end}")
        if frags[0].start != self.start or frags[-1].end != self.end:
            raise SpanError(
                f"{where}: quote {self.start}:{self.end} does not cover its fragments "
                f"{_offsets(frags)}; start/end must run from the first fragment to the last"
            )
        if any(a.end >= b.start for a, b in zip(frags, frags[1:], strict=False)):
            raise SpanError(
                f"{where}: quote {self.start}:{self.end} has overlapping or touching "
                f"fragments {_offsets(frags)}; join them into one"
            )
        for name in ("speaker", "cue", "speaker_entity"):
            part = getattr(self, name)
            if part is not None:
                part.check(text, f"{where} {name} of quote {self.start}:{self.end}")

    def to_dict(self) -> dict[str, Any]:
        """The JSONL form; ``fragments`` is written only for a discontinuous quote."""
        d: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "kind": self.kind,
            "speaker": self.speaker.to_dict() if self.speaker else None,
            "speaker_entity": self.speaker_entity.to_dict() if self.speaker_entity else None,
            "cue": self.cue.to_dict() if self.cue else None,
        }
        if self.discontinuous:
            d["fragments"] = [f.to_dict() for f in self.fragments]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Quote:
        def part(name: str) -> Span | None:
            v = d.get(name)
            return Span.from_dict(v) if v else None

        return cls(
            int(d["start"]),
            int(d["end"]),
            str(d["text"]),
            str(d.get("kind") or "direct"),
            part("speaker"),
            part("cue"),
            part("speaker_entity"),
            tuple(Span.from_dict(f) for f in d.get("fragments") or ()),
        )


@dataclass(frozen=True, slots=True)
class Article:
    """An article as ingested: id, text and free-form metadata (title, source, date...)."""

    id: str
    text: str
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return content_hash(self.text)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "meta": dict(self.meta), "hash": self.hash}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Article:
        return cls(str(d["id"]), str(d["text"]), dict(d.get("meta") or {}))


@dataclass(frozen=True, slots=True)
class Document:
    """An article with its entities and quotes, from an extractor or from people.

    ``source`` says where the annotations came from: for predictions the extractor
    names and versions (``{"model_version": ...}``), for gold the Label Studio task and
    annotation ids, annotators and timestamps. Built documents are always valid.
    """

    id: str
    text: str
    entities: tuple[Entity, ...] = ()
    quotes: tuple[Quote, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", tuple(sorted(self.entities, key=_entity_key)))
        object.__setattr__(self, "quotes", tuple(sorted(self.quotes, key=_quote_key)))
        self.validate()

    def validate(self) -> None:
        where = f"article {self.id!r}"
        if not self.id:
            raise SpanError("an article has an empty id; give every article a unique id")
        for e in self.entities:
            e.check(self.text, where)
        for q in self.quotes:
            q.check(self.text, where)

    @property
    def article(self) -> Article:
        return Article(self.id, self.text, self.meta)

    @property
    def hash(self) -> str:
        return content_hash(self.text)

    def with_(self, **changes: Any) -> Document:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "meta": dict(self.meta),
            "entities": [e.to_dict() for e in self.entities],
            "quotes": [q.to_dict() for q in self.quotes],
            "source": dict(self.source),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Document:
        return cls(
            id=str(d["id"]),
            text=str(d["text"]),
            entities=tuple(Entity.from_dict(e) for e in d.get("entities") or ()),
            quotes=tuple(Quote.from_dict(q) for q in d.get("quotes") or ()),
            meta=dict(d.get("meta") or {}),
            source=dict(d.get("source") or {}),
        )

    @classmethod
    def from_article(cls, article: Article, **kw: Any) -> Document:
        return cls(id=article.id, text=article.text, meta=article.meta, **kw)


def _entity_key(e: Entity) -> tuple[int, int, str]:
    return (e.start, e.end, e.label)


def _quote_key(q: Quote) -> tuple[int, int]:
    return (q.start, q.end)


def _offsets(spans: Sequence[Span]) -> str:
    return ", ".join(f"{f.start}:{f.end}" for f in spans)


def _check_span(start: int, end: int, stored: str, text: str, where: str) -> None:
    if not (isinstance(start, int) and isinstance(end, int)):
        raise SpanError(f"{where}: span offsets {start!r}:{end!r} are not integers")
    if not 0 <= start < end <= len(text):
        raise SpanError(
            f"{where}: span {start}:{end} is empty or outside the text (length {len(text)})"
        )
    if text[start:end] != stored:
        raise SpanError(
            f"{where}: span {start}:{end} stores {stored!r} but the text there is "
            f"{text[start:end]!r}; offsets are code points, end exclusive"
        )

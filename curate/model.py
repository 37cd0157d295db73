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
class Prediction:
    """Where a model's output came from: a suggestion, never gold.

    ``model_version`` is the string Label Studio shows with the prediction and the key
    corrections are counted by (``en_core_web_sm-3.8.0+curate.entities.v1+curate.quotes.v6``);
    ``extractors`` are the registered names that made it, ``model`` the spaCy model and its
    version, ``score`` the model's confidence in [0, 1] where it has one.
    ``entity_precision`` is the model's precision per config entity label as its package
    measured it; Label Studio shows it as each entity region's score. ``order`` names the
    active-learning order ``score`` was computed for (``uncertainty``, ``disagreement``).
    """

    model_version: str
    extractors: tuple[str, ...] = ()
    model: str | None = None
    score: float | None = None
    entity_precision: Mapping[str, float] = field(default_factory=dict)
    order: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model_version": self.model_version}
        if self.extractors:
            out["extractors"] = list(self.extractors)
        if self.model is not None:
            out["model"] = self.model
        if self.score is not None:
            out["score"] = self.score
        if self.entity_precision:
            out["entity_precision"] = dict(self.entity_precision)
        if self.order is not None:
            out["order"] = self.order
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Prediction:
        score = d.get("score")
        mv = d.get("model_version")
        if isinstance(mv, Mapping):  # hand-made files name several parts
            mv = ",".join(f"{k}={v}" for k, v in sorted(mv.items()))
        return cls(
            model_version=str(mv or ""),
            extractors=tuple(str(x) for x in d.get("extractors") or ()),
            model=_opt_str(d.get("model")),
            score=float(score) if isinstance(score, int | float) else None,
            entity_precision={
                str(k): float(v)
                for k, v in (d.get("entity_precision") or {}).items()
                if isinstance(v, int | float)
            },
            order=_opt_str(d.get("order")),
        )


@dataclass(frozen=True, slots=True)
class Adjudication:
    """Who settled a conflict between annotators, when, in which review task, and from
    which of the task's annotations (their Label Studio ids)."""

    by: str
    at: str | None = None
    review_task_id: int | None = None
    review_annotation_id: int | None = None
    from_annotation_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Annotation:
    """Who made an annotation, in which Label Studio task and when: a person's work.

    One annotation has one annotator and one id; gold chosen from several annotations of a
    task lists all of them (``selection`` says how it was chosen, ``merged`` when they
    agreed, ``adjudicated`` when a reviewer settled a conflict: ``adjudication`` says who,
    when and from which annotations. ``model_version`` is the prediction the
    annotator corrected, if any. ``other_annotators`` annotated the same article but their
    work was not used (a brat import keeps the first annotator's). ``origin`` is ``brat``
    for imported files, None for Label Studio. ``extra`` keeps what else the source
    recorded (the brat file, discontinuous content), verbatim.
    """

    annotators: tuple[str, ...] = ()
    annotation_ids: tuple[int, ...] = ()
    task_id: int | None = None
    project_id: int | None = None
    project_title: str | None = None
    snapshot: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    ground_truth: bool = False
    lead_time: float | None = None
    selection: str | None = None
    model_version: str | None = None
    adjudication: Adjudication | None = None
    other_annotators: tuple[str, ...] = ()
    origin: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def annotator(self) -> str:
        """Who made the annotation ("" when unknown); the first for merged gold."""
        return self.annotators[0] if self.annotators else ""

    @property
    def project(self) -> str | None:
        """The project's title, else its id as a string."""
        if self.project_title:
            return self.project_title
        return None if self.project_id is None else str(self.project_id)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        for key, value in (
            ("annotators", list(self.annotators)),
            ("annotation_ids", list(self.annotation_ids)),
            ("task_id", self.task_id),
            ("project_id", self.project_id),
            ("project_title", self.project_title),
            ("snapshot_id", self.snapshot),
            ("created_at", self.created_at),
            ("updated_at", self.updated_at),
            ("ground_truth", self.ground_truth or None),
            ("lead_time", self.lead_time),
            ("selection", self.selection),
            ("model_version", self.model_version),
            ("other_annotators", list(self.other_annotators)),
            ("format", self.origin),
        ):
            if value not in (None, []):
                out[key] = value
        adj = self.adjudication
        if adj is not None:
            out["adjudicated_by"] = adj.by
            for key, value in (
                ("adjudicated_at", adj.at),
                ("review_task_id", adj.review_task_id),
                ("review_annotation_id", adj.review_annotation_id),
            ):
                if value is not None:
                    out[key] = value
            out["from_annotation_ids"] = list(adj.from_annotation_ids)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Annotation:
        """Read the current shape and the older ones (``annotator``, ``annotation_id``,
        ``completed_by``, ``project``, ``snapshot``, ``timestamps``, ``annotations``)."""
        anns = [a for a in d.get("annotations") or () if isinstance(a, Mapping)]
        people = _as_list(_first(d, "annotators", "annotator", "completed_by"))
        if not people:
            people = [a.get("completed_by") or a.get("annotator") for a in anns]
        ids = _as_list(_first(d, "annotation_ids", "annotation_id"))
        if not ids:
            ids = [a.get("id") for a in anns]
        stamps: Mapping[str, Any] = d.get("timestamps") or {}
        stamps = stamps if isinstance(stamps, Mapping) else {}
        created = _first(d, "created_at") or stamps.get("created_at")
        updated = _first(d, "updated_at") or stamps.get("updated_at")
        if not created:
            created = [a["created_at"] for a in anns if a.get("created_at")]
        if not updated:
            updated = [a["updated_at"] for a in anns if a.get("updated_at")]
        title = _first(d, "project_title")
        project = _first(d, "project")
        project_id = _opt_int(_first(d, "project_id"))
        if title is None and project is not None:
            title, project_id = (
                (None, project) if isinstance(project, int) else (project, project_id)
            )
        lead = d.get("lead_time")
        return cls(
            annotators=tuple(_person(p) for p in people if p not in (None, "")),
            annotation_ids=_ids(ids),
            task_id=_opt_int(_first(d, "task_id", "task")),
            project_id=project_id,
            project_title=_opt_str(title),
            snapshot=_opt_str(_first(d, "snapshot_id", "snapshot")),
            created_at=_opt_str(_earliest(created)),
            updated_at=_opt_str(_latest(updated)),
            ground_truth=bool(d.get("ground_truth")),
            lead_time=None if lead is None else float(lead),
            selection=_opt_str(d.get("selection")),
            model_version=_opt_str(_first(d, "model_version", "prediction_model_version")),
            adjudication=_adjudication(d),
            other_annotators=tuple(str(p) for p in _as_list(d.get("other_annotators"))),
            origin=_opt_str(d.get("format")),
            extra={k: v for k, v in d.items() if k not in _ANNOTATION_KEYS},
        )


Provenance = Prediction | Annotation
# Keys only a person's work has: a source with one of them is an Annotation.
_PERSON_KEYS = frozenset(
    [
        "annotators",
        "annotator",
        "completed_by",
        "annotations",
        "annotation_ids",
        "annotation_id",
        "task_id",
        "task",
        "selection",
        "adjudicated_by",
        "format",
    ]
)
# Keys an Annotation reads (current and older shapes); anything else is kept in ``extra``.
_ANNOTATION_KEYS = _PERSON_KEYS | frozenset(
    [
        "project_id",
        "project_title",
        "project",
        "snapshot_id",
        "snapshot",
        "created_at",
        "updated_at",
        "timestamps",
        "ground_truth",
        "lead_time",
        "model_version",
        "prediction_model_version",
        "adjudicated_at",
        "review_task_id",
        "review_annotation_id",
        "from_annotation_ids",
        "other_annotators",
    ]
)


def provenance_from_dict(d: Mapping[str, Any] | None) -> Provenance | None:
    """The typed provenance of a ``source`` dict as curate writes it, old shapes included.

    A dict naming an annotator, annotation or task is an :class:`Annotation`; else one with
    a ``model_version`` is a :class:`Prediction` (older files' ``dropped_entities`` are
    ignored); an empty one is None. Other dicts (a hand-made file's own keys) become an
    Annotation keeping them in ``extra``.
    """
    if not d:
        return None
    if _PERSON_KEYS.isdisjoint(d) and d.get("model_version"):
        return Prediction.from_dict(d)
    return Annotation.from_dict(d)


def _adjudication(d: Mapping[str, Any]) -> Adjudication | None:
    if d.get("adjudicated_by") in (None, ""):
        return None
    return Adjudication(
        by=_person(d["adjudicated_by"]),
        at=_opt_str(d.get("adjudicated_at")),
        review_task_id=_opt_int(d.get("review_task_id")),
        review_annotation_id=_opt_int(d.get("review_annotation_id")),
        from_annotation_ids=_ids(d.get("from_annotation_ids")),
    )


def _ids(v: Any) -> tuple[int, ...]:
    return tuple(i for i in map(_opt_int, _as_list(v)) if i is not None)


def _first(d: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if d.get(k) not in (None, "", []):
            return d[k]
    return None


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list | tuple) else [v]


def _opt_int(v: Any) -> int | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)


def _person(p: Any) -> str:
    if isinstance(p, Mapping):  # Label Studio user objects: a stable handle, never a token
        return str(p.get("email") or p.get("username") or p.get("id"))
    return str(p)


def _earliest(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return min(map(str, v)) if v else None
    return v


def _latest(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return max(map(str, v)) if v else None
    return v


@dataclass(frozen=True, slots=True)
class Document:
    """An article with its entities and quotes, from an extractor or from people.

    ``provenance`` says where the spans came from: a :class:`Prediction` (extractor,
    model, score) or an :class:`Annotation` (who, which task, when); None when unknown.
    It is written as the ``source`` key of the JSONL and HF rows. Built documents are
    always valid.
    """

    id: str
    text: str
    entities: tuple[Entity, ...] = ()
    quotes: tuple[Quote, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    provenance: Provenance | None = None

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
            "source": self.provenance.to_dict() if self.provenance else {},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Document:
        return cls(
            id=str(d["id"]),
            text=str(d["text"]),
            entities=tuple(Entity.from_dict(e) for e in d.get("entities") or ()),
            quotes=tuple(Quote.from_dict(q) for q in d.get("quotes") or ()),
            meta=dict(d.get("meta") or {}),
            provenance=provenance_from_dict(d.get("source")),
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

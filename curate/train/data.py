"""Gold documents as spaCy training docs: quote parts as CONTENT, SOURCE and CUE entities,
and (for the entity component) the gold's named entities with their labels.

A quote becomes up to three kinds of token runs: its speaker (``SOURCE``), its cue
(``CUE``) and its content (``CONTENT``). Where parts overlap, the smaller part wins:
source, then cue, then content. So a quote interrupted by its own attribution
(``“A,” he said, “B.”``, stored as one covering span) gives two CONTENT runs around
``he`` (SOURCE) and ``said`` (CUE), which is how PolNeAR marks it; a content holding
another attribution keeps that attribution's source and cue. Spans are mapped to tokens
with ``doc.char_span(alignment_mode="strict")``; a span that does not fall on token
boundaries is shrunk to the tokens inside it (``"contract"``) and counted.

Named entities (:func:`to_entity_doc`) are never cut or shrunk: an entity off token
boundaries, over a sentence start of the base parser (the recognizer cannot continue an
entity into a new sentence) or overlapping a longer one is left unsupervised (its tokens
``missing``, neither entity nor outside) and counted as dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from curate.model import Document, Entity, Quote, Span

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.tokens import Span as SpacySpan

CONTENT, SOURCE, CUE = "CONTENT", "SOURCE", "CUE"
LABELS: tuple[str, ...] = (CONTENT, SOURCE, CUE)
# Higher wins where parts overlap.
_PRIORITY = {CONTENT: 1, CUE: 2, SOURCE: 3}


@dataclass
class Alignment:
    """How the gold spans fell on the tokenizer's tokens."""

    spans: int = 0
    misaligned: int = 0
    dropped: int = 0
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, int]:
        return {"spans": self.spans, "misaligned": self.misaligned, "dropped": self.dropped}


def quote_parts(quote: Quote) -> list[tuple[str, Span]]:
    """``(label, span)`` for a quote's content, speaker and cue (the parts it has)."""
    parts: list[tuple[str, Span]] = [(CONTENT, quote.content)]
    if quote.speaker is not None:
        parts.append((SOURCE, quote.speaker))
    if quote.cue is not None:
        parts.append((CUE, quote.cue))
    return parts


def to_training_doc(doc: Doc, document: Document, alignment: Alignment) -> Doc:
    """``doc`` (the article parsed by the base model) with its quote parts as ``doc.ents``.

    The parse is needed for its sentences: spaCy's recognizer never lets an entity cross a
    sentence boundary, so a part is cut where the base parser starts a sentence (the
    same boundaries the frozen parser gives while training and at inference).
    """
    labels: list[str | None] = [None] * len(doc)
    for quote in document.quotes:
        for label, span in quote_parts(quote):
            alignment.spans += 1
            tokens = doc.char_span(span.start, span.end, alignment_mode="strict")
            if tokens is None:
                alignment.misaligned += 1
                tokens = doc.char_span(span.start, span.end, alignment_mode="contract")
                if len(alignment.examples) < 5:
                    alignment.examples.append(f"{document.id} {label} {span.start}:{span.end}")
            if tokens is None or not len(tokens):
                alignment.dropped += 1
                continue
            for i in range(tokens.start, tokens.end):
                old = labels[i]
                if old is None or _PRIORITY[label] > _PRIORITY[old]:
                    labels[i] = label
    doc.set_ents(list(_runs(doc, labels)), default="outside")
    return doc


def _runs(doc: Doc, labels: Sequence[str | None]) -> Iterable[SpacySpan]:
    """Entity spans for maximal runs of one label, cut at whitespace and sentence starts.

    A content running over several sentences or paragraphs becomes one entity per
    sentence: spaCy's recognizer cannot start or end an entity on whitespace or continue
    one over a sentence boundary (training fails with E024 otherwise).
    """
    from spacy.tokens import Span as SpacySpan

    i = 0
    while i < len(labels):
        label = labels[i]
        if label is None or doc[i].is_space:
            i += 1
            continue
        j = i
        while (
            j + 1 < len(labels)
            and labels[j + 1] == label
            and not doc[j + 1].is_space
            and not doc[j + 1].is_sent_start
        ):
            j += 1
        yield SpacySpan(doc, i, j + 1, label=label)
        i = j + 1


def to_entity_doc(doc: Doc, document: Document, alignment: Alignment) -> Doc:
    """``doc`` (the article parsed by the base model) with the gold's entities as ``doc.ents``.

    Tokens of an entity that cannot be trained on as it is (see the module doc) are set
    ``missing``; every other token outside an entity is ``outside`` (the gold says it is
    no entity). Longer entities win where gold entities overlap.
    """
    from spacy.tokens import Span as SpacySpan

    taken = [False] * len(doc)
    ents: list[SpacySpan] = []
    missing: list[SpacySpan] = []
    for ent in sorted(document.entities, key=_longest_first):
        alignment.spans += 1
        tokens = doc.char_span(ent.start, ent.end, label=ent.label, alignment_mode="strict")
        if tokens is None:
            alignment.misaligned += 1
            if len(alignment.examples) < 5:
                alignment.examples.append(f"{document.id} {ent.label} {ent.start}:{ent.end}")
            loose = doc.char_span(ent.start, ent.end, alignment_mode="expand")
            if loose is not None:
                missing.append(loose)
        trainable = (
            tokens is not None
            and len(tokens) > 0
            and not any(taken[tokens.start : tokens.end])
            and not any(t.is_sent_start for t in tokens[1:])
            and not tokens[0].is_space
            and not tokens[-1].is_space
        )
        if not trainable:
            alignment.dropped += 1
            if tokens is not None and len(tokens):
                missing.append(tokens)
            continue
        assert tokens is not None
        for i in range(tokens.start, tokens.end):
            taken[i] = True
        ents.append(tokens)
    unsure = [False] * len(doc)
    for span in missing:
        for i in range(span.start, span.end):
            unsure[i] = not taken[i]  # a kept entity keeps its supervision
    blocked = [SpacySpan(doc, i, j) for i, j in _true_runs(unsure)]
    doc.set_ents(ents, missing=blocked, default="outside")
    return doc


def _true_runs(flags: Sequence[bool]) -> Iterable[tuple[int, int]]:
    """``(start, end)`` of each maximal run of True values."""
    i = 0
    while i < len(flags):
        if not flags[i]:
            i += 1
            continue
        j = i
        while j < len(flags) and flags[j]:
            j += 1
        yield i, j
        i = j


def _longest_first(e: Entity) -> tuple[int, int]:
    return (-(e.end - e.start), e.start)


def entity_labels(documents: Iterable[Document]) -> dict[str, int]:
    """``label -> count`` of the entities in ``documents``, most frequent first."""
    counts: dict[str, int] = {}
    for d in documents:
        for e in d.entities:
            counts[e.label] = counts.get(e.label, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def split_dev(
    documents: Sequence[Document], seed: int, share: float = 0.1
) -> tuple[list[Document], list[Document]]:
    """Hold out ``share`` of the articles (at least one) for scoring during training.

    Which articles is decided by sha256 of ``seed`` and the article id, so it does not
    depend on the order of the gold and is the same for the same seed.
    """
    ranked = sorted(documents, key=lambda d: hashlib.sha256(f"{seed}:{d.id}".encode()).hexdigest())
    n_dev = max(1, round(len(ranked) * share))
    dev_ids = {d.id for d in ranked[:n_dev]}
    train = [d for d in documents if d.id not in dev_ids]
    dev = [d for d in documents if d.id in dev_ids]
    return train, dev

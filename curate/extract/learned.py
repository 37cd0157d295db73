"""Quotes from a trained model (``curate train``), alone and combined with the rules.

``curate.quotes.learned.v2``: the model's CONTENT, SOURCE and CUE spans made into quotes.
``curate.quotes.hybrid.v3``: ``curate.quotes.v6`` where rules are strong (content in
quote marks, speakers), plus the model's quotes in sentences the rules found nothing in
(reported speech without quote marks; see :func:`combine`). Both run the model's
``quotes`` component over a doc the base spaCy model already parsed: its tags and
dependency labels are the model's features.
Without a model named, the one shipped with curate (:data:`DEFAULT_MODEL`) is used.

``curate.entities.learned.v1``: the entities of a model's ``entities`` component (a
model trained on a gold with entities, see :mod:`curate.train`), used in place of the
base spaCy model's by the pipeline when a trained model with that component is named
(:func:`curate.extract.preannotate.pipeline`). Its entities become the doc's
``doc.ents``, so the quote rules resolve speakers to them. Not registered on its own: it
exists only with the trained model it names (``curate.entities.learned.v1:NAME@VERSION``).

Linking a model CONTENT to its cue and speaker:

- contents separated only by a paragraph break are one quote; contents separated only by
  a SOURCE/CUE and punctuation, both opening with a quote mark, are one interrupted
  quote (``“A,” he said, “B.”``) and take that source and cue;
- otherwise the cue is the CUE span the content hangs on in the parse (a token of the
  content whose head, up to four steps up, lies in a CUE span), else the nearest CUE in
  the content's first or last sentence, else the speech verb the rules find there;
- the speaker is the SOURCE span holding the cue's subject, else the SOURCE nearest the
  cue in its sentence, else the subject the rules find for the cue;
- the named entity a speaker refers to is resolved as ``curate.quotes.v6`` does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from curate.errors import CurateError
from curate.extract import Extraction, Task, register
from curate.extract import quotes as rules
from curate.extract.nlp import doc_text
from curate.model import Quote
from curate.settings import MODELS_DIR
from curate.train.models import SHIPPED_ROOT

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token
    from spacy.tokens import Span as SpacySpan

    from curate.schema import LabelSchema
    from curate.train.models import TrainedModel

ENTITIES_NAME = "curate.entities.learned.v1"
LEARNED_NAME = "curate.quotes.learned.v2"
HYBRID_NAME = "curate.quotes.hybrid.v3"
#: The quote model the hybrid and learned extractors use when none is named: the folder
#: of the one shipped with curate, so that a model trained locally under the same name
#: (``models/polnear-quotes/...``) never changes what these registered names produce.
DEFAULT_MODEL: Path = SHIPPED_ROOT / "polnear-quotes" / "1.0.0"
# The model reads the tagger's tags and the parser's labels; the rules need the rest.
REQUIRED_PIPES: tuple[str, ...] = tuple(sorted({"tagger", "parser", *rules.REQUIRED_PIPES}))
CONTENT, SOURCE, CUE = "CONTENT", "SOURCE", "CUE"
_OPENING = "“\"‘'«„"
_DOUBLE = '"“”«»„'

_local = threading.local()
_PARTS_KEY = "curate.quote_parts"
_ENTS_KEY = "curate.learned_ents"


@dataclass(frozen=True)
class Part:
    label: str
    start: int  # token offsets, end exclusive
    end: int


class QuoteModel:
    """A trained model folder loaded for inference: only its ``quotes`` component."""

    def __init__(self, trained: TrainedModel, nlp: Language) -> None:
        self.trained = trained
        self.nlp = nlp
        self.pipe: Any = nlp.get_pipe("quotes")  # a spaCy span tagger (untyped)
        self.labels = tuple(cast(Any, self.pipe).labels)

    def parts(self, doc: Doc) -> list[Part]:
        """The model's CONTENT/SOURCE/CUE spans on ``doc``; ``doc.ents`` is left as it was."""
        cached = doc.user_data.get(_PARTS_KEY)
        if cached is not None:
            return cached
        self.prepare([doc])
        return doc.user_data.pop(_PARTS_KEY)

    def prepare(self, docs: Sequence[Doc]) -> None:
        """Run the model over a batch at once (much faster than doc by doc); the parts wait
        in ``doc.user_data`` for :meth:`parts`. ``doc.ents`` are left as they were."""
        with self._no_ents(docs):
            for doc in self.pipe.pipe(docs, batch_size=max(1, len(docs))):
                doc.user_data[_PARTS_KEY] = [Part(e.label_, e.start, e.end) for e in doc.ents]

    def uncertainty(self, docs: Sequence[Doc], beam_width: int = 8) -> list[float]:
        """How unsure the model is about each doc: the sum over the CONTENT/SOURCE/CUE
        spans its beam search (``beam_width`` parses) considers of ``min(p, 1 - p)``, ``p``
        the span's probability over the beam. 0 when every parse agrees; grows with
        the spans the model hesitates on, so a long article with many attributions
        scores more than one line. ``doc.ents`` are left as they were."""
        if not docs:
            return []
        with self._no_ents(docs):
            beams = self.pipe.beam_parse(list(docs), beam_width=beam_width)
            scored = self.pipe.scored_ents(beams)
        return [float(sum(min(p, 1.0 - p) for p in spans.values())) for spans in scored]

    @contextlib.contextmanager
    def _no_ents(self, docs: Sequence[Doc]) -> Iterator[None]:
        saved = []
        for doc in docs:
            for label in self.labels:
                doc.vocab.strings.add(label)
            saved.append(list(doc.ents))
            # "missing", not "outside": the recognizer never starts a span on a token preset O.
            doc.set_ents([], default="missing")
        try:
            yield
        finally:
            for doc, ents in zip(docs, saved, strict=True):
                doc.set_ents(ents, default="outside")


def load_trained(
    ref: str | Path | None = None, root: str | Path = MODELS_DIR
) -> tuple[TrainedModel, Language]:
    """The trained model ``ref`` names (see :func:`curate.train.models.find_model`) and its
    spaCy pipeline, loaded once per thread. None means :data:`DEFAULT_MODEL`."""
    import spacy

    from curate.extract.nlp import ModelError
    from curate.train.models import find_model

    trained = find_model(ref or DEFAULT_MODEL, root)
    cache = _local.__dict__.setdefault("models", {})
    key = str(trained.path.resolve())
    if key not in cache:
        try:
            nlp = spacy.load(trained.path)
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(f"trained model {trained.path} cannot be loaded: {e}") from e
        cache[key] = (trained, nlp)
    return cache[key]


def _component(trained: TrainedModel, nlp: Language, name: str, what: str) -> Any:
    if name not in nlp.pipe_names:
        raise CurateError(
            f"trained model {trained.ref} has no {name} component (its gold had no {what}); "
            f"name a model trained on {what}"
        )
    return nlp.get_pipe(name)


def load_quote_model(ref: str | Path | None = None, root: str | Path = MODELS_DIR) -> QuoteModel:
    """The quote component of the trained model ``ref`` names (see :func:`load_trained`).
    Raises CurateError when the model has none."""
    trained, nlp = load_trained(ref, root)
    _component(trained, nlp, "quotes", "quotes")
    return QuoteModel(trained, nlp)


def model_components(ref: str | Path, root: str | Path = MODELS_DIR) -> tuple[str, ...]:
    """The components model ``ref`` was trained with (``quotes``, ``entities``), from its
    meta (nothing loaded). Raises :class:`curate.train.models.ModelNotFound`."""
    from curate.train.models import find_model

    return find_model(ref, root).components


@dataclass(frozen=True)
class TrainedEntities:
    """The entities of a trained model's ``entities`` component, as an
    :class:`~curate.extract.Extractor` (see the module doc). ``model`` is ``NAME@VERSION``
    or a folder; the model loads on first use (once per thread). Entities are mapped onto
    the label config as the base model's are (:func:`curate.extract.entities.extract_entities`).
    """

    model: str | Path
    root: str | Path = MODELS_DIR
    name: str = ENTITIES_NAME
    tasks: tuple[Task, ...] = ("entities",)
    # Its recognizer reads the words alone (the base model's, fine-tuned): no tagger, parser.
    required_pipes: tuple[str, ...] = ()
    # It stands in for the spaCy model's recognizer, which is then left out of the pipeline.
    replaces_pipes: tuple[str, ...] = ("ner",)

    def _loaded(self) -> tuple[TrainedModel, Any]:
        trained, nlp = load_trained(self.model, self.root)
        return trained, _component(trained, nlp, "entities", "entities")

    @property
    def version(self) -> str:
        """``curate.entities.learned.v1:NAME@VERSION``: the extractor and its trained model."""
        return f"{self.name}:{self._loaded()[0].ref}"

    def prepare(self, docs: Sequence[Doc]) -> None:
        """Run the component over a batch: its entities replace each doc's ``doc.ents``."""
        _, pipe = self._loaded()
        for doc in docs:
            # "missing", not "outside": the recognizer never starts a span on a token preset O.
            doc.set_ents([], default="missing")
        for doc in pipe.pipe(docs, batch_size=max(1, len(docs))):
            doc.user_data[_ENTS_KEY] = True

    def __call__(self, docs: Sequence[Doc], schema: LabelSchema) -> list[Extraction]:
        from curate.extract.entities import extract_entities

        out = []
        for doc in docs:
            if not doc.user_data.pop(_ENTS_KEY, False):
                self.prepare([doc])
                doc.user_data.pop(_ENTS_KEY, None)
            entities, dropped = extract_entities(doc, schema)
            out.append(Extraction(entities=tuple(entities), dropped=dict(sorted(dropped.items()))))
        return out

    def entity_precision(self, schema: LabelSchema) -> dict[str, float]:
        """``config label -> precision`` of the component on its training run's dev
        articles (``curate-model.json``); what Label Studio shows as a region's score."""
        from curate.extract.preannotate import label_precision

        trained, _ = self._loaded()
        about = (trained.meta.get("components") or {}).get("entities") or {}
        per_type = (about.get("dev_scores") or {}).get("ents_per_type") or {}
        return label_precision(per_type, schema)


class QuoteExtractor:
    """A callable ``doc -> list[Quote]`` for one trained model; ``name`` says which.

    ``hybrid`` combines the model with ``curate.quotes.v6`` (see the module doc).
    """

    def __init__(self, model: QuoteModel, hybrid: bool) -> None:
        self.model = model
        self.hybrid = hybrid
        base = HYBRID_NAME if hybrid else LEARNED_NAME
        self.name = f"{base}:{model.trained.ref}"

    def prepare(self, docs: Sequence[Doc]) -> None:
        """Run the model over a batch of docs before they are extracted one by one."""
        self.model.prepare(docs)

    def __call__(self, doc: Doc) -> list[Quote]:
        if not doc_text(doc).strip():
            doc.user_data.pop(_PARTS_KEY, None)
            return []
        learned = model_quotes(doc, self.model.parts(doc))
        if not self.hybrid:
            return learned
        return combine(doc, rules.extract_quotes(doc), learned)


def quote_extractor(
    ref: str | Path | None = None, *, hybrid: bool = True, root: str | Path = MODELS_DIR
) -> QuoteExtractor:
    """The learned (``hybrid=False``) or hybrid quote extractor over model ``ref``."""
    return QuoteExtractor(load_quote_model(ref, root), hybrid)


@dataclass(frozen=True)
class TrainedQuotes:
    """The learned or hybrid quote extractor over a trained model, as an
    :class:`~curate.extract.Extractor`. ``model`` is ``NAME@VERSION`` or a folder; None is
    the shipped :data:`DEFAULT_MODEL`. The model loads on first use (once per thread)."""

    name: str
    model: str | Path | None = None
    root: str | Path = MODELS_DIR
    tasks: tuple[Task, ...] = ("quotes",)
    required_pipes: tuple[str, ...] = REQUIRED_PIPES
    replaces: tuple[str, ...] = ()

    @property
    def extractor(self) -> QuoteExtractor:
        return quote_extractor(self.model, hybrid=self.name == HYBRID_NAME, root=self.root)

    @property
    def version(self) -> str:
        """``curate.quotes.hybrid.v3:NAME@VERSION``: the extractor and its trained model."""
        return self.extractor.name

    def prepare(self, docs: Sequence[Doc]) -> None:
        """Run the model over a batch of docs before they are extracted one by one."""
        self.extractor.prepare(docs)

    def __call__(self, docs: Sequence[Doc], schema: LabelSchema) -> list[Extraction]:
        ex = self.extractor
        return [Extraction(quotes=tuple(ex(doc))) for doc in docs]


def trained_quotes(
    name: str, model: str | Path | None = None, root: str | Path = MODELS_DIR
) -> TrainedQuotes:
    """The quote extractor ``name`` over trained model ``model`` (None: the shipped one).
    Raises CurateError for a name that uses no trained model."""
    if name not in (LEARNED_NAME, HYBRID_NAME):
        from curate import extract

        extract.get(name)  # a retired or unknown name says so (and what to use)
        raise CurateError(
            f"quote extractor {name!r} does not use a trained model; use {HYBRID_NAME} or "
            f"{LEARNED_NAME} with a quote model"
        )
    return TrainedQuotes(name, model, root)


# learned.v2 replaces learned.v1: the same model, its quotes' speakers and cues linked
# by the rules of curate.quotes.v6.
LEARNED = register(TrainedQuotes(LEARNED_NAME, replaces=("curate.quotes.learned.v1",)))
# hybrid.v2 replaced hybrid.v1 and hybrid.v3 replaces hybrid.v2: the same combination over
# the rules of curate.quotes.v5, then curate.quotes.v6.
HYBRID = register(
    TrainedQuotes(HYBRID_NAME, replaces=("curate.quotes.hybrid.v1", "curate.quotes.hybrid.v2"))
)


# ---------------------------------------------------------------------------- combine


def combine(doc: Doc, rule_quotes: Sequence[Quote], learned: Sequence[Quote]) -> list[Quote]:
    """The rules' quotes, plus the model's quotes in sentences where the rules found none,
    when they have both a cue and a speaker.

    Measured on PolNeAR dev (``benchmarks/quotes_polnear.py``): a model quote in a
    sentence the rules already quote from is more often a second, competing span for the
    same attribution than a new one, and model quotes without a cue or a speaker are
    mostly spurious; keeping either cost a labeler more corrections than it saved.
    """
    out = list(rule_quotes)
    for q in learned:
        if q.cue is None or q.speaker is None:
            continue
        tokens = doc.char_span(q.start, q.end, alignment_mode="expand")
        lo, hi = (q.start, q.end) if tokens is None else _sentences(tokens)
        if any(r.start < hi and lo < r.end for r in rule_quotes):
            continue
        out.append(q)
    return sorted(out, key=lambda q: (q.start, q.end))


def _sentences(tokens: SpacySpan) -> tuple[int, int]:
    """Character range of the sentences a span of tokens runs over."""
    return tokens[0].sent.start_char, tokens[-1].sent.end_char


# ----------------------------------------------------------------------------- decode


def model_quotes(doc: Doc, parts: Sequence[Part]) -> list[Quote]:
    """Quotes from the model's spans: contents linked to a cue and a speaker."""
    text = doc_text(doc)
    art = rules._Article(doc)
    contents = sorted((p for p in parts if p.label == CONTENT), key=lambda p: p.start)
    sources = [p for p in parts if p.label == SOURCE]
    cues = [p for p in parts if p.label == CUE]
    found: list[rules._Found] = []
    for group in _groups(doc, contents, parts):
        first, last = group[0], group[-1]
        gap_parts = [p for p in parts if first.end <= p.start and p.end <= last.start]
        cue = next((p for p in gap_parts if p.label == CUE), None) or _cue_for(doc, group, cues)
        cue_tok = _head_token(doc, cue) if cue is not None else _rule_cue(art, group)
        speaker = next((p for p in gap_parts if p.label == SOURCE), None)
        speaker_chars = _chars(doc, speaker) if speaker is not None else None
        if speaker_chars is None and cue_tok is not None:
            speaker_chars = _speaker_for(doc, art, cue_tok, sources, group)
        start, end = doc[first.start].idx, _end_char(doc[last.end - 1])
        kind = _kind(text[start:end])
        f = rules._Found(start, end, kind, parts=_content_parts(text, doc, group))
        if cue is not None:
            f.cue = _chars(doc, cue)
        elif cue_tok is not None:
            f.cue = rules._cue_span(cue_tok)
        f.speaker = speaker_chars
        found.append(f)
    rules._resolve_speakers(art, found)
    out = []
    for f in found:
        s, e = f.start, f.end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s < 2:
            continue
        out.append(
            Quote.of_fragments(
                text,
                rules._fragments(text, f.parts, s, e),
                f.kind,
                speaker=rules._span(text, f.speaker),
                cue=rules._span(text, f.cue),
                speaker_entity=rules._span(text, f.entity),
            )
        )
    return out


def _content_parts(text: str, doc: Doc, group: list[Part]) -> list[tuple[int, int]]:
    """The content fragments of a group (character offsets): parts separated by nothing
    but whitespace (one content over a paragraph break) are one fragment; a part after
    an attribution that interrupts the quote is another. Empty for a one-fragment quote."""
    out: list[tuple[int, int]] = []
    for part in group:
        s, e = _chars(doc, part)
        if out and not text[out[-1][1] : s].strip():
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out if len(out) > 1 else []


def _groups(doc: Doc, contents: list[Part], parts: Sequence[Part]) -> list[list[Part]]:
    """Contents joined into quotes: an interrupted quote is one group."""
    groups: list[list[Part]] = []
    for c in contents:
        if groups and _interrupted(doc, groups[-1], c, parts):
            groups[-1].append(c)
        else:
            groups.append([c])
    return groups


def _interrupted(doc: Doc, group: list[Part], nxt: Part, parts: Sequence[Part]) -> bool:
    prev = group[-1]
    if all(t.is_space for t in doc[prev.end : nxt.start]):
        return True  # one content over a paragraph break (trained as one part a paragraph)
    if doc[group[0].start].text[:1] not in _OPENING or nxt.start - prev.end > 15:
        return False
    between = [p for p in parts if prev.end <= p.start and p.end <= nxt.start]
    if not any(p.label in (SOURCE, CUE) for p in between):
        return False
    covered = {i for p in between for i in range(p.start, p.end)}
    return (
        all(t.i in covered or t.is_punct or t.is_space for t in doc[prev.end : nxt.start])
        and doc[nxt.start].text[:1] in _OPENING
    )


def _cue_for(doc: Doc, group: list[Part], cues: list[Part]) -> Part | None:
    start, end = group[0].start, group[-1].end
    by_token = {i: p for p in cues for i in range(p.start, p.end)}
    for t in doc[start:end]:
        h, steps = t.head, 0
        while steps < 4 and start <= h.i < end and h.head is not h:
            h, steps = h.head, steps + 1
        if not start <= h.i < end:
            for _ in range(4):
                if h.i in by_token:
                    return by_token[h.i]
                if h.head is h:
                    break
                h = h.head
    sents = {doc[start].sent.start, doc[end - 1].sent.start}
    near = [p for p in cues if doc[p.start].sent.start in sents and not (start <= p.start < end)]
    if not near:
        return None
    return min(near, key=lambda p: min(abs(p.start - end), abs(p.end - start)))


def _rule_cue(art: Any, group: list[Part]) -> Token | None:
    """No model CUE: the speech verb the content hangs on, if the rules call it a cue."""
    doc = art.doc
    start, end = group[0].start, group[-1].end
    for t in doc[start:end]:
        h = t.head
        if not start <= h.i < end and (rules._is_cue(h) or rules._is_cue(h, rules.OBJECT_CUES)):
            return h
    return None


def _speaker_for(
    doc: Doc, art: Any, cue: Token, sources: list[Part], group: list[Part]
) -> tuple[int, int] | None:
    start, end = group[0].start, group[-1].end
    outside = [p for p in sources if not (start <= p.start < end)]
    by_token = {i: p for p in outside for i in range(p.start, p.end)}
    who = rules._speaker_token(cue, art)
    if who is not None and who.i in by_token:
        return _chars(doc, by_token[who.i])
    same = [p for p in outside if doc[p.start].sent.start == cue.sent.start]
    if same:
        return _chars(doc, min(same, key=lambda p: min(abs(p.start - cue.i), abs(p.end - cue.i))))
    if who is not None and not (start <= who.i < end):
        return rules._np(who)
    return None


def _head_token(doc: Doc, part: Part) -> Token:
    span = doc[part.start : part.end]
    verbs = [t for t in span if t.pos_ in ("VERB", "AUX")]
    return verbs[0] if verbs else span.root


def _chars(doc: Doc, part: Part) -> tuple[int, int]:
    return doc[part.start].idx, _end_char(doc[part.end - 1])


def _end_char(tok: Token) -> int:
    return tok.idx + len(tok.text)


def _kind(content: str) -> str:
    stripped = content.strip()
    if stripped[:1] in _OPENING and stripped.rstrip(".,;:!?")[-1:] in "”\"’'»":
        return "direct"
    if any(m in content for m in _DOUBLE):
        return "mixed"
    return "indirect"

"""The quote and speaker extractors ``curate.quotes.v6`` (the default) and
``curate.quotes.v7`` beside it: rules over a spaCy parse, and a learned filter over the
reported quotes they suggest. v7 is v6 with a few rules more (``extract_quotes(doc,
version=7)``): mixed quotes end where PolNeAR ends them and a quoted sentence after a
verbless lead-in is direct (``_mixed_bounds``), and a cue after a quote closing with a full
stop reports the next sentence when a comma stands before it or it has a clause of its own
(``_find_cue``). v6's output is unchanged.

Span convention (PolNeAR's, the gold we benchmark on):

- a direct quote's content INCLUDES its quote marks and the punctuation inside them
  (``“We have nothing to tell you on this topic,”``); an unclosed quote ends before its
  attribution (``“These deals could include raw materials,``);
- a quote interrupted by its own attribution (``“A,” he said, “B.”`` or ``“A,” he said.
  “B.”``), and a cue-less quote continuing it right after (also in the next paragraph),
  is ONE quote whose content has one fragment per quoted stretch (``“A,”`` and ``“B.”``):
  PolNeAR annotates it as one discontinuous content, the attribution between the
  fragments is not content; so is a cue-less quote right after reported speech or its
  post-posed attribution (``Obama “felt ...” climate change, Axelrod said. “This is
  ...”``): one quote, the reported words and the quote its fragments;
- reported content is the reported clause with a leading ``that`` and without the final
  full stop, without a writer's aside closing it (``, which ...``, ``, while ...``; not
  when the aside holds quoted words) nor a participle of saying after a comma (``,
  arguing that ...``, a report of its own);
  ``mixed`` when it contains quote marks, ``indirect`` otherwise; around an
  aside (``The problem, she said, is ...``) it is two fragments, the aside left out;
- the speaker is the mention in the text (``he``, ``who``, ``the NSC spokesperson``);
  ``speaker_entity`` the named mention it resolves to where the article names one;
  the cue is the reporting word(s) (``said``, ``told``, ``according to``, ``:``).

Three passes over one parsed article:

1. quote marks (``curate.marks``): every quoted stretch, unbalanced marks recovered;
2. direct quotes: a quoted stretch that stands as a clause of its own gets the speech
   verb it depends on, or one right after/before it, as cue (also ``read``, ``pressed``,
   ``went on``..., ``QUOTE_ONLY_CUES``) and that verb's subject as speaker; a cue-less
   quote right after continues the previous one;
3. reported speech: a speech verb's clausal complement (``said (that) ...``,
   ``..., saying ...``, post-posed ``..., said Kirby``), the object of a verb like
   ``urge``/``call for``, the clause a belief verb reports (``believes (that) ...``,
   ``BELIEF_VERBS``), the ``that`` clause of a noun of saying (``Trump's claim that
   ...``, ``NOUN_CUES``), the sentence around ``according to X`` or an aside
   (``The problem, she said, is ...``), a transcript turn (``PENCE: ...``, the name
   one the article writes as an entity); quoted words no such content covers give a
   ``mixed`` quote from the verb they hang on. Cues that report no speech give none:
   negated ones, a non-speech verb inside another report, ``seek``/``find``..., a
   report nested in another quote (``_reports_speech``, ``_drop_reported_inside``).
   A learned filter (``curate/extract/_quote_filter.py``: a logistic regression over
   the candidate's cue, rule, dependency shape, speaker and content, trained on PolNeAR
   train by ``scripts/train_quote_filter.py``) drops the reported (indirect) quotes least
   likely to be attributions.

Each quote's shape has a certainty measured on PolNeAR train (``CERTAINTY``), which
Label Studio shows as the score of its regions.

Rules were tuned on PolNeAR train articles; ``benchmarks/quotes_polnear.py`` measures
them against textacy's ``direct_quotations`` on the same parses.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from spacy.attrs import IDX
from spacy.tokens import Doc, Token
from spacy.tokens import Span as SpacySpan

from curate.extract import Extraction, RuleExtractor, _quote_filter, register
from curate.extract.nlp import doc_text, lemma
from curate.marks import (
    CLOSING,
    DOUBLE_CLOSE,
    STRAIGHT_DOUBLE,
    Quoted,
    find_quoted,
    paragraphs,
    quote_kind,
    signature_dash,
)
from curate.model import Quote, Span

if TYPE_CHECKING:
    from curate.schema import LabelSchema


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


# tagger + attribute_ruler give POS, lemmatizer the cue lemmas, parser the subjects and
# clauses, ner the speaker entities; tok2vec feeds them all.
REQUIRED_PIPES: tuple[str, ...] = (
    "tok2vec",
    "tagger",
    "parser",
    "attribute_ruler",
    "lemmatizer",
    "ner",
)

# Verbs that report speech or writing (lemmas). Belief verbs are kept apart
# (``BELIEF_VERBS``): inside quotes they are the speaker's own words (``"I think ..."``),
# and they never attribute a quote.
SPEECH_VERBS = _words(
    """
    say tell add note warn claim argue explain insist state declare announce report write
    tweet post suggest acknowledge admit predict recall remark reply respond comment confirm
    deny assert contend maintain concede emphasize emphasise stress reveal disclose ask urge
    promise pledge vow threaten complain boast joke quip continue conclude observe mention
    allege testify estimate caution charge counter speculate tout assure hint imply lament
    muse opine proclaim reiterate repeat retort scoff underscore yell shout whisper tweet
    brag concur agree answer accuse blast slam praise criticize criticise demand indicate
    signal acknowledge complain lie inform remind explain describe advise propose recommend
    announce confide contend lament marvel mutter object protest reason recount relate
    specify swear exclaim grumble huff chide fume gush insist observe
    bark beam mock confess chant cry plead scream snap sneer sigh thunder rail crow gripe
    fret interject interrupt blurt echo
    """
)
# Verbs whose object (not only a clause) is what they report: `calls for X`, `urged X to`,
# `called X “crazy”`, `wants to`. Kept to the ones that pay off on PolNeAR train.
OBJECT_CUES = _words(
    """
    call want endorse criticize criticise describe praise urge propose oppose back defend seek
    expect discuss talk point refer cite question attack express offer mention announce
    promise vow show find hope warn reject deny acknowledge dismiss recommend predict
    estimate insist argue push advocate prefer decline refuse agree threaten ask tell say
    suggest worry complain tout blast label brand characterize portray
    accuse condemn decry denounce deride mock ridicule lambaste slam laud hail dub liken blame
    exhort encourage admire applaud commend reference
    """
)
# Verbs of belief and cognition whose clausal complement PolNeAR annotates as an
# attribution (``Trump believes that ...``, ``voters fear (that) ...``): only their
# ``ccomp`` outside quote marks is a candidate, judged by the learned filter. On PolNeAR
# train they add 0.013 of all-attribution recall before the filter (candidates 0.65
# precise for think/believe, 0.51 for know), which lets the filter cut the least likely
# reported quotes harder at the same recall (``scripts/train_quote_filter.py``).
# (Those in the lexicons above, e.g. ``hope``, ``worry``, keep their rule.)
BELIEF_VERBS = _words(
    """
    think believe know fear feel recognize consider doubt understand realize assume guess
    suspect figure wonder learn hear
    """
)
# Nouns of saying and believing whose ``that`` clause PolNeAR annotates as an attribution
# (``Trump's claim that ...``, ``the belief that ...``); the noun is the cue, its
# possessor (if any) the speaker. PolNeAR train: 0.71 of such candidates are gold.
NOUN_CUES = _words(
    """
    claim argument assertion belief view suggestion statement warning promise accusation
    allegation charge insistence contention fear hope concern notion report announcement
    admission complaint criticism prediction assumption expectation speculation rumor
    """
)
# Their singular and plural forms (``claims that``), matched before any lemma is made.
_NOUN_CUE_FORMS = NOUN_CUES | frozenset(n + "s" for n in NOUN_CUES)
# Cues that can stand as an aside inside the sentence they report.
PARENTHETICAL = _words("say tell add note write argue explain claim insist report")
PRONOUNS = _words("he she they we i it you him her them us")
RELATIVE = _words("who that which whom")
_SUBJ = ("nsubj", "nsubjpass")
_NP_DROP = _words("appos relcl acl punct cc conj advcl parataxis prep")
_NAMED = ("PERSON", "ORG", "GPE", "NORP", "FAC")
_NOT_SPEAKER = _words("DATE TIME CARDINAL ORDINAL PERCENT MONEY QUANTITY")


@dataclass
class _Found:
    """A quote under construction (token-level details kept until the end)."""

    start: int
    end: int
    kind: str
    cue: tuple[int, int] | None = None
    speaker: tuple[int, int] | None = None
    entity: tuple[int, int] | None = None
    first_end: int = 0
    rule: str = "direct"
    cue_tok: Token | None = None
    #: the quoted stretches of a quote interrupted by its attribution, in text order
    parts: list[tuple[int, int]] = field(default_factory=list)
    #: the token heading the speaker (reported speech), a feature of the learned filter
    who: Token | None = None
    #: where this content stands among several the same cue reports (``before`` the cue,
    #: ``first`` or ``later`` after it), empty when it reports one: a filter feature
    among: str = ""


#: The rule versions :func:`extract_quotes` runs (``curate.quotes.v6``, ``curate.quotes.v7``).
VERSIONS = (6, 7)


def extract_quotes(doc: Doc, version: int = 6) -> list[Quote]:
    """Direct, mixed and indirect quotes of a parsed article, with speaker and cue, by the
    rules of ``curate.quotes.v<version>`` (one of ``VERSIONS``; 6 by default, the rules the
    hybrid extractor builds on).

    Needs the components in ``REQUIRED_PIPES``. Never raises on odd text: quote marks
    that do not pair up are recovered at the paragraph end.
    """
    return [q for q, _ in _extract(doc, version=version)]


def _extract(doc: Doc, learned_filter: bool = True, version: int = 6) -> list[tuple[Quote, _Found]]:
    """The quotes of ``doc`` with how they were found; ``learned_filter=False`` keeps the
    reported quotes the learned filter would drop (what ``scripts/train_quote_filter.py``
    learns from). ``version`` 7 adds :func:`_mixed_bounds` to the rules of 6."""
    text = doc_text(doc)
    if not text.strip():
        return []
    art = _Article(doc, version)
    found: list[_Found] = []
    taken_cues: set[int] = set()
    direct = _direct_quotes(art, taken_cues)
    found.extend(direct)
    found.extend(_reported(art, direct, taken_cues))
    found.extend(_transcript_turns(art, found))
    found.extend(_partial(art, found, taken_cues))
    found = _join_after_report(art, found)
    found = _drop_reported_inside([f for f in _drop_nested(art, found) if _reports_speech(f)])
    _resolve_speakers(art, found)
    out = []
    seen: set[tuple[int, int]] = set()
    for f in sorted(found, key=lambda f: (f.start, f.end)):
        start, end = _trim(text, f.start, f.end, keep_end=f.kind == "direct")
        if f.kind == "mixed":
            end = _end_at_last_mark(text, start, end)
        if end <= start or (start, end) in seen or not _worth_keeping(f, text[start:end]):
            continue
        if learned_filter and not _likely_attribution(doc, f, start, end):
            continue
        seen.add((start, end))
        fragments = _fragments(text, f.parts, start, end)
        kind = f.kind
        if version >= 7 and kind == "mixed" and len(fragments) == 1:
            start, end, kind = _mixed_bounds(art, f, start, end)
            fragments = [(start, end)]
        quote = Quote.of_fragments(
            text,
            fragments,
            kind,
            speaker=_span(text, f.speaker),
            cue=_span(text, f.cue),
            speaker_entity=_span(text, f.entity),
        )
        out.append((quote, f))
    return out


_ASIDE_PUNCT = ",;:—–-"

# A quoted sentence closing inside its marks, then more text: `... “A lie.” Then ...`.
_SENTENCE_CLOSE = re.compile("[.!?][" + DOUBLE_CLOSE + STRAIGHT_DOUBLE + r"]\s+(?=\S)")
# Quoted words closing with a comma inside the marks, then the next word: `“A,” saying`.
_COMMA_CLOSE = re.compile(",[" + DOUBLE_CLOSE + STRAIGHT_DOUBLE + r"]\s+(\w+)")


def _mixed_bounds(art: _Article, f: _Found, start: int, end: int) -> tuple[int, int, str]:
    """``curate.quotes.v7``: the bounds and kind of a one-fragment mixed quote
    ``start:end``, as PolNeAR marks them. Each rule was measured alone over v6 on PolNeAR
    train, direct subset of ``benchmarks/quotes_polnear.py`` (F1 0.8817, exact F1 0.7676;
    errors listed by ``scripts/direct_quote_errors.py``):

    - it ends with a quoted sentence that closes inside its marks (``.”``, ``?”``, ``!”``)
      when more text follows: ``called him a “fascist.” “What he does ...”`` (the parse ran
      on into the next sentence; F1 0.8821, exact 0.7682);
    - it ends after quoted words closing with ``,”`` when a participle follows:
      ``insisted that he has “expanded the party,” claiming that ...`` (the participle
      reports apart; F1 0.8830, exact 0.7685);
    - a whole quoted sentence after a comma or colon, with no verb before it in the
      content, is a direct quote alone: ``said to the newspaper, “Our laws ...”`` (the
      lead-in says where or to whom; F1 0.8815, exact 0.7743).

    Returns ``(start, end, kind)``; the quote's cue never ends up outside a cut it stood in.
    """
    text = art.text
    cue = f.cue[0] if f.cue is not None else -1
    kind = f.kind
    for pattern in (_SENTENCE_CLOSE, _COMMA_CLOSE):
        for m in pattern.finditer(text, start, end):
            if pattern is _COMMA_CLOSE:
                word = art.tokens(m.start(1), m.start(1) + 1)
                if not word or word[0].text != m.group(1) or word[0].tag_ != "VBG":
                    continue
            cut = m.start() + 2
            if not start <= cue < end or cue < cut:
                # (When the cue comes later, the words before it are not the content.)
                end, kind = cut, quote_kind(text[start:cut])
            break
    if kind == "direct":
        return start, end, kind
    last = [q for q in art.quoted if start < q.start < end and q.closed and q.style == "double"]
    if last and last[-1].end >= end - 1:
        q = last[-1]
        i = q.start - 1
        while i > start and text[i].isspace():
            i -= 1
        lead = art.tokens(start, i)
        if (
            text[i] in ",:"
            and text[q.start + 1 : q.start + 2].isupper()
            and not any(t.pos_ in ("VERB", "AUX") for t in lead)
        ):
            return q.start, min(q.end, end), "direct"
    return start, end, kind


def _fragments(
    text: str, parts: list[tuple[int, int]], start: int, end: int
) -> list[tuple[int, int]]:
    """The content fragments of a quote trimmed to ``start:end``: its quoted stretches
    when its attribution interrupts it, else the one span ``start:end``."""
    out = []
    for s, e in parts:
        s, e = max(s, start), min(e, end)
        # Inner edges lose the punctuation around the attribution: `A, he said, B`.
        while s < e and (text[s].isspace() or (s > start and text[s] in _ASIDE_PUNCT)):
            s += 1
        while e > s and (text[e - 1].isspace() or (e < end and text[e - 1] in _ASIDE_PUNCT)):
            e -= 1
        if e > s:
            out.append((s, e))
    if len(out) < 2:
        return [(start, end)]
    out[0] = (start, out[0][1])
    out[-1] = (out[-1][0], end)
    return out


#: How often a suggested quote of each shape (:func:`quote_shape`) is an attribution in
#: PolNeAR train: the share of such predictions that ``benchmarks/quotes_polnear.py``
#: matches to a gold attribution (840 articles; n = predictions of that shape), as
#: ``scripts/measure_certainty.py`` prints it. Label Studio shows it as the score of the
#: quote's regions; a shape not listed has no score.
CERTAINTY: dict[str, float] = {
    "direct+cue+speaker": 0.94,  # n=3788
    "direct+cue": 0.86,  # n=36
    "direct according": 1.00,  # n=6
    "direct+speaker": 0.71,  # n=70, a continuation or a signed quote
    "direct": 0.72,  # n=74, a long quote with nobody found
    "mixed+cue+speaker": 0.83,  # n=2157
    "mixed according": 0.79,  # n=47
    # indirect rows after the learned filter (v6; in-sample: the filter learned on train)
    "indirect according": 0.85,  # n=323
    "indirect+cue+speaker": 0.84,  # n=5424
    "indirect+cue": 0.77,  # n=406
    "indirect+speaker": 1.00,  # n=4, transcript turns (``NAME: ...``; the colon is no word)
}


def quote_shape(q: Quote) -> str:
    """The shape of a quote that says how sure the rules are of it (``CERTAINTY``):
    ``<kind>`` plus ``+cue`` (a reporting word, not a colon or dash), ``+speaker``, and
    ``according`` for ``according to`` reports."""
    if q.cue is not None and q.cue.text.lower().startswith("according"):
        return f"{q.kind} according"
    cue = q.cue is not None and any(ch.isalpha() for ch in q.cue.text)
    return q.kind + ("+cue" if cue else "") + ("+speaker" if q.speaker is not None else "")


def _drop_nested(art: _Article, found: list[_Found]) -> list[_Found]:
    """Drop a quote that a larger one already reports.

    - Same cue: in ``likened the refugees to a “vicious snake”`` the bare object ``the
      refugees`` is not a report of its own.
    - A mixed quote whose verb is not a speech verb, inside a mixed quote reported by one,
      with its subject inside too: in ``X said she wanted to speak “directly to white
      people”`` the report is what X said, not what ``she wanted`` (on PolNeAR train the
      outer quote is the attribution 9 times in 10).
    """

    def speech(cue: tuple[int, int] | None) -> bool:
        return cue is not None and any(_is_cue(t) for t in art.tokens(*cue))

    def within(part: tuple[int, int] | None, g: _Found) -> bool:
        return part is not None and g.start <= part[0] and part[1] <= g.end

    def reported_by(f: _Found, g: _Found) -> bool:
        """Whether ``g``, a longer quote around ``f``, reports it."""
        if f.cue is not None and f.cue == g.cue:
            return True
        return (
            f.kind == g.kind == "mixed"
            and speech(g.cue)
            and not speech(f.cue)
            and within(f.cue, g)
            and within(f.speaker, g)
        )

    def nested(f: _Found) -> bool:
        # The containment test inline first: most pairs fail it (a long article has
        # a hundred quotes, ten thousand pairs).
        fs, fe = f.start, f.end
        return any(
            g.start <= fs and fe <= g.end and g.end - g.start > fe - fs and reported_by(f, g)
            for g in found
        )

    return [f for f in found if not nested(f)]


# Verbs that take an object but report speech or a stance through a bare object less
# often than not (PolNeAR train: seek 0.42, find 0.18, tell 0.37, push 0.32 of such
# predictions are attributions): ``seeking artillery shells``, ``found no evidence``.
_RARELY_REPORTING = _words("seek find tell push")
# ``Citing officials``: the object of these verbs is who said it, not what was said.
_SOURCE_OBJECT = _words("cite quote")
# Where a verb stands when it is part of what another verb reports (``said Putin is
# seeking``, ``proposals that offer``): PolNeAR train 0.25 of such object-cue predictions
# are attributions. (Also dropping relative clauses, infinitives and participles gained
# precision but cost 0.023 of train recall.)
_EMBEDDED = _words("ccomp")


def _reports_speech(f: _Found) -> bool:
    """Whether a quote's cue reports speech or a stance at all (measured on PolNeAR).

    No reported quote comes from a negated cue (``did not specify what consequences``)
    nor, for verbs that are not speech verbs and report only through their object or
    clause (``urge``, ``want``, ``cite``...), from one inside a clause another verb
    reports, from one of the verbs that rarely report (``_RARELY_REPORTING``) or from
    ``citing``/``quoting`` a person (its object is the source).
    """
    tok = f.cue_tok
    if tok is None or f.kind == "direct":
        return True  # quoted words are speech even when the parser negates their cue
    if any(c.dep_ == "neg" for c in tok.children):
        return False
    if f.rule in ("object", "clause"):
        if tok.dep_ in _EMBEDDED:
            return False
        if f.rule == "object" and lemma(tok).lower() in _RARELY_REPORTING:
            return False
        if f.rule == "object" and lemma(tok).lower() in _SOURCE_OBJECT:
            objs = [c for c in tok.rights if c.dep_ == "dobj"]
            if objs and (objs[0].ent_type_ in ("PERSON", "ORG", "NORP") or _is_source(objs[0])):
                return False
    return True


def _is_source(tok: Token) -> bool:
    """A noun naming people who speak (``officials``, ``sources``, ``a spokesman``)."""
    return lemma(tok).lower() in ROLES or lemma(tok).lower() in _words("people person")


def _drop_reported_inside(found: list[_Found]) -> list[_Found]:
    """Drop a reported quote whose cue stands inside another quote's content: in ``X
    said Putin is seeking shells`` what Putin seeks is part of what X said, not a report
    of its own (on PolNeAR dev such quotes are attributions about one time in four)."""

    def inside(f: _Found) -> bool:
        return f.cue is not None and any(
            g is not f and g.start <= f.cue[0] and f.cue[1] <= g.end for g in found
        )

    return [f for f in found if f.kind != "indirect" or not inside(f)]


def candidate_features(doc: Doc, f: _Found, start: int, end: int) -> list[str] | None:
    """The learned filter's features of a reported quote with content ``start:end``, or
    None for the quotes it does not judge (direct and mixed ones, and those with no cue
    word)."""
    if f.kind != "indirect" or f.cue_tok is None or f.rule not in _FILTERED_RULES:
        return None
    return _quote_filter.candidate_features(doc, f.cue_tok, f.rule, start, end, f.who, f.among)


_FILTERED_RULES = ("speech", "object", "clause", "according", "belief", "noun")


def _likely_attribution(doc: Doc, f: _Found, start: int, end: int) -> bool:
    """Whether the learned filter (``curate/extract/_quote_filter.py``, trained on PolNeAR
    train) keeps a reported quote: its probability reaches the shipped threshold."""
    feats = candidate_features(doc, f, start, end)
    if feats is None:
        return True
    model = _quote_filter.shipped_filter()
    return model.probability(feats) >= model.threshold


def _worth_keeping(f: _Found, text: str) -> bool:
    """Drop the shapes that are mostly not speech (measured on PolNeAR train).

    Short quotes with no cue are titles, slogans and scare quotes far more often than
    speech; so are mixed quotes with nobody saying them.
    """
    words = len(text.split())
    if f.kind == "direct" and f.cue is None:
        return words >= 12
    if f.kind == "mixed":
        return f.speaker is not None and words >= 2
    return True


class _Article:
    """Look-ups shared by the passes: paragraphs, quotes, token at a character."""

    def __init__(self, doc: Doc, version: int = 6) -> None:
        self.doc = doc
        #: the rule version (``VERSIONS``) the passes follow
        self.version = version
        self.text = doc_text(doc)
        self.paras = paragraphs(self.text)
        self._para_starts = [s for s, _ in self.paras]
        self.quoted = find_quoted(self.text)
        self._quote_starts = [q.start for q in self.quoted]
        # Every token's character offset, read as one array (no Token object per word).
        self._tok_starts: list[int] = (
            cast("list[int]", doc.to_array([IDX]).tolist()) if len(doc) else []
        )

    def para_of(self, char: int) -> int:
        return max(0, bisect.bisect_right(self._para_starts, char) - 1)

    def tokens(self, start: int, end: int) -> list[Token]:
        lo = bisect.bisect_left(self._tok_starts, start)
        hi = bisect.bisect_left(self._tok_starts, end)
        return [t for t in self.doc[lo:hi] if not t.is_space]

    def in_quote(self, char: int) -> Quoted | None:
        # Quoted stretches are sorted and never overlap: bisect, not scan.
        i = bisect.bisect_right(self._quote_starts, char) - 1
        if i >= 0 and char < self.quoted[i].end:
            return self.quoted[i]
        return None


# ---------------------------------------------------------------------------- cues


def _according(tok: Token) -> bool:
    """``according`` followed by ``to``."""
    return tok.lower_ == "according" and tok.i + 1 < len(tok.doc) and tok.nbor(1).lower_ == "to"


def _maybe_cues(doc: Doc) -> Iterable[Token]:
    """The tokens :func:`_is_cue` can accept (verbs, auxiliaries, ``according``) and the
    nouns of ``NOUN_CUES``, in order; read from the doc's arrays rather than by making a
    Token of every word."""
    import numpy as np
    from spacy.attrs import LOWER, POS
    from spacy.strings import get_string_id
    from spacy.symbols import AUX, NOUN, VERB  # type: ignore[import-not-found]

    arr = doc.to_array([POS, LOWER])
    pos, lower = arr[:, 0], arr[:, 1]
    nouns = (pos == NOUN) & np.isin(lower, _NOUN_CUE_IDS)
    hits = (pos == VERB) | (pos == AUX) | (lower == get_string_id("according")) | nouns
    return (doc[int(i)] for i in hits.nonzero()[0])


def _noun_cue_ids() -> list[int]:
    from spacy.strings import get_string_id

    return sorted(get_string_id(w) for w in _NOUN_CUE_FORMS)


_NOUN_CUE_IDS = _noun_cue_ids()


def _noun_contents(tok: Token) -> Iterable[tuple[int, int, bool]]:
    """The ``that`` clause a noun of ``NOUN_CUES`` reports (``the claim that X``), not a
    relative clause (``the claim that he made``: there ``that`` is no ``mark``)."""
    if tok.pos_ != "NOUN" or lemma(tok).lower() not in NOUN_CUES:
        return
    for c in tok.children:
        if c.dep_ in ("acl", "ccomp") and any(
            m.dep_ == "mark" and m.lower_ == "that" for m in c.children
        ):
            yield (*_tok_chars(tok.doc[c.left_edge.i : c.right_edge.i + 1]), False)


# spaCy's rule lemmatizer makes ``hop`` of ``hopes``/``hoped``/``hoping`` (only ``hope``
# stays), so ``hoping to ...`` never reached the ``hope`` cue (PolNeAR train: 34 such
# attributions, none found).
_LEMMA_SLIPS = {"hop": "hope"}


def _is_cue(tok: Token, lexicon: frozenset[str] = SPEECH_VERBS) -> bool:
    if _according(tok):
        return True
    if tok.pos_ not in ("VERB", "AUX"):
        return False
    word = lemma(tok).lower()
    word = _LEMMA_SLIPS.get(word, word)
    if word == "point" and lexicon is SPEECH_VERBS:
        return any(c.dep_ == "prt" and c.lower_ == "out" for c in tok.children)
    return word in lexicon


# Verbs that attribute a quote standing next to them but report no clause of their own
# (``“...,” the statement read``, ``Hannity pressed``, ``Trump went on``, ``she shot
# back``): PolNeAR train has 50 such direct quotes, 20 of them with ``read``.
QUOTE_ONLY_CUES = _words("read remember elaborate press begin start")
# ... and those that do only with their particle.
_QUOTE_ONLY_PHRASAL = {"go": "on", "shoot": "back", "fire": "back", "chime": "in", "cut": "in"}


def _is_quote_cue(tok: Token) -> bool:
    """A cue of a direct quote: a speech verb (:func:`_is_cue`) or one of
    ``QUOTE_ONLY_CUES`` / ``_QUOTE_ONLY_PHRASAL``."""
    if _is_cue(tok):
        return True
    if tok.pos_ != "VERB":
        return False
    word = lemma(tok).lower()
    if word in _QUOTE_ONLY_PHRASAL:
        return _phrasal_particle(tok) is not None
    return word in QUOTE_ONLY_CUES


def _phrasal_particle(tok: Token) -> Token | None:
    """The particle right after a verb of ``_QUOTE_ONLY_PHRASAL`` (``shot back``; the
    parser makes it a ``prt`` or an ``advmod``)."""
    particle = _QUOTE_ONLY_PHRASAL.get(lemma(tok).lower())
    for c in tok.rights:
        if c.i == tok.i + 1 and c.dep_ in ("prt", "advmod") and c.lower_ == particle:
            return c
    return None


def _cue_span(tok: Token) -> tuple[int, int]:
    if _according(tok):
        return tok.idx, tok.nbor(1).idx + len(tok.nbor(1))
    end = tok.idx + len(tok)
    for c in tok.rights:
        if c.dep_ == "prt" and c.i == tok.i + 1:
            end = c.idx + len(c)  # "point out"
    particle = _phrasal_particle(tok)
    if particle is not None:
        end = particle.idx + len(particle)  # "shot back"
    return tok.idx, end


def _speaker_token(tok: Token, art: _Article) -> Token | None:
    """The token heading who said it: subject, ``according to X``, or inverted subject.

    Subjects inside quote marks are parser slips (the quote's own words), never speakers.
    """
    if _according(tok):
        to = tok.nbor(1)
        for c in list(to.children) + list(tok.children):
            if c.dep_ == "pobj":
                return c
        # Misparsed ("according to show insiders" with "show" a verb): the last noun of
        # the words right after "to".
        nouns = []
        for t in tok.doc[to.i + 1 : min(to.i + 6, tok.sent.end)]:
            if t.is_punct:
                break
            if t.pos_ in ("NOUN", "PROPN", "PRON"):
                nouns.append(t)
        return nouns[-1] if nouns else None
    if any(c.dep_ == "auxpass" for c in tok.children):
        # Passive cue: "X is said to ..." names no speaker; "seen by organizers" does.
        for c in tok.children:
            if c.dep_ == "agent":
                objs = [o for o in c.children if o.dep_ == "pobj"]
                return objs[0] if objs else None
        return None
    v = tok
    for step in range(6):
        subjects = [
            c for c in v.children if c.dep_ in _SUBJ and not c.is_punct and not _quote_at(art, c)
        ]
        # A clause the participle hangs on may itself be reported speech ("Trump said the
        # deadlock has kept us safe, before claiming ..."): its subject is not the speaker.
        if subjects and (step == 0 or v.dep_ != "ccomp"):
            return min(subjects, key=lambda c: abs(c.i - v.i))
        # Participles and conjoined verbs take the subject of the verb they hang on.
        if v.head is not v and (
            (v.dep_ == "ccomp" and step > 0)
            or v.dep_ in ("advcl", "xcomp", "conj", "pcomp", "acl", "prep", "pobj")
            or v.tag_ == "VBG"
        ):
            v = v.head
            continue
        break
    # Inverted order ("..., said Kirby"): a noun right after the verb.
    for c in tok.doc[tok.i + 1 : tok.i + 5]:
        if c.is_punct or _quote_at(art, c) or c.pos_ == "ADP":
            break
        if c.pos_ in ("PROPN", "NOUN", "PRON") and c.ent_type_ not in _NOT_SPEAKER:
            # The phrase's head: climb compounds ("said Robin Maynard" -> Maynard).
            while c.dep_ in ("compound", "amod", "det") and c.head.i > c.i:
                c = c.head
            return c
    return _noun_before(tok, art)


def _noun_before(tok: Token, art: _Article) -> Token | None:
    """The noun right before a cue that has no subject in the parse: in ``“...,”
    screenwriter Cole Haddon wrote`` the parser may hang the name on something else, but
    a name between a closing quote mark and its cue is who spoke."""
    doc = tok.doc
    i = tok.i - 1
    while i >= 0 and doc[i].pos_ in ("ADV", "AUX", "PART") and tok.i - i < 4:
        i -= 1
    if i < 0 or _quote_at(art, doc[i]) or doc[i].pos_ not in ("PROPN", "NOUN"):
        return None
    if doc[i].ent_type_ in _NOT_SPEAKER:
        return None
    first = i  # the words before it, back to the quote mark or comma (a role, a title)
    while first > 0 and not doc[first - 1].is_punct and i - first < 6:
        first -= 1
    if first == 0 or not (doc[first - 1].is_quote or doc[first - 1].text == ","):
        return None  # only right after the quote (or a comma): `“...,” NAME said`
    return doc[i]


def _noun_speaker(tok: Token) -> Token | None:
    """Whose claim a noun cue reports: its possessor (``Trump's claim``, ``his view``);
    none otherwise (in ``He rejected the claim that ...`` the claim is not his)."""
    owners = [c for c in tok.children if c.dep_ == "poss"]
    return owners[0] if owners else None


def _np(tok: Token) -> tuple[int, int]:
    """Character span of the noun phrase headed by ``tok``, without clauses or appositions."""
    if tok.lower_ in RELATIVE or tok.lower_ in PRONOUNS:
        return tok.idx, tok.idx + len(tok)
    keep = [tok]
    stack = [tok]
    while stack:
        t = stack.pop()
        for c in t.children:
            if c.dep_ not in _NP_DROP and not (c.dep_ == "prep" and c.i > tok.i):
                keep.append(c)
                stack.append(c)
    lo = min(t.i for t in keep)
    hi = max(t.i for t in keep)
    # Never run over the head into a following clause, nor back over a quote mark into
    # the quote (a misparse may hang the quote on the speaker's name).
    doc = tok.doc
    lo = max([lo] + [k + 1 for k in range(lo, tok.i) if doc[k].is_quote])
    while lo < tok.i and doc[lo].is_punct:
        lo += 1
    while hi > tok.i and doc[hi].is_punct:
        hi -= 1
    return doc[lo].idx, doc[hi].idx + len(doc[hi])


# ---------------------------------------------------------------------- direct quotes


def _standalone(art: _Article, q: Quoted) -> bool:
    """A quote that is a clause of its own, not a few quoted words inside a sentence.

    It must start a sentence, a paragraph or follow ``:``/``,``/a cue verb, and end a
    clause: punctuation inside the closing mark or right after it.
    """
    text = art.text
    i = q.start - 1
    while i >= 0 and text[i].isspace() and text[i] not in "\r\n":
        i -= 1
    starts = i < 0 or text[i] in "\r\n.!?:;,—–-(\"“”‘’'[]"
    if not starts:
        before = art.tokens(max(0, i - 40), i + 1)
        starts = bool(before) and _is_cue(before[-1])
    if not starts:
        return False
    inner = text[q.start : q.end].rstrip(CLOSING).rstrip()
    if inner[-1:] in ".,!?…—–-:;":
        return True
    j = q.end
    while j < len(text) and text[j].isspace() and text[j] not in "\r\n":
        j += 1
    return j >= len(text) or text[j] in '\r\n.,;:!?—–-)[]“"' or text[j].isupper()


def _find_cue(art: _Article, q: Quoted, inside: list[Token]) -> Token | None:
    """The speech verb a quote belongs to: its syntactic head, or one right after/before it.

    A quote opening a paragraph may belong to a cue ending the previous one with a colon.
    """
    para = art.para_of(q.start)
    first = para - 1 if _after_colon_paragraph(art, q, para) else para
    para = art.para_of(q.end - 1)  # a quote may run over several paragraphs
    ids = {t.i for t in inside}
    for t in inside:
        h = t.head
        if (
            h.i not in ids
            and _is_quote_cue(h)
            and first <= art.para_of(h.idx) <= para
            and not _quote_at(art, h)
        ):
            return h
    # After: `“...,” Sullivan said.` / `..., said Kirby, noting` / `he said, according to`.
    after = art.tokens(q.end, art.paras[para][1])[:8]
    # v7: after a quote closing with a full stop, a cue behind a comma, or one with a
    # clause of its own, reports the next sentence: `“... the bully.” South Carolina, he
    # said, was ...`, `“... my opinion.” Reid said both are ...` (``_closes_sentence``;
    # PolNeAR train, direct subset: 2 more matches, 5 more exact, 3 fewer spurious).
    closed = art.version >= 7 and _closes_sentence(art.text, q)
    for t in after:
        if art.in_quote(t.idx):
            break
        if _is_quote_cue(t):
            if closed and any(c.dep_ == "ccomp" and c.i > t.i for c in t.children):
                break
            return t
        if t.text in ".!?" or t.text in ("“", "‘") or (closed and t.is_punct):
            break
    # Before: `Sullivan said: “...”` / `He added, “...”`.
    before = art.tokens(art.paras[first][0], q.start)[-20:]
    for t in reversed(before):
        if art.in_quote(t.idx) or t.text in ".!?":
            break
        if _is_quote_cue(t):
            return t
    return None


def _closes_sentence(text: str, q: Quoted) -> bool:
    """Whether quote ``q`` ends with a full stop inside its closing mark (``bully.”``)."""
    return q.closed and text[q.start : q.end].rstrip(CLOSING).rstrip().endswith(".")


def _after_colon_paragraph(art: _Article, q: Quoted, para: int) -> bool:
    start = art.paras[para][0]
    return (
        para > 0
        and not art.text[start : q.start].strip()
        and art.text[art.paras[para - 1][0] : art.paras[para - 1][1]].rstrip().endswith(":")
    )


def _colon_cue(art: _Article, q: Quoted) -> tuple[tuple[int, int], Token | None] | None:
    """``Trump boomed: “...”`` / ``Jones: “...”``: the verb (else the colon) before a quote.

    Returns the cue span and the token heading the speaker: the verb's subject, or the
    noun phrase right before the colon in a headline-like ``Name: “...”``.
    """
    i = q.start - 1
    while i >= 0 and art.text[i].isspace():
        i -= 1
    if i < 0 or art.text[i] != ":":
        return None
    before = art.tokens(max(0, i - 200), i)
    if not before or _quote_at(art, before[-1]):
        return (i, i + 1), None
    last = before[-1]
    h = last
    for _ in range(4):
        if h.pos_ == "VERB":
            who = _speaker_token(h, art)
            if who is not None and not _quote_at(art, who):
                return _cue_span(h), who
            break
        if h.head is h or h.head.i > i:
            break
        h = h.head
    who = None
    if last.pos_ in ("PROPN", "NOUN", "PRON"):
        who = last
        while who.dep_ in ("compound", "amod", "det") and who.head.i > who.i:
            who = who.head
    return (i, i + 1), who


def _dash_cue(art: _Article, q: Quoted) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """``“...” ― Jane Smith``: a quote signed with a dash and a name (vox pops, epigraphs).

    Returns the cue (the dash) and the speaker span. Every dash form counts the same
    (``—``, ``-``, ``--``, with or without spaces; the table is
    :data:`curate.marks.DASHES`), also when the tokenizer keeps the dash
    on the name (``-Commissioner`` is one token): the speaker then starts after the dash.
    """
    dash = signature_dash(art.text, q.end)
    if dash is None:
        return None
    after = art.tokens(dash[1], art.paras[art.para_of(dash[0])][1])
    n = bisect.bisect_right(art._tok_starts, dash[1]) - 1
    glued = art.doc[n] if n >= 0 and art.doc[n].idx < dash[1] else None
    if glued is not None and dash[1] < glued.idx + len(glued):
        if not art.text[dash[1]].isupper():
            return None
        if not after or after[0].pos_ != "PROPN":
            return dash, (dash[1], glued.idx + len(glued))
        return dash, (dash[1], _np(_name_head(after[0]))[1])
    if not after or after[0].pos_ != "PROPN":
        return None
    return dash, _np(_name_head(after[0]))


def _name_head(tok: Token) -> Token:
    """The last word of the proper name starting at ``tok`` (``Jane`` -> ``Smith``)."""
    while tok.i + 1 < len(tok.doc) and tok.doc[tok.i + 1].pos_ == "PROPN" and tok.head.i > tok.i:
        tok = tok.head
    return tok


def _splits(art: _Article, prev: _Found, q: Quoted) -> bool:
    """Whether ``q`` continues ``prev``: right after the attribution that interrupts it
    (``“A,” he said. “B.”``, also when B is the next paragraph) or right after it."""
    between = art.text[prev.end : q.start]
    if not between.strip():
        return art.para_of(q.start) - art.para_of(prev.end - 1) <= 1
    if prev.cue is None or art.para_of(q.start) - art.para_of(prev.end - 1) > 1:
        return False
    if not (prev.first_end <= prev.cue[0] and prev.cue[1] <= q.start and prev.end <= q.start):
        return False
    if (
        art.para_of(q.start) != art.para_of(prev.end - 1)
        and not art.text[art.paras[art.para_of(q.start)][0] : q.start].isspace()
        and art.paras[art.para_of(q.start)][0] != q.start
    ):
        return False  # the next paragraph must open with the quote
    if between.rstrip().endswith(":"):
        return False  # a lead-in of its own: `... Trump went further: “B”`
    inner = [t for t in art.tokens(prev.end, q.start) if not t.is_punct]
    if any(t.is_sent_start for t in inner[1:]):
        return False  # another sentence stands between: `“A,” he said. Then ... “B”`
    others = [o for o in art.quoted if prev.end <= o.start < q.start]
    return len(between) < 400 and all(len(art.text[o.start : o.end].split()) < 6 for o in others)


def _lead_in(art: _Article, cue: Token, q: Quoted, inside: list[Token]) -> int | None:
    """Where reported words begin when a quote closes the sentence its cue reports:
    ``X said (that) <3+ words of the writer's>, “...”``; None for any other shape."""
    doc = art.doc
    sent = cue.sent
    if not (cue.i < inside[0].i < sent.end) or art.para_of(cue.idx) != art.para_of(q.start):
        return None
    between = list(doc[cue.i + 1 : inside[0].i])
    if any(_quote_at(art, t) or t.text in ".!?" or _is_cue(t) for t in between):
        return None
    if sum(1 for t in between if t.is_alpha and t.lower_ != "that") < 3:
        return None
    rest = art.text[q.end : art.paras[art.para_of(q.start)][1]]
    if rest.strip(" .,;!?)\t") and sent.end_char > q.end + 2:
        return None  # the quote must close the sentence
    that = [
        t for t in between[:6] if t.lower_ == "that" and t.dep_ == "mark" and t.head.head == cue
    ]
    first = that[0] if that else next((t for t in between if not t.is_punct), None)
    return first.idx if first is not None else None


def _quote_at(art: _Article, tok: Token) -> bool:
    return art.in_quote(tok.idx) is not None


def _direct_quotes(art: _Article, taken_cues: set[int]) -> list[_Found]:
    out: list[_Found] = []
    prev: _Found | None = None
    prev_para = -10
    for q in art.quoted:
        if not _standalone(art, q):
            continue
        inside = art.tokens(q.start, q.end)
        if not inside:
            continue
        cue = _find_cue(art, q, inside)
        # (Not when the cue already attributes the quote before: `“A,” X said, ..., “b”`.)
        fresh = cue is not None and cue.i not in taken_cues
        lead = _lead_in(art, cue, q, inside) if cue is not None and fresh else None
        if cue is not None and lead is not None:
            # `Ryan said it's unrealistic to think that ..., “our oceans ...”`: the quote
            # ends what the cue reports, so the whole report is one mixed quote.
            taken_cues.add(cue.i)
            m = _Found(lead, q.end, "mixed", cue=_cue_span(cue), rule="lead-in", cue_tok=cue)
            who = _speaker_token(cue, art)
            if who is not None and not _quote_at(art, who):
                m.speaker = _np(who)
            out.append(m)
            continue
        para = art.para_of(q.start)
        dash = _dash_cue(art, q) if cue is None else None
        same_cue = cue is not None and prev is not None and prev.cue == _cue_span(cue)
        if (cue is None or same_cue) and not dash and prev is not None and _splits(art, prev, q):
            # `“A,” he said. “B.”` is one quote split by its attribution: one content
            # of two fragments, as PolNeAR annotates it.
            prev.parts.append((q.start, q.end))
            prev.end = q.end
            continue
        f = _Found(q.start, q.end, "direct", first_end=q.end, parts=[(q.start, q.end)])
        colon = _colon_cue(art, q) if cue is None else None
        if cue is not None:
            taken_cues.add(cue.i)
            f.cue, f.cue_tok = _cue_span(cue), cue
            who = _speaker_token(cue, art)
            if who is not None and not _quote_at(art, who):
                f.speaker = _np(who)
        elif colon is not None:
            f.cue, f.rule = colon[0], "direct-signed"
            f.speaker = _np(colon[1]) if colon[1] is not None else None
        elif dash is not None:
            f.cue, f.speaker = dash
        elif prev is not None and para - prev_para <= 1:
            # A continuation: same speaker as the quote just before.
            f.speaker, f.rule = prev.speaker, "direct-continued"
        elif sum(1 for t in inside if t.is_alpha) < 4:
            continue  # a title or scare quote on its own, not speech
        out.append(f)
        prev, prev_para = f, art.para_of(q.end - 1)
    return out


def _join_after_report(art: _Article, found: list[_Found]) -> list[_Found]:
    """Join a quote with no attribution of its own to the reported quote whose post-posed
    attribution stands right before it: in ``Obama “felt ...” climate change, Axelrod
    said. “This is core stuff.”`` PolNeAR annotates one attribution whose content has two
    fragments (the reported words and the quote), source and cue between them, as it
    does for ``“A,” he said. “B.”`` (:func:`_splits`). Without the join the quote stood
    alone with no cue, or took the speaker of an older quote.
    """
    joined: set[int] = set()
    reports = sorted(
        (g for g in found if g.kind != "direct" and g.cue is not None and not g.parts),
        key=lambda g: (g.end, -g.start),  # of two ending together, the outer one
    )
    ends = [g.end for g in reports]  # as sorted; a joined report's end moves, it is skipped
    for f in found:
        if f.kind != "direct" or f.rule not in ("direct", "direct-continued") or f.cue:
            continue
        i = bisect.bisect_right(ends, f.start) - 1  # the last report ending before f
        while i >= 0 and id(reports[i]) in joined:
            i -= 1
        if i < 0 or not _continues_report(art, reports[i], f):
            continue
        g = reports[i]
        g.parts = [(g.start, g.end), *f.parts]
        g.end, g.kind = f.end, "mixed"
        joined.add(id(g))
        f.parts = []  # taken: marks f for removal
    return [f for f in found if f.kind != "direct" or f.parts]


def _continues_report(art: _Article, g: _Found, f: _Found) -> bool:
    """Whether quote ``f`` continues reported quote ``g``: ``g``'s cue (and speaker) stand
    between them and nothing else does: no other sentence, no colon lead-in, no quote,
    and ``f`` follows in the same paragraph or opens the next one."""
    assert g.cue is not None
    between = art.text[g.end : f.start]
    if g.cue[1] <= g.start and not between.strip(" \t\r\n.,;"):
        # `Carter said that ... would not happen. / “That's because ...”`
        return art.para_of(f.start) - art.para_of(g.end - 1) <= 1
    if not (g.end <= g.cue[0] and g.cue[1] <= f.start):
        return False
    if g.speaker is not None and not (g.end <= g.speaker[0] and g.speaker[1] <= f.start):
        return False
    para = art.para_of(f.start)
    if para - art.para_of(g.end - 1) > 1:
        return False
    if para != art.para_of(g.end - 1) and art.text[art.paras[para][0] : f.start].strip():
        return False
    if between.rstrip().endswith(":") or len(between) > 200:
        return False
    if any(g.end <= q.start < f.start for q in art.quoted):
        return False
    inner = [t for t in art.tokens(g.end, f.start) if not t.is_punct]
    return not any(t.is_sent_start for t in inner[1:])


# -------------------------------------------------------------------- reported speech


def _reported(art: _Article, direct: list[_Found], taken_cues: set[int]) -> list[_Found]:
    out: list[_Found] = []
    doc = art.doc
    dspans = [(f.start, f.end) for f in direct]
    for tok in _maybe_cues(doc):
        if tok.i in taken_cues or _quote_at(art, tok):
            continue
        if tok.pos_ == "NOUN":
            contents = list(_noun_contents(tok))
            rule = "noun"
        elif _is_cue(tok):
            contents = list(_contents(tok))
            rule = "according" if _according(tok) else "speech"
        elif _is_cue(tok, OBJECT_CUES):
            contents = list(_clause_contents(tok))
            rule = "clause"
        elif _is_cue(tok, BELIEF_VERBS):
            contents = list(_clause_contents(tok))
            rule = "belief"
        else:
            continue
        if not contents and _is_cue(tok, OBJECT_CUES):
            contents = list(_object_contents(tok))
            rule = "object"
        for start, end, aside in contents:
            if end - start < 3:
                continue
            if any(_overlap((start, end), d) * 2 > min(end - start, d[1] - d[0]) for d in dspans):
                continue  # the direct quote already covers it
            start, end = _cover_quotes(art, start, end)
            if rule != "according":
                # (An aside holding quoted words is the speaker's, not the writer's.)
                cut = _before_aside_tail(doc, start, end)
                if art.in_quote(cut) is None and not any(cut <= q.start < end for q in art.quoted):
                    end = cut
            kind = "mixed" if any(start <= q.start < end for q in art.quoted) else "indirect"
            who = _noun_speaker(tok) if rule == "noun" else _speaker_token(tok, art)
            if who is not None and start <= who.idx < end and not aside:
                start = _cue_span(tok)[1]  # "that many economists say is ...": after the cue
            f = _Found(start, end, kind, cue=_cue_span(tok), rule=rule, cue_tok=tok)
            if len(contents) > 1:
                after = [c for c in contents if c[0] >= tok.idx]
                f.among = (
                    "before" if start < tok.idx else "first" if after[0][0] == start else "later"
                )
            if who is not None and (aside or not (start <= who.idx < end)):
                f.speaker, f.who = _np(who), who
            if aside:
                # "The problem, she said, is ...": the aside is not content.
                sub = list(tok.subtree)
                a0, a1 = sub[0].idx, sub[-1].idx + len(sub[-1])
                if start < a0 and a1 < end:
                    f.parts = [(start, a0), (a1, end)]
            out.append(f)
    return out


# `PENCE: I think ...` / `JAKE TAPPER: Do you think ...`: a speaker's name in capitals
# opening a paragraph, then a colon and what they said (a transcript's turn).
_TURN = re.compile(r"[ \t]*([A-Z][A-Z.'’\- ]{0,40}[A-Z])[ \t]*:[ \t]+(?=\S)")


def _transcript_turns(art: _Article, found: list[_Found]) -> list[_Found]:
    """Transcript turns: a paragraph opening with a name in capitals and a colon
    (``PENCE: ...``) is what that person said; the name is the speaker, the colon the
    cue, the rest of the paragraph the content (PolNeAR annotates them so). The name must
    be one the article names in ordinary case (an entity), which leaves out labels such
    as ``UPDATE:`` or ``BYLINE:``, and ``Q:``/``A:``, which PolNeAR annotates in fewer
    than a third of the interviews in train. A turn opening with a quote mark is a
    direct quote signed with a colon (:func:`_colon_cue`)."""
    # Words of the names the article writes in ordinary case (not the labels themselves).
    names = {
        w.lower()
        for e in art.doc.ents
        if e.label_ in _NAMED and not e.text.isupper()
        for w in e.text.split()
    }
    taken = [(f.start, f.end) for f in found if f.kind == "direct"]
    out = []
    for p0, p1 in art.paras:
        m = _TURN.match(art.text, p0, p1)
        if m is None or art.text[m.end()] in "\"“‘'":
            continue
        if m.group(1).split()[-1].lower() not in names:
            continue
        start, end = m.end(), p1
        if any(_overlap((start, end), d) for d in taken):
            continue
        kind = "mixed" if any(start <= q.start < end for q in art.quoted) else "indirect"
        colon = art.text.index(":", m.end(1))
        f = _Found(start, end, kind, cue=(colon, colon + 1), rule="transcript")
        f.speaker = (m.start(1), m.end(1))
        out.append(f)
    return out


def _partial(art: _Article, found: list[_Found], taken_cues: set[int]) -> list[_Found]:
    """Quoted words inside a sentence that no reported speech covers: mixed quotes.

    The content is what the governing verb says after itself (``portray “illegal”
    immigrants as criminals``); the verb is the cue and its subject the speaker.
    """
    out: list[_Found] = []
    spans = [(f.start, f.end) for f in found]
    for q in art.quoted:
        if any(s <= q.start and q.end <= e for s, e in spans):
            continue
        inside = art.tokens(q.start, q.end)
        if not inside:
            continue
        verb, via_prep = _governing_verb(inside)
        if verb is None or _quote_at(art, verb) or verb.i in taken_cues:
            continue
        cue_like = _is_cue(verb) or _is_cue(verb, OBJECT_CUES)
        if len(inside) < 6 and not cue_like:
            continue  # a title or a scare quote: "in an interview with “Fox News Sunday”"
        if via_prep and _is_cue(verb) and not _is_cue(verb, OBJECT_CUES):
            continue
        # What the verb says after itself, without a second predicate ("and called ...").
        args = [c for c in verb.rights if c.dep_ not in _NOT_ARGS]
        if not args:
            continue
        said = verb.doc[args[0].left_edge.i : args[-1].right_edge.i + 1]
        start, end = said.start_char, max(q.end, said.end_char)
        if not (start <= q.start):
            continue
        # `what she called a “rant,”`: the relative word and its clause are the content.
        wh = [c for c in verb.lefts if c.lower_ in _WH and c.dep_ in _OBJ_DEPS | {"pobj"}]
        start = wh[0].idx if wh else start
        start, end = _cover_quotes(art, start, end)
        f = _Found(start, end, "mixed", cue=_cue_span(verb), rule="partial", cue_tok=verb)
        who = _speaker_token(verb, art)
        if who is not None and (wh or not (start <= who.idx < end)) and not _quote_at(art, who):
            f.speaker = _np(who)
        spans.append((start, end))
        out.append(f)
    return out


def _governing_verb(inside: list[Token]) -> tuple[Token | None, bool]:
    """The verb a quoted stretch hangs on, and whether it hangs on it through a preposition
    of the verb's own (``said in “Fox News Sunday”``, not ``stressed the need for “...”``)."""
    ids = {t.i for t in inside}
    for t in inside:
        h, child = t.head, t
        for _ in range(4):
            if h.i in ids or h is h.head and h.pos_ != "VERB":
                break
            if h.pos_ == "VERB":
                return h, child.dep_ in ("prep", "agent", "pobj")
            child, h = h, h.head
    return None, False


def _contents(tok: Token) -> Iterable[tuple[int, int, bool]]:
    """Character spans of what a cue reports, and whether the cue is an aside inside it."""
    doc = tok.doc
    if _according(tok):
        sent = tok.sent
        pp_lo = tok.i
        # The phrase ends with the source's noun phrase (the parser may hang the whole
        # rest of the sentence on it as an apposition).
        objs = [c for c in list(tok.nbor(1).children) + list(tok.children) if c.dep_ == "pobj"]
        if objs:
            np_end = _np(objs[0])[1]
            pp_hi = max(t.i for t in doc[tok.i : sent.end] if t.idx < np_end)
        else:
            pp_hi = max(max(t.i for t in tok.subtree), tok.i + 1)
        left = (sent.start, pp_lo)
        right = (pp_hi + 1, sent.end)
        lo, hi = max(left, right, key=lambda r: r[1] - r[0])
        if hi - lo >= 3:
            yield (*_tok_chars(doc[lo:hi]), False)
        return
    comps = [c for c in tok.children if c.dep_ == "ccomp"]
    for c in comps:
        yield (*_tok_chars(doc[c.left_edge.i : _before_cue_conj(c) + 1]), False)
    if not comps:
        post = _post_posed(tok)
        if post is not None:
            yield (*post, False)
            return
    if not comps and tok.dep_ == "parataxis" and lemma(tok).lower() in PARENTHETICAL:
        # "The only problem, Ms. Bigbee said, is ...": the sentence around the aside.
        sent = tok.sent
        lo, hi = sent.start, sent.end
        while hi > lo and (doc[hi - 1].is_punct or doc[hi - 1].is_space):
            hi -= 1
        if hi - lo >= 4:
            yield (*_tok_chars(doc[lo:hi]), True)


def _before_cue_conj(clause: Token) -> int:
    """Last token of a reported clause, stopping before a second predicate that reports
    on its own: in ``said he found Trump “very charming” and called his standing
    “unheard of.”`` the ``called`` part is a quote of its own."""
    doc = clause.doc
    hi = clause.right_edge.i
    conj = [c for c in clause.rights if c.dep_ == "conj" and c.pos_ == "VERB"]
    # `... , suggesting that ...`: a participle of saying after a comma reports apart.
    conj += [
        c
        for c in clause.rights
        if c.dep_ == "advcl" and c.tag_ == "VBG" and doc[c.left_edge.i - 1].text in ",—–-"
    ]
    cues = sorted((c for c in conj if _is_cue(c) or _is_cue(c, OBJECT_CUES)), key=lambda c: c.i)
    if cues:
        hi = cues[0].left_edge.i - 1
        while hi > clause.i and (doc[hi].dep_ == "cc" or doc[hi].is_punct or doc[hi].is_space):
            hi -= 1
    return hi


def _post_posed(tok: Token) -> tuple[int, int] | None:
    """``<clause>, the paper wrote.``: a cue closing its sentence after a comma reports
    everything before the comma, whatever the parser made of it."""
    doc = tok.doc
    sent = tok.sent
    subj = [c for c in tok.lefts if c.dep_ in _SUBJ]
    first = subj[-1].left_edge.i if subj else tok.i
    if first <= sent.start:
        return None
    if any(t.dep_ in ("dobj", "ccomp", "xcomp") for t in tok.rights):
        return None
    i = first - 1
    while i > sent.start and (doc[i].is_quote or doc[i].is_space):
        i -= 1
    if doc[i].text != ",":
        return None
    if any(
        not (t.is_punct or t.is_space or t.dep_ in ("npadvmod", "advmod", "prep", "pobj"))
        for t in doc[tok.i + 1 : sent.end]
    ):
        return None
    lo, hi = sent.start, first
    while hi > lo and (doc[hi - 1].is_punct or doc[hi - 1].is_space) and not doc[hi - 1].is_quote:
        hi -= 1
    if hi - lo < 3:
        return None
    return doc[lo].idx, doc[hi - 1].idx + len(doc[hi - 1])


def _clause_contents(tok: Token) -> Iterable[tuple[int, int, bool]]:
    doc = tok.doc
    for c in tok.children:
        if c.dep_ == "ccomp":
            yield (*_tok_chars(doc[c.left_edge.i : c.right_edge.i + 1]), False)


_NOT_ARGS = _words("conj cc punct advcl mark parataxis")
_WH = _words("what which whom that")
_OBJ_DEPS = _words("dobj xcomp oprd ccomp dative")


def _object_contents(tok: Token) -> Iterable[tuple[int, int, bool]]:
    """What a verb like ``urge``, ``call for`` or ``want`` reports: its object(s)."""
    doc = tok.doc
    right = [c for c in tok.rights if c.dep_ in _OBJ_DEPS]
    if not right:
        # "calls for X", "talked about X": the preposition belongs to the cue.
        preps = [c for c in tok.rights if c.dep_ == "prep" and c.i <= tok.i + 2]
        objs = [o for p in preps[:1] for o in p.children if o.dep_ in ("pobj", "pcomp")]
        right = objs[:1]
    if not right:
        return
    lo = min(c.left_edge.i for c in right)
    # The verb's other complements after the object belong to what it reports
    # (``cited disparaging remarks ... as examples of ...``), as in PolNeAR.
    args = [
        c
        for c in tok.rights
        if c.i >= right[0].i
        and (c.dep_ not in _NOT_ARGS or _reported_advcl(c))
        and not _circumstance(c)
    ]
    hi = max(c.right_edge.i for c in right + args)
    if hi - lo >= 1:
        yield (*_tok_chars(doc[lo : hi + 1]), False)


def _before_aside_tail(doc: Doc, start: int, end: int) -> int:
    """Where reported content ``start:end`` ends when it closes with an aside of the
    writer's after a comma: a non-restrictive relative clause (``..., which includes
    building a border wall``) or a ``while`` clause. PolNeAR leaves these out more often
    than not (PolNeAR train: 47 such contents match gold only when cut, 28 only when
    kept)."""
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None:
        return end
    for k in range(2, len(span) - 1):
        if span[k].text != ",":
            continue
        tail = span[k + 1 :]
        roots = [t for t in tail if not (tail.start <= t.head.i < tail.end) or t.head is t]
        if len(roots) != 1:
            continue
        root = roots[0]
        if root.head.i >= span.end:
            return end
        relative = root.dep_ == "relcl" or tail[0].lower_ in ("which", "who", "whom", "whose")
        marks = {c.lower_ for c in root.children if c.dep_ == "mark"}
        if relative or (root.dep_ == "advcl" and "while" in marks):
            return span[k].idx
        return end
    return end


# Where and how something was said, after the object of a cue: ``in an interview``.
_VENUES = _words(
    """
    interview email statement speech rally call conference debate event appearance letter
    post tweet video ad program show
    """
)


def _circumstance(arg: Token) -> bool:
    """A complement of an object cue that says when or where it was said, not what: ``last
    week``, ``on Tuesday``, ``during the debate``, ``in a fundraising email``. PolNeAR
    leaves it out of the content (``endorsed Cruz | last week``; train: 14 more matches)."""
    if arg.dep_ == "npadvmod":
        return any(t.ent_type_ in ("DATE", "TIME") for t in arg.subtree)
    if arg.dep_ != "prep":
        return False
    objs = [o for o in arg.children if o.dep_ == "pobj"]
    if arg.lower_ == "during" or any(o.ent_type_ in ("DATE", "TIME") for o in objs):
        return True
    return arg.lower_ in ("in", "at") and any(lemma(o).lower() in _VENUES for o in objs)


def _reported_advcl(clause: Token) -> bool:
    """An adverbial clause that belongs to what an object cue reports: an infinitive
    (``urged the party | to ax its superdelegates``) or a question (``asked the students
    | if they were ...``), which the parser hangs on the verb rather than on its object.
    (PolNeAR train: 21 such contents match gold only with the clause, 2 only without.)"""
    if clause.dep_ != "advcl":
        return False
    first = clause.left_edge
    return (first.lower_ == "to" and first.dep_ == "aux") or any(
        c.dep_ == "mark" and c.lower_ in ("if", "whether") for c in clause.children
    )


def _cover_quotes(art: _Article, start: int, end: int) -> tuple[int, int]:
    """Widen a clause to the quote marks of quotes it cuts through (``“A.”`` keeps ``.”``)."""
    for q in art.quoted:
        if (
            q.closed
            and start <= q.start < end < q.end
            and art.para_of(q.end - 1) == art.para_of(end)
        ):
            end = q.end
        if q.start < start < q.end <= end and start - q.start <= 3:
            start = q.start
    return start, end


def _tok_chars(span: SpacySpan) -> tuple[int, int]:
    return span.start_char, span.end_char


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


# ---------------------------------------------------------------------------- speakers


def _resolve_speakers(art: _Article, found: list[_Found]) -> None:
    """Fill ``entity``: the named mention each speaker refers to, where there is one.

    A name heading the speaker phrase is its own entity (``adviser Jake Sullivan``); ``he``/
    ``she`` take the nearest earlier person named outside quotes, preferring subjects;
    ``who`` its antecedent; a definite role (``the NSC spokesperson``) the last named
    person speaking. Indefinite phrases (``a top U.S. security official``) stay unnamed.
    """
    doc = art.doc
    ents = [x for x in doc.ents if x.label_ in _NAMED and not _quote_at(art, x[0])]
    last_person: tuple[int, int] | None = None
    last_group: tuple[int, int] | None = None
    for f in sorted(found, key=lambda f: f.start):
        if f.speaker is None:
            continue
        s, e = f.speaker
        span = doc.char_span(s, e, alignment_mode="expand")
        if span is None or not len(span):
            continue
        head = span.root
        named = [x for x in ents if x.start <= head.i < x.end and x.start_char >= s]
        if named:
            f.entity = (named[0].start_char, named[0].end_char)
            if named[0].label_ == "PERSON":
                last_person = f.entity
            else:
                last_group = f.entity
            continue
        first = span[0].lower_
        if head.lower_ in ("he", "she", "him", "her"):
            f.entity = _nearest_person(ents, s) or last_person
        elif head.lower_ in RELATIVE:
            f.entity = _relative_antecedent(art, head, ents)
        elif head.lower_ in ("they", "it", "we"):
            f.entity = last_group
        elif first in ("the", "this", "that") and lemma(head).lower() in ROLES:
            f.entity = last_person
        if f.entity is not None and f.entity[0] >= s:
            f.entity = None  # never point forward: that is a guess, not a reference


# Role nouns a definite description of a person speaking is headed by.
ROLES = _words(
    """
    spokesperson spokesman spokeswoman official adviser advisor aide secretary minister
    president senator governor candidate nominee leader chairman chairwoman chair director
    coordinator ambassador general mayor congressman congresswoman representative lawmaker
    prosecutor judge analyst expert professor economist source diplomat officer executive
    """
)


def _nearest_person(ents: list[SpacySpan], before: int) -> tuple[int, int] | None:
    """The nearest earlier PERSON, a subject if one is within the last few sentences."""
    people = [x for x in ents if x.label_ == "PERSON" and x.end_char <= before]
    if not people:
        return None
    near = people[-6:]
    subjects = [x for x in near if x.root.dep_ in _SUBJ or x.root.head.dep_ in _SUBJ]
    pick = (subjects or near)[-1]
    if before - pick.end_char > 1500:
        return None
    return pick.start_char, pick.end_char


def _relative_antecedent(
    art: _Article, rel: Token, ents: list[SpacySpan]
) -> tuple[int, int] | None:
    head = rel.head.head if rel.head.dep_ == "relcl" else rel.head
    named = [x for x in ents if x.start <= head.i < x.end]
    if named:
        return named[0].start_char, named[0].end_char
    return None


# ------------------------------------------------------------------------------ spans


# "SEOUL, Sept. 6 (UPI) — ": the dateline opening a wire story is not what anyone said.
_DATELINE = re.compile(
    r"[A-Z][A-Z .,'’\-]{1,40},[^—–\n]{0,40}?(?:\([^)\n]{1,20}\))?\s*[—–-]{1,2}\s+"
)


_CLOSING_DOUBLE = DOUBLE_CLOSE + STRAIGHT_DOUBLE


def _trim(text: str, start: int, end: int, keep_end: bool = False) -> tuple[int, int]:
    """Drop surrounding spaces, a leading dateline or stray closing mark and a final full
    stop outside quotes."""
    m = _DATELINE.match(text, start, end)
    if m and (start == 0 or text[start - 1] in "\r\n"):
        start = m.end()
    while (
        start < end
        and (
            text[start].isspace()
            or text[start] in ",;:—–-"
            # the closing mark of the quote before (spaCy puts it in the next sentence)
            or (text[start] in _CLOSING_DOUBLE + "’" and text[start + 1 : start + 2].isspace())
        )
    ):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if not keep_end and end > start and text[end - 1] in ".;:," and end - 2 >= start:
        end -= 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _end_at_last_mark(text: str, start: int, end: int) -> int:
    """End a mixed quote at its last closing quote mark when a dash aside or a line break
    follows it: ``... and “there's nothing wrong with that” — a claim ...``. (Cutting
    before ``and``/``as``/``while`` clauses too was measured and made PolNeAR worse.)"""
    mark = max(text.rfind(m, start, end) for m in _CLOSING_DOUBLE)
    if mark <= start or mark + 1 >= end:
        return end
    tail = text[mark + 1 : end]
    if tail.lstrip()[:1] in ("—", "–") or any(c in tail for c in "\r\n"):
        return mark + 1
    return end


def _span(text: str, part: tuple[int, int] | None) -> Span | None:
    if part is None:
        return None
    s, e = part
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return Span.of(text, s, e) if e > s else None


def _extraction(doc: Doc, schema: LabelSchema) -> Extraction:
    return Extraction(quotes=tuple(extract_quotes(doc)))


def _extraction_v7(doc: Doc, schema: LabelSchema) -> Extraction:
    return Extraction(quotes=tuple(extract_quotes(doc, version=7)))


# v2 replaced v1 (a second reporting predicate is a quote of its own; a relative word opens
# the quote its verb reports). v3 replaces v2: interrupted quotes are one quote with content
# fragments; negated cues, non-speech verbs inside a report, bare objects of seek / find /
# tell / push and citing a person give no quote; dash signatures of every form. v4 replaces
# v3: a learned filter (``_quote_filter``, trained on PolNeAR train) drops the reported
# quotes least likely to be attributions. v5 replaces v4: reported content stops before the
# writer's aside and at when/where phrases, belief verbs (think, believe, fear ...) and
# nouns of saying (claim, warning ... that) report content, hoping/hoped reach `hope`, and
# the filter is retrained to cut harder for the same recall. v6 replaces v5: a quote
# right after reported speech or its post-posed attribution continues it (one quote, two
# fragments); `read`, `pressed`, `went on`, `shot back` ... attribute a quote next to
# them; a transcript turn (`PENCE: ...`) is what the named speaker said; mixed quotes too
# stop before the writer's aside, and a participle of saying after a comma (`, arguing
# that ...`) reports apart.
V6 = register(
    RuleExtractor(
        "curate.quotes.v6",
        ("quotes",),
        REQUIRED_PIPES,
        _extraction,
        replaces=tuple(f"curate.quotes.v{n}" for n in range(1, 6)),
    )
)
# v7 keeps the rules of v6 and stays beside it (v6 is not retired: its output is
# unchanged, and the hybrid extractor builds on it): a one-fragment mixed quote ends at a
# quoted sentence closing inside its marks or before a participle after `,”`, and a whole
# quoted sentence after a lead-in of where or to whom is a direct quote (``_mixed_bounds``).
V7 = register(RuleExtractor("curate.quotes.v7", ("quotes",), REQUIRED_PIPES, _extraction_v7))
#: The quote extractor of the default pipeline: v6 (v7 scored the same as v6 on PolNeAR
#: dev to the fourth decimal, so it is not better there; README, "Quotes on PolNeAR").
EXTRACTOR = V6

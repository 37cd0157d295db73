"""A learned filter over the reported (indirect) quotes the rules of ``curate.quotes``
suggest: a logistic regression over a few features of each candidate, trained on PolNeAR
train only (``scripts/train_quote_filter.py``), its weights shipped as
``quote_filter.json`` beside this module.

The probability says how likely a candidate is a PolNeAR attribution (matched by
``benchmarks/quotes_polnear.py``); candidates under the file's ``threshold`` give no quote.
The threshold was chosen on out-of-fold probabilities over train articles (five folds by
article) as the highest that loses at most the recall budget written in the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from spacy.tokens import Doc, Token

from curate.extract.nlp import lemma

WEIGHTS = Path(__file__).with_name("quote_filter.json")


def _length(words: int) -> str:
    for top, name in ((1, "1"), (2, "2"), (3, "3"), (5, "4-5"), (9, "6-9"), (19, "10-19")):
        if words <= top:
            return name
    return "20+"


def candidate_features(
    doc: Doc,
    cue: Token,
    rule: str,
    start: int,
    end: int,
    speaker: Token | None,
    among: str = "",
) -> list[str]:
    """The features of one reported-quote candidate, as ``name=value`` strings.

    ``cue`` is the reporting word, ``rule`` the rule that found the content (``speech``,
    ``object``, ``clause``, ``according``, ``belief``), ``start``/``end`` the content's character
    offsets (end exclusive), ``speaker`` the token heading who said it, if found, and
    ``among`` where the content stands when the cue reports several (``before`` the cue,
    ``first`` or ``later`` after it; on PolNeAR train most such contents before the cue and
    after the first are parser slips, not attributions).
    """
    span = doc.char_span(start, end, alignment_mode="expand")
    toks = [t for t in span if not t.is_space] if span is not None else []
    cue_lemma = lemma(cue).lower()
    first = toks[0] if toks else None
    if speaker is None:
        who = "none"
    elif speaker.pos_ == "PRON":
        who = "pron"
    elif speaker.ent_type_:
        who = "ent:" + speaker.ent_type_
    else:
        who = speaker.pos_
    sent = cue.sent
    feats = [
        "bias",
        f"rule={rule}",
        f"lemma={cue_lemma}",
        f"rule|lemma={rule}|{cue_lemma}",
        f"dep={cue.dep_}",
        f"rule|dep={rule}|{cue.dep_}",
        f"lemma|dep={cue_lemma}|{cue.dep_}",
        f"tag={cue.tag_}",
        f"speaker={who}",
        f"rule|speaker={rule}|{who}",
        f"len={_length(len(toks))}",
        f"rule|len={rule}|{_length(len(toks))}",
        f"after_cue={start >= cue.idx}",
        f"cue_sent_start={cue.i - sent.start <= 2}",
    ]
    if first is not None:
        feats.append(f"first={first.lower_}" if first.is_stop else f"first_pos={first.pos_}")
    if any(t.pos_ in ("VERB", "AUX") for t in toks):
        feats.append("has_verb")
    if any(t.like_num for t in toks):
        feats.append("has_number")
    if any(t.ent_type_ == "PERSON" for t in toks) and len(toks) <= 4:
        feats.append("short_person")
    if any(t.dep_ == "aux" and t.lower_ in ("will", "would") for t in cue.children):
        feats.append("cue_future")
    if span is not None and toks:
        root = span.root
        feats.append(f"root={root.dep_}|{root.pos_}")
        feats.append(f"rule|root={rule}|{root.pos_}")
        if root.ent_type_:
            feats.append(f"root_ent={root.ent_type_}")
        last = [c for c in root.rights if c.i < span.end]
        if last:
            feats.append(f"root_last={last[-1].dep_}")
        rest = [t for t in doc[span.end : sent.end] if not (t.is_punct or t.is_space)]
        feats.append(f"sent_rest={_length(len(rest)) if rest else '0'}")
        feats.append(f"commas={min(3, sum(t.text == ',' for t in toks))}")
        feats.append(f"root_lemma={lemma(root).lower()}")
        ents = {t.ent_type_ for t in toks if t.ent_type_}
        feats.extend(f"ent={e}" for e in ents & {"DATE", "TIME", "PERCENT", "MONEY", "CARDINAL"})
        tops = [t for t in toks if t.head.i < span.start or t.head.i >= span.end or t is root]
        if len(tops) > 1:
            feats.append(f"rule|tops={rule}|{'+'.join(sorted({t.dep_ for t in tops[1:]}))}")
        commas = [t.i for t in toks if t.text == ","]
        if commas:
            tail = doc[commas[-1] + 1 : span.end]
            if len(tail):
                feats.append(f"tail={tail.root.dep_}|{tail.root.tag_}")
        opening = toks[0].lower_ if toks[0].is_stop else toks[0].pos_
        feats.append(f"lemma|first={cue_lemma}|{opening}")
    others = [lemma(t).lower() for t in sent if t.i != cue.i and t.pos_ == "VERB"]
    feats.append(f"sent_say={'say' in others}")
    feats.append(f"lemma|speaker={cue_lemma}|{who}")
    feats.append(f"lemma|len={cue_lemma}|{_length(len(toks))}")
    feats.append(f"dep|speaker={cue.dep_}|{who}")
    if cue.dep_ != "ROOT":
        feats.append(f"cue_head={cue.head.pos_}")
        feats.append(f"dep|head={cue.dep_}|{lemma(cue.head).lower()}")
    if among:
        feats.append(f"among={among}")
        feats.append(f"rule|among={rule}|{among}")
    return feats


@dataclass(frozen=True)
class QuoteFilter:
    """Logistic-regression weights per feature, a bias among them, and the threshold."""

    weights: dict[str, float]
    threshold: float

    def probability(self, features: list[str]) -> float:
        """The probability (0-1) that a candidate with these features is an attribution."""
        z = sum(self.weights.get(f, 0.0) for f in features)
        return 1.0 / (1.0 + math.exp(-z))


@cache
def shipped_filter() -> QuoteFilter:
    """The filter shipped with curate (``quote_filter.json``), read once on first use."""
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    return QuoteFilter(data["weights"], data["threshold"])

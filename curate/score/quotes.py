"""Quote scoring: content spans under four matching rules, then speaker and cue.

Rules (all one-to-one and optimal: the most pairs, then the largest total character
Jaccard, whatever the order of the predictions; :func:`curate.score.match.match_spans`),
on a quote's content fragments (a quote interrupted by its attribution has two):

- ``exact``: the same fragments (each the same start and end);
- ``overlap``: the quote benchmark's rule, the overlap covers more than half of both
  spans (:func:`~curate.score.match.majority_overlap`), measured on the union of the
  fragments, so the attribution between them counts for neither side;
- ``cov0.3`` / ``cov0.8``: the prediction covers at least 30% / 80% of the gold span
  (for comparison with published results that count gold coverage).

Precision counts matched predictions, recall matched gold quotes; by kind, precision uses
the predicted kind and recall the gold kind. Speaker and cue are judged on the quotes
matched under ``overlap``, per gold kind:

- speaker by mention: the predicted speaker overlaps the gold speaker mention;
- speaker by entity: the resolved speakers (``speaker_entity``, else ``speaker``) overlap
  or have the same text, ignoring case (``he`` resolved to ``Peskov`` in two places);
  where the gold resolves nothing, the predicted mention may match instead;
- cue: the predicted cue overlaps the gold cue.

Gold quotes without a speaker (or cue) do not count for that accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from curate.model import QUOTE_KINDS, Quote, Span
from curate.score.match import Spans, coverage, majority_overlap, match_spans, overlap

Rule = Callable[[Spans, Spans], bool]


def _exact(g: Spans, p: Spans) -> bool:
    return g == p


def _covers(g: Spans, p: Spans, t: float) -> bool:
    return coverage(g, p) >= t


RULES: dict[str, Rule] = {
    "exact": _exact,
    "overlap": majority_overlap,
    "cov0.3": partial(_covers, t=0.3),
    "cov0.8": partial(_covers, t=0.8),
}
MAIN_RULE = "overlap"
"""The rule whose matches are used for speaker and cue accuracy and for error listings."""
KINDS: tuple[str, ...] = QUOTE_KINDS


def article_counts(
    gold: Sequence[Quote], pred: Sequence[Quote]
) -> tuple[dict[str, int], list[tuple[int, int]]]:
    """Flat counts of one article (``q/...`` -> n, zeros left out) and the main-rule pairs.

    Keys: ``q/gold/<kind>``, ``q/pred/<kind>``, ``q/<rule>/tpg/<kind>`` (matched gold by
    gold kind), ``q/<rule>/tpp/<kind>`` (matched predictions by predicted kind),
    ``q/speaker/{n,mention,entity}/<kind>``, ``q/cue/{n,ok}/<kind>``,
    ``q/kind/{n,ok}/<kind>``; ``<kind>`` is also ``*`` for all kinds.
    """
    out: dict[str, int] = {}

    def add(key: str, kind: str, n: int = 1) -> None:
        if n:
            out[f"{key}/{kind}"] = out.get(f"{key}/{kind}", 0) + n
            out[f"{key}/*"] = out.get(f"{key}/*", 0) + n

    for q in gold:
        add("q/gold", q.kind)
    for q in pred:
        add("q/pred", q.kind)
    gspans = [q.offsets for q in gold]
    pspans = [q.offsets for q in pred]
    main: list[tuple[int, int]] = []
    for name, rule in RULES.items():
        pairs = match_spans(gspans, pspans, rule) if gspans and pspans else []
        for i, j in pairs:
            add(f"q/{name}/tpg", gold[i].kind)
            add(f"q/{name}/tpp", pred[j].kind)
        if name == MAIN_RULE:
            main = pairs
    for i, j in main:
        g, p = gold[i], pred[j]
        if g.speaker is not None:
            add("q/speaker/n", g.kind)
            add("q/speaker/mention", g.kind, int(_overlaps(g.speaker, p.speaker)))
            add("q/speaker/entity", g.kind, int(same_speaker(g, p)))
        if g.cue is not None:
            add("q/cue/n", g.kind)
            add("q/cue/ok", g.kind, int(_overlaps(g.cue, p.cue)))
        add("q/kind/n", g.kind)
        add("q/kind/ok", g.kind, int(g.kind == p.kind))
    return out, main


def _overlaps(a: Span | None, b: Span | None) -> bool:
    return a is not None and b is not None and overlap((a.start, a.end), (b.start, b.end)) > 0


def same_speaker(gold: Quote, pred: Quote) -> bool:
    """Whether the resolved speakers agree (overlapping spans or the same text).

    The gold side is ``speaker_entity``, else ``speaker``. When the gold names no entity
    (unresolved, as in corpora without coreference), the prediction's entity or its
    mention may match it: resolving ``he`` further than the gold did is not an error.
    """
    g = gold.speaker_entity or gold.speaker
    if g is None:
        return False
    if gold.speaker_entity is not None:
        cands = [pred.speaker_entity or pred.speaker]
    else:
        cands = [pred.speaker_entity, pred.speaker]
    return any(p is not None and (_overlaps(g, p) or _norm(g.text) == _norm(p.text)) for p in cands)


def _norm(s: str) -> str:
    return " ".join(s.split()).casefold()


def errors(
    gold: Sequence[Quote], pred: Sequence[Quote], pairs: Sequence[tuple[int, int]]
) -> list[dict]:
    """Missed and spurious quotes and wrong speakers/cues under the main rule."""
    out: list[dict] = []
    gi = {i for i, _ in pairs}
    pj = {j for _, j in pairs}
    for i, q in enumerate(gold):
        if i not in gi:
            out.append({"kind": "missed_quote", "start": q.start, "end": q.end, "gold": q.kind})
    for j, q in enumerate(pred):
        if j not in pj:
            out.append({"kind": "spurious_quote", "start": q.start, "end": q.end, "pred": q.kind})
    for i, j in pairs:
        g, p = gold[i], pred[j]
        if g.speaker is not None and not _overlaps(g.speaker, p.speaker):
            out.append(_part_error("wrong_speaker", g, p, g.speaker, p.speaker))
        if g.cue is not None and not _overlaps(g.cue, p.cue):
            out.append(_part_error("wrong_cue", g, p, g.cue, p.cue))
    return sorted(out, key=lambda e: (e["start"], e["end"]))


def _part_error(kind: str, g: Quote, p: Quote, gpart: Span, ppart: Span | None) -> dict:
    return {
        "kind": kind,
        "start": g.start,
        "end": g.end,
        "gold": gpart.text,
        "gold_span": [gpart.start, gpart.end],
        "pred": ppart.text if ppart else None,
        "pred_span": [ppart.start, ppart.end] if ppart else None,
    }

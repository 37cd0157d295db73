"""Entity scoring under the four SemEval-2013 schemes, as nervaluate (1.x) counts them.

Each predicted span is compared with the gold spans of the same article and gets one
outcome; gold spans nobody claimed are missed:

======== ============================================ =====================================
scheme   correct                                      incorrect / partial
======== ============================================ =====================================
strict   same boundaries and same label               overlapping otherwise: incorrect
exact    same boundaries, any label                   overlapping otherwise: incorrect
partial  same boundaries, any label                   overlapping otherwise: partial (half)
type     overlapping, same label (closest boundaries) overlapping, other label: incorrect
======== ============================================ =====================================

Predictions and gold spans are paired one to one and optimally
(:func:`curate.score.match.optimal_pairs`): as many correct pairs as possible, then as
many overlapping pairs as possible, then the closest boundaries; so the counts never
depend on the order of the predictions. nervaluate pairs greedily in list order (its
issue 84): where a prediction that comes first takes a gold span a later one matches
exactly, it counts one correct fewer than curate; on every other article the counts are
nervaluate's (tested). Taking the most correct pairs first also gives the most
``COR + ½PAR`` under partial. ``precision = (COR + ½PAR) / ACT`` and
``recall = (COR + ½PAR) / POS`` with ``ACT = COR+INC+PAR+SPU`` and ``POS = COR+INC+PAR+MIS``;
the half credit only exists under partial. Per-label counts score each label's spans on
their own (a wrong label is then missed in one label and spurious in another); the
micro counts score all spans together. Overlap is any shared character, optionally at
least ``min_overlap`` of the gold span.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from curate.model import Entity
from curate.score.match import Weight, optimal_pairs

SCHEMES: tuple[str, ...] = ("strict", "exact", "partial", "type")
CATEGORIES: tuple[str, ...] = ("cor", "inc", "par", "mis", "spu")
NONE = "(none)"
"""Confusion-table label for 'no span with these boundaries on this side'."""

Span3 = tuple[int, int, str]
Outcome = tuple[str, int]
"""What one prediction became: (category, index of the gold span it claimed or -1)."""


@dataclass(frozen=True, slots=True)
class SchemeCounts:
    """COR/INC/PAR/MIS/SPU of one scheme, with nervaluate's precision/recall/F1."""

    cor: int = 0
    inc: int = 0
    par: int = 0
    mis: int = 0
    spu: int = 0
    half_credit: bool = False

    @property
    def actual(self) -> int:
        return self.cor + self.inc + self.par + self.spu

    @property
    def possible(self) -> int:
        return self.cor + self.inc + self.par + self.mis

    @property
    def precision(self) -> float:
        return _credit(self) / self.actual if self.actual else 0.0

    @property
    def recall(self) -> float:
        return _credit(self) / self.possible if self.possible else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _credit(c: SchemeCounts) -> float:
    return c.cor + 0.5 * c.par if c.half_credit else float(c.cor)


def match(
    gold: Sequence[Span3],
    pred: Sequence[Span3],
    scheme: str,
    min_overlap: float = 0.0,
    candidates: Sequence[tuple[int, int]] | None = None,
) -> tuple[list[int], list[Outcome], list[bool]]:
    """Match one article's spans under ``scheme``, optimally (see the module docstring).

    ``gold`` must be sorted by (start, end, label), ``pred`` may come in any order (the
    result is the same); ``candidates`` are the overlapping (gold, prediction) index pairs
    when already known (:func:`overlapping`).
    Returns the counts ``[cor, inc, par, mis, spu]``, one outcome per prediction and, per
    gold span, whether a prediction claimed it.
    """
    if candidates is None:
        candidates = overlapping(gold, pred, min_overlap)
    return _tally(gold, pred, scheme, optimal_pairs(candidates, _weigh(gold, pred, scheme)))


def _correct(scheme: str, g: Span3, p: Span3) -> bool:
    if scheme == "type":
        return g[2] == p[2]
    same = g[0] == p[0] and g[1] == p[1]
    return same and g[2] == p[2] if scheme == "strict" else same


def _weigh(
    gold: Sequence[Span3], pred: Sequence[Span3], scheme: str
) -> Callable[[int, int], Weight]:
    """Weights for :func:`optimal_pairs`: correct first, then paired, then closest."""

    def weight(j: int, i: int) -> Weight:
        g, p = gold[j], pred[i]
        closeness = 1.0 / (1 + abs(g[0] - p[0]) + abs(g[1] - p[1]))
        return (float(_correct(scheme, g, p)), 1.0, closeness)

    return weight


def _tally(
    gold: Sequence[Span3], pred: Sequence[Span3], scheme: str, pairs: Sequence[tuple[int, int]]
) -> tuple[list[int], list[Outcome], list[bool]]:
    claimed = [False] * len(gold)
    outcomes: list[Outcome] = [("spu", -1)] * len(pred)
    miss = "par" if scheme == "partial" else "inc"
    for j, i in pairs:
        claimed[j] = True
        outcomes[i] = ("cor" if _correct(scheme, gold[j], pred[i]) else miss, j)
    n = {"cor": 0, "inc": 0, "par": 0, "spu": 0}
    for cat, _ in outcomes:
        n[cat] += 1
    return [n["cor"], n["inc"], n["par"], len(gold) - len(pairs), n["spu"]], outcomes, claimed


def overlapping(
    gold: Sequence[Span3], pred: Sequence[Span3], min_overlap: float = 0.0
) -> list[tuple[int, int]]:
    """(gold index, prediction index) of every pair sharing a character (and at least
    ``min_overlap`` of the gold span); ``gold`` sorted by (start, end, label)."""
    out: list[tuple[int, int]] = []
    if not gold or not pred:
        return out
    starts = [g[0] for g in gold]
    longest = max(g[1] - g[0] for g in gold)
    for i, (ps, pe, _) in enumerate(pred):
        # Only gold spans starting in (ps - longest, pe) can overlap this prediction.
        for j in range(bisect_right(starts, ps - longest), bisect_left(starts, pe)):
            gs, ge, _ = gold[j]
            if ge <= ps:
                continue
            if min_overlap and min(pe, ge) - max(ps, gs) < min_overlap * (ge - gs):
                continue
            out.append((j, i))
    return out


def spans(entities: Iterable[Entity]) -> list[Span3]:
    """Entities as sorted (start, end, label) triples, the form :func:`match` takes."""
    return sorted((e.start, e.end, e.label) for e in entities)


def article_counts(
    gold: Sequence[Span3], pred: Sequence[Span3], min_overlap: float = 0.0
) -> dict[str, int]:
    """Flat counts of one article: ``ent/<scheme>/<label or *>/<category>`` -> n.

    ``*`` is the micro (all labels together) count. Zero counts are left out.
    """
    return score_article(gold, pred, min_overlap)[0]


def score_article(
    gold: Sequence[Span3], pred: Sequence[Span3], min_overlap: float = 0.0
) -> tuple[dict[str, int], list[dict]]:
    """Counts (as :func:`article_counts`) and errors (as :func:`errors`) of one article."""
    cands = overlapping(gold, pred, min_overlap)
    fast = _uncontested(gold, pred, cands)
    if fast is not None:
        return fast
    out: dict[str, int] = {}
    strict_counts, outcomes, claimed = match(gold, pred, "strict", candidates=cands)
    _put(out, "ent/strict/*/", strict_counts)
    # exact and partial weigh pairs alike (same boundaries is correct): one matching.
    bounds = optimal_pairs(cands, _weigh(gold, pred, "exact"))
    _put(out, "ent/exact/*/", _tally(gold, pred, "exact", bounds)[0])
    _put(out, "ent/partial/*/", _tally(gold, pred, "partial", bounds)[0])
    _put(out, "ent/type/*/", match(gold, pred, "type", candidates=cands)[0])
    # Per label, only pairs of that label can match; the others are missed or spurious.
    same: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for j, i in cands:
        if gold[j][2] == pred[i][2]:
            same[gold[j][2]].append((j, i))
    n_gold = Counter(x[2] for x in gold)
    n_pred = Counter(x[2] for x in pred)
    for label in n_gold.keys() | n_pred.keys():
        ng, np_, c = n_gold[label], n_pred[label], same[label]
        if not c:
            for scheme in SCHEMES:
                _put(out, f"ent/{scheme}/{label}/", [0, 0, 0, ng, np_])
            continue
        # Within one label strict, exact and partial are one rule (same boundaries).
        cor, rest = _label_pairs(gold, pred, "strict", c)
        for scheme in ("strict", "exact"):
            _put(out, f"ent/{scheme}/{label}/", [cor, rest, 0, ng - cor - rest, np_ - cor - rest])
        _put(out, f"ent/partial/{label}/", [cor, 0, rest, ng - cor - rest, np_ - cor - rest])
        cor, rest = _label_pairs(gold, pred, "type", c)
        _put(out, f"ent/type/{label}/", [cor, rest, 0, ng - cor - rest, np_ - cor - rest])
    errs = []
    for (ps, pe, pl), (cat, j) in zip(pred, outcomes, strict=True):
        if cat == "spu":
            errs.append(_error(None, (ps, pe, pl)))
        elif cat == "inc":
            errs.append(_error(gold[j], (ps, pe, pl)))
    errs += [_error(g, None) for g, c in zip(gold, claimed, strict=True) if not c]
    return out, sorted(errs, key=_error_key)


def _label_pairs(
    gold: Sequence[Span3], pred: Sequence[Span3], scheme: str, cands: Sequence[tuple[int, int]]
) -> tuple[int, int]:
    """(correct, other) pairs of the best matching of one label's candidate pairs."""
    pairs = optimal_pairs(cands, _weigh(gold, pred, scheme))
    cor = sum(_correct(scheme, gold[j], pred[i]) for j, i in pairs)
    return cor, len(pairs) - cor


def _uncontested(
    gold: Sequence[Span3], pred: Sequence[Span3], cands: Sequence[tuple[int, int]]
) -> tuple[dict[str, int], list[dict]] | None:
    """The counts when no span overlaps two spans of the other side, else None.

    Then every overlapping pair is matched whatever the rule, so each pair is judged on
    its own, in one pass (the common case, and much faster).
    """
    partner_of_gold = [-1] * len(gold)
    partner_of_pred = [-1] * len(pred)
    for j, i in cands:
        if partner_of_pred[i] >= 0 or partner_of_gold[j] >= 0:
            return None
        partner_of_pred[i] = j
        partner_of_gold[j] = i
    # Tally outcome types first, spell out the count keys once per type.
    tally: dict[tuple, int] = {}
    errs = []
    for i, (ps, pe, pl) in enumerate(pred):
        j = partner_of_pred[i]
        if j < 0:
            key: tuple = ("spu", pl)
        else:
            gs, ge, gl = gold[j]
            same = gs == ps and ge == pe
            key = ("pair", gl, pl, same)
            if same and gl == pl:
                tally[key] = tally.get(key, 0) + 1
                continue
        tally[key] = tally.get(key, 0) + 1
        errs.append(_error(gold[j] if j >= 0 else None, (ps, pe, pl)))
    for j, g in enumerate(gold):
        if partner_of_gold[j] < 0:
            key = ("mis", g[2])
            tally[key] = tally.get(key, 0) + 1
            errs.append(_error(g, None))
    c: dict[str, int] = {}

    def add(key: str, n: int) -> None:
        c[key] = c.get(key, 0) + n

    for key, n in tally.items():
        if key[0] in ("spu", "mis"):
            for scheme in SCHEMES:
                add(f"ent/{scheme}/*/{key[0]}", n)
                add(f"ent/{scheme}/{key[1]}/{key[0]}", n)
            continue
        _, gl, pl, same = key
        if gl == pl:
            bounds, part = ("cor", "cor") if same else ("inc", "par")
            for label in ("*", pl):
                add(f"ent/strict/{label}/{bounds}", n)
                add(f"ent/exact/{label}/{bounds}", n)
                add(f"ent/partial/{label}/{part}", n)
                add(f"ent/type/{label}/cor", n)
        else:
            add("ent/strict/*/inc", n)
            add(f"ent/exact/*/{'cor' if same else 'inc'}", n)
            add(f"ent/partial/*/{'cor' if same else 'par'}", n)
            add("ent/type/*/inc", n)
            for scheme in SCHEMES:
                add(f"ent/{scheme}/{gl}/mis", n)
                add(f"ent/{scheme}/{pl}/spu", n)
    return c, sorted(errs, key=_error_key)


def _error(g: Span3 | None, p: Span3 | None) -> dict:
    if p is None:
        assert g is not None
        return {"kind": "missed", "start": g[0], "end": g[1], "gold": list(g)}
    if g is None:
        return {"kind": "spurious", "start": p[0], "end": p[1], "pred": p[2]}
    if (g[0], g[1]) == (p[0], p[1]):
        kind = "wrong_label"
    elif g[2] == p[2]:
        kind = "wrong_boundary"
    else:
        kind = "wrong_both"
    return {"kind": kind, "start": p[0], "end": p[1], "pred": p[2], "gold": list(g)}


def _error_key(e: dict) -> tuple[int, int, str]:
    return (e["start"], e["end"], e["kind"])


def _put(out: dict[str, int], prefix: str, counts: Sequence[int]) -> None:
    for cat, n in zip(CATEGORIES, counts, strict=True):
        if n:
            out[prefix + cat] = n


def confusion(gold: Sequence[Span3], pred: Sequence[Span3]) -> dict[tuple[str, str], int]:
    """(gold label, predicted label) counts for spans with identical boundaries.

    Spans with the same boundaries pair up same label first. A gold span with no
    prediction at its boundaries counts as (label, NONE), a prediction with no gold
    span at its boundaries as (NONE, label).
    """
    at_gold: dict[tuple[int, int], list[str]] = {}
    at_pred: dict[tuple[int, int], list[str]] = {}
    for s, e, lab in gold:
        at_gold.setdefault((s, e), []).append(lab)
    for s, e, lab in pred:
        at_pred.setdefault((s, e), []).append(lab)
    out: dict[tuple[str, str], int] = {}
    for key, gl in at_gold.items():
        pl = at_pred.get(key)
        if pl is None:
            pairs = [(lab, NONE) for lab in gl]
        elif len(gl) == 1 and len(pl) == 1:
            pairs = [(gl[0], pl[0])]
        else:
            pairs = _pair_labels(gl, pl)
        for pair in pairs:
            out[pair] = out.get(pair, 0) + 1
    for key, pl in at_pred.items():
        if key not in at_gold:
            for lab in pl:
                out[(NONE, lab)] = out.get((NONE, lab), 0) + 1
    return out


def _pair_labels(gold: list[str], pred: list[str]) -> list[tuple[str, str]]:
    g, p = Counter(gold), Counter(pred)
    same = g & p
    pairs = [(lab, lab) for lab in same.elements()]
    rest_g = sorted((g - same).elements())
    rest_p = sorted((p - same).elements())
    pairs += zip(rest_g, rest_p, strict=False)
    pairs += [(a, NONE) for a in rest_g[len(rest_p) :]]
    pairs += [(NONE, b) for b in rest_p[len(rest_g) :]]
    return pairs


def errors(gold: Sequence[Span3], pred: Sequence[Span3], min_overlap: float = 0.0) -> list[dict]:
    """What went wrong in one article, from the strict matching, for people to read.

    Kinds: ``missed`` (gold span nobody claimed), ``spurious`` (prediction overlapping
    no gold span), ``wrong_label`` (same boundaries, other label), ``wrong_boundary``
    (overlapping, same label) and ``wrong_both``; correct predictions are left out.
    """
    return score_article(gold, pred, min_overlap)[1]

"""Direct-quote errors of a quote extractor on PolNeAR, by category, with examples.

    python scripts/direct_quote_errors.py /work/shared/corpora/polnear/train \
        [--extractor curate.quotes.v7] [--limit N] [--cache DIR] [--examples N]

The "direct" subset is the benchmark's (``benchmarks/quotes_polnear.py``): gold and
predicted attributions whose content holds a double quote mark, matched one-to-one by
its ``match_spans`` and scored by its ``Tally``. Every gold quote the matching leaves
over is a miss, every prediction left over a spurious quote, every matched pair whose
letters differ a boundary error; each is put in one category (first rule that fits,
in the order printed) and a few examples are shown. Use TRAIN (dev is the report set).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quotes_polnear import Tally, has_double, letters, load_docs  # noqa: E402

from curate.extract import get  # noqa: E402
from curate.marks import find_quoted  # noqa: E402
from curate.model import Quote  # noqa: E402
from curate.score.match import majority_overlap, match_spans, overlap  # noqa: E402


def _short(s: str, n: int = 150) -> str:
    return " ".join(s.split())[:n]


def _frags(q: Quote) -> tuple[tuple[int, int], ...]:
    return tuple((f.start, f.end) for f in q.fragments)


def _words(text: str) -> int:
    return sum(1 for w in text.split() if any(c.isalnum() for c in w))


def miss_category(text: str, g: Quote, preds: list[Quote], all_pred: list[Quote]) -> str:
    """Why a gold direct-subset quote found no prediction."""
    gf = _frags(g)
    quoted = [q for q in find_quoted(text) if overlap(gf, (q.start, q.end)) > 0]
    near_all = [p for p in all_pred if majority_overlap(gf, _frags(p))]
    near = [p for p in preds if overlap(gf, _frags(p)) > 0]
    if near_all and not any(has_double(p) for p in near_all):
        return "predicted without its quote marks (reported speech cut before the quote)"
    if any(majority_overlap(gf, _frags(p)) for p in near):
        return "a prediction overlaps but was paired with another gold quote"
    if near:
        return "a prediction overlaps less than half (boundary)"
    if not [q for q in quoted if q.style == "double"]:
        return "quote marks not recognised"
    if g.kind == "direct":
        if any(q.paragraphs > 1 for q in quoted):
            return "direct, runs over paragraphs: nothing predicted"
        if g.cue is None or not any(c.isalpha() for c in g.cue.text):
            return "direct, gold cue is no word (colon, dash, none): nothing predicted"
        return "direct with a cue word: nothing predicted"
    if _words(g.text) <= 4:
        return "mixed, short: nothing predicted"
    return "mixed: nothing predicted"


def spurious_category(text: str, p: Quote, gold_all: list[Quote]) -> str:
    """Why a predicted direct-subset quote matched no gold one."""
    pf = _frags(p)
    over = [g for g in gold_all if overlap(_frags(g), pf) > 0]
    if over and any(majority_overlap(_frags(g), pf) for g in over):
        return "matches a gold quote without quote marks (gold left the quote out)"
    if over:
        return "overlaps a gold quote less than half (boundary)"
    words = _words(p.text)
    if p.kind == "direct" and words <= 4:
        return "direct, 1-4 words, no gold (title, scare quote, nickname)"
    if p.kind == "direct" and p.cue is None:
        return "direct without cue, no gold"
    if p.kind == "direct":
        return "direct with cue, no gold"
    return "mixed, no gold"


def _edge(text: str, extra: set[int], lo: int, hi: int) -> str:
    """Where letters only one side covers sit: start, end, middle."""
    if not extra:
        return ""
    first, last = min(extra), max(extra)
    ends = []
    if first <= lo + 2 or not any(text[i].isalnum() for i in range(lo, first)):
        ends.append("start")
    if last >= hi - 3 or not any(text[i].isalnum() for i in range(last + 1, hi)):
        ends.append("end")
    return "+".join(ends) or "middle"


def boundary_category(text: str, g: Quote, p: Quote) -> str:
    """How a matched pair's content differs."""
    gk, pk = letters(text, g), letters(text, p)
    lo, hi = min(g.start, p.start), max(g.end, p.end)
    more, fewer = set(pk - gk), set(gk - pk)
    if len(g.fragments) > len(p.fragments):
        return "gold has more fragments (a fragment missing or joined)"
    if len(g.fragments) < len(p.fragments):
        return "prediction has more fragments (a fragment gold leaves out)"
    parts = []
    if more:
        parts.append("pred longer at " + _edge(text, more, lo, hi))
    if fewer:
        parts.append("pred shorter at " + _edge(text, fewer, lo, hi))
    return f"{g.kind}: " + ", ".join(parts)


def analyse(
    gold, docs, fn: Callable, examples: int
) -> tuple[Tally, dict[str, Counter[str]], dict[str, list[str]]]:
    tally = Tally()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    shown: dict[str, list[str]] = defaultdict(list)
    for g, doc in zip(gold, docs, strict=True):
        text = g.text
        pred = list(fn(doc))
        gd = [q for q in g.quotes if has_double(q)]
        pd = [q for q in pred if has_double(q)]
        tally.add(text, gd, pd)
        pairs = match_spans([q.offsets for q in gd], [q.offsets for q in pd])
        gi, pj = {i for i, _ in pairs}, {j for _, j in pairs}

        def note(kind: str, cat: str, line: str, art: str = g.id) -> None:
            counts[kind][cat] += 1
            if len(shown[kind + cat]) < examples:
                shown[kind + cat].append(f"{art}: {line}")

        for i, q in enumerate(gd):
            if i not in gi:
                cue = q.cue.text if q.cue else None
                note("missed", miss_category(text, q, pd, pred), f"{_short(q.text)!r} <- {cue!r}")
        for j, q in enumerate(pd):
            if j not in pj:
                cue = q.cue.text if q.cue else None
                note(
                    "spurious",
                    spurious_category(text, q, list(g.quotes)),
                    f"{_short(q.text)!r} <- {cue!r}",
                )
        for i, j in pairs:
            if letters(text, gd[i]) != letters(text, pd[j]):
                gt = " | ".join(_short(f.text, 90) for f in gd[i].fragments)
                pt = " | ".join(_short(f.text, 90) for f in pd[j].fragments)
                note("boundary", boundary_category(text, gd[i], pd[j]), f"G {gt!r}\n      P {pt!r}")
    return tally, counts, shown


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--extractor", default="curate.quotes.v6")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--examples", type=int, default=0)
    args = ap.parse_args(argv)
    gold, docs, _ = load_docs(args.path, args.limit, args.cache)
    ex = get(args.extractor)

    def fn(doc):
        return ex([doc], None)[0].quotes  # type: ignore[arg-type]  # rules read no schema

    tally, counts, shown = analyse(gold, docs, fn, args.examples)
    s = tally.scores()
    c = tally.c
    print(
        f"{args.extractor} on {args.path} ({len(gold)} articles), direct subset: gold {c['gold']}, "
        f"pred {c['pred']}, matched {c['tp']}, exact {c['exact']}; "
        f"P {s['P']:.3f} R {s['R']:.3f} F1 {s['F1']:.3f} exactF1 {s['exactF1']:.3f}"
    )
    for kind in ("missed", "spurious", "boundary"):
        total = sum(counts[kind].values())
        print(f"\n{kind} ({total})")
        for cat, n in counts[kind].most_common():
            print(f"  {n:5d}  {cat}")
            for line in shown[kind + cat]:
                print(f"         {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

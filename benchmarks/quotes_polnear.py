"""Quote extraction on PolNeAR: the hybrid and learned extractors, curate.quotes.v7 and v6
and textacy's direct_quotations, side by side on the same parses.

Usage: python benchmarks/quotes_polnear.py PATH [--limit N] [--cache DIR] [--errors N]
       [--model NAME@VERSION|FOLDER]

PATH is a PolNeAR-format folder (``text/``, ``attributions/``) read as ``curate import brat``
reads it (``curate.io.brat.read_brat``): with several ``.ann`` files per article the first
in sorted order is the gold. Both extractors run on the same spaCy docs. For each:
precision/recall/F1 of quote content and speaker and cue accuracy on matched quotes, for
direct quotes only (gold and predicted spans that contain a double quote mark) and for all
attributions, and the precision of each predicted kind (direct, indirect, mixed) against
all attributions. Matching: one-to-one, optimal (most pairs, then highest character Jaccard),
a pair counts when the overlap covers more than half of both spans (``curate.score.match``),
spans being the union of a quote's content fragments. ``exact`` F1 counts matched pairs
that cover the same letters and digits (whitespace and punctuation ignored, fragments
compared as a set); ``split`` is the share of gold quotes with two or more fragments
(interrupted by their attribution) matched exactly. ``v6 covering`` is the
same extractor's output with each quote's fragments collapsed to its covering span
(curate before discontinuous content), as the baseline of the same run.
A speaker (cue) is right when it overlaps the gold Source (Cue); gold quotes without a
Source (Cue) do not count for that accuracy. An article on which an extractor raises
counts as crashed and contributes its gold quotes as misses.

Exact content: the same letters and digits covered (whitespace and punctuation ignored;
a quote's fragments as one set where it has them, else its span), counted one-to-one.
Corrections per 100 gold attributions: what a labeler fixes, each once per attribution:
a missed gold quote, a spurious predicted one, and on a matched pair a content that is
not exact, a wrong speaker (gold has one the prediction does not overlap, or gold has
none and the prediction names one) and a wrong cue (the same). By kind: recall and exact
recall over gold quotes of that kind, precision over predicted quotes of that kind.
The hybrid and learned extractors use ``--model`` (default: the model shipped with
curate); they are left out with a note when it cannot be loaded.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.errors import CurateError  # noqa: E402
from curate.extract.nlp import load_model, pipes_to_exclude  # noqa: E402
from curate.extract.quotes import REQUIRED_PIPES, extract_quotes  # noqa: E402
from curate.io.brat import read_brat  # noqa: E402
from curate.model import Document, Quote, Span  # noqa: E402
from curate.score.match import match_spans, overlap  # noqa: E402

DOUBLE_MARKS = '"“”«»„'


def textacy_quotes(doc) -> list[Quote]:
    """textacy's direct_quotations as curate quotes (speaker and cue as covering spans)."""
    from textacy.extract.triples import direct_quotations

    out = []
    text = doc.text
    for t in direct_quotations(doc):
        c = t.content

        def cover(toks) -> Span | None:
            if not toks:
                return None
            s = min(x.idx for x in toks)
            e = max(x.idx + len(x) for x in toks)
            return Span.of(text, s, e)

        out.append(
            Quote(c.start_char, c.end_char, c.text, "direct", cover(t.speaker), cover(t.cue))
        )
    return out


def has_double(q: Quote) -> bool:
    return any(m in q.text for m in DOUBLE_MARKS)


def letters(text: str, q: Quote) -> frozenset[int]:
    """Positions of the letters and digits a quote's content covers (its fragments if any)."""
    frags = getattr(q, "fragments", None) or [(q.start, q.end)]
    return frozenset(i for f in frags for i in range(*_bounds(f)) if text[i].isalnum())


def _bounds(f) -> tuple[int, int]:
    return (f.start, f.end) if hasattr(f, "start") else (f[0], f[1])


def _f1(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


class Tally:
    """Counts for one extractor and one subset (direct-only or all)."""

    def __init__(self) -> None:
        self.c: Counter[str] = Counter()

    def add(self, text: str, gold: list[Quote], pred: list[Quote]) -> list[tuple[int, int]]:
        c = self.c
        c["gold"] += len(gold)
        c["pred"] += len(pred)
        c["split_n"] += sum(1 for q in gold if q.discontinuous)
        pairs = match_spans([q.offsets for q in gold], [q.offsets for q in pred])
        c["tp"] += len(pairs)
        gkeys = [letters(text, q) for q in gold]
        pkeys = [letters(text, q) for q in pred]
        c["exact"] += sum((Counter(gkeys) & Counter(pkeys)).values())
        c["missed"] += len(gold) - len(pairs)
        c["spurious"] += len(pred) - len(pairs)
        gi_hit, pj_hit = {i for i, _ in pairs}, {j for _, j in pairs}
        exact_g = set()
        for kind in ("direct", "mixed", "indirect"):
            c[f"g_{kind}"] += sum(1 for q in gold if q.kind == kind)
            c[f"p_{kind}"] += sum(1 for q in pred if q.kind == kind)
            c[f"gtp_{kind}"] += sum(1 for i in gi_hit if gold[i].kind == kind)
            c[f"ptp_{kind}"] += sum(1 for j in pj_hit if pred[j].kind == kind)
        for i, j in pairs:
            g, p = gold[i], pred[j]
            if gkeys[i] == pkeys[j]:
                exact_g.add(i)
                c["split_ok"] += g.discontinuous
            else:
                c["inexact"] += 1
            if g.speaker is not None:
                c["spk_n"] += 1
                c["spk_ok"] += _hit(g.speaker, p.speaker)
            c["spk_fix"] += (
                (p.speaker is not None) if g.speaker is None else 1 - _hit(g.speaker, p.speaker)
            )
            if g.cue is not None:
                c["cue_n"] += 1
                c["cue_ok"] += _hit(g.cue, p.cue)
            c["cue_fix"] += (p.cue is not None) if g.cue is None else 1 - _hit(g.cue, p.cue)
        for i in exact_g:
            c[f"gexact_{gold[i].kind}"] += 1
        return pairs

    def scores(self) -> dict[str, float]:
        c = self.c
        p, r, f = _f1(c["tp"], c["pred"], c["gold"])
        ep, er, ef = _f1(c["exact"], c["pred"], c["gold"])
        spk = c["spk_ok"] / c["spk_n"] if c["spk_n"] else 0.0
        cue = c["cue_ok"] / c["cue_n"] if c["cue_n"] else 0.0
        fixes = c["missed"] + c["spurious"] + c["inexact"] + c["spk_fix"] + c["cue_fix"]
        per100 = 100 * fixes / c["gold"] if c["gold"] else 0.0
        split = c["split_ok"] / c["split_n"] if c["split_n"] else 0.0
        out = {"P": p, "R": r, "F1": f, "exactF1": ef, "speaker": spk, "cue": cue, "fix100": per100}
        out["split"] = split
        for kind in ("direct", "mixed", "indirect"):
            kp = c[f"ptp_{kind}"] / c[f"p_{kind}"] if c[f"p_{kind}"] else 0.0
            kr = c[f"gtp_{kind}"] / c[f"g_{kind}"] if c[f"g_{kind}"] else 0.0
            ke = c[f"gexact_{kind}"] / c[f"g_{kind}"] if c[f"g_{kind}"] else 0.0
            out[f"{kind}"] = (c[f"g_{kind}"], kp, kr, ke)
        return out

    def corrections(self) -> str:
        c = self.c
        return (
            f"missed {c['missed']}, spurious {c['spurious']}, not exact {c['inexact']}, "
            f"speaker {c['spk_fix']}, cue {c['cue_fix']}"
        )


def covering(fn: Callable) -> Callable:
    """``fn`` with each quote's fragments collapsed to its covering span (the old shape)."""

    def run(doc) -> list[Quote]:
        return [
            Quote(q.start, q.end, q.text, q.kind, q.speaker, q.cue, q.speaker_entity)
            for q in fn(doc)
        ]

    return run


def _hit(g: Span, p: Span | None) -> int:
    return int(p is not None and overlap((g.start, g.end), (p.start, p.end)) > 0)


def load_docs(path: Path, limit: int | None, cache: Path | None):
    """Gold documents and their spaCy docs (parsed once, optionally cached as a DocBin)."""
    from spacy.tokens import DocBin

    gold = read_brat(path).gold()[: limit or None]
    nlp, version = load_model(None, disable=pipes_to_exclude(None, REQUIRED_PIPES))
    cache_file = None
    if cache is not None:
        cache_file = cache / f"{path.resolve().name}-{len(gold)}-{version}.spacy"
        if cache_file.exists():
            docs = list(DocBin().from_disk(cache_file).get_docs(nlp.vocab))
            if [d.text for d in docs] == [g.text for g in gold]:
                return gold, docs, version
    docs = list(nlp.pipe((g.text for g in gold), batch_size=16))
    if cache_file is not None:
        cache.mkdir(parents=True, exist_ok=True)
        DocBin(docs=docs).to_disk(cache_file)
    return gold, docs, version


def run(
    name: str, fn: Callable, gold: list[Document], docs, show_errors: int
) -> tuple[Tally, Tally, int, float]:
    direct, every = Tally(), Tally()
    crashed = 0
    errors: list[str] = []
    t0 = time.perf_counter()
    prepare = getattr(fn, "prepare", None)
    if prepare is not None:
        # A model runs over batches of docs first, as `curate preannotate` runs it.
        for d in docs:
            d.user_data.pop("curate.quote_parts", None)
        for i in range(0, len(docs), 16):
            prepare(docs[i : i + 16])
    for g, doc in zip(gold, docs, strict=True):
        try:
            pred = list(fn(doc))
        except Exception as e:  # noqa: BLE001 - a crash is what we count
            crashed += 1
            pred = []
            errors.append(f"CRASH {g.id}: {type(e).__name__}: {e}")
        gd = [q for q in g.quotes if has_double(q)]
        pdq = [q for q in pred if has_double(q)]
        direct.add(g.text, gd, pdq)
        pairs = every.add(g.text, list(g.quotes), pred)
        if show_errors and len(errors) < show_errors:
            errors.extend(_explain(g, pred, pairs))
    seconds = time.perf_counter() - t0
    for line in errors[:show_errors]:
        print(f"  [{name}] {line}")
    return direct, every, crashed, seconds


def _explain(g: Document, pred: list[Quote], pairs: list[tuple[int, int]]) -> list[str]:
    out = []
    gi, pj = {i for i, _ in pairs}, {j for _, j in pairs}
    short = lambda s: " ".join(s.split())[:110]  # noqa: E731
    for i, q in enumerate(g.quotes):
        if i not in gi:
            out.append(f"MISS {g.id} {q.kind} {short(q.text)!r} <- {q.cue and q.cue.text!r}")
    for j, q in enumerate(pred):
        if j not in pj:
            out.append(f"SPUR {g.id} {q.kind} {short(q.text)!r} <- {q.cue and q.cue.text!r}")
    for i, j in pairs:
        gq, pq = g.quotes[i], pred[j]
        if gq.speaker is not None and not _hit(gq.speaker, pq.speaker):
            who = pq.speaker and pq.speaker.text
            out.append(f"SPKR {g.id} gold {gq.speaker.text!r} pred {who!r}: {short(gq.text)!r}")
    return out


def report(results: dict[str, tuple[Tally, Tally, int, float]], n_articles: int) -> None:
    """Print the side-by-side tables for ``results`` (name -> :func:`run`'s result); the
    ratios are against ``curate.quotes.v6``, which must be among them."""
    head = (
        f"{'extractor':17} {'subset':7} {'P':>6} {'R':>6} {'F1':>6} {'exactF1':>8} "
        f"{'speaker':>8} {'cue':>6} {'fix/100':>8}"
    )
    print()
    print(head)
    print("-" * len(head))
    for name, (direct, every, _, _) in results.items():
        for subset, tally in (("direct", direct), ("all", every)):
            s = tally.scores()
            print(
                f"{name:17} {subset:7} {s['P']:6.3f} {s['R']:6.3f} {s['F1']:6.3f} "
                f"{s['exactF1']:8.3f} {s['speaker']:8.3f} {s['cue']:6.3f} {s['fix100']:8.1f}"
            )
    print()
    print("by gold kind (all attributions): n gold, P (of predicted of that kind), R, exact R")
    for name, (_, every, _, _) in results.items():
        s = every.scores()
        parts = "  ".join(
            f"{k} n={s[k][0]} P {s[k][1]:.3f} R {s[k][2]:.3f} exR {s[k][3]:.3f}"
            for k in ("direct", "mixed", "indirect")
        )
        print(f"  {name:17} {parts}")
    print()
    print("exact content of discontinuous gold attributions (share recovered):")
    for name, (_, every, _, _) in results.items():
        print(f"  {name:17} {every.scores()['split']:.3f}")
    print()
    print("corrections (all attributions):")
    for name, (_, every, _, _) in results.items():
        print(f"  {name:17} {every.corrections()}")
    print()
    for name, (_, _, crashed, seconds) in results.items():
        print(f"{name:17} crashed articles: {crashed}/{n_articles}   time {seconds:.2f} s")
    print()
    base = results["curate.quotes.v6"]
    for name, (direct, every, _, secs) in results.items():
        if name == "curate.quotes.v6":
            continue
        print(f"ratios {name} / curate.quotes.v6 (same docs, same run):")
        for subset, mine, theirs in (("direct", direct, base[0]), ("all", every, base[1])):
            a, b = mine.scores(), theirs.scores()
            ratios = "  ".join(
                f"{k} {a[k] / b[k]:.2f}x" if b[k] else f"{k} n/a"
                for k in ("P", "R", "F1", "exactF1", "speaker", "cue", "fix100")
            )
            print(f"  {subset:7} {ratios}")
        print(f"  time    {secs / base[3]:.2f}x" if base[3] else "  time    n/a")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="PolNeAR-format folder (text/, attributions/)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N articles")
    ap.add_argument("--cache", type=Path, default=None, help="folder to cache parsed docs")
    ap.add_argument("--errors", type=int, default=0, help="print up to N errors per extractor")
    ap.add_argument("--model", default=None, help="trained quote model (default: shipped)")
    args = ap.parse_args(argv)

    gold, docs, version = load_docs(args.path, args.limit, args.cache)
    n_gold = sum(len(g.quotes) for g in gold)
    n_direct = sum(1 for g in gold for q in g.quotes if has_double(q))
    print(f"PolNeAR {args.path}: {len(gold)} articles, {n_gold} attributions, {n_direct} direct")
    print(f"spaCy model {version}; all extractors run on the same parsed docs")
    n_split = sum(1 for g in gold for q in g.quotes if q.discontinuous)
    print(f"{n_split} attributions have discontinuous content (interrupted by their attribution)")
    extractors: dict[str, Callable] = {}
    try:
        from curate.extract.learned import HYBRID_NAME, LEARNED_NAME, quote_extractor

        hybrid = quote_extractor(args.model, hybrid=True)
        learned = quote_extractor(args.model, hybrid=False)
        extractors[HYBRID_NAME.removeprefix("curate.quotes.")] = hybrid
        extractors[LEARNED_NAME.removeprefix("curate.quotes.")] = learned
        print(f"trained model {hybrid.model.trained.ref} ({hybrid.model.trained.path})")
    except CurateError as e:
        print(f"hybrid and learned extractors left out: {e}")
    extractors["curate.quotes.v7"] = functools.partial(extract_quotes, version=7)
    extractors["curate.quotes.v6"] = extract_quotes
    extractors["v6 covering"] = covering(extract_quotes)
    extractors["textacy"] = textacy_quotes
    results = {name: run(name, fn, gold, docs, args.errors) for name, fn in extractors.items()}
    report(results, len(gold))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Quote extraction on PolNeAR: curate.quotes.v2 against textacy's direct_quotations.

Usage: python benchmarks/quotes_polnear.py PATH [--limit N] [--cache DIR] [--errors N]

PATH is a PolNeAR-format folder (``text/``, ``attributions/``) read as ``curate import brat``
reads it (``curate.io.brat.read_brat``): with several ``.ann`` files per article the first
in sorted order is the gold. Both extractors run on the same spaCy docs. For each:
precision/recall/F1 of quote content and speaker and cue accuracy on matched quotes, for
direct quotes only (gold and predicted spans that contain a double quote mark) and for all
attributions. Matching: one-to-one, optimal (most pairs, then highest character Jaccard),
a pair counts when the overlap covers more than half of both spans (``curate.score.match``).
A speaker (cue) is right when it overlaps the gold Source (Cue); gold quotes without a
Source (Cue) do not count for that accuracy. An article on which an extractor raises
counts as crashed and contributes its gold quotes as misses.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

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


class Tally:
    """Counts for one extractor and one subset (direct-only or all)."""

    def __init__(self) -> None:
        self.c: Counter[str] = Counter()

    def add(self, gold: list[Quote], pred: list[Quote]) -> list[tuple[int, int]]:
        self.c["gold"] += len(gold)
        self.c["pred"] += len(pred)
        pairs = match_spans([(q.start, q.end) for q in gold], [(q.start, q.end) for q in pred])
        self.c["tp"] += len(pairs)
        for i, j in pairs:
            g, p = gold[i], pred[j]
            if g.speaker is not None:
                self.c["spk_n"] += 1
                self.c["spk_ok"] += _hit(g.speaker, p.speaker)
            if g.cue is not None:
                self.c["cue_n"] += 1
                self.c["cue_ok"] += _hit(g.cue, p.cue)
        return pairs

    def scores(self) -> dict[str, float]:
        c = self.c
        p = c["tp"] / c["pred"] if c["pred"] else 0.0
        r = c["tp"] / c["gold"] if c["gold"] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        spk = c["spk_ok"] / c["spk_n"] if c["spk_n"] else 0.0
        cue = c["cue_ok"] / c["cue_n"] if c["cue_n"] else 0.0
        return {"P": p, "R": r, "F1": f, "speaker": spk, "cue": cue}


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
) -> tuple[dict, dict, int, float]:
    direct, every = Tally(), Tally()
    crashed = 0
    errors: list[str] = []
    t0 = time.perf_counter()
    for g, doc in zip(gold, docs, strict=True):
        try:
            pred = list(fn(doc))
        except Exception as e:  # noqa: BLE001 - a crash is what we count
            crashed += 1
            pred = []
            errors.append(f"CRASH {g.id}: {type(e).__name__}: {e}")
        gd = [q for q in g.quotes if has_double(q)]
        pdq = [q for q in pred if has_double(q)]
        direct.add(gd, pdq)
        pairs = every.add(list(g.quotes), pred)
        if show_errors and len(errors) < show_errors:
            errors.extend(_explain(g, pred, pairs))
    seconds = time.perf_counter() - t0
    for line in errors[:show_errors]:
        print(f"  [{name}] {line}")
    return direct.scores(), every.scores(), crashed, seconds


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="PolNeAR-format folder (text/, attributions/)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N articles")
    ap.add_argument("--cache", type=Path, default=None, help="folder to cache parsed docs")
    ap.add_argument("--errors", type=int, default=0, help="print up to N errors per extractor")
    args = ap.parse_args(argv)

    gold, docs, version = load_docs(args.path, args.limit, args.cache)
    n_gold = sum(len(g.quotes) for g in gold)
    n_direct = sum(1 for g in gold for q in g.quotes if has_double(q))
    print(f"PolNeAR {args.path}: {len(gold)} articles, {n_gold} attributions, {n_direct} direct")
    print(f"spaCy model {version}; both extractors run on the same parsed docs")
    results = {
        "curate.quotes.v2": run("curate", extract_quotes, gold, docs, args.errors),
        "textacy direct_quotations": run("textacy", textacy_quotes, gold, docs, args.errors),
    }
    head = f"{'extractor':28} {'subset':7} {'P':>6} {'R':>6} {'F1':>6} {'speaker':>8} {'cue':>6}"
    print()
    print(head)
    print("-" * len(head))
    for name, (direct, every, _, _) in results.items():
        for subset, s in (("direct", direct), ("all", every)):
            print(
                f"{name:28} {subset:7} {s['P']:6.3f} {s['R']:6.3f} {s['F1']:6.3f} "
                f"{s['speaker']:8.3f} {s['cue']:6.3f}"
            )
    print()
    for name, (_, _, crashed, seconds) in results.items():
        print(f"{name:28} crashed articles: {crashed}/{len(gold)}   time {seconds:.2f} s")
    (cd, ca, _, cs), (td, ta, _, ts) = results.values()
    print()
    print("ratios curate / textacy (same docs, same run):")
    for subset, c, t in (("direct", cd, td), ("all", ca, ta)):
        ratios = "  ".join(
            f"{k} {c[k] / t[k]:.2f}x" if t[k] else f"{k} n/a (textacy 0)"
            for k in ("P", "R", "F1", "speaker", "cue")
        )
        print(f"  {subset:7} {ratios}")
    print(f"  time    {cs / ts:.2f}x" if ts else "  time    n/a")
    return 0


if __name__ == "__main__":
    sys.exit(main())

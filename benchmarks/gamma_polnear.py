"""Gamma per label and article on PolNeAR's annotator-training set: fast-gamma against canonical.

Usage: python benchmarks/gamma_polnear.py [BRAT_FOLDER] [--budget SECONDS] [--articles N]

For each article (6 annotators) and label, times pygamma-agreement's fast-gamma, then the
canonical algorithm in a child process stopped after ``--budget`` seconds, and prints both
values and the time ratio side by side; unitizing alpha over the whole set for scale.
Needs ``curate[agreement]`` and the corpus (default /work/shared/corpora/polnear/
annotator-training).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from pathlib import Path

from curate.score.agreement import annotation_spans, group_by_article, load_annotations
from curate.score.span_agreement import _covering, continuum_gamma
from curate.score.unitizing import unitizing_alpha_by_label

DEFAULT = Path("/work/shared/corpora/polnear/annotator-training")


def _canonical(rows, label, out) -> None:  # type: ignore[no-untyped-def]
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the ILP solver prints its log from C
    t = time.perf_counter()
    g = continuum_gamma(rows, label, fast=False)
    out.put((g, time.perf_counter() - t))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--budget", type=float, default=120.0, help="seconds for canonical gamma")
    ap.add_argument("--articles", type=int, default=4)
    ap.add_argument("--only", default="", help="articles whose id contains this")
    args = ap.parse_args()
    docs, _ = load_annotations(args.corpus)
    t = time.perf_counter()
    ua = unitizing_alpha_by_label(docs)
    print(f"unitizing alpha, all labels and articles: {time.perf_counter() - t:.3f} s")
    print(
        f"{'article':38} {'label':8} {'ann':>3} {'units':>5} {'fast':>7} {'fast s':>7} "
        f"{'canon':>7} {'canon s':>8} {'ratio':>6}"
    )
    total_fast = 0.0
    chosen = [(a, x) for a, x in sorted(group_by_article(docs).items()) if args.only in a]
    for art, anns in chosen[: args.articles]:
        units: dict[str, list[tuple[str, int, int]]] = {}
        for who, doc in sorted(anns.items()):
            for label, spans in annotation_spans(doc).items():
                units.setdefault(label, []).extend((who, *_covering(sp)) for sp in spans)
        for label, rows in sorted(units.items()):
            t = time.perf_counter()
            fast = continuum_gamma(rows, label, fast=True)
            fast_s = time.perf_counter() - t
            total_fast += fast_s
            q: mp.Queue = mp.Queue()
            child = mp.Process(target=_canonical, args=(rows, label, q))
            child.start()
            child.join(args.budget)
            if child.is_alive():
                child.terminate()
                child.join()
                canon, canon_s = "-", f">{args.budget:.0f}"
                ratio = f">{args.budget / fast_s:.0f}"
            else:
                g, secs = q.get()
                canon, canon_s, ratio = f"{g:.4f}", f"{secs:.1f}", f"{secs / fast_s:.1f}"
            print(
                f"{art[:38]:38} {label:8} {len(anns):>3} {len(rows):>5} {fast:>7.4f} "
                f"{fast_s:>7.1f} {canon:>7} {canon_s:>8} {ratio:>6}",
                flush=True,
            )
    print(f"fast-gamma, all articles and labels: {total_fast:.1f} s")
    print("unitizing alpha: " + ", ".join(f"{k} {v.alpha:.3f}" for k, v in ua.items()))


if __name__ == "__main__":
    main()

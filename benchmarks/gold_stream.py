"""Benchmark: time and peak memory of writing a gold version, offline, as it grows.

    python benchmarks/gold_stream.py [--sizes 2000,10000,50000]
        [--baseline DIR] [--baseline-sizes 2000]

Writes synthetic gold articles (entities, a quote with speaker and cue, two annotators
by e-mail, so pseudonyms too) as a version with every export (Parquet, JSONL, spaCy
DocBin, CoNLL) and the default train/dev/test splits: what ``curate export`` and
``curate pull --release`` do after reading ``gold.jsonl``, without Label Studio. The
articles come from a generator, so the writer holds only what it keeps itself.

Each run is a fresh child process, so its peak resident memory (ru_maxrss) is its own.
``--baseline DIR`` also runs, at ``--baseline-sizes``, the ``curate`` package found in
``DIR`` (the writer before streaming), e.g. made with
``git archive 86d2681 curate | tar -x -C DIR``. Prints seconds, peak MB and the ratio
of each to the size before; memory is flat when the MB ratio stays near 1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

NAMES = ["Ana Lopez", "Dmitry Peskov", "Maria Silva", "Olaf Scholz", "Zorbo Quux"]
PLACES = ["Brussels", "Vladivostok", "Kyiv", "São Paulo", "Paris"]


def articles(n: int) -> Iterator:
    from curate.model import Annotation, Document, Entity, Quote, Span

    for i in range(n):
        who, where, other = NAMES[i % 5], PLACES[(i * 7) % 5], NAMES[(i + 1) % 5]
        text = (
            f"{who} arrived in {where} on Monday. "
            + "Officials declined to comment on the talks. " * (2 + i % 5)
            + f'{who.split()[0]} said: "We will not give up on this." '
            f"Later {other} met staff there. Item {i}."
        )
        ents = []
        for name, label in ((who, "PERSON"), (where, "GPE"), (other, "PERSON")):
            s = text.index(name)
            ents.append(Entity.of(text, s, s + len(name), label))
        qs = text.index('"We')
        qe = text.index('this."') + 6
        sp = text.index(f"{who.split()[0]} said")
        quote = Quote(
            qs, qe, text[qs:qe], "direct",
            Span.of(text, sp, sp + len(who.split()[0])),
            Span.of(text, sp + len(who.split()[0]) + 1, sp + len(who.split()[0]) + 5),
        )  # fmt: skip
        yield Document(
            f"bench-{i:06d}",
            text,
            entities=tuple(ents),
            quotes=(quote,),
            provenance=Annotation(
                (f"a{i % 3}@team.local", f"a{(i + 1) % 3}@team.local"),
                (2 * i, 2 * i + 1),
                task_id=i,
                project_title="bench",
                snapshot="1",
                selection="merged",
            ),
        )


def child(n: int, baseline: str | None) -> None:
    if baseline:  # the old package instead of the editable install of this checkout
        sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
        sys.path.insert(0, baseline)
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import curate
    from curate.gold import write_version

    assert baseline is None or curate.__file__.startswith(baseline), curate.__file__
    with tempfile.TemporaryDirectory(prefix="curate-bench-gold-") as tmp:
        t0 = time.perf_counter()
        path = write_version(articles(n), name="bench", root=tmp, tokenizer="blank:en")
        secs = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"secs": secs, "peak_mb": peak, "bytes": size}))


def run(n: int, baseline: str | None) -> dict:
    cmd = [sys.executable, __file__, "--child", str(n)]
    if baseline:
        cmd += ["--baseline", baseline]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"child failed ({' '.join(cmd)}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,10000,50000")
    ap.add_argument("--baseline", help="folder holding the old curate package")
    ap.add_argument("--baseline-sizes", default="2000")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.baseline)
        return
    runs = [("streamed (this checkout)", None, [int(s) for s in args.sizes.split(",")])]
    if args.baseline:
        sizes = [int(s) for s in args.baseline_sizes.split(",")]
        runs.insert(0, ("in memory (baseline)", args.baseline, sizes))
    print(f"{'writer':26} {'articles':>8} {'seconds':>9} {'x prev':>7} {'peak MB':>8} "
          f"{'x prev':>7} {'ms/article':>10} {'MB on disk':>10}")  # fmt: skip
    results: dict[tuple[str, int], dict] = {}
    for label, where, sizes in runs:
        prev = None
        for n in sizes:
            r = results[label, n] = run(n, where)
            t_ratio = f"{r['secs'] / prev['secs']:.2f}" if prev else "-"
            m_ratio = f"{r['peak_mb'] / prev['peak_mb']:.2f}" if prev else "-"
            print(f"{label:26} {n:8d} {r['secs']:9.1f} {t_ratio:>7} {r['peak_mb']:8.0f} "
                  f"{m_ratio:>7} {1000 * r['secs'] / n:10.2f} {r['bytes'] / 2**20:10.1f}",
                  flush=True)  # fmt: skip
            prev = r
    if args.baseline:
        for n in sorted({n for (_, n) in results}):
            old, new = results.get((runs[0][0], n)), results.get((runs[-1][0], n))
            if old and new:
                print(f"at {n} articles: streamed / in memory = {new['secs'] / old['secs']:.2f}x "
                      f"time, {new['peak_mb'] / old['peak_mb']:.2f}x peak memory")  # fmt: skip


if __name__ == "__main__":
    main()

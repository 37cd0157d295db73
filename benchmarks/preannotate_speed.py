"""curate's full pre-annotation throughput against plain ``nlp.pipe`` in the same run.

    python benchmarks/preannotate_speed.py /work/shared/corpora/polnear/train [--limit 300]

PATH is a folder of .txt files or a PolNeAR split (its ``text/`` folder is read). The
baseline is ``for doc in nlp.pipe(texts)`` with the same default spaCy model, all
components, default batch size. curate's side is ``preannotate_file``: reading a JSONL
source, spaCy, entity and quote extraction, writing JSONL. Both run ``--rounds`` times,
interleaved, and the best round of each counts (the machine may be shared). Then the
``--n-process 2`` speed-up, a check that the output is identical, and peak memory.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import spacy

from curate.extract.nlp import default_model, speed_up
from curate.extract.preannotate import (
    DEFAULT_BATCH_SIZE,
    load_pipeline,
    pipeline,
    preannotate_file,
)
from curate.io.articles import iter_articles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--skip-n-process", action="store_true")
    ap.add_argument("--quotes", default=None, help="quote extractor (default: preannotate's)")
    args = ap.parse_args()

    folder = args.path / "text" if (args.path / "text").is_dir() else args.path
    articles = list(itertools.islice(iter_articles(folder), args.limit))
    texts = [a.text for a in articles]
    words = sum(len(t.split()) for t in texts)
    print(f"{len(articles)} articles, {words} words from {folder}")

    model = default_model()
    plain = spacy.load(model)
    print(f"model {model}: plain pipeline {plain.pipe_names}, batch size {plain.batch_size}")
    extractors = pipeline(args.quotes)
    print(f"quote extractor {extractors[-1].version}")
    load_pipeline(None, extractors)  # curate's pipeline, loaded once like the CLI does
    _check_fast_rules(model, texts[:50])

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        src.write_text(
            "".join(json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in articles),
            encoding="utf-8",
        )
        out1, out2 = Path(tmp) / "one.jsonl", Path(tmp) / "two.jsonl"
        for _ in plain.pipe(texts[:3]):
            pass
        base_times, same_batch_times, curate_times = [], [], []
        for r in range(args.rounds):
            t = time.perf_counter()
            for _ in plain.pipe(texts):
                pass
            base_times.append(time.perf_counter() - t)
            # Context only: the plain pipeline at curate's batch size.
            t = time.perf_counter()
            for _ in plain.pipe(texts, batch_size=args.batch_size):
                pass
            same_batch_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            preannotate_file(src, out1, batch_size=args.batch_size, quotes=args.quotes)
            curate_times.append(time.perf_counter() - t)
            print(
                f"  round {r + 1}: plain {words / base_times[-1]:6.0f}  plain batch "
                f"{args.batch_size} {words / same_batch_times[-1]:6.0f}  curate "
                f"{words / curate_times[-1]:6.0f} words/s   rss {_rss_mb():.0f} MB"
            )
        base, cur = min(base_times), min(curate_times)
        same_batch = min(same_batch_times)
        print(f"plain nlp.pipe(texts):          {words / base:8.0f} words/s  ({base:.1f} s)")
        print(
            f"plain, batch_size={args.batch_size} (context): {words / same_batch:8.0f} words/s  "
            f"({same_batch:.1f} s)"
        )
        print(f"curate preannotate (1 process): {words / cur:8.0f} words/s  ({cur:.1f} s)")
        print(
            f"RATIO curate / plain nlp.pipe:  {base / cur:.2f}  (target >= 1.0 with v2, 0.5 hybrid)"
        )
        print(f"ratio curate / plain at batch {args.batch_size}: {same_batch / cur:.2f}")

        # Fresh processes for memory: this one holds both pipelines.
        c1 = Path(tmp) / "c1.jsonl"
        one = _child(src, c1, 1, args.batch_size, args.quotes)
        print(f"peak RSS of curate pre-annotation (fresh process): {one['peak_mb']:.0f} MB")
        if not args.skip_n_process:
            two = _child(src, out2, 2, args.batch_size, args.quotes)
            same = c1.read_bytes() == out2.read_bytes() == out1.read_bytes()
            print(
                f"curate --n-process 1 / 2 (fresh processes): {words / one['seconds']:.0f} / "
                f"{words / two['seconds']:.0f} words/s"
            )
            print(
                f"SPEED-UP --n-process 2 / 1:     {one['seconds'] / two['seconds']:.2f}  "
                f"(identical output: {same})"
            )
            print(
                f"peak RSS with --n-process 2: main {two['peak_mb']:.0f} MB, worker "
                f"<= {two['children_mb']:.0f} MB (counts pages shared with the main at fork)"
            )


def _child(src: Path, out: Path, n_process: int, batch_size: int, quotes: str | None) -> dict:
    """Time ``preannotate_file`` in a fresh interpreter; return seconds and peak memory."""
    code = (
        "import json, resource, sys, time\n"
        "from curate.extract.preannotate import load_pipeline, pipeline, preannotate_file\n"
        f"load_pipeline(None, pipeline({quotes!r}))\n"
        "t = time.perf_counter()\n"
        f"preannotate_file({str(src)!r}, {str(out)!r}, n_process={n_process}, "
        f"batch_size={batch_size}, quotes={quotes!r})\n"
        "took = time.perf_counter() - t\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "peak = int(hwm[0].split()[1]) / 1024 if hwm else 0.0\n"
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': took, 'peak_mb': peak, 'children_mb': kids}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_fast_rules(model: str, texts: list[str]) -> None:
    """curate's indexed attribute-ruler matcher must annotate exactly like the stock one."""
    stock = spacy.load(model)
    fast = spacy.load(model)
    changed = speed_up(fast)

    def annotations(nlp: spacy.language.Language) -> list:
        return [
            [(t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.ent_type_) for t in doc]
            for doc in nlp.pipe(texts)
        ]

    same = annotations(stock) == annotations(fast)
    print(f"fast matcher on {changed}: identical annotations on {len(texts)} articles: {same}")
    if not same:
        sys.exit("fast attribute-ruler matcher changed the annotations")


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


if __name__ == "__main__":
    main()

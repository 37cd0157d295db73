"""Pre-annotation on 1 and 2 local Dask workers against the single-process path.

    python benchmarks/preannotate_scale.py /work/shared/corpora/polnear/train [--limit 300]

PATH is a folder of .txt files or a PolNeAR split (its ``text/`` folder is read). All
three runs take the same articles from a JSONL source and write JSONL: the single
process with ``preannotate_file``, then ``preannotate_distributed`` on a LocalCluster of
1 and of 2 worker processes (one thread each). Cluster start and the model load on each
worker are timed apart from the throughput. Prints ratios against the single process,
whether the shards equal the single-process output, and peak memory per worker.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import tempfile
import time
from pathlib import Path

from curate.extract.distributed import preannotate_distributed, run_partition
from curate.extract.preannotate import DEFAULT_BATCH_SIZE, load_pipeline, preannotate_file
from curate.io.articles import iter_articles
from curate.model import Article
from curate.schema import load_schema


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--partition-size", type=int, default=25)
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    folder = args.path / "text" if (args.path / "text").is_dir() else args.path
    articles = list(itertools.islice(iter_articles(folder), args.limit))
    words = sum(len(a.text.split()) for a in articles)
    print(f"{len(articles)} articles, {words} words from {folder}")
    schema = load_schema()

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        src.write_text(
            "".join(json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in articles),
            encoding="utf-8",
        )
        single_out = Path(tmp) / "single.jsonl"
        load_pipeline()
        t = time.perf_counter()
        preannotate_file(src, single_out, batch_size=args.batch_size)
        single = time.perf_counter() - t
        single_lines = single_out.read_text(encoding="utf-8").splitlines()
        print(f"single process:     {words / single:8.0f} words/s  ({single:.1f} s)")

        for n in [int(x) for x in args.workers.split(",")]:
            t = time.perf_counter()
            with (
                LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
                # Load the model on every worker before timing (once per worker thread).
                tiny = [Article("warm-up", "Kirby said so.")]
                warm = [
                    client.submit(run_partition, tiny, None, 8, schema, workers=[w], pure=False)
                    for w in client.scheduler_info()["workers"]
                ]
                client.gather(warm)
                start = time.perf_counter() - t
                out = Path(tmp) / f"dask{n}.d"
                t = time.perf_counter()
                result = preannotate_distributed(
                    src,
                    out,
                    client=client,
                    partition_size=args.partition_size,
                    batch_size=args.batch_size,
                    schema=schema,
                )
                took = time.perf_counter() - t
                peaks = client.run(_peak_mb)
            lines = [
                line
                for p in sorted(out.glob("part-*.jsonl"))
                for line in p.read_text(encoding="utf-8").splitlines()
            ]
            print(
                f"dask, {n} worker(s):  {words / took:8.0f} words/s  ({took:.1f} s; cluster "
                f"start + model load {start:.1f} s)  RATIO vs single process: {single / took:.2f}"
            )
            print(
                f"  {result.partitions} partitions, {len(result.failed)} failed; output equals "
                f"single process article for article: {lines == single_lines}"
            )
            _explain(single_lines, lines)
            print(
                "  peak RSS per worker: "
                + ", ".join(f"{peak:.0f} MB" for peak in sorted(peaks.values()))
            )
    print(f"peak RSS client process: {_peak_mb():.0f} MB")


def _explain(expected: list[str], got: list[str]) -> None:
    """Name the first article whose output differs, and the fields that differ."""
    for a, b in zip(expected, got, strict=False):
        if a != b:
            x, y = json.loads(a), json.loads(b)
            fields = [k for k in x if x.get(k) != y.get(k)]
            print(f"  first difference: article {x['id']!r} (got {y['id']!r}), fields {fields}")
            return
    if len(expected) != len(got):
        print(f"  {len(expected)} lines expected, {len(got)} written")


def _peak_mb() -> float:
    """Peak RSS of this process image (VmHWM). ru_maxrss would not do: Linux keeps it
    across fork and exec, so a spawned worker would report its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()

"""``curate serve`` latency and batch throughput against ``curate preannotate``, one process.

Usage: python benchmarks/serve_latency.py [POLNEAR_DEV] [--requests N] [--batch N]

The backend (the real Starlette app under uvicorn, on a free port, in a thread of this
process) serves curate's default extractor. After warm-up it receives ``--requests``
``/predict`` calls of one article each (articles in turn, as Label Studio sends an
imported task): p50/p95/max latency measured by the client over HTTP, JSON included,
beside the same articles pre-annotated one by one in process (the floor the model sets).
Then one ``/predict`` call with ``--batch`` articles, timed against
:func:`curate.extract.preannotate.preannotate` on the same articles (what ``curate
preannotate`` runs, same spaCy model): the throughput ratio is printed. Targets:
p95 <= 300 ms; batch >= 0.8x preannotate. The server runs spaCy's entity recognizer in a
worker process beside the rest of the pipeline (``curate.extract.ner_process``, same
predictions); the in-process lines show the one-process floor and the same split.
Articles: PolNeAR (dev, then train) when present, else the shipped seed articles repeated.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import requests  # noqa: E402

from curate.model import Article  # noqa: E402
from curate.schema import load_schema  # noqa: E402
from curate.studio.convert import document_to_task  # noqa: E402

POLNEAR = Path("/work/shared/corpora/polnear")


def articles(n: int, corpus: Path) -> list[Article]:
    from curate.io.brat import read_brat

    found: list[Article] = []
    for part in ("dev", "train"):
        if (corpus / part / "text").is_dir():
            found += [d.article for d in read_brat(corpus / part).gold()]
    if not found:
        from curate.score.evaluate import load_gold

        found = [d.article for d in load_gold("seeds")[0]]
    out = []
    while len(out) < n:
        out += [Article(f"{a.id}#{len(out) + i}", a.text) for i, a in enumerate(found)]
    return out[:n]


def start_server(state_dir: Path) -> tuple[str, object, threading.Thread]:
    import uvicorn

    from curate.serve.app import create_app
    from curate.serve.run import build_backend
    from curate.studio.server import find_free_port

    backend, link = build_backend(state_dir)
    backend.warm_up()
    port = find_free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(backend, link.on_setup), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    while not server.started:
        time.sleep(0.05)
    return url, server, thread


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=POLNEAR)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    schema = load_schema()
    arts = articles(max(args.batch, args.requests), args.corpus)
    tasks = [{"id": i, **document_to_task_of(a, schema)} for i, a in enumerate(arts)]
    with tempfile.TemporaryDirectory() as tmp:
        url, server, thread = start_server(Path(tmp))
        http = requests.Session()
        for t in tasks[:5]:  # warm-up
            http.post(f"{url}/predict", json={"tasks": [t]}, timeout=120).raise_for_status()
        times = []
        for i in range(args.requests):
            t0 = time.perf_counter()
            r = http.post(f"{url}/predict", json={"tasks": [tasks[i]]}, timeout=120)
            r.raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
            assert len(r.json()["results"]) == 1
        from curate.extract.preannotate import preannotate

        # Baseline: the same articles one by one through the library, no HTTP.
        list(preannotate(arts[:2]))  # its model loaded before timing, as the server's is
        list(preannotate(arts[:2], ner_process=True))
        base_times, split_times = [], []
        for a in arts[: args.requests]:
            t0 = time.perf_counter()
            list(preannotate([a]))
            base_times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            list(preannotate([a], ner_process=True))
            split_times.append((time.perf_counter() - t0) * 1000)
        chars = statistics.mean(len(a.text) for a in arts[: args.requests])
        print(f"one article at a time ({args.requests} articles, mean {chars:.0f} characters):")
        p95 = _p95(times)
        for name, ts in (
            ("/predict (HTTP)", times),
            ("preannotate, in process", base_times),
            ("  same, NER in a worker", split_times),
        ):
            print(
                f"  {name:<24} p50 {statistics.median(ts):6.0f} ms  p95 {_p95(ts):6.0f} ms"
                f"  max {max(ts):6.0f} ms"
            )
        print(
            f"  /predict p95 / in-process p95 = {p95 / _p95(base_times):.2f}x;"
            f" target p95 <= 300 ms: {'met' if p95 <= 300 else 'NOT met'}"
        )

        batch = tasks[: args.batch]
        t0 = time.perf_counter()
        base = list(preannotate(arts[: args.batch]))
        t_base = time.perf_counter() - t0
        t0 = time.perf_counter()
        r = http.post(f"{url}/predict", json={"tasks": batch}, timeout=600)
        r.raise_for_status()
        t_serve = time.perf_counter() - t0
        assert len(r.json()["results"]) == len(batch) == len(base)
        ratio = t_base / t_serve
        print(f"batch of {len(batch)} articles:")
        print(f"  curate preannotate  {len(batch) / t_base:6.1f} articles/s  ({t_base:.1f} s)")
        print(f"  /predict (HTTP)     {len(batch) / t_serve:6.1f} articles/s  ({t_serve:.1f} s)")
        print(f"  ratio {ratio:.2f}x  (target >= 0.8x: {'met' if ratio >= 0.8 else 'NOT met'})")
        server.should_exit = True
        thread.join(30)
    return 0


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]


def document_to_task_of(article: Article, schema) -> dict:
    from curate.model import Document

    return document_to_task(Document(article.id, article.text), schema)


if __name__ == "__main__":
    sys.exit(main())

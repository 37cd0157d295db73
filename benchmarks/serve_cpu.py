"""``/predict``'s critical path in CPU time: curate's pipeline against spaCy's stock one.

Usage: python benchmarks/serve_cpu.py [POLNEAR_DEV] [--articles N]

On a shared machine wall-clock latency measures the neighbours; CPU time per process
does not. ``curate serve`` runs the entity recognizer in a worker process while the main
process runs the other components (``curate.extract.ner_process``), then the extractors,
the Label Studio regions and the JSON. For each article (one at a time, through
:class:`~curate.extract.ner_process.NerProcess` in memory zones held over articles, as
the server does) this measures the main process's part (thread CPU: its components,
sending the text, setting the entities), the worker's tokenizer and recognizer (its
process CPU) and what follows the join, and models the latency on two idle cores as
``max(main, worker) + after``. Two configurations, article by article in turn:

- ``stock``: the model as ``spacy.load`` gives it, every component over every token;
- ``curate``: the pipeline :func:`curate.extract.preannotate.load_pipeline` gives with
  ``ner_process`` (what ``curate serve`` runs; ``curate preannotate`` runs the same
  components in one process).

Both use the same kind of worker (curate's: its recognizer multiplies matrices with
numpy's BLAS, ``curate.extract.nlp.numpy_products``), so the ratio measures the main
process's part; compare another checkout's run for the worker's. Target: the modelled
p95 of ``curate`` <= 300 ms (the ``/predict`` target of ``benchmarks/serve_latency.py``,
which adds HTTP, JSON parsing and scheduling). Under load CPU times grow too: compare
``curate / stock``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.extract import ner_process  # noqa: E402
from curate.model import Article  # noqa: E402

POLNEAR_DEV = Path("/work/shared/corpora/polnear/dev")


def articles(corpus: Path, n: int) -> list[Article]:
    if (corpus / "text").is_dir():
        from curate.io.brat import read_brat

        found = [d.article for d in read_brat(corpus).gold()]
    else:
        from curate.io.articles import read_articles

        found = read_articles(Path(__file__).resolve().parent.parent / "seeds")[0]
    return found[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=POLNEAR_DEV)
    ap.add_argument("--articles", type=int, default=84)
    args = ap.parse_args()

    import spacy

    from curate.extract.nlp import default_model, pipes_to_exclude
    from curate.extract.preannotate import PreannotateReport, _document, load_pipeline, pipeline
    from curate.model import Prediction
    from curate.schema import load_schema
    from curate.studio.convert import document_to_results

    arts = articles(args.corpus, args.articles)
    schema = load_schema()
    extractors = pipeline()
    required = {p for e in extractors for p in e.required_pipes}
    exclude = pipes_to_exclude(None, required)
    split = load_pipeline(None, extractors, ner_process=True)[0]
    assert isinstance(split, ner_process.NerProcess)
    # Both behind the same kind of worker, in zones held over articles as the server's.
    configs = {
        "stock": ner_process.NerProcess(
            spacy.load(default_model(), exclude=sorted(exclude)), split.model, split.worker_exclude
        ),
        "curate": split,
    }
    made_by = Prediction("benchmark")

    def one(nlp: ner_process.NerProcess, article: Article) -> tuple[float, float, float]:
        with nlp.memory_zone():
            t = time.thread_time()  # blocked reading the worker's answer costs no CPU
            (doc,) = nlp.pipe([article.text])
            main = time.thread_time() - t
            t = time.thread_time()
            found = _document(doc, article, schema, extractors, made_by, PreannotateReport())
            assert found is not None
            json.dumps({"results": [{"result": document_to_results(found[0], schema)}]})
            after = time.thread_time() - t
        return main, nlp.worker_cpu, after

    for nlp in configs.values():  # warm-up, as the server's
        for a in arts[:3]:
            one(nlp, a)
    gc.freeze()
    rows: dict[str, list[tuple[float, float, float]]] = {k: [] for k in configs}
    for i, a in enumerate(arts):
        order = list(configs) if i % 2 == 0 else list(reversed(configs))
        for name in order:
            rows[name].append(one(configs[name], a))
    for nlp in configs.values():
        nlp.close()

    chars = statistics.mean(len(a.text) for a in arts)
    print(f"{len(arts)} articles one at a time (mean {chars:.0f} characters), CPU ms:")
    modelled = {}
    for name, rs in rows.items():
        lat = [1000 * (max(m, w) + after) for m, w, after in rs]
        modelled[name] = lat
        main_ms = [1000 * m for m, _, _ in rs]
        work_ms = [1000 * w for _, w, _ in rs]
        after_ms = [1000 * a for _, _, a in rs]
        pole = sum(m > w for m, w, _ in rs)
        print(
            f"  {name:<7} modelled p50 {statistics.median(lat):5.0f}  p95 {_p95(lat):5.0f}  "
            f"max {max(lat):5.0f} | main p95 {_p95(main_ms):5.0f}  worker p95 "
            f"{_p95(work_ms):5.0f}  after p95 {_p95(after_ms):4.0f} | main the long pole "
            f"on {pole} of {len(rs)}"
        )
    ratio = _p95(modelled["curate"]) / _p95(modelled["stock"])
    p95 = _p95(modelled["curate"])
    print(
        f"  curate / stock: p95 {ratio:.2f}x, total "
        f"{sum(modelled['curate']) / sum(modelled['stock']):.2f}x; modelled p95 <= 300 ms: "
        f"{'met' if p95 <= 300 else 'NOT met'}"
    )
    return 0


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]


if __name__ == "__main__":
    sys.exit(main())

"""Time releasing and loading a gold version against plain `datasets` doing the same work.

    python benchmarks/gold_release.py [N_ARTICLES]

Prints seconds and ratios: curate's release (hf only, then all exports) against
`Dataset.from_list(...).to_parquet` of the same rows, and `curate.gold.load` /
`load_documents` against `datasets.load_dataset(<version folder>)`, side by side in one
process on the same synthetic articles.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import datasets  # noqa: E402

import curate.gold as gold  # noqa: E402
from curate.gold.features import build_features  # noqa: E402
from curate.gold.rows import document_to_row  # noqa: E402
from curate.model import Annotation, Document, Entity, Quote, Span  # noqa: E402
from curate.schema import load_schema  # noqa: E402

SENTENCE = 'Dmitry Peskov told reporters in Vladivostok: "We will respond in time." '


def article(i: int, sentences: int = 20) -> Document:
    text = SENTENCE * sentences
    ents, quotes = [], []
    for k in range(sentences):
        o = k * len(SENTENCE)
        ents += [Entity.of(text, o, o + 13, "PERSON"), Entity.of(text, o + 32, o + 43, "GPE")]
        qs, qe = o + 45, o + len(SENTENCE) - 1
        quotes.append(
            Quote(
                qs,
                qe,
                text[qs:qe],
                "direct",
                Span.of(text, o, o + 13),
                Span.of(text, o + 14, o + 18),
                Span.of(text, o, o + 13),
            )  # fmt: skip
        )
    return Document(
        id=f"bench-{i:05d}", text=text, entities=tuple(ents), quotes=tuple(quotes),
        provenance=Annotation(("a@example.org",), (i,), task_id=i),
    )  # fmt: skip


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(n: int) -> None:
    docs = [article(i) for i in range(n)]
    schema = load_schema()
    features = build_features(schema)
    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        def baseline_write(some: list[Document] = docs) -> None:
            rows = [document_to_row(d, schema) for d in some]
            datasets.Dataset.from_list(rows, features=features).to_parquet(str(root / "b.parquet"))

        # warm up both sides (imports, first Arrow/spaCy use) so the ratios compare work
        baseline_write(docs[:2])
        gold.release(docs[:2], root=root, name="warm", splits="test")

        t_base, _ = timed(baseline_write)
        t_hf, r = timed(lambda: gold.release(docs, root=root, name="hf", formats=["hf"]))
        t_all, _ = timed(lambda: gold.release(docs, root=root, name="all"))
        t_ds, _ = timed(lambda: datasets.load_dataset(str(r.path), cache_dir=str(root / "cache")))
        t_load, _ = timed(lambda: gold.load(r.path))
        t_docs, loaded = timed(lambda: gold.load_documents(r.path))
        assert len(loaded) == n
    print(f"articles: {n}, entities: {2 * 20 * n}, quotes: {20 * n}")
    print(f"baseline Dataset.from_list+to_parquet:   {t_base:8.3f} s  1.00x")
    print(f"curate release (hf only, with manifest): {t_hf:8.3f} s  {t_hf / t_base:.2f}x")
    print(f"curate release (hf,spacy,conll,jsonl):   {t_all:8.3f} s  {t_all / t_base:.2f}x")
    print(f"baseline datasets.load_dataset(folder):  {t_ds:8.3f} s  1.00x")
    print(f"curate.gold.load (verify + in memory):   {t_load:8.3f} s  {t_load / t_ds:.2f}x")
    print(f"curate.gold.load_documents:              {t_docs:8.3f} s  {t_docs / t_ds:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)

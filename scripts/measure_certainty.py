"""Measure the certainty of each quote shape (``curate.extract.quotes.CERTAINTY``) on
PolNeAR train: the share of ``curate.quotes.v6``'s predictions of that shape
(``quote_shape``) that the quote benchmark's one-to-one matching
(``curate.score.match.match_spans``, as ``benchmarks/quotes_polnear.py``) pairs with a
gold attribution.

    python scripts/measure_certainty.py /work/shared/corpora/polnear/train [--cache DIR]

Prints one ``"shape": share,  # n=...`` line per shape, most frequent first, ready to
paste into ``CERTAINTY``. Use TRAIN only (dev stays the held-out check). The indirect
rows are in-sample: the learned filter was trained on the same articles.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from curate.extract.quotes import extract_quotes, quote_shape  # noqa: E402
from curate.score.match import match_spans  # noqa: E402


def shape_counts(path: Path, cache: Path | None) -> tuple[Counter[str], Counter[str]]:
    """Predictions and matched predictions per shape over the articles in ``path``."""
    from quotes_polnear import load_docs

    gold, docs, _ = load_docs(path, None, cache)
    n: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    for g, doc in zip(gold, docs, strict=True):
        pred = extract_quotes(doc)
        matched = {
            j for _, j in match_spans([q.offsets for q in g.quotes], [q.offsets for q in pred])
        }
        for j, q in enumerate(pred):
            n[quote_shape(q)] += 1
            hit[quote_shape(q)] += j in matched
    return n, hit


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="PolNeAR train folder (text/, attributions/)")
    ap.add_argument("--cache", type=Path, default=None, help="folder to cache parsed docs")
    args = ap.parse_args(argv)
    n, hit = shape_counts(args.path, args.cache)
    for shape, count in n.most_common():
        print(f'    "{shape}": {hit[shape] / count:.2f},  # n={count}')
    return 0


if __name__ == "__main__":
    sys.exit(main())

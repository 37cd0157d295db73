"""The serving path's predictions against the stock spaCy pipeline's, article by article.

Usage: python benchmarks/predict_identity.py [POLNEAR_DEV]

``curate serve`` and ``curate preannotate`` take shortcuts that must not change a single
prediction: the attribute ruler's indexed matcher (``curate.extract.nlp.speed_up``),
lemmas made only where curate reads them (``curate.extract.nlp.defer_lemmas``), matrix
products by numpy's BLAS rather than thinc's BLIS (``curate.extract.nlp.numpy_products``:
floats may differ in their last bits, so this is where a changed prediction would show)
and the entity recognizer in a worker process (``curate.extract.ner_process``). This runs the
articles through :func:`curate.extract.preannotate.preannotate` three ways: over the
stock pipeline (``spacy.load``, every component run over every token), as
``curate preannotate`` does, and as ``curate serve`` does (one article a request), and
prints how many articles differ from the stock predictions (target: 0).
Articles: PolNeAR dev when present, else the shipped seed articles.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.extract.preannotate import pipeline, preannotate  # noqa: E402
from curate.model import Article  # noqa: E402

POLNEAR_DEV = Path("/work/shared/corpora/polnear/dev")
SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def articles(corpus: Path) -> list[Article]:
    """PolNeAR's articles under ``corpus`` (a brat split), else the seed articles."""
    if (corpus / "text").is_dir():
        from curate.io.brat import read_brat

        return [d.article for d in read_brat(corpus).gold()]
    from curate.io.articles import read_articles

    return read_articles(SEEDS)[0]


def stock_pipeline():
    """The default model loaded by spaCy alone, without what curate's extractors skip."""
    import spacy

    from curate.extract.nlp import default_model, pipes_to_exclude

    required = {p for e in pipeline() for p in e.required_pipes}
    return spacy.load(default_model(), exclude=sorted(pipes_to_exclude(None, required)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=POLNEAR_DEV)
    args = ap.parse_args()
    arts = articles(args.corpus)
    stock = [d.to_dict() for d in preannotate(arts, model=stock_pipeline())]
    runs = {
        "curate preannotate": [d.to_dict() for d in preannotate(arts)],
        "curate serve (one article a call, NER in a worker)": [
            d.to_dict() for a in arts for d in preannotate([a], ner_process=True)
        ],
    }
    print(
        f"{len(arts)} articles, {sum(len(d['quotes']) for d in stock)} quotes and "
        f"{sum(len(d['entities']) for d in stock)} entities from the stock pipeline"
    )
    worst = 0
    for name, docs in runs.items():
        differ = [s["id"] for s, d in zip(stock, docs, strict=True) if s != d]
        worst = max(worst, len(differ))
        print(f"  {name}: {len(differ)} of {len(arts)} articles differ {differ[:5]}")
    print(f"target 0 differing articles: {'met' if worst == 0 else 'NOT met'}")
    return 0 if worst == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

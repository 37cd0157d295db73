"""Most useful task first: labeling PolNeAR in uncertainty order against random order.

Usage: python benchmarks/active_learning.py [POLNEAR] [--pool N] [--dev N] [--steps N]
    [--steps-per-article N]

Simulation: PolNeAR train is the pool of unlabeled articles, its gold the labeler. Both
orders start from the same random 25 articles. Random order then labels further random
articles; uncertainty order trains a quote model with ``curate train`` (through
:class:`curate.serve.training.CurateTrainer`, what ``curate serve`` retrains with) on
what is labeled so far and labels next the articles it is least sure about
(:meth:`curate.extract.learned.QuoteModel.uncertainty`, the score ``curate push --order
uncertainty`` writes). After 50, 100 and 200 labeled articles a model is trained from
scratch on each labeled set (same seed and settings) and its own quotes
(``curate.quotes.learned.v2``) are scored on PolNeAR dev: quote content F1 under the
overlap rule (:func:`curate.serve.training.quote_f1`). The two curves are printed side
by side, with the characters each labeled set holds (uncertainty favours long articles,
which hold more attributions).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.extract.learned import LEARNED_NAME, trained_quotes  # noqa: E402
from curate.extract.preannotate import load_pipeline  # noqa: E402
from curate.io.brat import read_brat  # noqa: E402
from curate.model import Document  # noqa: E402
from curate.serve.training import CurateTrainer, quote_f1  # noqa: E402

POINTS = (50, 100, 200)
START = 25
DEFAULT_CORPUS = Path("/work/shared/corpora/polnear")


def fit(labeled: list[Document], steps: int, seed: int, where: Path, per_article: int = 0) -> Any:
    """A ``curate train`` model on ``labeled``: its learned quote extractor. It trains for
    ``max(steps, per_article * len(labeled))`` updates."""
    out = where / f"v{len(list(where.iterdir())) + 1}"
    CurateTrainer(max(steps, per_article * len(labeled)), seed)(labeled, out)
    return trained_quotes(LEARNED_NAME, str(out)).extractor


def score(model: Any, dev: list[Document], parsed: list[Any]) -> float:
    model.prepare(parsed)
    preds = [d.with_(quotes=tuple(model(s))) for d, s in zip(dev, parsed, strict=True)]
    return quote_f1(dev, preds)


def uncertainty_order(model: Any, pool: list[Document], parsed: list[Any]) -> list[Document]:
    unsure = model.model.uncertainty(parsed)
    ranked = sorted(zip(pool, unsure, strict=True), key=lambda p: -p[1])
    return [d for d, _ in ranked]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--pool", type=int, default=1000, help="train articles in the pool")
    ap.add_argument("--dev", type=int, default=200, help="dev articles scored")
    ap.add_argument("--steps", type=int, default=600, help="updates per training run (least)")
    ap.add_argument(
        "--steps-per-article",
        type=int,
        default=0,
        help="updates per labeled article, when more than --steps (bigger sets train longer)",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not (args.corpus / "train").is_dir():
        print(f"PolNeAR not found at {args.corpus}; pass its folder", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    train = read_brat(args.corpus / "train").gold()
    dev = read_brat(args.corpus / "dev").gold()
    rng.shuffle(train)
    pool = train[: args.pool]
    dev = sorted(dev, key=lambda d: d.id)[: args.dev]
    print(
        f"pool {len(pool)} PolNeAR train articles, dev {len(dev)} articles, seed {args.seed}, "
        f"steps max({args.steps}, {args.steps_per_article} x labeled articles)"
    )
    t0 = time.perf_counter()
    nlp = load_pipeline(None, [trained_quotes(LEARNED_NAME)])[0]
    # Parsed once: every model reads the same base-model parse.
    both = pool + dev
    parsed = dict(zip([d.id for d in both], nlp.pipe(d.text for d in both), strict=True))
    dev_parsed = [parsed[d.id] for d in dev]
    print(f"parsed in {time.perf_counter() - t0:.0f} s", flush=True)
    curves: dict[str, list[tuple[int, float, int]]] = {"random": [], "uncertainty": []}
    with tempfile.TemporaryDirectory(prefix="curate-al-") as tmp:
        where = Path(tmp)
        start, rest = pool[:START], pool[START:]
        # Random order: the pool as shuffled.
        for n in POINTS:
            labeled = start + rest[: n - START]
            model = fit(labeled, args.steps, args.seed, where, args.steps_per_article)
            f1 = score(model, dev, dev_parsed)
            curves["random"].append((n, f1, sum(len(d.text) for d in labeled)))
            print(f"  random      {n:4d} articles  dev F1 {f1:.3f}", flush=True)
        # Uncertainty order: label next what the current model is least sure about.
        labeled, unlabeled = list(start), list(rest)
        model = fit(labeled, args.steps, args.seed, where, args.steps_per_article)
        for n in POINTS:
            ranked = uncertainty_order(model, unlabeled, [parsed[d.id] for d in unlabeled])
            take = n - len(labeled)
            labeled += ranked[:take]
            unlabeled = ranked[take:]
            model = fit(labeled, args.steps, args.seed, where, args.steps_per_article)
            f1 = score(model, dev, dev_parsed)
            curves["uncertainty"].append((n, f1, sum(len(d.text) for d in labeled)))
            print(f"  uncertainty {n:4d} articles  dev F1 {f1:.3f}", flush=True)
    print()
    print(f"{'articles':>8}  {'random F1':>9}  {'uncert. F1':>10}  {'ahead':>6}  chars labeled r/u")
    ahead = True
    for (n, fr, cr), (_, fu, cu) in zip(curves["random"], curves["uncertainty"], strict=True):
        ahead &= fu > fr
        print(f"{n:>8}  {fr:>9.3f}  {fu:>10.3f}  {fu - fr:>+6.3f}  {cr:,} / {cu:,}")
    print(f"uncertainty ahead at every point: {'yes' if ahead else 'NO'}")
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

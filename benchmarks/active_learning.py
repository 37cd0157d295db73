"""Most useful task first: labeling PolNeAR in uncertainty order against random order.

Usage: python benchmarks/active_learning.py [POLNEAR] [--pool N] [--dev N] [--epochs N]

Simulation: PolNeAR train is the pool of unlabeled articles, its gold the labeler. Both
orders start from the same random 25 articles. Random order then labels further random
articles; uncertainty order trains the quote tagger (:mod:`curate.serve.tagger`, what
``curate serve`` retrains) on what is labeled so far and labels next the articles it is
least sure about (sum over tokens of 1 - max probability, :meth:`TaggerModel.analyse`,
the score ``curate push --order uncertainty`` writes). After 50, 100 and 200 labeled
articles a tagger is trained from scratch on each labeled set (same seed and settings)
and scored on PolNeAR dev: quote content P/R/F1 under the overlap rule
(:func:`curate.serve.training.quote_f1`). The two curves are printed side by side, with
the tokens each labeled set holds (uncertainty favours long articles, which hold more
attributions, so tokens labeled are printed too).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.io.brat import read_brat  # noqa: E402
from curate.model import Document  # noqa: E402
from curate.serve import tagger  # noqa: E402
from curate.serve.training import quote_f1  # noqa: E402

POINTS = (50, 100, 200)
START = 25
DEFAULT_CORPUS = Path("/work/shared/corpora/polnear")


def train_and_score(
    labeled: list[Document], dev: list[Document], epochs: int, seed: int, where: Path
) -> tuple[tagger.TaggerModel, float]:
    out = where / f"m{len(labeled)}-{time.monotonic_ns()}"
    tagger.train(labeled, out, tagger.TrainSettings(0, epochs, seed, 200))
    model = tagger.TaggerModel(out)
    preds = list(model.predict([d.article for d in dev]))
    return model, quote_f1(dev, preds)


def uncertainty_order(model: tagger.TaggerModel, pool: list[Document]) -> list[Document]:
    scored = list(model.analyse([d.article for d in pool]))
    ranked = sorted(zip(pool, scored, strict=True), key=lambda p: -p[1][1])
    return [d for d, _ in ranked]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--pool", type=int, default=1000, help="train articles in the pool")
    ap.add_argument("--dev", type=int, default=200, help="dev articles scored")
    ap.add_argument("--epochs", type=int, default=12)
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
    print(f"pool {len(pool)} PolNeAR train articles, dev {len(dev)} articles, seed {args.seed}")
    t0 = time.perf_counter()
    curves: dict[str, list[tuple[int, float, int]]] = {"random": [], "uncertainty": []}
    with tempfile.TemporaryDirectory(prefix="curate-al-") as tmp:
        where = Path(tmp)
        start, rest = pool[:START], pool[START:]
        # Random order: the pool as shuffled.
        for n in POINTS:
            labeled = start + rest[: n - START]
            _, f1 = train_and_score(labeled, dev, args.epochs, args.seed, where)
            curves["random"].append((n, f1, sum(len(d.text) for d in labeled)))
            print(f"  random      {n:4d} articles  dev F1 {f1:.3f}", flush=True)
        # Uncertainty order: label next what the current model is least sure about.
        labeled, unlabeled = list(start), list(rest)
        model, _ = train_and_score(labeled, dev[:1], args.epochs, args.seed, where)
        for n in POINTS:
            ranked = uncertainty_order(model, unlabeled)
            take = n - len(labeled)
            labeled += ranked[:take]
            unlabeled = ranked[take:]
            model, f1 = train_and_score(labeled, dev, args.epochs, args.seed, where)
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

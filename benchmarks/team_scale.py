"""Benchmark: a labeling team's full loop at 1,000, 10,000 and 100,000 tasks.

    python benchmarks/team_scale.py [--sizes 1000,10000,100000] [--databases sqlite,postgres]

For each database (the embedded Label Studio on SQLite, and on a private PostgreSQL) and
each size: 3 annotators with overlap 2 (every task annotated by two of the three, round
robin), imported through the API in bulk (tasks with their annotations, 1,000 a call);
every 10th task the two annotators disagree on one region. Then the stages a team runs,
each in a forked child so its peak memory is its own:

* ``pull`` (``--merge majority``): snapshot export, conversion, region merge, report;
* ``adjudicate``: the review project for the conflicts;
* ``export``: the gold written as a dataset version (Parquet, JSONL, DocBin, CoNLL);
* ``evaluate``: the synthetic predictions scored against that gold (no bootstrap).

Prints time and peak RSS of each stage at each size, and the ratio of each size's time to
the size before (cost grows at most linearly when the ratio is at most the size ratio).
The load step is Label Studio's own import and is printed for reference.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curate.gold.merge import MergePolicy  # noqa: E402
from curate.model import Document, Entity  # noqa: E402
from curate.schema import load_schema  # noqa: E402
from curate.studio.convert import document_to_results, document_to_task  # noqa: E402

SCHEMA = load_schema()
NAMES = ["Ana Lopez", "Dmitry Peskov", "Maria Silva", "Olaf Scholz", "Zorbo Quux"]
PLACES = ["Brussels", "Vladivostok", "Kyiv", "Sao Paulo", "Paris"]
STAGES = ("pull", "adjudicate", "export", "evaluate")


def article(i: int) -> Document:
    who, where, other = NAMES[i % 5], PLACES[(i * 7) % 5], NAMES[(i + 1) % 5]
    text = (
        f"{who} arrived in {where} on Monday. Officials declined to comment. "
        f"Later {other} met staff there. Item {i}."
    )
    ents = []
    for name, label in ((who, "PERSON"), (where, "GPE"), (other, "PERSON")):
        s = text.index(name)
        ents.append(Entity.of(text, s, s + len(name), label))
    return Document(f"team-{i:06d}", text, entities=tuple(ents))


def task(i: int, users: list[int]) -> dict[str, Any]:
    doc = article(i)
    t = document_to_task(doc, SCHEMA)
    full = document_to_results(doc, SCHEMA)
    a, b = users[i % 3], users[(i + 1) % 3]
    second = [r for r in full if r.get("id") != "e2"] if i % 10 == 0 else full
    t["annotations"] = [
        {"result": full, "completed_by": a},
        {"result": second, "completed_by": b},
    ]
    return t


def load(conn: Any, n: int) -> tuple[dict[str, Any], list[int]]:
    users = [
        conn.request(
            "POST",
            "/api/users/",
            json={"email": f"a{k}-{uuid.uuid4().hex[:6]}@team.local", "username": f"a{k}"},
        ).json()["id"]
        for k in range(3)
    ]
    project = conn.request(
        "POST",
        "/api/projects",
        json={
            "title": f"team {n} {uuid.uuid4().hex[:6]}",
            "label_config": SCHEMA.xml,
            "maximum_annotations": 2,
        },
    ).json()
    for start in range(0, n, 1000):
        conn.request(
            "POST",
            f"/api/projects/{project['id']}/import",
            json=[task(i, users) for i in range(start, min(n, start + 1000))],
        )
    return project, users


def measured(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Run ``fn`` in a forked child: (seconds, peak RSS in MB, its small result)."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def run() -> None:
        t0 = time.perf_counter()
        out = fn()
        secs = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child.send((secs, peak, out))

    p = ctx.Process(target=run)
    p.start()
    secs, peak, out = parent.recv()
    p.join()
    return secs, peak, out


def stages(conn: Any, project: dict[str, Any], n: int, work: Path) -> dict[str, tuple]:
    from curate.gold import write_version
    from curate.gold.load import iter_version
    from curate.score.evaluate import score
    from curate.studio.pull import pull
    from curate.studio.review import adjudicate

    out: dict[str, tuple] = {}
    state: dict[str, Any] = {}

    def do_pull() -> dict[str, Any]:
        r = pull(conn, project["id"], work / "pulls", merge_policy=MergePolicy("majority"))
        return {"path": str(r.path), "gold": r.gold_count, "conflicts": r.conflict_count}

    out["pull"] = measured(do_pull)
    state.update(out["pull"][2])

    def do_adjudicate() -> dict[str, Any]:
        r = adjudicate(conn, state["path"], schema=SCHEMA)
        return {"review_tasks": r.added}

    out["adjudicate"] = measured(do_adjudicate)

    def do_export() -> dict[str, Any]:
        from curate.io.jsonl import read_jsonl

        docs = (Document.from_dict(d) for _, d in read_jsonl(Path(state["path"]) / "gold.jsonl"))
        path = write_version(docs, name=f"team{n}", root=work / "gold", splits="test")
        return {"version": str(path)}

    out["export"] = measured(do_export)
    state.update(out["export"][2])

    def do_evaluate() -> dict[str, Any]:
        def gold() -> Iterator[Document]:
            return (doc for _, doc in iter_version(state["version"]))

        preds = (article(int(d.id.split("-")[1])) for d in gold())
        r = score(gold(), preds, tasks=("entities",), draws=0, keep_predictions=False)
        return {"articles": len(r.table.rows), "name": r.name}

    out["evaluate"] = measured(do_evaluate)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--databases", default="sqlite,postgres")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from curate.studio import server
    from curate.studio.client import connect
    from curate.studio.postgres import private_postgres

    rows: list[tuple[str, int, str, float, float, str]] = []
    for db in args.databases.split(","):
        tmp = Path(tempfile.mkdtemp(prefix=f"curate-team-{db}-"))
        try:
            with private_postgres() if db == "postgres" else nullcontext() as pg:
                srv = server.start(tmp / "ls", port=server.find_free_port(), database=db, pg=pg)
                try:
                    conn = connect(srv.url, srv.api_key)
                    for n in sizes:
                        t0 = time.perf_counter()
                        project, _ = load(conn, n)
                        secs = time.perf_counter() - t0
                        rows.append((db, n, "load (LS import)", secs, 0.0, ""))
                        print(f"[{db}] {n}: loaded in {secs:.1f} s", flush=True)
                        for stage, (secs, peak, info) in stages(conn, project, n, tmp).items():
                            note = ", ".join(f"{k} {v}" for k, v in info.items() if k != "path")
                            rows.append((db, n, stage, secs, peak, note))
                            print(f"[{db}] {n}: {stage} {secs:.1f} s, {peak:.0f} MB", flush=True)
                finally:
                    server.stop_server(srv)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(
        f"{'database':9} {'tasks':>7} {'stage':17} {'seconds':>9} {'x prev':>7} "
        f"{'peak MB':>8}  notes"
    )
    prev: dict[tuple[str, str], tuple[int, float]] = {}
    for db, n, stage, secs, peak, note in rows:
        before = prev.get((db, stage))
        ratio = f"{secs / before[1]:.1f}" if before and before[1] > 0 else "-"
        size_ratio = f" (size x{n // before[0]})" if before else ""
        prev[(db, stage)] = (n, secs)
        peak_s = f"{peak:.0f}" if peak else "-"
        print(f"{db:9} {n:>7} {stage:17} {secs:9.1f} {ratio:>7} {peak_s:>8}  {note}{size_ratio}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()

"""Benchmark `curate push` against a plain SDK `import_tasks` of the same payload.

    python benchmarks/studio_push.py [--n 10000] [--batch-size 500] [--keep]

Starts an embedded Label Studio in a temporary folder (or uses LABEL_STUDIO_URL +
LABEL_STUDIO_API_KEY with --external), makes N synthetic articles with entities and
quotes, then measures, in this one process and against this one server:

1. baseline: ``LabelStudio.projects.import_tasks`` of the whole payload (the task JSON
   push builds, with predictions) into a fresh project, in one call;
2. ``curate.studio.push.push_file`` of the same articles from JSONL into another fresh
   project (reading, converting, the existence lookup and batched imports included);
3. the same push again (everything already there; the local push ledger still
   matches the project, so the whole task list is not read);
4. the same push with ``recheck=True`` (reads the whole task list), for reference.

Targets: push throughput / baseline throughput >= 0.8; second push time / first push
time <= 0.2 with zero new tasks.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curate.model import Document, Entity, Prediction, Quote, Span  # noqa: E402
from curate.schema import load_schema  # noqa: E402
from curate.studio import server  # noqa: E402
from curate.studio.client import connect  # noqa: E402
from curate.studio.push import build_task, push_file  # noqa: E402

PEOPLE = ["Maria Silva", "John Okafor", "Dmitry Peskov", "Ana Lima", "Lee Min-jun", "Olga Ivanova"]
PLACES = ["Vladivostok", "Lagos", "Lisbon", "Seoul", "Brussels", "Quito"]
ORGS = ["the Central Bank", "Reuters", "the Ministry of Health", "NATO", "Acme Corp"]
CUES = ["said", "told reporters", "added", "warned", "claimed"]


def synthetic(i: int, rng: random.Random) -> Document:
    """An article of about 1.5 kB with ~8 entities and 2 quotes with speaker and cue."""
    parts: list[str] = [f"Report {i} 📰\n\n"]
    entities: list[Entity] = []
    quotes: list[Quote] = []
    pos = len(parts[0])

    def add(s: str) -> int:
        nonlocal pos
        start = pos
        parts.append(s)
        pos += len(s)
        return start

    for k in range(6):
        person, place, org = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(ORGS)
        add("Officials in ")
        p0 = add(place)
        entities.append(Entity(p0, p0 + len(place), "GPE", place))
        add(f" met {org} on day {k} to discuss the budget, trade and the weather. ")
        if k % 3 == 0:
            s0 = add(person)
            entities.append(Entity(s0, s0 + len(person), "PERSON", person))
            add(" ")
            cue = rng.choice(CUES)
            c0 = add(cue)
            add(" ")
            content = f"\u201cwe will keep working on plan {k} until it is done\u201d"
            q0 = add(content)
            add(".\r\n")
            speaker = Span(s0, s0 + len(person), person)
            quotes.append(
                Quote(
                    q0,
                    q0 + len(content),
                    content,
                    "direct",
                    speaker,
                    Span(c0, c0 + len(cue), cue),
                    speaker,
                )
            )
        add("Markets moved little and analysts expect more talks next week.\n")
    return Document(
        id=f"bench-{i:06d}",
        text="".join(parts),
        meta={"title": f"Report {i}", "source": "synthetic"},
        entities=tuple(entities),
        quotes=tuple(quotes),
        provenance=Prediction("bench v1"),
    )


def count_tasks(conn, project_id: int) -> int:
    return int(conn.get_json(f"/api/projects/{project_id}")["task_number"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="articles (default 10000)")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument(
        "--external", action="store_true", help="use LABEL_STUDIO_URL/LABEL_STUDIO_API_KEY"
    )
    ap.add_argument("--keep", action="store_true", help="keep the projects afterwards")
    args = ap.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tmp = Path(tempfile.mkdtemp(prefix="curate-bench-push-"))
    srv = None
    if args.external:
        conn = connect()
    else:
        print("starting an embedded Label Studio ...", flush=True)
        srv = server.start(tmp / "studio", port=server.find_free_port())
        conn = connect(srv.url, srv.api_key)
    projects: list[int] = []
    try:
        schema = load_schema()
        rng = random.Random(13)
        docs = [synthetic(i, rng) for i in range(args.n)]
        src = tmp / "pre.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for d in docs:
                fh.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")
        size_mb = src.stat().st_size / 1e6
        print(f"{args.n} synthetic articles, {size_mb:.1f} MB of pre-annotated JSONL")

        # Warm the server up (first requests pay for imports and caches).
        warm = conn.request(
            "POST", "/api/projects", json={"title": "bench warmup", "label_config": schema.xml}
        ).json()
        projects.append(warm["id"])
        conn.sdk.projects.import_tasks(warm["id"], request=[build_task(docs[0], schema)])

        # 1. Baseline: the plain SDK import of the same payload, one call.
        base = conn.request(
            "POST", "/api/projects", json={"title": "bench baseline", "label_config": schema.xml}
        ).json()
        projects.append(base["id"])
        payload = [build_task(d, schema) for d in docs]
        t0 = time.perf_counter()
        conn.sdk.projects.import_tasks(base["id"], request=payload)
        t_base = time.perf_counter() - t0
        assert count_tasks(conn, base["id"]) == args.n
        del payload

        # 2. curate push (from the JSONL file: read, convert, look up, import in batches).
        t0 = time.perf_counter()
        first = push_file(conn, src, project="bench push", batch_size=args.batch_size)
        t_push = time.perf_counter() - t0
        projects.append(first.project_id)
        assert first.created == args.n, first

        # 3. The same push again: nothing to do but read and look up.
        before = count_tasks(conn, first.project_id)
        t0 = time.perf_counter()
        second = push_file(conn, src, project="bench push", batch_size=args.batch_size)
        t_again = time.perf_counter() - t0
        new_tasks = count_tasks(conn, first.project_id) - before
        assert second.lookup == "ledger", second.lookup

        # 4. Again, reading the whole task list instead of trusting the ledger.
        t0 = time.perf_counter()
        third = push_file(conn, src, project="bench push", batch_size=args.batch_size, recheck=True)
        t_recheck = time.perf_counter() - t0
        assert third.created == 0 and count_tasks(conn, first.project_id) == before

        thr_base, thr_push = args.n / t_base, args.n / t_push
        ratio = thr_push / thr_base
        again_ratio = t_again / t_push
        print(f"baseline SDK import_tasks : {t_base:8.2f} s  ({thr_base:7.1f} tasks/s)")
        print(f"curate push (first)       : {t_push:8.2f} s  ({thr_push:7.1f} tasks/s)")
        print(
            f"curate push (again)       : {t_again:8.2f} s  (created {second.created}, "
            f"already there {second.unchanged}, new tasks on server {new_tasks}; "
            f"existing tasks from the {second.lookup})"
        )
        print(
            f"curate push --recheck     : {t_recheck:8.2f} s  (created {third.created}; "
            f"existing tasks from the {third.lookup}: {t_recheck / t_push:.3f} of the first push)"
        )
        ok1 = ratio >= 0.8
        ok2 = again_ratio <= 0.2 and new_tasks == 0 and second.created == 0
        print(
            f"push throughput / SDK import_tasks throughput = {ratio:.2f}  "
            f"(target >= 0.8: {'PASS' if ok1 else 'FAIL'})"
        )
        print(
            f"second push time / first push time          = {again_ratio:.3f} "
            f"(target <= 0.2, zero new tasks: {'PASS' if ok2 else 'FAIL'})"
        )
        return 0 if ok1 and ok2 else 1
    finally:
        if not args.keep:
            for pid in projects:
                conn.request("DELETE", f"/api/projects/{pid}", ok=(200, 204, 404))
        if srv is not None:
            server.stop_server(srv)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: ``curate pull`` of annotated tasks vs a plain snapshot download, same run.

    python benchmarks/studio_pull.py [--tasks 10000] [--rounds 2]

Starts the embedded Label Studio in a temporary folder (or uses LABEL_STUDIO_URL and
LABEL_STUDIO_API_KEY with --external), imports N synthetic articles each with a
prediction and a human annotation (some corrected, every 10th with a second, disagreeing
annotation, every 50th cancelled), then times, alternately:

* baseline: create an export snapshot (same options), poll it, download the JSON;
* curate pull: the same plus conversion, gold selection, the correction report and
  writing gold / annotations / conflicts / report.

Prints the median of each and the ratio pull / baseline (target <= 1.5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curate.model import Document, Entity, Quote, Span  # noqa: E402
from curate.schema import load_schema  # noqa: E402
from curate.studio.convert import document_to_results, document_to_task  # noqa: E402
from curate.studio.pull import create_snapshot, download_snapshot, pull  # noqa: E402

SCHEMA = load_schema()
MODEL = "bench.v1"
NAMES = ["Ana Lopez", "Dmitry Peskov", "Maria Silva", "Olaf Scholz", "Zorbo Quux"]
PLACES = ["Brüssel", "Vladivostok", "Kyiv", "São Paulo", "Paris"]


def article(i: int) -> Document:
    who, where = NAMES[i % 5], PLACES[(i * 7) % 5]
    parts = [
        f"{who} 😀 arrived in {where} on Monday.\r\n",
        f"“We will not give up 👍🏽 on this,” {who.split()[0]} said at the press\tconference.\r",
        "Officials  declined to comment. " * (3 + i % 4),
        f"Later {NAMES[(i + 1) % 5]} met e\u0301lite staff in {PLACES[(i + 2) % 5]}.",
    ]
    text = "".join(parts)
    ents = []
    for name in (who, where, NAMES[(i + 1) % 5], PLACES[(i + 2) % 5]):
        s = text.index(name)
        ents.append(Entity.of(text, s, s + len(name), "PERSON" if name in NAMES else "GPE"))
    q0, q1 = text.index("“"), text.index("”") + 1
    first = who.split()[0]
    sp = text.index(first, q1)
    cue = text.index("said")
    quote = Quote(
        q0,
        q1,
        text[q0:q1],
        "direct",
        speaker=Span.of(text, sp, sp + len(first)),
        cue=Span.of(text, cue, cue + 4),
        speaker_entity=Span.of(text, ents[0].start, ents[0].end),
    )
    return Document(f"bench-{i:05d}", text, entities=tuple(ents), quotes=(quote,))


def task(i: int) -> dict:
    doc = article(i)
    pred = document_to_results(doc, SCHEMA)
    t = document_to_task(doc, SCHEMA)
    t["predictions"] = [{"model_version": MODEL, "score": 0.7, "result": pred}]
    ann = [dict(r, origin="prediction") if r["type"] != "relation" else r for r in pred]
    if i % 3 == 0:  # a correction: the second place relabelled
        for r in ann:
            if r.get("id") == "e3":
                r["value"] = dict(r["value"], labels=["LOC"])
                r["origin"] = "prediction-changed"
    annotations = [{"result": ann, "was_cancelled": i % 50 == 0}]
    if i % 10 == 0:
        annotations.append({"result": [r for r in ann if r.get("id") != "e1"]})
    t["annotations"] = annotations
    return t


def populate(conn, n: int) -> int:
    project = conn.request(
        "POST",
        "/api/projects",
        json={"title": f"bench pull {os.getpid()}", "label_config": SCHEMA.xml},
    ).json()
    pid = project["id"]
    batch = 1000
    for start in range(0, n, batch):
        conn.request(
            "POST",
            f"/api/projects/{pid}/import",
            json=[task(i) for i in range(start, min(n, start + batch))],
        )
    return pid


def baseline(conn, pid: int, out: Path) -> None:
    snap = create_snapshot(conn, pid)
    download_snapshot(conn, pid, int(snap["id"]), out / f"plain-{snap['id']}.json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--external", action="store_true", help="use LABEL_STUDIO_URL/API_KEY")
    args = ap.parse_args()

    from curate.studio import server
    from curate.studio.client import connect

    tmp = Path(tempfile.mkdtemp(prefix="curate-bench-pull-"))
    srv = None
    try:
        if args.external:
            conn = connect()
        else:
            print("starting the embedded Label Studio ...", flush=True)
            srv = server.start(tmp / "ls", port=server.find_free_port())
            conn = connect(srv.url, srv.api_key)
        t0 = time.perf_counter()
        pid = populate(conn, args.tasks)
        print(f"imported {args.tasks} annotated tasks in {time.perf_counter() - t0:.1f} s")
        base, ours = [], []
        result = None
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            baseline(conn, pid, tmp)
            base.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = pull(conn, pid, tmp / "pulls")
            ours.append(time.perf_counter() - t0)
        assert result is not None
        b, o = statistics.median(base), statistics.median(ours)
        print(
            f"tasks {result.tasks}, annotations {result.annotations}, gold {len(result.gold)}, "
            f"conflicts {len(result.conflicts)}, cancelled {result.cancelled}, "
            f"problems {dict(result.problems.counts)}"
        )
        print(f"plain snapshot download: {' '.join(f'{x:.2f}' for x in base)} s (median {b:.2f})")
        print(f"curate pull:             {' '.join(f'{x:.2f}' for x in ours)} s (median {o:.2f})")
        print(f"ratio pull / plain = {o / b:.2f}x (target <= 1.5x)")
    finally:
        if srv is not None:
            server.stop_server(srv)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

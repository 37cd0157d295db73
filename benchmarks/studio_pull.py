"""Benchmark: ``curate pull`` of annotated tasks vs a plain snapshot download, same run.

    python benchmarks/studio_pull.py [--tasks 10000 50000] [--rounds 2]

Starts the embedded Label Studio in a temporary folder (or uses LABEL_STUDIO_URL and
LABEL_STUDIO_API_KEY with --external), and for each task count imports that many
synthetic articles each with a prediction and a human annotation (some corrected, every
10th with a second, disagreeing annotation, every 50th cancelled), then runs,
alternately, each in a fresh child process so its peak memory is its own:

* baseline: create an export snapshot (same options), poll it, download the JSON;
* curate pull: the same plus conversion, gold selection, the correction report,
  writing gold / annotations / conflicts / report, and deleting the snapshot.

Prints the median time of each, the ratio pull / baseline (target <= 1.5), and the
peak resident memory of each child (pull's should stay flat as the task count grows).

``--offline`` measures only pull's reading of a synthetic export file (no Label Studio)
at each size: streamed (pull now) against ``json.load`` of the whole file (pull before).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
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
    # Not timed by the parent's clock alone: the child reports its own seconds.
    (out / f"plain-{snap['id']}.json").unlink()
    conn.request("DELETE", f"/api/projects/{pid}/exports/{snap['id']}", ok=(200, 204, 404))


def child(mode: str, pid: int, out: Path) -> None:
    """Run one baseline or pull in this process and print its seconds and peak memory."""
    from curate.studio.client import connect

    conn = connect()
    t0 = time.perf_counter()
    counts = {}
    if mode == "plain":
        snap = create_snapshot(conn, pid)
        path = out / f"plain-{snap['id']}.json"
        download_snapshot(conn, pid, int(snap["id"]), path)
        seconds = time.perf_counter() - t0
        path.unlink()
        conn.request("DELETE", f"/api/projects/{pid}/exports/{snap['id']}", ok=(200, 204, 404))
    else:
        result = pull(conn, pid, out)
        seconds = time.perf_counter() - t0
        counts = {
            "tasks": result.tasks,
            "annotations": result.annotations,
            "gold": result.gold_count,
            "conflicts": result.conflict_count,
            "cancelled": result.cancelled,
            "problems": dict(result.problems.counts),
            "snapshot_deleted": result.snapshot_deleted,
        }
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, **counts}))


def write_export(path: Path, n: int) -> None:
    """A synthetic JSON export of ``n`` tasks, shaped like Label Studio's (ids, predictions
    with ids, annotations with ids and annotators), written one task at a time."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[")
        for i in range(n):
            t = task(i)
            t["id"] = i + 1
            t["predictions"][0]["id"] = i + 1
            for k, a in enumerate(t["annotations"]):
                a.update(id=10 * i + k, completed_by={"id": k + 1, "email": f"a{k}@example.org"})
            fh.write(("," if i else "") + json.dumps(t, ensure_ascii=False))
        fh.write("]")


def offline_child(mode: str, path: Path, out: Path) -> None:
    """Read an export file as pull does now (``ijson``, records written as they come) or
    as it did before (``json.load`` of the whole file, lists in memory)."""
    from curate.studio.pull import PullResult, _Files, convert_tasks, iter_export

    t0 = time.perf_counter()
    result = PullResult(1, "bench", 1, out, "http://ls")
    if mode == "whole":
        with path.open(encoding="utf-8") as fh:
            tasks = json.load(fh)
        convert_tasks(tasks, result, SCHEMA)
    else:
        with _Files(out) as sink:
            convert_tasks(iter_export(path, 1, 1), result, SCHEMA, sink=sink)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "tasks": result.tasks}))


def offline(sizes: list[int]) -> None:
    """Pull's conversion of an export file alone, without Label Studio: peak memory of
    the streamed reading against reading the whole file, at each size."""
    tmp = Path(tempfile.mkdtemp(prefix="curate-bench-pull-offline-"))
    try:
        print("tasks   export MB   whole-file peak MB   streamed peak MB (pull now)")
        for n in sizes:
            path = tmp / f"export-{n}.json"
            write_export(path, n)
            rows = {}
            for mode in ("whole", "stream"):
                out = tmp / f"{mode}-{n}"
                out.mkdir()
                cmd = [sys.executable, __file__, "--offline-child", mode, "--out", str(out)]
                cmd += ["--export", str(path)]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                rows[mode] = json.loads(done.stdout.strip().splitlines()[-1])
                assert rows[mode]["tasks"] == n
            size = path.stat().st_size / 1e6
            print(
                f"{n:>6}   {size:>9.0f}   {rows['whole']['peak_mb']:>18.0f}   "
                f"{rows['stream']['peak_mb']:>16.0f}",
                flush=True,
            )
            path.unlink()
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _secs(x: dict) -> str:
    return f"{x['seconds']:.2f}"


def run_child(mode: str, pid: int, out: Path, env: dict[str, str]) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--project", str(pid), "--out", str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, nargs="+", default=[10_000, 50_000])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--external", action="store_true", help="use LABEL_STUDIO_URL/API_KEY")
    ap.add_argument(
        "--reuse-project",
        type=int,
        metavar="ID",
        help="measure this already populated project (with --external and one --tasks)",
    )
    ap.add_argument(
        "--offline",
        action="store_true",
        help="only pull's reading of a synthetic export file (no Label Studio): peak memory",
    )
    ap.add_argument("--offline-child", choices=("whole", "stream"), help=argparse.SUPPRESS)
    ap.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child", choices=("plain", "pull"), help=argparse.SUPPRESS)
    ap.add_argument("--project", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.project, args.out)
        return
    if args.offline_child:
        offline_child(args.offline_child, args.export, args.out)
        return
    if args.offline:
        offline(args.tasks)
        return

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
        env = {**os.environ, "LABEL_STUDIO_URL": conn.url, "LABEL_STUDIO_API_KEY": conn.api_key}
        summary = []
        for n in args.tasks:
            t0 = time.perf_counter()
            if args.reuse_project:
                pid = args.reuse_project
            else:
                pid = populate(conn, n)
                took = time.perf_counter() - t0
                print(f"imported {n} annotated tasks in {took:.1f} s", flush=True)
            base, ours = [], []
            for _ in range(args.rounds):
                base.append(run_child("plain", pid, tmp, env))
                ours.append(run_child("pull", pid, tmp / "pulls", env))
            last = ours[-1]
            b = statistics.median(x["seconds"] for x in base)
            o = statistics.median(x["seconds"] for x in ours)
            mb_base = max(x["peak_mb"] for x in base)
            mb_pull = max(x["peak_mb"] for x in ours)
            left = conn.get_json(f"/api/projects/{pid}/exports/")
            print(
                f"[{n} tasks] tasks {last['tasks']}, annotations {last['annotations']}, "
                f"gold {last['gold']}, conflicts {last['conflicts']}, cancelled "
                f"{last['cancelled']}, problems {last['problems']}; snapshots left on the "
                f"server: {len(left)}"
            )
            print(
                f"[{n} tasks] plain snapshot download: "
                f"{' '.join(_secs(x) for x in base)} s (median {b:.2f}), "
                f"peak memory {mb_base:.0f} MB"
            )
            print(
                f"[{n} tasks] curate pull:             "
                f"{' '.join(_secs(x) for x in ours)} s (median {o:.2f}), "
                f"peak memory {mb_pull:.0f} MB"
            )
            print(f"[{n} tasks] ratio pull / plain = {o / b:.2f}x (target <= 1.5x)", flush=True)
            summary.append((n, o / b, mb_base, mb_pull))
            conn.request("DELETE", f"/api/projects/{pid}", ok=(200, 204, 404))
        print("tasks    pull/plain time   plain peak MB   pull peak MB")
        for n, ratio, mb_base, mb_pull in summary:
            print(f"{n:>6}   {ratio:>14.2f}x   {mb_base:>13.0f}   {mb_pull:>12.0f}")
    finally:
        if srv is not None:
            server.stop_server(srv)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

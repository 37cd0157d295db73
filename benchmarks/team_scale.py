"""Benchmark: a labeling team's full loop at 1,000, 10,000 and 100,000 tasks.

    python benchmarks/team_scale.py [--sizes 1000,10000,100000] [--databases sqlite,postgres]
    python benchmarks/team_scale.py --no-studio [--sizes ...] [--draws 1000]

For each database (the embedded Label Studio on SQLite, and on a private PostgreSQL) and
each size: 3 annotators with overlap 2 (every task annotated by two of the three, round
robin), imported through the API in bulk (tasks with their annotations, 1,000 a call);
every 10th task the two annotators disagree on one region. Then the stages a team runs,
each in a fresh Python process (this script run with ``--stage``) so its peak memory is its
own and not what a forked child would inherit; the table prints that process's baseline
(RSS after its imports, before any work) beside its peak:

* ``pull`` (``--merge majority``): snapshot export, conversion, region merge, report;
* ``adjudicate``: the review project for the conflicts;
* ``export``: the gold written as a dataset version (Parquet, JSONL, DocBin, CoNLL);
* ``evaluate``: the synthetic predictions scored against that gold, streamed, with
  ``--draws`` bootstrap resamples (default 1000, as ``curate evaluate``);
* ``evaluate CLI``: what a user runs, ``curate evaluate preds.jsonl -g VERSION --json
  --html`` (the typer app in the measured process), on predictions written beforehand
  (every 7th article misses an entity, every 5th has one mislabelled, so the reports
  list errors);
* ``compare CLI``: the same with ``--compare`` against the report ``evaluate CLI`` wrote;
* ``export 2nd``: a second version of the same dataset (every 13th article removed, every
  11th relabelled, 5% new articles), so the release computes what changed since the first;
* ``diff CLI``: ``curate diff`` of the two versions.

``--no-studio`` runs only export and evaluate, without Label Studio: the pull's
``gold.jsonl`` is written by this script with the same generator (the articles whose two
annotators agree, with the provenance a pull gives them), so the memory of the two
stages can be watched alone.

Prints time, peak RSS and CPU seconds (curate's own process, Label Studio's process tree,
PostgreSQL's) of each stage at each size, and the ratio of each size's time and of curate's
CPU seconds to the size before (cost grows at most linearly when the ratio is at most the
size ratio). CPU seconds hold when the machine is shared; wall time does not. The load
step is Label Studio's own import and is printed for reference.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext, suppress
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curate.gold.merge import MergePolicy  # noqa: E402
from curate.model import Document, Entity  # noqa: E402
from curate.schema import load_schema  # noqa: E402
from curate.studio.convert import document_to_results, document_to_task  # noqa: E402

SCHEMA = load_schema()
NAMES = ["Ana Lopez", "Dmitry Peskov", "Maria Silva", "Olaf Scholz", "Zorbo Quux"]
PLACES = ["Brussels", "Vladivostok", "Kyiv", "Sao Paulo", "Paris"]
STAGES = (
    "pull",
    "adjudicate",
    "export",
    "evaluate",
    "evaluate CLI",
    "compare CLI",
    "export 2nd",
    "diff CLI",
)


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


class Servers:
    """CPU seconds used so far by Label Studio's process tree and the PostgreSQL server's
    (psutil; reaped children included), so each stage can say where the time went."""

    def __init__(self, ls_pid: int | None, pg_port: int | None) -> None:
        self.roots = {"LS": ls_pid} if ls_pid is not None else {}
        if pg_port is not None:
            for proc in psutil.process_iter(["cmdline"]):
                cmd = proc.info["cmdline"] or []
                if "-D" in cmd and "-p" in cmd and str(pg_port) in cmd:
                    self.roots["db"] = proc.pid

    def cpu(self) -> dict[str, float]:
        out = {}
        for name, pid in self.roots.items():
            total = 0.0
            try:
                root = psutil.Process(pid)
                t = root.cpu_times()
                total = t.user + t.system + t.children_user + t.children_system
                for child in root.children(recursive=True):
                    with suppress(psutil.Error):
                        c = child.cpu_times()
                        total += c.user + c.system
            except psutil.Error:
                pass
            out[name] = total
        return out


def measured(
    stage: str, args: dict[str, Any], servers: Servers
) -> tuple[float, float, Any, dict, float]:
    """Run ``stage`` (a name in :data:`STAGE_FUNCS`) with ``args`` in a fresh Python process,
    so its peak memory is its own and not what a forked child inherits from this one:
    (seconds, peak RSS in MB, its small result, CPU seconds of curate (the child), Label
    Studio and the database during the run, baseline RSS in MB: the child after importing
    what the stage needs, before it reads anything). ``args`` go on stdin (an API key never
    shows on a command line)."""
    before = servers.cpu()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--stage", stage],
        input=json.dumps(args),
        capture_output=True,
        text=True,
        check=False,
    )
    after = servers.cpu()
    if proc.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{proc.stderr[-4000:]}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    cpu = {"curate": got["cpu"], **{k: after[k] - before[k] for k in after}}
    return got["secs"], got["peak"], got["out"], cpu, got["base"]


def run_stage(stage: str) -> None:
    """The child side of :func:`measured`: import, note the baseline RSS, run, print one
    JSON line (seconds, peak and baseline RSS in MB, CPU seconds, the stage's result)."""
    args = json.loads(sys.stdin.read())
    fn = STAGE_FUNCS[stage]
    _imports(stage)
    base = psutil.Process().memory_info().rss / 2**20
    t0 = time.perf_counter()
    out = fn(args)
    secs = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "secs": secs,
        "peak": usage.ru_maxrss / 1024,
        "base": base,
        "cpu": usage.ru_utime + usage.ru_stime,
        "out": out,
    }
    print(json.dumps(result), flush=True)


def _imports(stage: str) -> None:
    """Import what a stage uses before the baseline is taken (spaCy for export's DocBin,
    the scorer for evaluate, the Label Studio client for pull and adjudicate)."""
    import curate.gold  # noqa: F401
    import curate.io.jsonl  # noqa: F401

    if stage.startswith("export"):
        import spacy  # noqa: F401
    if stage == "evaluate":
        import curate.gold.load  # noqa: F401
        import curate.score.evaluate  # noqa: F401
    if stage.endswith("CLI"):
        import curate.cli  # noqa: F401
        import curate.gold.diff  # noqa: F401
        import curate.gold.load  # noqa: F401
        import curate.report.html  # noqa: F401
        import curate.score.report  # noqa: F401
    if stage in ("pull", "adjudicate"):
        import curate.studio.client  # noqa: F401
        import curate.studio.pull  # noqa: F401
        import curate.studio.review  # noqa: F401


def synthetic_pull(n: int, folder: Path) -> dict[str, Any]:
    """A pull folder whose ``gold.jsonl`` holds what ``pull --merge majority`` settles of
    :func:`task`'s annotations: the articles both annotators agree on (every 10th is a
    conflict), with the provenance a pull gives merged gold."""
    from curate.io.jsonl import dumps
    from curate.model import Annotation

    folder.mkdir(parents=True, exist_ok=True)
    gold = 0
    with (folder / "gold.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n):
            if i % 10 == 0:
                continue
            stamp = f"2026-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"
            prov = Annotation(
                annotators=(f"{i % 3 + 1}", f"{(i + 1) % 3 + 1}"),
                annotation_ids=(2 * i + 1, 2 * i + 2),
                task_id=i + 1,
                project_id=1,
                project_title=f"team {n}",
                snapshot="1",
                created_at=stamp,
                updated_at=stamp,
                selection="policy_merged",
            )
            fh.write(dumps(article(i).with_(provenance=prov).to_dict()) + "\n")
            gold += 1
    return {"path": str(folder), "gold": gold, "conflicts": n - gold}


def stages(
    studio: dict[str, Any] | None,
    n: int,
    work: Path,
    servers: Servers,
    draws: int = 1000,
    skip: frozenset[str] = frozenset(),
) -> dict[str, tuple]:
    """Measure each stage at size ``n``; ``studio`` is ``{"url", "api_key", "project"}`` of
    the loaded Label Studio project, or None: then only export and evaluate, from a
    :func:`synthetic_pull`. ``skip``: stages left out (``evaluate``; ``evaluate CLI``,
    which skips ``compare CLI`` too; ``export 2nd``, which skips ``diff CLI``)."""
    out: dict[str, tuple] = {}
    state: dict[str, Any] = {"n": n, "work": str(work), "draws": draws}

    if studio is None:
        state.update(synthetic_pull(n, work / "pulls" / f"synthetic-{n}"))
    else:
        out["pull"] = measured("pull", {**studio, **state}, servers)
        state.update(out["pull"][2])
        out["adjudicate"] = measured("adjudicate", {**studio, **state}, servers)
    out["export"] = measured("export", state, servers)
    state.update(out["export"][2])
    if "evaluate" not in skip:
        out["evaluate"] = measured("evaluate", state, servers)
    if "evaluate CLI" not in skip:
        state["predictions"] = str(write_predictions(state["version"], work / f"preds-{n}.jsonl"))
        state["report"] = str(work / f"report-{n}.json")
        out["evaluate CLI"] = measured("evaluate CLI", state, servers)
        out["compare CLI"] = measured("compare CLI", state, servers)
    if "export 2nd" not in skip:
        out["export 2nd"] = measured("export 2nd", state, servers)
        state["second"] = out["export 2nd"][2]["version"]
        out["diff CLI"] = measured("diff CLI", state, servers)
    return out


def stage_export_second(args: dict[str, Any]) -> dict[str, Any]:
    from curate.gold import release
    from curate.io.jsonl import read_jsonl

    n, work = args["n"], Path(args["work"])

    def docs() -> Iterator[Document]:
        for _, d in read_jsonl(Path(args["path"]) / "gold.jsonl"):
            doc = Document.from_dict(d)
            i = int(doc.id.split("-")[1])
            if i % 13 == 0:
                continue
            if i % 11 == 0:
                first = doc.entities[0]
                ents = (Entity(first.start, first.end, "ORG", first.text), *doc.entities[1:])
                doc = doc.with_(entities=ents)
            yield doc
        for i in range(n, n + n // 20):
            yield article(i).with_(provenance=doc.provenance)

    r = release(docs(), name=f"team{n}", root=work / "gold", splits="test")
    c = r.changes
    return {
        "version": str(r.path),
        "added/removed/changed": f"{len(c.added)}/{len(c.removed)}/{len(c.changed)}",
    }


def stage_diff(args: dict[str, Any]) -> dict[str, Any]:
    """``curate diff`` as a user runs it (the typer app, in this process)."""
    from curate.cli import app

    argv = ["diff", args["version"], args["second"], "--summary"]
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        code = app(argv, standalone_mode=False)
    if code:
        raise SystemExit(f"curate diff exited with {code}:\n{shown.getvalue()[-2000:]}")
    return {"lines": shown.getvalue().count("\n")}


def predicted(doc: Document) -> Document:
    """A synthetic prediction with errors: every 7th article misses its last entity,
    every 5th has its first one labelled ORG."""
    i = int(doc.id.split("-")[1])
    ents = list(article(i).entities)
    if i % 7 == 0:
        ents = ents[:-1]
    if i % 5 == 0:
        first = ents[0]
        ents[0] = Entity(first.start, first.end, "ORG", first.text)
    return Document(doc.id, doc.text, entities=tuple(ents))


def write_predictions(version: str, path: Path) -> Path:
    """The predictions file of the CLI stages (one line per gold article, in its order)."""
    from curate.gold.load import iter_version
    from curate.io.jsonl import dumps

    with path.open("w", encoding="utf-8") as fh:
        for _, doc in iter_version(version):
            fh.write(dumps(predicted(doc).to_dict()) + "\n")
    return path


def _connect(args: dict[str, Any]) -> Any:
    from curate.studio.client import connect

    return connect(args["url"], args["api_key"])


def stage_pull(args: dict[str, Any]) -> dict[str, Any]:
    from curate.studio.pull import pull

    r = pull(
        _connect(args),
        args["project"],
        Path(args["work"]) / "pulls",
        merge_policy=MergePolicy("majority"),
    )
    return {"path": str(r.path), "gold": r.gold_count, "conflicts": r.conflict_count}


def stage_adjudicate(args: dict[str, Any]) -> dict[str, Any]:
    from curate.studio.review import adjudicate

    r = adjudicate(_connect(args), args["path"], schema=SCHEMA)
    return {"review_tasks": r.added}


def stage_export(args: dict[str, Any]) -> dict[str, Any]:
    from curate.gold import write_version
    from curate.io.jsonl import read_jsonl

    n, work = args["n"], Path(args["work"])
    docs = (Document.from_dict(d) for _, d in read_jsonl(Path(args["path"]) / "gold.jsonl"))
    path = write_version(docs, name=f"team{n}", root=work / "gold", splits="test")
    return {"version": str(path)}


def stage_evaluate(args: dict[str, Any]) -> dict[str, Any]:
    from curate.gold.load import iter_version
    from curate.score.evaluate import score

    def gold() -> Iterator[Document]:
        return (doc for _, doc in iter_version(args["version"]))

    preds = (article(int(d.id.split("-")[1])) for d in gold())
    draws = args["draws"]
    r = score(gold(), preds, tasks=("entities",), draws=draws, keep_predictions=False)
    return {"articles": len(r.table.ids), "draws": draws}


def stage_cli(args: dict[str, Any], compare: bool = False) -> dict[str, Any]:
    """``curate evaluate`` as a user runs it (the typer app, in this process)."""
    from curate.cli import app

    work, n = Path(args["work"]), args["n"]
    argv = ["evaluate", args["predictions"], "-g", args["version"], "--only", "entities"]
    argv += ["--bootstrap", str(args["draws"])]
    if compare:
        argv += ["--compare", args["report"], "--json", str(work / f"report2-{n}.json")]
    else:
        argv += ["--json", args["report"], "--html", str(work / f"report-{n}.html")]
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        code = app(argv, standalone_mode=False)
    if code:
        raise SystemExit(f"curate evaluate exited with {code}:\n{shown.getvalue()[-2000:]}")
    if compare and "paired over" not in shown.getvalue():
        raise SystemExit(f"curate evaluate --compare paired nothing:\n{shown.getvalue()[-2000:]}")
    report = args["report"] if not compare else str(work / f"report2-{n}.json")
    return {"MB of JSON": round(Path(report).stat().st_size / 2**20, 1)}


STAGE_FUNCS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "pull": stage_pull,
    "adjudicate": stage_adjudicate,
    "export": stage_export,
    "evaluate": stage_evaluate,
    "evaluate CLI": stage_cli,
    "compare CLI": lambda args: stage_cli(args, compare=True),
    "export 2nd": stage_export_second,
    "diff CLI": stage_diff,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--databases", default="sqlite,postgres")
    ap.add_argument("--draws", type=int, default=1000, help="bootstrap resamples of evaluate")
    ap.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)  # a measured child
    ap.add_argument(
        "--skip",
        default="",
        help="stages to leave out, comma-separated: evaluate, evaluate CLI (and compare CLI), "
        "export 2nd (and diff CLI)",
    )
    ap.add_argument(
        "--no-studio",
        action="store_true",
        help="only export and evaluate, from a synthetic pull (no Label Studio)",
    )
    args = ap.parse_args()
    if args.stage:
        run_stage(args.stage)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    skip = frozenset(s.strip() for s in args.skip.split(",") if s.strip())
    rows: list[tuple[str, int, str, float, float, dict, str, float]] = []
    if args.no_studio:
        tmp = Path(tempfile.mkdtemp(prefix="curate-team-nostudio-"))
        try:
            for n in sizes:
                done = stages(None, n, tmp, Servers(None, None), draws=args.draws, skip=skip)
                rows += record("none", n, done)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        table(rows)
        return

    from curate.studio import server
    from curate.studio.client import connect
    from curate.studio.postgres import private_postgres

    for db in args.databases.split(","):
        tmp = Path(tempfile.mkdtemp(prefix=f"curate-team-{db}-"))
        try:
            with private_postgres() if db == "postgres" else nullcontext() as pg:
                srv = server.start(tmp / "ls", port=server.find_free_port(), database=db, pg=pg)
                try:
                    conn = connect(srv.url, srv.api_key)
                    servers = Servers(srv.pid, pg.port if pg else None)
                    for n in sizes:
                        before = servers.cpu()
                        t0 = time.perf_counter()
                        project, _ = load(conn, n)
                        secs = time.perf_counter() - t0
                        after = servers.cpu()
                        cpu = {k: after[k] - before[k] for k in after}
                        rows.append((db, n, "load (LS import)", secs, 0.0, cpu, "", 0.0))
                        print(f"[{db}] {n}: loaded in {secs:.1f} s", flush=True)
                        studio = {"url": srv.url, "api_key": srv.api_key, "project": project["id"]}
                        done = stages(studio, n, tmp, servers, draws=args.draws, skip=skip)
                        rows += record(db, n, done)
                finally:
                    server.stop_server(srv)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    table(rows)


def record(db: str, n: int, done: dict[str, tuple]) -> list[tuple]:
    """Table rows of one size's stages, each printed as it is recorded."""
    rows = []
    for stage, (secs, peak, info, cpu, base) in done.items():
        note = ", ".join(f"{k} {v}" for k, v in info.items() if k not in ("path", "version"))
        rows.append((db, n, stage, secs, peak, cpu, note, base))
        print(
            f"[{db}] {n}: {stage} {secs:.1f} s, peak {peak:.0f} MB (baseline {base:.0f} MB)",
            flush=True,
        )
    return rows


def table(rows: list[tuple]) -> None:
    """The results, each stage against the same stage at the size before."""
    print()
    print("CPU seconds: curate (the stage's own process), LS (Label Studio's), db (PostgreSQL's)")
    print(
        "base MB: the stage's fresh process after its imports, before any work; "
        "+MB: peak minus base (what the stage itself holds)"
    )
    print(
        f"{'database':9} {'tasks':>7} {'stage':17} {'seconds':>8} {'x prev':>6} "
        f"{'curate':>7} {'x prev':>6} {'LS':>7} {'db':>6} {'base MB':>7} {'peak MB':>8} "
        f"{'+MB':>5} {'x prev':>6}  notes"
    )
    prev: dict[tuple[str, str], tuple[int, float, float, float]] = {}
    for db, n, stage, secs, peak, cpu, note, base in rows:
        before = prev.get((db, stage))
        own = cpu.get("curate", 0.0)

        def x(new: float, old: float | None) -> str:
            return f"{new / old:.1f}" if old else "-"

        ratio = x(secs, before[1] if before else None)
        own_ratio = x(own, before[2] if before else None) if own else "-"
        size_ratio = f" (size x{n // before[0]})" if before else ""
        peak_ratio = f"{peak / before[3]:.2f}" if peak and before and before[3] else "-"
        prev[(db, stage)] = (n, secs, own, peak)
        peak_s = f"{peak:.0f}" if peak else "-"
        base_s = f"{base:.0f}" if base else "-"
        own_mb = f"{peak - base:.0f}" if peak and base else "-"
        own_s = f"{own:.1f}" if own else "-"
        db_s = f"{cpu['db']:.1f}" if "db" in cpu else "-"
        print(
            f"{db:9} {n:>7} {stage:17} {secs:8.1f} {ratio:>6} {own_s:>7} {own_ratio:>6} "
            f"{cpu.get('LS', 0.0):7.1f} {db_s:>6} {base_s:>7} {peak_s:>8} {own_mb:>5} "
            f"{peak_ratio:>6}  {note}{size_ratio}"
        )


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()

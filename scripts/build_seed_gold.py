"""Build the seed gold version (now ``data/gold/seeds/2.0.0``), through Label Studio.

The hand annotation of the seeds (``data/hand/seeds.jsonl``) goes the way every gold
article goes: the seeds are pre-annotated and pushed as tasks with predictions, one
annotation per task is submitted through the Label Studio API as a person would (the
hand annotation as its result, started from the task's prediction), the project is
pulled, and the pulled gold, which holds human annotations only, is released as a version
with every article in ``test`` (evaluation-only gold). The pulled gold must equal the
hand annotation span for span, or nothing is released.

    python scripts/build_seed_gold.py            # uses LABEL_STUDIO_URL/_API_KEY or the
                                                 # embedded server, else starts a temporary one
    python scripts/build_seed_gold.py --version 1.0.1 --pull-dir data/pulls

Exit code 0 on success; one line naming the problem otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.errors import CurateError, StudioError  # noqa: E402
from curate.io.jsonl import read_jsonl  # noqa: E402
from curate.model import Document  # noqa: E402
from curate.schema import LabelSchema, load_schema  # noqa: E402

HAND = ROOT / "data" / "hand" / "seeds.jsonl"
GUIDELINES = "data/hand/README.md"


def log(msg: str) -> None:
    print(msg, flush=True)


def load_hand(path: Path = HAND) -> list[Document]:
    return [Document.from_dict(row) for _, row in read_jsonl(path)]


def annotate(conn: Any, project_id: int, hand: list[Document], schema: LabelSchema) -> None:
    """Submit each hand annotation on its task, from the task's latest prediction."""
    from curate.studio.convert import document_to_results
    from curate.studio.push import existing_tasks

    tasks = existing_tasks(conn, project_id)
    for doc in hand:
        if doc.id not in tasks:
            raise StudioError(f"project {project_id} has no task for seed {doc.id!r}")
        task_id = tasks[doc.id].task_id
        task = conn.get_json(f"/api/tasks/{task_id}")
        if task["data"]["text"] != doc.text:
            raise StudioError(f"task {task_id} text differs from the hand annotation of {doc.id}")
        if task.get("annotations"):
            raise StudioError(
                f"task {task_id} ({doc.id}) already has annotations; use a fresh project"
            )
        preds = task.get("predictions") or []
        body: dict[str, Any] = {
            "result": document_to_results(doc, schema),
            "was_cancelled": False,
            "ground_truth": False,
            "lead_time": 0.0,
        }
        if preds:
            body["parent_prediction"] = max(p["id"] for p in preds)
        conn.request("POST", f"/api/tasks/{task_id}/annotations", json=body)
        n_ent, n_quo = len(doc.entities), len(doc.quotes)
        log(f"annotated task {task_id} ({doc.id}): {n_ent} entities, {n_quo} quotes")


def compare(hand: list[Document], gold: list[Document]) -> list[str]:
    """Differences between the hand annotation and what came back from Label Studio."""
    problems = []
    by_id = {d.id: d for d in gold}
    for h in hand:
        g = by_id.get(h.id)
        if g is None:
            problems.append(f"{h.id}: no gold pulled")
            continue
        if g.text != h.text:
            problems.append(f"{h.id}: text changed")
        for name in ("entities", "quotes"):
            a, b = set(getattr(h, name)), set(getattr(g, name))
            for x in sorted(a - b, key=repr)[:5]:
                problems.append(f"{h.id}: {name[:-1]} lost: {x}")
            for x in sorted(b - a, key=repr)[:5]:
                problems.append(f"{h.id}: {name[:-1]} added: {x}")
    return problems


def build(args: argparse.Namespace) -> tuple[Path, int]:
    """Run the round trip; return the written version folder and the project id."""
    from curate.extract.preannotate import preannotate
    from curate.gold import ALL_TEST, release
    from curate.io.articles import read_articles
    from curate.studio.client import connect
    from curate.studio.pull import pull
    from curate.studio.push import push

    schema = load_schema()
    hand = load_hand()
    articles, report = read_articles(ROOT / "seeds")
    if report.problems or {a.id for a in articles} != {d.id for d in hand}:
        raise CurateError(f"seeds/ and {HAND} do not hold the same articles")
    log(f"pre-annotating {len(articles)} seed articles")
    predicted = list(preannotate(articles, schema=schema))

    started = None
    cleanup: list[Path] = []
    try:
        try:
            conn = connect(args.url, args.api_key)
            log(f"using Label Studio at {conn.url} ({conn.origin})")
        except StudioError as e:
            if args.url:
                raise
            from curate.studio import server
            from curate.studio.client import connect as connect_to

            data_dir = Path(tempfile.mkdtemp(prefix="curate-seed-gold-"))
            log(f"no Label Studio reachable ({e}); starting a temporary one in {data_dir}")
            started = server.start(data_dir, port=server.find_free_port())
            conn = connect_to(started.url, started.api_key)
        title = args.project or f"seed gold {datetime.now(UTC):%Y%m%d-%H%M%S}"
        pushed = push(conn, predicted, project=title, schema=schema)
        if not pushed.ok or pushed.created != len(predicted):
            raise StudioError(
                f"push to {title!r} created {pushed.created} of {len(predicted)} tasks "
                f"({'; '.join(pushed.problems + pushed.refused) or 'tasks already there'}); "
                "use a fresh project"
            )
        log(f"pushed {pushed.created} tasks to project {pushed.project_id} ({pushed.project_url})")
        annotate(conn, pushed.project_id, hand, schema)
        out_dir = Path(args.pull_dir or tempfile.mkdtemp(prefix="curate-seed-pull-"))
        if not args.pull_dir:
            cleanup.append(out_dir)  # the version records project and snapshot
        for attempt in range(5):
            pulled = pull(conn, pushed.project_id, out_dir=out_dir, schema=schema)
            if len(pulled.gold) == len(hand) or attempt == 4:
                break
            time.sleep(1.0)  # the export may lag a just-submitted annotation
        log(f"pulled snapshot {pulled.snapshot_id} into {pulled.path}")
        if pulled.conflicts or pulled.problems.counts:
            raise CurateError(
                f"pull reported conflicts {len(pulled.conflicts)} / problems "
                f"{dict(pulled.problems.counts)}; see {pulled.path / 'report.json'}"
            )
        diffs = compare(hand, pulled.gold)
        if diffs:
            raise CurateError("the round trip changed the annotation: " + "; ".join(diffs[:10]))
        log("round trip exact: pulled gold equals the hand annotation")
        rel = release(
            pulled.gold,
            name=args.name,
            root=args.root,
            version=args.version,
            splits=ALL_TEST,
            schema=schema,
            meta={
                "description": "The two seed articles, annotated by hand following "
                f"{GUIDELINES} and put through the Label Studio round trip "
                "(scripts/build_seed_gold.py). Evaluation-only: every article is in test.",
                "project": pulled.project_title,
                "snapshot": str(pulled.snapshot_id),
            },
        )
        return rel.path, pushed.project_id
    finally:
        for folder in cleanup:
            shutil.rmtree(folder, ignore_errors=True)
        if started is not None:
            from curate.studio import server

            server.stop_server(started)
            # its folder holds the admin password and token: leave nothing behind
            shutil.rmtree(started.data_dir, ignore_errors=True)
            log("stopped and removed the temporary Label Studio")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="Label Studio URL (default: env, embedded server, or start one)")
    p.add_argument("--api-key", help="Label Studio API key (default: LABEL_STUDIO_API_KEY)")
    p.add_argument("--project", help="Project title (default: a fresh 'seed gold <time>')")
    p.add_argument("--name", default="seeds", help="Gold dataset name (default: seeds)")
    p.add_argument("--version", default="1.0.0", help="Version to write (default: 1.0.0)")
    p.add_argument("--root", default=str(ROOT / "data" / "gold"), help="Gold root folder")
    p.add_argument("--pull-dir", help="Keep the pull folder here (default: a temp folder)")
    args = p.parse_args(argv)
    try:
        path, _ = build(args)
    except CurateError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

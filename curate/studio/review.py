"""Adjudication in Label Studio: a review project for the tasks annotators disagree on.

:func:`adjudicate` reads a pull folder (its ``conflicts.jsonl`` and ``annotations.jsonl``)
and creates, or refreshes, a review project with the same label config. Each conflicted
task becomes one review task whose predictions are every annotator's version, labelled by
their pseudonym (:mod:`curate.gold.identities`: the same keyed ``annotator-<hash>`` a
release of the gold root uses; never an e-mail, password or token), plus one prediction
``agreed`` holding the regions the merge policy accepted; the review project pre-labels
from ``agreed`` (Label Studio's "use predictions to pre-label"), so a reviewer starts
from what the annotators agree on and decides only the rest.

Re-running adds only new conflicts and never duplicates a task: review tasks are keyed by
the source project and task id (``data.curate_review``). A killed run resumes: tasks
already imported are found, and predictions they lack are added.

:func:`adjudications` reads the reviewers' submitted annotations back; ``curate pull`` of
the source project takes them as the gold of those tasks (selection ``adjudicated``,
provenance: who adjudicated, from which annotations).
"""

from __future__ import annotations

import itertools
import json
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curate import settings
from curate.errors import CurateError, InputError, StudioError
from curate.gold.identities import Pseudonyms, load_pseudonyms
from curate.gold.merge import MergePolicy, merge
from curate.io.jsonl import read_jsonl
from curate.model import Annotation, Document, Entity, Quote
from curate.schema import LabelSchema, load_schema
from curate.studio.convert import document_to_results, document_to_task, results_to_document

MARKER = "curate-review-of-project:"
AGREED = "agreed"
BATCH = 500


def review_title(title: str) -> str:
    """The review project's title for a source project's title."""
    return f"{title} (review)"


@dataclass
class AdjudicateResult:
    """What :func:`adjudicate` did."""

    source_project_id: int
    review_project_id: int | None
    """None when the pull had no conflicts and no review project exists."""
    review_url: str | None
    created_project: bool = False
    conflicts: int = 0
    added: int = 0
    already_there: int = 0
    predictions_added: int = 0
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Adjudication:
    """A reviewer's decision on one source task (``reviewer``: the account's e-mail or id,
    pseudonymised with the other identities when the gold is released)."""

    source_task_id: int
    document: Document
    reviewer: str
    review_task_id: int
    review_annotation_id: int
    from_annotation_ids: tuple[int, ...]
    updated_at: str | None = None


def pull_folder(pull_dir: str | Path) -> tuple[Path, dict[str, Any]]:
    """The pull folder and its report; ``pull_dir`` is a pull folder or its parent (then
    ``latest`` names the folder). Raises InputError when the folder is not a complete pull.
    """
    path = Path(pull_dir)
    if (path / "latest").is_file() and not (path / "report.json").exists():
        path = path / (path / "latest").read_text(encoding="utf-8").strip()
    report_path = path / "report.json"
    if not report_path.is_file():
        raise InputError(
            "not a pull folder (no report.json); give data/pulls/<project>/<snapshot>",
            path=str(path),
        )
    return path, json.loads(report_path.read_text(encoding="utf-8"))


def iter_conflicts(folder: Path) -> Iterator[tuple[dict[str, Any], dict[int, Document]]]:
    """Each conflict of a pull folder with its annotations (annotation id -> Document).

    ``curate pull`` writes a task's annotations before its conflict and both files in task
    order, so one pass over each file pairs them (memory holds one task); a conflict whose
    annotations are not where that order puts them is looked up by a scan of the whole
    file. An annotation found nowhere is simply absent from the mapping.
    """
    rows = _annotation_docs(folder)
    ahead: Document | None = next(rows, None)
    for _, conflict in read_jsonl(folder / "conflicts.jsonl"):
        tid = int(conflict["task_id"])
        wanted = {int(a["id"]) for a in conflict.get("annotations") or ()}
        found: dict[int, Document] = {}
        while ahead is not None and _ids(ahead)[0] != tid:
            ahead = next(rows, None)
        while ahead is not None and _ids(ahead)[0] == tid:
            found.update((i, ahead) for i in _ids(ahead)[1] if i in wanted)
            ahead = next(rows, None)
        if wanted - found.keys():  # out of order: a scan finds them (or says they are gone)
            for doc in _annotation_docs(folder):
                found.update((i, doc) for i in _ids(doc)[1] if i in wanted)
            if ahead is None:  # the pass is spent: go on from the start for the next one
                rows = _annotation_docs(folder)
                ahead = next(rows, None)
        yield conflict, found


def _annotation_docs(folder: Path) -> Iterator[Document]:
    for _, d in read_jsonl(folder / "annotations.jsonl"):
        yield Document.from_dict(d)


def _ids(doc: Document) -> tuple[int | None, tuple[int, ...]]:
    """(source task id, annotation ids) of an annotation Document."""
    if isinstance(doc.provenance, Annotation):
        return doc.provenance.task_id, doc.provenance.annotation_ids
    return None, ()


def find_review_project(conn: Any, source_project_id: int) -> dict[str, Any] | None:
    """The review project made for ``source_project_id``, or None."""
    want = f"{MARKER} {source_project_id}"
    for p in conn.paged("/api/projects", {}, "results", page_size=100):
        if (p.get("description") or "").strip().endswith(want):
            return p
    return None


def ensure_review_project(conn: Any, source: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The review project of ``source`` (a project dict), created with its label config."""
    found = find_review_project(conn, int(source["id"]))
    if found is not None:
        return found, False
    body = {
        "title": review_title(str(source.get("title") or source["id"])),
        "description": (
            "Adjudication of the tasks whose annotators disagree. Each task shows every "
            "annotator's version as a prediction; the draft holds what they agree on. "
            f"{MARKER} {source['id']}"
        ),
        "label_config": source["label_config"],
        "show_collab_predictions": True,
        "model_version": AGREED,
        "maximum_annotations": 1,
    }
    return conn.request("POST", "/api/projects", json=body).json(), True


def adjudicate(
    conn: Any,
    pull_dir: str | Path,
    *,
    schema: LabelSchema | None = None,
    policy: MergePolicy | None = None,
    pseudonyms: Pseudonyms | None = None,
) -> AdjudicateResult:
    """Create or refresh the review project for the conflicts of a pull.

    ``policy`` decides the ``agreed`` draft of a conflict pulled without one (default:
    unanimous, exact spans). Annotators appear under ``pseudonyms`` (default: those of
    the default gold root, saved after). Raises InputError for a folder that is not a pull and
    StudioError when Label Studio fails; a rerun after any failure resumes.
    """
    schema = schema or load_schema()
    names = pseudonyms or load_pseudonyms(settings.GOLD_ROOT)
    folder, report = pull_folder(pull_dir)
    source_id = int(report["project"]["id"])
    n_conflicts = sum(1 for _ in read_jsonl(folder / "conflicts.jsonl"))
    if not n_conflicts:  # nothing to review: no project is made for it
        found = find_review_project(conn, source_id)
        rid = int(found["id"]) if found else None
        url = f"{conn.url}/projects/{rid}/data" if rid else None
        return AdjudicateResult(source_id, rid, url)
    source = conn.get_json(f"/api/projects/{source_id}")
    project, created = ensure_review_project(conn, source)
    rid = int(project["id"])
    result = AdjudicateResult(
        source_id, rid, f"{conn.url}/projects/{rid}/data", created, conflicts=n_conflicts
    )
    # Streamed a batch at a time: memory holds the batch and, per task, a few numbers in
    # arrays (the review tasks already there, the predictions to check), never a dict of
    # objects per task.
    versions = _Versions()
    existing = _review_tasks(conn, rid, versions)
    expected = _Expected()
    stream = iter_conflicts(folder)
    while batch := list(itertools.islice(stream, BATCH)):
        todo: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        wanted: dict[int, list[dict[str, Any]]] = {}
        for c, by_id in batch:
            tid = int(c["task_id"])
            ids = [int(a["id"]) for a in c.get("annotations") or ()]
            docs = {}
            for a in c.get("annotations") or ():
                doc = by_id.get(int(a["id"]))
                if doc is None:
                    result.problems.append(
                        f"task {tid}: annotation {a['id']} is not in annotations.jsonl; left out"
                    )
                    continue
                who = doc.provenance.annotator if isinstance(doc.provenance, Annotation) else None
                docs[names.of(a.get("annotator") or who)] = doc
            if not docs:
                continue
            first = next(iter(docs.values()))
            agreed = _agreed(c, first, docs, policy)
            preds = [_prediction(agreed, AGREED, schema, 1.0)]
            preds += [_prediction(d, who, schema, None) for who, d in sorted(docs.items())]
            if existing.get(tid) is not None:
                result.already_there += 1
                wanted[tid] = preds
                continue
            task = document_to_task(first.with_(entities=(), quotes=()), schema)
            task["data"]["curate_review"] = {
                "project_id": source_id,
                "task_id": tid,
                "annotation_ids": ids,
            }
            # The predictions go in with the task: Label Studio's /import/predictions gets
            # slower with every prediction the project holds (1 s per 500 at the start,
            # 16 s after 27,000), its task import does not.
            task["predictions"] = preds
            todo.append((task, preds))
        for task_id, preds in _import_tasks(conn, rid, todo, versions):
            result.added += 1
            result.predictions_added += len(preds)
            expected.add(task_id, (versions.index(p["model_version"]) for p in preds))
        result.predictions_added += _add_predictions(
            conn, rid, wanted, existing, versions, expected
        )
    _check_predictions(conn, rid, expected, versions)
    if pseudonyms is None:
        names.path.parent.mkdir(parents=True, exist_ok=True)
        names.save()
    return result


def _agreed(
    conflict: Mapping[str, Any],
    first: Document,
    versions: Mapping[str, Document],
    policy: MergePolicy | None,
) -> Document:
    got = conflict.get("agreed")
    if isinstance(got, Mapping):
        return first.with_(
            entities=tuple(Entity.from_dict(e) for e in got.get("entities") or ()),
            quotes=tuple(Quote.from_dict(q) for q in got.get("quotes") or ()),
            provenance=None,
        )
    return merge(versions, policy or MergePolicy("unanimous", min_annotators=1)).agreed


def _prediction(
    doc: Document, model_version: str, schema: LabelSchema, score: float | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model_version": model_version,
        "result": document_to_results(doc, schema),
    }
    if score is not None:
        out["score"] = score
    return out


REVIEW_PAGE = 100
"""Review tasks a page when they are read back with their predictions (a page of 1,000
such tasks is several MB of JSON)."""


class _Versions:
    """Model versions (``agreed`` and the annotators' pseudonyms) as small numbers, so
    what a review task holds is kept as numbers in arrays."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self.names: list[str] = []

    def index(self, version: str) -> int:
        if version not in self._index:
            self._index[version] = len(self.names)
            self.names.append(version)
        return self._index[version]


class _ReviewIndex:
    """The tasks already in a review project: source task id -> review task id and the
    model versions of its predictions (numbers of :class:`_Versions`). Parallel arrays,
    about 30 bytes a task: filled by :meth:`add`, then sorted once by :meth:`seal` for
    lookups by binary search."""

    def __init__(self) -> None:
        self._src, self._rid = array("q"), array("q")
        self._start, self._ver = array("q", [0]), array("i")
        self._sealed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, source_task: int, review_task: int, versions: Iterable[int]) -> None:
        if self._sealed is not None:
            raise RuntimeError("tasks are added before any is looked up")
        self._src.append(source_task)
        self._rid.append(review_task)
        self._ver.extend(versions)
        self._start.append(len(self._ver))

    def seal(self) -> None:
        """Sort the arrays by source task id (the last task made for a source task wins,
        as a dict would keep it)."""
        if self._sealed is not None:
            return
        src = np.array(self._src, np.int64)
        rid = np.array(self._rid, np.int64)
        start = np.array(self._start, np.int64)
        ver = np.array(self._ver, np.int32)
        self._src, self._rid, self._start, self._ver = (
            array("q"),
            array("q"),
            array("q"),
            array("i"),
        )
        order = np.argsort(src, kind="stable")
        last = np.ones(len(order), bool)  # of equal ids, keep the one added last
        last[:-1] = src[order][1:] != src[order][:-1]
        order = order[last]
        sizes = (start[1:] - start[:-1])[order]
        new_start = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        take = np.repeat(start[:-1][order] - new_start[:-1], sizes) + np.arange(new_start[-1])
        self._sealed = (src[order], rid[order], new_start, ver[take])

    def _at(self, source_task: int) -> int | None:
        self.seal()
        assert self._sealed is not None
        src = self._sealed[0]
        i = int(np.searchsorted(src, source_task))
        return i if i < len(src) and src[i] == source_task else None

    def get(self, source_task: int) -> int | None:
        """The review task made for ``source_task``, or None."""
        i = self._at(source_task)
        return None if i is None or self._sealed is None else int(self._sealed[1][i])

    def versions(self, source_task: int) -> frozenset[int]:
        """The version numbers of the predictions of ``source_task``'s review task."""
        i = self._at(source_task)
        if i is None or self._sealed is None:
            return frozenset()
        _, _, start, ver = self._sealed
        return frozenset(ver[start[i] : start[i + 1]].tolist())


class _Expected:
    """The predictions a run added, to check that Label Studio stored them: (review task
    id, version number) pairs in two arrays, 12 bytes a prediction."""

    def __init__(self) -> None:
        self._tasks = array("q")
        self._versions = array("i")

    def add(self, review_task: int, versions: Iterable[int]) -> None:
        for v in versions:
            self._tasks.append(review_task)
            self._versions.append(v)

    def __len__(self) -> int:
        return len(self._tasks)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(review task ids, version numbers), sorted by task id."""
        tasks = np.frombuffer(self._tasks, np.int64) if self._tasks else np.zeros(0, np.int64)
        vers = np.frombuffer(self._versions, np.int32) if self._versions else np.zeros(0, np.int32)
        order = np.argsort(tasks, kind="stable")
        return tasks[order], vers[order]


def _review_pages(conn: Any, review_project_id: int) -> Iterator[dict[str, Any]]:
    """The review project's tasks with their predictions, a page at a time."""
    return conn.paged(
        "/api/tasks",
        {"project": review_project_id, "fields": "all"},
        "tasks",
        page_size=REVIEW_PAGE,
    )


def _task_versions(task: Mapping[str, Any]) -> Iterator[str]:
    return (str(p.get("model_version") or "") for p in task.get("predictions") or ())


def _review_tasks(conn: Any, review_project_id: int, versions: _Versions) -> _ReviewIndex:
    """The tasks already in the review project, by source task id (paged: Label Studio's
    task list, predictions included)."""
    out = _ReviewIndex()
    for t in _review_pages(conn, review_project_id):
        ref = (t.get("data") or {}).get("curate_review") or {}
        if "task_id" in ref:
            got = (versions.index(v) for v in _task_versions(t))
            out.add(int(ref["task_id"]), int(t["id"]), got)
    out.seal()
    return out


def _import_tasks(
    conn: Any,
    rid: int,
    todo: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    versions: _Versions,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Import review tasks (one call per batch); yields (review task id, its predictions)."""
    for start in range(0, len(todo), BATCH):
        chunk = todo[start : start + BATCH]
        r = conn.request(
            "POST",
            f"/api/projects/{rid}/import?return_task_ids=true",
            json=[t for t, _ in chunk],
        ).json()
        made: list[int | None] = list(r.get("task_ids") or [])
        if len(made) != len(chunk):
            # Label Studio did not say which tasks it made: read them back.
            found = _review_tasks(conn, rid, versions)
            made = [found.get(t["data"]["curate_review"]["task_id"]) for t, _ in chunk]
        for (_, preds), task_id in zip(chunk, made, strict=True):
            if task_id is None:
                raise StudioError(f"review project {rid}: an imported task is missing; run again")
            yield int(task_id), preds


def _add_predictions(
    conn: Any,
    rid: int,
    wanted: Mapping[int, list[dict[str, Any]]],
    existing: _ReviewIndex,
    versions: _Versions,
    expected: _Expected,
) -> int:
    """Add the predictions the review task of each source task of ``wanted`` (source task
    id -> predictions) lacks, by model version; returns how many. What was added is noted
    in ``expected`` for :func:`_check_predictions`."""
    missing = []
    for tid, preds in wanted.items():
        task_id, has = existing.get(tid), existing.versions(tid)
        missing += [
            {"task": task_id, **p} for p in preds if versions.index(p["model_version"]) not in has
        ]
    for start in range(0, len(missing), BATCH):
        conn.request(
            "POST", f"/api/projects/{rid}/import/predictions", json=missing[start : start + BATCH]
        )
    for m in missing:
        expected.add(m["task"], (versions.index(m["model_version"]),))
    return len(missing)


def _check_predictions(conn: Any, rid: int, expected: _Expected, versions: _Versions) -> None:
    """Label Studio may skip predictions under load: check what it stored (paged, each
    page against the sorted expected pairs). Raises StudioError naming how many are
    missing and what to run."""
    if not len(expected):
        return
    tasks, vers = expected.arrays()
    seen = np.zeros(len(tasks), dtype=bool)
    for t in _review_pages(conn, rid):
        lo, hi = np.searchsorted(tasks, [int(t["id"]), int(t["id"]) + 1])
        if lo == hi:
            continue
        stored = {versions.index(v) for v in _task_versions(t)}
        seen[lo:hi] |= np.fromiter((int(v) in stored for v in vers[lo:hi]), bool, hi - lo)
    lost = np.flatnonzero(~seen)
    if len(lost):
        raise StudioError(
            f"review project {rid}: Label Studio did not store {len(lost)} predictions "
            f"(first on task {int(tasks[lost[0]])}); run `curate adjudicate` again"
        )


def adjudications(
    conn: Any, source_project_id: int, schema: LabelSchema | None = None
) -> dict[int, Adjudication]:
    """The reviewers' submitted decisions for ``source_project_id``, by source task id.

    Empty when the project has no review project. A task reviewed twice takes its latest
    submitted (not cancelled) annotation. Annotations that do not convert are left out
    (the next pull reports the task as a conflict again).
    """
    project = find_review_project(conn, source_project_id)
    if project is None:
        return {}
    schema = schema or load_schema()
    rid = int(project["id"])
    tasks = conn.get_json(
        f"/api/projects/{rid}/export", params={"exportType": "JSON", "download_all_tasks": "false"}
    )
    # The export names annotators by user id; pull and releases name them by e-mail.
    users = {u["id"]: u.get("email") for u in conn.get_json("/api/users/")}
    return dict(_decisions(tasks, schema, users))


def _decisions(
    tasks: Iterable[Mapping[str, Any]], schema: LabelSchema, users: Mapping[int, Any]
) -> Iterable[tuple[int, Adjudication]]:
    for task in tasks:
        data = task.get("data") or {}
        ref = data.get("curate_review") or {}
        done = [a for a in task.get("annotations") or () if not a.get("was_cancelled")]
        if "task_id" not in ref or not done:
            continue
        ann = max(done, key=lambda a: (str(a.get("updated_at") or ""), int(a.get("id") or 0)))
        text = data.get(schema.text_field)
        if not isinstance(text, str):  # not a review task curate made: nothing to convert
            continue
        try:
            doc = results_to_document(
                text,
                ann.get("result") or [],
                schema,
                id=str(data.get("curate_id") or f"ls-task-{ref['task_id']}"),
                meta=data.get("meta") if isinstance(data.get("meta"), dict) else {},
                where=f"review task {task.get('id')}",
            )
        except CurateError:  # a review that does not convert leaves the task a conflict
            continue
        who = ann.get("completed_by")
        if isinstance(who, dict):
            who = who.get("email") or who.get("id")
        who = users.get(who) or who
        yield (
            int(ref["task_id"]),
            Adjudication(
                source_task_id=int(ref["task_id"]),
                document=doc,
                reviewer=str(who),
                review_task_id=int(task.get("id") or 0),
                review_annotation_id=int(ann.get("id") or 0),
                from_annotation_ids=tuple(int(i) for i in ref.get("annotation_ids") or ()),
                updated_at=ann.get("updated_at"),
            ),
        )

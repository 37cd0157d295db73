"""Reading the gold a release is made from: ``gold.jsonl`` written by ``curate pull``.

Bad records are reported by file and line and left out; the rest go through. Project,
snapshot and agreement figures are taken from the pull's ``report.json`` when present.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import InputError
from curate.io.records import iter_documents, unknown_labels
from curate.model import Document, Prediction
from curate.schema import LabelSchema


@dataclass
class GoldDocuments:
    """The good documents of a gold file, read from it again each time they are iterated
    (a release goes through them once; memory does not grow with the file)."""

    path: Path
    skip: set[int] = field(default_factory=set)
    """Lines left out beyond those that do not parse (unknown labels, a repeated id)."""
    count: int = 0

    def __iter__(self) -> Iterator[Document]:
        for lineno, doc in iter_documents(self.path, []):
            if lineno not in self.skip:
                yield doc

    def __len__(self) -> int:
        return self.count


@dataclass
class GoldInput:
    """The documents read, what was left out, and what the pull folder says about them."""

    path: Path
    docs: GoldDocuments
    problems: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    agreement: dict[str, Any] | None = None

    def why_empty(self) -> str:
        """Why no document is left, as a clause for an error message (what to do)."""
        if self.problems:
            return f"every record of {self.path} was left out; fix the problems above"
        return f"{self.path} is empty; pull again once annotations are submitted"


def read_gold(path: str | Path, schema: LabelSchema) -> GoldInput:
    """Check the gold Documents of a ``gold.jsonl`` (or a pull folder holding one).

    The file is read once here for its problems; ``docs`` reads it again when iterated,
    giving the good documents without keeping them in memory.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "gold.jsonl"
    if not path.is_file():
        raise InputError("not found; give the gold.jsonl written by `curate pull`", path=str(path))
    out = GoldInput(path, GoldDocuments(path))
    first_line: dict[str, int] = {}
    problems: list[str] = []
    for lineno, doc in iter_documents(path, problems):
        where = f"{path}:{lineno}"
        out.problems += [f"{p}; left out" for p in problems]
        problems.clear()
        if isinstance(doc.provenance, Prediction):
            made_by = doc.provenance.model_version or "a model"
            out.problems.append(
                f"{where}: a prediction of {made_by}, not a person's annotation: predictions "
                "never become gold; release what people labeled (`curate pull`, `curate "
                "import brat`); left out"
            )
            out.docs.skip.add(lineno)
            continue
        if why := unknown_labels(doc, schema.entity_labels):
            out.problems.append(f"{where}: {why}; left out")
            out.docs.skip.add(lineno)
            continue
        if doc.id in first_line:
            out.problems.append(
                f"{where}: article {doc.id!r} again (first at line {first_line[doc.id]}); left out"
            )
            out.docs.skip.add(lineno)
            continue
        first_line[doc.id] = lineno
        out.docs.count += 1
    out.problems += [f"{p}; left out" for p in problems]
    _read_pull_report(path.parent, out)
    return out


def _read_pull_report(folder: Path, out: GoldInput) -> None:
    """Project, snapshot and agreement from ``report.json`` of a pull folder, if any."""
    report: dict[str, Any] = {}
    try:
        loaded = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        report = loaded if isinstance(loaded, dict) else {}
    except (OSError, json.JSONDecodeError):
        report = {}
    project = report.get("project")
    if isinstance(project, dict):
        project = project.get("title") or project.get("id")
    snapshot = report.get("snapshot") or report.get("snapshot_id")
    if report and not snapshot:
        snapshot = folder.name  # data/pulls/<project-slug>/<snapshot-id>/
    if report and not project:
        project = folder.parent.name
    if project:
        out.meta["project"] = str(project)
    if snapshot:
        out.meta["snapshot"] = str(snapshot)
    agreement = report.get("agreement")
    if isinstance(agreement, dict) and agreement:
        out.agreement = agreement

"""Importing gold made elsewhere: brat standoff (PolNeAR and the like) into a gold version.

The folder is read by :func:`curate.io.brat.read_brat` (the one brat reader): each
``.ann`` file becomes one :class:`~curate.model.Document` whose provenance names its
annotator (the ``annotations``, the shape ``curate pull`` writes for agreement). The gold version
gets one Document per article, the annotation of the first annotator in sorted order
(:meth:`~curate.io.brat.BratCorpus.gold`), so that an import is deterministic; all of them
are written beside the version as ``<version>.annotations.jsonl`` for ``curate agreement``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate import settings
from curate.errors import InputError
from curate.io.brat import BratCorpus, read_brat
from curate.schema import LabelSchema, load_schema

__all__ = ["ImportResult", "import_brat", "read_brat"]


@dataclass
class ImportResult:
    """A written gold version and what went into it."""

    path: Path
    annotations_path: Path
    documents: int
    annotations: int
    annotators: list[str]
    multi_annotated: int
    problems: list[str]
    unannotated: list[str]
    dropped_labels: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["path"], d["annotations_path"] = str(self.path), str(self.annotations_path)
        return d


def iter_annotations(corpus: BratCorpus) -> Iterator[dict[str, Any]]:
    for d in corpus.annotations:
        yield d.to_dict()


def import_brat(
    path: str | Path,
    *,
    name: str,
    version: str | None = None,
    bump: str | None = None,
    root: str | Path = settings.GOLD_ROOT,
    schema: LabelSchema | None = None,
) -> ImportResult:
    """Read a brat folder and write it as the gold version ``root/name/version``.

    Every article goes to the ``test`` split (imported gold is for evaluation). The
    per-annotator annotations are written beside the version as
    ``root/name/<version>.annotations.jsonl`` for ``curate agreement``, and, when
    articles have several annotators, the agreement summary goes into the manifest.
    """
    from curate.gold import ALL_TEST, release
    from curate.io.jsonl import write_jsonl
    from curate.score.agreement import agreement

    schema = schema or load_schema()
    corpus = read_brat(path, schema)
    if not corpus.annotations:
        raise InputError(
            f"no usable annotations ({len(corpus.problems)} problems: "
            f"{'; '.join(corpus.problems[:3]) or 'no .ann files'})",
            path=str(path),
        )
    agreed = agreement(corpus.annotations, schema)
    summary = None
    if agreed.articles:
        summary = {
            "articles": agreed.articles,
            "annotators": agreed.annotators,
            "unitizing": agreed.unitizing,
            "labels": {
                la.label: {"f1_exact": la.f1_exact, "f1_overlap": la.f1_overlap, "alpha": la.alpha}
                for la in [*agreed.labels, *([agreed.overall] if agreed.overall else [])]
            },
        }
    rel = release(
        corpus.gold(),
        root=root,
        name=name,
        version=version,
        bump=bump,
        splits=ALL_TEST,
        schema=schema,
        meta={"description": f"imported from the brat folder {Path(path).name}"},
        agreement=summary,
    )
    out = Path(rel.path)
    annotations_path = out.parent / f"{out.name}.annotations.jsonl"
    write_jsonl(annotations_path, iter_annotations(corpus), private=True)
    # Every annotator's own version under their real name (agreement needs them apart):
    # personal data, so private like a pull's annotations (0600), and never changed.
    annotations_path.chmod(0o400)
    multi = sum(1 for n in Counter(d.id for d in corpus.annotations).values() if n > 1)
    return ImportResult(
        path=out,
        annotations_path=annotations_path,
        documents=len(corpus.articles),
        annotations=len(corpus.annotations),
        annotators=corpus.annotators,
        multi_annotated=multi,
        problems=corpus.problems,
        unannotated=corpus.unannotated,
        dropped_labels=dict(corpus.dropped_labels),
    )

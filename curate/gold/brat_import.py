"""Importing gold made elsewhere: brat standoff (PolNeAR and the like) into a gold version.

Two folder layouts are read:

* PolNeAR: ``text/NAME.txt`` and ``attributions/NAME_<annotator>.ann``;
* flat brat: ``NAME.txt`` beside ``NAME.ann`` (one annotator, called ``brat``) or beside
  ``NAME_<annotator>.ann`` files.

Each ``.ann`` file becomes one :class:`~curate.model.Document` with an
:class:`~curate.model.Annotation` naming its annotator (the ``annotations``, the shape
``curate pull`` writes for agreement). The gold version gets one Document per article:
the annotation of the first annotator in sorted order, as
:func:`curate.io.brat.iter_corpus` does, so that an import is deterministic; all of them
are written beside the version as ``<version>.annotations.jsonl`` for ``curate agreement``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from curate import settings
from curate.errors import CurateError, InputError
from curate.io.brat import BratFile, parse_ann, to_document
from curate.model import Annotation, Document
from curate.schema import LabelSchema, load_schema

DEFAULT_ANNOTATOR = "brat"


@dataclass
class BratCorpus:
    """What reading a brat folder found."""

    path: Path
    annotations: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unannotated: list[str] = field(default_factory=list)
    dropped_labels: Counter[str] = field(default_factory=Counter)

    @property
    def articles(self) -> list[str]:
        return sorted({d.id for d in self.annotations})

    @property
    def annotators(self) -> list[str]:
        return sorted({_annotator(d) for d in self.annotations})

    def gold(self) -> list[Document]:
        """One Document per article: the first annotator's, the others named in its provenance."""
        by_article: dict[str, list[Document]] = {}
        for d in self.annotations:
            by_article.setdefault(d.id, []).append(d)
        out = []
        for art in sorted(by_article):
            docs = sorted(by_article[art], key=_annotator)
            first = docs[0]
            prov = first.provenance if isinstance(first.provenance, Annotation) else Annotation()
            others = tuple(_annotator(d) for d in docs[1:])
            out.append(first.with_(provenance=replace(prov, other_annotators=others)))
        return out


def _annotator(doc: Document) -> str:
    return doc.provenance.annotator if isinstance(doc.provenance, Annotation) else ""


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


def read_brat(path: str | Path, schema: LabelSchema | None = None) -> BratCorpus:
    """Read a brat folder into one Document per (article, annotator).

    Attributions (E lines joining Source, Cue and Content) become quotes, with the kind
    guessed from the quotation marks; T spans whose label is an entity label of the schema
    (after its ``[entity_labels]`` mapping) become entities; other labels (PolNeAR's
    ``Discard``, ``Discuss``...) are counted in ``dropped_labels``. A file that cannot be
    read or whose spans do not fit its text is reported in ``problems`` and skipped; the
    rest go through.
    """
    schema = schema or load_schema()
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(
            "is not a folder; give a brat folder (NAME.txt + NAME.ann)", path=str(path)
        )
    corpus = BratCorpus(folder)
    texts, anns = _layout(folder)
    if not texts:
        raise InputError(
            "holds no .txt files; give a folder with NAME.txt + NAME.ann, or PolNeAR's "
            "text/ and attributions/",
            path=str(folder),
        )
    metadata = _metadata(folder, corpus)
    files: dict[str, list[tuple[str, Path]]] = {}
    for ann in anns:
        if ann.stem in texts:
            stem, who = ann.stem, DEFAULT_ANNOTATOR
        else:
            stem, _, who = ann.stem.rpartition("_")
            if stem not in texts or not who:
                corpus.problems.append(f"{ann}: no matching text file {ann.stem}.txt; skipped")
                continue
        files.setdefault(stem, []).append((who, ann))
    for stem in sorted(texts):
        if stem not in files:
            corpus.unannotated.append(stem)
            continue
        try:
            text = texts[stem].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            corpus.problems.append(f"{texts[stem]}: unreadable text ({e}); skipped")
            continue
        for who, ann in sorted(files[stem]):
            doc = _read_one(stem, who, text, ann, schema, corpus)
            if doc is not None:
                meta = {**metadata.get(stem, {}), "file": f"{stem}.txt"}
                corpus.annotations.append(doc.with_(meta=meta))
    return corpus


def _layout(folder: Path) -> tuple[dict[str, Path], list[Path]]:
    if (folder / "text").is_dir() and (folder / "attributions").is_dir():
        text_dir, ann_dir = folder / "text", folder / "attributions"
    else:
        text_dir = ann_dir = folder
    texts = {p.stem: p for p in sorted(text_dir.glob("*.txt")) if p.is_file()}
    return texts, sorted(p for p in ann_dir.glob("*.ann") if p.is_file())


def _read_one(
    stem: str, who: str, text: str, ann: Path, schema: LabelSchema, corpus: BratCorpus
) -> Document | None:
    try:
        parsed = parse_ann(ann)
    except CurateError as err:
        corpus.problems.append(f"{err}; skipped")
        return None
    corpus.problems.extend(parsed.problems)
    bad = _misaligned(parsed, text)
    if bad:
        corpus.problems.append(
            f"{ann}: {bad}; the .ann does not fit {stem}.txt (wrong file or line endings "
            "changed); skipped"
        )
        return None
    try:
        doc = to_document(stem, text, parsed)
    except CurateError as err:
        corpus.problems.append(f"{ann}: {err}; skipped")
        return None
    entities = []
    for e in doc.entities:
        label = schema.map_entity(e.label)
        if label is None:
            # PolNeAR's trigger spans (Attribution-no-source) are structure, not labels
            if not e.label.startswith("Attribution"):
                corpus.dropped_labels[e.label] += 1
        else:
            entities.append(e if label == e.label else type(e)(e.start, e.end, label, e.text))
    prov = doc.provenance if isinstance(doc.provenance, Annotation) else Annotation()
    prov = replace(prov, annotators=(who,), origin="brat")
    return doc.with_(entities=tuple(entities), provenance=prov)


# metadata.tsv column -> article meta key (the keys the Label Studio task shows)
_METADATA_COLUMNS = {
    "title": "title",
    "publisher": "source",
    "publication_date": "date",
    "author": "author",
    "compartment": "compartment",
}


def _metadata(folder: Path, corpus: BratCorpus) -> dict[str, dict[str, str]]:
    """Per-article title, publisher, date and author from PolNeAR's ``metadata.tsv``.

    Looked for in the folder and its parent (PolNeAR keeps one for all compartments).
    """
    import csv

    for candidate in (folder / "metadata.tsv", folder.parent / "metadata.tsv"):
        if candidate.is_file():
            break
    else:
        return {}
    out: dict[str, dict[str, str]] = {}
    try:
        with candidate.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                name = row.get("filename")
                if not name:
                    continue
                out[name] = {
                    key: value
                    for col, key in _METADATA_COLUMNS.items()
                    if (value := (row.get(col) or "").strip()) and value != "None"
                }
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        corpus.problems.append(f"{candidate}: unreadable metadata ({e}); articles kept without it")
        return {}
    return out


def _misaligned(parsed: BratFile, text: str) -> str | None:
    """Why the spans do not fit ``text``, or None.

    The text a T line stores is checked against the text at its offsets, whitespace
    collapsed and as a prefix: brat writes a span that crosses a line break only up to it.
    """
    for span in parsed.spans.values():
        for s, e in span.fragments:
            if not 0 <= s < e <= len(text):
                return f"{span.id} {s}:{e} is empty or outside the text (length {len(text)})"
        if span.text is not None:
            found = _squash(" ".join(text[s:e] for s, e in span.fragments))
            if not found.startswith(_squash(span.text)):
                return f"{span.id} stores {span.text[:40]!r} but the text there is {found[:40]!r}"
    return None


def _squash(s: str) -> str:
    return " ".join(s.split())


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
    write_jsonl(annotations_path, iter_annotations(corpus))
    annotations_path.chmod(0o444)  # part of the release: read-only like the version's files
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

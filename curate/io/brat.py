"""Reading brat standoff annotations (PolNeAR and the like): the one brat reader.

T lines are spans (``T1\tSource 0 15;20 25\ttext``, several fragments allowed; every
fragment stays in :attr:`BratSpan.fragments`); E lines join an attribution's parts
(``E1\tAttribution:T4 Content:T3 Cue:T2 Source:T1``). A discontinuous content span
becomes a quote with one fragment per brat fragment (``Quote.fragments``); a
discontinuous source, cue or entity is kept as its covering span. ``#`` notes
are skipped; relation, attribute and normalisation lines (R, A, M, N, ``*``) and lines
brat cannot have written are reported, never silently dropped.

Two folder layouts are read, with one rule for annotators:

* PolNeAR: ``text/NAME.txt`` and ``attributions/NAME_<annotator>.ann``;
* flat brat: ``NAME.txt`` beside ``NAME.ann`` (one annotator, called ``brat``) or beside
  ``NAME_<annotator>.ann`` files.

Texts and annotations are read by :mod:`curate.io.text` (the reader ``ingest`` uses), so
an article's text and hash are the same whichever command read it. Offsets are checked
against the span text each T line stores; for a text with ``\\r\\n`` line breaks the
offsets may count them as two characters (as on disk) or one (as brat counts them): the
convention that fits is detected and offsets are mapped onto the text as it is on disk.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from curate.errors import CurateError, InputError
from curate.io.text import read_text
from curate.marks import quote_kind
from curate.model import Annotation, Document, Entity, Quote, Span
from curate.schema import LabelSchema, load_schema

ATTRIBUTION_PARTS = {"Source", "Cue", "Content"}
DEFAULT_ANNOTATOR = "brat"

# An annotation line starts with its id and a tab: T1, E1, R1, A1, M1, N1, #1, *.
_LINE = re.compile(r"([TERAMN#*])(\d*)\t")
_IGNORED_KINDS = {"R": "relation", "A": "attribute", "M": "attribute", "N": "normalisation"}


@dataclass(frozen=True)
class BratSpan:
    """One T line: its label, its fragments (start, end) and the text it stores."""

    id: str
    label: str
    fragments: tuple[tuple[int, int], ...]
    #: the text the .ann file stores for the span (a witness to check offsets against)
    text: str | None = field(default=None, compare=False)

    @property
    def start(self) -> int:
        return min(s for s, _ in self.fragments)

    @property
    def end(self) -> int:
        return max(e for _, e in self.fragments)

    @property
    def length(self) -> int:
        """Characters brat stores for the span: its fragments joined by one space each."""
        return sum(e - s for s, e in self.fragments) + len(self.fragments) - 1


@dataclass(frozen=True)
class Attribution:
    """One E line: content, cue and source spans (any may be missing)."""

    id: str
    content: BratSpan | None
    cue: BratSpan | None
    source: BratSpan | None


@dataclass
class BratFile:
    """A parsed ``.ann`` file; ``problems`` name the lines that were not read."""

    path: Path
    spans: dict[str, BratSpan] = field(default_factory=dict)
    attributions: list[Attribution] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _joined(a: BratSpan, b: BratSpan) -> BratSpan:
    """One span holding the fragments of ``a`` and ``b`` in text order (brat's stored text
    of a discontinuous span joins its fragments' texts with one space each)."""
    first, second = sorted((a, b), key=lambda t: t.start)
    text = None
    if first.text is not None and second.text is not None:
        text = f"{first.text} {second.text}"
    fragments = tuple(sorted(set(first.fragments) | set(second.fragments)))
    if text is not None and first.end > second.start:  # interleaved: no single text
        text = None
    return BratSpan(f"{first.id}+{second.id}", first.label, fragments, text)


def parse_ann(path: str | Path) -> BratFile:
    """Parse one ``.ann`` file; lines that are not read are named in ``problems``.

    A span's text that runs over a line break (brat writes it as it is) continues on the
    next lines until it has the span's length. Raises InputError when the file cannot be
    read or is not UTF-8.
    """
    path = Path(path)
    out = BratFile(path)
    lines = read_text(path).split("\n")
    events: list[tuple[int, str, str]] = []
    ignored: Counter[str] = Counter()
    last: BratSpan | None = None  # the T line before, when its stored text may go on
    for lineno, line in enumerate(lines, 1):
        line = line.removesuffix("\r")
        m = _LINE.match(line)
        if m is None and last is not None and len(last.text or "") < last.length:
            last = replace(last, text=f"{last.text}\n{line}")
            out.spans[last.id] = last
            continue
        last = None
        if m is None:
            if line.strip():
                out.problems.append(f"{path}:{lineno}: not a brat annotation line {line[:60]!r}")
            continue
        kind, ident, parts = m.group(1), line.split("\t", 1)[0], line.split("\t")
        try:
            if kind == "T":
                t = out.spans[ident] = _span_line(ident, parts)
                last = t if t.text is not None else None
            elif kind == "E":
                events.append((lineno, ident, parts[1]))
            elif kind in _IGNORED_KINDS or kind == "*":
                ignored[_IGNORED_KINDS.get(kind, "equivalence")] += 1
        except (IndexError, ValueError):
            out.problems.append(f"{path}:{lineno}: malformed {kind} line {line[:60]!r}")
    for lineno, ident, body in events:
        roles: dict[str, BratSpan | None] = {}
        for arg in body.split():
            role, _, ref = arg.partition(":")
            role = role.rstrip("0123456789")
            if role in ATTRIBUTION_PARTS:
                span = out.spans.get(ref)
                if span is None:
                    out.problems.append(f"{path}:{lineno}: {ident} refers to unknown {ref}")
                elif role == "Content" and roles.get("Content") is not None:
                    # PolNeAR's Content2 (75 attributions): a second content of the same
                    # attribution; both are its content, as fragments of one quote.
                    span = _joined(roles["Content"], span)  # type: ignore[arg-type]
                roles[role] = span
        out.attributions.append(
            Attribution(ident, roles.get("Content"), roles.get("Cue"), roles.get("Source"))
        )
    if ignored:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(ignored.items()))
        out.problems.append(f"{path}: {kinds} line(s) not read (curate reads T and E lines)")
    return out


def _span_line(ident: str, parts: list[str]) -> BratSpan:
    """A T line split at tabs: ``[id, "Label 0 5;7 9", stored text]``; ValueError or
    IndexError when the offsets are not ``start end`` pairs of integers."""
    label, _, offsets = parts[1].partition(" ")
    fragments = tuple((int(a), int(b)) for a, b in (f.split() for f in offsets.split(";")))
    return BratSpan(ident, label, fragments, parts[2] if len(parts) > 2 else None)


def align(ann: BratFile, text: str) -> BratFile:
    """``ann`` with its offsets into ``text`` as it is on disk.

    The text each T line stores is compared with the text at its offsets (whitespace
    collapsed). When that fails and ``text`` has ``\\r\\n`` breaks, offsets counted with
    each break as one character are tried and mapped onto ``text``. Raises InputError
    naming the first span that fits neither convention.
    """
    why = _misaligned(ann, text)
    if why is None:
        return ann
    if "\r\n" in text:
        folded = _map_folded(ann, text)
        if _misaligned(folded, text) is None:
            return folded
    raise InputError(f"{why}; the .ann does not fit its text (wrong file, or text edited)")


def _misaligned(ann: BratFile, text: str) -> str | None:
    """Why the spans do not fit ``text``, or None.

    Compared as a prefix: an old brat export may have lost a span's text past a line
    break.
    """
    for span in ann.spans.values():
        for s, e in span.fragments:
            if not 0 <= s < e <= len(text):
                return f"{span.id} {s}:{e} is empty or outside the text (length {len(text)})"
        if span.text is not None:
            found = _squash(" ".join(text[s:e] for s, e in span.fragments))
            if not found.startswith(_squash(span.text)):
                return f"{span.id} stores {span.text[:40]!r} but the text there is {found[:40]!r}"
    return None


def _map_folded(ann: BratFile, text: str) -> BratFile:
    """``ann`` with offsets counted on ``text`` with ``\\r\\n`` folded to one character."""
    # Folded position of each \r\n: its disk position less the \r's before it.
    breaks = [m.start() - k for k, m in enumerate(re.finditer("\r\n", text))]

    def disk(offset: int) -> int:
        return offset + bisect.bisect_left(breaks, offset)

    spans = {
        k: replace(s, fragments=tuple((disk(a), disk(b)) for a, b in s.fragments))
        for k, s in ann.spans.items()
    }

    def part(s: BratSpan | None) -> BratSpan | None:
        return spans[s.id] if s is not None else None

    attributions = [
        Attribution(a.id, part(a.content), part(a.cue), part(a.source)) for a in ann.attributions
    ]
    return BratFile(ann.path, spans, attributions, ann.problems)


def _squash(s: str) -> str:
    return " ".join(s.split())


def _span(text: str, b: BratSpan | None) -> Span | None:
    if b is None:
        return None
    return Span.of(text, b.start, b.end)


def to_document(doc_id: str, text: str, ann: BratFile, meta: dict | None = None) -> Document:
    """Build a Document: attributions become quotes (kind from :func:`curate.marks.quote_kind`);
    non-attribution T spans become entities with their brat label."""
    quotes = []
    seen: set[tuple[tuple[int, int], ...]] = set()
    for a in ann.attributions:
        if a.content is None or a.content.fragments in seen:
            continue
        seen.add(a.content.fragments)
        content = Quote.of_fragments(text, a.content.fragments)
        quotes.append(
            Quote.of_fragments(
                text,
                a.content.fragments,
                quote_kind(" ".join(f.text for f in content.fragments)),
                speaker=_span(text, a.source),
                cue=_span(text, a.cue),
            )
        )
    skip = ATTRIBUTION_PARTS | {"Attribution"}
    entities = [
        Entity.of(text, s.start, s.end, s.label) for s in ann.spans.values() if s.label not in skip
    ]
    return Document(
        doc_id,
        text,
        tuple(entities),
        tuple(quotes),
        meta or {},
        Annotation(extra={"brat": ann.path.name}),
    )


@dataclass
class BratCorpus:
    """What reading a brat folder found: one Document per (article, annotator)."""

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
        """One Document per article: the first annotator's in sorted order, the others
        named in its provenance (``other_annotators``)."""
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


def read_brat(path: str | Path, schema: LabelSchema | None = None) -> BratCorpus:
    """Read a brat folder into one Document per (article, annotator).

    Attributions (E lines joining Source, Cue and Content) become quotes; T spans whose
    label is an entity label of ``schema`` (default: the shipped config, after its
    ``[entity_labels]`` mapping) become entities; other labels (PolNeAR's ``Discard``,
    ``Discuss``...) are counted in ``dropped_labels``. The provenance (an
    :class:`~curate.model.Annotation`) names the annotator. A file that cannot be read or
    whose spans do not fit its text is reported in ``problems`` and skipped; the rest go
    through. Raises InputError when ``path`` is not a folder holding ``.txt`` files.
    """
    schema = schema or load_schema()
    folder = Path(path)
    if not folder.is_dir():
        why = "is a file, not a folder" if folder.exists() else "not found"
        raise InputError(f"{why}; give a brat folder (NAME.txt + NAME.ann)", path=str(path))
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
            text = read_text(texts[stem])
        except InputError as e:
            corpus.problems.append(f"{e}; skipped")
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
        corpus.problems.extend(parsed.problems)
        doc = to_document(stem, text, align(parsed, text))
    except CurateError as err:
        where = "" if str(err).startswith(str(ann)) else f"{ann}: "
        corpus.problems.append(f"{where}{err}; skipped")
        return None
    entities = []
    for e in doc.entities:
        label = schema.map_entity(e.label)
        if label is None:
            # PolNeAR's trigger spans (Attribution-no-source) are structure, not labels
            if not e.label.startswith("Attribution"):
                corpus.dropped_labels[e.label] += 1
        else:
            entities.append(e if label == e.label else Entity(e.start, e.end, label, e.text))
    prov = doc.provenance if isinstance(doc.provenance, Annotation) else Annotation()
    extra = dict(prov.extra)
    if who != DEFAULT_ANNOTATOR and who in str(extra.get("brat", "")):
        # The file is named after its annotator (art1_jsmith.ann): the name goes where
        # the release pseudonymizes it (``annotators``), not into the file name kept.
        extra["brat"] = str(extra["brat"]).replace(who, "{annotator}")
    prov = replace(prov, annotators=(who,), origin="brat", extra=extra)
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
    for candidate in (folder / "metadata.tsv", folder.parent / "metadata.tsv"):
        if candidate.is_file():
            break
    else:
        return {}
    out: dict[str, dict[str, str]] = {}
    try:
        rows = csv.DictReader(io.StringIO(read_text(candidate), newline=""), delimiter="\t")
        for row in rows:
            name = row.get("filename")
            if not name:
                continue
            out[name] = {
                key: value
                for col, key in _METADATA_COLUMNS.items()
                if (value := (row.get(col) or "").strip()) and value != "None"
            }
    except (InputError, csv.Error) as e:
        corpus.problems.append(f"{candidate}: unreadable metadata ({e}); articles kept without it")
        return {}
    return out

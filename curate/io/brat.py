"""Reading brat standoff annotations (PolNeAR style) into curate's data model.

T lines are spans (``T1\tSource 0 15;20 25\ttext``, several fragments allowed);
E lines join an attribution's parts (``E1\tAttribution:T4 Content:T3 Cue:T2 Source:T1``).
A discontinuous span is kept as its covering span, with its fragments recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import InputError
from curate.model import Annotation, Document, Entity, Quote, Span

ATTRIBUTION_PARTS = {"Source", "Cue", "Content"}


@dataclass(frozen=True)
class BratSpan:
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


@dataclass(frozen=True)
class Attribution:
    """One E line: content, cue and source spans (any may be missing)."""

    id: str
    content: BratSpan | None
    cue: BratSpan | None
    source: BratSpan | None


@dataclass
class BratFile:
    path: Path
    spans: dict[str, BratSpan] = field(default_factory=dict)
    attributions: list[Attribution] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_ann(path: str | Path) -> BratFile:
    """Parse one ``.ann`` file; malformed lines are recorded in ``problems``, not fatal."""
    path = Path(path)
    out = BratFile(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read brat annotations ({e})", path=str(path)) from e
    events: list[tuple[int, str, str]] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        ident = parts[0]
        try:
            if ident.startswith("T"):
                label, _, offsets = parts[1].partition(" ")
                frags = tuple((int(a), int(b)) for a, b in (f.split() for f in offsets.split(";")))
                out.spans[ident] = BratSpan(
                    ident, label, frags, parts[2] if len(parts) > 2 else None
                )
            elif ident.startswith("E"):
                events.append((lineno, ident, parts[1]))
        except (IndexError, ValueError):
            out.problems.append(f"{path}:{lineno}: malformed line {line!r}")
    for lineno, ident, body in events:
        roles: dict[str, BratSpan | None] = {}
        for arg in body.split():
            role, _, ref = arg.partition(":")
            role = role.rstrip("0123456789")
            if role in ATTRIBUTION_PARTS:
                span = out.spans.get(ref)
                if span is None:
                    out.problems.append(f"{path}:{lineno}: {ident} refers to unknown {ref}")
                roles[role] = span
        out.attributions.append(
            Attribution(ident, roles.get("Content"), roles.get("Cue"), roles.get("Source"))
        )
    return out


def _span(text: str, b: BratSpan | None) -> Span | None:
    if b is None:
        return None
    return Span.of(text, b.start, b.end)


def quote_kind(text: str) -> str:
    """direct when the whole content is quoted, mixed when part is, indirect otherwise."""
    # PolNeAR's older sources write quotes LaTeX-style: ``like this''
    text = text.replace("``", '"').replace("''", '"')
    stripped = text.strip().strip(".,;: ")
    marks = '"“”«»„'
    if stripped[:1] in marks and stripped[-1:] in marks:
        return "direct"
    if any(m in text for m in marks):
        return "mixed"
    return "indirect"


def to_document(doc_id: str, text: str, ann: BratFile, meta: dict | None = None) -> Document:
    """Build a Document: attributions become quotes; non-attribution T spans become entities."""
    quotes = []
    seen: set[tuple[int, int]] = set()
    for a in ann.attributions:
        if a.content is None or (a.content.start, a.content.end) in seen:
            continue
        seen.add((a.content.start, a.content.end))
        content = Span.of(text, a.content.start, a.content.end)
        quotes.append(
            Quote(
                content.start,
                content.end,
                content.text,
                quote_kind(content.text),
                speaker=_span(text, a.source),
                cue=_span(text, a.cue),
            )
        )
    skip = ATTRIBUTION_PARTS | {"Attribution"}
    entities = [
        Entity.of(text, s.start, s.end, s.label) for s in ann.spans.values() if s.label not in skip
    ]
    source: dict[str, Any] = {"brat": ann.path.name}
    frags = {
        a.content.id: list(a.content.fragments)
        for a in ann.attributions
        if a.content is not None and len(a.content.fragments) > 1
    }
    if frags:
        source["discontinuous_content"] = frags
    return Document(
        doc_id, text, tuple(entities), tuple(quotes), meta or {}, Annotation(extra=source)
    )


def iter_corpus(folder: str | Path, all_annotators: bool = False) -> Iterator[Document]:
    """Documents of a PolNeAR-style folder (``text/NAME.txt``, ``attributions/NAME_*.ann``).

    With several ``.ann`` files for one article the first in sorted order is used, unless
    ``all_annotators`` is set, when each file gives its own Document (annotator in meta).
    """
    folder = Path(folder)
    text_dir, ann_dir = folder / "text", folder / "attributions"
    if not text_dir.is_dir() or not ann_dir.is_dir():
        raise InputError("needs text/ and attributions/ folders", path=str(folder))
    anns: dict[str, list[Path]] = {}
    stems = sorted(p.stem for p in text_dir.glob("*.txt"))
    for ann in sorted(ann_dir.glob("*.ann")):
        base, _, annotator = ann.stem.rpartition("_")
        anns.setdefault(base, []).append(ann)
    for stem in stems:
        files = anns.get(stem, [])
        if not files:
            continue
        text = (text_dir / f"{stem}.txt").read_text(encoding="utf-8")
        for f in files if all_annotators else files[:1]:
            annotator = f.stem.rpartition("_")[2]
            yield to_document(stem, text, parse_ann(f), {"annotator": annotator})

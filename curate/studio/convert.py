r"""Converters between curate Documents and Label Studio task / result JSON.

Offsets: curate speaks Python code points, end exclusive. Measured on Label Studio
1.23.2 with Chromium: the backend stores ``value.start``/``value.end`` exactly as
imported, and a person selecting text in the UI gets code-point offsets too (an emoji
outside the BMP is one character, ``\r\n`` two, a combining mark one), so both
directions use the offsets unchanged. ``value.text`` is only a witness and is never
trusted: the UI writes a selection over ``\r\n`` as the escaped text ``\n\n`` (a
backslash and an ``n``, twice). Every span is checked against the task text; when the
stored text disagrees we try UTF-16 code units (what a JavaScript string counts, as
older tools wrote) and line-break differences before reporting the region as a problem
and dropping it.

Result shape written by :func:`document_to_results` (one list per task):

* entities: ``labels`` regions on ``schema.entity_control``;
* quote parts: ``labels`` regions QUOTE / SPEAKER / CUE on ``schema.quote_control``;
  a discontinuous quote has one QUOTE region per content fragment;
* the quote kind: a per-region ``choices`` result on ``schema.kind_control`` sharing the
  id of each QUOTE region (every fragment shows its quote's kind when selected);
* relations: quote head -> speaker (``speaker``), quote head -> cue (``cue``), speaker
  mention -> named entity region (``refers_to``) and each content fragment -> the next
  one (``continues``), so the fragments of a quote are one chain a labeler can follow.

Reading results back (:func:`parse_results`) a quote is a group of QUOTE regions joined
by ``continues`` relations (either direction), with the kind of any of them and the
speaker and cue linked to any of them. Given the prediction the annotation started from,
regions left behind by a deleted quote (its speaker, cue or other fragments) are dropped
with it and counted as such; without one, a SPEAKER/CUE linked to no quote is an orphan,
dropped and reported, and a lone fragment is never joined to another quote by guessing.

Region ids are deterministic (``e3``, ``q0``, ``q0f1``, ``q0s``...), so the same document always
gives the same JSON and predictions can be compared across pushes.

For the labeler (Label Studio shows these; reading results back ignores them): every
region has a ``score`` (entities: the NER model's own precision for the label,
``Prediction.entity_precision``; quote parts: the extractor's certainty for the quote's shape,
:data:`curate.extract.quotes.CERTAINTY`), a QUOTE region says its kind, speaker and cue
in words in ``meta.text`` (the Details panel), and a quote's SPEAKER and CUE regions
carry ``parentID`` = the quote's region, so the Regions panel nests them under it.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from curate.extract.quotes import CERTAINTY, quote_shape
from curate.model import QUOTE_KINDS, Document, Entity, Prediction, Provenance, Quote, Span
from curate.schema import LabelSchema
from curate.studio import linkview

#: Shown above every article: five lines at most, one example per quote kind, hotkeys.
INSTRUCTIONS = "\n".join(
    (
        "Keys: QUOTE q, SPEAKER s, CUE c · kind 1 direct, 2 indirect, 3 mixed · Backspace "
        "deletes · Alt+R links",
        "direct: “We will rebuild the port,” said Peskov → QUOTE with its marks, CUE said, "
        "SPEAKER Peskov; “A,” he said, “B.” → one QUOTE per part, each linked to the next "
        "(continues)",
        "indirect: He added that talks would resume → QUOTE that talks would resume, CUE added, "
        "SPEAKER He",
        "mixed: Kirby said it would “pay a price” → QUOTE it would “pay a price”, CUE said, "
        "SPEAKER Kirby",
        "Click a quote to see its links and read its speaker and cue (Info); tick Show all links "
        "for every arrow.",
    )
)

#: Metadata keys shown in the byline above the text, in this order.
BYLINE_KEYS = ("source", "date")
#: Longest title taken from the article's first sentence (cut at a word, with "…").
TITLE_CHARS = 100


def document_to_task(
    doc: Document, schema: LabelSchema, results: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The Label Studio task for ``doc``: ``{"data": {...}}`` with the fields the config uses.

    ``curate_id`` and ``curate_hash`` let push find already-imported articles and notice
    a changed text; ``meta`` carries the article metadata through to the pull.
    ``link_view`` is the task's CSS that draws the arrows of the selected region
    (:mod:`curate.studio.linkview`), made from ``results``, the prediction that goes with
    the task (default: :func:`document_to_results` of ``doc``).
    """
    meta = dict(doc.meta)
    first, dateline = headline(doc.text)
    title = str(meta.get("title") or first or "(untitled article)")
    byline = " · ".join(str(meta[k]) for k in BYLINE_KEYS if meta.get(k)) or dateline
    data = {
        text_field(schema): doc.text,
        "title": title,
        "byline": byline,
        "instructions": INSTRUCTIONS,
        linkview.FIELD: linkview.link_view(
            document_to_results(doc, schema) if results is None else results
        ),
        "curate_id": doc.id,
        "curate_hash": doc.hash,
        "meta": meta,
    }
    return {"data": data}


# A wire dateline opening the first line: "SEOUL, Sept. 6 (UPI) — ", "WASHINGTON (AP) — ".
_DATELINE = re.compile(
    r"[A-Z][A-Z .,'’\-]{1,40}(?:,[^—–\n]{0,40}?)?(?:\([^)\n]{1,20}\))?\s*[—–]\s*|"
    r"[A-Z][A-Z .'’\-]{1,40},[^—–\n]{0,40}?(?:\([^)\n]{1,20}\))?\s*-{1,2}\s+"
)
_SENTENCE_END = re.compile(r"[.!?][”’\"')]*\s+(?=[“\"‘'(]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:[A-Z]\.)+|(?:Mr|Mrs|Ms|Dr|Sen|Rep|Gov|Gen|St|Jan|Feb|Aug|Sept|Oct|Nov|Dec)\."
)


def headline(text: str) -> tuple[str, str]:
    """``(title, dateline)`` from an article's opening: its first sentence (without the
    dateline, cut to :data:`TITLE_CHARS` at a word with "…") and the dateline (``SEOUL,
    Sept. 6 (UPI)``), each ``""`` when the text has none."""
    line = text.strip().split("\n", 1)[0].strip()
    m = _DATELINE.match(line)
    dateline = line[: m.end()].strip(" —–-") if m else ""
    rest = line[m.end() :] if m else line
    end = len(rest)
    for stop in _SENTENCE_END.finditer(rest):
        words = rest[: stop.start() + 1].split()
        if words and _ABBREVIATION.fullmatch(words[-1]):
            continue  # "U.S. officials", "Mr. Smith"
        end = stop.start() + 1
        break
    title = " ".join(rest[:end].split())
    if len(title) > TITLE_CHARS:
        title = title[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:—– ") + "…"
    return title, dateline


def text_field(schema: LabelSchema) -> str:
    """The task data key holding the article text (``text`` for ``value="$text"``)."""
    return schema.text_field


def document_to_results(doc: Document, schema: LabelSchema) -> list[dict[str, Any]]:
    """Label Studio result regions, kind choices and relations for ``doc``.

    Identical spans are one region (two quotes by the same speaker mention share its
    SPEAKER region; two quotes with the same content span collapse into one, the first
    one's kind winning). A ``speaker_entity`` that is not among the document's entities gets
    an entity region of its own labelled with the config's PERSON label, since
    ``refers_to`` must point at an entity region; a round trip then lists it as an entity.
    """
    text = doc.text
    results: list[dict[str, Any]] = []
    ids: dict[tuple[str, str, int, int], str] = {}
    entity_ids: dict[tuple[int, int], str] = {}

    def region(control: str, label: str, start: int, end: int, rid: str) -> str:
        key = (control, label, start, end)
        if key in ids:
            return ids[key]
        ids[key] = rid
        results.append(_label_region(rid, control, schema.text_control, label, text, start, end))
        return rid

    for i, e in enumerate(doc.entities):
        rid = region(schema.entity_control, e.label, e.start, e.end, f"e{i}")
        entity_ids.setdefault((e.start, e.end), rid)

    relations: list[dict[str, Any]] = []
    seen_rel: set[tuple[str, str, str]] = set()

    def relate(from_id: str, to_id: str, label: str) -> None:
        if (from_id, to_id, label) not in seen_rel:
            seen_rel.add((from_id, to_id, label))
            relations.append(_relation(from_id, to_id, label))

    for i, q in enumerate(doc.quotes):
        qid = prev = ""
        for k, frag in enumerate(q.fragments):
            rid = f"q{i}" if k == 0 else f"q{i}f{k}"
            fid = region(schema.quote_control, schema.quote_label, frag.start, frag.end, rid)
            if fid == rid:  # one kind per region: a repeated quote span keeps the first
                results.append(_kind_choice(rid, schema, frag, q.kind))
            if k == 0:
                qid = fid
            else:
                relate(prev, fid, schema.fragment_relation)
            prev = fid
        sid = None
        if q.speaker is not None:
            sp = q.speaker
            sid = region(schema.quote_control, schema.speaker_label, sp.start, sp.end, f"q{i}s")
            relate(qid, sid, schema.speaker_relation)
        if q.cue is not None:
            cid = region(schema.quote_control, schema.cue_label, q.cue.start, q.cue.end, f"q{i}c")
            relate(qid, cid, schema.cue_relation)
        if q.speaker_entity is not None and sid is not None:
            se = q.speaker_entity
            eid = entity_ids.get((se.start, se.end))
            if eid is None:
                label = schema.map_entity("PERSON") or schema.entity_labels[0]
                eid = region(schema.entity_control, label, se.start, se.end, f"q{i}e")
                entity_ids[(se.start, se.end)] = eid
            relate(sid, eid, schema.entity_relation)
    return _for_labelers(doc, schema, results + relations)


def _for_labelers(
    doc: Document, schema: LabelSchema, results: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add the scores, words and nesting a labeler reads (see the module docstring)."""
    text = doc.text
    labelled = {
        (r["from_name"], r["value"]["labels"][0], r["value"]["start"], r["value"]["end"]): r
        for r in results
        if r["type"] == "labels"
    }
    made_by = doc.provenance
    precision = made_by.entity_precision if isinstance(made_by, Prediction) else {}
    for e in doc.entities:
        p = precision.get(e.label)
        if isinstance(p, int | float):
            labelled[schema.entity_control, e.label, e.start, e.end]["score"] = float(p)
    spoken: Counter[tuple[int, int]] = Counter(
        (q.speaker.start, q.speaker.end) for q in doc.quotes if q.speaker is not None
    )
    for q in doc.quotes:
        score = CERTAINTY.get(quote_shape(q))
        frags = [
            labelled[schema.quote_control, schema.quote_label, f.start, f.end] for f in q.fragments
        ]
        head = frags[0]
        for frag in frags[1:]:  # the other content fragments, nested under the first
            if score is not None:
                frag.setdefault("score", score)
            if frag is not head:
                frag.setdefault("parentID", head["id"])
        parts = [
            (schema.quote_control, schema.speaker_label, q.speaker),
            (schema.quote_control, schema.cue_label, q.cue),
            (schema.entity_control, schema.map_entity("PERSON") or "", q.speaker_entity),
        ]
        for control, label, part in parts:
            if part is None:
                continue
            region = labelled.get((control, label, part.start, part.end))
            if region is None:
                continue
            if score is not None and "score" not in region:
                region["score"] = score
            if control == schema.quote_control:
                region.setdefault("parentID", head["id"])
        if score is not None:
            head.setdefault("score", score)
        head.setdefault("meta", {"text": [describe_quote(text, q, score)]})
        if q.speaker is not None:
            speaker = (q.speaker.start, q.speaker.end)
            sp = labelled[(schema.quote_control, schema.speaker_label, *speaker)]
            named = q.speaker_entity
            said = f"Suggestion: speaker of {spoken[speaker]} quote(s)"
            refers = f"; refers to {_words(named.text)}" if named and named != q.speaker else ""
            sp.setdefault("meta", {"text": [said + refers + "."]})
    return results


def describe_quote(text: str, q: Quote, score: float | None) -> str:
    """The words a labeler reads for a suggested quote: kind, speaker, cue, certainty.

    Label Studio shows them as the region's meta note, written once at push: it cannot
    follow a labeler's later edits, so it says it is the suggestion (the arrows drawn for
    the selected quote, :mod:`curate.studio.linkview`, and the Relations tab show the
    links as they are now)."""
    who = _words(q.speaker.text) if q.speaker else "nobody found"
    if q.speaker and q.speaker_entity and q.speaker_entity != q.speaker:
        who += f" (= {_words(q.speaker_entity.text)})"
    cue = _words(q.cue.text) if q.cue else "none found"
    sure = f" Certainty {score:.2f}." if score is not None else ""
    parts = f" in {len(q.fragments)} parts" if q.discontinuous else ""
    return (
        f"Suggestion (edits do not update this note): {q.kind} quote{parts}. "
        f"Speaker: {who}. Cue: {cue}.{sure}"
    )


def _words(s: str, limit: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def prediction_score(results: Sequence[Mapping[str, Any]]) -> float | None:
    """A task's prediction score: the mean of its regions' scores (None without any), so
    Label Studio's Data Manager can sort tasks from the least sure suggestions up."""
    scores = [r["score"] for r in results if isinstance(r.get("score"), int | float)]
    return round(sum(scores) / len(scores), 4) if scores else None


@dataclass
class ConvertReport:
    """Problems met while reading Label Studio results: counts by kind plus messages.

    Count keys: ``bad_offsets`` (region dropped), ``utf16_offsets`` (repaired),
    ``text_mismatch`` (value.text differs from the task text but the offsets are valid;
    offsets win), ``no_label``, ``multi_label``, ``unknown_label``, ``unknown_control``,
    ``kind_missing``, ``bad_kind``, ``extra_speakers``, ``extra_cues``,
    ``extra_speaker_entities``, ``orphan_speaker``, ``orphan_cue``, ``dangling_relation``,
    ``relation_label_inferred``, ``unknown_relation``, ``fragment_kinds`` (the fragments of
    one quote disagree on its kind; the first is kept), ``overlapping_fragments`` (joined),
    ``dropped_with_quote`` (a speaker, cue or fragment of a deleted predicted quote).
    """

    counts: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)

    def add(self, kind: str, message: str | None = None) -> None:
        self.counts[kind] += 1
        if message is not None:
            self.messages.append(message)

    def merge(self, other: ConvertReport) -> None:
        self.counts.update(other.counts)
        self.messages.extend(other.messages)


@dataclass(frozen=True)
class Region:
    """One labelled region of a Label Studio result, its offsets checked against the text.

    ``origin`` is what Label Studio recorded (``prediction``, ``prediction-changed``,
    ``manual``; ``none`` when absent, as for results made through the API).
    """

    id: str
    control: str
    label: str
    start: int
    end: int
    origin: str = "none"


@dataclass
class Parsed:
    """One result list read into the data model: the Document and the regions behind it.

    ``quote_regions[i]`` are the ids of the regions of ``document.quotes[i]`` (content
    fragments, speaker, cue); ``dropped`` the regions left out of the document; ``kinds``
    the quote kind chosen on each region id.
    """

    document: Document
    regions: list[Region]
    quote_regions: list[tuple[Quote, frozenset[str]]] = field(default_factory=list)
    dropped: list[Region] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)

    def heads(self) -> dict[str, tuple[Quote, frozenset[str]]]:
        """Each quote by the id of its first content fragment (its head region)."""
        out: dict[str, tuple[Quote, frozenset[str]]] = {}
        by_id = {r.id: r for r in self.regions}
        for q, ids in self.quote_regions:
            first = q.fragments[0]
            head = next(
                (
                    i
                    for i in sorted(ids)
                    if i in by_id and (by_id[i].start, by_id[i].end) == (first.start, first.end)
                ),
                None,
            )
            if head is not None:
                out[head] = (q, ids)
        return out


def results_to_document(
    text: str, results: Sequence[Mapping[str, Any]], schema: LabelSchema, **options: Any
) -> Document:
    """The Document of :func:`parse_results` (same arguments; see there for the rules)."""
    return parse_results(text, results, schema, **options).document


def parse_results(
    text: str,
    results: Sequence[Mapping[str, Any]],
    schema: LabelSchema,
    *,
    id: str,
    meta: Mapping[str, Any] | None = None,
    provenance: Provenance | None = None,
    report: ConvertReport | None = None,
    where: str | None = None,
    prediction: Parsed | None = None,
) -> Parsed:
    """Read a Label Studio result list on the task text ``text`` into the data model.

    Every region's offsets are checked against ``text`` (``value.text`` is only a
    witness); problems are counted in ``report`` and the region is dropped rather than
    guessed. QUOTE regions joined by ``continues`` relations are the fragments of one
    quote; relations become ``Quote.speaker``, ``Quote.cue`` and ``speaker_entity``; the
    per-region ``kind`` choice becomes ``Quote.kind``. ``prediction`` is the parsed
    prediction the annotation started from: regions that belonged to a predicted quote
    the annotator deleted (its speaker, cue, other fragments) are dropped with it and
    counted as ``dropped_with_quote``. ``where`` names the record in messages (default
    ``task '<id>'``). This is the one reader of Label Studio results: the gold and the
    correction report both use it.
    """
    report = report if report is not None else ConvertReport()
    where = where or f"task {id!r}"
    utf16: list[_Utf16Index] = []  # built on the first mismatch only: most never need it
    regions: dict[str, list[Region]] = {}
    kinds: dict[str, str] = {}
    relations: list[Mapping[str, Any]] = []

    for r in results:
        rtype = r.get("type")
        if rtype == "relation":
            relations.append(r)
            continue
        value = r.get("value") or {}
        control = r.get("from_name")
        if rtype == "choices" and control == schema.kind_control:
            choices = value.get("choices") or []
            if r.get("id") is not None and choices:
                kinds[str(r["id"])] = str(choices[0])
            continue
        if rtype != "labels" or control not in (schema.entity_control, schema.quote_control):
            report.add("unknown_control", f"{where}: ignored a {rtype!r} result on {control!r}")
            continue
        span = _resolve_span(text, value, utf16, where, report)
        if span is None:
            continue
        labels = [str(x) for x in value.get("labels") or ()]
        if not labels:
            report.add("no_label", f"{where}: region {span[0]}:{span[1]} has no label; dropped")
            continue
        if len(labels) > 1:
            report.add("multi_label", f"{where}: region {span[0]}:{span[1]} has labels {labels}")
        rid = str(r.get("id") or f"_{len(regions)}")
        origin = str(r.get("origin") or "none")
        for label in labels:
            known = (
                schema.entity_labels if control == schema.entity_control else schema.quote_labels
            )
            if label not in known:
                report.add("unknown_label", f"{where}: label {label!r} is not in {control!r}; kept")
            regions.setdefault(rid, []).append(Region(rid, str(control), label, *span, origin))

    def is_quote(reg: Region) -> bool:
        return reg.control == schema.quote_control and reg.label == schema.quote_label

    def is_part(reg: Region, label: str) -> bool:
        return reg.control == schema.quote_control and reg.label == label

    def is_entity(reg: Region) -> bool:
        return reg.control == schema.entity_control

    def first(rid: str, pred: Any) -> Region | None:
        return next((g for g in regions.get(rid, ()) if pred(g)), None)

    # Links are read in either direction and an unlabelled relation is named by what it
    # joins: people draw arrows both ways and forget to pick the relation label.
    speakers: dict[str, list[Region]] = {}
    cues: dict[str, list[Region]] = {}
    refers: dict[tuple[int, int], list[Region]] = {}
    group = _UnionFind()
    for rel in relations:
        a, b = str(rel.get("from_id")), str(rel.get("to_id"))
        if a not in regions or b not in regions:
            report.add("dangling_relation", f"{where}: relation {a}->{b} names a missing region")
            continue
        rel_labels = [str(x) for x in rel.get("labels") or ()]
        linked = False
        if (
            first(a, is_quote)
            and first(b, is_quote)
            and _labelled(rel_labels, schema.fragment_relation, report)
        ):
            group.union(a, b)
            continue
        for x, y in ((a, b), (b, a)):
            q = first(x, is_quote)
            sp = first(y, lambda g: is_part(g, schema.speaker_label))
            cu = first(y, lambda g: is_part(g, schema.cue_label))
            ent = first(y, is_entity)
            spk = first(x, lambda g: is_part(g, schema.speaker_label))
            if q and sp and _labelled(rel_labels, schema.speaker_relation, report):
                speakers.setdefault(x, []).append(sp)
                linked = True
            elif q and cu and _labelled(rel_labels, schema.cue_relation, report):
                cues.setdefault(x, []).append(cu)
                linked = True
            elif spk and ent and _labelled(rel_labels, schema.entity_relation, report):
                refers.setdefault((spk.start, spk.end), []).append(ent)
                linked = True
            if linked:
                break
        if not linked:
            report.add(
                "unknown_relation", f"{where}: relation {a}->{b} {rel_labels} links no quote part"
            )

    all_regions = [reg for regs in regions.values() for reg in regs]
    entities = [Entity.of(text, g.start, g.end, g.label) for g in all_regions if is_entity(g)]
    groups: dict[str, list[Region]] = {}
    for reg in all_regions:
        if is_quote(reg):
            groups.setdefault(group.find(reg.id), []).append(reg)
    deleted = _deleted_quotes(prediction, regions, is_quote)
    quotes: list[tuple[Quote, frozenset[str]]] = []
    dropped: list[Region] = []
    linked_parts: set[tuple[str, int, int]] = set()
    for members in groups.values():
        members.sort(key=lambda g: (g.start, g.end))
        ids = [g.id for g in members]
        head = members[0]
        member_kinds = [kinds[i] for i in dict.fromkeys(ids) if i in kinds]
        sp_regs = [g for i in ids for g in speakers.get(i, ())]
        cu_regs = [g for i in ids for g in cues.get(i, ())]
        if not (sp_regs or cu_regs) and all(_owner(g, deleted) is not None for g in members):
            for g in members:
                owner = _owner(g, deleted)
                report.add(
                    "dropped_with_quote",
                    f"{where}: QUOTE fragment {g.start}:{g.end} belonged to the quote "
                    f"{owner} that was deleted; dropped with it",
                )
                dropped.append(g)
            continue
        if not member_kinds:
            report.add("kind_missing", f"{where}: quote {head.start}:{head.end} has no kind")
            kind = "direct"
        else:
            kind = member_kinds[0]
            if len(set(member_kinds)) > 1:
                # The labeler set the kind on one fragment: the kind that differs from
                # the prediction's is the edit.
                predicted = {prediction.kinds.get(i) for i in ids} if prediction else set()
                kind = next((k for k in member_kinds if k not in predicted), kind)
                report.add(
                    "fragment_kinds",
                    f"{where}: the fragments of quote {head.start}:{head.end} have kinds "
                    f"{sorted(set(member_kinds))}; kept {kind!r}",
                )
            if kind not in QUOTE_KINDS:
                report.add("bad_kind", f"{where}: quote {head.start}:{head.end} kind {kind!r}")
                kind = "direct"
        sp = _pick(sp_regs, "extra_speakers", where, head, report)
        cu = _pick(cu_regs, "extra_cues", where, head, report)
        se = None
        if sp is not None:
            linked_parts.add((schema.speaker_label, sp.start, sp.end))
            se = _pick(
                refers.get((sp.start, sp.end), ()), "extra_speaker_entities", where, head, report
            )
        if cu is not None:
            linked_parts.add((schema.cue_label, cu.start, cu.end))
        offsets = [(g.start, g.end) for g in members]
        quote = Quote.of_fragments(
            text,
            offsets,
            kind,
            speaker=_span(text, sp),
            cue=_span(text, cu),
            speaker_entity=_span(text, se),
        )
        if len(quote.fragments) < len(set(offsets)):
            report.add(
                "overlapping_fragments",
                f"{where}: quote {quote.start}:{quote.end} has overlapping fragments; joined",
            )
        part_ids = {g.id for g in (sp, cu) if g is not None}
        quotes.append((quote, frozenset(ids) | part_ids))
    for reg in all_regions:
        for label, kind in (
            (schema.speaker_label, "orphan_speaker"),
            (schema.cue_label, "orphan_cue"),
        ):
            if not is_part(reg, label) or (label, reg.start, reg.end) in linked_parts:
                continue
            dropped.append(reg)
            owner = _owner(reg, deleted)
            if owner is not None:
                report.add(
                    "dropped_with_quote",
                    f"{where}: {label} {reg.start}:{reg.end} belonged to the quote {owner} "
                    "that was deleted; dropped with it",
                )
            else:
                report.add(
                    kind, f"{where}: {label} {reg.start}:{reg.end} is linked to no quote; dropped"
                )
    doc = Document(
        id=id,
        text=text,
        entities=tuple(entities),
        quotes=tuple(q for q, _ in quotes),
        meta=dict(meta or {}),
        provenance=provenance,
    )
    return Parsed(doc, all_regions, quotes, dropped, kinds)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _deleted_quotes(
    prediction: Parsed | None, regions: Mapping[str, list[Region]], is_quote: Any
) -> dict[tuple[str, int, int] | str, str]:
    """Regions of predicted quotes whose head the annotation no longer has.

    Keys are region ids and ``(label, start, end)`` (API-made annotations get new ids);
    values name the deleted quote (``12:40 '“It is…'``).
    """
    if prediction is None:
        return {}
    kept_spans = {(g.start, g.end) for regs in regions.values() for g in regs if is_quote(g)}
    by_id = {r.id: r for r in prediction.regions}
    out: dict[tuple[str, int, int] | str, str] = {}
    for head, (quote, ids) in prediction.heads().items():
        h = by_id[head]
        if head in regions or (h.start, h.end) in kept_spans:
            continue
        name = f"{quote.start}:{quote.end} {_short(' … '.join(f.text for f in quote.fragments))!r}"
        for i in ids:
            out[i] = name
            g = by_id.get(i)
            if g is not None:
                out[(g.label, g.start, g.end)] = name
    return out


def _owner(reg: Region, deleted: Mapping[Any, str]) -> str | None:
    return deleted.get(reg.id) or deleted.get((reg.label, reg.start, reg.end))


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _labelled(labels: list[str], wanted: str, report: ConvertReport) -> bool:
    if not labels:
        report.add("relation_label_inferred")
        return True
    return wanted in labels


def _pick(
    regs: Iterable[Region], count: str, where: str, quote: Region, report: ConvertReport
) -> Region | None:
    uniq = sorted({(g.start, g.end): g for g in regs}.values(), key=lambda g: (g.start, g.end))
    if len(uniq) > 1:
        report.add(
            count,
            f"{where}: quote {quote.start}:{quote.end} has {len(uniq)} links of one kind; "
            "kept the first",
        )
    return uniq[0] if uniq else None


def _span(text: str, reg: Region | None) -> Span | None:
    return Span.of(text, reg.start, reg.end) if reg is not None else None


def _kind_choice(rid: str, schema: LabelSchema, frag: Span, kind: str) -> dict[str, Any]:
    return {
        "id": rid,
        "from_name": schema.kind_control,
        "to_name": schema.text_control,
        "type": "choices",
        "value": {"start": frag.start, "end": frag.end, "text": frag.text, "choices": [kind]},
    }


def _label_region(
    rid: str, control: str, to_name: str, label: str, text: str, start: int, end: int
) -> dict[str, Any]:
    return {
        "id": rid,
        "from_name": control,
        "to_name": to_name,
        "type": "labels",
        "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]},
    }


def _relation(from_id: str, to_id: str, label: str) -> dict[str, Any]:
    return {
        "type": "relation",
        "from_id": from_id,
        "to_id": to_id,
        "direction": "right",
        "labels": [label],
    }


class _Utf16Index:
    """Maps UTF-16 code-unit offsets (what a JavaScript string counts) to code points."""

    def __init__(self, text: str) -> None:
        # The k-th character outside the BMP (0-based) at code point p takes the UTF-16
        # units p + k and p + k + 1.
        self.units = [p + k for k, p in enumerate(i for i, ch in enumerate(text) if ch > "\uffff")]

    @property
    def needed(self) -> bool:
        return bool(self.units)

    def to_codepoint(self, unit: int) -> int | None:
        """Code-point offset for a UTF-16 offset; None if it splits a surrogate pair."""
        k = bisect.bisect_left(self.units, unit - 1)
        if k < len(self.units) and self.units[k] == unit - 1:
            return None
        # Every pair that starts before `unit` ends before it too: one unit too many each.
        return unit - bisect.bisect_left(self.units, unit)


def utf16_to_codepoint(text: str, unit: int) -> int | None:
    """The code-point offset of UTF-16 offset ``unit`` in ``text`` (None inside a pair)."""
    return _Utf16Index(text).to_codepoint(unit)


def codepoint_to_utf16(text: str, offset: int) -> int:
    """The UTF-16 code-unit offset of code-point offset ``offset`` in ``text``."""
    return offset + sum(1 for ch in text[:offset] if ord(ch) > 0xFFFF)


def _resolve_span(
    text: str,
    value: Mapping[str, Any],
    utf16: list[_Utf16Index],
    where: str,
    report: ConvertReport,
) -> tuple[int, int] | None:
    start, end, stored = value.get("start"), value.get("end"), value.get("text")
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool):
        report.add("bad_offsets", f"{where}: region offsets {start!r}:{end!r} are not integers")
        return None
    in_range = 0 <= start < end <= len(text)
    if in_range and (stored is None or text[start:end] == stored):
        return start, end
    if stored is not None and not utf16:
        utf16.append(_Utf16Index(text))
    if stored is not None and utf16[0].needed:
        s, e = utf16[0].to_codepoint(start), utf16[0].to_codepoint(end)
        if s is not None and e is not None and 0 <= s < e <= len(text) and text[s:e] == stored:
            report.add("utf16_offsets")
            return s, e
    if in_range and stored is not None and _same_but_newlines(text[start:end], str(stored)):
        # The browser's selection text reads CR as a line break; the offsets are right.
        report.add("text_mismatch")
        return start, end
    report.add(
        "bad_offsets",
        f"{where}: region {start}:{end} stores {stored!r} but the task text there is "
        f"{text[start:end]!r} (length {len(text)}); dropped - fix it in Label Studio",
    )
    return None


def _same_but_newlines(a: str, b: str) -> bool:
    # LS 1.23 in Chromium stores a selection over "\r\n" as the six characters
    # `\\n\\n` (escaped, each CR read as a line break); other tools fold "\r\n" to "\n".
    # Only line breaks (and their escapes) may differ.
    b = b.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")
    return a.replace("\r", "\n") == b.replace("\r", "\n") or a.replace("\r\n", "\n").replace(
        "\r", "\n"
    ) == b.replace("\r\n", "\n").replace("\r", "\n")

"""Label Studio JSON converters, gold selection and the correction report (no server)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from curate.model import Annotation, Document, Entity, Quote, Span
from curate.schema import load_schema
from curate.studio.convert import (
    INSTRUCTIONS,
    ConvertReport,
    codepoint_to_utf16,
    document_to_results,
    document_to_task,
    parse_results,
    results_to_document,
    utf16_to_codepoint,
)
from curate.studio.corrections import CorrectionReport
from curate.studio.gold import (
    CONFLICT,
    GROUND_TRUTH,
    MERGED,
    SINGLE,
    UNANNOTATED,
    Candidate,
    select_gold,
)

SCHEMA = load_schema()
TEXT = "“We have nothing 😀 to tell you,” he said.\r\nDmitry Peskov\tspoke  e\u0301\rend."


def _doc() -> Document:
    he = TEXT.index("he said")
    pk = TEXT.index("Dmitry Peskov")
    q_end = TEXT.index(" he said")
    return Document(
        "a1",
        TEXT,
        entities=(Entity.of(TEXT, pk, pk + 13, "PERSON"),),
        quotes=(
            Quote(
                0,
                q_end,
                TEXT[:q_end],
                "direct",
                speaker=Span.of(TEXT, he, he + 2),
                cue=Span.of(TEXT, he + 3, he + 7),
                speaker_entity=Span.of(TEXT, pk, pk + 13),
            ),
        ),
        meta={"title": "Kremlin", "source": "Reuters", "date": "2024-01-02"},
    )


def _back(results, text=TEXT, report=None):
    return results_to_document(
        text, json.loads(json.dumps(results)), SCHEMA, id="a1", report=report
    )


# --- documents -> Label Studio --------------------------------------------------------


def test_task_carries_text_title_byline_and_curate_ids():
    doc = _doc()
    data = document_to_task(doc, SCHEMA)["data"]
    assert data["text"] == TEXT
    assert data["title"] == "Kremlin"
    assert data["byline"] == "Reuters · 2024-01-02"
    assert data["instructions"] == INSTRUCTIONS
    assert (data["curate_id"], data["curate_hash"]) == ("a1", doc.hash)
    assert data["meta"]["source"] == "Reuters"
    # Without a title: the article's first sentence, never the id (tests/test_label_view.py).
    assert document_to_task(Document("x", "Talks resumed. More."), SCHEMA)["data"]["title"] == (
        "Talks resumed."
    )


def test_results_have_regions_kind_and_relations_with_deterministic_ids():
    results = document_to_results(_doc(), SCHEMA)
    assert results == document_to_results(_doc(), SCHEMA)
    by = {(r.get("id"), r["type"]): r for r in results if r["type"] != "relation"}
    assert by[("e0", "labels")]["value"]["labels"] == ["PERSON"]
    assert by[("e0", "labels")]["from_name"] == "entity"
    assert by[("q0", "labels")]["value"]["labels"] == ["QUOTE"]
    assert by[("q0", "choices")]["value"]["choices"] == ["direct"]
    assert by[("q0", "choices")]["from_name"] == "kind"
    assert by[("q0s", "labels")]["value"]["text"] == "he"
    assert by[("q0c", "labels")]["value"]["text"] == "said"
    rels = {(r["from_id"], r["to_id"], r["labels"][0]) for r in results if r["type"] == "relation"}
    assert rels == {("q0", "q0s", "speaker"), ("q0", "q0c", "cue"), ("q0s", "e0", "refers_to")}
    # Offsets are code points: the emoji before "he" counts once.
    assert by[("q0s", "labels")]["value"]["start"] == TEXT.index("he said")


def test_round_trip_of_a_hand_made_document():
    doc = _doc()
    report = ConvertReport()
    back = _back(document_to_results(doc, SCHEMA), report=report)
    assert back == doc.with_(meta={})
    assert not report.counts


def test_speaker_entity_outside_the_entities_becomes_a_person_region():
    doc = _doc().with_(entities=())
    results = document_to_results(doc, SCHEMA)
    ents = [r for r in results if r.get("from_name") == "entity"]
    assert [e["value"]["labels"] for e in ents] == [["PERSON"]]
    back = _back(results)
    assert back.quotes[0].speaker_entity == doc.quotes[0].speaker_entity


# --- Label Studio -> documents: offsets are checked, never trusted --------------------


def _region(rid, start, end, label, control="entity", text=None):
    return {
        "id": rid,
        "from_name": control,
        "to_name": "text",
        "type": "labels",
        "value": {
            "start": start,
            "end": end,
            "labels": [label],
            **({"text": text} if text is not None else {}),
        },
    }


def test_region_whose_text_disagrees_is_dropped_and_reported():
    report = ConvertReport()
    doc = _back([_region("a", 0, 3, "PERSON", text="xyz")], report=report)
    assert doc.entities == ()
    assert report.counts["bad_offsets"] == 1
    assert "task 'a1'" in report.messages[0] and "0:3" in report.messages[0]


@pytest.mark.parametrize("start, end", [(-1, 3), (5, 5), (0, 10_000), ("0", 3), (None, 2)])
def test_region_outside_the_text_is_dropped(start, end):
    report = ConvertReport()
    assert _back([_region("a", start, end, "PERSON")], report=report).entities == ()
    assert report.counts["bad_offsets"] == 1


def test_utf16_offsets_are_detected_and_repaired():
    pk = TEXT.index("Dmitry")
    u = codepoint_to_utf16(TEXT, pk)
    assert u == pk + 1  # one emoji before it
    report = ConvertReport()
    doc = _back([_region("a", u, u + 6, "PERSON", text="Dmitry")], report=report)
    assert [(e.start, e.end, e.text) for e in doc.entities] == [(pk, pk + 6, "Dmitry")]
    assert report.counts["utf16_offsets"] == 1


def test_utf16_offset_inside_a_surrogate_pair_maps_to_none():
    emoji = TEXT.index("😀")
    assert utf16_to_codepoint(TEXT, emoji) == emoji
    assert utf16_to_codepoint(TEXT, emoji + 1) is None
    assert utf16_to_codepoint(TEXT, emoji + 2) == emoji + 1


def test_browser_text_over_crlf_is_accepted_on_valid_offsets():
    # Label Studio 1.23 in Chromium stores a selection over "\r\n" as backslash-n twice.
    s = TEXT.index("said")
    e = TEXT.index("Peskov")
    stored = TEXT[s:e].replace("\r\n", "\\n\\n")
    report = ConvertReport()
    doc = _back([_region("a", s, e, "PERSON", text=stored)], report=report)
    assert doc.entities[0].text == TEXT[s:e]
    assert report.counts == {"text_mismatch": 1}


def test_relations_either_direction_or_unlabelled_link_quote_parts():
    doc = _doc()
    results = document_to_results(doc, SCHEMA)
    for r in results:
        if r["type"] == "relation":
            r["from_id"], r["to_id"] = r["to_id"], r["from_id"]
            r["direction"] = "left"
            r["labels"] = []
    report = ConvertReport()
    assert _back(results, report=report) == doc.with_(meta={})
    assert report.counts["relation_label_inferred"] == 3


def test_missing_kind_orphan_parts_and_dangling_relations_are_counted():
    he = TEXT.index("he said")
    results = [
        _region("q", 0, 5, "QUOTE", "quote"),
        _region("s", he, he + 2, "SPEAKER", "quote"),
        _region("c", he + 3, he + 7, "CUE", "quote"),
        {"type": "relation", "from_id": "q", "to_id": "nope", "labels": ["speaker"]},
        {"type": "textarea", "from_name": "notes", "value": {"text": ["x"]}},
        _region("n", 0, 2, "", "entity") | {"value": {"start": 0, "end": 2, "labels": []}},
    ]
    report = ConvertReport()
    doc = _back(results, report=report)
    assert [(q.start, q.end, q.kind, q.speaker) for q in doc.quotes] == [(0, 5, "direct", None)]
    assert report.counts == {
        "kind_missing": 1,
        "orphan_speaker": 1,
        "orphan_cue": 1,
        "dangling_relation": 1,
        "unknown_control": 1,
        "no_label": 1,
    }


def test_kind_comes_from_the_per_region_choice():
    results = [
        _region("q", 0, 5, "QUOTE", "quote"),
        {
            "id": "q",
            "from_name": "kind",
            "to_name": "text",
            "type": "choices",
            "value": {"start": 0, "end": 5, "choices": ["indirect"]},
        },
    ]
    assert _back(results).quotes[0].kind == "indirect"


# --- property: text and valid spans survive to-LS-and-back unchanged ------------------

PIECES = [
    "a",
    "Zed",
    " ",
    "  ",
    "\t",
    "\r\n",
    "\r",
    "\n",
    "😀",
    "👍🏽",
    "e\u0301",
    "é",
    "“",
    "中文",
]


@st.composite
def documents(draw):
    text = "".join(draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=25)))
    n = len(text)

    def span():
        s = draw(st.integers(0, n - 1))
        e = draw(st.integers(s + 1, n))
        return s, e

    entities = []
    for _ in range(draw(st.integers(0, 4))):
        s, e = span()
        entities.append(Entity.of(text, s, e, draw(st.sampled_from(SCHEMA.entity_labels))))
    quotes = []
    used: set[tuple[int, int]] = set()
    refers: dict[tuple[int, int], Span | None] = {}
    for _ in range(draw(st.integers(0, 3))):
        # One to three content fragments with text between them (one region each).
        cuts = sorted(set(draw(st.lists(st.integers(0, n), min_size=2, max_size=6))))
        frags = list(zip(cuts[::2], cuts[1::2], strict=False))
        if not frags or any(f in used for f in frags):
            continue
        used.update(frags)
        speaker = Span.of(text, *span()) if draw(st.booleans()) else None
        cue = Span.of(text, *span()) if draw(st.booleans()) else None
        se = None
        if speaker is not None and entities and draw(st.booleans()):
            ent = draw(st.sampled_from(entities))
            se = Span(ent.start, ent.end, ent.text)
        if speaker is not None:
            # One speaker mention refers to one entity in Label Studio's relation graph.
            se = refers.setdefault((speaker.start, speaker.end), se)
        kind = draw(st.sampled_from(["direct", "indirect", "mixed"]))
        quotes.append(Quote.of_fragments(text, frags, kind, speaker, cue, se))
    return Document("p", text, entities=tuple(entities), quotes=tuple(quotes))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_property_documents_survive_the_round_trip(doc):
    results = json.loads(json.dumps(document_to_results(doc, SCHEMA), ensure_ascii=False))
    report = ConvertReport()
    back = results_to_document(doc.text, results, SCHEMA, id=doc.id, report=report)
    assert set(back.entities) == set(doc.entities)
    assert back.quotes == doc.quotes
    assert not report.counts
    task = json.loads(json.dumps(document_to_task(doc, SCHEMA)))
    assert task["data"]["text"] == doc.text


@settings(max_examples=200, deadline=None)
@given(documents())
def test_property_utf16_offsets_are_repaired_exactly(doc):
    text = doc.text
    assume(any(ord(c) > 0xFFFF for c in text) and doc.entities)
    results = document_to_results(doc, SCHEMA)
    for r in results:
        v = r.get("value")
        if v is not None and "start" in v:
            s, e = codepoint_to_utf16(text, v["start"]), codepoint_to_utf16(text, v["end"])
            # Skip the rare case where the UTF-16 numbers also name the same text.
            assume(not (0 <= s < e <= len(text) and text[s:e] == v["text"]) or s == v["start"])
            v["start"], v["end"] = s, e
    back = results_to_document(text, results, SCHEMA, id=doc.id)
    assert set(back.entities) == set(doc.entities)
    assert back.quotes == doc.quotes


@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), st.data())
def test_property_utf16_mapping_inverts(text, data):
    cp = data.draw(st.integers(0, len(text)))
    assert utf16_to_codepoint(text, codepoint_to_utf16(text, cp)) == cp
    assert codepoint_to_utf16(text, cp) == len(text[:cp].encode("utf-16-le")) // 2


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_property_documents_with_fragments_survive_jsonl_and_hf_rows(doc):
    from curate.gold.features import build_features
    from curate.gold.rows import document_to_row, row_to_document

    assert Document.from_dict(json.loads(json.dumps(doc.to_dict()))) == doc
    features = build_features(SCHEMA)
    row = features.encode_example(document_to_row(doc, SCHEMA))
    assert row_to_document(row, features) == doc


# --- discontinuous content: one quote, several QUOTE regions ---------------------------

FTEXT = "“It’s horrifying,” Tapper 😀 said, “and I’m sure it will have an impact.” Next."


def _fdoc() -> Document:
    a, b = FTEXT.index("“It"), FTEXT.index("”") + 1
    c, d = FTEXT.index("“and"), FTEXT.index("impact.”") + len("impact.”")
    who = FTEXT.index("Tapper")
    said = FTEXT.index("said")
    quote = Quote.of_fragments(
        FTEXT,
        [(a, b), (c, d)],
        "direct",
        speaker=Span.of(FTEXT, who, who + 6),
        cue=Span.of(FTEXT, said, said + 4),
    )
    return Document("a1", FTEXT, quotes=(quote,))


def test_fragments_are_quote_regions_joined_by_continues():
    doc = _fdoc()
    (q,) = doc.quotes
    assert [f.text for f in q.fragments] == [
        "“It’s horrifying,”",
        "“and I’m sure it will have an impact.”",
    ]
    results = document_to_results(doc, SCHEMA)
    quotes = [r for r in results if r.get("value", {}).get("labels") == ["QUOTE"]]
    assert [(r["id"], r["value"]["text"]) for r in quotes] == [
        ("q0", "“It’s horrifying,”"),
        ("q0f1", "“and I’m sure it will have an impact.”"),
    ]
    # Each fragment shows the quote's kind when selected.
    assert [(r["id"], r["value"]["choices"]) for r in results if r["type"] == "choices"] == [
        ("q0", ["direct"]),
        ("q0f1", ["direct"]),
    ]
    rels = {(r["from_id"], r["to_id"], r["labels"][0]) for r in results if r["type"] == "relation"}
    assert rels == {("q0", "q0f1", "continues"), ("q0", "q0s", "speaker"), ("q0", "q0c", "cue")}
    report = ConvertReport()
    back = _back(results, FTEXT, report)
    assert back == doc and back.quotes[0].offsets == q.offsets
    assert not report.counts


def test_fragments_link_either_way_and_speaker_may_hang_on_any_fragment():
    results = document_to_results(_fdoc(), SCHEMA)
    for r in results:
        if r["type"] == "relation":
            if r["labels"] == ["continues"]:
                r["from_id"], r["to_id"], r["labels"] = r["to_id"], r["from_id"], []
            else:
                r["from_id"] = "q0f1"  # the labeler drew it from the second fragment
    report = ConvertReport()
    assert _back(results, FTEXT, report) == _fdoc()
    assert report.counts == {"relation_label_inferred": 1}


def test_a_fragment_without_its_quote_is_reported_never_merged():
    results = document_to_results(_fdoc(), SCHEMA)
    other = FTEXT.index("Next")
    results.append(_region("z", other, other + 4, "QUOTE", "quote"))
    # The labeler deleted the first fragment: Label Studio drops its kind and relations.
    left = [
        r for r in results if r.get("id") != "q0" and "q0" not in (r.get("from_id"), r.get("to_id"))
    ]
    report = ConvertReport()
    doc = _back(left, FTEXT, report)
    # No prediction to tell what it was: each region stands alone and is reported.
    assert sorted(q.text for q in doc.quotes) == ["Next", "“and I’m sure it will have an impact.”"]
    assert report.counts["kind_missing"] == 1  # "Next"; the fragment still shows its kind
    assert report.counts["orphan_speaker"] == report.counts["orphan_cue"] == 1


def test_deleting_a_quote_drops_its_parts_and_counts_one_quote_deleted():
    pred = document_to_results(_fdoc(), SCHEMA)
    left = [
        r for r in pred if r.get("id") != "q0" and "q0" not in (r.get("from_id"), r.get("to_id"))
    ]
    report = ConvertReport()
    parsed = _parse(left, FTEXT, _parse(pred, FTEXT), report)
    assert parsed.document.quotes == ()
    assert report.counts == {"dropped_with_quote": 3}  # the other fragment, speaker, cue
    assert any("belonged to the quote" in m and "Tapper" not in m for m in report.messages)
    corrections = _corrections(left, pred, "m1", FTEXT)
    rows = {r["label"]: r for r in corrections.rows()}
    assert {label: rows[label]["deleted"] for label in ("QUOTE", "SPEAKER", "CUE")} == {
        "QUOTE": 1,
        "SPEAKER": 1,
        "CUE": 1,
    }
    assert not any(r["kept"] for r in rows.values())  # no orphan counted as kept
    assert corrections.quotes["m1"] == {"deleted": 1, "deleted_with_parts": 1}


def test_deleting_a_one_fragment_quote_drops_its_speaker_and_cue():
    pred = document_to_results(_doc(), SCHEMA)
    left = [
        r for r in pred if r.get("id") != "q0" and "q0" not in (r.get("from_id"), r.get("to_id"))
    ]
    report = ConvertReport()
    parsed = _parse(left, TEXT, _parse(pred), report)
    assert parsed.document.quotes == () and len(parsed.document.entities) == 1
    assert report.counts == {"dropped_with_quote": 2}
    rows = {r["label"]: r for r in _corrections(left, pred, "m1").rows()}
    assert rows["CUE"] == {
        "model_version": "m1",
        "label": "CUE",
        "kept": 0,
        "changed": 0,
        "deleted": 1,
        "added": 0,
    }
    assert rows["SPEAKER"]["deleted"] == 1 and rows["PERSON"]["kept"] == 1


def test_editing_one_fragment_changes_the_quote_and_keeps_its_parts():
    pred = document_to_results(_fdoc(), SCHEMA)
    ann = json.loads(json.dumps(pred))
    frag = next(r for r in ann if r.get("id") == "q0f1")
    start = FTEXT.index("I’m")
    frag["value"].update(start=start, text=FTEXT[start : frag["value"]["end"]])
    doc = _back(ann, FTEXT)
    assert [f.text for f in doc.quotes[0].fragments][1] == "I’m sure it will have an impact.”"
    rows = {r["label"]: r for r in _corrections(ann, pred, "m1", FTEXT).rows()}
    assert rows["QUOTE"]["changed"] == 1
    assert rows["SPEAKER"]["kept"] == rows["CUE"]["kept"] == 1


def test_fragments_with_two_kinds_keep_the_edited_one_and_say_so():
    pred = document_to_results(_fdoc(), SCHEMA)
    ann = json.loads(json.dumps(pred))
    choice = next(r for r in ann if r["type"] == "choices" and r["id"] == "q0f1")
    choice["value"]["choices"] = ["mixed"]  # the labeler selected the second fragment
    report = ConvertReport()
    assert _back(ann, FTEXT, report).quotes[0].kind == "direct"  # no prediction: the first
    assert report.counts == {"fragment_kinds": 1}
    assert _parse(ann, FTEXT, _parse(pred, FTEXT)).document.quotes[0].kind == "mixed"


# --- gold selection policy ------------------------------------------------------------


def _cand(aid, doc, gt=False, who=None):
    return Candidate(aid, who or f"p{aid}@x", doc, ground_truth=gt, updated_at=f"2024-01-0{aid}")


A = _doc()
B = A.with_(entities=())  # disagrees with A
URL = "http://ls/projects/1/data?task=7"


@pytest.mark.parametrize(
    "cands, rule, gold_from",
    [
        ([], UNANNOTATED, None),
        ([_cand(1, A)], SINGLE, 1),
        ([_cand(1, A), _cand(2, A.with_(provenance=Annotation(("x",))))], MERGED, 1),
        ([_cand(1, A), _cand(2, B)], CONFLICT, None),
        ([_cand(1, A), _cand(2, B, gt=True)], GROUND_TRUTH, 2),
        ([_cand(1, A, gt=True), _cand(2, A, gt=True), _cand(3, B)], GROUND_TRUTH, 1),
        ([_cand(1, A, gt=True), _cand(2, B, gt=True)], CONFLICT, None),
    ],
)
def test_gold_policy(cands, rule, gold_from):
    sel = select_gold(cands, task_id=7, curate_id="a1", url=URL)
    assert sel.rule == rule
    if gold_from is None:
        assert sel.gold is None
    else:
        assert sel.gold is next(c.document for c in cands if c.annotation_id == gold_from)
    if rule == CONFLICT:
        c = sel.conflict.to_dict()
        assert c["url"] == URL and c["task_id"] == 7
        assert {a["id"] for a in c["annotations"]} == {1, 2}
        assert any("entity" in d and "only #1" in d for d in c["differences"])


# --- correction report ----------------------------------------------------------------


def _parse(results, text=TEXT, prediction=None, report=None):
    return parse_results(
        text,
        json.loads(json.dumps(results)),
        SCHEMA,
        id="a1",
        prediction=prediction,
        report=report,
    )


def _corrections(ann, pred, model, text=TEXT):
    report = CorrectionReport()
    parsed_pred = _parse(pred, text)
    report.add(_parse(ann, text, parsed_pred), parsed_pred, model, SCHEMA)
    return report


def test_correction_report_counts_kept_changed_deleted_added():
    pk = TEXT.index("Dmitry Peskov")
    pred_doc = Document(
        "a1",
        TEXT,
        entities=(
            Entity.of(TEXT, pk, pk + 13, "PERSON"),
            Entity.of(TEXT, 0, 3, "ORG"),  # deleted by the annotator
            Entity.of(TEXT, TEXT.index("tell"), TEXT.index("tell") + 4, "GPE"),  # relabelled
        ),
    )
    pred = document_to_results(pred_doc, SCHEMA)
    ann = [dict(r, origin="prediction") for r in pred if r["value"]["labels"] == ["PERSON"]]
    relabelled = next(r for r in pred if r["value"]["labels"] == ["GPE"])
    ann.append(
        dict(
            relabelled,
            value=dict(relabelled["value"], labels=["LOC"]),
            origin="prediction-changed",
        )
    )
    ann.append(
        _region("new", TEXT.index("spoke"), TEXT.index("spoke") + 5, "EVENT") | {"origin": "manual"}
    )
    report = _corrections(ann, pred, "curate.entities.v1")
    rows = {r["label"]: r for r in report.rows()}
    assert rows["PERSON"] == {
        "model_version": "curate.entities.v1",
        "label": "PERSON",
        "kept": 1,
        "changed": 0,
        "deleted": 0,
        "added": 0,
    }
    assert (rows["GPE"]["changed"], rows["ORG"]["deleted"], rows["EVENT"]["added"]) == (1, 1, 1)
    assert report.to_dict()["origins"]["LOC"] == {"prediction-changed": 1}
    assert report.to_dict()["origins"]["EVENT"] == {"manual": 1}


def test_correction_report_matches_api_made_regions_by_span_and_counts_relations():
    doc = _doc()
    pred = document_to_results(doc, SCHEMA)
    # The same annotation made through the API: new region ids, no origin fields.
    ids = {r["id"]: f"x{r['id']}" for r in pred if "id" in r}
    ann = []
    for r in pred:
        r = json.loads(json.dumps(r))
        if r["type"] == "relation":
            r["from_id"], r["to_id"] = ids[r["from_id"]], ids[r["to_id"]]
        else:
            r["id"] = ids[r["id"]]
        ann.append(r)
    ann = [r for r in ann if r.get("value", {}).get("labels") != ["CUE"]]  # cue deleted
    report = _corrections(ann, pred, "m1")
    rows = {r["label"]: r for r in report.rows()}
    assert rows["QUOTE"]["kept"] == 1 and rows["SPEAKER"]["kept"] == 1
    assert rows["CUE"]["deleted"] == 1
    assert rows["relation:refers_to"]["kept"] == 1
    assert report.quotes["m1"] == {"changed": 1}  # one quote, its cue gone
    assert report.origins["QUOTE"] == {"none": 1}


def test_kind_change_counts_as_changed():
    doc = _doc()
    pred = document_to_results(doc, SCHEMA)
    ann = json.loads(json.dumps(pred))
    next(r for r in ann if r["type"] == "choices")["value"]["choices"] = ["indirect"]
    report = CorrectionReport()
    report.add(_parse(ann), None, None, SCHEMA)
    assert {r["label"]: r["added"] for r in report.rows()}["QUOTE"] == 1  # no prediction
    report = _corrections(ann, pred, None)
    rows = {r["label"]: r for r in report.rows()}
    assert rows["QUOTE"]["changed"] == 1
    assert rows["QUOTE"]["model_version"] == "(no prediction)"


# --- pull's conversion of an export, offline ------------------------------------------


def test_bad_records_in_an_export_are_named_and_the_rest_go_through(tmp_path):
    from curate.studio.pull import PullResult, convert_tasks

    doc = _doc()
    good = document_to_results(doc, SCHEMA)
    bad = [_region("x", 0, 3, "PERSON", text="nope")]
    tasks = [
        {"id": 1, "data": {"title": "no text"}, "annotations": [{"id": 9, "result": good}]},
        {
            "id": 2,
            "data": document_to_task(doc, SCHEMA)["data"] | {"curate_hash": "0" * 16},
            "predictions": [{"id": 5, "model_version": "m1", "result": good}],
            "annotations": [
                {"id": 10, "result": good + bad, "completed_by": {"email": "a@x"}},
                {"id": 11, "result": [], "was_cancelled": True},
            ],
            "drafts": [{"id": 1, "result": []}],
        },
    ]
    result = PullResult(7, "t", 1, tmp_path, "http://ls")
    anns = convert_tasks(tasks, result, SCHEMA)
    assert (result.tasks, result.annotations, result.cancelled, result.drafts) == (2, 1, 1, 1)
    assert [d.id for d in result.gold] == ["a1"]
    assert result.gold[0].entities == doc.entities and result.gold[0].quotes == doc.quotes
    assert anns[0].provenance.annotator == "a@x" and anns[0].provenance.model_version == "m1"
    assert result.problems.counts == {"no_text": 1, "hash_mismatch": 1, "bad_offsets": 1}
    msgs = " | ".join(result.problems.messages)
    assert "task 1: has no data.text" in msgs
    assert "task 2 ('a1') annotation 10: region 0:3 stores 'nope'" in msgs
    assert result.corrections.rows()[0]["model_version"] == "m1"

"""The data model: validation, JSONL form, hashing."""

import pytest

from curate.errors import SpanError
from curate.model import (
    Adjudication,
    Annotation,
    Article,
    Document,
    Entity,
    Prediction,
    Quote,
    Span,
    content_hash,
)

TEXT = "“We have nothing to tell you,” he said. Dmitry Peskov 😀 spoke.\r\nTabs\there."


def test_document_round_trips_through_dict():
    peskov = TEXT.index("Dmitry Peskov")
    doc = Document(
        "a1",
        TEXT,
        entities=(Entity.of(TEXT, peskov, peskov + 13, "PERSON"),),
        quotes=(
            Quote.from_dict(
                {
                    "start": 0,
                    "end": 30,
                    "text": TEXT[0:30],
                    "kind": "direct",
                    "speaker": {"start": 31, "end": 33, "text": "he"},
                    "cue": {"start": 34, "end": 38, "text": "said"},
                    "speaker_entity": {
                        "start": peskov,
                        "end": peskov + 13,
                        "text": "Dmitry Peskov",
                    },
                }
            ),
        ),
        meta={"title": "t"},
        provenance=Prediction("x"),
    )
    again = Document.from_dict(doc.to_dict())
    assert again == doc
    assert again.quotes[0].speaker_entity.text == "Dmitry Peskov"
    assert again.to_dict()["quotes"][0]["cue"] == {"start": 34, "end": 38, "text": "said"}


@pytest.mark.parametrize(
    "span, message",
    [
        (Entity(0, 99, "PERSON", "x"), "outside the text"),
        (Entity(5, 5, "PERSON", ""), "empty"),
        (Entity(0, 3, "PERSON", "abc"), "stores 'abc'"),
        (Entity(0, 3, "", TEXT[0:3]), "no label"),
    ],
)
def test_bad_entity_spans_are_refused_with_the_article_named(span, message):
    with pytest.raises(SpanError, match=message) as e:
        Document("art-7", TEXT, entities=(span,))
    assert "art-7" in str(e.value)


def test_bad_quote_parts_are_refused():
    bad_cue = Quote(0, 30, TEXT[0:30], "direct", cue=Span(34, 38, "told"))
    with pytest.raises(SpanError, match="cue of quote 0:30"):
        Document("a", TEXT, quotes=(bad_cue,))
    with pytest.raises(SpanError, match="kind 'odd'"):
        Document("a", TEXT, quotes=(Quote(0, 30, TEXT[0:30], "odd"),))


def test_offsets_are_code_points_outside_the_bmp():
    i = TEXT.index("spoke")
    doc = Document("a", TEXT, entities=(Entity.of(TEXT, i, i + 5, "PERSON"),))
    assert doc.entities[0].text == "spoke"
    assert TEXT[i - 2] == "😀"


def test_spans_are_sorted_and_hash_is_stable():
    a = Entity.of(TEXT, 40, 46, "PERSON")
    b = Entity.of(TEXT, 0, 3, "ORG")
    doc = Document("a", TEXT, entities=(a, b))
    assert [e.start for e in doc.entities] == [0, 40]
    assert doc.hash == content_hash(TEXT) == Article("b", TEXT).hash
    assert content_hash(TEXT + " ") != doc.hash
    assert len(doc.hash) == 16


def test_empty_id_is_refused():
    with pytest.raises(SpanError, match="empty id"):
        Document("", TEXT)


def test_prediction_and_annotation_round_trip_and_stay_apart():
    pred = Prediction("m-1+curate.quotes.v6", ("curate.quotes.v6",), "m-1", 0.25)
    ann = Annotation(
        annotators=("a@x.org", "b@x.org"),
        annotation_ids=(11, 12),
        task_id=3,
        project_id=7,
        project_title="News",
        snapshot="42",
        created_at="2026-01-01T10:00:00Z",
        ground_truth=True,
        selection="merged",
        model_version="m-1",
        adjudication=Adjudication("lead@x.org", "t3", 90, 91, (11, 12)),
        extra={"brat": "a.ann"},
    )
    for prov in (pred, ann):
        doc = Document("a1", TEXT, provenance=prov)
        assert Document.from_dict(doc.to_dict()) == doc
    assert Document.from_dict({"id": "a", "text": "t", "source": {}}).provenance is None


@pytest.mark.parametrize(
    "source, expected",
    [
        # What `curate preannotate` wrote before the dropped-label counts left provenance.
        (
            {"model_version": "m+curate.entities.v1", "dropped_entities": {"DATE": 2}},
            Prediction("m+curate.entities.v1"),
        ),
        # One annotation as `curate pull` wrote it.
        (
            {"project_id": 7, "snapshot_id": 42, "task_id": 3, "annotation_id": 9,
             "annotator": "a@x.org", "created_at": "t1", "updated_at": "t2",
             "ground_truth": False, "lead_time": 1.5, "model_version": "m"},
            Annotation(("a@x.org",), (9,), 3, project_id=7, snapshot="42", created_at="t1",
                       updated_at="t2", lead_time=1.5, model_version="m"),
        ),
        # Older hand-made shapes: a user object, a project title, a list of annotations.
        (
            {"task": "5", "completed_by": {"email": "c@x.org", "token": "secret"},
             "project": "News", "annotations": [
                 {"id": 1, "created_at": "2", "updated_at": "3"},
                 {"id": 2, "created_at": "1", "updated_at": "4"}]},
            Annotation(("c@x.org",), (1, 2), 5, project_title="News", created_at="1",
                       updated_at="4", extra={}),
        ),
        # A brat import, with a key curate does not type kept verbatim.
        (
            {"brat": "a_ann1.ann", "annotator": "ann1", "format": "brat",
             "other_annotators": ["ann2"]},
            Annotation(("ann1",), other_annotators=("ann2",), origin="brat",
                       extra={"brat": "a_ann1.ann"}),
        ),
    ],
)  # fmt: skip
def test_older_source_shapes_still_load(source, expected):
    doc = Document.from_dict({"id": "a", "text": "t", "source": source})
    assert doc.provenance == expected

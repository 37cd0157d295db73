"""The hand annotation of the seeds: loads, is valid, covers both seeds, pins key facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.io.jsonl import read_jsonl
from curate.model import Document

ROOT = Path(__file__).resolve().parent.parent
HAND = ROOT / "data" / "hand" / "seeds.jsonl"


@pytest.fixture(scope="module")
def docs() -> dict[str, Document]:
    return {d.id: d for d in (Document.from_dict(row) for _, row in read_jsonl(HAND))}


def test_covers_every_seed_with_its_exact_text(docs: dict[str, Document]) -> None:
    seeds = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "seeds").glob("*.txt")}
    assert set(docs) == set(seeds)
    for doc_id, text in seeds.items():
        assert docs[doc_id].text == text


def test_every_document_is_annotated(docs: dict[str, Document]) -> None:
    for doc in docs.values():
        assert len(doc.entities) > 40
        assert len(doc.quotes) > 10
        # round trip through the one JSONL form is lossless
        assert Document.from_dict(doc.to_dict()) == doc


def test_vladivostok_is_a_place(docs: dict[str, Document]) -> None:
    labels = {e.label for d in docs.values() for e in d.entities if e.text == "Vladivostok"}
    assert labels == {"GPE"}


def test_only_config_labels(docs: dict[str, Document]) -> None:
    from curate.schema import load_schema

    allowed = set(load_schema().entity_labels)
    assert {e.label for d in docs.values() for e in d.entities} <= allowed


def test_peskov_pronoun_resolves_to_his_name(docs: dict[str, Document]) -> None:
    doc = docs["000_4467d989d7ade940"]
    (quote,) = [q for q in doc.quotes if q.text.startswith("“We have nothing to tell you")]
    assert quote.kind == "direct"
    assert quote.speaker is not None and quote.speaker.text == "he"
    assert quote.cue is not None and quote.cue.text == "said"
    assert quote.speaker_entity is not None and quote.speaker_entity.text == "Dmitry Peskov"
    # the resolved entity is an annotated PERSON mention, not a free-floating span
    assert any(
        (e.start, e.end, e.label)
        == (quote.speaker_entity.start, quote.speaker_entity.end, "PERSON")
        for e in doc.entities
    )


def test_reported_speech_is_annotated(docs: dict[str, Document]) -> None:
    doc = docs["000_4467d989d7ade940"]
    by_cue = {(q.cue.text if q.cue else None, q.kind) for q in doc.quotes}
    assert ("noted", "indirect") in by_cue
    assert ("according to", "mixed") in by_cue
    (noted,) = [q for q in doc.quotes if q.cue and q.cue.text == "noted"]
    assert noted.text.startswith("that the isolated regime")  # PolNeAR: content keeps `that`
    said = docs["003_cc9b1eed084009b0"].quotes
    passive = [q for q in said if q.cue and q.cue.text == "is said"]
    assert len(passive) == 1 and passive[0].speaker is None


def test_speaker_entities_are_entity_mentions(docs: dict[str, Document]) -> None:
    for doc in docs.values():
        spans = {(e.start, e.end) for e in doc.entities}
        for q in doc.quotes:
            if q.speaker_entity is not None:
                assert (q.speaker_entity.start, q.speaker_entity.end) in spans, q.text


def test_shipped_gold_version_is_the_hand_annotation(docs: dict[str, Document]) -> None:
    """data/gold/seeds/2.0.0 (scripts/build_seed_gold.py) holds exactly the hand annotation."""
    from curate.gold import load_documents, verify

    folder = ROOT / "data" / "gold" / "seeds" / "2.0.0"
    assert verify(folder).ok
    gold = {d.id: d for d in load_documents(folder, split="test")}
    assert set(gold) == set(docs)
    for doc_id, hand in docs.items():
        assert gold[doc_id].text == hand.text
        assert gold[doc_id].entities == hand.entities
        assert gold[doc_id].quotes == hand.quotes
        # provenance: a human annotation made in Label Studio on top of a prediction
        assert gold[doc_id].provenance.annotation_ids and gold[doc_id].provenance.model_version


@pytest.mark.studio
def test_build_script_round_trip_is_exact(studio, studio_conn, tmp_path: Path) -> None:
    """scripts/build_seed_gold.py against the session's real Label Studio."""
    import argparse
    import importlib.util
    import os

    from curate.gold import load_documents

    spec = importlib.util.spec_from_file_location(
        "build_seed_gold", ROOT / "scripts" / "build_seed_gold.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    title = f"seed gold test {os.getpid()}"
    args = argparse.Namespace(
        url=studio.url,
        api_key=studio.api_key,
        project=title,
        name="seeds",
        version="1.0.0",
        root=str(tmp_path / "gold"),
        pull_dir=str(tmp_path / "pulls"),
    )
    path, project_id = script.build(args)
    studio_conn.request("DELETE", f"/api/projects/{project_id}", ok=(200, 204, 404))
    assert path == tmp_path / "gold" / "seeds" / "1.0.0"
    hand = {d.id: d for d in (Document.from_dict(row) for _, row in read_jsonl(HAND))}
    built = {d.id: d for d in load_documents(path)}
    assert {k: (d.entities, d.quotes) for k, d in built.items()} == {
        k: (d.entities, d.quotes) for k, d in hand.items()
    }
    # the pull kept one annotation per task, by the Label Studio user, for agreement
    from curate.score.agreement import agreement, load_annotations

    (snapshot,) = [p for p in (tmp_path / "pulls").glob("*/*") if p.is_dir()]
    annotations, problems = load_annotations(snapshot)
    assert problems == [] and sorted(d.id for d in annotations) == sorted(hand)
    assert all(d.provenance.annotator and d.provenance.task_id for d in annotations)
    # one annotator per task: nothing to compare yet, and agreement says so
    report = agreement(annotations)
    assert (report.articles, report.single_annotator_articles) == (0, 2)

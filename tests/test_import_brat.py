"""``curate import brat``: brat standoff (PolNeAR layout and flat) into a gold version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.gold import load_documents
from curate.gold.brat_import import import_brat, read_brat

FIXTURES = Path(__file__).parent / "fixtures" / "brat"
POLNEAR = FIXTURES / "polnear"


def test_read_brat_keeps_every_annotator_apart() -> None:
    corpus = read_brat(POLNEAR)
    assert corpus.articles == ["art1", "art2"]
    assert corpus.annotators == ["ann1", "ann2"]
    assert corpus.unannotated == ["art3"]
    assert corpus.problems == []
    assert corpus.dropped_labels == {"Discard": 1}
    by = {(d.id, d.provenance.annotator): d for d in corpus.annotations}
    assert set(by) == {("art1", "ann1"), ("art1", "ann2"), ("art2", "ann1")}

    one, two = by[("art1", "ann1")], by[("art1", "ann2")]
    # metadata.tsv gives what the Label Studio task shows; "None" means missing
    assert one.meta == {
        "title": "Plans and passes",
        "source": "daily planet",
        "date": "2016-03-11",
        "compartment": "fixture",
        "file": "art1.txt",
    }
    assert by[("art2", "ann1")].meta == {"file": "art2.txt"}
    assert [(e.text, e.label) for e in one.entities] == [
        ("Anna Smith", "PERSON"),
        ("Bob Jones", "PERSON"),
    ]
    assert [(e.text, e.label) for e in two.entities] == [
        ("Anna Smith", "PERSON"),
        ("Bob Jones", "ORG"),
    ]
    q1, q2 = one.quotes
    assert (q1.text, q1.kind, q1.speaker.text, q1.cue.text) == (
        'the plan "will fail."',
        "mixed",
        "Anna Smith",
        "said",
    )
    assert (q2.text, q2.kind, q2.speaker.text, q2.cue.text) == (
        "that it would pass",
        "indirect",
        "Bob Jones",
        "told",
    )
    assert two.quotes[1].text == "it would pass"


def test_discontinuous_content_is_its_covering_span_with_fragments_kept() -> None:
    doc = next(d for d in read_brat(POLNEAR).annotations if d.id == "art2")
    (q,) = doc.quotes
    assert q.text == '"We are ready," the minister said, "and we will act."'
    assert q.speaker.text == "the minister" and q.cue.text == "said"
    assert doc.provenance.extra["discontinuous_content"] == {"T1": [(0, 15), (35, 53)]}
    assert [(e.text, e.label) for e in doc.entities] == [("France", "GPE")]


def test_gold_takes_the_first_annotator_and_names_the_others() -> None:
    gold = read_brat(POLNEAR).gold()
    assert [d.id for d in gold] == ["art1", "art2"]
    assert gold[0].provenance.annotator == "ann1"
    assert gold[0].provenance.other_annotators == ("ann2",)
    assert gold[1].provenance.other_annotators == ()


def test_flat_layout_with_one_ann_per_text() -> None:
    corpus = read_brat(FIXTURES / "flat")
    (doc,) = corpus.annotations
    assert doc.id == "bridge" and doc.provenance.annotator == "brat"
    (q,) = doc.quotes
    assert (q.text, q.kind, q.speaker.text) == (
        "that the bridge will open in May",
        "indirect",
        "The mayor",
    )


def test_a_broken_file_is_reported_and_the_rest_go_through(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(POLNEAR, folder)
    (folder / "attributions" / "art2_ann1.ann").write_text("T1\tSource 50 999\tx\n")
    (folder / "attributions" / "lost_ann1.ann").write_text("T1\tSource 0 1\tx\n")
    corpus = read_brat(folder)
    assert corpus.articles == ["art1"]
    assert any("art2_ann1.ann" in p and "outside the text" in p for p in corpus.problems)
    assert any("lost_ann1.ann" in p and "no matching text" in p for p in corpus.problems)


def test_import_writes_a_loadable_all_test_version(tmp_path: Path) -> None:
    result = import_brat(POLNEAR, name="fixture", root=tmp_path)
    assert result.path == tmp_path / "fixture" / "1.0.0"
    assert (result.documents, result.annotations, result.multi_annotated) == (2, 3, 1)
    docs = load_documents(result.path)
    assert sorted(d.id for d in docs) == ["art1", "art2"]
    assert {d.id for d in load_documents(result.path, split="test")} == {"art1", "art2"}
    art1 = next(d for d in docs if d.id == "art1")
    assert [q.text for q in art1.quotes] == ['the plan "will fail."', "that it would pass"]
    assert result.annotations_path.is_file()


def test_cli_import_then_agreement(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app, ["import", "brat", str(POLNEAR), "--name", "fx", "--root", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "imported 2 articles" in res.output
    assert "Discard (1)" in res.output
    res = runner.invoke(app, ["agreement", str(tmp_path / "fx" / "1.0.0")])
    assert res.exit_code == 0, res.output
    assert "1 articles with 2+ annotators" in res.output
    # the same version again: versions never change
    res = runner.invoke(
        app,
        [
            "import",
            "brat",
            str(POLNEAR),
            "--name",
            "fx",
            "--root",
            str(tmp_path),
            "--version",
            "1.0.0",
        ],
    )
    assert res.exit_code == 1
    assert "already exists" in res.output


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "is not a folder"),
        (lambda p: p, "holds no .txt files"),
    ],
)
def test_cli_import_errors_are_one_clear_line(tmp_path: Path, make, message: str) -> None:
    res = CliRunner().invoke(
        app, ["import", "brat", str(make(tmp_path)), "--name", "x", "--root", str(tmp_path)]
    )
    assert res.exit_code == 1
    assert message in res.output
    assert not (tmp_path / "x").exists()


def test_latex_style_quotes_count_as_quotation_marks() -> None:
    from curate.io.brat import quote_kind

    assert quote_kind("``We will win,''") == "direct"
    assert quote_kind("that it was ``absurd''") == "mixed"
    assert quote_kind("that the party's plan failed") == "indirect"


def test_offsets_that_do_not_fit_the_text_are_caught(tmp_path: Path) -> None:
    """A text edited after annotation (a headline added): every offset is shifted."""
    folder = tmp_path / "corpus"
    shutil.copytree(POLNEAR, folder)
    art1 = folder / "text" / "art1.txt"
    art1.write_text("Headline\n" + art1.read_text(encoding="utf-8"), encoding="utf-8")
    corpus = read_brat(folder)
    assert corpus.articles == ["art2"]
    bad = [p for p in corpus.problems if "art1_ann" in p]
    assert len(bad) == 2 and all("stores 'Anna Smith' but the text there is" in p for p in bad)

"""``curate import brat``: brat standoff (PolNeAR layout and flat) into a gold version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate import settings
from curate.cli import app
from curate.gold import load_documents
from curate.gold.brat_import import import_brat, read_brat
from curate.io.articles import read_articles
from curate.io.brat import parse_ann
from curate.model import Document

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


def test_discontinuous_content_keeps_its_fragments() -> None:
    doc = next(d for d in read_brat(POLNEAR).annotations if d.id == "art2")
    (q,) = doc.quotes
    assert q.text == '"We are ready," the minister said, "and we will act."'  # covering span
    assert [f.text for f in q.fragments] == ['"We are ready,"', '"and we will act."']
    assert q.offsets == ((0, 15), (35, 53))
    assert q.kind == "direct"
    assert q.speaker.text == "the minister" and q.cue.text == "said"
    assert "discontinuous_content" not in doc.provenance.extra
    again = Document.from_dict(json.loads(json.dumps(doc.to_dict())))
    assert again == doc and again.quotes[0].discontinuous
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
    # Every annotator's version under their real name: private, never world-readable.
    assert result.annotations_path.stat().st_mode & 0o777 == 0o400
    # The file name kept in `source` does not carry the annotator's name (art1_ann1.ann):
    # the release pseudonymizes `annotators`, and the name is a placeholder there.
    released = (result.path / "exports" / "jsonl" / "test.jsonl").read_text(encoding="utf-8")
    assert "ann1" not in released and '"brat":"art1_{annotator}.ann"' in released


def test_cli_import_then_agreement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
    # by name, as every other command takes a gold
    monkeypatch.setattr(settings, "GOLD_ROOT", tmp_path)
    for name in ("fx", "fx@1.0.0"):
        res = runner.invoke(app, ["agreement", name])
        assert res.exit_code == 0, res.output
        assert "1 articles with 2+ annotators" in res.output
    res = runner.invoke(app, ["agreement", "fx@9.0.0"])
    assert res.exit_code == 1
    assert "no version 9.0.0 (have: 1.0.0)" in res.output
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
        (lambda p: p / "missing", "not found; give a brat folder"),
        (lambda p: (p / "a.ann").write_text("") or p / "a.ann", "is a file, not a folder"),
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
    from curate.marks import quote_kind

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


# --- one text reader, one brat reader (issue 11 items 10-11, issue 16) ------------------


def _flat(tmp_path: Path, text: bytes, ann: bytes, name: str = "doc") -> Path:
    folder = tmp_path / "flat"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_bytes(text)
    (folder / f"{name}.ann").write_bytes(ann)
    return folder


def test_ann_with_a_byte_order_mark_keeps_its_first_annotation(tmp_path: Path) -> None:
    ann = b"T1\tPERSON 0 10\tAnna Smith\nT2\tGPE 20 25\tParis\n"
    folder = _flat(tmp_path, b"Anna Smith lives in Paris.", b"\xef\xbb\xbf" + ann)
    corpus = read_brat(folder)
    assert corpus.problems == []
    (doc,) = corpus.annotations
    assert [(e.text, e.label) for e in doc.entities] == [("Anna Smith", "PERSON"), ("Paris", "GPE")]


def test_every_line_that_is_not_read_is_reported(tmp_path: Path) -> None:
    ann = (
        "T1\tPERSON 0 10\tAnna Smith\n"
        "#1\tAnnotatorNotes T1\ta note is not a problem\n"
        "R1\tLives Arg1:T1 Arg2:T2\n"
        "A1\tNegated T1\n"
        "T2\tGPE 20 25\tParis\n"
        "garbage that brat never writes\n"
        "T3\tGPE twenty\tParis\n"
    )
    folder = _flat(tmp_path, b"Anna Smith lives in Paris.", ann.encode())
    corpus = read_brat(folder)
    ann_path = folder / "doc.ann"
    assert corpus.problems == [
        f"{ann_path}:6: not a brat annotation line 'garbage that brat never writes'",
        f"{ann_path}:7: malformed T line 'T3\\tGPE twenty\\tParis'",
        f"{ann_path}: 1 attribute, 1 relation line(s) not read (curate reads T and E lines)",
    ]
    assert len(corpus.annotations[0].entities) == 2


def test_span_text_running_over_a_line_break_is_not_an_unknown_line(tmp_path: Path) -> None:
    """brat writes a span's text as it is, line breaks included (PolNeAR has such lines)."""
    text = "He said:\n\nWe will win.\nThen he left."
    ann = "T1\tContent 9 22\t\nWe will win.\nT2\tCue 3 7\tsaid\n"
    folder = _flat(tmp_path, text.encode(), ann.encode())
    corpus = read_brat(folder)
    assert corpus.problems == []
    spans = parse_ann(folder / "doc.ann").spans
    assert spans["T1"].text == text[9:22] and spans["T2"].text == "said"


@pytest.mark.parametrize("convention", ["on disk (CR LF = 2)", "brat's (CR LF = 1)"])
def test_crlf_text_imports_under_either_offset_convention_with_ingest_text(
    tmp_path: Path, convention: str
) -> None:
    disk = "Headline\r\nAnna Smith said \u201cwe will win.\u201d\r\nParis, too."
    folded = disk.replace("\r\n", "\n")
    base = disk if convention.startswith("on disk") else folded
    spans = [("PERSON", "Anna Smith"), ("Content", "\u201cwe will win.\u201d"), ("GPE", "Paris")]
    lines = []
    for i, (label, s) in enumerate(spans, 1):
        start = base.index(s)
        lines.append(f"T{i}\t{label} {start} {start + len(s)}\t{s}")
    lines.append("E1\tAttribution:T2 Content:T2 Source:T1")
    folder = _flat(tmp_path, disk.encode(), ("\n".join(lines) + "\n").encode())
    corpus = read_brat(folder)
    assert corpus.problems == []
    (doc,) = corpus.annotations
    assert doc.text == disk  # line endings kept as on disk
    assert [(e.label, e.text) for e in doc.entities] == [("PERSON", "Anna Smith"), ("GPE", "Paris")]
    assert doc.quotes[0].text == "\u201cwe will win.\u201d" and doc.quotes[0].kind == "direct"
    # `curate ingest` of the same file gives the same text, so its predictions score
    (article,), _ = read_articles(folder / "doc.txt")
    assert article.text == doc.text and article.hash == doc.hash


def test_text_with_a_bom_reads_as_ingest_reads_it(tmp_path: Path) -> None:
    folder = _flat(tmp_path, b"\xef\xbb\xbfParis is big.", b"T1\tGPE 0 5\tParis\n")
    (doc,) = read_brat(folder).annotations
    (article,), _ = read_articles(folder / "doc.txt")
    assert doc.text == article.text == "Paris is big." and doc.entities[0].text == "Paris"


@pytest.mark.parametrize(
    ("sentence", "content", "kind"),
    [
        (
            "\u2018We won\u2019t close the library this winter,\u2019 said a councillor.",
            "\u2018We won\u2019t close the library this winter,\u2019",
            "direct",
        ),
        (
            "She added that the budget was \u2018tight but workable\u2019.",
            "that the budget was \u2018tight but workable\u2019",
            "mixed",
        ),
        ("He said the party\u2019s plan failed.", "the party\u2019s plan failed", "indirect"),
    ],
)
def test_single_curly_quotes_decide_the_kind(
    tmp_path: Path, sentence: str, content: str, kind: str
) -> None:
    start = sentence.index(content)
    ann = f"T1\tContent {start} {start + len(content)}\t{content}\nE1\tAttribution:T1 Content:T1\n"
    folder = _flat(tmp_path, sentence.encode(), ann.encode())
    ((q,),) = [d.quotes for d in read_brat(folder).annotations]
    assert (q.text, q.kind) == (content, kind)


def test_quote_kind_comes_from_the_shared_table_of_marks() -> None:
    from curate import marks
    from curate.io import brat

    assert brat.quote_kind is marks.quote_kind
    assert marks.quote_kind("\u201eWir schaffen das,\u201c") == "direct"  # German marks
    assert marks.quote_kind("\u00abNous gagnerons,\u00bb") == "direct"
    assert marks.quote_kind("it was \u2039absurd\u203a") == "mixed"


def test_no_import_circle_between_gold_and_score() -> None:
    """gold/brat_import uses score/agreement; agreement reads brat through io/, not gold/."""
    import ast

    root = Path(__file__).resolve().parent.parent / "curate"

    def imports(module: str) -> set[str]:
        tree = ast.parse((root / (module.replace(".", "/") + ".py")).read_text("utf-8"))
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        return found

    assert "curate.score.agreement" in imports("gold.brat_import")
    assert not any(m.startswith("curate.gold") for m in imports("score.agreement"))
    assert not any(m.startswith(("curate.gold", "curate.score")) for m in imports("io.brat"))


def test_cli_import_with_problems_names_them_and_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(POLNEAR, folder)
    ann = folder / "attributions" / "art2_ann1.ann"
    ann.write_text(ann.read_text(encoding="utf-8") + "R1\tRel Arg1:T1 Arg2:T2\n", "utf-8")
    res = CliRunner().invoke(
        app, ["import", "brat", str(folder), "--name", "x", "--root", str(tmp_path / "gold")]
    )
    assert res.exit_code == 1, res.output
    assert f"{ann}: 1 relation line(s) not read (curate reads T and E lines)" in res.output
    assert "imported 2 articles" in res.output and "1 problem(s), listed above" in res.output


def test_evaluate_scores_predictions_made_from_the_ingested_crlf_text(tmp_path: Path) -> None:
    """The brat gold and `curate ingest` read one text: predictions on it are accepted."""
    from curate.io.jsonl import write_jsonl
    from curate.model import Document

    disk = "Paris\r\nAnna Smith met Bob Jones in Paris.\r\n"
    folded = disk.replace("\r\n", "\n")
    start = folded.index("Anna Smith")  # brat's offsets: a CRLF counts as one character
    folder = _flat(
        tmp_path, disk.encode(), f"T1\tPERSON {start} {start + 10}\tAnna Smith\n".encode()
    )
    (article,), _ = read_articles(folder / "doc.txt")
    predicted = Document.from_article(article)
    write_jsonl(tmp_path / "pred.jsonl", [predicted.to_dict()])
    res = CliRunner().invoke(
        app,
        ["evaluate", str(tmp_path / "pred.jsonl"), "-g", str(folder), "--bootstrap", "0"],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert "different text" not in res.output


def test_a_second_content_of_one_attribution_is_a_second_fragment(tmp_path: Path) -> None:
    """PolNeAR's `Content2` (75 attributions): both contents are the quote's content, as
    fragments in text order; before, the second replaced the first."""
    text = 'She said the plan works. Later she added that "it will last."\n'
    first, second = text.index("the plan works"), text.index('"it will last."')
    ann = (
        f"T1\tSource 0 3\tShe\nT2\tCue 4 8\tsaid\n"
        f"T3\tContent {first} {first + 14}\tthe plan works\n"
        f'T4\tContent {second} {second + 15}\t"it will last."\n'
        "E1\tAttribution:T2 Source:T1 Cue:T2 Content:T4 Content2:T3\n"
    )
    corpus = read_brat(_flat(tmp_path, text.encode(), ann.encode()))
    assert not corpus.problems
    (doc,) = corpus.annotations
    (q,) = doc.quotes
    assert [f.text for f in q.fragments] == ["the plan works", '"it will last."']
    assert q.speaker.text == "She" and q.cue.text == "said"

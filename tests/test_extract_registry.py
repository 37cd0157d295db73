"""The extractor registry: one protocol, versioned names, retired names, the default pipeline."""

import pytest

from curate import extract
from curate.errors import CurateError
from curate.extract import Extraction, Extractor, RuleExtractor


def _nothing(doc, schema):
    return Extraction()


def test_builtin_pipeline_is_entities_then_quotes_and_follows_the_protocol():
    pipeline = extract.builtin()
    assert [e.name for e in pipeline] == ["curate.entities.v1", "curate.quotes.v6"]
    assert all(isinstance(e, Extractor) for e in pipeline)
    assert [e.version for e in pipeline] == [e.name for e in pipeline]
    assert [e.tasks for e in pipeline] == [("entities",), ("quotes",)]
    assert extract.model_version("en_core_web_sm-3.8.0", pipeline) == (
        "en_core_web_sm-3.8.0+curate.entities.v1+curate.quotes.v6"
    )


def test_a_name_is_registered_once_and_a_retired_name_never():
    assert extract.retired() == {
        "curate.quotes.v1": "curate.quotes.v6",
        "curate.quotes.v2": "curate.quotes.v6",
        "curate.quotes.v3": "curate.quotes.v6",
        "curate.quotes.v4": "curate.quotes.v6",
        "curate.quotes.v5": "curate.quotes.v6",
        "curate.quotes.hybrid.v1": "curate.quotes.hybrid.v3",
        "curate.quotes.hybrid.v2": "curate.quotes.hybrid.v3",
        "curate.quotes.learned.v1": "curate.quotes.learned.v2",
    }
    with pytest.raises(CurateError, match="already registered"):
        extract.register(RuleExtractor("curate.quotes.v6", ("quotes",), (), _nothing))
    with pytest.raises(CurateError, match="was retired"):
        extract.register(RuleExtractor("curate.quotes.v1", ("quotes",), (), _nothing))
    with pytest.raises(CurateError, match="unknown extractor 'curate.nothing.v9'"):
        extract.get("curate.nothing.v9")


def test_a_rule_extractor_calls_its_function_once_per_doc():
    seen = []
    ex = RuleExtractor("test.count.v1", ("entities",), ("ner",), lambda d, s: seen.append(d))
    ex(["a", "b"], None)
    assert seen == ["a", "b"] and ex.version == "test.count.v1"


def test_evaluate_reads_tasks_from_the_registry_not_from_the_name(monkeypatch):
    from curate.extract.resolve import resolve

    mine = RuleExtractor("team.people.v3", ("entities",), ("ner",), _nothing)
    monkeypatch.setitem(extract._REGISTRY, mine.name, mine)
    resolved = resolve("team.people.v3@en_core_web_sm")
    assert (resolved.kind, resolved.tasks) == ("registered", ("entities",))


def test_a_second_version_of_the_quote_rules_stands_beside_the_default():
    from curate.extract.preannotate import pipeline

    v7 = extract.get("curate.quotes.v7")
    assert isinstance(v7, RuleExtractor) and v7.version == "curate.quotes.v7"
    assert "curate.quotes.v6" not in extract.retired()
    assert [e.name for e in pipeline("curate.quotes.v7")] == [
        "curate.entities.v1",
        "curate.quotes.v7",
    ]
    assert [e.name for e in pipeline("curate.quotes.v6")] == [
        "curate.entities.v1",
        "curate.quotes.v6",
    ]

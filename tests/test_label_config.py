"""The label config and its offline validation; a custom config mapped from spaCy labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from curate.errors import ConfigError
from curate.model import Document, Entity, Quote, Span
from curate.schema import DEFAULT_CONFIG_DIR, LabelSchema, load_schema, validate_config

DEFAULT_XML = (DEFAULT_CONFIG_DIR / "news_quotes.xml").read_text(encoding="utf-8")
DEFAULT_MAPPING = (DEFAULT_CONFIG_DIR / "mapping.toml").read_text(encoding="utf-8")

# A team's own config: other entity label names, the same quote parts.
CUSTOM_XML = """<View>
  <Header value="$title"/>
  <Labels name="ner" toName="body">
    <Label value="PER" hotkey="1"/>
    <Label value="ORGANIZATION" hotkey="2"/>
    <Label value="PLACE" hotkey="3"/>
  </Labels>
  <Labels name="parts" toName="body">
    <Label value="Q" hotkey="q"/>
    <Label value="WHO" hotkey="w"/>
    <Label value="VERB" hotkey="v"/>
  </Labels>
  <Text name="body" value="$text"/>
  <Relations>
    <Relation value="said_by"/>
    <Relation value="cue"/>
    <Relation value="refers_to"/>
    <Relation value="continues"/>
  </Relations>
  <Choices name="how" toName="body" perRegion="true">
    <Choice value="direct"/>
    <Choice value="indirect"/>
    <Choice value="mixed"/>
  </Choices>
</View>
"""
CUSTOM_MAPPING = """config = "team.xml"
[controls]
text = "body"
entity = "ner"
quote = "parts"
kind = "how"
[quote_labels]
content = "Q"
speaker = "WHO"
cue = "VERB"
[relations]
speaker = "said_by"
[entity_labels]
PERSON = "PER"
ORG = "ORGANIZATION"
GPE = "PLACE"
LOC = "PLACE"
"""

TEXT = "Kremlin spokesman Dmitry Peskov said “no comment” 🎉 in Moscow."


def write_config(folder: Path, xml: str, mapping: str, name: str = "team.xml") -> Path:
    (folder / name).write_text(xml, encoding="utf-8")
    path = folder / "mapping.toml"
    path.write_text(mapping, encoding="utf-8")
    return path


def custom_schema(tmp_path: Path):
    return load_schema(write_config(tmp_path, CUSTOM_XML, CUSTOM_MAPPING))


def span(text: str, part: str) -> Span:
    start = text.index(part)
    return Span(start, start + len(part), part)


def seed_doc(person: str = "PERSON", org: str = "ORG", place: str = "GPE") -> Document:
    peskov = span(TEXT, "Dmitry Peskov")
    quote = span(TEXT, "“no comment”")
    return Document(
        id="d1",
        text=TEXT,
        entities=(
            Entity.of(TEXT, 0, 7, org),
            Entity.of(TEXT, peskov.start, peskov.end, person),
            Entity.of(TEXT, TEXT.index("Moscow"), TEXT.index("Moscow") + 6, place),
        ),
        quotes=(
            Quote(
                quote.start,
                quote.end,
                quote.text,
                "direct",
                speaker=peskov,
                cue=span(TEXT, "said"),
                speaker_entity=peskov,
            ),
        ),
    )


# --- the shipped config ----------------------------------------------------------------


def test_default_config_is_valid_and_complete() -> None:
    schema = load_schema()
    validate_config(schema)
    assert schema.text_control == "text" and schema.text_field == "text"
    assert schema.entity_labels == (
        "PERSON",
        "ORG",
        "GPE",
        "LOC",
        "NORP",
        "FAC",
        "EVENT",
        "PRODUCT",
        "WORK_OF_ART",
        "LAW",
    )
    assert schema.quote_labels == ("QUOTE", "SPEAKER", "CUE")
    assert schema.relation_labels == ("speaker", "cue", "refers_to", "continues")
    # Label Studio refuses a task lacking one of these; the title is a Header, optional.
    assert set(schema.data_fields) == {"text", "byline", "instructions", "link_view"}
    assert {"$title", "$byline", "$instructions", "$text"} <= set(re.findall(r"\$\w+", schema.xml))


def test_default_config_keeps_relations_off_the_text() -> None:
    """Relation names are never drawn and arrows only for the relation pointed at; the
    browser test checks the effect, this the rules (Label Studio escapes <Style> text as
    HTML, so a `>` or a quote mark there would silently break the CSS)."""
    (style,) = re.findall(r"<Style>(.*?)</Style>", DEFAULT_XML, re.S)
    assert not set(style) & set("<>\"'&")
    rules = " ".join(style.split())
    assert (
        ".relations-overlay text, .relations-overlay rect[rx], .relations-overlay use "
        "{ display: none; }"
    ) in rules
    assert ".relations-overlay g { visibility: hidden; }" in rules
    assert ".relations-overlay g[class*=_highlighted] { visibility: visible; }" in rules


def test_default_config_hotkeys_are_unique_and_cover_every_label() -> None:
    keys = re.findall(r'<(?:Label|Choice) value="([^"]+)"[^>]*hotkey="([^"]+)"', DEFAULT_XML)
    labels = re.findall(r'<(?:Label|Choice) value="([^"]+)"', DEFAULT_XML)
    assert [label for label, _ in keys] == labels
    assert len({k for _, k in keys}) == len(keys)


def test_load_schema_accepts_folder_and_xml(tmp_path: Path) -> None:
    assert load_schema(DEFAULT_CONFIG_DIR).entity_labels == load_schema().entity_labels
    xml_only = load_schema(DEFAULT_CONFIG_DIR / "news_quotes.xml")
    validate_config(xml_only)
    assert xml_only.entity_map == {}


def test_unknown_mapping_section_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        DEFAULT_XML,
        DEFAULT_MAPPING + '\n[entity_label]\nPERSON = "PER"\n',
        name="news_quotes.xml",
    )
    with pytest.raises(ConfigError, match=r"unknown key\(s\) entity_label"):
        load_schema(path)


# --- broken configs: one clear error naming the problem ---------------------------------

BROKEN = [
    pytest.param(
        ('<Label value="ORG" background="#2ec4b6" hotkey="o"/>', '<Label value="ORG" hotkey="p"/>'),
        r"hotkey 'p' is used by entity/PERSON and entity/ORG",
        id="duplicate-hotkey-same-control",
    ),
    pytest.param(
        ('<Choice value="direct" hotkey="1"/>', '<Choice value="direct" hotkey="q"/>'),
        r"hotkey 'q' is used by quote/QUOTE and kind/direct",
        id="duplicate-hotkey-across-controls",
    ),
    pytest.param(
        ('hotkey="w"', 'hotkey="u"'),
        r"hotkey 'u' of entity/WORK_OF_ART is a Label Studio shortcut",
        id="reserved-hotkey",
    ),
    pytest.param(
        ('<Relation value="cue" background="#06a77d"/>', ""),
        r"<Relations> lacks <Relation value=\.\.\.> for cue",
        id="missing-relation",
    ),
    pytest.param(
        ('perRegion="true" ', ""),
        r"<Choices name='kind'> needs perRegion=\"true\"",
        id="kind-not-per-region",
    ),
    pytest.param(
        ('<Choice value="mixed" hotkey="3"/>', ""),
        r"lacks the quote kinds mixed",
        id="missing-kind",
    ),
    pytest.param(
        ('<Labels name="entity" toName="text"', '<Labels name="entity" toName="source_line"'),
        r"<Labels name='entity'> must have toName='text'",
        id="labels-not-on-text",
    ),
    pytest.param(
        ('<Labels name="quote" toName="text"', '<Labels name="quote" toName="nowhere"'),
        r"Label Studio rejects it: toName=\"nowhere\" not found",
        id="sdk-rejects-toName",
    ),
    pytest.param(
        (
            '<Text name="text" value="$text" granularity="symbol"/>',
            '<Text name="text" value="plain"/>',
        ),
        r"must read a task field",
        id="text-without-field",
    ),
]


@pytest.mark.parametrize(("edit", "message"), BROKEN)
def test_broken_config_is_named(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    old, new = edit
    assert old in DEFAULT_XML
    path = write_config(
        tmp_path, DEFAULT_XML.replace(old, new, 1), DEFAULT_MAPPING, name="news_quotes.xml"
    )
    schema = load_schema(path)
    with pytest.raises(ConfigError, match=message) as err:
        validate_config(schema)
    assert str(err.value).startswith(str(tmp_path / "news_quotes.xml"))
    assert "\n" not in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    xml = DEFAULT_XML.replace('hotkey="w"', 'hotkey="u"').replace(
        '<Relation value="refers_to" background="#ff9f1c"/>', ""
    )
    schema = load_schema(write_config(tmp_path, xml, DEFAULT_MAPPING, name="news_quotes.xml"))
    with pytest.raises(ConfigError) as err:
        validate_config(schema)
    assert "refers_to" in str(err.value) and "hotkey 'u'" in str(err.value)


def test_mapping_to_a_label_the_config_lacks(tmp_path: Path) -> None:
    mapping = DEFAULT_MAPPING + 'PERSON = "PER"\n'
    schema = load_schema(write_config(tmp_path, DEFAULT_XML, mapping, name="news_quotes.xml"))
    with pytest.raises(ConfigError, match=r"\[entity_labels\] maps PERSON -> PER but"):
        validate_config(schema)


def test_missing_control_is_named(tmp_path: Path) -> None:
    mapping = DEFAULT_MAPPING.replace('kind = "kind"', 'kind = "how"')
    schema = load_schema(write_config(tmp_path, DEFAULT_XML, mapping, name="news_quotes.xml"))
    with pytest.raises(ConfigError, match=r"\[controls\] kind = 'how' must name a <Choices> tag"):
        validate_config(schema)


# --- emitted labels ----------------------------------------------------------------------


def check_docs(schema: LabelSchema, docs: list[Document]) -> None:
    """The push label check on the tasks ``docs`` become."""
    from curate.studio.push import build_task

    schema.check_tasks([build_task(d, schema) for d in docs], "project 'p'")


def sdk_errors(schema: LabelSchema, results: list[dict]) -> list[str]:
    """What the SDK's LabelInterface finds wrong with a result list, offline."""
    errors = schema.interface.validate_prediction({"result": results}, return_errors=True)
    return [str(m) for e in errors or () for m in (e if isinstance(e, list) else [e])]


def test_check_tasks_names_missing_labels_with_their_articles() -> None:
    schema = load_schema()
    check_docs(schema, [seed_doc(), seed_doc()])
    check_docs(schema, [])
    dated = [seed_doc(place="DATE").with_(id=f"d{i}") for i in range(4)]
    with pytest.raises(ConfigError) as err:
        check_docs(schema, [seed_doc(person="MONEY"), *dated])
    msg = str(err.value)
    assert msg.startswith("the label config of project 'p' lacks labels the predictions use:")
    assert "entity:DATE (in 4 articles: d0, d1, d2 ...); entity:MONEY (in 1 articles: d1)" in msg
    assert "PERSON" not in msg and "nothing was pushed" in msg


def test_check_tasks_against_another_config_names_the_missing_relation() -> None:
    from curate.studio.push import build_task

    schema = load_schema()
    other = schema.xml.replace('value="refers_to"', 'value="mentions"')
    with pytest.raises(ConfigError, match="relations:refers_to"):
        schema.check_tasks([build_task(seed_doc(), schema)], "project 'p'", config=other)


def test_schema_parses_once_and_labels_come_from_the_sdk() -> None:
    schema = load_schema()
    assert schema.interface is schema.interface
    assert schema.labels["entity"] == frozenset(schema.entity_labels)
    assert schema.labels["kind"] == {"direct", "indirect", "mixed"}
    assert schema.labels["relations"] == set(schema.relation_labels)
    assert schema.unknown_entity_labels(seed_doc(place="DATE").entities) == ["DATE"]


def test_converter_output_fits_the_config_and_bad_regions_are_named() -> None:
    from curate.studio.convert import document_to_results

    schema = load_schema()
    results = document_to_results(seed_doc(), schema)
    assert sdk_errors(schema, results) == []
    bad = [dict(r) for r in results]
    bad[0] = {**bad[0], "value": {**bad[0]["value"], "labels": ["DATE"]}}
    assert any("DATE" in e for e in sdk_errors(schema, bad))


# --- bring your own config ---------------------------------------------------------------


def test_custom_config_and_mapping(tmp_path: Path) -> None:
    schema = custom_schema(tmp_path)
    validate_config(schema)
    assert schema.config_path == tmp_path / "team.xml"
    assert (schema.text_control, schema.entity_control, schema.quote_control) == (
        "body",
        "ner",
        "parts",
    )
    assert schema.entity_labels == ("PER", "ORGANIZATION", "PLACE")
    assert schema.quote_labels == ("Q", "WHO", "VERB")
    assert schema.relation_labels == ("said_by", "cue", "refers_to", "continues")
    assert schema.map_entity("PERSON") == "PER"
    assert schema.map_entity("ORG") == "ORGANIZATION"
    assert schema.map_entity("LOC") == "PLACE"
    assert schema.map_entity("PER") == "PER"  # already a config label
    assert schema.map_entity("DATE") is None  # dropped and counted by the extractor
    assert schema.data_fields == ("text",)


def test_custom_config_entities_from_spacy(tmp_path: Path) -> None:
    """spaCy's PERSON/ORG/GPE come out as the team's PER/ORGANIZATION/PLACE."""
    from curate.extract.entities import extract_entities
    from curate.extract.nlp import load_model
    from curate.studio.convert import document_to_results

    schema = custom_schema(tmp_path)
    nlp, _ = load_model(disable=("parser", "lemmatizer"))
    text = "Dmitry Peskov of the Kremlin said Vladimir Putin will travel to Moscow on Tuesday."
    entities, dropped = extract_entities(nlp(text), schema)
    labels = {e.text: e.label for e in entities}
    assert set(labels.values()) <= {"PER", "ORGANIZATION", "PLACE"}
    assert labels.get("Moscow") == "PLACE"
    assert "PER" in labels.values()
    assert dropped.get("DATE", 0) >= 1  # "Tuesday": no DATE label in the team's config
    doc = Document(id="t", text=text, entities=tuple(entities))
    check_docs(schema, [doc])
    assert sdk_errors(schema, document_to_results(doc, schema)) == []


def test_default_labels_against_custom_config_fail_with_a_hint(tmp_path: Path) -> None:
    schema = custom_schema(tmp_path)
    with pytest.raises(ConfigError) as err:
        check_docs(schema, [seed_doc()])
    msg = str(err.value)
    assert "ner:GPE (in 1 articles: d1); ner:ORG (in 1 articles: d1); ner:PERSON" in msg
    assert "GPE, ORG, PERSON would be mapped by this mapping" in msg
    assert "re-run preannotate" in msg
    # Mapped labels are accepted, and the converter's output fits the team's config.
    from curate.studio.convert import document_to_results

    mapped = seed_doc(person="PER", org="ORGANIZATION", place="PLACE")
    check_docs(schema, [mapped])
    assert sdk_errors(schema, document_to_results(mapped, schema)) == []


# --- the real server accepts what we validated --------------------------------------------


@pytest.mark.studio
def test_label_studio_accepts_both_configs_and_their_predictions(
    tmp_path: Path, studio_conn, studio_project
) -> None:
    from curate.studio.convert import document_to_results, document_to_task

    for schema, doc in (
        (load_schema(), seed_doc()),
        (custom_schema(tmp_path), seed_doc(person="PER", org="ORGANIZATION", place="PLACE")),
    ):
        validate_config(schema)
        project = studio_project(label_config=schema.xml)
        task = document_to_task(doc, schema)
        task["predictions"] = [{"model_version": "t", "result": document_to_results(doc, schema)}]
        studio_conn.request("POST", f"/api/projects/{project['id']}/import", json=[task])
        tasks = studio_conn.request(
            "GET", "/api/tasks", params={"project": project["id"], "fields": "all"}
        ).json()
        tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
        assert len(tasks) == 1
        stored = tasks[0]["predictions"][0]["result"]
        labels = sorted(r["value"]["labels"][0] for r in stored if r["type"] == "labels")
        assert labels == sorted([e.label for e in doc.entities] + list(schema.quote_labels))

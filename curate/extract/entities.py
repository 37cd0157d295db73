"""Named entities from a spaCy Doc, labelled with the Label Studio config's label names."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from curate.extract import Extraction, RuleExtractor, register
from curate.extract.nlp import doc_text
from curate.model import Entity
from curate.schema import LabelSchema, load_schema

if TYPE_CHECKING:
    from spacy.tokens import Doc


def extract_entities(
    doc: Doc, schema: LabelSchema | None = None
) -> tuple[list[Entity], Counter[str]]:
    """The doc's entities mapped onto ``schema``'s labels, and a count of dropped spaCy labels.

    A spaCy label the config has no label for (through ``[entity_labels]`` in the
    mapping or under its own name) is dropped and counted, never renamed by guess.
    Whitespace at either edge of an entity is trimmed (spans only ever get narrower).
    """
    schema = schema or load_schema()
    text = doc_text(doc)
    entities: list[Entity] = []
    dropped: Counter[str] = Counter()
    for ent in doc.ents:
        label = schema.map_entity(ent.label_)
        if label is None:
            dropped[ent.label_] += 1
            continue
        start, end = ent.start_char, ent.end_char
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            entities.append(Entity(start, end, label, text[start:end]))
    return entities, dropped


def _extract(doc: Doc, schema: LabelSchema) -> Extraction:
    entities, dropped = extract_entities(doc, schema)
    return Extraction(entities=tuple(entities), dropped=dict(sorted(dropped.items())))


# Needs nothing beyond the named-entity recognizer itself.
EXTRACTOR = register(RuleExtractor("curate.entities.v1", ("entities",), ("ner",), _extract))

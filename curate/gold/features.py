"""The typed ``Features`` of a gold version, derived from the label schema.

Entity labels and quote kinds are ``ClassLabel``s whose names come from the Label Studio
config (``curate.schema.load_schema``), so a version carries its label set with it and a
changed label set is visible as changed features (a major version bump).
"""

from __future__ import annotations

from typing import Any

from datasets import ClassLabel, Features, List, Value

from curate.errors import ConfigError
from curate.model import QUOTE_KINDS
from curate.schema import LabelSchema

#: Bumped when curate changes the row layout itself; a change is a major version bump.
ROW_FORMAT = 2  # 2: quotes carry their content fragments


def _span() -> dict[str, Value]:
    return {"start": Value("int32"), "end": Value("int32"), "text": Value("string")}


def build_features(schema: LabelSchema) -> Features:
    """The features of one gold row: an article with its entities, quotes and provenance.

    Speaker, cue and the named speaker entity sit inside their quote's struct (null when
    absent), so the link between a quote and its parts cannot get lost. A quote's
    ``start``/``end``/``text`` are its covering span and ``fragments`` its content, one
    span or more (``“A,” he said, “B.”`` has two; the text between them is not content).
    """
    if not schema.entity_labels:
        raise ConfigError(f"{schema.config_path}: the label config declares no entity labels")
    return Features(
        {
            "id": Value("string"),
            "text": Value("string"),
            "hash": Value("string"),
            "entities": List({**_span(), "label": ClassLabel(names=list(schema.entity_labels))}),
            "quotes": List(
                {
                    **_span(),
                    "fragments": List(_span()),
                    "kind": ClassLabel(names=list(QUOTE_KINDS)),
                    "speaker": _span(),
                    "cue": _span(),
                    "speaker_entity": _span(),
                }
            ),
            "provenance": {
                "task_id": Value("int64"),
                "annotation_ids": List(Value("int64")),
                "annotators": List(Value("string")),
                "created_at": Value("string"),
                "updated_at": Value("string"),
                "model_version": Value("string"),
                "project": Value("string"),
                "snapshot": Value("string"),
            },
            # Lossless JSON of Document.meta and Document.provenance: the typed columns above
            # are for users; these let load_documents give back the exact Documents.
            "meta": Value("string"),
            "source": Value("string"),
        }
    )


def schema_summary(schema: LabelSchema) -> dict[str, Any]:
    """What a version records about its label schema; a difference means a major bump."""
    return {
        "row_format": ROW_FORMAT,
        "entity_labels": list(schema.entity_labels),
        "quote_kinds": list(QUOTE_KINDS),
        "quote_labels": {
            "content": schema.quote_label,
            "speaker": schema.speaker_label,
            "cue": schema.cue_label,
        },
        "relations": {
            "speaker": schema.speaker_relation,
            "cue": schema.cue_relation,
            "entity": schema.entity_relation,
            "fragment": schema.fragment_relation,
        },
        "config": schema.config_path.name,
    }


def schema_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two schema summaries (empty when equal)."""
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key == "config":  # a renamed file with the same labels is not a schema change
            continue
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            added = [x for x in b if x not in a]
            removed = [x for x in a if x not in b]
            parts = []
            if added:
                parts.append("added " + ", ".join(map(str, added)))
            if removed:
                parts.append("removed " + ", ".join(map(str, removed)))
            if not parts:
                parts.append("reordered (ClassLabel ids change)")
            out.append(f"{key}: {'; '.join(parts)}")
        else:
            out.append(f"{key}: {a!r} -> {b!r}")
    return out

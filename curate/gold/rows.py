"""Document <-> Hugging Face row: the one converter between the data model and the dataset.

A row keeps typed columns for users (entities, quotes with their speaker and cue,
provenance) plus the exact ``meta`` and provenance (``source``) as JSON, so
``row_to_document(document_to_row(doc))`` gives back ``doc`` unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from datasets import Features

from curate.errors import DatasetError
from curate.model import (
    Annotation,
    Document,
    Entity,
    Prediction,
    Provenance,
    Quote,
    Span,
    provenance_from_dict,
)

if TYPE_CHECKING:
    from curate.schema import LabelSchema

_SECRET_KEY = re.compile(
    r"(^|_)(api_?key|token|access_token|refresh_token|password|passwd|secret|authorization|"
    r"cookie|session_?id)$",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """True for mapping keys that name credentials (``api_key``, ``hf_token``, ``password``)."""
    return bool(_SECRET_KEY.search(str(key)))


def scrub(obj: Any) -> Any:
    """A copy of ``obj`` without credential-like keys at any depth: nothing secret is shipped."""
    if isinstance(obj, Mapping):
        return {str(k): scrub(v) for k, v in obj.items() if not is_secret_key(str(k))}
    if isinstance(obj, list | tuple):
        return [scrub(v) for v in obj]
    return obj


def scrub_provenance(prov: Provenance | None) -> Provenance | None:
    """``prov`` without credential-like keys in what it keeps verbatim (``extra``)."""
    if isinstance(prov, Annotation) and prov.extra:
        return replace(prov, extra=scrub(prov.extra))
    return prov


def _span_row(span: Span | None) -> dict[str, Any] | None:
    return None if span is None else {"start": span.start, "end": span.end, "text": span.text}


def _span_of(d: Mapping[str, Any] | None) -> Span | None:
    return None if d is None else Span(int(d["start"]), int(d["end"]), str(d["text"]))


def document_to_row(
    doc: Document,
    schema: LabelSchema,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The row of ``doc`` with labels as strings (``Features.encode_example`` makes them ids).

    ``defaults`` fills provenance fields the document's provenance lacks (the release's
    ``project`` and ``snapshot``); the ``source`` column stays exactly the document's.
    """
    unknown = schema.unknown_entity_labels(doc.entities)
    if unknown:
        raise DatasetError(
            f"article {doc.id!r}: entity label(s) {', '.join(unknown)} are not in the label "
            f"schema ({', '.join(schema.entity_labels)}); fix the annotation or the label config"
        )
    source = scrub(doc.provenance.to_dict()) if doc.provenance else {}
    return {
        "id": doc.id,
        "text": doc.text,
        "hash": doc.hash,
        "entities": [
            {"start": e.start, "end": e.end, "text": e.text, "label": e.label} for e in doc.entities
        ],
        "quotes": [
            {
                "start": q.start,
                "end": q.end,
                "text": q.text,
                "fragments": [_span_row(f) for f in q.fragments],
                "kind": q.kind,
                "speaker": _span_row(q.speaker),
                "cue": _span_row(q.cue),
                "speaker_entity": _span_row(q.speaker_entity),
            }
            for q in doc.quotes
        ],
        "provenance": _with_defaults(provenance(doc.provenance), defaults or {}),
        "meta": json.dumps(scrub(doc.meta), ensure_ascii=False, sort_keys=True),
        "source": json.dumps(source, ensure_ascii=False, sort_keys=True),
    }


def row_to_document(row: Mapping[str, Any], features: Features) -> Document:
    """Rebuild the Document of a row as stored (ClassLabel ids or names both accepted)."""
    label_names = features["entities"].feature["label"]
    kind_names = features["quotes"].feature["kind"]

    def name(cl: Any, value: Any) -> str:
        return cl.int2str(value) if isinstance(value, int) else str(value)

    return Document(
        id=row["id"],
        text=row["text"],
        entities=tuple(
            Entity(e["start"], e["end"], name(label_names, e["label"]), e["text"])
            for e in row["entities"]
        ),
        quotes=tuple(
            Quote(
                q["start"],
                q["end"],
                q["text"],
                name(kind_names, q["kind"]),
                _span_of(q.get("speaker")),
                _span_of(q.get("cue")),
                _span_of(q.get("speaker_entity")),
                tuple(
                    Span(int(f["start"]), int(f["end"]), str(f["text"]))
                    for f in q.get("fragments") or ()
                ),
            )
            for q in row["quotes"]
        ),
        meta=json.loads(row["meta"] or "{}"),
        provenance=provenance_from_dict(json.loads(row["source"] or "{}")),
    )


def provenance(prov: Provenance | None) -> dict[str, Any]:
    """The typed ``provenance`` column of a gold row (Label Studio ids, people, times)."""
    if isinstance(prov, Annotation):
        return {
            "task_id": prov.task_id,
            "annotation_ids": list(prov.annotation_ids),
            "annotators": list(prov.annotators),
            "created_at": prov.created_at,
            "updated_at": prov.updated_at,
            "model_version": prov.model_version,
            "project": prov.project,
            "snapshot": prov.snapshot,
        }
    return {
        "task_id": None,
        "annotation_ids": [],
        "annotators": [],
        "created_at": None,
        "updated_at": None,
        "model_version": prov.model_version if isinstance(prov, Prediction) else None,
        "project": None,
        "snapshot": None,
    }


def _with_defaults(prov: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    for key in ("project", "snapshot"):
        if prov[key] is None and defaults.get(key) is not None:
            prov[key] = str(defaults[key])
    return prov

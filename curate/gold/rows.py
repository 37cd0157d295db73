"""Document <-> Hugging Face row: the one converter between the data model and the dataset.

A row keeps typed columns for users (entities, quotes with their speaker and cue,
provenance) plus the exact ``meta`` and ``source`` as JSON, so
``row_to_document(document_to_row(doc))`` gives back ``doc`` unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from datasets import Features

from curate.errors import DatasetError
from curate.model import Document, Entity, Quote, Span

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


def _span_row(span: Span | None) -> dict[str, Any] | None:
    return None if span is None else {"start": span.start, "end": span.end, "text": span.text}


def _span_of(d: Mapping[str, Any] | None) -> Span | None:
    return None if d is None else Span(int(d["start"]), int(d["end"]), str(d["text"]))


def document_to_row(
    doc: Document,
    entity_labels: tuple[str, ...] | list[str],
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The row of ``doc`` with labels as strings (``Features.encode_example`` makes them ids).

    ``defaults`` fills provenance fields the document's source lacks (the release's
    ``project`` and ``snapshot``); the ``source`` column stays exactly the document's.
    """
    unknown = sorted({e.label for e in doc.entities} - set(entity_labels))
    if unknown:
        raise DatasetError(
            f"article {doc.id!r}: entity label(s) {', '.join(unknown)} are not in the label "
            f"schema ({', '.join(entity_labels)}); fix the annotation or the label config"
        )
    source = scrub(doc.source)
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
        "provenance": _with_defaults(provenance(source), defaults or {}),
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
        source=json.loads(row["source"] or "{}"),
    )


def provenance(source: Mapping[str, Any]) -> dict[str, Any]:
    """Typed provenance from a gold ``Document.source`` (Label Studio ids, people, times).

    Accepts flat keys (``task_id``, ``annotation_ids``, ``annotators``, ``created_at``...)
    or a list of annotation dicts under ``annotations``; the full source stays in the
    ``source`` column whatever its shape.
    """
    anns = [a for a in source.get("annotations") or () if isinstance(a, Mapping)]
    ann_ids = _as_list(_first(source, "annotation_ids", "annotation_id"))
    if not ann_ids:
        ann_ids = [a.get("id") for a in anns]
    people = _as_list(_first(source, "annotators", "annotator", "completed_by"))
    if not people:
        people = [a.get("completed_by") or a.get("annotator") for a in anns]
    stamps = source.get("timestamps")
    stamps = stamps if isinstance(stamps, Mapping) else {}
    created = _first(source, "created_at") or stamps.get("created_at")
    updated = _first(source, "updated_at") or stamps.get("updated_at")
    if anns and not created:
        created = min((str(a["created_at"]) for a in anns if a.get("created_at")), default=None)
    if anns and not updated:
        updated = max((str(a["updated_at"]) for a in anns if a.get("updated_at")), default=None)
    return {
        "task_id": _int(_first(source, "task_id", "task")),
        "annotation_ids": [i for i in (_int(x) for x in ann_ids) if i is not None],
        "annotators": [_person(p) for p in people if p not in (None, "")],
        "created_at": _str(_earliest(created)),
        "updated_at": _str(_latest(updated)),
        "model_version": _str(_first(source, "model_version", "prediction_model_version")),
        "project": _str(_first(source, "project", "project_title", "project_id")),
        "snapshot": _str(_first(source, "snapshot", "snapshot_id")),
    }


def _with_defaults(prov: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    for key in ("project", "snapshot"):
        if prov[key] is None and defaults.get(key) is not None:
            prov[key] = str(defaults[key])
    return prov


def _first(d: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if d.get(k) not in (None, "", []):
            return d[k]
    return None


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list | tuple) else [v]


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _str(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, Mapping | list):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def _person(p: Any) -> str:
    if isinstance(p, Mapping):  # LS user objects: keep a stable handle, never a token
        return str(p.get("email") or p.get("username") or p.get("id"))
    return str(p)


def _earliest(v: Any) -> Any:
    return min(map(str, v)) if isinstance(v, list | tuple) and v else v


def _latest(v: Any) -> Any:
    return max(map(str, v)) if isinstance(v, list | tuple) and v else v

"""Records at the boundary: the one check of every article or document read from a file.

Every command that reads records (``ingest``, ``preannotate``, ``push``, ``evaluate``,
``export``, ``agreement``) passes them through :func:`article` or :func:`document`, so
the same bad record gets the same one-line answer everywhere. The wire shapes are typed
pydantic models; a record that fits becomes a :class:`~curate.model.Article` or
:class:`~curate.model.Document` (whose own checks tie spans to the text).

Refused, with the field named: a missing or non-scalar ``id``; ``text`` that is missing,
not a string, empty or whitespace only, or holds a NUL character or a lone surrogate
(which no UTF-8 file can hold); ``meta`` or ``source`` that is not an object; span
offsets that are not integers (``3.0`` and ``"3"`` are refused, not truncated); an entity
without a label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictInt,
    StrictStr,
    ValidationError,
)

from curate.errors import CurateError, InputError
from curate.io.jsonl import iter_jsonl
from curate.model import Article, Document


class RecordError(InputError):
    """A record (a JSONL line, a CSV row, a file) that is not a valid article or document."""


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _check_text(text: str) -> str:
    if not text.strip():
        raise ValueError("is empty or whitespace only; give the article text")
    m = _UNSTORABLE.search(text)
    if m and m.group() == "\x00":
        raise ValueError(f"holds a NUL character at {m.start()}; remove it")
    if m:
        raise ValueError(
            f"holds a lone surrogate ({m.group()!r} at {m.start()}), which UTF-8 cannot "
            "store; fix the text's encoding"
        )
    return text


def _check_id(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be a string or an integer, not {_kind(value)}")
    value = str(value)
    if not value.strip():
        raise ValueError("is empty; give every article a unique id")
    return value


def _none_is_empty(value: Any) -> Any:
    return {} if value is None else value


Text = Annotated[StrictStr, AfterValidator(_check_text)]
Id = Annotated[str, BeforeValidator(_check_id)]
Object = Annotated[dict[str, Any], BeforeValidator(_none_is_empty)]


class _Record(BaseModel):
    # Other fields pass through: article metadata, or fields newer curate versions add.
    model_config = ConfigDict(extra="allow", frozen=True)


class ArticleRecord(_Record):
    """An article line or row: ``id``, ``text``, optional ``meta`` object."""

    id: Id
    text: Text
    meta: Object = {}


class SpanRecord(_Record):
    """A span: integer code point offsets, end exclusive, and the text between them."""

    start: StrictInt
    end: StrictInt
    text: StrictStr


class EntityRecord(SpanRecord):
    label: Annotated[StrictStr, AfterValidator(lambda s: s if s else _fail("is empty"))]


class QuoteRecord(SpanRecord):
    kind: StrictStr | None = None
    speaker: SpanRecord | None = None
    cue: SpanRecord | None = None
    speaker_entity: SpanRecord | None = None


class DocumentRecord(ArticleRecord):
    """A document line (``curate preannotate``/``pull`` output, gold, predictions)."""

    entities: list[EntityRecord] | None = None
    quotes: list[QuoteRecord] | None = None
    source: Object = {}


def _fail(message: str) -> Any:
    raise ValueError(message)


# Fields of a document line that are annotations or provenance, not article metadata
# (``source`` only as an object: as a string it is an article's publisher).
_NOT_META = frozenset({"id", "text", "meta", "hash", "entities", "quotes"})


def article(obj: Any, where: str) -> Article:
    """The :class:`Article` of one record; RecordError (``where: field problem``) if bad.

    Fields besides ``id``, ``text`` and ``meta`` become metadata, except the annotations
    and provenance of a pre-annotated line (``entities``, ``quotes``, ``source``, ``hash``).
    """
    rec = _validate(ArticleRecord, obj, where)
    meta = dict(rec.meta)
    meta.update(
        {
            k: v
            for k, v in (rec.model_extra or {}).items()
            if k not in _NOT_META and not (k == "source" and isinstance(v, dict))
        }
    )
    return Article(rec.id, rec.text, meta)


def document(obj: Any, where: str) -> Document:
    """The :class:`Document` of one record; RecordError (``where: problem``) if bad."""
    _validate(DocumentRecord, obj, where)
    try:
        return Document.from_dict(obj)
    except CurateError as e:
        raise RecordError(f"{where}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise RecordError(f"{where}: not a curate document ({type(e).__name__}: {e})") from None


def iter_documents(
    path: str | Path, problems: list[str], start: int = 0, first_line: int = 1
) -> Iterator[tuple[int, Document]]:
    """``(line, Document)`` for each good line of a documents JSONL; bad lines go to
    ``problems`` (one line each, naming file and line) and reading goes on. ``start`` and
    ``first_line``: read from there on (:func:`curate.io.jsonl.iter_jsonl`)."""
    for lineno, obj in iter_jsonl(path, start, first_line):
        if isinstance(obj, InputError):
            problems.append(str(obj))
            continue
        try:
            yield lineno, document(obj, f"{path}:{lineno}")
        except RecordError as e:
            problems.append(str(e))


def unknown_labels(doc: Document, labels: Iterable[str]) -> str | None:
    """Why ``doc`` cannot be used with a config whose entity labels are ``labels``, or None."""
    unknown = sorted({e.label for e in doc.entities} - set(labels))
    if not unknown:
        return None
    return (
        f"article {doc.id!r} uses entity label(s) {', '.join(unknown)} that the label config "
        "lacks; map them in [entity_labels] of the mapping or add them to the config"
    )


def _validate(model: type[_Record], obj: Any, where: str) -> Any:
    if not isinstance(obj, Mapping):
        raise RecordError(f"{where}: expected an object, not {_kind(obj)}")
    try:
        return model.model_validate(obj)
    except ValidationError as e:
        raise RecordError(f"{where}: {_one_line(e, obj)}") from None


def _one_line(e: ValidationError, obj: Any) -> str:
    """The first problem of a validation error as ``'field' problem``, other counts after."""
    errors = e.errors(include_url=False)
    first = errors[0]
    loc = _loc(first["loc"])
    kind = first["type"]
    value = first.get("input")
    if kind == "missing":
        what = "is missing"
    elif kind == "value_error":
        what = str(first["ctx"]["error"])
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        what = f"must be an integer offset, not {_kind(value)} {value!r}"
    elif kind == "string_type":
        what = f"must be a string, not {_kind(value)}"
    elif kind in ("dict_type", "model_type"):
        what = f"must be an object, not {_kind(value)}"
    elif kind == "list_type":
        what = f"must be a list, not {_kind(value)}"
    else:
        what = first["msg"]
    rid = obj.get("id") if isinstance(obj, Mapping) else None
    about = f" (id {rid!r})" if isinstance(rid, str | int) and loc != "'id'" else ""
    more = f"; and {len(errors) - 1} more problem(s)" if len(errors) > 1 else ""
    return f"{loc} {what}{about}{more}"


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return f"'{out}'"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)

"""One extractor protocol and one registry of versioned names (``curate.quotes.v6``).

An :class:`Extractor` has a versioned ``name`` (its registry key), a ``version``, the
``tasks`` it predicts (entities, quotes), the spaCy components it needs
(``required_pipes``) and a batch call from parsed articles (spaCy ``Doc``) to one
:class:`Extraction` each. A changed
behaviour gets a new name beside the old one, so a score report or a Label Studio
prediction says exactly which extractor made it. Pre-annotation, evaluate's spec
resolution and the model version written to Label Studio all go through this registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, runtime_checkable

from curate.errors import CurateError
from curate.model import Entity, Quote

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from curate.schema import LabelSchema

Task = Literal["entities", "quotes"]
TASKS: tuple[Task, ...] = ("entities", "quotes")

# Modules whose extractors make up the default pipeline, in the order they run.
BUILTIN_MODULES: tuple[str, ...] = ("curate.extract.entities", "curate.extract.quotes")
# Every module that registers extractors (the trained quote extractors are not default).
_MODULES = (*BUILTIN_MODULES, "curate.extract.learned")


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one extractor found in one article.

    ``dropped`` counts predicted entity labels the label config has no label for (they
    are left out, never renamed by guess); it feeds the pre-annotation report.
    """

    entities: tuple[Entity, ...] = ()
    quotes: tuple[Quote, ...] = ()
    dropped: Mapping[str, int] = field(default_factory=dict)


@runtime_checkable
class Extractor(Protocol):
    """The protocol every extractor follows (rules, a learned model, an ML backend's model).

    ``name`` is the versioned registry key (``curate.quotes.v6``); ``version`` what reports
    and Label Studio predictions name: the name itself for rules, the name and the trained
    model for learned ones (``curate.quotes.hybrid.v3:NAME@VERSION``); ``required_pipes``
    the spaCy components the call reads. The call takes parsed articles and returns one
    :class:`Extraction` per doc, in order. An extractor with a model may also have a
    ``prepare(docs)`` method that runs the model over a batch before the call, and a
    ``replaces_pipes`` tuple naming spaCy components it stands in for (left out of the
    pipeline: a trained entity component replaces the spaCy model's ``ner``).
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def tasks(self) -> tuple[Task, ...]: ...

    @property
    def required_pipes(self) -> tuple[str, ...]: ...

    def __call__(self, docs: Sequence[Doc], schema: LabelSchema) -> list[Extraction]: ...


@dataclass(frozen=True)
class RuleExtractor:
    """An :class:`Extractor` made of a function over one parsed article (curate's rules).

    Its ``version`` is its name: the rules are the code. ``replaces`` names the extractors
    whose rules it changed: they are retired.
    """

    name: str
    tasks: tuple[Task, ...]
    required_pipes: tuple[str, ...]
    fn: Callable[[Doc, LabelSchema], Extraction] = field(repr=False)
    replaces: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        return self.name

    def __call__(self, docs: Sequence[Doc], schema: LabelSchema) -> list[Extraction]:
        return [self.fn(doc, schema) for doc in docs]


_REGISTRY: dict[str, Extractor] = {}
# Names whose rules changed -> what replaced them. Reports and predictions made with a
# retired name keep it, so they never pass for the new rules.
_RETIRED: dict[str, str] = {}
E = TypeVar("E", bound=Extractor)


def register(extractor: E) -> E:
    """Add ``extractor`` under its name; a name is registered once (retired names never).

    The names in its ``replaces`` (when it has one) are retired in its favour.
    """
    if extractor.name in _RETIRED:
        raise CurateError(f"extractor name {extractor.name!r} was retired; use a new name")
    known = _REGISTRY.get(extractor.name)
    if known is not None and known is not extractor:
        raise CurateError(f"an extractor named {extractor.name!r} is already registered")
    _REGISTRY[extractor.name] = extractor
    for old in getattr(extractor, "replaces", ()):
        _RETIRED[old] = extractor.name
    return extractor


def retired() -> dict[str, str]:
    """Retired name -> the name that replaced it."""
    _load_builtin()
    return dict(_RETIRED)


def get(name: str) -> Extractor:
    """The registered extractor ``name``; CurateError for retired or unknown names."""
    _load_builtin()
    if name in _RETIRED:
        raise CurateError(
            f"extractor {name!r} was retired when its rules changed; use {_RETIRED[name]!r} "
            f"(predictions and scores made with {name!r} keep that name)"
        )
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise CurateError(f"unknown extractor {name!r}; registered: {known}") from None


def names() -> list[str]:
    """Every registered name, sorted."""
    _load_builtin()
    return sorted(_REGISTRY)


def builtin() -> tuple[Extractor, ...]:
    """The default pipeline: the extractors of :data:`BUILTIN_MODULES` that import, in order.

    A missing module is left out (entities alone still work); a broken one fails loudly.
    """
    return tuple(m.EXTRACTOR for m in _load_builtin(BUILTIN_MODULES))


def model_version(spacy_version: str, extractors: Sequence[Extractor]) -> str:
    """Label Studio's ``model_version`` of a pipeline run: spaCy model + extractor versions.

    ``en_core_web_sm-3.8.0+curate.entities.v1+curate.quotes.v6``.
    """
    return "+".join([spacy_version, *(e.version for e in extractors)])


def _load_builtin(modules: Sequence[str] = _MODULES) -> list[ModuleType]:
    # Imported lazily so that importing curate never loads spaCy.
    loaded = []
    for mod in modules:
        try:
            loaded.append(importlib.import_module(mod))
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
    return loaded

"""Resolving an extractor spec to something that turns articles into predicted Documents.

A spec is one of (tried in this order):

- ``PATH.jsonl``: predictions already made, one ``Document`` dict per line (the
  ``curate preannotate`` output), matched to the gold articles by id;
- ``curate`` (or ``curate.pipeline``): the full pre-annotation pipeline, entities and
  quotes (:func:`curate.extract.preannotate.preannotate`);
- a registered extractor name such as ``curate.quotes.v6`` or ``curate.entities.v1``,
  run over the default spaCy model;
- a trained model (``curate train``): ``NAME``, ``NAME@VERSION`` under ``models/`` or its
  folder: the full pipeline with the hybrid quote extractor over that model;
- ``module:function``: a Python callable, see :data:`CALLABLE_PROTOCOL`;
- an installed spaCy model name or model folder: its ``doc.ents`` (entities only),
  mapped onto the label config like curate's own entities.

``NAME@MODEL`` runs ``curate``, a registered extractor or the pipeline over another
spaCy model (``curate.quotes.v6@en_core_web_sm``).
"""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate import extract
from curate.compact import Spilled, SpilledIndex
from curate.errors import CurateError, InputError, SpanError
from curate.extract import TASKS
from curate.model import Article, Document, Prediction
from curate.schema import LabelSchema, load_schema

PIPELINE_NAMES = ("curate", "curate.pipeline")

CALLABLE_PROTOCOL = """\
A callable extractor `module:function` takes one `curate.model.Article` and returns a
`curate.model.Document` or a dict in the pre-annotation format (`entities`: list of
{start, end, label, text}; `quotes`: list of {start, end, text, kind, speaker, cue,
speaker_entity, and `fragments` when the content is discontinuous}; `id` and `text` may
be left out). Offsets are code points into
`article.text`, end exclusive. Set `function.curate_batch = True` to get the whole
list of Articles at once and yield one result per article, in order. Set
`function.curate_tasks = ("entities",)` (or `("quotes",)`) when it predicts only one of
the two, so the other is not scored as all missed. `module` is imported with the
current folder on `sys.path`."""


@dataclass
class Resolved:
    """A resolved extractor spec: its name in reports, what it predicts and how to run it.

    ``kind`` says what the spec named: predictions, pipeline, registered, callable, spacy.
    """

    name: str
    kind: str
    tasks: tuple[str, ...]
    run: Callable[[Collection[Article]], Iterator[Document]] = field(repr=False)
    version: str | None = None
    notes: list[str] = field(default_factory=list)


def resolve(spec: str, schema: LabelSchema | None = None, *, ner_process: bool = False) -> Resolved:
    """Turn a spec (see the module docstring) into a :class:`Resolved` extractor.

    ``ner_process``: a pipeline spec runs its entity recognizer in a worker process
    (:mod:`curate.extract.ner_process`; same output, lower latency on two cores)."""
    spec = spec.strip()
    if not spec:
        raise CurateError("empty extractor name; pass e.g. curate, curate.quotes.v6 or a .jsonl")
    if spec.endswith(".parquet") and Path(spec).is_file():
        raise InputError(
            "is a Parquet file; evaluate reads JSONL predictions (`curate preannotate` "
            "without --format parquet)",
            path=spec,
        )
    if spec.endswith((".jsonl", ".ndjson")) or Path(spec).is_file():
        return _predictions(Path(spec))
    if Path(spec).is_dir():
        _not_a_shard_folder(Path(spec), spec)
    base, _, model = spec.partition("@")
    if base in PIPELINE_NAMES:
        return _pipeline(spec, model or None, schema, ner_process=ner_process)
    if base in extract.names() or base in extract.retired():
        return _registered(spec, base, model or None, schema)
    from curate.train.models import looks_like_model

    if looks_like_model(spec):
        return _pipeline(spec, None, schema, quote_model=spec, ner_process=ner_process)
    if ":" in spec and not Path(spec).exists():
        return _callable(spec)
    return _spacy(spec, schema)


#: Bad lines of a predictions file named in its error; the rest are counted.
BAD_LINES_SHOWN = 10


def _not_a_shard_folder(folder: Path, spec: str) -> None:
    """Raises InputError naming ``folder`` when it holds shards of ``curate preannotate
    --workers`` (or nothing at all, e.g. shards not written yet): neither is a model."""
    if any(folder.glob("part-*.jsonl")):
        raise InputError(
            "is a folder of shards from `curate preannotate --workers`; score them as one "
            f"file: cat {spec.rstrip('/')}/part-*.jsonl > predictions.jsonl",
            path=spec,
        )
    if any(folder.glob("part-*.parquet")):
        raise InputError(
            "is a folder of Parquet shards from `curate preannotate --workers --format "
            "parquet`; evaluate reads JSONL predictions: run preannotate without --format",
            path=spec,
        )
    if not any(folder.iterdir()):
        raise InputError(
            "is an empty folder; pass a predictions JSONL, an extractor name (curate, "
            "curate.quotes.v6) or a spaCy model folder",
            path=spec,
        )


def scored_on_training(spec: str, gold_info: dict[str, Any]) -> str | None:
    """A warning when ``spec`` names a trained model (``NAME``, ``NAME@VERSION``,
    ``curate@NAME``, ``curate.quotes.hybrid.v3@NAME``) whose training articles are among
    the gold articles scored, else None.

    The model's meta names the gold it was trained on (name and version); only a gold
    with its own train/dev splits keeps the model's training articles out of the splits
    other than ``train``. Scores on training articles are optimistic, so they are flagged,
    never refused.
    """
    from curate.train.models import find_model

    base, _, model = spec.partition("@")
    named = base in PIPELINE_NAMES or base in extract.names() or base in extract.retired()
    try:
        trained = find_model(model if named else spec)
    except (CurateError, ValueError):
        return None
    src = trained.meta.get("gold") or {}
    name, version, split = gold_info.get("name"), gold_info.get("version"), gold_info.get("split")
    if not name or src.get("name") != name or str(src.get("version")) != str(version):
        return None
    rule = str(src.get("dev_rule") or "")
    if rule.startswith("gold splits train/") and split not in (None, "train"):
        return None
    dev = rule.removeprefix("gold splits train/") if rule.startswith("gold splits") else None
    where = f"gold {name} {version}" + (f" split {split}" if split else "")
    fix = f"score --split {dev} or another gold" if dev else "score another gold"
    return (
        f"{spec}: model {trained.ref} was trained on {where}; its training articles are "
        f"among those scored, so these scores are optimistic: {fix}"
    )


def _predictions(path: Path) -> Resolved:
    if not path.is_file():
        raise InputError("predictions file not found; check the path", path=str(path))

    ex = Resolved(str(path), "predictions", TASKS, lambda a: iter(()))

    def run(articles: Collection[Article]) -> Iterator[Document]:
        """The file is read once to check it and note where each id's line is (the ids
        in a temporary database, the line numbers on disk past a chunk: memory does not
        grow with the articles), then each article's prediction is
        read from its line as the articles come (in one pass when the file is in the
        articles' order). ``articles`` is iterated once."""
        from curate.io.jsonl import line_starts
        from curate.io.records import iter_documents

        index, lines = SpilledIndex(), Spilled("q")  # on disk: memory stays flat
        doc: Document | None = None
        found: Document | None
        bad: list[str] = []
        for lineno, read in iter_documents(path, bad):
            index.append(read.id)
            lines.append(lineno)
        if bad:
            # The first few, as a screenful: a file that is not JSONL at all has a bad
            # "line" per line (a Parquet or binary file gave hundreds).
            more = (
                f"\n... and {len(bad) - BAD_LINES_SHOWN} more" if len(bad) > BAD_LINES_SHOWN else ""
            )
            raise InputError(
                f"{len(bad)} line(s) are not pre-annotation records; predictions must be "
                "`curate preannotate` output:\n" + "\n".join(bad[:BAD_LINES_SHOWN]) + more,
                path=str(path),
            )

        def line_of(i: int) -> int:
            return int(lines.read(i, i + 1)[0])

        for i, doc_id in index.repeated(keep="first"):
            ex.notes.append(f"{path}:{line_of(i)}: second prediction for {doc_id!r}; it is used")
        starts = line_starts(path)
        ahead = iter_documents(path, [])
        at, doc = 0, None  # the sequential reader's line and document
        stream = iter(articles)
        for a in stream:
            row = index.find(a.id)
            if row < 0:  # the articles are read once: count the others missing, then stop
                missing = 1 + sum(1 for b in stream if index.find(b.id) < 0)
                raise InputError(
                    f"has no predictions for {missing} of {len(articles)} gold articles "
                    f"(first: {a.id!r}); predict every gold article, e.g. `curate "
                    "preannotate` on the gold texts",
                    path=str(path),
                )
            want = line_of(row)
            if want < at:  # behind the sequential reader: read its line on its own
                start = int(starts.read(want - 1, want)[0])
                _, found = next(iter_documents(path, [], start, want))
            else:
                while at < want:
                    at, doc = next(ahead)
                found = doc
            if found is None or found.text != a.text:
                raise InputError(
                    f"article {a.id!r} was predicted on a different text (hash "
                    f"{found.hash if found else None}, gold {a.hash}); re-run the extractor "
                    "on the gold texts",
                    path=str(path),
                )
            yield found

    ex.run = run
    return ex


def _pipeline(
    name: str,
    model: str | None,
    schema: LabelSchema | None,
    quote_model: str | None = None,
    ner_process: bool = False,
) -> Resolved:
    try:
        from curate.extract.preannotate import preannotate
    except ImportError as e:
        raise CurateError(f"the pre-annotation pipeline is not available ({e})") from e

    ex = Resolved(name, "pipeline", TASKS, lambda a: iter(()))

    def run(articles: Collection[Article]) -> Iterator[Document]:
        from curate.extract.preannotate import PreannotateReport

        report = PreannotateReport()
        # One read of the articles for both (a gold set reads its source per iteration);
        # the copy ahead holds what the pipeline's batch has taken and not yet given.
        given, pending = itertools.tee(articles)
        made = preannotate(
            given,
            model=model,
            schema=schema,
            report=report,
            quote_model=quote_model,
            ner_process=ner_process,
        )
        # preannotate yields in the articles' order, leaving out those it could not do:
        # each document is passed on as it comes (a caller can show progress).
        for doc in made:
            ex.version = report.model_version or None
            for a in pending:
                if a.id == doc.id:
                    yield doc
                    break
                yield _missed(ex, name, a)
        ex.version = report.model_version or None
        for problem in report.problems:
            ex.notes.append(f"{name}: {problem}")
        for a in pending:
            yield _missed(ex, name, a)

    ex.run = run
    return ex


def _missed(ex: Resolved, name: str, article: Article) -> Document:
    """An article the pipeline gave no prediction for: scored as predicting nothing, so
    recall shows the loss; named in the notes."""
    ex.notes.append(f"{name}: no prediction for {article.id!r}; scored as empty")
    return Document.from_article(article, provenance=Prediction(name))


def _registered(name: str, base: str, model: str | None, schema: LabelSchema | None) -> Resolved:
    registered = extract.get(base)
    ex = Resolved(name, "registered", registered.tasks, lambda a: iter(()))

    def run(articles: Collection[Article]) -> Iterator[Document]:
        nlp, version = _load(model, registered.required_pipes)
        # A trained quote model names itself (curate.quotes.hybrid.v3:NAME@VERSION).
        ex.version = f"{registered.version}@{version}"
        yield from _extracted(ex, registered, nlp, articles, schema or load_schema())

    ex.run = run
    return ex


def _spacy(name: str, schema: LabelSchema | None) -> Resolved:
    import spacy.util

    if not (spacy.util.is_package(name) or Path(name).is_dir()):
        raise CurateError(
            f"unknown extractor {name!r}: not a predictions .jsonl, not `curate`, not a "
            f"registered extractor ({', '.join(extract.names())}), not a module:function "
            "and not an installed spaCy model or model folder"
        )
    from curate.extract.entities import EXTRACTOR as ENTITIES

    ex = Resolved(name, "spacy", ENTITIES.tasks, lambda a: iter(()))

    def run(articles: Collection[Article]) -> Iterator[Document]:
        nlp, version = _load(name, ENTITIES.required_pipes)
        ex.version = version
        yield from _extracted(ex, ENTITIES, nlp, articles, schema or load_schema())

    ex.run = run
    return ex


def _extracted(
    ex: Resolved,
    extractor: extract.Extractor,
    nlp: Any,
    articles: Collection[Article],
    schema: LabelSchema,
) -> Iterator[Document]:
    """One predicted Document per article from a registered extractor over ``nlp``."""
    for a, doc in _pipe(ex, nlp, articles):
        if doc is None:
            yield Document.from_article(a, provenance=_src(ex))
            continue
        (found,) = extractor([doc], schema)
        yield Document.from_article(
            a, entities=found.entities, quotes=found.quotes, provenance=_src(ex)
        )


def _callable(spec: str) -> Resolved:
    module_name, _, attr = spec.partition(":")
    if str(Path.cwd()) not in sys.path and "" not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise CurateError(
            f"extractor {spec!r}: cannot import module {module_name!r} ({e}); "
            "check the name and that it is importable from the current folder"
        ) from e
    fn: Any = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
    if not callable(fn):
        raise CurateError(f"extractor {spec!r}: {module_name} has no callable {attr!r}")
    tasks = tuple(getattr(fn, "curate_tasks", TASKS))
    if not set(tasks) <= set(TASKS) or not tasks:
        raise CurateError(f"extractor {spec!r}: curate_tasks must name entities and/or quotes")
    batch = bool(getattr(fn, "curate_batch", False))
    ex = Resolved(spec, "callable", tasks, lambda a: iter(()))

    def run(articles: Collection[Article]) -> Iterator[Document]:
        n = 0
        results: Iterator[Any] = iter(_guard(spec, None, fn, list(articles)) if batch else ())
        for a in articles:
            if batch:
                try:
                    out = _guard(spec, a, next, results)
                except StopIteration:
                    break
            else:
                out = _guard(spec, a, fn, a)
            n += 1
            yield _as_document(spec, a, out)
        if n != len(articles):
            raise CurateError(
                f"extractor {spec!r} returned {n} results for {len(articles)} articles; "
                "a batch extractor must yield one result per article, in order"
            )

    ex.run = run
    return ex


def _guard(spec: str, article: Article | None, call: Callable[..., Any], arg: Any) -> Any:
    """Call user code; its failure becomes one clear CurateError naming the article."""
    try:
        return call(arg)
    except (CurateError, StopIteration):
        raise
    except Exception as e:  # user code may raise anything; report it, do not crash
        on = f" on article {article.id!r}" if article is not None else ""
        raise CurateError(
            f"extractor {spec!r} failed{on}: {type(e).__name__}: {e}; fix the extractor"
        ) from e


def _pipe(ex: Resolved, nlp: Any, articles: Collection[Article]) -> Iterator[tuple[Article, Any]]:
    """(article, spaCy Doc) pairs; None for articles over the model's max_length (noted)."""
    limit = nlp.max_length
    ahead, behind = itertools.tee(articles)  # one read of the articles, as in _pipeline
    docs = iter(nlp.pipe(a.text for a in ahead if len(a.text) <= limit))
    for a in behind:
        if len(a.text) > limit:
            ex.notes.append(
                f"{ex.name}: article {a.id!r} is longer than the model's max_length "
                f"({limit} characters); scored as predicting nothing"
            )
            yield a, None
        else:
            yield a, next(docs)


def _as_document(spec: str, article: Article, out: Any) -> Document:
    where = f"extractor {spec!r} on article {article.id!r}"
    if isinstance(out, Document):
        doc = out
    elif isinstance(out, dict):
        row = {"id": article.id, "text": article.text, "meta": dict(article.meta), **out}
        try:
            doc = Document.from_dict(row)
        except SpanError as e:
            raise SpanError(f"{where}: {e}") from e
        except (KeyError, TypeError, ValueError) as e:
            raise CurateError(
                f"{where}: result is not in the pre-annotation format ({_why(e)})"
            ) from e
    else:
        raise CurateError(
            f"{where}: returned {type(out).__name__}; return a Document or a dict "
            "(see `curate evaluate --help`)"
        )
    if doc.id != article.id or doc.text != article.text:
        raise CurateError(f"{where}: returned a document with another id or text")
    return doc


def _load(model: str | None, required: Sequence[str]) -> Any:
    from curate.extract.nlp import load_model, pipes_to_exclude

    disable = pipes_to_exclude(model, required) if required else set()
    return load_model(model, disable)


def _src(ex: Resolved) -> Prediction:
    return Prediction(ex.version or ex.name)


def _why(e: BaseException) -> str:
    if isinstance(e, KeyError):
        return f"missing field {e.args[0]!r}"
    return str(e) or type(e).__name__

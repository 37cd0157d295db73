"""Pre-annotation: spaCy entities and curate's quotes for a stream of articles.

Articles stream through ``nlp.pipe`` in batches and come out as :class:`Document`
predictions one by one, so memory does not grow with the number of articles.
:func:`preannotate_file` writes them to JSONL as it goes and can resume a killed run.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from curate import extract
from curate.errors import CurateError, InputError
from curate.extract import Extractor
from curate.io.articles import IngestReport, Problem, iter_articles
from curate.io.jsonl import atomic_path, dumps
from curate.model import Article, Document, Prediction
from curate.schema import LabelSchema, load_schema

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

# Small batches: as fast as large ones with this model (measured 16/32/64 on PolNeAR),
# and spaCy's working memory peaks at half (~0.55 GB vs ~1.1 GB for 300 articles).
DEFAULT_BATCH_SIZE = 16
# Least articles per spaCy memory zone (a zone is at least one batch). What a zone adds to
# the vocab is freed when it closes; small zones keep a long run's memory flat
# (measured: ~480 MB at 50 articles a zone, growing past 900 MB without zones).
MIN_ZONE = 32


@dataclass
class PreannotateReport:
    """What a pre-annotation run did: counts, dropped entity labels, skipped records."""

    model_version: str = ""
    articles: int = 0
    entities: int = 0
    quotes: int = 0
    quote_kinds: Counter[str] = field(default_factory=Counter)
    dropped_labels: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    resumed: int = 0
    truncated_line: bool = False
    output: Path | None = None

    @property
    def skipped(self) -> int:
        return len(self.problems)

    def add(self, doc: Document, dropped: Mapping[str, int]) -> None:
        """Count one finished document and the entity labels dropped from it."""
        self.articles += 1
        self.entities += len(doc.entities)
        self.quotes += len(doc.quotes)
        self.quote_kinds.update(q.kind for q in doc.quotes)
        self.dropped_labels.update(dropped)

    def merge(self, other: PreannotateReport) -> None:
        """Add another run's counts (a Dask partition) to this one."""
        self.model_version = self.model_version or other.model_version
        self.articles += other.articles
        self.entities += other.entities
        self.quotes += other.quotes
        self.quote_kinds.update(other.quote_kinds)
        self.dropped_labels.update(other.dropped_labels)
        self.problems.extend(other.problems)


def pipeline(quotes: str | None = None, quote_model: str | None = None) -> tuple[Extractor, ...]:
    """The extractors of a run: the built-in ones (:func:`curate.extract.builtin`), their
    quote extractor replaced by a trained one when ``quotes`` names one or a
    ``quote_model`` (``NAME@VERSION`` or a folder, see ``curate train``) is given: the
    hybrid extractor, or the learned one when ``quotes`` says so; a ``quotes`` naming
    another version of the rules (``curate.quotes.v7``) takes the rules' place. A
    ``quote_model`` with an entity component also replaces the entity extractor
    (:class:`curate.extract.learned.TrainedEntities`); one without a quote component keeps
    the quote rules unless ``quotes`` names a trained extractor."""
    base = extract.builtin()
    rules = [e for e in base if "quotes" in e.tasks]
    if not rules or (quote_model is None and quotes in (None, *(e.name for e in rules))):
        return base
    named = extract.get(quotes) if quote_model is None and quotes is not None else None
    if isinstance(named, extract.RuleExtractor) and "quotes" in named.tasks:
        # Another version of the rules (``curate.quotes.v7``) in place of the default's.
        return tuple(named if "quotes" in e.tasks else e for e in base)
    from curate.extract.learned import (
        HYBRID_NAME,
        TrainedEntities,
        model_components,
        trained_quotes,
    )

    components = model_components(quote_model) if quote_model is not None else ("quotes",)
    out: list[Extractor] = list(base)
    if "entities" in components:
        assert quote_model is not None
        out = [TrainedEntities(quote_model) if "entities" in e.tasks else e for e in out]
    if "quotes" in components or quotes not in (None, *(e.name for e in rules)):
        trained = trained_quotes(quotes or HYBRID_NAME, quote_model)
        out = [e for e in out if "quotes" not in e.tasks] + [trained]
    return tuple(out)


def load_pipeline(
    model: str | Path | Language | None = None,
    extractors: Sequence[Extractor] | None = None,
    *,
    ner_process: bool = False,
) -> tuple[Language, str]:
    """The spaCy pipeline for pre-annotation (unneeded components left out) and its version.

    ``extractors`` defaults to the built-in ones (:func:`curate.extract.builtin`); the
    version names the spaCy model and each extractor. A model given by name or folder is
    loaded once per thread and reused; a loaded ``Language`` is used as it is. With
    ``ner_process`` the model's entity recognizer runs in a worker process beside the
    other components (:class:`curate.extract.ner_process.NerProcess`: same output, about
    half the latency on two cores) when the model allows it.
    """
    from curate.extract.nlp import cached_model, model_version, pipes_to_exclude

    extractors = extract.builtin() if extractors is None else tuple(extractors)
    if model is not None and not isinstance(model, str | Path):
        return model, extract.model_version(model_version(model), extractors)
    name = str(model) if model else None
    required = {p for e in extractors for p in e.required_pipes}
    exclude = pipes_to_exclude(name, required) | _replaced(name, extractors)
    # curate's own extractors read lemmas through curate.extract.nlp.lemma, which makes
    # them on demand: the pipeline's lemmatizer need not run over every token.
    lazy = all(_module(e).startswith("curate.") for e in extractors)
    nlp, version = cached_model(name, tuple(sorted(exclude)), lazy_lemmas=lazy)
    if ner_process:
        from curate.extract.ner_process import cached_ner_process

        split = cached_ner_process(name, exclude, lazy_lemmas=lazy)
        if split is not None:
            # Duck-typed: NerProcess offers what preannotate uses of a Language.
            return cast("Language", split), extract.model_version(version, extractors)
    return nlp, extract.model_version(version, extractors)


def _module(extractor: Extractor) -> str:
    """The module of a rule extractor's function, or of the extractor's class."""
    return str(getattr(getattr(extractor, "fn", extractor), "__module__", ""))


def _replaced(name: str | None, extractors: Sequence[Extractor]) -> set[str]:
    """Components of model ``name`` an extractor stands in for (``replaces_pipes``: a trained
    entity component sets ``doc.ents`` before the extractors after it read them), so the
    spaCy model's own are left out rather than run and overwritten."""
    from curate.extract.nlp import components

    replaced = {p for e in extractors for p in getattr(e, "replaces_pipes", ())}
    return replaced & set(components(name)[0]) if replaced else set()


def preannotate(
    articles: Iterable[Article],
    *,
    model: str | Path | Language | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
    schema: LabelSchema | None = None,
    report: PreannotateReport | None = None,
    quotes: str | None = None,
    quote_model: str | None = None,
    ner_process: bool = False,
) -> Iterator[Document]:
    """Yield one predicted :class:`Document` per article, streaming through ``nlp.pipe``.

    The provenance of each document is a :class:`Prediction` naming the spaCy model and
    the extractors (model version ``<spaCy model>-<version>+curate.entities.v1+
    curate.quotes.v6``); entity labels the config has no label for are counted in
    ``report.dropped_labels``. Articles that cannot be processed (too long for spaCy, an
    extractor error) are recorded in ``report.problems`` and skipped; the others go through.
    ``quotes`` and ``quote_model`` choose the quote extractor (see :func:`pipeline`). The
    provenance also carries the model's precision per entity label (its own evaluation,
    ``nlp.meta["performance"]``), which Label Studio shows as each entity region's score.
    ``ner_process`` runs the entity recognizer in a worker process (see
    :func:`load_pipeline`); ``n_process`` is then ignored.
    """
    schema = schema or load_schema()
    report = report if report is not None else PreannotateReport()
    from curate.extract.nlp import model_version

    extractors = pipeline(quotes, quote_model)
    nlp, version = load_pipeline(model, extractors, ner_process=ner_process)
    report.model_version = version
    trained = [e for e in extractors if hasattr(e, "entity_precision")]
    made_by = Prediction(
        version,
        tuple(e.version for e in extractors),
        model_version(nlp),
        # A trained entity component's own dev precision, else the spaCy package's.
        entity_precision=(
            cast(Any, trained[0]).entity_precision(schema)
            if trained
            else entity_precision(nlp, schema)
        ),
    )

    def fits(stream: Iterable[Article]) -> Iterator[tuple[str, Article]]:
        for a in stream:
            if len(a.text) > nlp.max_length:
                report.problems.append(
                    Problem(
                        a.id,
                        f"text has {len(a.text)} characters, more than spaCy's limit of "
                        f"{nlp.max_length}; split the article; skipped",
                    )
                )
                continue
            yield a.text, a

    def run(stream: Iterable[tuple[str, Article]]) -> Iterator[Document]:
        pairs = nlp.pipe(stream, as_tuples=True, batch_size=batch_size, n_process=n_process)
        for ex in extractors:
            prepare = getattr(ex, "prepare", None)
            if prepare is not None:
                pairs = _prepared(pairs, prepare, batch_size)
        for doc, article in pairs:
            result = _document(doc, article, schema, extractors, made_by, report)
            if result is not None:
                report.add(*result)
                yield result[0]

    if n_process != 1:
        # Worker processes are started per nlp.pipe call: one call for the whole stream.
        with quiet_workers():
            yield from run(fits(articles))
        return
    pending = fits(articles)
    while (first := next(pending, None)) is not None:
        # Lazy chunks: nothing is read ahead of what nlp.pipe asks for.
        zone = max(batch_size, MIN_ZONE)
        chunk = itertools.chain([first], itertools.islice(pending, zone - 1))
        with nlp.memory_zone():
            yield from run(chunk)


def entity_precision(nlp: Language, schema: LabelSchema) -> dict[str, float]:
    """``config label -> precision`` of the model's NER as its package measured it
    (``meta["performance"]["ents_per_type"][label]["p"]``); empty when it has no figures."""
    per_type = (nlp.meta.get("performance") or {}).get("ents_per_type") or {}
    return label_precision(per_type, schema)


def label_precision(per_type: Mapping[str, Any], schema: LabelSchema) -> dict[str, float]:
    """``config label -> precision`` from spaCy's ``ents_per_type`` scores (``{label: {"p":
    ...}}``), labels mapped onto ``schema``; the first label mapped to a config label wins."""
    out: dict[str, float] = {}
    for label, scores in sorted(per_type.items()):
        mapped = schema.map_entity(label)
        p = scores.get("p") if isinstance(scores, dict) else None
        if mapped is not None and isinstance(p, int | float):
            out.setdefault(mapped, round(float(p), 3))
    return out


class _Registration:
    """What ``multiprocessing.util.register_after_fork`` keeps a weak reference to."""


def _exit_quietly_on_interrupt(_: object) -> None:
    # A worker must end on Ctrl-C: spaCy's main process then waits for its workers, and
    # one still sending to its pipe would never end. One that ignores it (the command was
    # started in the background, where the shell has Ctrl-C ignored) keeps ignoring it.
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, lambda *_: sys.exit(130))


@contextlib.contextmanager
def quiet_workers() -> Iterator[None]:
    """Worker processes forked inside the block (spaCy's ``nlp.pipe(n_process=N)``) leave
    quietly on Ctrl-C, which the terminal sends to every process of the group (each
    printed a KeyboardInterrupt traceback, and spaCy warned W127); the main process gets
    the KeyboardInterrupt and reports it once. The queues that fed the workers are not
    waited for at exit after a failure (their feeder threads would block forever on a pipe
    no worker reads: the run hung after saying it was interrupted). A worker that dies
    before the main process sees an interrupt (killed, out of memory) is a CurateError,
    not click's "Aborted.". Uses
    ``multiprocessing.util.register_after_fork``, dropped when the block ends."""
    import gc
    import multiprocessing.queues
    import multiprocessing.util
    import warnings

    registration = _Registration()
    multiprocessing.util.register_after_fork(registration, _exit_quietly_on_interrupt)
    # spaCy's W127 ("not all worker processes completed") says what the interrupt or the
    # error raised here already says; it comes when spaCy's generator is closed, which may
    # be after this block (a catch_warnings here missed it), so the filter stays.
    warnings.filterwarnings("ignore", message=r".*\[W127\]")
    try:
        yield
    except BaseException as e:  # KeyboardInterrupt, GeneratorExit, a worker's death
        for obj in gc.get_objects():
            if isinstance(obj, multiprocessing.queues.Queue):
                obj.cancel_join_thread()
        if isinstance(e, EOFError):
            raise CurateError(
                "a worker process of --n-process ended before its work was done (killed, "
                "or out of memory?); run again with fewer processes"
            ) from e
        raise
    finally:
        del registration


def _prepared(
    pairs: Iterable[tuple[Doc, Article]], prepare: Callable[[list[Doc]], None], size: int
) -> Iterator[tuple[Doc, Article]]:
    """Let a quote extractor with a model run it over each batch of docs at once."""
    it = iter(pairs)
    while batch := list(itertools.islice(it, size)):
        # On failure each article is extracted alone, and its error reported there.
        with contextlib.suppress(Exception):
            prepare([doc for doc, _ in batch])
        yield from batch


def _document(
    doc: Doc,
    article: Article,
    schema: LabelSchema,
    extractors: Sequence[Extractor],
    made_by: Prediction,
    report: PreannotateReport,
) -> tuple[Document, Mapping[str, int]] | None:
    """The article's predicted Document and the entity labels dropped from it, counted."""
    from curate.extract.nlp import remember_text

    remember_text(doc, article.text)
    try:
        found = [ex([doc], schema)[0] for ex in extractors]
        dropped: Counter[str] = Counter()
        for f in found:
            dropped.update(f.dropped)
        predicted = Document.from_article(
            article,
            entities=tuple(e for f in found for e in f.entities),
            quotes=tuple(q for f in found for q in f.quotes),
            provenance=made_by,
        )
        return predicted, dropped
    except Exception as e:  # one bad article must not stop the stream; it is reported
        report.problems.append(
            Problem(article.id, f"extraction failed ({type(e).__name__}: {e}); skipped")
        )
        return None


def preannotate_file(
    source: str | Path,
    output: str | Path,
    *,
    resume: bool = False,
    model: str | Path | Language | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
    schema: LabelSchema | None = None,
    on_resume: Callable[[int], None] | None = None,
    on_article: Callable[[Document], None] | None = None,
    quotes: str | None = None,
    quote_model: str | None = None,
) -> PreannotateReport:
    """Pre-annotate ``source`` (a folder of .txt, a .jsonl or a .csv) into JSONL ``output``.

    Lines are ``Document.to_dict()``, written as they are made. Without ``resume`` the
    file appears only when the run finishes (nothing half-written on failure). With
    ``resume`` lines are appended to ``output``, ids already there are skipped, and a
    truncated last line left by a killed run is dropped and its article redone.

    Raises CurateError when ``output`` is ``source`` itself.
    """
    output = Path(output)
    if output.exists() and Path(source).exists() and output.samefile(source):
        # Without --resume it would be replaced by its own pre-annotation; with it, every
        # id is "done" already and nothing is written: neither is what anyone wants.
        raise CurateError(f"{output} is both the input and the output; write to another file (-o)")
    report = PreannotateReport(output=output)
    ingest = IngestReport(problems=report.problems)
    articles = _peek(iter_articles(source, ingest))  # a bad source fails before the model loads
    schema = schema or load_schema()
    done: set[str] = set()
    if resume:
        done, versions, report.truncated_line = read_done(output)
    nlp_version = load_pipeline(model, pipeline(quotes, quote_model))[1]
    if resume and versions - {nlp_version}:
        raise CurateError(
            f"{output} was written by {', '.join(sorted(versions - {nlp_version}))}, this run "
            f"uses {nlp_version}; write to another file or rerun without --resume"
        )
    report.resumed = len(done)
    if on_resume:
        on_resume(len(done))
    todo = (a for a in articles if a.id not in done)
    docs = preannotate(
        todo,
        model=model,
        batch_size=batch_size,
        n_process=n_process,
        schema=schema,
        report=report,
        quotes=quotes,
        quote_model=quote_model,
    )
    if resume:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("a", encoding="utf-8", newline="\n") as fh:
            _write(fh, docs, on_article, flush=True)
    else:
        with atomic_path(output) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as fh:
            written = _write(fh, docs, on_article, flush=False)
            if not written and not report.problems:  # an empty file must not replace one
                raise InputError(
                    f"nothing to write: it holds no article; {output} left as it was",
                    path=str(source),
                )
            if not written:
                # Every article was bad: an empty file must not replace a good one.
                raise InputError(
                    f"nothing to write: every article was skipped ({len(report.problems)} "
                    f"skipped; the first: {str(report.problems[0]).removesuffix('; skipped')}); "
                    f"{output} left as it was"
                )
    return report


def _write(
    fh: IO[str],
    docs: Iterable[Document],
    on_article: Callable[[Document], None] | None,
    *,
    flush: bool,
) -> int:
    n = 0
    for doc in docs:
        n += 1
        fh.write(dumps(doc.to_dict()) + "\n")
        if flush:
            # A killed run then loses at most the line being written.
            fh.flush()
        if on_article:
            on_article(doc)
    return n


def read_done(output: Path) -> tuple[set[str], set[str], bool]:
    """Ids and model versions already in ``output``; cut off a truncated last line.

    Returns ``(ids, model_versions, truncated)``. Only the last line may be broken (a
    killed run); a broken line before it means the file is not curate output.
    """
    if not output.exists():
        return set(), set(), False
    ids: set[str] = set()
    versions: set[str] = set()
    with output.open("r+b") as fh:
        good = 0
        for lineno, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                # The unterminated tail of a killed run: drop it, its article is redone.
                fh.truncate(good)
                return ids, versions, True
            good += len(raw)
            if not raw.strip():
                continue
            try:
                row = _loads(raw)
                ids.add(str(row["id"]))
            except (ValueError, KeyError, TypeError) as e:
                raise InputError(
                    f"is not a line curate preannotate wrote ({e}); fix or remove it, or "
                    "rerun without --resume",
                    path=str(output),
                    line=lineno,
                ) from None
            source = row.get("source")
            if isinstance(source, dict) and source.get("model_version"):
                versions.add(str(source["model_version"]))
    return ids, versions, False


def count_articles(source: str | Path) -> int:
    """How many articles ``source`` holds (for a progress bar); reads it once, no NLP."""
    return sum(1 for _ in iter_articles(source, IngestReport()))


def _loads(raw: bytes) -> dict[str, Any]:
    row = json.loads(raw.decode("utf-8"))
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    return row


def _peek(it: Iterator[Article]) -> Iterator[Article]:
    first = next(it, None)
    return itertools.chain([first], it) if first is not None else iter(())


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "PreannotateReport",
    "count_articles",
    "load_pipeline",
    "pipeline",
    "preannotate",
    "preannotate_file",
    "read_done",
]

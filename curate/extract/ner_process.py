"""Run a spaCy pipeline's NER in a second process, beside its other components.

In ``en_core_web_sm`` the entity recognizer has its own embedding layer and reads only
one thing the other components write, yet it takes about half of the pipeline's time
(measured on PolNeAR dev: tok2vec 47 ms, parser 37 ms, ner 90 ms of ~200 ms an article).
A spaCy pipeline runs on one core, so on a machine with two cores one article's latency
falls when the recognizer runs in a worker process on the same text while this process
runs the rest. :class:`NerProcess` does that for
:func:`curate.extract.preannotate.preannotate` (``curate serve`` uses it).

The output is the same as running the whole pipeline in one process. Both processes load
the same model, so they split the text into the same tokens. The one thing the recognizer
reads from the others is the sentence starts the parser sets: its greedy decoder never
continues an entity into a new sentence (spaCy's ``BiluoPushDown`` move validity). The
worker has no parser, so its choices are the unconstrained ones; where none of its
entities crosses a sentence start of this process's parse, every move it took was valid
under the constraint too and the result is identical; where one crosses, the doc's
entities are recomputed here by the recognizer on the parsed doc (:attr:`recomputed`
counts them; 2 of 84 PolNeAR dev articles).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import multiprocessing.process
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from curate.errors import CurateError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

NER = "ner"
EntityOffsets = list[tuple[int, int, str]]
"""One doc's entities: (first token, token after the last, label)."""

ZONE_TEXTS = 256
"""Texts a memory zone of the serving path holds (in each process) before it is closed."""

_worker_nlp: Any = None
_worker_zone = contextlib.ExitStack()
_worker_zone_texts = 0
_local = threading.local()


def cached_ner_process(
    name: str | None, exclude: Iterable[str], *, lazy_lemmas: bool = False
) -> NerProcess | None:
    """Model ``name`` without the components in ``exclude``, its ``ner`` in a worker
    process; once per thread (as :func:`curate.extract.nlp.cached_model`, which gets
    ``lazy_lemmas``). None when the split would change the output: no ``ner`` kept,
    ``ner`` listening to a shared embedding, or a component after ``ner`` (it may read
    the entities)."""
    from curate.extract.nlp import components, default_model, load_model, unneeded_pipes

    name = name or default_model()
    pipes, listeners = components(name)
    kept = [p for p in pipes if p not in set(exclude)]
    if not kept or kept[-1] != NER or any(NER in v for v in listeners.values()):
        return None
    key = (name, tuple(sorted(exclude)), lazy_lemmas)
    cache = _local.__dict__.setdefault("pipelines", {})
    if key not in cache:
        # Its own pipeline, not cached_model's: its memory zones outlive a call (see
        # NerProcess.memory_zone), so no other code may make docs with it.
        nlp, _ = load_model(name, exclude, lazy_lemmas=lazy_lemmas)
        worker_exclude = sorted(unneeded_pipes(pipes, {NER}, listeners) | set(exclude))
        cache[key] = NerProcess(nlp, name, worker_exclude)
    return cache[key]


class NerProcess:
    """``nlp`` run without its ``ner`` here, and with only its ``ner`` in a worker process.

    Offers what :func:`~curate.extract.preannotate.preannotate` uses of a spaCy
    ``Language``: :meth:`pipe`, ``memory_zone``, ``max_length``, ``meta``, ``lang``,
    ``pipe_names``. ``model`` is the name or folder both processes load; ``worker_exclude``
    lists the components the worker leaves out (all but ``ner`` and what it needs). The
    worker starts on first use (``spawn``: safe from threads; a script calling this needs
    the usual ``if __name__ == "__main__":`` guard) and stops with :meth:`close`, at
    interpreter exit, or when this process is gone (its end of the pipe closes).

    The texts go to the worker and its entities come back over one pipe, written and read
    by the calling thread itself: a ``ProcessPoolExecutor`` hands both through helper
    threads, which wait for the GIL while this thread runs the pipeline (measured: the
    worker started a median 6 ms, at worst 41 ms, after the submit; 0.2 ms over the pipe).
    One thread uses an instance (:func:`cached_ner_process` keeps one per thread).
    """

    def __init__(self, nlp: Language, model: str, worker_exclude: Sequence[str]) -> None:
        self.nlp = nlp
        self.model = model
        self.worker_exclude = tuple(worker_exclude)
        self.recomputed = 0
        self.worker_cpu = 0.0
        """CPU seconds the worker spent on the last batch (its process time)."""
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._zone: contextlib.ExitStack | None = None
        self._zone_texts = 0

    def __getattr__(self, name: str) -> Any:
        # Everything else (meta, lang, max_length, memory_zone, vocab) is the main pipeline's.
        return getattr(self.nlp, name)

    @contextlib.contextmanager
    def memory_zone(self) -> Iterator[None]:
        """The main pipeline's memory zone, held open over calls until :data:`ZONE_TEXTS`
        texts went through :meth:`pipe`, then closed at the end of the block.

        ``curate serve`` predicts one article a call: in a zone of its own each call made
        every word's vocabulary entry anew (measured: the tokenizer took 10 ms an article
        that way, 5.4 ms with a zone over earlier articles). As with spaCy's zones, a doc
        is not to be used after its block; the vocabulary stays bounded. This pipeline is
        used by nobody else (:func:`cached_ner_process` loads its own), so no other doc
        lives in the zone (a doc :meth:`pipe` makes outside a block while the zone is held
        belongs to it too). The worker holds its zones the same way.
        """
        if self._zone is None:
            zone = contextlib.ExitStack()
            zone.enter_context(self.nlp.memory_zone())
            self._zone, self._zone_texts = zone, 0
        try:
            yield
        finally:
            if self._zone_texts >= ZONE_TEXTS:
                self._close_zone()

    def _close_zone(self) -> None:
        zone, self._zone = self._zone, None
        if zone is not None:
            zone.close()

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def _connect(self) -> Connection:
        if self._conn is None:
            ctx = multiprocessing.get_context("spawn")
            here, there = ctx.Pipe()
            process = ctx.Process(
                target=_serve,
                args=(there, self.model, self.worker_exclude),
                name="curate-ner",
                daemon=True,  # stopped at interpreter exit, as a pool's workers are
            )
            process.start()
            there.close()  # the worker's end lives in the worker: its death is an EOF here
            self._process, self._conn = process, here
        return self._conn

    def submit(self, texts: list[str]) -> None:
        """Send ``texts`` to the worker's recognizer; :meth:`result` gives its entities."""
        try:
            self._connect().send(texts)
        except OSError as e:
            self.close()
            raise CurateError(f"the entity recognizer's worker process is gone ({e})") from e

    def result(self) -> list[EntityOffsets]:
        """The entities of the texts last sent, one list per text (blocks until they come).

        Raises CurateError when the worker failed on them or stopped (a later call starts
        a new worker)."""
        assert self._conn is not None, "result() without submit()"
        try:
            status, value, self.worker_cpu = self._conn.recv()
        except (EOFError, OSError) as e:
            code = self._process.exitcode if self._process is not None else None
            self.close()
            raise CurateError(
                f"the entity recognizer's worker process stopped (exit code {code}); the "
                "next call starts a new one"
            ) from e
        if status != "ok":
            raise CurateError(f"the entity recognizer's worker process failed: {value}")
        return value

    def warm_up(self) -> None:
        """Start the worker and load its model now (blocks until it is ready)."""
        self.submit(["Ready."])
        self.result()

    def close(self) -> None:
        """Stop the worker process (a later call starts a new one); close the memory zone."""
        self._close_zone()
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            conn.close()  # the worker reads an EOF and leaves
        if process is not None:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)

    def pipe(
        self, stream: Iterable[Any], *, as_tuples: bool = False, batch_size: int = 16, **_: Any
    ) -> Iterator[Any]:
        """Like ``Language.pipe`` (``n_process`` is ignored: the split is the parallelism).

        Each batch of texts goes to the worker's recognizer while this process runs the
        other components on it; the entities are then set on the docs. Raises what either
        pipeline raises.
        """
        it = iter(stream)
        ner = self.nlp.get_pipe(NER)
        while batch := list(itertools.islice(it, max(1, batch_size))):
            texts = [b[0] for b in batch] if as_tuples else batch
            self._zone_texts += len(texts)
            self.submit(texts)
            try:
                docs = list(self.nlp.pipe(texts, batch_size=len(texts), disable=[NER]))
            except BaseException:
                with contextlib.suppress(CurateError):
                    self.result()  # the answer is read, so the next batch gets its own
                raise
            for doc, ents in zip(docs, self.result(), strict=True):
                if crosses_sentence(doc, ents):
                    self.recomputed += 1
                    ner(doc)
                else:
                    set_entities(doc, ents)
            yield from zip(docs, (b[1] for b in batch), strict=True) if as_tuples else docs


def crosses_sentence(doc: Doc, ents: EntityOffsets) -> bool:
    """True when an entity (token start, token end, label) runs over a sentence start of
    ``doc`` (a token after its first one starts a sentence)."""
    return any(doc[i].is_sent_start for s, e, _ in ents for i in range(s + 1, e))


def set_entities(doc: Doc, ents: EntityOffsets) -> None:
    """Set ``doc.ents`` from (token start, token end, label); other tokens are outside."""
    from spacy.tokens import Span

    doc.set_ents([Span(doc, s, e, label=label) for s, e, label in ents], default="outside")


def close_cached() -> None:
    """Stop the worker processes of the pipelines cached in this thread."""
    for split in _local.__dict__.pop("pipelines", {}).values():
        split.close()


def _serve(conn: Connection, model: str, exclude: Sequence[str]) -> None:
    """The worker: load the model without ``exclude``, then answer each list of texts
    with ``("ok", entities, cpu)`` or ``("error", message, cpu)`` (``cpu``: the seconds of
    process time it took) until the parent's end closes."""
    global _worker_nlp
    from curate.extract.nlp import load_model

    # Ctrl-C reaches the whole process group: the parent decides when the worker stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _worker_nlp = load_model(model, exclude)[0]
    except Exception as e:  # said to the parent, which raises it
        _answer(conn, ("error", f"{type(e).__name__}: {e}", 0.0))
        return
    # The model stays for the worker's life: keep full collections from walking it.
    gc.freeze()
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):
            return
        cpu = time.process_time()
        value: list[EntityOffsets] | str
        try:
            status, value = "ok", _entities(texts)
        except Exception as e:  # one bad batch must not end the worker; the parent raises
            status, value = "error", f"{type(e).__name__}: {e}"
        if not _answer(conn, (status, value, time.process_time() - cpu)):
            return


def _answer(conn: Connection, answer: tuple[str, Any, float]) -> bool:
    try:
        conn.send(answer)
    except OSError:  # the parent is gone
        return False
    return True


def _entities(texts: list[str]) -> list[EntityOffsets]:
    """The worker's entities for ``texts``, in a memory zone held over calls until
    :data:`ZONE_TEXTS` texts went through it (see :meth:`NerProcess.memory_zone`)."""
    global _worker_zone_texts
    nlp = _worker_nlp
    if _worker_zone_texts == 0:
        _worker_zone.enter_context(nlp.memory_zone())
    _worker_zone_texts += len(texts)
    try:
        return [
            [(e.start, e.end, e.label_) for e in doc.ents]
            for doc in nlp.pipe(texts, batch_size=len(texts))
        ]
    finally:
        if _worker_zone_texts >= ZONE_TEXTS:
            _worker_zone.close()
            _worker_zone_texts = 0

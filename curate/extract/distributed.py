"""Pre-annotation on a Dask cluster: partitions of articles, one shard file each.

The client reads the source and sends partitions of ``partition_size`` articles to the
workers; each worker loads the spaCy model once (per worker thread) and returns the
documents, which the client writes to ``OUT.d/part-00000.jsonl`` (or ``.parquet``) with
a done-marker ``part-00000.done`` beside it. Only the client touches files, so workers
need no shared filesystem. Concatenating the shards in name order gives exactly the
single-process output. A rerun skips shards whose marker matches the partition's
articles; failed partitions are retried by Dask and then reported, and a rerun redoes them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curate.errors import CurateError, InputError
from curate.extract.preannotate import DEFAULT_BATCH_SIZE, PreannotateReport, preannotate
from curate.io.articles import IngestReport, iter_articles
from curate.io.jsonl import atomic_path, atomic_writer, dumps, read_jsonl
from curate.model import Article
from curate.schema import LabelSchema, load_schema

if TYPE_CHECKING:
    from distributed import Client

FORMATS = ("jsonl", "parquet")
DEFAULT_PARTITION_SIZE = 100

# A partition function: (articles, model, batch_size, schema) -> (rows, report).
Runner = Callable[..., tuple[list[dict[str, Any]], PreannotateReport]]


@dataclass
class DistributedResult:
    """What a distributed run did; ``report`` sums the partitions run this time."""

    out_dir: Path
    report: PreannotateReport
    partitions: int = 0
    written: int = 0
    skipped_shards: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)


def shard_dir(output: str | Path) -> Path:
    """``OUT.jsonl`` -> ``OUT.d``; a path already ending in ``.d`` is used as it is."""
    output = Path(output)
    return output if output.suffix == ".d" else output.with_suffix(".d")


def shard_path(out_dir: Path, index: int, shard_format: str = "jsonl") -> Path:
    return out_dir / f"part-{index:05d}.{shard_format}"


def run_partition(
    articles: list[Article],
    model: str | None,
    batch_size: int,
    schema: LabelSchema,
) -> tuple[list[dict[str, Any]], PreannotateReport]:
    """Runs on a worker: pre-annotate one partition with the worker's cached model."""
    report = PreannotateReport()
    docs = preannotate(articles, model=model, batch_size=batch_size, schema=schema, report=report)
    return [d.to_dict() for d in docs], report


def preannotate_distributed(
    source: str | Path,
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Client | None = None,
    partition_size: int = DEFAULT_PARTITION_SIZE,
    model: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    schema: LabelSchema | None = None,
    shard_format: str = "jsonl",
    retries: int = 2,
    on_partition: Callable[[int], None] | None = None,
    runner: Runner = run_partition,
) -> DistributedResult:
    """Pre-annotate ``source`` on Dask into shards under ``out_dir``.

    The cluster is ``client`` if given, else the scheduler at ``scheduler``, else a
    local cluster of ``workers`` processes (one thread each) started and stopped here.
    ``on_partition(n)`` is called with the article count of each finished or skipped
    partition.
    """
    if shard_format not in FORMATS:
        raise CurateError(f"unknown shard format {shard_format!r}; use one of {', '.join(FORMATS)}")
    if shard_format == "parquet":
        _pyarrow()
    out_dir = Path(out_dir)
    schema = schema or load_schema()
    report = PreannotateReport(output=out_dir)
    ingest = IngestReport(problems=report.problems)
    articles = iter_articles(source, ingest)
    first = next(articles, None)  # a bad source fails before a cluster starts
    if first is None:
        # Refuse rather than treat every existing shard as stale and delete it.
        why = f"; first problem: {report.problems[0]}" if report.problems else ""
        raise InputError(f"holds no article curate can read{why}", path=str(source))
    stream = itertools.chain([first], articles)
    run_id = uuid.uuid4().hex[:8]
    result = DistributedResult(out_dir, report)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _connect(client, scheduler, workers) as cl:
        from distributed import as_completed

        window = max(2, 2 * _n_workers(cl))
        pending = as_completed()
        inflight: dict[Any, tuple[int, str, int]] = {}
        for index, part in enumerate(_partitions(stream, partition_size)):
            result.partitions += 1
            fp = _fingerprint(part, model, shard_format)
            if _finished(out_dir, index, fp, shard_format):
                result.skipped_shards += 1
                report.resumed += len(part)
                if on_partition:
                    on_partition(len(part))
                continue
            fut = cl.submit(
                runner,
                part,
                model,
                batch_size,
                schema,
                # Unique per run: a key Dask still remembers from an earlier (failed)
                # run must not hand back that run's result.
                key=f"curate-preannotate-{index:05d}-{run_id}",
                retries=retries,
                pure=False,
            )
            inflight[fut] = (index, fp, len(part))
            pending.add(fut)
            while len(inflight) >= window:
                _collect(next(pending), inflight, result, shard_format, on_partition)
        for fut in pending:
            _collect(fut, inflight, result, shard_format, on_partition)
    _remove_stale(out_dir, result.partitions)
    return result


def read_shards(out_dir: str | Path) -> Iterator[dict[str, Any]]:
    """The document rows of all finished shards in order, from JSONL or Parquet shards."""
    out_dir = Path(out_dir)
    for marker in sorted(out_dir.glob("part-*.done")):
        info = json.loads(marker.read_text(encoding="utf-8"))
        shard = out_dir / info["shard"]
        if shard.suffix == ".parquet":
            yield from _read_parquet(shard)
        else:
            yield from (row for _, row in read_jsonl(shard))


def _collect(
    fut: Any,
    inflight: dict[Any, tuple[int, str, int]],
    result: DistributedResult,
    shard_format: str,
    on_partition: Callable[[int], None] | None,
) -> None:
    index, fp, n = inflight.pop(fut)
    if fut.status != "finished":
        err = fut.exception()
        result.failed.append((index, f"{type(err).__name__}: {err}"))
        fut.release()
        return
    rows, part_report = fut.result()
    fut.release()
    _write_shard(result.out_dir, index, rows, shard_format)
    for other in set(FORMATS) - {shard_format}:
        # A shard left from a run in the other format is no longer part of the output.
        shard_path(result.out_dir, index, other).unlink(missing_ok=True)
    marker = {
        "shard": shard_path(result.out_dir, index, shard_format).name,
        "fingerprint": fp,
        "articles": n,
        "documents": len(rows),
        "model_version": part_report.model_version,
        "skipped": [str(p) for p in part_report.problems],
    }
    with atomic_writer(result.out_dir / f"part-{index:05d}.done") as fh:
        fh.write(json.dumps(marker, ensure_ascii=False, indent=1) + "\n")
    result.report.merge(part_report)
    result.written += 1
    if on_partition:
        on_partition(n)


def _write_shard(out_dir: Path, index: int, rows: list[dict], shard_format: str) -> None:
    path = shard_path(out_dir, index, shard_format)
    if shard_format == "jsonl":
        with atomic_writer(path) as fh:
            fh.writelines(dumps(r) + "\n" for r in rows)
        return
    pa, pq = _pyarrow()
    table = pa.Table.from_pylist([_flat(r) for r in rows], schema=_arrow_schema(pa))
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _finished(out_dir: Path, index: int, fp: str, shard_format: str) -> bool:
    marker = out_dir / f"part-{index:05d}.done"
    if not marker.exists() or not shard_path(out_dir, index, shard_format).exists():
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") == fp
    except (OSError, ValueError):
        return False


def _remove_stale(out_dir: Path, partitions: int) -> None:
    """Shards past the last partition (the source shrank) must not be read as output."""
    for path in out_dir.glob("part-*.*"):
        stem = path.name.split(".")[0]
        try:
            index = int(stem.removeprefix("part-"))
        except ValueError:
            continue
        if index >= partitions:
            path.unlink()


def _partitions(articles: Iterator[Article], size: int) -> Iterator[list[Article]]:
    while part := list(itertools.islice(articles, size)):
        yield part


def _fingerprint(part: list[Article], model: str | None, shard_format: str) -> str:
    """Changes when the partition's articles, their texts, the model or the format change."""
    h = hashlib.sha256(f"{model or 'default'}\0{shard_format}\0".encode())
    for a in part:
        h.update(f"{a.id}\0{a.hash}\0{dumps(dict(a.meta))}\0".encode())
    return h.hexdigest()


@contextmanager
def _connect(client: Client | None, scheduler: str | None, workers: int | None) -> Iterator[Client]:
    if client is not None:
        yield client
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise CurateError(
            "Dask is not installed; run `pip install 'curate[dask]'` (dask[distributed])"
        ) from e
    if scheduler:
        try:
            cl = Client(scheduler, timeout="20s")
        except OSError as e:
            raise CurateError(
                f"cannot reach the Dask scheduler at {scheduler} ({e}); check the address "
                "and that the scheduler is running"
            ) from e
        with cl:
            yield cl
        return
    # The local cluster logs nothing below CRITICAL: on Ctrl-C, Dask's warnings about
    # cancelled tasks and workers killed after 4 s, and a busy worker's heartbeat errors
    # once the scheduler is gone, buried the one line saying which shards are kept; a
    # task's failure still comes back to the client as an error.
    with _sigint_held():
        cluster = LocalCluster(
            n_workers=workers or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # No dashboard; the scheduler's own HTTP routes on a free local port (by
            # default 8787, with a warning when another cluster has it).
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,
            preload=[__name__],  # dask_setup below, in each worker process
        )
    with cluster, Client(cluster) as cl:
        yield cl


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Ignore Ctrl-C while the local cluster starts its worker processes.

    A process started while SIGINT is ignored keeps it ignored (fork and exec keep an
    ignored disposition, and Python then installs no KeyboardInterrupt handler), so a
    worker never sees the terminal's Ctrl-C, not even while it imports, before
    :func:`dask_setup` runs: a Ctrl-C then gave each starting worker a KeyboardInterrupt
    traceback from its imports and the cluster an AssertionError closing a worker that
    never started. The price: a Ctrl-C in those few seconds is not seen; press it again
    once the progress bar moves. Nothing changes outside the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def dask_setup(worker: object) -> None:
    """Dask's preload hook, run in each worker process of the local cluster curate starts:
    the worker ignores Ctrl-C, which the terminal sends to the whole process group (each
    worker printed a KeyboardInterrupt traceback); the command's own process gets it,
    says which shards are kept and closes the cluster, which stops the workers. (Workers
    started later, a restart after a crash, are outside :func:`_sigint_held`.)"""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _n_workers(cl: Client) -> int:
    try:
        return max(1, len(cl.scheduler_info().get("workers", {})))
    except (OSError, KeyError, TypeError):
        return 1


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise CurateError("Parquet shards need pyarrow; run `pip install pyarrow`") from e
    return pa, pq


def _arrow_schema(pa: Any) -> Any:
    span = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("text", pa.string())])
    entity = pa.struct(
        [("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()), ("text", pa.string())]
    )
    quote = pa.struct(
        [
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("text", pa.string()),
            ("kind", pa.string()),
            ("speaker", span),
            ("speaker_entity", span),
            ("cue", span),
            # a quote's content fragments; null for a quote of one fragment (its span)
            ("fragments", pa.list_(span)),
        ]
    )
    # meta and source hold free-form JSON, kept as JSON text so every shard has one schema.
    return pa.schema(
        [
            ("id", pa.string()),
            ("text", pa.string()),
            ("meta", pa.string()),
            ("entities", pa.list_(entity)),
            ("quotes", pa.list_(quote)),
            ("source", pa.string()),
        ]
    )


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "meta": dumps(row["meta"]), "source": dumps(row["source"])}


def _read_parquet(path: Path) -> Iterator[dict[str, Any]]:
    _, pq = _pyarrow()
    try:
        rows = pq.read_table(path).to_pylist()
    except OSError as e:
        raise InputError(f"cannot read Parquet shard ({e})", path=str(path)) from e
    for row in rows:
        # A one-fragment quote has no `fragments` in the JSONL form (Quote.to_dict).
        quotes = [
            {k: v for k, v in q.items() if k != "fragments" or v is not None} for q in row["quotes"]
        ]
        yield {
            **row,
            "quotes": quotes,
            "meta": json.loads(row["meta"]),
            "source": json.loads(row["source"]),
        }


__all__ = [
    "DistributedResult",
    "FORMATS",
    "preannotate_distributed",
    "read_shards",
    "run_partition",
    "shard_dir",
    "shard_path",
]

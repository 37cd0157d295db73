"""Pre-annotation on a real Dask LocalCluster equals the single-process output."""

from __future__ import annotations

import functools
import json
import signal
from pathlib import Path

import distributed  # the dask extra, installed by `make test`
import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import InputError
from curate.extract.distributed import (
    preannotate_distributed,
    read_shards,
    run_partition,
    shard_dir,
)
from curate.extract.preannotate import preannotate_file
from curate.io.jsonl import read_jsonl

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PEOPLE = ["Dmitry Peskov", "John Kirby", "Kim Jong Un", "Sergei Lavrov", "Adriene Watson"]


@pytest.fixture(scope="module")
def client():
    # In-process workers keep the test fast; each worker thread loads the model once.
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as cl,
    ):
        yield cl


@pytest.fixture
def source(tmp_path) -> Path:
    rows = [json.loads(line) for line in _single(tmp_path, SEEDS).read_text().splitlines()]
    rows = [{"id": r["id"], "text": r["text"], "meta": r["meta"]} for r in rows]
    rows += [
        {
            "id": f"s{i}",
            "text": f'"The talks went well," {PEOPLE[i % 5]} said on day {i}. '
            f"{PEOPLE[(i + 1) % 5]} told reporters that Moscow would answer.",
            "meta": {"i": i},
        }
        for i in range(9)
    ]
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _single(tmp_path: Path, src: Path) -> Path:
    out = tmp_path / f"single-{src.stem}.jsonl"
    if not out.exists():
        preannotate_file(src, out)
    return out


def _shard_lines(out_dir: Path) -> list[str]:
    return [
        line
        for p in sorted(out_dir.glob("part-*.jsonl"))
        for line in p.read_text(encoding="utf-8").splitlines()
    ]


def test_shards_equal_single_process_output_article_for_article(client, tmp_path, source):
    single = _single(tmp_path, source).read_text(encoding="utf-8").splitlines()
    out = tmp_path / "pre.d"
    result = preannotate_distributed(source, out, client=client, partition_size=3)
    assert (result.partitions, result.written, result.failed) == (4, 4, [])
    assert _shard_lines(out) == single
    assert [json.dumps(r) for r in read_shards(out)] == [
        json.dumps(json.loads(line)) for line in single
    ]
    assert sorted(p.name for p in out.glob("*.done")) == [f"part-{i:05d}.done" for i in range(4)]
    assert result.report.articles == 11 and result.report.quotes > 0


def test_rerun_skips_finished_shards_and_redoes_changed_ones(client, tmp_path, source):
    out = tmp_path / "pre.d"
    preannotate_distributed(source, out, client=client, partition_size=3)
    again = preannotate_distributed(source, out, client=client, partition_size=3)
    assert (again.written, again.skipped_shards, again.report.resumed) == (0, 4, 11)
    # Change the text of one article in the last partition, and drop two articles:
    # only that partition is redone, and no stale shard is left behind.
    rows = [row for _, row in read_jsonl(source)][:8]
    rows[7]["text"] = "Kirby said nothing."
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    third = preannotate_distributed(source, out, client=client, partition_size=3)
    assert (third.written, third.skipped_shards) == (1, 2)
    assert sorted(p.name for p in out.glob("part-*")) == [
        f"part-{i:05d}.{ext}" for i in range(3) for ext in ("done", "jsonl")
    ]
    assert [r["id"] for r in read_shards(out)] == [r["id"] for r in rows]


def _flaky(flags: Path, articles, model, batch_size, schema):
    """Fails the first attempt of every partition; fails always for id 's4'."""
    first = articles[0].id
    flag = flags / first
    if any(a.id == "s4" for a in articles):
        raise RuntimeError("worker lost its disk")
    if not flag.exists():
        flag.touch()
        raise RuntimeError("transient failure")
    return run_partition(articles, model, batch_size, schema)


def test_failed_partitions_are_retried_then_reported_and_rerun_redoes_them(
    client, tmp_path, source
):
    flags = tmp_path / "flags"
    flags.mkdir()
    out = tmp_path / "pre.d"
    result = preannotate_distributed(
        source,
        out,
        client=client,
        partition_size=3,
        retries=1,
        runner=functools.partial(_flaky, flags),
    )
    # Partition 2 (s2, s3, s4) fails on every try; the others succeed on their retry.
    assert [i for i, _ in result.failed] == [2]
    assert "worker lost its disk" in result.failed[0][1]
    assert result.written == 3
    assert not (out / "part-00002.done").exists()
    assert not (out / "part-00002.jsonl").exists()
    rerun = preannotate_distributed(source, out, client=client, partition_size=3)
    assert (rerun.written, rerun.skipped_shards, rerun.failed) == (1, 3, [])
    assert _shard_lines(out) == _single(tmp_path, source).read_text().splitlines()


def test_parquet_shards_hold_the_same_documents(client, tmp_path, source):
    out = tmp_path / "pq.d"
    preannotate_distributed(source, out, client=client, partition_size=5, shard_format="parquet")
    assert sorted(p.suffix for p in out.glob("part-*")) == [".done"] * 3 + [".parquet"] * 3
    single = [row for _, row in read_jsonl(_single(tmp_path, source))]
    assert list(read_shards(out)) == single


def test_cli_on_a_scheduler_address(client, tmp_path, source):
    out = tmp_path / "pre.jsonl"
    args = ["preannotate", str(source), "-o", str(out), "--partition-size", "4"]
    result = CliRunner().invoke(app, [*args, "--scheduler", client.scheduler.address])
    assert result.exit_code == 0, result.output
    assert "3 written, 0 already finished" in result.output
    assert shard_dir(out) == tmp_path / "pre.d"
    assert _shard_lines(tmp_path / "pre.d") == _single(tmp_path, source).read_text().splitlines()
    assert not out.exists()


def test_a_source_without_articles_is_refused_and_shards_are_kept(client, tmp_path):
    out = tmp_path / "pre.d"
    out.mkdir()
    (out / "part-00000.jsonl").write_text('{"id": "kept"}\n', encoding="utf-8")
    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": "no text"}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl: holds no article .*bad.jsonl:1"):
        preannotate_distributed(src, out, client=client)
    assert (out / "part-00000.jsonl").exists()


def test_parquet_shards_keep_quote_fragments(tmp_path):
    from curate.extract import distributed as shards
    from curate.model import Document, Quote

    text = "“It is over,” he said, “and we won.”"
    doc = Document("x", text, quotes=(Quote.of_fragments(text, [(0, 13), (23, 36)]),))
    pa, pq = shards._pyarrow()
    path = tmp_path / "part.parquet"
    table = pa.Table.from_pylist([shards._flat(doc.to_dict())], schema=shards._arrow_schema(pa))
    pq.write_table(table, path)
    (row,) = shards._read_parquet(path)
    assert Document.from_dict(row) == doc and Document.from_dict(row).quotes[0].discontinuous


def test_ctrl_c_on_a_local_cluster_is_one_line(tmp_path: Path, interrupted_run) -> None:
    """Ctrl-C reaches every process of the group: Dask's warnings (tasks cancelled,
    workers killed after 4 s) and workers' tracebacks buried the line saying which shards
    are kept. A real SIGINT to a real process group once a shard is written."""
    shards = tmp_path / "out.d"
    args = ["preannotate", "{articles}", "-o", str(tmp_path / "out.jsonl"), "--workers", "2"]
    code, err = interrupted_run(
        [*args, "--partition-size", "10"], lambda _: bool(list(shards.glob("part-*.done")))
    )
    assert code == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    # The line counts what is kept, as it is on disk after the exit.
    done = len(list(shards.glob("part-*.done")))
    assert done and f"{done} finished shard{'s' if done > 1 else ''} kept in" in lines[0], err
    assert list(shards.glob("part-*.jsonl"))


def test_ctrl_c_before_any_shard_finished_says_none_kept(tmp_path: Path, interrupted_run) -> None:
    """Interrupted while the one partition is still being worked on: the line does not
    claim finished shards are kept (it did)."""
    shards = tmp_path / "out.d"
    args = ["preannotate", "{articles}", "-o", str(tmp_path / "out.jsonl"), "--workers", "1"]
    code, err = interrupted_run(
        [*args, "--partition-size", "1000"],
        lambda p: _catches_sigint(p) and len(p.children(recursive=True)) >= 2,
    )
    assert code == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert not list(shards.glob("part-*.done"))
    assert "interrupted before any shard was finished" in lines[0], err


def _catches_sigint(proc) -> bool:
    """True once the process has a SIGINT handler again (the local cluster has started:
    while it starts, curate ignores Ctrl-C so its workers inherit that)."""
    status = Path(f"/proc/{proc.pid}/status").read_text()
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def test_ctrl_c_while_the_cluster_starts_gives_no_worker_tracebacks(
    tmp_path: Path, interrupted_run
) -> None:
    """A Ctrl-C while the workers start (they were importing, not yet ignoring it) gave
    each a KeyboardInterrupt traceback and the cluster an AssertionError. Now it is not
    seen by the workers; the next one stops the run with one line."""
    import os

    pressed: list[bool] = []

    def starting_then_started(p) -> bool:
        if not pressed:
            if p.children(recursive=True) and not _catches_sigint(p):
                os.killpg(p.pid, signal.SIGINT)  # while the cluster starts
                pressed.append(True)
            return False
        return _catches_sigint(p) and len(p.children(recursive=True)) >= 2

    args = ["preannotate", "{articles}", "-o", str(tmp_path / "out.jsonl"), "--workers", "1"]
    code, err = interrupted_run([*args, "--partition-size", "1000"], starting_then_started)
    assert pressed
    assert code == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err

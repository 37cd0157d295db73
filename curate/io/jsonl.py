"""JSON Lines in and out: streamed reading with line numbers, atomic writing."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from curate.errors import InputError


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; a bad line raises InputError."""
    for lineno, obj in iter_jsonl(path):
        if isinstance(obj, InputError):
            raise obj
        yield lineno, obj


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """Like :func:`read_jsonl` but a bad line yields its InputError and reading goes on.

    Bytes that are not UTF-8 end the file (the rest cannot be trusted) with one error.
    """
    path = Path(path)
    try:
        fh = path.open("rb")
    except OSError as e:
        raise InputError(f"cannot open ({e.strerror}); check the path", path=str(path)) from e
    with fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield (
                    lineno,
                    InputError(
                        "is not valid UTF-8; re-save it as UTF-8", path=str(path), line=lineno
                    ),
                )
                continue
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield lineno, InputError(f"invalid JSON ({e.msg})", path=str(path), line=lineno)
                continue
            if not isinstance(obj, dict):
                yield (
                    lineno,
                    InputError("expected a JSON object per line", path=str(path), line=lineno),
                )
                continue
            yield lineno, obj


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; outputs are ordinary files, so honour the umask instead.
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[IO[str]]:
    """Open a text file that appears at ``path`` only when the block finishes without error."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as fh:
        yield fh


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically; return how many were written."""
    n = 0
    with atomic_writer(path) as fh:
        for row in rows:
            fh.write(dumps(row) + "\n")
            n += 1
    return n

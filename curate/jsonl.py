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
    """Yield ``(line_number, object)`` for each non-blank line; bad JSON raises InputError."""
    path = Path(path)
    try:
        fh = path.open("r", encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot open ({e.strerror}); check the path", path=str(path)) from e
    with fh:
        lineno = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError as e:
                raise InputError(
                    "is not valid UTF-8; re-save it as UTF-8", path=str(path), line=lineno + 1
                ) from e
            if not line:
                break
            lineno += 1
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"invalid JSON ({e.msg})", path=str(path), line=lineno) from e
            if not isinstance(obj, dict):
                raise InputError("expected a JSON object per line", path=str(path), line=lineno)
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

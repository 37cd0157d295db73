"""JSON Lines in and out: streamed reading with line numbers, atomic writing."""

from __future__ import annotations

import errno
import glob
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import psutil

from curate.compact import Spilled
from curate.errors import InputError
from curate.io.text import decode


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; a bad line raises InputError."""
    for lineno, obj in iter_jsonl(path):
        if isinstance(obj, InputError):
            raise obj
        yield lineno, obj


def iter_jsonl(
    path: str | Path, start: int = 0, first_line: int = 1
) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """Like :func:`read_jsonl` but a bad line yields its InputError and reading goes on.

    Each line is decoded by :func:`curate.io.text.decode` (UTF-8, a BOM dropped); a line
    that is not UTF-8, not JSON or not an object is named by its number. ``start`` is the
    byte offset of line number ``first_line`` to read from (:func:`line_starts`).
    """
    path = Path(path)
    try:
        fh = path.open("rb")
    except OSError as e:
        raise InputError(f"cannot open ({e.strerror}); check the path", path=str(path)) from e
    with fh:
        fh.seek(start)
        for lineno, raw in enumerate(fh, first_line):
            try:
                line = decode(raw, path, lineno)
            except InputError as e:
                yield lineno, e
                continue
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


def line_starts(path: str | Path) -> Spilled:
    """The byte offset of each line of a file (line ``n`` at item ``n - 1``), 8 bytes a
    line kept in a :class:`~curate.compact.Spilled` array (on disk past a chunk)."""
    starts, at = Spilled("q"), 0
    with Path(path).open("rb") as fh:
        for raw in fh:
            starts.append(at)
            at += len(raw)
    return starts


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@contextmanager
def atomic_path(path: str | Path, *, private: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    The file gets the umask's mode (ordinary data, usually 0644), or 0600 when ``private``
    (it holds annotator e-mails or other personal data).

    The temporary file is ``.NAME.<pid>.<random>.tmp``. A process killed inside the block
    cannot remove it, so the next write to ``path`` removes those whose process no longer
    runs (a killed ``curate preannotate`` leaves nothing behind after the next run).
    """
    path = Path(path)
    if path.is_dir():  # said before any work, not at the final rename (EBUSY for ".")
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    # A failed write leaves no folder it made either (e.g. ./data for a bad input).
    with made_folders(path.parent):
        remove_stale_temp_files(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
        tmp_path = Path(tmp)
        try:
            os.close(fd)
            if not private:
                # mkstemp makes 0600 files; outputs are ordinary files, so honour the umask.
                umask = os.umask(0)
                os.umask(umask)
                tmp_path.chmod(0o666 & ~umask)
            yield tmp_path
            os.replace(tmp_path, path)
        finally:
            if tmp_path.exists():
                tmp_path.unlink()


@contextmanager
def made_folders(folder: str | Path) -> Iterator[Path]:
    """Make ``folder`` and its missing parents; if the block fails, remove the ones made here.

    Yields ``folder``. On any exception (Ctrl-C included) the folders this call created are
    removed deepest first (:func:`remove_made_folders`) and the exception propagates. Used
    by every write that must leave nothing behind when it fails: :func:`atomic_path`,
    ``curate train``'s model folder, a gold release.
    """
    made = make_folders(folder)
    try:
        yield Path(folder)
    except BaseException:
        remove_made_folders(made)
        raise


def make_folders(folder: str | Path) -> list[Path]:
    """``mkdir -p folder``; returns the folders it created, deepest first."""
    folder = Path(folder)
    made = []
    for parent in (folder, *folder.absolute().parents):
        if parent.exists():
            break
        made.append(parent)
    folder.mkdir(parents=True, exist_ok=True)
    return made


def remove_made_folders(made: Iterable[Path]) -> None:
    """Remove folders :func:`make_folders` created, deepest first, while they are empty: a
    folder something else wrote into stays, and so do those above it."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            return


def remove_stale_temp_files(path: str | Path) -> list[Path]:
    """Remove the temporary files of :func:`atomic_path` for ``path`` whose process is gone.

    Returns the files removed. Files of running processes (another write in progress)
    are left alone.
    """
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextmanager
def atomic_writer(path: str | Path, *, private: bool = False) -> Iterator[IO[str]]:
    """Open a text file that appears at ``path`` only when the block finishes without error.

    ``private``: the file is 0600 (see :func:`atomic_path`)."""
    with (
        atomic_path(path, private=private) as tmp,
        tmp.open("w", encoding="utf-8", newline="\n") as fh,
    ):
        yield fh


def open_private(path: str | Path, mode: str = "w") -> IO[Any]:
    """Open ``path`` for writing (``"w"`` text as UTF-8 with ``\\n`` lines, or ``"wb"``),
    created with mode 0600 whatever the umask: for files holding annotator e-mails.

    An existing file is truncated and set to 0600 too.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding="utf-8", newline="\n")


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]], *, private: bool = False) -> int:
    """Write rows atomically; return how many were written. ``private``: mode 0600 from
    the start (personal data, see :func:`atomic_path`)."""
    n = 0
    with atomic_writer(path, private=private) as fh:
        for row in rows:
            fh.write(dumps(row) + "\n")
            n += 1
    return n

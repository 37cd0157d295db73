"""Reading text files: the one reader for articles, brat texts and brat annotations.

Bytes are read once and decoded as UTF-8; a leading byte order mark is dropped; line
endings are kept exactly as they are on disk (``\\r\\n`` stays two characters), so
offsets counted on the file and the text hash are the same whichever command reads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

from curate.errors import InputError

BOM = "\ufeff"
# What ``errors="surrogateescape"`` turns each undecodable byte into.
_ESCAPED = re.compile("[\udc80-\udcff]")


def decode(data: bytes, path: str | Path, line: int | None = None) -> str:
    """``data`` as text: UTF-8, a leading BOM dropped, line endings untouched.

    Raises InputError naming ``path`` (and ``line``, else the line the first bad byte is
    on) when ``data`` is not UTF-8.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        at = line if line is not None else data.count(b"\n", 0, e.start) + 1
        raise InputError(
            f"is not UTF-8 (byte 0x{data[e.start]:02x}); re-save it as UTF-8",
            path=str(path),
            line=at,
        ) from None
    return text.removeprefix(BOM)


def read_text(path: str | Path) -> str:
    """The text of the file at ``path`` (see :func:`decode`); InputError when unreadable."""
    return decode(_read_bytes(path), path)


def open_lenient(path: str | Path) -> IO[str]:
    """A text stream of ``path`` (see :func:`decode`) in which bytes that are not UTF-8
    become escape characters instead of an error.

    For formats whose records can be skipped one by one (CSV rows): the caller finds the
    records holding such bytes with :func:`undecodable` and reports them. Streamed, so
    memory does not grow with the file. InputError when the file cannot be opened.
    """
    try:
        return Path(path).open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as e:
        raise InputError(f"cannot be read ({e.strerror}); check the path", path=str(path)) from e


def undecodable(text: str) -> int | None:
    """The value of the first byte :func:`open_lenient` could not decode, or None."""
    m = _ESCAPED.search(text)
    return ord(m.group()) - 0xDC00 if m else None


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"cannot be read ({e.strerror}); check the path", path=str(path)) from e

"""Reading articles: a folder of .txt files, a .jsonl or a .csv file.

Bad records are reported by name (file, line or row) and skipped; the rest go through.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from curate.errors import InputError
from curate.io import records
from curate.io.jsonl import iter_jsonl
from curate.io.text import open_lenient, read_text, undecodable
from curate.model import Article, content_hash


@dataclass
class Problem:
    """One record that did not go through, and why."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class IngestReport:
    """What reading a source found: counts, skipped records and duplicates."""

    read: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    duplicate_texts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.problems)


def ingest(source: str | Path, output: str | Path, report: IngestReport) -> int:
    """Write the articles of ``source`` (see :func:`iter_articles`) to ``output`` as
    articles JSONL, atomically; returns how many. Bad records go to ``report`` and are
    skipped. Raises InputError, leaving ``output`` as it was, when no article is left to
    write (an empty file must not replace a good one)."""
    from curate.io.jsonl import write_jsonl

    def articles() -> Iterator[dict]:
        n = 0
        for a in iter_articles(source, report):
            n += 1
            yield a.to_dict()
        if not n:
            why = "every record was skipped" if report.problems else "it holds no article"
            raise InputError(f"nothing to write: {why}; {output} left as it was", path=str(source))

    return write_jsonl(output, articles())


def iter_articles(source: str | Path, report: IngestReport | None = None) -> Iterator[Article]:
    """Stream the articles of ``source``; problems go to ``report`` instead of stopping.

    Every record passes :func:`curate.io.records.article` (the check all commands share).
    Duplicate ids are skipped after the first and reported; duplicate texts under
    different ids are kept and reported. Raises InputError when ``source`` itself cannot
    be used (missing, unknown type, a CSV without ``id`` and ``text`` columns).
    """
    report = report if report is not None else IngestReport()
    path = Path(source)
    if not path.exists():
        raise InputError(
            "does not exist; give a folder of .txt, a .jsonl or a .csv", path=str(path)
        )
    if path.is_dir():
        raw = _from_folder(path, report)
    elif path.suffix.lower() in {".jsonl", ".ndjson"}:
        raw = _from_jsonl(path, report)
    elif path.suffix.lower() == ".csv":
        raw = _from_csv(path, report)
    elif path.suffix.lower() == ".txt":
        raw = _from_files([path], report)
    else:
        raise InputError(
            "unknown source type; give a folder of .txt, a .jsonl or a .csv", path=str(path)
        )
    seen_ids: set[str] = set()
    seen_hashes: dict[str, str] = {}
    for where, article in raw:
        if article.id in seen_ids:
            report.duplicate_ids.append(article.id)
            report.problems.append(Problem(where, f"duplicate id {article.id!r}; skipped"))
            continue
        seen_ids.add(article.id)
        h = content_hash(article.text)
        if h in seen_hashes:
            report.duplicate_texts.append((seen_hashes[h], article.id))
        else:
            seen_hashes[h] = article.id
        report.read += 1
        yield article


def read_articles(source: str | Path) -> tuple[list[Article], IngestReport]:
    """All articles of :func:`iter_articles` as a list, with the report."""
    report = IngestReport()
    return list(iter_articles(source, report)), report


def _from_folder(path: Path, report: IngestReport) -> Iterator[tuple[str, Article]]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
    if not files:
        raise InputError("holds no .txt files", path=str(path))
    yield from _from_files(files, report)


def _from_files(files: list[Path], report: IngestReport) -> Iterator[tuple[str, Article]]:
    for f in files:
        try:
            text = read_text(f)
            yield str(f), records.article({"id": f.stem, "text": text, "file": f.name}, str(f))
        except InputError as e:
            _skip(report, str(f), e)


def _from_jsonl(path: Path, report: IngestReport) -> Iterator[tuple[str, Article]]:
    for lineno, obj in iter_jsonl(path):
        where = f"{path}:{lineno}"
        try:
            if isinstance(obj, InputError):
                raise obj
            yield where, records.article(obj, where)
        except InputError as e:
            _skip(report, where, e)


def _from_csv(path: Path, report: IngestReport) -> Iterator[tuple[str, Article]]:
    """Rows of a CSV with a header naming at least ``id`` and ``text``.

    A row with bytes that are not UTF-8, with more or fewer fields than the header, or
    with a quoted field that is never closed (which would swallow the rest of the file)
    is named by its first line and skipped; the other rows go through (after an unclosed
    quote, the lines after that row's first are read again as rows of their own).
    """
    csv.field_size_limit(sys.maxsize)
    with open_lenient(path) as fh:
        lines = _Lines(fh)
        reader = csv.reader(lines, strict=True)  # strict: an unclosed quote is an error
        base = 0  # lines before the first line the current reader reads
        try:
            header = next(reader, None)
        except csv.Error as e:
            raise InputError(f"is not a CSV file ({e})", path=str(path)) from None
        if header and undecodable("".join(header)) is not None:
            raise InputError("has a header that is not UTF-8; re-save it as UTF-8", path=str(path))
        if not header:
            raise InputError("is empty; a CSV needs a header with 'id' and 'text'", path=str(path))
        if not {"id", "text"} <= set(header):
            raise InputError(
                f"needs 'id' and 'text' columns, has {', '.join(map(repr, header))}",
                path=str(path),
            )
        while True:
            line = base + reader.line_num
            where = f"{path}:{line + 1}"  # the line the row starts on
            lines.kept.clear()
            try:
                row = next(reader, None)
            except csv.Error as e:
                if str(e) == "unexpected end of data":  # read to the end inside quotes
                    _skip(report, where, InputError(_UNCLOSED))
                    base, lines = line + 1, _Lines(lines.kept[1:])
                    reader = csv.reader(lines, strict=True)
                    continue
                _skip(report, where, InputError(f"is not a valid CSV row ({e})"))
                if base + reader.line_num == line:
                    break  # nothing more could be read
                continue
            if row is None:
                break
            if row:  # not a blank line
                try:
                    yield where, _csv_record(header, row, where)
                except InputError as e:
                    _skip(report, where, e)


_UNCLOSED = (
    "a quoted field is never closed (the rest of the file would be its text); close the quote"
)


class _Lines:
    """The lines of a text stream, keeping those read since ``kept`` was last cleared
    (the lines of the CSV record being read, to read again after an unclosed quote)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.kept: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.kept.append(line)
        return line


def _csv_record(header: list[str], row: list[str], where: str) -> Article:
    byte = undecodable("".join(row))
    if byte is not None:
        raise InputError(
            f"{where}: holds a byte that is not UTF-8 (0x{byte:02x}); re-save the file as UTF-8"
        )
    if len(row) != len(header):
        raise InputError(
            f"{where}: has {len(row)} fields but the header has {len(header)}; "
            "quote fields that hold commas"
        )
    return records.article(dict(zip(header, row, strict=True)), where)


def _skip(report: IngestReport, where: str, e: InputError) -> None:
    if e.path == where and e.line is not None:
        where = f"{where}:{e.line}"  # the line of a file that holds the bad byte
    report.problems.append(Problem(where, str(e).removeprefix(where + ": ") + "; skipped"))

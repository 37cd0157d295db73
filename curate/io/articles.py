"""Reading articles: a folder of .txt files, a .jsonl or a .csv file.

Bad records are reported by name (file, line or row) and skipped; the rest go through.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from curate.errors import InputError
from curate.io.jsonl import iter_jsonl
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


def iter_articles(source: str | Path, report: IngestReport | None = None) -> Iterator[Article]:
    """Stream the articles of ``source``; problems go to ``report`` instead of stopping.

    Duplicate ids are skipped after the first and reported; duplicate texts under
    different ids are kept and reported.
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
        if not article.text.strip():
            report.problems.append(Problem(where, "empty text; skipped"))
            continue
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
            data = f.read_bytes()
        except OSError as e:
            report.problems.append(Problem(str(f), f"unreadable ({e.strerror}); skipped"))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            report.problems.append(
                Problem(str(f), f"not UTF-8 (byte {e.start}); re-save it as UTF-8; skipped")
            )
            continue
        text = text.removeprefix("\ufeff")
        yield str(f), Article(f.stem, text, {"file": f.name})


def _from_jsonl(path: Path, report: IngestReport) -> Iterator[tuple[str, Article]]:
    for lineno, obj in iter_jsonl(path):
        where = f"{path}:{lineno}"
        if isinstance(obj, InputError):
            report.problems.append(
                Problem(where, str(obj).removeprefix(where + ": ") + "; skipped")
            )
            continue
        article = _from_record(obj, where, report)
        if article is not None:
            yield where, article


def _from_csv(path: Path, report: IngestReport) -> Iterator[tuple[str, Article]]:
    csv.field_size_limit(sys.maxsize)
    try:
        fh = path.open("r", encoding="utf-8-sig", newline="")
        with fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"id", "text"} <= set(reader.fieldnames):
                raise InputError(
                    f"needs 'id' and 'text' columns, has {reader.fieldnames}", path=str(path)
                )
            for row in reader:
                where = f"{path}:{reader.line_num}"
                article = _from_record(row, where, report)
                if article is not None:
                    yield where, article
    except UnicodeDecodeError:
        report.problems.append(Problem(str(path), "not UTF-8; re-save it as UTF-8; rest skipped"))


def _from_record(obj: dict, where: str, report: IngestReport) -> Article | None:
    rid, text = obj.get("id"), obj.get("text")
    if rid is None or str(rid).strip() == "":
        report.problems.append(Problem(where, "no 'id'; skipped"))
        return None
    if not isinstance(text, str):
        report.problems.append(
            Problem(where, f"'text' missing or not a string (id {rid!r}); skipped")
        )
        return None
    meta = dict(obj.get("meta") or {})
    # Annotation and provenance fields of a pre-annotated file are not article metadata.
    skip = {"id", "text", "meta", "hash", "entities", "quotes"}
    meta.update(
        {
            k: v
            for k, v in obj.items()
            if k not in skip and not (k == "source" and isinstance(v, dict))
        }
    )
    return Article(str(rid), text, meta)

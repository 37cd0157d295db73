"""One exception family for the library; the CLI turns it into one line and an exit code."""

from __future__ import annotations


class CurateError(Exception):
    """Base of every error curate raises on purpose. The message says what and what to do."""


class InputError(CurateError):
    """A file, line or record that cannot be read as curate input."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class SpanError(CurateError):
    """A span whose offsets or text do not fit the article it belongs to."""


class ConfigError(CurateError):
    """A Label Studio label config or label mapping that curate cannot use."""


class StudioError(CurateError):
    """Label Studio could not be reached, refused the token, or answered unexpectedly."""


class DatasetError(CurateError):
    """A gold dataset version that is missing, corrupt, or would be overwritten."""


class NothingChanged(DatasetError):
    """A release found the gold identical to the latest version: nothing to write.

    Not a failure for a scheduled pull (the CLI says so and exits 0); ``latest`` is that
    version (str)."""

    def __init__(self, message: str, latest: str) -> None:
        super().__init__(message)
        self.latest = latest

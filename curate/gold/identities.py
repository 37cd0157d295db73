"""Annotator identities in released data: stable pseudonyms by default, real ones on request.

A release names annotators (row provenance, the ``source`` column, the JSONL export,
agreement figures in the manifest and card). Label Studio identifies them by e-mail,
which must not be published, so by default every identity becomes
``annotator-<10 hex digits>``: an HMAC-SHA256 of the identity under a key kept in
``<gold root>/.annotators.json`` (mode 0600, beside the datasets, never inside a
version, so never pushed). The same person gets the same pseudonym in every version and
dataset under that root; the same file maps each pseudonym back to the identity, for
the publisher only. ``--real-identities`` releases the identities as they are, and the
card and manifest say which was done.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import DatasetError
from curate.io.jsonl import atomic_path

PSEUDONYMOUS = "pseudonymous"
REAL = "real"
MAPPING_FILE = ".annotators.json"
PREFIX = "annotator-"

IDENTITY_KEYS = frozenset(
    {
        "annotator",
        "annotators",
        "other_annotators",
        "completed_by",
        "created_by",
        "updated_by",
        "reviewer",
        "reviewers",
        "reviewed_by",
        "adjudicator",
        "adjudicated_by",
        "user",
        "email",
    }
)
"""Keys whose values name a person, wherever they occur in ``source``, ``meta`` or
agreement figures."""

_PSEUDONYM = re.compile(re.escape(PREFIX) + r"[0-9a-f]{10}")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class Pseudonyms:
    """The key and the pseudonym -> identity mapping of one gold root."""

    path: Path
    key: bytes
    mapping: dict[str, str] = field(default_factory=dict)

    def of(self, identity: Any) -> str:
        """The pseudonym of ``identity`` (a string or a Label Studio user object; callers
        pass only what :func:`is_person` accepts)."""
        who = _identity(identity)
        if _PSEUDONYM.fullmatch(who):
            return who  # already a pseudonym (gold read back from a released version)
        digest = hmac.new(self.key, who.strip().casefold().encode("utf-8"), hashlib.sha256)
        name = PREFIX + digest.hexdigest()[:10]
        self.mapping[name] = who
        return name

    def save(self) -> None:
        """Write the key and mapping atomically, readable by the owner only (0600)."""
        data = {
            "about": "curate's private annotator pseudonyms; never publish this file",
            "key": self.key.hex(),
            "pseudonyms": dict(sorted(self.mapping.items())),
        }
        with atomic_path(self.path, private=True) as tmp:  # 0600 before the key is written
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def load_pseudonyms(root: str | Path) -> Pseudonyms:
    """The pseudonyms of the gold root ``root``; a new random key when there is none yet.

    Raises DatasetError when the file is unreadable or others may read it (then the
    key is no longer secret: make it ``chmod 600`` and check who has seen it).
    """
    path = Path(root) / MAPPING_FILE
    if not path.exists():
        return Pseudonyms(path, secrets.token_bytes(32))
    if path.stat().st_mode & 0o077:
        raise DatasetError(
            f"{path}: readable by other users; it maps pseudonyms to annotators, so run "
            f"`chmod 600 {path}`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Pseudonyms(path, bytes.fromhex(data["key"]), dict(data.get("pseudonyms") or {}))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(
            f"{path}: unreadable annotator pseudonyms ({e}); restore it from a backup "
            "(a new key would give every annotator a new pseudonym)"
        ) from e


def known_identities(obj: Any) -> set[str]:
    """Every identity named under :data:`IDENTITY_KEYS` anywhere in ``obj``."""
    out: set[str] = set()
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if str(k) in IDENTITY_KEYS:
                for x in v if isinstance(v, list | tuple) else [v]:
                    if is_person(x):
                        out.add(_identity(x))
                    else:  # a count (``"annotators": 2``) or figures per annotator
                        out |= known_identities(x)
            else:
                out |= known_identities(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            out |= known_identities(v)
    return out


def pseudonymize(obj: Any, names: Pseudonyms, known: set[str], thorough: bool = True) -> Any:
    """A copy of ``obj`` with every identity replaced by its pseudonym.

    Strings (keys too) equal to a ``known`` identity are replaced; ``thorough`` also
    replaces every value under :data:`IDENTITY_KEYS` and every e-mail address inside any
    string (for provenance and agreement figures, not for an article's own metadata).
    """
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            key = _text(str(k), names, known, thorough)
            if thorough and str(k) in IDENTITY_KEYS:
                if isinstance(v, list | tuple):
                    out[key] = [
                        names.of(x) if is_person(x) else pseudonymize(x, names, known, thorough)
                        for x in v
                    ]
                elif is_person(v):
                    out[key] = names.of(v)
                else:  # a count (``"annotators": 2``): numbers never name a person
                    out[key] = pseudonymize(v, names, known, thorough)
            else:
                out[key] = pseudonymize(v, names, known, thorough)
        return out
    if isinstance(obj, list | tuple):
        return [pseudonymize(v, names, known, thorough) for v in obj]
    if isinstance(obj, str):
        return _text(obj, names, known, thorough)
    return obj


def is_person(x: Any) -> bool:
    """Whether ``x``, found under one of :data:`IDENTITY_KEYS`, names a person: a
    non-empty string or a Label Studio user object (with ``email`` or ``username``).

    Numbers, booleans and other mappings do not: ``"annotators": 2`` in agreement
    figures is a count, and pseudonymizing it would put ``"2"`` in the private mapping.
    """
    if isinstance(x, str):
        return bool(x.strip())
    return isinstance(x, Mapping) and bool(x.get("email") or x.get("username"))


def has_email(obj: Any) -> bool:
    """Whether any string in ``obj`` (keys included) holds an e-mail address."""
    if isinstance(obj, Mapping):
        return any(has_email(str(k)) or has_email(v) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return any(has_email(v) for v in obj)
    return isinstance(obj, str) and _EMAIL.search(obj) is not None


def _text(s: str, names: Pseudonyms, known: set[str], thorough: bool) -> str:
    if s in known and (thorough or "@" in s):  # `7` in an article's metadata is no person
        return names.of(s)
    return _EMAIL.sub(lambda m: names.of(m.group()), s) if thorough else s


def _identity(x: Any) -> str:
    if isinstance(x, Mapping):  # a Label Studio user object
        return str(x.get("email") or x.get("username") or x.get("id"))
    return str(x)

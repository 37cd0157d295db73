"""Publishing a version to the Hugging Face Hub, tagged with its version.

Everything up to the upload is in :func:`prepare_push` (verify the manifest, check the
card, scan for secrets, list the files); :func:`push_to_hub` then uploads exactly the
verified files and tags the commit, so ``load_dataset(repo, revision="1.2.0")`` works.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from huggingface_hub import DatasetCard, HfApi
from huggingface_hub.errors import HfHubHTTPError, HFValidationError, OfflineModeIsEnabled
from huggingface_hub.utils import validate_repo_id

from curate import settings
from curate.errors import DatasetError
from curate.gold.identities import PSEUDONYMOUS, has_email
from curate.gold.manifest import read_manifest, verify
from curate.gold.version import MANIFEST

# Token shapes we must never publish: Hugging Face user tokens and JWTs (Label Studio
# personal access tokens); the legacy Label Studio key is caught through the environment.
_TOKEN_PATTERNS = (
    re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
)
_TEXT_SUFFIXES = {".md", ".json", ".jsonl", ".conll", ".txt"}


def _network_errors() -> tuple[type[BaseException], ...]:
    # huggingface_hub's HTTP client is httpx (1.x) or httpx2 (2.x); catch whichever is used.
    errors: list[type[BaseException]] = [HfHubHTTPError, OSError]
    for module in ("httpx", "httpx2"):
        try:
            errors.append(importlib.import_module(module).HTTPError)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


@dataclass(frozen=True)
class HubPayload:
    """What :func:`push_to_hub` sends: one commit of these files, then the tag."""

    repo_id: str
    tag: str
    folder: Path
    files: tuple[str, ...]
    commit_message: str
    private: bool = True


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if it is a valid ``OWNER/NAME`` Hub repo id, else DatasetError."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise DatasetError(f"{repo_id!r} is not a Hub repo id; use OWNER/NAME ({e})") from None
    if "/" not in repo_id:
        raise DatasetError(f"{repo_id!r} is not a Hub repo id; use OWNER/NAME")
    return repo_id


def prepare_push(
    path: str | Path, repo_id: str, *, private: bool = True, real_identities: bool = False
) -> HubPayload:
    """Check a version folder and describe its upload; raises DatasetError on any problem.

    A version released with real annotator identities (or, from before pseudonyms, one
    whose rows hold e-mail addresses) is refused unless ``real_identities``.
    """
    folder = Path(path)
    check_repo_id(repo_id)
    result = verify(folder)
    if not result.ok:
        raise DatasetError(
            f"{folder}: does not match its manifest ({'; '.join(result.problems()[:3])}); "
            "refusing to publish it"
        )
    manifest = read_manifest(folder)
    card = DatasetCard.load(folder / "README.md")
    if not card.data.to_dict().get("configs"):
        raise DatasetError(f"{folder / 'README.md'}: the card has no `configs` in its YAML header")
    files = (*sorted(manifest["files"]), MANIFEST)
    _scan_for_secrets(folder, files)
    if not real_identities:
        _check_identities(folder, manifest)
    return HubPayload(
        repo_id=repo_id,
        tag=str(manifest["version"]),
        folder=folder,
        files=files,
        commit_message=f"curate: {manifest['name']} {manifest['version']}",
        private=private,
    )


def push_to_hub(
    path: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = True,
    real_identities: bool = False,
) -> HubPayload:
    """Upload a verified version to the dataset repo ``repo_id`` and tag it with its version.

    The token comes from ``token``, ``HF_TOKEN`` or ``huggingface-cli login``; it is never
    written anywhere by curate.
    """
    payload = prepare_push(path, repo_id, private=private, real_identities=real_identities)
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=payload.private, exist_ok=True)
        api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=payload.folder,
            allow_patterns=list(payload.files),
            commit_message=payload.commit_message,
        )
        api.create_tag(repo_id, tag=payload.tag, repo_type="dataset")
    except OfflineModeIsEnabled:
        raise DatasetError(
            f"cannot push to the Hub: offline mode is on (HF_HUB_OFFLINE=1); unset it and retry. "
            f"Nothing was uploaded to {repo_id}; the version stays at {payload.folder}"
        ) from None
    except _network_errors() as e:
        raise DatasetError(
            f"cannot push {payload.folder} to the Hub repo {repo_id}: {type(e).__name__}: "
            f"{_redact(str(e))}; check the network and your token (HF_TOKEN) and retry"
        ) from None
    return payload


def _scan_for_secrets(folder: Path, files: tuple[str, ...]) -> None:
    known = settings.secret_values()
    for rel in files:
        p = folder / rel
        if p.suffix not in _TEXT_SUFFIXES:
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        if any(secret in text for secret in known) or any(r.search(text) for r in _TOKEN_PATTERNS):
            raise DatasetError(
                f"{p}: looks like it contains an access token; refusing to publish it. "
                "Remove the secret from the gold data and release a new version"
            )


def _check_identities(folder: Path, manifest: dict) -> None:
    mode = (manifest.get("identities") or {}).get("mode")
    if mode == PSEUDONYMOUS:
        return
    if mode is None:  # released before pseudonyms: look at what the rows say
        columns = ["provenance", "source"]
        rows = [pq.read_table(folder / rel, columns=columns).to_pylist()
                for rel in manifest["files"] if rel.endswith(".parquet")]  # fmt: skip
        if not has_email(rows):
            return
    raise DatasetError(
        f"{folder}: names annotators by their real identities (e-mail addresses); refusing "
        "to publish them. Release a new version without --real-identities (pseudonyms), or "
        "pass --real-identities to publish them anyway"
    )


def _redact(text: str) -> str:
    for r in _TOKEN_PATTERNS:
        text = r.sub("***", text)
    return text

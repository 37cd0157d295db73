"""Connections to a Label Studio: where it is, how to authenticate, retries, clear errors.

``connect()`` resolves the server from explicit arguments, else the environment
(``LABEL_STUDIO_URL`` + ``LABEL_STUDIO_API_KEY``), else the embedded server recorded
by ``curate studio up``. The API key never appears in a message, a repr or a log line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from curate import settings
from curate.errors import StudioError
from curate.studio import server as embedded

ENV_URL = settings.ENV_URL
ENV_API_KEY = settings.ENV_API_KEY

# Statuses where the server did not act on the request, so sending it again is safe.
_RETRY_ALWAYS = frozenset({429, 503})
# Statuses that may follow a half-done request: retried only for idempotent methods.
_RETRY_IDEMPOTENT = frozenset({500, 502, 504})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})


@dataclass
class Connection:
    """An authenticated connection to one Label Studio.

    ``request`` is raw HTTP with retries and curate errors; ``sdk`` is the official
    ``label_studio_sdk`` client for the same server, created on first use.
    """

    url: str
    api_key: str = field(repr=False)
    origin: str = "arguments"
    retries: int = 5
    backoff: float = 0.5
    timeout: float = 300.0
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    _sdk: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")

    @property
    def sdk(self) -> Any:
        """The ``label_studio_sdk.client.LabelStudio`` client for this server."""
        if self._sdk is None:
            from label_studio_sdk.client import LabelStudio

            self._sdk = LabelStudio(base_url=self.url, api_key=self.api_key, timeout=self.timeout)
        return self._sdk

    def headers(self) -> dict[str, str]:
        if _looks_like_jwt(self.api_key):
            # A personal access token (refresh JWT): the SDK trades it for an access token.
            try:
                h = self.sdk._client_wrapper.get_headers()
            except Exception as e:  # the SDK raises its own types; keep the key out
                raise StudioError(
                    f"Label Studio at {self.url} refused the personal access token "
                    f"({e.__class__.__name__}); check {ENV_API_KEY}"
                ) from None
            return {"Authorization": h["Authorization"]}
        return {"Authorization": f"Token {self.api_key}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200, 201, 204),
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request, retrying transient failures with exponential backoff.

        Non-idempotent requests (POST) are resent only when the server cannot have acted
        on them (connection refused, 429, 503); callers make those safe to repeat.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in _IDEMPOTENT
        url = path if path.startswith("http") else f"{self.url}/{path.lstrip('/')}"
        kwargs.setdefault("timeout", self.timeout)
        headers = {**(kwargs.pop("headers", None) or {}), **self.headers()}
        attempt = 0
        while True:
            attempt += 1
            try:
                r = self.session.request(method, url, headers=headers, **kwargs)
            except requests.ConnectionError as e:
                refused = _refused(e)
                if attempt <= self.retries and (idempotent or refused):
                    self._sleep(attempt, None)
                    continue
                raise TransientError(
                    f"cannot reach Label Studio at {self.url} ({_reason(e)}); is it running? "
                    "Start it with `curate studio up` or check LABEL_STUDIO_URL"
                ) from None
            except requests.Timeout:
                if attempt <= self.retries and idempotent:
                    self._sleep(attempt, None)
                    continue
                raise TransientError(
                    f"Label Studio at {self.url} did not answer {method} {_path(url)} "
                    f"within {kwargs['timeout']:.0f} s"
                ) from None
            if r.status_code in ok:
                return r
            retry = r.status_code in _RETRY_ALWAYS or (
                idempotent and r.status_code in _RETRY_IDEMPOTENT
            )
            if retry and attempt <= self.retries:
                self._sleep(attempt, r.headers.get("Retry-After"))
                continue
            raise self._error(method, url, r)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def paged(self, path: str, params: dict[str, Any], key: str, page_size: int = 1000) -> Iterator:
        """Yield items of a paged list endpoint (``?page=&page_size=``) until it runs out."""
        page = 1
        while True:
            r = self.request(
                "GET", path, params={**params, "page": page, "page_size": page_size}, ok=(200, 404)
            )
            if r.status_code == 404:  # LS answers 404 for a page past the end
                return
            body = r.json()
            items = body.get(key, []) if isinstance(body, dict) else body
            yield from items
            total = body.get("total") if isinstance(body, dict) else None
            if len(items) < page_size or (total is not None and page * page_size >= total):
                return
            page += 1

    def whoami(self) -> dict[str, Any]:
        """The user the API key belongs to; raises StudioError for a wrong URL or key."""
        return self.get_json("/api/current-user/whoami")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.backoff * 2 ** (attempt - 1), 30.0)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 60.0))
        time.sleep(delay)

    def _error(self, method: str, url: str, r: requests.Response) -> StudioError:
        where = f"{method} {_path(url)}"
        if r.status_code in (401, 403):
            return StudioError(
                f"Label Studio at {self.url} refused the API key "
                f"(HTTP {r.status_code} on {where}); check {ENV_API_KEY} "
                "(Account & Settings > Access Token) or run `curate studio up`"
            )
        if r.status_code == 404 and _path(url).startswith("/api/current-user"):
            return StudioError(
                f"{self.url} does not look like a Label Studio (HTTP 404 on {where})"
            )
        detail = _redact(_detail(r), self.api_key)
        cls = TransientError if r.status_code >= 500 or r.status_code == 429 else StudioError
        return cls(f"Label Studio answered HTTP {r.status_code} on {where}: {detail}")


class TransientError(StudioError):
    """A failure that may pass: server down, timeout, 5xx. Retry or resume later."""


def connect(
    url: str | None = None,
    api_key: str | None = None,
    *,
    data_dir: str | Path | None = None,
    check: bool = True,
) -> Connection:
    """Connect to Label Studio: arguments, else env, else the embedded server's state.

    With ``check`` the key is tried once (``whoami``) so a wrong URL or key fails here
    with one clear line.
    """
    origin = "arguments"
    if not url:
        url = settings.env(ENV_URL)
        origin = "environment"
    if not api_key:
        api_key = settings.env(ENV_API_KEY)
    if not url or not api_key:
        state = embedded.read_state(data_dir)
        creds = embedded.read_credentials(data_dir)
        if state and creds and (not url or url.rstrip("/") == str(state.get("url")).rstrip("/")):
            url = url or str(state["url"])
            api_key = api_key or creds.api_key
            origin = "embedded server"
    if not url:
        raise StudioError(
            "no Label Studio to talk to: run `curate studio up`, or set "
            f"{ENV_URL} and {ENV_API_KEY} for another server"
        )
    if not api_key:
        raise StudioError(f"no API key for Label Studio at {url}: set {ENV_API_KEY}")
    conn = Connection(url=url, api_key=api_key, origin=origin)
    if check:
        conn.whoami()
    return conn


def _detail(r: requests.Response) -> str:
    """The useful part of an error answer: LS's validation errors, else its detail."""
    try:
        body = r.json()
    except ValueError:
        return r.text[:300].strip() or r.reason
    if isinstance(body, dict):
        errors = body.get("validation_errors")
        if errors:
            return str(errors)[:500]
        return str(body.get("detail") or body)[:500]
    return str(body)[:500]


def _looks_like_jwt(key: str) -> bool:
    return key.count(".") == 2 and key.startswith("eyJ")


def _refused(e: requests.ConnectionError) -> bool:
    # A refused connection never reached the server: always safe to resend.
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "Connection refused" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
        if seen is e:
            break
    return "refused" in str(e).lower()


def _reason(e: BaseException) -> str:
    text = str(e).lower()
    for needle, reason in (
        ("refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("reset", "connection reset"),
        ("remote end closed", "connection closed"),
    ):
        if needle in text:
            return reason
    return e.__class__.__name__


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text

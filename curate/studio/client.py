"""Connections to a Label Studio: where it is, how to authenticate, retries, clear errors.

``connect()`` resolves the server from explicit arguments, else the environment
(``LABEL_STUDIO_URL`` + ``LABEL_STUDIO_API_KEY``), else the embedded server recorded
by ``curate studio up``. The API key never appears in a message, a repr or a log line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

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
_LOOPBACK = ("localhost", "127.", "[::1]", "::1")
T = TypeVar("T")


class RetryPolicy(Retry):
    """curate's one retry policy, mounted on the requests session of a :class:`Connection`.

    urllib3 resends any request whose connection failed before it was sent (refused,
    connect timeout), and, by its method allow-list, idempotent requests after a read
    error or a 500/502/504. On top of that, 429 and 503 are resent for every method:
    Label Studio did not act on those. A POST that may have been half done (read error,
    500) is never resent here; push reconciles such an import by reading back what the
    project holds (:mod:`curate.studio.imports`). Backoff is exponential and honours
    ``Retry-After``. The SDK client keeps its own retries for its own calls; nothing
    wraps it in a second loop.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in _RETRY_ALWAYS:
            return bool(self.total)
        return super().is_retry(method, status_code, has_retry_after)


def retry_policy(retries: int, backoff: float) -> RetryPolicy:
    """The :class:`RetryPolicy` with ``retries`` attempts after the first and exponential
    backoff of ``backoff`` seconds times 2^n (at most 30 s)."""
    return RetryPolicy(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=False,
        allowed_methods=_IDEMPOTENT,
        status_forcelist=_RETRY_ALWAYS | _RETRY_IDEMPOTENT,
        backoff_factor=backoff,
        backoff_max=30.0,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def normalize_url(url: str) -> str:
    """The server URL curate talks to, or StudioError saying in one line what is wrong.

    A URL without a scheme gets ``http://`` only for a loopback host (``localhost:8080``);
    anywhere else the scheme is asked for, since guessing plain HTTP would send the API
    key unencrypted. A trailing slash is dropped; a path prefix is kept (a Label Studio
    served under one), and :meth:`Connection.whoami` says so if nothing answers there.
    """
    raw = url.strip()
    if "://" not in raw:
        if raw.lower().startswith(_LOOPBACK):
            raw = "http://" + raw
        else:
            raise StudioError(
                f"{ENV_URL} {raw!r} has no scheme; write it as https://{raw} "
                f"(or http://{raw} for a server without TLS)"
            )
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StudioError(
            f"{ENV_URL} {raw!r} is not an http(s) URL with a host; "
            "write it like http://localhost:8080"
        )
    return raw.rstrip("/")


@dataclass
class Connection:
    """An authenticated connection to one Label Studio.

    ``request`` is raw HTTP on a session with curate's :class:`RetryPolicy` and curate
    errors; ``sdk`` is the official ``label_studio_sdk`` client for the same server,
    created on first use.
    """

    url: str
    api_key: str = field(repr=False)
    origin: str = "arguments"
    retries: int = 5
    backoff: float = 0.5
    timeout: float = 300.0
    session: requests.Session | None = field(default=None, repr=False)
    #: The data folder of the server when it is curate's embedded Label Studio on this
    #: machine (its files can be tidied: :func:`curate.studio.pull.remove_export_files`).
    data_dir: Path | None = None
    _sdk: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.url = normalize_url(self.url)
        if self.session is None:
            self.session = requests.Session()
            adapter = HTTPAdapter(max_retries=retry_policy(self.retries, self.backoff))
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)

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
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request under the :class:`RetryPolicy`; any other answer than ``ok``
        becomes a StudioError (:class:`TransientError` for a failure that may pass)."""
        method = method.upper()
        url = path if path.startswith("http") else f"{self.url}/{path.lstrip('/')}"
        kwargs.setdefault("timeout", self.timeout)
        headers = {**(kwargs.pop("headers", None) or {}), **self.headers()}
        assert self.session is not None
        try:
            r = self.session.request(method, url, headers=headers, **kwargs)
        except requests.ConnectionError as e:
            raise TransientError(
                f"cannot reach Label Studio at {self.url} ({_reason(e)}); is it running? "
                f"Start it with `curate studio up` or check {ENV_URL}"
            ) from None
        except requests.Timeout:
            raise self._timeout(method, url, kwargs["timeout"]) from None
        if r.status_code in ok:
            return r
        raise self._error(method, url, r)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET ``path`` and decode its JSON; an HTML page or other non-JSON answer is a
        StudioError naming the URL, never the page itself."""
        return self.json_of(self.request("GET", path, **kwargs))

    def json_of(self, r: requests.Response) -> Any:
        """The JSON body of an answer, or one clear StudioError (no HTML dumped)."""
        try:
            return r.json()
        except ValueError:
            raise StudioError(
                f"{self.url} answered {r.request.method} {_path(r.url)} with "
                f"{_kind(r)}, not Label Studio's JSON API{_prefix_hint(self.url)}"
            ) from None

    def paged(self, path: str, params: dict[str, Any], key: str, page_size: int = 1000) -> Iterator:
        """Yield items of a paged list endpoint (``?page=&page_size=``) until it runs out."""
        page = 1
        while True:
            r = self.request(
                "GET", path, params={**params, "page": page, "page_size": page_size}, ok=(200, 404)
            )
            if r.status_code == 404:  # LS answers 404 for a page past the end
                return
            body = self.json_of(r)
            items = body.get(key, []) if isinstance(body, dict) else body
            yield from items
            total = body.get("total") if isinstance(body, dict) else None
            if len(items) < page_size or (total is not None and page * page_size >= total):
                return
            page += 1

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, an SDK method, with its errors as curate errors.

        The SDK retries by itself (idempotent or not); nothing here retries again.
        ``what`` names the call in a message ("update task").
        """
        from label_studio_sdk.core.api_error import ApiError

        try:
            return fn(*args, **kwargs)
        except ApiError as e:
            code = int(e.status_code or 0)
            if code in (401, 403):
                raise StudioError(
                    f"Label Studio at {self.url} refused the API key (HTTP {code} on {what}); "
                    f"check {ENV_API_KEY}"
                ) from None
            detail = _redact(" ".join(str(e.body)[:300].split()), self.api_key)
            if "<html" in detail.lower():
                detail = "an HTML page"
            cls = TransientError if code >= 500 or code == 429 else StudioError
            raise cls(f"Label Studio answered HTTP {code} on {what}: {detail}") from None
        except httpx.HTTPError as e:
            raise TransientError(
                f"cannot reach Label Studio at {self.url} ({_reason(e)}) on {what}"
            ) from None

    def whoami(self) -> dict[str, Any]:
        """The user the API key belongs to; raises StudioError for a wrong URL or key."""
        me = self.get_json("/api/current-user/whoami")
        if not isinstance(me, dict) or "email" not in me:
            raise StudioError(
                f"{self.url} does not look like a Label Studio{_prefix_hint(self.url)}"
            )
        return me

    def _timeout(self, method: str, url: str, timeout: float) -> TransientError:
        return TransientError(
            f"Label Studio at {self.url} did not answer {method} {_path(url)} "
            f"within {timeout:.0f} s"
        )

    def _error(self, method: str, url: str, r: requests.Response) -> StudioError:
        where = f"{method} {_path(url)}"
        if r.status_code in (401, 403):
            return StudioError(
                f"Label Studio at {self.url} refused the API key "
                f"(HTTP {r.status_code} on {where}); check {ENV_API_KEY} "
                "(Account & Settings > Access Token) or run `curate studio up`"
            )
        if r.status_code == 404 and _path(url).endswith("/api/current-user/whoami"):
            return StudioError(
                f"{self.url} does not look like a Label Studio (HTTP 404 on {where})"
                + _prefix_hint(self.url)
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
    state = embedded.read_state(data_dir)
    if not url or not api_key:
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
    if state and str(state.get("url", "")).rstrip("/") == conn.url:
        conn.data_dir = Path(data_dir or embedded.default_data_dir()).absolute()
    if check:
        conn.whoami()
    return conn


def _detail(r: requests.Response) -> str:
    """The useful part of an error answer: LS's validation errors, else its detail.
    A page of HTML is named as such, never quoted."""
    try:
        body = r.json()
    except ValueError:
        if _is_html(r):
            return _kind(r)
        return " ".join(r.text[:300].split()) or r.reason
    if isinstance(body, dict):
        errors = body.get("validation_errors")
        if errors:
            return str(errors)[:500]
        return str(body.get("detail") or body)[:500]
    return str(body)[:500]


def _is_html(r: requests.Response) -> bool:
    head = r.text[:200].lstrip().lower()
    return "html" in r.headers.get("Content-Type", "") or head.startswith(("<!doctype", "<html"))


def _kind(r: requests.Response) -> str:
    return (
        "an HTML page" if _is_html(r) else f"a {r.headers.get('Content-Type') or 'non-JSON'} body"
    )


def _prefix_hint(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    if not path:
        return ""
    return (
        f"; {ENV_URL} has the path {path!r}: set it to the server's root URL "
        f"({url[: len(url) - len(path)]}) unless Label Studio is really served under that path"
    )


def _looks_like_jwt(key: str) -> bool:
    return key.count(".") == 2 and key.startswith("eyJ")


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
    return urlsplit(url).path or "/"


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text

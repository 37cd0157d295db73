"""Connect ``curate serve`` to a Label Studio project, and read the project's gold back.

:func:`connect_backend` registers the backend with a project through Label Studio's
``/api/ml`` (Label Studio then calls ``/health`` and ``/setup``, creates the webhook to
``<url>/webhook`` that carries annotation events, and asks ``/predict`` when tasks are
imported or "Retrieve predictions" runs in the Data Manager).

Label Studio 1.23 refuses backend and webhook URLs that resolve to loopback or private
networks (SSRF protection). ``curate studio up`` starts it with loopback allowed; a
team's own server needs ``USE_DEFAULT_BANNED_SUBNETS=false`` with
``USER_ADDITIONAL_BANNED_SUBNETS`` listing the subnets still to refuse (see the README),
or a backend URL on a public address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.errors import StudioError
from curate.model import Document

TITLE = "curate"


@dataclass(frozen=True)
class Connected:
    """What :func:`connect_backend` did: the ML backend id and its state in Label Studio."""

    project_id: int
    backend_id: int
    url: str
    state: str
    created: bool
    webhook: bool
    interactive: bool


_REFUSALS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("reserved network", "Can't resolve"),
        "Label Studio refused the backend URL {url} ({error}); a server you run yourself "
        "must allow it: see 'Connect curate to your own Label Studio' in the README "
        "(USE_DEFAULT_BANNED_SUBNETS / USER_ADDITIONAL_BANNED_SUBNETS)",
    ),
    (
        ("health check failed", "Can't connect"),
        "Label Studio cannot reach the backend at {url} (its health check failed); is "
        "`curate serve` running there, and can the Label Studio server reach that address?",
    ),
)
"""Label Studio's refusals of an ML backend URL (words in its message) and what to say."""


def connect_backend(
    conn: Any, project: int | str | None, url: str, *, interactive: bool = True, title: str = TITLE
) -> Connected:
    """Register the ML backend at ``url`` with ``project`` (id or title); idempotent.

    An existing backend of the project with the same URL is updated, not duplicated.
    Raises StudioError when Label Studio refuses the URL (for example its SSRF check)
    or cannot reach the backend.
    """
    from curate.studio.pull import find_project

    proj = find_project(conn, project)
    pid = int(proj["id"])
    url = url.rstrip("/")
    body = {"url": url, "project": pid, "title": title, "is_interactive": interactive}
    existing = [
        b
        for b in conn.get_json("/api/ml", params={"project": pid})
        if str(b.get("url", "")).rstrip("/") == url
    ]
    try:
        if existing:
            backend = conn.request("PATCH", f"/api/ml/{existing[0]['id']}", json=body).json()
        else:
            backend = conn.request("POST", "/api/ml", json=body).json()
    except StudioError as e:
        # One explanation for a create and an update: what Label Studio's message says.
        for needles, why in _REFUSALS:
            if any(n in str(e) for n in needles):
                raise StudioError(why.format(url=url, error=e)) from None
        raise
    state = str(backend.get("state") or "")
    if state in ("ER", "DI"):
        raise StudioError(
            f"Label Studio registered the backend {url} for project {pid} but cannot use it "
            f"(state {state}: {backend.get('error_message') or 'no answer to /health'}); "
            "is `curate serve` running there?"
        )
    hooks = conn.get_json("/api/webhooks", params={"project": pid})
    webhook = any(str(h.get("url", "")).rstrip("/") == f"{url}/webhook" for h in hooks)
    return Connected(pid, int(backend["id"]), url, state, not existing, webhook, interactive)


@dataclass(frozen=True)
class Disconnected:
    """What :func:`disconnect_backend` removed: ML backend ids and webhook ids."""

    project_id: int
    backends: tuple[int, ...]
    webhooks: tuple[int, ...]


def disconnect_backend(conn: Any, project: int | str | None, url: str) -> Disconnected:
    """Remove the ML backend at ``url`` from ``project`` (id or title), and the webhook to
    ``<url>/webhook`` that carried its annotation events; a project without them is left
    as it is (nothing removed is not an error).

    Label Studio keeps a backend registered after the server behind it stops: its tasks
    then ask a dead address for predictions. Raises StudioError when Label Studio cannot
    be reached or refuses.
    """
    from curate.studio.pull import find_project

    pid = int(find_project(conn, project)["id"])
    url = url.rstrip("/")
    backends = tuple(
        int(b["id"])
        for b in conn.get_json("/api/ml", params={"project": pid})
        if str(b.get("url", "")).rstrip("/") == url
    )
    for backend_id in backends:
        conn.request("DELETE", f"/api/ml/{backend_id}")
    webhooks = tuple(
        int(h["id"])
        for h in conn.get_json("/api/webhooks", params={"project": pid})
        if str(h.get("url", "")).rstrip("/") == f"{url}/webhook"
    )
    for hook_id in webhooks:
        conn.request("DELETE", f"/api/webhooks/{hook_id}")
    return Disconnected(pid, backends, webhooks)


def project_gold(
    conn: Any, project: int, out_dir: str | Path, schema: Any = None
) -> Sequence[Document]:
    """The project's gold documents, one per annotated task (:func:`curate.studio.pull.pull`)."""
    from curate.studio.pull import pull

    return pull(conn, project, out_dir, schema=schema).gold

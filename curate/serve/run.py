"""Build and run ``curate serve``: the backend, its link to Label Studio, uvicorn.

Uvicorn stops gracefully on SIGINT/SIGTERM: it stops accepting connections, finishes the
requests in flight, then the app's shutdown cancels any queued training run (a run in
progress is abandoned and listed as failed at the next start; the serving version is
untouched either way).
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate import settings
from curate.errors import CurateError
from curate.model import Document
from curate.serve import wire
from curate.serve.backend import DEFAULT_EXTRACTOR, Backend

DEFAULT_PORT = 9090
DEFAULT_STATE_DIR = Path(".curate/serve")


@dataclass
class StudioLink:
    """Where the connected Label Studio is: set by ``/setup``, used by training runs.

    The access token Label Studio sends lives only in memory. ``LABEL_STUDIO_URL`` and
    ``LABEL_STUDIO_API_KEY`` (or the embedded server) win when set.
    """

    state_dir: Path
    project: int | None = None
    hostname: str | None = field(default=None)
    token: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_setup(self, body: wire.SetupRequest) -> None:
        with self._lock:
            self.project = body.project_id() or self.project
            self.hostname = body.hostname or self.hostname
            self.token = body.access_token or self.token

    def project_docs(self) -> Sequence[Document]:
        from curate.serve.connect import project_gold
        from curate.studio.client import connect

        with self._lock:
            project, hostname, token = self.project, self.hostname, self.token
        if project is None:
            return []
        url = settings.env(settings.ENV_URL)
        key = settings.env(settings.ENV_API_KEY)
        conn = connect(url or hostname, key or (None if url else token))
        return project_gold(conn, project, self.state_dir / "pulls")


def build_backend(
    state_dir: str | Path = DEFAULT_STATE_DIR,
    extractor: str = DEFAULT_EXTRACTOR,
    base_gold: str | None = None,
    train_steps: int = 600,
    seed: int = 0,
) -> tuple[Backend, StudioLink]:
    """The backend and its studio link; with ``base_gold``, retraining through ``curate
    train`` (:class:`~curate.serve.training.CurateTrainer`, ``train_steps`` updates a run,
    ``seed``)."""
    from curate.serve.app import log_event
    from curate.serve.training import CurateTrainer

    state = Path(state_dir)
    link = StudioLink(state)
    gold: list[Document] = []
    if base_gold:
        from curate.score.evaluate import load_gold

        gold = load_gold(base_gold)[0]
    backend = Backend(
        state,
        extractor=extractor,
        trainer=CurateTrainer(train_steps, seed) if base_gold else None,
        base_gold=gold,
        project_docs=link.project_docs,
        log=log_event,
    )
    return backend, link


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    state_dir: str | Path = DEFAULT_STATE_DIR,
    extractor: str = DEFAULT_EXTRACTOR,
    base_gold: str | None = None,
    train_steps: int = 600,
    seed: int = 0,
    log_level: str = "info",
) -> None:
    """Run the backend under uvicorn until SIGINT/SIGTERM (blocks)."""
    import uvicorn

    from curate.serve.app import create_app

    configure_logging(log_level)
    sock = listen(host, port)  # before the model loads: a taken port is said at once
    backend, link = build_backend(state_dir, extractor, base_gold, train_steps, seed)
    backend.warm_up()
    app = create_app(backend, on_setup=link.on_setup)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    uvicorn.Server(config).run(sockets=[sock])


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` for uvicorn to serve on.

    Raises CurateError with one line (what listens there and what to do) when the port is
    taken or the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on connections of a socket that
    # says it is TCP. Without it each response waited for the client's delayed ACK
    # (Nagle's algorithm holds the body behind the headers): ~40 ms a /predict.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise CurateError(
                f"port {port} on {host} is already in use; pass another --port, or stop what "
                "listens there"
            ) from None
        raise CurateError(f"cannot listen on {host}:{port} ({e.strerror}); check --host") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def read_status(state_dir: str | Path = DEFAULT_STATE_DIR) -> dict[str, Any]:
    """The versions recorded in ``state_dir`` (no server needed): ``{"serving": name,
    "versions": [Version fields, ...]}``; with no ``state_dir`` (``curate serve`` has not
    run with it) no versions, and the rules would serve."""
    from curate.serve.training import VersionStore

    if not Path(state_dir).is_dir():
        return {"serving": "rules", "versions": []}
    store = VersionStore.open(state_dir)
    return {"serving": store.serving().name, "versions": [v.__dict__ for v in store.versions]}


class _Scrub(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        for secret in settings.secret_values():
            msg = msg.replace(secret, "***")
        record.msg, record.args = msg, ()
        return True


def configure_logging(level: str = "info") -> None:
    """JSON lines of ``curate.serve`` on stderr, secrets of the environment scrubbed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    handler.addFilter(_Scrub())
    log = logging.getLogger("curate.serve")
    log.handlers[:] = [handler]
    log.setLevel(level.upper())
    log.propagate = False

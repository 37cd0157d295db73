"""The embedded Label Studio: start it in the background, find it again, stop it.

``start`` spawns ``label-studio start`` with its own data folder, creates the admin
user and a legacy API token on first start (passed through the environment, never on
the command line where ``ps`` would show them), waits for ``/health`` and checks that
the token is accepted, then records where the server is in ``server.json`` inside the
data folder so other commands (and ``stop``/``status``) find it.

Secrets live in ``credentials.json`` beside the data, never in the state file, in
messages or in reprs. The data folder is made private (0700) and every file in it 0600
(Label Studio runs with umask 077), since its database holds the API token too.

A server is taken as curate's own only when the process curate started (found with
psutil) is the one listening on the port and was started for this data folder; a
port taken by someone else between the check and Label Studio's bind makes curate try
another port (or, for an explicit ``--port``, say so), never blame the credentials.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from curate import settings
from curate.errors import StudioError

DEFAULT_DATA_DIR = settings.STUDIO_DIR
DATA_DIR_ENV = settings.ENV_STUDIO_DIR
DEFAULT_PORT = 8080
DEFAULT_USERNAME = "admin@curate.local"
STATE_FILE = "server.json"
CREDENTIALS_FILE = "credentials.json"
LOG_FILE = "label_studio.log"
START_TIMEOUT = 900.0
#: Ports tried when the one chosen automatically is taken while Label Studio starts.
PORT_ATTEMPTS = 3
_PRIVATE_UMASK = 0o077
_PORT_TAKEN = "That port is already in use"
#: Label Studio 1.23.2's default SSRF block list (``core.utils.io.validate_ip``) without
#: the loopback networks, so a backend on 127.0.0.1 (``curate serve``) can be connected
#: while private networks and cloud metadata addresses stay refused.
BANNED_SUBNETS_BUT_LOOPBACK = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "233.252.0.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::/128",
    "::ffff:0:0/96",
    "::ffff:0:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001:0000::/32",
    "2001:20::/28",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
)


@dataclass(frozen=True)
class Credentials:
    """The admin login and API token of an embedded server."""

    username: str
    password: str = field(repr=False)
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class PostgresSettings:
    """Where Label Studio's PostgreSQL database is (LS env ``POSTGRE_*``)."""

    name: str = "postgres"
    user: str = "postgres"
    password: str = field(default="", repr=False)
    host: str = "localhost"
    port: int = 5432

    def env(self) -> dict[str, str]:
        return {
            "DJANGO_DB": "default",
            "POSTGRE_NAME": self.name,
            "POSTGRE_USER": self.user,
            "POSTGRE_PASSWORD": self.password,
            "POSTGRE_HOST": self.host,
            "POSTGRE_PORT": str(self.port),
        }

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> PostgresSettings:
        """Read ``POSTGRE_NAME/USER/PASSWORD/HOST/PORT`` (Label Studio's own names)."""
        env = os.environ if environ is None else environ
        return cls(
            name=env.get("POSTGRE_NAME", "postgres"),
            user=env.get("POSTGRE_USER", "postgres"),
            password=env.get("POSTGRE_PASSWORD", ""),
            host=env.get("POSTGRE_HOST", "localhost"),
            port=int(env.get("POSTGRE_PORT", "5432")),
        )


@dataclass(frozen=True)
class Server:
    """A started (or found) embedded Label Studio."""

    url: str
    host: str
    port: int
    pid: int
    data_dir: Path
    log_path: Path
    database: str
    username: str
    password: str = field(repr=False)
    api_key: str = field(repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)


def default_data_dir() -> Path:
    """``$CURATE_STUDIO_DIR``, else the project's ``.curate/studio``
    (:func:`curate.settings.project_path`)."""
    return settings.studio_dir()


@dataclass(frozen=True)
class Status:
    """What ``status`` found: whether the recorded server runs and answers ``/health``."""

    running: bool
    healthy: bool
    url: str | None = None
    pid: int | None = None
    port: int | None = None
    database: str | None = None
    data_dir: Path | None = None
    log_path: Path | None = None
    started_at: str | None = None
    note: str = ""


def load_or_create_credentials(
    data_dir: str | Path,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> Credentials:
    """The credentials stored in ``data_dir``, created (random, mode 0600) on first use.

    Explicit arguments win and are stored, so a later ``connect()`` finds them.
    """
    data_dir = Path(data_dir)
    path = data_dir / CREDENTIALS_FILE
    stored: dict[str, Any] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise StudioError(
                f"{path}: cannot read the stored Label Studio login ({e.__class__.__name__}); "
                "fix or delete the file (deleting it means a new data folder is needed)"
            ) from None
    creds = Credentials(
        username=username or stored.get("username") or DEFAULT_USERNAME,
        password=password or stored.get("password") or secrets.token_urlsafe(18),
        api_key=token or stored.get("api_key") or secrets.token_hex(20),
    )
    if asdict(creds) != stored:
        _write_private(path, asdict(creds))
    return creds


def read_credentials(data_dir: str | Path | None = None) -> Credentials | None:
    """The stored credentials of ``data_dir``, or None if there are none."""
    path = Path(data_dir or default_data_dir()) / CREDENTIALS_FILE
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(d["username"], d["password"], d["api_key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_state(data_dir: str | Path | None = None) -> dict[str, Any] | None:
    """The recorded state of the embedded server (no secrets), or None."""
    try:
        state = json.loads(
            (Path(data_dir or default_data_dir()) / STATE_FILE).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def find_free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) == 0


def start(
    data_dir: str | Path | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    database: str = "sqlite",
    pg: PostgresSettings | None = None,
    timeout: float = START_TIMEOUT,
) -> Server:
    """Start Label Studio in the background and wait until it answers with our token.

    ``port=None`` takes 8080 when free, otherwise any free port. Raises StudioError
    (with the tail of the server log) if it does not come up within ``timeout`` seconds.
    """
    if database not in ("sqlite", "postgres"):
        raise StudioError(f"unknown database {database!r}; use sqlite or postgres")
    data_dir = Path(data_dir or default_data_dir()).absolute()
    make_private(data_dir)
    found = status(data_dir)
    if found.running:
        raise StudioError(
            f"Label Studio is already running at {found.url} (pid {found.pid}) for {data_dir}; "
            "stop it first with `curate studio down`"
        )
    chosen = port is not None
    if port is None:
        port = DEFAULT_PORT if not port_in_use(host, DEFAULT_PORT) else find_free_port(host)
    elif port_in_use(host, port):
        raise StudioError(f"port {port} on {host} is already in use; pick another with --port")

    fresh = not (data_dir / CREDENTIALS_FILE).exists()
    creds = load_or_create_credentials(data_dir, username, password, token)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            server = _launch(data_dir, host, port, creds, database, pg, timeout, fresh, chosen)
        except _PortTaken as e:
            if chosen or attempt == PORT_ATTEMPTS:
                raise StudioError(
                    f"port {e.port} on {host} was taken by another program while Label "
                    "Studio started; " + ("pick another with --port" if chosen else "start again")
                ) from None
            port = find_free_port(host)
            continue
        make_private(data_dir)
        _write_state(server)
        return server
    raise AssertionError("unreachable")  # the loop returns or raises


class _PortTaken(Exception):
    def __init__(self, port: int):
        super().__init__(port)
        self.port = port


def _launch(
    data_dir: Path,
    host: str,
    port: int,
    creds: Credentials,
    database: str,
    pg: PostgresSettings | None,
    timeout: float,
    fresh: bool,
    chosen: bool,
) -> Server:
    """Start one Label Studio process for ``port`` and wait until it is ready.

    Raises _PortTaken when the port went to someone else before Label Studio bound it.
    """
    env = _server_env(data_dir, creds, database, pg)
    log_path = data_dir / LOG_FILE
    cmd = [
        *_label_studio_command(),
        "start",
        "--no-browser",
        "--internal-host",
        host,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        start_at = log.seek(0, os.SEEK_END)
        log.write(f"\n--- curate: starting Label Studio on {host}:{port} ---\n".encode())
        log.flush()
        # A new session: the server outlives `curate studio up` and ignores its Ctrl-C.
        # umask 077: the database (which holds the API token) and every other file
        # Label Studio writes are readable by this user only.
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=data_dir,
            start_new_session=True,
            umask=_PRIVATE_UMASK,
        )
    server = Server(
        url=f"http://{_url_host(host)}:{port}",
        host=host,
        port=port,
        pid=proc.pid,
        data_dir=data_dir,
        log_path=log_path,
        database=database,
        username=creds.username,
        password=creds.password,
        api_key=creds.api_key,
        process=proc,
    )
    try:
        return _wait_ready(server, proc, timeout, fresh, chosen, start_at)
    except BaseException:
        _terminate(proc.pid, proc)
        raise


def make_private(data_dir: Path) -> list[Path]:
    """Make ``data_dir`` 0700 and each file in it 0600 (creating the folder if needed);
    returns what had to be tightened.

    Label Studio's database holds the API token, so nobody else may read the folder.
    Raises StudioError, saying how to fix it, for a folder curate may not change.
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tightened: list[Path] = []
    for path in (data_dir, *_top_files(data_dir)):
        try:
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                path.chmod(mode & 0o700)
                tightened.append(path)
        except PermissionError:
            raise StudioError(
                f"{path} can be read by other users and curate may not change that; "
                f"run `chmod go-rwx {path}` as its owner, or pick another --data-dir"
            ) from None
        except FileNotFoundError:
            continue
    return tightened


def _top_files(data_dir: Path) -> list[Path]:
    try:
        return [p for p in data_dir.iterdir() if p.is_file() and not p.is_symlink()]
    except OSError:
        return []


@dataclass(frozen=True)
class UpResult:
    """What ``up`` did: ``started`` is False when the server was already running."""

    status: Status
    started: bool
    #: The data folder and files that were open to other users and were made private.
    tightened: list[Path] = field(default_factory=list)


def up(
    data_dir: str | Path | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    database: str = "sqlite",
    pg: PostgresSettings | None = None,
    timeout: float = START_TIMEOUT,
) -> UpResult:
    """Start the embedded server unless the one recorded in ``data_dir`` already runs."""
    folder = Path(data_dir or default_data_dir()).absolute()
    tightened = make_private(folder)
    found = status(folder)
    if found.running:
        return UpResult(found, started=False, tightened=tightened)
    start(folder, port=port, host=host, database=database, pg=pg, timeout=timeout)
    return UpResult(status(folder), started=True, tightened=tightened)


def stop(data_dir: str | Path | None = None, timeout: float = 30.0) -> Status:
    """Stop the server recorded in ``data_dir`` if it is the process curate started.

    Returns the status as it was before stopping (``running=False`` if nothing ran).
    """
    data_dir = Path(data_dir or default_data_dir()).absolute()
    before = status(data_dir, check_health=False)
    if before.running and before.pid is not None:
        _terminate(before.pid, None, timeout)
    state_path = data_dir / STATE_FILE
    with contextlib.suppress(FileNotFoundError):
        state_path.unlink()
    return before


def stop_server(server: Server, timeout: float = 30.0) -> None:
    """Stop a server returned by :func:`start` (reaps the child process too)."""
    if _is_ours(server.pid, server.port, server.data_dir):
        _terminate(server.pid, server.process, timeout)
    elif server.process is not None:
        server.process.poll()
    with contextlib.suppress(FileNotFoundError):
        (server.data_dir / STATE_FILE).unlink()


def status(data_dir: str | Path | None = None, check_health: bool = True) -> Status:
    """Whether the server recorded in ``data_dir`` is running and healthy."""
    data_dir = Path(data_dir or default_data_dir()).absolute()
    state = read_state(data_dir)
    if state is None:
        return Status(False, False, data_dir=data_dir, note="not started")
    pid, port = int(state.get("pid", 0)), int(state.get("port", 0))
    common: dict[str, Any] = {
        "url": state.get("url"),
        "pid": pid,
        "port": port,
        "database": state.get("database"),
        "data_dir": data_dir,
        "log_path": data_dir / LOG_FILE,
        "started_at": state.get("started_at"),
    }
    if not _is_ours(pid, port, data_dir):
        return Status(False, False, **common, note="stale state: the recorded process is gone")
    healthy = _healthy(str(state.get("url"))) if check_health else False
    return Status(True, healthy, **common, note="" if healthy or not check_health else "no /health")


# --- internals ---------------------------------------------------------------------


def _label_studio_command() -> list[str]:
    # The console script beside our interpreter, else the module (same entry point).
    script = Path(sys.executable).with_name("label-studio")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "label_studio.server"]


def _server_env(
    data_dir: Path, creds: Credentials, database: str, pg: PostgresSettings | None
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # Do not let a stray database setting of the caller pick the database for us.
        if not k.startswith(("POSTGRE_", "DJANGO_DB", "LABEL_STUDIO_", "DATABASE_NAME"))
    }
    env.update(
        {
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_USERNAME": creds.username,
            "LABEL_STUDIO_PASSWORD": creds.password,
            "LABEL_STUDIO_USER_TOKEN": creds.api_key,
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            # No phoning home: no internet in CI, and a hung check slows the start.
            "LATEST_VERSION_CHECK": "false",
            "COLLECT_ANALYTICS": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "PYTHONUNBUFFERED": "1",
            # Let LS reach an ML backend and webhooks on this machine (`curate serve`):
            # LS 1.23 refuses URLs resolving to any reserved network. Keep every default
            # banned subnet except loopback, instead of turning the SSRF check off.
            "USE_DEFAULT_BANNED_SUBNETS": "false",
            "USER_ADDITIONAL_BANNED_SUBNETS": ",".join(BANNED_SUBNETS_BUT_LOOPBACK),
        }
    )
    if database == "postgres":
        env.update((pg or PostgresSettings.from_env()).env())
    else:
        env["DJANGO_DB"] = "sqlite"
    return env


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # nosec - only a URL for us


def _wait_ready(
    server: Server,
    proc: subprocess.Popen[bytes],
    timeout: float,
    fresh: bool,
    chosen: bool,
    log_from: int,
) -> Server:
    """Wait until the process curate started listens, answers /health and accepts its
    token; returns the server at the port it really listens on.

    Only the started process is asked: the port it listens on is read with psutil, so a
    server someone else runs on the requested port is never mistaken for it.
    """
    deadline = time.monotonic() + timeout
    session = requests.Session()
    port: int | None = None
    while True:
        code = proc.poll()
        if code is not None:
            if _PORT_TAKEN in _log_since(server, log_from):
                raise _PortTaken(server.port)
            raise StudioError(
                f"Label Studio exited (code {code}) while starting; log {server.log_path}:\n"
                + _log_tail(server)
            )
        if port is None:
            ports = listening_ports(proc.pid)
            if ports:
                port = server.port if server.port in ports else min(ports)
                if port != server.port:
                    # Label Studio found the port taken and moved on by itself.
                    if chosen:
                        raise _PortTaken(server.port)
                    server = _replace(server, port=port)
        if port is not None and _healthy(server.url, session):
            break
        if time.monotonic() > deadline:
            raise StudioError(
                f"Label Studio did not answer {server.url}/health within {timeout:.0f} s; "
                f"log {server.log_path}:\n" + _log_tail(server)
            )
        time.sleep(0.5)
    try:
        r = session.get(
            f"{server.url}/api/current-user/whoami",
            headers={"Authorization": f"Token {server.api_key}"},
            timeout=30,
        )
    except requests.RequestException as e:
        raise StudioError(
            f"Label Studio at {server.url} stopped answering: {e.__class__.__name__}"
        ) from None
    if r.status_code == 200:
        return server
    if fresh:
        raise StudioError(
            f"Label Studio at {server.url} (pid {server.pid}) did not accept the API token "
            f"curate created for it (HTTP {r.status_code}); log {server.log_path}"
        )
    raise StudioError(
        f"Label Studio at {server.url} (pid {server.pid}, data {server.data_dir}) refused the "
        f"API token stored in {CREDENTIALS_FILE} (HTTP {r.status_code}): the database was set "
        f"up with other credentials - restore that {CREDENTIALS_FILE}, or use a new data folder"
    )


def listening_ports(pid: int) -> set[int]:
    """TCP ports that process ``pid`` or its children listen on (empty if gone)."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return set()
    ports: set[int] = set()
    for p in procs:
        try:
            conns = p.net_connections(kind="inet")
        except psutil.Error:
            continue
        ports.update(c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN)
    return ports


def _replace(server: Server, port: int) -> Server:
    from dataclasses import replace

    return replace(server, port=port, url=f"http://{_url_host(server.host)}:{port}")


def _log_since(server: Server, offset: int) -> str:
    try:
        with server.log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _healthy(url: str, session: requests.Session | None = None) -> bool:
    try:
        r = (session or requests).get(f"{url}/health", timeout=5)
    except requests.RequestException:
        return False
    return r.status_code == 200


def _log_tail(server: Server, lines: int = 25) -> str:
    try:
        text = server.log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = "\n".join(text.splitlines()[-lines:])
    for secret in (server.password, server.api_key):
        tail = tail.replace(secret, "***")
    return tail


def _is_ours(pid: int, port: int, data_dir: Path | None = None) -> bool:
    """True if ``pid`` is alive and is a Label Studio started for ``port`` (and, when
    given, for ``data_dir``)."""
    if pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(pid)
            return False
        args = proc.cmdline()
    except psutil.Error:
        return False
    joined = " ".join(args)
    if not ("label" in joined and "studio" in joined):
        return False
    if data_dir is not None and f"--data-dir {data_dir}" not in joined:
        return False
    # Label Studio moves to the next port by itself when its own is taken.
    return f"--port {port}" in joined or port in listening_ports(pid)


def _reap(pid: int) -> None:
    # A child of this process that exited stays a zombie until waited for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _terminate(pid: int, proc: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            # The server leads its own session, so its group is exactly what we started.
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            os.kill(pid, sig)
        wait = timeout if sig == signal.SIGTERM else 10.0
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(wait)
                return
        else:
            try:
                psutil.Process(pid).wait(wait)
                return
            except psutil.NoSuchProcess:
                return
            except psutil.TimeoutExpired:
                pass


def _write_state(server: Server) -> None:
    state = {
        "url": server.url,
        "host": server.host,
        "port": server.port,
        "pid": server.pid,
        "database": server.database,
        "data_dir": str(server.data_dir),
        "log": str(server.log_path),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_private(server.data_dir / STATE_FILE, state)


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)

"""A private PostgreSQL server for Label Studio: own data folder, own port, password auth.

Used by the PostgreSQL tests and the team-scale benchmark; needs Debian's ``postgresql``
package (its ``initdb``/``pg_ctl`` under ``/usr/lib/postgresql/<v>/bin`` or on PATH).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curate.errors import StudioError
from curate.studio.server import PostgresSettings, find_free_port


def pg_bin() -> Path | None:
    """The folder of the newest PostgreSQL server binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parent.parent.name)
    except ValueError:
        return 0


@contextmanager
def private_postgres(dbname: str = "ls") -> Iterator[PostgresSettings]:
    """Start a throw-away PostgreSQL on 127.0.0.1 and yield its settings; stop and delete it after.

    As root the server runs as the ``postgres`` system user (initdb refuses root).
    Raises StudioError when the binaries are missing.
    """
    bindir = pg_bin()
    if bindir is None:
        raise StudioError("PostgreSQL binaries not found; install Debian's `postgresql` package")
    root = os.geteuid() == 0
    as_user = ["runuser", "-u", "postgres", "--"] if root else []
    base = Path(tempfile.mkdtemp(prefix="curate-pg-"))
    data, sock, pwfile = base / "data", base / "sock", base / "pw"
    sock.mkdir()
    password = "pg-" + os.urandom(8).hex()
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if root:
        for p in (base, sock, pwfile):
            shutil.chown(p, "postgres")
    port = find_free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8"}

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, env=env, capture_output=True, timeout=120)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "curate",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
        )
        opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(base / "log")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", log, "-w", "start")
        try:
            subprocess.run(
                [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "curate"]
                + [dbname],
                check=True,
                env={**env, "PGPASSWORD": password},
                capture_output=True,
                timeout=60,
            )
            yield PostgresSettings(dbname, "curate", password, "127.0.0.1", port)
        finally:
            subprocess.run(
                [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                env=env,
                capture_output=True,
                timeout=120,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)

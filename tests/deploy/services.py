"""A PostgreSQL cluster and a Redis server of the test's own, on free ports, for the fault tests
that stop and restart them: the machine's PostgreSQL and Redis are shared with other tests and
must never be restarted. ScaledStack(pg_admin_dsn=pg.dsn, redis_url=redis.url) runs on them."""
from __future__ import annotations

import ctypes
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.stack import free_port


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _wait_port(port: int, up: bool, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} on port {port} did not {'start' if up else 'stop'} within {timeout_s:.0f} s")


def pg_bindir() -> Path | None:
    """Where initdb and pg_ctl are (Debian keeps them out of PATH, under /usr/lib/postgresql/N/bin)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


class PrivatePostgres:
    """initdb in a temporary directory, then pg_ctl start/stop. PostgreSQL refuses to run as root,
    so as root it runs as the `postgres` user (runuser), which owns the directory."""

    def __init__(self):
        self.bindir = pg_bindir()
        self.port = free_port()
        self.dir: Path | None = None
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def available() -> bool:
        return pg_bindir() is not None and (os.getuid() != 0 or shutil.which("runuser") is not None)

    def _run(self, *argv: str, timeout: float = 120) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        done = subprocess.run(prefix + list(argv), capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {done.stdout}{done.stderr}\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.dir / "postgres.log").read_text(errors="replace").splitlines()[-lines:])
        except (OSError, TypeError):
            return ""

    def start(self) -> "PrivatePostgres":
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="shopchat-pg-"))
            if os.getuid() == 0:
                shutil.chown(self.dir, "postgres", "postgres")
            self._run(str(self.bindir / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-sync")
        # A test database: durability off (its files are thrown away), the default max_connections.
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-o", options,
                  "-l", str(self.dir / "postgres.log"), "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """fast: connections are cut, as when an operator restarts the server; immediate: as a crash."""
        if self.dir is not None and (self.dir / "data" / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            if self.dir is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None


class PrivateRedis:
    """redis-server on a free port, without persistence (a restart forgets everything, as the app
    must expect of its pub/sub and Rasa of its locks)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> "PrivateRedis":
        self.proc = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        _wait_port(self.port, True, 20, "redis-server")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _wait_port(self.port, False, 10, "redis-server")

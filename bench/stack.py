"""The system under test, started from scratch in subprocesses: a fresh SQLite database with the demo
content, the Rasa server and the app, all on 127.0.0.1. `Stack` is a context manager: everything it
started is stopped on exit, also on Ctrl-C or an error."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.settings import ROOT
from bot import server as rasa_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    # fields[0] is the state (3rd field of the file): utime, stime, cutime, cstime are fields 14-17.
    return sum(int(x) for x in fields[11:15]) / ticks


def system_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def system_steal_seconds() -> float:
    """CPU seconds the hypervisor gave to other machines while this one's cores wanted to run
    (/proc/stat's steal, part of the busy time above): on a shared VM, what makes the same code
    slower from one minute to the next."""
    try:
        return int(Path("/proc/stat").read_text().splitlines()[0].split()[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def proc_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} is missing)"


def wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float, what: str = "the app") -> None:
    """Wait until `url` answers 200; raise with the end of the log if `proc` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail(log_path)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not answer {url} within {timeout_s:.0f} s")


class Stack:
    def __init__(self, model: Path, workdir: Path, *, log=print):
        self.model = model
        self.workdir = workdir
        self.log = log
        self.app_port = free_port()
        self.rasa_port = free_port()
        self.app_url = f"http://127.0.0.1:{self.app_port}"
        self.rasa_url = f"http://127.0.0.1:{self.rasa_port}"
        self.db_url = f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
        self.action_token = secrets.token_urlsafe(24)
        self.rasa_auth_token = secrets.token_urlsafe(24)  # the app's "try the bot" parses with it
        self.app_log = workdir / "app.log"
        self.rasa_log = workdir / "rasa.log"
        self.app: subprocess.Popen | None = None
        self.rasa: subprocess.Popen | None = None

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SHOPCHAT_DATABASE_URL": self.db_url,
            "SHOPCHAT_HOST": "127.0.0.1",
            "SHOPCHAT_PORT": str(self.app_port),
            "SHOPCHAT_PUBLIC_URL": "",
            "SHOPCHAT_RASA_URL": self.rasa_url,
            "SHOPCHAT_ACTION_TOKEN": self.action_token,
            "SHOPCHAT_RASA_AUTH_TOKEN": self.rasa_auth_token,
            # The per-connection rate limit would throttle the no-pause load test.
            "SHOPCHAT_MESSAGE_RATE_PER_10S": "100000",
        }

    def start(self) -> "Stack":
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "app.cli", "load-demo"], cwd=ROOT, env=self._env(),
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"load-demo failed:\n{out.stdout}\n{out.stderr}")
        self.log(f"  database: {self.db_url} ({out.stdout.strip().splitlines()[-1]})")
        self.rasa = rasa_server.start_rasa(
            self.model, port=self.rasa_port, action_url=f"{self.app_url}/bot/actions",
            action_token=self.action_token, log_path=self.rasa_log, auth_token=self.rasa_auth_token,
            tracker_store_url=f"sqlite:///{self.workdir / 'rasa-trackers.db'}",
        )
        with open(self.app_log, "ab") as log:
            self.app = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=ROOT, env=self._env(),
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_app(300)  # the app embeds the knowledge base before it answers
        self.log(f"  app up on {self.app_url} (log {self.app_log})")
        if not rasa_server.wait_until_up(self.rasa_url, timeout_s=240, proc=self.rasa):
            raise RuntimeError(f"Rasa did not start:\n{tail(self.rasa_log)}")
        self.log(f"  Rasa up on {self.rasa_url} with {self.model.name} (log {self.rasa_log})")
        deadline = time.monotonic() + 30
        while httpx.get(f"{self.app_url}/health", timeout=2).json().get("rasa") != "up":
            if time.monotonic() > deadline:
                raise RuntimeError("the app does not see Rasa as up")
            time.sleep(0.5)
        self.log(f"  stack ready in {time.monotonic() - t0:.0f} s")
        return self

    def _wait_app(self, timeout_s: float) -> None:
        wait_healthy(f"{self.app_url}/health", self.app, self.app_log, timeout_s)

    def cpu_seconds(self) -> dict[str, float]:
        return {"app": proc_cpu_seconds(self.app.pid), "rasa": proc_cpu_seconds(self.rasa.pid),
                "all": system_busy_seconds()}

    def rss_mb(self) -> dict[str, float]:
        return {"app": proc_rss_mb(self.app.pid), "rasa": proc_rss_mb(self.rasa.pid)}

    def rasa_fallbacks(self) -> int:
        """How often the app gave up on Rasa and answered from the knowledge base alone."""
        try:
            return self.app_log.read_text(errors="replace").count("Rasa unavailable")
        except OSError:
            return 0

    def stop(self) -> None:
        for proc in (self.app, self.rasa):
            if proc is None or proc.poll() is not None:
                continue
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> "Stack":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

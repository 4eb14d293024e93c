"""Starting the Rasa server as a child process (its own venv), for the run command, tests and
benchmarks alike."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import yaml

from app.private import private_dir, private_file
from app.settings import ROOT, RUN_DIR

RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


class RasaStartError(Exception):
    """Rasa cannot be started as asked (bad store URL, its port already taken)."""


# ---- Rasa's stores: the one place they are configured -----------------------------------------
# Tracker store: where Rasa keeps each conversation's events (the handoff form's slots among them),
# so a restarted Rasa, or another Rasa sharing the store, continues a conversation where it was.
# Default (one Rasa): a SQLite file in .run/ (0600), one per port. Several Rasa servers: one
# PostgreSQL database of their own (Rasa creates its table, `events`), e.g.
# postgresql://rasa:secret@10.0.0.5:5432/shopchat_rasa (SHOPCHAT_RASA_TRACKER_STORE_URL).
# Lock store: serialises the messages of one conversation. In memory (default) is right for one
# Rasa; several need one Redis, e.g. redis://10.0.0.5:6379/1 (SHOPCHAT_RASA_LOCK_STORE_URL).

def default_tracker_store_url(port: int) -> str:
    return f"sqlite:///{RUN_DIR / f'rasa-trackers-{port}.db'}"


def check_tracker_store_url(url: str) -> dict:
    """The endpoints.yml `tracker_store` section for `url` (raises RasaStartError on a bad URL)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite" and url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return {"type": "SQL", "url": url}  # Rasa's SQLTrackerStore takes a full URL as its host
    if parts.scheme in ("postgresql", "postgresql+psycopg2") and parts.hostname and parts.path.strip("/"):
        return {"type": "SQL", "url": url}
    raise RasaStartError(
        f"tracker store URL {_without_password(url)!r} not understood: use sqlite:////absolute/path.db "
        f"or postgresql://user:password@host:5432/database")


def check_lock_store_url(url: str) -> dict:
    """The endpoints.yml `lock_store` section for `url` ('' = in memory, one Rasa only)."""
    if not url:
        return {"type": "in_memory"}
    parts = urlsplit(url)
    db = parts.path.strip("/") or "1"
    if parts.scheme not in ("redis", "rediss") or not parts.hostname or not db.isdigit():
        raise RasaStartError(
            f"lock store URL {_without_password(url)!r} not understood: use redis://[:password@]host:6379/1")
    store = {"type": "redis", "url": parts.hostname, "port": parts.port or 6379, "db": int(db),
             "use_ssl": parts.scheme == "rediss"}
    if parts.username:
        store["username"] = unquote(parts.username)
    if parts.password:
        store["password"] = unquote(parts.password)
    return store


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url


def write_endpoints(path: Path, action_url: str, action_token: str, *, tracker_store_url: str = "",
                    lock_store_url: str = "") -> Path:
    """Rasa's endpoints.yml (0600: it holds the action token and the stores' passwords). An empty
    tracker_store_url keeps Rasa's conversations in memory."""
    # Rasa adds `token` as a query parameter to every call of the action endpoint.
    endpoints = {"action_endpoint": {"url": action_url, "token": action_token},
                 "lock_store": check_lock_store_url(lock_store_url)}
    if tracker_store_url:
        endpoints["tracker_store"] = check_tracker_store_url(tracker_store_url)
    private_file(path).write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def check_port_free(host: str, port: int) -> None:
    """Refuse to start when something already listens there: most likely a Rasa left over from an
    earlier run, which the app would then talk to with an old action token."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            pass
    except OSError:
        return
    raise RasaStartError(
        f"something already listens on {host}:{port} (a Rasa left over from an earlier run? "
        f"`ss -ltnp 'sport = :{port}'` shows its process): stop it or choose another port")


def start_rasa(
    model: Path, *, port: int, action_url: str, action_token: str, auth_token: str | None = None,
    tracker_store_url: str | None = None, lock_store_url: str = "", host: str = "127.0.0.1",
    log_path: Path | None = None, die_with_parent: bool = False,
) -> subprocess.Popen:
    """`rasa run` on host:port (127.0.0.1 by default; a private network address at most: Rasa's
    webhooks, /webhooks/rest/webhook included, have no authentication of their own).

    Its HTTP API (/model/parse, /status, /conversations/...) answers only with `auth_token` (a
    `?token=` query parameter); None generates one, kept on the returned process as `.auth_token`.
    tracker_store_url None means the default SQLite file for this port; lock_store_url '' an
    in-memory lock store. die_with_parent: Rasa gets SIGTERM when the thread that started it ends
    (Linux prctl PR_SET_PDEATHSIG), so a killed launcher leaves no Rasa behind; start it from a
    thread that lives as long as Rasa should (the main thread)."""
    if not RASA_BIN.exists():
        raise FileNotFoundError(f"{RASA_BIN} is missing: run scripts/setup_rasa.sh")
    check_port_free(host, port)
    private_dir(RUN_DIR)
    if tracker_store_url is None:
        tracker_store_url = default_tracker_store_url(port)
    if tracker_store_url.startswith("sqlite:///"):
        private_file(Path(tracker_store_url[len("sqlite:///"):]))  # Rasa's SQLite would make it 0644
    endpoints = write_endpoints(RUN_DIR / f"endpoints-{port}.yml", action_url, action_token,
                                tracker_store_url=tracker_store_url, lock_store_url=lock_store_url)
    auth_token = auth_token or secrets.token_urlsafe(24)
    log = open(private_file(log_path or RUN_DIR / f"rasa-{port}.log"), "ab")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
           # Secrets go through the environment (readable by this user only), not the command
           # line (readable by every local user); bot/rasa_child.py hands the token to Rasa.
           "SHOPCHAT_RASA_AUTH_TOKEN": auth_token}
    if die_with_parent:
        env["SHOPCHAT_RASA_PARENT_PID"] = str(os.getpid())
    try:
        proc = subprocess.Popen(
            [str(RASA_PYTHON), str(ROOT / "bot" / "rasa_child.py"), "run", "--enable-api", "-i", host,
             "-p", str(port), "--model", str(model), "--endpoints", str(endpoints),
             "--credentials", str(ROOT / "bot" / "credentials.yml")],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    finally:
        log.close()  # the child has its own copy
    proc.auth_token = auth_token
    return proc


def wait_until_up(url: str, timeout_s: float = 120.0, proc: subprocess.Popen | None = None,
                  auth_token: str | None = None) -> bool:
    """Wait until Rasa has loaded its model (GET /status answers with a model file). The token
    defaults to the one start_rasa gave `proc`."""
    token = auth_token or getattr(proc, "auth_token", None)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            r = httpx.get(f"{url}/status", params={"token": token} if token else None, timeout=1.0)
            if r.status_code == 200 and r.json().get("model_file"):
                return True
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    return False


def stop(proc: subprocess.Popen, timeout_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

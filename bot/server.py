"""Starting the Rasa server as a child process (its own venv), for the run command, tests and
benchmarks alike."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from app.settings import ROOT, RUN_DIR

RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def write_endpoints(path: Path, action_url: str, action_token: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Rasa adds `token` as a query parameter to every call of the action endpoint.
    path.write_text(f"action_endpoint:\n  url: \"{action_url}\"\n  token: \"{action_token}\"\n")
    path.chmod(0o600)
    return path


def start_rasa(
    model: Path, *, port: int, action_url: str, action_token: str, log_path: Path | None = None
) -> subprocess.Popen:
    """`rasa run` bound to 127.0.0.1 only: its webhooks have no authentication of their own."""
    if not RASA_BIN.exists():
        raise FileNotFoundError(f"{RASA_BIN} is missing: run scripts/setup_rasa.sh")
    endpoints = write_endpoints(RUN_DIR / f"endpoints-{port}.yml", action_url, action_token)
    log_path = log_path or RUN_DIR / f"rasa-{port}.log"
    log = open(log_path, "ab")
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    return subprocess.Popen(
        [str(RASA_PYTHON), str(ROOT / "bot" / "rasa_run.py"), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port), "--model", str(model),
         "--endpoints", str(endpoints), "--credentials", str(ROOT / "bot" / "credentials.yml")],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )


def wait_until_up(url: str, timeout_s: float = 120.0, proc: subprocess.Popen | None = None) -> bool:
    """Wait until Rasa has loaded its model (GET /status answers with a model file)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            r = httpx.get(f"{url}/status", timeout=1.0)
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

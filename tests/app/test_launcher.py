"""`shopchat run` as a supervisor runs it: real processes (the launcher, its Rasa child), real
signals; and the owner-only files it leaves in .run/."""
from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.settings import ROOT, RUN_DIR
from tests.conftest import rasa_model
from tests.support import free_port

TOKEN = "launcher-test-token"


def launch(tmp_path: Path, rasa_port: int, **env) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "launcher.out"
    env = {**os.environ, "SHOPCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
           "SHOPCHAT_PORT": str(free_port()), "SHOPCHAT_RASA_URL": f"http://127.0.0.1:{rasa_port}",
           "SHOPCHAT_RASA_AUTH_TOKEN": TOKEN, **env}
    with open(out, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "--model", str(rasa_model())],
                                cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    return proc, out


def rasa_child(proc: subprocess.Popen, timeout_s: float = 60) -> int:
    """The pid of the launcher's Rasa child, once it exists."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the launcher exited"
        for task in Path(f"/proc/{proc.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                if b"rasa_child.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return int(pid)
        time.sleep(0.1)
    raise TimeoutError("no Rasa child")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status waits for its parent


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def leftovers():
    ports = []
    yield ports
    for port in ports:  # the launcher's per-port files in .run/
        for name in (f"endpoints-{port}.yml", f"rasa-{port}.log", f"rasa-trackers-{port}.db"):
            (RUN_DIR / name).unlink(missing_ok=True)


def test_sigterm_stops_the_launcher_and_its_rasa(tmp_path, leftovers):
    rasa_port = free_port()
    leftovers.append(rasa_port)
    proc, out = launch(tmp_path, rasa_port)
    try:
        rasa = rasa_child(proc)
        deadline = time.monotonic() + 240
        while "Rasa is ready" not in out.read_text():
            assert time.monotonic() < deadline and "Rasa did not start" not in out.read_text(), out.read_text()
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{rasa_port}/status", params={"token": TOKEN}).status_code == 200
        proc.send_signal(signal.SIGTERM)
        # exit status 128+15 from SystemExit: its `finally` ran (killed by the signal, it would be -15)
        assert proc.wait(30) == 128 + signal.SIGTERM, out.read_text()
        assert not alive(rasa)  # stopped and reaped by the launcher before it exited
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", rasa_port), timeout=1).close()
    finally:
        if proc.poll() is None:
            proc.kill()
    printed = out.read_text()
    # the demo password goes to the owner-only file, never to standard output (logs keep that)
    password = next(line[10:] for line in (RUN_DIR / "demo-logins.txt").read_text().splitlines()
                    if line.startswith("password: "))
    assert password not in printed
    assert f"password in {RUN_DIR / 'demo-logins.txt'}" in printed
    # Rasa's files: owner-only in an owner-only .run/
    assert mode(RUN_DIR) == 0o700
    for name in (f"endpoints-{rasa_port}.yml", f"rasa-{rasa_port}.log", f"rasa-trackers-{rasa_port}.db"):
        assert mode(RUN_DIR / name) == 0o600, name
    assert mode(tmp_path / "shop.db") == 0o600


def test_rasa_dies_with_a_launcher_killed_by_sigkill(tmp_path, leftovers):
    rasa_port = free_port()
    leftovers.append(rasa_port)
    proc, out = launch(tmp_path, rasa_port)
    try:
        rasa = rasa_child(proc)
    finally:
        proc.kill()  # no handler, no `finally`: only the kernel can tell Rasa (PR_SET_PDEATHSIG)
        proc.wait()
    if not wait_gone(rasa, 15):
        os.kill(rasa, signal.SIGKILL)
        pytest.fail("Rasa outlived its launcher")


def test_a_start_refuses_a_rasa_port_already_listening(tmp_path):
    with socket.socket() as taken:  # e.g. a Rasa left over from an earlier run
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc, out = launch(tmp_path, port)
        assert proc.wait(60) == 2
    printed = out.read_text()
    assert f"Rasa not started: something already listens on 127.0.0.1:{port}" in printed
    assert "Demo shop" not in printed and not (tmp_path / "shop.db").exists()  # nothing started


def test_a_list_of_rasa_servers_is_refused_by_the_launcher(tmp_path):
    proc, out = launch(tmp_path, 0, SHOPCHAT_RASA_URL="http://127.0.0.1:5101,http://127.0.0.1:5102")
    assert proc.wait(60) == 2
    assert "shopchat run starts one Rasa" in out.read_text()


def test_the_database_and_run_dir_are_owner_only(tmp_path, monkeypatch):
    from app import cli

    run_dir = tmp_path / ".run"
    run_dir.mkdir(mode=0o755)
    monkeypatch.setattr(cli, "RUN_DIR", run_dir)
    old_umask = os.umask(0o022)  # the usual umask: files 0644 unless made otherwise
    try:
        cli.migrate(f"sqlite+aiosqlite:///{run_dir / 'shopchat.db'}")
        cli.load_demo(f"sqlite+aiosqlite:///{run_dir / 'shopchat.db'}")  # writes: -wal, -shm files too
    finally:
        os.umask(old_umask)
    assert mode(run_dir) == 0o700
    files = list(run_dir.iterdir())
    assert run_dir / "shopchat.db" in files
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_an_existing_database_is_made_owner_only(tmp_path):
    from app.cli import migrate

    db = tmp_path / "old.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    migrate(f"sqlite+aiosqlite:///{db}")
    assert mode(db) == 0o600

"""deploy/stack.py without starting the stack: its refusals, and its nginx configuration as the real
nginx reads it (`nginx -t`)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.settings import ROOT
from deploy.stack import ScaledStack, nginx_binary, render_nginx_conf
from tests.support import free_port


@pytest.mark.parametrize("store", ["PostgreSQL", "Redis"])
def test_a_store_that_does_not_answer_is_named_and_nothing_starts(tmp_path, store):
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there
    kw = {"pg_admin_dsn": f"postgresql://postgres@{closed}/postgres"} if store == "PostgreSQL" \
        else {"redis_url": f"redis://{closed}"}
    stack = ScaledStack(Path("model.tar.gz"), run_dir=tmp_path / "stack", **kw)
    if not nginx_binary():
        pytest.skip("nginx is missing")
    with pytest.raises(RuntimeError, match=rf"{store} does not answer at {closed}.*docs/deployment.md"):
        stack.start()
    assert all(p.proc is None for p in stack.processes)
    assert not (tmp_path / "stack").exists()


def test_the_command_wants_a_model_and_at_least_one_of_each():
    def run(*args):
        return subprocess.run([sys.executable, "-m", "deploy.stack", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)

    out = run()
    assert out.returncode == 2 and "--model is required" in out.stderr
    out = run("--model", "m.tar.gz", "--apps", "0")
    assert out.returncode == 2 and "--apps and --rasas must be at least 1" in out.stderr
    out = run("--model", "m.tar.gz", "--db-name", 'shop"; DROP DATABASE postgres; --')
    assert out.returncode == 2 and "database name" in out.stderr and "refused" in out.stderr


@pytest.mark.parametrize("name", ["Shop", "1shop", "shop-test", "", "x" * 51])
def test_a_database_name_that_is_not_a_plain_identifier_is_refused(name):
    with pytest.raises(ValueError, match="refused"):
        ScaledStack(Path("model.tar.gz"), db_name=name)


def test_every_process_gets_a_port_of_its_own():
    stack = ScaledStack(Path("model.tar.gz"), apps=3, rasas=3)
    ports = [p.port for p in stack.processes if p.port]
    assert len(ports) == 7 and len(set(ports)) == 7


def test_nginx_accepts_the_rendered_configuration(tmp_path):
    nginx = nginx_binary()
    if not nginx:
        pytest.skip("nginx is missing")
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf(["127.0.0.1:8001", "127.0.0.1:8002"], f"127.0.0.1:{free_port()}",
                                      str(tmp_path)))
    out = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert "test is successful" in out.stderr


def test_a_placeholder_left_unfilled_is_refused(monkeypatch, tmp_path):
    template = tmp_path / "nginx.conf.template"
    template.write_text("listen {{listen}};\nworker_connections {{workers}};\n")
    monkeypatch.setattr("deploy.stack.TEMPLATE", template)
    with pytest.raises(ValueError, match="placeholder"):
        render_nginx_conf([], "80", str(tmp_path))


def test_the_processes_die_with_a_killed_launcher(tmp_path):
    """kill -9 of the launcher (or of a test run) leaves no process of the stack holding a port."""
    script = (
        "import time\n"
        "from pathlib import Path\n"
        "from deploy.stack import Process, ScaledStack\n"
        f"stack = ScaledStack(Path('model.tar.gz'), run_dir=Path({str(tmp_path)!r}))\n"
        "p = Process('sleeper', 'app', ['sleep', '120'])\n"
        "stack._spawn(p)\n"
        "print(p.proc.pid, flush=True)\n"
        "time.sleep(120)\n")
    launcher = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        child = int(launcher.stdout.readline())
        assert _alive(child)
        launcher.kill()
        launcher.wait()
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        launcher.kill()


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")

"""The reference deployment on one machine (`scripts/stack.sh`, `python -m deploy.stack`): nginx in
front of two app processes, two Rasa servers sharing a tracker store on PostgreSQL and a lock store
on Redis, the app's Socket.IO rooms shared through Redis. PostgreSQL and Redis are not started here:
they are the machine's (docs/deployment.md says how to get them).

`ScaledStack.plan()` is the one description of what runs (names, commands, ports, settings): the
launcher starts exactly that, and tests/deploy/test_compose.py holds deploy/compose.yaml to it."""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from app.private import private_dir, private_file
from app.settings import ROOT, RUN_DIR
from bench.stack import free_port, tail, wait_healthy
from bot import server as rasa_server

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
PG_ADMIN_DSN = os.environ.get("SHOPCHAT_STACK_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SHOPCHAT_STACK_REDIS", "redis://127.0.0.1:6379")
MIME_TYPES = "/etc/nginx/mime.types"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def render_nginx_conf(app_addrs: list[str], listen: str, run_dir: str, *, show_upstream: bool = False,
                      logs: tuple[str, str] | None = None, pid: str | None = None, user: str | None = None,
                      mime_types: str = MIME_TYPES) -> str:
    """deploy/nginx.conf.template for these app processes (host:port each). nginx keeps its pid,
    logs (access, error) and temp files in run_dir unless told otherwise. show_upstream adds an
    X-Shopchat-Upstream response header naming the process that answered (for tests; it tells
    the world the internal addresses, so production leaves it out)."""
    access_log, error_log = logs or (f"{run_dir}/nginx-access.log", f"{run_dir}/nginx-error.log")
    values = {
        "app_servers": "\n".join(f"        server {addr};" for addr in app_addrs),
        "listen": listen,
        "pid": pid or f"{run_dir}/nginx.pid",
        "access_log": access_log,
        "error_log": error_log,
        "temp_dir": run_dir,
        "mime_types": mime_types,
        # By default the launcher's own user: the paths above are in its private .run/ directory.
        "user": user or pwd.getpwuid(os.getuid()).pw_name,
        "extra_location": "            add_header X-Shopchat-Upstream $upstream_addr always;" if show_upstream else "",
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise ValueError(f"{TEMPLATE} has a placeholder render_nginx_conf does not fill")
    return text


COMPOSE_NGINX_CONF = ROOT / "deploy" / "nginx.compose.conf"
COMPOSE_APPS = ("app1:8000", "app2:8000")


def compose_nginx_conf(app_addrs=COMPOSE_APPS) -> str:
    """deploy/nginx.compose.conf: the template for deploy/compose.yaml's nginx service (the
    official image: its user, its log files, which go to the container's output)."""
    return render_nginx_conf(list(app_addrs), "80", "/var/cache/nginx", user="nginx", pid="/var/run/nginx.pid",
                             logs=("/var/log/nginx/access.log", "/var/log/nginx/error.log"))


@dataclass
class Process:
    """One process of the stack: what deploy/compose.yaml calls a service."""
    name: str                  # app1, app2, rasa1, rasa2, nginx; `migrate` runs once before the apps
    kind: str                  # "app", "rasa", "balancer", "once"
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # its settings (on top of the environment)
    port: int | None = None
    proc: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _die_with_launcher() -> None:
    """In the child before exec: SIGTERM when the launcher dies, even by kill -9 (Linux), so a
    crashed launcher or test run leaves no process holding a port."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def check_db_name(name: str) -> str:
    """The stack's database name: it goes into CREATE DATABASE, so plain identifiers only."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,49}", name):
        raise ValueError(f"database name {name!r} refused: lower-case letters, digits and _ only, "
                         f"at most 50, not starting with a digit")
    return name


def distinct_free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


async def _pg_admin(dsn: str, statements: list[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def _pg_databases(dsn: str) -> set[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
    finally:
        await conn.close()


def _children(pid: int) -> list[int]:
    """The direct children of a process (Linux /proc)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class ScaledStack:
    """Start with start() (or `with ScaledStack(...) as stack:`), stop with stop(). pg_admin_dsn and
    redis_url name the servers to use (the machine's by default; the fault tests and bench/faults.py
    pass a PostgreSQL cluster and a Redis server of their own, tests/deploy/services.py)."""

    def __init__(self, model: Path, *, apps: int = 2, rasas: int = 2, port: int | None = None,
                 db_name: str = "shopchat_stack", drop_databases: bool = False, pg_admin_dsn: str = PG_ADMIN_DSN,
                 redis_url: str = REDIS_URL, run_dir: Path | None = None, show_upstream: bool = False,
                 log=print):
        self.model = Path(model)
        self.log = log
        self.run_dir = run_dir or RUN_DIR / "stack"
        self.show_upstream = show_upstream
        self.pg_admin_dsn = pg_admin_dsn
        self.db_name, self.rasa_db_name = check_db_name(db_name), f"{db_name}_rasa"
        self.drop_databases = drop_databases
        self.port = port or distinct_free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        pg = urlsplit(pg_admin_dsn)
        pg_base = f"{pg.scheme}://{pg.netloc}"
        self.database_url = f"{pg_base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{self.db_name}"
        self.rasa_tracker_url = f"{pg_base}/{self.rasa_db_name}"
        # Shared by every process of this stack, new at each start (they all restart together).
        self.action_token = secrets.token_urlsafe(24)
        self.rasa_auth_token = secrets.token_urlsafe(24)
        redis = redis_url.rstrip("/")
        self.redis_url, self.rasa_lock_url = f"{redis}/0", f"{redis}/1"
        # Two stacks on one Redis (tests, a second checkout) must not hear each other.
        self.redis_channel = f"shopchat-stack-{secrets.token_hex(4)}"
        self.processes = self.plan(apps, rasas)
        self._created_dbs: list[str] = []

    # ---- what runs -------------------------------------------------------------------------------
    def plan(self, apps: int, rasas: int) -> list[Process]:
        py = sys.executable
        ports = [p for p in distinct_free_ports(rasas + apps + 1) if p != self.port][:rasas + apps]
        rasa_ports, app_ports = ports[:rasas], ports[rasas:]
        rasa_urls = ",".join(f"http://127.0.0.1:{p}" for p in rasa_ports)

        def app_env(port: int) -> dict[str, str]:
            return {
                "SHOPCHAT_DATABASE_URL": self.database_url,
                "SHOPCHAT_HOST": "127.0.0.1",
                "SHOPCHAT_PORT": str(port),
                "SHOPCHAT_PUBLIC_URL": self.url,  # the balancer's: cookies, origins, printed links
                "SHOPCHAT_RASA_URL": rasa_urls,
                "SHOPCHAT_ACTION_TOKEN": self.action_token,
                "SHOPCHAT_RASA_AUTH_TOKEN": self.rasa_auth_token,
                "SHOPCHAT_REDIS_URL": self.redis_url,
                "SHOPCHAT_REDIS_CHANNEL": self.redis_channel,
                # Only the balancer's X-Forwarded-For / -Proto are believed.
                "SHOPCHAT_TRUSTED_PROXIES": "127.0.0.1",
                # Up to 10 + 20 PostgreSQL connections each: 2 x 30 + Rasa's 2 x (5 + 5) + 5 = 85,
                # below PostgreSQL's default max_connections (100); docs/production.md.
                "SHOPCHAT_DB_POOL_SIZE": "20",
                "SHOPCHAT_DB_MAX_OVERFLOW": "10",
            }

        plan = [Process("migrate", "once", [py, "-m", "app.cli", "load-demo"], app_env(0))]
        for i, port in enumerate(rasa_ports, 1):
            plan.append(Process(f"rasa{i}", "rasa", [py, "-m", "deploy.rasa_node"], {
                "SHOPCHAT_RASA_MODEL": str(self.model),
                "SHOPCHAT_RASA_HOST": "127.0.0.1",
                "SHOPCHAT_RASA_PORT": str(port),
                # Through the balancer: Rasa's action calls reach whichever app process is alive.
                "SHOPCHAT_RASA_ACTION_URL": f"{self.url}/bot/actions",
                "SHOPCHAT_ACTION_TOKEN": self.action_token,
                "SHOPCHAT_RASA_AUTH_TOKEN": self.rasa_auth_token,
                "SHOPCHAT_RASA_TRACKER_STORE_URL": self.rasa_tracker_url,
                "SHOPCHAT_RASA_LOCK_STORE_URL": self.rasa_lock_url,
                # Rasa's own pool on PostgreSQL (its defaults, 50 + 100, could take every connection).
                "SQL_POOL_SIZE": "5",
                "SQL_MAX_OVERFLOW": "5",
            }, port))
        for i, port in enumerate(app_ports, 1):
            plan.append(Process(f"app{i}", "app", [py, "-m", "app.cli", "serve"], app_env(port), port))
        plan.append(Process("nginx", "balancer", [nginx_binary() or "nginx", "-c", str(self.run_dir / "nginx.conf"),
                                                  "-p", str(self.run_dir)], {}, self.port))
        return plan

    def of(self, kind: str) -> list[Process]:
        return [p for p in self.processes if p.kind == kind]

    def get(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def nginx_conf(self) -> str:
        return render_nginx_conf([f"127.0.0.1:{p.port}" for p in self.of("app")], f"127.0.0.1:{self.port}",
                                 str(self.run_dir), show_upstream=self.show_upstream)

    # ---- starting and stopping -------------------------------------------------------------------
    def _spawn(self, p: Process) -> subprocess.Popen:
        p.log = private_file(self.run_dir / f"{p.name}.log")
        with open(p.log, "ab") as log:
            p.proc = subprocess.Popen(p.argv, cwd=ROOT, env={**os.environ, **p.env}, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True,
                                      preexec_fn=_die_with_launcher)
        return p.proc

    def _check_services(self) -> None:
        """PostgreSQL and Redis are the machine's: say how to get them when they do not answer."""
        for what, url, hint in (("PostgreSQL", self.pg_admin_dsn, "apt-get install postgresql, or SHOPCHAT_STACK_PG"),
                                ("Redis", self.redis_url, "apt-get install redis-server, or SHOPCHAT_STACK_REDIS")):
            parts = urlsplit(url)
            try:
                socket.create_connection((parts.hostname, parts.port or (5432 if what == "PostgreSQL" else 6379)),
                                         timeout=2).close()
            except OSError as exc:
                raise RuntimeError(f"{what} does not answer at {parts.hostname}:{parts.port} ({exc}): {hint} "
                                   f"(docs/deployment.md)") from exc

    def _databases(self) -> None:
        have = asyncio.run(_pg_databases(self.pg_admin_dsn))
        missing = [name for name in (self.db_name, self.rasa_db_name) if name not in have]
        asyncio.run(_pg_admin(self.pg_admin_dsn, [f'CREATE DATABASE "{name}"' for name in missing]))
        self._created_dbs = missing

    def start(self, timeout_s: float = 300) -> "ScaledStack":
        t0 = time.monotonic()
        if not nginx_binary():
            raise RuntimeError("nginx is missing: apt-get install nginx (scripts/stack.sh does it as root)")
        self._check_services()
        private_dir(self.run_dir)
        private_file(self.run_dir / "nginx.conf").write_text(self.nginx_conf(), encoding="utf-8")
        self._databases()
        # Schema and demo content once, before any app process starts.
        migrate = self.get("migrate")
        self._spawn(migrate)
        if migrate.proc.wait() != 0:
            raise RuntimeError(f"migrate failed:\n{tail(migrate.log)}")
        self.log(f"  {tail(migrate.log, 1)}")
        rasas = self.of("rasa")
        # The first Rasa creates the tracker store's table; the others start once it is up, so
        # two never race to create it. The apps load their knowledge base meanwhile.
        self._spawn(rasas[0])
        for p in self.of("app"):
            self._spawn(p)
        self._spawn(self.get("nginx"))
        for p in self.of("app"):  # database, Redis and the knowledge-base index
            wait_healthy(f"{p.url}/health/ready", p.proc, p.log, timeout_s, what=p.name)
        wait_healthy(f"{self.url}/health/ready", self.get("nginx").proc, self.get("nginx").log, 10, what="nginx")
        for i, p in enumerate(rasas):
            self._wait_rasa(p, timeout_s)
            if i + 1 < len(rasas):
                self._spawn(rasas[i + 1])
        deadline = time.monotonic() + 60
        for p in self.of("app"):  # ... and Rasa, as each app process sees it
            while httpx.get(f"{p.url}/health/ready", params={"rasa": "required"}, timeout=5).status_code != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{p.name} does not see Rasa as up: {p.url}/health/ready?rasa=required")
                time.sleep(0.5)
        self.log(f"  stack up in {time.monotonic() - t0:.0f} s")
        return self

    def _wait_rasa(self, p: Process, timeout_s: float) -> None:
        url = f"http://127.0.0.1:{p.port}"
        if not rasa_server.wait_until_up(url, timeout_s=timeout_s, proc=p.proc, auth_token=self.rasa_auth_token):
            rasa_log = RUN_DIR / f"rasa-{p.port}.log"
            raise RuntimeError(f"{p.name} did not start:\n{tail(p.log)}\n{tail(rasa_log)}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one process (kill -9 by default) and wait until it is gone. A Rasa server gets the
        signal itself, not only the node that started it (deploy/rasa_node.py then exits)."""
        p = self.get(name)
        if p.proc and p.proc.poll() is None:
            children = _children(p.proc.pid) if p.kind == "rasa" else []
            for pid in children:
                os.kill(pid, sig)
            if not children:
                p.proc.send_signal(sig)
            try:
                p.proc.wait(30)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait()

    def restart(self, name: str, timeout_s: float = 300) -> None:
        """Start a stopped app or Rasa process again, as it was."""
        p = self.get(name)
        if p.proc is not None and p.proc.poll() is None:
            return
        self._spawn(p)
        if p.kind == "app":
            wait_healthy(f"{p.url}/health/ready", p.proc, p.log, timeout_s, what=p.name)
        elif p.kind == "rasa":
            self._wait_rasa(p, timeout_s)

    def stop(self) -> None:
        # The balancer first (no new requests), then the apps, then Rasa.
        order = [self.get("nginx"), *self.of("app"), *self.of("rasa")]
        for p in order:
            if p.proc is not None and p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
        for p in order:
            if p.proc is None:
                continue
            try:
                # An app process may take twice its shutdown grace (10 s): requests, then bot turns.
                p.proc.wait(30)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait()
        if self.drop_databases and self._created_dbs:
            asyncio.run(_pg_admin(self.pg_admin_dsn, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                                                      for name in self._created_dbs]))
            self._created_dbs = []

    def __enter__(self) -> "ScaledStack":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def describe(self) -> str:
        rows = [f"  {p.name:7} {p.url:24} log {p.log}" for p in self.processes if p.kind in ("app", "rasa")]
        return (
            f"\n  Demo shop with the chat widget:  {self.url}/demo/\n"
            f"  Agent console:                   {self.url}/console/\n"
            f"  Knowledge-base editor:           {self.url}/editor/\n"
            f"                                   logins: password in {RUN_DIR / 'demo-logins.txt'}\n"
            f"  Health:                          {self.url}/health\n"
            f"  Balancer (nginx):                {self.url} (config {self.run_dir / 'nginx.conf'})\n"
            + "\n".join(rows) +
            f"\n  Database {self.database_url}, Rasa's trackers {self.rasa_tracker_url}, Redis {self.redis_url}\n"
            f"  Stop with Ctrl-C.\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="the trained Rasa model (scripts/train_bot.sh prints it)")
    parser.add_argument("--port", type=int, default=8080, help="where nginx listens (default 8080)")
    parser.add_argument("--apps", type=int, default=2)
    parser.add_argument("--rasas", type=int, default=2)
    parser.add_argument("--db-name", default="shopchat_stack",
                        help="the app's PostgreSQL database (Rasa's is the same name + _rasa); created when missing")
    parser.add_argument("--write-compose-nginx", action="store_true",
                        help=f"write {COMPOSE_NGINX_CONF.relative_to(ROOT)} from the template and exit")
    args = parser.parse_args(argv)
    if args.write_compose_nginx:
        COMPOSE_NGINX_CONF.write_text(compose_nginx_conf(), encoding="utf-8")
        return 0
    if not args.model:
        parser.error("--model is required (scripts/stack.sh passes it)")
    if args.apps < 1 or args.rasas < 1:
        parser.error("--apps and --rasas must be at least 1")
    try:
        check_db_name(args.db_name)
    except ValueError as exc:
        parser.error(str(exc))

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)  # unwinds into stop() below

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    stack = ScaledStack(Path(args.model), apps=args.apps, rasas=args.rasas, port=args.port, db_name=args.db_name)
    try:
        stack.start()
        print(stack.describe(), flush=True)
        while all(p.proc.poll() is None for p in stack.processes if p.kind != "once"):
            time.sleep(1)
        gone = [p for p in stack.processes if p.kind != "once" and p.proc.poll() is not None]
        print(f"  {', '.join(p.name for p in gone)} exited (see {gone[0].log}): stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"  the stack did not start: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
        print("  stack stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())

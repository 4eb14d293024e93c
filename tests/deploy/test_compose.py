"""deploy/compose.yaml mirrors the stack that is tested here (deploy/stack.py): no container runtime
runs on these machines, so the compose file is parsed and held to the launcher's own plan: the same
services, commands, settings and wiring, and the balancer configuration rendered from the same
template."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from app.settings import ROOT
from deploy import rasa_node
from deploy.stack import COMPOSE_NGINX_CONF, ScaledStack, compose_nginx_conf

COMPOSE = ROOT / "deploy" / "compose.yaml"
STORES = {"postgres", "redis"}


def interpolate(text: str) -> str:
    """docker compose's ${NAME}, ${NAME:-default}, ${NAME:?error}, each as the value `name`."""
    return re.sub(r"\$\{(\w+)(?::[-?][^}]*)?\}", lambda m: m.group(1).lower(), text)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(interpolate(COMPOSE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def stack() -> ScaledStack:
    return ScaledStack(Path("bot-model.tar.gz"))  # planned, nothing started


def services(compose, kind_prefix: str) -> dict:
    return {name: s for name, s in compose["services"].items() if re.fullmatch(rf"{kind_prefix}\d+", name)}


def test_the_services_are_the_launchers_processes_and_the_two_stores(compose, stack):
    assert set(compose["services"]) == {p.name for p in stack.processes} | STORES
    assert len(stack.of("app")) == 2 and len(stack.of("rasa")) == 2


def test_each_process_runs_the_same_command_with_the_same_settings(compose, stack):
    for p in stack.processes:
        if p.kind == "balancer":
            continue
        service = compose["services"][p.name]
        assert service["command"] == [".venv/bin/python", *p.argv[1:]], p.name
        assert set(service["environment"]) == set(p.env), p.name
    # A Rasa server is given exactly the settings deploy/rasa_node.py reads.
    for p in stack.of("rasa"):
        assert set(p.env) == set(rasa_node.SETTINGS)


def wiring(apps: dict[str, dict], rasas: dict[str, tuple[str, dict]], balancer: str) -> None:
    """The relations both set-ups must keep. apps: {name: env}; rasas: {name: (address, env)};
    balancer: the address Rasa calls the app's actions at."""
    app_env = next(iter(apps.values()))
    for env in apps.values():
        # The settings that must agree across processes do.
        for key in ("SHOPCHAT_DATABASE_URL", "SHOPCHAT_RASA_URL", "SHOPCHAT_ACTION_TOKEN", "SHOPCHAT_RASA_AUTH_TOKEN",
                    "SHOPCHAT_REDIS_URL", "SHOPCHAT_REDIS_CHANNEL", "SHOPCHAT_PUBLIC_URL"):
            assert env[key] == app_env[key], key
        # Every Rasa server, each at its own address.
        assert sorted(env["SHOPCHAT_RASA_URL"].split(",")) == sorted(f"http://{addr}" for addr, _ in rasas.values())
    for addr, env in rasas.values():
        assert env["SHOPCHAT_ACTION_TOKEN"] == app_env["SHOPCHAT_ACTION_TOKEN"]
        assert env["SHOPCHAT_RASA_AUTH_TOKEN"] == app_env["SHOPCHAT_RASA_AUTH_TOKEN"]
        assert env["SHOPCHAT_RASA_PORT"] == addr.rsplit(":", 1)[1]
        assert env["SHOPCHAT_RASA_ACTION_URL"] == f"http://{balancer}/bot/actions"
        # One tracker store and one lock store for all, on the app's PostgreSQL and Redis.
        tracker, lock = urlsplit(env["SHOPCHAT_RASA_TRACKER_STORE_URL"]), urlsplit(env["SHOPCHAT_RASA_LOCK_STORE_URL"])
        app_db, app_redis = urlsplit(app_env["SHOPCHAT_DATABASE_URL"]), urlsplit(app_env["SHOPCHAT_REDIS_URL"])
        assert tracker.scheme == "postgresql" and tracker.netloc == app_db.netloc and tracker.path != app_db.path
        assert lock.netloc == app_redis.netloc and lock.path != app_redis.path  # a Redis database of its own
    assert len({env["SHOPCHAT_RASA_TRACKER_STORE_URL"] for _, env in rasas.values()}) == 1
    assert len({env["SHOPCHAT_RASA_LOCK_STORE_URL"] for _, env in rasas.values()}) == 1


def test_the_launcher_and_the_compose_file_are_wired_the_same_way(compose, stack):
    wiring({p.name: p.env for p in stack.of("app")},
           {p.name: (f"127.0.0.1:{p.port}", p.env) for p in stack.of("rasa")}, f"127.0.0.1:{stack.port}")
    nginx_port = next(line.split()[1].rstrip(";") for line in compose_nginx_conf().splitlines()
                      if line.strip().startswith("listen "))
    wiring({name: s["environment"] for name, s in services(compose, "app").items()},
           {name: (f"{name}:{s['environment']['SHOPCHAT_RASA_PORT']}", s["environment"])
            for name, s in services(compose, "rasa").items()}, f"nginx:{nginx_port}")


def test_ports_and_addresses_match_inside_each_container(compose):
    for name, s in services(compose, "app").items():
        port = s["environment"]["SHOPCHAT_PORT"]
        assert s["expose"] == [port] and f":{port}/health" in " ".join(s["healthcheck"]["test"])
        assert s["environment"]["SHOPCHAT_HOST"] == "0.0.0.0"  # reachable by nginx's container
        assert urlsplit(s["environment"]["SHOPCHAT_DATABASE_URL"]).hostname == "postgres"
        assert urlsplit(s["environment"]["SHOPCHAT_REDIS_URL"]).hostname == "redis"
        # Only the balancer may set X-Forwarded-For: its fixed address.
        nginx_ip = compose["services"]["nginx"]["networks"]["backend"]["ipv4_address"]
        assert s["environment"]["SHOPCHAT_TRUSTED_PROXIES"] == nginx_ip
    for name, s in services(compose, "rasa").items():
        port = s["environment"]["SHOPCHAT_RASA_PORT"]
        assert s["expose"] == [port] and f":{port}/" in " ".join(s["healthcheck"]["test"])
        assert "ports" not in s  # never published: Rasa's webhooks have no login
        db = urlsplit(s["environment"]["SHOPCHAT_RASA_TRACKER_STORE_URL"]).path.strip("/")
        assert f"CREATE DATABASE {db} " in (ROOT / "deploy" / "postgres-init.sql").read_text()
    published = compose["services"]["nginx"]["ports"]
    assert [p.rsplit(":", 1)[1] for p in published] == ["80"]
    assert [name for name, s in compose["services"].items() if "ports" in s] == ["nginx"]


def test_secrets_are_required_not_written_in(compose):
    text = COMPOSE.read_text(encoding="utf-8")
    for name in ("SHOPCHAT_ACTION_TOKEN", "SHOPCHAT_RASA_AUTH_TOKEN", "POSTGRES_PASSWORD"):
        assert re.search(rf"\$\{{{name}:\?", text), name  # docker compose refuses to start without it


def test_the_balancers_configuration_is_the_template_rendered_for_the_containers(compose):
    apps = [f"{name}:{s['environment']['SHOPCHAT_PORT']}" for name, s in services(compose, "app").items()]
    assert COMPOSE_NGINX_CONF.read_text(encoding="utf-8") == compose_nginx_conf(apps), \
        "deploy/nginx.compose.conf is stale: python -m deploy.stack --write-compose-nginx"
    assert "./nginx.compose.conf:/etc/nginx/nginx.conf:ro" in compose["services"]["nginx"]["volumes"]


def test_rasa_node_refuses_to_start_without_the_shared_settings(tmp_path):
    out = subprocess.run([sys.executable, "-m", "deploy.rasa_node"], cwd=ROOT, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "SHOPCHAT_RASA_PORT": "5005"}, timeout=60)
    assert out.returncode == 2
    assert "SHOPCHAT_ACTION_TOKEN" in out.stderr and "SHOPCHAT_RASA_AUTH_TOKEN" in out.stderr
    assert "SHOPCHAT_RASA_PORT" not in out.stderr.split("set ", 1)[1]

"""One Rasa server of a deployment with several (`python -m deploy.rasa_node`), configured by
environment variables only, so the reference stack on one machine (deploy/stack.py) and a container
(deploy/compose.yaml) start it the same way: through bot/server.py's start_rasa.

    SHOPCHAT_RASA_MODEL             the trained model (a .tar.gz, or a directory: its newest model)
    SHOPCHAT_RASA_HOST, _PORT       where Rasa listens (a private address: its webhooks have no login)
    SHOPCHAT_RASA_ACTION_URL        the app's custom-action endpoint, best through the balancer
    SHOPCHAT_ACTION_TOKEN           shared with every app process (required here)
    SHOPCHAT_RASA_AUTH_TOKEN        shared with every app process (required here)
    SHOPCHAT_RASA_TRACKER_STORE_URL one PostgreSQL database shared by every Rasa server
    SHOPCHAT_RASA_LOCK_STORE_URL    one Redis shared by every Rasa server
    SQL_POOL_SIZE, SQL_MAX_OVERFLOW Rasa's own: its pool on PostgreSQL (set them: Rasa's defaults are 50 + 100)

It stays in the foreground while Rasa runs; SIGTERM or SIGINT stops Rasa, and Rasa also gets SIGTERM
if this process is killed (bot/rasa_child.py)."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

NEEDED = ("SHOPCHAT_RASA_MODEL", "SHOPCHAT_RASA_PORT", "SHOPCHAT_RASA_ACTION_URL", "SHOPCHAT_ACTION_TOKEN",
          "SHOPCHAT_RASA_AUTH_TOKEN", "SHOPCHAT_RASA_TRACKER_STORE_URL", "SHOPCHAT_RASA_LOCK_STORE_URL")
# Every setting the node reads, and Rasa's own for its PostgreSQL pool (docs/production.md):
# deploy/compose.yaml's Rasa services set exactly these.
SETTINGS = NEEDED + ("SHOPCHAT_RASA_HOST", "SQL_POOL_SIZE", "SQL_MAX_OVERFLOW")


def check_env(env: dict) -> list[str]:
    """The names of the needed settings that are missing or empty. The tokens must be the ones
    every app process has: a token made up here would match nobody's."""
    return [name for name in NEEDED if not env.get(name)]


def main() -> int:
    from bot import server

    missing = check_env(os.environ)
    if missing:
        print(f"rasa_node: set {', '.join(missing)} (docs/deployment.md)", file=sys.stderr)
        return 2
    env = os.environ
    port = int(env["SHOPCHAT_RASA_PORT"])
    host = env.get("SHOPCHAT_RASA_HOST") or "127.0.0.1"
    try:
        proc = server.start_rasa(
            Path(env["SHOPCHAT_RASA_MODEL"]), port=port, host=host, action_url=env["SHOPCHAT_RASA_ACTION_URL"],
            action_token=env["SHOPCHAT_ACTION_TOKEN"], auth_token=env["SHOPCHAT_RASA_AUTH_TOKEN"],
            tracker_store_url=env["SHOPCHAT_RASA_TRACKER_STORE_URL"],
            lock_store_url=env["SHOPCHAT_RASA_LOCK_STORE_URL"], die_with_parent=True)
    except (server.RasaStartError, FileNotFoundError) as exc:
        print(f"rasa_node: Rasa not started: {exc}", file=sys.stderr)
        return 2
    print(f"rasa_node: Rasa starting on {host}:{port} (pid {proc.pid}, log .run/rasa-{port}.log)", flush=True)

    def on_signal(signum, frame):
        # Unwind out of proc.wait() (stopping Rasa from here would wait on a lock wait() holds).
        raise SystemExit(0)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        return proc.wait()
    finally:
        server.stop(proc)


if __name__ == "__main__":
    sys.exit(main())

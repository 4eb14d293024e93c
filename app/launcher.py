"""`shopchat run`: migrate, load the demo content, start Rasa and the app, print where to go.
Ctrl-C or SIGTERM stops everything it started; Rasa also dies with the launcher if it is killed."""
from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

from app.cli import DEMO_LOGINS, DEMO_USERS, demo_password, load_demo, migrate, serve
from app.settings import RUN_DIR, Settings
from bot import server as rasa_server


def _exit_on_signal(signum, frame):
    # SIGTERM's default action ends the process at once, skipping `finally` (uvicorn re-raises
    # the signal after its own shutdown): turn it into SystemExit so the Rasa child is stopped.
    raise SystemExit(128 + signum)


def run(settings: Settings, model: Path) -> int:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    if "," in settings.rasa_url:
        print("  shopchat run starts one Rasa: set one rasa_url (several Rasa servers are started on "
              "their own, see docs/architecture.md)", file=sys.stderr)
        return 2
    rasa_port = urlparse(settings.rasa_url).port or 5005
    try:
        rasa_server.check_port_free("127.0.0.1", rasa_port)
    except rasa_server.RasaStartError as exc:
        print(f"  Rasa not started: {exc}", file=sys.stderr)
        return 2
    migrate(settings.database_url)
    print(f"  {load_demo(settings.database_url)}")
    print(f"  starting Rasa on {settings.rasa_url} (log: {RUN_DIR / f'rasa-{rasa_port}.log'})")
    try:
        rasa = rasa_server.start_rasa(
            model, port=rasa_port, action_url=f"http://127.0.0.1:{settings.port}/bot/actions",
            action_token=settings.action_token, auth_token=settings.rasa_auth_token,
            tracker_store_url=settings.rasa_tracker_store_url or None, lock_store_url=settings.rasa_lock_store_url,
            die_with_parent=True,
        )
    except rasa_server.RasaStartError as exc:
        print(f"  Rasa not started: {exc}", file=sys.stderr)
        return 2
    try:
        def announce_rasa():
            if rasa_server.wait_until_up(settings.rasa_url, proc=rasa):
                print("  Rasa is ready: the bot understands intents now.", flush=True)
            else:
                print("  Rasa did not start; the bot answers from the knowledge base alone. See the log above.", flush=True)

        threading.Thread(target=announce_rasa, daemon=True).start()
        base = settings.base_url
        # The password itself never goes to standard output, where logs would keep it.
        logins = f"{'':35}logins ({', '.join(u[0] for u in DEMO_USERS)}): password in {DEMO_LOGINS}\n" \
            if demo_password() else ""
        print(
            f"\n  Demo shop with the chat widget:  {base}/demo/\n"
            f"  Agent console:                   {base}/console/\n"
            f"  Knowledge-base editor:           {base}/editor/\n{logins}"
            f"  Reports (admins, agents):        {base}/reports/\n"
            f"  Visitors' data (admins):         {base}/privacy/\n"
            f"  Health:                          {base}/health\n"
            f"  Embed on your shop:              <script src=\"{base}/widget/loader.js\" async></script>\n"
            f"  Stop with Ctrl-C.\n",
            flush=True,
        )
        serve(settings)  # as `shopchat serve`: the same uvicorn options and graceful shutdown
    finally:
        rasa_server.stop(rasa)
    return 0

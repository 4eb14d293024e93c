"""`shopchat run`: migrate, load the demo content, start Rasa and the app, print where to go.
Ctrl-C stops everything it started."""
from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlparse

import uvicorn

from app.cli import DEMO_USERS, demo_password, load_demo, migrate
from app.main import create_app
from app.settings import RUN_DIR, Settings
from bot import server as rasa_server


def run(settings: Settings, model: Path) -> int:
    migrate(settings.database_url)
    print(f"  {load_demo(settings.database_url)}")
    rasa_port = urlparse(settings.rasa_url).port or 5005
    print(f"  starting Rasa on {settings.rasa_url} (log: {RUN_DIR / f'rasa-{rasa_port}.log'})")
    rasa = rasa_server.start_rasa(
        model, port=rasa_port, action_url=f"http://127.0.0.1:{settings.port}/bot/actions",
        action_token=settings.action_token,
    )

    def announce_rasa():
        if rasa_server.wait_until_up(settings.rasa_url, proc=rasa):
            print("  Rasa is ready: the bot understands intents now.", flush=True)
        else:
            print("  Rasa did not start; the bot answers from the knowledge base alone. See the log above.", flush=True)

    threading.Thread(target=announce_rasa, daemon=True).start()
    base = settings.base_url
    password = demo_password()
    login = f"{'':35}log in as {DEMO_USERS[1][0]} / {password} (admin: {DEMO_USERS[0][0]})\n" if password else ""
    editor = f"{'':35}log in as {DEMO_USERS[3][0]} / {password}\n" if password else ""
    print(
        f"\n  Demo shop with the chat widget:  {base}/demo/\n"
        f"  Agent console:                   {base}/console/\n{login}"
        f"  Knowledge-base editor:           {base}/editor/\n{editor}"
        f"  Health:                          {base}/health\n"
        f"  Embed on your shop:              <script src=\"{base}/widget/loader.js\" async></script>\n"
        f"  Stop with Ctrl-C.\n",
        flush=True,
    )
    try:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
    finally:
        rasa_server.stop(rasa)
    return 0

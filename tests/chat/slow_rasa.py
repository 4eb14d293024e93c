"""A stand-in for Rasa that answers slowly, for tests that must catch a bot turn in flight (and the
recovery bench). Its own process: `python -m tests.chat.slow_rasa PORT DELAY_S`. POST
/webhooks/rest/webhook answers like Rasa's REST channel after DELAY_S, with one text message that
quotes the question ("answer to: ..."), so a test can tell which question an answer belongs to (a
question holding "wait=SECONDS" waits that long instead, to make one turn slower than another);
GET / answers 200 like Rasa's health route. GET /count: webhook calls so far, per message text."""
from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections import Counter

import httpx
from aiohttp import web

ANSWER_PREFIX = "answer to: "


def make_app(delay_s: float) -> web.Application:
    calls: Counter = Counter()

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        calls[body.get("message", "")] += 1
        wait = re.search(r"wait=([0-9.]+)", body.get("message", ""))
        await asyncio.sleep(float(wait.group(1)) if wait else delay_s)
        return web.json_response([{"recipient_id": body.get("sender"), "text": ANSWER_PREFIX + body.get("message", "")}])

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def count(_request: web.Request) -> web.Response:
        return web.json_response(dict(calls))

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_get("/", health)
    app.router.add_get("/count", count)
    return app


class SlowRasa:
    """The stand-in as a child process (it outlives the app processes a test kills)."""

    def __init__(self, port: int, delay_s: float):
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.chat.slow_rasa", str(port), str(delay_s)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError("the slow Rasa stand-in did not start")

    def calls(self) -> dict[str, int]:
        return httpx.get(self.url + "/count", timeout=2).json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


if __name__ == "__main__":
    web.run_app(make_app(float(sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]), print=None)

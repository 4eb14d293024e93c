"""`Cache-Control: no-store` on everything that can carry personal or account data: the JSON APIs
(/api/...), the login page and logout. Neither the browser nor a proxy may keep a copy (a shared
computer's back button, a caching proxy). Plain ASGI, like app.static.StaticHeaders: every other
request (Rasa's action calls, the widget's files) passes untouched."""
from __future__ import annotations

from starlette.datastructures import MutableHeaders

PREFIXES = ("/api/", "/login", "/logout")


class NoStore:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").startswith(PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message):
            if message["type"] == "http.response.start":
                MutableHeaders(raw=message["headers"])["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_no_store)

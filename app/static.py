"""Serving the widget and the demo shop: compression and the cache and framing headers the
widget needs (the loader is re-checked on every page view; versioned chat files are immutable)."""
from __future__ import annotations

import re
from urllib.parse import parse_qs

from fastapi import FastAPI, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders

from app.settings import ROOT, Settings

# The staff's pages, each built into widget/dist/<page>/ and served at /<page>/ only.
PAGES = ("console", "editor", "reports", "privacy")
PAGE_PREFIXES = tuple(f"/{page}/" for page in PAGES)
# The widget's own files: one plain name at the top of widget/dist. Anything else under /widget
# (the staff pages' folders reached as /widget//console/..., %2f, ..%2f, a backslash) is a 404, or
# a staff page would be served with the widget's `frame-ancestors *`. The path is already decoded.
WIDGET_FILE = re.compile(r"/widget/[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def mount(api: FastAPI, settings: Settings) -> None:
    api.add_middleware(GZipMiddleware, minimum_size=500)
    api.mount("/widget", StaticFiles(directory=ROOT / "widget" / "dist", check_dir=False), name="widget")
    api.mount("/demo", StaticFiles(directory=ROOT / "widget" / "demo", html=True, check_dir=False), name="demo")
    # The agent console and the knowledge-base editor: static pages (they ask /api/me and go to
    # /login when logged out).
    for page in PAGES:
        api.mount(f"/{page}", StaticFiles(directory=ROOT / "widget" / "dist" / page, html=True, check_dir=False),
                  name=page)
    chat_csp = (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        # 'self': the console's Widget page frames the chat as the appearance's live preview
        f"frame-ancestors {settings.frame_ancestors} 'self'"
    )
    page_csp = (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )

    api.add_middleware(StaticHeaders, chat_csp=chat_csp, page_csp=page_csp)


class StaticHeaders:
    """Cache and framing headers for the widget's files and the staff's pages. Plain ASGI (not
    BaseHTTPMiddleware): every other request, Rasa's action calls above all, passes untouched."""

    def __init__(self, app, chat_csp: str, page_csp: str):
        self.app, self.chat_csp, self.page_csp = app, chat_csp, page_csp

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        widget = path == "/widget" or path.startswith("/widget/")
        if widget and not WIDGET_FILE.fullmatch(path):  # the staff pages are served at /<page>/ only
            await Response(status_code=404)(scope, receive, send)
            return
        page = path.startswith(PAGE_PREFIXES)
        if not (page or widget):
            await self.app(scope, receive, send)
            return
        versioned = "v" in parse_qs(scope.get("query_string", b"").decode("latin-1"))

        async def send_with_headers(message):
            if message["type"] == "http.response.start" and page:  # whatever the status
                headers = MutableHeaders(raw=message["headers"])
                headers["Content-Security-Policy"] = self.page_csp
                headers["X-Frame-Options"] = "DENY"
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = MutableHeaders(raw=message["headers"])
                if page:
                    # Never stored unless versioned (framing: above).
                    immutable = versioned and not path.endswith((".html", "/"))
                    headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-store"
                    headers["Referrer-Policy"] = "same-origin"
                else:
                    headers["Cache-Control"] = "public, max-age=31536000, immutable" if versioned else "no-cache"
                    if path.endswith(".html"):
                        headers["Content-Security-Policy"] = self.chat_csp
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_with_headers)

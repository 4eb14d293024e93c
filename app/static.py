"""Serving the widget and the demo shop: compression and the cache and framing headers the
widget needs (the loader is re-checked on every page view; versioned chat files are immutable)."""
from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from app.settings import ROOT, Settings

# The staff's pages, each built into widget/dist/<page>/ and served at /<page>/ only.
PAGES = ("console", "editor")
PAGE_PREFIXES = tuple(f"/{page}/" for page in PAGES)
HIDDEN_PREFIXES = tuple(f"/widget/{page}/" for page in PAGES)


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
        f"frame-ancestors {settings.frame_ancestors}"
    )
    page_csp = (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )

    @api.middleware("http")
    async def widget_headers(request: Request, call_next):
        path = request.url.path
        if path.startswith(HIDDEN_PREFIXES):  # served at /<page>/ only
            return Response(status_code=404)
        response = await call_next(request)
        if path.startswith(PAGE_PREFIXES) and response.status_code == 200:
            # Never framed (clickjacking), never cached unless versioned.
            immutable = "v" in request.query_params and not path.endswith((".html", "/"))
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
            response.headers["Content-Security-Policy"] = page_csp
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response
        if not path.startswith("/widget/") or response.status_code != 200:
            return response
        if "v" in request.query_params:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        if path.endswith(".html"):
            response.headers["Content-Security-Policy"] = chat_csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

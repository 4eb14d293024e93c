"""HTTP routes of conversion tracking (docs/conversions.md):

- `POST /api/conversions`: the shop's server reports an order, `Authorization: Bearer <key>` with a
  key an admin created (unknown or revoked: 401).
- `POST /api/conversions/widget`: the loader's `shopchat('conversion', {...})` on the thank-you page
  (through the small `conversion.html` frame, which knows the widget's browser id). No key: a page
  script cannot keep one secret; a server report of the same order corrects its value. Rate limited
  (a thank-you page reports one order): WIDGET_PER_IP a minute per client address and
  WIDGET_PER_BROWSER per browser id, shared by the app processes through Redis when configured;
  over it, 429 `rate_limited` with `Retry-After` (seconds) and nothing stored.
- Admins: `GET|POST /api/conversions/keys`, `POST /api/conversions/keys/{id}/revoke`,
  `GET /api/conversions` (the latest orders).

New order: 201 `{"conversion": {...}, "duplicate": false}`; the same order_id again: 200 with
`"duplicate": true` and nothing counted twice. Bad payloads: 422 `{"error": {"code", "message", "field"}}`."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from accounts.models import User
from accounts.web import ApiError, ApiRoute, client_key, json_object, require_roles
from app.db import utcnow
from insights import conversions as cv
from insights.rate_limit import Verdict, WindowLimiter

API_FIELDS = ("order_id", "value", "currency", "visitor_id", "email", "ordered_at")
WIDGET_FIELDS = ("order_id", "value", "currency", "visitor_id")
MAX_BODY = 4_000
# Widget reports a minute: per client address (several shoppers behind one NAT may order at once)
# and per browser id (one shopper's thank-you page, reloaded).
WIDGET_PER_IP = 10
WIDGET_PER_BROWSER = 5


def too_many(verdict: Verdict) -> JSONResponse:
    return JSONResponse({"error": {"code": "rate_limited", "message": "too many orders reported; "
                                   f"try again in {verdict.retry_after_s} s"}},
                        status_code=429, headers={"Retry-After": str(verdict.retry_after_s)})


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, key = value.partition(" ")
    return key.strip() if scheme.lower() == "bearer" else None


async def payload(request: Request) -> dict:
    try:
        return await json_object(request, limit=MAX_BODY)
    except ApiError as exc:  # not JSON at all is a bad payload too
        if exc.status_code == 400:
            raise ApiError(422, exc.detail["code"], exc.detail["message"]) from None
        raise


def make_router(ctx) -> APIRouter:
    router = APIRouter(route_class=ApiRoute)
    admin = require_roles("admin")
    window = timedelta(days=ctx.settings.conversion_window_days)
    shared = {"redis_url": ctx.settings.redis_url, "prefix": ctx.settings.redis_channel}
    per_ip = WindowLimiter("conversion-ip", WIDGET_PER_IP, **shared)
    per_browser = WindowLimiter("conversion-browser", WIDGET_PER_BROWSER, **shared)

    async def store(data: dict, *, fields: tuple[str, ...], source: str, api_key_id: int | None = None):
        now = utcnow()
        try:
            order = cv.check_order(data, fields=fields, now=now)
        except cv.BadConversion as exc:
            raise ApiError(422, "bad_field", str(exc), exc.field) from None
        async with ctx.sessionmaker() as db:
            if api_key_id is not None:
                key = await db.get(cv.ConversionApiKey, api_key_id)
                key.last_used_at = now
            done = await cv.record(db, order, source=source, window=window, api_key_id=api_key_id, now=now)
            await db.commit()  # last_used_at, also for a duplicate
        return JSONResponse({"conversion": cv.conversion_dict(done.conversion), "duplicate": done.duplicate},
                            status_code=200 if done.duplicate else 201)

    @router.post("/api/conversions")
    async def report(request: Request):
        async with ctx.sessionmaker() as db:
            key = await cv.key_for(db, bearer(request))
        if key is None:
            raise ApiError(401, "bad_api_key", "send an active API key: Authorization: Bearer <key> "
                                               "(admins create and revoke keys in the console)")
        return await store(await payload(request), fields=API_FIELDS, source="api", api_key_id=key.id)

    @router.post("/api/conversions/widget")
    async def report_from_widget(request: Request):
        verdict = await per_ip.hit(client_key(request)[:200])
        if not verdict.allowed:
            return too_many(verdict)
        data = await payload(request)
        browser = data.get("visitor_id")
        if isinstance(browser, str) and browser:
            verdict = await per_browser.hit(browser[:64])
            if not verdict.allowed:
                return too_many(verdict)
        return await store(data, fields=WIDGET_FIELDS, source="widget")

    @router.get("/api/conversions")
    async def latest(_: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            rows = await db.scalars(select(cv.Conversion).order_by(cv.Conversion.ordered_at.desc(),
                                                                   cv.Conversion.id.desc()).limit(100))
            return {"conversions": [cv.conversion_dict(c) for c in rows],
                    "window_days": ctx.settings.conversion_window_days}

    @router.get("/api/conversions/keys")
    async def keys(_: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            rows = await db.scalars(select(cv.ConversionApiKey).order_by(cv.ConversionApiKey.id))
            return {"keys": [cv.key_dict(k) for k in rows]}

    @router.post("/api/conversions/keys", status_code=201)
    async def create_key(request: Request, user: User = Depends(admin)):
        body = await json_object(request)
        name = body.get("name")
        if set(body) - {"name"}:
            field = sorted(set(body) - {"name"})[0]
            raise ApiError(422, "bad_field", f"unknown field '{field}'", field)
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ApiError(422, "bad_field", "name: 1 to 100 characters (e.g. the shop system using it)", "name")
        async with ctx.sessionmaker() as db:
            row, key = await cv.create_key(db, name=name.strip(), created_by_id=user.id)
        # The only time the key is shown: only its hash is stored.
        return JSONResponse({**cv.key_dict(row), "key": key}, status_code=201)

    @router.post("/api/conversions/keys/{key_id}/revoke")
    async def revoke_key(key_id: int = Path(ge=1, le=2**31 - 1), _: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            row = await cv.revoke_key(db, key_id)
        if row is None:
            raise ApiError(404, "not_found", "no such API key")
        return cv.key_dict(row)

    return router

"""Login page, logout, and the accounts API; plus the dependencies other routers use to know who
is calling: `current_user` (401) and `require_roles(...)` (403).

API errors are `{"error": {"code", "message"}}`. A router gets that shape for `ApiError`s and for
FastAPI's own validation errors by using `APIRouter(route_class=ApiRoute)`; elsewhere an ApiError
is still an HTTPException with the right status code.

CSRF: the session cookie is SameSite=Strict, and every state-changing request that `current_user`
authenticates must carry `X-Requested-With: shopchat`, a header a cross-site page cannot send without
a CORS preflight (which this app never grants). The login and logout forms check Origin/Referer."""
from __future__ import annotations

import json
import re
from html import escape
from string import Template
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from accounts import login_i18n, service
from accounts.models import User
from accounts.passwords import PasswordError, check_password
from app.db import utcnow

COOKIE = "shopchat_session"
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "shopchat"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DEFAULT_NEXT = "/console/"
EDITOR_HOME = "/editor/"
MAX_BODY = 20_000
STATUS = {"bad_field": 422, "duplicate_email": 409, "not_found": 404, "last_admin": 409}
CREATE_FIELDS = ("email", "display_name", "role", "password", "max_chats", "priority", "accepting_chats")


class ApiError(HTTPException):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        error = {"code": code, "message": message, **({"field": field} if field else {})}
        super().__init__(status_code=status, detail=error)

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.detail}, status_code=self.status_code)


class ApiRoute(APIRoute):
    """Renders ApiError and request-validation errors as `{"error": {...}}`."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return exc.response()
            except RequestValidationError as exc:
                first = (exc.errors() or [{}])[0]
                where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "path", "query"))
                return ApiError(422, "bad_field", f"{where}: {first.get('msg', 'invalid')}", where).response()

        return wrapped


# ---- dependencies ------------------------------------------------------------------------------

async def session_user(request: Request) -> User | None:
    """The logged-in user, or None (for pages that redirect to /login instead of answering 401)."""
    async with request.app.state.ctx.sessionmaker() as db:
        return await service.user_for_session(db, request.cookies.get(COOKIE), now=utcnow())


def require_csrf(request: Request) -> None:
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise ApiError(403, "csrf", f"state-changing requests need the header X-Requested-With: {CSRF_VALUE}")


async def current_user(request: Request) -> User:
    require_csrf(request)  # before the cookie is even looked at
    user = await session_user(request)
    if user is None:
        raise ApiError(401, "not_logged_in", "log in first (your session is missing or has expired)")
    return user


def require_roles(*roles: str):
    async def dependency(user: User = Depends(current_user)) -> User:
        if user.role not in roles:
            raise ApiError(403, "forbidden", f"only {' or '.join(roles)} users may do this")
        return user

    return dependency


# ---- helpers -----------------------------------------------------------------------------------

def safe_next(value: str | None) -> str:
    """Only a path on this site: `//host` and `/\\host` are other sites to a browser, and URL
    parsers drop tabs and newlines (so `/\\t/host` would become `//host`)."""
    if (not value or not value.startswith("/") or value.startswith("//") or "\\" in value
            or any(ord(c) < 32 or ord(c) == 127 for c in value) or len(value) > 2000):
        return DEFAULT_NEXT
    return value


def same_origin(request: Request) -> bool:
    """A browser's form post says where it comes from (Origin, else Referer); it must be this site.
    A client sending neither is not a browser, and CSRF needs a victim's browser."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    parts = urlsplit(source)
    if not parts.netloc:  # "Origin: null" (sandboxed frames, data: URLs)
        return False
    own = urlsplit(request.app.state.ctx.settings.base_url)
    return parts.netloc == request.headers.get("host") or (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"the request body is over {limit // 1000} KB")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_object(request: Request, limit: int = MAX_BODY) -> dict:
    """The request's JSON object, whose text is all storable: a NUL or a lone surrogate ("\\ud800",
    which JSON allows but UTF-8 cannot encode) anywhere is refused here, for every route."""
    try:
        data = json.loads(await read_body(request, limit))
    except ValueError:
        raise ApiError(400, "bad_json", "the body must be JSON") from None
    except RecursionError:
        raise ApiError(400, "bad_json", "the body is nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    for key, value in data.items():
        if not storable(key) or not storable(value):
            raise ApiError(422, "bad_text", f"field {key!r} holds a NUL character or a lone surrogate, "
                                            "which are not text", key)
    return data


NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def storable(value: object) -> bool:
    """No string anywhere in a JSON value holds a NUL or a lone surrogate (no recursion: JSON may
    nest as deep as the parser allows)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NOT_TEXT.search(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def account_error(exc: service.AccountError) -> ApiError:
    return ApiError(STATUS.get(exc.code, 400), exc.code, exc.message, exc.field)


def me_json(user: User) -> dict:
    return {"id": user.id, "email": user.email, "display_name": user.display_name, "role": user.role,
            "max_chats": user.max_chats, "priority": user.priority, "accepting_chats": user.accepting_chats,
            "status": user.status}


def user_json(user: User) -> dict:
    return {**me_json(user), "active": user.active}


def client_key(request: Request) -> str:
    """The client's address: the TCP peer, or what a trusted proxy says it is (SHOPCHAT_TRUSTED_PROXIES,
    applied to the whole app in app/main.py; X-Forwarded-For from anyone else is ignored)."""
    return request.client.host if request.client else "unknown"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    # https as configured, or as a trusted proxy reports it (X-Forwarded-Proto).
    secure = request.app.state.ctx.settings.base_url.startswith("https") or request.url.scheme == "https"
    response.set_cookie(COOKIE, token, max_age=int(service.SESSION_LIFETIME.total_seconds()), path="/",
                        httponly=True, samesite="strict", secure=secure)


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def set_language_cookie(response: Response, request: Request, language: str | None) -> None:
    """The login page's language next time in this browser (accounts/login_i18n.py); None forgets it."""
    if language is None:
        response.delete_cookie(login_i18n.LANG_COOKIE, path="/", httponly=True, samesite="lax")
        return
    secure = request.app.state.ctx.settings.base_url.startswith("https") or request.url.scheme == "https"
    response.set_cookie(login_i18n.LANG_COOKIE, language, max_age=login_i18n.LANG_COOKIE_AGE, path="/",
                        httponly=True, samesite="lax", secure=secure)


def page_language(request: Request, chosen: str | None = None) -> str:
    return login_i18n.choose(chosen, request.cookies.get(login_i18n.LANG_COOKIE),
                             request.headers.get("accept-language"))


# ---- the login page ----------------------------------------------------------------------------

LOGIN_PAGE = Template("""<!doctype html>
<html lang="$lang"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body{margin:0;min-height:100vh;display:grid;place-items:center;background:#f3f5f2;color:#1e2a23;
  font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 14px rgba(0,0,0,.08);width:min(22rem,88vw)}
h1{font-size:1.35rem;margin:0 0 1.2rem}
label{display:block;margin:.9rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.55rem .65rem;border:1px solid #aeb7b0;border-radius:6px;font:inherit}
input:focus{outline:2px solid #2f6f4e;outline-offset:1px;border-color:#2f6f4e}
button{margin-top:1.4rem;width:100%;padding:.65rem;border:0;border-radius:6px;background:#2f6f4e;color:#fff;
  font:inherit;font-weight:600;cursor:pointer}
button:hover{background:#265c40}
.error{background:#fdecea;color:#8a1c12;padding:.6rem .8rem;border-radius:6px;margin:0 0 1rem}
.langs{display:flex;justify-content:flex-end;gap:.6rem;margin:-.8rem -.6rem .6rem 0;font-size:.85rem}
.langs a{color:#2f6f4e}.langs a[aria-current]{color:#1e2a23;font-weight:600;text-decoration:none}
</style></head>
<body><main>
<nav class="langs" aria-label="$language">$switch</nav>
<h1>$heading</h1>
$error<form method="post" action="/login">
<input type="hidden" name="next" value="$next">
<input type="hidden" name="lang" value="$lang">
<label for="email">$email_label</label>
<input id="email" name="email" type="email" autocomplete="username" required value="$email"$focus_email>
<label for="password">$password_label</label>
<input id="password" name="password" type="password" autocomplete="current-password" required$focus_password>
<button type="submit">$submit</button>
</form>
</main></body></html>
""")

# The page runs no script and loads nothing; it may not be framed (clickjacking) or cached.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


LANGUAGE_NAMES = {"en": "EN · English", "el": "ΕΛ · Ελληνικά"}


def login_page(*, next_path: str = DEFAULT_NEXT, email: str = "", error: str | None = None,
               status: int = 200, lang: str = "en") -> HTMLResponse:
    """`error` is a key of login_i18n.TEXTS; `lang` one of its languages."""
    text = login_i18n.TEXTS[lang]
    next_path = safe_next(next_path)
    links = []
    for code, name in LANGUAGE_NAMES.items():  # plain links: the page runs no script
        query = urlencode({"lang": code, **({"next": next_path} if next_path != DEFAULT_NEXT else {})})
        current = ' aria-current="true"' if code == lang else ""
        links.append(f'<a href="/login?{escape(query, quote=True)}" lang="{code}" hreflang="{code}"{current}>{name}</a>')
    html = LOGIN_PAGE.substitute(
        lang=lang,
        title=escape(text["title"]),
        heading=escape(text["heading"]),
        language=escape(text["language"], quote=True),
        switch=" ".join(links),
        email_label=escape(text["email"]),
        password_label=escape(text["password"]),
        submit=escape(text["submit"]),
        error=f'<p class="error" role="alert">{escape(text[error])}</p>\n' if error else "",
        next=escape(next_path, quote=True),
        email=escape(email, quote=True),
        focus_email="" if email else " autofocus",
        focus_password=" autofocus" if email else "",
    )
    return HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, "Content-Language": lang})


# ---- routes ------------------------------------------------------------------------------------

def make_router(ctx) -> APIRouter:
    router = APIRouter(route_class=ApiRoute)
    admin = require_roles("admin")

    @router.get("/login", include_in_schema=False)
    async def login_form(request: Request, next: str = DEFAULT_NEXT, lang: str | None = None):  # noqa: A002
        language = page_language(request, lang)
        response = login_page(next_path=next, lang=language)
        if login_i18n.supported(lang):  # a choice made on the page (or a link): remembered in this browser
            set_language_cookie(response, request, language)
        return response

    @router.post("/login", include_in_schema=False)
    async def login(request: Request):
        if not same_origin(request):
            return login_page(error="cross_site", status=403, lang=page_language(request))
        try:
            raw = await read_body(request)
        except ApiError:
            return login_page(error="too_large", status=413, lang=page_language(request))
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
        email, password = form.get("email", "")[:254], form.get("password", "")
        next_path = safe_next(form.get("next"))
        lang = page_language(request, form.get("lang"))  # the language the form was shown in
        if not email.strip() or not password:
            return login_page(next_path=next_path, email=email, error="missing", status=400, lang=lang)
        now = utcnow()
        async with ctx.sessionmaker() as db:
            try:
                user = await service.authenticate(db, email, password, client_key=client_key(request), now=now)
            except service.LoginRefused as exc:
                status = 429 if exc.code == "throttled" else 401
                error = exc.code if exc.code in login_i18n.TEXTS[lang] else "bad_credentials"
                return login_page(next_path=next_path, email=email, error=error, status=status, lang=lang)
            await service.end_session(db, request.cookies.get(COOKIE))  # a previous login in this browser
            token = await service.create_session(db, user.id, now=now)
        if user.role == "editor" and next_path == DEFAULT_NEXT:
            next_path = EDITOR_HOME  # editors cannot use the agent console
        response = RedirectResponse(next_path, status_code=303)
        set_session_cookie(response, request, token)
        if user.language:  # the next login page in this browser speaks the language of their staff pages
            set_language_cookie(response, request, user.language)
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        if not same_origin(request):
            return login_page(error="cross_site_logout", status=403, lang=page_language(request))
        async with ctx.sessionmaker() as db:
            await service.end_session(db, request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        clear_session_cookie(response)
        return response

    @router.get("/api/me")
    async def me(user: User = Depends(current_user)):
        # language: the staff pages' language the user chose, or null (never chosen: the browser's)
        return {**me_json(user), "language": user.language}

    @router.put("/api/me/language")
    async def set_my_language(request: Request, response: Response, user: User = Depends(current_user)):
        """Only one's own: `{"language": "en" | "el" | null}`; anything else is 422, nothing changed."""
        body = await json_object(request)
        for field in body:
            if field != "language":
                raise ApiError(422, "bad_field", f"unknown field '{field}'", field)
        if "language" not in body:
            raise ApiError(422, "bad_field", "language is required", "language")
        async with ctx.sessionmaker() as db:
            try:
                language = await service.set_language(db, user.id, body["language"])
            except service.AccountError as exc:
                raise account_error(exc) from None
        set_language_cookie(response, request, language)  # the login page follows the choice too
        return {"language": language}

    @router.post("/api/me/password")
    async def change_my_password(request: Request, user: User = Depends(current_user)):
        body = await json_object(request)
        current, new = body.get("current_password"), body.get("new_password")
        if not isinstance(current, str) or not current:
            raise ApiError(422, "bad_field", "current_password is required", "current_password")
        try:
            check_password(new)
            service.check_password_rules(new, user.email)
        except PasswordError as exc:
            raise ApiError(422, "bad_field", f"new_password: {exc}", "new_password") from None
        except service.AccountError as exc:
            raise ApiError(422, "bad_field", f"new_password: {exc.message}", "new_password") from None
        async with ctx.sessionmaker() as db:
            # Through the login throttle: a stolen cookie must not allow unlimited password guesses.
            try:
                await service.authenticate(db, user.email, current, client_key=client_key(request), now=utcnow())
            except service.LoginRefused as exc:
                if exc.code == "throttled":
                    raise ApiError(429, "throttled", exc.message) from None
                raise ApiError(403, "wrong_password", "current_password is wrong", "current_password") from None
            await service.change_password(db, user, new)
        response = JSONResponse({"ok": True, "message": "Password changed: log in again with the new one."})
        clear_session_cookie(response)
        return response

    @router.get("/api/agents")
    async def list_agents(_: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            return {"agents": [user_json(u) for u in await service.list_users(db)]}

    @router.post("/api/agents", status_code=201)
    async def create_agent(request: Request, _: User = Depends(admin)):
        body = await json_object(request)
        for field in body:
            if field not in CREATE_FIELDS:
                raise ApiError(422, "bad_field", f"unknown field '{field}'", field)
        for field in ("email", "display_name", "password"):
            if field not in body:
                raise ApiError(422, "bad_field", f"{field} is required", field)
        body.setdefault("role", "agent")
        async with ctx.sessionmaker() as db:
            try:
                user = await service.create_user(db, **body)
            except service.AccountError as exc:
                raise account_error(exc) from None
        return JSONResponse(user_json(user), status_code=201)

    @router.patch("/api/agents/{user_id}")
    async def update_agent(request: Request, user_id: int = Path(ge=1, le=2**31 - 1),
                           user: User = Depends(current_user)):
        body = await json_object(request)
        for field in body:
            if field not in service.UPDATABLE:
                raise ApiError(422, "bad_field", f"unknown field '{field}'", field)
        if user.role != "admin":
            # Agents switch their own "accepting chats" and nothing else; editors take no chats.
            if user.role != "agent" or user_id != user.id or not set(body) <= {"accepting_chats"}:
                raise ApiError(403, "forbidden", "agents may change only their own accepting_chats")
        async with ctx.sessionmaker() as db:
            try:
                updated = await service.update_agent(db, user_id, **body)
            except service.AccountError as exc:
                raise account_error(exc) from None
        return user_json(updated)

    return router

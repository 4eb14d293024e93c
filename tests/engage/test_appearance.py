"""The widget's appearance settings (engage/appearance.py) through the real app: only admins read and
change them, bad input is refused with the field named and changes nothing, texts are kept per
language, and the widget's public endpoints (the loader's /engage/launcher from any shop, the
chat's /engage/appearance) serve what was saved."""
from __future__ import annotations

import httpx
import pytest

from accounts.service import create_session, create_user
from app.db import make_engine, make_sessionmaker, utcnow
from engage import appearance
from engage.rules import RuleError
from tests.support import LiveApp, TestDatabase

CSRF = {"X-Requested-With": "shopchat"}
GOOD = {
    "color": "#C0392B", "position": "left", "launcher_icon": "help", "avatars": False,
    "css": ".msg { border-radius: 4px; }\n.hd { letter-spacing: .02em; }",
    "texts": {"en": {"launcher": "Questions?", "title": "Pinecone help", "subtitle": "Here 9-17",
                     "greeting": "Hello!\nAsk about socks.", "offline_title": "Write to us", "offline_intro": "We answer by e-mail."},
              "el": {"launcher": "Ερωτήσεις;", "title": "Βοήθεια Pinecone"}},
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db = TestDatabase("sqlite", tmp_path_factory.mktemp("engage-appearance")).create()
    live = LiveApp(db.url).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
async def tokens(app):
    engine = make_engine(app.env["SHOPCHAT_DATABASE_URL"])
    out = {}
    async with make_sessionmaker(engine)() as db:
        for name, role in (("Ada", "admin"), ("Bo", "agent"), ("Ed", "editor")):
            user = await create_user(db, email=f"{name.lower()}@appearance.test", display_name=name, role=role,
                                     password="appearance test password")
            out[name] = await create_session(db, user.id, now=utcnow())
    yield out
    await engine.dispose()


def client(app, token=None):
    return httpx.AsyncClient(base_url=app.url, headers=CSRF, cookies={"shopchat_session": token} if token else {})


async def test_only_admins_read_and_change_the_appearance(app, tokens):
    async with client(app) as c:
        assert (await c.get("/api/engage/appearance")).status_code == 401
        assert (await c.put("/api/engage/appearance", json=GOOD)).status_code == 401
    for who in ("Bo", "Ed"):
        async with client(app, tokens[who]) as c:
            assert (await c.get("/api/engage/appearance")).status_code == 403
            assert (await c.put("/api/engage/appearance", json=GOOD)).status_code == 403
    async with client(app, tokens["Ada"]) as c:
        before = (await c.get("/api/engage/appearance")).json()
        assert before == appearance.DEFAULT  # nothing saved yet: the widget's own look
        r = await c.put("/api/engage/appearance", json=GOOD)
        assert r.status_code == 200
        saved = r.json()
        assert saved["color"] == "#c0392b" and saved["position"] == "left" and saved["launcher_icon"] == "help"
        assert saved["avatars"] is False and saved["css"] == GOOD["css"]
        assert saved["texts"]["en"]["greeting"] == "Hello!\nAsk about socks."
        assert saved["texts"]["el"] == {"launcher": "Ερωτήσεις;", "title": "Βοήθεια Pinecone"}
        assert (await c.get("/api/engage/appearance")).json() == saved


@pytest.mark.parametrize("body, field, words", [
    ({"color": "red; background: url(x)"}, "color", "colour like"),
    ({"color": "#12345"}, "color", "colour like"),
    ({"position": "top"}, "position", "right or left"),
    ({"launcher_icon": "<svg onload=alert(1)>"}, "launcher_icon", "one of chat"),
    ({"avatars": "yes"}, "avatars", "true or false"),
    ({"css": "@import 'https://evil.example/x.css';"}, "css", "@import is not allowed"),
    ({"css": ".hd { background: url(https://evil.example/p.png); }"}, "css", "url() is not allowed"),
    ({"css": ".hd { color red }"}, "css", "line 1: "),
    ({"css": ".hd { color red }"}, "css", "'property: value'"),
    ({"css": "</style><script>alert(1)</script>"}, "css", "'<'"),
    ({"css": ".x { behavior: url(a.htc) }"}, "css", "not allowed"),
    ({"texts": {"en": {"title": "x" * 61}}}, "texts.en.title", "longer than 60"),
    ({"texts": {"en": {"colour": "x"}}}, "texts.en.colour", "unknown text"),
    ({"texts": {"english": {"title": "x"}}}, "texts", "not a language code"),
    ({"texts": {"en": {"title": "two\nlines"}}}, "texts.en.title", "line breaks"),
    ({"texts": {"en": {"title": 5}}}, "texts.en.title", "must be text"),
    ({"colour": "#fff"}, "colour", "unknown setting"),
])
async def test_bad_input_is_refused_with_the_field_named_and_changes_nothing(app, tokens, body, field, words):
    async with client(app, tokens["Ada"]) as c:
        await c.put("/api/engage/appearance", json=GOOD)
        r = await c.put("/api/engage/appearance", json={**GOOD, **body})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["field"] == field and error["code"] == "bad_field"
        assert words in error["message"], error["message"]
        assert (await c.get("/api/engage/appearance")).json() == appearance.check_config(GOOD)


async def test_the_widget_gets_what_was_saved(app, tokens):
    async with client(app, tokens["Ada"]) as c:
        assert (await c.put("/api/engage/appearance", json=GOOD)).status_code == 200
    async with httpx.AsyncClient(base_url=app.url) as c:  # a visitor: no cookie, from the shop's origin
        r = await c.get("/engage/launcher", headers={"Origin": "https://shop.test"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
        assert "max-age=60" in r.headers["cache-control"]
        assert r.json() == {"c": "#c0392b", "p": "left", "i": "help", "t": {"en": "Questions?", "el": "Ερωτήσεις;"}}
        r = await c.get("/engage/appearance")
        assert r.status_code == 200 and r.json() == appearance.check_config(GOOD)
    async with client(app, tokens["Ada"]) as c:  # back to the defaults: an empty object
        assert (await c.put("/api/engage/appearance", json={})).json() == appearance.DEFAULT
    async with httpx.AsyncClient(base_url=app.url) as c:
        assert (await c.get("/engage/launcher")).json() == {"c": "", "p": "right", "i": "chat", "t": {}}


def test_check_config_keeps_only_real_texts():
    out = appearance.check_config({"texts": {"en": {"title": "  Hi  ", "subtitle": "   "}, "el": {"title": ""}}})
    assert out["texts"] == {"en": {"title": "Hi"}}
    with pytest.raises(RuleError):
        appearance.check_config([])
    with pytest.raises(RuleError) as exc:
        appearance.check_config({"css": ".a { background: image-set('x.png' 1x) }"})
    assert exc.value.field == "css" and "image-set() is not allowed" in exc.value.message


async def test_the_console_may_frame_the_chat_for_the_preview_whatever_shops_are_allowed(sqlite_url):
    from app.main import create_app
    from app.settings import Settings

    asgi = create_app(Settings(database_url=sqlite_url, frame_ancestors="https://shop.example"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://app") as c:
        csp = (await c.get("/widget/chat.html")).headers["content-security-policy"]
    assert "frame-ancestors https://shop.example 'self'" in csp

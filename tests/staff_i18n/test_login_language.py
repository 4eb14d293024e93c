"""The login page in English and Greek (accounts/login_i18n.py): nobody is known before logging in,
so its language is `?lang=` (the page's EN / ΕΛ links, remembered in the shopchat_lang cookie), else
that cookie (also set by logging in as a user who chose a language, and by their EN / ΕΛ switch),
else the browser's Accept-Language, else English. Both languages have every text; the Greek page
shows no English word; its errors (wrong password, throttled) are Greek too."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from accounts import login_i18n
from accounts.login_i18n import LANG_COOKIE, TEXTS
from accounts.service import create_user
from accounts.web import COOKIE
from app.main import create_app
from app.settings import Settings

PW = "correct horse battery"
BASE = "http://127.0.0.1:8000"
CSRF = {"X-Requested-With": "shopchat"}
GREEK = re.compile("[\u0370-\u03ff]")
# no words of the UI: the product's name, the switch's own names, the word e-mail (Greek staff write it so)
NOT_WORDS = {"shopchat", "EN · English", "E-mail"}


@pytest.fixture
async def app(db_url):
    asgi = create_app(Settings(database_url=db_url))
    async with asgi.ctx.sessionmaker() as db:
        await create_user(db, email="alex@shop.example", display_name="Alex", role="agent", password=PW)
        await create_user(db, email="eleni@shop.example", display_name="Eleni", role="admin", password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


def client(app, address: str = "127.0.0.1", **kw) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url=BASE, **kw)


async def post_login(c, email: str, password: str = PW, headers: dict | None = None, **extra):
    return await c.post("/login", data={"email": email, "password": password, **extra},
                        headers={"Origin": BASE, **(headers or {})})


class Visible(HTMLParser):
    """The texts a person sees (and the labelling attributes a screen reader says)."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder") and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.skip -= 1

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self.skip:
            self.texts.append(text)


def visible(html: str) -> list[str]:
    parser = Visible()
    parser.feed(html)
    return parser.texts


def test_both_languages_have_every_text_and_the_greek_ones_are_greek():
    assert set(TEXTS) == {"en", "el"} and set(TEXTS["en"]) == set(TEXTS["el"])
    same = {k for k in TEXTS["en"] if TEXTS["en"][k] == TEXTS["el"][k]}
    assert same == login_i18n.SAME
    assert {k: v for k, v in TEXTS["el"].items() if k not in login_i18n.SAME and not GREEK.search(v)} == {}


@pytest.mark.parametrize("header, expected", [
    (None, "en"), ("", "en"), ("en-US,en;q=0.9", "en"), ("el-GR,el;q=0.9,en;q=0.8", "el"), ("el", "el"),
    ("fr-FR, el;q=0.5", "el"), ("fr, de", "en"), ("en-GB,el;q=0.9", "en"), ("en;q=0.4, el;q=0.8", "el"),
    ("el;q=0, en", "en"), ("EL-gr", "el"), ("el;q=abc, en;q=0.1", "en"),
])
def test_accept_language_picks_the_most_preferred_language_the_pages_have(header, expected):
    assert (login_i18n.from_accept_language(header) or "en") == expected
    assert login_i18n.choose(None, None, header) == expected


async def test_a_greek_browser_gets_the_page_in_greek_with_no_english_word(app):
    async with client(app) as c:
        r = await c.get("/login", headers={"Accept-Language": "el-GR,el;q=0.9,en;q=0.8"})
    assert r.status_code == 200 and r.headers["content-language"] == "el"
    assert '<html lang="el">' in r.text and "<title>Σύνδεση - shopchat</title>" in r.text
    for key in ("heading", "password", "submit"):
        assert TEXTS["el"][key] in r.text
    english = [t for t in visible(r.text) if t not in NOT_WORDS and not GREEK.search(t)]
    assert english == [], "texts of the Greek login page that are not Greek"
    assert 'aria-current="true">ΕΛ · Ελληνικά</a>' in r.text
    assert LANG_COOKIE not in r.cookies  # only a choice made on the page is remembered
    # every text of the English page is a text of the dictionary, so the check above sees them all
    async with client(app) as c:
        en = (await c.get("/login")).text
    assert all(t in NOT_WORDS or t in TEXTS["en"].values() or t == "ΕΛ · Ελληνικά" for t in visible(en))
    assert '<html lang="en">' in en and "Log in to shopchat" in en


async def test_wrong_password_and_throttling_in_greek(app):
    el = {"Accept-Language": "el"}
    async with client(app) as c:
        for _ in range(5):
            r = await post_login(c, "alex@shop.example", "wrong password", headers=el)
            assert r.status_code == 401 and "Λάθος e-mail ή κωδικός πρόσβασης." in r.text
            assert "Wrong e-mail" not in r.text and '<html lang="el">' in r.text
        r = await post_login(c, "alex@shop.example", headers=el)  # the right password, but throttled
        assert r.status_code == 429 and TEXTS["el"]["throttled"] in r.text and COOKIE not in r.cookies
        r = await post_login(c, "alex@shop.example", headers={"Accept-Language": "en"})
        assert r.status_code == 429 and "Too many failed logins" in r.text
        r = await post_login(c, "", "", headers=el)
        assert r.status_code == 400 and TEXTS["el"]["missing"] in r.text
        # the form's own language wins over the browser's: the page was shown in Greek via ?lang=el
        r = await post_login(c, "nobody@shop.example", "x", headers={"Accept-Language": "en"}, lang="el")
        assert r.status_code in (401, 429) and '<html lang="el">' in r.text
    async with client(app, address="10.0.0.9") as c:  # another site's form: refused, in Greek
        r = await c.post("/login", data={"email": "alex@shop.example", "password": PW},
                         headers={"Origin": "https://evil.example", **el})
        assert r.status_code == 403 and TEXTS["el"]["cross_site"] in r.text


async def test_a_choice_on_the_page_is_remembered_and_beats_the_browser(app):
    async with client(app) as c:
        r = await c.get("/login", params={"lang": "el", "next": "/reports/"}, headers={"Accept-Language": "en"})
        assert '<html lang="el">' in r.text and r.cookies[LANG_COOKIE] == "el"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie
        # the switch's links keep where the user was going
        assert 'href="/login?lang=en&amp;next=%2Freports%2F"' in r.text
        assert 'name="next" value="/reports/"' in r.text
        r = await c.get("/login", headers={"Accept-Language": "en"})  # the cookie, not the browser
        assert '<html lang="el">' in r.text
        r = await c.get("/login", params={"lang": "en"}, headers={"Accept-Language": "el"})
        assert '<html lang="en">' in r.text and r.cookies[LANG_COOKIE] == "en"
        r = await c.get("/login", params={"lang": "fr"}, headers={"Accept-Language": "el"})  # not ours: ignored
        assert '<html lang="en">' in r.text and LANG_COOKIE not in r.cookies


async def test_the_users_own_choice_sets_the_next_login_page(app):
    async with client(app) as c:  # an English browser
        r = await post_login(c, "eleni@shop.example")
        assert r.status_code == 303 and LANG_COOKIE not in r.cookies  # never chose: nothing to remember
        c.cookies = {COOKIE: r.cookies[COOKIE]}
        r = await c.put("/api/me/language", headers=CSRF, json={"language": "el"})  # the ΕΛ switch
        assert r.status_code == 200 and r.cookies[LANG_COOKIE] == "el"
        c.cookies.set(LANG_COOKIE, "el")
        await c.post("/logout", headers={"Origin": BASE})
        r = await c.get("/login", headers={"Accept-Language": "en"})
        assert '<html lang="el">' in r.text
        # null: follow the browser again, and the login page forgets too
        r = await post_login(c, "eleni@shop.example")
        c.cookies.set(COOKIE, r.cookies[COOKIE])
        r = await c.put("/api/me/language", headers=CSRF, json={"language": None})
        assert r.status_code == 200 and f'{LANG_COOKIE}=""' in r.headers["set-cookie"]
    async with client(app) as fresh:  # another browser: logging in as Eleni, who chose Greek
        r = await post_login(fresh, "eleni@shop.example")
        fresh.cookies = {COOKIE: r.cookies[COOKIE]}
        assert (await fresh.put("/api/me/language", headers=CSRF, json={"language": "el"})).status_code == 200
    async with client(app) as third:
        r = await post_login(third, "eleni@shop.example")
        assert r.status_code == 303 and r.cookies[LANG_COOKIE] == "el"

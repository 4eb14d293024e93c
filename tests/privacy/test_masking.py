"""Editors' knowledge-gaps pages mask e-mail addresses, phone numbers and order numbers in visitors'
questions (and in the agent's reply shown beside them)."""
import httpx
import pytest

from accounts.service import create_user
from accounts.web import COOKIE
from app.main import create_app
from app.settings import Settings
from chat import service as chat
from knowledge_base import gaps
from privacy.masking import mask

PW = "correct horse battery"
BASE = "http://127.0.0.1:8000"


@pytest.mark.parametrize("text, masked", [
    ("where is my order 10234??", "where is my order [order number]??"),
    ("Order nr: pc-2024-0042.", "Order nr: [order number]."),
    ("#55512 is late", "#[order number] is late"),
    ("order number: ABC-12345 not here", "order number: [order number] not here"),
    ("my email is maria.k+shop@mail.example.co.uk thanks", "my email is [e-mail] thanks"),
    ("call me on +30 694 123 4567 please", "call me on [phone] please"),
    ("phone (210) 555-0199", "phone [phone]"),
    ("tel 0612345678", "tel [phone]"),
    ("is 10234 shipped", "is [number] shipped"),
    ("iban GR1601101250000000012300695", "iban [number]"),
    # what is not personal stays readable
    ("I want 2 mugs, size 42", "I want 2 mugs, size 42"),
    ("ordered in 2024, 3 items", "ordered in 2024, 3 items"),
    ("do you ship to Crete?", "do you ship to Crete?"),
])
def test_mask(text, masked):
    assert mask(text) == masked


@pytest.fixture
async def app(sqlite_url):
    asgi = create_app(Settings(database_url=sqlite_url))
    async with asgi.ctx.sessionmaker() as db:
        await create_user(db, email="erin@shop.example", display_name="Erin", role="editor", password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


async def test_the_gaps_page_shows_questions_masked(app):
    question = "parcel for order 88123 never came, write to maria.p@example.com or +30 694 123 4567"
    async with app.ctx.sessionmaker() as db:
        conv, _ = await chat.create_conversation(db)
        stored = await chat.add_message(db, conversation_id=conv.id, sender="visitor", text=question)
        gaps.record(db, conv.id, stored.message.seq, question, article_id=None, score=None, fallback=True,
                    from_button=False)
        await db.commit()
        q = await gaps._latest(db, conv.id)
        q.handoff_after = True
        await db.commit()
        await chat.add_message(db, conversation_id=conv.id, sender="agent", text="Maria, your order 88123 left our warehouse today")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        r = await c.post("/login", data={"email": "erin@shop.example", "password": PW}, headers={"Origin": BASE})
        c.cookies.set(COOKIE, r.cookies[COOKIE])
        body = (await c.get("/api/kb/gaps")).text
    assert "88123" not in body and "maria.p@example.com" not in body and "694" not in body
    assert "parcel for order [order number] never came, write to [e-mail] or [phone]" in body
    assert "order [order number] left our warehouse today" in body

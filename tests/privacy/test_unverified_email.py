"""Customer history links chats by the browser and by the e-mail a visitor typed; the e-mail links
are marked unverified (anyone can type anyone's address). Sticky routing ignores typed e-mails
(tests/handoff/test_routing.py, test_a_typed_email_does_not_make_routing_sticky)."""
import httpx
import pytest
from sqlalchemy import update

from accounts.service import create_user
from accounts.web import COOKIE
from app.main import create_app
from app.settings import Settings
from chat import service as chat
from chat.models import Conversation

PW = "correct horse battery"
BASE = "http://127.0.0.1:8000"


@pytest.fixture
async def app(sqlite_url):
    asgi = create_app(Settings(database_url=sqlite_url))
    async with asgi.ctx.sessionmaker() as db:
        await create_user(db, email="boss@shop.example", display_name="Boss", role="admin", password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


async def conversation(app, *, visitor_id: str, email: str | None) -> str:
    async with app.ctx.sessionmaker() as db:
        conv, _ = await chat.create_conversation(db)
        await db.execute(update(Conversation).where(Conversation.id == conv.id)
                         .values(visitor_id=visitor_id, visitor_email=email))
        await db.commit()
        await chat.add_message(db, conversation_id=conv.id, sender="visitor", text="hello")
    return conv.id


async def test_history_marks_chats_linked_only_by_a_typed_email_as_unverified(app):
    maria_earlier = await conversation(app, visitor_id="maria-browser-0123456789", email="maria@example.com")
    stranger = await conversation(app, visitor_id="stranger-browser-0123456", email="other@example.com")
    # the stranger's next chat: same browser, and now typing Maria's address
    now = await conversation(app, visitor_id="stranger-browser-0123456", email="Maria@Example.com")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        r = await c.post("/login", data={"email": "boss@shop.example", "password": PW}, headers={"Origin": BASE})
        c.cookies.set(COOKIE, r.cookies[COOKIE])
        rows = (await c.get(f"/api/console/conversations/{now}/history")).json()["conversations"]
    links = {r["conversation_id"]: (r["linked_by"], r["unverified"]) for r in rows}
    assert links == {maria_earlier: ("email", True), stranger: ("browser", False)}

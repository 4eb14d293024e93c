"""`POST /api/console/tickets/{id}/reply` over HTTP (the app in-process): the chat's ownership rule
and closed tickets, with their documented codes (docs/protocol.md, "Agent console HTTP API")."""
import pytest
from sqlalchemy import select

from accounts.models import User
from accounts.service import create_user
from app.main import create_app
from app.settings import Settings
from chat import service
from chat.models import Conversation
from handoff import tickets
from tests.accounts.test_web import CSRF, PW, client, login


@pytest.fixture
async def app(db_url):
    asgi = create_app(Settings(database_url=db_url))
    async with asgi.ctx.sessionmaker() as db:
        for email, role in (("boss@shop.example", "admin"), ("alex@shop.example", "agent"),
                            ("bo@shop.example", "agent")):
            await create_user(db, email=email, display_name=email.split("@")[0].title(), role=role, password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


async def test_reply_refused_in_another_agents_live_chat_and_on_a_closed_ticket(app):
    async with app.ctx.sessionmaker() as db:
        conv, _ = await service.create_conversation(db)
        conv.state = "offline_form"
        await db.commit()
        cid = conv.id
        tid = (await tickets.create(db, cid, name="", email="v@example.com", message="?")).ticket.id
    async with app.ctx.sessionmaker() as db:
        bo_id = await db.scalar(select(User.id).where(User.email == "bo@shop.example"))
        conv = await db.get(Conversation, cid)
        conv.state, conv.agent_id = "assigned", bo_id
        await db.commit()

    async def reply(email: str, text: str = "We are on it."):
        async with client(app, await login(app, email)) as c:
            return await c.post(f"/api/console/tickets/{tid}/reply", headers=CSRF, json={"text": text})

    r = await reply("alex@shop.example")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_owner", r.text
    r = await reply("bo@shop.example")
    assert r.status_code == 200 and r.json()["message_seq"] == 2
    r = await reply("boss@shop.example")  # admins may, as in chats
    assert r.status_code == 200
    async with client(app, await login(app, "bo@shop.example")) as c:
        assert (await c.post(f"/api/console/tickets/{tid}/close", headers=CSRF)).status_code == 200
    r = await reply("bo@shop.example")
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_closed", r.text
    async with app.ctx.sessionmaker() as db:
        assert [m.sender for m in await service.messages_after(db, cid, 0)] == ["visitor", "agent", "agent"]

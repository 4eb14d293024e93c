"""Attachments over HTTP (the app in-process, real database, files on disk): both ways, who may
fetch what, the headers files are served with, hostile files refused with nothing stored, and a
conversation's files erased."""
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

import attachments
from accounts.models import User
from accounts.service import create_user
from app.main import create_app
from app.settings import Settings
from attachments.models import Attachment
from chat import service
from chat.models import Conversation, Message
from tests.accounts.test_web import CSRF, PW, client, login
from tests.attachments import files


@pytest.fixture
async def app(db_url, tmp_path):
    asgi = create_app(Settings(database_url=db_url, attachments_dir=str(tmp_path / "files"),
                               attachments_max_bytes=2_000_000))
    async with asgi.ctx.sessionmaker() as db:
        for email, role in (("boss@shop.example", "admin"), ("alex@shop.example", "agent"),
                            ("bo@shop.example", "agent"), ("erin@shop.example", "editor")):
            await create_user(db, email=email, display_name=email.split("@")[0].title(), role=role, password=PW)
    asgi.files_dir = tmp_path / "files"
    yield asgi
    await asgi.ctx.engine.dispose()


async def chat_with(app, email: str | None, state: str = "assigned") -> tuple[str, str]:
    """A conversation in `state`, with the agent `email`; returns (id, the visitor's session id)."""
    async with app.ctx.sessionmaker() as db:
        conv, token = await service.create_conversation(db)
        conv.state = state
        if email:
            conv.agent_id = await db.scalar(select(User.id).where(User.email == email))
        await db.commit()
        return conv.id, token


async def visitor_upload(app, token: str | None, data: bytes, name: str = "photo.png"):
    headers = {"X-File-Name": quote(name), **({"X-Session-Id": token} if token else {})}
    async with client(app) as c:
        return await c.post("/api/attachments", content=data, headers=headers)


async def get(app, path: str, *, token: str | None = None, email: str | None = None):
    cookie = await login(app, email) if email else None
    async with client(app, cookie) as c:
        return await c.get(path, headers={"X-Session-Id": token} if token else {})


def stored_files(app) -> list[Path]:
    return [p for p in app.files_dir.rglob("*") if p.is_file()] if app.files_dir.exists() else []


async def count(app, model) -> int:
    async with app.ctx.sessionmaker() as db:
        return await db.scalar(select(func.count()).select_from(model))


async def test_a_visitor_sends_an_image_and_only_its_readers_fetch_it(app):
    cid, token = await chat_with(app, "alex@shop.example")
    other_cid, other_token = await chat_with(app, "bo@shop.example")
    r = await visitor_upload(app, token, files.png(), "../holiday photo.png")
    assert r.status_code == 200, r.text
    msg = r.json()["message"]
    att = msg["attachment"]
    assert (msg["sender"], msg["text"], att["name"], att["type"], att["kind"]) == \
        ("visitor", "holiday photo.png", "holiday photo.png", "image/png", "image")
    assert (att["width"], att["height"], att["thumb"]) == (640, 480, True) and len(att["sig"]) == 32
    aid = att["id"]

    # the visitor, by the session id or by the file's sig; the thumbnail too
    for r in (await get(app, f"/api/attachments/{aid}", token=token),
              await get(app, f"/api/attachments/{aid}?sig={att['sig']}")):
        assert r.status_code == 200 and r.content == files.png()
        assert r.headers["content-type"] == "image/png"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in r.headers["content-security-policy"]
        assert r.headers["content-disposition"].startswith("inline;")
    thumb = await get(app, f"/api/attachments/{aid}/thumb?sig={att['sig']}")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg" and len(thumb.content) < 20_000

    # its agent and admins; another agent of another chat may not; editors and strangers see nothing
    assert (await get(app, f"/api/attachments/{aid}", email="alex@shop.example")).status_code == 200
    assert (await get(app, f"/api/attachments/{aid}", email="boss@shop.example")).status_code == 200
    r = await get(app, f"/api/attachments/{aid}", email="bo@shop.example")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_owner"
    for r in (await get(app, f"/api/attachments/{aid}", email="erin@shop.example"),
              await get(app, f"/api/attachments/{aid}"),
              await get(app, f"/api/attachments/{aid}", token=other_token),  # a file of another conversation
              await get(app, f"/api/attachments/{aid}?sig={'0' * 32}"),
              await get(app, f"/api/attachments/{'f' * 32}", token=token)):
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    # another conversation's sig is not this file's
    r = await visitor_upload(app, other_token, files.gif(), "x.gif")
    other_sig = r.json()["message"]["attachment"]["sig"]
    assert (await get(app, f"/api/attachments/{aid}?sig={other_sig}")).status_code == 404

    # agents never get the visitor's capability
    async with client(app, await login(app, "alex@shop.example")) as c:
        messages = (await c.get(f"/api/console/conversations/{cid}")).json()["messages"]
    assert messages[0]["attachment"]["id"] == aid and "sig" not in messages[0]["attachment"]
    assert other_cid != cid


async def test_a_pdf_is_served_as_a_download_never_inline(app):
    _, token = await chat_with(app, "alex@shop.example")
    r = await visitor_upload(app, token, files.pdf(), "Rechnung März.html")
    att = r.json()["message"]["attachment"]
    assert att["name"] == "Rechnung März.html.pdf" and att["kind"] == "pdf" and "thumb" not in att
    r = await get(app, f"/api/attachments/{att['id']}", token=token)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Rechnung%20M%C3%A4rz.html.pdf" in r.headers["content-disposition"]
    assert (await get(app, f"/api/attachments/{att['id']}/thumb", token=token)).status_code == 404


@pytest.mark.parametrize("data,name,status,code", [
    (files.SVG_WITH_SCRIPT, "logo.svg", 415, "unsupported_type"),
    (files.SVG_WITH_SCRIPT, "logo.png", 415, "unsupported_type"),
    (files.HTML_AS_PNG, "cute-cat.png", 415, "unsupported_type"),
    (files.bomb_png(), "bomb.png", 413, "image_too_large"),
    (files.truncated_png(), "half.png", 422, "bad_image"),
    (b"", "empty.png", 422, "empty_file"),
    (b"%PDF-" + b"0" * 2_000_000, "big.pdf", 413, "file_too_large"),
])
async def test_hostile_or_unwanted_files_are_refused_and_nothing_is_stored(app, data, name, status, code):
    cid, token = await chat_with(app, "alex@shop.example")
    r = await visitor_upload(app, token, data, name)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert r.json()["error"]["message"]
    assert await count(app, Attachment) == 0 and await count(app, Message) == 0 and stored_files(app) == []


async def test_who_may_send(app):
    _, bot_token = await chat_with(app, None, state="bot")
    r = await visitor_upload(app, bot_token, files.png())
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_with_person"
    r = await visitor_upload(app, None, files.png())
    assert r.status_code == 401 and r.json()["error"]["code"] == "no_session"
    r = await visitor_upload(app, "not-a-session", files.png())
    assert r.status_code == 401 and r.json()["error"]["code"] == "unknown_session"
    _, queued = await chat_with(app, None, state="queued")
    assert (await visitor_upload(app, queued, files.png())).status_code == 200


async def test_an_agent_sends_a_file_to_their_chat_only(app):
    cid, token = await chat_with(app, "alex@shop.example")

    async def agent_upload(email, data=files.jpeg(), headers=CSRF):
        async with client(app, await login(app, email)) as c:
            return await c.post(f"/api/console/conversations/{cid}/attachments", content=data,
                                headers={**headers, "X-File-Name": "label.jpg"})

    r = await agent_upload("bo@shop.example")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_owner"
    r = await agent_upload("alex@shop.example", headers={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    r = await agent_upload("alex@shop.example", data=files.HTML_AS_PNG)
    assert r.status_code == 415
    r = await agent_upload("alex@shop.example")
    assert r.status_code == 200, r.text
    msg = r.json()["message"]
    assert msg["sender"] == "agent" and msg["agent_name"] == "Alex" and "sig" not in msg["attachment"]
    # the visitor's transcript carries it with the visitor's sig, and the visitor can fetch it
    async with app.ctx.sessionmaker() as db:
        [stored] = await service.messages_after(db, cid, 0)
    sig = service.message_dict(stored)["attachment"]["sig"]
    r = await get(app, f"/api/attachments/{msg['attachment']['id']}?sig={sig}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert (await agent_upload("boss@shop.example")).status_code == 200  # admins may, as in chats


async def test_erasing_a_conversation_erases_its_files(app):
    cid, token = await chat_with(app, "alex@shop.example")
    keep_cid, keep_token = await chat_with(app, "alex@shop.example")
    for data in (files.png(), files.pdf()):
        assert (await visitor_upload(app, token, data)).status_code == 200
    kept = (await visitor_upload(app, keep_token, files.gif())).json()["message"]["attachment"]["id"]
    assert len(stored_files(app)) == 2 + 1 + 2  # two images with thumbnails, a PDF
    async with app.ctx.sessionmaker() as db:
        assert await attachments.erase_for_conversation(db, cid) == 2
        await db.commit()
    assert len(stored_files(app)) == 2 and await count(app, Attachment) == 1
    assert (await get(app, f"/api/attachments/{kept}", token=keep_token)).status_code == 200
    async with app.ctx.sessionmaker() as db:
        assert await attachments.erase_for_conversation(db, cid) == 0
        assert (await db.get(Conversation, keep_cid)) is not None


async def test_a_visitors_erasure_request_erases_their_files(app):
    """privacy/requests.py (the visitor's data requests and retention) erases through
    attachments.erase_for_conversation: the bytes go with the rows."""
    from privacy import requests as privacy_requests

    cid, token = await chat_with(app, "alex@shop.example")
    _, other_token = await chat_with(app, "alex@shop.example")
    assert (await visitor_upload(app, token, files.png())).status_code == 200
    assert (await visitor_upload(app, other_token, files.pdf())).status_code == 200
    assert len(stored_files(app)) == 3
    async with app.ctx.sessionmaker() as db:
        done = await privacy_requests.erase(db, privacy_requests.Subject("conversation", cid), tracker_urls=[],
                                            user_id=None)
    assert done.conversations == 1
    assert len(stored_files(app)) == 1 and await count(app, Attachment) == 1

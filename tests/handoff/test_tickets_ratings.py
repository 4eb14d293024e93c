"""Offline tickets, ratings and the agents' ranking: the database functions the visitor namespace
and the agent console use (SQLite and PostgreSQL). The Socket.IO side is in
tests/chat/test_visitor_socket.py."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from accounts.models import User
from app.settings import Settings
from chat import service
from chat.models import Conversation, Transition
from handoff import mailer, ratings, tickets
from handoff.models import Assignment, Offer, Rating, Ticket

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
NO_MAIL = Settings(smtp_host="")


async def new_chat(sm, state: str = "bot", **fields) -> str:
    async with sm() as db:
        conv, _ = await service.create_conversation(db)
        conv.state = state
        for key, value in fields.items():
            setattr(conv, key, value)
        await db.commit()
        return conv.id


async def new_agent(sm, name: str) -> int:
    async with sm() as db:
        user = User(email=f"{name.lower()}@agents.test", display_name=name, role="agent", password_hash="x")
        db.add(user)
        await db.commit()
        return user.id


async def test_a_ticket_and_its_transcript_line_are_stored_together(sessionmaker):
    cid = await new_chat(sessionmaker, "offline_form")
    async with sessionmaker() as db:
        created = await tickets.create(db, cid, name="Maria", email="maria@example.com", message="Call me", now=T0)
    async with sessionmaker() as db:
        ticket = await db.get(Ticket, created.ticket.id)
        msgs = await service.messages_after(db, cid, 0)
        conv = await db.get(Conversation, cid)
    assert (ticket.status, ticket.name, ticket.email, ticket.message) == ("open", "Maria", "maria@example.com", "Call me")
    assert [(m.seq, m.sender) for m in msgs] == [(1, "visitor")]
    assert msgs[0].text == f"Offline message #{ticket.id} from Maria <maria@example.com>:\nCall me"
    assert msgs[0].extra == {"ticket": {"id": ticket.id, "email": "maria@example.com"}}
    assert (conv.visitor_name, conv.visitor_email) == ("Maria", "maria@example.com")
    # a name and an e-mail the conversation already has are kept
    async with sessionmaker() as db:
        await tickets.create(db, cid, name="Someone", email="other@example.com", message="again", now=T0)
    async with sessionmaker() as db:
        conv = await db.get(Conversation, cid)
    assert (conv.visitor_name, conv.visitor_email) == ("Maria", "maria@example.com")


async def test_tickets_are_refused_outside_the_form_states_and_over_the_limit(sessionmaker):
    for state in ("bot", "assigned", "closed", "rated"):
        cid = await new_chat(sessionmaker, state)
        async with sessionmaker() as db:
            with pytest.raises(tickets.TicketError) as err:
                await tickets.create(db, cid, name="", email="a@example.com", message="hi", now=T0)
        assert err.value.code == "not_offline"
    queued = await new_chat(sessionmaker, "queued")
    for i in range(3):
        async with sessionmaker() as db:
            await tickets.create(db, queued, name="", email="a@example.com", message=f"m{i}",
                                 now=T0 + timedelta(minutes=i))
    async with sessionmaker() as db:
        with pytest.raises(tickets.TicketError) as err:
            await tickets.create(db, queued, name="", email="a@example.com", message="m3",
                                 now=T0 + timedelta(minutes=59))
    assert err.value.code == "rate_limited"
    async with sessionmaker() as db:  # an hour after the first one, one more fits
        await tickets.create(db, queued, name="", email="a@example.com", message="m4",
                             now=T0 + timedelta(minutes=60, seconds=1))
    async with sessionmaker() as db:
        assert [t.message for t in await db.scalars(select(Ticket).order_by(Ticket.id))] == ["m0", "m1", "m2", "m4"]
        assert [m.seq for m in await service.messages_after(db, queued, 0)] == [1, 2, 3, 4]


async def test_reply_close_and_the_open_list(sessionmaker):
    first = await new_chat(sessionmaker, "offline_form", language="el")
    second = await new_chat(sessionmaker, "offline_form")
    alex = await new_agent(sessionmaker, "Alex")
    ids = []
    for cid, minute in ((second, 5), (first, 1)):
        async with sessionmaker() as db:
            ids.append((await tickets.create(db, cid, name="", email="v@example.com", message="?",
                                             now=T0 + timedelta(minutes=minute))).ticket.id)
    async with sessionmaker() as db:
        assert [t.conversation_id for t in await tickets.list_open(db)] == [first, second]  # oldest first
    async with sessionmaker() as db:
        replied = await tickets.reply(db, ids[1], alex, "  Sent today.  ", NO_MAIL)
    assert replied.emailed is False  # e-mail is off; the reply is stored all the same
    async with sessionmaker() as db:
        msgs = await service.messages_after(db, first, 0)
        ticket = await db.get(Ticket, ids[1])
    assert [(m.sender, m.text, m.agent_id) for m in msgs][1] == ("agent", "Sent today.", alex)
    assert msgs[1].extra["agent_name"] == "Alex" and ticket.handled_by == alex and ticket.status == "open"
    for bad, code in (("   ", "empty_message"), ("x" * 4001, "message_too_long")):
        async with sessionmaker() as db:
            with pytest.raises(tickets.TicketError) as err:
                await tickets.reply(db, ids[1], alex, bad, NO_MAIL)
        assert err.value.code == code
    async with sessionmaker() as db:
        with pytest.raises(tickets.TicketError):
            await tickets.reply(db, 999_999, alex, "hi", NO_MAIL)
        closed = await tickets.close(db, ids[1], alex, now=T0)
        assert closed.status == "closed"
    async with sessionmaker() as db:
        assert [t.id for t in await tickets.list_open(db)] == [ids[0]]
        assert tickets.ticket_dict(await db.get(Ticket, ids[1]))["closed_at"] == "2026-11-25T12:00:00Z"


async def test_a_rating_is_taken_once_with_its_transition_and_the_last_agent(sessionmaker):
    alex, bo = await new_agent(sessionmaker, "Alex"), await new_agent(sessionmaker, "Bo")
    cid = await new_chat(sessionmaker, "assigned")
    async with sessionmaker() as db:
        with pytest.raises(ratings.RatingError) as err:
            await ratings.rate(db, cid, stars=5, comment=None)
    assert err.value.code == "not_closed"
    async with sessionmaker() as db:  # transferred from Alex to Bo, then closed
        db.add_all([Assignment(conversation_id=cid, agent_id=alex, started_at=T0, last_activity_at=T0,
                               ended_at=T0 + timedelta(minutes=2)),
                    Assignment(conversation_id=cid, agent_id=bo, started_at=T0 + timedelta(minutes=2),
                               last_activity_at=T0, ended_at=T0 + timedelta(minutes=5))])
        (await db.get(Conversation, cid)).state = "closed"
        await db.commit()
    async with sessionmaker() as db:
        rating = await ratings.rate(db, cid, stars=5, comment="great")
    assert rating.agent_id == bo
    async with sessionmaker() as db:
        assert (await db.get(Conversation, cid)).state == "rated"
        t = await db.scalar(select(Transition).where(Transition.conversation_id == cid))
        assert (t.from_state, t.to_state, t.actor, t.reason) == ("closed", "rated", "visitor", "rated 5 of 5")
        with pytest.raises(ratings.RatingError) as err:
            await ratings.rate(db, cid, stars=1, comment=None)
    assert err.value.code == "already_rated"
    async with sessionmaker() as db:
        assert [(r.stars, r.comment) for r in await db.scalars(select(Rating))] == [(5, "great")]


async def test_agent_ranking(sessionmaker):
    alex, bo, cy = [await new_agent(sessionmaker, n) for n in ("Alex", "Bo", "Cy")]
    since = T0 - timedelta(days=1)

    async def chat(agent: int, stars: int | None, first_response_s: float | None, at=T0) -> None:
        cid = await new_chat(sessionmaker, "rated" if stars else "closed")
        async with sessionmaker() as db:
            db.add(Assignment(conversation_id=cid, agent_id=agent, started_at=at, last_activity_at=at,
                              first_response_at=at + timedelta(seconds=first_response_s)
                              if first_response_s is not None else None))
            if stars:
                db.add(Rating(conversation_id=cid, agent_id=agent, stars=stars, created_at=at))
            await db.commit()

    await chat(alex, 5, 10)
    await chat(alex, 4, 20)
    await chat(alex, 2, 30)
    await chat(alex, None, None)
    await chat(bo, 5, 40)
    await chat(bo, 5, None)
    await chat(bo, 1, 60, at=since - timedelta(hours=1))  # before the period: not counted
    async with sessionmaker() as db:
        cid = await new_chat(sessionmaker)
        for agent, status in ((alex, "missed"), (alex, "missed"), (bo, "declined"), (cy, "missed")):
            db.add(Offer(conversation_id=cid, agent_id=agent, round=1, created_at=T0, expires_at=T0, status=status))
        await db.commit()
    async with sessionmaker() as db:
        rows = await ratings.agent_ranking(db, since)
    by = {r["name"]: r for r in rows}
    assert [r["name"] for r in rows] == ["Bo", "Alex", "Cy"]
    assert by["Bo"] == {"agent_id": bo, "name": "Bo", "csat": 1.0, "avg_stars": 5.0, "ratings": 2, "chats": 2,
                        "missed": 0, "avg_first_response_s": 40.0}
    assert by["Alex"] == {"agent_id": alex, "name": "Alex", "csat": round(2 / 3, 4), "avg_stars": 3.67,
                          "ratings": 3, "chats": 4, "missed": 2, "avg_first_response_s": 20.0}
    assert by["Cy"] == {"agent_id": cy, "name": "Cy", "csat": None, "avg_stars": None, "ratings": 0, "chats": 0,
                        "missed": 1, "avg_first_response_s": None}


def test_email_addresses_are_checked_strictly():
    for good in ("maria@example.com", "m.a+shop@mail.example.co.uk", "x_y@xn--80ak6aa92e.xn--p1ai"):
        assert mailer.valid_email(good), good
    for bad in ("maria@example", "maria@@example.com", "maria@exa mple.com", "maria@example.com\nBcc: x@y.z",
                "a..b@example.com", "@example.com", "maria@-example.com", "maria@example.c", "m" * 65 + "@example.com",
                "maría@example.com", ""):
        assert not mailer.valid_email(bad), bad
    with pytest.raises(ValueError):
        mailer.build(NO_MAIL, "x@example.com\r\nBcc: all@example.com", "s", "b")


def test_the_confirmation_carries_nothing_the_visitor_typed():
    ticket = Ticket(id=7, name="Buy pills at spam.example", email="victim@example.com", message="http://spam.example")
    for lang in ("en", "el"):
        subject, text = mailer.confirmation(ticket, lang)
        assert "#7" in subject and "#7" in text and "spam" not in subject + text
    subject, text = mailer.reply(ticket, "We refunded you.", "Alex", "en")
    assert subject == "Re: your message (#7)" and "We refunded you." in text and "Alex" in text


async def test_confirmation_emails_are_capped_per_address_and_in_all(sessionmaker, monkeypatch):
    """A stranger opening new chats cannot mail-bomb an address through the shop's SMTP server:
    the tickets are stored, the confirmations stop at the cap (per address, and in all)."""
    allowed = []
    for i in range(5):
        cid = await new_chat(sessionmaker, "offline_form")
        async with sessionmaker() as db:
            created = await tickets.create(db, cid, name="", email="Victim@Example.com" if i % 2 else "victim@example.com",
                                           message=f"spam {i}", now=T0 + timedelta(minutes=i))
            allowed.append(await tickets.may_confirm(db, created.ticket, now=T0 + timedelta(minutes=i)))
    assert allowed == [True, True, True, False, False]
    async with sessionmaker() as db:  # an hour later the address may be confirmed again
        assert await tickets.may_confirm(db, created.ticket, now=T0 + timedelta(minutes=65))
    monkeypatch.setattr(tickets, "CONFIRMATIONS_IN_ALL", 6)
    others = []
    for i in range(3):
        cid = await new_chat(sessionmaker, "offline_form")
        async with sessionmaker() as db:
            created = await tickets.create(db, cid, name="", email=f"person{i}@example.com", message="hello",
                                           now=T0 + timedelta(minutes=10 + i))
            others.append(await tickets.may_confirm(db, created.ticket, now=T0 + timedelta(minutes=10 + i)))
    assert others == [True, False, False], "the 6th ticket of the hour is the last one confirmed"


async def test_a_reply_keeps_the_chat_ownership_rule_and_a_closed_ticket_takes_none(sessionmaker):
    alex, bo = await new_agent(sessionmaker, "Alex"), await new_agent(sessionmaker, "Bo")
    async with sessionmaker() as db:
        db.add(User(email="ada@agents.test", display_name="Ada", role="admin", password_hash="x"))
        await db.commit()
        ada = (await db.scalar(select(User).where(User.role == "admin"))).id
    cid = await new_chat(sessionmaker, "offline_form")
    async with sessionmaker() as db:
        tid = (await tickets.create(db, cid, name="", email="v@example.com", message="?", now=T0)).ticket.id
    async with sessionmaker() as db:  # the visitor came back and is now chatting with Bo
        conv = await db.get(Conversation, cid)
        conv.state, conv.agent_id = "assigned", bo
        await db.commit()

    async def refused(agent_id: int, code: str) -> None:
        async with sessionmaker() as db:
            with pytest.raises(tickets.TicketError) as err:
                await tickets.reply(db, tid, agent_id, "from me", NO_MAIL)
        assert err.value.code == code
        async with sessionmaker() as db:  # nothing stored, nothing changed
            assert [m.sender for m in await service.messages_after(db, cid, 0)] == expected
            assert (await db.get(Ticket, tid)).handled_by == handled_by

    expected, handled_by = ["visitor"], None
    await refused(alex, "not_owner")  # Alex may not write into Bo's live chat
    async with sessionmaker() as db:  # Bo, the chat's owner, may; so may an admin
        await tickets.reply(db, tid, bo, "Bo here", NO_MAIL)
    async with sessionmaker() as db:
        await tickets.reply(db, tid, ada, "Ada here", NO_MAIL)
    async with sessionmaker() as db:  # once the chat is over, any agent may follow up by e-mail
        (await db.get(Conversation, cid)).state = "closed"
        await db.commit()
    async with sessionmaker() as db:
        await tickets.reply(db, tid, alex, "Alex here", NO_MAIL)
        await tickets.close(db, tid, alex, now=T0)
    expected, handled_by = ["visitor", "agent", "agent", "agent"], alex
    await refused(alex, "ticket_closed")
    await refused(ada, "ticket_closed")

"""Persistence of conversations and messages, on SQLite and PostgreSQL."""
import asyncio

from sqlalchemy import select

from chat import service
from chat.models import Conversation, Transition


async def test_session_secret_is_stored_hashed_and_finds_its_conversation(sessionmaker):
    async with sessionmaker() as db:
        conv, token = await service.create_conversation(db, language="en")
    assert len(token) >= 40
    async with sessionmaker() as db:
        stored = await db.get(Conversation, conv.id)
        assert token not in stored.token_hash and stored.token_hash == service.hash_token(token)
        assert (await service.find_by_token(db, token)).id == conv.id
        assert await service.find_by_token(db, token[:-1] + "x") is None


async def test_concurrent_messages_get_gapless_unique_sequence_numbers(sessionmaker):
    async with sessionmaker() as db:
        conv, _ = await service.create_conversation(db)

    async def one(i):
        async with sessionmaker() as db:
            return (await service.add_message(db, conversation_id=conv.id, sender="visitor", text=f"m{i}")).message.seq

    seqs = await asyncio.gather(*(one(i) for i in range(30)))
    assert sorted(seqs) == list(range(1, 31))
    async with sessionmaker() as db:
        after = await service.messages_after(db, conv.id, 25)
        assert [m.seq for m in after] == [26, 27, 28, 29, 30]


async def test_same_client_id_is_stored_once_even_when_racing(sessionmaker):
    async with sessionmaker() as db:
        conv, _ = await service.create_conversation(db)

    async def send():
        async with sessionmaker() as db:
            return await service.add_message(db, conversation_id=conv.id, sender="visitor", text="hi", client_id="c-1")

    results = await asyncio.gather(*(send() for _ in range(5)))
    assert len({r.message.id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    async with sessionmaker() as db:
        assert len(await service.messages_after(db, conv.id, 0)) == 1


async def test_state_changes_are_recorded_with_actor_and_reason(sessionmaker):
    async with sessionmaker() as db:
        conv, _ = await service.create_conversation(db)
        assert await service.set_state(db, conv.id, to_state="queued", actor="visitor", reason="visitor_request") == "bot"
        assert await service.set_state(db, conv.id, to_state="queued", actor="visitor", reason="again") is None
    async with sessionmaker() as db:
        rows = list(await db.scalars(select(Transition).where(Transition.conversation_id == conv.id)))
    assert [(t.from_state, t.to_state, t.actor, t.reason) for t in rows] == [("bot", "queued", "visitor", "visitor_request")]
    assert rows[0].at is not None


async def test_an_agent_message_is_stored_only_while_the_chat_is_theirs(sessionmaker):
    """The owner is checked under the conversation's row lock, so a transfer or close that commits
    between the console's check and the insert wins: nothing is stored for the former owner."""
    import pytest

    from accounts.models import User

    async with sessionmaker() as db:
        a, b = (User(email=f"{n}@own.test", display_name=n, role="agent", password_hash="x") for n in "ab")
        db.add_all([a, b])
        conv, _ = await service.create_conversation(db)
        await db.flush()
        conv.state, conv.agent_id = "assigned", a.id
        await db.commit()
    async with sessionmaker() as db:
        stored = await service.add_message(db, conversation_id=conv.id, sender="agent", text="hi", owner_id=a.id)
        assert stored.message.seq == 1
    async with sessionmaker() as db:  # transferred to b meanwhile
        await db.execute(service.update(Conversation).where(Conversation.id == conv.id).values(agent_id=b.id))
        await db.commit()
    async with sessionmaker() as db:
        with pytest.raises(service.NotOwner):
            await service.add_message(db, conversation_id=conv.id, sender="agent", text="late", owner_id=a.id)
    async with sessionmaker() as db:
        assert [m.text for m in await service.messages_after(db, conv.id, 0)] == ["hi"]
        assert (await db.get(Conversation, conv.id)).last_seq == 1, "the sequence number was not used up"

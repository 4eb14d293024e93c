"""The bot turn's lease in the database (chat/service.py, docs/architecture.md "The bot's turn"), on
SQLite and PostgreSQL: one holder per conversation however many stores and claims race, questions
counted, released only when none waits, and never an answer committed by a claim that lost the turn."""
import asyncio

import pytest
from sqlalchemy import update

from chat import service
from chat.models import Conversation, Message

LEASE = 15.0


async def _conv(sessionmaker) -> str:
    async with sessionmaker() as db:
        conv, _ = await service.create_conversation(db)
    return conv.id


async def _ask(sessionmaker, cid: str, text: str, token: str, client_id: str | None = None) -> service.Stored:
    async with sessionmaker() as db:
        return await service.add_message(db, conversation_id=cid, sender="visitor", text=text,
                                         client_id=client_id, claim=(token, LEASE))


async def _row(sessionmaker, cid: str) -> Conversation:
    async with sessionmaker() as db:
        return await db.get(Conversation, cid)


async def _answer(sessionmaker, cid: str, msg: Message, token: str) -> service.TurnEnd:
    async with sessionmaker() as db:
        await service.add_message(db, conversation_id=cid, sender="bot", text=f"re: {msg.text}", commit=False)
        return await service.end_bot_turn(db, cid, msg.id, failed=False, turn=token, lease_s=LEASE)


async def test_of_many_racing_stores_exactly_one_claims_the_turn_and_every_question_is_counted(sessionmaker):
    cid = await _conv(sessionmaker)
    stored = await asyncio.gather(*(_ask(sessionmaker, cid, f"q{i}", f"t{i}") for i in range(12)))
    holders = [s.turn for s in stored if s.turn]
    assert len(holders) == 1
    row = await _row(sessionmaker, cid)
    assert row.bot_turn_owner == holders[0] and row.bot_pending == 12
    assert all(not s.message.answered for s in stored)


async def test_the_turn_is_released_only_when_no_question_waits(sessionmaker):
    cid = await _conv(sessionmaker)
    first = await _ask(sessionmaker, cid, "q1", "A")
    assert first.turn == "A" and first.pending == 1
    second = await _ask(sessionmaker, cid, "q2", "B")  # stored while A holds the turn: A answers it
    assert second.turn is None and second.pending == 2
    assert (await _answer(sessionmaker, cid, first.message, "A")).held is True
    async with sessionmaker() as db:
        assert not await service.release_turn(db, cid, "A")  # q2 waits
        msg, state, _ = await service.next_question(db, cid)
    assert (msg.text, state) == ("q2", "bot")
    assert (await _answer(sessionmaker, cid, msg, "A")).held is False
    row = await _row(sessionmaker, cid)
    assert (row.bot_turn_owner, row.bot_turn_until, row.bot_pending) == (None, None, 0)
    third = await _ask(sessionmaker, cid, "q3", "C")
    assert third.turn == "C"


async def test_a_claim_that_lost_the_turn_commits_nothing(sessionmaker):
    cid = await _conv(sessionmaker)
    asked = await _ask(sessionmaker, cid, "q1", "A")
    async with sessionmaker() as db:  # A's lease ran out (a stall) and B took over
        await db.execute(update(Conversation).where(Conversation.id == cid)
                         .values(bot_turn_owner="B"))
        await db.commit()
    with pytest.raises(service.TurnLost):
        await _answer(sessionmaker, cid, asked.message, "A")
    async with sessionmaker() as db:
        assert [m.sender for m in await service.messages_after(db, cid, 0)] == ["visitor"]  # A's answer rolled back
    assert (await _answer(sessionmaker, cid, asked.message, "B")).held is False
    with pytest.raises(service.TurnLost):  # answered: a second answer is refused whoever holds the turn
        await _answer(sessionmaker, cid, asked.message, "B")


async def test_a_free_or_expired_lease_is_claimed_by_exactly_one_of_many(sessionmaker):
    cid = await _conv(sessionmaker)
    async with sessionmaker() as db:
        await service.add_message(db, conversation_id=cid, sender="visitor", text="q1",
                                  claim=("dead", -1.0))  # a lease that has already run out

    async def claim(i):
        async with sessionmaker() as db:
            return await service.claim_turn(db, cid, f"t{i}", LEASE)

    won = await asyncio.gather(*(claim(i) for i in range(8)))
    assert sum(won) == 1
    async with sessionmaker() as db:
        [(waiting, owner, free)] = await service.waiting_conversations(db)
    assert (waiting, owner, free) == (cid, f"t{won.index(True)}", False)


async def test_messages_the_bot_owes_nothing(sessionmaker):
    """A message to a person, or stored without a claim (an offline-form ticket), waits for no bot."""
    cid = await _conv(sessionmaker)
    async with sessionmaker() as db:
        ticket = await service.add_message(db, conversation_id=cid, sender="visitor", text="ticket line")
        await service.set_state(db, cid, to_state="assigned", actor="agent:1", reason="test")
    to_person = await _ask(sessionmaker, cid, "hello?", "A")
    assert ticket.message.answered and to_person.message.answered and to_person.turn is None
    assert (await _row(sessionmaker, cid)).bot_pending == 0
    async with sessionmaker() as db:
        assert await service.waiting_conversations(db) == []

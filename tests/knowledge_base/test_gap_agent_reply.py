"""A knowledge-gap group offers the agent's real answer as a new article's body, not the first
thing the agent said ("I'm back", "One moment"), nor a file's name."""
from sqlalchemy import select

from chat import service
from knowledge_base import gaps
from knowledge_base.models import KbQuestion


async def test_the_agents_answer_not_their_small_talk(sessionmaker):
    async with sessionmaker() as db:
        conv, _ = await service.create_conversation(db)
        await service.add_message(db, conversation_id=conv.id, sender="visitor", text="can I pay with a store card")
        gaps.record(db, conv.id, 1, "can I pay with a store card", article_id=None, score=0.2, fallback=True, from_button=False)
        await db.commit()
        q = await db.scalar(select(KbQuestion))
        q.handoff_after = True
        await db.commit()
        for text, extra in (("I'm back", None), ("One moment please.", None),
                            ("Yes: store card holders can split any order into 3 payments at checkout.", None),
                            ("Anything else?", None),
                            ("a-very-long-file-name-of-the-terms-and-conditions-document.pdf " * 2,
                             {"attachment": {"id": "0" * 32}})):
            await service.add_message(db, conversation_id=conv.id, sender="agent", text=text, extra=extra)
        assert await gaps._agent_reply(db, [q]) == \
            "Yes: store card holders can split any order into 3 payments at checkout."


async def test_only_small_talk_offers_nothing(sessionmaker):
    async with sessionmaker() as db:
        conv, _ = await service.create_conversation(db)
        await service.add_message(db, conversation_id=conv.id, sender="visitor", text="loyalty points?")
        gaps.record(db, conv.id, 1, "loyalty points?", article_id=None, score=0.1, fallback=True, from_button=False)
        await db.commit()
        q = await db.scalar(select(KbQuestion))
        q.handoff_after = True
        await db.commit()
        await service.add_message(db, conversation_id=conv.id, sender="agent", text="I'm back")
        assert await gaps._agent_reply(db, [q]) is None

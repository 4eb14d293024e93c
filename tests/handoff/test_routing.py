"""The routing rules of docs/routing.md, run against every strategy with a clock moved by hand,
on SQLite and PostgreSQL."""
from __future__ import annotations

from collections import Counter

import pytest

from handoff import routing
from handoff.models import STRATEGIES
from tests.conftest import _db_kinds
from tests.handoff.routing_world import World, wipe
from tests.support import TestDatabase

SINGLE = [s for s in STRATEGIES if s != "ring_to_all"]


@pytest.fixture(scope="module", params=_db_kinds())
def routing_db(request, tmp_path_factory) -> str:
    db = TestDatabase(request.param, tmp_path_factory.mktemp("routing")).create()
    yield db.url
    db.drop()


@pytest.fixture
async def world(routing_db) -> World:
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(routing_db)
    sm = make_sessionmaker(engine)
    await wipe(sm)
    yield World(sm)
    await engine.dispose()


async def three_agents(w: World) -> dict[str, int]:
    """A: priority 30, idle; B: priority 10, one chat; C: priority 50, two chats (max 3 each)."""
    ids = {"A": await w.agent("A", priority=30), "B": await w.agent("B", priority=10),
           "C": await w.agent("C", priority=50)}
    await w.give(ids["B"], 1)
    await w.give(ids["C"], 2)
    return ids


# Who is offered a new chat first, by strategy (random: any one of them).
FIRST = {"average_utilization": {"A"}, "max_utilization": {"C"}, "priorities": {"B"},
         "ring_to_all": {"A", "B", "C"}}
# Who is offered it next when the first refused (single-offer strategies).
SECOND = {"average_utilization": {"B"}, "max_utilization": {"B"}, "priorities": {"A"}}


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_first_offer_follows_the_strategy(world, strategy):
    await world.settings(strategy=strategy)
    ids = await three_agents(world)
    cid, effects = await world.queued_chat()
    offered = await world.offered_to(cid)
    names = {n for n, i in ids.items() if i in offered}
    assert {o.agent_id for o in effects.offers} == offered
    if strategy == "random":
        assert len(names) == 1
    else:
        assert names == FIRST[strategy]
    assert await world.state(cid) == "queued"


@pytest.mark.parametrize("strategy", SINGLE)
@pytest.mark.parametrize("refusal", ["missed", "declined"])
async def test_refused_offer_goes_to_the_next_agent_never_back(world, strategy, refusal):
    await world.settings(strategy=strategy)
    ids = await three_agents(world)
    cid, _ = await world.queued_chat()
    seen = []
    for _ in range(3):
        [offer] = await world.pending(cid)
        seen.append(offer.agent_id)
        if refusal == "missed":
            await world.advance(30)
        else:
            await world.decline(offer.id, offer.agent_id)
    assert sorted(seen) == sorted(ids.values()), "each agent is offered the chat once per round"
    if strategy != "random":
        by_id = {i: n for n, i in ids.items()}
        assert {by_id[seen[1]]} == SECOND[strategy]
    if refusal == "missed":
        assert [await world.missed(ids[n]) for n in "ABC"] == [1, 1, 1]
    else:
        assert [await world.missed(ids[n]) for n in "ABC"] == [0, 0, 0]
    # Everyone refused: after a decline the chat waits a routing time, then a new round starts.
    if refusal == "declined":
        assert await world.pending(cid) == []
        await world.advance(30)
    assert len(await world.pending(cid)) == 1
    assert await world.state(cid) == "queued"


async def test_ring_to_all_first_accept_wins_and_the_rest_are_withdrawn(world):
    await world.settings(strategy="ring_to_all")
    ids = await three_agents(world)
    cid, _ = await world.queued_chat()
    assert await world.offered_to(cid) == set(ids.values())
    offer_b = await world.offer_for(cid, ids["B"])
    offer_a = await world.offer_for(cid, ids["A"])
    effects = await world.accept(offer_b.id, ids["B"])
    assert {o.agent_id for o, why in effects.withdrawn} == {ids["A"], ids["C"]}
    assert await world.owner(cid) == ids["B"] and await world.state(cid) == "assigned"
    with pytest.raises(routing.RoutingError) as err:
        await world.accept(offer_a.id, ids["A"])
    assert err.value.code == "offer_gone"


async def test_ring_to_all_repeats_with_new_agents_then_with_all(world):
    await world.settings(strategy="ring_to_all")
    a, b = await world.agent("A"), await world.agent("B")
    cid, _ = await world.queued_chat()
    assert await world.offered_to(cid) == {a, b}
    await world.advance(20)
    c = await world.agent("C")  # comes online while A and B are ringing
    assert await world.offered_to(cid) == {a, b}
    await world.advance(10)  # A and B missed it: ring the agent not yet tried
    assert (await world.missed(a), await world.missed(b)) == (1, 1)
    assert await world.offered_to(cid) == {c}
    await world.advance(30)  # C missed too: everyone again
    assert await world.offered_to(cid) == {a, b, c}


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_accept_assigns_and_load_limit_is_never_exceeded(world, strategy):
    await world.settings(strategy=strategy)
    a, b = await world.agent("A", max_chats=1), await world.agent("B", max_chats=2)
    chats = [(await world.queued_chat())[0] for _ in range(5)]
    for _ in range(6):
        for offer in await world.pending():
            try:
                await world.accept(offer.id, offer.agent_id)
            except routing.RoutingError as exc:
                assert exc.code in ("offer_gone", "at_max_load")
            assert await world.running(a) <= 1 and await world.running(b) <= 2
        await world.advance(1)
    assert (await world.running(a), await world.running(b)) == (1, 2)
    states = Counter([await world.state(c) for c in chats])
    assert states == {"assigned": 3, "queued": 2}
    assert await world.pending() == [], "no offer while every slot is taken"


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_queue_drains_oldest_first_when_a_slot_frees(world, strategy):
    await world.settings(strategy=strategy)
    a = await world.agent("A", max_chats=1)
    [busy] = await world.give(a, 1)
    waiting = []
    for _ in range(3):
        waiting.append((await world.queued_chat())[0])
        await world.advance(1)
    assert await world.queue_order() == waiting
    assert await world.pending() == []
    await world.close(busy)
    assert await world.offered_to(waiting[0]) == {a}
    await world.accept((await world.offer_for(waiting[0], a)).id, a)
    await world.close(waiting[0])
    assert await world.offered_to(waiting[1]) == {a}


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_sticky_routing_prefers_the_agent_who_served_this_visitor(world, strategy):
    await world.settings(strategy=strategy)
    ids = await three_agents(world)
    # Pick as "previous agent" one the strategy would not choose first.
    previous = ids["A"] if strategy in ("max_utilization", "priorities") else ids["C"]
    earlier = await world.chat(visitor_id="visitor-123")
    await world.take_over(earlier, previous)
    await world.close(earlier)
    cid, _ = await world.queued_chat(visitor_id="visitor-123")
    assert await world.offered_to(cid) == {previous}
    assert (await world.pending(cid))[0].kind == "sticky"
    # The same visitor known by e-mail from another browser.
    other, _ = await world.queued_chat(email="v@example.com")
    assert await world.offered_to(other) != set()


async def test_a_typed_email_does_not_make_routing_sticky(world):
    """An e-mail a visitor types is unverified: someone typing another's address must not be routed
    to the agent who served that person (issue 14)."""
    a, b = await world.agent("A"), await world.agent("B")
    earlier = await world.chat(email="v@example.com")
    await world.give(a, 1)  # A is busier, so average utilization alone picks B
    await world.take_over(earlier, a)
    await world.close(earlier)
    cid, _ = await world.queued_chat(email="v@example.com")
    assert await world.offered_to(cid) == {b}
    assert (await world.pending(cid))[0].kind == "route"


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_breathing_time_pauses_an_agent_after_an_assignment(world, strategy):
    await world.settings(strategy=strategy, breathing_s=60)
    a = await world.agent("A")
    first, _ = await world.queued_chat()
    await world.accept((await world.offer_for(first, a)).id, a)
    second, _ = await world.queued_chat()
    assert await world.pending(second) == []
    await world.advance(55)
    assert await world.pending(second) == []
    await world.advance(5)
    assert await world.offered_to(second) == {a}


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_inactive_chat_releases_its_slot(world, strategy):
    await world.settings(strategy=strategy, inactivity_s=600, max_queue_wait_s=3600)
    a = await world.agent("A", max_chats=1)
    [quiet] = await world.give(a, 1)
    cid, _ = await world.queued_chat()
    await world.advance(590)
    assert await world.pending(cid) == []
    await world.advance(10)
    assert await world.offered_to(cid) == {a}
    assert await world.state(quiet) == "assigned", "an inactive chat stays open"
    # A message makes it count again.
    async with world.sm() as db:
        assert await routing.note_activity(db, quiet, sender="visitor", now=world.now) is True
    assert await world.running(a) == 1


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_presence_loss_withdraws_offers_then_requeues_chats_at_the_head(world, strategy):
    # Offers ring longer than the presence timeout here, so the withdrawal is presence's doing.
    await world.settings(strategy=strategy, max_queue_wait_s=3600, routing_time_s=60)
    await world.agent("Online but not accepting", accepting=False)  # so the queue stays open
    a = await world.agent("A", max_chats=1)
    [owned] = await world.give(a, 1)
    older, _ = await world.queued_chat()  # waits: A is full
    await world.advance(1)
    b = await world.agent("B", max_chats=1)
    offer = await world.offer_for(older, b)
    world.vanish(b)
    world.vanish(a)
    effects = await world.advance(35)
    assert (offer.id, "withdrawn") in [(o.id, why) for o, why in effects.withdrawn]
    assert await world.missed(b) == 0
    assert await world.state(owned) == "assigned", "within the grace period the chat waits for A"
    await world.advance(60)
    assert await world.state(owned) == "queued"
    assert await world.queue_order() == [owned, older], "requeued at the head"
    c = await world.agent("C", max_chats=1)
    assert await world.offered_to(owned) == {c}


async def test_agent_back_within_grace_keeps_the_chat(world):
    a = await world.agent("A")
    [owned] = await world.give(a, 1)
    world.vanish(a)
    await world.advance(60)
    await world.heartbeat(a)
    await world.advance(120)
    assert await world.owner(owned) == a


async def test_no_agent_online_offers_the_offline_form(world):
    await world.agent("A", status="away")
    cid, effects = await world.queued_chat()
    assert await world.state(cid) == "offline_form"
    assert ("offline_form" in [s for _, s, _ in effects.states])


async def test_max_queue_wait_offers_the_offline_form(world):
    await world.settings(max_queue_wait_s=300)
    a = await world.agent("A", max_chats=1)
    await world.give(a, 1)
    cid, _ = await world.queued_chat()
    await world.advance(295)
    assert await world.state(cid) == "queued"
    await world.advance(5)
    assert await world.state(cid) == "offline_form"
    assert await world.queue_entry(cid) is None


async def test_everyone_going_offline_sends_waiting_chats_to_the_offline_form(world):
    a = await world.agent("A", max_chats=1)
    await world.give(a, 1)
    cid, _ = await world.queued_chat()
    world.vanish(a)
    await world.advance(35)
    assert await world.state(cid) == "offline_form"


async def test_random_assignment_spreads_chats_evenly(world):
    await world.settings(strategy="random")
    agents = [await world.agent(n, max_chats=20) for n in "ABC"]
    got = Counter()
    for _ in range(60):
        cid, _ = await world.queued_chat()
        [offer] = await world.pending(cid)
        got[offer.agent_id] += 1
        await world.accept(offer.id, offer.agent_id)
        await world.close(cid)
    assert set(got) == set(agents)
    assert all(8 <= n <= 32 for n in got.values()), got


async def test_away_and_not_accepting_agents_get_nothing(world):
    await world.agent("Away", status="away")
    await world.agent("Closed", accepting=False)
    ok = await world.agent("Ok")
    cid, _ = await world.queued_chat()
    assert await world.offered_to(cid) == {ok}


async def test_transfer_to_an_agent_rings_them_and_moves_the_chat_on_accept(world):
    a, b = await world.agent("A"), await world.agent("B")
    [cid] = await world.give(a, 1)
    async with world.sm() as db:
        await routing.transfer(db, cid, a, to_agent_id=b, now=world.now)
    offer = await world.offer_for(cid, b)
    assert offer.kind == "transfer" and await world.owner(cid) == a
    effects = await world.accept(offer.id, b)
    assert await world.owner(cid) == b and await world.running(a) == 0
    assert (cid, b, a) in effects.assigned


async def test_transfer_not_taken_stays_with_the_first_agent(world):
    a, b = await world.agent("A"), await world.agent("B")
    [cid] = await world.give(a, 1)
    async with world.sm() as db:
        await routing.transfer(db, cid, a, to_agent_id=b, now=world.now)
    await world.advance(30)
    assert await world.owner(cid) == a and await world.state(cid) == "assigned"
    assert await world.queue_entry(cid) is None


async def test_transfer_to_queue_and_return_to_bot(world):
    a, b = await world.agent("A", max_chats=1), await world.agent("B", max_chats=1)
    [cid] = await world.give(a, 1)
    async with world.sm() as db:
        await routing.transfer(db, cid, a, to_agent_id=None, now=world.now)
    assert await world.offered_to(cid) == {b}, "A is not skipped by rule, but B has the free slot"
    await world.accept((await world.offer_for(cid, b)).id, b)
    with pytest.raises(routing.RoutingError) as err:
        async with world.sm() as db:
            await routing.return_to_bot(db, cid, a, now=world.now)
    assert err.value.code == "not_owner"
    async with world.sm() as db:
        await routing.return_to_bot(db, cid, b, now=world.now)
    assert await world.state(cid) == "bot" and await world.running(b) == 0


async def test_timers_survive_a_restart(world, routing_db):
    """Timers are timestamps in the database: a new process (a new engine) fires them."""
    from app.db import make_engine, make_sessionmaker

    a, b = await world.agent("A"), await world.agent("B")
    cid, _ = await world.queued_chat()
    [first] = await world.pending(cid)
    engine = make_engine(routing_db)
    try:
        restarted = World(make_sessionmaker(engine), now=world.now)
        restarted.live = dict(world.live)
        await restarted.advance(30)
        assert await restarted.missed(first.agent_id) == 1
        assert await restarted.offered_to(cid) == ({a, b} - {first.agent_id})
    finally:
        await engine.dispose()


async def test_every_decision_is_recorded(world):
    from sqlalchemy import select

    from chat.models import Transition

    a = await world.agent("A")
    cid, _ = await world.queued_chat()
    await world.accept((await world.offer_for(cid, a)).id, a)
    await world.close(cid)
    async with world.sm() as db:
        rows = list(await db.scalars(select(Transition).where(Transition.conversation_id == cid).order_by(Transition.id)))
    assert [(t.from_state, t.to_state) for t in rows] == [("bot", "queued"), ("queued", "assigned"), ("assigned", "closed")]
    assert rows[1].actor == f"agent:{a}" and all(t.at is not None for t in rows)


async def test_settings_are_validated(world):
    for bad in ({"strategy": "round_robin"}, {"routing_time_s": 1}, {"grace_s": -1}, {"nope": 3},
                {"inactivity_s": "10"}):
        with pytest.raises(routing.RoutingError):
            await world.settings(**bad)
    async with world.sm() as db:
        assert (await routing.get_settings(db))["strategy"] == "average_utilization"

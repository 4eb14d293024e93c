"""Live visitors and invitations through engage.service on a real database (SQLite and PostgreSQL)."""
from datetime import timedelta

import pytest

from app.db import utcnow
from chat.models import Conversation
from engage import service
from engage.models import InvitationRule, LiveVisitor
from engage.rules import check_rule

VID = "visitor-aaaaaaaaaaaa"


def pv(url, *, v=VID, n=1, ref="", title="", lang="en"):
    return service.check_beat({"v": v, "e": "pv", "u": url, "t": title, "r": ref, "n": n, "l": lang})


def ev(kind, key, rule=None, v=VID):
    return service.check_beat({"v": v, "e": kind, "k": key, "i": rule})


async def beat(sm, data, now=None):
    async with sm() as db:
        return await service.beat(db, data, now=now or utcnow())


async def live(sm, now=None):
    async with sm() as db:
        return {v.visitor_id: v for v in await service.live_visitors(db, now=now or utcnow())}


async def add_rule(sm, **kw):
    async with sm() as db:
        rule = InvitationRule(**check_rule({"name": "r", "messages": {"en": "Need help?", "el": "Βοήθεια;"}, **kw}))
        db.add(rule)
        await db.commit()
        return rule.id


@pytest.mark.parametrize("data, code", [
    ([], "bad_json"),
    ({"v": "short", "e": "pv"}, "bad_field"),
    ({"v": VID, "e": "nope"}, "bad_field"),
    ({"v": VID, "e": "pv", "n": 0}, "bad_field"),
    ({"v": VID, "e": "pv", "u": 5}, "bad_field"),
    ({"v": VID, "e": "pv", "t": "a\x00b"}, "bad_field"),
    ({"v": VID, "e": "shown"}, "bad_field"),
    ({"v": VID, "e": "shown", "k": "<script>"}, "bad_field"),
])
def test_bad_beats_are_refused(data, code):
    with pytest.raises(service.BeatError) as err:
        service.check_beat(data)
    assert err.value.code == code


async def test_page_views_make_a_visit(sessionmaker):
    now = utcnow()
    assert (await beat(sessionmaker, pv("https://shop.test/", ref="https://search.test/?q=socks", title="Home"), now)) == {"hb": 20}
    await beat(sessionmaker, pv("https://shop.test/socks", ref="https://shop.test/", title="Socks"), now + timedelta(seconds=30))
    v = (await live(sessionmaker, now + timedelta(seconds=31)))[VID]
    assert (v.pages_seen, v.page_url, v.page_title, v.visit_no) == (2, "https://shop.test/socks", "Socks", 1)
    assert v.referrer == "https://search.test/?q=socks"  # where the visit came from
    assert [p["u"] for p in v.pages] == ["https://shop.test/", "https://shop.test/socks"]
    # the browser's next visit: counted afresh, returning
    await beat(sessionmaker, pv("https://shop.test/hats", n=2), now + timedelta(hours=2))
    v = (await live(sessionmaker, now + timedelta(hours=2)))[VID]
    assert (v.pages_seen, v.visit_no, v.referrer) == (1, 2, None)


async def test_visitors_who_left_disappear(sessionmaker):
    now = utcnow()
    await beat(sessionmaker, pv("https://shop.test/"), now)
    assert VID in await live(sessionmaker, now + timedelta(seconds=59))
    assert VID not in await live(sessionmaker, now + timedelta(seconds=61))  # no heartbeat for a minute
    await beat(sessionmaker, service.check_beat({"v": VID, "e": "hb"}), now + timedelta(seconds=62))
    assert VID in await live(sessionmaker, now + timedelta(seconds=62))
    # goodbye from a page that is no longer the current one: ignored; from the current one: gone
    await beat(sessionmaker, service.check_beat({"v": VID, "e": "bye", "u": "https://shop.test/old"}), now + timedelta(seconds=63))
    assert VID in await live(sessionmaker, now + timedelta(seconds=63))
    await beat(sessionmaker, service.check_beat({"v": VID, "e": "bye", "u": "https://shop.test/"}), now + timedelta(seconds=64))
    assert VID not in await live(sessionmaker, now + timedelta(seconds=64))
    # that page's last heartbeat, overtaken by its goodbye on the way: the goodbye stands
    hb = service.check_beat({"v": VID, "e": "hb", "u": "https://shop.test/"})
    await beat(sessionmaker, hb, now + timedelta(seconds=65))
    assert VID not in await live(sessionmaker, now + timedelta(seconds=65))
    # a heartbeat well after it (another tab of this browser on that page): back
    await beat(sessionmaker, hb, now + timedelta(seconds=70))
    assert VID in await live(sessionmaker, now + timedelta(seconds=70))
    await beat(sessionmaker, service.check_beat({"v": VID, "e": "bye", "u": "https://shop.test/"}), now + timedelta(seconds=71))
    async with sessionmaker() as db:  # forgotten a day later
        assert await service.forget_gone(db, now=now + timedelta(days=1, minutes=5)) == 1


async def test_a_goodbye_names_its_page_view(sessionmaker):
    """The loader's page views carry a key (`p`) and its goodbye names it: a page left a moment after
    it opened is gone at once, and a late goodbye of the page before does not hide the next page,
    even a reload of the same URL."""
    now = utcnow()

    def page(key):
        return service.check_beat({"v": VID, "e": "pv", "u": "https://shop.test/", "p": key})

    def bye(key):
        return service.check_beat({"v": VID, "e": "bye", "u": "https://shop.test/", "p": key})

    await beat(sessionmaker, page("a1b2c3d4e5f60718"), now)
    await beat(sessionmaker, page("ffeeddccbbaa9988"), now + timedelta(seconds=5))  # a reload
    await beat(sessionmaker, bye("a1b2c3d4e5f60718"), now + timedelta(seconds=9))  # the first load's, late
    assert VID in await live(sessionmaker, now + timedelta(seconds=9))
    await beat(sessionmaker, bye("ffeeddccbbaa9988"), now + timedelta(seconds=5.3))  # 0.3 s after it opened
    assert VID not in await live(sessionmaker, now + timedelta(seconds=10))
    for bad in ("short", "x" * 40, 12, "a1b2c3d4-e5f6"):
        with pytest.raises(service.BeatError):
            service.check_beat({"v": VID, "e": "bye", "u": "https://shop.test/", "p": bad})


async def test_a_rule_invites_on_matching_pages_once_per_cap(sessionmaker):
    rid = await add_rule(sessionmaker, url_pattern="/checkout*", min_time_on_page_s=5, when="always", cap_hours=4)
    now = utcnow()
    assert "inv" not in await beat(sessionmaker, pv("https://shop.test/socks"), now)
    out = await beat(sessionmaker, pv("https://shop.test/checkout", lang="el"), now)
    inv = out["inv"]
    assert (inv["i"], inv["a"], inv["m"]) == (rid, 5, "Βοήθεια;")
    # not shown yet (the visitor left before 5 s): offered again on the next matching page
    assert "inv" in await beat(sessionmaker, pv("https://shop.test/checkout/pay"), now)
    await beat(sessionmaker, ev("shown", inv["k"], rid), now + timedelta(seconds=5))
    await beat(sessionmaker, ev("shown", inv["k"], rid), now + timedelta(seconds=5))  # twice: counted once
    assert "inv" not in await beat(sessionmaker, pv("https://shop.test/checkout"), now + timedelta(hours=3))
    assert "inv" in await beat(sessionmaker, pv("https://shop.test/checkout"), now + timedelta(hours=4, seconds=6))
    await beat(sessionmaker, ev("accepted", inv["k"]), now + timedelta(seconds=7))
    await beat(sessionmaker, ev("chat_started", inv["k"]), now + timedelta(seconds=20))
    async with sessionmaker() as db:
        counts = await service.invitation_counts(db, since=now - timedelta(days=1), until=now + timedelta(days=1))
    assert counts["totals"] == {"shown": 1, "accepted": 1, "dismissed": 0, "chat_started": 1}
    assert counts["sources"][0]["rule_id"] == rid


async def test_rules_wait_for_online_agents_and_spare_chatting_visitors(sessionmaker):
    await add_rule(sessionmaker)  # when: online (default); nobody is online
    assert "inv" not in await beat(sessionmaker, pv("https://shop.test/"))
    await add_rule(sessionmaker, when="always")
    assert "inv" in await beat(sessionmaker, pv("https://shop.test/"))
    async with sessionmaker() as db:
        db.add(Conversation(id="c" * 20, token_hash="h" * 64, visitor_id=VID, state="bot"))
        await db.commit()
    assert "inv" not in await beat(sessionmaker, pv("https://shop.test/"))


async def test_an_agents_invitation_pops_once(sessionmaker):
    now = utcnow()
    await beat(sessionmaker, pv("https://shop.test/"), now)
    async with sessionmaker() as db:
        ref = (await db.get(LiveVisitor, VID)).ref
        with pytest.raises(service.BeatError) as err:
            await service.invite(db, ref=ref, message="  ", agent_id=None, agent_name="Alex", now=now)
        assert err.value.code == "empty_message"
        key = (await service.invite(db, ref=ref, message="Hi! Can I help?", agent_id=None, agent_name="Alex", now=now))["key"]
    out = await beat(sessionmaker, service.check_beat({"v": VID, "e": "hb"}), now + timedelta(seconds=1))
    assert out["inv"] == {"k": key, "a": 0, "m": "Hi! Can I help?", "n": "Alex"}
    await beat(sessionmaker, ev("shown", key), now + timedelta(seconds=2))
    assert "inv" not in await beat(sessionmaker, service.check_beat({"v": VID, "e": "hb"}), now + timedelta(seconds=3))
    await beat(sessionmaker, ev("dismissed", key), now + timedelta(seconds=4))
    # another visitor cannot report events of this invitation
    with pytest.raises(service.BeatError):
        await beat(sessionmaker, ev("accepted", key, v="visitor-bbbbbbbbbbbb"), now + timedelta(seconds=4))
    async with sessionmaker() as db:
        counts = await service.invitation_counts(db, since=now - timedelta(days=1), until=now + timedelta(days=1))
        assert counts["totals"]["shown"] == 1 and counts["totals"]["dismissed"] == 1
        assert counts["sources"][0]["source"] == "agents"
        with pytest.raises(service.BeatError) as err:  # gone from the site: nothing to invite
            await service.invite(db, ref=ref, message="Hi", agent_id=None, agent_name="Alex", now=now + timedelta(minutes=5))
        assert err.value.code == "not_on_site"


async def test_prechat_answers_go_onto_the_conversation(sessionmaker):
    from engage import prechat
    from engage.models import PrechatAnswers

    config = prechat.check_config({"mode": "always", "fields": [
        {"kind": "name", "required": True}, {"kind": "email", "required": True}, {"kind": "order"},
        {"kind": "choice", "options": ["Order", "Return"]}]})
    async with sessionmaker() as db:
        assert (await prechat.get_config(db))["mode"] == "off"
        await prechat.put_config(db, config)
        conv = Conversation(id="p" * 20, token_hash="t" * 64, state="bot")
        db.add(conv)
        await db.commit()
        answers = prechat.check_answers(await prechat.get_config(db), {"name": "Ada", "email": "ada@example.com",
                                                                       "order": "PC-1", "choice": "Return"})
        await prechat.save_answers(db, conv, answers)
    async with sessionmaker() as db:
        conv = await db.get(Conversation, "p" * 20)
        assert (conv.visitor_name, conv.visitor_email, conv.order_number) == ("Ada", "ada@example.com", "PC-1")
        assert (await db.get(PrechatAnswers, conv.id)).values["choice"] == "Return"

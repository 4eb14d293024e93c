"""A long conversation is cut into Rasa sessions (bot/actions.py roll_session, docs/bot.md
"Sessions"): the events action_answer_question returns, and what survives them. Against the real
Rasa: tests/integration/test_long_conversation.py."""
from bot import actions
from bot.actions import roll_session, run_action


def turn(text, intent="ask_question"):
    """The events of one answered question, as Rasa sends them."""
    return [{"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.9}}},
            {"event": "action", "name": "action_answer_question"},
            {"event": "bot", "text": "an answer"},
            {"event": "action", "name": "action_listen"}]


def tracker(texts, slots=None, active_loop=None, latest="where is my parcel"):
    events = [{"event": "action", "name": "action_session_start"}, {"event": "session_started"},
              {"event": "action", "name": "action_listen"}]
    for t in texts:
        events += turn(t)
    events += turn(latest)[:2]  # the question being answered now
    return {"sender_id": "c1", "events": events, "slots": {"requested_slot": None, **(slots or {})},
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_message": {"text": latest, "intent": {"name": "ask_question", "confidence": 0.9}, "entities": []}}


def test_a_short_session_is_left_alone():
    assert roll_session(tracker(["q"] * 3), max_events=40) == []


def test_past_the_limit_a_new_session_starts_as_rasa_starts_one():
    trk = tracker(["q"] * 10, slots={"visitor_name": "Maria", "visitor_email": "m@example.com",
                                     "handoff_reason": "button", "handoff_retry": None})
    assert len(trk["events"]) > 40
    events = roll_session(trk, max_events=40)
    # Rasa's own action_session_start: the ActionExecuted splits the in-memory store's sessions,
    # SessionStarted the SQL store's and the policies' history; the turn ends with action_listen.
    assert events[:2] == [{"event": "action", "name": "action_session_start"}, {"event": "session_started"}]
    assert events[-1] == {"event": "followup", "name": "action_listen"}
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    # Each slot once, with its last value; empty slots and the form's requested_slot are not carried.
    assert slots == {"visitor_name": "Maria", "visitor_email": "m@example.com", "handoff_reason": "button"}
    assert [e["event"] for e in events].count("slot") == 3


def test_never_while_the_handoff_form_asks():
    trk = tracker(["q"] * 12, active_loop="handoff_form")
    assert roll_session(trk, max_events=40) == []


def test_zero_turns_it_off():
    assert roll_session(tracker(["q"] * 30), max_events=0) == []


def test_the_order_number_is_carried_in_a_slot():
    trk = tracker(["hi", "my order #10234 has not arrived"] + ["q"] * 10)
    slots = {e["name"]: e["value"] for e in roll_session(trk, max_events=40) if e["event"] == "slot"}
    assert slots == {"order_number": "10234"}
    # One session later the texts are gone but the slot carries it on; a newer number wins.
    trk = tracker(["q"] * 12, slots={"order_number": "10234"})
    assert {e["name"]: e["value"] for e in roll_session(trk, max_events=40) if e["event"] == "slot"} == \
        {"order_number": "10234"}
    trk = tracker(["order number ABC-55512 please"] + ["q"] * 12, slots={"order_number": "10234"})
    assert {e["name"]: e["value"] for e in roll_session(trk, max_events=40) if e["event"] == "slot"} == \
        {"order_number": "ABC-55512"}


async def test_the_handoff_reads_the_carried_order_number():
    trk = tracker(["q"], slots={"order_number": "10234", "handoff_reason": "button"})
    _, replies = await run_action(None, "action_request_human", trk)
    assert replies[0].visitor["order_number"] == "10234"
    # A number typed in this session is newer than the carried one.
    trk = tracker(["it's order #777888"], slots={"order_number": "10234", "handoff_reason": "button"})
    _, replies = await run_action(None, "action_request_human", trk)
    assert replies[0].visitor["order_number"] == "777888"


async def test_the_answer_comes_with_the_new_session(monkeypatch):
    async def answer(*a, **k):
        return actions.Reply("an answer")

    monkeypatch.setattr(actions, "answer_question", answer)
    monkeypatch.setattr(actions, "SESSION_MAX_EVENTS", 40)
    events, replies = await run_action(None, "action_answer_question", tracker(["q"] * 12))
    assert replies[0].text == "an answer"
    assert events[1] == {"event": "session_started"}
    events, _ = await run_action(None, "action_answer_question", tracker(["q"] * 2))
    assert events == []

"""Accounts in the database: password hashing, the login throttle, sessions, agent settings."""
import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from accounts import passwords, service
from accounts.models import User
from accounts.service import AccountError, LoginRefused, authenticate, create_session, create_user, user_for_session

PW = "correct horse battery"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


async def make_user(db, email="ann@shop.example", role="agent", **fields):
    return await create_user(db, email=email, display_name=email.split("@")[0], role=role, password=PW, **fields)


async def refused(db, email, password, client, now) -> str:
    with pytest.raises(LoginRefused) as exc:
        await authenticate(db, email, password, client_key=client, now=now)
    return exc.value.code


def test_hashes_are_argon2id_salted_and_verify():
    first, second = passwords.hash_password(PW), passwords.hash_password(PW)
    assert first.startswith("$argon2id$") and first != second  # a salt of its own each time
    assert passwords.verify_password(first, PW) and not passwords.verify_password(first, PW + "x")
    assert not passwords.verify_password("not a hash", PW)


def test_short_passwords_are_refused_with_a_clear_message():
    with pytest.raises(passwords.PasswordError, match="at least 10 characters"):
        passwords.hash_password("short")


async def test_create_user_normalises_email_and_refuses_duplicates(sessionmaker):
    async with sessionmaker() as db:
        user = await make_user(db, email="  Ann@Shop.Example ")
        assert user.email == "ann@shop.example" and user.password_hash.startswith("$argon2id$")
        with pytest.raises(AccountError) as exc:
            await make_user(db, email="ANN@shop.example")
        assert exc.value.code == "duplicate_email"
        for bad in ("not-an-email", "a@b", "x" * 250 + "@b.io"):
            with pytest.raises(AccountError) as exc:
                await make_user(db, email=bad)
            assert exc.value.field == "email"
        with pytest.raises(AccountError, match="at least 10"):
            await create_user(db, email="bob@shop.example", display_name="Bob", role="agent", password="short")
        assert await db.scalar(select(User.email).where(User.email == "bob@shop.example")) is None


@pytest.mark.parametrize("password, says", [
    ("password12", "one of the most common passwords"),
    ("Iloveyou12", "one of the most common passwords"),  # any case
    ("qwertyuiop", "one of the most common passwords"),
    ("bob.stone@shop.example", "e-mail address"),
    ("my bob.stone@shop.example!", "e-mail address"),
    ("Bob.Stone2024!", "before the @"),  # the name before the @ dressed up with digits and signs
    ("BOBSTONE_1234", "before the @"),
])
async def test_common_passwords_and_the_accounts_own_email_are_refused(sessionmaker, password, says):
    async with sessionmaker() as db:
        with pytest.raises(AccountError) as exc:
            await create_user(db, email="bob.stone@shop.example", display_name="Bob", role="agent", password=password)
        assert exc.value.field == "password" and says in exc.value.message
        assert await db.scalar(select(User.email).where(User.email == "bob.stone@shop.example")) is None
        ann = await make_user(db)  # and on a change: nothing changes
        before = ann.password_hash
        with pytest.raises(AccountError) as exc:
            await service.update_agent(db, ann.id, password=password.replace("bob.stone", "ann").replace(
                "Bob.Stone", "Ann").replace("BOBSTONE", "ANN"))
        assert exc.value.field == "password"
        assert await db.scalar(select(User.password_hash).where(User.id == ann.id)) == before


async def test_a_password_that_merely_shares_letters_with_the_email_is_fine(sessionmaker):
    async with sessionmaker() as db:
        await create_user(db, email="bob.stone@shop.example", display_name="Bob", role="agent",
                          password="stone soup for bob")
        await create_user(db, email="al@shop.example", display_name="Al", role="agent", password="al is my pal 77")


async def test_right_password_logs_in_wrong_one_does_not(sessionmaker):
    async with sessionmaker() as db:
        await make_user(db)
        user = await authenticate(db, "ANN@shop.example", PW, client_key="10.0.0.1", now=T0)
        assert user.email == "ann@shop.example"
        assert await refused(db, "ann@shop.example", PW + "!", "10.0.0.1", T0) == "bad_credentials"
        assert await refused(db, "nobody@shop.example", PW, "10.0.0.1", T0) == "bad_credentials"


async def test_unknown_email_still_costs_a_password_check(sessionmaker, monkeypatch):
    checked = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda h, p: checked.append(h) or real(h, p))
    async with sessionmaker() as db:
        assert await refused(db, "nobody@shop.example", PW, "10.0.0.1", T0) == "bad_credentials"
    assert len(checked) == 1 and checked[0].startswith("$argon2id$")


async def test_five_failures_lock_the_email_even_with_the_right_password(sessionmaker):
    async with sessionmaker() as db:
        await make_user(db)
        await make_user(db, email="bob@shop.example")
        for i in range(5):  # each from another address: only the e-mail's count grows
            assert await refused(db, "ann@shop.example", "wrong password", f"10.0.0.{i}", T0 + timedelta(minutes=i)) \
                == "bad_credentials"
        # The 6th attempt is refused although the password is right.
        assert await refused(db, "ann@shop.example", PW, "10.9.9.9", T0 + timedelta(minutes=5)) == "throttled"
        # Another e-mail from another client is not affected.
        assert (await authenticate(db, "bob@shop.example", PW, client_key="10.1.1.1", now=T0)).email == "bob@shop.example"
        # The lock holds 15 minutes after the 5th failure, although the window began earlier...
        assert await refused(db, "ann@shop.example", PW, "10.9.9.9", T0 + timedelta(minutes=18)) == "throttled"
        # ...and then the right password works again.
        user = await authenticate(db, "ann@shop.example", PW, client_key="10.9.9.9", now=T0 + timedelta(minutes=20))
        assert user.email == "ann@shop.example"


async def test_five_failures_from_one_client_lock_that_client(sessionmaker):
    async with sessionmaker() as db:
        await make_user(db)
        for i in range(5):  # a different e-mail each time: only the client's count grows
            await refused(db, f"guess{i}@shop.example", "wrong password", "10.6.6.6", T0)
        assert await refused(db, "ann@shop.example", PW, "10.6.6.6", T0) == "throttled"
        assert (await authenticate(db, "ann@shop.example", PW, client_key="10.7.7.7", now=T0)).email == "ann@shop.example"


async def test_failures_older_than_the_window_are_forgotten(sessionmaker):
    async with sessionmaker() as db:
        await make_user(db)
        for i in range(4):
            await refused(db, "ann@shop.example", "wrong password", "10.0.0.1", T0)
        for i in range(4):  # 16 minutes later the window has restarted: 4 more are still not 5
            await refused(db, "ann@shop.example", "wrong password", "10.0.0.1", T0 + timedelta(minutes=16))
        assert await authenticate(db, "ann@shop.example", PW, client_key="10.0.0.1", now=T0 + timedelta(minutes=16))


async def test_a_parallel_burst_of_guesses_checks_at_most_five_passwords(sessionmaker, monkeypatch):
    checked = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda h, p: checked.append(p) or real(h, p))
    async with sessionmaker() as db:
        await make_user(db)

    async def guess(i):
        async with sessionmaker() as db:
            try:
                await authenticate(db, "ann@shop.example", f"guess number {i}", client_key=f"10.0.1.{i}", now=T0)
            except LoginRefused as exc:
                return exc.code

    codes = await asyncio.gather(*(guess(i) for i in range(12)))
    assert len(checked) <= 5 and codes.count("throttled") >= 7


async def test_login_upgrades_a_hash_made_with_old_parameters(sessionmaker):
    async with sessionmaker() as db:
        user = await make_user(db)
        old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PW)
        user.password_hash = old
        await db.commit()
        assert passwords.needs_rehash(old)
        user = await authenticate(db, "ann@shop.example", PW, client_key="10.0.0.1", now=T0)
        stored = await db.scalar(select(User.password_hash).where(User.id == user.id))
        assert stored != old and not passwords.needs_rehash(stored) and passwords.verify_password(stored, PW)


async def test_sessions_store_only_a_hash_and_expire_after_12_hours(sessionmaker):
    from accounts.models import AuthSession

    async with sessionmaker() as db:
        user = await make_user(db)
        token = await create_session(db, user.id, now=T0)
        assert len(token) >= 43
        stored = list(await db.scalars(select(AuthSession.token_hash)))
        assert stored == [service.hash_token(token)] and token not in stored
        assert (await user_for_session(db, token, now=T0 + timedelta(hours=11, minutes=59))).id == user.id
        assert await user_for_session(db, token, now=T0 + timedelta(hours=12)) is None
        assert await user_for_session(db, token + "x", now=T0) is None
        assert await user_for_session(db, None, now=T0) is None


async def test_ending_a_session_and_deactivating_a_user_log_them_out(sessionmaker):
    async with sessionmaker() as db:
        user = await make_user(db)
        await make_user(db, email="boss@shop.example", role="admin")
        token, other = await create_session(db, user.id, now=T0), await create_session(db, user.id, now=T0)
        await service.end_session(db, token)
        assert await user_for_session(db, token, now=T0) is None
        assert await user_for_session(db, other, now=T0) is not None
        await service.update_agent(db, user.id, active=False)
        assert await user_for_session(db, other, now=T0) is None
        assert await refused(db, "ann@shop.example", PW, "10.0.0.1", T0) == "bad_credentials"


async def test_changing_the_password_revokes_every_session(sessionmaker):
    async with sessionmaker() as db:
        user = await make_user(db)
        tokens = [await create_session(db, user.id, now=T0) for _ in range(2)]
        await service.change_password(db, user, "a brand new passphrase")
        for token in tokens:
            assert await user_for_session(db, token, now=T0) is None
        assert await refused(db, "ann@shop.example", PW, "10.0.0.1", T0) == "bad_credentials"
        assert await authenticate(db, "ann@shop.example", "a brand new passphrase", client_key="10.0.0.1", now=T0)


@pytest.mark.parametrize("fields, field", [
    ({"max_chats": 0}, "max_chats"), ({"max_chats": 21}, "max_chats"), ({"max_chats": "3"}, "max_chats"),
    ({"max_chats": True}, "max_chats"), ({"priority": 0}, "priority"), ({"priority": 101}, "priority"),
    ({"accepting_chats": "yes"}, "accepting_chats"), ({"role": "root"}, "role"), ({"display_name": "  "}, "display_name"),
    ({"display_name": "x" * 101}, "display_name"), ({"active": 1}, "active"), ({"password": "short"}, "password"),
    ({"status": "online"}, "status"),
])
async def test_bad_agent_settings_are_refused_naming_the_field_and_change_nothing(sessionmaker, fields, field):
    async with sessionmaker() as db:
        user = await make_user(db, max_chats=3, priority=50)
        with pytest.raises(AccountError) as exc:
            # The valid changes in the same request are not applied either.
            await service.update_agent(db, user.id, **{"display_name": "Renamed", "accepting_chats": False, **fields})
        assert exc.value.field == field and field in exc.value.message
        again = await db.get(User, user.id, populate_existing=True)
        assert (again.display_name, again.max_chats, again.priority, again.role, again.accepting_chats) == \
            ("ann", 3, 50, "agent", True)


async def test_good_agent_settings_are_saved(sessionmaker):
    async with sessionmaker() as db:
        user = await make_user(db)
        await service.update_agent(db, user.id, max_chats=20, priority=1, accepting_chats=False,
                                   display_name=" Ann B. ", role="editor")
        again = await db.get(User, user.id, populate_existing=True)
        assert (again.max_chats, again.priority, again.accepting_chats, again.display_name, again.role) == \
            (20, 1, False, "Ann B.", "editor")


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(sessionmaker):
    async with sessionmaker() as db:
        boss = await make_user(db, email="boss@shop.example", role="admin")
        for change in ({"role": "agent"}, {"active": False}):
            with pytest.raises(AccountError) as exc:
                await service.update_agent(db, boss.id, **change)
            assert exc.value.code == "last_admin"
        await make_user(db, email="boss2@shop.example", role="admin")
        assert (await service.update_agent(db, boss.id, role="agent")).role == "agent"

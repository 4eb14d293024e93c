"""Database functions for users, login sessions and the login throttle (no HTTP here).

Time is passed in as `now` where it matters, so tests drive expiry and throttling with a clock."""
from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from accounts import passwords
from accounts.models import ROLES, STAFF_LANGUAGES, AuthSession, LoginFailure, User
from app.db import utcnow

SESSION_LIFETIME = timedelta(hours=12)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
UPDATABLE = ("display_name", "role", "max_chats", "priority", "accepting_chats", "active", "password")
ROUTING_FIELDS = ("max_chats", "priority", "accepting_chats", "active")


class AccountError(Exception):
    """Bad input or a refused change; `field` names the offending field when there is one."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


class LoginRefused(Exception):
    """code: bad_credentials | throttled."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; everything here is UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


# ---- validation --------------------------------------------------------------------------------

def normalise_email(email: object) -> str:
    if not isinstance(email, str):
        raise AccountError("bad_field", "email must be text", "email")
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        raise AccountError("bad_field", "email must be an e-mail address like name@example.com", "email")
    return email


def _check_int(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AccountError("bad_field", f"{field} must be a whole number from {low} to {high}", field)
    return value


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of leaked password sets (zxcvbn's list), lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.casefold() for p in FREQUENCY_LISTS["passwords"])


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalpha())


def check_password_rules(password: str, email: str) -> None:
    """Beyond the length (accounts.passwords): not a common password, which attackers try first,
    and not the account's own e-mail address, nor its part before the @ dressed up with digits and
    signs ("Alex.Martin2024!" for alex.martin@...)."""
    folded, email = password.casefold(), email.casefold()
    if folded in common_passwords():
        raise AccountError("bad_field", "password is one of the most common passwords, which are tried first; "
                                        "choose another (a few unrelated words make a good one)", "password")
    local = _letters(email.split("@", 1)[0])
    if email in folded or (local and _letters(folded) == local):
        raise AccountError("bad_field", "password must not contain the account's e-mail address or its name "
                                        "before the @", "password")


def check_fields(fields: dict) -> dict:
    """Validate a create or an update; raises AccountError naming the first bad field."""
    clean = {}
    for field, value in fields.items():
        if field not in UPDATABLE:
            raise AccountError("bad_field", f"unknown field '{field}'", field)
        if field == "display_name":
            if not isinstance(value, str) or not 1 <= len(value.strip()) <= 100:
                raise AccountError("bad_field", "display_name must be 1 to 100 characters", field)
            value = value.strip()
        elif field == "role":
            if value not in ROLES:
                raise AccountError("bad_field", f"role must be one of {', '.join(ROLES)}", field)
        elif field == "max_chats":
            value = _check_int(field, value, 1, 20)
        elif field == "priority":
            value = _check_int(field, value, 1, 100)
        elif field in ("accepting_chats", "active"):
            if not isinstance(value, bool):
                raise AccountError("bad_field", f"{field} must be true or false", field)
        elif field == "password":
            try:
                passwords.check_password(value)
            except passwords.PasswordError as exc:
                raise AccountError("bad_field", str(exc), field) from None
        clean[field] = value
    return clean


# ---- users -------------------------------------------------------------------------------------

async def create_user(db: AsyncSession, *, email: str, display_name: str, role: str, password: str,
                      **routing_fields) -> User:
    for name in routing_fields:
        if name not in ROUTING_FIELDS:
            raise AccountError("bad_field", f"unknown field '{name}'", name)
    email = normalise_email(email)
    clean = check_fields({"display_name": display_name, "role": role, "password": password, **routing_fields})
    check_password_rules(clean["password"], email)
    if await db.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError("duplicate_email", f"a user with the e-mail {email} already exists", "email")
    password_hash = await asyncio.to_thread(passwords.hash_password, clean.pop("password"))
    user = User(email=email, password_hash=password_hash, **clean)
    db.add(user)
    try:
        await db.commit()
    except IntegrityError:  # the same e-mail created concurrently
        await db.rollback()
        raise AccountError("duplicate_email", f"a user with the e-mail {email} already exists", "email") from None
    return user


async def list_users(db: AsyncSession) -> list[User]:
    return list(await db.scalars(select(User).order_by(User.id)))


async def _is_last_admin(db: AsyncSession, user: User) -> bool:
    others = await db.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user.id))
    return user.role == "admin" and user.active and others == 0


async def update_agent(db: AsyncSession, user_id: int, **fields) -> User:
    """Change any of UPDATABLE; everything is checked before anything changes. A new password or a
    deactivation ends the user's sessions."""
    clean = check_fields(fields)
    user = await db.get(User, user_id, populate_existing=True)
    if user is None:
        raise AccountError("not_found", f"no user with id {user_id}")
    if "password" in clean:
        check_password_rules(clean["password"], user.email)
    demoted = clean.get("role", user.role) != "admin" or clean.get("active", user.active) is False
    if demoted and await _is_last_admin(db, user):
        raise AccountError("last_admin", "this is the last active admin: make another admin first",
                           "role" if "role" in clean else "active")
    if "password" in clean:
        user.password_hash = await asyncio.to_thread(passwords.hash_password, clean.pop("password"))
        user.password_changed_at = utcnow()
        await db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    if clean.get("active") is False:
        await db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    for field, value in clean.items():
        setattr(user, field, value)
    await db.commit()
    return user


async def set_language(db: AsyncSession, user_id: int, language: object) -> str | None:
    """The user's own language for the staff pages: one of STAFF_LANGUAGES, or None to follow the
    browser again. Anything else raises AccountError and changes nothing."""
    if language is not None and language not in STAFF_LANGUAGES:
        raise AccountError("bad_field", f"language must be one of {', '.join(STAFF_LANGUAGES)} (or null: "
                                        "the browser's language)", "language")
    user = await db.get(User, user_id, populate_existing=True)
    if user is None:
        raise AccountError("not_found", f"no user with id {user_id}")
    user.language = language
    await db.commit()
    return language


async def change_password(db: AsyncSession, user: User, new_password: str) -> None:
    """Set a new password and revoke every session of the user (this one included)."""
    await update_agent(db, user.id, password=new_password)


# ---- login and its throttle ----------------------------------------------------------------------

_dummy_hash: str | None = None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = passwords.hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def _insert(db: AsyncSession):
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


async def _count_attempt(db: AsyncSession, key: str, now: datetime) -> tuple[int, datetime | None]:
    """Count an attempt against `key` in one atomic upsert, before the password is checked: a burst
    of parallel guesses cannot all slip past the limit. Returns (attempts in window, locked_until)."""
    t = LoginFailure
    # The window restarts once it is over and no lock holds.
    counting = or_(t.window_start > now - FAILURE_WINDOW, t.locked_until > now)
    stmt = _insert(db)(t).values(key=key, failures=1, window_start=now, locked_until=None)
    stmt = stmt.on_conflict_do_update(index_elements=[t.key], set_={
        "failures": case((counting, t.failures + 1), else_=1),
        "window_start": case((counting, t.window_start), else_=now),
        "locked_until": case((counting, t.locked_until), else_=None),
    }).returning(t.failures, t.locked_until)
    failures, locked_until = (await db.execute(stmt)).one()
    return failures, aware(locked_until)


async def authenticate(db: AsyncSession, email: str, password: str, *, client_key: str, now: datetime) -> User:
    """The active user with this e-mail and password, or LoginRefused. After MAX_FAILURES failures
    in FAILURE_WINDOW for the same e-mail or the same client, every attempt is refused for LOCKOUT,
    even with the right password."""
    email = email.strip().lower()[:254] if isinstance(email, str) else ""
    keys = (f"email:{email}", f"client:{client_key[:200]}")
    counted = [await _count_attempt(db, key, now) for key in keys]
    await db.commit()  # visible to other processes before the slow check
    if any(n > MAX_FAILURES or (until and until > now) for n, until in counted):
        raise LoginRefused("throttled", "Too many failed logins. Wait 15 minutes, then try again.")

    user = await db.scalar(select(User).where(User.email == email))
    # Unknown e-mails are checked against a dummy hash: as slow as a real check, so timing tells nothing.
    ok = await asyncio.to_thread(
        lambda: passwords.verify_password(user.password_hash if user else _dummy(), password))
    if not ok or not user.active:
        for key, (n, _) in zip(keys, counted):
            if n >= MAX_FAILURES:
                await db.execute(update(LoginFailure).where(LoginFailure.key == key)
                                 .values(locked_until=now + LOCKOUT))
        # Forget windows that are over, so the table stays small.
        await db.execute(delete(LoginFailure).where(
            LoginFailure.window_start < now - FAILURE_WINDOW,
            or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now)))
        await db.commit()
        raise LoginRefused("bad_credentials", "Wrong e-mail or password.")

    # Success: the e-mail starts afresh; the client's attempt is uncounted (not reset, or an attacker
    # could clear its count by logging in to an account of its own between guesses).
    await db.execute(delete(LoginFailure).where(LoginFailure.key == keys[0]))
    await db.execute(update(LoginFailure).where(LoginFailure.key == keys[1], LoginFailure.failures > 0)
                     .values(failures=LoginFailure.failures - 1))
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(passwords.hash_password, password)
    await db.commit()
    return user


# ---- sessions ----------------------------------------------------------------------------------

async def create_session(db: AsyncSession, user_id: int, *, now: datetime) -> str:
    """A new login session; the secret is returned once, the database keeps its SHA-256."""
    token = secrets.token_urlsafe(32)
    await db.execute(delete(AuthSession).where(AuthSession.user_id == user_id, AuthSession.expires_at <= now))
    db.add(AuthSession(token_hash=hash_token(token), user_id=user_id, created_at=now,
                       expires_at=now + SESSION_LIFETIME))
    await db.commit()
    return token


async def user_for_session(db: AsyncSession, token: str | None, *, now: datetime) -> User | None:
    if not token or len(token) > 100:
        return None
    return await db.scalar(
        select(User).join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.token_hash == hash_token(token), AuthSession.expires_at > now, User.active.is_(True))
    )


async def end_session(db: AsyncSession, token: str | None) -> None:
    if token:
        await db.execute(delete(AuthSession).where(AuthSession.token_hash == hash_token(token[:100])))
        await db.commit()

"""Password hashing with argon2id. Hashing costs ~40 ms of CPU on purpose: callers on the event loop
run these functions in a thread (asyncio.to_thread); argon2-cffi releases the GIL while it works."""
from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
# Bounds the work one request can ask for; no real passphrase is this long.
MAX_LENGTH = 1024

# OWASP's argon2id setting (19 MiB, 2 passes, 1 lane) rather than argon2-cffi's default 64 MiB x 4
# lanes: a small shop's server must survive a burst of logins without paging. Changing these
# parameters is safe: stored hashes keep their own and are upgraded at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, type=Type.ID)


class PasswordError(ValueError):
    """A new password that is refused; the message says why."""


def check_password(password: object) -> str:
    if not isinstance(password, str):
        raise PasswordError("password must be text")
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"password must be at most {MAX_LENGTH} characters long")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    if not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (upgrade it at login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True

"""`shopchat create-admin` and the demo logins."""
import asyncio
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from accounts.models import User
from accounts.service import authenticate
from app import cli
from app.db import make_engine, make_sessionmaker
from app.settings import ROOT

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def create_admin(db_url: str, password_line: str, email: str = "Boss@Shop.example") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "create-admin", "--email", email, "--name", "The Boss", "--password-stdin"],
        input=password_line, capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "SHOPCHAT_DATABASE_URL": db_url},
    )


async def users(db_url: str) -> list[User]:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return list(await db.scalars(select(User).order_by(User.id)))
    finally:
        await engine.dispose()


async def can_log_in(db_url: str, email: str, password: str) -> User:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return await authenticate(db, email, password, client_key="cli-test", now=NOW)
    finally:
        await engine.dispose()


async def test_create_admin_reads_the_password_from_stdin(db_url):
    done = await asyncio.to_thread(create_admin, db_url, "a long admin passphrase\n")
    assert done.returncode == 0, done.stderr
    assert "boss@shop.example" in done.stdout
    user = await can_log_in(db_url, "boss@shop.example", "a long admin passphrase")
    assert (user.role, user.display_name) == ("admin", "The Boss")

    again = await asyncio.to_thread(create_admin, db_url, "a long admin passphrase\n")
    assert again.returncode == 2 and "already exists" in again.stderr


async def test_create_admin_refuses_a_short_password_and_creates_nothing(db_url):
    done = await asyncio.to_thread(create_admin, db_url, "short\n")
    assert done.returncode == 2 and "at least 10 characters" in done.stderr
    assert await users(db_url) == []


@pytest.fixture
def logins_file(tmp_path, monkeypatch):
    path = tmp_path / "run" / "demo-logins.txt"
    monkeypatch.setattr(cli, "DEMO_LOGINS", path)
    return path


async def test_demo_accounts_share_one_generated_password_kept_owner_only(db_url, sqlite_url, logins_file):
    said = await asyncio.to_thread(cli.load_demo, db_url)
    assert "demo logins created" in said
    assert logins_file.stat().st_mode & 0o777 == 0o600
    password = cli.demo_password()
    assert password and len(password) >= 16 and password in logins_file.read_text()
    by_email = {u.email: u for u in await users(db_url)}
    assert {e: (u.role, u.display_name) for e, u in by_email.items()} == {
        "admin@demo.shop": ("admin", "Admin"), "alex@demo.shop": ("agent", "Alex"),
        "sam@demo.shop": ("agent", "Sam"), "erin@demo.shop": ("editor", "Erin")}
    assert (by_email["alex@demo.shop"].priority, by_email["sam@demo.shop"].priority) == (10, 20)
    assert (await can_log_in(db_url, "alex@demo.shop", password)).display_name == "Alex"

    # Run again: nothing is duplicated. A fresh database gets the same password from the file.
    assert "demo logins left out" in await asyncio.to_thread(cli.load_demo, db_url)
    await asyncio.to_thread(cli.load_demo, sqlite_url)
    assert cli.demo_password() == password
    assert (await can_log_in(sqlite_url, "admin@demo.shop", password)).role == "admin"


async def test_demo_accounts_are_not_added_next_to_real_ones(db_url, logins_file):
    assert (await asyncio.to_thread(create_admin, db_url, "a long admin passphrase\n")).returncode == 0
    said = await asyncio.to_thread(cli.load_demo, db_url)
    assert "demo logins left out" in said
    assert [u.email for u in await users(db_url)] == ["boss@shop.example"]

"""Command line: `shopchat migrate | import-kb FILE [--replace] | load-demo | create-admin | serve | run`."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sys
from pathlib import Path

import yaml

from app.private import private_dir, private_file
from app.settings import ROOT, RUN_DIR, Settings

DEMO_DIR = ROOT / "knowledge_base" / "demo"
DEMO_LOGINS = RUN_DIR / "demo-logins.txt"
# (email, display name, role, routing fields); they share one generated password.
DEMO_USERS = (
    ("admin@demo.shop", "Admin", "admin", {}),
    ("alex@demo.shop", "Alex", "agent", {"priority": 10}),
    ("sam@demo.shop", "Sam", "agent", {"priority": 20}),
    ("erin@demo.shop", "Erin", "editor", {}),
)


def migrate(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = database_url
    if database_url.startswith("sqlite"):
        # Visitors' personal data: owner-only (SQLite gives its -wal/-journal files the same mode).
        path = Path(database_url.split("///", 1)[1].split("?", 1)[0])
        if path.parent == RUN_DIR:
            private_dir(RUN_DIR)
        if str(path) not in ("", ":memory:"):
            private_file(path)
    if database_url.startswith("postgresql"):
        asyncio.run(_upgrade_locked(database_url, lambda: command.upgrade(cfg, "head")))
    else:
        command.upgrade(cfg, "head")


# One PostgreSQL advisory lock key for schema upgrades ("shop" in ASCII).
MIGRATION_LOCK = 0x73686F70


async def _upgrade_locked(database_url: str, upgrade) -> None:
    """Several processes starting together: one upgrades, the others wait for its lock, then find
    the schema at head and do nothing. (SQLite is one host's file: not needed there.)"""
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            await conn.commit()  # a session lock: held until unlocked, not idle in a transaction
            try:
                await asyncio.to_thread(upgrade)  # Alembic runs its own event loop (migrations/env.py)
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                await conn.commit()
    finally:
        await engine.dispose()


async def _with_db(database_url: str, work):
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return await work(db)
    finally:
        await engine.dispose()


def import_kb(database_url: str, path: str, replace: bool) -> dict:
    """Check the whole file first; an invalid file imports nothing (raises ImportError_)."""
    from knowledge_base.importer import load_file
    from knowledge_base.transfer import import_articles

    articles = load_file(path)
    return asyncio.run(_with_db(database_url, lambda db: import_articles(db, articles, replace=replace)))


def demo_password(create: bool = False) -> str | None:
    """The demo accounts' shared password from .run/demo-logins.txt (made once, owner-only)."""
    def read() -> str | None:
        try:
            for line in DEMO_LOGINS.read_text(encoding="utf-8").splitlines():
                if line.startswith("password: ") and line[10:].strip():
                    return line[10:].strip()
        except FileNotFoundError:
            pass
        return None

    existing = read()
    if existing or not create:
        return existing
    password = secrets.token_urlsafe(12)
    logins = "\n".join(f"{role}: {email}" for email, _, role, _ in DEMO_USERS)
    private_dir(DEMO_LOGINS.parent)
    DEMO_LOGINS.unlink(missing_ok=True)  # a file without a password line
    try:
        # Mode 0600 from the start: the password is never readable by others, not even briefly.
        fd = os.open(DEMO_LOGINS, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it just now
        return read()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"# shopchat demo logins: every account below uses this password\n"
                f"password: {password}\n{logins}\n")
    return password


def load_demo(database_url: str) -> str:
    """Load the demo shop's articles (only into an empty knowledge base), canned responses, and the
    demo accounts (only while there is no user at all)."""
    from sqlalchemy import func, select

    from accounts.models import User
    from accounts.service import create_user
    from knowledge_base.importer import load_file
    from knowledge_base.canned import import_canned
    from knowledge_base.service import article_count
    from knowledge_base.transfer import import_articles

    async def work(db):
        # English and Greek (issue 16): the Greek articles translate the English ones (translation_group).
        canned = [c for name in ("canned_responses.yaml", "canned_responses_el.yaml")
                  for c in yaml.safe_load((DEMO_DIR / name).read_text(encoding="utf-8"))]
        await import_canned(db, canned)
        if await article_count(db):
            said = ["knowledge base not empty: demo articles left out"]
        else:
            articles = load_file(DEMO_DIR / "articles.yaml") + load_file(DEMO_DIR / "articles_el.yaml")
            counts = await import_articles(db, articles, replace=False)
            said = [f"demo knowledge base loaded: {len(counts['added'])} articles (English and Greek), "
                    f"{len(canned)} canned responses"]
        if await db.scalar(select(func.count()).select_from(User)):
            said.append("accounts exist: demo logins left out")
        else:
            password = demo_password(create=True)
            for email, name, role, routing in DEMO_USERS:
                await create_user(db, email=email, display_name=name, role=role, password=password, **routing)
            said.append(f"demo logins created ({', '.join(u[0] for u in DEMO_USERS)}; password in {DEMO_LOGINS})")
        return "; ".join(said)

    return asyncio.run(_with_db(database_url, work))


def read_new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password (10 characters or more): ")
    if getpass.getpass("Same password again: ") != password:
        raise ValueError("the two passwords differ")
    return password


def create_admin(database_url: str, email: str, name: str, password: str) -> str:
    from accounts.service import create_user

    async def work(db):
        user = await create_user(db, email=email, display_name=name, role="admin", password=password)
        return f"admin {user.email} created (id {user.id})"

    return asyncio.run(_with_db(database_url, work))


def serve(settings: Settings) -> None:
    problem = settings.shared_secrets_problem()
    if problem:
        raise SystemExit(f"shopchat serve refused: {problem}")
    import uvicorn

    from app.main import create_app

    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the app
    # believes only SHOPCHAT_TRUSTED_PROXIES (app/main.py).
    # SIGTERM: stop accepting, close sockets, wait (bounded) for requests, then for bot turns (app/main.py).
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                proxy_headers=False, timeout_graceful_shutdown=settings.shutdown_grace_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopchat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    p_import = sub.add_parser("import-kb", help="import articles from a JSON or YAML file")
    p_import.add_argument("file")
    p_import.add_argument("--replace", action="store_true", help="the file replaces every article")
    sub.add_parser("load-demo", help="load the demo knowledge base, canned responses and logins")
    p_admin = sub.add_parser("create-admin", help="create an admin account (asks for the password)")
    p_admin.add_argument("--email", required=True)
    p_admin.add_argument("--name", required=True, help="the name shown to colleagues")
    p_admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p_serve = sub.add_parser("serve", help="run the app server only")
    p_run = sub.add_parser("run", help="migrate, load the demo, start Rasa and the app")
    for p in (p_serve, p_run):
        p.add_argument("--host")
        p.add_argument("--port", type=int)
    p_run.add_argument("--model", required=True, help="the trained Rasa model (scripts/train_bot.sh prints it)")
    args = parser.parse_args(argv)

    settings = Settings()
    if getattr(args, "host", None):
        settings.host = args.host
    if getattr(args, "port", None):
        settings.port = args.port

    if args.command == "migrate":
        migrate(settings.database_url)
    elif args.command == "import-kb":
        from knowledge_base.importer import ImportError_

        migrate(settings.database_url)
        try:
            counts = import_kb(settings.database_url, args.file, args.replace)
        except ImportError_ as exc:
            print(f"import refused, nothing imported: {exc}", file=sys.stderr)
            return 2
        print(f"imported {args.file}: {len(counts['added'])} added, {len(counts['changed'])} updated, "
              f"{len(counts['removed'])} moved to the trash, {counts['unchanged']} unchanged")
    elif args.command == "load-demo":
        migrate(settings.database_url)
        print(load_demo(settings.database_url))
    elif args.command == "create-admin":
        from accounts.service import AccountError

        try:
            password = read_new_password(args.password_stdin)
            migrate(settings.database_url)
            print(create_admin(settings.database_url, args.email, args.name, password))
        except EOFError:
            print("create-admin refused, nothing created: no password given", file=sys.stderr)
            return 2
        except (ValueError, AccountError) as exc:
            print(f"create-admin refused, nothing created: {exc}", file=sys.stderr)
            return 2
    elif args.command == "serve":
        serve(settings)
    elif args.command == "run":
        from app.launcher import run

        return run(settings, Path(args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())

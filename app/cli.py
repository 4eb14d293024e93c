"""Command line: `shopchat migrate | import-kb FILE [--replace] | load-demo | serve | run`."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import yaml

from app.settings import ROOT, Settings

DEMO_DIR = ROOT / "knowledge_base" / "demo"


def migrate(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = database_url
    if database_url.startswith("sqlite"):
        Path(database_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(cfg, "head")


async def _with_db(database_url: str, work):
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return await work(db)
    finally:
        await engine.dispose()


def import_kb(database_url: str, path: str, replace: bool) -> dict[str, int]:
    """Check the whole file first; an invalid file imports nothing (raises ImportError_)."""
    from knowledge_base.importer import load_file
    from knowledge_base.service import import_articles

    articles = load_file(path)
    return asyncio.run(_with_db(database_url, lambda db: import_articles(db, articles, replace=replace)))


def load_demo(database_url: str) -> str:
    """Load the demo shop's articles (only into an empty knowledge base) and canned responses."""
    from knowledge_base.importer import load_file
    from knowledge_base.service import article_count, import_articles, import_canned

    async def work(db):
        canned = yaml.safe_load((DEMO_DIR / "canned_responses.yaml").read_text(encoding="utf-8"))
        await import_canned(db, canned)
        if await article_count(db):
            return "knowledge base not empty: demo articles left out"
        counts = await import_articles(db, load_file(DEMO_DIR / "articles.yaml"), replace=False)
        return f"demo knowledge base loaded: {counts['added']} articles, {len(canned)} canned responses"

    return asyncio.run(_with_db(database_url, work))


def serve(settings: Settings) -> None:
    import uvicorn

    from app.main import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopchat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    p_import = sub.add_parser("import-kb", help="import articles from a JSON or YAML file")
    p_import.add_argument("file")
    p_import.add_argument("--replace", action="store_true", help="the file replaces every article")
    sub.add_parser("load-demo", help="load the demo knowledge base and canned responses")
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
        print(f"imported {args.file}: {counts['added']} added, {counts['updated']} updated, {counts['removed']} removed")
    elif args.command == "load-demo":
        migrate(settings.database_url)
        print(load_demo(settings.database_url))
    elif args.command == "serve":
        serve(settings)
    elif args.command == "run":
        from app.launcher import run

        return run(settings, Path(args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())

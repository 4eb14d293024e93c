"""The knowledge-base editor's HTTP API (docs/editor.md): articles with revisions, conflicts and
the trash, import and export, canned responses, "try the bot", knowledge gaps, usefulness and the
audit log. Editors and admins only; state-changing requests carry the CSRF header (accounts.web).
After every change this process's search index is refreshed at once; other processes see the
bumped knowledge-base version on their next check (LiveIndex)."""
from __future__ import annotations

import asyncio
import logging
import pickle
import re
import sys

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from accounts.models import User
from accounts.web import ApiError, ApiRoute, json_object, read_body, require_roles
from app.settings import ROOT
from bot.answers import decision
from bot.brain import answer_question
from bot.rasa_client import RasaUnavailable
from knowledge_base import articles, canned, gaps, transfer, translations
from knowledge_base.importer import ImportError_
from knowledge_base.models import Article, AuditEntry, CannedResponse
from knowledge_base.search import ANSWER_THRESHOLD
from knowledge_base.text import fold

log = logging.getLogger(__name__)

ARTICLE_BODY_LIMIT = 400_000  # an article (body up to 100,000 characters, UTF-8) as JSON
IMPORT_LIMIT = 20_000_000
EXPORT_TYPES = {"json": "application/json", "yaml": "application/yaml", "csv": "text/csv"}
DAYS = Query(30, ge=1, le=365)
GREEK_LETTERS = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")
LANGUAGE = re.compile(r"^[a-z]{2}(-[a-z0-9]{2,8})?$")


# Parsing 20 MB takes seconds, and json's and libyaml's C parsers hold the GIL all along: on a
# thread every chat would still stall (1.6 s for 18 MB of JSON, measured). So the parse runs in a
# process of its own (~0.6 s of CPU to start), which also gives back the hundreds of MB a big
# YAML file can take when it ends.
async def parse_apart(raw: bytes, fmt: str) -> list:
    """parse_bytes in a child process (knowledge_base/parse_child.py); raises its ImportError_."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "knowledge_base.parse_child", fmt, cwd=ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await child.communicate(raw)
    except asyncio.CancelledError:  # the editor went away: so does the parse
        child.kill()
        raise
    if child.returncode != 0:  # killed (out of memory?) or broken: the file is refused, nothing changes
        log.error("the import parser exited with %s: %s", child.returncode, err.decode(errors="replace")[-2000:])
        raise ImportError_("the file could not be read: its parser stopped (out of memory?)")
    result = pickle.loads(out)  # noqa: S301 - our own child's answer
    if isinstance(result, ImportError_):
        raise result
    return result


def _id():
    """A path id; a fresh Path() per parameter (FastAPI keeps the parameter's name on it)."""
    return Path(ge=1, le=2**31 - 1)


def make_router(ctx) -> APIRouter:
    router = APIRouter(prefix="/api/kb", route_class=ApiRoute)
    editor = require_roles("admin", "editor")
    parsing = asyncio.Semaphore(1)

    async def changed() -> None:
        await ctx.kb.refresh(force=True)

    async def article_out(db, a: Article) -> dict:
        out = articles.article_json(a, await articles.user_names(db, [a.updated_by_id]))
        rows = list(await db.scalars(select(Article).where(Article.deleted_at.is_(None))))
        out.update(translations.status(rows + ([a] if a.deleted_at is not None else [])).get(
            a.id, {"translations": [], "missing": []}), translation_group=a.translation_group)
        return {"article": out}

    async def attempt(db, work):
        """Run a change; a refused one becomes its error response (with the other version on a conflict)."""
        try:
            return await work()
        except articles.ArticleError as exc:
            body: dict = {"code": exc.code, "message": exc.message, **({"field": exc.field} if exc.field else {})}
            if exc.current is not None:
                body["current"] = (await article_out(db, exc.current))["article"]
            return JSONResponse({"error": body}, status_code=exc.status)

    # ---- articles ---------------------------------------------------------------------------
    @router.get("/articles")
    async def list_articles(q: str = Query("", max_length=200), category: str = Query("", max_length=100),
                            language: str = Query("", max_length=16), status: str = Query("", max_length=16),
                            tag: str = Query("", max_length=500), trash: bool = False,
                            untranslated: str = Query("", max_length=16), _: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            rows = list(await db.scalars(select(Article).order_by(Article.category, Article.title)))
            names = await articles.user_names(db, [a.updated_by_id for a in rows])
        live = [a for a in rows if (a.deleted_at is not None) == trash]
        facets = {"categories": sorted({a.category for a in live}), "languages": sorted({a.language for a in live}),
                  "tags": sorted({t for a in live for t in a.tags})}
        needle = fold(q).strip()
        linked = translations.status(rows)
        shown = [a for a in live
                 if (not category or a.category == category) and (not language or a.language == language)
                 and (not status or a.status == status) and (not tag or tag in a.tags)
                 and (not untranslated or untranslated in linked.get(a.id, {}).get("missing", ()))
                 and (not needle or needle in fold(" ".join([a.title, a.body, *a.questions, *a.tags])))]
        facets["untranslated"] = {lang: sum(lang in v["missing"] for v in linked.values()) for lang in facets["languages"]}
        return {"articles": [{**articles.article_json(a, names, full=False), **linked.get(a.id, {}),
                              "translation_group": a.translation_group} for a in shown], "facets": facets}

    @router.post("/articles/{article_id}/translations")
    async def link_translation(request: Request, article_id: int = _id(), user: User = Depends(editor)):
        """Body {"article_id": N}: article N (another language) becomes a translation of this one."""
        body = await json_object(request)
        other = body.get("article_id")
        async with ctx.sessionmaker() as db:
            async def work():
                if not isinstance(other, int) or isinstance(other, bool) or not 1 <= other <= 2**31 - 1:
                    raise articles.ArticleError(422, "bad_field", "article_id (the translation's id) is required",
                                                "article_id")
                a = await translations.link(db, article_id, other, user.id)
                await changed()
                return await article_out(db, a)
            return await attempt(db, work)

    @router.delete("/articles/{article_id}/translations")
    async def unlink_translation(article_id: int = _id(), user: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            async def work():
                a = await translations.unlink(db, article_id, user.id)
                await changed()
                return await article_out(db, a)
            return await attempt(db, work)

    @router.get("/articles/{article_id}")
    async def get_article(article_id: int = _id(), _: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            return await attempt(db, lambda: _get(db, article_id))

    async def _get(db, article_id):
        return await article_out(db, await articles.get(db, article_id))

    @router.post("/articles", status_code=201)
    async def create_article(request: Request, user: User = Depends(editor)):
        body = await json_object(request, ARTICLE_BODY_LIMIT)
        async with ctx.sessionmaker() as db:
            async def work():
                a = await articles.create(db, articles.checked(body), user.id)
                await changed()
                return JSONResponse(await article_out(db, a), status_code=201)
            return await attempt(db, work)

    @router.put("/articles/{article_id}")
    async def save_article(request: Request, article_id: int = _id(), user: User = Depends(editor)):
        body = await json_object(request, ARTICLE_BODY_LIMIT)
        async with ctx.sessionmaker() as db:
            async def work():
                a = await articles.save(db, article_id, articles.checked(body), body.get("base_revision"), user.id)
                await changed()
                return await article_out(db, a)
            return await attempt(db, work)

    @router.delete("/articles/{article_id}")
    async def delete_article(article_id: int = _id(), user: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            async def work():
                a = await articles.delete(db, article_id, user.id)
                await changed()
                return await article_out(db, a)
            return await attempt(db, work)

    @router.post("/articles/{article_id}/restore")
    async def restore_article(article_id: int = _id(), user: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            async def work():
                a = await articles.restore(db, article_id, user.id)
                await changed()
                return await article_out(db, a)
            return await attempt(db, work)

    @router.get("/articles/{article_id}/revisions")
    async def list_revisions(article_id: int = _id(), _: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            async def work():
                revs = await articles.revisions(db, article_id)
                names = await articles.user_names(db, [r.editor_id for r in revs])
                return {"revisions": [articles.revision_json(r, names) for r in revs]}
            return await attempt(db, work)

    @router.get("/articles/{article_id}/revisions/{number}")
    async def get_revision(article_id: int = _id(), number: int = _id(), _: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            async def work():
                r = await articles.revision(db, article_id, number)
                names = await articles.user_names(db, [r.editor_id])
                return {"revision": articles.revision_json(r, names, full=True)}
            return await attempt(db, work)

    @router.get("/articles/{article_id}/diff")
    async def diff(article_id: int = _id(), from_: int = Query(..., alias="from", ge=1), to: int = Query(..., ge=1),
                   _: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            async def work():
                a = await articles.revision(db, article_id, from_)
                b = await articles.revision(db, article_id, to)
                return {"from": from_, "to": to, "fields": articles.diff(a, b)}
            return await attempt(db, work)

    @router.post("/articles/{article_id}/revisions/{number}/restore")
    async def revert(request: Request, article_id: int = _id(), number: int = _id(), user: User = Depends(editor)):
        body = await json_object(request)
        async with ctx.sessionmaker() as db:
            async def work():
                a = await articles.revert(db, article_id, number, body.get("base_revision"), user.id,
                                          status=body.get("status"))
                await changed()
                return await article_out(db, a)
            return await attempt(db, work)

    # ---- import and export ----------------------------------------------------------------------
    @router.get("/export")
    async def export(format: str = Query("json", pattern="^(json|yaml|csv)$"), _: User = Depends(editor)):  # noqa: A002
        async with ctx.sessionmaker() as db:
            text = await transfer.export(db, format)
        return Response(text.encode("utf-8"), media_type=f"{EXPORT_TYPES[format]}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="knowledge-base.{format}"'})

    @router.post("/import")
    async def import_file(request: Request, format: str = Query(..., pattern="^(json|yaml|csv)$"),  # noqa: A002
                          mode: str = Query("merge", pattern="^(merge|replace)$"), dry_run: bool = True,
                          user: User = Depends(editor)):
        raw = await read_body(request, IMPORT_LIMIT)
        try:
            async with parsing:  # one import parses at a time
                incoming = await parse_apart(raw, format)
        except ImportError_ as exc:
            raise ApiError(422, "invalid_file", f"nothing was imported: {exc}", exc.field) from None
        async with ctx.sessionmaker() as db:
            plan = await transfer.import_articles(db, incoming, replace=mode == "replace", dry_run=dry_run,
                                                  user_id=user.id)
        if not dry_run:
            await changed()
        return plan

    # ---- canned responses -----------------------------------------------------------------------
    @router.get("/canned")
    async def list_canned(_: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            rows = await db.scalars(select(CannedResponse).order_by(CannedResponse.category, CannedResponse.shortcut))
            return {"canned": [canned.canned_json(c) for c in rows], "variables": list(canned.VARIABLES)}

    @router.post("/canned", status_code=201)
    async def create_canned(request: Request, user: User = Depends(editor)):
        body = await json_object(request)
        async with ctx.sessionmaker() as db:
            async def work():
                row = await canned.create(db, body, user.id)
                return JSONResponse({"canned": canned.canned_json(row)}, status_code=201)
            return await attempt(db, work)

    @router.put("/canned/{canned_id}")
    async def update_canned(request: Request, canned_id: int = _id(), user: User = Depends(editor)):
        body = await json_object(request)
        async with ctx.sessionmaker() as db:
            async def work():
                return {"canned": canned.canned_json(await canned.update(db, canned_id, body, user.id))}
            return await attempt(db, work)

    @router.delete("/canned/{canned_id}")
    async def delete_canned(canned_id: int = _id(), user: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            async def work():
                await canned.delete(db, canned_id, user.id)
                return {"deleted": canned_id}
            return await attempt(db, work)

    # ---- try the bot ----------------------------------------------------------------------------
    @router.post("/try")
    async def try_the_bot(request: Request, _: User = Depends(editor)):
        body = await json_object(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 2000:
            raise ApiError(422, "bad_field", "text must be a question of 1-2000 characters", "text")
        # The visitor's language: given, else Greek when the question has Greek letters (a chat
        # learns it from the page or the visitor; Greeklish needs it given).
        language = body.get("language")
        if language is None:
            language = "el" if GREEK_LETTERS.search(text) else "en"
        if not isinstance(language, str) or not LANGUAGE.match(language):
            raise ApiError(422, "bad_field", "language must be a language code such as en or el", "language")
        intent = None
        try:  # what Rasa makes of it, as in a chat (an off-topic intent raises the bar)
            parsed = await ctx.rasa.parse(text)
            intent = {"name": (parsed.get("intent") or {}).get("name"),
                      "confidence": float((parsed.get("intent") or {}).get("confidence") or 0.0)}
        except RasaUnavailable:
            pass
        reply = await answer_question(ctx.kb, text, intent=intent and intent["name"],
                                      confidence=intent["confidence"] if intent else 0.0, language=language)
        hits = await ctx.kb.search(text, k=5, language=language)
        why = decision(hits[:3], intent and intent["name"], intent["confidence"] if intent else 0.0)
        return {"answered": reply.kb is not None, "fallback": reply.fallback, "threshold": ANSWER_THRESHOLD,
                "language": language,
                "decision": why, "intent": intent, "answer": reply.kb,
                "hits": [{"article_id": h.article_id, "title": h.title, "score": round(h.score, 3)} for h in hits],
                "reply": {"text": reply.text, "quick_replies": [{"title": q.get("title"), "payload": q.get("payload")}
                                                               for q in reply.quick_replies]}}

    # ---- knowledge gaps and usefulness ----------------------------------------------------------
    @router.get("/gaps")
    async def list_gaps(days: int = DAYS, _: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            return {"days": days, "groups": await gaps.groups(db, days)}

    @router.post("/gaps/article", status_code=201)
    async def gap_article(request: Request, user: User = Depends(editor)):
        body = await json_object(request, ARTICLE_BODY_LIMIT)
        async with ctx.sessionmaker() as db:
            async def work():
                a = await gaps.create_article(db, body.get("question_ids"), body.get("article"), user.id)
                await changed()
                return JSONResponse(await article_out(db, a), status_code=201)
            return await attempt(db, work)

    @router.post("/gaps/phrasings")
    async def gap_phrasings(request: Request, user: User = Depends(editor)):
        body = await json_object(request, ARTICLE_BODY_LIMIT)
        async with ctx.sessionmaker() as db:
            async def work():
                a = await gaps.add_phrasings(db, body.get("question_ids"), body.get("article_id"),
                                             body.get("questions"), user.id)
                await changed()
                return await article_out(db, a)
            return await attempt(db, work)

    @router.post("/gaps/dismiss")
    async def gap_dismiss(request: Request, user: User = Depends(editor)):
        body = await json_object(request, ARTICLE_BODY_LIMIT)
        async with ctx.sessionmaker() as db:
            async def work():
                return {"dismissed": await gaps.dismiss(db, body.get("question_ids"), user.id)}
            return await attempt(db, work)

    @router.get("/usefulness")
    async def usefulness(days: int = DAYS, _: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            return {"days": days, "articles": await gaps.usefulness(db, days)}

    # ---- audit log ------------------------------------------------------------------------------
    @router.get("/audit")
    async def audit_log(limit: int = Query(100, ge=1, le=1000), _: User = Depends(editor)):
        async with ctx.sessionmaker() as db:
            rows = list(await db.scalars(select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                         .limit(limit)))
            names = await articles.user_names(db, [r.user_id for r in rows])
        return {"entries": [{"at": articles.iso(r.at), "user": articles.who(r.user_id, names), "action": r.action,
                             "entity": r.entity, "entity_id": r.entity_id, "summary": r.summary} for r in rows]}

    return router


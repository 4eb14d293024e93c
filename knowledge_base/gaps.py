"""The knowledge-gap loop (docs/editor.md): every visitor question the bot answered from the
knowledge base or fell back on is logged with what came of it; the questions it could not serve
well are grouped by meaning for editors, who fix a group in one action; and each article's
usefulness is counted from the same log."""
from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import datetime, timedelta

import numpy as np
from rapidfuzz import fuzz, process
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from chat.models import Conversation, Message
from knowledge_base import articles
from knowledge_base.models import Article, KbQuestion
from knowledge_base.search import ANSWER_THRESHOLD
from knowledge_base.text import fold, is_stopword, term, words
from privacy.masking import mask  # visitors' e-mails, phones, order numbers never reach editors

# An answer scoring under this counts as low confidence: the bot answered, but barely.
LOW_CONFIDENCE = ANSWER_THRESHOLD + 0.1
# Questions are grouped when their meanings (MiniLM cosine) or their stemmed words (rapidfuzz
# token-set ratio, at least SAME_WORDS) are close (measured on paraphrases: 0.5-0.85 for the
# same need, under 0.3 across needs).
SAME_MEANING = 0.5
GROUP_MEAN = 0.4
SAME_WORDS = 80
MAX_QUESTIONS = 3000  # the newest gap questions of the period that are grouped
# What a visitor types to say an answer did not help (the "No" button sends /deny).
_NOT_HELPFUL = re.compile(r"^(no|nope|nah|not really|no it didn'?t|(that|it) (didn'?t|did not|doesn'?t) help\w*|"
                          r"(that'?s |that is )?not (helpful|what i (asked|meant|wanted))|wrong answer)\W*$")
_HELPFUL = re.compile(r"^(yes|yep|yeah|thanks?|thank you|(that|it) helped|perfect|great)\W*$")


def outcome_of(score: float | None, fallback: bool) -> str:
    if fallback:
        return "fallback"
    return "low_confidence" if score is not None and score < LOW_CONFIDENCE else "answered"


def record(db: AsyncSession, conversation_id: str, seq: int, text: str, *, article_id: int | None,
           score: float | None, fallback: bool, from_button: bool) -> None:
    """Added to the session; the caller commits (with the end of the bot's turn)."""
    db.add(KbQuestion(conversation_id=conversation_id, seq=seq, text=text[:2000], from_button=from_button,
                      article_id=article_id, score=score, outcome=outcome_of(score, fallback)))


def feedback_of(text: str, payload: str | None) -> str | None:
    """helpful / not_helpful when the visitor's message answers "Did that answer your question?"."""
    if payload in ("/affirm", "/deny"):
        return "helpful" if payload == "/affirm" else "not_helpful"
    t = fold(text or "").replace("\u2019", "'").strip()
    if _NOT_HELPFUL.match(t):
        return "not_helpful"
    return "helpful" if _HELPFUL.match(t) else None


async def _latest(db: AsyncSession, conversation_id: str) -> KbQuestion | None:
    return await db.scalar(select(KbQuestion).where(KbQuestion.conversation_id == conversation_id)
                           .order_by(KbQuestion.seq.desc(), KbQuestion.id.desc()).limit(1))


async def note_feedback(db: AsyncSession, conversation_id: str, seq: int, verdict: str) -> bool:
    """The verdict goes to the conversation's latest question if the bot answered it with an
    article and the verdict is the very next visitor message (nothing was said in between)."""
    q = await _latest(db, conversation_id)
    if q is None or q.article_id is None or q.outcome == "fallback" or q.feedback is not None:
        return False
    between = await db.scalar(select(func.count()).select_from(Message).where(
        Message.conversation_id == conversation_id, Message.sender == "visitor", Message.seq > q.seq, Message.seq < seq))
    if between:
        return False
    q.feedback = verdict
    await db.commit()
    return True


async def note_handoff(db: AsyncSession, conversation_id: str) -> None:
    """A person was asked for (or took over): the question before it was not served well."""
    q = await _latest(db, conversation_id)
    if q is not None and not q.handoff_after:
        q.handoff_after = True
        await db.commit()


def _is_gap():
    return or_(KbQuestion.outcome.in_(("fallback", "low_confidence")), KbQuestion.feedback == "not_helpful",
               KbQuestion.handoff_after.is_(True))


def why(q: KbQuestion) -> str:
    if q.outcome in ("fallback", "low_confidence"):
        return q.outcome
    return "not_helpful" if q.feedback == "not_helpful" else "handoff"


def _signature(text: str) -> str:
    """The question's content words, stemmed, sorted: what the word-level comparison sees."""
    return " ".join(sorted({term(w) for w in words(fold(text)) if not is_stopword(w)}))


def similarities(texts: list[str], model=None) -> np.ndarray:
    """Pairwise closeness in [0, 1]: MiniLM cosine, or word overlap when that is high (typos,
    reordered words; and the only signal without the model)."""
    sigs = [_signature(t) or fold(t) for t in texts]
    words_close = process.cdist(sigs, sigs, scorer=fuzz.token_set_ratio, score_cutoff=SAME_WORDS, workers=1) / 100.0
    if model is None:
        return words_close
    from knowledge_base.semantic import _QUERY_VECTORS

    vectors = _QUERY_VECTORS.encode(model, texts)
    return np.maximum(vectors @ vectors.T, words_close)


def cluster(texts: list[str], model=None) -> list[int]:
    """A group number per text. Agglomerative: the closest pairs first (Kruskal order); two groups
    join through a pair at least SAME_MEANING close, and only while the joined group's members stay
    GROUP_MEAN close on average (no chains from loyalty points to pickup points)."""
    n = len(texts)
    if n == 0:
        return []
    sims = similarities(texts, model)
    members = {i: [i] for i in range(n)}
    owner = list(range(n))
    pairs = np.argwhere(np.triu(sims >= SAME_MEANING, k=1))
    order = np.argsort(-sims[pairs[:, 0], pairs[:, 1]], kind="stable") if len(pairs) else []
    for k in order:
        a, b = owner[pairs[k][0]], owner[pairs[k][1]]
        if a == b:
            continue
        if sims[np.ix_(members[a], members[b])].mean() < GROUP_MEAN:
            continue
        if len(members[a]) < len(members[b]):
            a, b = b, a
        for i in members[b]:
            owner[i] = a
        members[a] += members.pop(b)
    roots: dict[int, int] = {}
    return [roots.setdefault(owner[i], len(roots)) for i in range(n)]


def _model():
    from knowledge_base.semantic import load_model

    return load_model()


# The agent's messages read after a question, and the fewest words that make an answer.
REPLIES_READ = 20
MIN_REPLY_WORDS = 6


async def groups(db: AsyncSession, days: int, now: datetime | None = None, model="default") -> list[dict]:
    """The open gap groups of the last `days`, the most visitors first (docs/editor.md)."""
    since = (now or utcnow()) - timedelta(days=days)
    open_qs = list(await db.scalars(
        select(KbQuestion).where(KbQuestion.created_at >= since, KbQuestion.from_button.is_(False),
                                 KbQuestion.gap_status.is_(None), _is_gap())
        .order_by(KbQuestion.created_at.desc()).limit(MAX_QUESTIONS)))
    dismissed = list(await db.scalars(select(KbQuestion).where(KbQuestion.gap_status == "dismissed")
                                      .order_by(KbQuestion.created_at.desc()).limit(MAX_QUESTIONS)))
    every = open_qs + dismissed
    if model == "default":
        model = await asyncio.to_thread(_model)
    labels = await asyncio.to_thread(cluster, [q.text for q in every], model)
    blocked = {labels[len(open_qs) + i] for i in range(len(dismissed))}
    by_group: dict[int, list[KbQuestion]] = {}
    for q, label in zip(open_qs, labels):
        if label not in blocked:  # like a dismissed group: stays out
            by_group.setdefault(label, []).append(q)
    conv_ids = {q.conversation_id for q in open_qs}
    visitor_of = {cid: vid or cid for cid, vid in await db.execute(
        select(Conversation.id, Conversation.visitor_id).where(Conversation.id.in_(conv_ids or {"-"})))}
    titles = {a.id: a.title for a in await db.scalars(
        select(Article).where(Article.id.in_({q.article_id for q in open_qs if q.article_id} or {-1})))}
    out = []
    for members in by_group.values():
        texts = Counter(mask(" ".join(q.text.split())) for q in members)
        tried = Counter(q.article_id for q in members if q.article_id in titles).most_common(1)
        out.append({
            "question_ids": [q.id for q in members],
            "visitors": len({visitor_of.get(q.conversation_id, q.conversation_id) for q in members}),
            "questions": [{"id": q.id, "text": mask(q.text), "at": articles.iso(q.created_at),
                           "conversation_id": q.conversation_id, "why": why(q)} for q in members[:50]],
            "samples": [t for t, _ in texts.most_common(5)],
            "reasons": dict(Counter(why(q) for q in members)),
            "article": {"id": tried[0][0], "title": titles[tried[0][0]]} if tried else None,
            "agent_reply": mask(await _agent_reply(db, members)),
            "last_at": articles.iso(max(q.created_at for q in members)),
        })
    out.sort(key=lambda g: g["last_at"] or "", reverse=True)
    out.sort(key=lambda g: (-g["visitors"], -len(g["question_ids"])))
    return out


async def _agent_reply(db: AsyncSession, members: list[KbQuestion]) -> str | None:
    """What a person answered after one of these questions (the newest such chat): the longest of
    the agent's next messages, not the first one, which is often "I'm back" or "One moment"; lines
    shorter than MIN_REPLY_WORDS and files are never an article's body."""
    for q in members:
        if q.handoff_after:
            rows = await db.execute(select(Message.text, Message.extra).where(
                Message.conversation_id == q.conversation_id, Message.sender == "agent", Message.seq > q.seq)
                .order_by(Message.seq).limit(REPLIES_READ))
            replies = [text for text, extra in rows
                       if len(text.split()) >= MIN_REPLY_WORDS and not (extra or {}).get("attachment")]
            if replies:
                return max(replies, key=lambda t: len(t.split()))
    return None


async def _open_questions(db: AsyncSession, ids: object) -> list[KbQuestion]:
    if not isinstance(ids, list) or not ids or len(ids) > MAX_QUESTIONS or \
            not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise articles.ArticleError(422, "bad_field", "question_ids must be a non-empty list of question ids", "question_ids")
    rows = list(await db.scalars(select(KbQuestion).where(KbQuestion.id.in_(set(ids)))))
    if len(rows) != len(set(ids)):
        raise articles.ArticleError(404, "not_found", "some of these questions do not exist")
    if any(q.gap_status for q in rows):
        raise articles.ArticleError(409, "already_resolved", "this group was resolved or dismissed already; reload the list")
    return rows


async def _resolve(db: AsyncSession, rows: list[KbQuestion], status: str, article_id: int | None) -> None:
    await db.execute(update(KbQuestion).where(KbQuestion.id.in_([q.id for q in rows]))
                     .values(gap_status=status, resolved_article_id=article_id)
                     .execution_options(synchronize_session=False))


async def create_article(db: AsyncSession, ids: object, data: object, user_id: int | None) -> Article:
    """A new article for the group (its phrasings as the editor left them); the group is resolved."""
    rows = await _open_questions(db, ids)
    new = articles.checked(data)
    a = await articles.create(db, new, user_id, commit=False)
    await _resolve(db, rows, "resolved", a.id)
    await articles.audit(db, user_id, "gap_article", "gaps", a.id,
                         f"created {a.title!r} from a gap group of {len(rows)} questions")
    await db.commit()
    return a


async def add_phrasings(db: AsyncSession, ids: object, article_id: object, questions: object,
                        user_id: int | None) -> Article:
    """The group's questions (or the ones the editor kept) become phrasings of an existing article."""
    rows = await _open_questions(db, ids)
    if not isinstance(article_id, int) or isinstance(article_id, bool):
        raise articles.ArticleError(422, "bad_field", "article_id must be an article's id", "article_id")
    if questions is None:
        questions = [mask(q.text) for q in rows]
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise articles.ArticleError(422, "bad_field", "questions must be a list of strings", "questions")
    a = await articles.get(db, article_id)
    if a.deleted_at is not None:
        raise articles.ArticleError(409, "in_trash", "that article is in the trash")
    a, added = await articles.add_phrasings(db, article_id, questions, user_id, commit=False)
    await _resolve(db, rows, "resolved", a.id)
    await articles.audit(db, user_id, "gap_phrasings", "gaps", a.id,
                         f"added {len(added)} phrasings to {a.title!r} from a gap group of {len(rows)} questions")
    await db.commit()
    return a


async def dismiss(db: AsyncSession, ids: object, user_id: int | None) -> int:
    rows = await _open_questions(db, ids)
    await _resolve(db, rows, "dismissed", None)
    await articles.audit(db, user_id, "gap_dismissed", "gaps", None,
                         f"dismissed a gap group of {len(rows)} questions, e.g. {mask(rows[0].text)[:200]!r}")
    await db.commit()
    return len(rows)


async def usefulness(db: AsyncSession, days: int, now: datetime | None = None) -> list[dict]:
    """Per article served in the period: served, helpful, not helpful, handoffs; the worst first."""
    since = (now or utcnow()) - timedelta(days=days)
    served = func.count(KbQuestion.id)
    helpful = func.sum(case((KbQuestion.feedback == "helpful", 1), else_=0))
    not_helpful = func.sum(case((KbQuestion.feedback == "not_helpful", 1), else_=0))
    handoffs = func.sum(case((KbQuestion.handoff_after.is_(True), 1), else_=0))
    rows = await db.execute(
        select(KbQuestion.article_id, Article.title, served, helpful, not_helpful, handoffs)
        .join(Article, Article.id == KbQuestion.article_id)
        .where(KbQuestion.created_at >= since, KbQuestion.outcome != "fallback")
        .group_by(KbQuestion.article_id, Article.title))
    out = []
    for article_id, title, n, yes, no, handed in rows:
        yes, no, handed = int(yes or 0), int(no or 0), int(handed or 0)
        out.append({"article_id": article_id, "title": title, "served": n, "helpful": yes, "not_helpful": no,
                    "handoffs": handed, "helpful_rate": round(yes / (yes + no), 3) if yes + no else None})
    out.sort(key=lambda r: (-(r["not_helpful"] + r["handoffs"]) / r["served"], -r["served"]))
    return out

"""Attachments: store a checked file and the message that shows it, find one for a reader, erase a
conversation's files. Database functions and the store; no HTTP here (web.py)."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import unicodedata
import weakref

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from attachments.models import Attachment
from attachments.sniff import Refused, Sniffed, sniff
from attachments.storage import Store
from chat import service as chat_service

# The store of each database engine (create_app registers it), so erase_for_conversation(db, id)
# finds the files of the database it is given; several apps in one process (tests) stay apart.
_stores: "weakref.WeakKeyDictionary[object, Store]" = weakref.WeakKeyDictionary()
UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\\"<>:|?*]+")
MAX_NAME = 120


def register_store(engine, store: Store) -> None:
    _stores[getattr(engine, "sync_engine", engine)] = store


def store_for(db: AsyncSession) -> Store | None:
    bind = db.bind
    return _stores.get(getattr(bind, "sync_engine", bind))


def new_id() -> str:
    return secrets.token_hex(16)


def clean_name(raw: str | None, extension: str) -> str:
    """The name shown and offered for download: no path, no control or quoting characters, and
    always the extension of what the file really is ("report.html" holding a PDF: "report.html.pdf")."""
    name = unicodedata.normalize("NFC", raw or "")
    name = UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" ._") or "file"
    if not name.lower().endswith("." + extension) and not (extension == "jpg" and name.lower().endswith(".jpeg")):
        name = f"{name}.{extension}"
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME - len(extension) - 2] + "…." + extension
    return name


def visitor_sig(token_hash: str, attachment_id: str) -> str:
    """The visitor's capability for one file, bound to their session: HMAC keyed by the SHA-256 of
    their session id (stored, never sent). Put in the file's URL, it lets an <img> (and a plain Rasa
    client, which sends no headers) fetch the file without the session id itself in any URL."""
    return hmac.new(token_hash.encode(), attachment_id.encode(), hashlib.sha256).hexdigest()[:32]


def public_dict(att: Attachment, sig: str | None) -> dict:
    """The attachment as a message carries it (`extra.attachment`). `sig` is the visitor's; agents'
    views drop it (strip_sig)."""
    out = {"id": att.id, "kind": att.kind, "type": att.content_type, "name": att.filename, "size": att.size}
    if att.width:
        out.update(width=att.width, height=att.height, thumb=bool(att.thumb_key))
    if sig:
        out["sig"] = sig
    return out


def strip_sig(message: dict) -> dict:
    """A message as agents get it: without the visitor's capability."""
    att = message.get("attachment")
    if isinstance(att, dict) and "sig" in att:
        message = {**message, "attachment": {k: v for k, v in att.items() if k != "sig"}}
    return message


async def check_file(data: bytes, max_pixels: int) -> Sniffed:
    """sniff() off the event loop (decoding an image takes a while)."""
    return await asyncio.to_thread(sniff, data, max_pixels=max_pixels)


async def store_upload(db: AsyncSession, store: Store, *, conversation_id: str, token_hash: str, data: bytes,
                       filename: str | None, checked: Sniffed, sender: str, agent_id: int | None = None,
                       owner_id: int | None = None, client_id: str | None = None) -> chat_service.Stored:
    """Write the file (and its thumbnail) to the store, then the attachment row and its message in
    one transaction. A message that cannot be stored (chat_service.NotOwner, a database error)
    removes the files again; nothing half-made stays. An image is stored without its metadata."""
    if checked.clean is not None:
        data = checked.clean
    att = Attachment(id=new_id(), conversation_id=conversation_id, sender=sender, agent_id=agent_id,
                     kind=checked.kind, content_type=checked.content_type, filename=clean_name(filename, checked.extension),
                     size=len(data), width=checked.width, height=checked.height)
    att.storage_key = att.id
    await store.put(att.storage_key, data, checked.content_type)
    if checked.thumb is not None:
        att.thumb_key, att.thumb_type = f"{att.id}.thumb", checked.thumb_type
        await store.put(att.thumb_key, checked.thumb, checked.thumb_type)
    try:
        db.add(att)
        stored = await chat_service.add_message(
            db, conversation_id=conversation_id, sender=sender, text=att.filename, agent_id=agent_id,
            owner_id=owner_id, client_id=client_id,
            extra={"attachment": public_dict(att, visitor_sig(token_hash, att.id))})
    except BaseException:
        await db.rollback()
        await _remove_files(store, att)
        raise
    if stored.duplicate:  # a retried upload: the first one stands
        await _remove_files(store, att)
    return stored


async def _remove_files(store: Store, att: Attachment) -> None:
    for key in (att.storage_key, att.thumb_key):
        if key:
            await store.delete(key)


async def erase_for_conversation(db: AsyncSession, conversation_id: str) -> int:
    """Erase every file of a conversation (a visitor's erasure request): the stored bytes first,
    then the rows (flushed, the caller commits with the rest of its erasure). The messages that
    showed them are the caller's to erase. Returns how many attachments went."""
    atts = list(await db.scalars(select(Attachment).where(Attachment.conversation_id == conversation_id)))
    if not atts:
        return 0
    store = store_for(db)
    if store is None:  # outside the app (a command line tool): the store the settings name
        from app.settings import Settings
        from attachments.storage import make_store

        store = make_store(Settings())
        register_store(db.bind, store)
    for att in atts:
        await _remove_files(store, att)
    await db.execute(delete(Attachment).where(Attachment.conversation_id == conversation_id))
    await db.flush()
    return len(atts)


__all__ = ["Refused", "erase_for_conversation", "register_store", "store_upload", "visitor_sig"]

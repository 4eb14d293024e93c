"""Where attachment bytes live: a folder on disk (the default) or an S3-compatible store. Both
have the same three calls; make_store() picks one from the settings and refuses a half-configured
S3 store at startup."""
from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Protocol

from app.private import private_dir
from app.settings import Settings

KEY_RE = re.compile(r"^[a-f0-9]{32}(\.thumb)?$")


class Store(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def get(self, key: str) -> bytes | None: ...  # None: no such object
    async def delete(self, key: str) -> None: ...  # a missing object is no error


def check_key(key: str) -> str:
    """Keys are made by us (service.new_id); anything else never reaches a path or a URL."""
    if not KEY_RE.match(key):
        raise ValueError(f"not an attachment key: {key!r}")
    return key


class DiskStore:
    """Files under one folder (0700, files 0600), two levels by the key's first characters."""

    def __init__(self, folder: str | Path):
        self.root = Path(folder)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)[:2] / key

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    def _write(self, path: Path, data: bytes) -> None:
        private_dir(self.root)
        private_dir(path.parent)
        tmp = path.with_name(path.name + ".part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)  # a reader never sees half a file

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._path(key).unlink)
        except FileNotFoundError:
            pass


def make_store(settings: Settings) -> Store:
    s3 = {"endpoint": settings.attachments_s3_endpoint, "bucket": settings.attachments_s3_bucket,
          "access key": settings.attachments_s3_access_key, "secret key": settings.attachments_s3_secret_key}
    if not any(s3.values()):
        return DiskStore(settings.attachments_dir)
    missing = [name for name, value in s3.items() if not value]
    if missing:
        raise ValueError("SHOPCHAT_ATTACHMENTS_S3_*: an S3 store needs its endpoint, bucket, access key and "
                         f"secret key; missing: {', '.join(missing)}")
    from attachments.s3 import S3Store

    return S3Store(endpoint=settings.attachments_s3_endpoint, bucket=settings.attachments_s3_bucket,
                   region=settings.attachments_s3_region, access_key=settings.attachments_s3_access_key,
                   secret_key=settings.attachments_s3_secret_key)

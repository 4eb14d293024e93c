"""The S3-compatible store against a real S3 server: Ceph's RADOS Gateway from Debian's packages,
on a one-node in-memory Ceph cluster started for this module (scripts/s3_server.sh), with its
authentication on, so every request's Signature V4 and payload hash are checked. The app stores,
serves and erases files there as it does on disk."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

from app.main import create_app
from app.settings import Settings
from attachments.s3 import S3Error, S3Store
from attachments.storage import make_store
from tests.attachments import files
from tests.support import IN_CI, free_port

SERVER = Path(__file__).resolve().parents[2] / "scripts" / "s3_server.sh"
REGION = "us-east-1"
KEY_ID, SECRET = "shopfiles", "s3cr3t-for-the-tests-only"


@pytest.fixture(scope="module")
async def s3():
    """A running S3 server with a bucket and a user allowed to use it: (url, key id, secret)."""
    if not all(shutil.which(c) for c in ("radosgw", "ceph-mon", "ceph-osd")):
        if IN_CI:
            pytest.fail("Ceph's radosgw is missing: scripts/test.sh installs it")
        pytest.skip("Ceph's radosgw is missing: sudo apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common")
    state = tempfile.mkdtemp(prefix="shopchat-s3-")
    os.rmdir(state)  # the script makes it, and refuses one that exists
    rgw, mon = free_port(), free_port()
    while mon + 1 == rgw:
        mon = free_port()
    env = {**os.environ, "D": state, "RGW_PORT": str(rgw), "MON_PORT": str(mon),
           "S3_ACCESS_KEY": KEY_ID, "S3_SECRET_KEY": SECRET}
    try:
        subprocess.run(["bash", str(SERVER), "start"], env=env, check=True, timeout=120, capture_output=True)
        url = f"http://127.0.0.1:{rgw}"
        s = S3Store(endpoint=url, bucket="chat-files", region=REGION, access_key=KEY_ID, secret_key=SECRET)
        empty = hashlib.sha256(b"").hexdigest()  # the store has no call for a bucket: sign one by hand
        r = await s.client.put(f"{url}/chat-files", headers=s.sign("PUT", "/chat-files", empty, {}))
        assert r.status_code == 200, r.text
        await s.aclose()
        yield url, KEY_ID, SECRET
    finally:
        subprocess.run(["bash", str(SERVER), "stop"], env=env, timeout=120, capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


def store(s3, secret: str | None = None) -> S3Store:
    url, key_id, key_secret = s3
    return S3Store(endpoint=url, bucket="chat-files", region=REGION, access_key=key_id,
                   secret_key=secret or key_secret)


async def test_put_get_delete_with_checked_signatures(s3):
    s = store(s3)
    key = "ab" * 16
    await s.put(key, b"\x89PNG bytes", "image/png")
    assert await s.get(key) == b"\x89PNG bytes"
    await s.delete(key)
    assert await s.get(key) is None
    await s.delete(key)  # deleting a missing object is no error
    with pytest.raises(S3Error, match="SignatureDoesNotMatch"):
        await store(s3, secret="not-the-secret").put(key, b"x", "image/png")
    with pytest.raises(ValueError):
        await s.get("../other-bucket/key")  # only our own keys reach a URL
    # the server checks the body against the signed hash too
    url = s3[0]
    signed = s.sign("PUT", f"/chat-files/{key}", hashlib.sha256(b"what was signed").hexdigest(), {})
    r = await s.client.put(f"{url}/chat-files/{key}", content=b"something else", headers=signed)
    assert r.status_code == 400 and "XAmzContentSHA256Mismatch" in r.text
    assert await s.get(key) is None
    await s.aclose()


def test_a_half_configured_store_stops_the_start():
    with pytest.raises(ValueError, match="missing: bucket"):
        make_store(Settings(attachments_s3_endpoint="http://127.0.0.1:9", attachments_s3_access_key="a",
                            attachments_s3_secret_key="b"))


async def test_the_app_stores_serves_and_erases_files_in_s3(s3, sqlite_url, tmp_path):
    from sqlalchemy import select

    import attachments
    from accounts.models import User
    from accounts.service import create_user
    from chat import service
    from tests.accounts.test_web import PW, client, login

    url, key_id, secret = s3
    app = create_app(Settings(database_url=sqlite_url, attachments_dir=str(tmp_path / "unused"),
                              attachments_s3_endpoint=url, attachments_s3_bucket="chat-files",
                              attachments_s3_region=REGION, attachments_s3_access_key=key_id,
                              attachments_s3_secret_key=secret))
    async with app.ctx.sessionmaker() as db:
        await create_user(db, email="alex@shop.example", display_name="Alex", role="agent", password=PW)
        conv, token = await service.create_conversation(db)
        conv.state, conv.agent_id = "assigned", await db.scalar(select(User.id))
        await db.commit()
        cid = conv.id
    async with client(app) as c:
        r = await c.post("/api/attachments", content=files.png(), headers={"X-Session-Id": token,
                                                                           "X-File-Name": quote("box.png")})
        assert r.status_code == 200, r.text
        aid = r.json()["message"]["attachment"]["id"]
        r = await c.get(f"/api/attachments/{aid}", headers={"X-Session-Id": token})
        assert r.status_code == 200 and r.content == files.png()
    async with client(app, await login(app, "alex@shop.example")) as c:
        assert (await c.get(f"/api/attachments/{aid}/thumb")).headers["content-type"] == "image/jpeg"
    assert not (tmp_path / "unused").exists()  # nothing on disk
    s = store(s3)
    assert await s.get(aid) == files.png() and await s.get(f"{aid}.thumb") is not None
    async with app.ctx.sessionmaker() as db:
        assert await attachments.erase_for_conversation(db, cid) == 1
        await db.commit()
    assert await s.get(aid) is None and await s.get(f"{aid}.thumb") is None
    await s.aclose()
    await app.ctx.engine.dispose()

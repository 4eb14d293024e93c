"""The S3-compatible store against a real S3 server: moto's (`moto[server]` from PyPI, a test
dependency), run as its own process with authentication on, so every request's Signature V4 is
checked. The app stores, serves and erases files there as it does on disk."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from attachments.s3 import S3Error, S3Store
from attachments.storage import make_store
from tests.attachments import files
from tests.support import IN_CI, free_port

MOTO = Path(sys.executable).parent / "moto_server"
REGION = "eu-central-1"


@pytest.fixture(scope="module")
def s3():
    """A running S3 server with a bucket and an IAM user allowed to use it: (url, key id, secret)."""
    if not MOTO.exists():
        if IN_CI:
            pytest.fail("moto_server is missing: pip install -e '.[test]'")
        pytest.skip("moto_server is missing: pip install -e '.[test]'")
    import boto3

    port = free_port()
    # The first requests (the readiness probe, the IAM setup below) go unauthenticated; every later
    # one is checked.
    proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        anon = {"endpoint_url": url, "region_name": REGION, "aws_access_key_id": "setup",
                "aws_secret_access_key": "setup"}
        iam = boto3.client("iam", **anon)
        iam.create_user(UserName="shop")
        iam.put_user_policy(UserName="shop", PolicyName="files", PolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'))
        key = iam.create_access_key(UserName="shop")["AccessKey"]
        boto3.client("s3", endpoint_url=url, region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                     aws_secret_access_key=key["SecretAccessKey"]).create_bucket(Bucket="chat-files",
                                                 CreateBucketConfiguration={"LocationConstraint": REGION})
        yield url, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        proc.terminate()
        proc.wait(10)


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

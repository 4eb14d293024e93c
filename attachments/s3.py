"""A minimal client for S3-compatible stores: PUT, GET and DELETE of one object, path-style, signed
with AWS Signature Version 4 (the payload's SHA-256 signed too). Written here instead of pulling in
boto3 (about 80 MB, and synchronous) for three calls; tested against a real S3 server (Ceph's
RADOS Gateway) that checks the signatures (tests/attachments/test_s3_store.py)."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

import httpx

from attachments.storage import check_key

SERVICE = "s3"


class S3Error(Exception):
    pass


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class S3Store:
    def __init__(self, *, endpoint: str, bucket: str, region: str, access_key: str, secret_key: str,
                 timeout_s: float = 30.0):
        self.endpoint = endpoint.rstrip("/")
        self.host = urlsplit(self.endpoint).netloc
        self.base_path = urlsplit(self.endpoint).path.rstrip("/")
        self.bucket, self.region = bucket, region
        self.access_key, self.secret_key = access_key, secret_key
        self.client = httpx.AsyncClient(timeout=timeout_s)

    def _path(self, key: str) -> str:
        return f"{self.base_path}/{quote(self.bucket, safe='')}/{check_key(key)}"

    def sign(self, method: str, path: str, payload_hash: str, headers: dict[str, str],
             now: datetime | None = None) -> dict[str, str]:
        """The headers of a signed request (Signature V4, no query string)."""
        now = now or datetime.now(timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        signed = {**{k.lower(): v.strip() for k, v in headers.items()}, "host": self.host,
                  "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
        names = sorted(signed)
        canonical = "\n".join([method, path, "", *(f"{n}:{signed[n]}" for n in names), "",
                               ";".join(names), payload_hash])
        scope = f"{day}/{self.region}/{SERVICE}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = _hmac(_hmac(_hmac(_hmac(f"AWS4{self.secret_key}".encode(), day), self.region), SERVICE), "aws4_request")
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        signed["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                   f"SignedHeaders={';'.join(names)}, Signature={signature}")
        del signed["host"]  # httpx sets it from the URL
        return signed

    async def _request(self, method: str, key: str, data: bytes = b"", headers: dict | None = None) -> httpx.Response:
        path = self._path(key)
        signed = self.sign(method, path, hashlib.sha256(data).hexdigest(), headers or {})
        return await self.client.request(method, f"{self.endpoint.removesuffix(self.base_path)}{path}",
                                         content=data or None, headers=signed)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        r = await self._request("PUT", key, data, {"content-type": content_type})
        if r.status_code != 200:
            raise S3Error(f"S3 PUT {key}: HTTP {r.status_code} {r.text[:300]}")

    async def get(self, key: str) -> bytes | None:
        r = await self._request("GET", key)
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise S3Error(f"S3 GET {key}: HTTP {r.status_code} {r.text[:300]}")
        return r.content

    async def delete(self, key: str) -> None:
        r = await self._request("DELETE", key)
        if r.status_code not in (200, 204, 404):
            raise S3Error(f"S3 DELETE {key}: HTTP {r.status_code} {r.text[:300]}")

    async def aclose(self) -> None:
        await self.client.aclose()

"""HTTP client for the Rasa server (its own process and venv; never imported)."""
from __future__ import annotations

import time

import httpx


class RasaUnavailable(Exception):
    """Rasa did not answer (down, starting, or too slow): the app answers without it."""


class RasaClient:
    def __init__(self, base_url: str, timeout_s: float = 3.0):
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s, connect=0.5),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
        )
        self._up_cache: tuple[float, bool] = (0.0, False)

    async def send(self, sender: str, message: str, metadata: dict | None = None) -> list[dict]:
        """One visitor message through Rasa's REST channel; returns Rasa's list of bot messages."""
        try:
            resp = await self._http.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": message, "metadata": metadata or {}}
            )
            resp.raise_for_status()
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        if not isinstance(data, list):
            raise RasaUnavailable(f"unexpected answer from Rasa: {str(data)[:200]}")
        return data

    async def parse(self, text: str) -> dict:
        """Rasa's NLU reading of a text (needs `rasa run --enable-api`)."""
        try:
            resp = await self._http.post("/model/parse", json={"text": text})
            resp.raise_for_status()
            return resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(str(exc)) from exc

    async def is_up(self, max_age_s: float = 2.0) -> bool:
        checked_at, up = self._up_cache
        if time.monotonic() - checked_at < max_age_s:
            return up
        try:
            up = (await self._http.get("/", timeout=1.0)).status_code == 200
        except httpx.HTTPError:
            up = False
        self._up_cache = (time.monotonic(), up)
        return up

    async def aclose(self) -> None:
        await self._http.aclose()

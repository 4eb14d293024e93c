"""HTTP client for the Rasa server (its own process and venv; never imported). aiohttp rather than
httpx: a call costs the app's event loop 0.2 ms of CPU instead of 1.0 ms (2,000 calls to a local
server answering like Rasa, 2026-11-26), once per visitor message."""
from __future__ import annotations

import asyncio
import json
import time
import zlib
from urllib.parse import quote

import aiohttp


class RasaUnavailable(Exception):
    """Rasa did not answer (down, starting, or too slow): the app answers without it."""


def check_rasa_urls(value: str) -> list[str]:
    """SHOPCHAT_RASA_URL: one http(s) URL or a comma-separated list (raises ValueError)."""
    urls = [u.strip().rstrip("/") for u in value.split(",") if u.strip()]
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if not urls or bad:
        raise ValueError(f"rasa_url must be one http:// URL or a comma-separated list of them, not {value!r}")
    return urls


class RasaClient:
    """One Rasa server, or several (a comma-separated list of URLs, all serving the same trained
    model and sharing their tracker and lock stores): a conversation goes to one server chosen by
    its id, and fails over to the next when that one refuses the connection."""

    DOWN_FOR_S = 5.0  # a server that refused a connection is tried last for this long

    def __init__(self, base_url: str, timeout_s: float = 3.0, auth_token: str = ""):
        self._bases = check_rasa_urls(base_url)
        self._auth = {"token": auth_token} if auth_token else None  # Rasa's API (not its webhooks)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=0.5)
        self._http: aiohttp.ClientSession | None = None  # made on first use, inside the event loop
        self._up_cache: tuple[float, bool] = (0.0, False)
        self._down_until = {base: 0.0 for base in self._bases}
        self._turn = 0
        # The custom-action path (Rasa -> the app's /bot/actions) as the last bot turns saw it.
        self._actions_failed_at: float | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self._timeout, connector=aiohttp.TCPConnector(limit=100))
        return self._http

    def servers_for(self, key: str | None) -> list[str]:
        """The servers to try, in order: the key's own (or the next in turn) first, those that
        refused a connection lately last."""
        if key is None:
            self._turn += 1
            start = self._turn
        else:
            start = zlib.crc32(key.encode())
        n = len(self._bases)
        order = [self._bases[(start + i) % n] for i in range(n)]
        now = time.monotonic()
        return sorted(order, key=lambda base: self._down_until[base] > now)

    async def _post(self, path: str, body: dict, key: str | None = None, params: dict | None = None):
        error: Exception | None = None
        for base in self.servers_for(key):
            try:
                async with self._session().post(base + path, json=body, params=params) as resp:
                    resp.raise_for_status()
                    return json.loads(await resp.read())
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                # The request never reached this server: the next one may take it. Any later
                # failure is not retried (the server may have acted on the message already).
                self._down_until[base] = time.monotonic() + self.DOWN_FOR_S
                error = exc
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        raise RasaUnavailable(str(error) or type(error).__name__) from error

    async def send(self, sender: str, message: str, metadata: dict | None = None) -> list[dict]:
        """One visitor message through Rasa's REST channel; returns Rasa's list of bot messages."""
        data = await self._post("/webhooks/rest/webhook", {"sender": sender, "message": message, "metadata": metadata or {}},
                                key=sender)
        if not isinstance(data, list):
            raise RasaUnavailable(f"unexpected answer from Rasa: {str(data)[:200]}")
        return data

    async def end_form(self, sender: str) -> None:
        """End the form the conversation is in (the handoff's name and e-mail questions), through
        Rasa's HTTP API: its next message is read afresh (chat/offline_first.py)."""
        await self._post(f"/conversations/{quote(sender, safe='')}/tracker/events",
                         [{"event": "active_loop", "name": None}, {"event": "slot", "name": "requested_slot", "value": None}],
                         key=sender, params=self._auth)

    async def parse(self, text: str) -> dict:
        """Rasa's NLU reading of a text (its HTTP API: `rasa run --enable-api --auth-token`)."""
        return await self._post("/model/parse", {"text": text}, params=self._auth)

    async def is_up(self, max_age_s: float = 2.0) -> bool:
        checked_at, up = self._up_cache
        if time.monotonic() - checked_at < max_age_s:
            return up
        up = False
        for base in self.servers_for(None):  # up when any server answers
            try:
                async with self._session().get(base + "/", timeout=aiohttp.ClientTimeout(total=1.0)) as resp:
                    up = resp.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                continue
            if up:
                break
        self._up_cache = (time.monotonic(), up)
        return up

    def note_actions(self, ok: bool) -> None:
        """What a bot turn learnt of the action path: `ok` when Rasa's answer came from our custom
        action (`custom.shopchat`), not ok when Rasa answered nothing usable (its webhook answers
        `[]` when an action call failed: a wrong action token, the app unreachable, an exception)."""
        self._actions_failed_at = None if ok else time.monotonic()

    @property
    def actions_failing(self) -> bool:
        """True since a turn found the action path broken, until one finds it working again."""
        return self._actions_failed_at is not None

    def actions_state(self) -> str:
        """For health: "failing" or "up" (also before any turn: nothing seen failing yet)."""
        return "failing" if self.actions_failing else "up"

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()

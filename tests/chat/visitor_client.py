"""A real python-socketio visitor client that records every event it receives."""
from __future__ import annotations

import asyncio

import socketio

EVENTS = ("session_confirm", "session_state", "bot_uttered", "visitor_uttered", "bot_typing", "handoff", "error")


class Visitor:
    def __init__(self, url: str, headers: dict | None = None):
        self.url, self.headers = url, headers or {}
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, object]] = []
        self.session_id: str | None = None
        for name in EVENTS:
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name):
        async def record(data=None):
            self.events.append((name, data))
        return record

    async def connect(self, session_id: str | None = None) -> dict:
        await self.sio.connect(self.url, headers=self.headers, transports=["websocket"])
        ack = await self.sio.call("session_request", {"session_id": session_id}, timeout=10)
        if ack and ack.get("ok"):
            self.session_id = ack["session_id"]
        return ack

    async def say(self, text: str, client_id: str | None = None, **extra) -> dict:
        payload = {"message": text, "session_id": self.session_id, **extra}
        if client_id:
            payload["client_id"] = client_id
        return await self.sio.call("user_uttered", payload, timeout=10)

    def of(self, name: str) -> list:
        return [d for n, d in self.events if n == name]

    async def wait_for(self, name: str, count: int = 1, timeout: float = 10.0, pred=lambda d: True) -> list:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [d for d in self.of(name) if pred(d)]
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"waited for {count} {name!r}; got {self.events!r}")
            await asyncio.sleep(0.02)

    async def resync(self, after_seq: int = 0) -> dict:
        return await self.sio.call("resync", {"session_id": self.session_id, "after_seq": after_seq}, timeout=10)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()

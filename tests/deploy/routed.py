"""Clients of the reference stack that reach a chosen app process through the balancer.

nginx keeps a client on one process by its address (deploy/nginx.conf.template: hash $remote_addr).
On one machine every loopback address 127.0.0.x is a distinct client, so a test binds its client to
one of them; the stack started with show_upstream=True says which process answered which address."""
from __future__ import annotations

import aiohttp
import httpx
import socketio

from tests.chat.visitor_client import EVENTS, Visitor
from tests.handoff.test_agent_socket import Agent


def routes(stack, count: int = 60) -> dict[str, list[str]]:
    """{app process name: [client addresses nginx sends to it]} for 127.0.0.2, .3, ..."""
    by_port = {p.port: p.name for p in stack.of("app")}
    found: dict[str, list[str]] = {name: [] for name in by_port.values()}
    for i in range(2, 2 + count):
        ip = f"127.0.0.{i}"
        with httpx.Client(transport=httpx.HTTPTransport(local_address=ip)) as http:
            r = http.get(f"{stack.url}/health", timeout=5)
        upstream = r.headers["X-Shopchat-Upstream"].split(",")[-1].strip()  # the last one tried answered
        found[by_port[int(upstream.rsplit(":", 1)[1])]].append(ip)
    return found


def _bound_client(ip: str) -> socketio.AsyncClient:
    return socketio.AsyncClient(reconnection=False, http_session=lambda: aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(ip, 0))))


class RoutedVisitor(Visitor):
    """tests/chat/visitor_client.py's visitor, connecting from `ip` with the transports asked for."""

    def __init__(self, url: str, ip: str, transports=("websocket",)):
        super().__init__(url)
        self.ip, self.transports = ip, list(transports)
        self.sio = _bound_client(ip)
        for name in EVENTS:
            self.sio.on(name, self._recorder(name))

    async def connect(self, session_id: str | None = None, **extra) -> dict:
        await self.sio.connect(self.url, transports=self.transports, wait_timeout=10)
        ack = await self.sio.call("session_request", {"session_id": session_id, "extensions": True, **extra},
                                  timeout=10)
        if ack and ack.get("ok"):
            self.session_id, self.conversation_id = ack["session_id"], ack["conversation_id"]
        return ack


class RoutedAgent(Agent):
    """A console connecting from `ip`; by default as the console does (long-polling, then upgrade)."""

    def __init__(self, url: str, token: str, ip: str, transports=("polling", "websocket")):
        super().__init__(url, token)
        self.ip, self.transports = ip, list(transports)
        self.sio = _bound_client(ip)
        for name in self.EVENTS:
            self.sio.on(name, self._recorder(name), namespace="/agent")

    async def connect(self, **kw) -> "RoutedAgent":
        await self.sio.connect(self.url, headers=self.headers, namespaces=["/agent"], transports=self.transports,
                               wait_timeout=10, **kw)
        return self

"""The visitor's side of the tests: a real python-socketio visitor client that records every event
it receives, and a real SMTP server (a separate process) that keeps the e-mails a visitor gets."""
from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
import socket
import subprocess
import sys
import time
from pathlib import Path

import socketio

from app.settings import ROOT

EVENTS = ("session_confirm", "session_state", "bot_uttered", "visitor_uttered", "bot_typing", "agent_typing",
          "handoff", "error")


class Recorder:
    """A real Socket.IO client that records every event it listens to, for tests to wait on."""

    def __init__(self, events, namespace: str = "/"):
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, object]] = []
        for name in events:
            self.sio.on(name, self._recorder(name), namespace=namespace)

    def _recorder(self, name):
        async def record(data=None):
            self.events.append((name, data))
        return record

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

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


class Visitor(Recorder):
    def __init__(self, url: str, headers: dict | None = None):
        super().__init__(EVENTS)
        self.url, self.headers = url, headers or {}
        self.session_id: str | None = None

    async def connect(self, session_id: str | None = None, *, extensions: bool = True, **extra) -> dict:
        """session_request as the product's widget sends it (asking for the protocol's extensions), or
        with extensions=False as a client written for Rasa's channel does."""
        await self.sio.connect(self.url, headers=self.headers, transports=["websocket"])
        payload = {"session_id": session_id, **({"extensions": True} if extensions else {}), **extra}
        ack = await self.sio.call("session_request", payload, timeout=10)
        if ack and ack.get("ok"):
            self.session_id = ack["session_id"]
            self.conversation_id = ack["conversation_id"]
        return ack

    async def call(self, event: str, payload: object = None) -> dict:
        return await self.sio.call(event, {} if payload is None else payload, timeout=10)

    async def say(self, text: str, client_id: str | None = None, **extra) -> dict:
        payload = {"message": text, "session_id": self.session_id, **extra}
        if client_id:
            payload["client_id"] = client_id
        return await self.sio.call("user_uttered", payload, timeout=10)

    async def resync(self, after_seq: int = 0) -> dict:
        return await self.sio.call("resync", {"session_id": self.session_id, "after_seq": after_seq}, timeout=10)


class SmtpSink:
    """A real SMTP server: aiosmtpd's own Mailbox handler in a process of its own, saving every
    message it accepts into a Maildir (with the envelope in X-MailFrom / X-RcptTo)."""

    def __init__(self, directory: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = directory
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict:
        """The app's settings for this server."""
        return {"SHOPCHAT_SMTP_HOST": "127.0.0.1", "SHOPCHAT_SMTP_PORT": str(self.port),
                "SHOPCHAT_SMTP_FROM": "help@pinecone.test", "SHOPCHAT_SMTP_STARTTLS": "false"}

    def start(self) -> "SmtpSink":
        self.log = open(ROOT / ".run" / f"test-smtp-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.dir)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the SMTP server exited; see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("the SMTP server did not start")

    def messages(self) -> list[email.message.EmailMessage]:
        if not (self.dir / "new").exists():  # the server makes the Maildir on start
            return []
        box = mailbox.Maildir(self.dir, factory=None, create=False)
        out = []
        for key in box.keys():
            with box.get_file(key) as f:
                out.append(email.message_from_binary_file(f, policy=email.policy.default))
        return sorted(out, key=lambda m: m["Date"].datetime if m["Date"] else 0)

    async def wait_for(self, count: int = 1, timeout: float = 10.0, pred=lambda m: True) -> list:
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages() if pred(m)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited for {count} e-mails; got {len(found)}")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def body(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()

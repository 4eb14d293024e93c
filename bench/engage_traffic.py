"""What the loader's beats cost on the wire (docs/engage.md, "Traffic"): the app on a fresh SQLite
database; each kind of beat is sent over a plain socket exactly as Chromium 131 sends the loader's
cross-origin `fetch` (its request headers copied, HTTP/1.1, no TLS), and every byte both ways is
counted: request line and headers, body, response headers and body.

    .venv/bin/python -m bench.engage_traffic

Prints one row per beat and the totals per page view and per idle visitor per minute at the
default heartbeat (every 20 s). Over HTTP/2 (a TLS deployment behind nginx) HPACK shrinks the
repeated headers of later beats on the same connection to a few dozen bytes: these are the upper
figures."""
from __future__ import annotations

import json
import socket
import tempfile
from pathlib import Path

from tests.support import LiveApp, TestDatabase

HEARTBEAT_S = 20
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
SHOP = "https://www.example-shop.com"
# What Chromium 131 sends with the loader's fetch(BEAT, {method: "POST", body, credentials: "omit",
# keepalive: true}) from a shop page to the chat host (DevTools, "Request Headers").
HEADERS = ("Host: chat.example-shop.com\r\nConnection: keep-alive\r\nContent-Length: {n}\r\n"
           'sec-ch-ua-platform: "Linux"\r\nUser-Agent: ' + UA + '\r\n'
           'sec-ch-ua: "Chromium";v="131", "Not_A Brand";v="24"\r\n'
           "Content-Type: text/plain;charset=UTF-8\r\nsec-ch-ua-mobile: ?0\r\nAccept: */*\r\n"
           f"Origin: {SHOP}\r\nSec-Fetch-Site: same-site\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n"
           f"Referer: {SHOP}/\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n")


def send(port: int, body: bytes) -> tuple[int, int, int, int]:
    head = ("POST /engage/beat HTTP/1.1\r\n" + HEADERS.format(n=len(body)) + "\r\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        resp_head, _, rest = data.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in resp_head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        while len(rest) < length:
            rest += s.recv(65536)
    return len(head), len(body), len(resp_head) + 4, length


def beats() -> dict[str, bytes]:
    vid, url = "0f" * 16, f"{SHOP}/products/merino-wool-socks?colour=oat"
    dump = lambda d: json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()  # noqa: E731 - as JSON.stringify
    return {"pv": dump({"v": vid, "e": "pv", "n": 1, "u": url, "t": "Merino wool socks · Pinecone & Co.",
                        "r": "https://www.google.com/", "l": "en"}),
            "hb": dump({"v": vid, "e": "hb", "n": 1, "u": url}),
            "bye": dump({"v": vid, "e": "bye", "n": 1, "u": url})}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = TestDatabase("sqlite", Path(tmp)).create()
        app = LiveApp(db.url).start()
        try:
            sizes = {kind: send(app.port, body) for kind, body in beats().items()}
        finally:
            app.stop()
    print(f"{'beat':<5}{'req headers':>12}{'req body':>10}{'resp headers':>14}{'resp body':>11}{'total B':>9}")
    for kind, row in sizes.items():
        print(f"{kind:<5}" + "".join(f"{v:>{w}}" for v, w in zip(row, (12, 10, 14, 11))) + f"{sum(row):>9}")
    per_view = sum(sizes["pv"]) + sum(sizes["bye"])
    print(f"\nper page view (page view + goodbye):        {per_view} B")
    print(f"per idle visitor per minute ({60 // HEARTBEAT_S} heartbeats):  {sum(sizes['hb']) * 60 // HEARTBEAT_S} B")


if __name__ == "__main__":
    main()

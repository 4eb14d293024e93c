"""A fixed-window rate limit (at most `limit` hits a key per `window_s`) for public routes that write,
e.g. the thank-you page's conversion report (insights/conversions_api.py).

Counted in Redis when the deployment has it (SHOPCHAT_REDIS_URL: several app processes behind one
load balancer share one count; `INCR` then `EXPIRE` on the window's own key, under the deployment's
channel name), otherwise in this process (like engage/views.py's beat limiter). Should Redis fail,
the process counts on its own until it answers again: a limit is no reason to lose an order."""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class Verdict:
    allowed: bool
    retry_after_s: int  # seconds until the window that refused ends (0 when allowed)


class WindowLimiter:
    def __init__(self, name: str, limit: int, window_s: int = 60, *, redis_url: str = "",
                 prefix: str = "shopchat", clock=time.time):
        self.name, self.limit, self.window_s = name, limit, window_s
        self.redis_url, self.prefix, self.clock = redis_url, prefix, clock
        self._redis = None
        self._window, self._counts = -1, {}

    def _local(self, key: str, window: int) -> int:
        if window != self._window:
            self._window, self._counts = window, {}
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]

    async def _shared(self, key: str, window: int) -> int:
        if self._redis is None:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
        name = f"{self.prefix}:ratelimit:{self.name}:{window}:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, self.window_s + 5)
            count, _ = await pipe.execute()
        return int(count)

    async def hit(self, key: str) -> Verdict:
        """Count one hit of `key`; refused once the window holds more than `limit`."""
        now = self.clock()
        window = int(now // self.window_s)
        count = None
        if self.redis_url:
            try:
                count = await self._shared(key, window)
            except Exception as exc:  # noqa: BLE001 - Redis down: count in this process meanwhile
                log.warning("rate limit %s: Redis unavailable (%s), counting in this process", self.name,
                            type(exc).__name__)
        if count is None:
            count = self._local(key, window)
        if count <= self.limit:
            return Verdict(True, 0)
        return Verdict(False, max(1, math.ceil((window + 1) * self.window_s - now)))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

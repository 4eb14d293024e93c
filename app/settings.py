"""Typed settings, read from the environment (prefix SHOPCHAT_) or passed to create_app()."""
from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPCHAT_", extra="ignore")

    # SQLite file by default; e.g. postgresql+asyncpg://user@127.0.0.1:5432/shopchat when configured.
    database_url: str = f"sqlite+aiosqlite:///{RUN_DIR / 'shopchat.db'}"
    host: str = "127.0.0.1"
    port: int = 8000
    # The URL visitors' browsers use to reach this app; its origin is always allowed for Socket.IO.
    public_url: str = ""
    # Load balancers / reverse proxies in front of the app, comma-separated addresses or CIDRs (e.g.
    # "10.0.0.5,10.1.0.0/16"). Only when the TCP peer is one of them are its X-Forwarded-For (the
    # client address for login throttling and per-IP limits: the rightmost untrusted entry) and
    # X-Forwarded-Proto (https: Secure cookies) believed. Empty: the peer is the client.
    trusted_proxies: str = ""
    # Extra origins (shop sites) allowed to open a Socket.IO connection directly, comma separated.
    # The widget's own iframe is served by this app, so the default needs none.
    allowed_origins: str = ""
    # Which sites may embed the chat iframe (CSP frame-ancestors), e.g. "https://shop.example".
    frame_ancestors: str = "*"
    # FastAPI's interactive API docs (/docs, /redoc, /openapi.json): public pages that load their
    # scripts from a CDN, so off unless asked for (SHOPCHAT_API_DOCS=true).
    api_docs: bool = False

    # The shop's name in agents' canned responses ({shop_name}). The default is the demo shop's,
    # which bot/domain.yml's greetings also name: change both for your shop.
    shop_name: str = "Pinecone & Co."
    # The shop's time zone (an IANA name): the days and hours of the reports (docs/reports.md).
    time_zone: str = "UTC"

    # Several Rasa servers (same trained model, shared stores below): a comma-separated list, or
    # one internal balancer's address. Never reachable by visitors (docs/architecture.md).
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_s: float = 3.0
    # Shared secret Rasa presents when it calls the app's custom-action endpoint.
    action_token: str = Field(default_factory=lambda: secrets.token_urlsafe(24))
    # Shared secret the app presents to Rasa's HTTP API (`rasa run --auth-token`); both are made
    # per start when unset, so a separately started Rasa needs both set on both sides.
    rasa_auth_token: str = Field(default_factory=lambda: secrets.token_urlsafe(24))
    # Rasa's stores, for the Rasa servers `shopchat run` starts (bot/server.py): empty = a SQLite
    # file in .run/; several Rasa servers share one PostgreSQL database of their own
    # (postgresql://user:password@host:5432/shopchat_rasa) and one Redis lock store (redis://host:6379/1).
    rasa_tracker_store_url: str = ""
    rasa_lock_store_url: str = ""

    # Several app processes behind one load balancer share Socket.IO rooms through Redis, e.g.
    # redis://127.0.0.1:6379/0 (with PostgreSQL as the database). Empty: one process, no Redis.
    redis_url: str = ""
    # The Redis pub/sub channel of this deployment: every process of one deployment uses the same,
    # two deployments on one Redis use different ones (or they hear each other's events).
    redis_channel: str = "shopchat"
    # Database connections each app process may hold (PostgreSQL): pool_size kept open, up to
    # max_overflow more under load (opened and closed again: a pool_size below the usual load's
    # concurrency reconnects all the time). N processes need N x (pool_size + max_overflow)
    # connections, below PostgreSQL's max_connections (docs/production.md).
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # SIGTERM (shopchat serve): sockets are closed at once (clients reconnect to another process),
    # then up to this many seconds for open HTTP requests and again for the bot turns under way.
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    # How often each process fires due routing timers (offers ringing out, presence, inactivity).
    routing_tick_s: float = 0.5

    # The bot's turn (chat/turns.py): the lease one process holds on a conversation while it answers,
    # renewed while held; when a process dies, another takes the turn over after at most this long
    # (at once on the same host). Every process looks for questions nobody answers this often.
    bot_turn_lease_s: float = 15.0
    bot_recovery_every_s: float = 2.0
    # A question answered this long after it was asked (the app was down) gets an apology first.
    late_answer_after_s: float = 600.0

    max_message_chars: int = 2000
    # Messages per visitor connection per 10 s before `rate_limited`.
    message_rate_per_10s: int = 20
    # How often the loader on a shop's page tells the app the visitor is still there (engage/); a
    # visitor not heard from for a minute has left, so at most 50.
    engage_heartbeat_s: int = Field(default=20, ge=1, le=50)

    @field_validator("time_zone")
    @classmethod
    def check_time_zone(cls, value: str) -> str:
        """A typo must stop the start, not turn every report into a 422."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"SHOPCHAT_TIME_ZONE: {value!r} is not a time zone (an IANA name such as "
                             "Europe/Athens)") from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def check_trusted_proxies(cls, value: str) -> str:
        """Every entry an IP address or network: a typo must stop the start, not trust nobody."""
        entries = [e.strip() for e in value.split(",") if e.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"SHOPCHAT_TRUSTED_PROXIES: {entry!r} is not an IP address or network "
                                 "(e.g. 10.0.0.5 or 10.0.0.0/8)") from None
        return ",".join(entries)

    def shared_secrets_problem(self) -> str | None:
        """Several app processes (Redis set) must share the secrets Rasa and the app exchange: a
        generated one differs per process, so Rasa would refuse some of them (or they it)."""
        if not self.redis_url:
            return None
        missing = [f"SHOPCHAT_{name.upper()}" for name in ("action_token", "rasa_auth_token")
                   if name in type(self).model_fields and name not in self.model_fields_set]
        if not missing:
            return None
        return (f"SHOPCHAT_REDIS_URL is set (several app processes): set {' and '.join(missing)} explicitly, "
                "the same in every app process and Rasa server (a generated one differs per process)")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def socket_origins(self) -> list[str]:
        own = self.base_url.rstrip("/")
        extra = [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]
        if "*" in extra:
            return ["*"]
        origins = {own, own.replace("127.0.0.1", "localhost"), own.replace("localhost", "127.0.0.1")}
        return sorted(origins | set(extra))

    # ---- attachments (attachments/, docs/attachments.md) -------------------------------------------
    # Images (PNG, JPEG, GIF, WebP) and PDFs up to this size; the type is read from the content.
    attachments_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # Images with more pixels than this are refused before they are decoded (decompression bombs).
    attachments_max_pixels: int = Field(default=40_000_000, ge=1)
    # Files on disk in this folder (0700), unless an S3-compatible store is configured below.
    attachments_dir: str = str(RUN_DIR / "attachments")
    # An S3-compatible store (AWS S3, MinIO, Ceph...): its endpoint, e.g. https://s3.eu-west-1.amazonaws.com
    # or http://127.0.0.1:9000; path-style requests signed with AWS Signature V4.
    attachments_s3_endpoint: str = ""
    attachments_s3_bucket: str = ""
    attachments_s3_region: str = "us-east-1"
    attachments_s3_access_key: str = ""
    attachments_s3_secret_key: str = ""
    # ---- end of attachment settings --------------------------------------------------------------

    # ---- e-mail (offline messages: the visitor's confirmation, agents' replies) ----------------
    # handoff/mailer.py. An empty smtp_host turns e-mail off (tickets are still stored).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_from: str = "shopchat@localhost"
    smtp_user: str = ""  # empty: no login
    smtp_password: str = ""
    smtp_starttls: bool = True  # upgrade the connection with STARTTLS before logging in
    # ---- end of e-mail settings ------------------------------------------------------------------

    # ---- conversions and visitors' data (insights/conversions.py, privacy/; issue 14) -----------
    # An order counts for the chats the same browser (or e-mail) started this many days before it.
    conversion_window_days: int = Field(default=7, ge=1, le=365)
    # How often each process looks for conversations past the retention period (privacy/retention.py;
    # the period itself is an admin setting in the console, off by default).
    retention_every_s: float = Field(default=3600.0, gt=0)
    # ---- end of conversion and privacy settings ------------------------------------------------

"""Login sessions and login throttling, kept in Redis (so several web processes share them and a
restart of one logs nobody out).

    web:session:<sha256 of the cookie>  hash   username, role, agent_id, district_code, csrf,
                                               created; expires after ``idle_s`` unused, and
                                               ``max_age_s`` after the login whatever happens
    web:fail:user:<name>                 count  failed logins, forgotten ``window_s`` after the
    web:fail:ip:<address>                count  first one

Only a digest of the session id is stored: a copy of Redis gives no usable cookie. Each session
has its own CSRF token, which every change (a form, an htmx request) must carry back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from .accounts import Account, Role


@dataclass(frozen=True)
class Session:
    account: Account
    csrf: str
    created: float

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), (token or "").encode())


@dataclass(frozen=True)
class Throttle:
    user_failures: int = 5    # failed logins per user name in the window
    ip_failures: int = 30     # failed logins per client address in the window
    window_s: int = 900


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SessionStore:
    def __init__(self, redis: Redis, *, idle_s: int = 1800, max_age_s: int = 12 * 3600,
                 throttle: Throttle = Throttle(), prefix: str = "web:") -> None:
        self.redis = redis
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self.throttle = throttle
        self.prefix = prefix

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}session:{hashlib.sha256(session_id.encode()).hexdigest()}"

    async def create(self, account: Account) -> str:
        """A new session for ``account``; the id to put in the cookie."""
        session_id = secrets.token_urlsafe(32)
        key = self._key(session_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={
                "username": account.username, "role": account.role.value,
                "agent_id": account.agent_id or "", "district_code": account.district_code or "",
                "csrf": secrets.token_urlsafe(32), "created": repr(time.time())})
            pipe.expire(key, self.idle_s)
            await pipe.execute()
        return session_id

    async def get(self, session_id: str | None) -> Session | None:
        """The session (its idle timer restarted), or None: unknown, idle too long, too old."""
        if not session_id or len(session_id) > 128:
            return None
        key = self._key(session_id)
        raw = {_s(k): _s(v) for k, v in (await self.redis.hgetall(key)).items()}
        if not raw or "username" not in raw:
            return None
        created = float(raw.get("created") or 0)
        if time.time() - created > self.max_age_s:
            await self.redis.delete(key)
            return None
        await self.redis.expire(key, self.idle_s)
        account = Account(raw["username"], Role(raw["role"]), raw.get("agent_id") or None,
                          raw.get("district_code") or None)
        return Session(account, raw["csrf"], created)

    async def delete(self, session_id: str | None) -> None:
        if session_id:
            await self.redis.delete(self._key(session_id))

    # -- login throttling ----------------------------------------------------------------------

    def _fail_keys(self, username: str, address: str) -> tuple[str, str]:
        return (f"{self.prefix}fail:user:{username.lower()[:64]}",
                f"{self.prefix}fail:ip:{address[:64]}")

    async def login_blocked(self, username: str, address: str) -> int:
        """Seconds until this user name and address may try again (0: they may now)."""
        user_key, ip_key = self._fail_keys(username, address)
        user, ip = await self.redis.mget(user_key, ip_key)
        blocked = []
        if int(user or 0) >= self.throttle.user_failures:
            blocked.append(user_key)
        if int(ip or 0) >= self.throttle.ip_failures:
            blocked.append(ip_key)
        if not blocked:
            return 0
        return max([int(await self.redis.ttl(key)) for key in blocked] + [1])

    async def login_failed(self, username: str, address: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._fail_keys(username, address):
                pipe.incr(key)
                pipe.expire(key, self.throttle.window_s, nx=True)
            await pipe.execute()

    async def login_succeeded(self, username: str) -> None:
        await self.redis.delete(self._fail_keys(username, "")[0])

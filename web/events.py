"""Live events for the pages: one Redis pub/sub subscription per web process, fanned out to the
pages' server-sent event streams.

The ACD publishes every change of an operator's state on ``acd:events``
(:func:`acd.live.agent_event`); a page subscribes with a filter (say, its own operator) and gets
the matching events in a bounded queue. A page that falls behind (its queue full) loses the
oldest and is told to draw itself afresh (a ``resync`` event), and so is every page after the
subscription to Redis was lost and made again: events missed meanwhile are never silently gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("web.events")

Event = dict[str, Any]
RESYNC: Event = {"type": "resync"}


@dataclass(eq=False)
class Subscriber:
    wants: Callable[[Event], bool]
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(maxsize=100))

    def offer(self, event: Event) -> None:
        if not self.wants(event):
            return
        if self.queue.full():  # too slow: drop the oldest, and have the page draw afresh
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            event = RESYNC
        self.queue.put_nowait(event)


class EventBus:
    def __init__(self, redis: Redis, channels: tuple[str, ...] = ("acd:events",),
                 retry_s: float = 1.0) -> None:
        self.redis = redis
        self.channels = channels
        self.retry_s = retry_s
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="web events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def publish_local(self, event: Event) -> None:
        """Hand an event to this process's pages (without Redis)."""
        for subscriber in list(self._subscribers):
            subscriber.offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, wants: Callable[[Event], bool]) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber(wants)
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    async def _listen(self) -> None:
        """Subscribe, fan out, and subscribe again (with a resync for every page) after any
        loss of the connection."""
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self.channels)
                self.connected.set()
                self.publish_local(RESYNC)  # whatever happened while we were away
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        event = json.loads(message["data"])
                    except (ValueError, TypeError):
                        log.warning("an event that is not JSON on %s", message.get("channel"))
                        continue
                    if isinstance(event, dict):
                        self.publish_local(event)
            except (RedisError, OSError) as exc:
                if self.connected.is_set():
                    log.error("live events: Redis lost (%s); subscribing again", exc)
                self.connected.clear()
                await asyncio.sleep(self.retry_s)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

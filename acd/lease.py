"""The ACD's lease: the dialplan's way to know that some controller is still routing.

Callers the ACD accepted wait in the dialplan (``acd-wait``), so a controller that dies, hangs
or loses Redis would leave them on hold music until the maximum wait. Instead every live
controller renews a lease, the Asterisk global variable ``ACD_LEASE`` set over AMI to the
current epoch second, every ``RENEW_EVERY_S``; the dialplan checks it at each wait step and
sends a caller whose lease is older than ``ACD_LEASE_FOR`` seconds to the fallback queue
(Asterisk's ``app_queue``). Several controllers on one Asterisk all renew the same variable:
the caller waits on as long as any one of them routes.

A controller renews only while it can route: its event loop runs (the renewal is a task on
it), AMI is connected (the renewal goes over it), and Redis, which holds the waiting calls
and the operators, answers a PING within ``REDIS_DEADLINE_S``. A controller cut off from Redis
lets the lease lapse, so its callers reach the fallback queue instead of waiting for routing
that cannot happen. When Redis answers again it says so (``on_redis_back``) so the ACD can
reconcile its state with Asterisk (callers who left for the fallback meanwhile).

Timing (the figures in ``extensions.conf`` must agree): renewal every 1 s, lapse after 4 s,
a check every 3 s at most. From the last renewal to the caller's move: at most 4 s + 1 s
(epoch seconds are whole) + 3 s = 8 s, within the 10 s the hotline promises.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from .ami.client import AmiClient, ClientState
from .ami.errors import AmiError

log = logging.getLogger("acd.lease")

VARIABLE = "ACD_LEASE"       # the Asterisk global variable the dialplan reads
RENEW_EVERY_S = 1.0
LEASE_FOR_S = 4              # ACD_LEASE_FOR in extensions.conf
REDIS_DEADLINE_S = 1.0
_STARTING = "starting"


class Lease:
    """Renews the lease while this controller can route; see the module docstring.

    ``redis_ping`` answers whether Redis is reachable (it may raise: that counts as no).
    """

    def __init__(self, ami: AmiClient, redis_ping: Callable[[], Awaitable[object]], *,
                 on_redis_back: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.time,
                 renew_every_s: float = RENEW_EVERY_S) -> None:
        self.ami = ami
        self._redis_ping = redis_ping
        self._on_redis_back = on_redis_back
        self._clock = clock
        self._every = renew_every_s
        self.renewed_at: float | None = None   # the last renewal Asterisk confirmed
        self.suspended: str | None = _STARTING  # why it is not renewed; None while renewing

    async def run(self) -> None:
        """Renew until cancelled; never raises (a failed renewal is logged once per cause)."""
        while True:
            if self.ami.state is not ClientState.CONNECTED:
                try:  # renew the moment AMI is back (a restarted controller: at once)
                    await self.ami.wait_connected(self._every)
                except AmiError:
                    pass
            await self.renew_once()
            await asyncio.sleep(self._every)

    async def renew_once(self) -> bool:
        """One renewal if this controller can route; whether the lease was renewed."""
        cause = await self._why_not()
        if cause is None:
            try:
                await self.ami.action("Setvar", [("Variable", VARIABLE),
                                                 ("Value", str(int(self._clock())))],
                                      timeout=REDIS_DEADLINE_S * 2)
                self.renewed_at = self._clock()
            except AmiError as exc:
                cause = f"AMI refused the renewal ({exc})"
        self._note(cause)
        return cause is None

    async def _why_not(self) -> str | None:
        if self.ami.state is not ClientState.CONNECTED:
            return "AMI is not connected"
        try:
            await asyncio.wait_for(self._redis_ping(), REDIS_DEADLINE_S)
        except Exception as exc:  # noqa: BLE001 - any failure means Redis cannot be used
            return f"Redis does not answer ({type(exc).__name__})"
        return None

    def _note(self, cause: str | None) -> None:
        before, self.suspended = self.suspended, cause
        if cause == before:
            return
        if cause is None:
            log.info("ACD lease renewed%s", "" if before == _STARTING else
                     " again: waiting callers stay with the ACD")
            if before is not None and before.startswith("Redis") and self._on_redis_back:
                self._on_redis_back()
        elif before == _STARTING:
            log.info("ACD lease not renewed yet: %s", cause)
        elif before is None:
            log.error("ACD lease not renewed: %s; waiting callers go to the fallback queue "
                      "within %d s unless another controller renews it", cause, LEASE_FOR_S + 4)
        else:
            log.warning("ACD lease still not renewed: %s", cause)

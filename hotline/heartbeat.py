"""The controller's sign of life, for whatever supervises it.

* hotline's own supervisor (``hotline up``): a file in ``<runtime>/run`` holding the
  controller's pid, whose modification time the controller's event loop refreshes every
  second. A loop that stalls (a blocking call, a deadlock, SIGSTOP) stops refreshing it.
* systemd (a site's way, ``asterisk-config/systemd/``): ``sd_notify`` messages on
  ``$NOTIFY_SOCKET`` when the service is ``Type=notify``: ``READY=1`` once the controller
  serves, ``WATCHDOG=1`` with every beat (``WatchdogSec=`` kills a controller that stops
  sending it), ``STOPPING=1`` when it drains.

Each beat is two tiny system calls made on the event loop itself, on purpose: the beat must
stop when the loop stops. Nothing here raises into the controller: a supervisor that cannot be
told is logged once, and the hotline goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path

log = logging.getLogger("hotline.heartbeat")

BEAT_EVERY_S = 1.0


def sd_notify(message: str, notify_socket: str | None = None) -> bool:
    """Send one systemd notification (``READY=1``, ...) if systemd asked for them; whether it
    was sent. ``notify_socket`` defaults to ``$NOTIFY_SOCKET`` ("@..." is an abstract one)."""
    target = notify_socket if notify_socket is not None else os.environ.get("NOTIFY_SOCKET")
    if not target:
        return False
    address = "\0" + target[1:] if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.setblocking(False)
        sock.sendto(message.encode(), address)
    return True


def read(path: Path) -> tuple[int, float] | None:
    """(pid, modification time) of a heartbeat file, or None if there is none (yet)."""
    try:
        stat = path.stat()
        return int(path.read_text().strip() or 0), stat.st_mtime
    except (OSError, ValueError):
        return None


class Heartbeat:
    def __init__(self, path: Path, notify_socket: str | None = None) -> None:
        self.path = path
        self._notify = notify_socket if notify_socket is not None else \
            os.environ.get("NOTIFY_SOCKET", "")
        self._failed: set[str] = set()

    def ready(self) -> None:
        self._send("READY=1\nSTATUS=serving calls")

    def stopping(self) -> None:
        self._send("STOPPING=1\nSTATUS=draining calls")

    def beat(self) -> None:
        try:
            os.utime(self.path)
        except FileNotFoundError:
            self._write()
        except OSError as exc:
            self._once("file", "heartbeat file %s cannot be touched (%s)", self.path, exc)
        self._send("WATCHDOG=1")

    async def run(self, every_s: float = BEAT_EVERY_S) -> None:
        """Beat until cancelled."""
        self._write()
        while True:
            self.beat()
            await asyncio.sleep(every_s)

    def _write(self) -> None:
        try:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(f"{os.getpid()}\n")
            os.replace(tmp, self.path)
        except OSError as exc:
            self._once("file", "heartbeat file %s cannot be written (%s)", self.path, exc)

    def _send(self, message: str) -> None:
        if not self._notify:
            return
        try:
            sd_notify(message, self._notify)
        except OSError as exc:
            self._once("notify", "systemd notification %r not sent (%s)", message[:12], exc)

    def _once(self, what: str, text: str, *args: object) -> None:
        if what not in self._failed:
            self._failed.add(what)
            log.error(text, *args)

"""The controller's sign of life: the heartbeat file hotline's supervisor watches, and systemd's
notifications on a real datagram socket (a path, and an abstract one)."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from hotline import heartbeat
from hotline.heartbeat import Heartbeat, sd_notify


def receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + address[1:] if address.startswith("@") else address)
    sock.settimeout(2)
    return sock


@pytest.mark.parametrize("abstract", [False, True])
def test_systemd_gets_ready_watchdog_and_stopping(tmp_path: Path, abstract: bool) -> None:
    address = f"@hotline-test-{os.getpid()}" if abstract else str(tmp_path / "notify")
    with receiver(address) as systemd:
        beat = Heartbeat(tmp_path / "controller.heartbeat", notify_socket=address)
        beat.ready()
        beat.beat()
        beat.stopping()
        got = [systemd.recv(256).decode() for _ in range(3)]
    assert got == ["READY=1\nSTATUS=serving calls", "WATCHDOG=1",
                   "STOPPING=1\nSTATUS=draining calls"]


def test_without_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify("READY=1") is False


def test_a_vanished_systemd_socket_is_logged_once_and_the_controller_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    beat = Heartbeat(tmp_path / "controller.heartbeat", notify_socket=str(tmp_path / "gone"))
    for _ in range(3):
        beat.beat()
    assert [r.message for r in caplog.records].count(
        "systemd notification 'WATCHDOG=1' not sent ([Errno 2] No such file or directory)") == 1


async def test_the_heartbeat_file_holds_the_pid_and_moves_while_the_loop_runs(
        tmp_path: Path) -> None:
    path = tmp_path / "controller.heartbeat"
    beat = Heartbeat(path, notify_socket="")
    task = asyncio.create_task(beat.run(every_s=0.02))
    try:
        await asyncio.sleep(0.05)
        first = heartbeat.read(path)
        assert first is not None and first[0] == os.getpid()
        os.utime(path, (0, 0))  # as old as can be: the next beat must move it
        await asyncio.sleep(0.05)
        later = heartbeat.read(path)
        assert later is not None and later[1] > 0
        path.unlink()  # someone cleaned the run folder: the next beat writes it again
        await asyncio.sleep(0.05)
        assert heartbeat.read(path) == (os.getpid(), path.stat().st_mtime)
    finally:
        task.cancel()
    assert heartbeat.read(tmp_path / "none") is None

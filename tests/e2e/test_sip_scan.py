"""Scanners and floods on the SIP port (issue 10): INVITEs from an address that is neither a
trunk peer nor an authenticated account. Every extension gets the same answer whether it exists
or not, none reaches the dialplan, the SIP guard (fail2ban on Asterisk's "No matching endpoint
found" lines, nftables) drops the address after a few, and a legitimate caller and an operator on
other addresses are served as before, during the attack."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any, Self

import pytest

from hotline import processes
from hotline.sipcall import CallPlan, place, wait_for_records
from hotline.sipprobe import probe

from . import amiwatch
from .conftest import Hotline
from .test_acd import operators
from .test_sip_security import _register

pytestmark = pytest.mark.e2e

# the SIP guard on loopback too (hotline up turns it on by itself when SIP listens beyond)
SETTINGS = {"sip_guard": "on", "sip_ban_after": 5, "sip_ban_window_s": 60}


class ChannelWatch:
    """Every channel Asterisk creates and every dialplan step it runs while the watch is on
    (AMI Newchannel and Newexten, read as the tests' watch user)."""

    def __init__(self, hotline: Hotline) -> None:
        self.channels: list[dict[str, str]] = []
        self.steps: list[tuple[str, str, str, str]] = []  # channel, context, exten, application
        self._ami = amiwatch.client(hotline.settings, self._event, "call,dialplan")

    def _event(self, message: Any) -> None:
        if message.name == "Newchannel":
            self.channels.append({k: message.get(k, "") for k in
                                  ("Channel", "Context", "Exten", "CallerIDNum")})
        elif message.name == "Newexten":
            self.steps.append((message.get("Channel", ""), message.get("Context", ""),
                               message.get("Extension", message.get("Exten", "")),
                               message.get("Application", "")))

    async def __aenter__(self) -> Self:
        await self._ami.start()
        await self._ami.wait_connected(10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._ami.close()


def _log_lines(hotline: Hotline, name: str, *needles: str) -> list[str]:
    text = (hotline.settings.logs / name).read_text(errors="replace")
    return [line for line in text.splitlines() if all(n in line for n in needles)]


def _guard_table(hotline: Hotline) -> str:
    """The hotline's nftables table, as ``nft`` lists it (its set holds the blocked addresses)."""
    return subprocess.run(["nft", "list", "table", "inet", processes.guard_table(hotline.settings)],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def _blocked(hotline: Hotline, address: str) -> bool:
    return address in (processes.guard_banned(hotline.settings) or [])


# a scan: 200 numbers, then names and numbers scanners try; op01/op07 are accounts, *21 an
# operator's feature code and 19001122 the hotline itself: they must look like the rest
SCAN = [str(n) for n in range(100, 300)] + [
    "1000", "admin", "00442079460000", "op01", "op07", "*21", "19001122", "s", "100"]

CARRIER_SCAN = ["100", "299", "1000", "admin", "00442079460000", "op01", "*21", "s"]


async def test_an_extension_scan_learns_nothing_and_is_blocked(hotline: Hotline) -> None:
    settings = hotline.settings
    scanner = "127.0.0.41"
    assert not _blocked(hotline, scanner)
    legit = CallPlan(number=settings.hotline_number, keys="0", caller="0909000141",
                     delay_ms=6000, max_call_s=60)
    async with ChannelWatch(hotline) as watch:
        with operators(hotline, talk_s=2.0, op08="now"):
            scan = asyncio.to_thread(probe, "127.0.0.1", settings.sip_port, scanner, SCAN,
                                     rate=50, wait_ms=1500)
            call = asyncio.to_thread(place, legit, "127.0.0.1", settings.sip_port)
            result, placed = await asyncio.gather(scan, call)
            # the carrier's own address (trusted: no challenge), calling from a caller's number,
            # learns no more: every number but the hotline's is "not found", operators' account
            # names and feature codes too. (Not so with an account's name as the From user: the
            # request is then identified as that account, endpoint_identifier_order=username,ip,
            # and challenged, 401 instead of 404: the carrier's address can tell account names.)
            carrier = await asyncio.to_thread(probe, "127.0.0.1", settings.sip_port, "127.0.0.1",
                                              CARRIER_SCAN, rate=20, wait_ms=3000,
                                              from_user="0281234567")
            # the operator, on another address, registers as before while the scanner is out
            assert _blocked(hotline, scanner)
            assert await asyncio.to_thread(_register, hotline, "op09", "127.0.0.20") == "200"
        (record,) = await asyncio.to_thread(wait_for_records, settings, [legit.call_id(1)], 30)
    try:
        # the scanner: the same answer for every extension it got one for (a challenge for
        # the realm, nothing that names the extension); then silence: dropped by the guard
        answers = {n: result.answer_of(n) for n in range(1, len(SCAN) + 1)}
        got = {a for a in answers.values() if a is not None}
        assert len(got) == 1, got
        (answer,) = got
        assert (answer.status, answer.reason) == ("401", "Unauthorized")
        assert result.statuses()["401"] >= settings.sip_ban_after
        assert result.silent >= len(SCAN) // 2, result.statuses()
        first_silent = min(n for n, a in answers.items() if a is None)
        assert all(a is None for n, a in answers.items() if n > first_silent + 50)
        carrier_got = {carrier.answer_of(n) for n in range(1, len(CARRIER_SCAN) + 1)}
        assert len(carrier_got) == 1, carrier_got
        assert next(iter(carrier_got)).status == "404"  # type: ignore[union-attr]
        # nothing of it reached the dialplan: the only channels and steps are the caller's
        trunk = [c for c in watch.channels if c["Channel"].startswith("PJSIP/trunk-")]
        assert trunk and all(c["Exten"] == settings.hotline_number for c in trunk), trunk
        names = {c["Channel"] for c in watch.channels}
        assert all(step[0] in names for step in watch.steps)
        assert not [c for c in watch.channels if c["CallerIDNum"] in SCAN or
                    c["Channel"].startswith(("PJSIP/anonymous", "PJSIP/op01-", "PJSIP/op07-"))]
        assert not [s for s in watch.steps if s[1] == "from-trunk" and
                    s[2] != settings.hotline_number]
        assert hotline.records_where(caller_number=scanner) == []
        # the legitimate caller, from the trunk, reached an operator during the scan
        assert placed.returncode == 0, placed.errors
        assert record is not None and record["operator"] == "op08", record
        # the log lines that did it
        failed = _log_lines(hotline, "messages", f"failed for '{scanner}:",
                            "No matching endpoint found")
        assert len(failed) >= settings.sip_ban_after
        assert _log_lines(hotline, "fail2ban.log", f"Ban {scanner}")
        assert scanner in await asyncio.to_thread(_guard_table, hotline)
        print(f"\nscan from {scanner}: {dict(result.statuses())} ({answer.status} "
              f"{answer.reason}); first silent INVITE #{first_silent}\n  {failed[0]}\n  "
              f"{_log_lines(hotline, 'fail2ban.log', f'Ban {scanner}')[0]}\n"
              f"from the carrier's address: {dict(carrier.statuses())}")
    finally:
        processes.guard_unban(settings, scanner)


async def test_an_invite_flood_is_blocked_and_callers_are_served(hotline: Hotline) -> None:
    """200 INVITEs a second for 10 s to the hotline's number from one address; four callers
    from the trunk call in as it starts (before the guard can have acted)."""
    settings = hotline.settings
    flooder = "127.0.0.42"
    assert not _blocked(hotline, flooder)
    callers = CallPlan(number=settings.hotline_number, caller="0909000142", count=4,
                       vary_caller=True, hangup_after_s=3.0, max_call_s=60)
    flood = asyncio.to_thread(probe, "127.0.0.1", settings.sip_port, flooder,
                              [settings.hotline_number] * 2000, rate=200, wait_ms=1000)
    calls = asyncio.to_thread(place, callers, "127.0.0.1", settings.sip_port)
    async with ChannelWatch(hotline) as watch:
        result, placed = await asyncio.gather(flood, calls)
        records = await asyncio.to_thread(wait_for_records, settings, placed.call_ids, 30)
    try:
        statuses = result.statuses()
        # the flood got the challenge until the guard dropped it, then silence to the end
        assert set(statuses) == {"401", "none"}, statuses
        assert result.sent == 2000 and statuses["none"] >= 1000, statuses
        assert _blocked(hotline, flooder)
        assert _log_lines(hotline, "fail2ban.log", f"Ban {flooder}")
        # every caller was served, and only their channels exist
        assert placed.returncode == 0, placed.errors
        assert all(r is not None and r["ended_at"] for r in records), records
        assert len({c["Channel"] for c in watch.channels
                    if c["Channel"].startswith("PJSIP/trunk-")}) == 4
        assert all(c["Exten"] == settings.hotline_number for c in watch.channels
                   if c["Channel"].startswith("PJSIP/")), watch.channels
        failed = _log_lines(hotline, "messages", f"failed for '{flooder}:")
        print(f"\nflood from {flooder}: {result.sent} INVITEs, {dict(statuses)}; "
              f"{len(failed)} 'No matching endpoint found' lines; 4/4 callers served")
    finally:
        processes.guard_unban(settings, flooder)

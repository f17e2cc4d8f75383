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
from .test_acd import log_out, operators
from .test_sip_security import _register

pytestmark = pytest.mark.e2e

# the SIP guard on loopback too (hotline up turns it on by itself when SIP listens beyond)
SETTINGS = {"sip_guard": "on", "sip_ban_after": 5, "sip_ban_window_s": 60}


class ChannelWatch:
    """Every channel Asterisk creates, every dialplan step it runs and every UserEvent while the
    watch is on (AMI Newchannel, Newexten and UserEvent, read as the tests' watch user)."""

    def __init__(self, hotline: Hotline) -> None:
        self.channels: list[dict[str, str]] = []
        self.steps: list[tuple[str, str, str, str]] = []  # channel, context, exten, application
        self.user_events: list[dict[str, str]] = []
        self._ami = amiwatch.client(hotline.settings, self._event, "call,dialplan,user")

    def _event(self, message: Any) -> None:
        if message.name == "Newchannel":
            self.channels.append({k: message.get(k, "") for k in
                                  ("Channel", "Context", "Exten", "CallerIDNum")})
        elif message.name == "Newexten":
            self.steps.append((message.get("Channel", ""), message.get("Context", ""),
                               message.get("Extension", message.get("Exten", "")),
                               message.get("Application", "")))
        elif message.name == "UserEvent":
            self.user_events.append({k: message.get(k, "") for k in
                                     ("UserEvent", "Channel", "AcdAgent", "AcdDialled",
                                      "AcdResult")})

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


# an operator's misdials, more than sip_ban_after: numbers, codes that are none (a *2x too short
# for any code), a #, a + number, a name
MISDIALS = ["555", "*99", "#1", "0909123456", "admin", "+842812345", "*2", "19001123"]


async def test_an_operators_misdials_are_refused_and_never_block_the_phone(hotline: Hotline
                                                                           ) -> None:
    """Each misdial of an authenticated operator's phone is answered with "not a valid number
    or code" and hung up by the hotline; Asterisk logs no "extension not found" for it (the SIP
    guard's filter counts that line in chan_sip's form, which some Asterisk versions' PJSIP use
    too), the guard counts nothing from the phone's address and does not block it (nor every
    operator behind it), and the operator logs in with *21 from there right after."""
    settings = hotline.settings
    phone, witness = "127.0.0.51", "127.0.0.52"  # not 127.0.0.1: the carrier's, never blocked
    account = ("op07", settings.operator_passwords["op07"])
    assert len(MISDIALS) > settings.sip_ban_after
    assert not _blocked(hotline, phone)
    assert (settings.sounds / "vi" / "agent_number_invalid.wav").exists()
    await asyncio.to_thread(log_out, hotline, "op07")
    try:
        async with ChannelWatch(hotline) as watch:
            placed = []
            for number in MISDIALS:  # one after the other, as an operator dials
                plan = CallPlan(number=number, account=account, source_ip=phone, misdial=True,
                                max_call_s=30)
                placed.append(await asyncio.to_thread(place, plan, "127.0.0.1",
                                                      settings.sip_port))
            # a wrong password from another address: once the guard has counted it, it has read
            # every line Asterisk logged before it, the misdials' included
            assert await asyncio.to_thread(_register, hotline, "op03", witness,
                                           password="not-it") == "401"
            await asyncio.to_thread(hotline.wait_until, lambda: _log_lines(
                hotline, "fail2ban.log", f"Found {witness}"), 60, "the guard read the log")
            # nothing the guard counts: no "not found" line, no failure found, not blocked
            assert not _log_lines(hotline, "messages", f":{phone}:", "extension not found")
            assert not _log_lines(hotline, "fail2ban.log", f"Found {phone}")
            assert not _blocked(hotline, phone)
            # every misdial was answered (SIPp got its 200 OK)
            assert [p.returncode for p in placed] == [0] * len(MISDIALS), \
                [p.errors for p in placed]
            # the operator, from the same address, logs in
            login = CallPlan(number="*21", account=account, source_ip=phone, max_call_s=30)
            logged_in = await asyncio.to_thread(place, login, "127.0.0.1", settings.sip_port)
            assert logged_in.returncode == 0, logged_in.errors
            # its result is the last event: every misdial's events came before it
            await asyncio.to_thread(hotline.wait_until, lambda: [
                e for e in watch.user_events if e["UserEvent"] == "AcdFeatureCode"], 30,
                "the result of *21")
        results = [e for e in watch.user_events if e["UserEvent"] == "AcdFeatureCode"]
        assert [(e["AcdAgent"], e["AcdResult"]) for e in results] == [("op07", "ok")]
        rows = processes.controller_request(settings, "agents") or []
        assert next(r["state"] for r in rows if r["agent"] == "op07") == "available"
        # each misdial was refused, and hung up by the hotline after the prompt
        refused = [e for e in watch.user_events if e["UserEvent"] == "AcdMisdial"]
        assert [(e["AcdAgent"], e["AcdDialled"]) for e in refused] == [
            ("op07", number) for number in MISDIALS]
        for event in refused:
            ran = [s[3] for s in watch.steps if s[0] == event["Channel"]
                   and s[1] == "operator-misdial"]
            assert ran == ["Answer", "UserEvent", "Playback", "Hangup"], (event, ran)
        # the callers' contexts have no catch-all: a caller's account dialling a number that
        # is not the hotline's is refused (404), as the carrier's address is for any number
        caller = CallPlan(number="555", account=("caller", settings.caller_password),
                          misdial=True, expect_rejection=True)
        assert (await asyncio.to_thread(place, caller, "127.0.0.1",
                                        settings.sip_port)).returncode == 0
        assert _log_lines(hotline, "messages", "to extension '555' rejected because extension "
                          "not found in context 'from-callers'")
    finally:
        if _blocked(hotline, phone):  # (before the fix)
            processes.guard_unban(settings, phone)
        await asyncio.to_thread(log_out, hotline, "op07")

"""Real calls with SIPp: ``hotline call 19001122 --keys "1 2#"``.

A SIPp scenario is generated for the keys: RFC 4733 DTMF captures made per call, pauses
that a BYE from the hotline interrupts at any time, then either waiting for the hotline to hang
up or hanging up ourselves after ``hangup_after`` seconds. Each call gets a Call-ID we choose,
which the dialplan stores in the call record, so the record of exactly this call is found.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from .config import Settings, free_port
from .dtmf import EVENTS, write_key_pcaps
from .sipagent import audio_sdp, free_media_port, reply

_NUMBER = re.compile(r"\+?[0-9]{1,20}")
_DIALLED = re.compile(r"\+?[0-9]{1,20}|\*[0-9]{2,10}")  # a number, or an operator's feature code
_MISDIALLED = re.compile(r"[0-9A-Za-z*#+]{1,32}")  # what else an operator's phone may dial


class CallError(Exception):
    code = "hotline.call_failed"


@dataclass(frozen=True)
class CallPlan:
    number: str
    keys: str = ""
    caller: str = "0909000111"
    delay_ms: int = 1000        # before the first key
    digit_ms: int = 300         # between keys of a group ("12#")
    gap_ms: int = 2500          # between groups ("1 2#")
    hangup_after_s: float | None = None   # we hang up this long after the last key
    max_call_s: float = 120.0   # give up waiting for the hotline to hang up
    count: int = 1              # simultaneous calls
    source_ip: str = "127.0.0.1"   # where the call comes from (the trunk peers are matched by it)
    account: tuple[str, str] | None = None  # (username, password): call as a SIP account
    vary_caller: bool = False  # with count > 1: each call from its own number (caller + n)
    expect_rejection: bool = False  # the hotline must refuse this INVITE (401/403/404)
    # speech: a "~" among the key groups sends this raw 8 kHz mu-law file as the caller's voice
    # (RTP, in the background: a key group right after it is pressed while it still plays)
    speech: str | None = None
    # the number is a misdial (digits, * # + and letters: what an operator's phone may send); a
    # # goes out escaped in the request URI
    misdial: bool = False
    tag: str = field(default_factory=lambda: secrets.token_hex(6))

    def __post_init__(self) -> None:
        if not (_MISDIALLED if self.misdial else _DIALLED).fullmatch(self.number):
            raise CallError(f"not a phone number: {self.number!r}")
        if not _NUMBER.fullmatch(self.caller):
            raise CallError(f"not a caller number: {self.caller!r}")
        bad = set(self.keys) - set(EVENTS) - set(" ~")
        if bad:
            raise CallError(f"keys may be 0-9 * # and spaces, not {''.join(sorted(bad))!r}")
        if "~" in self.keys and self.speech is None:
            raise CallError("'~' in the keys speaks the plan's speech file: give one")
        if any("~" in group and group != "~" for group in self.keys.split()):
            raise CallError("'~' (the caller speaks) is a key group of its own: \"~ 1\"")
        if not re.fullmatch(r"127(\.[0-9]{1,3}){3}", self.source_ip):
            raise CallError(f"calls come from a loopback address, not {self.source_ip!r}")
        if self.account and not all(re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", part)
                                    for part in self.account):
            raise CallError("account name and password: letters, digits, _ . - only")

    def call_id(self, n: int) -> str:
        """The Call-ID of the n-th call (1-based), as the dialplan keeps it (0-9 A-Z a-z @ .)."""
        return f"hc{self.tag}x{n}@{self.source_ip}"


def _invite(user: str, cseq: int, auth: str) -> str:
    return f"""  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:{user}@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: {cseq} INVITE
      Contact: <sip:{user}@[local_ip]:[local_port]>
      Max-Forwards: 70
      User-Agent: hotline-call{auth}
      Content-Type: application/sdp
      Content-Length: [len]

{audio_sdp('caller')}    ]]>
  </send>
  <recv response="100" optional="true"/>
"""


def _ack_failure(user: str, cseq: int) -> str:
    """The ACK of a final non-2xx answer: same branch as the INVITE (RFC 3261 17.1.1.3)."""
    return f"""  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "Caller" <sip:{user}@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: {cseq} ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""


def _wait_or_bye(ms: int, then: str) -> str:
    return (f'  <recv request="BYE" timeout="{max(ms, 1)}" ontimeout="{then}" next="bye"/>\n'
            f'  <label id="{then}"/>\n')


def scenario(plan: CallPlan, pcaps: list[Path]) -> str:
    """The SIPp scenario of one call; ``pcaps`` holds one DTMF capture per key, in order."""
    body = []
    step = 0

    def label() -> str:
        nonlocal step
        step += 1
        return f"s{step}"

    body.append(_wait_or_bye(plan.delay_ms, label()))
    groups = plan.keys.split()
    captures = iter(pcaps)
    for g, group in enumerate(groups):
        if group == "~":  # the caller speaks (SIPp streams the file while the scenario goes on)
            assert plan.speech is not None
            body.append(f'  <nop><action><exec rtp_stream="{escape(plan.speech)},1,0"/>'
                        f"</action></nop>\n")
            body.append(_wait_or_bye(plan.gap_ms, label()))
            continue
        for k, _key in enumerate(group):
            pcap = next(captures)
            body.append(f'  <nop><action><exec play_pcap_audio="{escape(str(pcap))}"/>'
                        f"</action></nop>\n")
            last = g == len(groups) - 1 and k == len(group) - 1
            pause = plan.digit_ms if k < len(group) - 1 or last else plan.gap_ms
            body.append(_wait_or_bye(pause, label()))
    if plan.hangup_after_s is not None:
        body.append(_wait_or_bye(int(plan.hangup_after_s * 1000), "hangup"))
    else:
        body.append(f'  <recv request="BYE" timeout="{int(plan.max_call_s * 1000)}" '
                    f'ontimeout="hangup" next="bye"/>\n  <label id="hangup"/>\n')
    user = escape(plan.account[0] if plan.account else plan.caller)
    if plan.vary_caller and not plan.account:
        user += "[call_number]"  # SIPp's counter: 0909555 + 1, 2, ...
    invite = _invite(user, 1, "")
    if plan.account:
        auth = (f"\n      [authentication username={plan.account[0]} "
                f"password={plan.account[1]}]")
        invite += f"""  <recv response="401" auth="true"/>
{_ack_failure(user, 1)}{_invite(user, 2, auth)}"""
    if plan.expect_rejection:
        return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hotline call refused">
{invite}  <recv response="401" next="refused" optional="true"/>
  <recv response="403" next="refused" optional="true"/>
  <recv response="404"/>
  <label id="refused"/>
{_ack_failure(user, 2 if plan.account else 1)}</scenario>
"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hotline call">
{invite}  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:{user}@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {2 if plan.account else 1} ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
{''.join(body)}  <send>
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:{user}@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {3 if plan.account else 2} BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" next="done"/>
  <label id="bye"/>
{reply("200 OK", to="[last_To:]")}  <label id="done"/>
  <timewait milliseconds="200"/>
</scenario>
"""


@dataclass(frozen=True)
class SippResult:
    returncode: int
    call_ids: list[str]
    errors: str


def place(plan: CallPlan, host: str, port: int, *, workdir: Path | None = None) -> SippResult:
    """Run SIPp for the plan and wait for it to finish; returns what SIPp reported."""
    sipp = shutil.which("sipp")
    if sipp is None:
        raise CallError("sipp is not installed (Debian package sip-tester): run 'make install'")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        xml = Path(tmp) / "caller.xml"
        xml.write_text(scenario(plan, write_key_pcaps(plan.keys.replace("~", ""), Path(tmp))),
                       encoding="iso-8859-1")
        timeout = plan.delay_ms / 1000 + plan.max_call_s + 30
        args = [sipp, f"{host}:{port}", "-sf", str(xml), "-s", plan.number.replace("#", "%23"),
                "-i", plan.source_ip, "-p", str(free_port(0, plan.source_ip, socket.SOCK_DGRAM)),
                "-mp", str(free_media_port()), "-m", str(plan.count), "-l", str(plan.count),
                "-r", str(max(plan.count, 10)), "-cid_str", f"hc{plan.tag}x%u@%s",
                "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error",
                "-trace_err", "-error_file", str(Path(tmp) / "errors.log"),
                "-default_behaviors", "all,-bye"]
        try:
            result = subprocess.run(args, cwd=tmp, check=False, capture_output=True, text=True,
                                    errors="replace", timeout=timeout + 15)
        except subprocess.TimeoutExpired as exc:
            raise CallError(f"sipp did not finish within {timeout + 15:.0f} s") from exc
        errors_file = Path(tmp) / "errors.log"
        errors = errors_file.read_text(errors="replace") if errors_file.exists() else ""
        if result.returncode not in (0, 1):
            errors = (errors + "\n" + result.stderr).strip()
    return SippResult(result.returncode, [plan.call_id(n) for n in range(1, plan.count + 1)],
                      errors[-4000:])


def wait_for_records(settings: Settings, call_ids: list[str], wait_s: float = 20.0
                     ) -> list[dict[str, object] | None]:
    """The finished call record of each SIP Call-ID (None where none appeared in time).

    Reads Asterisk's call journal too, so it works while the controller is down.
    """
    from records import journal
    from records.calls import find_by_sip_call_id
    from records.database import make_engine, make_sessions

    engine = make_engine(settings.database_url)
    sessions = make_sessions(engine)
    found: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + wait_s
    try:
        while True:
            journal.ingest(sessions, settings.cdr_journal)
            with sessions() as session:
                for call_id in call_ids:
                    call = find_by_sip_call_id(session, call_id)
                    if call and call.ended_at and call.outcome != "in_progress":
                        found[call_id] = call.as_dict()
            if len(found) == len(call_ids) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    return [found.get(call_id) for call_id in call_ids]

"""What a scanner or a flood gets from the hotline: INVITEs with no credentials, sent by SIPp
from one (loopback) address, and the answer each one got.

Used by the security tests (tests/e2e/test_sip_scan.py) and by ``bench.sip_flood``. Each INVITE
asks for one extension (an injection file lists them, in order); it carries no SDP and no
Authorization. A final answer is acknowledged (ACK, same branch) like a real UA does, so the
hotline does not repeat it; an INVITE that gets no final answer within ``wait_ms`` (dropped by
the guard, or lost) counts as silence.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .config import free_port

# the answers a scanner can meet; SIPp needs each one named
_FINAL = ("401", "403", "404", "407", "480", "484", "488", "500", "501", "503", "603")
# headers that differ between any two answers of the same kind, whoever sent them
_PER_REQUEST = {"via", "from", "to", "call-id", "cseq", "content-length", "date"}


class ProbeError(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    """One final answer, reduced to what could tell the extensions apart: the status line and
    every header but those that echo the request (WWW-Authenticate without its nonce and
    opaque, which are fresh each time)."""

    status: str
    reason: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ProbeResult:
    targets: list[str]
    answers: dict[int, Answer]   # by call number (1-based, the n-th target); silence: absent
    sent: int                    # INVITEs SIPp counted as sent (retransmissions not included)
    returncode: int

    def answer_of(self, n: int) -> Answer | None:
        return self.answers.get(n)

    @property
    def silent(self) -> int:
        return len(self.targets) - len(self.answers)

    def statuses(self) -> Counter[str]:
        """How many INVITEs got each status ("none": no answer)."""
        counts = Counter(a.status for a in self.answers.values())
        if self.silent:
            counts["none"] = self.silent
        return counts


def _scenario(wait_ms: int, from_user: str) -> str:
    # SIPp waits at the first of a run of optional recvs: each one carries the timeout
    wait = f'timeout="{wait_ms}" ontimeout="silent"'
    optional = "".join(f'  <recv response="{code}" optional="true" {wait} next="ack"/>\n'
                       for code in _FINAL[:-1])
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="probe">
  <send>
    <![CDATA[
      INVITE sip:[field0]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "{from_user}" <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]P[call_number]
      To: <sip:[field0]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{from_user}@[local_ip]:[local_port]>
      Max-Forwards: 70
      User-Agent: friendly-scanner
      Content-Length: 0
    ]]>
  </send>
  <recv response="100" optional="true" {wait}/>
  <recv response="180" optional="true" {wait}/>
  <recv response="183" optional="true" {wait}/>
{optional}  <recv response="{_FINAL[-1]}" {wait} next="ack"/>
  <label id="ack"/>
  <send>
    <![CDATA[
      ACK sip:[field0]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: "{from_user}" <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]P[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <label id="silent"/>
</scenario>
"""


def _answers(trace: str) -> dict[int, Answer]:
    """The final answers in SIPp's message trace, by call number (from our Call-ID)."""
    found: dict[int, Answer] = {}
    for chunk in trace.split("message received")[1:]:
        message = chunk.split("\n----", 1)[0]  # up to the next message (sent or received)
        status = re.search(r"^SIP/2\.0 ([0-9]{3}) ?(.*)$", message, re.MULTILINE)
        call = re.search(r"^Call-ID: *probe([0-9]+)x", message, re.MULTILINE | re.IGNORECASE)
        if not status or not call or status[1] < "200":
            continue
        headers = []
        for line in message.split("\n", 1)[1].splitlines() if "\n" in message else []:
            name, colon, value = line.partition(":")
            if not colon or not name.strip() or name.strip().lower() in _PER_REQUEST \
                    or " " in name.strip():
                continue
            value = re.sub(r'(nonce|opaque)="[^"]*"', r'\1=""', value.strip())
            headers.append((name.strip().lower(), value))
        found.setdefault(int(call[1]), Answer(status[1], status[2].strip(),
                                              tuple(sorted(headers))))
    return found


def probe(host: str, port: int, source: str, targets: list[str], rate: int,
          wait_ms: int = 2000, timeout_s: float = 120, from_user: str = "[field0]"
          ) -> ProbeResult:
    """Send one INVITE per target from ``source`` at ``rate`` a second; what each got. The
    From user is the target itself (as scanners do), or ``from_user`` (a caller number)."""
    sipp = shutil.which("sipp")
    if sipp is None:
        raise ProbeError("sipp is not installed (Debian package sip-tester)")
    if not targets or any(not re.fullmatch(r"[A-Za-z0-9*#+._-]{1,40}", t) for t in targets):
        raise ProbeError("targets: SIP user parts (letters, digits, * # + . _ -)")
    if from_user != "[field0]" and not re.fullmatch(r"[A-Za-z0-9+._-]{1,40}", from_user):
        raise ProbeError("from_user: a SIP user part (letters, digits, + . _ -)")
    with tempfile.TemporaryDirectory(prefix="sipprobe-") as folder:
        work = Path(folder)
        (work / "probe.xml").write_text(_scenario(wait_ms, from_user), encoding="iso-8859-1")
        (work / "targets.csv").write_text("SEQUENTIAL\n" + "".join(f"{t};\n" for t in targets))
        args = [sipp, f"{host}:{port}", "-sf", "probe.xml", "-inf", "targets.csv",
                "-i", source, "-p", str(free_port(0, source, socket.SOCK_DGRAM)),
                "-m", str(len(targets)), "-r", str(rate), "-l", str(len(targets)),
                "-cid_str", "probe%ux%s", "-nostdin", "-timeout", f"{int(timeout_s)}s",
                "-trace_msg", "-message_file", "messages.log",
                "-trace_stat", "-stf", "stats.csv", "-fd", "3600", "-default_behaviors", "none"]
        try:
            result = subprocess.run(args, cwd=work, capture_output=True, text=True,
                                    errors="replace", timeout=timeout_s + 30, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ProbeError(f"sipp did not finish within {timeout_s + 30:.0f} s") from exc
        trace = work / "messages.log"
        answers = _answers(trace.read_text(errors="replace") if trace.exists() else "")
        sent = 0
        stats = work / "stats.csv"
        if stats.exists():
            rows = stats.read_text(errors="replace").splitlines()
            if len(rows) >= 2:
                fields = dict(zip(rows[0].split(";"), rows[-1].split(";"), strict=False))
                sent = int(fields.get("TotalCallCreated", "0") or 0)
    if result.returncode not in (0, 1):
        raise ProbeError(f"sipp failed ({result.returncode}): {result.stderr[-1500:]}")
    return ProbeResult(targets, answers, sent, result.returncode)

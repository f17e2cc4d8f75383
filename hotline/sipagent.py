"""SIPp operators: a softphone that registers with digest auth and answers (late, never, busy).

    agent = SippOperator("op07", password, host, port, answer="after:2000", talk_s=5)
    agent.start()            # registers, then takes `calls` INVITEs one after the other
    ...
    agent.stop()

Used by the ACD's end-to-end tests and by admins to try the ACD without real softphones.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .config import free_port


class OperatorError(Exception):
    code = "hotline.operator_failed"


def audio_sdp(origin: str) -> str:
    """The SDP body of a SIPp offer or answer: G.711 u-law and RFC 4733 keys, SIPp's own media
    address and port (``origin`` names the side in the o= line)."""
    return f"""      v=0
      o={origin} 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=sendrecv
"""


def reply(status: str, *, tag: str = "OP", cseq: str = "[last_CSeq:]", to: str | None = None,
          extra: str = "") -> str:
    """A SIPp <send> of a response to the last request (``tag``: our To tag; None keeps it)."""
    to_line = to if to is not None else f"[last_To:];tag=[pid]{tag}[call_number]"
    return f"""  <send>
    <![CDATA[
      SIP/2.0 {status}
      [last_Via:]
      [last_From:]
      {to_line}
      [last_Call-ID:]
      {cseq}{extra}
      Content-Length: 0
    ]]>
  </send>
"""


def _answer_part(answer: str, talk_s: float | None) -> str:
    """What the phone does with an INVITE: ring, then answer / never answer / busy."""
    ringing = reply("180 Ringing", extra="\n      Contact: <sip:[service]@[local_ip]:[local_port]>")
    if answer == "busy":
        return reply("486 Busy Here") + '  <recv request="ACK" next="ready"/>\n'
    if answer == "never":
        return (ringing + '  <recv request="CANCEL"/>\n' + reply("200 OK")
                + reply("487 Request Terminated", cseq="CSeq: [cseq] INVITE")
                + '  <recv request="ACK" next="ready"/>\n')
    delay = int(answer.split(":", 1)[1]) if answer.startswith("after:") else 0
    hangup = ""
    if talk_s is not None:
        hangup = f"""  <recv request="BYE" timeout="{int(talk_s * 1000)}" ontimeout="we_hang_up"
        next="they_hung_up"/>
  <label id="we_hang_up"/>
  <send retrans="500">
    <![CDATA[
      BYE [$contact_uri] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$to];tag=[pid]OP[call_number]
      To: [$from]
      Call-ID: [$callid]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" next="ready"/>
"""
    return ringing + f"""  <pause milliseconds="{max(delay, 1)}"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]OP[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[service]@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

{audio_sdp('operator')}    ]]>
  </send>
  <recv request="ACK"/>
{hangup}  <recv request="BYE"/>
  <label id="they_hung_up"/>
{reply("200 OK", to="[last_To:]")}"""


def register_scenario(username: str, password: str, expires: int = 3600) -> str:
    """REGISTER with digest authentication (the UAC half of a softphone)."""
    def register(cseq: int, auth: str) -> str:
        return f"""  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{username}@[remote_ip]:[remote_port]>;tag=[pid]R[call_number]
      To: <sip:{username}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: {cseq} REGISTER
      Contact: <sip:{username}@[local_ip]:[local_port]>{auth}
      Expires: {expires}
      Max-Forwards: 70
      User-Agent: hotline-operator
      Content-Length: 0
    ]]>
  </send>
"""
    auth = f"\n      [authentication username={username} password={password}]"
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register {username}">
{register(1, "")}  <recv response="401" auth="true"/>
{register(2, auth)}  <label id="answer"/>
  <!-- a slow server answers the first REGISTER's retransmission late: its 401 is not the
       answer to the authenticated one (a wrong password runs into the timeout instead) -->
  <recv response="401" optional="true" next="answer"/>
  <recv response="200"/>
</scenario>
"""


def answer_scenario(answer: str, talk_s: float | None) -> str:
    """What the phone does with each INVITE (the UAS half of a softphone)."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="operator phone">
  <recv request="OPTIONS" optional="true" next="pong"/>
  <recv request="INVITE">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/>
      <ereg regexp="[^;]*" search_in="hdr" header="To:" assign_to="to"/>
      <ereg regexp=".*" search_in="hdr" header="Call-ID:" assign_to="callid"/>
      <ereg regexp="&lt;([^&gt;]*)&gt;" search_in="hdr" header="Contact:"
            assign_to="junk,contact_uri"/>
    </action>
  </recv>
{_answer_part(answer, talk_s)}  <nop next="ready"/>
  <label id="pong"/>
{reply("200 OK", tag="Q")}  <label id="ready"/>
  <timewait milliseconds="100"/>
  <Reference variables="junk,from,to,callid,contact_uri"/>
</scenario>
"""


def switch_off(process: subprocess.Popen[bytes], grace_s: float = 10) -> None:
    """Stop a phone process: SIGTERM, then SIGKILL after ``grace_s``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_media_port() -> int:
    """An even UDP port free along with port+2, for SIPp's media (-mp): SIPp binds audio RTP
    and RTCP at port and port+1, video at port+2 and port+3. Drawn from 30000-49998, apart from
    the spare block that ``free_port`` walks for SIP ports: a phone's media taken from that
    block could land on the port picked (not yet bound) for the next phone or callee."""
    for _ in range(100):
        port = secrets.randbelow(10000) * 2 + 30000
        if all(free_port(p, "127.0.0.1", socket.SOCK_DGRAM) == p for p in (port, port + 2)):
            return port
    raise OperatorError("no free UDP port pair for SIPp's media")


class _Phone:
    """What every SIPp phone here shares: the answer mode, the sipp binary, stopping."""

    answer: str
    _process: subprocess.Popen[bytes] | None
    _folder: str | None

    def _prepare(self) -> None:
        """Check the answer mode; no process yet (from __post_init__)."""
        if not re.fullmatch(r"now|never|busy|after:[0-9]{1,6}", self.answer):
            raise OperatorError(f"answer is now, never, busy or after:<ms>, not {self.answer!r}")
        self._process, self._folder = None, None

    @staticmethod
    def _sipp() -> str:
        sipp = shutil.which("sipp")
        if sipp is None:
            raise OperatorError("sipp is not installed (Debian package sip-tester)")
        return sipp

    def _messages(self) -> str:
        """SIPp's trace of the SIP messages so far (``-trace_msg``)."""
        log = Path(self._folder or "/nonexistent") / "messages.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def invites(self) -> int:
        """How many calls reached this phone so far."""
        return self._messages().count("INVITE sip:")

    def dialled(self) -> list[str]:
        """The user part of each INVITE's request URI so far: the numbers this phone was
        called at (a carrier sees the number a callback dials there)."""
        return re.findall(r"^INVITE sip:([^@\s;>]+)@", self._messages(), re.MULTILINE)

    def invite_times(self) -> list[float]:
        """When each call reached this phone (epoch seconds, from SIPp's trace): the ring."""
        return [time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + float(f"0.{micro}")
                for stamp, micro in re.findall(
                    r"^-+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d+)\n"
                    r"\S+ message received[^\n]*\n\s*\nINVITE sip:",
                    self._messages(), re.MULTILINE)]

    def caller_ids(self) -> list[str]:
        """The From header of each call offered so far: what the phone's screen shows."""
        return re.findall(r"^INVITE sip:[^\n]*\n(?:[^\n]+\n)*?From:\s*([^\r\n]*)",
                          self._messages(), re.MULTILINE)

    def stop(self) -> int | None:
        """Switch the phone off (its folder goes too); SIPp's exit status, if it ran."""
        if self._process is None:
            return None
        switch_off(self._process)
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
        return self._process.returncode


@dataclass
class SippOperator(_Phone):
    username: str
    password: str
    host: str
    port: int
    answer: str = "now"          # now | after:<ms> | never | busy
    talk_s: float | None = 5.0   # hang up after this long; None: wait for the caller's BYE
    wait_s: float = 300.0        # the phone is switched off after this long

    def __post_init__(self) -> None:
        if not re.fullmatch(r"op[0-9]{2,3}", self.username):
            raise OperatorError(f"not an operator account: {self.username!r}")
        self._prepare()

    def start(self) -> None:
        """Register from a port, then answer calls on that same port (Asterisk's contact)."""
        sipp = self._sipp()
        self._folder = tempfile.mkdtemp(prefix=f"operator-{self.username}-")
        folder = Path(self._folder)
        (folder / "register.xml").write_text(register_scenario(self.username, self.password),
                                             encoding="iso-8859-1")
        (folder / "phone.xml").write_text(answer_scenario(self.answer, self.talk_s),
                                          encoding="iso-8859-1")
        local = free_port(0, "127.0.0.1", socket.SOCK_DGRAM)
        common = [f"{self.host}:{self.port}", "-i", "127.0.0.1", "-p", str(local), "-nostdin",
                  "-trace_err", "-error_file", str(folder / "errors.log")]
        registered = subprocess.run(
            [sipp, *common, "-sf", str(folder / "register.xml"), "-s", self.username,
             "-m", "1", "-timeout", "10s", "-timeout_error"],
            cwd=folder, check=False, capture_output=True, timeout=30)
        if registered.returncode != 0:
            errors = (folder / "errors.log").read_text(errors="replace")[-1500:] \
                if (folder / "errors.log").exists() else ""
            raise OperatorError(f"{self.username} could not register: {errors}")
        self._process = subprocess.Popen(
            [sipp, *common, "-sf", str(folder / "phone.xml"),
             "-mp", str(free_media_port()),
             "-timeout", f"{int(self.wait_s)}s", "-default_behaviors", "all,-bye",
             "-trace_msg", "-message_file", str(folder / "messages.log")],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class SippCallee(_Phone):
    """A phone at a fixed address that answers calls (a caller being called back, behind the
    carrier): no registration, just the answering half."""

    port: int
    answer: str = "now"
    talk_s: float | None = 4.0
    wait_s: float = 300.0

    def __post_init__(self) -> None:
        self._prepare()

    def start(self) -> None:
        sipp = self._sipp()
        self._folder = tempfile.mkdtemp(prefix="callee-")
        xml = Path(self._folder) / "callee.xml"
        xml.write_text(answer_scenario(self.answer, self.talk_s), encoding="iso-8859-1")
        self._process = subprocess.Popen(
            [sipp, "-sf", str(xml), "-i", "127.0.0.1", "-p", str(self.port),
             "-mp", str(free_media_port()), "-nostdin",
             "-timeout", f"{int(self.wait_s)}s", "-trace_msg",
             "-message_file", str(Path(self._folder) / "messages.log"),
             "-default_behaviors", "all,-bye"],
            cwd=self._folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


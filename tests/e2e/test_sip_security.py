"""No anonymous SIP: only the trunk peers (by address) and digest-authenticated accounts reach
the hotline; Redis wants its password and listens on loopback; the controller's AMI user has only
what it uses, from 127.0.0.1 only; secrets never reach a log."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import AuthenticationError

from hotline import processes
from hotline.config import PROJECT_ROOT, free_port
from hotline.redact import secrets_of
from hotline.sipcall import CallPlan, place, wait_for_records

from .conftest import Hotline, secrets_in_logs

pytestmark = pytest.mark.e2e

# the SIP guard on loopback too (hotline up turns it on by itself when SIP listens beyond)
SETTINGS = {"sip_guard": "on", "sip_ban_after": 5, "sip_ban_window_s": 60}


def _plan(hotline: Hotline, **kwargs: object) -> CallPlan:
    return CallPlan(number=hotline.settings.hotline_number, **kwargs)  # type: ignore[arg-type]


def test_who_may_call(hotline: Hotline) -> None:
    settings = hotline.settings
    refused = {
        "a stranger's address": _plan(hotline, source_ip="127.0.0.2", expect_rejection=True),
        "the demo account, wrong password": _plan(hotline, account=("caller", "wrong"),
                                                  expect_rejection=True),
        "an operator account, wrong password": _plan(hotline, account=("op01", "nope"),
                                                     expect_rejection=True),
        "an account that does not exist": _plan(hotline, account=("admin", "admin"),
                                                expect_rejection=True, source_ip="127.0.0.3"),
    }
    allowed = _plan(hotline, account=("caller", settings.caller_password), hangup_after_s=7.0)
    with ThreadPoolExecutor(len(refused) + 1) as pool:
        runs = {name: pool.submit(place, plan, "127.0.0.1", settings.sip_port)
                for name, plan in {**refused, "allowed": allowed}.items()}
        results = {name: run.result() for name, run in runs.items()}
    for name, plan in refused.items():
        assert results[name].returncode == 0, f"{name}: {results[name].errors[-500:]}"
        assert hotline.records_where(sip_call_id=plan.call_id(1)) == [], name
    assert results["allowed"].returncode == 0
    (record,) = wait_for_records(settings, [allowed.call_id(1)], 30)
    assert record is not None
    assert record["caller_number"] == "0909000111"  # the account's caller ID, not the From user
    assert {"node": "identify", "action": "identify_caller", "outcome": "found"} in \
        record["path"]


def _cli(hotline: Hotline, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline.cli", "--runtime",
                           str(hotline.settings.runtime), *args], capture_output=True, text=True,
                          timeout=120, cwd=PROJECT_ROOT, check=False)


def test_secrets_stay_in_their_0600_files(hotline: Hotline) -> None:
    (record,) = hotline.call("", hangup_after_s=7.0)  # every part has logged something
    assert record is not None
    settings = hotline.settings
    secrets = secrets_of(settings)
    assert len(secrets) > 50  # AMI, FastAGI, Redis, SIP and the desk's first passwords
    # `hotline status` (text and JSON) and `hotline up` show none; --show-secrets shows them
    shown = {" ".join(args): _cli(hotline, *args) for args in
             (("status",), ("status", "--json"), ("up",), ("up", "--show-secrets"))}
    for command, result in shown.items():
        assert result.returncode == 0, f"{command}: {result.stderr}"
        leaked = [s for s in secrets if s in result.stdout + result.stderr]
        if command == "up --show-secrets":
            assert sorted(leaked) == sorted([settings.web_passwords["op01"],
                                             settings.caller_password])
        else:
            assert not leaked, f"{command} shows {len(leaked)} secret(s)"
    assert "caller_password in" in shown["up"].stdout
    assert json.loads(shown["status --json"].stdout)["settings"]["ami_secret"] == "***"
    # no log holds one (the harness checks every log again when the module's hotline stops);
    # every file that holds one is 0600, in the 0700 runtime folder
    assert secrets_in_logs(settings) == []
    assert settings.runtime.stat().st_mode & 0o777 == 0o700
    holders = []
    for path in settings.runtime.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 50_000_000 \
                and path.parent.name not in ("sounds", "prompts"):
            data = path.read_bytes()
            if any(s.encode() in data for s in secrets):
                holders.append(path.relative_to(settings.runtime))
                assert path.stat().st_mode & 0o777 == 0o600, path
    assert Path("hotline.json") in holders and Path("etc/pjsip.conf") in holders


def _register(hotline: Hotline, user: str, source: str, contact: str = "",
              password: str | None = None, wait_s: int = 15) -> str:
    """An un-REGISTER (Expires 0: no contact is left) of ``user`` from ``source``, naming
    Contact host ``contact`` (``source`` by default), with ``password`` (the account's by
    default): the hotline's last answer ("200" registered), or "no answer"."""
    answers = _registering(hotline, user, source, contact, password, wait_s)
    return answers[-1][0] if answers else "no answer"


def _registering(hotline: Hotline, user: str, source: str, contact: str = "",
                 password: str | None = None, wait_s: int = 15) -> list[tuple[str, str]]:
    """Each answer to an un-REGISTER (see ``_register``): its status and its challenge
    (WWW-Authenticate without the nonce and opaque, which differ each time)."""
    settings = hotline.settings
    contact = contact or source
    if password is None:
        password = settings.operator_passwords[user]

    def register(cseq: int, auth: str) -> str:
        return f"""  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{user}@[remote_ip]:[remote_port]>;tag=[pid]R[call_number]
      To: <sip:{user}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: {cseq} REGISTER
      Contact: <sip:{user}@{contact}:5099>{auth}
      Expires: 0
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""
    auth = f"\n      [authentication username={user} password={password}]"
    steps = (f'{register(1, "")}  <recv response="403" optional="true" next="end"/>\n'
             f'  <recv response="401" auth="true"/>\n{register(2, auth)}'
             f'  <recv response="403" optional="true" next="end"/>\n'
             f'  <recv response="401" optional="true" next="end"/>\n'
             f'  <recv response="200"/>\n  <label id="end"/>\n')
    with tempfile.TemporaryDirectory() as folder:
        xml = Path(folder) / "register.xml"
        xml.write_text(f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="r">\n'
                       f"{steps}</scenario>\n", encoding="iso-8859-1")
        subprocess.run(
            ["sipp", f"127.0.0.1:{settings.sip_port}", "-sf", str(xml), "-i", source,
             "-p", str(free_port(0, source, socket.SOCK_DGRAM)), "-m", "1", "-nostdin",
             "-timeout", f"{wait_s}s", "-timeout_error", "-trace_msg", "-message_file",
             str(Path(folder) / "messages.log")],
            cwd=folder, capture_output=True, timeout=wait_s + 45, check=False)
        trace = Path(folder) / "messages.log"
        text = trace.read_text(errors="replace") if trace.exists() else ""
    answers = []
    for message in text.split("message received")[1:]:
        status = re.search(r"^SIP/2\.0 ([0-9]{3})", message, re.MULTILINE)
        challenge = re.search(r"^WWW-Authenticate: (.*)$", message, re.MULTILINE)
        if status:
            answers.append((status[1], re.sub(r'(nonce|opaque)="[^"]*"', r'\1=""',
                                              challenge[1].strip()) if challenge else ""))
    return answers


def test_operator_networks_and_trunk_peers_from_the_command_line(hotline: Hotline) -> None:
    settings = hotline.settings
    peers_before = settings.trunk_peers
    changed = _cli(hotline, "up", "--operator-networks", "127.0.0.1,127.0.0.16/30",
                   "--trunk-peers", "127.0.0.1,127.0.0.4")
    assert changed.returncode == 0, changed.stderr
    assert "SIP settings reloaded" in changed.stdout
    stored = json.loads((settings.runtime / "hotline.json").read_text())
    assert (stored["operator_networks"], stored["trunk_peers"]) == (
        ["127.0.0.1/32", "127.0.0.16/30"], ["127.0.0.1/32", "127.0.0.4/32"])
    try:
        # an operator's phone: from a configured network, its contact there too: registered;
        # from another address, or naming a contact elsewhere: refused with the right password
        # (Asterisk 16 challenges again, as for an unknown user), and logged
        assert _register(hotline, "op05", "127.0.0.1") == "200"
        assert _register(hotline, "op05", "127.0.0.17") == "200"
        assert _register(hotline, "op05", "127.0.0.6") in ("401", "403")
        assert _register(hotline, "op05", "127.0.0.1", "192.0.2.9") in ("401", "403")
        log = (settings.logs / "messages").read_text(errors="replace")
        assert "failed for '127.0.0.6:" in log and "Not match Endpoint ACL" in log
        assert "Not match Endpoint Contact ACL" in log
        # the carrier's second address now calls in without authentication
        trunk = _plan(hotline, source_ip="127.0.0.4", hangup_after_s=5.0)
        assert place(trunk, "127.0.0.1", settings.sip_port).returncode == 0
        (record,) = wait_for_records(settings, [trunk.call_id(1)], 30)
        assert record is not None
    finally:
        restored = _cli(hotline, "up", "--operator-networks", "any", "--trunk-peers",
                        ",".join(peers_before))
        assert restored.returncode == 0, restored.stderr
    assert _register(hotline, "op05", "127.0.0.6") == "200"
    assert json.loads((settings.runtime / "hotline.json").read_text())[
        "operator_networks"] == []


def test_an_unknown_user_and_a_wrong_password_are_answered_alike(hotline: Hotline) -> None:
    wrong = _registering(hotline, "op03", "127.0.0.31", password="not-it")
    unknown = _registering(hotline, "op99", "127.0.0.32", password="not-it")
    assert [status for status, _ in wrong] == ["401", "401"]
    assert wrong == unknown  # the same challenges: nothing tells that op99 does not exist


def _guess_passwords(hotline: Hotline, source: str, user: str, count: int) -> tuple[int, int]:
    """SIPp from ``source``: ``count`` REGISTERs of ``user``, each answering the challenge with
    a wrong password, 20 a second; (challenges answered, attempts that got no answer)."""
    register = """  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:USER@[remote_ip]:[remote_port]>;tag=[pid]G[call_number]
      To: <sip:USER@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: CSEQ REGISTER
      Contact: <sip:USER@[local_ip]:[local_port]>AUTH
      Expires: 0
      Content-Length: 0
    ]]>
  </send>
""".replace("USER", user)
    guess = f"\n      [authentication username={user} password=not-the-password]"
    xml = (f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="guess">\n'
           f'{register.replace("CSEQ", "1").replace("AUTH", "")}'
           f'  <recv response="401" auth="true" timeout="1500" ontimeout="silent"/>\n'
           f'{register.replace("CSEQ", "2").replace("AUTH", guess)}'
           f'  <recv response="401" timeout="1500" ontimeout="silent" next="end"/>\n'
           f'  <label id="silent"/>\n  <nop><action><log message="silent"/></action></nop>\n'
           f'  <label id="end"/>\n</scenario>\n')
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "guess.xml").write_text(xml, encoding="iso-8859-1")
        subprocess.run(
            ["sipp", f"127.0.0.1:{hotline.settings.sip_port}", "-sf", "guess.xml", "-i", source,
             "-p", str(free_port(0, source, socket.SOCK_DGRAM)), "-m", str(count), "-r", "20",
             "-l", str(count), "-nostdin", "-timeout", "120s", "-trace_logs", "-log_file", "actions.log"],
            cwd=folder, capture_output=True, timeout=180, check=False)
        actions = Path(folder) / "actions.log"
        silent = actions.read_text().count("silent") if actions.exists() else 0
    return count - silent, silent


def test_password_guessing_blocks_that_address_only(hotline: Hotline) -> None:
    settings = hotline.settings
    attacker, operator = "127.0.0.9", "127.0.0.20"
    assert processes.guard_banned(settings) == []
    assert _register(hotline, "op08", operator) == "200"
    answered, silent = _guess_passwords(hotline, attacker, "op07", 100)
    try:
        # fail2ban read Asterisk's "Failed to authenticate" lines and dropped the address:
        # the first guesses were answered, the rest met silence
        hotline.wait_until(lambda: attacker in (processes.guard_banned(settings) or []), 30,
                           f"{attacker} blocked")
        assert silent >= 50, (answered, silent)
        log = (settings.logs / "fail2ban.log").read_text()
        assert f"Ban {attacker}" in log
        assert f"failed for '{attacker}:" in (settings.logs / "messages").read_text()
        # now even the right password from there meets silence; the operator on another
        # address registers and a caller's call is served as before
        assert _register(hotline, "op07", attacker, wait_s=4) == "no answer"
        assert _register(hotline, "op08", operator) == "200"
        (record,) = hotline.call("", hangup_after_s=5.0)
        assert record is not None
        table = subprocess.run(["nft", "list", "table", "inet", processes.guard_table(settings)],
                               capture_output=True, text=True, check=True, timeout=30).stdout
        assert attacker in table
        dropped = {protocol: {int(port) for port in ports.split(",")} for protocol, ports in
                   re.findall(r"(udp|tcp) dport \{ ([0-9, ]+) \}", table)}
        sip = {settings.sip_port, settings.tls_port}  # the SIP port and the SIP over TLS port
        assert dropped == {"udp": sip, "tcp": sip}
    finally:
        processes.guard_unban(settings, attacker)
    assert _register(hotline, "op07", attacker) == "200"
    assert processes.guard_banned(settings) == []


def _listening(port: int) -> set[str]:
    """The local addresses TCP sockets listen on at this port (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_redis_wants_its_password_and_listens_on_loopback_only(hotline: Hotline) -> None:
    settings = hotline.settings
    with socket.create_connection(("127.0.0.1", settings.redis_port), timeout=5) as s:
        s.sendall(b"PING\r\n")
        assert s.recv(64).startswith(b"-NOAUTH Authentication required")
    with Redis(host="127.0.0.1", port=settings.redis_port) as anonymous, \
            pytest.raises(AuthenticationError):
        anonymous.get("acd:agents")
    with Redis(host="127.0.0.1", port=settings.redis_port, password="guess") as guessing, \
            pytest.raises(AuthenticationError):
        guessing.ping()
    with Redis(**settings.redis_connection()) as hotline_client:
        assert hotline_client.ping()
        assert hotline.status() is not None  # the controller is connected with it
    assert _listening(settings.redis_port) == {"127.0.0.1"}
    # kept 0600 in the runtime folder, never on a command line other users can read
    for path in (settings.runtime / "hotline.json", settings.etc / "redis.conf"):
        assert path.stat().st_mode & 0o777 == 0o600, path
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        assert settings.redis_password.encode() not in cmdline, pid


def _ami(port: int, source: str, *actions: dict[str, str]) -> list[dict[str, str]]:
    """Log in and send ``actions`` on a raw AMI connection from ``source``; each answer."""
    answers = []
    with socket.socket() as s:
        s.bind((source, 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        buffer = b""
        while b"\r\n" not in buffer:  # the banner
            buffer += s.recv(4096)
        buffer = buffer.split(b"\r\n", 1)[1]
        for action in actions:
            s.sendall("".join(f"{k}: {v}\r\n" for k, v in action.items()).encode() + b"\r\n")
            while True:  # the answer to this action (events would have Event:, not Response:)
                while b"\r\n\r\n" not in buffer:
                    chunk = s.recv(4096)
                    if not chunk:
                        return answers
                    buffer += chunk
                block, buffer = buffer.split(b"\r\n\r\n", 1)
                fields = dict(line.split(": ", 1) for line in block.decode().split("\r\n")
                              if ": " in line)
                if "Response" in fields:
                    answers.append(fields)
                    break
    return answers


def test_the_controllers_ami_user_has_only_what_it_uses(hotline: Hotline) -> None:
    settings = hotline.settings
    user, port = settings.ami_username, settings.ami_port

    def login(secret: str) -> dict[str, str]:
        return {"Action": "Login", "Username": user, "Secret": secret, "Events": "off"}

    refused = {"Response": "Error", "Message": "Authentication failed"}
    assert _ami(port, "127.0.0.1", login("guess")) == [refused]
    # the right secret from another loopback address: not the controller, refused
    assert _ami(port, "127.0.0.2", login(settings.ami_secret)) == [refused]
    answers = _ami(
        port, "127.0.0.1", login(settings.ami_secret),
        {"Action": "Command", "Command": "core show version"},
        {"Action": "GetConfig", "Filename": "manager.conf"},
        {"Action": "Originate", "Channel": "Local/s@hotline", "Application": "System",
         "Data": "true", "Async": "true"},
        {"Action": "ModuleLoad", "Module": "chan_sip.so", "LoadType": "load"},
        {"Action": "Getvar", "Variable": "ACD_LEASE"},
    )
    assert [a["Response"] for a in answers] == ["Success", "Error", "Error", "Error", "Error",
                                                "Success"]
    assert [a["Message"] for a in answers[1:3]] == ["Permission denied"] * 2
    assert answers[3]["Message"].startswith("Originate Access Forbidden")  # it needs system
    assert answers[4]["Message"] == "Permission denied"
    shown = processes.asterisk_cli(settings, f"manager show user {user}")
    perms = dict(line.strip().split(": ", 1) for line in shown.splitlines()
                 if line.strip().startswith(("read perm", "write perm")))
    assert perms == {"read perm": "call,user", "write perm": "call,reporting,originate"}

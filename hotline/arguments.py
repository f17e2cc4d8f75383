"""Checked command-line values for ``hotline``: each ``type=`` function turns a string into the
value or raises ``argparse.ArgumentTypeError`` with one sentence, which argparse prints as
``hotline <command>: error: argument --x: <sentence>`` with exit code 2.

What reaches a rendered configuration file (addresses, ports, hosts) is checked here, before it
is stored in the runtime folder's settings or written into Asterisk's configuration.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
from datetime import date
from pathlib import Path

_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    return value


def positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def seconds(text: str) -> float:
    """A duration in seconds, 0 or more."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a duration in seconds is 0 or more, not {text}")
    return value


def day(text: str) -> date:
    """A calendar day, YYYY-MM-DD."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text.strip()[:40]!r} is not a date: give it as "
                                         f"YYYY-MM-DD (e.g. 2026-12-07)") from None


def port(text: str) -> int:
    value = _whole(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {value}")
    return value


def ip_address(text: str) -> str:
    """An IPv4 address to bind to (Asterisk's SIP transports are IPv4 here)."""
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IPv4 address (e.g. 127.0.0.1, or 0.0.0.0 for every "
            "interface)") from None


def check_networks(values: list[str], what: str, *, anywhere: bool) -> list[str]:
    """IPv4 addresses or networks (``10.1.0.0/16``), normalised (``10.1.0.5/32``); raises
    ValueError with one sentence. ``anywhere``: whether the whole internet (``0.0.0.0/0``)
    may be one of them (never for the trunk: anyone could call in as the carrier)."""
    found = []
    for value in values:
        try:
            network = ipaddress.IPv4Network(str(value).strip(), strict=False)
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not an IPv4 address or network (e.g. "
                             "10.1.0.0/16 or 192.0.2.7)") from None
        if network.prefixlen == 0 and not anywhere:
            raise ValueError(f"{what}: {value!r} is the whole internet: anyone could call in "
                             "as the carrier; give the carrier's addresses")
        found.append(str(network))
    return found


def _networks(text: str, what: str, *, anywhere: bool, empty: str) -> list[str]:
    """Comma-separated networks checked by ``check_networks``, as an argparse type."""
    values = [v for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError(empty)
    try:
        return check_networks(values, what, anywhere=anywhere)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def trunk_peers(text: str) -> list[str]:
    """The carrier's source addresses, comma-separated (at least one)."""
    return _networks(text, "trunk peers", anywhere=False,
                     empty="give the carrier's addresses, comma-separated")


def operator_networks(text: str) -> list[str]:
    """Where operators' phones may be, comma-separated; ``any`` lifts the restriction."""
    if text.strip().lower() == "any":
        return []
    return _networks(text, "operator networks", anywhere=True,
                     empty="give networks, comma-separated, or 'any'")


def host_port(text: str) -> str:
    """``host[:port]``: a host name or IPv4 address, and a port."""
    host, _, port_text = text.partition(":")
    if not (_HOST.fullmatch(host) or _is_ipv4(host)) or (port_text and not port_text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not host[:port] (e.g. 10.0.0.5:5060)")
    if port_text:
        port(port_text)
    return text


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def on_off(text: str) -> bool:
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"on or off, not {text!r}")
    return text == "on"


def pem_file(text: str) -> str:
    """A PEM file's absolute path (Asterisk is given a copy); '' for none."""
    if not text:
        return ""
    return str(Path(existing_file(text)).resolve())


def existing_file(text: str) -> str:
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: not a file")
    return text


def asterisk_root(text: str) -> str:
    """A chroot holding an Asterisk (usr/sbin/asterisk); empty for the host's own."""
    if text and not Path(text, "usr/sbin/asterisk").is_file():
        raise argparse.ArgumentTypeError(
            f"{text}: no Asterisk in this folder (usr/sbin/asterisk); give the root of a chroot "
            "made by scripts/install-asterisk22.sh, or '' for the host's Asterisk")
    return text


def asterisk_release(text: str) -> str:
    """``16``: the host's Asterisk (''); ``22``: the chroot that scripts/install-asterisk22.sh
    makes ($HOTLINE_AST22_ROOT, default /var/cache/hotline/asterisk22), which must hold it."""
    import os

    if text == "16":
        return ""
    if text == "22":
        return asterisk_root(os.environ.get("HOTLINE_AST22_ROOT",
                                            "/var/cache/hotline/asterisk22"))
    raise argparse.ArgumentTypeError(
        f"{text!r}: 16 (the host's Asterisk) or 22 (the chroot of scripts/install-asterisk22.sh)")


DATABASE_EXAMPLES = "sqlite:////path/to/records.db or postgresql+psycopg://user@host/db"


def database_url(text: str) -> str:
    """A SQLAlchemy URL of SQLite or PostgreSQL whose driver is installed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise argparse.ArgumentTypeError(
            f"not a database URL; write {DATABASE_EXAMPLES}") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise argparse.ArgumentTypeError(
            f"the records live in SQLite or PostgreSQL, not {url.get_backend_name()!r}; write "
            f"{DATABASE_EXAMPLES}")
    try:
        url.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError):
        raise argparse.ArgumentTypeError(
            f"no installed driver for {url.drivername!r}; write {DATABASE_EXAMPLES}") from None
    return text


def name(text: str) -> str:
    """Who did something (``op07``, ``district:PCSG``): not empty, printable, no spaces."""
    if not text or len(text) > 64 or not text.isprintable() or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a name: 1 to 64 characters, no spaces (e.g. op07)")
    return text


def phone(text: str) -> str:
    """A calling number: digits with an optional leading +; empty for an anonymous caller."""
    if text and not re.fullmatch(r"\+?[0-9]{1,20}", text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a phone number (digits, e.g. 0909000111)")
    return text


def positive_number(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def non_negative_number(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def share(text: str) -> float:
    """A fraction from 0 to 1 (0.35, not 35%)."""
    value = _number(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a share is 0 to 1 (e.g. 0.35 or 35%), not {text}")
    return value


def patience(text: str) -> float:
    """Seconds (more than 0), or ``inf`` for callers who never hang up."""
    if text.strip().lower() in ("inf", "infinite", "none"):
        return math.inf
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"patience is seconds (more than 0) or inf, not {text}")
    return value


def hour(text: str) -> int:
    """An hour of the day: 18 or 18:00."""
    match = re.fullmatch(r"([0-9]{1,2})(?::00)?", text.strip())
    if not match or int(match[1]) > 23:
        raise argparse.ArgumentTypeError(f"{text!r} is not an hour of the day (0-23, or 18:00)")
    return int(match[1])


def shares(text: str) -> dict[str, float]:
    """``name=share`` pairs split by commas: ``general=0.4,billing=0.6``."""
    found: dict[str, float] = {}
    for part in text.split(","):
        name_, equals, value = part.strip().partition("=")
        if not equals or not re.fullmatch(r"[a-z][a-z0-9_]*", name_.strip()):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not name=share pairs (e.g. general=0.4,billing=0.6)")
        try:
            found[name_.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a share (in {text!r})") from None
        if not math.isfinite(found[name_.strip()]) or found[name_.strip()] < 0:
            raise argparse.ArgumentTypeError(f"a share is a number 0 or more, not {value!r}")
    return found


def service_target(text: str) -> tuple[float, float]:
    """``80/20``: 80% answered within 20 s."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)%?/([0-9]+(?:\.[0-9]+)?)s?", text.strip())
    if not match or not 0 < float(match[1]) <= 100:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a service-level target: percent/seconds, e.g. 80/20")
    return float(match[1]) / 100, float(match[2])


def language_code(text: str) -> str:
    """A two- or three-letter language code (vi, en, ko)."""
    if not re.fullmatch(r"[a-z]{2,3}", text):
        raise argparse.ArgumentTypeError(f"a language code is two or three letters (vi, en, "
                                         f"ko), not {text!r}")
    return text

"""Render ``asterisk-config/`` templates into the runtime folder (never into /etc)."""

from __future__ import annotations

import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import tls
from .config import PROJECT_ROOT, Settings

TEMPLATES = PROJECT_ROOT / "asterisk-config"
FAIL2BAN_ETC = Path("/etc/fail2ban")  # Debian's fail2ban: its filters and actions
RUNTIME_DIRS = ("etc", "lib", "spool", "run", "log", "log/cdr-custom", "agi-bin", "sounds", "redis",
                "cache")


def asterisk_dirs(settings: Settings) -> tuple[str, str]:
    """(module dir, data dir) as the Asterisk that will run sees them."""
    root = Path(settings.asterisk_root) if settings.asterisk_root else Path("/")
    for moddir in ("usr/lib/asterisk/modules", "usr/lib/x86_64-linux-gnu/asterisk/modules",
                   "usr/lib/aarch64-linux-gnu/asterisk/modules"):
        if (root / moddir / "chan_pjsip.so").exists():
            return "/" + moddir, "/usr/share/asterisk"
    raise FileNotFoundError(f"no Asterisk modules (chan_pjsip.so) under {root}")


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                       keep_trailing_newline=True, autoescape=False)


def _write_private(target: Path, text: str) -> None:
    """Write a file only its owner can read (0600): rendered files hold secrets."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)  # an earlier tmp file may have had other bits
    os.replace(tmp, target)


def render_redis(settings: Settings) -> Path:
    """Only the Redis config (``etc/redis.conf``): what starting Redis needs."""
    target = settings.etc / "redis.conf"
    _write_private(target, _environment().get_template("redis.conf").render(s=settings))
    return target


def render(settings: Settings) -> list[Path]:
    for name in RUNTIME_DIRS:
        (settings.runtime / name).mkdir(parents=True, exist_ok=True)
    os.chmod(settings.runtime, 0o700)
    moddir, datadir = asterisk_dirs(settings)
    env = _environment()
    written = []
    for template in sorted(TEMPLATES.glob("*.conf")):
        text = env.get_template(template.name).render(s=settings, moddir=moddir, datadir=datadir,
                                                      tls=tls.files(settings))
        target = settings.etc / template.name
        _write_private(target, text)
        written.append(target)
    return written


def render_guard(settings: Settings) -> Path:
    """This hotline's fail2ban configuration (``etc/fail2ban``): its own server settings and
    jail, Debian's filters and actions (linked); the folder."""
    folder = settings.etc / "fail2ban"
    env = _environment()
    for name in ("fail2ban.conf", "jail.conf"):
        _write_private(folder / name, env.get_template(f"fail2ban/{name}").render(s=settings))
    for name in ("filter.d", "action.d"):
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(FAIL2BAN_ETC / name)
    return folder

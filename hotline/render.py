"""Render ``asterisk-config/`` templates into the runtime folder (never into /etc)."""

from __future__ import annotations

import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .config import PROJECT_ROOT, Settings

TEMPLATES = PROJECT_ROOT / "asterisk-config"
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


def render(settings: Settings) -> list[Path]:
    for name in RUNTIME_DIRS:
        (settings.runtime / name).mkdir(parents=True, exist_ok=True)
    os.chmod(settings.runtime, 0o700)
    moddir, datadir = asterisk_dirs(settings)
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    written = []
    for template in sorted(TEMPLATES.glob("*.conf")):
        text = env.get_template(template.name).render(s=settings, moddir=moddir, datadir=datadir)
        target = settings.etc / template.name
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)
        written.append(target)
    return written

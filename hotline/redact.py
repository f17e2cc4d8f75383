"""Secrets out of every log line, trace and status: what the hotline generated (AMI secret,
FastAGI token, Redis and SIP passwords, the desk's first passwords) and the password in any URL
(``postgresql+psycopg://hotline:<password>@db/hotline``) become ``***``.

The controller, the supervisor and the desk's web server log through :func:`configure_logging`:
a formatter that masks the whole formatted line (message, arguments, traceback), whichever
library logged it. The command line masks its one-line errors and the traces it keeps.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

MASK = "***"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# scheme://user:password@host: the password is what lies between the first ':' after the user
# and the last '@' before the host (a password may hold '@' and ':')
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s'\"]*:)"
                           r"(?P<password>[^\s'\"/?#]*)@(?=[^@\s'\"]*(?:[/?#\s'\"]|$))")
_SECRET_FIELD = re.compile(r"secret|password|token")


def mask_url(url: str) -> str:
    """A URL with its password masked (unchanged when it has none)."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@" if m["password"] else m[0], url)


def secrets_of(settings: Any) -> list[str]:
    """Every secret a settings object (:class:`hotline.config.Settings`, not imported here:
    config masks with this module) holds: any field named for a secret, password or token, and
    the database URL's password; longest first."""
    found: list[str] = []
    for f in dataclasses.fields(settings):
        if not _SECRET_FIELD.search(f.name):
            continue
        value: Any = getattr(settings, f.name)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            found.extend(v for v in value.values() if isinstance(v, str))
    password = _URL_PASSWORD.search(settings.database_url)
    if password and password["password"]:
        found.append(password["password"])
    return sorted({s for s in found if len(s) >= 6}, key=len, reverse=True)


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` and every URL's password masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return mask_url(text)


class MaskingFormatter(logging.Formatter):
    """A formatter whose lines never hold a secret: the whole formatted record is masked."""

    def __init__(self, secrets: Iterable[str], fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)
        self.secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record), self.secrets)


def configure_logging(settings: Any, stream: Any = None) -> None:
    """Log at INFO to ``stream`` (stderr by default) through a :class:`MaskingFormatter` that
    knows this instance's secrets."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(MaskingFormatter(secrets_of(settings)))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)

"""The tests' own AMI user, to watch a hotline's Asterisk without the controller's credentials.

The controller's AMI user reads only the event classes the controller needs (``call,user``:
asterisk-config/manager.conf). Tests that watch more (dialplan steps, AGI commands, keys) log in
as ``e2ewatch``, a read-only user (no write class: it can send no action but Ping) from
127.0.0.1, with a secret of its own, in ``<runtime>/etc/manager_local.conf`` (0600): the place
the shipped manager.conf leaves for a site's monitoring user. The harness installs it before the
hotline starts (tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
import re
import secrets
from typing import Any

from acd.ami.client import AmiClient, EventCallback
from hotline import config

USER = "e2ewatch"
READ = "call,dialplan,user,agent,agi,dtmf"


def install(settings: config.Settings) -> None:
    """Write the watch user into ``manager_local.conf`` (read at Asterisk's start)."""
    path = settings.etc / "manager_local.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"; the end-to-end tests' read-only watch user (tests/e2e/amiwatch.py)\n"
                f"[{USER}]\nsecret = {secrets.token_hex(16)}\n"
                "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n"
                f"read = {READ}\nwrite =\n")


def client(settings: config.Settings, on_event: EventCallback | None, events: str,
           **options: Any) -> AmiClient:
    """An AMI client logged in as the watch user, receiving ``events``."""
    text = (settings.etc / "manager_local.conf").read_text()
    found = re.search(r"^secret = (\S+)$", text, re.MULTILINE)
    assert found, "no watch user: was the hotline started by tests/e2e/conftest.py?"
    return AmiClient("127.0.0.1", settings.ami_port, USER, found[1], on_event=on_event,
                     events=events, **options)

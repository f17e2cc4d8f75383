"""`hotline down` stops everything it can even when one step fails: a failing Asterisk stop (here
a chroot that is not there) must not leave Redis running behind it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hotline import config, processes


def test_a_failing_step_does_not_leave_redis_running(tmp_path: Path) -> None:
    settings = config.load_or_create(tmp_path, asterisk_root=str(tmp_path / "no-chroot"))
    for folder in (settings.runtime / "run", settings.runtime / "redis", settings.logs):
        folder.mkdir(parents=True, exist_ok=True)
    pid = processes.start_redis(settings)
    assert processes._alive(pid)
    with pytest.raises(subprocess.CalledProcessError):
        processes.down(settings)  # stopping Asterisk fails: its chroot cannot be unmounted
    assert not processes._alive(pid)
    assert not processes.redis_pidfile(settings).exists()

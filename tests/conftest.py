"""Shared fixtures: ``database_url`` runs a test on SQLite and on PostgreSQL 15.

Under pytest-xdist (``make test``: ``-n 4``) the tests are handed out by module and, for the
end-to-end tests, by Asterisk flavour: the tests of one module and one flavour run one after the
other on one worker, so they share its hotline instance (a module fixture), while other modules
and flavours run side by side. xdist's own ``--dist loadgroup`` would do this with markers, but it
renames test ids to carry the group, which pytest 9 no longer allows: every test became its own
group and a module's hotline was started again on each worker that drew one of its tests.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from records.database import migrate

from .databases import PostgresCluster

try:
    from xdist.scheduler import LoadScopeScheduling
except ImportError:  # pragma: no cover - tests run without pytest-xdist
    LoadScopeScheduling = None


if LoadScopeScheduling is not None:
    _FLAVOUR = re.compile(r"\[(?:[^\]]*-)?(asterisk\d+)(?:-[^\]]*)?\]$")

    class ByModuleAndFlavour(LoadScopeScheduling):  # type: ignore[misc,valid-type]
        """xdist's scope scheduling, the scope being the test file and the Asterisk flavour."""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            flavour = _FLAVOUR.search(nodeid)
            return f"{module}[{flavour.group(1)}]" if flavour else module

    @pytest.hookimpl(optionalhook=True)  # no hook spec when run with -p no:xdist
    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> ByModuleAndFlavour:
        return ByModuleAndFlavour(config, log)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    try:
        cluster.execute('CREATE DATABASE "migrated"')
        migrate(cluster.url("migrated"))
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'records.db'}"
        migrate(url)
        return url
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.fresh_database("migrated")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private redis-server on loopback for the session, with a password as the hotline's
    has; its URL (``redis://:<password>@127.0.0.1:<port>/0``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="hotline-redis-")
    password = secrets.token_hex(16)
    conf = Path(folder) / "redis.conf"
    conf.write_text(f"bind 127.0.0.1\nport {port}\ndir {folder}\nsave \"\"\nappendonly no\n"
                    f"protected-mode yes\nrequirepass {password}\n")
    conf.chmod(0o600)
    process = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.02)
    try:
        yield f"redis://:{password}@127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)

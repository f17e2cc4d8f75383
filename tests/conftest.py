"""Shared fixtures: ``database_url`` runs a test on SQLite and on PostgreSQL 15."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from records.database import migrate

from .databases import PostgresCluster


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

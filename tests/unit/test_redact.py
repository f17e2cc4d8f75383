"""Secrets never reach a log line, a kept trace or `hotline status`: the generated ones and the
password in a database URL are masked wherever they appear in the formatted line."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from hotline.config import Settings
from hotline.redact import MASK, MaskingFormatter, configure_logging, mask_url, secrets_of

DB_PASSWORD = "Db-p@ss:w0rd"
DB_URL = f"postgresql+psycopg://hotline:{DB_PASSWORD}@db.example:5432/hotline"


@pytest.mark.parametrize(("url", "masked"), [
    (DB_URL, "postgresql+psycopg://hotline:***@db.example:5432/hotline"),
    ("redis://:pw123456@127.0.0.1:6390/0", "redis://:***@127.0.0.1:6390/0"),
    ("could not connect: postgresql://u:secret1@h/d failed",
     "could not connect: postgresql://u:***@h/d failed"),
    ("sqlite:////var/lib/hotline/hotline.db", "sqlite:////var/lib/hotline/hotline.db"),
    ("postgresql+psycopg://hotline@db/hotline", "postgresql+psycopg://hotline@db/hotline"),
    ("mail op07@example.com", "mail op07@example.com"),
])
def test_a_urls_password_is_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_every_generated_secret_and_the_database_password_are_known(tmp_path: Path) -> None:
    settings = Settings(runtime=tmp_path, operator_count=3, database_url=DB_URL)
    found = set(secrets_of(settings))
    assert {settings.ami_secret, settings.agi_token, settings.caller_password,
            settings.redis_password, DB_PASSWORD, *settings.operator_passwords.values()} <= found


def test_no_log_line_holds_a_secret(tmp_path: Path) -> None:
    settings = Settings(runtime=tmp_path, operator_count=2, database_url=DB_URL)
    out = io.StringIO()
    log = logging.getLogger("test.redact")
    configure_logging(settings, stream=out)
    try:
        log.info("AMI login with %s", settings.ami_secret)
        log.warning("records at %s", DB_URL)
        try:
            raise RuntimeError(f"op01 said {settings.operator_passwords['op01']}")
        except RuntimeError:
            log.exception("a failure whose trace holds a secret")
    finally:
        logging.basicConfig(force=True)
    text = out.getvalue()
    assert text.count(MASK) == 3 and "a failure whose trace" in text and "RuntimeError" in text
    for secret in secrets_of(settings):
        assert secret not in text


def test_the_formatter_masks_what_another_library_logs() -> None:
    record = logging.LogRecord("sqlalchemy", logging.ERROR, __file__, 1, "engine %s failed",
                               (DB_URL,), None)
    assert DB_PASSWORD not in MaskingFormatter(["unused-secret"]).format(record)

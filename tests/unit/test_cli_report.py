"""``hotline report``: the daily report of a runtime's records on the terminal and as CSV
(a migrated SQLite database with known calls; bad input: tests/unit/test_cli_errors.py)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest

from hotline import cli, config
from records.database import make_engine, make_sessions, migrate
from records.models import Call, DistrictCompany, Request
from records.report import local_today


@pytest.fixture
def runtime(tmp_path: Path) -> str:
    settings = config.load_or_create(tmp_path / "runtime")
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    with make_sessions(engine)() as s:
        s.add(DistrictCompany(id=1, code="PCSG", name="Công ty Điện lực Sài Gòn"))
        s.flush()
        s.add_all([
            # local 2026-12-06 23:59:59 and 2026-12-07 00:00:00
            Call(call_id="c1", started_at=datetime(2026, 12, 6, 16, 59, 59), outcome="completed",
                 path=[{"node": "main"}]),
            Call(call_id="c2", started_at=datetime(2026, 12, 6, 17, 0), outcome="completed",
                 path=[{"node": "main"}, {"node": "bill"}]),
            Call(call_id="c3", started_at=datetime(2026, 12, 7, 2, 0), outcome="queued",
                 ivr_ended_at=datetime(2026, 12, 7, 2, 0, 20), operator="op07",
                 queue_wait_s=8.0, ended_at=datetime(2026, 12, 7, 2, 2, 28),
                 path=[{"node": "main"}, {"node": "operator"}]),
            Request(number="R1", type="advice", district_company_id=1, status="open",
                    created_at=datetime(2026, 12, 7, 3, 0), deadline_at=datetime(2026, 12, 9)),
        ])
        s.commit()
    engine.dispose()
    return str(settings.runtime)


def test_the_report_on_the_terminal(runtime: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--runtime", runtime, "report", "--day", "2026-12-07"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "Daily report 2026-12-07 (Asia/Ho_Chi_Minh)"
    assert "  offered                  2" in lines
    assert "  served by the IVR alone  1" in lines
    assert "  service level (20 s)    100.0 % (1 answered within 20 s)" in lines
    assert "  ASA                      8 s" in lines
    assert "  AHT                      120 s" in lines
    assert "  00:00       1      0      0      0" in lines
    assert "  09:00       1      1      1      0" in lines
    assert "       1  main > bill" in lines
    assert "  PCSG          1      0      0  Công ty Điện lực Sài Gòn" in lines


def test_the_report_as_csv(runtime: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--runtime", runtime, "report", "--day", "2026-12-06", "--csv",
                     "--threshold", "5"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["section", "item", "value"]
    assert ["day", "date", "2026-12-06"] in rows
    assert ["day", "service_level_threshold_s", "5"] in rows
    assert ["calls", "offered", "1"] in rows  # only the call a second before local midnight
    assert ["hour 23", "offered", "1"] in rows
    assert ["menu path", "main", "1"] in rows


def test_without_a_day_it_is_today(runtime: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--runtime", runtime, "report"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"Daily report {local_today().isoformat()} (Asia/Ho_Chi_Minh)"

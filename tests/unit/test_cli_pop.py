"""`hotline acd pop`: the screen pop as the controller answers it on its control socket (a
recorded answer, served on a real unix socket), printed for a person or as JSON."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from hotline import config
from hotline.config import PROJECT_ROOT

ANSWER = {  # recorded from the e2e screen-pop test
    "call": "1795674112.39", "caller": "0909000111",
    "display": "general PE01000000001 1 open 1 call", "customer": "PE01000000001",
    "last_operator": "op10",
    "calls": [{"started_at": "2026-11-26T06:21:20.118000", "outcome": "queued",
               "operator": "op10", "wrap_up_code": None}],
    "open_requests": [{"number": "20260014", "type": "outage_report", "status": "forwarded",
                       "deadline_at": "2026-11-26T09:19:20.464197", "overdue_by_s": -10727,
                       "district": "Công ty Điện lực Sài Gòn"}],
}


def serve(path: Path, answer: dict[str, Any], seen: list[str]) -> threading.Thread:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def once() -> None:
        with server:
            conn, _ = server.accept()
            with conn, conn.makefile() as lines:
                seen.append(lines.readline().strip())
                conn.sendall(json.dumps(answer).encode() + b"\n")

    thread = threading.Thread(target=once, daemon=True)
    thread.start()
    return thread


def pop(runtime: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline.cli", "--runtime", str(runtime), "acd",
                           "pop", *args], check=False, capture_output=True, text=True,
                          timeout=60, cwd=PROJECT_ROOT)


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    config.load_or_create(tmp_path)
    return tmp_path


def test_the_screen_pop_is_printed_for_a_person(runtime: Path) -> None:
    seen: list[str] = []
    serve(runtime / "run" / "controller.sock", ANSWER, seen)
    result = pop(runtime, "op10")
    assert result.returncode == 0, result.stderr
    assert seen == ["pop op10"]
    lines = result.stdout.splitlines()
    assert lines[0] == "caller 0909000111  customer PE01000000001  last served by op10"
    assert lines[1] == "phone shows: general PE01000000001 1 open 1 call"
    assert lines[2] == ("  request 20260014 outage_report forwarded (due in 3.0 h) "
                        "Công ty Điện lực Sài Gòn")
    assert lines[3] == "  call 2026-11-26T06:21 queued     op10"


def test_json_for_tools_and_errors_on_stderr(runtime: Path) -> None:
    serve(runtime / "run" / "controller.sock", ANSWER, [])
    assert json.loads(pop(runtime, "--json", "op10").stdout) == ANSWER
    serve(runtime / "run" / "controller.sock", {"error": "op11 has no call"}, [])
    refused = pop(runtime, "op11")
    assert refused.returncode == 1 and refused.stderr.strip() == "hotline acd pop: op11 has no call"


def test_no_controller_running(runtime: Path) -> None:
    result = pop(runtime, "op10")
    assert result.returncode == 1
    assert "the controller is not running" in result.stderr

"""`hotline` commands against a running hotline, given what a newcomer gives them: an operator
that does not exist is refused with one line and a non-zero exit (`agents login op99` used to
exit 0), and so are a screen pop for a word and a second controller; the good commands still
work."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hotline.config import PROJECT_ROOT
from records.demo import DEMO

from .conftest import Hotline

pytestmark = pytest.mark.e2e


def run(hotline: Hotline, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline.cli", "--runtime",
                           str(hotline.settings.runtime), *args], capture_output=True, text=True,
                          timeout=60, cwd=PROJECT_ROOT, check=False)


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line of a refused command (asserting it is one line, non-zero, no traceback)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("action", ["login", "logout", "pause", "unpause", "wrap_up"])
def test_an_unknown_operator_is_refused(hotline: Hotline, action: str) -> None:
    line = refused(run(hotline, "agents", action, "op99"))
    assert line == f"hotline agents {action}: op99 is not an operator in the operators file"
    listed = json.loads(run(hotline, "agents").stdout)
    assert "op99" not in {row["agent"] for row in listed}


def test_a_known_operator_logs_in_and_out(hotline: Hotline) -> None:
    login = run(hotline, "agents", "login", "op07")
    assert login.returncode == 0, login.stderr
    assert json.loads(login.stdout)["state"] == "available"
    logout = run(hotline, "agents", "logout", "op07")
    assert logout.returncode == 0, logout.stderr
    assert json.loads(logout.stdout)["state"] == "logged_out"


def test_the_screen_pop_of_an_unknown_operator_is_refused(hotline: Hotline) -> None:
    assert refused(run(hotline, "acd", "pop", "op99")) == (
        "hotline acd pop: 'op99' is neither an operator nor a phone number")
    number = run(hotline, "acd", "pop", "--json", DEMO.caller_known)
    assert number.returncode == 0, number.stderr
    answer = json.loads(number.stdout)
    assert answer["caller"] == DEMO.caller_known
    assert DEMO.request_number in {r["number"] for r in answer["open_requests"]}


def test_a_second_controller_is_refused(hotline: Hotline) -> None:
    pid = hotline.controller_pid()
    line = refused(run(hotline, "controller"))
    assert line == (f"hotline controller: a controller already runs for "
                    f"{hotline.settings.runtime} (pid {pid}); 'hotline down' stops it")
    assert hotline.controller_pid() == pid


def test_garbage_keys_place_no_call(hotline: Hotline) -> None:
    line = refused(run(hotline, "call", hotline.settings.hotline_number, "--keys", "1;2"))
    assert line == "hotline call: keys may be 0-9 * # and spaces, not ';'"

"""Every command of `hotline` given what a newcomer gives it: no hotline started, a stopped one,
malformed numbers and codes, zero and negative counts, missing and unreadable files, bad
database URLs, garbage keys. Each must exit non-zero with exactly one line on stderr that says
what is wrong, and never show a traceback; an unexpected failure names the command and the file
with the full trace.

The table runs ``hotline.cli.main`` in-process (the same code as the installed command, without
a Python start per row); the last tests run the real command in a subprocess. The operator
commands against a running hotline are in tests/e2e/test_cli_running.py.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hotline import cli, config
from hotline.config import PROJECT_ROOT, free_port

BROKEN_MENU = PROJECT_ROOT / "tests" / "fixtures" / "menus" / "dangling-references.yaml"
MENU = PROJECT_ROOT / "dialplans" / "19001122.yaml"

NO_RUNTIME = "does not exist: run 'hotline up'"
NOT_RUNNING = "the controller is not running"

# (what is tried, arguments after --runtime, exit code, a phrase of the one line on stderr);
# {runtime} is a runtime folder with settings and nothing running, {tmp} a scratch folder
CASES: list[tuple[str, str, int, str]] = [
    # the hotline was never started: no runtime folder
    ("never started: status", "{tmp}/none status", 1, NO_RUNTIME),
    ("never started: calls", "{tmp}/none calls", 1, NO_RUNTIME),
    ("never started: call", "{tmp}/none call 19001122 --keys 2", 1, NO_RUNTIME),
    ("never started: agents", "{tmp}/none agents login op07", 1, NO_RUNTIME),
    ("never started: acd status", "{tmp}/none acd status", 1, NO_RUNTIME),
    ("never started: acd pop", "{tmp}/none acd pop op07", 1, NO_RUNTIME),
    ("never started: requests", "{tmp}/none requests show 20260014", 1, NO_RUNTIME),
    ("never started: prompts", "{tmp}/none prompts build", 1, NO_RUNTIME),
    ("never started: simulate", "{tmp}/none ivr simulate", 1, NO_RUNTIME),
    ("never started: controller", "{tmp}/none controller", 1, NO_RUNTIME),
    ("never started: validate --audio", f"{{tmp}}/none ivr validate {MENU} --audio", 1,
     NO_RUNTIME),
    # started once, stopped now
    ("stopped: call", "{runtime} call 19001122 --keys 2", 1, "the hotline is not running"),
    ("stopped: agents list", "{runtime} agents", 1, NOT_RUNNING),
    ("stopped: agents login", "{runtime} agents login op07", 1, NOT_RUNNING),
    ("stopped: acd status", "{runtime} acd status", 1, NOT_RUNNING),
    ("stopped: acd pop", "{runtime} acd pop op07", 1, NOT_RUNNING),
    ("no audio built", f"{{runtime}} ivr validate {MENU} --audio", 1, "no prompt audio in"),
    # calls and call records
    ("garbage keys", "{runtime} call 19001122 --keys x", 2, "keys may be 0-9 * #"),
    ("garbage among keys", "{runtime} call 19001122 --keys '1 2 @'", 2, "not '@'"),
    ("number with letters", "{runtime} call abc", 2, "not a phone number: 'abc'"),
    ("empty number", "{runtime} call ''", 2, "not a phone number"),
    ("hostile caller", "{runtime} call 19001122 --caller 'a\"<b>'", 2, "not a caller number"),
    ("zero calls", "{runtime} call 19001122 --count 0", 2, "must be 1 or more, not 0"),
    ("negative calls", "{runtime} call 19001122 --count -1", 2, "must be 1 or more, not -1"),
    ("negative delay", "{runtime} call 19001122 --delay -1", 2, "0 or more, not -1"),
    ("negative gap", "{runtime} call 19001122 --gap -2.5", 2, "0 or more, not -2.5"),
    ("negative hang-up", "{runtime} call 19001122 --hangup-after -1", 2, "0 or more"),
    ("not-a-number wait", "{runtime} call 19001122 --wait nan", 2, "'nan' is not a number"),
    ("negative --last", "{runtime} calls --last -1", 2, "must be 1 or more, not -1"),
    ("zero --last", "{runtime} calls --last 0", 2, "must be 1 or more, not 0"),
    ("word --last", "{runtime} calls --last abc", 2, "'abc' is not a whole number"),
    # requests
    ("short request number", "{runtime} requests show 123", 2,
     "request 123: a request number is 8 digits"),
    ("wrong check digit", "{runtime} requests show 20260015", 2,
     "request 20260015: the check digit does not match"),
    ("unknown request", "{runtime} requests show 20260014", 1, "no request 20260014"),
    ("set an unknown request", "{runtime} requests set 20260014 closed --by op07", 2,
     "no request number 20260014"),
    ("unknown request type", "{runtime} requests create --type pizza --by op07", 2,
     "unknown request type 'pizza' (one of hazard, "),
    ("malformed customer code", ("{runtime} requests create --type hazard --by op07 "
                                 "--customer PE123"), 2, "customer PE123: a customer code is PE followed by 11 digits"),
    ("unknown customer", ("{runtime} requests create --type hazard --by op07 "
                          "--customer PE99999999999"), 2, "customer PE99999999999: no customer PE99999999999"),
    ("empty actor", "{runtime} requests create --type hazard --by ''", 2, "is not a name"),
    ("caller with letters", "{runtime} requests create --type hazard --by op07 --caller abc",
     2, "'abc' is not a phone number"),
    ("negative limit", "{runtime} requests overdue --limit -1", 2, "must be 1 or more"),
    ("no request action", "{runtime} requests", 2, "required: ACTION"),
    # web accounts
    ("bad account name", "{runtime} accounts add Bad --role supervisor", 2,
     "'Bad' is not a user name"),
    ("operator account without operator", "{runtime} accounts add lan --role operator", 2,
     "an operator account names its operator"),
    ("unknown role", "{runtime} accounts add lan --role boss", 2, "invalid choice: 'boss'"),
    ("token for nobody", "{runtime} accounts token nobody", 2, "no account nobody"),
    # data
    ("negative customers", "{runtime} data generate --customers -5", 2,
     "argument --customers: must be 1 or more, not -5"),
    ("zero customers", "{runtime} data generate --customers 0", 2, "must be 1 or more, not 0"),
    ("zero months", "{runtime} data generate --customers 5 --months 0", 2,
     "argument --months: must be 1 or more"),
    ("not a database URL", "{runtime} data generate --customers 5 --database nonsense", 2,
     "not a database URL; write sqlite:///"),
    ("another database", "{runtime} data generate --customers 5 --database mysql://u@h/d", 2,
     "the records live in SQLite or PostgreSQL, not 'mysql'"),
    ("no such CSV", "{runtime} data import customers {tmp}/missing.csv", 2,
     "missing.csv: no such file"),
    ("a folder as CSV", "{runtime} data import customers {tmp}", 2, "not a file"),
    ("a binary as CSV", "{runtime} data import customers {tmp}/binary.csv", 2,
     "nothing imported: "),
    ("unknown kind", "{runtime} data import meters {tmp}/binary.csv", 2, "invalid choice"),
    # starting
    ("port too high", "{runtime} up --sip-port 70000", 2, "a port is 1 to 65535, not 70000"),
    ("negative port", "{runtime} up --sip-port -5", 2, "a port is 1 to 65535, not -5"),
    ("zero IVR lines", "{runtime} up --ivr-lines 0", 2, "must be 1 or more, not 0"),
    ("not an address", "{runtime} up --sip-bind 999.1.1.1", 2, "is not an IPv4 address"),
    ("an Asterisk we do not run", "{runtime} up --asterisk 18", 2,
     "'18': 16 (the host's Asterisk) or 22"),
    ("both ways of naming Asterisk", "{runtime} up --asterisk 16 --asterisk-root ''", 2,
     "not allowed with argument"),
    ("no such chroot", "{runtime} up --asterisk-root {tmp}/none", 2, "no Asterisk in this"),
    ("a chroot without Asterisk", "{runtime} up --asterisk-root {tmp}", 2,
     "no Asterisk in this folder (usr/sbin/asterisk)"),
    ("no such menu", "{runtime} up --menu {tmp}/missing.yaml", 2, "missing.yaml: no such file"),
    ("broken menu", f"{{runtime}} up --menu {BROKEN_MENU}", 2,
     "the menu was not accepted, nothing was started: "),
    ("bad database URL", "{runtime} up --database nonsense", 2, "not a database URL"),
    ("trunk with spaces", "{runtime} up --callback-trunk 'a b'", 2, "is not host[:port]"),
    ("trunk with a bad port", "{runtime} up --callback-trunk host:99999", 2,
     "a port is 1 to 65535"),
    ("trunk peer not an address", "{runtime} up --trunk-peers 127.0.0.1,carrier", 2,
     "trunk peers: 'carrier' is not an IPv4 address or network"),
    ("the internet as trunk", "{runtime} up --trunk-peers 0.0.0.0/0", 2,
     "is the whole internet: anyone could call in as the carrier"),
    ("no trunk peer", "{runtime} up --trunk-peers ,", 2, "give the carrier's addresses"),
    ("operator network with a bad mask", "{runtime} up --operator-networks 10.0.0.0/33", 2,
     "operator networks: '10.0.0.0/33' is not an IPv4 address or network"),
    ("trunk peers in the file not a list", "{peer_string} status", 1,
     "trunk_peers: a list of addresses or networks, not '10.0.0.1'"),
    ("operator network in the file", "{bad_network} status", 1,
     "operator_networks: 'office' is not an IPv4 address or network"),
    ("unknown SIP guard mode", "{runtime} up --sip-guard maybe", 2, "invalid choice: 'maybe'"),
    ("no ban at zero failures", "{runtime} up --sip-ban-after 0", 2, "must be 1 or more, not 0"),
    ("SIP guard in the file", "{bad_guard} status", 1, "sip_guard: one of auto, on, off, not 'yes'"),
    ("broken operators file", "{broken_agents} up", 2,
     "the operators file was not accepted, nothing was started"),
    # operators and the ACD (refused before the controller is asked)
    ("list with an operator", "{runtime} agents list op07", 2, "'list' takes no operator"),
    ("login without operator", "{runtime} agents login", 2, "name the operator"),
    ("reason of two words", "{runtime} agents pause op07 'a b'", 2, "take one more word"),
    ("code of two words", "{runtime} agents wrap_up op07 '7 8'", 2, "take one more word"),
    ("login with a reason", "{runtime} agents login op07 1", 2,
     "only 'pause' (a reason: 1-4 or a word) and 'wrap_up' (a code) take one more word"),
    ("unknown action", "{runtime} agents dance op07", 2, "invalid choice: 'dance'"),
    ("no operators file", "{runtime} agents check {tmp}/missing.yaml", 2,
     "cannot read the agents file"),
    # menus
    ("simulate as a word", "{runtime} ivr simulate --caller abc", 2, "is not a phone number"),
    ("simulate a missing menu", "{runtime} ivr simulate {tmp}/missing.yaml", 2,
     "cannot read the file"),
    # simulating the ACD and planning staff (no hotline needed)
    ("zero hours", "{tmp}/none acd simulate --hours 0", 2, ("argument --hours: must be 1 or "
     "more, not 0")),
    ("negative patience", "{tmp}/none acd simulate --patience -5", 2,
     "patience is seconds (more than 0) or inf, not -5"),
    ("patience as a word", "{tmp}/none acd simulate --patience forever", 2,
     "'forever' is not a number"),
    ("skill mix without shares", "{tmp}/none acd simulate --skill-mix billing", 2,
     "is not name=share pairs (e.g. general=0.4,billing=0.6)"),
    ("a hazard share above 1", "{tmp}/none acd simulate --hazard-share 1.5", 2,
     "a share is 0 to 1 (e.g. 0.35 or 35%), not 1.5"),
    ("an unknown routing", "{tmp}/none acd simulate --routing random", 2,
     "invalid choice: 'random'"),
    ("no such scenario", "{tmp}/none acd simulate --scenario {tmp}/missing.yaml", 2,
     "missing.yaml: no such file"),
    ("a bad value in a scenario", "{tmp}/none acd simulate --scenario {tmp}/scenario-bad.yaml",
     2, "scenario-bad.yaml:2:11: patience: a number more than 0 (or inf), not -5"),
    ("a scenario that is not YAML", "{tmp}/none acd simulate --scenario {tmp}/scenario-broken.yaml",
     2, "scenario-broken.yaml:2:1: YAML syntax"),
    ("an unknown scenario setting", ("{tmp}/none acd simulate --scenario "
     "{tmp}/scenario-unknown.yaml"), 2, "callers: unknown setting (one of aht, "),
    ("a wrap-up longer than the handle time", "{tmp}/none acd simulate --aht 200 --wrap-up 300",
     2, "wrap_up: the wrap-up (300 s) is part of the handle time (aht 200 s)"),
    ("operators and a roster's staffing", "{tmp}/none acd simulate --operators 5 --staffing 3",
     2, "operators (M operators who take any call) replaces the roster"),
    ("a broken roster", "{tmp}/none acd simulate --roster {tmp}/agents.yaml", 2,
     "the operators file was not accepted: "),
    ("a run too big", "{tmp}/none acd simulate --calls-per-hour 1e9 --operators 5", 2,
     "more than one run takes (20,000,000)"),
    ("a target above 100%", "{tmp}/none acd plan --target 120/20", 2,
     "'120/20' is not a service-level target: percent/seconds, e.g. 80/20"),
    ("a target as a word", "{tmp}/none acd plan --target fast", 2,
     "'fast' is not a service-level target"),
    ("an abandon rate above 1", "{tmp}/none acd plan --max-abandon 2", 2,
     "argument --max-abandon: a share is 0 to 1"),
    ("nobody absent", "{tmp}/none acd plan --absent 0", 2, "must be 1 or more, not 0"),
    ("an absence from no hour", "{tmp}/none acd plan --absent 2 --absent-from 25:00", 2,
     "'25:00' is not an hour of the day (0-23, or 18:00)"),
    ("an absence outside the run", ("{tmp}/none acd plan --operators 1 --calls-per-hour 10 "
                                    "--hours 1 --start-hour 9 --absent 1 --absent-from 8"), 2,
     "the run (1 h from 09:00) does not reach 08:00"),
    ("targets no staffing meets", ("{tmp}/none acd plan --operators 1 --calls-per-hour 30 "
                                   "--patience 7 --ring-time 10 --hours 1 --max-abandon 0.03"),
     2, "30 calls an hour: even"),
    # the runtime folder itself
    ("unknown command", "{runtime} dance", 2, "invalid choice: 'dance'"),
    ("runtime is a file", "{tmp}/binary.csv status", 1, "Not a directory"),
    ("settings not JSON", "{corrupt} status", 1, "is not JSON"),
    ("settings not an object", "{listed} status", 1, "does not hold settings"),
    ("database down", "{database_down} calls", 1,
     "the records database cannot be used: connection failed"),
    ("database down, requests", "{database_down} requests overdue", 1,
     "the records database cannot be used"),
    ("report of no date", "{runtime} report --day 07/12/2026", 2,
     "argument --day: '07/12/2026' is not a date: give it as YYYY-MM-DD"),
    ("report of no day", "{runtime} report --day 2026-02-30", 2, "is not a date"),
    ("report threshold 0", "{runtime} report --threshold 0", 2,
     "argument --threshold: must be 1 or more, not 0"),
    ("report, database down", "{database_down} report", 1,
     "the records database cannot be used"),
]


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    runtime = tmp_path / "runtime"
    config.load_or_create(runtime)
    (tmp_path / "binary.csv").write_bytes(b"\x00\x01PK\x03\x04" * 100)
    broken_agents = tmp_path / "broken-agents"
    (tmp_path / "agents.yaml").write_text("agents: [op01, op02]\n")
    config.load_or_create(broken_agents, agents_file=str(tmp_path / "agents.yaml"))
    corrupt, listed = tmp_path / "corrupt", tmp_path / "listed"
    corrupt.mkdir()
    (corrupt / config.SETTINGS_FILE).write_text('{"sip_port": 5060,')
    listed.mkdir()
    (listed / config.SETTINGS_FILE).write_text("[1, 2]")
    bad_files = {}
    for name, key, value in (("peer_string", "trunk_peers", "10.0.0.1"),
                             ("bad_network", "operator_networks", ["10.1.0.0/16", "office"]),
                             ("bad_guard", "sip_guard", "yes")):
        folder = tmp_path / name
        config.load_or_create(folder)
        data = json.loads((folder / config.SETTINGS_FILE).read_text())
        data[key] = value
        (folder / config.SETTINGS_FILE).write_text(json.dumps(data))
        bad_files[name] = str(folder)
    (tmp_path / "scenario-bad.yaml").write_text("hours: 2\npatience: -5\n")
    (tmp_path / "scenario-broken.yaml").write_text("hours: [1,\n")
    (tmp_path / "scenario-unknown.yaml").write_text("hours: 2\ncallers: 5\n")
    database_down = tmp_path / "database-down"
    config.load_or_create(database_down, database_url="postgresql+psycopg://hotline@127.0.0.1:"
                                                      f"{free_port()}/records")
    return {"tmp": str(tmp_path), "runtime": str(runtime), "broken_agents": str(broken_agents),
            "corrupt": str(corrupt), "listed": str(listed), "database_down": str(database_down),
            **bad_files}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("what", "args", "code", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_gets_one_clear_line_and_a_non_zero_exit(
        what: str, args: str, code: int, phrase: str, places: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--runtime", *shlex.split(args.format(**places))]
    exit_code, out, err = run(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err
    assert exit_code == code, f"{what}: exit {exit_code}, stderr {err!r}"
    assert len(lines) == 1, f"{what}: stderr is not one line: {err!r}"
    # the command's name, or the place of a problem in a file (as the file checkers write it)
    assert lines[0].startswith("hotline") or re.match(r"\S+:\d+:\d+: ", lines[0]), lines[0]
    assert phrase in lines[0], lines[0]


def test_a_broken_menu_starts_nothing(places: dict[str, str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    runtime = Path(places["runtime"])
    code, _out, err = run(["--runtime", str(runtime), "up", "--menu", str(BROKEN_MENU)], capsys)
    assert code == 2, err
    assert not (runtime / "run").exists() or not any((runtime / "run").iterdir())


@pytest.mark.parametrize("service", ["sip_port", "redis_port"])
def test_a_taken_port_starts_nothing(service: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Asterisk boots without its SIP transport on a taken port: `up` must refuse first."""
    with socket.socket() as other:  # another program listening on the port
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        settings = config.load_or_create(tmp_path, **{service: port})
        code, _out, err = run(["--runtime", str(tmp_path), "up"], capsys)
    assert code == 1
    assert err.splitlines() == [f"hotline up: the {'SIP' if service == 'sip_port' else 'Redis'} "
                                f"port 127.0.0.1:{port} is taken by another program, nothing was "
                                f"started; " + ("choose another with --sip-port" if service ==
                                                "sip_port" else f"set another redis_port in "
                                                f"{settings.runtime / config.SETTINGS_FILE}")]
    assert not (tmp_path / "run").exists()


def test_an_empty_call_history_says_so(places: dict[str, str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--runtime", places["runtime"], "calls"], capsys)
    assert (code, out, err) == (0, "no call records yet\n", "")


def test_data_generate_into_a_named_database_needs_no_runtime_folder(
        places: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{places['tmp']}/city.db"
    code, out, err = run(["--runtime", f"{places['tmp']}/none", "data", "generate",
                          "--customers", "3", "--database", url], capsys)
    assert code == 0, err
    assert "customers 3" in out


# -- the installed command, in a process of its own ----------------------------------------------

def hotline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline.cli", *args], capture_output=True,
                          text=True, timeout=60, cwd=PROJECT_ROOT, check=False)


def test_an_unexpected_failure_is_one_line_and_the_trace_goes_to_the_log(tmp_path: Path) -> None:
    settings = config.load_or_create(tmp_path)
    (tmp_path / "log").mkdir()
    data = json.loads((tmp_path / config.SETTINGS_FILE).read_text())
    data["database_url"] = 5  # a hand edit the code does not expect
    (tmp_path / config.SETTINGS_FILE).write_text(json.dumps(data))
    result = hotline("--runtime", str(settings.runtime), "calls")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    log = settings.runtime / "log" / "cli-errors.log"
    assert result.stderr.splitlines() == [
        (f"hotline calls: unexpected error AttributeError: 'int' object has no attribute "
         f"'startswith'; the full trace is in {log}")]
    trace = log.read_text()
    assert " hotline calls\nTraceback (most recent call last):" in trace
    assert "AttributeError" in trace


def test_a_usage_error_is_one_line_with_exit_code_2() -> None:
    result = hotline("calls", "--last", "-1")
    assert result.returncode == 2
    assert result.stderr == ("hotline calls: argument --last: must be 1 or more, not -1 "
                             "(see 'hotline calls --help')\n")


def test_help_reads_as_plain_text() -> None:
    result = hotline("--help")
    assert result.returncode == 0
    assert "``" not in result.stdout
    assert cli.DESCRIPTION.split(":")[0] in result.stdout


def test_asterisk_22_is_the_chroot_the_tests_install(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "usr" / "sbin").mkdir(parents=True)
    (tmp_path / "usr" / "sbin" / "asterisk").write_text("")
    monkeypatch.setenv("HOTLINE_AST22_ROOT", str(tmp_path))
    assert cli.parser().parse_args(["up", "--asterisk", "22"]).asterisk_root == str(tmp_path)
    assert cli.parser().parse_args(["up", "--asterisk", "16"]).asterisk_root == ""
    assert cli.parser().parse_args(["up"]).asterisk_root is None  # the stored one stays
    monkeypatch.setenv("HOTLINE_AST22_ROOT", str(tmp_path / "none"))
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["up", "--asterisk", "22"])

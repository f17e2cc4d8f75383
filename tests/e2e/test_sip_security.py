"""No anonymous SIP: only the trunk peers (by address) and digest-authenticated accounts reach
the hotline; secrets never reach a log."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from hotline.sipcall import CallPlan, place, wait_for_records

from .conftest import Hotline

pytestmark = pytest.mark.e2e


def _plan(hotline: Hotline, **kwargs: object) -> CallPlan:
    return CallPlan(number=hotline.settings.hotline_number, **kwargs)  # type: ignore[arg-type]


def test_who_may_call(hotline: Hotline) -> None:
    settings = hotline.settings
    refused = {
        "a stranger's address": _plan(hotline, source_ip="127.0.0.2", expect_rejection=True),
        "the demo account, wrong password": _plan(hotline, account=("caller", "wrong"),
                                                  expect_rejection=True),
        "an operator account, wrong password": _plan(hotline, account=("op01", "nope"),
                                                     expect_rejection=True),
        "an account that does not exist": _plan(hotline, account=("admin", "admin"),
                                                expect_rejection=True, source_ip="127.0.0.3"),
    }
    allowed = _plan(hotline, account=("caller", settings.caller_password), hangup_after_s=7.0)
    with ThreadPoolExecutor(len(refused) + 1) as pool:
        runs = {name: pool.submit(place, plan, "127.0.0.1", settings.sip_port)
                for name, plan in {**refused, "allowed": allowed}.items()}
        results = {name: run.result() for name, run in runs.items()}
    for name, plan in refused.items():
        assert results[name].returncode == 0, f"{name}: {results[name].errors[-500:]}"
        assert hotline.records_where(sip_call_id=plan.call_id(1)) == [], name
    assert results["allowed"].returncode == 0
    (record,) = wait_for_records(settings, [allowed.call_id(1)], 30)
    assert record is not None
    assert record["caller_number"] == "0909000111"  # the account's caller ID, not the From user
    assert {"node": "identify", "action": "identify_caller", "outcome": "found"} in \
        record["path"]


def test_secrets_never_reach_a_log(hotline: Hotline) -> None:
    (record,) = hotline.call("", hangup_after_s=7.0)  # every part has logged something
    assert record is not None
    settings = hotline.settings
    secrets = [settings.ami_secret, settings.agi_token, settings.caller_password,
               *settings.operator_passwords.values()]
    for log in settings.logs.glob("*"):
        if log.is_file():
            text = log.read_text(errors="replace")
            for secret in secrets:
                assert secret not in text, f"a secret appears in {log.name}"

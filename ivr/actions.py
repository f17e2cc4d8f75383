"""Self-service actions: what an ``action`` node does, through the records store.

Each action answers with an outcome the menu branches on and the variables it sets. The
database being down is an outcome too (``unavailable``): the menu decides what the caller hears
(usually an apology and an operator); nothing here raises into a call.

Times in the records are UTC; callers hear Ho Chi Minh City time (UTC+7, no daylight saving).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from records import lookups, requests
from records.clock import utcnow
from records.results import CustomerInfo, Found, Invalid, NotFound, Result, Unavailable
from records.rules import RequestRules

from .stepper import Acted

LOCAL = dt.timezone(dt.timedelta(hours=7), "ICT")


def local(moment: dt.datetime) -> dt.datetime:
    """A UTC-naive database time as Ho Chi Minh City wall-clock time (naive)."""
    return moment.replace(tzinfo=dt.UTC).astimezone(LOCAL).replace(tzinfo=None)


class Store(Protocol):
    async def lookup(self, work: Any) -> Any: ...


@dataclass(frozen=True)
class CallContext:
    call_id: str
    caller: str


def _customer(info: CustomerInfo) -> dict[str, Any]:
    return {"id": info.id, "code": info.code, "name": info.name, "area": info.area,
            "feeder": info.feeder, "district_company": info.district_company_name}


def _failed(result: Result[Any]) -> Acted | None:
    if isinstance(result, Unavailable):
        return Acted("unavailable")
    if isinstance(result, NotFound):
        return Acted("not_found")
    if isinstance(result, Invalid):
        return Acted("invalid")
    return None


class ActionRunner:
    def __init__(self, store: Store, rules: RequestRules) -> None:
        self._store = store
        self._rules = rules

    async def run(self, action: str, args: Mapping[str, Any], variables: Mapping[str, Any],
                  call: CallContext) -> Acted:
        return await getattr(self, action)(args, variables, call)  # type: ignore[no-any-return]

    async def identify_caller(self, args: Mapping[str, Any], variables: Mapping[str, Any],
                              call: CallContext) -> Acted:
        result = await self._store.lookup(lambda s: lookups.customers_by_phone(s, call.caller))
        failed = _failed(result)
        if failed:
            return failed
        customers = [_customer(c) for c in result.value]
        if len(customers) == 1:
            return Acted("found", {"customer": customers[0], "customers": customers})
        return Acted("many", {"customers": customers})

    async def find_customer(self, args: Mapping[str, Any], variables: Mapping[str, Any],
                            call: CallContext) -> Acted:
        code = str(args.get("code") or "")
        result = await self._store.lookup(lambda s: lookups.customer_by_code(s, code))
        failed = _failed(result)
        if failed:
            return failed
        return Acted("found", {"customer": _customer(result.value)})

    async def bill_status(self, args: Mapping[str, Any], variables: Mapping[str, Any],
                          call: CallContext) -> Acted:
        customer = variables.get("customer")
        if not customer:
            return Acted("no_customer")
        result = await self._store.lookup(lambda s: lookups.bill_status(s, customer["id"]))
        failed = _failed(result)
        if failed:
            return failed
        status = result.value
        if status.latest is None:
            return Acted("no_bill", {"bill": {"unpaid_total": 0, "unpaid_count": 0}})
        latest = status.latest
        return Acted("found", {"bill": {
            "period": latest.period, "kwh": latest.kwh, "amount": latest.amount,
            "due_date": latest.due_date, "status": "paid" if latest.paid else "unpaid",
            "paid_date": latest.paid_date, "unpaid_total": status.unpaid_total,
            "unpaid_count": status.unpaid_count}})

    async def planned_outages(self, args: Mapping[str, Any], variables: Mapping[str, Any],
                              call: CallContext) -> Acted:
        customer = variables.get("customer")
        if not customer:
            return Acted("no_customer")
        try:
            days = int(args.get("days", 7))
        except (TypeError, ValueError):
            days = 7
        info = CustomerInfo(customer["id"], customer["code"], customer["name"], "", "",
                            customer.get("district_company") or "", customer["area"],
                            customer["feeder"])
        result = await self._store.lookup(lambda s: lookups.planned_outages(s, info, days))
        failed = _failed(result)
        if failed:
            return failed
        outages = []
        for window in result.value:
            starts, ends = local(window.starts_at), local(window.ends_at)
            outages.append({"date": starts.date(), "starts_at": starts.time(),
                            "ends_at": ends.time(), "ends_date": ends.date(),
                            "reason": window.reason})
        if not outages:
            return Acted("none", {"outages": []})
        return Acted("found", {"outages": outages, "outage_count": len(outages)})

    async def create_request(self, args: Mapping[str, Any], variables: Mapping[str, Any],
                             call: CallContext) -> Acted:
        customer = variables.get("customer") or {}
        request_type = str(args.get("type"))

        def create(session: Any) -> Result[requests.Created]:
            return Found(requests.create(
                session, self._rules, request_type=request_type, actor="ivr",
                customer_id=customer.get("id"), caller_number=call.caller,
                description=str(args.get("note") or ""), call_id=call.call_id))

        result = await self._store.lookup(create)
        if not isinstance(result, Found):
            return Acted("unavailable")
        created = result.value
        deadline = local(created.deadline_at)
        return Acted("created", {"request": {
            "number": created.number, "type": request_type, "status":
            "forwarded" if created.forwarded else "open", "deadline_date": deadline.date(),
            "deadline_time": deadline.time(), "priority": created.priority}})

    async def request_status(self, args: Mapping[str, Any], variables: Mapping[str, Any],
                             call: CallContext) -> Acted:
        number = str(args.get("number") or "")

        def find(session: Any) -> Result[Any]:
            found = lookups.request_by_number(session, number)
            if isinstance(found, Found):
                requests.link_call(session, call.call_id, found.value.number)
            return found

        result = await self._store.lookup(find)
        failed = _failed(result)
        if failed:
            return failed
        info = result.value
        deadline = local(info.deadline_at)
        return Acted("found", {"request": {
            "number": info.number, "type": info.type, "status": info.status,
            "deadline_date": deadline.date(), "deadline_time": deadline.time(),
            "overdue": info.overdue_by_s > 0}})

    async def tariff(self, args: Mapping[str, Any], variables: Mapping[str, Any],
                     call: CallContext) -> Acted:
        """The tiers of a tariff in force today (``name``, default residential), to be read
        tier by tier: ``tier``, ``price``, and either ``up_to_kwh`` or, for the last tier (no
        upper bound: ``open_ended`` yes), ``above_kwh``; ``from_kwh`` too."""
        name = str(args.get("name") or "residential")
        today = local(utcnow()).date()
        result = await self._store.lookup(lambda s: lookups.tariff(s, name, today))
        if isinstance(result, NotFound):
            return Acted("none")
        if not isinstance(result, Found):
            return Acted("unavailable")
        info = result.value
        tiers = [{"tier": t.tier, "from_kwh": t.from_kwh, "up_to_kwh": t.to_kwh,
                  "above_kwh": max(t.from_kwh - 1, 0) if t.to_kwh is None else None,
                  "price": t.price, "open_ended": "yes" if t.to_kwh is None else "no"}
                 for t in info.tiers]
        return Acted("found", {"tariff": {"name": info.tariff, "valid_from": info.valid_from,
                                          "tiers": tiers, "tier_count": len(tiers)}})

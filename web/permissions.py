"""What each role may do, in one table, and whose things it may do it to.

Every page and endpoint names one permission (:func:`web.auth.require`); a role that lacks it is
refused (403), and so is a role that has it for things it does not own:

* an operator acts on and reads the state of its own operator only, and the desk is its own;
* a district company reads and moves the requests forwarded to it only.

The table is the contract the security tests check, endpoint by endpoint.
"""

from __future__ import annotations

import enum

from .accounts import Account, Role


class Permission(enum.StrEnum):
    DESK = "desk"                        # the operator's desk page and its live events
    CUSTOMERS_READ = "customers.read"
    CALLS_READ = "calls.read"            # the call history
    REQUESTS_CREATE = "requests.create"
    REQUESTS_READ = "requests.read"      # district: its own only
    REQUESTS_UPDATE = "requests.update"  # status changes and notes; district: its own only
    QUEUES_READ = "queues.read"          # queue statistics
    AGENTS_READ = "agents.read"          # operators' states; operator: its own only
    AGENTS_ACT = "agents.act"            # log in/out, pause, wrap-up; operator: its own only
    CALLS_TRANSFER = "calls.transfer"    # move the caller of an operator's call elsewhere
    ACCOUNTS_MANAGE = "accounts.manage"
    DISTRICT_PORTAL = "district.portal"  # the district company portal; district: its own only
    REPORTS_READ = "reports.read"        # the daily report (page, CSV)


R, P = Role, Permission
GRANTS: dict[Role, frozenset[Permission]] = {
    R.OPERATOR: frozenset({P.DESK, P.CUSTOMERS_READ, P.CALLS_READ, P.REQUESTS_CREATE,
                           P.REQUESTS_READ, P.AGENTS_READ, P.AGENTS_ACT, P.CALLS_TRANSFER}),
    R.SUPERVISOR: frozenset({P.CUSTOMERS_READ, P.CALLS_READ, P.REQUESTS_CREATE,
                             P.REQUESTS_READ, P.REQUESTS_UPDATE, P.QUEUES_READ, P.AGENTS_READ,
                             P.AGENTS_ACT, P.CALLS_TRANSFER, P.DISTRICT_PORTAL,
                             P.REPORTS_READ}),
    # an admin may look at any district company's portal, not move its requests
    R.ADMIN: frozenset({P.ACCOUNTS_MANAGE, P.QUEUES_READ, P.AGENTS_READ, P.DISTRICT_PORTAL,
                        P.REPORTS_READ}),
    R.DISTRICT: frozenset({P.REQUESTS_READ, P.REQUESTS_UPDATE, P.DISTRICT_PORTAL}),
    # the website and other channels: find the customer, bring in requests, follow them
    R.API: frozenset({P.CUSTOMERS_READ, P.REQUESTS_CREATE, P.REQUESTS_READ}),
}


def may(account: Account, permission: Permission) -> bool:
    return permission in GRANTS[account.role]


def owns_agent(account: Account, agent_id: str) -> bool:
    """May ``account`` see or act on operator ``agent_id`` (given the permission)?"""
    return account.role is not Role.OPERATOR or account.agent_id == agent_id


def sees_district(account: Account, district_code: str | None) -> bool:
    """May ``account`` see a request of ``district_code`` (given the permission)?"""
    return account.role is not Role.DISTRICT or (
        district_code is not None and account.district_code == district_code)

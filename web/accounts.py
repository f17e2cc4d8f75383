"""Who may log in: accounts with roles, their argon2id password hashes, API tokens.

Roles (see :mod:`web.permissions` for what each may do):

    operator    one per operator (``op07``): the desk of that operator only
    supervisor  every operator and queue, the call history, requests
    admin       accounts and configuration
    district    one per district company (``district-pcsg``): that company's requests only
    api         another system (the website, an SMS gateway): bearer tokens, no password login

Accounts live in the records database (``web_accounts``). The demo accounts (every operator
of the operators file, ``supervisor``, ``admin``, ``district-<code>`` for every district
company) get passwords generated with the hotline's other secrets and kept beside them in
``hotline.json`` (mode 0600); a demo account's row, with its hash, is written the first time it
logs in, so starting a hotline costs no hashing. From then on the row is the account (an
admin's change of password wins). Passwords are never logged.

API tokens are 32 random bytes shown once; only their SHA-256 is stored (a random token needs
no slow hash), so a copy of the database gives no working token.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from records.clock import utcnow
from records.models import ApiToken, WebAccount


class Role(enum.StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    DISTRICT = "district"
    API = "api"


class AccountError(Exception):
    """An account cannot be made or changed as asked (the message says why)."""

    code = "web.account"


#: argon2id with OWASP's minimum parameters (19 MiB, 2 passes): ~30 ms a check on one core
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
#: checked against when the user is unknown, so the answer takes as long as for a known one
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))

USERNAME = re.compile(r"[a-z][a-z0-9_.-]{1,63}")
MIN_PASSWORD = 12


@dataclass(frozen=True)
class Account:
    """The logged-in party: who, with which role, owning which operator or district."""

    username: str
    role: Role
    agent_id: str | None = None       # operator: the operator this account is
    district_code: str | None = None  # district: the company this account is


def demo_role(username: str) -> Account | None:
    """The account a demo name stands for (``op07``, ``supervisor``, ``admin``,
    ``district-pcsg``), or None."""
    if re.fullmatch(r"op[0-9]{2,3}", username):
        return Account(username, Role.OPERATOR, agent_id=username)
    if username in ("supervisor", "admin"):
        return Account(username, Role(username))
    match = re.fullmatch(r"district-([a-z0-9]{2,15})", username)
    if match:
        return Account(username, Role.DISTRICT, district_code=match[1].upper())
    return None


def demo_usernames(operators: list[str], district_codes: list[str]) -> list[str]:
    return [*operators, "supervisor", "admin",
            *(f"district-{code.lower()}" for code in district_codes)]


def _account(row: WebAccount) -> Account:
    return Account(row.username, Role(row.role), row.agent_id, row.district_code)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str,
                 demo_passwords: dict[str, str]) -> Account | None:
    """The account if ``password`` is its password (slow on purpose: call it off the event
    loop); None otherwise, in about the same time either way."""
    row = session.scalar(select(WebAccount).where(WebAccount.username == username))
    if row is None:
        demo = demo_passwords.get(username)
        account = demo_role(username)
        if demo is None or account is None:
            verify_password(_DUMMY_HASH, password)
            return None
        if not hmac.compare_digest(demo.encode(), password.encode()):
            verify_password(_DUMMY_HASH, password)
            return None
        _store(session, account, password)  # the demo account's first login: its row
        return account
    if row.disabled or row.role == Role.API.value:  # another system: tokens only
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(row.password_hash, password):
        return None
    if HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = HASHER.hash(password)
        session.commit()
    return _account(row)


def _store(session: Session, account: Account, password: str) -> None:
    now = utcnow()
    session.add(WebAccount(username=account.username, role=account.role.value,
                           agent_id=account.agent_id, district_code=account.district_code,
                           password_hash=HASHER.hash(password), disabled=False,
                           created_at=now, password_changed_at=now))
    session.commit()


def create(session: Session, account: Account, password: str | None = None) -> str:
    """A new account; its password (generated when not given). Raises AccountError."""
    if not USERNAME.fullmatch(account.username):
        raise AccountError(f"{account.username!r} is not a user name: a lower-case letter, "
                           "then 1-63 letters, digits, '_', '.' or '-'")
    if account.role is Role.OPERATOR and not account.agent_id:
        raise AccountError("an operator account names its operator (e.g. op07)")
    if account.role is Role.DISTRICT and not account.district_code:
        raise AccountError("a district account names its district company (e.g. PCSG)")
    if session.scalar(select(WebAccount.id).where(WebAccount.username == account.username)):
        raise AccountError(f"there is already an account {account.username}")
    password = password or secrets.token_urlsafe(15)
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    _store(session, account, password)
    return password


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, username: str, name: str) -> str:
    """A new API token for the account ``username`` (shown once; only its digest is kept)."""
    account_id = session.scalar(select(WebAccount.id).where(WebAccount.username == username))
    if account_id is None:
        raise AccountError(f"no account {username}")
    token = "hl_" + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=account_id, name=name[:64], token_hash=token_digest(token),
                         created_at=utcnow()))
    session.commit()
    return token


def by_token(session: Session, token: str) -> Account | None:
    """The account a bearer token belongs to (not revoked, account not disabled), or None."""
    row = session.execute(
        select(WebAccount).join(ApiToken, ApiToken.account_id == WebAccount.id)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None),
               WebAccount.disabled.is_(False))).scalar()
    return None if row is None else _account(row)

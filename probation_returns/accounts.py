"""Portal accounts: who may sign in, with which role, and for which provider.

Passwords are kept only as argon2id hashes (argon2-cffi's defaults, rehashed when they change). Roles:
``provider`` (a provider's submitter, bound to one provider), ``manager`` (a contract manager: every
provider) and ``admin`` (accounts and the audit log).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from probation_returns.reference import providers
from probation_returns.warehouse.models import User

ROLES = {"provider": "Provider submitter", "manager": "Contract manager", "admin": "Administrator"}
MIN_PASSWORD = 12
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password anyone has")  # checked when the address is unknown: the same time taken


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    name: str
    role: str
    provider_code: str | None


def _view(user: User) -> Account:
    return Account(user.id, user.email, user.name, user.role, user.provider_code)


def generate_password() -> str:
    """Four groups of five from an alphabet without look-alikes: easy to type, about 100 bits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def add_user(session: Session, email: str, role: str, password: str, *, provider: str | None = None,
             name: str | None = None) -> Account:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if role == "provider":
        if not provider or provider.upper() not in providers():
            raise AccountError("a provider submitter needs --provider, one of the 28 codes (e.g. C14)")
        provider = provider.upper()
    elif provider:
        raise AccountError(f"a {ROLES[role].lower()} sees every provider: leave out --provider")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"{email} already has an account")
    user = User(email=email, name=(name or email.split("@")[0]).strip(), role=role, provider_code=provider,
                password_hash=_hasher.hash(password), active=True)
    session.add(user)
    session.flush()
    return _view(user)


def authenticate(session: Session, email: str, password: str) -> Account | None:
    """The account if the address and password match an active account; None otherwise (which, not said)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_sign_in_at = dt.datetime.now(dt.timezone.utc)
    return _view(user)


def get(session: Session, user_id: int) -> Account | None:
    user = session.get(User, user_id)
    return _view(user) if user is not None and user.active else None


def all_accounts(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.provider_code, User.email)))


DEMO_ACCOUNTS = (("c14.clerk@demo.invalid", "provider", "C14", "C14 data clerk"),
                 ("contract.manager@demo.invalid", "manager", None, "Contract manager"))


def demo_accounts(session: Session) -> list[tuple[Account, str]]:
    """The demo's two accounts, each with a new password (made now, printed once, never in the code)."""
    out = []
    for email, role, provider, name in DEMO_ACCOUNTS:
        password = generate_password()
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            account = add_user(session, email, role, password, provider=provider, name=name)
        else:
            user.password_hash, user.active = _hasher.hash(password), True
            account = _view(user)
        out.append((account, password))
    return out

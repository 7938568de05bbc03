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
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from probation_returns import clock
from probation_returns.reference import providers
from probation_returns.warehouse.models import User

ROLES = {
    "provider": "Provider submitter",
    "manager": "Contract manager",
    "admin": "Administrator",
    "officer": "Provider's accountable officer",
}
PROVIDER_ROLES = ("provider", "officer")  # bound to one provider
MIN_PASSWORD = 12
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
LOCK_AFTER = 10  # wrong passwords in a row
LOCK_FOR = dt.timedelta(minutes=15)
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
    session_version: int = 0


def _view(user: User) -> Account:
    return Account(user.id, user.email, user.name, user.role, user.provider_code, user.session_version or 0)


def generate_password() -> str:
    """Four groups of five from an alphabet without look-alikes: easy to type, about 100 bits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def add_user(
    session: Session, email: str, role: str, password: str, *, provider: str | None = None, name: str | None = None
) -> Account:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if role in PROVIDER_ROLES:
        if not provider or provider.upper() not in providers():
            raise AccountError(f"a {ROLES[role].lower()} needs --provider, one of the 28 codes (e.g. C14)")
        provider = provider.upper()
    elif provider:
        raise AccountError(f"a {ROLES[role].lower()} sees every provider: leave out --provider")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"{email} already has an account")
    user = User(
        email=email,
        name=(name or email.split("@")[0]).strip(),
        role=role,
        provider_code=provider,
        password_hash=_hasher.hash(password),
        active=True,
    )
    session.add(user)
    session.flush()
    return _view(user)


@dataclass(frozen=True)
class SignIn:
    account: Account | None  # None: refused
    why: str  # "accepted", "refused" (unknown address, wrong password or disabled) or "locked"
    locked_until: dt.datetime | None = None  # when the lock ends ("locked"), or when one starts ("refused")


def sign_in(
    session: Session,
    email: str,
    password: str,
    *,
    now: dt.datetime | None = None,
    lock_after: int = LOCK_AFTER,
    lock_for: dt.timedelta = LOCK_FOR,
) -> SignIn:
    """Check the address and password. ``lock_after`` wrong passwords in a row lock the account for
    ``lock_for``: until then even the right password is refused (and not checked). Who is told what is
    the caller's business; the outcome here is exact, for the audit log."""
    now = now or clock.now()
    user = session.scalar(select(User).where(User.email == email.strip().lower()).with_for_update())
    if user is not None and user.locked_until is not None and _utc(user.locked_until) > now:
        _hasher.hash(password)  # the same time taken as a checked password: the lock is not told by timing
        return SignIn(None, "locked", _utc(user.locked_until))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        if user is None:
            return SignIn(None, "refused")
        user.failed_sign_ins = (user.failed_sign_ins or 0) + 1
        if user.failed_sign_ins >= lock_after:
            user.failed_sign_ins, user.locked_until = 0, now + lock_for
            return SignIn(None, "refused", user.locked_until)
        return SignIn(None, "refused")
    if user is None or not user.active:
        return SignIn(None, "refused")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_sign_in_at, user.failed_sign_ins, user.locked_until = now, 0, None
    return SignIn(_view(user), "accepted")


def authenticate(session: Session, email: str, password: str) -> Account | None:
    """The account if the address and password match an active, unlocked account; None otherwise."""
    return sign_in(session, email, password).account


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def get(session: Session, user_id: int, session_version: int | None = None) -> Account | None:
    """The active account; with ``session_version``, only if its sessions have not been ended since."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    if session_version is not None and session_version != (user.session_version or 0):
        return None
    return _view(user)


def end_sessions(session: Session, user_id: int) -> None:
    """Every session the account has, on any browser, stops working at its next request."""
    session.execute(
        update(User).where(User.id == user_id).values(session_version=func.coalesce(User.session_version, 0) + 1)
    )


def find(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountError(f"there is no account for {email.strip().lower()!r}")
    return user


def disable(session: Session, email: str) -> Account:
    """The account can no longer sign in, and its sessions end at once."""
    user = find(session, email)
    user.active = False
    end_sessions(session, user.id)
    session.refresh(user)
    return _view(user)


def enable(session: Session, email: str) -> Account:
    user = find(session, email)
    user.active = True
    session.flush()
    return _view(user)


def reset_password(session: Session, email: str, password: str) -> Account:
    """A new password; every session of the account ends and any lock is lifted."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters")
    user = find(session, email)
    user.password_hash, user.failed_sign_ins, user.locked_until = _hasher.hash(password), 0, None
    end_sessions(session, user.id)
    session.refresh(user)
    return _view(user)


def unlock(session: Session, email: str) -> Account:
    """Lift a lock made by wrong passwords before it ends by itself."""
    user = find(session, email)
    user.failed_sign_ins, user.locked_until = 0, None
    session.flush()
    return _view(user)


def locked(user: User, now: dt.datetime | None = None) -> bool:
    return user.locked_until is not None and _utc(user.locked_until) > (now or clock.now())


def all_accounts(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.provider_code, User.email)))


DEMO_ACCOUNTS = (
    ("c14.clerk@demo.invalid", "provider", "C14", "C14 data clerk"),
    ("contract.manager@demo.invalid", "manager", None, "Contract manager"),
    ("c14.officer@demo.invalid", "officer", "C14", "C14 accountable officer"),
)


def demo_accounts(session: Session) -> list[tuple[Account, str]]:
    """The demo's two accounts, each with a new password (made now, printed once, never in the code)."""
    out = []
    for email, role, provider, name in DEMO_ACCOUNTS:
        password = generate_password()
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            account = add_user(session, email, role, password, provider=provider, name=name)
        else:
            user.password_hash, user.active, user.failed_sign_ins, user.locked_until = (
                _hasher.hash(password),
                True,
                0,
                None,
            )
            end_sessions(session, user.id)
            session.refresh(user)
            account = _view(user)
        out.append((account, password))
    return out

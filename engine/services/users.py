"""Console users: create (with a generated password shown once), authenticate with lockout, list, change role,
reset password, disable. Passwords are stored as werkzeug scrypt hashes; roles are engine.models.auth.ROLES."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from peewee import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from engine.catalog.models import utcnow
from engine.errors import InvalidRequest, InvalidState, NotFound, Unauthenticated
from engine.models import ROLE_RANK, ROLES, User
from engine.services.views import UserView

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
PASSWORD_MIN = 12
PASSWORD_MAX = 256  # hashing costs CPU and memory: a bound on what a login form may send
MAX_FAILED_LOGINS = 5  # consecutive failures that lock an account...
LOCKOUT = dt.timedelta(minutes=15)  # ...for this long
HASH_METHOD = "scrypt"
_UNKNOWN_USER_HASH = generate_password_hash(secrets.token_hex(16), method=HASH_METHOD)  # same work when unknown


class AccountLocked(Unauthenticated):
    """Too many failed logins: the account refuses every password until `until`."""

    def __init__(self, until: dt.datetime) -> None:
        minutes = max(1, round((until - utcnow()).total_seconds() / 60))
        super().__init__(
            f"too many failed logins: this account is locked for {minutes} more minute{'s' if minutes > 1 else ''}"
        )
        self.until = until
        self.minutes = minutes  # whole minutes left, at least 1 (the console words them in its own language)


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidRequest("1 to 64 letters, digits or . _ @ + - (starting with a letter or digit)", "username")
    return username


def _check_role(role: str) -> str:
    if role not in ROLE_RANK:
        raise InvalidRequest(f"unknown role {role!r} (known: {', '.join(ROLES)})", "role")
    return role


def _check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidRequest(f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters", "password")
    return password


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


def create_user(username: str, role: str, password: str | None = None) -> tuple[str, UserView]:
    """Create a user; returns (the password, generated when none is given, and the user's view)."""
    username, role = _check_username(username), _check_role(role)
    password = _check_password(password) if password is not None else generate_password()
    try:
        row = User.create(
            username=username, role=role, password_hash=generate_password_hash(password, method=HASH_METHOD)
        )
    except IntegrityError:
        raise InvalidRequest(f"a user named {username!r} already exists", "username") from None
    return password, UserView.of(row)


def _row(username: str) -> User:
    row = User.get_or_none(User.username == (username or "").strip())
    if row is None:
        raise NotFound(f"no user named {username!r}")
    return row


def authenticate_user(username: str, password: str) -> UserView:
    """The active user with this password. After MAX_FAILED_LOGINS consecutive failures the account is locked
    for LOCKOUT (AccountLocked, even with the right password); a wrong name or password is Unauthenticated."""
    row = User.get_or_none(User.username == (username or "").strip()[:64])
    now = utcnow()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise AccountLocked(row.locked_until)
    candidate = (password or "")[:PASSWORD_MAX]
    matches = check_password_hash(row.password_hash if row is not None else _UNKNOWN_USER_HASH, candidate)
    if row is None or not matches or row.disabled_at is not None:
        if row is not None and row.disabled_at is None:
            failures = row.failed_logins + 1
            locked = now + LOCKOUT if failures >= MAX_FAILED_LOGINS else None
            User.update(failed_logins=0 if locked else failures, locked_until=locked).where(User.id == row.id).execute()
            if locked is not None:
                raise AccountLocked(locked)
        raise Unauthenticated("wrong username or password")
    User.update(failed_logins=0, locked_until=None, last_login_at=now).where(User.id == row.id).execute()
    return UserView.of(User.get_by_id(row.id))


def active_user(user_id: int) -> UserView | None:
    """The user with this id, unless deleted or disabled (a session of a disabled user ends at its next request)."""
    row = User.get_or_none((User.id == user_id) & User.disabled_at.is_null())
    return UserView.of(row) if row is not None else None


def get_user(username: str) -> UserView:
    return UserView.of(_row(username))


def list_users() -> list[UserView]:
    return [UserView.of(u) for u in User.select().order_by(User.username)]


def count_users() -> int:
    return int(User.select().count())


def _keep_an_admin(row: User, role: str, disabled: bool) -> None:
    """InvalidState when changing `row` to (role, disabled) would leave no active admin to manage the console."""
    if row.role != "admin" or row.disabled_at is not None or (role == "admin" and not disabled):
        return
    others = User.select().where((User.role == "admin") & User.disabled_at.is_null() & (User.id != row.id))
    if not others.exists():
        raise InvalidState(f"{row.username} is the last active admin: make another user admin first")


def set_role(username: str, role: str) -> UserView:
    row = _row(username)
    role = _check_role(role)
    _keep_an_admin(row, role, row.disabled_at is not None)
    row.role = role
    row.save()
    return UserView.of(row)


def set_password(username: str, password: str | None = None) -> tuple[str, UserView]:
    """Replace a user's password (generated when none is given) and lift any lockout; returns (password, view)."""
    row = _row(username)
    password = _check_password(password) if password is not None else generate_password()
    row.password_hash = generate_password_hash(password, method=HASH_METHOD)
    row.failed_logins, row.locked_until = 0, None
    row.save()
    return password, UserView.of(row)


def set_disabled(username: str, disabled: bool) -> UserView:
    row = _row(username)
    _keep_an_admin(row, row.role, disabled)
    row.disabled_at = (row.disabled_at or utcnow()) if disabled else None
    row.save()
    return UserView.of(row)


FIRST_ADMIN = "admin"


def ensure_first_admin() -> tuple[str, str] | None:
    """On a fresh install (no user at all), create the user `admin` with a random password and return
    (username, password) to print once; None when a user exists."""
    if User.select().exists():
        return None
    password, user = create_user(FIRST_ADMIN, "admin")
    return user.username, password

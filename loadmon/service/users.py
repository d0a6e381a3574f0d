"""Web logins: users tied to an athlete, Argon2id password hashes, login throttling, the signing key.

Passwords are hashed with Argon2id at the OWASP minimum (19 MiB, 2 passes, 1 lane). A failed
login counts against the account and against the address it came from; after
:data:`FREE_FAILURES` failures in a row each further attempt must wait 2, 4, 8 ... seconds (at most
:data:`MAX_WAIT_S`), so 20 wrong passwords cost hours, not seconds. The wait is checked before
the password is: a throttled attempt does no hashing and learns nothing.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from loadmon.errors import NotFoundError, ValidationError
from loadmon.service.context import Service
from loadmon.storage import users as user_store
from loadmon.storage.users import User

__all__ = ["ROLES", "User", "LoginThrottle", "LoginResult", "add_user", "athlete_names", "list_users", "get_user", "find_user", "set_password",
           "remove_user", "authenticate", "web_secret", "MIN_PASSWORD_CHARS"]

ROLES = ("athlete", "coach", "admin")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
FREE_FAILURES = 5
MAX_WAIT_S = 15 * 60.0


def _hasher():
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


def _check_password(password: str) -> None:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise ValidationError(f"password: {len(password)} characters (allowed: {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS})")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(not c.isprintable() or c.isspace() for c in name):
        raise ValidationError(f"user name {name!r}: 1 to 100 printable characters without spaces")
    return name


def add_user(svc: Service, name: str, *, athlete_name: str, role: str, password: str) -> User:
    """A new login for the (existing) athlete ``athlete_name``."""
    name = _check_name(name)
    if role not in ROLES:
        raise ValidationError(f"role {role!r} is not allowed (allowed: {', '.join(ROLES)})")
    _check_password(password)
    athlete = svc.athlete(athlete_name)
    return user_store.add_user(svc.store, name=name, athlete_id=athlete.id, role=role,
                               password_hash=_hasher().hash(password))


def athlete_names(svc: Service) -> list[str]:
    """The athletes a login can belong to (the admin page's choice)."""
    return sorted(a.name for a in svc.store.list_athletes())


def list_users(svc: Service) -> list[User]:
    return user_store.list_users(svc.store)


def get_user(svc: Service, user_id: int) -> User:
    return user_store.get_user(svc.store, user_id=user_id)


def find_user(svc: Service, name: str) -> User | None:
    """The user called ``name`` (None when there is none): the reverse-proxy header login."""
    if not 0 < len(name) <= 100:
        return None
    try:
        return user_store.get_user(svc.store, name)
    except NotFoundError:
        return None


def set_password(svc: Service, name: str, password: str) -> None:
    _check_password(password)
    user_store.set_password_hash(svc.store, name, _hasher().hash(password))


def remove_user(svc: Service, name: str) -> None:
    user_store.remove_user(svc.store, name)


@dataclass
class LoginThrottle:
    """Failed logins per key (``user:NAME``, ``addr:IP``) and when the next attempt is allowed."""

    clock: Callable[[], datetime]
    #: above this many counted keys, those not throttled right now are forgotten (memory stays bounded)
    max_keys: int = 10_000
    failures: dict[str, int] = field(default_factory=dict)
    not_before: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, keys: list[str]) -> float:
        """Seconds to wait before any of ``keys`` may try again (0: now)."""
        now = self.clock()
        with self.lock:
            return max([0.0] + [(self.not_before[k] - now).total_seconds() for k in keys if k in self.not_before])

    def failed(self, keys: list[str]) -> None:
        from datetime import timedelta

        now = self.clock()
        with self.lock:
            for k in keys:
                n = self.failures[k] = self.failures.get(k, 0) + 1
                if n >= FREE_FAILURES:
                    self.not_before[k] = now + timedelta(seconds=min(MAX_WAIT_S, 2.0 ** (n - FREE_FAILURES + 1)))
            if len(self.failures) > self.max_keys:
                for k in [k for k in self.failures if k not in keys and self.not_before.get(k, now) <= now]:
                    self.failures.pop(k)
                    self.not_before.pop(k, None)

    def succeeded(self, keys: list[str]) -> None:
        with self.lock:
            for k in keys:
                self.failures.pop(k, None)
                self.not_before.pop(k, None)


@dataclass(frozen=True, kw_only=True)
class LoginResult:
    user: User | None
    #: why there is no user: "throttled" or "wrong" (unknown name and wrong password look the same)
    reason: str | None = None
    retry_after_s: float = 0.0


_DUMMY: list[str] = []


def authenticate(svc: Service, throttle: LoginThrottle, name: str, password: str, address: str) -> LoginResult:
    """Check a login; a throttled one is refused before any hashing."""
    from argon2.exceptions import InvalidHashError, VerificationError

    keys = [f"user:{name.strip().lower()}", f"addr:{address}"]
    wait = throttle.wait_s(keys)
    if wait > 0:
        return LoginResult(user=None, reason="throttled", retry_after_s=wait)
    stored = user_store.password_hash(svc.store, name) if 0 < len(name) <= 100 and len(password) <= MAX_PASSWORD_CHARS else None
    hasher = _hasher()
    try:
        if stored is None:  # the same work as a real check: the timing does not tell whether the name exists
            if not _DUMMY:
                _DUMMY.append(hasher.hash(secrets.token_hex(16)))
            hasher.verify(_DUMMY[0], password or "-")
            raise VerificationError
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        throttle.failed(keys)
        return LoginResult(user=None, reason="wrong")
    throttle.succeeded(keys)
    if hasher.check_needs_rehash(stored):
        user_store.set_password_hash(svc.store, name, hasher.hash(password))
    return LoginResult(user=user_store.get_user(svc.store, name))


def web_secret(svc: Service) -> str:
    """The key that signs session cookies: ``web-secret`` in the data folder (mode 0600), made on first use."""
    path = Path(svc.config.data_dir) / "web-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()



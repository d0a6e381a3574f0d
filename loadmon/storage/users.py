"""Web logins (the ``users`` table): who may log in, as which athlete, with which role.

The password hash is read only by :func:`password_hash` (for the check at login); a
:class:`User` record never carries it, so no page or log can show it by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from loadmon.errors import NotFoundError, ValidationError
from loadmon.storage.models import AthleteRow, UserRow
from loadmon.storage.rows import rowcount

if TYPE_CHECKING:  # pragma: no cover
    from loadmon.storage.store import Store


@dataclass(frozen=True, kw_only=True, slots=True)
class User:
    id: int
    name: str
    athlete_id: int
    athlete_name: str
    role: str
    created_at: datetime


def _select():
    return select(UserRow, AthleteRow.name).join(AthleteRow, AthleteRow.id == UserRow.athlete_id)


def _to_user(row: UserRow, athlete_name: str) -> User:
    return User(id=row.id, name=row.name, athlete_id=row.athlete_id, athlete_name=athlete_name, role=row.role,
                created_at=row.created_at)


def add_user(store: Store, *, name: str, athlete_id: int, role: str, password_hash: str) -> User:
    try:
        with store.session() as s:
            row = UserRow(name=name, athlete_id=athlete_id, role=role, password_hash=password_hash)
            s.add(row)
            s.flush()
            athlete = s.get(AthleteRow, athlete_id)
            return _to_user(row, athlete.name if athlete else "")
    except IntegrityError:
        raise ValidationError(f"user {name!r} already exists (`loadmon user list`)") from None


def list_users(store: Store) -> list[User]:
    with store.session() as s:
        return [_to_user(row, athlete) for row, athlete in s.execute(_select().order_by(UserRow.name))]


def get_user(store: Store, name: str | None = None, *, user_id: int | None = None) -> User:
    with store.session() as s:
        q = _select().where(UserRow.id == user_id) if user_id is not None else _select().where(UserRow.name == name)
        found = s.execute(q).first()
        if found is None:
            raise NotFoundError(f"no user {name if user_id is None else user_id!r} (`loadmon user list`)")
        return _to_user(*found)


def password_hash(store: Store, name: str) -> str | None:
    """The stored hash of ``name`` (None when there is no such user)."""
    with store.session() as s:
        return s.scalar(select(UserRow.password_hash).where(UserRow.name == name))


def set_password_hash(store: Store, name: str, new_hash: str) -> None:
    with store.session() as s:
        if rowcount(s.execute(update(UserRow).where(UserRow.name == name).values(password_hash=new_hash))) == 0:
            raise NotFoundError(f"no user {name!r} (`loadmon user list`)")


def remove_user(store: Store, name: str) -> None:
    with store.session() as s:
        if rowcount(s.execute(delete(UserRow).where(UserRow.name == name))) == 0:
            raise NotFoundError(f"no user {name!r} (`loadmon user list`)")


"""Personal API tokens of web logins (the ``api_tokens`` table).

Only the SHA-256 hash of a token is stored; an :class:`ApiToken` record never carries it, and
the token itself is shown once, when it is made (:mod:`loadmon.service.api_tokens`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from loadmon.errors import NotFoundError, ValidationError
from loadmon.storage.models import ApiTokenRow

if TYPE_CHECKING:  # pragma: no cover
    from loadmon.storage.store import Store


@dataclass(frozen=True, kw_only=True, slots=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _to_token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def add_token(store: Store, *, user_id: int, name: str, token_hash: str, now: datetime) -> ApiToken:
    try:
        with store.session() as s:
            row = ApiTokenRow(user_id=user_id, name=name, token_hash=token_hash, created_at=now)
            s.add(row)
            s.flush()
            return _to_token(row)
    except IntegrityError:  # a hash collision of two random tokens: practically never
        raise ValidationError("token: could not store a unique token, try again") from None


def list_tokens(store: Store, user_id: int) -> list[ApiToken]:
    with store.session() as s:
        rows = s.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.id))
        return [_to_token(r) for r in rows]


def revoke_token(store: Store, *, user_id: int, token_id: int, now: datetime) -> ApiToken:
    """Revoke one of ``user_id``'s tokens (revoking twice keeps the first time)."""
    with store.session() as s:
        row = s.get(ApiTokenRow, token_id)
        if row is None or row.user_id != user_id:
            raise NotFoundError(f"no token {token_id} of this user (`loadmon user tokens NAME`)")
        if row.revoked_at is None:
            row.revoked_at = now
            s.flush()
        return _to_token(row)


def active_token(store: Store, token_hash: str) -> ApiToken | None:
    """The token with this hash when it is not revoked (None otherwise)."""
    with store.session() as s:
        row = s.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash, ApiTokenRow.revoked_at.is_(None)))
        return None if row is None else _to_token(row)


def touch_token(store: Store, token_id: int, now: datetime) -> None:
    with store.session() as s:
        s.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=now))

"""Personal API tokens (``loadmon user token NAME``): a script's key to ``/api/*``.

A token is ``lm_`` + 43 random URL-safe characters (:func:`secrets.token_urlsafe`, 256 bits),
printed once when it is made; the database keeps only its SHA-256 (hex), so a copy of the
database gives no access. A revoked or unknown token is refused. ``last_used_at`` is written at
most once a minute per token (a busy script does not make a write per request).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from loadmon.errors import ValidationError
from loadmon.service.context import Service
from loadmon.storage import api_tokens as token_store
from loadmon.storage import users as user_store
from loadmon.storage.api_tokens import ApiToken
from loadmon.storage.users import User

__all__ = ["PREFIX", "ApiToken", "NewToken", "create_token", "list_tokens", "revoke_token", "user_for_token", "token_hash"]

PREFIX = "lm_"
TOUCH_EVERY = timedelta(minutes=1)
MAX_TOKEN_CHARS = 200


@dataclass(frozen=True, kw_only=True)
class NewToken:
    token: ApiToken
    #: the token itself: shown once, never stored
    secret: str


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _label(label: str | None) -> str:
    label = (label or "").strip() or "token"
    if len(label) > 100 or not label.isprintable():
        raise ValidationError(f"--label {label!r}: 1 to 100 printable characters")
    return label


def create_token(svc: Service, user_name: str, *, label: str | None = None) -> NewToken:
    """A new token for ``user_name`` (its text is in the result only)."""
    user = user_store.get_user(svc.store, user_name)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = token_store.add_token(svc.store, user_id=user.id, name=_label(label), token_hash=token_hash(secret), now=svc.clock())
    return NewToken(token=token, secret=secret)


def list_tokens(svc: Service, user_name: str) -> list[ApiToken]:
    return token_store.list_tokens(svc.store, user_store.get_user(svc.store, user_name).id)


def revoke_token(svc: Service, user_name: str, token_id: int) -> ApiToken:
    user = user_store.get_user(svc.store, user_name)
    return token_store.revoke_token(svc.store, user_id=user.id, token_id=token_id, now=svc.clock())


def user_for_token(svc: Service, secret: str) -> User | None:
    """The user a (not revoked) token belongs to, or None; records when it was used."""
    if not secret.startswith(PREFIX) or len(secret) > MAX_TOKEN_CHARS:
        return None
    token = token_store.active_token(svc.store, token_hash(secret))
    if token is None:
        return None
    now = svc.clock()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token_store.touch_token(svc.store, token.id, now)
    return user_store.get_user(svc.store, user_id=token.user_id)

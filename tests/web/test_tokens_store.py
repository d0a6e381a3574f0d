"""The api_tokens table on SQLite and PostgreSQL: hashed, revocable, touched at most once a minute,
removed with its user."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from loadmon.config import Config
from loadmon.errors import NotFoundError, ValidationError
from loadmon.service import Service, api_tokens
from loadmon.service import users as user_service


def test_tokens_round_trip_on_each_backend(store):
    now = [datetime(2026, 12, 5, 8, 0, tzinfo=UTC)]
    svc = Service(config=Config(), store=store, clock=lambda: now[0])
    for name in ("ann", "bob"):
        svc.add_athlete(name)
        user_service.add_user(svc, name, athlete_name=name, role="athlete", password="a long password")
    new = api_tokens.create_token(svc, "ann", label="sync script")
    assert all("hash" not in f.name and "secret" not in f.name for f in dataclasses.fields(new.token))
    assert api_tokens.user_for_token(svc, new.secret).name == "ann"
    assert api_tokens.list_tokens(svc, "ann")[0].last_used_at == now[0]
    now[0] += timedelta(seconds=30)  # within the minute: not written again
    api_tokens.user_for_token(svc, new.secret)
    assert api_tokens.list_tokens(svc, "ann")[0].last_used_at == now[0] - timedelta(seconds=30)
    now[0] += timedelta(minutes=2)
    api_tokens.user_for_token(svc, new.secret)
    assert api_tokens.list_tokens(svc, "ann")[0].last_used_at == now[0]
    assert api_tokens.user_for_token(svc, new.secret + "x") is None
    assert api_tokens.user_for_token(svc, api_tokens.token_hash(new.secret)) is None  # the hash is no key
    with pytest.raises(NotFoundError):
        api_tokens.revoke_token(svc, "bob", new.token.id)  # not bob's
    revoked = api_tokens.revoke_token(svc, "ann", new.token.id)
    assert revoked.revoked_at == now[0] and api_tokens.user_for_token(svc, new.secret) is None
    second = api_tokens.create_token(svc, "ann")
    assert second.secret != new.secret and second.token.name == "token"
    with pytest.raises(ValidationError):
        api_tokens.create_token(svc, "ann", label="x" * 101)
    user_service.remove_user(svc, "ann")  # its tokens go with it
    assert api_tokens.user_for_token(svc, second.secret) is None
    user_service.add_user(svc, "ann", athlete_name="ann", role="athlete", password="a long password")
    assert api_tokens.list_tokens(svc, "ann") == []

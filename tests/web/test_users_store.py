"""The users table on SQLite and PostgreSQL: add, look up, password change, remove; the record carries no hash."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from loadmon.config import Config
from loadmon.errors import NotFoundError, ValidationError
from loadmon.service import Service
from loadmon.service import users as user_service


def test_users_round_trip_on_each_backend(store):
    svc = Service(config=Config(), store=store)
    svc.add_athlete("ann")
    user = user_service.add_user(svc, "ann", athlete_name="ann", role="admin", password="first password")
    assert (user.name, user.athlete_name, user.role) == ("ann", "ann", "admin")
    assert all("hash" not in f.name and "password" not in f.name for f in dataclasses.fields(user))
    with pytest.raises(ValidationError, match="already exists"):
        user_service.add_user(svc, "ann", athlete_name="ann", role="athlete", password="first password")
    throttle = user_service.LoginThrottle(clock=lambda: datetime.now(UTC))
    assert user_service.authenticate(svc, throttle, "ann", "first password", "192.0.2.1").user == user
    user_service.set_password(svc, "ann", "second password")
    assert user_service.authenticate(svc, throttle, "ann", "first password", "192.0.2.1").reason == "wrong"
    assert user_service.authenticate(svc, throttle, "ann", "second password", "192.0.2.1").user == user
    assert user_service.authenticate(svc, throttle, "nobody", "second password", "192.0.2.1").reason == "wrong"
    assert [u.name for u in user_service.list_users(svc)] == ["ann"]
    user_service.remove_user(svc, "ann")
    assert user_service.list_users(svc) == []
    with pytest.raises(NotFoundError):
        user_service.remove_user(svc, "ann")
    with pytest.raises(NotFoundError):
        user_service.set_password(svc, "ann", "third password")


@pytest.mark.parametrize("name", ["", "two words", "x" * 101, "tab\tname"])
def test_bad_user_names_are_refused(store, name):
    svc = Service(config=Config(), store=store)
    svc.add_athlete("ann")
    with pytest.raises(ValidationError, match="user name"):
        user_service.add_user(svc, name, athlete_name="ann", role="athlete", password="long enough")


def test_the_throttle_forgets_keys_that_are_not_throttled_when_it_holds_too_many():
    from datetime import timedelta

    now = [datetime(2026, 12, 4, 12, 0, tzinfo=UTC)]
    throttle = user_service.LoginThrottle(clock=lambda: now[0], max_keys=20)
    for _ in range(user_service.FREE_FAILURES):
        throttle.failed(["user:ann"])
    for i in range(100):
        throttle.failed([f"addr:198.51.100.{i}"])
    assert len(throttle.failures) <= 21
    assert throttle.wait_s(["user:ann"]) > 0  # the throttled account is kept
    now[0] += timedelta(hours=1)
    assert throttle.wait_s(["user:ann"]) == 0

"""Fixtures for the scale-out tests: a private PostgreSQL database, a private Redis namespace.

Skips cleanly without PostgreSQL (``LOADMON_TEST_DATABASE_URL``), without a Redis server on
``LOADMON_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/13``: a dedicated DB number) or
without celery installed (the ``scale`` extra). Each test gets its own queue name and key
prefix, so concurrent test runs on one Redis never see each other's tasks.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.receivers import smtp_receiver  # noqa: F401 - fixture

REDIS_URL = os.environ.get("LOADMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture(scope="session")
def redis_url() -> str:
    pytest.importorskip("celery", reason="celery is not installed (pip install '.[scale]')")
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {type(exc).__name__}")
    return REDIS_URL


@pytest.fixture
def queue_name(redis_url: str) -> Iterator[str]:
    """A queue name (and key prefix) of its own; its Redis keys are deleted afterwards."""
    import redis

    name = f"lmtest-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{name}*", count=1000)) + list(client.scan_iter(match=f"*{name}*", count=1000))
        if keys:
            client.delete(*set(keys))
    finally:
        client.close()


@pytest.fixture
def fresh_pg_url(pg_database_url: str) -> str:
    """The session's PostgreSQL database, emptied (schema at head)."""
    from loadmon.storage import Store
    from tests.conftest import _truncate

    store = Store.open(pg_database_url)
    try:
        _truncate(store)
    finally:
        store.close()
    return pg_database_url

"""Per-process state of a worker: the configuration, one :class:`Service` per process, and
the Redis client for "already queued" markers.

A prefork worker forks its children after the configuration is set; each child opens its own
database engine on first use (an engine must never cross a fork), hence the pid check.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from loadmon.config import Config
from loadmon.service import Service

_lock = threading.Lock()
_config: Config | None = None
_service: tuple[int, Service] | None = None
_redis: tuple[int, Any] | None = None


def configure(config: Config) -> None:
    global _config
    with _lock:
        _config = config


def config() -> Config:
    if _config is None:
        raise RuntimeError("loadmon.worker.runtime.configure() was not called (start workers with `loadmon worker`)")
    return _config


def service() -> Service:
    """This process's Service (opened on first use; the schema must already be current)."""
    global _service
    pid = os.getpid()
    with _lock:
        if _service is not None and _service[0] == pid:
            return _service[1]
        svc = Service.open(config(), migrate=False)
        _service = (pid, svc)
        return svc


def close() -> None:
    global _service, _redis
    with _lock:
        if _service is not None and _service[0] == os.getpid():
            _service[1].close()
        _service = None
        if _redis is not None and _redis[0] == os.getpid():
            try:
                _redis[1].close()
            except Exception:
                pass
        _redis = None


def redis_client() -> Any:
    """A redis-py client on the broker (one per process)."""
    global _redis
    pid = os.getpid()
    with _lock:
        if _redis is not None and _redis[0] == pid:
            return _redis[1]
        import redis

        client = redis.Redis.from_url(config().worker.broker_url, socket_timeout=10, socket_connect_timeout=10)
        _redis = (pid, client)
        return client


__all__ = ["close", "config", "configure", "redis_client", "service"]

"""Waking a scheduled job now, in this process: the daemon registers how (its scheduler), and
the web app served beside it (``[web] enabled``) wakes the ``strava_events`` job as soon as a
Strava event is recorded. Without a registered scheduler (``loadmon web`` in its own process,
Celery workers) nothing happens here and the job's short interval picks the event up."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["register", "unregister", "wake"]

_lock = threading.Lock()
_wakers: list[Callable[[str], None]] = []


def register(waker: Callable[[str], None]) -> None:
    """``waker(job_name)`` runs that job now (it must not raise and must return at once)."""
    with _lock:
        _wakers.append(waker)


def unregister(waker: Callable[[str], None]) -> None:
    with _lock:
        if waker in _wakers:
            _wakers.remove(waker)


def wake(job: str) -> bool:
    """Ask every registered scheduler of this process to run ``job`` now; False when there is none."""
    with _lock:
        wakers = list(_wakers)
    for waker in wakers:
        try:
            waker(job)
        except Exception:  # a scheduler shutting down: the job's interval catches up
            pass
    return bool(wakers)

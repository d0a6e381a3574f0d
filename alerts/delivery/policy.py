"""The outbox's retry policy and delivery states (pure: no I/O, no clock of its own).

The stored outbox (one row per alert and channel) lives in loadmon.storage; the service
asks this module when to try again, when to give up and whether a new alert is still worth
sending. Times are timezone-aware datetimes passed in by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from alerts.alert import Alert

# the outbox states and keys live in the domain: the storage layer writes them too
from loadmon.domain import DeliveryState as DeliveryState
from loadmon.domain import make_idempotency_key as make_idempotency_key

DEFAULT_BASE_S = 60.0
DEFAULT_FACTOR = 2.0
DEFAULT_MAX_DELAY_S = 3600.0
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_NOTIFY_WINDOW_HOURS = 48.0


@runtime_checkable
class Channel(Protocol):
    """A delivery channel: e-mail, one push URL, ...

    ``name`` is stable and secret-free (it is stored in the outbox row and shown in the CLI).
    ``send`` takes one alert or a group (the alerts of one evaluation for one athlete, sent as
    one message); it returns once the far side accepted it and raises
    :class:`loadmon.errors.DeliveryError` otherwise (the outbox retries).
    """

    name: str

    def send(self, alert: Alert | Sequence[Alert], idempotency_key: str) -> None: ...


def backoff_delay_s(
    attempts: int,
    *,
    base_s: float = DEFAULT_BASE_S,
    factor: float = DEFAULT_FACTOR,
    max_delay_s: float = DEFAULT_MAX_DELAY_S,
) -> float:
    """Seconds to wait after ``attempts`` failed attempts: ``base_s * factor**(attempts-1)``, capped.

    ``attempts <= 0`` (never tried) gives 0: due now.
    """
    _check_policy(base_s=base_s, factor=factor, max_delay_s=max_delay_s)
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise ValueError(f"attempts: expected an integer, got {attempts!r}")
    if attempts <= 0:
        return 0.0
    if factor == 1.0:
        return min(float(base_s), float(max_delay_s))
    # Without overflow for any attempts: the exponent at which the cap is reached.
    cap_exponent = math.log(max_delay_s / base_s, factor) if max_delay_s > base_s else 0.0
    exponent = attempts - 1
    if exponent >= cap_exponent:
        return float(max_delay_s)
    return min(float(base_s) * float(factor) ** exponent, float(max_delay_s))


def next_attempt_at(
    attempts: int,
    now: datetime,
    base_s: float = DEFAULT_BASE_S,
    factor: float = DEFAULT_FACTOR,
    max_delay_s: float = DEFAULT_MAX_DELAY_S,
    jitter: Callable[[float], float] | None = None,
) -> datetime:
    """When to try again after ``attempts`` failed attempts (exponential backoff, capped).

    ``jitter`` (optional) maps the delay in seconds to the delay to use, e.g.
    ``lambda d: random.uniform(d / 2, d)``; its result is clamped to ``[0, max_delay_s]``.
    ``now`` must be timezone-aware; the result has the same time zone.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now: {now!r} must be timezone-aware")
    delay = backoff_delay_s(attempts, base_s=base_s, factor=factor, max_delay_s=max_delay_s)
    if jitter is not None and delay > 0:
        jittered = float(jitter(delay))
        if not math.isfinite(jittered):
            raise ValueError(f"jitter returned {jittered!r} for a delay of {delay} s")
        delay = min(max(jittered, 0.0), float(max_delay_s))
    return now + timedelta(seconds=delay)


def should_give_up(attempts: int, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> bool:
    """True once ``attempts`` failed attempts reach ``max_attempts`` (the row becomes FAILED)."""
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValueError(f"max_attempts: expected an integer >= 1, got {max_attempts!r}")
    return attempts >= max_attempts


def within_notify_window(
    event_at: datetime, now: datetime, window_hours: float = DEFAULT_NOTIFY_WINDOW_HOURS
) -> bool:
    """True when an alert about ``event_at`` is recent enough to send (``now - event_at <= window``).

    An alert found while importing old history is older than the window: record it as
    SUPPRESSED instead of sending it. Both datetimes must be timezone-aware.
    """
    for name, value in (("event_at", event_at), ("now", now)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name}: {value!r} must be timezone-aware")
    if not (isinstance(window_hours, (int, float)) and math.isfinite(window_hours) and window_hours >= 0):
        raise ValueError(f"window_hours: expected a number >= 0, got {window_hours!r}")
    return now - event_at <= timedelta(hours=window_hours)


def initial_state(
    event_at: datetime, now: datetime, window_hours: float = DEFAULT_NOTIFY_WINDOW_HOURS
) -> DeliveryState:
    """PENDING for a recent alert, SUPPRESSED for one outside the notify window."""
    if within_notify_window(event_at, now, window_hours):
        return DeliveryState.PENDING
    return DeliveryState.SUPPRESSED


def _check_policy(*, base_s: float, factor: float, max_delay_s: float) -> None:
    for name, value in (("base_s", base_s), ("factor", factor), ("max_delay_s", max_delay_s)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if base_s <= 0:
        raise ValueError(f"base_s: must be > 0, got {base_s!r}")
    if factor < 1:
        raise ValueError(f"factor: must be >= 1, got {factor!r}")
    if max_delay_s < base_s:
        raise ValueError(f"max_delay_s: must be >= base_s ({base_s!r}), got {max_delay_s!r}")

"""``loadmon alerts test``: a harmless alert sent to every channel, one result per channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.alert import Alert
from alerts.delivery.policy import Channel
from loadmon.domain import AlertSeverity
from loadmon.errors import LoadmonError

SELFTEST_RULE = "selftest"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChannelResult:
    channel: str
    ok: bool
    error: str | None = None  # the DeliveryError message (secret-free) when not ok


def build_test_alert(now: datetime, *, athlete_id: int = 0, athlete_name: str = "loadmon") -> Alert:
    """An INFO alert that says it is a test; its numbers are examples, not training data."""
    if now.tzinfo is None:
        raise ValueError(f"now: {now!r} must be timezone-aware")
    return Alert(
        rule=SELFTEST_RULE,
        severity=AlertSeverity.INFO,
        athlete_id=athlete_id,
        athlete_name=athlete_name,
        local_date=now.date(),
        activity_id=None,
        title="test message",
        message=(
            "This is a test message from loadmon. If you can read it, alerts reach you on this "
            "channel. Nothing is wrong with your training: the numbers below are examples."
        ),
        numbers={"example_last_7d_km": 38.2, "example_previous_7d_km": 30.8, "example_ramp_pct": 24},
        rule_text="No rule: sent on request by 'loadmon alerts test'.",
        evidence="None: this is not an alert.",
        dedupe_key=f"{SELFTEST_RULE}:{now.isoformat()}",
    )


def selftest_key(now: datetime) -> str:
    """A fresh idempotency key per test run (a receiver must not drop a second test as a duplicate)."""
    return f"lm-selftest-{now.strftime('%Y%m%dT%H%M%S%f')}"


def send_test_message(
    channels: Sequence[Channel], *, now: datetime, athlete_id: int = 0, athlete_name: str = "loadmon"
) -> list[ChannelResult]:
    """Send the test alert on every channel; never raises for a channel failure."""
    alert = build_test_alert(now, athlete_id=athlete_id, athlete_name=athlete_name)
    key = selftest_key(now)
    results: list[ChannelResult] = []
    for channel in channels:
        try:
            channel.send(alert, key)
        except LoadmonError as exc:
            results.append(ChannelResult(channel=channel.name, ok=False, error=str(exc)))
        else:
            results.append(ChannelResult(channel=channel.name, ok=True))
    return results

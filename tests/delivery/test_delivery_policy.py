"""The outbox retry policy: exponential backoff with a cap, give-up, notify window, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.delivery.policy import (
    Channel,
    DeliveryState,
    backoff_delay_s,
    initial_state,
    make_idempotency_key,
    next_attempt_at,
    should_give_up,
    within_notify_window,
)

NOW = datetime(2024, 5, 7, 6, 0, tzinfo=UTC)


def test_first_retry_waits_the_base_delay() -> None:
    assert next_attempt_at(1, NOW, base_s=60) == NOW + timedelta(seconds=60)


def test_never_tried_is_due_now() -> None:
    assert next_attempt_at(0, NOW) == NOW


def test_backoff_doubles_until_the_cap_then_stays() -> None:
    delays = [backoff_delay_s(n, base_s=60, factor=2, max_delay_s=3600) for n in range(1, 12)]
    capped_from = delays.index(3600)
    assert capped_from > 0
    for before, after in zip(delays[:capped_from - 1], delays[1:capped_from]):
        assert after == 2 * before
    assert all(d == 3600 for d in delays[capped_from:])
    assert delays[capped_from - 1] < 3600 <= 2 * delays[capped_from - 1]


def test_huge_attempt_counts_do_not_overflow() -> None:
    assert next_attempt_at(10**9, NOW, max_delay_s=3600) == NOW + timedelta(hours=1)


def test_jitter_is_applied_and_clamped() -> None:
    assert next_attempt_at(2, NOW, base_s=60, jitter=lambda d: d / 2) == NOW + timedelta(seconds=60)
    assert next_attempt_at(2, NOW, max_delay_s=3600, jitter=lambda d: d * 1000) == NOW + timedelta(hours=1)
    assert next_attempt_at(2, NOW, jitter=lambda d: -5) == NOW


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        next_attempt_at(1, datetime(2024, 5, 7, 6, 0))


@pytest.mark.parametrize(
    "kwargs", [{"base_s": 0}, {"factor": 0.5}, {"base_s": 60, "max_delay_s": 30}, {"base_s": float("nan")}]
)
def test_nonsense_policies_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        next_attempt_at(1, NOW, **kwargs)


@given(
    attempts=st.integers(min_value=1, max_value=10_000),
    base=st.floats(min_value=0.1, max_value=600),
    factor=st.floats(min_value=1, max_value=10),
    cap_over_base=st.floats(min_value=1, max_value=1000),
)
def test_delays_never_shrink_and_never_pass_the_cap(attempts: int, base: float, factor: float, cap_over_base: float) -> None:
    cap = base * cap_over_base
    this = backoff_delay_s(attempts, base_s=base, factor=factor, max_delay_s=cap)
    following = backoff_delay_s(attempts + 1, base_s=base, factor=factor, max_delay_s=cap)
    assert base * (1 - 1e-9) <= this <= following <= cap


def test_give_up_after_max_attempts() -> None:
    assert [should_give_up(n, max_attempts=8) for n in range(1, 10)] == [False] * 7 + [True, True]
    with pytest.raises(ValueError):
        should_give_up(1, max_attempts=0)


def test_old_alerts_are_suppressed_recent_ones_pending() -> None:
    assert initial_state(NOW - timedelta(hours=47), NOW, 48) is DeliveryState.PENDING
    assert initial_state(NOW - timedelta(hours=48), NOW, 48) is DeliveryState.PENDING
    assert initial_state(NOW - timedelta(hours=48, seconds=1), NOW, 48) is DeliveryState.SUPPRESSED
    assert within_notify_window(NOW + timedelta(hours=1), NOW, 48)  # clock skew: still send


def test_states_are_the_stored_strings() -> None:
    assert [s.value for s in DeliveryState] == ["pending", "sent", "failed", "suppressed", "bundled"]
    assert DeliveryState("sent") is DeliveryState.SENT


def test_idempotency_key_is_stable_per_alert_and_channel() -> None:
    key = make_idempotency_key("weekly_ramp:7:2024-05-07", "email")
    assert key == make_idempotency_key("weekly_ramp:7:2024-05-07", "email")
    assert key != make_idempotency_key("weekly_ramp:7:2024-05-07", "push[0]")
    assert key != make_idempotency_key("weekly_ramp:7:2024-05-08", "email")
    assert key.isascii() and " " not in key


def test_channels_satisfy_the_protocol() -> None:
    from alerts.delivery.email import EmailChannel, EmailSettings
    from alerts.delivery.push import PushChannel

    assert isinstance(EmailChannel(EmailSettings()), Channel)
    assert isinstance(PushChannel(["json://127.0.0.1:9/x"]), Channel)

"""The store and the alert service hand records upward, not dicts read back by string keys;
the records' JSON form keeps the keys the CLI has always printed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from loadmon.domain import AlertSeverity
from loadmon.service.alert_counts import AlertCounts, DeliveryCounts
from loadmon.storage.records import AlertState, DeliveryClaim, SentAlert

T0 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


def test_the_outbox_and_the_alert_reads_are_records(store) -> None:
    athlete = store.ensure_athlete("Ann")
    alert_id = store.add_alert(athlete.id, rule="weekly_ramp", severity="danger", local_date=date(2026, 6, 1),
                               activity_id=None, dedupe_key="k1", message="m", payload={"x": 1}, notified=True,
                               channels=["email"], now=T0)
    (claim,) = store.claim_due_deliveries(T0, lease_s=60)
    assert isinstance(claim, DeliveryClaim)
    assert (claim.alert_id, claim.athlete_id, claim.channel, claim.attempts, claim.payload) == (
        alert_id, athlete.id, "email", 0, {"x": 1})
    assert claim.lease and claim.idempotency_key
    with pytest.raises(dataclasses.FrozenInstanceError):
        claim.attempts = 3  # type: ignore[misc]
    assert store.alert_states(athlete.id) == {
        "k1": AlertState(id=alert_id, rule="weekly_ramp", state="active", local_date=date(2026, 6, 1))}
    store.finish_delivery(claim.id, state="sent", attempts=1, now=T0 + timedelta(seconds=1), lease=claim.lease)
    assert store.notified_alerts_between(athlete.id, "weekly_ramp", date(2026, 5, 1), date(2026, 6, 30)) == [
        SentAlert(id=alert_id, severity=AlertSeverity.DANGER, local_date=date(2026, 6, 1))]


def test_the_counts_json_keeps_its_keys() -> None:
    evaluated = AlertCounts(athletes_evaluated=1, alerts_new=2, alerts_to_send=1, alerts_suppressed=1, alert_ids=(7, 8))
    assert list(evaluated.to_dict()) == [
        "athletes_evaluated", "alerts_new", "alerts_to_send", "alerts_suppressed", "alerts_cooldown", "alert_ids",
        "alerts_withdrawn", "alerts_reinstated"]
    assert evaluated.to_dict()["alert_ids"] == [7, 8]
    sent = DeliveryCounts(due=3, sent=1, retry=1, postponed=1, errors=("e",),
                          by_channel={"email": {"sent": 1, "retry": 2, "failed": 0}})
    assert sent.to_dict() == {"due": 3, "sent": 1, "retry": 1, "failed": 0, "postponed": 1, "errors": ["e"],
                              "by_channel": {"email": {"sent": 1, "retry": 2, "failed": 0}}}
    both = dataclasses.replace(evaluated, delivery=sent).to_dict()
    assert {k: both[k] for k in ("alerts_sent", "deliveries_retry", "deliveries_failed", "delivery_errors",
                                 "deliveries_by_channel")} == {
        "alerts_sent": 1, "deliveries_retry": 2, "deliveries_failed": 0, "delivery_errors": ["e"],
        "deliveries_by_channel": {"email": {"sent": 1, "retry": 2, "failed": 0}}}

"""Outbox and SMTP faults (issue 11 items 4 and 8): a sender whose lease ran out never
touches rows another sender has taken (one e-mail per alert), a dripping SMTP server is cut
off at the deadline, a slow reply after DATA gets its own timeout, and a non-ASCII password
is a permanent error naming its key. Real aiosmtpd, real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from alerts.alert import Alert
from alerts.delivery.email import EmailChannel, EmailSettings
from loadmon.errors import ConfigError, DeliveryError
from loadmon.service import Service, alerting
from loadmon.storage import Store
from tests.conftest import make_config
from tests.receivers import DripSmtpServer, SmtpReceiver

KEY = "lm-test-key-1"
T0 = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
LEASE_S = 120.0


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings_for(server, **changes) -> EmailSettings:
    base = EmailSettings(enabled=True, smtp_host=server.host, smtp_port=server.port, security="none",
                         from_addr="loadmon <alerts@example.org>", to=("ann@example.org",), timeout_s=5)
    return dataclasses.replace(base, **changes)


def _service(tmp_path, store_url, smtp, clock) -> Service:
    config = make_config(tmp_path, store_url, alerts={
        "delivery_lease_s": LEASE_S,
        "email": {"enabled": True, "smtp_host": smtp.host, "smtp_port": smtp.port, "security": "none",
                  "from": "loadmon@example.org", "to": ["ann@example.org"], "timeout_s": 5.0, "data_timeout_s": 30.0}})
    return Service(config=config, store=Store.open(store_url), clock=clock)


def _pending_alerts(svc: Service, ramp_alert: Alert, n: int) -> list[str]:
    athlete = svc.store.ensure_athlete("Ann")
    keys = []
    for i in range(n):
        alert = dataclasses.replace(ramp_alert, athlete_id=athlete.id, dedupe_key=f"weekly_ramp:{athlete.id}:{i}",
                                    local_date=date(2026, 6, 1) + timedelta(days=i))
        svc.store.add_alert(athlete.id, rule=alert.rule, severity=alert.severity.value, local_date=alert.local_date,
                            activity_id=None, dedupe_key=alert.dedupe_key, message=alert.message,
                            payload=alert.to_dict(), notified=True, channels=["email"], now=T0)
        keys.append(alert.dedupe_key)
    return keys


def test_a_sender_whose_lease_ran_out_never_sends_or_marks_twice(tmp_path, store_url, ramp_alert) -> None:
    """Sender A claims two alerts and is stuck on the first (its SMTP server holds the reply
    after DATA); the lease runs out, sender B claims and sends both; then A's server refuses
    with 451. A must neither put B's ``sent`` rows back to ``pending`` nor send the second."""
    smtp = SmtpReceiver().start()
    clock = Clock(T0)
    a = _service(tmp_path, store_url, smtp, clock)
    b = _service(tmp_path, store_url, smtp, clock)
    try:
        keys = _pending_alerts(a, ramp_alert, 2)
        smtp.hold_next(1)
        results: dict[str, dict] = {}
        sender_a = threading.Thread(target=lambda: results.setdefault("a", alerting.deliver_due(a)))
        sender_a.start()
        assert smtp.holding.wait(10), "sender A never reached the message data"
        clock.now = T0 + timedelta(seconds=2 * LEASE_S)  # A's lease has run out
        results["b"] = alerting.deliver_due(b)
        assert results["b"].sent == 2
        smtp.reject_next(1)  # A's held message is refused after all (451): A would retry it
        smtp.release()
        sender_a.join(30)
        assert not sender_a.is_alive()
        assert results["a"].sent == 0

        clock.now = T0 + timedelta(days=1)  # every retry time has passed
        assert alerting.deliver_due(b).due == 0
        deliveries = [d for x in alerting.list_alerts(b) for d in x["deliveries"]]
        assert [d["state"] for d in deliveries] == ["sent", "sent"]
        sent = sorted(m.message["X-Loadmon-Idempotency-Key"] for m in smtp.messages)
        assert len(sent) == len(set(sent)) == len(keys)  # one e-mail per alert
    finally:
        smtp.release()
        smtp.stop()
        a.close()
        b.close()


def test_finish_and_renew_need_the_lease_still_held(store) -> None:
    athlete = store.ensure_athlete("Ann")
    store.add_alert(athlete.id, rule="weekly_ramp", severity="warning", local_date=date(2026, 6, 1), activity_id=None,
                    dedupe_key="k1", message="m", payload={}, notified=True, channels=["email"], now=T0)
    (first,) = store.claim_due_deliveries(T0, lease_s=LEASE_S)
    later = T0 + timedelta(seconds=2 * LEASE_S)
    (second,) = store.claim_due_deliveries(later, lease_s=LEASE_S)  # the first lease ran out
    assert first.lease != second.lease
    assert not store.renew_delivery_lease(first.id, lease=first.lease, now=later, lease_s=LEASE_S)
    assert store.finish_delivery(second.id, state="sent", attempts=1, now=later, lease=second.lease)
    assert not store.finish_delivery(first.id, state="pending", attempts=1, now=later, lease=first.lease,
                                     next_attempt_at=later)
    (row,) = store.list_alerts(athlete.id)[0]["deliveries"]
    assert row["state"] == "sent"


@pytest.mark.slow
def test_a_dripping_smtp_server_is_cut_off_at_the_deadline(ramp_alert) -> None:
    """Each byte comes well within the per-read timeout; only the whole-conversation deadline
    (``timeout_s``) ends the send, long before the server would have finished its greeting."""
    with DripSmtpServer(interval_s=0.2, length=60) as server:
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(settings_for(server, timeout_s=1.0)).send(ramp_alert, KEY)
        assert "deadline" in str(caught.value) and "alerts.email.timeout_s" in str(caught.value)
        assert not caught.value.permanent
        assert server.finished.wait(30)
        assert server.hung_up_early.is_set()  # the client left before the greeting was complete


@pytest.mark.slow
def test_a_slow_reply_after_data_gets_data_timeout_s(ramp_alert) -> None:
    """RFC 5321 lets the server think after the message data: within ``data_timeout_s`` the
    message counts as sent (no retry that would deliver it again), beyond it a named error."""
    server = SmtpReceiver().start()
    try:
        server.hold_next(1)
        threading.Timer(2.0, server.release).start()  # replies after 2 s: longer than timeout_s
        EmailChannel(settings_for(server, timeout_s=1.0, data_timeout_s=20.0)).send(ramp_alert, KEY)
        assert len(server.messages) == 1

        server.hold_next(1)
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(settings_for(server, timeout_s=5.0, data_timeout_s=0.5)).send(ramp_alert, KEY)
        assert "alerts.email.data_timeout_s" in str(caught.value)
    finally:
        server.release()
        server.stop()


def test_a_non_ascii_password_is_a_permanent_error_naming_the_key(ramp_alert) -> None:
    password = "pässwörd-Ünïcode"
    server = SmtpReceiver(credentials=("ann", password)).start()
    try:
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(settings_for(server, username="ann", password=password)).send(ramp_alert, KEY)
        assert caught.value.permanent and caught.value.key == "alerts.email.password"
        assert "alerts.email.password" in str(caught.value) and password not in str(caught.value)
        assert "message" not in str(caught.value).split(":", 1)[1]  # not blamed on the message
        assert server.messages == []
    finally:
        server.stop()


def test_one_send_must_fit_in_the_lease(tmp_path) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, alerts={"delivery_lease_s": 60, "email": {"enabled": True, "to": ["a@example.org"],
                                                                        "timeout_s": 15, "data_timeout_s": 300}})
    assert caught.value.key == "alerts.email.data_timeout_s"

"""`[alerts] maildir`: the outbox delivers alert e-mails into a local Maildir, retried like any
channel (the demo shows its alert e-mails this way)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loadmon.service import Service, alerting
from loadmon.service.after_store import after_change
from loadmon.storage import Store
from tests.alerts.conftest import Clock, alerts_config, record

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_alert_emails_go_to_the_maildir_once_and_survive_a_write_failure(tmp_path, store_url) -> None:
    mail = tmp_path / "mail"
    clock = Clock(NOW)
    svc = Service(config=alerts_config(tmp_path, store_url, maildir=str(mail)), store=Store.open(store_url), clock=clock)
    try:
        athlete = svc.athlete()
        history = [record(NOW.date() - timedelta(days=back), 5.0, source_id=back) for back in range(40, 0, -1)]
        svc.store.record_import(athlete.id, path="h.zip", content_hash="h", records=history, outcome="imported")
        after_change(svc, [athlete.id])  # old history: recorded, not sent
        assert not (mail / "new").exists() or list((mail / "new").iterdir()) == []

        # the folder cannot be written (a file where new/ should be): the row waits for a retry
        mail.mkdir()
        (mail / "new").write_text("in the way", encoding="utf-8")
        today = record(NOW.date(), 6.0, source_id=999, at=(NOW - timedelta(hours=2)).timetz(), minutes=36)
        svc.store.record_import(athlete.id, path="today.fit", content_hash="t", records=[today], outcome="imported")
        out = after_change(svc, [athlete.id])
        assert out.alerts_to_send == 1 and out.delivery.sent == 0 and out.delivery.retry == 1
        (alert,) = alerting.list_alerts(svc, ids=out.alert_ids)
        assert [(d["channel"], d["state"]) for d in alert["deliveries"]] == [("maildir", "pending")]
        assert "maildir" in alert["deliveries"][0]["last_error"]

        (mail / "new").unlink()  # fixed; the next flush after the backoff delivers it, once
        clock.advance(minutes=5)
        assert alerting.deliver_due(svc).sent == 1
        assert alerting.deliver_due(svc).sent == 0
        (written,) = (mail / "new").iterdir()
        assert "[loadmon] Your run of 6 km was 20% longer" in written.read_text(encoding="utf-8")
        (alert,) = alerting.list_alerts(svc, ids=out.alert_ids)
        assert [(d["channel"], d["state"]) for d in alert["deliveries"]] == [("maildir", "sent")]
    finally:
        svc.close()

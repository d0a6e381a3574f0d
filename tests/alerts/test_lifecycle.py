"""The alert lifecycle on real stores (SQLite and PostgreSQL), a real SMTP server and a real
HTTP receiver on 127.0.0.1: backfills send nothing, one new run sends one message per channel,
evaluating again sends nothing more, SMTP outages are ridden out exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from loadmon.errors import ConfigError
from loadmon.service import Service, alerting
from loadmon.service.after_store import after_change
from loadmon.storage import Store
from tests.alerts.conftest import Clock, alerts_config, record

UTC = UTC
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def service(tmp_path, url, clock, **kw) -> Service:
    return Service(config=alerts_config(tmp_path, url, **kw), store=Store.open(url), clock=clock)


def year_of_history(svc: Service, athlete_id: int) -> int:
    """365 days of 5 km a day up to yesterday, with a 12 km run 100 days ago (old alerts)."""
    records = []
    for back in range(365, 0, -1):
        day = TODAY - timedelta(days=back)
        records.append(record(day, 12.0 if back == 100 else 5.0, source_id=1000 + back))
    out = svc.store.record_import(athlete_id, path="history.zip", content_hash="year", records=records, outcome="imported")
    return out.new_activities


def new_run(svc: Service, athlete_id: int, km: float, *, source_id: int = 1, ended_ago: timedelta = timedelta(hours=1),
            descent: float = 50.0) -> int:
    minutes = km * 6.0
    start = NOW - ended_ago - timedelta(minutes=minutes)
    rec = record(start.date(), km, source_id=source_id, at=start.timetz(), minutes=minutes, descent=descent)
    out = svc.store.record_import(athlete_id, path=f"new-{source_id}.fit", content_hash=f"new-{source_id}", records=[rec],
                                  outcome="imported")
    return out.activity_ids[0]


@pytest.mark.slow
def test_backfill_sends_nothing_then_one_new_run_sends_once(tmp_path, store_url, smtp_receiver, http_receiver) -> None:
    clock = Clock(NOW)
    svc = service(tmp_path, store_url, clock, smtp=smtp_receiver, http=http_receiver)
    try:
        athlete = svc.athlete()
        assert year_of_history(svc, athlete.id) == 365

        first = after_change(svc, [athlete.id])
        assert first.alerts_new >= 2          # the old 12 km run: run spike and weekly ramp
        assert first.alerts_to_send == 0 and first.delivery.sent == 0
        assert first.alerts_suppressed == first.alerts_new
        assert smtp_receiver.messages == [] and http_receiver.requests == []
        stored = alerting.list_alerts(svc, athlete)
        assert {a["rule"] for a in stored} >= {"run_spike", "weekly_ramp"}
        assert all(not a["notified"] for a in stored)
        assert all(d["state"] == "suppressed" and "notify window" in d["last_error"]
                   for a in stored for d in a["deliveries"])
        assert {d["channel"] for a in stored for d in a["deliveries"]} == {"email", "push[0]"}

        # today's run, ended an hour ago: 5.8 km vs 5.0 km = +16% (a run spike, and nothing else)
        activity_id = new_run(svc, athlete.id, 5.8)
        second = after_change(svc, [athlete.id])
        assert (second.alerts_new, second.alerts_to_send, second.delivery.sent) == (1, 1, 2)
        (mail,) = smtp_receiver.messages
        assert mail.rcpt_tos == ("ann@example.org",)
        assert mail.message["Subject"].strip() == "[loadmon] Your run of 5.8 km was 16% longer than your longest in 30 days (5 km)"
        body = mail.part("text/plain")
        assert "5.8 km, 16% longer than your longest run of the previous 30 days (5.0 km" in body
        assert "Frandsen" in body
        (push,) = http_receiver.requests
        assert push.path == "/hook"
        assert push.json["title"] == "loadmon: Your run of 5.8 km was 16% longer than your longest in 30 days (5 km)"
        assert "5.8 km, 16% longer" in push.json["message"]
        new = alerting.list_alerts(svc, ids=second.alert_ids)
        assert [(a["rule"], a["activity_id"], a["notified"]) for a in new] == [("run_spike", activity_id, True)]
        assert sorted((d["channel"], d["state"], d["attempts"]) for d in new[0]["deliveries"]) == [
            ("email", "sent", 1), ("push[0]", "sent", 1)]
        # the e-mail and the push carry the same idempotency key scheme (per channel)
        assert mail.message["X-Loadmon-Idempotency-Key"].startswith("lm-")
        assert push.json["idempotency_key"].startswith("lm-")

        # evaluating again, re-importing, a later evaluation: nothing more is stored or sent
        clock.advance(minutes=30)
        assert after_change(svc, [athlete.id]).alerts_new == 0
        again = svc.store.record_import(athlete.id, path="new-1.fit", content_hash="new-1", records=[], outcome="imported")
        assert again.outcome == "duplicate"
        assert alerting.evaluate(svc, [athlete.id]).alerts_new == 0
        assert alerting.deliver_due(svc).due == 0
        assert len(smtp_receiver.messages) == 1 and len(http_receiver.requests) == 1
        assert len(alerting.list_alerts(svc, athlete)) == first.alerts_new + 1
    finally:
        svc.close()


def short_history(svc: Service, athlete_id: int, days: int = 40, *, last_back: int = 1) -> None:
    """5 km a day from ``days`` days before today to ``last_back`` days before today."""
    records = [record(TODAY - timedelta(days=back), 5.0, source_id=1000 + back) for back in range(days, last_back - 1, -1)]
    svc.store.record_import(athlete_id, path="h.zip", content_hash="h", records=records, outcome="imported")


def test_smtp_down_then_back_delivers_exactly_once(tmp_path, store_url, smtp_receiver) -> None:
    clock = Clock(NOW)
    svc = service(tmp_path, store_url, clock, smtp=smtp_receiver)
    try:
        athlete = svc.athlete()
        short_history(svc, athlete.id)
        new_run(svc, athlete.id, 6.0)
        smtp_receiver.stop()
        out = after_change(svc, [athlete.id])
        assert (out.alerts_new, out.delivery.sent, out.delivery.retry) == (1, 0, 1)
        assert "connection refused" in out.delivery.errors[0]
        (d,) = alerting.list_alerts(svc, athlete)[0]["deliveries"]
        assert (d["state"], d["attempts"]) == ("pending", 1)
        assert d["next_attempt_at"] == (NOW + timedelta(seconds=60)).isoformat()

        assert alerting.deliver_due(svc).due == 0      # not due before the backoff
        clock.advance(seconds=59)
        assert alerting.deliver_due(svc).due == 0
        clock.advance(seconds=1)
        second = alerting.deliver_due(svc)                  # still down: 2nd attempt, next in 120 s
        assert (second.due, second.retry) == (1, 1)
        (d,) = alerting.list_alerts(svc, athlete)[0]["deliveries"]
        assert d["attempts"] == 2 and d["next_attempt_at"] == (clock.now + timedelta(seconds=120)).isoformat()

        smtp_receiver.start()
        clock.advance(seconds=120)
        third = alerting.deliver_due(svc)
        assert (third.sent, third.retry, third.failed) == (1, 0, 0)
        clock.advance(hours=5)
        assert alerting.deliver_due(svc).due == 0
        assert after_change(svc, [athlete.id]).alerts_new == 0
        assert len(smtp_receiver.messages) == 1
        assert smtp_receiver.messages[0].message["Subject"].strip() == "[loadmon] Your run of 6 km was 20% longer than your longest in 30 days (5 km)"
        (d,) = alerting.list_alerts(svc, athlete)[0]["deliveries"]
        assert (d["state"], d["attempts"], d["last_error"]) == ("sent", 3, None)
    finally:
        svc.close()


def test_gives_up_after_max_attempts_and_postpones_the_rest(tmp_path, smtp_receiver) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    clock = Clock(NOW)
    svc = service(tmp_path, url, clock, smtp=smtp_receiver, max_attempts=2)
    try:
        athlete = svc.athlete()
        short_history(svc, athlete.id)
        new_run(svc, athlete.id, 6.0, source_id=1, ended_ago=timedelta(hours=3))
        assert alerting.evaluate(svc, [athlete.id]).alerts_to_send == 1  # its run spike: one message, not sent yet
        new_run(svc, athlete.id, 7.0, source_id=2, ended_ago=timedelta(hours=1))  # +16.7% on the 6 km
        smtp_receiver.stop()
        out = after_change(svc, [athlete.id])
        # the second run spike, and the day's 43 km week (+22.9% on 35 km) is a weekly ramp: one message for both
        assert out.alerts_new == 2 and out.delivery.sent == 0
        states = [a["deliveries"][0] for a in alerting.list_alerts(svc, athlete)]
        # the first message failed (1 attempt); the second was not tried in the same run (0 attempts, same
        # retry time); the alert that rides in the second message shows that message's state
        assert [(d["attempts"], d["state"]) for d in states] == [(1, "pending"), (0, "pending"), (0, "pending")]
        assert states[1]["last_error"].startswith("not attempted: email failed earlier in this run")
        assert states[0]["next_attempt_at"] == states[1]["next_attempt_at"] == states[2]["next_attempt_at"]
        assert states[2]["sent_with_alert"] == alerting.list_alerts(svc, athlete)[1]["id"]
        clock.advance(seconds=60)
        second = alerting.deliver_due(svc)
        assert (second.failed, second.retry, second.postponed) == (1, 0, 1)
        first_alert = alerting.list_alerts(svc, athlete)[0]["deliveries"][0]
        assert first_alert["state"] == "failed" and first_alert["attempts"] == 2
        assert "connection refused" in first_alert["last_error"]
        smtp_receiver.start()
        clock.advance(seconds=60)
        third = alerting.deliver_due(svc)
        assert (third.sent, third.failed) == (1, 0)
        assert len(smtp_receiver.messages) == 1
        assert [d["state"] for a in alerting.list_alerts(svc, athlete) for d in a["deliveries"]] == [
            "failed", "sent", "sent"]
        assert alerting.deliver_due(svc).due == 0
    finally:
        svc.close()


def test_a_permanent_smtp_refusal_fails_at_once_and_a_temporary_one_is_retried(tmp_path, store_url,
                                                                                smtp_receiver) -> None:
    clock = Clock(NOW)
    svc = service(tmp_path, store_url, clock, smtp=smtp_receiver)  # max_attempts 16
    try:
        athlete = svc.athlete()
        short_history(svc, athlete.id)
        new_run(svc, athlete.id, 6.0)  # a run spike
        smtp_receiver.reject_next(1, "550 5.7.1 Relaying denied")
        out = after_change(svc, [athlete.id])
        assert (out.alerts_new, out.delivery.sent, out.delivery.failed) == (1, 0, 1)
        (d,) = alerting.list_alerts(svc, athlete)[0]["deliveries"]
        assert (d["state"], d["attempts"]) == ("failed", 1) and "550" in d["last_error"]  # not 16 tries over 10 h

        new_run(svc, athlete.id, 7.5, source_id=2, ended_ago=timedelta(minutes=30))  # another spike (+25%)
        smtp_receiver.reject_next(1, "421 4.7.0 Try again later")
        second = after_change(svc, [athlete.id])  # the run spike, and the week's ramp
        assert second.alerts_new >= 1 and second.delivery.failed == 0  # a 4xx is retried, not failed
        states = sorted((a["deliveries"][0]["state"], a["deliveries"][0]["attempts"]) for a in alerting.list_alerts(svc, athlete))
        assert states[0] == ("failed", 1) and ("pending", 1) in states  # the first alert's 550 stays failed
        clock.advance(seconds=60)
        again = alerting.deliver_due(svc)
        assert again.sent == 1 == len(smtp_receiver.messages) and again.failed == 0  # one message for all
    finally:
        svc.close()


@pytest.mark.slow
def test_a_delivery_that_failed_for_good_is_sent_once_after_retry_failed(tmp_path, store_url, smtp_receiver) -> None:
    clock = Clock(NOW)
    svc = service(tmp_path, store_url, clock, smtp=smtp_receiver, max_attempts=1)
    try:
        athlete = svc.athlete()
        short_history(svc, athlete.id)
        new_run(svc, athlete.id, 6.0)  # a run spike: +20% on 5 km
        smtp_receiver.stop()
        out = after_change(svc, [athlete.id])
        assert (out.alerts_new, out.delivery.sent) == (1, 0)
        (delivery,) = alerting.list_alerts(svc, athlete)[0]["deliveries"]
        assert (delivery["state"], delivery["attempts"]) == ("failed", 1)

        smtp_receiver.start()
        clock.advance(hours=3)
        assert alerting.deliver_due(svc).due == 0  # failed for good: the outbox alone never sends it again
        assert smtp_receiver.messages == []

        assert alerting.retry_failed(svc) == 1
        again = alerting.deliver_due(svc)
        assert (again.due, again.sent, again.failed) == (1, 1, 0)
        (mail,) = smtp_receiver.messages
        assert mail.message["Subject"].strip() == "[loadmon] Your run of 6 km was 20% longer than your longest in 30 days (5 km)"
        (delivery,) = alerting.list_alerts(svc, athlete)[0]["deliveries"]
        assert (delivery["state"], delivery["attempts"]) == ("sent", 1)
        assert alerting.retry_failed(svc) == 0 and alerting.deliver_due(svc).due == 0
        assert len(smtp_receiver.messages) == 1
    finally:
        svc.close()


def test_a_first_backfill_in_the_middle_of_a_ramp_sends_one_catch_up_then_keeps_the_cooldown(
        tmp_path, store_url, smtp_receiver) -> None:
    clock = Clock(NOW)
    svc = service(tmp_path, store_url, clock, smtp=smtp_receiver)
    try:
        athlete = svc.athlete()
        # 4 km a day, then 5 km a day for the last 6 days: the 7-day ramp passes +10% four days ago
        records = [record(TODAY - timedelta(days=back), 4.0 if back > 6 else 5.0, source_id=3000 + back)
                   for back in range(40, 0, -1)]
        svc.store.record_import(athlete.id, path="backfill.zip", content_hash="bf", records=records, outcome="imported")
        first = after_change(svc, [athlete.id])
        ramps = [a for a in alerting.list_alerts(svc, athlete) if a["rule"] == "weekly_ramp"]
        by_day = {a["local_date"]: a for a in ramps}
        assert sorted(by_day) == [(TODAY - timedelta(days=4)).isoformat(), (TODAY - timedelta(days=2)).isoformat()]
        old = by_day[(TODAY - timedelta(days=4)).isoformat()]
        catch_up = by_day[(TODAY - timedelta(days=2)).isoformat()]
        assert old["notified"] is False and "older than the 48 h notify window" in old["deliveries"][0]["last_error"]
        assert catch_up["notified"] is True and catch_up["deliveries"][0]["state"] == "sent"
        ramp_mails = [m for m in smtp_receiver.messages if "Your week jumped" in str(m.message["Subject"])]
        assert len(ramp_mails) == 1 and first.delivery.sent == len(smtp_receiver.messages)
        assert "Your week jumped 18%: 33 km after 28 km" in str(ramp_mails[0].message["Subject"])  # 33 km vs 28 km on the catch-up's day
        assert "already held on" in ramp_mails[0].part("text/plain")

        # the next days: the ramp goes on, the catch-up's cooldown holds - no second ramp alert, nothing stored
        for day in range(3):  # a 5 km run each day (warnings only: +25% at most), evaluated the day after
            clock.advance(days=1)
            svc.store.record_import(athlete.id, path=f"d{day}.fit", content_hash=f"d{day}", outcome="imported",
                                    records=[record(TODAY + timedelta(days=day), 5.0, source_id=4000 + day)])
            after_change(svc, [athlete.id])
            assert sorted(a["local_date"] for a in alerting.list_alerts(svc, athlete) if a["rule"] == "weekly_ramp") == \
                sorted(by_day)
        assert len([m for m in smtp_receiver.messages if "Your week jumped" in str(m.message["Subject"])]) == 1
    finally:
        svc.close()


def test_notify_window_boundary(tmp_path, smtp_receiver) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    svc = service(tmp_path, url, Clock(NOW), smtp=smtp_receiver)
    try:
        # two athletes, one run spike each: ended exactly 48 h ago (sent) / 48 h and 1 s ago (recorded only)
        ann, bob = svc.add_athlete("ann"), svc.add_athlete("bob")
        for athlete, ago, km in ((ann, timedelta(hours=48), 6.0), (bob, timedelta(hours=48, seconds=1), 6.5)):
            short_history(svc, athlete.id, days=45, last_back=3)  # the spike is the only run of its day
            new_run(svc, athlete.id, km, ended_ago=ago)
        out = after_change(svc, [ann.id, bob.id])
        assert (out.alerts_new, out.alerts_to_send, out.alerts_suppressed, out.delivery.sent) == (2, 1, 1, 1)
        (mail,) = smtp_receiver.messages
        assert mail.message["Subject"].strip() == "[loadmon] Your run of 6 km was 20% longer than your longest in 30 days (5 km)"
        (late,) = alerting.list_alerts(svc, bob)
        assert late["notified"] is False and "older than the 48 h notify window" in late["deliveries"][0]["last_error"]
    finally:
        svc.close()


def test_channel_no_longer_configured_fails_with_the_reason(tmp_path, smtp_receiver, http_receiver) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    clock = Clock(NOW)
    svc = service(tmp_path, url, clock, smtp=smtp_receiver, http=http_receiver)
    athlete = svc.athlete()
    short_history(svc, athlete.id)
    new_run(svc, athlete.id, 6.0)
    assert alerting.evaluate(svc, [athlete.id]).alerts_to_send == 1
    svc.close()
    # the e-mail channel is switched off before the outbox is flushed
    svc = service(tmp_path, url, clock, http=http_receiver)
    try:
        out = alerting.deliver_due(svc)
        assert (out.sent, out.failed) == (1, 1)
        rows = {d["channel"]: d for d in alerting.list_alerts(svc)[0]["deliveries"]}
        assert rows["push[0]"]["state"] == "sent"
        assert rows["email"]["state"] == "failed"
        assert "channel 'email' is no longer configured" in rows["email"]["last_error"]
        assert smtp_receiver.messages == [] and len(http_receiver.requests) == 1
    finally:
        svc.close()


def test_day_rule_cooldown_guard_uses_stored_alerts(tmp_path, smtp_receiver) -> None:
    """A weekly-ramp warning already sent two days ago keeps today's warning from being sent."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    svc = service(tmp_path, url, Clock(NOW), smtp=smtp_receiver)
    try:
        athlete = svc.athlete()
        # 4 weeks of 4 km a day, then 6 km yesterday and today: ramp 32 vs 28 km = +14.3% today only
        records = [record(TODAY - timedelta(days=back), 4.0, source_id=100 + back) for back in range(30, 1, -1)]
        records += [record(TODAY - timedelta(days=back), 6.0, source_id=100 + back, at=time(6, 0)) for back in (1, 0)]
        svc.store.record_import(athlete.id, path="r", content_hash="r", records=records, outcome="imported")
        earlier = TODAY - timedelta(days=2)
        svc.store.add_alert(athlete.id, rule="weekly_ramp", severity="warning", local_date=earlier, activity_id=None,
                            dedupe_key=f"weekly_ramp:{athlete.id}:{earlier}:warning:late", message="earlier ramp",
                            payload={}, notified=True, channels=[], now=NOW - timedelta(days=2))
        out = after_change(svc, [athlete.id])
        ramp = [a for a in alerting.list_alerts(svc, athlete) if a["rule"] == "weekly_ramp" and a["local_date"] == TODAY.isoformat()]
        (a,) = ramp
        assert a["notified"] is False and a["deliveries"][0]["state"] == "suppressed"
        assert "cooldown" in a["deliveries"][0]["last_error"]
        assert out.alerts_cooldown == 1
        assert not any("Your week jumped" in m.message["Subject"] for m in smtp_receiver.messages)
    finally:
        svc.close()


@pytest.mark.parametrize(("alerts", "key"), [
    ({"push_urls": ["notascheme://example.org/x"]}, "alerts.push_urls"),
    ({"push_urls": ["json://"]}, "alerts.push_urls"),
    ({"email": {"enabled": True, "to": []}}, "alerts.email.to"),
    ({"email": {"enabled": True, "to": ["ann@example.org"], "from": "not an address"}}, "alerts.email.from"),
    ({"email": {"enabled": True, "to": ["ann@example.org"], "username": "ann", "password": "s3cret-pass",
                "smtp_host": "mail.example.org", "security": "none"}}, "alerts.email.security"),
    ({"rules": {"acwr_caution": 1.6, "acwr_danger": 1.5}}, "alerts.rules.acwr_danger"),
    ({"rules": {"weekly_ramp_pct": -1.0}}, "alerts.rules.weekly_ramp_pct"),
])
def test_bad_channel_settings_are_a_clear_error_at_start_up(tmp_path, alerts, key) -> None:
    from tests.conftest import make_config

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    config = make_config(tmp_path, url, alerts=alerts)
    with pytest.raises(ConfigError) as err:
        alerting.validate_channels(config)
    assert err.value.key.startswith(key)
    assert "s3cret-pass" not in str(err.value)
    # after_change checks first: nothing is stored with a broken configuration
    svc = Service(config=config, store=Store.open(url), clock=Clock(NOW))
    try:
        athlete = svc.athlete()
        short_history(svc, athlete.id)
        new_run(svc, athlete.id, 6.0)
        with pytest.raises(ConfigError):
            after_change(svc, [athlete.id])
        assert alerting.list_alerts(svc) == []
    finally:
        svc.close()


def test_test_channels_reports_each_channel(tmp_path, smtp_receiver, http_receiver) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    svc = service(tmp_path, url, Clock(NOW), smtp=smtp_receiver, http=http_receiver)
    try:
        assert alerting.test_channels(svc) == [{"channel": "email", "ok": True, "error": None},
                                               {"channel": "push[0]", "ok": True, "error": None}]
        assert "test message" in smtp_receiver.messages[0].message["Subject"]
        http_receiver.fail_next(1, 503)
        results = alerting.test_channels(svc)
        assert [r["ok"] for r in results] == [True, False]
        assert "503" in results[1]["error"]
    finally:
        svc.close()


@pytest.mark.slow
def test_evaluate_since_limits_the_days(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    svc = service(tmp_path, url, Clock(NOW))
    try:
        athlete = svc.athlete()
        year_of_history(svc, athlete.id)
        assert alerting.evaluate(svc, [athlete.id], since=TODAY - timedelta(days=30)).alerts_new == 0
        assert alerting.evaluate(svc, [athlete.id]).alerts_new >= 2   # the 12 km run 100 days ago
        assert date.fromisoformat(alerting.list_alerts(svc)[0]["local_date"]) == TODAY - timedelta(days=100)
    finally:
        svc.close()

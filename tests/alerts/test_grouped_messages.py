"""The alerts of one evaluation for one athlete go out as ONE message per channel (a real SMTP
server and a real HTTP receiver on 127.0.0.1), most severe first, sent once, retried as one."""

from __future__ import annotations

import re

import pytest

from alerts.delivery.policy import make_idempotency_key
from alerts.delivery.render import message_id
from loadmon.service import alerting
from loadmon.service.after_store import after_change
from tests.alerts.conftest import Clock
from tests.alerts.test_lifecycle import NOW, new_run, service, short_history

SPIKE_TITLE = "Your run of 12 km was 140% longer than your longest in 30 days (5 km)"
RAMP_TITLE = "Your week jumped 20%: 42 km after 35 km"


def test_two_alerts_of_one_evaluation_arrive_as_one_email_and_one_push(tmp_path, store_url, smtp_receiver,
                                                                        http_receiver) -> None:
    clock = Clock(NOW)
    svc = service(tmp_path, store_url, clock, smtp=smtp_receiver, http=http_receiver)
    try:
        athlete = svc.athlete()
        short_history(svc, athlete.id)  # 5 km a day for 40 days
        new_run(svc, athlete.id, 12.0)  # today: +140% on the longest run (danger), and a 42 km week (+20%, warning)
        smtp_receiver.stop()
        out = after_change(svc, [athlete.id])
        assert (out.alerts_new, out.alerts_to_send) == (2, 2)
        assert smtp_receiver.messages == []
        (push,) = http_receiver.requests  # one push for both
        assert push.json["title"] == f"loadmon: {SPIKE_TITLE} (+1 more alert)"
        body = push.json["message"]
        assert body.index(f"1. {SPIKE_TITLE} (danger)") < body.index(f"2. {RAMP_TITLE} (warning)")

        # the e-mail waits for a retry: one row, and the second alert rides in it
        stored = {a["rule"]: a for a in alerting.list_alerts(svc, athlete)}
        spike, ramp = stored["run_spike"], stored["weekly_ramp"]
        email_of = {rule: next(d for d in a["deliveries"] if d["channel"] == "email") for rule, a in stored.items()}
        assert (email_of["run_spike"]["state"], email_of["run_spike"]["attempts"]) == ("pending", 1)
        assert (email_of["weekly_ramp"]["state"], email_of["weekly_ramp"]["sent_with_alert"]) == ("pending", spike["id"])

        smtp_receiver.start()
        clock.advance(seconds=60)
        again = alerting.deliver_due(svc)
        assert (again.due, again.sent) == (1, 1)
        (mail,) = smtp_receiver.messages
        assert mail.message["Subject"].strip() == f"[loadmon] {SPIKE_TITLE} (+1 more alert)"
        assert mail.message["Message-ID"] == message_id(make_idempotency_key(spike["dedupe_key"], "email"),
                                                        "loadmon@example.org")
        assert mail.message["X-Loadmon-Severity"] == "danger, warning"
        text = mail.part("text/plain").replace("\r\n", "\n")
        assert text.startswith(f"{athlete.name}: 2 alerts from the same check, most severe first")
        assert text.index(f"1. {SPIKE_TITLE} (danger") < text.index(f"2. {RAMP_TITLE} (warning")
        assert spike["message"] in text and ramp["message"] in text
        html = mail.part("text/html")
        assert html.index("Your run of 12 km") < html.index("Your week jumped 20%")

        # sent once: nothing more on either channel, and both alerts show the e-mail as sent
        clock.advance(minutes=30)
        assert after_change(svc, [athlete.id]).alerts_new == 0
        assert len(smtp_receiver.messages) == 1 and len(http_receiver.requests) == 1
        for a in alerting.list_alerts(svc, athlete, ids=out.alert_ids):
            assert {d["state"] for d in a["deliveries"]} == {"sent"}
    finally:
        svc.close()


def test_the_numbers_block_shows_a_few_labelled_numbers_with_units(tmp_path, store_url, smtp_receiver) -> None:
    clock = Clock(NOW)
    svc = service(tmp_path, store_url, clock, smtp=smtp_receiver)
    try:
        athlete = svc.athlete()
        short_history(svc, athlete.id)
        new_run(svc, athlete.id, 12.0)
        after_change(svc, [athlete.id])
        (mail,) = smtp_receiver.messages
        text = mail.part("text/plain").replace("\r\n", "\n")
        for label, value in (("This run", "12 km"), ("Longest run of the previous 30 days", "5 km"),
                             ("Longer by", "140%"), ("Injury rate in this band (Frandsen 2025)", "2.28 times"),
                             ("Next long runs: about", "5.5 km"),
                             ("Last 7 days", "42 km"), ("The 7 days before", "35 km"), ("Change", "20%"),
                             ("Usual week (4 weeks before)", "35 km"), ("Next 7 days: aim for about", "38.5 km")):
            assert re.search(rf"^  {re.escape(label)} +{re.escape(value)}$", text, re.M), (label, text)
        for internal in ("threshold_pct", "min_volume_km", "hrr_ci_low", "prev_runs_30d", "after_break_km"):
            assert internal not in text and internal not in mail.part("text/html")
        assert "All numbers: loadmon alerts --json" in text
        # the JSON keeps every number
        (ramp,) = [a for a in alerting.list_alerts(svc, athlete) if a["rule"] == "weekly_ramp" and a["notified"]]
        assert ramp["numbers"]["threshold_pct"] == 10.0 and ramp["numbers"]["min_volume_km"] == 15.0
    finally:
        svc.close()


@pytest.mark.slow
def test_an_alert_whose_message_carrier_was_deleted_is_still_sent(tmp_path, store_url, smtp_receiver) -> None:
    from sqlalchemy import text

    clock = Clock(NOW)
    svc = service(tmp_path, store_url, clock, smtp=smtp_receiver)
    try:
        athlete = svc.athlete()
        short_history(svc, athlete.id)
        new_run(svc, athlete.id, 12.0)
        out = alerting.evaluate(svc, [athlete.id])
        spike = next(a for a in alerting.list_alerts(svc, ids=out.alert_ids) if a["rule"] == "run_spike")
        with svc.store.engine.begin() as conn:  # the carrying alert goes (e.g. its run was deleted)
            conn.execute(text("DELETE FROM deliveries WHERE alert_id = :a"), {"a": spike["id"]})
            conn.execute(text("DELETE FROM alerts WHERE id = :a"), {"a": spike["id"]})
        assert alerting.deliver_due(svc).sent == 1
        (mail,) = smtp_receiver.messages
        assert mail.message["Subject"].strip() == f"[loadmon] {RAMP_TITLE}"
        (ramp,) = alerting.list_alerts(svc, athlete=athlete, ids=out.alert_ids)
        assert [d["state"] for d in ramp["deliveries"]] == ["sent"]
    finally:
        svc.close()


def _withdraw_one_of_two_grouped(tmp_path, store_url, smtp_receiver, rule: str):
    """A 12 km run after 5 km days raises run_spike (danger: its row carries the message) and
    weekly_ramp (warning: bundled into it) while the SMTP server is down; ``rule``'s alert is then
    withdrawn and the server comes back. Returns the service, the athlete and the clock."""
    clock = Clock(NOW)
    svc = service(tmp_path, store_url, clock, smtp=smtp_receiver)
    athlete = svc.athlete()
    short_history(svc, athlete.id)
    new_run(svc, athlete.id, 12.0)
    smtp_receiver.stop()
    out = after_change(svc, [athlete.id])
    assert (out.alerts_new, out.alerts_to_send) == (2, 2)
    stored = {a["rule"]: a for a in alerting.list_alerts(svc, athlete)}
    assert svc.store.withdraw_alerts([stored[rule]["id"]], now=clock(), reason=f"test: {rule} withdrawn") == 1
    smtp_receiver.start()
    clock.advance(seconds=60)
    alerting.deliver_due(svc)
    return svc, athlete, clock


def test_a_withdrawn_carrier_leaves_the_alerts_it_carried_to_go_out_alone(tmp_path, store_url, smtp_receiver) -> None:
    """Withdrawal (a correction) meets grouping: when the alert whose row carries the message is
    withdrawn before it was sent, the alert that rode in it still goes out, once, on its own."""
    svc, _athlete, clock = _withdraw_one_of_two_grouped(tmp_path, store_url, smtp_receiver, "run_spike")
    try:
        (mail,) = smtp_receiver.messages
        assert mail.message["Subject"].strip() == f"[loadmon] {RAMP_TITLE}"
        assert "Your run of 12 km" not in mail.part("text/plain")
        clock.advance(minutes=30)
        alerting.deliver_due(svc)
        assert len(smtp_receiver.messages) == 1
    finally:
        svc.close()


def test_a_withdrawn_rider_is_dropped_from_its_carriers_message(tmp_path, store_url, smtp_receiver) -> None:
    svc, athlete, _clock = _withdraw_one_of_two_grouped(tmp_path, store_url, smtp_receiver, "weekly_ramp")
    try:
        (mail,) = smtp_receiver.messages
        assert mail.message["Subject"].strip() == f"[loadmon] {SPIKE_TITLE}"
        assert "Your week jumped" not in mail.part("text/plain")
        ramp = next(a for a in alerting.list_alerts(svc, athlete) if a["rule"] == "weekly_ramp")
        assert {d["state"] for d in ramp["deliveries"]} == {"withdrawn"}
    finally:
        svc.close()

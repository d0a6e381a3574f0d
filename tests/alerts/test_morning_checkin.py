"""The morning check-in: one message per athlete and local day while an episode is open, through the
outbox (a real SMTP server and HTTP push receiver), never withdrawn by rule evaluation, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from alerts.checkin import CHECKIN_RULE, parse_checkin_time
from loadmon.config import morning_checkin_problem
from loadmon.errors import ConfigError
from loadmon.service import Service, alerting, checkin
from loadmon.service import symptoms as symptom_service
from loadmon.service.after_store import after_change
from loadmon.service.scheduled_jobs import morning_messages
from loadmon.storage import Store
from tests.alerts.conftest import Clock
from tests.alerts.test_lifecycle import TODAY, short_history
from tests.conftest import make_config

PUBLIC = "https://loadmon.example.org"
TZ = "Europe/London"  # BST in June: local = UTC + 1
#: 2026-06-15 07:00 local, before the 07:30 check-in
EARLY = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)


def _service(tmp_path, clock, smtp=None, http=None, **alerts) -> Service:
    tmp_path.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path / 'loadmon.sqlite'}"
    section: dict = {"retry_base_s": 60.0, **alerts}
    if smtp is not None:
        section["email"] = {
            "enabled": True,
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "security": "none",
            "from": "loadmon@example.org",
            "to": ["ann@example.org"],
            "timeout_s": 5.0,
        }
    if http is not None:
        section["push_urls"] = [f"json://{http.host}:{http.port}/hook"]
    cfg = make_config(tmp_path, url, alerts=section, athlete={"timezone": TZ}, web={"public_url": PUBLIC})
    return Service(config=cfg, store=Store.open(url), clock=clock)


def _knee(svc: Service, severity: int = 5, *, ago: timedelta = timedelta(days=2)):
    athlete = svc.athlete()
    assert athlete.timezone == TZ
    return symptom_service.add_symptom(svc, athlete, "knee", "right", "lateral", severity, at=svc.clock() - ago)


def _checkins(svc: Service) -> list[dict]:
    return [a for a in alerting.list_alerts(svc, svc.athlete()) if a["rule"] == CHECKIN_RULE]


def test_the_time_setting_is_checked_and_named(tmp_path) -> None:
    assert parse_checkin_time("07:30") == time(7, 30) and parse_checkin_time("") is None
    for bad in ("7:30", "07:61", "13:00", "02:59", "morning"):
        assert morning_checkin_problem(bad)
        with pytest.raises(ValueError):
            parse_checkin_time(bad)
    with pytest.raises(ConfigError) as err:
        make_config(tmp_path, alerts={"morning_checkin": "25:00"})
    assert err.value.key == "alerts.morning_checkin" and "alerts.morning_checkin" in str(err.value)
    assert morning_checkin_problem("11:59") is None and morning_checkin_problem("03:00") is None


@pytest.mark.slow
def test_one_message_at_the_local_time_then_none_again_that_day(tmp_path, smtp_receiver, http_receiver) -> None:
    clock = Clock(EARLY)
    svc = _service(tmp_path, clock, smtp_receiver, http_receiver)
    try:
        _knee(svc)
        assert checkin.queue_morning_checkins(svc).queued == 0  # 07:00 local: not yet
        clock.now = EARLY + timedelta(minutes=35)  # 07:35 local
        result = morning_messages(svc)  # the scheduled job
        assert result.outcome == "ok" and result.counts["queued"] == 1
        assert alerting.deliver_due(svc).sent == 2  # e-mail and push
        (mail,) = smtp_receiver.messages
        assert mail.message["Subject"] == "[loadmon] How is your right knee this morning?"
        text = mail.part("text/plain").replace("\r\n", "\n")
        assert f"Open: {PUBLIC}/checkin\n" in text and "last reading 5/10" in text
        assert f'href="{PUBLIC}/checkin"' in mail.part("text/html")
        (push,) = http_receiver.requests
        assert f"{PUBLIC}/checkin" in push.json["message"] and "right knee" in push.json["title"]
        # the job again, a daemon restart at 09:00, evaluation of the rules: nothing more is sent
        for later in (timedelta(minutes=45), timedelta(hours=2)):
            clock.now = EARLY + later
            assert checkin.queue_morning_checkins(svc).already_queued == 1
            assert after_change(svc, [svc.athlete().id]).alerts_withdrawn == 0
        assert len(smtp_receiver.messages) == 1 and len(http_receiver.requests) == 1
        (stored,) = _checkins(svc)
        assert stored["severity"] == "info" and stored["state"] == "active" and stored["local_date"] == TODAY.isoformat()
    finally:
        svc.close()


def test_no_open_episode_no_message(tmp_path, smtp_receiver) -> None:
    clock = Clock(EARLY + timedelta(hours=1))  # 08:00 local
    svc = _service(tmp_path, clock, smtp_receiver)
    try:
        athlete = svc.athlete()
        symptom_service.add_symptom(svc, athlete, "knee", "left", None, 2, at=clock.now - timedelta(days=1))  # below 3
        symptom_service.add_symptom(svc, athlete, "lower_back", "none", None, 6, at=clock.now - timedelta(days=1))
        gone = symptom_service.add_symptom(svc, athlete, "calf", "right", None, 6, at=clock.now - timedelta(days=3))
        symptom_service.resolve_symptom(svc, athlete, gone.id, at=clock.now - timedelta(days=1))
        assert checkin.queue_morning_checkins(svc).queued == 0
        assert alerting.deliver_due(svc).sent == 0 and smtp_receiver.messages == [] and _checkins(svc) == []
    finally:
        svc.close()


def test_a_reading_this_morning_answers_it_and_noon_ends_the_morning(tmp_path, smtp_receiver) -> None:
    clock = Clock(EARLY - timedelta(hours=1))  # 06:00 local
    svc = _service(tmp_path, clock, smtp_receiver)
    try:
        knee = _knee(svc)
        symptom_service.update_severity(svc, svc.athlete(), knee.id, 4)  # logged at 06:00, before the message
        clock.now = EARLY + timedelta(hours=1)
        assert checkin.queue_morning_checkins(svc).queued == 0
        clock.now = EARLY + timedelta(days=1, hours=5)  # the next day, 12:00 local: the daemon was down all morning
        assert checkin.queue_morning_checkins(svc).queued == 0
        clock.now = EARLY + timedelta(days=2, hours=2)  # the day after, 09:00 local (missed 07:30): still sent
        assert checkin.queue_morning_checkins(svc).queued == 1
        assert [a["local_date"] for a in _checkins(svc)] == [(TODAY + timedelta(days=2)).isoformat()]
    finally:
        svc.close()


def test_off_or_without_a_channel_nothing_is_stored(tmp_path, smtp_receiver) -> None:
    clock = Clock(EARLY + timedelta(hours=1))
    svc = _service(tmp_path / "off", clock, smtp_receiver, morning_checkin="")
    try:
        _knee(svc)
        assert checkin.queue_morning_checkins(svc).skipped == "alerts.morning_checkin is off"
    finally:
        svc.close()
    svc = _service(tmp_path / "none", clock)
    try:
        _knee(svc)
        assert checkin.queue_morning_checkins(svc).skipped == "no alert channel is configured"
        assert _checkins(svc) == []
    finally:
        svc.close()


def test_rule_evaluation_over_a_history_never_withdraws_it(tmp_path, smtp_receiver) -> None:
    """A backfill re-evaluates every day: the stored check-in is not a rule's alert and stays."""
    clock = Clock(EARLY + timedelta(hours=1))
    svc = _service(tmp_path, clock, smtp_receiver)
    try:
        athlete = svc.athlete()
        _knee(svc)
        assert checkin.queue_morning_checkins(svc).queued == 1
        short_history(svc, athlete.id)
        out = after_change(svc, [athlete.id], reason="backfill")
        assert out.alerts_withdrawn == 0
        assert after_change(svc, [athlete.id]).alerts_withdrawn == 0
        assert [a["state"] for a in _checkins(svc)] == ["active"]
        assert checkin.queue_morning_checkins(svc).queued == 0
        assert len([m for m in smtp_receiver.messages if "this morning" in m.message["Subject"]]) == 1
    finally:
        svc.close()

"""The morning limits message ([alerts] morning_limits, off by default): sent on a morning when the day's
limits are tighter than usual (a comeback, a recent run spike), once per athlete and local day, with a link
to the Plan a run page; never on a usual day, never withdrawn by rule evaluation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.plan import MORNING_LIMITS_RULE
from loadmon.errors import ConfigError
from loadmon.service import alerting
from loadmon.service import symptoms as symptom_service
from loadmon.service.after_store import after_change
from loadmon.service.morning_limits import queue_morning_limits
from loadmon.service.scheduled_jobs import morning_messages
from tests.alerts.conftest import Clock
from tests.alerts.test_lifecycle import short_history
from tests.alerts.test_morning_checkin import EARLY, PUBLIC, _service
from tests.conftest import make_config


def _limits(svc) -> list[dict]:
    return [a for a in alerting.list_alerts(svc, svc.athlete()) if a["rule"] == MORNING_LIMITS_RULE]


def test_the_setting_is_off_by_default_and_checked(tmp_path) -> None:
    clock = Clock(EARLY + timedelta(hours=1))
    svc = _service(tmp_path, clock, morning_checkin="")
    try:
        assert queue_morning_limits(svc).skipped == "alerts.morning_limits is off"
    finally:
        svc.close()
    with pytest.raises(ConfigError) as err:
        make_config(tmp_path, alerts={"morning_limits": "14:00"})
    assert err.value.key == "alerts.morning_limits"


@pytest.mark.slow
def test_a_comeback_morning_sends_the_limits_once(tmp_path, smtp_receiver) -> None:
    clock = Clock(EARLY)  # 07:00 local
    svc = _service(tmp_path, clock, smtp_receiver, morning_limits="07:15", morning_checkin="")
    try:
        athlete = svc.athlete()
        short_history(svc, athlete.id, last_back=2)  # 5 km a day until two days ago
        symptom_service.add_symptom(svc, athlete, "knee", "right", "lateral", 6, at=clock.now - timedelta(days=1))
        assert queue_morning_limits(svc).queued == 0  # 07:00: not yet
        clock.now = EARLY + timedelta(minutes=20)  # 07:20 local
        result = morning_messages(svc)
        assert result.outcome == "ok" and result.counts["limits"]["queued"] == 1 and result.counts["queued"] == 1
        (stored,) = _limits(svc)
        assert stored["title"].startswith("Rest today") and stored["severity"] == "info"
        assert stored["numbers"]["max_distance_km"] == 0.0 and stored["numbers"]["rest"] == "yes"
        assert alerting.deliver_due(svc).sent == 1
        (mail,) = smtp_receiver.messages
        text = mail.part("text/plain").replace("\r\n", "\n")
        assert "6/10" in text and f"{PUBLIC}/plan" in text
        for later in (timedelta(minutes=30), timedelta(hours=3)):  # the job again, a restart at 10:20
            clock.now = EARLY + later
            assert queue_morning_limits(svc).queued == 0
            assert after_change(svc, [athlete.id]).alerts_withdrawn == 0
        assert len(smtp_receiver.messages) == 1 and _limits(svc)[0]["state"] == "active"
    finally:
        svc.close()


def test_a_usual_morning_sends_nothing(tmp_path) -> None:
    clock = Clock(EARLY + timedelta(hours=1))  # 08:00 local
    svc = _service(tmp_path, clock, morning_limits="07:00", morning_checkin="", maildir=str(tmp_path / "mail"))
    try:
        short_history(svc, svc.athlete().id, last_back=2)  # steady 5 km a day: nothing tighter than usual
        counts = queue_morning_limits(svc)
        assert (counts.queued, counts.usual) == (0, 1) and _limits(svc) == []
    finally:
        svc.close()

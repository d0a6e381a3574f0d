"""Correcting the data (issue 10 item 2), at the service level on both backends: an activity
excluded from the load, a symptom edited or deleted; the alerts whose condition no longer holds
are withdrawn (kept, never sent if not yet sent) and reinstated when it holds again."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from loadmon.errors import NotFoundError
from loadmon.service import Service, alerting
from loadmon.service import activities as activity_service
from loadmon.service import symptoms as symptom_service
from loadmon.service.after_store import after_change
from loadmon.service.load import status
from loadmon.storage import Store
from tests.alerts.conftest import Clock, alerts_config, record

UTC = UTC
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def svc(tmp_path, store_url, http_receiver):
    s = Service(config=alerts_config(tmp_path, store_url, http=http_receiver), store=Store.open(store_url),
                clock=Clock(NOW))
    yield s
    s.close()


def _history(svc: Service, *, descent: float = 20.0) -> None:
    """An 8 km run every second day for five weeks, up to two days ago."""
    athlete = svc.athlete()
    day, sid = TODAY - timedelta(days=36), 1
    while day <= TODAY - timedelta(days=2):
        svc.store.record_import(athlete.id, path=f"h{sid}.fit", content_hash=f"h{sid}",
                                records=[record(day, 8.0, source_id=sid, descent=descent)], outcome="imported")
        day += timedelta(days=2)
        sid += 1


def _store_run(svc: Service, day: date, km: float, *, source_id: int, descent: float = 20.0,
               at: time = time(7, 0)) -> int:
    out = svc.store.record_import(svc.athlete().id, path=f"r{source_id}.fit", content_hash=f"r{source_id}",
                                  records=[record(day, km, source_id=source_id, descent=descent, at=at)],
                                  outcome="imported")
    return out.activity_ids[0]


def _alerts(svc: Service) -> list[dict]:
    return alerting.list_alerts(svc, svc.athlete())


def test_excluding_a_wrong_run_withdraws_its_alerts_unsent_and_including_it_reinstates_them(svc, http_receiver) -> None:
    _history(svc)
    after_change(svc, [svc.athlete().id])
    before = {a["id"]: a for a in _alerts(svc)}  # whatever the history raised stays as it is
    sent_before = len(http_receiver.requests)
    wrong = _store_run(svc, TODAY - timedelta(days=1), 16.0, source_id=900)  # not my run: twice the usual
    counts = alerting.evaluate(svc, [svc.athlete().id])
    raised = [a for a in _alerts(svc) if a["id"] not in before]
    assert counts.alerts_to_send >= 1 and any(a["rule"] == "run_spike" and a["activity_id"] == wrong for a in raised)
    assert all(d["state"] == "pending" for a in raised for d in a["deliveries"])  # not delivered yet
    week_before = status(svc, svc.athlete())["channels"]["distance_km"]["acute_7d"]

    activity = activity_service.exclude_activity(svc, svc.athlete(), wrong, reason="  my friend's   run ")
    assert (activity.excluded, activity.excluded_reason) == (True, "my friend's run")
    out = after_change(svc, [svc.athlete().id], reason=f"activity {wrong} was excluded")
    assert out.alerts_withdrawn == len(raised) and out.alerts_new == 0 and out.delivery.sent == 0
    after = {a["id"]: a for a in _alerts(svc)}
    assert [after[a["id"]]["state"] for a in raised] == ["withdrawn"] * len(raised)  # kept, not deleted
    assert all(f"activity {wrong} was excluded" in after[a["id"]]["withdrawn_reason"] for a in raised)
    assert all(d["state"] == "withdrawn" for a in raised for d in after[a["id"]]["deliveries"])
    assert {i: (a["state"], a["deliveries"]) for i, a in after.items() if i in before} == {
        i: (a["state"], a["deliveries"]) for i, a in before.items()}
    assert alerting.deliver_due(svc).sent == 0
    assert len(http_receiver.requests) == sent_before  # a withdrawn alert is never sent
    assert status(svc, svc.athlete())["channels"]["distance_km"]["acute_7d"] == pytest.approx(week_before - 16.0)
    assert svc.store.get_activity(wrong).excluded  # still stored, still listed
    assert wrong in {a.id for a in svc.store.list_activities(svc.athlete().id)}

    # time passing alone withdraws nothing and raises nothing again
    svc.clock.advance(days=3)
    again = alerting.evaluate(svc, [svc.athlete().id])
    assert (again.alerts_withdrawn, again.alerts_reinstated, again.alerts_new) == (0, 0, 0)
    svc.clock.advance(days=-3)

    activity_service.include_activity(svc, svc.athlete(), wrong)
    back = after_change(svc, [svc.athlete().id], reason=f"activity {wrong} was included")
    assert back.alerts_reinstated == len(raised) and back.delivery.sent == len(raised)
    assert [a["state"] for a in _alerts(svc) if a["id"] not in before] == ["active"] * len(raised)
    assert len(http_receiver.requests) == sent_before + len(raised)


def test_an_excluded_damaged_copy_hands_the_count_to_the_good_copy(svc) -> None:
    athlete = svc.athlete()
    good = _store_run(svc, TODAY - timedelta(days=1), 10.0, source_id=1)
    copy = svc.store.upsert_activity(athlete.id, record(TODAY - timedelta(days=1), 10.1, source_id=2)).activity_id
    assert svc.store.get_activity(copy).duplicate_of == good  # the first stored wins a tie
    activity_service.exclude_activity(svc, athlete, good)
    assert svc.store.get_activity(good).duplicate_of == copy and svc.store.get_activity(copy).duplicate_of is None
    assert activity_service.counted_copy(svc, athlete, svc.store.get_activity(good)).id == copy
    activity_service.exclude_activity(svc, athlete, copy)  # every copy excluded: the run does not count
    assert status(svc, athlete)["last_run"] is None
    activity_service.include_activity(svc, athlete, good)
    assert svc.store.get_activity(good).duplicate_of is None and svc.store.get_activity(copy).duplicate_of == good


def test_deleting_or_editing_the_symptom_withdraws_the_hilly_run_alert(svc, http_receiver) -> None:
    _history(svc, descent=200.0)
    hilly = _store_run(svc, TODAY, 8.0, source_id=901, descent=210.0, at=time(9, 0))
    athlete = svc.athlete()
    after_change(svc, [athlete.id])
    others = {a["id"]: a["state"] for a in _alerts(svc)}  # the history's own alerts (not about the symptom)
    sent_before = len(http_receiver.requests)

    def hilly_alerts() -> list[dict]:
        return [a for a in _alerts(svc) if a["rule"] == "hilly_after_symptoms"]

    assert hilly_alerts() == []
    knee = symptom_service.add_symptom(svc, athlete, "knee", "right", "lateral", 4, NOW - timedelta(days=1))
    alerting.evaluate(svc, [athlete.id])
    (alert,) = hilly_alerts()
    assert (alert["activity_id"], alert["state"]) == (hilly, "active")

    # logged too high: severity 2 is below the rule's minimum (3)
    symptom_service.edit_symptom(svc, athlete, knee.id, severity=2)
    # (withdrawn with it: the comeback spike - the 8 km run was the first since the pain, above the 3 km start)
    assert alerting.evaluate(svc, [athlete.id], reason=f"symptom {knee.id} was edited").alerts_withdrawn == 2
    assert hilly_alerts()[0]["state"] == "withdrawn"
    assert {a["rule"] for a in _alerts(svc) if a["state"] == "withdrawn"} == {"hilly_after_symptoms", "comeback_spike"}
    # back to 5: the condition holds again, with the new severity (danger)
    symptom_service.edit_symptom(svc, athlete, knee.id, severity=5, location="")
    assert alerting.evaluate(svc, [athlete.id]).alerts_reinstated == 2
    (back,) = hilly_alerts()
    assert (back["state"], back["severity"]) == ("active", "danger") and "5/10" in back["message"]
    assert svc.store.list_symptoms(athlete.id)[0].location is None

    gone = symptom_service.delete_symptom(svc, athlete, knee.id)
    assert gone.id == knee.id and svc.store.list_symptoms(athlete.id) == []
    out = after_change(svc, [athlete.id], reason=f"symptom {knee.id} was deleted")
    # with it, the comeback alerts of the run: its spike, and returned_early (run within 3 days of a 5/10 reading)
    assert out.alerts_withdrawn == 3 and out.delivery.sent == 0
    symptom_rules = {"hilly_after_symptoms", "comeback_spike", "returned_early"}
    assert {a["rule"] for a in _alerts(svc) if a["state"] == "withdrawn"} == symptom_rules
    assert len(http_receiver.requests) == sent_before  # never sent
    assert {a["id"]: a["state"] for a in _alerts(svc) if a["rule"] not in symptom_rules} == others


def test_an_athlete_may_only_touch_their_own_ids(svc) -> None:
    me = svc.athlete()
    run = _store_run(svc, TODAY - timedelta(days=1), 8.0, source_id=1)
    knee = symptom_service.add_symptom(svc, me, "knee", "left", None, 4, NOW - timedelta(hours=3))
    other = svc.add_athlete("bob")
    with pytest.raises(NotFoundError, match=f"no activity with id {run}"):
        activity_service.exclude_activity(svc, other, run)
    with pytest.raises(NotFoundError, match=f"no activity with id {run}"):
        activity_service.include_activity(svc, other, run)
    with pytest.raises(NotFoundError, match=f"no symptom with id {knee.id}"):
        symptom_service.edit_symptom(svc, other, knee.id, severity=1)
    with pytest.raises(NotFoundError, match=f"no symptom with id {knee.id}"):
        symptom_service.delete_symptom(svc, other, knee.id)
    assert not svc.store.get_activity(run).excluded
    assert svc.store.list_symptoms(me.id)[0].severity == 4

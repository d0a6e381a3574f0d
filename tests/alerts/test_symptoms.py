"""The symptom log's validation (service level, real SQLite store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loadmon.domain import SYMPTOM_SITES
from loadmon.errors import NotFoundError, ValidationError
from loadmon.service import Service, symptoms
from loadmon.storage import Store
from tests.alerts.conftest import Clock
from tests.conftest import make_config

UTC = UTC
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)


@pytest.fixture
def svc(tmp_path, store_url):
    s = Service(config=make_config(tmp_path, store_url), store=Store.open(store_url), clock=Clock(NOW))
    yield s
    s.close()


def test_add_list_resolve(svc) -> None:
    athlete = svc.athlete()
    s = symptoms.add_symptom(svc, athlete, "knee", "right", "lateral", 4, NOW - timedelta(hours=2), "worse downhill")
    assert (s.site, s.side, s.location, s.severity, s.note) == ("knee", "right", "lateral", 4, "worse downhill")
    assert s.started_at == NOW - timedelta(hours=2) and s.resolved_at is None
    default = symptoms.add_symptom(svc, athlete, "IT band", "LEFT", None, 0)
    assert (default.site, default.side, default.started_at) == ("it_band", "left", NOW)
    assert [x.id for x in symptoms.list_symptoms(svc, athlete)] == [s.id, default.id]
    done = symptoms.resolve_symptom(svc, athlete, s.id, NOW - timedelta(hours=1))
    assert done.resolved_at == NOW - timedelta(hours=1)
    assert [x.id for x in symptoms.list_symptoms(svc, athlete, active_at=NOW)] == [default.id]
    data = symptoms.symptom_json(done, "Europe/London")
    assert data["started_at"] == "2026-11-20T17:00:00+00:00" and data["active"] is False and data["lower_limb"] is True


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"site": "kne"}, ["'kne' is not allowed", *SYMPTOM_SITES]),
    ({"side": "up"}, ["'up' is not allowed", "left, right, both, none"]),
    ({"severity": 11}, ["11 is not allowed", "0-10"]),
    ({"severity": -1}, ["-1 is not allowed", "0-10"]),
    ({"severity": 2.5}, ["2.5", "whole number 0-10"]),
    ({"at": NOW + timedelta(minutes=1)}, ["in the future"]),
    ({"at": datetime(2026, 11, 20, 10, 0)}, ["no time zone"]),
    ({"location": "x" * 65}, ["65 characters", "at most 64"]),
])
def test_validation_says_what_is_allowed(svc, kwargs, words) -> None:
    args = {"site": "knee", "side": "right", "location": "lateral", "severity": 4, "at": None, "note": None} | kwargs
    with pytest.raises(ValidationError) as err:
        symptoms.add_symptom(svc, svc.athlete(), **args)
    for word in words:
        assert word in str(err.value)
    assert symptoms.list_symptoms(svc, svc.athlete()) == []


def test_resolve_rules(svc) -> None:
    athlete = svc.athlete()
    s = symptoms.add_symptom(svc, athlete, "calf", "left", None, 3, NOW - timedelta(days=1))
    with pytest.raises(ValidationError, match="before the symptom started"):
        symptoms.resolve_symptom(svc, athlete, s.id, NOW - timedelta(days=2))
    with pytest.raises(ValidationError, match="in the future"):
        symptoms.resolve_symptom(svc, athlete, s.id, NOW + timedelta(hours=1))
    with pytest.raises(NotFoundError, match=f"symptom ids: {s.id}"):
        symptoms.resolve_symptom(svc, athlete, s.id + 99)
    other = svc.add_athlete("other")
    with pytest.raises(NotFoundError):
        symptoms.resolve_symptom(svc, other, s.id)
    assert symptoms.resolve_symptom(svc, athlete, s.id).resolved_at == NOW  # default: now


def test_severity_readings_keep_their_history_and_refuse_bad_times(svc) -> None:
    athlete = svc.athlete()
    now = svc.clock()
    knee = symptoms.add_symptom(svc, athlete, "knee", "right", None, 4, at=now - timedelta(days=2))
    symptoms.update_severity(svc, athlete, knee.id, 6, at=now - timedelta(days=1), note="worse after the hills")
    later = symptoms.update_severity(svc, athlete, knee.id, "2")
    assert [(u.severity, u.note) for u in later.updates] == [(6, "worse after the hills"), (2, None)]
    assert later.current_severity == 2 and later.severity == 4  # the first entry stays as logged
    data = symptoms.symptom_json(later, athlete.timezone)
    assert data["severity_now"] == 2 and [u["severity"] for u in data["updates"]] == [6, 2]
    for kwargs, words in (
        ({"severity": 11}, "allowed: a whole number 0-10"),
        ({"severity": 3, "at": now + timedelta(hours=1)}, "is in the future"),
        ({"severity": 3, "at": now - timedelta(days=3)}, f"is before symptom {knee.id} started"),
    ):
        with pytest.raises(ValidationError, match=words):
            symptoms.update_severity(svc, athlete, knee.id, **kwargs)
    symptoms.resolve_symptom(svc, athlete, knee.id, at=now - timedelta(hours=2))
    with pytest.raises(ValidationError, match="a reading after that is not allowed"):
        symptoms.update_severity(svc, athlete, knee.id, 1)
    other = svc.add_athlete("bob")
    with pytest.raises(NotFoundError, match=f"no symptom with id {knee.id}"):
        symptoms.update_severity(svc, other, knee.id, 1)
    assert len(svc.store.list_symptoms(athlete.id)[0].updates) == 2  # nothing refused was stored

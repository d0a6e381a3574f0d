"""Today and the symptom log: plain words, reasons for null numbers, user text shown as text."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from loadmon.service import symptoms as symptom_service
from tests.web.conftest import csrf_of, import_demo_runs


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_today_without_runs_gives_each_missing_number_its_reason(web):
    with web.client() as c:
        web.login(c)
        text = _text(c.get("/").text)
    assert "Last 7 days vs the 7 before" in text
    for label in ("ACWR (coupled)", "ACWR (uncoupled)", "ACWR (EWMA)", "Fitness", "Fatigue", "Form"):
        assert re.search(rf"{re.escape(label)}: not yet: \w", text), label
    assert "not yet: no run in the last 30 days to compare with" in text


@pytest.mark.slow
def test_today_gives_the_distance_bands_and_the_largest_descent_of_30_days(web, tmp_path):
    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=web.clock.now.date())
    with web.client() as c:
        web.login(c)
        status = c.get("/api/status").json()
        text = _text(c.get("/").text)
    longest = status["longest_run_30d"]["distance_km"]
    # Frandsen 2025 bands in km from the longest run of 30 days (edges 1.10, 1.30, 2.00 x)
    assert f"up to {longest * 1.10:.2f} km not a spike the reference" in text
    assert f"over {longest * 1.10:.2f} km up to {longest * 1.30:.2f} km" in text
    assert "1.64 x the injury rate (95% CI 1.31-2.05)" in text
    assert f"over {longest * 2.0:.2f} km spike: more than double" in text
    largest = status["largest_descent_30d"]
    assert largest is not None and largest["descent_m"] > 0
    assert f"Largest descent of one run in the last 30 days: {largest['descent_m']:.0f} m on {largest['local_date']}" in text


@pytest.mark.slow
def test_largest_descent_of_30_days_is_the_largest_of_the_runs_in_the_window(web, tmp_path):
    from datetime import date

    from loadmon.service import load

    import_demo_runs(web.svc, "ann", tmp_path / "fit", end=web.clock.now.date())
    athlete = web.svc.athlete("ann")
    status = load.status_json(load.status(web.svc, athlete))
    day = date.fromisoformat(status["date"])
    stored = web.svc.store.list_activities(athlete.id, since=day - timedelta(days=29), until=day)
    best = max((a for a in stored if a.elevation_loss_m), key=lambda a: a.elevation_loss_m or 0.0)
    assert len(stored) >= 5
    assert status["largest_descent_30d"]["activity_id"] == best.id
    assert status["largest_descent_30d"]["descent_m"] == round(best.elevation_loss_m or 0.0, 1)


def test_log_a_symptom_through_the_form_then_resolve_it(web):
    at = (web.clock.now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    with web.client() as c:
        web.login(c)
        form_page = c.get("/symptoms/new").text
        for name in ("site", "side", "location", "severity", "note", "at"):
            assert re.search(rf'<label for="{name}">', form_page) and f'name="{name}"' in form_page, name
        token = csrf_of(form_page)
        r = c.post("/symptoms", data={"site": "knee", "side": "right", "location": "lateral", "severity": "5",
                                      "note": "sore on stairs", "at": at, "csrf_token": token})
        assert (r.status_code, r.headers["location"]) == (303, "/symptoms")
        ann = web.svc.athlete("ann")
        (s,) = symptom_service.list_symptoms(web.svc, ann)
        assert (s.site, s.side, s.location, s.severity, s.note) == ("knee", "right", "lateral", 5, "sore on stairs")
        assert "right knee (lateral), severity 5/10" in _text(c.get("/").text)
        r = c.post(f"/symptoms/{s.id}/resolve", data={"csrf_token": token})
        assert r.status_code == 303
        assert symptom_service.list_symptoms(web.svc, ann)[0].resolved_at is not None
        assert "resolved" in _text(c.get("/symptoms").text)


def test_a_bad_symptom_is_refused_with_its_reason_and_the_form_kept(web):
    with web.client() as c:
        web.login(c)
        token = csrf_of(c.get("/symptoms/new").text)
        r = c.post("/symptoms", data={"site": "knee", "side": "left", "severity": "11", "note": "keep me",
                                      "csrf_token": token})
        assert r.status_code == 400
        assert "severity 11 is not allowed" in _text(r.text) and "keep me" in r.text
        r = c.post("/symptoms", data={"site": "knee", "side": "left", "severity": "2", "at": "yesterday",
                                      "csrf_token": token})
        assert r.status_code == 400 and "is not a date and time" in _text(r.text)
    assert symptom_service.list_symptoms(web.svc, web.svc.athlete("ann")) == []


def test_a_script_in_a_note_is_shown_as_text(web):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    symptom_service.add_symptom(web.svc, web.svc.athlete("ann"), "calf", "left", evil[:60], 3,
                                at=web.clock.now - timedelta(minutes=5), note=evil)
    with web.client() as c:
        web.login(c)
        for path in ("/symptoms", "/"):
            page = c.get(path).text
            assert "<script>" not in page and "<img" not in page, path
            assert "&lt;script&gt;" in page, path


@pytest.mark.slow
def test_alerts_page_lists_only_the_athletes_own_alerts(web, tmp_path):
    from markupsafe import escape

    from loadmon.service import alerting
    from tests.web.conftest import import_demo_runs

    import_demo_runs(web.svc, "bob", tmp_path / "fit", end=web.clock.now.date())
    alerting.evaluate(web.svc, [web.svc.athlete("bob").id])
    bobs = alerting.list_alerts(web.svc, web.svc.athlete("bob"))
    assert bobs, "the demo runs raise alerts"
    with web.client() as c:
        web.login(c, "bob")
        page = c.get("/alerts").text
        web.login(c, "ann")
        anns = c.get("/alerts").text
    for a in bobs:
        assert f'id="alert-{a["id"]}"' in page and str(escape(a["message"])) in page
        assert f'id="alert-{a["id"]}"' not in anns
    assert "No alerts yet." in anns

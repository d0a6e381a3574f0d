"""The Insights page: a login needed, the logged-in athlete's own back-test (labelled exploratory, with its
counts), another athlete's episodes never shown, the same numbers as `loadmon insights --json`."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from loadmon.service import insights
from loadmon.service import symptoms as symptom_service
from tests.alerts.conftest import record

DAYS, EASY_KM, SPIKE_BACK, SPIKE_KM, SYMPTOM_BACK = 45, 5.0, 12, 8.0, 8


def _history(web, name: str) -> None:
    """A 5 km run every morning for 45 days, one of 8 km (a run spike) 4 days before a knee episode."""
    athlete = web.svc.athlete(name)
    today = web.clock.now.date()
    recs = [
        record(today - timedelta(days=back), SPIKE_KM if back == SPIKE_BACK else EASY_KM, source_id=9000 + back)
        for back in range(DAYS, 0, -1)
    ]
    web.svc.store.record_import(athlete.id, path=f"{name}.zip", content_hash=name, records=recs, outcome="imported")
    at = datetime.combine(today - timedelta(days=SYMPTOM_BACK), time(19), tzinfo=web.clock.now.tzinfo)
    symptom_service.add_symptom(web.svc, athlete, "it_band", "left", None, 5, at)


def test_insights_needs_a_login(web):
    with web.client() as c:
        r = c.get("/insights")
        assert (r.status_code, r.headers.get("location")) == (303, "/login")


@pytest.mark.slow
def test_the_page_shows_the_athletes_own_back_test_labelled_exploratory(web):
    _history(web, "ann")
    expected = insights.insights_json(insights.insights(web.svc, web.svc.athlete("ann")))
    (episode,) = expected["episodes"]
    with web.client() as c:
        web.login(c)
        assert 'href="/insights"' in c.get("/").text  # the nav link
        r = c.get("/insights")
        assert r.status_code == 200
        page = r.text
    assert "Exploratory, not a diagnosis" in page and "too few" in page
    assert f"left it_band, began {episode['began']}" in page
    assert "Rules that warned in those 14 days: run_spike." in page
    spike = next(x for x in expected["rules"] if x["rule"] == "run_spike")
    assert f"{spike['episodes_warned']} of {spike['episodes_total']}" in page
    for rule in ("weekly_ramp", "acwr", "descent_spike", "hilly_after_symptoms", "returned_early"):
        assert rule in page


def test_another_athletes_episodes_are_never_shown(web):
    _history(web, "ann")
    with web.client() as c:
        web.login(c, "bob")
        page = c.get("/insights").text
    assert "(bob)" in page and "it_band" not in page and "No symptom episodes" in page
    assert "No runs yet" in page

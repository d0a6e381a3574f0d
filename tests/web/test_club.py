"""`/club`: coaches and admins only; another athlete's Strava-sourced data never reaches a coach
(Strava's API Agreement: a user's Strava data is shown only to that user)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.service import club as club_service
from loadmon.service import symptoms as symptom_service
from loadmon.service import users as user_service
from tests.web.conftest import PASSWORD, csrf_of


def _run(source: str, source_id: int, start, km: float, *, elevation=ElevationSource.DEVICE, name: str | None = None):
    return ActivityRecord(
        source=source,
        source_id=source_id,
        sport="running",
        start_time=start,
        distance_m=km * 1000,
        moving_time_s=km * 330,
        elapsed_time_s=km * 340,
        elevation_gain_m=50.0,
        elevation_loss_m=50.0,
        elevation_source=elevation,
        avg_hr=150,
        max_hr=170,
        content_hash=f"{source}{source_id}",
        name=name,
    )


def _club(web):
    """carl (coach) and root (admin), both on the athlete carl; bob has a FIT run and a Strava run."""
    svc = web.svc
    svc.add_athlete("carl")
    user_service.add_user(svc, "carl", athlete_name="carl", role="coach", password=PASSWORD)
    user_service.add_user(svc, "root", athlete_name="carl", role="admin", password=PASSWORD)
    bob = svc.athlete("bob")
    now = web.clock.now
    svc.store.upsert_activity(bob.id, _run("fit", 1, now - timedelta(days=2), 8.0))
    svc.store.upsert_activity(bob.id, _run("strava", 2, now - timedelta(days=1), 21.3, name="Strava only long run"))
    carl = svc.athlete("carl")
    svc.store.upsert_activity(carl.id, _run("strava", 3, now - timedelta(days=1), 12.6))
    return bob


def _row_of(page: str, athlete_id: int) -> str:
    start = page.index(f'id="athlete-{athlete_id}"')
    return page[start : page.index("</article>", start)]


def test_an_athlete_gets_404_on_the_club_page(web):
    with web.client() as c:
        web.login(c, "ann")
        r = c.get("/club")
        assert r.status_code == 404 and "bob" not in r.text
        assert 'href="/club"' not in c.get("/").text
        assert c.get("/api/status").status_code == 200  # still logged in


def test_a_coach_sees_the_club_without_other_athletes_strava_numbers(web):
    bob = _club(web)
    full = {r["athlete"]: r for r in club_service.club_status(web.svc)}
    assert full["bob"]["distance_7d_km"] == 29.3  # what the CLI (the database's operator) sees
    for login in ("carl", "root"):
        with web.client() as c:
            web.login(c, login)
            r = c.get("/club")
            assert r.status_code == 200, login
            assert 'href="/club"' in r.text
            row = _row_of(r.text, bob.id)
            assert "Last 7 days: 8.0 km" in row
            assert "29.3" not in r.text and "21.3" not in r.text and "Strava only long run" not in r.text
            assert "1 Strava activity left out" in row and "Last alert: not shown" in row
            own = _row_of(r.text, web.svc.athlete("carl").id)
            assert "(you)" in own and "Last 7 days: 12.6 km" in own and "left out" not in own
            ann = _row_of(r.text, web.svc.athlete("ann").id)
            assert "left out" not in ann and "no data" in ann


@pytest.mark.slow
def test_a_fit_copy_of_a_strava_run_counts_in_its_place(web):
    """Strava's copy won the duplicate group (better elevation); the coach's view counts the FIT copy."""
    _club(web)
    ann = web.svc.athlete("ann")
    start = web.clock.now - timedelta(days=1)
    web.svc.store.upsert_activity(ann.id, _run("strava", 9, start + timedelta(seconds=20), 10.15, elevation=ElevationSource.COMPUTED))
    web.svc.store.record_import(
        ann.id, path="run.fit", content_hash="f", outcome="imported", records=[_run("fit", 8, start, 10.0, elevation=ElevationSource.NONE)]
    )
    acts = web.svc.store.list_activities(ann.id)
    assert {a.source: a.duplicate_of is None for a in acts} == {"strava": True, "fit": False}
    full = {r["athlete"]: r for r in club_service.club_status(web.svc)}
    coach = {r["athlete"]: r for r in club_service.club_view(web.svc, web.svc.athlete("carl").id)}
    assert full["ann"]["distance_7d_km"] == 10.15
    assert coach["ann"]["distance_7d_km"] == 10.0 and coach["ann"]["hidden"]["activities"] == 1


def test_a_coach_cannot_open_or_change_another_athletes_objects(web):
    bob = _club(web)
    theirs = symptom_service.add_symptom(
        web.svc, bob, "knee", "left", None, 6, at=web.clock.now - timedelta(hours=1), note="bob private note"
    )
    with web.client() as c:
        web.login(c, "carl")
        token = csrf_of(c.get("/symptoms").text)
        assert "bob private note" not in c.get("/symptoms").text
        assert "bob private note" not in c.get("/club").text
        r = c.post(f"/symptoms/{theirs.id}/resolve", data={"csrf_token": token})
        assert r.status_code == 404 and "bob" not in r.text
        assert c.get("/api/status").json()["athlete"] == "carl"
    assert symptom_service.list_symptoms(web.svc, bob)[0].resolved_at is None


def test_a_strava_only_member_is_not_shown_to_the_coach_but_sees_their_own_numbers(web):
    _club(web)
    ann = web.svc.athlete("ann")
    now = web.clock.now
    web.svc.store.upsert_activity(ann.id, _run("strava", 11, now - timedelta(days=2), 17.7, name="Ann private tempo"))
    web.svc.store.upsert_activity(ann.id, _run("strava", 12, now - timedelta(days=1), 6.4))
    coach = {r["athlete"]: r for r in club_service.club_view(web.svc, web.svc.athlete("carl").id)}
    assert coach["ann"]["hidden"] == {"activities": 2, "alerts": 1, "only": 1}
    assert coach["ann"]["distance_7d_km"] is None and coach["ann"]["last_run"] is None
    assert coach["bob"]["hidden"]["only"] == 0  # bob has a FIT run: his numbers come from it
    with web.client() as c:
        web.login(c, "carl")
        page = c.get("/club").text
        row = _row_of(page, ann.id)
        assert "Strava-only: not shown to your coach (Strava's terms)" in row
        assert "24.1" not in page and "17.7" not in page and "6.4" not in page and "Ann private tempo" not in page
        assert "Strava-only" not in _row_of(page, web.svc.athlete("bob").id)
    with web.client() as c:  # ann herself sees everything
        web.login(c, "ann")
        status = c.get("/api/status")
        assert status.status_code == 200 and "24.1" in status.text  # her 7 days, from her Strava runs

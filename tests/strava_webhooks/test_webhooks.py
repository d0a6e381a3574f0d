"""Strava webhooks end to end over HTTP: the test server validates the callback like Strava, then
POSTs events to the running web app; the ``strava_events`` job processes what was recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from loadmon.service import imports
from loadmon.service.scheduled_jobs import strava_events
from loadmon.service.strava import webhooks
from loadmon.service.strava.common import LAST_SYNC_KEY, iso
from tests.daemon.helpers import fit_file, wait_until
from tests.strava_webhooks.conftest import STRAVA_ATHLETE, VERIFY_TOKEN, Rig


def _process(rig: Rig) -> dict:
    result = strava_events(rig.svc)
    assert result.outcome == "ok", result
    return result.counts


def test_subscribe_validated_the_callback_and_the_verify_token_guards_it(rig: Rig) -> None:
    (validation,) = rig.strava.validations
    assert validation["ok"] and validation["url"] == rig.web_url + "/strava/webhook"
    status = webhooks.webhook_status(rig.svc)
    assert status.active and status.remote and status.remote[0]["id"] == status.subscription_id
    assert VERIFY_TOKEN not in str(status.to_dict())
    url = rig.web_url + "/strava/webhook"
    ok = requests.get(url, params={"hub.mode": "subscribe", "hub.challenge": "c-123", "hub.verify_token": VERIFY_TOKEN}, timeout=5)
    assert ok.status_code == 200 and ok.json() == {"hub.challenge": "c-123"}
    wrong = requests.get(url, params={"hub.mode": "subscribe", "hub.challenge": "c-123", "hub.verify_token": "nope"}, timeout=5)
    assert wrong.status_code == 403 and "c-123" not in wrong.text
    assert requests.post(url, data=b"not json", timeout=5).status_code == 400

    # an active subscription relaxes polling: a sync done just now waits poll_minutes_with_webhook
    rig.svc.store.set_state(rig.athlete.id, LAST_SYNC_KEY, {"at": iso(datetime.now(UTC)), "counts": {}})
    assert "push subscription is active" in (webhooks.poll_skip_reason(rig.svc, rig.athlete.id) or "")
    result = webhooks.unsubscribe(rig.svc)
    assert result.deleted == (status.subscription_id,) and rig.strava.subscriptions == {}
    assert webhooks.poll_skip_reason(rig.svc, rig.athlete.id) is None


def test_create_stores_the_run_and_emails_its_alert_exactly_once_even_when_the_event_comes_three_times(rig: Rig) -> None:
    aid = 9_100_000_001
    rig.hilly_run(aid)
    event_time = int(datetime.now(UTC).timestamp())
    assert rig.push(aid, event_time=event_time) == 200
    counts = _process(rig)
    assert counts["done"] == 1 and counts["stored"] == 1
    (run,) = rig.activities()
    assert run.source_id == aid and run.elevation_loss_m > 200
    (mail,) = wait_until(lambda: rig.hilly_mails(), timeout=20, interval=0.2, what="the hilly-after-symptoms email")
    requests_after_first = len(rig.api_requests())
    assert requests_after_first == 2  # the activity and its streams

    for _ in range(3):  # Strava's retries: the same (object, aspect, event time)
        assert rig.push(aid, event_time=event_time) == 200
    assert rig.svc.store.strava_event_counts() == {"done": 1}
    assert _process(rig)["claimed"] == 0
    strava_events(rig.svc)
    assert len(rig.api_requests()) == requests_after_first
    assert len(rig.hilly_mails()) == 1 and len(rig.activities()) == 1


def test_an_update_to_ride_leaves_the_running_load_and_a_delete_removes_the_run(rig: Rig) -> None:
    aid = 9_100_000_002
    rig.hilly_run(aid)
    t0 = int(datetime.now(UTC).timestamp())
    rig.push(aid, event_time=t0)
    _process(rig)
    assert [a.sport for a in rig.activities()] == ["running"]

    rig.strava.activities[aid].body.update(sport_type="Ride", type="Ride")
    assert rig.push(aid, "update", updates={"type": "Ride"}, event_time=t0 + 5) == 200
    counts = _process(rig)
    assert counts["stored"] == 1
    assert [a.sport for a in rig.activities()] == ["cycling"]

    rig.strava.delete_activity(aid)
    assert rig.push(aid, "delete", event_time=t0 + 10) == 200
    assert _process(rig)["deleted"] == 1
    assert rig.activities() == []
    # out of order: the create arriving late reads the API (404) and the run stays gone
    before = len(rig.api_requests())
    assert rig.push(aid, "create", event_time=t0 - 60) == 200
    _process(rig)
    assert rig.activities() == [] and len(rig.api_requests()) == before + 1


def test_deauthorization_forgets_the_tokens_and_the_strava_rows_and_keeps_the_fit_rows(rig: Rig) -> None:
    aid = 9_100_000_003
    rig.hilly_run(aid, hours_ago=30)
    rig.push(aid)
    _process(rig)
    fit = fit_file(rig.tmp_path / "files" / "own.fit", start=datetime.now(UTC) - timedelta(days=4), km=8.0)
    imports.import_paths(rig.svc, rig.athlete, [fit])
    assert sorted(str(getattr(a.source, "value", a.source)) for a in rig.activities()) == ["fit", "strava"]

    assert rig.push(STRAVA_ATHLETE, "update", object_type="athlete", updates={"authorized": "false"}) == 200
    counts = _process(rig)
    assert counts["deauthorized"] == 1 and counts["forgotten"] == 1
    assert rig.svc.store.get_strava_connection(rig.athlete.id) is None
    assert [str(getattr(a.source, "value", a.source)) for a in rig.activities(include_deleted=True)] == ["fit"]
    # later events of that athlete are not believed any more
    before = len(rig.api_requests())
    rig.hilly_run(aid + 1)
    assert rig.push(aid + 1) == 200
    assert _process(rig)["claimed"] == 0 and len(rig.api_requests()) == before


def test_forged_events_cost_no_api_request_and_store_nothing(rig: Rig) -> None:
    aid = 9_100_000_004
    rig.hilly_run(aid)
    assert rig.push(aid, subscription_id=999) == 200  # not our subscription
    assert rig.push(aid, owner_id=777) == 200  # not a connected athlete
    assert rig.push(STRAVA_ATHLETE + 1, "update", object_type="athlete", updates={"authorized": "false"}) == 200
    assert rig.svc.store.strava_event_counts() == {}
    assert _process(rig)["claimed"] == 0
    assert rig.api_requests() == [] and rig.activities() == []
    assert rig.svc.store.get_strava_connection(rig.athlete.id) is not None

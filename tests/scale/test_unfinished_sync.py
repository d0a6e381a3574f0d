"""A sync that stored activities but died before evaluating them: the next completed run alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loadmon.service import Service, distributed, strava_sync
from tests.conftest import make_config
from tests.scale.helpers import CLIENT_ID, CLIENT_SECRET, club_state
from tests.strava_server import StravaServer


@pytest.fixture
def connected(tmp_path, store_url):
    state, club = club_state(1)
    with StravaServer(state) as server:
        cfg = make_config(tmp_path, store_url, strava={"client_id": str(CLIENT_ID), "client_secret": CLIENT_SECRET,
                                                       "api_url": server.url, "reconcile_days": 70})
        svc = Service.open(cfg)
        name = next(iter(club.strava_ids))
        athlete = svc.add_athlete(name, timezone_name="Europe/Paris")
        t = club.tokens[name]
        svc.store.save_strava_tokens(athlete.id, strava_athlete_id=club.strava_ids[name], access_token=t["access_token"],
                                     refresh_token=t["refresh_token"],
                                     expires_at=datetime.fromtimestamp(t["expires_at"], UTC), scope="read,activity:read_all")
        try:
            yield svc, athlete, club.spikes[name]
        finally:
            svc.close()


def _spike_alerts(svc: Service, athlete_id: int) -> list[dict]:
    return [a for a in svc.store.list_alerts(athlete_id) if a["rule"] == "run_spike"]


@pytest.mark.parametrize("died_before_evaluating", [True, False])
@pytest.mark.slow
def test_the_next_sync_evaluates_what_an_unfinished_one_stored(connected, died_before_evaluating) -> None:
    svc, athlete, _spike = connected
    # a run that stored every activity and then died before its evaluation (no alerts yet):
    # it had set the mark, as distributed.sync_athlete does before it starts
    strava_sync.sync(svc, athlete, wait=False, alerts=False)
    if died_before_evaluating:
        svc.store.set_state(athlete.id, distributed.PENDING_KEY, {"since": "2030-01-01T00:00:00+00:00"})
    assert _spike_alerts(svc, athlete.id) == []

    result = distributed.sync_athlete(svc, athlete.id)  # finds nothing new on Strava
    assert result is not None and result.outcome == "ok" and result.counts["new"] == 0
    spikes = _spike_alerts(svc, athlete.id)
    if died_before_evaluating:
        assert len(spikes) == 1 and [t.job for t in result.then] == ["evaluate"]
    else:  # a completed earlier run (no mark): nothing new, nothing to evaluate
        assert spikes == [] and result.then == ()
    assert svc.store.get_state(athlete.id, distributed.PENDING_KEY) is None
    again = distributed.sync_athlete(svc, athlete.id)
    assert again is not None and again.then == () and len(_spike_alerts(svc, athlete.id)) == len(spikes)

"""Settings -> Connect Strava over HTTP: the web app (uvicorn) and the fake Strava (tests/strava_server.py)
both running; the OAuth state in the signed session; Disconnect deauthorizes and deletes the
Strava-sourced activities (FIT-sourced ones stay). No token, code, state or secret in a page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from loadmon.domain import ElevationSource
from loadmon.service.strava import web_connect
from tests.conftest import ATHLETE_ID, CLIENT_ID, CLIENT_SECRET
from tests.strava_server import StravaServer
from tests.web.conftest import Clock, csrf_of, make_service, serving
from tests.web.test_club import _run

PUBLIC_URL = "http://loadmon.example.org"  # https would make the session cookie Secure (this client speaks http)


@pytest.fixture
def strava():
    with StravaServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:  # real clock
        server.add_athlete(ATHLETE_ID, "Ada", "Runner")
        yield server


def _start(tmp_path, monkeypatch, extra: str):
    clock = Clock()
    svc, config_path = make_service(tmp_path, monkeypatch, extra=extra, clock=clock)
    return svc, serving(svc, config_path, clock)


@pytest.fixture
def app(tmp_path, monkeypatch, strava):
    # client_id as a bare number, as Strava shows it
    extra = (
        f'[web]\npublic_url = "{PUBLIC_URL}/"\n'
        f'[strava]\nclient_id = {CLIENT_ID}\nclient_secret = "{CLIENT_SECRET}"\napi_url = "{strava.url}"\n'
    )
    svc, running = _start(tmp_path, monkeypatch, extra)
    try:
        with running as web:
            yield web
    finally:
        svc.close()


def _connect(c, strava: StravaServer) -> str:
    """Connect Strava up to Strava's redirect: the callback URL on the web app (path and query)."""
    r = c.post("/strava/connect", data={"csrf_token": csrf_of(c.get("/settings").text)})
    assert r.status_code == 303
    authorize = urlsplit(r.headers["location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == strava.url and authorize.path == "/oauth/authorize"
    query = {k: v[-1] for k, v in parse_qs(authorize.query).items()}
    assert query["redirect_uri"] == f"{PUBLIC_URL}/strava/callback"
    assert query["scope"] == "read,activity:read_all" and query["client_id"] == str(CLIENT_ID)
    assert len(query["state"]) >= 24
    back = c.get(r.headers["location"])  # Strava: auto-approves and redirects (to the public URL)
    assert back.status_code == 302
    target = urlsplit(back.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{PUBLIC_URL}/strava/callback"
    return f"{target.path}?{target.query}"


def test_connect_shows_the_scope_and_disconnect_deauthorizes_and_deletes_strava_data(app, strava):
    svc = app.svc
    ann = svc.athlete("ann")
    with app.client() as c:
        app.login(c, "ann")
        assert "Not connected" in c.get("/settings").text
        callback = _connect(c, strava)
        r = c.get(callback)
        assert (r.status_code, r.headers["location"]) == (303, "/settings?strava=connected")
        row = svc.store.get_strava_connection(ann.id)
        assert row is not None and row.strava_athlete_id == ATHLETE_ID and row.scope == "read,activity:read_all"
        assert svc.store.get_strava_connection(svc.athlete("bob").id) is None
        page = c.get("/settings?strava=connected").text
        assert "Connected to Strava." in page and f"Strava athlete {ATHLETE_ID}" in page
        assert '<code id="strava-scope">read,activity:read_all</code>' in page and "Disconnect Strava" in page
        state = parse_qs(urlsplit(callback).query)["state"][0]
        for secret in (row.access_token, row.refresh_token, CLIENT_SECRET, state):
            assert secret not in page
        # the state is single-use: the same redirect again is refused, nothing changes
        again = c.get(callback)
        assert again.status_code == 400 and "nothing was stored" in again.text
        for secret in (row.access_token, CLIENT_SECRET, state):
            assert secret not in again.text

        now = app.clock.now
        svc.store.upsert_activity(ann.id, _run("fit", 1, now - timedelta(days=3), 8.0))
        svc.store.upsert_activity(ann.id, _run("strava", 2, now - timedelta(days=2), 12.0))
        svc.store.upsert_activity(ann.id, _run("strava", 3, now - timedelta(days=1), 10.0))
        r = c.post("/strava/disconnect", data={"csrf_token": csrf_of(page)})
        assert (r.status_code, r.headers["location"]) == (303, "/settings?strava=disconnected&deleted=2")
        assert "2 Strava activities deleted" in c.get(r.headers["location"]).text
    assert svc.store.get_strava_connection(ann.id) is None
    assert [(a.source, a.source_id) for a in svc.store.list_activities(ann.id)] == [("fit", 1)]
    assert [q.status for q in strava.requests(r"^/oauth/deauthorize$")] == [200]
    assert not any(t.athlete_id == ATHLETE_ID for t in strava.state.access_tokens.values())


def test_a_wrong_or_missing_state_is_400_and_stores_nothing(app, strava):
    ann = app.svc.athlete("ann")
    with app.client() as c:
        app.login(c, "ann")
        callback = _connect(c, strava)
        query = parse_qs(urlsplit(callback).query)
        code, scope = query["code"][0], query["scope"][0]
        for q in (f"state=forged&code={code}&scope={scope}", f"code={code}&scope={scope}"):
            r = c.get(f"/strava/callback?{q}")
            assert r.status_code == 400 and "nothing was stored" in r.text, q
        assert c.get(callback).status_code == 400  # the failed attempt used the state up
    with app.client() as other:  # a fresh session never started a connect
        app.login(other, "ann")
        assert other.get(callback).status_code == 400
    assert app.svc.store.get_strava_connection(ann.id) is None
    assert "authorization_code" not in strava.state.token_requests


def test_a_refusal_or_a_scope_without_activities_is_a_clear_message(app, strava):
    ann = app.svc.athlete("ann")
    with app.client() as c:
        app.login(c, "ann")
        strava.state.authorize_scope = "read"  # the athlete unticked the activity boxes
        r = c.get(_connect(c, strava))
        assert r.status_code == 400 and "without &#39;View data about your activities&#39;" in r.text
        assert "nothing was stored" in r.text and "Connect Strava" in r.text
        strava.state.authorize_scope = None
        strava.state.authorize_athlete_id = None  # Cancel: error=access_denied
        r = c.get(_connect(c, strava))
        assert r.status_code == 400 and "Strava access was not granted" in r.text
    assert app.svc.store.get_strava_connection(ann.id) is None
    assert "authorization_code" not in strava.state.token_requests  # refused before any code exchange


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ('[strava]\nclient_id = "4242"\nclient_secret = "x"\n', "[web] public_url"),
        (f'[web]\npublic_url = "{PUBLIC_URL}"\n', "strava.client_id and strava.client_secret"),
    ],
)
def test_without_public_url_or_credentials_connect_says_what_to_set(tmp_path, monkeypatch, extra, named):
    svc, running = _start(tmp_path, monkeypatch, extra)
    try:
        with running as web, web.client() as c:
            web.login(c, "ann")
            page = c.get("/settings").text
            assert named in page and 'action="/strava/connect"' not in page
            r = c.post("/strava/connect", data={"csrf_token": csrf_of(page)})
            assert r.status_code == 400 and named in r.text
    finally:
        svc.close()


def test_forget_strava_data_keeps_fit_rows_and_promotes_a_fit_copy(web):
    svc = web.svc
    ann = svc.athlete("ann")
    start = web.clock.now - timedelta(days=1)
    svc.store.upsert_activity(ann.id, _run("strava", 9, start + timedelta(seconds=20), 10.15, elevation=ElevationSource.COMPUTED))
    svc.store.record_import(
        ann.id,
        path="run.fit",
        content_hash="f",
        outcome="imported",
        records=[_run("fit", 8, start, 10.0, elevation=ElevationSource.NONE)],
    )
    svc.store.upsert_activity(ann.id, _run("fit", 7, start - timedelta(days=3), 6.0))
    svc.store.upsert_activity(svc.athlete("bob").id, _run("strava", 5, start, 5.0))
    assert {a.source_id: a.duplicate_of is None for a in svc.store.list_activities(ann.id)} == {9: True, 8: False, 7: True}
    assert web_connect.forget_strava_data(svc, ann) == 1
    kept = svc.store.list_activities(ann.id)
    assert sorted((a.source, a.source_id, a.duplicate_of) for a in kept) == [("fit", 7, None), ("fit", 8, None)]
    assert [a.source for a in svc.store.list_activities(svc.athlete("bob").id)] == ["strava"]  # only ann's
    assert web_connect.forget_strava_data(svc, ann) == 0

"""OAuth through the real stravalib against the fake Strava: connect, refresh, deauthorize."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.strava import (
    StravaTokens,
    authorize_url,
    deauthorize,
    exchange_code,
    make_session,
    refresh,
)
from loadmon.errors import ConfigError, StravaAuthError
from tests.strava.conftest import ATHLETE_ID, CLIENT_ID, CLIENT_SECRET, tokens_from


def _follow_authorize(session: requests.Session, url: str) -> dict[str, str]:
    reply = session.get(url, allow_redirects=False)
    assert reply.status_code == 302
    return {k: v[-1] for k, v in parse_qs(urlsplit(reply.headers["Location"]).query).items()}


def test_connect_flow_authorize_url_then_code_exchange(strava_server, session, sim_clock) -> None:
    url = authorize_url(CLIENT_ID, "http://127.0.0.1:8721/callback", "st4te", strava_server.url)
    assert url.startswith(strava_server.url + "/oauth/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["read,activity:read_all"] and query["state"] == ["st4te"]

    redirect = _follow_authorize(session, url)
    assert redirect["state"] == "st4te"
    tokens = exchange_code(session, CLIENT_ID, CLIENT_SECRET, redirect["code"], scope=redirect["scope"])

    assert tokens.athlete_id == ATHLETE_ID
    assert tokens.scope == "read,activity:read_all"
    assert tokens.expires_at == sim_clock.now().replace(microsecond=0) + timedelta(hours=6)
    assert tokens.access_token in strava_server.access_tokens
    assert tokens.refresh_token in strava_server.refresh_tokens
    # a code is single-use
    with pytest.raises(StravaAuthError, match="authorization code"):
        exchange_code(session, CLIENT_ID, CLIENT_SECRET, redirect["code"])


def test_connect_without_activity_scope_is_refused(strava_server, session) -> None:
    strava_server.authorize_scope = "read"  # the athlete unticked "View data about your activities"
    redirect = _follow_authorize(session, authorize_url(CLIENT_ID, "http://127.0.0.1/cb", "s", strava_server.url))
    with pytest.raises(StravaAuthError, match="activity:read"):
        exchange_code(session, CLIENT_ID, CLIENT_SECRET, redirect["code"], scope=redirect["scope"])


def test_wrong_client_secret_names_the_setting_not_the_secret(strava_server, session) -> None:
    code = strava_server.issue_code(ATHLETE_ID)
    with pytest.raises(StravaAuthError) as err:
        exchange_code(session, CLIENT_ID, "wrong-secret-xyz", code)
    assert "client_secret" in str(err.value)
    assert "wrong-secret-xyz" not in str(err.value)


def test_refresh_rotates_the_refresh_token(strava_server, session, sim_clock) -> None:
    tokens = tokens_from(strava_server, expires_at=sim_clock.now() + timedelta(minutes=10))
    new = refresh(session, CLIENT_ID, CLIENT_SECRET, tokens)
    assert new.refresh_token != tokens.refresh_token
    assert new.access_token != tokens.access_token
    assert new.expires_at > tokens.expires_at
    assert (new.athlete_id, new.scope) == (tokens.athlete_id, tokens.scope)
    # the old refresh token is dead: using it again is "access revoked"
    with pytest.raises(StravaAuthError, match=f"revoked for athlete {ATHLETE_ID}.*loadmon strava connect"):
        refresh(session, CLIENT_ID, CLIENT_SECRET, tokens)


@pytest.mark.parametrize("status", [400, 401])
def test_refresh_refused_is_an_auth_error(strava_server, session, status) -> None:
    strava_server.state.invalid_refresh_status = status
    tokens = tokens_from(strava_server)
    strava_server.revoke(ATHLETE_ID)
    with pytest.raises(StravaAuthError, match=f"Strava access was revoked for athlete {ATHLETE_ID}"):
        refresh(session, CLIENT_ID, CLIENT_SECRET, tokens)


def test_refresh_retries_a_server_error(strava_server, session) -> None:
    tokens = tokens_from(strava_server)
    strava_server.inject("503", 2, path="^/oauth/token")
    slept: list[float] = []
    new = refresh(session, CLIENT_ID, CLIENT_SECRET, tokens, sleep=slept.append)
    assert new.refresh_token != tokens.refresh_token
    assert slept == [2.0, 4.0]


def test_deauthorize_revokes_and_is_idempotent(strava_server, session, sim_clock) -> None:
    tokens = tokens_from(strava_server)
    deauthorize(session, tokens)
    assert not any(t.athlete_id == ATHLETE_ID for t in strava_server.access_tokens.values())
    assert strava_server.requests(r"/oauth/deauthorize$", status=200)
    deauthorize(session, tokens)  # already revoked: fine
    with pytest.raises(StravaAuthError):
        refresh(session, CLIENT_ID, CLIENT_SECRET, tokens)


def test_deauthorize_refreshes_an_expired_token_first(strava_server, session, sim_clock) -> None:
    tokens = tokens_from(strava_server, expires_at=sim_clock.now() - timedelta(minutes=1))
    deauthorize(session, tokens, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, now=sim_clock.now())
    assert strava_server.requests(r"/oauth/deauthorize$", status=200)
    assert not strava_server.refresh_tokens


def test_tokens_repr_hides_secrets() -> None:
    t = StravaTokens(access_token="AAA-secret-access", refresh_token="RRR-secret-refresh",
                     expires_at=datetime(2030, 1, 1, tzinfo=UTC), athlete_id=7, scope="read")
    assert "AAA-secret" not in repr(t) and "RRR-secret" not in repr(t) and "athlete_id=7" in repr(t)
    with pytest.raises(ValueError, match="timezone-aware"):
        StravaTokens(access_token="a", refresh_token="r", expires_at=datetime(2030, 1, 1), athlete_id=7)


def test_session_rewrites_every_strava_url(strava_server) -> None:
    s = make_session(strava_server.url + "/")
    reply = s.get("https://www.strava.com/api/v3/athlete")  # no token: the fake answers 401, proving it got there
    assert reply.status_code == 401 and reply.url.startswith(strava_server.url)
    assert reply.json()["message"] == "Authorization Error"
    with pytest.raises(ConfigError, match="strava.api_url"):
        make_session("ftp://example.org")


def test_tokens_travel_only_in_the_authorization_header_and_every_call_goes_to_api_url(
    strava_server, session, sim_clock, make_connector
) -> None:
    """Ready for the 1 June 2027 API move (docs/strava.md): access tokens only in the header, and
    token refresh, API reads and deauthorization all on ``[strava] api_url``."""
    sent: list[requests.PreparedRequest] = []
    session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
    tokens = refresh(session, CLIENT_ID, CLIENT_SECRET, tokens_from(strava_server, expires_at=sim_clock.now()))
    list(make_connector(tokens=tokens).iter_activity_pages(after=datetime(2000, 1, 1, tzinfo=UTC)))
    deauthorize(session, tokens)
    paths = [urlsplit(r.url).path for r in sent]
    assert "/oauth/token" in paths and "/oauth/deauthorize" in paths and "/api/v3/athlete/activities" in paths
    for r in sent:
        assert r.url.startswith(strava_server.url + "/"), r.url
        body = r.body.decode() if isinstance(r.body, bytes) else (r.body or "")
        assert "access_token" not in r.url and tokens.access_token not in r.url and tokens.access_token not in body
        if urlsplit(r.url).path != "/oauth/token":
            assert r.headers["Authorization"] == f"Bearer {tokens.access_token}", r.url

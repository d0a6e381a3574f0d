"""`/settings`: the athlete's settings with errors named per field, the alert channels (masked)
with a real "Send test", the Strava connection state (never a token)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.receivers import HttpReceiver, http_receiver, smtp_receiver  # noqa: F401 - pytest fixtures
from tests.web.conftest import Clock, csrf_of, make_service, serving


def _form(c, **values):
    token = csrf_of(c.get("/settings").text)
    base = {"timezone": "UTC", "hr_rest": "", "hr_max": "", "sex": ""}
    return c.post("/settings", data={**base, **values, "csrf_token": token})


def test_settings_are_saved(web):
    with web.client() as c:
        web.login(c)
        page = c.get("/settings").text
        assert 'id="timezone"' in page and 'for="timezone"' in page and "Not connected" in page
        r = _form(c, timezone="Europe/London", hr_rest="48", hr_max="188", sex="female")
        assert (r.status_code, r.headers["location"]) == (303, "/settings?saved=1")
        page = c.get("/settings?saved=1").text
    ann = web.svc.athlete("ann")
    assert (ann.timezone, ann.hr_rest, ann.hr_max, ann.sex) == ("Europe/London", 48, 188, "female")
    assert 'value="Europe/London"' in page and 'value="48"' in page and "Saved." in page
    assert web.svc.athlete("bob").timezone == "UTC"  # only the logged-in athlete's


def test_bad_values_are_named_per_field_and_nothing_is_saved(web):
    with web.client() as c:
        web.login(c)
        r = _form(c, timezone="Mars/Olympus_Mons", hr_rest="fast", hr_max="300", sex="robot")
        assert r.status_code == 400
        assert "Time zone: unknown time zone &#39;Mars/Olympus_Mons&#39;" in r.text
        assert "Resting heart rate: &#39;fast&#39; is not a whole number" in r.text
        assert "Maximum heart rate: 300 is outside 100-240 bpm" in r.text
        assert "Sex: &#39;robot&#39; is not allowed" in r.text
        assert 'value="Mars/Olympus_Mons"' in r.text  # what was typed stays in the form
        # one bad field keeps the good ones from being saved too
        r = _form(c, timezone="Bad/Zone", hr_rest="50")
        assert r.status_code == 400 and "Time zone:" in r.text and "Resting heart rate:" not in r.text
        r = _form(c, hr_rest="70", hr_max="150")
        assert r.status_code == 303
        r = _form(c, hr_rest="115", hr_max="110")
        assert r.status_code == 400
        assert "Resting heart rate: resting (115) must be below maximum (110)" in r.text
        assert "Maximum heart rate: resting (115) must be below maximum (110)" in r.text
        r = _form(c, hr_rest="", hr_max="")  # empty: unchanged
        assert r.status_code == 303
    ann = web.svc.athlete("ann")
    assert (ann.timezone, ann.hr_rest, ann.hr_max, ann.sex) == ("UTC", 70, 150, None)


@pytest.fixture
def with_channels(tmp_path, monkeypatch, smtp_receiver, http_receiver):  # noqa: F811
    down = HttpReceiver()  # never started: its channel fails
    extra = (
        "[alerts]\n"
        f'push_urls = ["json://127.0.0.1:{http_receiver.port}/secret-topic-4711", "json://127.0.0.1:{down.port}/x"]\n'
        "[alerts.email]\nenabled = true\n"
        f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp_receiver.port}\nsecurity = "none"\n'
        'from = "loadmon@example.org"\nto = ["annabel.runner@example.org"]\ntimeout_s = 5\n'
    )
    clock = Clock()
    svc, config_path = make_service(tmp_path, monkeypatch, extra=extra, clock=clock)
    try:
        with serving(svc, config_path, clock) as running:
            yield running, smtp_receiver, http_receiver
    finally:
        svc.close()


def test_channels_are_shown_masked_and_send_test_delivers(with_channels):
    web, smtp, http = with_channels
    with web.client() as c:
        web.login(c)
        page = c.get("/settings").text
        assert "a***@example.org" in page and "annabel.runner" not in page
        assert "secret-topic-4711" not in page and f"json://127.0.0.1:{http.port}/…" in page
        token = csrf_of(page)
        assert c.post("/settings/test-alert").status_code == 403  # CSRF
        assert smtp.messages == [] and http.requests == []
        r = c.post("/settings/test-alert", data={"csrf_token": token})
    assert r.status_code == 200
    assert "email: sent" in r.text and "push[0]: sent" in r.text and "push[1]: failed" in r.text
    assert "secret-topic-4711" not in r.text
    assert len(smtp.messages) == 1 and smtp.messages[0].rcpt_tos == ("annabel.runner@example.org",)
    assert "test message" in smtp.messages[0].message["Subject"]
    assert len(http.requests) == 1 and http.requests[0].path == "/secret-topic-4711"


def test_no_channel_says_so_and_strava_state_never_shows_a_token(web):
    ann = web.svc.athlete("ann")
    web.svc.store.save_strava_tokens(
        ann.id,
        strava_athlete_id=987654321,
        access_token="ACCESS-SECRET-1",
        refresh_token="REFRESH-SECRET-2",
        expires_at=web.clock.now + timedelta(hours=6),
        scope="read,activity:read_all",
    )
    with web.client() as c:
        web.login(c)
        page = c.get("/settings").text
        assert "No alert channel is configured" in page and "Send test" not in page
        assert "Connected" in page and "987654321" in page and "Last sync: not yet" in page
        assert "ACCESS-SECRET" not in page and "REFRESH-SECRET" not in page
        web.login(c, "bob")
        assert "Not connected" in c.get("/settings").text

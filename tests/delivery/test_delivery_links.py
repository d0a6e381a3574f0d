"""With ``[web] public_url`` the alert e-mail and push link to each alert's page (a bundled message:
one link per alert); without it nothing changes. A real SMTP server and HTTP push receiver."""

from __future__ import annotations

import pytest

from loadmon.service import Service, alerting
from loadmon.service.after_store import after_change
from loadmon.storage import Store
from tests.alerts.conftest import Clock
from tests.alerts.test_lifecycle import NOW, new_run, short_history
from tests.conftest import make_config

PUBLIC = "https://loadmon.example.org"


def _service(tmp_path, smtp, http, *, public_url: str | None) -> Service:
    url = f"sqlite:///{tmp_path / 'loadmon.sqlite'}"
    alerts = {
        "retry_base_s": 60.0,
        "push_urls": [f"json://{http.host}:{http.port}/hook"],
        "email": {
            "enabled": True,
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "security": "none",
            "from": "loadmon@example.org",
            "to": ["ann@example.org"],
            "timeout_s": 5.0,
        },
    }
    sections: dict = {"alerts": alerts}
    if public_url is not None:
        sections["web"] = {"public_url": public_url}
    return Service(config=make_config(tmp_path, url, **sections), store=Store.open(url), clock=Clock(NOW))


def _two_alerts(svc: Service) -> list[dict]:
    athlete = svc.athlete()
    short_history(svc, athlete.id)  # 5 km a day for 40 days
    new_run(svc, athlete.id, 12.0)  # a run spike (danger) and a weekly ramp (warning): one message
    out = after_change(svc, [athlete.id])
    assert (out.alerts_new, out.alerts_to_send) == (2, 2)
    return alerting.list_alerts(svc, athlete, ids=out.alert_ids)


@pytest.mark.parametrize("public_url", [PUBLIC, PUBLIC + "/"])
def test_a_bundled_message_links_each_alert_page(tmp_path, smtp_receiver, http_receiver, public_url) -> None:
    svc = _service(tmp_path, smtp_receiver, http_receiver, public_url=public_url)
    try:
        alerts = {a["rule"]: a for a in _two_alerts(svc)}
        spike, ramp = alerts["run_spike"], alerts["weekly_ramp"]
        links = [f"{PUBLIC}/alerts/{a['id']}" for a in (spike, ramp)]  # most severe first
        (mail,) = smtp_receiver.messages
        text = mail.part("text/plain").replace("\r\n", "\n")
        assert text.count(f"Open: {links[0]}\n") == 1 and text.count(f"Open: {links[1]}\n") == 1
        # each link sits in its own alert's section
        assert text.index(spike["message"]) < text.index(links[0]) < text.index(ramp["message"]) < text.index(links[1])
        html = mail.part("text/html")
        for link in links:
            assert f'<a href="{link}">Open this alert in loadmon</a>' in html
        (push,) = http_receiver.requests
        body = push.json["message"]
        assert f"1. {links[0]}\n2. {links[1]}\nref: " in body
    finally:
        svc.close()


def test_a_long_push_keeps_its_link(ramp_alert) -> None:
    import dataclasses

    from alerts.delivery.render import PUSH_BODY_MAX_CHARS, render_push

    long = dataclasses.replace(ramp_alert, message="word " * 400, link=f"{PUBLIC}/alerts/42")
    body = render_push(long, "key-1").body
    assert len(body) <= PUSH_BODY_MAX_CHARS and body.endswith(f"\nOpen: {PUBLIC}/alerts/42\nref: key-1")


def test_without_a_public_url_no_link_is_sent(tmp_path, smtp_receiver, http_receiver) -> None:
    svc = _service(tmp_path, smtp_receiver, http_receiver, public_url=None)
    try:
        _two_alerts(svc)
        (mail,) = smtp_receiver.messages
        (push,) = http_receiver.requests
        for text in (mail.part("text/plain"), mail.part("text/html"), push.json["message"]):
            assert "/alerts/" not in text and "Open" not in text
    finally:
        svc.close()

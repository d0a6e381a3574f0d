"""Rendering: subject, Message-ID from the key, both parts carry everything, escaping."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from datetime import UTC, datetime

from alerts.alert import Alert
from alerts.delivery.render import IDEMPOTENCY_HEADER, format_number, render_email, render_push

KEY = "lm-0123456789abcdef"


def _parsed(alert: Alert, key: str = KEY, from_addr: str = "loadmon <alerts@example.org>"):
    msg = render_email(
        alert, idempotency_key=key, from_addr=from_addr, to=["ann@example.org"],
        now=datetime(2024, 5, 7, 6, 0, tzinfo=UTC),
    )
    # What a receiver sees: the bytes, parsed again.
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def test_subject_is_the_title_in_words(ramp_alert: Alert) -> None:
    assert _parsed(ramp_alert)["Subject"] == "[loadmon] weekly ramp +24% (38.2 km)"
    assert _parsed(ramp_alert)["X-Loadmon-Severity"] == "warning"


def test_message_id_follows_the_key_only(ramp_alert: Alert) -> None:
    first = _parsed(ramp_alert)["Message-ID"]
    again = _parsed(dataclasses.replace(ramp_alert, message="changed text"))["Message-ID"]
    other = _parsed(ramp_alert, key="lm-another")["Message-ID"]
    assert first == again != other
    assert first.startswith("<") and first.endswith("@example.org>")
    assert _parsed(ramp_alert)[IDEMPOTENCY_HEADER] == KEY


def test_both_parts_carry_message_numbers_rule_evidence(ramp_alert: Alert) -> None:
    msg = _parsed(ramp_alert)
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for body in (text, html):
        for shown in ("Last 7 days", "38.2 km", "The 7 days before", "30.8 km", "Change", "24%", "Buist", "Nielsen",
                      KEY, "All numbers: loadmon alerts --json"):
            assert shown in body
        for internal in ("last_7d_km", "threshold_pct", "min_volume_km", "rolling 7 local days"):
            assert internal not in body  # in the JSON (loadmon alerts --json), not in the message
        assert "Weekly ramp above 10%" in body
    assert "Your last 7 days: 38.2 km, 24% more than the 7 days before (30.8 km)." in text


def test_html_escapes_what_the_alert_says(ramp_alert: Alert) -> None:
    evil = dataclasses.replace(ramp_alert, rule="custom", message="<script>alert(1)</script> & more",
                               numbers={"<b>": "<i>"})
    html = _parsed(evil).get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>" not in html and "&lt;i&gt;" in html


def test_newlines_in_the_title_cannot_inject_headers(ramp_alert: Alert) -> None:
    evil = dataclasses.replace(ramp_alert, title="ramp\r\nBcc: victim@example.org")
    msg = _parsed(evil)
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"]


def test_number_formatting() -> None:
    assert [format_number(v) for v in (38.2, 24.0, 10, None, 0.0, 1 / 3, 0.00012, "x", -0.0001)] == [
        "38.2", "24", "10", "-", "0", "0.333", "0.00012", "x", "-0.0001",
    ]


def test_push_is_short_and_carries_the_key(ramp_alert: Alert) -> None:
    push = render_push(ramp_alert, KEY)
    assert push.title == "loadmon: weekly ramp +24% (38.2 km)"
    assert ramp_alert.message in push.body and push.body.endswith(f"ref: {KEY}")
    long = render_push(dataclasses.replace(ramp_alert, message="x" * 5000), KEY, max_body_chars=300)
    assert len(long.body) <= 300 and long.body.endswith(f"ref: {KEY}")


def test_a_group_is_one_message_most_severe_first(ramp_alert: Alert) -> None:
    spike = dataclasses.replace(ramp_alert, rule="run_spike", severity="danger", title="Your run of 12 km was 140% longer",
                                message="Run spike message.", numbers={"distance_km": 12.0, "increase_pct": 140.0},
                                dedupe_key="run_spike:7:1")
    msg = _parsed([ramp_alert, spike])  # given in day/rule order: the danger comes first anyway
    assert msg["Subject"] == "[loadmon] Your run of 12 km was 140% longer (+1 more alert)"
    assert msg["X-Loadmon-Severity"] == "danger, warning" and msg["X-Loadmon-Rule"] == "run_spike, weekly_ramp"
    text = msg.get_body(("plain",)).get_content()
    assert text.index("1. Your run of 12 km") < text.index("2. weekly ramp +24%")
    assert "Run spike message." in text and ramp_alert.message in text
    assert "This run" in text and "12 km" in text and "Longer by" in text and "140%" in text
    push = render_push([ramp_alert, spike], KEY)
    assert push.title == "loadmon: Your run of 12 km was 140% longer (+1 more alert)"
    assert push.body.startswith("1. Your run of 12 km was 140% longer (danger)\n2. weekly ramp +24% (38.2 km) (warning)")


def test_control_characters_in_quoted_user_text_never_reach_the_email_or_the_push(ramp_alert: Alert) -> None:
    """A symptom's location or a Strava name is quoted in alert texts; an ESC sequence, NUL or a C1
    CSI in it is taken out of what a person reads (the stored alert keeps its text)."""
    hostile = dataclasses.replace(
        ramp_alert,
        athlete_name="ann\x1b[2J",
        title="Hilly run after knee pain \x1b[31m(outer)\x1b[0m",
        message="Knee pain at the \x00outer\x9b31m side.\n\nKeep it flat.",
        evidence="symptom 3: outer\x07 knee",
    )
    msg = render_email(hostile, idempotency_key="k1", from_addr="a@example.org", to=["b@example.org"])
    push = render_push(hostile, "k1")
    parts = [str(msg["Subject"]), msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content(),
             push.title, push.body]
    for part in parts:
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", part), part
    assert "Knee pain at the outer31m side." in parts[1] and "(outer)" in parts[0]
    assert "symptom 3: outer knee" in parts[1]
    assert hostile.message.startswith("Knee pain at the \x00outer")  # the alert itself is unchanged

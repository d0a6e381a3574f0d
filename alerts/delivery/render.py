"""Render one :class:`~alerts.alert.Alert`, or the alerts of one evaluation for one athlete
(a group: most severe first), as an e-mail (text + HTML) or a short push.

Both forms carry the idempotency key so a receiver can drop a duplicate: the e-mail in its
``Message-ID`` (derived from the key) and an ``X-Loadmon-Idempotency-Key`` header, the push
in its body ("ref: ..."). The numbers block shows the few numbers that explain each alert,
labelled with units (:data:`alerts.rules.SHOWN_NUMBERS`); every number stays in the alert's
JSON (``loadmon alerts --json``).
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from alerts.alert import Alert, NumberValue
from alerts.rules import SEVERITY_RANK, SHOWN_NUMBERS
from loadmon.load_channels import CHANNEL_BY_NAME

SUBJECT_PREFIX = "[loadmon]"
IDEMPOTENCY_HEADER = "X-Loadmon-Idempotency-Key"
PUSH_BODY_MAX_CHARS = 1000
DISCLAIMER = "loadmon reports training-load signals, not a medical diagnosis."

_WHITESPACE = re.compile(r"\s+")
#: Where the other numbers are (the numbers block shows only the few that explain an alert).
ALL_NUMBERS_HINT = "All numbers: loadmon alerts --json"

#: One alert, or the alerts of one evaluation for one athlete (sent as one message).
Alerts = Alert | Sequence[Alert]


@dataclass(frozen=True, kw_only=True, slots=True)
class PushMessage:
    title: str
    body: str


def one_line(text: str) -> str:
    """Collapse newlines and runs of whitespace (headers and titles are one line)."""
    return _WHITESPACE.sub(" ", text).strip()


def format_number(value: NumberValue) -> str:
    """A number as a person reads it: ints as is, floats to at most 3 decimals, None as "-"."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) < 0.001:
        return f"{value:.3g}"
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def as_group(alerts: Alerts) -> list[Alert]:
    """The alerts of a message, most severe first (ties keep their order: day, then rule), their
    texts without control characters (:func:`displayable`)."""
    group = [alerts] if isinstance(alerts, Alert) else list(alerts)
    if not group:
        raise ValueError("alerts: a message needs at least one alert")
    return [displayable(a) for a in sorted(group, key=lambda a: -SEVERITY_RANK[a.severity])]


# C0 controls except tab and newline, DEL, and the C1 controls (U+009B is a terminal CSI).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def displayable(alert: Alert) -> Alert:
    """The alert with the control characters (ESC sequences, NUL, C1) taken out of the texts a
    person reads: user text (a symptom's location or note, a Strava name) is quoted in them; the
    stored alert keeps its text."""
    def clean(text: str) -> str:
        return _CONTROL.sub("", text)

    cleaned = replace(
        alert,
        athlete_name=clean(alert.athlete_name),
        title=clean(alert.title),
        message=clean(alert.message),
        rule_text=clean(alert.rule_text),
        evidence=clean(alert.evidence),
    )
    return alert if cleaned == alert else cleaned


def _more(group: Sequence[Alert]) -> str:
    n = len(group) - 1
    return f" (+{n} more alert{'s' if n != 1 else ''})" if n else ""


def email_subject(alerts: Alerts) -> str:
    """The most severe alert's title in words, e.g. ``[loadmon] Your week jumped 118%: 61 km
    after 28 km``, and ``(+1 more alert)`` when the message carries several."""
    group = as_group(alerts)
    return one_line(f"{SUBJECT_PREFIX} {group[0].title}{_more(group)}")


def _with_unit(value: NumberValue, unit: str) -> str:
    text = format_number(value)
    if not unit or isinstance(value, str):
        return text
    if unit == "%":
        return f"{text}%"
    if unit == "x":
        return f"{text} times"
    return f"{text} {unit}"


def shown_numbers(alert: Alert) -> list[tuple[str, str]]:
    """(label, value with unit) for the few numbers that explain ``alert`` (its rule's
    :data:`~alerts.rules.SHOWN_NUMBERS`; ``None`` values are left out). A rule without a list
    (the self-test) shows its numbers as they are."""
    spec = SHOWN_NUMBERS.get(alert.rule)
    if spec is None:
        return [(key, format_number(value)) for key, value in alert.numbers.items()]
    out = []
    for key, label, unit in spec:
        if "{u}" in key:  # the channel's unit: "last_7d_{u}" is "last_7d_km" (or _m, _min, ...)
            channel = CHANNEL_BY_NAME.get(str(alert.numbers.get("channel")))
            prefix = key.split("{u}", 1)[0]
            found = (key.replace("{u}", channel.unit.lower()) if channel is not None
                     else next((k for k in alert.numbers if k.startswith(prefix)), None))
            if found is None:
                continue
            key, unit = found, unit.replace("{u}", channel.unit if channel is not None else found[len(prefix):])
        value = alert.numbers.get(key)
        if value is not None:
            out.append((label, _with_unit(value, unit)))
    return out


def message_id(idempotency_key: str, from_addr: str) -> str:
    """A valid RFC 5322 Message-ID derived only from the key (same key -> same Message-ID).

    The right-hand side is the sender's domain (``loadmon.invalid`` when it has none).
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    address = parseaddr(from_addr)[1]
    domain = address.rpartition("@")[2].strip().lower() if "@" in address else ""
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?", domain or ""):
        domain = "loadmon.invalid"
    return f"<loadmon.{digest}@{domain}>"


def _heading(alert: Alert, index: int | None) -> str:
    number = f"{index}. " if index is not None else ""
    return f"{number}{alert.title} ({alert.severity.value}, {alert.local_date.isoformat()})"


def _text_section(alert: Alert, index: int | None) -> list[str]:
    lines = [_heading(alert, index), "", alert.message.strip(), ""]
    shown = shown_numbers(alert)
    if shown:
        width = max(len(label) for label, _ in shown)
        lines.append("Numbers:")
        lines.extend(f"  {label.ljust(width)}  {value}" for label, value in shown)
        lines.append("")
    lines += [f"Rule: {alert.rule_text.strip()} [{alert.rule}]", "", f"Evidence: {alert.evidence.strip()}", ""]
    if alert.link:
        lines += [f"Open: {one_line(alert.link)}", ""]
    return lines


def _intro(group: Sequence[Alert]) -> str:
    if len(group) == 1:
        return f"{group[0].athlete_name}: 1 alert"
    return f"{group[0].athlete_name}: {len(group)} alerts from the same check, most severe first"


def render_text(alerts: Alerts, idempotency_key: str) -> str:
    """The plain-text body: who, then per alert (most severe first) its title, message, the
    numbers that explain it (labelled, with units), the rule and the evidence."""
    group = as_group(alerts)
    lines = [_intro(group), ""]
    if len(group) > 1:
        lines += [f"  {i}. {a.title} ({a.severity.value})" for i, a in enumerate(group, 1)] + [""]
    for i, alert in enumerate(group, 1):
        lines += _text_section(alert, i if len(group) > 1 else None)
    lines += ["--", ALL_NUMBERS_HINT, DISCLAIMER, f"ref: {idempotency_key}", ""]
    return "\n".join(lines)


def _html_section(alert: Alert, index: int | None) -> str:
    e = html.escape
    shown = shown_numbers(alert)
    rows = "\n".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0">{e(label)}</th>'
        f'<td style="text-align:right;padding:2px 0">{e(value)}</td></tr>'
        for label, value in shown
    )
    paragraphs = "\n".join(f"<p>{e(part.strip())}</p>" for part in alert.message.split("\n\n") if part.strip())
    table = f"<h4>Numbers</h4>\n<table>\n{rows}\n</table>\n" if shown else ""
    link = f'<p><a href="{e(alert.link, quote=True)}">Open this alert in loadmon</a></p>\n' if alert.link else ""
    return (
        f"<h2>{e(_heading(alert, index))}</h2>\n"
        f"{paragraphs}\n"
        f"{table}"
        f"<h4>Rule</h4>\n<p>{e(alert.rule_text.strip())} <code>{e(alert.rule)}</code></p>\n"
        f"<h4>Evidence</h4>\n<p>{e(alert.evidence.strip())}</p>\n"
        f"{link}"
    )


def render_html(alerts: Alerts, idempotency_key: str) -> str:
    """The HTML body: the same content as :func:`render_text`, everything escaped."""
    e = html.escape
    group = as_group(alerts)
    listing = ""
    if len(group) > 1:
        items = "\n".join(f"<li>{e(a.title)} ({e(a.severity.value)})</li>" for a in group)
        listing = f"<ol>\n{items}\n</ol>\n"
    sections = "".join(_html_section(a, i if len(group) > 1 else None) for i, a in enumerate(group, 1))
    return (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8">'
        f"<title>{e(email_subject(group))}</title></head>\n"
        '<body style="font-family:sans-serif">\n'
        f"<p><strong>{e(_intro(group))}</strong></p>\n"
        f"{listing}"
        f"{sections}"
        f'<hr><p style="color:#666;font-size:small">{e(ALL_NUMBERS_HINT)}<br>{e(DISCLAIMER)}<br>'
        f"ref: {e(idempotency_key)}</p>\n"
        "</body></html>\n"
    )


def render_email(
    alerts: Alerts,
    *,
    idempotency_key: str,
    from_addr: str,
    to: Sequence[str],
    now: datetime | None = None,
) -> EmailMessage:
    """A complete multipart/alternative message (text/plain + text/html) for one alert or a group.

    Headers: Subject, From, To, Date (``now``, when given), Message-ID (from the key),
    X-Loadmon-Idempotency-Key, X-Loadmon-Rule and X-Loadmon-Severity (of each alert, most
    severe first, comma-separated) and ``Auto-Submitted: auto-generated`` (RFC 3834:
    auto-responders must not answer).
    """
    group = as_group(alerts)
    msg = EmailMessage()
    msg["Subject"] = email_subject(group)
    msg["From"] = from_addr
    msg["To"] = ", ".join(to)
    if now is not None:
        msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(idempotency_key, from_addr)
    msg[IDEMPOTENCY_HEADER] = one_line(idempotency_key)
    msg["X-Loadmon-Rule"] = one_line(", ".join(a.rule for a in group))
    msg["X-Loadmon-Severity"] = ", ".join(a.severity.value for a in group)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(render_text(group, idempotency_key))
    msg.add_alternative(render_html(group, idempotency_key), subtype="html")
    return msg


def render_push(alerts: Alerts, idempotency_key: str, *, max_body_chars: int = PUSH_BODY_MAX_CHARS) -> PushMessage:
    """Title ``loadmon: <title of the most severe alert>`` (``(+1 more alert)`` for a group) and a
    short body: the message (for a group: each alert's title, then the most severe one's
    message), cut to ``max_body_chars``, then each alert's link (when it has one: never cut)
    and a ``ref:`` line."""
    group = as_group(alerts)
    title = one_line(f"loadmon: {group[0].title}{_more(group)}")
    ref = f"ref: {one_line(idempotency_key)}"
    message = group[0].message.strip()
    if len(group) > 1:
        listing = "\n".join(f"{i}. {one_line(a.title)} ({a.severity.value})" for i, a in enumerate(group, 1))
        message = f"{listing}\n\n{message}"
    if len(group) > 1:
        links = [f"{i}. {one_line(a.link)}" for i, a in enumerate(group, 1) if a.link]
    else:
        links = [f"Open: {one_line(group[0].link)}"] if group[0].link else []
    tail = "\n".join([*links, ref])
    room = max(max_body_chars - len(tail) - 1, 1)
    if len(message) > room:
        message = message[: room - 1].rstrip() + "\u2026"
    return PushMessage(title=title, body=f"{message}\n{tail}")


def envelope_address(address: str) -> str:
    """The bare address of ``"Name <user@host>"`` (for the SMTP envelope)."""
    return parseaddr(address)[1]


__all__ = [
    "ALL_NUMBERS_HINT",
    "Alerts",
    "IDEMPOTENCY_HEADER",
    "as_group",
    "shown_numbers",
    "PushMessage",
    "email_subject",
    "envelope_address",
    "format_number",
    "message_id",
    "one_line",
    "render_email",
    "render_html",
    "render_push",
    "render_text",
]

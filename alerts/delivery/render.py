"""Render an :class:`~alerts.alert.Alert` as an e-mail (text + HTML) or a short push.

Both forms carry the idempotency key so a receiver can drop a duplicate: the e-mail in its
``Message-ID`` (derived from the key) and an ``X-Loadmon-Idempotency-Key`` header, the push
in its body ("ref: ...").
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from alerts.alert import Alert, NumberValue

SUBJECT_PREFIX = "[loadmon]"
IDEMPOTENCY_HEADER = "X-Loadmon-Idempotency-Key"
PUSH_BODY_MAX_CHARS = 1000
DISCLAIMER = "loadmon reports training-load signals, not a medical diagnosis."

_WHITESPACE = re.compile(r"\s+")


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


def email_subject(alert: Alert) -> str:
    """E.g. ``[loadmon] warning: weekly ramp +24% (38.2 km)``."""
    return one_line(f"{SUBJECT_PREFIX} {alert.severity.value}: {alert.title}")


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


def render_text(alert: Alert, idempotency_key: str) -> str:
    """The plain-text body: who/when, the message, the numbers, the rule, the evidence."""
    lines = [
        f"{alert.athlete_name} - {alert.local_date.isoformat()} ({alert.severity.value})",
        "",
        alert.message.strip(),
        "",
    ]
    if alert.numbers:
        lines.append("Numbers:")
        width = max(len(key) for key in alert.numbers)
        lines.extend(f"  {key.ljust(width)}  {format_number(value)}" for key, value in alert.numbers.items())
        lines.append("")
    lines += [
        f"Rule: {alert.rule_text.strip()} [{alert.rule}]",
        "",
        f"Evidence: {alert.evidence.strip()}",
        "",
        "--",
        DISCLAIMER,
        f"ref: {idempotency_key}",
        "",
    ]
    return "\n".join(lines)


def render_html(alert: Alert, idempotency_key: str) -> str:
    """The HTML body: the same content as :func:`render_text`, everything escaped."""
    e = html.escape
    rows = "\n".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0">{e(key)}</th>'
        f'<td style="text-align:right;padding:2px 0">{e(format_number(value))}</td></tr>'
        for key, value in alert.numbers.items()
    )
    paragraphs = "\n".join(f"<p>{e(part.strip())}</p>" for part in alert.message.split("\n\n") if part.strip())
    table = f"<h3>Numbers</h3>\n<table>\n{rows}\n</table>\n" if alert.numbers else ""
    return (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8">'
        f"<title>{e(email_subject(alert))}</title></head>\n"
        '<body style="font-family:sans-serif">\n'
        f"<h2>{e(alert.title)}</h2>\n"
        f"<p><strong>{e(alert.athlete_name)}</strong> &middot; {e(alert.local_date.isoformat())}"
        f" &middot; {e(alert.severity.value)}</p>\n"
        f"{paragraphs}\n"
        f"{table}"
        f"<h3>Rule</h3>\n<p>{e(alert.rule_text.strip())} <code>{e(alert.rule)}</code></p>\n"
        f"<h3>Evidence</h3>\n<p>{e(alert.evidence.strip())}</p>\n"
        f'<hr><p style="color:#666;font-size:small">{e(DISCLAIMER)}<br>ref: {e(idempotency_key)}</p>\n'
        "</body></html>\n"
    )


def render_email(
    alert: Alert,
    *,
    idempotency_key: str,
    from_addr: str,
    to: Sequence[str],
    now: datetime | None = None,
) -> EmailMessage:
    """A complete multipart/alternative message (text/plain + text/html).

    Headers: Subject, From, To, Date (``now``, when given), Message-ID (from the key),
    X-Loadmon-Idempotency-Key, X-Loadmon-Rule, X-Loadmon-Severity and
    ``Auto-Submitted: auto-generated`` (RFC 3834: auto-responders must not answer).
    """
    msg = EmailMessage()
    msg["Subject"] = email_subject(alert)
    msg["From"] = from_addr
    msg["To"] = ", ".join(to)
    if now is not None:
        msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(idempotency_key, from_addr)
    msg[IDEMPOTENCY_HEADER] = one_line(idempotency_key)
    msg["X-Loadmon-Rule"] = one_line(alert.rule)
    msg["X-Loadmon-Severity"] = alert.severity.value
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(render_text(alert, idempotency_key))
    msg.add_alternative(render_html(alert, idempotency_key), subtype="html")
    return msg


def render_push(alert: Alert, idempotency_key: str, *, max_body_chars: int = PUSH_BODY_MAX_CHARS) -> PushMessage:
    """Title ``loadmon warning: <title>`` and a short body: the message and a ``ref:`` line."""
    title = one_line(f"loadmon {alert.severity.value}: {alert.title}")
    ref = f"ref: {one_line(idempotency_key)}"
    message = alert.message.strip()
    room = max(max_body_chars - len(ref) - 1, 1)
    if len(message) > room:
        message = message[: room - 1].rstrip() + "\u2026"
    return PushMessage(title=title, body=f"{message}\n{ref}")


def envelope_address(address: str) -> str:
    """The bare address of ``"Name <user@host>"`` (for the SMTP envelope)."""
    return parseaddr(address)[1]


__all__ = [
    "IDEMPOTENCY_HEADER",
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

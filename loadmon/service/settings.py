"""What the web app's Settings page reads and changes: the athlete's settings (checked field by
field), the configured alert channels (no secrets), a test message, the Strava connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts.delivery.push import mask_url
from loadmon.domain import Athlete
from loadmon.errors import ValidationError
from loadmon.service import strava_sync
from loadmon.service.alerting import test_channels
from loadmon.service.context import Service, athlete_changes
from loadmon.service.strava import web_connect

__all__ = ["FIELDS", "save_athlete_settings", "alert_channels", "send_test", "strava_state", "mask_address"]

#: the form fields, in order: the keyword of :meth:`Service.set_athlete` each one sets
FIELDS = {"timezone": "timezone_name", "hr_rest": "hr_rest", "hr_max": "hr_max", "sex": "sex"}


def _parse(field: str, raw: str) -> Any:
    """A form value as :meth:`Service.set_athlete` takes it (None: empty, unchanged)."""
    text = raw.strip()
    if not text:
        return None
    if field in ("hr_rest", "hr_max"):
        try:
            return int(text)
        except ValueError:
            raise ValidationError(f"{text!r} is not a whole number of beats per minute") from None
    return text


def _message(exc: ValidationError) -> str:
    """The message without its ``--option:`` prefix (the page names the field itself)."""
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("--") and ": " in text else text


def save_athlete_settings(svc: Service, athlete: Athlete, form: Mapping[str, str]) -> tuple[Athlete, dict[str, str]]:
    """Check every field of ``form`` (an empty one stays unchanged) and store them all, or none:
    returns the athlete and the problems by field name (empty when saved)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field, keyword in FIELDS.items():
        try:
            value = _parse(field, form.get(field, ""))
            athlete_changes(athlete, **{keyword: value})
            values[keyword] = value
        except ValidationError as exc:
            errors[field] = _message(exc)
    if not errors:
        try:
            athlete_changes(athlete, **values)
        except ValidationError:  # resting at or above maximum: both fields are named
            rest = values["hr_rest"] if values["hr_rest"] is not None else athlete.hr_rest
            top = values["hr_max"] if values["hr_max"] is not None else athlete.hr_max
            errors["hr_rest"] = errors["hr_max"] = f"resting ({rest}) must be below maximum ({top})"
    if errors:
        return athlete, errors
    return svc.set_athlete(athlete, **values), {}


def mask_address(address: str) -> str:
    """``a***@example.org``: enough to recognise one's address, not enough to harvest it."""
    local, at, domain = address.strip().partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def alert_channels(svc: Service) -> list[dict[str, str]]:
    """The configured channels as ``{"channel", "kind", "target"}``, secret-free: e-mail
    recipients masked (:func:`mask_address`), push URLs as the CLI masks them."""
    cfg = svc.config.alerts
    out: list[dict[str, str]] = []
    if cfg.email.enabled:
        to = ", ".join(mask_address(a) for a in cfg.email.to) or "no recipient"
        out.append(
            {
                "channel": "email",
                "kind": "email",
                "target": f"to {to} via {cfg.email.smtp_host}:{cfg.email.smtp_port} ({cfg.email.security})",
            }
        )
    for i, url in enumerate(cfg.push_urls):
        out.append({"channel": f"push[{i}]", "kind": "push", "target": mask_url(url)})
    if cfg.maildir:
        out.append({"channel": "maildir", "kind": "maildir", "target": "a local Maildir folder"})
    return out


def send_test(svc: Service) -> list[dict[str, Any]]:
    """`loadmon alerts test`: a test message on every configured channel; one result per channel."""
    return test_channels(svc)


def strava_state(svc: Service, athlete: Athlete) -> dict[str, Any]:
    """Connected or not, the Strava athlete id, the granted scope, re-authorisation needed, the
    last sync; ``connect_problem``: what to set before Settings can connect (no token, no secret)."""
    info = strava_sync.status(svc, athlete)
    last = info.get("last_sync") or {}
    scope = info.get("scope") or ""
    return {
        "connected": bool(info["connected"]),
        "strava_athlete_id": info.get("strava_athlete_id"),
        "scope": scope,
        "private_activities": "activity:read_all" in scope.split(","),
        "needs_reauth": bool(info.get("needs_reauth")),
        "last_sync_at": last.get("at"),
        "credentials_configured": bool(info["credentials_configured"]),
        "connect_problem": web_connect.connect_problem(svc.config),
        "callback_url": web_connect.callback_url(svc.config) if svc.config.web.public_url.strip() else None,
    }

"""The Strava service as plain dicts, for the callers written before :mod:`loadmon.service.strava`
(the CLI, the daemon jobs and the worker import this module).

The names are those of the package; :func:`sync`, :func:`reconcile`, :func:`backfill`,
:func:`status` and :func:`disconnect` return the ``to_dict()`` form of its records (the keys
`--json` prints and ``job_runs`` stores). New code imports :mod:`loadmon.service.strava` and
reads the records' fields.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from loadmon.domain import Athlete
from loadmon.service import strava as _strava
from loadmon.service.context import Service
from loadmon.service.strava import (
    BACKFILL_KEY,
    BackfillProgress,
    ConnectResult,
    OAuthCallback,
    budget_eta,
    complete_connect,
    connect_url,
    connected_athletes,
    format_resume,
    make_budget,
    new_oauth_state,
    parse_redirect,
    redirect_uri_for,
    require_credentials,
)

__all__ = [
    "BACKFILL_KEY", "BackfillProgress", "ConnectResult", "OAuthCallback", "backfill", "budget_eta", "complete_connect",
    "connect_url", "connected_athletes", "disconnect", "format_resume", "make_budget", "new_oauth_state",
    "parse_redirect", "reconcile", "redirect_uri_for", "require_credentials", "status", "sync",
]


def sync(svc: Service, athlete: Athlete, *, wait: bool = False, alerts: bool = True) -> dict[str, Any]:
    """:func:`loadmon.service.strava.sync.sync` as a dict."""
    return _strava.sync(svc, athlete, wait=wait, alerts=alerts).to_dict()


def reconcile(svc: Service, athlete: Athlete, *, days: int | None = None, alerts: bool = True) -> dict[str, Any]:
    """:func:`loadmon.service.strava.sync.reconcile` as a dict."""
    return _strava.reconcile(svc, athlete, days=days, alerts=alerts).to_dict()


def backfill(svc: Service, athlete: Athlete, *, since: date | None = None, wait: bool = True,
             progress: Callable[[BackfillProgress], None] | None = None, alerts: bool = True,
             reserve: bool = False) -> dict[str, Any]:
    """:func:`loadmon.service.strava.backfill.backfill` as a dict."""
    return _strava.backfill(svc, athlete, since=since, wait=wait, progress=progress, alerts=alerts,
                            reserve=reserve).to_dict()


def status(svc: Service, athlete: Athlete) -> dict[str, Any]:
    """:func:`loadmon.service.strava.status.status` as a dict."""
    return _strava.status(svc, athlete).to_dict()


def disconnect(svc: Service, athlete: Athlete) -> dict[str, Any]:
    """:func:`loadmon.service.strava.oauth.disconnect` as a dict, then (Strava's API Agreement: the data
    goes with the access) the athlete's Strava-sourced activities are deleted (``deleted_activities``);
    FIT/file-sourced ones stay."""
    from loadmon.service.strava.web_connect import forget_strava_data

    out = _strava.disconnect(svc, athlete).to_dict()
    out["deleted_activities"] = forget_strava_data(svc, athlete) if out["was_connected"] else 0
    return out

"""Strava sync service: the names of :mod:`loadmon.service.strava`, importable from here as
before (the CLI, the daemon jobs and the worker import this module)."""

from loadmon.service.strava import (
    BACKFILL_KEY,
    BackfillProgress,
    ConnectResult,
    OAuthCallback,
    backfill,
    budget_eta,
    complete_connect,
    connect_url,
    connected_athletes,
    disconnect,
    format_resume,
    make_budget,
    new_oauth_state,
    parse_redirect,
    reconcile,
    redirect_uri_for,
    status,
    sync,
)

__all__ = [
    "BACKFILL_KEY", "BackfillProgress", "ConnectResult", "OAuthCallback", "backfill", "budget_eta", "complete_connect",
    "connect_url", "connected_athletes", "disconnect", "format_resume", "make_budget", "new_oauth_state",
    "parse_redirect", "reconcile", "redirect_uri_for", "status", "sync",
]

"""Strava: connect, resumable backfill, incremental sync and reconciliation (service layer).

The connector (:mod:`connectors.strava`) talks to Strava; this package gives it the athlete's
tokens and the shared request budget, and stores what it reads. One module per part:

* :mod:`.oauth` - **connect** (:func:`connect_url`, :class:`OAuthCallback`, :func:`complete_connect`):
  the OAuth authorization-code flow and its local callback server; :func:`disconnect`.
* :mod:`.web_connect` - the same flow from the web app (the redirect to ``[web] public_url`` +
  ``/strava/callback``), and a disconnect that deletes the Strava-sourced activities.
* :mod:`.credentials` - the application's credentials, the stored **tokens** (every refresh the
  connector reports is stored at once: a refresh may rotate the refresh token) and the connector
  built from them. A refused grant marks the connection ``needs_reauth`` and raises
  :class:`~loadmon.errors.StravaAuthError`; its ``reason`` says when the application, not the
  athlete, is at fault.
* :mod:`.budget` - one :class:`RateBudget` per run over ``store.budget_store()`` (the
  ``rate_budget`` table), shared by every process and worker of the installation.
* :mod:`.pages` - storing what a listing brings, page by page, with its sync state in one transaction.
* :mod:`.backfill` - the resumable history read (:func:`backfill`).
* :mod:`.sync` - the incremental :func:`sync` with the reconciliation of recent days, and
  :func:`reconcile` (the nightly part alone).
* :mod:`.status` - :func:`status`.
* :mod:`.records` - what these hand upward: :class:`SyncResult`, :class:`BackfillResult`,
  :class:`StravaStatus`, :class:`DisconnectResult` (each with ``to_dict()``, the JSON form).
* :mod:`.common` - state keys, page size, the injected sleep and stop flag, time helpers.

The clock is ``svc.clock`` and the sleep ``svc.sleep``. Nothing here
logs or returns a token or the client secret.
"""

from loadmon.service.strava.backfill import BackfillProgress, backfill
from loadmon.service.strava.budget import budget_eta, make_budget
from loadmon.service.strava.common import BACKFILL_KEY, format_resume
from loadmon.service.strava.credentials import connected_athletes, require_credentials
from loadmon.service.strava.oauth import (
    ConnectResult,
    OAuthCallback,
    complete_connect,
    connect_url,
    disconnect,
    new_oauth_state,
    parse_redirect,
    redirect_uri_for,
)
from loadmon.service.strava.records import (
    BackfillResult,
    DisconnectResult,
    RunCounts,
    SkippedItem,
    StravaLink,
    StravaStatus,
    SyncResult,
)
from loadmon.service.strava.status import status
from loadmon.service.strava.sync import reconcile, sync

__all__ = [
    "BACKFILL_KEY", "BackfillProgress", "BackfillResult", "ConnectResult", "DisconnectResult", "OAuthCallback",
    "RunCounts", "SkippedItem", "StravaLink", "StravaStatus", "SyncResult", "backfill", "budget_eta",
    "complete_connect", "connect_url", "connected_athletes", "disconnect", "format_resume", "make_budget",
    "new_oauth_state", "parse_redirect", "reconcile", "redirect_uri_for", "require_credentials", "status", "sync",
]

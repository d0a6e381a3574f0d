"""Strava connector: OAuth tokens, request budget, activity listing and descent (via stravalib).

Public API (the service layer calls these; nothing here touches the database)::

    make_session(api_url) -> requests.Session
    authorize_url(client_id, redirect_uri, state, api_url, *, scope=...) -> str
    exchange_code(session, client_id, client_secret, code, *, scope=None) -> StravaTokens
    refresh(session, client_id, client_secret, tokens) -> StravaTokens
    deauthorize(session, tokens, *, client_id=None, client_secret=None) -> None
    RateBudget(store=..., clock=..., sleep=..., read_limit_15min=100, read_limit_daily=1000, margin=2)
    StravaConnector(session, client_id=, client_secret=, tokens=, budget=, on_tokens=, clock=, sleep=, ...)
        .iter_activity_pages(after, before, *, known=None) -> Iterator[ActivityPage]
        .fetch_activity(activity_id) -> ActivityRecord | None
        .fetch_descent(activity_id, *, total_elevation_gain_m=None, manual=False) -> Descent
"""

from connectors.strava.connector import ActivityPage, StravaConnector
from connectors.strava.descent import Descent, DescentNote, estimated_descent
from connectors.strava.mapping import ItemError, record_from_activity
from connectors.strava.ratelimit import BudgetStatus, BudgetStore, InMemoryBudgetStore, RateBudget
from connectors.strava.retry import RetryPolicy
from connectors.strava.session import STRAVA_URL, make_session
from connectors.strava.tokens import (
    DEFAULT_SCOPE,
    StravaTokens,
    authorize_url,
    deauthorize,
    exchange_code,
    refresh,
    require_activity_scope,
)

__all__ = [
    "DEFAULT_SCOPE", "STRAVA_URL", "ActivityPage", "BudgetStatus", "BudgetStore", "Descent", "DescentNote", "InMemoryBudgetStore",
    "ItemError", "RateBudget", "RetryPolicy", "StravaConnector", "StravaTokens", "authorize_url", "deauthorize",
    "estimated_descent", "exchange_code", "make_session", "record_from_activity", "refresh", "require_activity_scope",
]

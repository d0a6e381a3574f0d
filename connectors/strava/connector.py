"""The Strava connector: list activities page by page, fetch descents, keep tokens fresh.

It never touches the database. The service layer gives it the athlete's tokens and a
``on_tokens`` callback (called with the new :class:`StravaTokens` whenever they change - a
refresh may rotate the refresh token, which must then be persisted), and persists what each
yielded :class:`ActivityPage` carries: its records, and its ``cursor`` for resuming.

Every HTTP request goes through stravalib (``Client.protocol`` / ``Client.get_activity_streams``)
on the session from :func:`connectors.strava.session.make_session`, after
:meth:`RateBudget.acquire`. Failures are handled here:

* 429: the budget marks the window spent and the request is retried after the window resets
  (``wait=True``), or :class:`RateLimitExhausted` is raised (``wait=False``);
* network errors, 5xx and unreadable bodies: retried with exponential backoff
  (:class:`RetryPolicy`), then :class:`ConnectorError`;
* 401: the access token is refreshed once and the request retried; a refresh answered with
  400/401 raises :class:`StravaAuthError` ("run `loadmon strava connect` again");
* 404 on streams: the documented descent estimate (see :mod:`connectors.strava.descent`).

Backfill and resume (:meth:`StravaConnector.iter_activity_pages`): pages are requested
oldest-first with ``after=<cursor>`` (Strava sorts ascending when ``after`` is given), i.e.
keyset pagination on the start time rather than page numbers, so activities added or deleted
meanwhile never shift what is left to read. After each page the caller stores ``page.cursor``
together with ``page.records``; an interrupted backfill resumes with ``after=<stored cursor>``
and refetches nothing but the last second (re-read on purpose, in case two activities share it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import requests
import structlog

from connectors.strava.client import auth_error, describe_fault, new_client
from connectors.strava.descent import STREAM_KEYS, Descent, DescentNote, descent_from_streams, estimated_descent
from connectors.strava.mapping import ItemError, activity_id_of, activity_label, record_from_activity, start_time_of
from connectors.strava.ratelimit import RateBudget
from connectors.strava.retry import RetryPolicy
from connectors.strava.tokens import StravaTokens, refresh_with_client
from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.errors import (
    ConnectorError,
    LoadmonError,
    RateLimitExhausted,
    StravaAuthError,
    StravaAuthReason,
    StravaError,
    StravaMalformedError,
)
from loadmon.sports import FOOT_SPORTS

log = structlog.get_logger("connectors.strava")

T = TypeVar("T")
MAX_PER_PAGE = 200
MAX_FUTURE = timedelta(days=2)  # a listed start later than now + this never moves the cursor


class _NotFound(Exception):
    """HTTP 404 (internal: each caller decides what a missing resource means)."""


class _ServerErrors(ConnectorError):
    """Every attempt ended in an HTTP 5xx (as opposed to no answer at all)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivityPage:
    """One listing request's worth of work, ready to be persisted as a unit."""

    number: int  # 1-based, within this iteration
    records: tuple[ActivityRecord, ...]  # new or changed activities (descent filled if asked)
    unchanged_ids: tuple[int, ...]  # listed, but ``known(record)`` said they are stored as-is
    errors: tuple[ItemError, ...]  # items that could not be mapped (named, skipped)
    cursor: datetime | None  # store this; pass it back as ``after=`` to resume
    done: bool  # True on the last page
    api_requests: int  # API requests spent on this page (listing, streams, retries)

    @property
    def seen_ids(self) -> frozenset[int]:
        """Every activity id Strava listed on this page (for reconciling deletions)."""
        ids = {r.source_id for r in self.records} | set(self.unchanged_ids)
        ids |= {e.activity_id for e in self.errors if e.activity_id is not None}
        return frozenset(ids)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _epoch(dt: datetime | None, name: str) -> int | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError(f"{name}={dt!r}: expected a timezone-aware datetime")
    return int(dt.timestamp())


class StravaConnector:
    """Reads one athlete's Strava activities through stravalib, within the request budget."""

    def __init__(
        self,
        session: requests.Session,
        *,
        client_id: int | str,
        client_secret: str,
        tokens: StravaTokens,
        budget: RateBudget | None = None,
        on_tokens: Callable[[StravaTokens], None] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
        stream_sports: Iterable[str] = FOOT_SPORTS,
        hysteresis_m: float | None = None,
        wait: bool = True,
        retry: RetryPolicy = RetryPolicy(),
        refresh_margin_s: float = 300.0,
        max_rate_limited: int = 8,
    ) -> None:
        self._session = session
        self._client_id = client_id
        self._client_secret = client_secret
        self._tokens = tokens
        self._budget = budget if budget is not None else RateBudget(clock=clock, sleep=sleep)
        self._budget.install(session)
        self._on_tokens = on_tokens
        self._clock = clock
        self._sleep = sleep
        self._stream_sports = frozenset(stream_sports)
        self._hysteresis_m = hysteresis_m
        self._wait = wait
        self._retry = retry
        self._refresh_margin_s = refresh_margin_s
        self._max_rate_limited = max_rate_limited
        self._client = new_client(
            session, client_id=client_id, client_secret=client_secret, access_token=tokens.access_token,
            refresh_token=tokens.refresh_token, expires_at=tokens.expires_at,
        )
        self.requests_made = 0  # API requests sent (not OAuth)
        self._stream_failures = 0  # consecutive streams requests that ended in 5xx

    def __repr__(self) -> str:
        return f"<StravaConnector athlete_id={self._tokens.athlete_id} requests_made={self.requests_made}>"

    @property
    def tokens(self) -> StravaTokens:
        """The current tokens (after any refresh)."""
        return self._tokens

    @property
    def budget(self) -> RateBudget:
        return self._budget

    # -- tokens --------------------------------------------------------------------------------
    def _set_tokens(self, new: StravaTokens) -> None:
        if new != self._tokens:
            self._tokens = new
            if self._on_tokens is not None:
                self._on_tokens(new)

    def _sync_tokens_from_client(self) -> None:
        """stravalib may have refreshed by itself (its own expiry check): pick the result up."""
        p = self._client.protocol
        t = self._tokens
        if not (p.access_token and p.refresh_token and p.token_expires):
            return
        current = (t.access_token, t.refresh_token, int(t.expires_at.timestamp()))
        if (p.access_token, p.refresh_token, int(p.token_expires)) != current:
            self._set_tokens(StravaTokens(access_token=p.access_token, refresh_token=p.refresh_token,
                                          expires_at=datetime.fromtimestamp(int(p.token_expires), UTC),
                                          athlete_id=t.athlete_id, scope=t.scope))

    def refresh_tokens(self) -> StravaTokens:
        """Refresh now (normally automatic ``refresh_margin_s`` before expiry or after a 401)."""
        new = refresh_with_client(self._client, self._client_id, self._client_secret, self._tokens,
                                  retry=self._retry, sleep=self._sleep)
        p = self._client.protocol
        p.access_token, p.refresh_token, p.token_expires = new.access_token, new.refresh_token, int(new.expires_at.timestamp())
        self._set_tokens(new)
        return new

    def _ensure_fresh_token(self) -> None:
        if self._tokens.expires_within(self._clock(), self._refresh_margin_s):
            self.refresh_tokens()

    # -- one API request, with budget, retries and re-authentication --------------------------
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        from stravalib import exc, protocol  # imported on first use (see connectors/strava/client.py)

        failures = 0
        rate_limited = 0
        reauthenticated = False
        all_5xx = False
        while True:
            self._budget.acquire(wait=self._wait)  # may sleep for a window: check the token after
            self._ensure_fresh_token()
            self.requests_made += 1
            try:
                return fn()
            except exc.Fault as e:
                server_error = True
                response = e.response
                status = response.status_code if response is not None else None
                if response is not None and "/oauth/" in (response.url or ""):
                    # stravalib's own refresh (inside the call) was refused
                    raise auth_error(response, athlete_id=self._tokens.athlete_id, action="refreshing the access token") from None
                if status == 429:
                    rate_limited += 1
                    resume_at = self._budget.note_rate_limited(response.headers if response is not None else None)
                    log.warning("strava.rate_limited", call=what, resume_at=resume_at.isoformat(), times=rate_limited)
                    if not self._wait or rate_limited > self._max_rate_limited:
                        raise RateLimitExhausted(
                            f"Strava answered 429 (rate limit exceeded) to {what}; resume after {resume_at.isoformat()}",
                            resume_at=resume_at,
                        ) from None
                    continue  # acquire() sleeps until the window resets
                if status == 401:
                    if reauthenticated:
                        raise auth_error(response, athlete_id=self._tokens.athlete_id, action=what) from None
                    reauthenticated = True
                    self.refresh_tokens()
                    continue
                if status == 404:
                    raise _NotFound(what) from None
                if isinstance(e, exc.ApplicationInactive):
                    raise StravaAuthError(f"Strava refused {what}: {protocol.INACTIVE_APPLICATION_MESSAGE}",
                                          reason=StravaAuthReason.APPLICATION_INACTIVE) from None
                if status == 403:
                    raise StravaAuthError(
                        f"Strava refused {what} ({describe_fault(response)}): the application may be inactive or the "
                        "athlete's grant lacks activity:read_all; run `loadmon strava connect` again") from None
                if status is not None and status < 500:
                    raise StravaError(f"Strava refused {what}: {describe_fault(response)}") from None
                reason = describe_fault(response)
            except requests.exceptions.JSONDecodeError:
                server_error = False
                reason = "unreadable response body (not JSON)"
                if failures + 1 >= self._retry.max_attempts:
                    raise StravaMalformedError(f"Strava {what}: {reason} after {failures + 1} attempts") from None
            except requests.RequestException as e:
                server_error = False
                reason = type(e).__name__
            except (ValueError, TypeError, AttributeError) as e:
                raise StravaMalformedError(f"Strava {what}: unexpected response shape ({type(e).__name__})") from None
            finally:
                self._sync_tokens_from_client()
            failures += 1
            all_5xx = server_error if failures == 1 else (all_5xx and server_error)
            if failures >= self._retry.max_attempts:
                error = _ServerErrors if all_5xx else ConnectorError
                raise error(f"Strava {what} failed after {failures} attempts: {reason}")
            delay = self._retry.delay(failures)
            log.warning("strava.retry", call=what, attempt=failures, delay_s=delay, reason=reason)
            self._sleep(delay)

    # -- listing -------------------------------------------------------------------------------
    def _list_raw(self, *, after: int | None, before: int | None, page: int, per_page: int) -> list[Any]:
        what = f"activity list (after={after}, before={before}, page={page})"
        try:
            raw = self._call(what, lambda: self._client.protocol.get(
                "/athlete/activities", after=after, before=before, page=page, per_page=per_page))
        except _NotFound:
            raise StravaError(f"Strava {what}: HTTP 404") from None
        if not isinstance(raw, list):
            raise StravaMalformedError(f"Strava {what}: expected a JSON list, got {type(raw).__name__}")
        return raw

    def _page_from_items(
        self, items: list[Any], *, number: int, done: bool, cursor: datetime | None, with_descent: bool,
        known: Callable[[ActivityRecord], bool] | None, requests_before: int, skip_ids: set[int] | None = None,
    ) -> ActivityPage:
        records: list[ActivityRecord] = []
        unchanged: list[int] = []
        errors: list[ItemError] = []
        for position, item in enumerate(items):
            aid = activity_id_of(item)
            if skip_ids is not None and aid is not None:
                if aid in skip_ids:
                    continue
                skip_ids.add(aid)
            error: LoadmonError | None
            try:
                record = record_from_activity(item, now=self._clock())
            except LoadmonError as e:  # malformed, or refused as implausible: skip it, named
                error = e
            except (ValueError, TypeError, ArithmeticError) as e:  # a mapping bug must not sink the page
                error = StravaMalformedError(f"{activity_label(item, position)}: cannot be read ({type(e).__name__}: "
                                             f"{str(e)[:120]})")
            else:
                error = None
            if error is not None:
                log.info("strava.activity.unreadable", activity_id=aid, reason=type(error).__name__, error=str(error))
                errors.append(ItemError(activity_id=aid, position=position, error=error))
                continue
            if known is not None and known(record):
                unchanged.append(record.source_id)
                continue
            records.append(self.with_descent(record) if with_descent else record)
        page = ActivityPage(number=number, records=tuple(records), unchanged_ids=tuple(unchanged), errors=tuple(errors),
                            cursor=cursor, done=done, api_requests=self.requests_made - requests_before)
        log.info("strava.page", athlete_id=self._tokens.athlete_id, page=number, listed=len(items),
                 records=len(records), unchanged=len(unchanged), errors=len(errors),
                 cursor=cursor.isoformat() if cursor else None, api_requests=page.api_requests, done=done)
        return page

    def _newest_start(self, items: list[Any]) -> datetime | None:
        """The newest plausible ``start_date`` of a listing (the cursor): a start further than
        :data:`MAX_FUTURE` ahead (9999-12-31) is an item to skip, not a place to jump to."""
        limit = self._clock() + MAX_FUTURE
        starts = [s for s in (start_time_of(i) for i in items) if s is not None and s <= limit]
        return max(starts) if starts else None

    def list_activities(
        self, after: datetime | None = None, before: datetime | None = None, *, page: int = 1,
        per_page: int = MAX_PER_PAGE, with_descent: bool = False,
    ) -> ActivityPage:
        """One raw listing request (Strava's own page numbers; newest first unless ``after``)."""
        requests_before = self.requests_made
        items = self._list_raw(after=_epoch(after, "after"), before=_epoch(before, "before"), page=page,
                               per_page=min(per_page, MAX_PER_PAGE))
        return self._page_from_items(items, number=page, done=len(items) < min(per_page, MAX_PER_PAGE),
                                     cursor=self._newest_start(items), with_descent=with_descent, known=None,
                                     requests_before=requests_before)

    def iter_activity_pages(
        self,
        after: datetime | None = None,
        before: datetime | None = None,
        *,
        per_page: int = MAX_PER_PAGE,
        with_descent: bool = True,
        known: Callable[[ActivityRecord], bool] | None = None,
    ) -> Iterator[ActivityPage]:
        """All activities that started after ``after`` (and before ``before``), oldest first.

        Persist each page's ``records`` and ``cursor`` together; to resume (or to sync
        incrementally) call again with ``after=<stored cursor>``. ``known(record)`` returning
        True means "stored with this content_hash already": no streams are fetched and the id
        goes to ``unchanged_ids``. With ``with_descent`` the descent of each foot activity is
        fetched from its streams (one request each).
        """
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        before_epoch = _epoch(before, "before")
        _epoch(after, "after")
        cursor = after
        seen: set[int] = set()
        page_param = 1  # stays 1 unless a full page brings the cursor no further (same-second pile-up)
        number = 0
        while True:
            requests_before = self.requests_made
            # Re-read the cursor's own second: Strava's `after` is strict and whole seconds, so an
            # activity sharing the second of the last one stored would otherwise be skipped.
            query_after = max(0, int(cursor.timestamp()) - 1) if cursor is not None else 0
            items = self._list_raw(after=query_after, before=before_epoch, page=page_param, per_page=per_page)
            number += 1
            done = len(items) < per_page
            newest = self._newest_start(items)
            if newest is not None and (cursor is None or newest > cursor):
                cursor = newest
                page_param = 1
            elif not done:
                page_param += 1
            yield self._page_from_items(items, number=number, done=done, cursor=cursor, with_descent=with_descent,
                                        known=known, requests_before=requests_before, skip_ids=seen)
            if done:
                return

    def fetch_activity(self, activity_id: int, *, with_descent: bool = True) -> ActivityRecord | None:
        """``GET /activities/{id}`` mapped (e.g. after a webhook); ``None`` when Strava says 404."""
        try:
            raw = self._call(f"activity {activity_id}", lambda: self._client.protocol.get("/activities/{id}", id=activity_id))
        except _NotFound:
            return None
        record = record_from_activity(raw, now=self._clock())
        return self.with_descent(record) if with_descent else record

    # -- descent -------------------------------------------------------------------------------
    def fetch_descent(self, activity_id: int, *, total_elevation_gain_m: float | None = None,
                      manual: bool = False) -> Descent:
        """Gain/loss from the altitude stream (COMPUTED), else the documented ESTIMATED fallback.

        Manual activities have nothing to stream: no request is made.
        """
        if manual:
            return estimated_descent(total_elevation_gain_m, manual=True, note=DescentNote.MANUAL)
        what = f"streams of activity {activity_id}"
        try:
            streams = self._call(what, lambda: self._client.get_activity_streams(activity_id, types=list(STREAM_KEYS)))
        except _NotFound:
            self._stream_failures = 0
            log.info("strava.streams.missing", activity_id=activity_id)
            return estimated_descent(total_elevation_gain_m, note=DescentNote.STREAMS_MISSING)
        except StravaMalformedError as e:
            log.warning("strava.streams.malformed", activity_id=activity_id, error=str(e))
            return estimated_descent(total_elevation_gain_m, note=DescentNote.STREAMS_MALFORMED)
        except _ServerErrors as e:
            # One activity whose streams Strava cannot serve must not block the backfill forever
            # (it gets the estimate); two in a row look like an outage: stop, resume from the cursor.
            self._stream_failures += 1
            if self._stream_failures >= 2:
                raise
            log.warning("strava.streams.failed", activity_id=activity_id, error=str(e))
            return estimated_descent(total_elevation_gain_m, note=DescentNote.STREAMS_FAILED)
        self._stream_failures = 0
        try:
            return descent_from_streams(streams, activity_id=activity_id, total_elevation_gain_m=total_elevation_gain_m,
                                        hysteresis_m=self._hysteresis_m)
        except StravaMalformedError as e:
            log.warning("strava.streams.malformed", activity_id=activity_id, error=str(e))
            return estimated_descent(total_elevation_gain_m, note=DescentNote.STREAMS_MALFORMED)

    def wants_streams(self, record: ActivityRecord) -> bool:
        """Would :meth:`with_descent` spend a streams request on ``record``?"""
        manual = bool(record.extra.get("manual"))
        indoor_flat = bool(record.extra.get("trainer")) and not record.elevation_gain_m
        return record.sport in self._stream_sports and not manual and not indoor_flat

    def with_descent(self, record: ActivityRecord, *, skip: DescentNote | None = None) -> ActivityRecord:
        """``record`` with ``elevation_loss_m`` / ``elevation_source`` filled (streams when worth it).

        ``skip``: the caller's decision not to read the streams now (``DEFERRED``: later, from
        spare budget; ``COVERED_BY_FIT``: a FIT file has the same run): the estimate, no request.
        """
        manual = bool(record.extra.get("manual"))
        indoor_flat = bool(record.extra.get("trainer")) and not record.elevation_gain_m
        if skip is not None and self.wants_streams(record):
            d = estimated_descent(record.elevation_gain_m, note=skip)
        elif self.wants_streams(record):
            d = self.fetch_descent(record.source_id, total_elevation_gain_m=record.elevation_gain_m)
        else:
            note = DescentNote.MANUAL if manual else (DescentNote.INDOOR_FLAT if indoor_flat else DescentNote.SPORT_NOT_STREAMED)
            d = estimated_descent(record.elevation_gain_m, manual=manual, note=note)
        extra = dict(record.extra)
        if d.note is not None:
            extra["descent_note"] = d.note.value
        if d.source is ElevationSource.COMPUTED:
            extra["stream_gain_m"] = d.gain_m
        return replace(record, elevation_loss_m=d.loss_m, elevation_source=d.source, steep_descent_m=d.steep_loss_m,
                       profile=d.profile, extra=extra)

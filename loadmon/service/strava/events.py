"""Processing the recorded Strava webhook events (the ``strava_events`` job of the daemon, or the
Celery task of the same name).

Events are claimed with a lease (like the outbox: any number of processors, none takes an event
another holds) and each is marked done in the same transaction as its effect:

* activity ``create`` / ``update``: the activity is read from the API (``GET /activities/{id}``;
  its streams only when it changed and its sport is streamed) and stored as the sync stores it;
  a 404 (deleted, or made private meanwhile) marks it deleted;
* activity ``delete``: marked deleted (it leaves the load);
* athlete ``update`` with ``authorized: "false"`` (deauthorization): the tokens, the Strava sync
  state and that athlete's Strava-sourced activities are deleted (the Strava API Agreement);
  activities from the athlete's own files stay.

The subscription and the owner are checked again (an event recorded before an ``unsubscribe`` or
a disconnect is dropped without a request). Since the API is read each time, duplicates and
out-of-order events are safe: the last processing stores Strava's current state. Then the alert
rules run for the athletes whose data changed, and what is due is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from loadmon.domain import Athlete
from loadmon.errors import LoadmonError, NotFoundError, RateLimitExhausted, StravaAuthError
from loadmon.service.context import Service
from loadmon.service.strava.common import SOURCE, log, stop_requested
from loadmon.service.strava.credentials import open_connector
from loadmon.service.strava.pages import Tally, evaluate_alerts, with_descent
from loadmon.storage.store import StravaEventClaim

__all__ = ["EventsResult", "process_events"]

LEASE_S = 120.0
MAX_ATTEMPTS = 5
RETRY_BASE_S = 60.0  # then 2, 4, 8 minutes ...


@dataclass(frozen=True, kw_only=True, slots=True)
class EventsResult:
    """One pass over the due events (the job's recorded counts: :meth:`to_dict`)."""

    claimed: int = 0
    done: int = 0
    ignored: int = 0  # done without effect (not ours any more, an athlete update, unchanged)
    stored: int = 0  # activities new or changed
    deleted: int = 0
    forgotten: int = 0  # Strava-sourced activities removed on deauthorization
    deauthorized: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0  # leases that ran out (another processor took the event)
    requests: int = 0
    athlete_ids: frozenset[int] = frozenset()
    errors: tuple[str, ...] = ()
    alerts: dict[str, Any] | None = None  # per athlete id: what the alert rules did
    alerts_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: getattr(self, k)
            for k in (
                "claimed",
                "done",
                "ignored",
                "stored",
                "deleted",
                "forgotten",
                "deauthorized",
                "retried",
                "failed",
                "lost",
                "requests",
            )
        }
        out["athletes"] = sorted(self.athlete_ids)
        out["errors"] = list(self.errors)
        if self.alerts is not None:
            out["alerts"] = self.alerts
        if self.alerts_error is not None:
            out["alerts_error"] = self.alerts_error
        return out


@dataclass
class _Pass:
    counts: dict[str, int] = field(default_factory=dict)
    touched: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def process_events(svc: Service, *, limit: int = 50) -> EventsResult:
    """Claim the due events and process each; then evaluate and deliver for the athletes touched."""
    claims = svc.store.claim_strava_events(svc.clock(), lease_s=LEASE_S, limit=limit)
    run = _Pass()
    for claim in claims:
        if stop_requested(svc):
            break  # the rest is claimed until its lease ends, then taken again
        _process(svc, claim, run)
    alerts: dict[str, Any] | None = None
    alerts_error: str | None = None
    for athlete_id in sorted(run.touched):
        try:
            athlete = svc.store.get_athlete(athlete_id=athlete_id)
        except NotFoundError:
            continue
        fired, error = evaluate_alerts(svc, athlete)
        if fired is not None:
            alerts = {**(alerts or {}), str(athlete_id): fired}
        alerts_error = error or alerts_error
    c = run.counts
    return EventsResult(
        claimed=len(claims),
        done=c.get("done", 0),
        ignored=c.get("ignored", 0),
        stored=c.get("stored", 0),
        deleted=c.get("deleted", 0),
        forgotten=c.get("forgotten", 0),
        deauthorized=c.get("deauthorized", 0),
        retried=c.get("retried", 0),
        failed=c.get("failed", 0),
        lost=c.get("lost", 0),
        requests=c.get("requests", 0),
        athlete_ids=frozenset(run.touched),
        errors=tuple(run.errors),
        alerts=alerts,
        alerts_error=alerts_error,
    )


def _label(claim: StravaEventClaim) -> str:
    return f"Strava event {claim.id} ({claim.object_type} {claim.object_id} {claim.aspect_type})"


def _process(svc: Service, claim: StravaEventClaim, run: _Pass) -> None:
    now = svc.clock()
    try:
        athlete = _athlete_of(svc, claim)
        if athlete is None:
            _finish(svc, claim, run, athlete_id=None, outcome="ignored: not our subscription, or the owner is not connected")
        elif claim.object_type == "athlete":
            if str(claim.updates.get("authorized", "")).lower() == "false":
                _finish(svc, claim, run, athlete_id=athlete.id, outcome="deauthorized", forget=True)
            else:
                _finish(svc, claim, run, athlete_id=None, outcome="ignored: athlete update")
        elif claim.aspect_type == "delete":
            _finish(svc, claim, run, athlete_id=athlete.id, outcome="deleted", deleted_ids=[claim.object_id])
        else:
            _read_activity(svc, claim, run, athlete)
    except RateLimitExhausted as exc:  # not the event's fault: again once the window resets
        svc.store.retry_strava_event(claim, now=now, error=str(exc), next_attempt_at=exc.resume_at)
        run.add("retried")
    except StravaAuthError as exc:  # the connection is marked; the sync catches up after a reconnect
        _give_up(svc, claim, run, f"{_label(claim)}: {exc}")
    except LoadmonError as exc:
        text = f"{_label(claim)}: {exc}"
        if claim.attempts + 1 >= MAX_ATTEMPTS:
            _give_up(svc, claim, run, text)
        else:
            delay = timedelta(seconds=RETRY_BASE_S * 2**claim.attempts)
            svc.store.retry_strava_event(claim, now=now, error=text, next_attempt_at=now + delay)
            run.add("retried")
            run.errors.append(text)
            log.warning("strava.webhook.retry", event_id=claim.id, attempt=claim.attempts + 1, error=text)


def _give_up(svc: Service, claim: StravaEventClaim, run: _Pass, text: str) -> None:
    svc.store.retry_strava_event(claim, now=svc.clock(), error=text, next_attempt_at=None)
    run.add("failed")
    run.errors.append(text)
    log.error("strava.webhook.failed", event_id=claim.id, error=text)


def _athlete_of(svc: Service, claim: StravaEventClaim) -> Athlete | None:
    """The connected athlete the event belongs to, when it names our subscription (checked again:
    it may have changed since the event was recorded)."""
    stored = svc.store.strava_subscription()
    if stored is None or stored.id != claim.subscription_id:
        return None
    athlete_id = svc.store.athlete_for_strava_id(claim.owner_id)
    if athlete_id is None:
        return None
    return svc.store.get_athlete(athlete_id=athlete_id)


def _read_activity(svc: Service, claim: StravaEventClaim, run: _Pass, athlete: Athlete) -> None:
    """Read the activity from the API: store it when it changed (with its streams when its sport
    is streamed), mark it deleted on a 404."""
    with open_connector(svc, athlete, wait=False) as conn:
        try:
            record = conn.fetch_activity(claim.object_id, with_descent=False)
            if record is None:
                _finish(svc, claim, run, athlete_id=athlete.id, outcome="not found: deleted", deleted_ids=[claim.object_id])
                return
            stored = svc.store.source_hashes(athlete.id, SOURCE, since=record.start_time - timedelta(days=1))
            if stored.get(record.source_id) == record.content_hash:
                _finish(svc, claim, run, athlete_id=None, outcome="ignored: unchanged")
                return
            tally = Tally()
            record = with_descent(conn, record, tally)
            run.errors.extend(tally.error_messages)
            _finish(svc, claim, run, athlete_id=athlete.id, outcome="stored", records=[record])
        finally:
            run.add("requests", conn.requests_made)


def _finish(svc: Service, claim: StravaEventClaim, run: _Pass, *, athlete_id: int | None, outcome: str, **effect: Any) -> None:
    applied = svc.store.apply_strava_event(claim, athlete_id=athlete_id, outcome=outcome, now=svc.clock(), **effect)
    if not applied.finished:
        run.add("lost")
        log.warning("strava.webhook.lease_lost", event_id=claim.id)
        return
    run.add("done")
    errors = [r.error for r in applied.results if r.error]
    if errors:
        run.errors.extend(f"{_label(claim)}: not stored, the database refused it ({e})" for e in errors)
    run.add("stored", sum(1 for r in applied.results if r.created or r.changed))
    run.add("deleted", applied.deleted)
    run.add("forgotten", applied.forgotten)
    if effect.get("forget"):
        run.add("deauthorized")
    if not applied.changed and not effect.get("forget"):
        run.add("ignored")
    if athlete_id is not None and (applied.changed or effect.get("forget")):
        run.touched.add(athlete_id)
    log.info(
        "strava.webhook.processed",
        event_id=claim.id,
        object_type=claim.object_type,
        object_id=claim.object_id,
        aspect_type=claim.aspect_type,
        outcome=outcome,
        changed=applied.changed,
    )

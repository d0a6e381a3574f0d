"""The request budget: unit behaviour, and a 1,000-activity backfill under 100 reads / 15 min."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from connectors.strava import InMemoryBudgetStore, RateBudget
from loadmon.errors import RateLimitExhausted
from loadmon.sports import FOOT_SPORTS
from tests.strava.conftest import ATHLETE_ID
from tests.strava_server import SimClock, hill_streams, summary_activity

T0 = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)


def test_windows_reset_at_quarter_hours_and_midnight() -> None:
    clock = SimClock(T0.replace(minute=14, second=59))
    b = RateBudget(clock=clock.now, sleep=clock.sleep, read_limit_15min=3, margin=0)
    for _ in range(3):
        b.acquire()
    with pytest.raises(RateLimitExhausted) as err:
        b.acquire(wait=False)
    assert err.value.resume_at == T0.replace(minute=15, second=1)  # next window + 1 s grace
    b.acquire()  # waits: the sim clock jumps to 10:15:01
    assert clock.now() == T0.replace(minute=15, second=1)
    assert b.status()[0].window_used == 1 and b.status()[0].day_used == 4
    assert RateBudget.next_day(T0) == datetime(2031, 3, 5, tzinfo=UTC)


def test_margin_is_kept_in_every_window() -> None:
    clock = SimClock(T0)
    b = RateBudget(clock=clock.now, sleep=clock.sleep, read_limit_15min=10, margin=2)
    for _ in range(8):
        b.acquire(wait=False)
    with pytest.raises(RateLimitExhausted, match="margin 2"):
        b.acquire(wait=False)


def test_headers_raise_usage_and_replace_limits() -> None:
    clock = SimClock(T0)
    b = RateBudget(clock=clock.now, sleep=clock.sleep)
    b.observe_headers({"X-ReadRateLimit-Limit": "300,3000", "X-ReadRateLimit-Usage": "250,900",
                       "X-RateLimit-Limit": "600,6000", "X-RateLimit-Usage": "260,950"})
    read, overall = b.status()
    assert (read.window_limit, read.day_limit, read.window_used, read.day_used) == (300, 3000, 250, 900)
    assert (overall.window_limit, overall.window_used) == (600, 260)
    b.observe_headers({"X-ReadRateLimit-Usage": "10,20"})  # a lagging report never lowers the count
    assert b.status()[0].window_used == 250
    b.observe_headers({"X-ReadRateLimit-Usage": "garbage"})  # ignored


def test_429_marks_the_window_or_the_day_spent() -> None:
    clock = SimClock(T0.replace(minute=40))
    b = RateBudget(clock=clock.now, sleep=clock.sleep)
    resume = b.note_rate_limited({"X-ReadRateLimit-Limit": "100,1000", "X-ReadRateLimit-Usage": "100,400"})
    assert resume == T0.replace(minute=45, second=1)
    resume = b.note_rate_limited({"X-ReadRateLimit-Limit": "100,1000", "X-ReadRateLimit-Usage": "20,1000"})
    assert resume == datetime(2031, 3, 5, 0, 0, 1, tzinfo=UTC)
    with pytest.raises(RateLimitExhausted):
        b.acquire(wait=False)


def test_two_workers_sharing_a_store_share_the_budget() -> None:
    clock = SimClock(T0)
    store = InMemoryBudgetStore()
    a = RateBudget(store=store, clock=clock.now, sleep=clock.sleep, read_limit_15min=20, margin=2)
    b = RateBudget(store=store, clock=clock.now, sleep=clock.sleep, read_limit_15min=20, margin=2)
    granted = 0
    for worker in [a, b] * 15:
        try:
            worker.acquire(wait=False)
            granted += 1
        except RateLimitExhausted:
            pass
    assert granted == 18


def test_response_hook_installed_once_feeds_the_budget(strava_server, session, sim_clock) -> None:
    b = RateBudget(clock=sim_clock.now, sleep=sim_clock.sleep)
    b.install(session)
    b.install(session)
    assert sum(1 for h in session.hooks["response"] if getattr(h, "__self__", None) is b) == 1
    strava_server.consume(42)
    session.get("https://www.strava.com/api/v3/athlete")  # 401, but with the usage headers
    assert b.status()[0].window_used == 43


@pytest.mark.slow
def test_backfill_of_1000_activities_within_100_reads_per_window(strava_server, make_connector, sim_clock) -> None:
    """Every activity exactly once; never more than 100 reads in a window; requests = pages + streams."""
    sports = ["Run", "Run", "Run", "Run", "Run", "TrailRun", "Walk", "Hike", "Ride", "Swim"]
    t0 = datetime(2020, 1, 1, 6, 0, tzinfo=UTC)
    ids, foot_streamed = [], 0
    for i in range(1000):
        sport = sports[i % len(sports)]
        manual = i % 97 == 0
        aid = 12_000_000_000 + i
        act = summary_activity(aid, athlete_id=ATHLETE_ID, start=t0 + timedelta(hours=31 * i), sport_type=sport,
                               manual=manual, total_elevation_gain=float(i % 60))
        strava_server.add_activity(act, streams=None if manual else hill_streams(30, climb_m=float(i % 60)))
        ids.append(aid)
    started = sim_clock.now()
    budget = RateBudget(clock=sim_clock.now, sleep=sim_clock.sleep, read_limit_15min=100, read_limit_daily=1000, margin=2)
    conn = make_connector(budget=budget)

    pages = list(conn.iter_activity_pages())
    records = [r for p in pages for r in p.records]
    foot = [r for r in records if r.sport in FOOT_SPORTS]
    foot_streamed = sum(1 for r in foot if not r.extra["manual"])

    assert sorted(r.source_id for r in records) == ids  # every activity exactly once
    assert not [e for p in pages for e in p.errors]
    assert strava_server.max_read_per_window <= 100
    assert not strava_server.requests(r"^/api/v3/", status=429)
    used = len(strava_server.requests(r"^/api/v3/"))
    assert used == conn.requests_made == len(pages) + len(strava_server.requests(r"/streams$"))
    assert used <= len(pages) + foot_streamed
    windows = {r.window for r in strava_server.requests(r"^/api/v3/")}
    assert len(windows) == math.ceil(used / (100 - 2))  # every window filled to the margin, none wasted
    elapsed_min = (sim_clock.now() - started).total_seconds() / 60
    print(f"\n1000-activity backfill: {used} requests ({len(pages)} pages + {used - len(pages)} streams), "
          f"{len(windows)} windows, max {strava_server.max_read_per_window}/window, {budget.waits} waits, "
          f"{elapsed_min:.0f} simulated min, {1000 / elapsed_min:.1f} activities/simulated min")

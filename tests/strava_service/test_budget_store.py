"""The SQL request budget: atomic counts shared by every process and athlete of one application."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from connectors.strava import BudgetStore, RateBudget
from loadmon.service import strava_sync
from loadmon.storage import Store
from tests.strava_service.conftest import connect
from tests.strava_service.helpers import add_history


def test_concurrent_increments_are_never_lost(store, store_url) -> None:
    budget = store.budget_store()
    assert isinstance(budget, BudgetStore)
    returned: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        own = Store.open(store_url, migrate_schema=False)  # its own engine: like another process
        try:
            b = own.budget_store()
            for _ in range(50):
                value = b.add("read:900:2030-01-01T10:15:00Z", 1)
                with lock:
                    returned.append(value)
        finally:
            own.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(returned) == list(range(1, 201))  # every reservation saw a distinct count
    assert budget.used("read:900:2030-01-01T10:15:00Z") == 200
    assert budget.raise_to("read:900:2030-01-01T10:15:00Z", 150) == 200
    assert budget.raise_to("read:900:2030-01-01T10:15:00Z", 230) == 230
    assert budget.add("read:900:2030-01-01T10:15:00Z", -1) == 229
    assert budget.used("never-seen") == 0


def test_two_budgets_on_one_database_share_the_window(store) -> None:
    now = datetime(2030, 1, 1, 10, 16, tzinfo=UTC)
    first = RateBudget(store=store.budget_store(), clock=lambda: now, read_limit_15min=100, margin=2)
    second = RateBudget(store=store.budget_store(), clock=lambda: now, read_limit_15min=100, margin=2)
    for _ in range(60):
        assert first.try_acquire() is None
    granted = sum(1 for _ in range(60) if second.try_acquire() is None)
    assert granted == 38  # 98 in all: the application's limit, not each worker's
    assert second.try_acquire() == datetime(2030, 1, 1, 10, 30, 1, tzinfo=UTC)


@pytest.mark.slow
def test_two_athletes_share_the_application_budget(svc, strava_server, sim_clock) -> None:
    ann = connect(svc, strava_server, athlete=svc.add_athlete("ann"), strava_athlete_id=501)
    bob = connect(svc, strava_server, athlete=svc.add_athlete("bob"), strava_athlete_id=502)
    start = sim_clock.now() - timedelta(days=400)
    add_history(strava_server, 70, start=start, athlete_id=501, first_id=7_000_000_000)
    add_history(strava_server, 70, start=start, athlete_id=502, first_id=8_000_000_000)
    a = strava_sync.backfill(svc, ann, alerts=False)
    b = strava_sync.backfill(svc, bob, alerts=False)
    assert a["done"] and b["done"] and a["new"] == b["new"] == 70
    stats = strava_server.stats()
    assert stats["max_read_per_window"] <= 98 and stats["rejected_429"] == 0
    assert b["waits"] >= 1  # bob waited for the window ann had partly used


def test_old_windows_are_pruned(store) -> None:
    budget = store.budget_store()
    budget.add("read:900:2030-01-01T10:15:00Z", 5)
    assert budget.prune(now=datetime.now(UTC) + timedelta(days=1)) == 0  # a day old: kept
    assert budget.prune(now=datetime.now(UTC) + timedelta(days=4)) == 1
    assert budget.used("read:900:2030-01-01T10:15:00Z") == 0

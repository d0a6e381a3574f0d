"""Migration 0015: an activity stored before with the athlete's zone's day moves to its own local day when its
offset is known (a run at 00:26 in London in summer, for an athlete on UTC); the others stay."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, text

from loadmon.storage import migrate
from tests.core.test_schema_from_models import _blank_urls


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    for first, _second in _blank_urls(request.param, tmp_path):
        yield first


@pytest.mark.slow
def test_0015_moves_activities_with_an_offset_to_their_own_day(url) -> None:
    engine = create_engine(url)
    try:
        migrate.upgrade(engine, "0014", from_models=False)
        late = datetime(2026, 7, 4, 23, 26, tzinfo=UTC)
        with engine.begin() as c:
            _insert(c, "athletes", {"id": 1, "name": "ann", "timezone": "UTC"}, late)
            for i, offset in ((1, 3600), (2, None), (3, -7 * 3600)):
                _insert(
                    c,
                    "activities",
                    {
                        "id": i,
                        "athlete_id": 1,
                        "source": "fit",
                        "source_id": i,
                        "sport": "running",
                        "start_time": late,
                        "local_date": date(2026, 7, 4),
                        "utc_offset_s": offset,
                        "elevation_source": "none",
                        "content_hash": f"h{i}",
                    },
                    late,
                )
        migrate.upgrade(engine, from_models=False)
        with engine.connect() as c:
            days = dict(c.execute(text("SELECT id, local_date FROM activities ORDER BY id")).all())
        assert {i: str(d)[:10] for i, d in days.items()} == {1: "2026-07-05", 2: "2026-07-04", 3: "2026-07-04"}
    finally:
        engine.dispose()


def _insert(conn, table: str, values: dict, now: datetime) -> None:
    """Insert a row giving every other NOT NULL column without a default a plain value of its type."""
    from sqlalchemy import inspect

    row = dict(values)
    for col in inspect(conn).get_columns(table):
        if col["name"] in row or col["nullable"] or col.get("default") is not None or col.get("autoincrement") is True:
            continue
        kind = str(col["type"]).upper()
        row[col["name"]] = (
            now
            if "DATE" in kind or "TIME" in kind
            else False
            if "BOOL" in kind
            else 0
            if "INT" in kind or "FLOAT" in kind or "REAL" in kind or "NUMERIC" in kind
            else ""
        )
    names = ", ".join(row)
    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in row)})"), row)

"""`database.echo = true` (issue 11 item 8): the SQL is logged, the Strava tokens are not."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from loadmon.storage import Store

ACCESS = "a-ACCESS-token-0123456789abcdef"
REFRESH = "r-REFRESH-token-0123456789abcdef"


def test_echo_logs_the_sql_without_the_tokens(store_url, caplog, capsys) -> None:
    store = Store.open(store_url, echo=True)
    try:
        athlete = store.ensure_athlete("ada")
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
            store.save_strava_tokens(athlete.id, strava_athlete_id=134815, access_token=ACCESS, refresh_token=REFRESH,
                                     expires_at=datetime(2030, 1, 1, tzinfo=UTC), scope="read")
            assert store.get_strava_connection(athlete.id).access_token == ACCESS
    finally:
        store.close()
    logged = caplog.text + capsys.readouterr().out
    assert "strava_connections" in logged  # echo is on: the statements are there
    assert ACCESS not in logged and REFRESH not in logged

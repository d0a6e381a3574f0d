"""Every CLI command that stores something ends with the one service call
:func:`loadmon.service.after_store.after_change` (evaluate, then deliver), for the athlete it
touched and with the reason a withdrawn alert keeps; ``--no-alerts`` skips it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from loadmon.service import after_store
from tests.integrity.test_corrections_cli import _fit, cli  # noqa: F401 - pytest fixture


@pytest.fixture
def calls(monkeypatch) -> list[tuple[tuple[int, ...], str | None, bool]]:
    seen: list[tuple[tuple[int, ...], str | None, bool]] = []
    real = after_store.after_change

    def recording(svc, athlete_ids, *, reason=None, deliver=True):
        ids = tuple(sorted(set(athlete_ids)))
        seen.append((ids, reason, deliver))
        return real(svc, ids, reason=reason, deliver=deliver)
    monkeypatch.setattr(after_store, "after_change", recording)
    return seen


@pytest.mark.slow
def test_every_storing_command_calls_after_change(cli, calls, tmp_path) -> None:  # noqa: F811 - fixture
    now = datetime.now(UTC)
    run = _fit(tmp_path / "run.fit", (now - timedelta(days=1)).replace(hour=7, minute=0, second=0), km=8.0, serial=42)
    imported = json.loads(cli("import", str(run), "--json").stdout)
    assert calls == [((1,), None, True)]
    assert imported["athletes_evaluated"] == 1 and "deliveries_by_channel" in imported  # the same JSON keys
    (activity,) = json.loads(cli("activities", "--json").stdout)
    cli("activities", "exclude", str(activity["id"]))
    cli("activities", "include", str(activity["id"]))
    added = json.loads(cli("symptom", "add", "--site", "knee", "--severity", "4", "--json").stdout)
    symptom_id = added["symptom"]["id"]
    cli("symptom", "edit", str(symptom_id), "--severity", "2")
    cli("symptom", "delete", str(symptom_id))
    assert [reason for _ids, reason, _deliver in calls[1:]] == [
        f"activity {activity['id']} was excluded", f"activity {activity['id']} was included again", None,
        f"symptom {symptom_id} was edited", f"symptom {symptom_id} was deleted"]
    assert all(ids == (1,) and deliver for ids, _reason, deliver in calls)
    cli("symptom", "add", "--site", "knee", "--severity", "4", "--no-alerts")
    assert len(calls) == 6  # --no-alerts: nothing evaluated

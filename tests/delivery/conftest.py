"""Fixtures for the delivery tests: real local servers (tests/receivers.py) and an alert."""

from __future__ import annotations

from datetime import date

import pytest

from alerts.alert import Alert
from loadmon.domain import AlertSeverity
from tests.receivers import http_receiver, smtp_receiver, tls_files  # noqa: F401 - pytest fixtures


@pytest.fixture
def ramp_alert() -> Alert:
    """A weekly-ramp warning as a rule would build it (numbers typed in here, not computed)."""
    return Alert(
        rule="weekly_ramp",
        severity=AlertSeverity.WARNING,
        athlete_id=7,
        athlete_name="Ann Runner",
        local_date=date(2024, 5, 7),
        activity_id=123456789012,
        title="weekly ramp +24% (38.2 km)",
        message=(
            "Your last 7 days: 38.2 km, 24% more than the 7 days before (30.8 km). "
            "A weekly increase above 10% is the classic warning threshold."
        ),
        numbers={
            "last_7d_km": 38.2,
            "previous_7d_km": 30.8,
            "ramp_pct": 24.0,
            "threshold_pct": 10,
            "min_volume_km": 15,
            "window": "rolling 7 local days",
            "acwr": None,
        },
        rule_text="Weekly ramp above 10% (only when the last 7 days exceed 15 km).",
        evidence=(
            "Weak: Buist et al. 2008 (AJSM 36:33) found no difference with a 10% plan; "
            "Nielsen et al. 2014 (JOSPT 44:739): >30% weekly progression HR 1.59 (0.96-2.66)."
        ),
        dedupe_key="weekly_ramp:7:2024-05-07",
    )

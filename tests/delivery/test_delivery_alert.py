"""The alert record: JSON round trip and refusal of values the store could not keep."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, date, datetime

import pytest

from alerts.alert import Alert
from loadmon.domain import AlertSeverity


def test_round_trip_through_json_text(ramp_alert: Alert) -> None:
    text = json.dumps(ramp_alert.to_dict(), allow_nan=False)
    back = Alert.from_dict(json.loads(text))
    assert back == ramp_alert
    assert back.severity is AlertSeverity.WARNING
    assert back.local_date == date(2024, 5, 7)
    assert list(back.numbers) == list(ramp_alert.numbers)  # display order kept
    assert back.numbers["acwr"] is None
    assert back.activity_id == 123456789012


def test_dict_holds_plain_json_types(ramp_alert: Alert) -> None:
    data = ramp_alert.to_dict()
    assert data["severity"] == "warning"
    assert data["local_date"] == "2024-05-07"
    assert type(data["numbers"]) is dict


def test_numbers_cannot_be_changed_after_creation(ramp_alert: Alert) -> None:
    with pytest.raises(TypeError):
        ramp_alert.numbers["ramp_pct"] = 1.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ramp_alert.title = "x"  # type: ignore[misc]


def test_alert_is_hashable_despite_its_mapping(ramp_alert: Alert) -> None:
    assert len({ramp_alert, dataclasses.replace(ramp_alert)}) == 1


def test_severity_given_as_text_becomes_the_enum(ramp_alert: Alert) -> None:
    assert dataclasses.replace(ramp_alert, severity="danger").severity is AlertSeverity.DANGER


@pytest.mark.parametrize(
    ("change", "field_named"),
    [
        ({"numbers": {"acwr": math.nan}}, "acwr"),
        ({"numbers": {"acwr": math.inf}}, "acwr"),
        ({"numbers": {"when": datetime(2024, 5, 7, tzinfo=UTC)}}, "when"),
        ({"severity": "critical"}, "severity"),
        ({"local_date": datetime(2024, 5, 7, tzinfo=UTC)}, "local_date"),
        ({"athlete_id": "7"}, "athlete_id"),
        ({"dedupe_key": " "}, "dedupe_key"),
    ],
)
def test_values_the_store_cannot_keep_are_refused(ramp_alert: Alert, change: dict, field_named: str) -> None:
    with pytest.raises(ValueError, match=field_named):
        dataclasses.replace(ramp_alert, **change)


def test_from_dict_names_missing_and_bad_fields(ramp_alert: Alert) -> None:
    data = ramp_alert.to_dict()
    del data["evidence"]
    with pytest.raises(ValueError, match="evidence"):
        Alert.from_dict(data)
    data = ramp_alert.to_dict() | {"local_date": "07/05/2024"}
    with pytest.raises(ValueError, match="local_date"):
        Alert.from_dict(data)
    with pytest.raises(ValueError, match="version"):
        Alert.from_dict(ramp_alert.to_dict() | {"version": 99})


def test_alert_survives_pickle_and_deepcopy(ramp_alert: Alert) -> None:
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(ramp_alert)) == ramp_alert
    assert copy.deepcopy(ramp_alert) == ramp_alert
    assert ramp_alert.numbers == dict(ramp_alert.numbers)

"""A bad rule threshold is an error that names its field; the config error's key comes from it
(never from the message text)."""

from __future__ import annotations

import dataclasses

import pytest

from loadmon.config import Config
from loadmon.errors import ConfigError
from loadmon.rule_thresholds import RuleThresholds, ThresholdError
from loadmon.service.alerting import rule_thresholds


@pytest.mark.parametrize(("values", "field"), [
    ({"weekly_ramp_pct": -1.0}, "weekly_ramp_pct"),
    ({"acwr_kind": "nope"}, "acwr_kind"),
    ({"acwr_channel": "nope"}, "acwr_channel"),
    ({"acwr_caution": 1.6, "acwr_danger": 1.5}, "acwr_danger"),
    ({"weekly_ramp_pct": 20.0, "weekly_ramp_danger_pct": 15.0}, "weekly_ramp_danger_pct"),
    ({"symptom_min_severity": 6, "symptom_danger_severity": 5}, "symptom_danger_severity"),
    ({"symptom_min_severity": 11, "symptom_danger_severity": 12}, "symptom_min_severity"),
])
def test_a_bad_threshold_names_its_field(values, field) -> None:
    with pytest.raises(ThresholdError) as err:
        RuleThresholds(**values)
    assert err.value.field == field
    assert isinstance(err.value, ValueError)  # callers catching ValueError still do


def test_the_config_key_is_the_errors_field_not_its_first_word() -> None:
    config = Config()
    rules = dataclasses.replace(config.alerts.rules, symptom_min_severity=6, symptom_danger_severity=5)
    config = dataclasses.replace(config, alerts=dataclasses.replace(config.alerts, rules=rules))
    with pytest.raises(ConfigError) as err:
        rule_thresholds(config)
    assert err.value.key == "alerts.rules.symptom_danger_severity"

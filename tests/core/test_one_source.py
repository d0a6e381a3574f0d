"""One source of truth: channel and ACWR-kind labels come from ``loadmon.load_channels``, and the
``[alerts.rules]`` config keys are the rules' own thresholds (names, types, defaults, comments)."""

from __future__ import annotations

import ast
import dataclasses
import typing
from dataclasses import replace
from datetime import date, timedelta
from html import escape

import pytest

from alerts.delivery.render import shown_numbers
from alerts.rules import RuleThresholds, evaluate_rules
from loadmon.config import RulesConfig
from loadmon.engine import compute_load
from loadmon.load_channels import ACWR_KIND_SPECS, CHANNEL_NAMES, CHANNEL_SPECS
from loadmon.report.tables import summary_table
from loadmon.service.alerting import rule_thresholds
from tests.alerts.conftest import ATHLETE, Runs
from tests.conftest import REPO_ROOT, make_config

T = date(2026, 6, 14)
TABLE = REPO_ROOT / "loadmon" / "load_channels.py"
LABELS = {c.label for c in CHANNEL_SPECS} | {k.label for k in ACWR_KIND_SPECS} | {k.how for k in ACWR_KIND_SPECS}
NAMES = set(CHANNEL_NAMES) | {k.name for k in ACWR_KIND_SPECS}


def _surge() -> list:
    """21 days of 4.5 km then 7 of 8.1 km, every channel in proportion: ACWR 1.5 on every channel."""
    runs = Runs()
    runs.daily(T - timedelta(days=27), 21, 4.5)
    runs.daily(T - timedelta(days=6), 7, 8.1)
    return [replace(a, avg_hr=150, perceived_exertion=5, elevation_loss_m=a.distance_m / 100) for a in runs.items]


@pytest.mark.parametrize("spec", CHANNEL_SPECS, ids=lambda c: c.name)
def test_the_acwr_alert_and_the_report_name_a_channel_alike(spec) -> None:
    athlete = replace(ATHLETE, hr_rest=50, hr_max=190)
    activities = _surge()
    load = compute_load(activities, athlete, until=T)
    thresholds = RuleThresholds(acwr_channel=spec.name, acwr_kind="rolling_coupled", acwr_min_acute=0)
    (alert,) = evaluate_rules(athlete=athlete, load=load, activities=activities, rules=["acwr"],
                              thresholds=thresholds, first_day=T, last_day=T)
    assert f"Your {spec.label} in the last 7 days" in alert.message
    assert f"({ACWR_KIND_SPECS[0].how})" in alert.message
    row_label = f"<td>{escape(spec.label)}</td>"
    assert row_label in summary_table(load, T)


def _label_literals(path) -> list[str]:
    """String literals (docstrings aside) holding a channel or ACWR-kind label, and dicts keyed by
    channel or kind names with literal string values (a label table of its own)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found += [f"{path.name}:{node.lineno}: {label!r}" for label in LABELS if label in node.value]
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            words = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            if len(NAMES.intersection(keys)) >= 2 and len(words) == len(node.values) and not all(
                    w.startswith("#") for w in words):  # a colour per kind is styling, not a label
                found.append(f"{path.name}:{node.lineno}: a label table keyed by {sorted(NAMES.intersection(keys))}")
    return found


@pytest.mark.slow
def test_no_module_but_the_table_spells_a_channel_or_kind_label() -> None:
    files = [f for top in ("loadmon", "alerts", "connectors") for f in sorted((REPO_ROOT / top).rglob("*.py"))]
    assert TABLE in files
    assert _label_literals(TABLE), "the check finds the table's own labels"
    assert [hit for f in files if f != TABLE for hit in _label_literals(f)] == []


def test_the_config_rules_section_is_the_rule_thresholds() -> None:
    config_fields = {f.name: f for f in dataclasses.fields(RulesConfig)}
    rule_fields = {f.name: f for f in dataclasses.fields(RuleThresholds)}
    assert list(config_fields) == list(rule_fields)
    config_types, rule_types = typing.get_type_hints(RulesConfig), typing.get_type_hints(RuleThresholds)
    for name, f in rule_fields.items():
        assert config_fields[name].default == f.default, name
        assert config_types[name] is rule_types[name], name
        assert f.metadata["doc"] and config_fields[name].metadata["doc"] == f.metadata["doc"], name
    assert dataclasses.asdict(RulesConfig()) == {n: f.default for n, f in rule_fields.items()}


def test_every_rules_key_reaches_the_rules_by_name(tmp_path) -> None:
    changed: dict[str, object] = {}
    for f in dataclasses.fields(RuleThresholds):
        if f.name == "acwr_kind":
            changed[f.name] = "rolling_uncoupled"
        elif f.name == "acwr_channel":
            changed[f.name] = "trimp"
        elif isinstance(f.default, int):
            changed[f.name] = f.default + 1
        else:
            changed[f.name] = f.default + 0.25
    config = make_config(tmp_path, alerts={"rules": changed})
    assert dataclasses.asdict(rule_thresholds(config)) == changed


def test_the_metrics_doc_lists_the_channel_table() -> None:
    text = (REPO_ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    start = text.index("| channel | unit | label | sports |")
    table = text[start:].split("\n\n", 1)[0]
    rows = [line.split("|")[1:-1] for line in table.splitlines()[2:]]
    documented = [(r[0].strip().strip("`"), r[1].strip(), r[2].strip(), r[3].strip().startswith("running"))
                  for r in rows]
    assert documented == [(c.name, c.unit, c.label, c.running_only) for c in CHANNEL_SPECS]


def test_running_only_in_the_table_is_what_the_engine_counts() -> None:
    athlete = replace(ATHLETE, hr_rest=50, hr_max=190)
    ride = replace(_surge()[0], sport="cycling")
    load = compute_load([ride], athlete, until=ride.local_date)
    assert {name: not s.available for name, s in load.channels.items()} == {c.name: c.running_only for c in CHANNEL_SPECS}


@pytest.mark.parametrize("spec", CHANNEL_SPECS, ids=lambda c: c.name)
def test_an_acwr_message_shows_the_channel_unit_of_the_table(spec) -> None:
    athlete = replace(ATHLETE, hr_rest=50, hr_max=190)
    activities = _surge()
    load = compute_load(activities, athlete, until=T)
    (alert,) = evaluate_rules(athlete=athlete, load=load, activities=activities, rules=["acwr"], first_day=T, last_day=T,
                              thresholds=RuleThresholds(acwr_channel=spec.name, acwr_kind="rolling_coupled", acwr_min_acute=0))
    shown = dict(shown_numbers(alert))
    assert shown["Last 7 days"].endswith(f" {spec.unit}") and shown["Your average week"].endswith(f" {spec.unit}")

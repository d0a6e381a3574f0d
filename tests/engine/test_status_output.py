"""`loadmon status`: its JSON rounds every number to its meaning at the output edge, a vanishing
EWMA base reads "no base" (not "0.00, low"), and a run that is not a spike says so in words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from loadmon.cli import app
from loadmon.service import Service
from loadmon.storage import Store
from tests.alerts.conftest import record
from tests.conftest import make_config

UTC = UTC


def _floats(data, path="") -> list[tuple[str, float]]:
    if isinstance(data, float):
        return [(path, data)]
    if isinstance(data, dict):
        return [x for k, v in data.items() for x in _floats(v, f"{path}.{k}")]
    if isinstance(data, list):
        return [x for i, v in enumerate(data) for x in _floats(v, f"{path}[{i}]")]
    return []


def _decimals(value: float) -> int:
    text = repr(value)
    assert "e" not in text, text
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def _setup(tmp_path, runs: list[tuple[int, float]]):
    """A config + SQLite store with runs (days back from today, km) for the default athlete."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    svc = Service(config=make_config(tmp_path, url), store=Store.open(url))
    cli_config = tmp_path / "cli.toml"  # make_config writes config.toml without the database URL
    cli_config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    try:
        athlete = svc.athlete()
        today = datetime.now(UTC).date()
        records = [record(today - timedelta(days=back), km, source_id=1000 + back, descent=31.234567)
                   for back, km in runs]
        svc.store.record_import(athlete.id, path="h.zip", content_hash="h", records=records, outcome="imported")
    finally:
        svc.close()
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["--config", str(cli_config), *args])


def test_status_json_rounds_numbers_and_a_vanishing_base_is_no_base(tmp_path, monkeypatch) -> None:
    for name in ("LOADMON_DATABASE_URL", "LOADMON_CONFIG", "LOADMON_ATHLETE"):
        monkeypatch.delenv(name, raising=False)
    # 35 days of 6.123457 km, then 150 days off: the EWMAs decay to ~1e-19 residues
    cli = _setup(tmp_path, [(back, 6.123457) for back in range(185, 150, -1)])
    res = cli("status", "--json")
    assert res.exit_code == 0, res.output
    assert "e-" not in res.stdout  # no 9.139488707846827e-26
    data = json.loads(res.stdout)
    dist = data["channels"]["distance_km"]
    assert dist["acwr"]["ewma"] is None and dist["acwr_reasons"]["ewma"] == "no base"
    assert dist["acwr_zone"]["ewma"] is None  # not "low"
    assert dist["acwr"]["rolling_coupled"] is None and dist["acwr_reasons"]["rolling_coupled"] == "no base"
    assert dist["ewma_acute"] == 0.0 and dist["fitness"] == round(dist["fitness"], 2)
    for path, value in _floats(data):
        assert _decimals(value) <= 3, (path, value)
    last = data["last_run"]
    assert last["distance_km"] == 6.12  # km to 0.01
    assert last["descent_m"] == 31.2  # metres to 0.1


def test_status_json_rounds_km_ratios_and_percentages(tmp_path, monkeypatch) -> None:
    for name in ("LOADMON_DATABASE_URL", "LOADMON_CONFIG", "LOADMON_ATHLETE"):
        monkeypatch.delenv(name, raising=False)
    # 40 days of 5.123457 km, then a shorter run today: ratios and ramps are real numbers
    cli = _setup(tmp_path, [(back, 5.123457) for back in range(40, 0, -1)] + [(0, 4.0)])
    data = json.loads(cli("status", "--json").stdout)
    dist = data["channels"]["distance_km"]
    assert dist["acute_7d"] == 34.74  # 6 * 5.123457 + 4 = 34.740742
    assert dist["previous_7d"] == 35.86  # 7 * 5.123457 = 35.864199
    assert dist["ramp_pct"] == -3.1  # -3.134...
    assert _decimals(dist["acwr"]["rolling_coupled"]) <= 3 and _decimals(dist["acwr"]["ewma"]) <= 3
    assert dist["acwr"]["rolling_coupled"] == round(34.740742 / (27 * 5.123457 + 4) * 4, 3)
    assert data["last_run"]["distance_ratio"] == round(4.0 / 5.123457, 3)
    assert data["last_run"]["distance_increase_pct"] == round((4.0 / 5.123457 - 1) * 100, 1)
    # and in words: a shorter run is "not a spike", not "spike band <=10%"
    assert data["last_run"]["spike_band"] == "<=10%" and data["last_run"]["spike_words"] == "not a spike"
    text = cli("status").stdout
    assert "not a spike" in text and "spike band" not in text

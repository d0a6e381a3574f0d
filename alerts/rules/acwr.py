"""``acwr``: the acute:chronic workload ratio in Gabbett's caution / danger zones.

For each athlete-local day: the ratio of kind ``acwr_kind`` (EWMA 7/28 by default, Williams
2017; or rolling coupled / uncoupled) on channel ``acwr_channel`` (running distance by
default). No alert while the engine reports no ratio (warming up: fewer than 28 days of
history; "no base": a chronic load of zero) or when the last 7 days' load is below
``acwr_min_acute`` (a low-volume guard, like the weekly ramp's). Ratio >= ``acwr_caution``
(1.3): warning; >= ``acwr_danger`` (1.5): danger. Cooldown: ``cooldown_hours`` (168 h = 7 local
days) unless the severity rises.
"""

from __future__ import annotations

from datetime import date
from functools import partial

from alerts.alert import Alert
from alerts.rules import evidence
from alerts.rules.base import DayCandidate, RuleInput, day_key, raise_with_cooldown
from alerts.rules.text import amount, amount_short, pct, r1, r2, ratio, reaches, weekday_date
from loadmon.domain import AlertSeverity
from loadmon.engine import ChannelSeries
from loadmon.load_channels import ACWR_KIND_BY_NAME, ACWR_LOW_BELOW, channel_label

__all__ = ["RULE", "SHOWN", "acwr"]

RULE = "acwr"

#: The numbers a message shows (key, label, unit; ``{u}`` = the channel's unit suffix); the rest stay in the JSON.
SHOWN: tuple[tuple[str, str, str], ...] = (
    ("last_7d_{u}", "Last 7 days", "{u}"),
    ("usual_week_{u}", "Your average week", "{u}"),
    ("acwr", "Acute:chronic ratio", ""),
    ("next_7d_target_{u}", "Next 7 days: at most about", "{u}"),
)


def acwr(inp: RuleInput) -> list[Alert]:
    t = inp.thresholds
    series = inp.load.channels.get(t.acwr_channel)
    if series is None or not series.available or series.first_day is None:
        return []
    values = series.column(f"acwr_{t.acwr_kind}")
    acute = series.column("acute_7d")
    first = series.first_day
    last_i = min(len(values) - 1, (inp.last_day - first).days)
    candidates: list[DayCandidate] = []
    for i in range(0, last_i + 1):
        v = values[i]
        if v is None or not reaches(acute[i], t.acwr_min_acute):
            continue
        if reaches(v, t.acwr_danger):
            severity = AlertSeverity.DANGER
        elif reaches(v, t.acwr_caution):
            severity = AlertSeverity.WARNING
        else:
            continue
        day = date.fromordinal(first.toordinal() + i)
        candidates.append(DayCandidate(day=day, severity=severity,
                                       build=partial(_alert, inp, series, day, severity)))
    return raise_with_cooldown(RULE, t, candidates, inp.first_day, inp.last_day, inp.live_from)


def _alert(inp: RuleInput, series: ChannelSeries, day: date, severity: AlertSeverity) -> Alert:
    t = inp.thresholds
    m = series.day(day)
    value = getattr(m, f"acwr_{t.acwr_kind}")
    unit = series.unit
    # the plain sums a runner can check: the last 7 days, and the average week of the last 28
    last_7d, usual_week = m.acute_7d, m.chronic_weekly
    if t.acwr_kind == "ewma":
        acute_weekly = m.ewma_acute * 7 if m.ewma_acute is not None else None
        chronic_weekly = m.ewma_chronic * 7 if m.ewma_chronic is not None else None
        assert acute_weekly is not None and chronic_weekly is not None  # the EWMA ratio was there
        how = (
            f"The ratio compares exponentially weighted averages (EWMA, Williams 2017): they weigh the most recent "
            f"days most, so your 7-day EWMA reads {amount(acute_weekly, unit)} a week and your 28-day EWMA "
            f"{amount(chronic_weekly, unit)} a week, not the plain sums above."
        )
    elif t.acwr_kind == "rolling_coupled":
        acute_weekly, chronic_weekly = m.acute_7d, m.chronic_weekly
        how = "The ratio is the last 7 days against the average week of the last 28 days (Hulin 2014)."
    else:
        acute_weekly, chronic_weekly = m.acute_7d, m.chronic_uncoupled_weekly
        usual_week = m.chronic_uncoupled_weekly
        how = "The ratio is the last 7 days against the average week of the 21 days before them (Lolli 2019)."
    usual_words = ("your average week of the 21 days before them" if t.acwr_kind == "rolling_uncoupled"
                   else "your average week of the last 28 days")
    zone = "danger" if severity == AlertSeverity.DANGER else "caution"
    what = channel_label(t.acwr_channel)
    target = usual_week * t.acwr_caution if usual_week is not None else None
    next_step = (
        f"What to do: keep the next 7 days at or below about {amount(target, unit)} ({ratio(t.acwr_caution)} times "
        f"{usual_words}, the top of the {ACWR_LOW_BELOW:g}-{ratio(t.acwr_caution)} range), then let the load settle before "
        f"adding more." if target is not None else ""
    )
    usual_text = f"{amount(usual_week, unit)}" if usual_week is not None else "unknown"
    message = (
        f"Your {what} in the last 7 days (to {weekday_date(day)}): {amount(last_7d, unit)}; {usual_words}: "
        f"{usual_text}. Your acute:chronic workload ratio ({ACWR_KIND_BY_NAME[t.acwr_kind].how}) is {ratio(value)}, "
        f"{pct((value - 1.0) * 100.0)} above your chronic load. {how} "
        f"{ratio(value)} is in Gabbett's {zone} zone ({ratio(t.acwr_caution)}-{ratio(t.acwr_danger)} caution, "
        f"{ratio(t.acwr_danger)} and above danger). The ratio is contested as an injury predictor; "
        f"read it as 'more than you are used to lately'. {next_step}"
    ).strip()
    title = (f"More than you are used to: {amount_short(last_7d, unit)} in 7 days, your average week "
             f"{amount_short(usual_week, unit)} (ACWR {ratio(value)})" if usual_week is not None
             else f"More than you are used to: {amount_short(last_7d, unit)} in 7 days (ACWR {ratio(value)})")
    rule_text = (
        f"ACWR ({t.acwr_kind}, {t.acwr_channel}): warning at or above {ratio(t.acwr_caution)}, danger at or above "
        f"{ratio(t.acwr_danger)}; only after 28 days of history and when the last 7 days reach "
        f"{amount(t.acwr_min_acute, unit)}. At most one alert per {t.cooldown_hours / 24:g} days unless the severity rises."
    )
    suffix = unit.lower()
    numbers = {
        "acwr": r2(value),
        "zone": zone,
        "acwr_kind": t.acwr_kind,
        "channel": t.acwr_channel,
        f"usual_week_{suffix}": r1(usual_week),
        f"next_7d_target_{suffix}": r1(target),
        f"acute_weekly_{suffix}": r1(acute_weekly),
        f"chronic_weekly_{suffix}": r1(chronic_weekly),
        f"last_7d_{suffix}": r1(m.acute_7d),
        "caution_at": t.acwr_caution,
        "danger_at": t.acwr_danger,
        f"min_acute_{suffix}": t.acwr_min_acute,
        "history_days": m.history_days,
    }
    return Alert(
        rule=RULE, severity=severity, athlete_id=inp.athlete.id, athlete_name=inp.athlete.name, local_date=day,
        activity_id=None, title=title, message=message, numbers=numbers, rule_text=rule_text,
        evidence=evidence.ACWR, dedupe_key=day_key(RULE, inp.athlete.id, day, severity),
    )

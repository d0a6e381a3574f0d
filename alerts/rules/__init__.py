"""loadmon's alert rules: pure functions from an athlete's load to :class:`~alerts.alert.Alert` records.

Pure: standard library + :mod:`loadmon.domain` + :mod:`loadmon.engine` + :mod:`alerts.alert`
+ :mod:`loadmon.load_channels` (channel labels) + :mod:`loadmon.rule_thresholds`
(no I/O, no clock, no configuration; thresholds come in as :class:`RuleThresholds`).

::

    from alerts.rules import RuleThresholds, evaluate_rules
    load = compute_load(activities, athlete, settings, until=today)
    alerts = evaluate_rules(athlete=athlete, load=load, activities=activities, symptoms=symptoms,
                            thresholds=RuleThresholds(), first_day=today - timedelta(days=2), last_day=today)

Rules (``docs/alerts.md`` has the thresholds, evidence and lifecycle):

=========================  ========  ===================================================
rule                       per       evidence
=========================  ========  ===================================================
``weekly_ramp``            day       weak (Buist 2008, Nielsen 2014)
``acwr``                   day       contested (Hulin 2014, Gabbett 2016, Williams 2017;
                                     Impellizzeri 2020)
``run_spike``              run       moderate (Frandsen 2025)
``descent_spike``          run       plausible, not proven (Bontemps 2020, Maeo 2017)
``hilly_after_symptoms``   run       plausible, not proven
``comeback_spike``         run       expert practice, not a trial (van der Worp 2015)
``comeback_hills``         run       plausible, not proven
``pain_next_morning``      run       moderate (Silbernagel 2007)
``returned_early``         run       moderate (Silbernagel 2007)
=========================  ========  ===================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

from alerts.alert import Alert
from alerts.rules import acwr as _acwr
from alerts.rules import comeback as _comeback
from alerts.rules import descent_spike as _descent_spike
from alerts.rules import hilly as _hilly
from alerts.rules import run_spike as _run_spike
from alerts.rules import weekly_ramp as _weekly_ramp
from alerts.rules.acwr import acwr
from alerts.rules.base import (
    ACTIVITY_RULES,
    DAY_RULES,
    DayCandidate,
    RuleInput,
    activity_key,
    cooldown_blocks,
    cooldown_days,
    day_key,
)
from alerts.rules.comeback import comeback_hills, comeback_spike, pain_next_morning, returned_early
from alerts.rules.descent_spike import descent_spike
from alerts.rules.evidence import STRENGTH
from alerts.rules.hilly import hilly_after_symptoms
from alerts.rules.run_spike import run_spike
from alerts.rules.thresholds import ACWR_CHANNELS, SEVERITY_RANK, RuleThresholds
from alerts.rules.weekly_ramp import weekly_ramp
from loadmon.domain import Activity, Athlete, Symptom
from loadmon.engine import LoadResult

__all__ = [
    "RULES", "RULE_NAMES", "SHOWN_NUMBERS", "DAY_RULES", "ACTIVITY_RULES", "EVIDENCE_STRENGTH", "RuleThresholds", "RuleInput",
    "DayCandidate", "SEVERITY_RANK", "ACWR_CHANNELS", "evaluate_rules", "cooldown_days", "cooldown_blocks",
    "day_key", "activity_key", "weekly_ramp", "acwr", "run_spike", "descent_spike", "hilly_after_symptoms",
    "comeback_spike", "comeback_hills", "pain_next_morning", "returned_early",
]

#: Every rule by name, in the order alerts are reported for one day.
RULES: dict[str, Callable[[RuleInput], list[Alert]]] = {
    "weekly_ramp": weekly_ramp,
    "acwr": acwr,
    "run_spike": run_spike,
    "descent_spike": descent_spike,
    "hilly_after_symptoms": hilly_after_symptoms,
    "comeback_spike": comeback_spike,
    "comeback_hills": comeback_hills,
    "pain_next_morning": pain_next_morning,
    "returned_early": returned_early,
}
RULE_NAMES: tuple[str, ...] = tuple(RULES)
#: Per rule, the few numbers a message shows, as (key, label, unit): the rest stay in the
#: alert's JSON (``loadmon alerts --json``). In ``acwr`` keys and units, ``{u}`` is the unit
#: of the watched channel (``km``, ``m``, ``min``, ...).
SHOWN_NUMBERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "weekly_ramp": _weekly_ramp.SHOWN,
    "acwr": _acwr.SHOWN,
    "run_spike": _run_spike.SHOWN,
    "descent_spike": _descent_spike.SHOWN,
    "hilly_after_symptoms": _hilly.SHOWN,
    **_comeback.SHOWN,
}
EVIDENCE_STRENGTH: dict[str, str] = dict(STRENGTH)


def evaluate_rules(
    *,
    athlete: Athlete,
    load: LoadResult,
    activities: Sequence[Activity] = (),
    symptoms: Sequence[Symptom] = (),
    thresholds: RuleThresholds | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
    rules: Iterable[str] | None = None,
    live_from: date | None = None,
) -> list[Alert]:
    """Every alert of ``rules`` (default: all) on the local days ``first_day..last_day``
    (default: the whole period of ``load``), ordered by (day, rule, activity id).

    ``live_from``: the first local day an alert can still be sent for (the notify window);
    the day rules then raise a *catch-up* on a live day that only alerts of earlier days
    silence (see :func:`alerts.rules.base.raise_with_cooldown`).

    Deterministic: the same inputs give the same alerts with the same dedupe keys.
    """
    first = first_day or load.first_day
    last = last_day or load.last_day
    if first is None or last is None or first > last:
        return []
    names = list(rules) if rules is not None else list(RULE_NAMES)
    unknown = [n for n in names if n not in RULES]
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(unknown)} (rules: {', '.join(RULE_NAMES)})")
    inp = RuleInput(athlete=athlete, load=load, activities=activities, symptoms=symptoms,
                    thresholds=thresholds or RuleThresholds(), first_day=first, last_day=last, live_from=live_from)
    order = {name: i for i, name in enumerate(RULE_NAMES)}
    out: list[Alert] = []
    for name in names:
        out.extend(RULES[name](inp))
    out.sort(key=lambda a: (a.local_date, order[a.rule], a.activity_id or 0))
    return out

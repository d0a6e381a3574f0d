"""``activity_finding`` (the web's one-activity page) equals the finding ``compute_load`` gives the
same run over the whole history, from the runs of its 30-day window and the history start only."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import time, timedelta

from loadmon.engine import activity_finding, compute_load
from tests.engine.engine_builders import activity, athlete


def test_the_window_alone_gives_the_whole_history_finding_for_every_run():
    rng = random.Random(7)
    acts = []
    for day in sorted(rng.sample(range(400), 170)):
        acts.append(
            activity(
                day,
                km=rng.choice([None, 3.0, 5.0, 8.0, 12.0, 21.1]),
                descent_m=rng.choice([None, 40.0, 150.0]),
                at=time(rng.randrange(5, 20), 0),
                sport=rng.choice(["running"] * 5 + ["cycling"]),
            )
        )
    acts[10] = replace(acts[10], excluded=True)
    acts[11] = replace(acts[11], duplicate_of=acts[12].id)
    acts.append(replace(activity(acts[40].local_date, km=30.0, at=time(21, 0))))  # a second run the same day
    who = athlete()
    whole = compute_load(acts, who)
    first_run = min(a.local_date for a in acts if a.sport == "running" and not a.excluded and a.duplicate_of is None)
    compared = 0
    for a in acts:
        window = [b for b in acts if a.local_date - timedelta(days=30) <= b.local_date <= a.local_date]
        got = activity_finding(window, who, a.id, run_history_start=first_run)
        assert got == whole.finding(a.id), a
        compared += got is not None
    assert compared > 100
    assert activity_finding(acts, who, acts[10].id, run_history_start=first_run) is None  # excluded: no finding

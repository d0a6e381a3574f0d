"""The evidence line of each rule: citation and how strong it is, in plain words.

Sources: ``shared/reference/load-science.md`` (the project's science sheet). Each text says
plainly how strong the evidence is; none of them is a diagnosis.
"""

from __future__ import annotations

__all__ = [
    "WEEKLY_RAMP",
    "ACWR",
    "RUN_SPIKE",
    "DESCENT_SPIKE",
    "HILLY_AFTER_SYMPTOMS",
    "COMEBACK_SPIKE",
    "COMEBACK_HILLS",
    "PAIN_NEXT_MORNING",
    "RETURNED_EARLY",
    "STRENGTH",
]

#: How strong the evidence of each rule is (one word, shown in docs and JSON).
STRENGTH: dict[str, str] = {
    "weekly_ramp": "weak",
    "acwr": "contested",
    "run_spike": "moderate",
    "descent_spike": "plausible, not proven",
    "hilly_after_symptoms": "plausible, not proven",
    "comeback_spike": "expert practice, not a trial",
    "comeback_hills": "plausible, not proven",
    "pain_next_morning": "moderate",
    "returned_early": "moderate",
}

WEEKLY_RAMP = (
    "Weak. The 10% rule has no documented origin. Buist et al. 2008 (AJSM 36:33; "
    "randomised trial, 532 novice runners): a plan built on the 10% rule gave 20.8% injured vs "
    "20.3% (p = 0.90). Nielsen et al. 2014 (JOSPT 44:739; 874 novices): a weekly progression "
    "above 30% gave a hazard ratio of 1.59 (95% CI 0.96-2.66) for distance-related injuries "
    "(not statistically significant). Frandsen et al. 2025 found no relationship between the "
    "week-to-week ratio and injury."
)

ACWR = (
    "Contested. Hulin et al. 2014 (BJSM 48:708): an acute load above the chronic load "
    "gave a next-week injury risk ratio of 2.2 (95% CI 1.91-2.53). Gabbett 2016 (BJSM 50:273): "
    "0.8-1.3 is the 'sweet spot', 1.5 and above the 'danger zone'. EWMA form: Williams et al. "
    "2017 (BJSM 51:209). Criticism: Impellizzeri et al. 2020 (Sports Med, 'Time to dismiss the "
    "acute:chronic workload ratio') found fixed or random chronic loads predict about as well; "
    "Frandsen et al. 2025 found a negative dose-response for the ACWR in runners."
)

RUN_SPIKE = (
    "Moderate - the strongest running-specific evidence, but observational (an "
    "association, not proof of cause). Frandsen et al. 2025 (BJSM 59:1203; 5,205 runners, "
    "588,071 Garmin sessions, 18 months): compared with runs at most 10% longer than the "
    "longest run of the previous 30 days, runs >10-30% longer had a hazard rate ratio of 1.64 "
    "(95% CI 1.31-2.05), >30-100% longer 1.52 (1.16-2.00), >100% longer 2.28 (1.50-3.48)."
)

DESCENT_SPIKE = (
    "Plausible, not proven. Downhill running is eccentric loading of the knee "
    "extensors and causes muscle damage, most in runners least used to it (Bontemps et al. "
    "2020, Sports Med 50:2083); 45 min at -15% cut knee-extensor torque by 14-17% at 24-48 h "
    "(Maeo et al. 2017, Sci Rep 7:5769). The comparison with the largest descent of the "
    "previous 30 days is by analogy with Frandsen et al. 2025 (distance); no study gives a "
    "risk ratio for descent spikes."
)

HILLY_AFTER_SYMPTOMS = (
    "Plausible, not proven. Downhill running loads the knee extensors eccentrically "
    "(Bontemps et al. 2020, Sports Med 50:2083; Maeo et al. 2017, Sci Rep 7:5769), and at a "
    "6 degree downslope the knee's share of the support moment is highest (Shih & Ho 2023, "
    "JSSM 22:111); braking force discriminated IT band syndrome cases (Messier et al. 1995, "
    "MSSE). No prospective study shows that descent causes IT band syndrome: this alert rests "
    "on your own symptom log and history, not on a proven risk ratio."
)

_PREVIOUS_INJURY = (
    "Previous injury is the most consistent risk factor for a new running injury (van der Worp et "
    "al. 2015, PLoS One 10:e0114937, systematic review), so the limits are lower while a symptom is "
    "open and for weeks after it."
)

COMEBACK_SPIKE = (
    "Expert practice, not a trial. A graded return (1-3 km on flat ground first, then longer by "
    "small steps) is what runners and clinicians do; the 10% step is the single-run spike form of "
    "Frandsen et al. 2025 (BJSM 59:1203) applied to the runs since the symptom began. " + _PREVIOUS_INJURY
)

COMEBACK_HILLS = (
    "Plausible, not proven. Downhill running loads the knee extensors eccentrically and causes "
    "muscle damage, most in runners not used to it (Bontemps et al. 2020, Sports Med 50:2083; "
    "Maeo et al. 2017, Sci Rep 7:5769); keeping descent low while a symptom is open rests on that "
    "mechanism and on expert practice, not on a trial. " + _PREVIOUS_INJURY
)

PAIN_NEXT_MORNING = (
    "Moderate. The pain-monitoring model (Silbernagel et al. 2007, Am J Sports Med 35:897; one "
    "randomised trial, Achilles tendinopathy, a widely used clinical rule): pain the morning after "
    "a session must not be higher than before it; if it is, reduce the next load."
)

RETURNED_EARLY = (
    "Moderate. In the pain-monitoring model (Silbernagel et al. 2007, Am J Sports Med 35:897) pain "
    "above 5 of 10 is too much and 0-2 is safe; running again within a few days of a reading of 5 "
    "or more, before any reading back in the safe range, is the pattern of a return that came too "
    "soon. The window (3 days) is a convention, not a tested threshold. " + _PREVIOUS_INJURY
)

"""What a run reports: per-step outputs and the run summary (names, meanings, computation)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from model.dynamics import half_rise_month, recovery_months

# Per-step outputs: name -> meaning (the DataCollector columns and `run --out` columns).
OUTPUT_MEANINGS: dict[str, str] = {
    "step": "month (0 = start)",
    "synergy": "partnership synergy, 0-1: members' view of the four manifestations, built up over months from 0",
    "synergy_psat": "synergy on the 1-5 scale of the Partnership Self-Assessment Tool (1 + 4 x synergy)",
    "resource_integration": "manifestation (a): combined capacity of the pooled resources against the task, 0-1",
    "atmosphere": "manifestation (b): mean trust members hold, discounted by their unresolved grievances, 0-1",
    "stakeholder_benefit": "manifestation (c): benefits as a share of benefits plus drawbacks, mean over members, 0-1",
    "adaptive_capacity": "manifestation (d): capacity kept if a kind's main sector withdrew it and others stepped in, 0-1",
    "mean_trust": "mean trust members hold in their ties, 0-1",
    "conflict": "conflict per contact at the last meeting, 0-1",
    "grievance": "mean unresolved grievance of members, 0-1",
    "engagement": "mean engagement of members, 0-1",
    "attendance": "share of members at the last meeting (0 before the first)",
    "network_density": "working relationships as a share of the pairs of members who could have one",
    "active_seats": "seats held by a person",
    "cumulative_members": "distinct people who have held a seat since the start",
    "departures": "people who left this month",
    "implementation": "solutions in place, mean over the ten targets (services and abilities), 0-1",
    "implementation_services": "solutions in place on the services' side (five accessibility dimensions), 0-1",
    "implementation_abilities": "solutions in place on the people's side (outreach, navigation, information), 0-1",
    "access": "share of the cohort whose need for care can be fulfilled (all five dimensions passed)",
    "access_approachability": "share passing approachability (ability to perceive)",
    "access_acceptability": "share passing acceptability (ability to seek)",
    "access_availability": "share passing availability and accommodation (ability to reach)",
    "access_affordability": "share passing affordability (ability to pay)",
    "access_appropriateness": "share passing appropriateness (ability to engage)",
    "access_least_able": "access of the least-able fifth of the cohort",
    "equity_gap": "access of the four more able fifths minus access of the least-able fifth",
}
OUTPUTS: tuple[str, ...] = tuple(OUTPUT_MEANINGS)

# Run summary: name -> meaning (the `--summary` JSON, one row per run in sweeps).
SUMMARY_MEANINGS: dict[str, str] = {
    "final_access": "access at the horizon",
    "access_gain": "access at the horizon minus access at month 0",
    "mean_synergy": "mean synergy over months 1..horizon",
    "final_synergy": "synergy at the horizon",
    "months_to_synergy": "month synergy completed half its rise to its final plateau (null if it did not rise)",
    "months_to_access": "month access completed half its rise to its final plateau (null if it did not rise)",
    "synergy_access_lag": "months_to_access minus months_to_synergy (null if either is undefined)",
    "retention": "share of founding members still in their seats at the horizon",
    "final_seats": "active seats at the horizon",
    "cumulative_members": "distinct people who held a seat over the run",
    "total_departures": "people who left over the run",
    "mean_engagement": "mean engagement over months 1..horizon",
    "mean_attendance": "mean attendance at meetings over months 1..horizon",
    "mean_conflict": "mean conflict per contact over months 1..horizon",
    "final_density": "network density at the horizon",
    "final_implementation": "implementation at the horizon",
    "sustained": "true when the partnership had not dissolved by the horizon",
    "dissolved_month": "month the partnership dissolved (null if it did not)",
    "recovery_months": "after a shock: months until synergy regained its level of the 6 months before (null if no shock or not by the horizon)",
    "final_access_least_able": "access of the least-able fifth at the horizon",
    "final_equity_gap": "access of the four more able fifths minus access of the least-able fifth, at the horizon",
}
SUMMARY_OUTPUTS: tuple[str, ...] = tuple(SUMMARY_MEANINGS)


# Units of every output (the column dictionaries written next to each table; docs/ODD.md's output table).
SHARE, SCORE, DIFF = "share 0-1", "score 0-1", "difference of two shares"
OUTPUT_UNITS: dict[str, str] = {
    "step": "month",
    "synergy": SCORE,
    "synergy_psat": "PSAT score 1-5",
    "resource_integration": SCORE,
    "atmosphere": SCORE,
    "stakeholder_benefit": SCORE,
    "adaptive_capacity": SCORE,
    "mean_trust": SCORE,
    "conflict": SCORE,
    "grievance": SCORE,
    "engagement": SCORE,
    "attendance": SHARE,
    "network_density": SHARE,
    "active_seats": "seats",
    "cumulative_members": "people",
    "departures": "people",
    "implementation": SCORE,
    "implementation_services": SCORE,
    "implementation_abilities": SCORE,
    "access": SHARE,
    "access_approachability": SHARE,
    "access_acceptability": SHARE,
    "access_availability": SHARE,
    "access_affordability": SHARE,
    "access_appropriateness": SHARE,
    "access_least_able": SHARE,
    "equity_gap": DIFF,
}
SUMMARY_UNITS: dict[str, str] = {
    "final_access": SHARE,
    "access_gain": DIFF,
    "mean_synergy": SCORE,
    "final_synergy": SCORE,
    "months_to_synergy": "month",
    "months_to_access": "month",
    "synergy_access_lag": "months",
    "retention": SHARE,
    "final_seats": "seats",
    "cumulative_members": "people",
    "total_departures": "people",
    "mean_engagement": SCORE,
    "mean_attendance": SHARE,
    "mean_conflict": SCORE,
    "final_density": SHARE,
    "final_implementation": SCORE,
    "sustained": "true or false",
    "dissolved_month": "month",
    "recovery_months": "months",
    "final_access_least_able": SHARE,
    "final_equity_gap": DIFF,
}

def _run_mean(values: np.ndarray) -> float:
    return float(values[1:].mean()) if values.size > 1 else float(values[0])


def summarise(
    series: dict[str, np.ndarray], retention: float, dissolved_month: int | None, shock_month: int = 0
) -> dict[str, Any]:
    """Run-level outcomes from the per-step series."""
    synergy, access = series["synergy"], series["access"]
    to_synergy = half_rise_month(synergy)
    to_access = half_rise_month(access)
    lag = to_access - to_synergy
    return {
        "final_access": float(access[-1]),
        "access_gain": float(access[-1] - access[0]),
        "mean_synergy": _run_mean(synergy),
        "final_synergy": float(synergy[-1]),
        "months_to_synergy": to_synergy,
        "months_to_access": to_access,
        "synergy_access_lag": lag if not math.isnan(lag) else math.nan,
        "retention": float(retention),
        "final_seats": int(series["active_seats"][-1]),
        "cumulative_members": int(series["cumulative_members"][-1]),
        "total_departures": int(series["departures"][1:].sum()),
        "mean_engagement": _run_mean(series["engagement"]),
        "mean_attendance": _run_mean(series["attendance"]),
        "mean_conflict": _run_mean(series["conflict"]),
        "final_density": float(series["network_density"][-1]),
        "final_implementation": float(series["implementation"][-1]),
        "sustained": dissolved_month is None,
        "dissolved_month": math.nan if dissolved_month is None else int(dissolved_month),
        "recovery_months": recovery_months(synergy, shock_month) if shock_month else math.nan,
        "final_access_least_able": float(series["access_least_able"][-1]),
        "final_equity_gap": float(series["equity_gap"][-1]),
    }

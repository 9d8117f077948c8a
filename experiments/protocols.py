"""Run protocols of the pattern checks: what one replicate of one arm runs, and the numbers it returns.

A protocol is a pure function of its parameters and seed (it may run the model more
than once with that seed: a twin without an intervention or without a shock, run
with the same random streams). ``validation_target`` is the sweep target
(``experiments.engine.SweepPlan.target``): the arm arrives as one JSON string
parameter, ``arm = {"protocol": ..., "params": {...}, "options": {...}}``, so that
any engine (serial, Dask) can run it and the sweep store can resume it.

Every protocol returns floats named in :data:`OUTPUTS` (NaN where it has none).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

RECOVERY_WINDOW = 72  # months a shocked run continues after its shock
SMOOTHING = 3  # months of the moving mean used to read a deficit's course
LOSS_MONTHS = 36  # synergy lost to a shock: the deficit summed over this many months after it
RECOVERED = 0.01  # a deficit of synergy at most this (1 point on its 0-1 scale) counts as recovered

OUTPUTS: tuple[str, ...] = (
    # a plain run (summary outputs, and a few read off its series)
    "mean_synergy", "final_synergy", "final_access", "access_gain", "mean_engagement", "retention",
    "final_seats", "cumulative_members", "sustained", "mean_conflict", "mean_attendance", "final_density",
    "final_implementation", "final_access_least_able", "final_equity_gap",
    "months_to_synergy", "months_to_implementation", "months_to_access", "synergy_access_lag",
    "months_to_implementation_90", "months_to_access_90", "peak_implementation", "access_response", "mean_trust",
    "mean_tenure", "veteran_trust",
    "synergy_0", "synergy_6", "synergy_12", "mean_integration", "mean_atmosphere", "mean_benefit",
    "mean_adaptive", "p90_adaptive", "mean_grievance", "total_departures", "max_density",
    # an intervention and its twin without it: differences (with - without)
    "diff_access_24", "diff_synergy_12", "diff_months_to_access", "diff_final_access",
    # a shock and its calm twin
    "peak_deficit", "recovery_half_life", "recovery_time", "lost_synergy", "deficit_24", "adaptive_before", "synergy_before", "noise_before",
    # the feedback probe: behaviour with synergy scrambled, feedback off
    "behaviour_change",
)  # fmt: skip


def _model(params: dict[str, Any], seed: int):
    from model.model import PartnershipModel

    return PartnershipModel(seed=seed, **params)


def _series_stats(series: dict[str, np.ndarray]) -> dict[str, float]:
    from model.dynamics import half_rise_month, rise_month

    adaptive = series["adaptive_capacity"][1:]

    def at(name: str, month: int) -> float:
        return float(series[name][min(month, series[name].size - 1)])

    return {
        "months_to_implementation": half_rise_month(series["implementation"]),
        "months_to_implementation_90": rise_month(series["implementation"], 0.9),
        "months_to_access_90": rise_month(series["access"], 0.9),
        "peak_implementation": float(series["implementation"].max()),
        "synergy_0": at("synergy", 0),
        "synergy_6": at("synergy", 6),
        "synergy_12": at("synergy", 12),
        "mean_integration": float(series["resource_integration"][1:].mean()),
        "mean_atmosphere": float(series["atmosphere"][1:].mean()),
        "mean_benefit": float(series["stakeholder_benefit"][1:].mean()),
        "mean_adaptive": float(adaptive.mean()) if adaptive.size else math.nan,
        "p90_adaptive": float(np.percentile(adaptive, 90)) if adaptive.size else math.nan,
        "mean_grievance": float(series["grievance"][1:].mean()),
        "max_density": float(series["network_density"].max()),
    }


def plain(params: dict[str, Any], seed: int, options: dict[str, Any]) -> dict[str, float]:
    """One run: its summary and statistics of its series.

    With ``options['response']``, also how long access takes to follow what is
    implemented: the months between the half-rise of the access the cohort would have
    if services and outreach had already caught up with the solutions in place, and
    the half-rise of access itself.
    """
    from model.dynamics import half_rise_month

    model = _model(params, seed)
    caught_up = [access_caught_up(model)] if options.get("response") else None
    while model.running and model.steps < model.horizon:
        model.step()
        if caught_up is not None:
            caught_up.append(access_caught_up(model))
    summary = model.summary()
    series = model.series()
    out = {name: float(summary[name]) for name in OUTPUTS if name in summary}
    out.update(_series_stats(series))
    out["mean_trust"] = float(series["mean_trust"][1:].mean())
    out.update(_roster_stats(model))
    if caught_up is not None:
        out["access_response"] = half_rise_month(series["access"]) - half_rise_month(np.array(caught_up))
    return out


VETERAN_MONTHS = 24  # members who have held their seat this long are veterans


def _roster_stats(model) -> dict[str, float]:
    """At the horizon: mean tenure of members (months), and the mean trust held by veterans."""
    seats = model.seats[model.seats["occupied"]]
    tenure = model.steps - seats["joined"]
    veterans = seats["trust_held"][tenure >= VETERAN_MONTHS]
    return {
        "mean_tenure": float(tenure.mean()) if tenure.size else math.nan,
        "veteran_trust": float(veterans.mean()) if veterans.size else math.nan,
    }


def access_caught_up(model) -> float:
    """The access the cohort would have this month if supply and reach had caught up with what is implemented."""
    from model import kernels as kn
    from model.model import ABILITY_LEVELS

    part = model.part_record.copy()
    p = model.params
    D = part["supply"].shape[1]
    implemented = part["implementation"][0]
    part["supply"][0] = p["supply_baseline"] + (1 - p["supply_baseline"]) * p["service_impact"] * implemented[:D]
    part["reach"][0] = p["outreach_reach"] * implemented[D:]
    kn.access(model._ability, model._rank, model._n_low, ABILITY_LEVELS, part, model.rules_record)
    return float(part["access"][0])


def intervention(params: dict[str, Any], seed: int, options: dict[str, Any]) -> dict[str, float]:
    """A run with ``options['set']`` (name -> value) applied at ``options['month']``, minus its twin without."""
    month = int(options.get("month", 1))
    changes = dict(options["set"])
    runs = []
    for apply in (True, False):
        model = _model(params, seed)
        while model.running and model.steps < model.horizon:
            if apply and model.steps == month:
                for name, value in changes.items():
                    model.set_parameter(name, value)
            model.step()
        runs.append((model.summary(), model.series()))
    (with_it, s_with), (without, s_without) = runs
    at24 = min(24, s_with["access"].size - 1)
    return {
        "diff_access_24": float(s_with["access"][at24] - s_without["access"][at24]),
        "diff_synergy_12": float(s_with["synergy"][min(12, at24)] - s_without["synergy"][min(12, at24)]),
        "diff_months_to_access": float(with_it["months_to_access"] - without["months_to_access"]),
        "diff_final_access": float(with_it["final_access"] - without["final_access"]),
    }


def shock_pair(params: dict[str, Any], seed: int, options: dict[str, Any]) -> dict[str, float]:
    """A shock at ``options['month']`` of ``options['severity']``, against its calm twin (same seed, no shock).

    The deficit is calm minus shocked synergy (a 3-month moving mean). Recovery time:
    months from the shock until the deficit is back to at most RECOVERED, after its peak
    (0 if it never exceeded it, NaN if not within the window); half-life: until it is
    back to half its peak; synergy lost: the deficit summed over LOSS_MONTHS months
    (synergy-months: how deep and how long, together). Adaptive capacity and synergy before: means
    over the 6 months before the shock; noise: the month-to-month sd of synergy then.
    """
    month = int(options["month"])
    severity = float(options["severity"])
    common = {**params, "steps": month + RECOVERY_WINDOW}
    hit = _model({**common, "shock_month": month, "shock_severity": severity}, seed)
    hit.run()
    calm = _model(common, seed)
    calm.run()
    s_hit, s_calm = hit.series(), calm.series()
    deficit = (s_calm["synergy"] - s_hit["synergy"])[month:]
    smooth = np.convolve(deficit, np.ones(SMOOTHING) / SMOOTHING, mode="valid")
    peak_at = int(np.argmax(smooth))
    peak = float(smooth[peak_at])
    after = np.nonzero(smooth[peak_at:] <= 0.5 * peak)[0]
    half_life = float(peak_at + after[0] + SMOOTHING // 2) if (peak > 0 and after.size) else math.nan
    back = np.nonzero(smooth[peak_at:] <= RECOVERED)[0]
    recovery = 0.0 if peak <= RECOVERED else (float(peak_at + back[0] + SMOOTHING // 2) if back.size else math.nan)
    before = slice(month - 6, month)
    return {
        "peak_deficit": peak,
        "recovery_half_life": half_life,
        "recovery_time": recovery,
        "lost_synergy": float(deficit[:LOSS_MONTHS].sum()),
        "deficit_24": float(smooth[min(24, smooth.size - 1)]),
        "adaptive_before": float(s_hit["adaptive_capacity"][before].mean()),
        "synergy_before": float(s_hit["synergy"][before].mean()),
        "noise_before": float(np.diff(s_calm["synergy"][month - 12 : month]).std()),
    }


def feedback_probe(params: dict[str, Any], seed: int, options: dict[str, Any]) -> dict[str, float]:
    """With synergy_feedback 0, scramble synergy every month: how much does behaviour change (0 = not at all)?

    Behaviour: every member's engagement, who holds each seat, attendance, trust on
    every tie, what was implemented. Only the observed synergy may differ.
    """
    params = {**params, "synergy_feedback": 0.0}
    rng = np.random.default_rng(seed)
    models = [_model(params, seed), _model(params, seed)]
    change = 0.0
    for _ in range(models[0].horizon):
        models[1].part.synergy = float(rng.random())  # the scrambled twin
        for m in models:
            m.step()
        a, b = (m.seats for m in models)
        change = max(
            change,
            float(np.abs(a["engagement"] - b["engagement"]).max()),
            float((a["person"] != b["person"]).sum()),
            float(np.abs(models[0].trust - models[1].trust).max()),
            float(np.abs(models[0].part.implementation - models[1].part.implementation).max()),
            abs(float(models[0].part.attendance) - float(models[1].part.attendance)),
        )
    return {"behaviour_change": change}


PROTOCOLS: dict[str, Callable[[dict[str, Any], int, dict[str, Any]], dict[str, float]]] = {
    "plain": plain,
    "intervention": intervention,
    "shock_pair": shock_pair,
    "feedback_probe": feedback_probe,
}


def arm_key(protocol: str, params: dict[str, Any], options: dict[str, Any] | None = None) -> str:
    """The canonical JSON of an arm (its identity in the sweep)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}")
    return json.dumps({"protocol": protocol, "params": params, "options": options or {}}, sort_keys=True)


def validation_target(params: dict[str, Any], seed: int, series: Sequence[str]) -> tuple[dict[str, Any], None]:
    """Sweep target: run the arm described by ``params['arm']`` with this seed."""
    arm = json.loads(params["arm"])
    options = arm.get("options", {})
    copy = int(options.get("copy", 0))
    if copy:  # another copy of the arm: a seed derived from the replicate's, the same for every arm
        w0, w1 = np.random.SeedSequence([seed, copy]).generate_state(2, dtype=np.uint32)
        seed = ((int(w0) << 32) | int(w1)) & (2**63 - 1)
    values = PROTOCOLS[arm["protocol"]](arm["params"], seed, options)
    return {name: float(values.get(name, math.nan)) for name in OUTPUTS}, None


def warm_up() -> None:
    """Compile the model's kernels where the protocols will run."""
    from model.kernels import warm_up as kernels_warm_up

    kernels_warm_up()

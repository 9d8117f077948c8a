"""Pattern validation: every pattern with its causal checks, the horizon check and the robustness runs.

    from experiments.validate import run_validation
    result = run_validation("results/validation", replicates=16, workers=2)
    result.verdicts        # one row per check and condition: statistic, interval, pass

Each pattern of docs/ODD.md section 1.2 is a claim about a mechanism. A *check*
states one part of the claim as a statistic over replicates (common random
numbers: replicate k of every arm has the same seed, so arms are compared pair by
pair), with a bootstrap interval and a pass rule. The checks of a pattern are:

- the pattern itself, on a per-run statistic that does not depend on the horizon;
- a causal check: cutting the pattern's mechanism (an ablation parameter, level
  ``ablation`` or a mechanics constant set to 0) removes or sharply weakens it,
  while cutting an unrelated mechanism does not;
- the horizon check (60, 120 and 240 months) where the pattern is about time;
- robustness: the pattern statistic with each mechanics constant moved by -30%
  and +30%, one at a time (``quick`` skips these), and a Morris screening of the
  constants, so a reader sees which constants the results lean on.

All arms run as one sweep (``experiments.sweep.run_sweep``) into ``OUT/sweep``, so
``--workers``, ``--scheduler`` and ``--resume`` work as for any sweep; the analysis
then reads the stored table. ``OUT`` gets ``validation.md``, ``validation.csv``,
``robustness.csv``, ``constants_morris.csv`` and figures.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.protocols import OUTPUTS, arm_key, validation_target

ANALYSIS_SEED = 20261202  # bootstrap resamples (fixed: the same runs give the same intervals)
BOOTSTRAP = 1000
ROOT_SEED = 1000
BASE = {"population_size": 1000}  # access is a share: a cohort of 1,000 reads it to 0.1 percentage point
PERTURBATION = 0.3  # robustness: each mechanics constant times 0.7 and 1.3, one at a time
SHOCK = {"month": 60, "severity": 0.5}  # a settled partnership, hit by a shock of half its support and sector resources
FULL_REPLICATES = 16
SHOCK_COPIES = 6  # P5's per-seed comparison is noisy at 20 seats: its arms run 6 copies per replicate (96 pairs at 16)
QUICK_REPLICATES = 8
ROBUST_REPLICATES = 16


# ---------------------------------------------------------------------------- arms and checks
@dataclass(frozen=True)
class Arm:
    """What one replicate runs: a protocol (experiments.protocols), parameters and options.

    ``copies`` > 1 runs the arm that many times per replicate, copy c with a seed derived
    from the replicate's seed and c (the same for every arm, so arms stay paired): a check
    that needs more replicates than the sweep's gets them without making every arm dearer.
    """

    protocol: str
    params: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    copies: int = 1

    @property
    def key(self) -> str:
        return arm_key(self.protocol, {**BASE, **self.params}, self.options)

    @property
    def keys(self) -> list[str]:
        """The arm key of each copy (copy 0 is the arm itself)."""
        return [self.key] + [arm_key(self.protocol, {**BASE, **self.params}, {**self.options, "copy": c})
                             for c in range(1, self.copies)]  # fmt: skip

    def perturbed(self, name: str, value: Any) -> Arm:
        """The same arm with a mechanics constant changed (unless the arm sets it itself)."""
        if name in self.params:
            return self
        return Arm(self.protocol, {**self.params, name: value}, self.options, self.copies)


@dataclass
class Verdict:
    """The outcome of one check under one condition."""

    value: float
    low: float
    high: float
    passed: bool
    detail: str


@dataclass(frozen=True)
class Check:
    """One part of a pattern's claim: arms to run and a judge of their results."""

    id: str
    pattern: str
    kind: str  # "pattern", "causal", "horizon", "mechanism"
    claim: str
    statistic: str
    arms: dict[str, Arm]
    judge: Callable[[dict[str, dict[str, np.ndarray]]], Verdict]
    robust: bool = False  # repeated under each perturbed constant


def plain(steps: int = 60, **params: Any) -> Arm:
    return Arm("plain", {"steps": steps, **params})


# ---------------------------------------------------------------------------- statistics
def _rng() -> np.random.Generator:
    return np.random.default_rng(ANALYSIS_SEED)


def bootstrap(values: np.ndarray, stat: Callable[[np.ndarray], float], level: float = 0.9) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` over replicates (NaN-aware through ``stat``)."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return math.nan, math.nan
    rng = _rng()
    idx = rng.integers(0, values.shape[0], size=(BOOTSTRAP, values.shape[0]))
    draws = np.array([stat(values[i]) for i in idx])
    draws = draws[np.isfinite(draws)]
    if not draws.size:
        return math.nan, math.nan
    a = (1 - level) / 2
    return float(np.quantile(draws, a)), float(np.quantile(draws, 1 - a))


def median(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else math.nan


def spearman(pairs: np.ndarray) -> float:
    """Rank correlation of the two columns of ``pairs`` (ties ranked by their mean rank)."""
    from scipy.stats import spearmanr

    pairs = pairs[np.all(np.isfinite(pairs), axis=1)]
    if pairs.shape[0] < 4 or np.ptp(pairs[:, 0]) == 0 or np.ptp(pairs[:, 1]) == 0:
        return math.nan
    return float(spearmanr(pairs[:, 0], pairs[:, 1])[0])


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.{digits}g}"


def median_verdict(x: np.ndarray, passes: Callable[[float, float, float], bool], detail: str = "") -> Verdict:
    value = median(x)
    low, high = bootstrap(x, median)
    return Verdict(value, low, high, bool(np.isfinite(value) and passes(value, low, high)), detail)


# ---------------------------------------------------------------------------- the checks
def pattern_checks(quick: bool = False) -> list[Check]:
    """The checks of P1-P5 and of the strengthened mechanisms (docs/ODD.md 1.2)."""
    checks: list[Check] = []
    add = checks.append
    coordinator = {"month": 3, "set": {"coordination": 0.9}}  # an early intervention that raises synergy

    # ---- P1: synergy leads access; access follows what is implemented
    def lag(results):
        x = results["base"]["synergy_access_lag"]
        share = float(np.mean(x[np.isfinite(x)] > 0)) if np.isfinite(x).any() else 0.0
        return median_verdict(x, lambda v, lo, hi: lo >= 3 and share >= 0.75,
                              f"median lag, 90% interval; positive in {share:.0%} of runs (pass: interval >= 3 months, >= 75% positive)")  # fmt: skip

    add(Check("P1-lag", "P1", "pattern", "Synergy completes half its rise months before access does.",
              "months_to_access - months_to_synergy (months), 120-month runs", {"base": plain(120)}, lag, robust=True))  # fmt: skip

    def settles(results):
        x = results["base"]["access_response"]
        return median_verdict(x, lambda v, lo, hi: 0 <= v <= 6,
                              "months from the half-rise of the access that what is implemented would give to the "
                              "half-rise of access (pass: median in [0, 6]; IMPACT measured effects 3-6 months after)")  # fmt: skip

    add(Check("P1-settles", "P1", "mechanism", "Access settles within months of what is implemented.",
              "response time of access to what is implemented (months)",
              {"base": Arm("plain", {"steps": 120}, {"response": True})}, settles))  # fmt: skip

    horizons = (60, 120) if quick else (60, 120, 240)

    def horizon(results):
        medians = [median(results[f"h{h}"]["synergy_access_lag"]) for h in horizons]
        spread = max(medians) / min(medians) - 1 if min(medians) > 0 else math.inf
        return Verdict(spread, math.nan, math.nan, bool(spread <= 0.25),
                       "median lags " + ", ".join(f"{h}: {_fmt(m)}" for h, m in zip(horizons, medians, strict=True))
                       + " (pass: largest / smallest - 1 <= 0.25)")

    add(Check("P1-horizon", "P1", "horizon", "The lag does not depend on the horizon.",
              "max/min - 1 of the median lag across horizons", {f"h{h}": plain(h) for h in horizons}, horizon))  # fmt: skip

    def forward(results):
        x = results["on"]["diff_access_24"]
        return median_verdict(x, lambda v, lo, hi: lo > 0,
                              "access at month 24 with minus without a coordinator added at month 3 (pass: interval > 0)")

    add(Check("P1-forward", "P1", "pattern", "An intervention that raises synergy early brings the access rise forward.",
              "paired difference in access at month 24 (share of the cohort)",
              {"on": Arm("intervention", {"steps": 60}, coordinator)}, forward, robust=True))  # fmt: skip

    def cut_forward(results):
        on, off, other = (median(results[k]["diff_access_24"]) for k in ("on", "off", "unrelated"))
        passed = on > 0 and abs(off) <= 0.25 * on and other >= 0.5 * on
        return Verdict(off / on if on else math.nan, math.nan, math.nan, bool(passed),
                       f"effect on access at 24 months: {_fmt(on)} with the mechanism, {_fmt(off)} with implementation "
                       f"cut from the partnership, {_fmt(other)} with re-balancing cut (unrelated) "
                       "(pass: cut <= 25% of it, unrelated >= 50%)")

    add(Check("P1-cut", "P1", "causal", "With synergy cut from what the partnership implements, access no longer follows it.",
              "effect with the ablation / effect with the mechanism",
              {"on": Arm("intervention", {"steps": 60}, coordinator),
               "off": Arm("intervention", {"steps": 60, "implementation_follows_partnership": 0}, coordinator),
               "unrelated": Arm("intervention", {"steps": 60, "rebalance_rate": 0.0}, coordinator)}, cut_forward))  # fmt: skip

    # ---- P2: enabling processes matter, none as a bare multiplier
    weakened = {
        "interpersonal": {"communication": 0.3, "trust_gain": 0.1},
        "operational": {"leadership": 0.2, "coordination": 0.2, "decision_inclusiveness": 0.2},
        "system": {"external_support": 0.2},
    }
    for level, change in weakened.items():
        def lowered(results, level=level):
            parts, ok = [], True
            for name in ("mean_synergy", "final_access"):
                d = results["base"][name] - results["weak"][name]
                share = float(np.mean(d > 0))
                m, (lo, hi) = median(d), bootstrap(d, median)
                ok &= bool(lo > 0 and share >= 0.75)
                parts.append(f"{name} {_fmt(m)} [{_fmt(lo)}, {_fmt(hi)}], lower in {share:.0%}")
            d = results["base"]["mean_synergy"] - results["weak"]["mean_synergy"]
            return Verdict(median(d), *bootstrap(d, median), ok, "; ".join(parts) + " (pass: interval > 0, >= 75% of pairs)")

        add(Check(f"P2-{level}", "P2", "pattern", f"Weakening the {level} enabling processes lowers synergy and access.",
                  "paired difference default - weakened (mean synergy; final access)",
                  {"base": plain(60), "weak": plain(60, **change)}, lowered, robust=True))  # fmt: skip

    zeroed = {"external_support": 0.0, "leadership": 0.0, "coordination": 0.0, "communication": 0.0}

    def not_multiplier(results):
        done = {name: median(results[name]["peak_implementation"]) for name in zeroed}
        dissolved = {k: 1 - float(np.mean(results[k]["sustained"])) for k in ("base", "external_support")}
        ok = all(v > 0.05 for v in done.values()) and dissolved["external_support"] >= dissolved["base"] + 0.1
        return Verdict(min(done.values()), math.nan, math.nan, bool(ok),
                       "most implemented over 120 months with the process at 0: "
                       + ", ".join(f"{k} {_fmt(v)}" for k, v in done.items())
                       + f"; dissolved by 120 months: {dissolved['base']:.0%} by default, "
                       f"{dissolved['external_support']:.0%} without external support "
                       "(pass: every one > 0.05, and dissolution at least 10 points more likely without support)")

    add(Check("P2-no-multiplier", "P2", "causal",
              "No enabling process is a bare multiplier: without it a partnership still does something, and can fail.",
              "least implementation with one process at 0",
              {"base": plain(120), **{k: plain(120, **{k: v}) for k, v in zeroed.items()}}, not_multiplier))  # fmt: skip

    # ---- P3: the diversity advantage comes from complementarity
    def advantage(results, compl: str) -> np.ndarray:
        return results[f"diverse_{compl}"]["mean_synergy"] - results[f"homogeneous_{compl}"]["mean_synergy"]

    def complementarity(results):
        strong, subst = advantage(results, "strong"), advantage(results, "none")
        s, n = median(strong), median(subst)
        lo, hi = bootstrap(strong, median)
        ratio = n / s if s > 0 else math.inf
        return Verdict(ratio, math.nan, math.nan, bool(lo > 0 and ratio <= 0.5),
                       f"synergy advantage of a diverse table: {_fmt(s)} [{_fmt(lo)}, {_fmt(hi)}] with strong complements, "
                       f"{_fmt(n)} with substitutes (pass: the first > 0, the second at most half of it)")

    p3_arms = {f"{table}_{name}": plain(60, type_diversity=d, resource_complementarity=c)
               for table, d in (("diverse", 1.0), ("homogeneous", 0.0)) for name, c in (("strong", 0.9), ("none", 0.0))}  # fmt: skip
    add(Check("P3-complementarity", "P3", "pattern",
              "A diverse table's synergy advantage comes from complementarity (substitutes: at most half of it).",
              "advantage with substitutes / advantage with strong complements", p3_arms, complementarity, robust=True))  # fmt: skip

    def level(results):
        d = results["rich"]["mean_integration"] - results["base"]["mean_integration"]
        return median_verdict(d, lambda v, lo, hi: lo > 0.05,
                              "mean integration with three times the resources minus with the reference (pass: interval > 0.05)")

    add(Check("P3-level", "P3", "pattern", "Integration responds to the level of resources as well as to their mix.",
              "paired difference in mean integration", {"base": plain(60),
              "rich": plain(60, financial_resources=3.0, nonfinancial_resources=3.0)}, level))  # fmt: skip

    def unrelated_p3(results):
        d = results["diverse"]["mean_synergy"] - results["homogeneous"]["mean_synergy"]
        return median_verdict(d, lambda v, lo, hi: lo > 0,
                              "synergy advantage with strong complements and no synergy feedback (pass: interval > 0)")

    add(Check("P3-unrelated", "P3", "causal", "Cutting an unrelated mechanism (synergy's feedback) keeps the advantage.",
              "paired difference in mean synergy", {"diverse": plain(60, resource_complementarity=0.9, synergy_feedback=0.0),
              "homogeneous": plain(60, type_diversity=0.0, resource_complementarity=0.9, synergy_feedback=0.0)}, unrelated_p3))  # fmt: skip

    # ---- P4: synergy is a source of energy
    def energy(results, on="base", off="off"):
        e = results[on]["mean_engagement"] - results[off]["mean_engagement"]
        r = results[on]["retention"] - results[off]["retention"]
        share = float(np.mean(e > 0))
        m, (lo, hi) = median(e), bootstrap(e, median)
        ok = lo > 0 and share >= 0.9 and float(np.mean(r)) > 0
        return Verdict(m, lo, hi, bool(ok),
                       f"engagement higher with feedback in {share:.0%} of pairs; mean retention difference "
                       f"{_fmt(float(np.mean(r)))} (pass: interval > 0, >= 90% of pairs, retention > 0)")

    add(Check("P4-energy", "P4", "pattern", "Turning the synergy feedback off lowers engagement and retention.",
              "paired difference in mean engagement (feedback on - off)",
              {"base": plain(60), "off": plain(60, synergy_feedback=0.0)}, energy, robust=True))  # fmt: skip

    def every_path(results):
        x = results["probe"]["behaviour_change"]
        worst = float(np.nanmax(x))
        return Verdict(worst, math.nan, math.nan, bool(worst == 0.0),
                       "largest change in any member's engagement, seat holder, tie trust, attendance or implementation "
                       "when synergy is scrambled every month with the feedback off (pass: exactly 0)")

    add(Check("P4-every-path", "P4", "causal", "'Feedback off' turns off every path from synergy to behaviour.",
              "largest behaviour change under scrambled synergy", {"probe": Arm("feedback_probe", {"steps": 60})}, every_path))  # fmt: skip
    add(Check("P4-unrelated", "P4", "causal", "Cutting an unrelated mechanism (re-balancing) keeps the energy effect.",
              "paired difference in mean engagement", {"base": plain(60, rebalance_rate=0.0),
              "off": plain(60, rebalance_rate=0.0, synergy_feedback=0.0)}, energy))  # fmt: skip

    # ---- P5: recovery after a shock comes from re-balancing by members who can cover the lost kinds
    diversity = (1.0, 0.6, 0.4)  # at 20 seats: six, four and three stakeholder types

    def pooled(results, prefix):
        return np.vstack([np.column_stack([results[f"{prefix}{d}"]["adaptive_before"],
                                           results[f"{prefix}{d}"]["lost_synergy"]]) for d in diversity])  # fmt: skip

    def advantage_p5(results, prefix):
        """Per seed: synergy the least diverse table lost minus what the most diverse one lost (same seed, size)."""
        return results[f"{prefix}{diversity[-1]}"]["lost_synergy"] - results[f"{prefix}{diversity[0]}"]["lost_synergy"]

    def recovery(results):
        d = advantage_p5(results, "d")
        m, (lo, hi) = median(d), bootstrap(d, median)
        higher = float(np.mean(results[f"d{diversity[0]}"]["adaptive_before"] > results[f"d{diversity[-1]}"]["adaptive_before"]))
        rho = spearman(pooled(results, "d"))
        lost = [median(results[f"d{x}"]["lost_synergy"]) for x in diversity]
        adapt = [median(results[f"d{x}"]["adaptive_before"]) for x in diversity]
        back = [median(results[f"d{x}"]["recovery_time"]) for x in diversity]
        return Verdict(m, lo, hi, bool(lo > 0 and higher >= 0.9),
                       f"per seed, the table of type_diversity {diversity[0]} has the higher adaptive capacity in "
                       f"{higher:.0%} of seeds and loses {_fmt(m)} [{_fmt(lo)}, {_fmt(hi)}] synergy-months less than the "
                       f"one of {diversity[-1]} (less in {float(np.mean(d > 0)):.0%} of seeds); by diversity "
                       + ", ".join(f"{x}: adaptive {_fmt(a)}, lost {_fmt(y)}, back within 0.01 after {_fmt(b)} months"
                                   for x, a, y, b in zip(diversity, adapt, lost, back, strict=True))
                       + f"; per-run rank correlation of adaptive capacity with synergy lost {_fmt(rho)} "
                       "(pass: interval > 0, the more diverse table more adaptive in >= 90% of seeds)")

    def shock(**p):
        return {f"d{d}": Arm("shock_pair", {"type_diversity": d, **p}, SHOCK, SHOCK_COPIES) for d in diversity}

    add(Check("P5-recovery", "P5", "pattern",
              "At equal size, the partnership with more adaptive capacity loses less synergy to a shock and regains it sooner.",
              "paired difference in synergy lost (less diverse - more diverse; synergy-months over 36 months)",
              shock(), recovery, robust=True))  # fmt: skip

    def pooled_median(results, prefix, name):
        return median(np.concatenate([results[f"{prefix}{d}"][name] for d in diversity]))

    def rebalancing(results):
        lost = {k: pooled_median(results, k, "lost_synergy") for k in ("d", "cut", "other")}
        back = {k: pooled_median(results, k, "recovery_time") for k in ("d", "cut", "other")}
        passed = lost["cut"] >= 1.5 * lost["d"] and abs(lost["other"] - lost["d"]) <= 0.25 * lost["d"]
        return Verdict(lost["cut"] / lost["d"] if lost["d"] > 0 else math.nan, math.nan, math.nan, bool(passed),
                       f"synergy lost {_fmt(lost['d'])} with re-balancing, {_fmt(lost['cut'])} without it, "
                       f"{_fmt(lost['other'])} with implementation cut from the partnership (unrelated); back within 0.01 "
                       f"after {_fmt(back['d'])}, {_fmt(back['cut'])} and {_fmt(back['other'])} months "
                       "(pass: at least 1.5 times the loss without re-balancing, the unrelated cut within 25%)")

    cut_arms = {**shock(), **{k.replace("d", "cut", 1): v for k, v in shock(rebalance_rate=0.0).items()},
                **{k.replace("d", "other", 1): v for k, v in shock(implementation_follows_partnership=0).items()}}  # fmt: skip
    add(Check("P5-rebalancing", "P5", "causal", "Recovery from a shock comes from re-balancing: without it partnerships lose much more.",
              "synergy lost without re-balancing / with it", cut_arms, rebalancing))  # fmt: skip

    def cut_advantage(results):
        adv = {k: median(advantage_p5(results, k)) for k in ("d", "cut", "other")}
        passed = adv["d"] > 0 and adv["cut"] <= 0.5 * adv["d"] and adv["other"] >= 0.5 * adv["d"]
        return Verdict(adv["cut"] / adv["d"] if adv["d"] > 0 else math.nan, math.nan, math.nan, bool(passed),
                       f"the more diverse table's advantage (synergy-months lost less, per seed) is {_fmt(adv['d'])} with "
                       f"re-balancing, {_fmt(adv['cut'])} without it and {_fmt(adv['other'])} with the unrelated cut "
                       "(pass: at most half as large without re-balancing, at least half with the unrelated cut)")

    add(Check("P5-cut", "P5", "causal",
              "The more adaptive partnership's advantage after a shock comes from re-balancing: cut it and the advantage goes.",
              "advantage without re-balancing / with it", cut_arms, cut_advantage))  # fmt: skip

    def unsaturated(results):
        p90 = {k: median(results[k]["p90_adaptive"]) for k in ("base", "large")}
        return Verdict(max(p90.values()), math.nan, math.nan, bool(max(p90.values()) < 0.95),
                       f"90th percentile of monthly adaptive capacity: {_fmt(p90['base'])} at 20 seats, "
                       f"{_fmt(p90['large'])} at 200 seats (pass: both < 0.95)")

    add(Check("P5-unsaturated", "P5", "mechanism", "Adaptive capacity is not saturated at default or large sizes.",
              "90th percentile of adaptive capacity", {"base": plain(60), "large": plain(60, seats=200)}, unsaturated))  # fmt: skip

    def deficit(results):
        peak = np.concatenate([results[f"d{d}"]["peak_deficit"] for d in diversity])
        noise = np.concatenate([results[f"d{d}"]["noise_before"] for d in diversity])
        ratio = median(peak) / median(noise) if median(noise) > 0 else math.inf
        return Verdict(median(peak), *bootstrap(peak, median), bool(ratio >= 3),
                       f"peak synergy deficit {_fmt(median(peak))}, {ratio:.1f} times the month-to-month noise of synergy (pass: >= 3)")

    add(Check("P5-deficit", "P5", "mechanism", "A shock of severity 0.5 lowers synergy well beyond noise.",
              "median peak deficit", shock(), deficit))  # fmt: skip

    # ---- mechanisms strengthened in the model's second version
    def density(results):
        final = {k: median(results[k]["final_density"]) for k in ("base", "h120")}
        peak = median(results["base"]["max_density"])
        ok = all(0.1 <= v <= 0.5 for v in final.values()) and peak < 0.7
        return Verdict(final["base"], math.nan, math.nan, bool(ok),
                       f"density {_fmt(final['base'])} at 60 months, {_fmt(final['h120'])} at 120, highest {_fmt(peak)} "
                       "(pass: in [0.1, 0.5], never above 0.7)")

    add(Check("N-density", "network", "mechanism", "Working relationships are limited: density stays plausible.",
              "network density", {"base": plain(60), "h120": plain(120)}, density))  # fmt: skip

    def structure(results):
        parts, ok = [], True
        for name in ("density", "centralization"):
            d = results[f"{name}_high"]["mean_synergy"] - results[f"{name}_low"]["mean_synergy"]
            d60 = results[f"{name}_high"]["final_synergy"] - results[f"{name}_low"]["final_synergy"]
            lo, hi = bootstrap(d, median)
            lo60, hi60 = bootstrap(d60, median)
            ok &= bool(lo > 0 or hi < 0)
            parts.append(f"{name}: mean synergy {_fmt(median(d))} [{_fmt(lo)}, {_fmt(hi)}], at month 60 "
                         f"{_fmt(median(d60))} [{_fmt(lo60)}, {_fmt(hi60)}]")
        return Verdict(math.nan, math.nan, math.nan, ok, "; ".join(parts) + " (pass: mean-synergy intervals exclude 0)")

    add(Check("N-structure", "network", "mechanism", "The initial structure still matters over 60 months.",
              "paired difference high - low initial density / centralization",
              {"density_low": plain(60, initial_tie_density=0.05), "density_high": plain(60, initial_tie_density=0.6),
               "centralization_low": plain(60, centralization=0.0), "centralization_high": plain(60, centralization=0.9)},
              structure))  # fmt: skip

    weak = {"communication": 0.3, "leadership": 0.2, "coordination": 0.2, "decision_inclusiveness": 0.2,
            "power_asymmetry": 0.7, "external_support": 0.3, "trust_gain": 0.1}  # the weak_enabling scenario
    no_conflict = {"power_conflict": 0.0, "miscommunication": 0.0, "competition": 0.0}

    def conflict(results):
        seats = results["weak_off"]["final_seats"] - results["weak"]["final_seats"]
        engaged = results["weak_off"]["mean_engagement"] - results["weak"]["mean_engagement"]
        ratio = median(results["weak"]["mean_conflict"]) / max(median(results["base"]["mean_conflict"]), 1e-9)
        lo, hi = bootstrap(engaged, median)
        return Verdict(median(engaged), lo, hi, bool(lo > 0 and ratio >= 1.5),
                       f"weak enabling: conflict {ratio:.1f} times the default's; without conflict, engagement higher by "
                       f"{_fmt(median(engaged))} [{_fmt(lo)}, {_fmt(hi)}] and {_fmt(median(seats))} more seats held "
                       "(pass: interval > 0, conflict >= 1.5 times)")

    add(Check("C-conflict", "conflict", "mechanism", "Conflict is a real process: in weak settings it erodes trust and drives people out.",
              "paired difference in mean engagement, conflict cut - not",
              {"base": plain(60), "weak": plain(60, **weak), "weak_off": plain(60, **weak, **no_conflict)}, conflict))  # fmt: skip

    def sustainment(results):
        p = {k: float(np.mean(results[k]["sustained"])) for k in ("base", "weak_lead", "strong_lead")}
        ok = p["base"] >= 0.9 and p["strong_lead"] - p["weak_lead"] >= 0.2
        return Verdict(p["strong_lead"] - p["weak_lead"], math.nan, math.nan, bool(ok),
                       f"sustained at 120 months: {p['base']:.0%} by default; with low external support (0.2) "
                       f"{p['weak_lead']:.0%} under weak leadership (0.2), {p['strong_lead']:.0%} under strong (0.9) "
                       "(pass: default >= 90%, leadership adds >= 20 points)")

    add(Check("S-sustainment", "sustainment", "mechanism",
              "Under adverse conditions, which partnerships survive depends on the enabling processes.",
              "difference in the share sustained", {"base": plain(120),
              "weak_lead": plain(120, external_support=0.2, leadership=0.2),
              "strong_lead": plain(120, external_support=0.2, leadership=0.9)}, sustainment))  # fmt: skip

    def equity(results):
        low = results["with"]["final_access_least_able"] - results["without"]["final_access_least_able"]
        gap = results["without"]["final_equity_gap"] - results["with"]["final_equity_gap"]
        lo, hi = bootstrap(low, median)
        return Verdict(median(low), lo, hi, bool(lo > 0),
                       f"access of the least-able fifth higher by {_fmt(median(low))} [{_fmt(lo)}, {_fmt(hi)}] with "
                       f"community organisations and patient partners at the table; equity gap narrower by {_fmt(median(gap))}"
                       " (pass: interval > 0)")

    with_them = {t: 1.0 for t in ("decision_maker", "academic", "clinician", "administrator", "patient_partner", "community_org")}
    without_them = {"decision_maker": 1.0, "academic": 1.5, "clinician": 1.5, "administrator": 1.0}
    add(Check("E-equity", "access", "mechanism",
              "A table with community organisations and patient partners does better for the least able.",
              "paired difference in access of the least-able fifth",
              {"with": plain(60, composition=with_them), "without": plain(60, composition=without_them)}, equity))  # fmt: skip

    def starts_low(results):
        r = results["base"]
        s0, s6, s12 = (median(r[k]) for k in ("synergy_0", "synergy_6", "synergy_12"))
        return Verdict(s0, math.nan, math.nan, bool(s0 == 0 and 0 < s6 < s12),
                       f"median synergy {s0:.2f} at month 0, {s6:.2f} at 6, {s12:.2f} at 12 (pass: 0, then rising)")

    add(Check("Y-start", "synergy", "mechanism", "A new partnership starts with little synergy, which builds up.",
              "synergy at month 0", {"base": plain(60)}, starts_low))  # fmt: skip

    fingerprint_outputs = ("mean_attendance", "mean_conflict", "mean_grievance", "mean_atmosphere", "mean_benefit",
                           "mean_trust", "mean_engagement", "total_departures", "final_density",
                           "mean_integration", "mean_tenure", "veteran_trust")  # fmt: skip
    processes = {"leadership": 0.3, "coordination": 0.2, "communication": 0.3, "trust_gain": 0.08, "individual_turnover": 0.04}

    def fingerprints(results):
        base = results["base"]
        vectors = {}
        for name in processes:
            v = []
            for out in fingerprint_outputs:
                sd = np.nanstd(base[out]) or 1.0
                v.append(median(results[name][out] - base[out]) / sd)
            vectors[name] = np.array(v)
        names = list(vectors)
        matrix = np.array([vectors[n] for n in names])
        sines = {}
        for i, name in enumerate(names):  # how far each fingerprint lies outside the span of the others
            others = np.delete(matrix, i, axis=0).T
            coef, *_ = np.linalg.lstsq(others, matrix[i], rcond=None)
            sines[name] = float(np.linalg.norm(matrix[i] - others @ coef) / (np.linalg.norm(matrix[i]) + 1e-12))
        weakest = min(sines, key=sines.get)
        worst, pair = 0.0, ("", "")
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                u, w = vectors[a], vectors[b]
                cos = float(u @ w / (np.linalg.norm(u) * np.linalg.norm(w) + 1e-12))
                if abs(cos) > abs(worst):
                    worst, pair = cos, (a, b)
        return Verdict(sines[weakest], math.nan, math.nan, bool(sines[weakest] >= 0.2),
                       "share of each process's fingerprint (standardised effects on " + ", ".join(fingerprint_outputs)
                       + ") that no combination of the others' reproduces: "
                       + ", ".join(f"{n} {v:.2f}" for n, v in sines.items())
                       + f"; most alike: {pair[0]} and {pair[1]} (cosine {worst:.2f}) (pass: every share >= 0.2)")

    add(Check("F-fingerprints", "separable", "mechanism",
              "Leadership, coordination, communication, trust building and turnover leave different fingerprints.",
              "smallest distinct share (sine of the angle to the others' span)",
              {"base": plain(60), **{k: plain(60, **{k: v}) for k, v in processes.items()}}, fingerprints))  # fmt: skip
    return checks


# ---------------------------------------------------------------------------- conditions
def mechanics_constants() -> list[str]:
    """The schema's mechanics constants (the robustness runs move each of them)."""
    from model.parameters import PARAMETERS

    return [name for name, p in PARAMETERS.items() if p.level == "mechanics"]


def perturbed_value(name: str, factor: float) -> Any | None:
    """The default of a mechanics constant times ``factor``, within its bounds (None if that changes nothing)."""
    from model.parameters import PARAMETERS

    p = PARAMETERS[name]
    value = p.default * factor
    if p.low is not None:
        value = max(p.low, value)
    if p.high is not None:
        value = min(p.high, value)
    if p.kind is int:
        value = round(value)
    return None if value == p.default else value


@dataclass
class Condition:
    """Defaults, or one mechanics constant moved."""

    name: str  # "defaults" or "NAME -30%"
    constant: str | None = None
    value: Any = None

    def apply(self, arm: Arm) -> Arm:
        return arm if self.constant is None else arm.perturbed(self.constant, self.value)


def conditions(robust: bool) -> list[Condition]:
    out = [Condition("defaults")]
    if robust:
        for name in mechanics_constants():
            for factor, label in ((1 - PERTURBATION, "-30%"), (1 + PERTURBATION, "+30%")):
                value = perturbed_value(name, factor)
                if value is not None:
                    out.append(Condition(f"{name} {label}", name, value))
    return out


# ---------------------------------------------------------------------------- the plan
@dataclass
class ValidationPlan:
    """Every arm to run (deduplicated), and which check under which condition uses which."""

    checks: list[Check]
    conditions: list[Condition]
    replicates: int
    robust_replicates: int
    arms: list[str]  # arm keys, in point order
    uses: list[tuple[Check, Condition, dict[str, list[str]]]]  # role -> the arm keys of its copies
    morris: dict[str, Any] | None = None  # the constants' Morris design (problem, X, keys)
    structure: dict[str, Any] | None = None  # the Morris design over structure and enabling processes

    def sweep_plan(self, root_seed: int = ROOT_SEED):
        from experiments.engine import SweepPlan

        doc = {"arms": self.arms, "replicates": self.replicates, "root_seed": root_seed}
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
        return SweepPlan(
            name="validation",
            spec={"validation": {"checks": [c.id for c in self.checks], "conditions": [c.name for c in self.conditions],
                                 "replicates": self.replicates, "arms": len(self.arms)}},
            spec_hash=digest,
            base={},
            varied=("arm",),
            values=[(key,) for key in self.arms],
            replicates=self.replicates,
            root_seed=root_seed,
            parameters={"arm": "str"},
            outputs={name: "float" for name in OUTPUTS},
            target=validation_target,
        )


MORRIS_LEVELS = 4
MORRIS_DELTA = MORRIS_LEVELS / (2 * (MORRIS_LEVELS - 1))  # SALib's step, in units of each constant's range
MORRIS_OUTPUTS: tuple[str, ...] = ("mean_synergy", "final_access", "synergy_access_lag", "final_equity_gap", "retention")


def morris_design(names: Sequence[str], bounds: Sequence[Sequence[float]], trajectories: int,
                  seed: int = ROOT_SEED) -> dict[str, Any]:  # fmt: skip
    """A Morris design (SALib) over these parameters and bounds: problem, X, and the arm key of each point."""
    from SALib.sample import morris as morris_sample

    from model.parameters import PARAMETERS

    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in bounds]}
    X = morris_sample.sample(problem, trajectories, num_levels=MORRIS_LEVELS, seed=seed)
    keys = []
    for row in X:
        params = {"steps": 60}
        for name, value in zip(names, row, strict=True):
            params[name] = round(value) if PARAMETERS[name].kind is int else float(value)
        keys.append(plain(**params).key)
    return {"problem": problem, "X": X, "keys": keys}


def constants_morris(trajectories: int, seed: int = ROOT_SEED) -> dict[str, Any]:
    """A Morris design over the mechanics constants (+-30% of each default, within bounds)."""
    from model.parameters import PARAMETERS

    names, bounds = [], []
    for name in mechanics_constants():
        p = PARAMETERS[name]
        lo, hi = p.default * (1 - PERTURBATION), p.default * (1 + PERTURBATION)
        lo, hi = max(lo, p.low if p.low is not None else lo), min(hi, p.high if p.high is not None else hi)
        if hi > lo:
            names.append(name)
            bounds.append([lo, hi])
    return morris_design(names, bounds, trajectories, seed)


STRUCTURE_MORRIS_EXCLUDED = ("seats", "committee_size", "steps", "population_size", "shock_month", "shock_severity")


def structure_morris(trajectories: int, seed: int = ROOT_SEED) -> dict[str, Any]:
    """A Morris design over the structural, enabling and resource parameters, over their full schema ranges."""
    from model.parameters import PARAMETERS

    names = [n for n, p in PARAMETERS.items() if p.sweepable and p.level in ("structure", "interpersonal",
             "operational", "system", "resources", "population") and n not in STRUCTURE_MORRIS_EXCLUDED]  # fmt: skip
    bounds = []
    for name in names:
        p = PARAMETERS[name]
        high = min(p.high, 12.0) if name == "meeting_interval" else p.high
        bounds.append([p.low, high])
    return morris_design(names, bounds, trajectories, seed + 1)


def build_plan(quick: bool = False, replicates: int | None = None, only: Sequence[str] | None = None,
               robust: bool | None = None, morris_trajectories: int | None = None) -> ValidationPlan:  # fmt: skip
    """Checks, conditions and the arms they need. ``quick``: defaults only, horizons 60 and 120, fewer replicates."""
    checks = pattern_checks(quick)
    if only:
        unknown = sorted(set(only) - {c.id for c in checks})
        if unknown:
            raise ValueError(f"unknown checks: {', '.join(unknown)}; known: {', '.join(c.id for c in checks)}")
        checks = [c for c in checks if c.id in only]
    robust = (not quick) if robust is None else robust
    conds = conditions(robust)
    reps = replicates or (QUICK_REPLICATES if quick else FULL_REPLICATES)
    arms: dict[str, None] = {}
    uses = []
    for cond in conds:
        for check in checks:
            if cond.constant is not None and not check.robust:
                continue
            roles = {}
            for role, arm in check.arms.items():
                keys = cond.apply(arm).keys
                for key in keys:
                    arms.setdefault(key)
                roles[role] = keys
            uses.append((check, cond, roles))
    trajectories = morris_trajectories if morris_trajectories is not None else (0 if quick else 8)
    morris = structure = None
    if trajectories:
        morris = constants_morris(trajectories)
        structure = structure_morris(trajectories)
        for key in morris["keys"] + structure["keys"]:
            arms.setdefault(key)
    return ValidationPlan(checks, conds, reps, ROBUST_REPLICATES, list(arms), uses, morris, structure)


# ---------------------------------------------------------------------------- running and judging
@dataclass
class ValidationResult:
    path: Path
    verdicts: Any  # pandas DataFrame: check, pattern, kind, condition, value, low, high, passed, detail
    morris: Any = None  # pandas DataFrame of the constants' Morris indices
    files: list[Path] = field(default_factory=list)
    sweep: Any = None

    @property
    def passed(self) -> bool:
        main = self.verdicts[self.verdicts["condition"] == "defaults"]
        return bool(main["passed"].all())


def arm_results(table: Any, keys: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    """Outputs of each arm by replicate (replicate order), for the arms in ``keys``."""
    out = {}
    wanted = set(keys)
    for key, group in table[table["arm"].isin(wanted)].groupby("arm", sort=False):
        group = group.sort_values("replicate")
        out[key] = {name: group[name].to_numpy(dtype=float) for name in OUTPUTS}
    return out


def judge(plan: ValidationPlan, table: Any):
    """One verdict per check and condition, from the stored run table."""
    import pandas as pd

    by_arm = arm_results(table, plan.arms)
    rows = []
    for check, cond, roles in plan.uses:
        keep = plan.robust_replicates if cond.constant is not None else None  # robustness: the first replicates
        results = {role: {name: np.concatenate([by_arm[key][name][:keep] for key in keys]) for name in OUTPUTS}
                   for role, keys in roles.items()}  # fmt: skip
        try:
            verdict = check.judge(results)
        except Exception as exc:  # noqa: BLE001 - a judge that cannot read its runs fails its check, visibly
            verdict = Verdict(math.nan, math.nan, math.nan, False, f"could not be judged: {type(exc).__name__}: {exc}")
        rows.append({"check": check.id, "pattern": check.pattern, "kind": check.kind, "condition": cond.name,
                     "constant": cond.constant, "value": verdict.value, "low": verdict.low, "high": verdict.high,
                     "passed": verdict.passed, "statistic": check.statistic, "claim": check.claim,
                     "detail": verdict.detail})  # fmt: skip
    return pd.DataFrame(rows)


def morris_indices(plan: ValidationPlan, table: Any, design: dict[str, Any] | None = None,
                   outputs: Sequence[str] = ()) -> Any:  # fmt: skip
    """Morris mu* of each input of a design (default: the constants) on each output (replicate means), with the
    size an elementary effect would have from replicate noise alone."""
    import pandas as pd
    from SALib.analyze import morris as morris_analyze

    design = plan.morris if design is None else design
    if design is None:
        return None
    by_arm = arm_results(table, design["keys"])
    rows = []
    for output in outputs or MORRIS_OUTPUTS:
        y = np.array([np.nanmean(by_arm[k][output]) for k in design["keys"]])
        sd = np.array([np.nanstd(by_arm[k][output]) for k in design["keys"]])
        if not np.all(np.isfinite(y)):
            y = np.where(np.isfinite(y), y, np.nanmean(y))
        res = morris_analyze.analyze(design["problem"], design["X"], y, num_levels=MORRIS_LEVELS, seed=ANALYSIS_SEED,
                                     print_to_console=False)  # fmt: skip
        # an elementary effect is a difference of two replicate means over the step MORRIS_DELTA (SALib's
        # normalised units): replicate noise alone gives it a size of about sqrt(2) sd / sqrt(R) / delta
        noise = float(np.sqrt(2) * np.nanmean(sd) / np.sqrt(plan.replicates) / MORRIS_DELTA)
        for i, name in enumerate(design["problem"]["names"]):
            rows.append({"output": output, "constant": name, "mu_star": float(res["mu_star"][i]),
                         "mu_star_conf": float(res["mu_star_conf"][i]), "sigma": float(res["sigma"][i]),
                         "noise": noise})  # fmt: skip
    return pd.DataFrame(rows)


def structure_verdict(plan: ValidationPlan, table: Any) -> dict[str, Any] | None:
    """N-structure-morris: initial density and centralization rise above replicate noise for mean synergy."""
    if plan.structure is None:
        return None
    frame = morris_indices(plan, table, plan.structure, ("mean_synergy",)).set_index("constant")
    parts = {n: (frame.loc[n, "mu_star"], frame.loc[n, "noise"]) for n in ("initial_tie_density", "centralization",
                                                                          "lead_type")}  # fmt: skip
    ranks = frame["mu_star"].rank(ascending=False)
    passed = all(mu > noise for mu, noise in parts.values())
    detail = ("Morris over the structural, enabling and resource parameters (full schema ranges, mean synergy over "
              "60 months): " + ", ".join(f"{n} mu* {mu:.3g} (rank {int(ranks[n])} of {len(frame)}) against noise "
                                         f"{noise:.3g}" for n, (mu, noise) in parts.items())
              + " (pass: all three above the replicate noise)")  # fmt: skip
    return {"check": "N-structure-morris", "pattern": "network", "kind": "mechanism", "condition": "defaults",
            "constant": None, "value": min(mu / noise for mu, noise in parts.values()), "low": math.nan,
            "high": math.nan, "passed": bool(passed), "statistic": "mu* / replicate noise (the smallest of the three)",
            "claim": "The initial structure (density, centralization, who leads) still matters: its Morris mu* for "
                     "mean synergy rises above the replicate noise.", "detail": detail}  # fmt: skip


def run_validation(
    out: str | Path,
    *,
    quick: bool = False,
    replicates: int | None = None,
    only: Sequence[str] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    engine: Any = None,
    resume: bool = False,
    progress: Any = None,
    on_start: Any = None,
    write: bool = True,
) -> ValidationResult:
    """Run every arm (one sweep into OUT/sweep), judge every check, write the report.

    ``on_start`` is called (with the sweep's start) once every refusal is behind, as
    for any sweep (``experiments.sweep.run_sweep``).
    """
    from experiments.store import load_sweep, sweep_subfolder
    from experiments.sweep import run_sweep

    out = Path(out)
    plan = build_plan(quick=quick, replicates=replicates, only=only)
    sweep_plan = plan.sweep_plan()
    result = run_sweep(sweep_plan, sweep_subfolder(out), workers=workers, scheduler=scheduler, engine=engine,
                       resume=resume, progress=progress, on_start=on_start)  # fmt: skip
    table = load_sweep(sweep_subfolder(out))
    verdicts = judge(plan, table)
    extra = structure_verdict(plan, table)
    if extra is not None:
        import pandas as pd

        verdicts = pd.concat([verdicts, pd.DataFrame([extra])], ignore_index=True)
    morris = morris_indices(plan, table)
    files: list[Path] = []
    if write:
        from experiments.validation_report import write_report

        files = write_report(out, plan, verdicts, morris, table)
    return ValidationResult(out, verdicts, morris, files, result)

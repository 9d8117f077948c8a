"""The page's comparison: an ensemble of the current settings against the baseline scenario.

Replicate ``k`` of both arms uses the same seed (``experiments.engine.replicate_seeds``,
common random numbers), so the difference between the arms is paired. When the
loaded scenario carries a calibration posterior, replicate ``k`` of both arms also
uses posterior draw ``k`` (``model.scenarios.posterior_draws``): the baseline is the
draw, the current arm the draw with the visitor's changes on top. The runs go
through the experiments engine (serial, in the server's process: a default run
takes a few tens of milliseconds); the quantiles are those of the comparison
command (``experiments.compare.QUANTILES``: 5%, 50%, 95%).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.compare import QUANTILES
from experiments.engine import Engine, SerialEngine, replicate_seeds
from model.parameters import ParameterError, validate_parameters

MIN_REPLICATES, MAX_REPLICATES, DEFAULT_REPLICATES = 2, 100, 10
FAN = ("synergy", "access")


class EnsembleError(ValueError):
    """A comparison that cannot run (a bad replicate count, a posterior that cannot be drawn)."""


@dataclass(frozen=True)
class Arm:
    """One arm of the comparison: its words, and one parameter set per replicate."""

    label: str
    params: list[dict[str, Any]]


@dataclass(frozen=True)
class EnsemblePlan:
    """Both arms, the replicate seeds and the interventions replayed in the current arm."""

    baseline: Arm
    current: Arm
    seeds: list[int]
    interventions: list[tuple[int, str, Any]] = field(default_factory=list)
    posterior: bool = False

    @property
    def replicates(self) -> int:
        return len(self.seeds)

    @property
    def n_runs(self) -> int:
        return 2 * len(self.seeds)


@dataclass
class EnsembleResult:
    """Per arm and output, the runs' series (replicates x months); final access per run; the sentence."""

    plan: EnsemblePlan
    series: dict[str, dict[str, np.ndarray]]  # arm ('baseline', 'current') -> output -> (R, months)
    errors: list[str]

    def quantiles(self, arm: str, output: str) -> tuple[np.ndarray, np.ndarray]:
        """(months, quantiles (3 x months)) of one output of one arm."""
        runs = self.series[arm][output]
        return np.arange(runs.shape[1]), np.quantile(runs, QUANTILES, axis=0)

    def final(self, arm: str, output: str = "access") -> np.ndarray:
        return self.series[arm][output][:, -1]

    def in_words(self) -> str:
        """The difference in final access, stated in words (median and 90% interval of the paired difference)."""
        base, cur = self.final("baseline"), self.final("current")
        diff = cur - base
        lo, med, hi = (float(q) for q in np.quantile(diff, QUANTILES))
        mb, mc = float(np.median(base)), float(np.median(cur))
        higher = int((diff > 1e-12).sum())
        lower = int((diff < -1e-12).sum())
        n = len(diff)
        months_b = self.series["baseline"]["access"].shape[1] - 1
        months_c = self.series["current"]["access"].shape[1] - 1
        when = f"month {months_c}" if months_b == months_c else f"the end (month {months_c}; baseline month {months_b})"
        if lo > 0:
            verdict = f"higher with your settings, by {_pts(med)} (90% of pairs: {_pts(lo)} to {_pts(hi)} higher)"
        elif hi < 0:
            verdict = f"lower with your settings, by {_pts(-med)} (90% of pairs: {_pts(-hi)} to {_pts(-lo)} lower)"
        else:
            verdict = f"not clearly different (90% of pairs: from {_signed(lo)} to {_signed(hi)})"
        source = "posterior draws" if self.plan.posterior else "runs"
        return (
            f"Access at {when}: {_pct(mc)} of people with your settings against {_pct(mb)} in the baseline "
            f"(medians of {n} {source} each). Access is {verdict}; higher in {higher} of {n} pairs, lower in {lower}."
        )


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _pts(x: float) -> str:
    return f"{100 * abs(x):.1f} points"


def _signed(x: float) -> str:
    return f"{100 * x:+.1f} points"


def parse_replicates(text: Any) -> int:
    """The number of replicates from a field (EnsembleError with what is allowed)."""
    s = str(text).strip()
    if not (s.isascii() and s.isdigit()) or not MIN_REPLICATES <= int(s) <= MAX_REPLICATES:
        raise EnsembleError(f"{s!r} is not allowed: a whole number from {MIN_REPLICATES} to {MAX_REPLICATES}")
    return int(s)


def make_plan(
    baseline: dict[str, Any],
    current: dict[str, Any],
    replicates: int,
    root_seed: int,
    *,
    draws: list[dict[str, Any]] | None = None,
    changed: dict[str, Any] | None = None,
    interventions: list[tuple[int, str, Any]] | None = None,
    baseline_label: str = "Baseline",
    current_label: str = "Your settings",
) -> EnsemblePlan:
    """The comparison: ``replicates`` paired runs of the baseline and the current settings.

    With ``draws`` (posterior draws, complete parameter sets, one per replicate), the
    baseline runs draw k and the current arm runs draw k with ``changed`` on top.
    """
    seeds = replicate_seeds(root_seed, replicates)
    if draws is not None:
        if len(draws) < replicates:
            raise EnsembleError(f"{len(draws)} posterior draws for {replicates} replicates")
        try:
            cur = [validate_parameters({**d, **(changed or {})}) for d in draws[:replicates]]
        except ParameterError as exc:
            raise EnsembleError(f"your settings do not fit a posterior draw: {exc}") from None
        base = [validate_parameters(d) for d in draws[:replicates]]
    else:
        base = [validate_parameters(baseline)] * replicates
        cur = [validate_parameters(current)] * replicates
    return EnsemblePlan(
        Arm(baseline_label, base), Arm(current_label, cur), seeds, list(interventions or []), posterior=draws is not None
    )


def run_one(item: tuple[str, int, dict[str, Any], int, list[tuple[int, str, Any]]]) -> tuple[str, int, dict]:
    """One run of the comparison: (arm, replicate, params, seed, interventions) -> (arm, replicate, series)."""
    from model.model import PartnershipModel

    arm, k, params, seed, interventions = item
    model = PartnershipModel(seed=seed, **params)
    for month, kind, arg in sorted(interventions, key=lambda t: t[0]):
        if month > model.steps:
            model.run(month - model.steps)
        if not model.running:
            break
        _apply(model, kind, arg)
    model.run()
    series = model.series()
    return arm, k, {name: series[name] for name in FAN}


def _apply(model: Any, kind: str, arg: Any) -> None:
    """Replay one intervention; one that cannot happen in this run (no empty seat) is skipped, as on the page."""
    try:
        if kind == "shock":
            model.apply_shock(arg)
        elif kind == "coordinator":
            model.add_coordinator()
        elif kind == "key_partner":
            model.remove_key_partner()
        elif kind == "recruit":
            model.recruit_member(arg)
    except ParameterError:
        pass


def run_ensemble(
    plan: EnsemblePlan,
    progress: Callable[[int, int], Any] | None = None,
    cancelled: Callable[[], bool] | None = None,
    engine: Engine | None = None,
) -> EnsembleResult:
    """Run both arms (baseline first, replicate by replicate); ``progress(done, total)`` after each run."""
    items = []
    for k, seed in enumerate(plan.seeds):
        items.append(("baseline", k, plan.baseline.params[k], seed, []))
        items.append(("current", k, plan.current.params[k], seed, plan.interventions))
    engine = engine or SerialEngine()
    collected: dict[str, dict[int, dict]] = {"baseline": {}, "current": {}}
    errors: list[str] = []
    for done, (item, result, error) in enumerate(engine.map(_safe_run, items), start=1):
        if cancelled is not None and cancelled():
            raise EnsembleError("the comparison was stopped")
        arm, k = item[0], item[1]
        if error or isinstance(result, str):
            errors.append(f"{arm} replicate {k}: {error or result}")
        else:
            collected[arm][k] = result[2]
        if progress is not None:
            progress(done, len(items))
    paired = sorted(set(collected["baseline"]) & set(collected["current"]))  # pairs where both runs finished
    if not paired:
        raise EnsembleError("no pair of runs finished: " + "; ".join(errors[:3]))
    series = {
        arm: {name: np.vstack([runs[k][name] for k in paired]) for name in FAN} for arm, runs in collected.items()
    }
    if math.prod(series["baseline"]["access"].shape) == 0:
        raise EnsembleError("the runs produced no months")
    return EnsembleResult(plan, series, errors)


def _safe_run(item: tuple) -> tuple | str:
    try:
        return run_one(item)
    except Exception as exc:  # noqa: BLE001 - a failed run is reported on the page, not raised
        return f"{type(exc).__name__}: {exc}"

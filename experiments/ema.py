"""The model as the EMA workbench takes it: a plain function of keyword parameters and a seed, and a ready Model.

    from ema_workbench import SequentialEvaluator, perform_experiments
    from experiments.ema import ema_model

    model = ema_model(constants={"steps": 36})          # uncertainties and levers from the schema
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=100, policies=4, evaluator=evaluator)

The split follows the schema's levels (docs/ODD.md, section 2): what a partnership
decides about itself (structure: who sits at the table and how it is organised;
operational: leadership, coordination, shared decisions, support of patient partners,
how often it meets) are *levers*; the relations it cannot set directly (interpersonal:
communication, trust, power), the health system around it and the resources its members
bring are *uncertainties*. The ranges are those of the shipped Morris screening
(``experiments/configs/structures_morris.toml``), which keeps sizes and rates in a
realistic band; any range can be overridden. Each experiment runs with the seed given
(default 0), so experiments differ only by their inputs (common random numbers, as in
phc-synergy's sweeps); ``replications=R`` repeats each with the sweep's replicate seeds.

The EMA workbench is an optional extra (``pip install -e '.[ema]'``): only
:func:`ema_model` imports it; :func:`run_model` needs nothing but the model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from model.outputs import SUMMARY_OUTPUTS
from model.parameters import PARAMETERS

LEVER_LEVELS = ("structure", "operational")
UNCERTAINTY_LEVELS = ("interpersonal", "system", "resources")
DEFAULT_OUTCOMES = ("final_access", "access_gain", "final_equity_gap", "mean_synergy", "retention")
RANGES_SPEC = Path(__file__).parent / "configs" / "structures_morris.toml"
NOT_BY_DEFAULT = ("shock_month", "shock_severity")  # a planned shock is a scenario, and its month depends on steps


def run_model(seed: int = 0, **parameters: Any) -> dict[str, float]:
    """One run of the partnership model: every run-summary output as a float (NaN where undefined).

    ``parameters`` are the schema's (``phc-synergy params``); the rest keep their defaults.
    The same seed and parameters give the same outputs, in any process.
    """
    from model.model import PartnershipModel

    summary = PartnershipModel(seed=seed, **parameters).run()
    return {name: _float(summary[name]) for name in SUMMARY_OUTPUTS}


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def default_ranges() -> dict[str, tuple[Any, Any]]:
    """(low, high) of each parameter the shipped Morris screening varies."""
    from experiments.spec import load_spec

    return {v.name: (v.low, v.high) for v in load_spec(RANGES_SPEC).varied}


def split_by_level(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(uncertainties, levers) among ``names``, by the schema's levels; other levels are in neither."""
    names = list(names)
    return (
        [n for n in names if PARAMETERS[n].level in UNCERTAINTY_LEVELS],
        [n for n in names if PARAMETERS[n].level in LEVER_LEVELS],
    )


def ema_model(
    name: str = "phcsynergy",  # the workbench takes letters and digits only
    uncertainties: Iterable[str] | None = None,
    levers: Iterable[str] | None = None,
    outcomes: Iterable[str] = DEFAULT_OUTCOMES,
    ranges: Mapping[str, tuple[Any, Any]] | None = None,
    constants: Mapping[str, Any] | None = None,
    seed: int = 0,
    replications: int | None = None,
):
    """An ``ema_workbench.Model`` (or ``ReplicatorModel``) of the partnership model.

    ``uncertainties`` and ``levers`` are parameter names (default: the Morris screening's
    inputs but the planned shock, split by level); ``ranges`` overrides their (low, high), which default to the
    screening's and otherwise to the schema's bounds. Integer parameters become
    ``IntegerParameter``s, the rest ``RealParameter``s. ``constants`` fixes other
    parameters (``{"steps": 36}``). ``outcomes`` are run-summary outputs (ScalarOutcome);
    with ``replications=R`` each experiment runs with the seeds of replicates 0..R-1 of
    ``seed`` (as a sweep's root seed) and each outcome is the mean over them.
    Raises ValueError naming a parameter or output that is not the model's.
    """
    import numpy as np

    from experiments.discover import _quiet_ema
    from experiments.engine import replicate_seeds

    with _quiet_ema():
        from ema_workbench import (
            Constant,
            IntegerParameter,
            Model,
            RealParameter,
            ReplicatorModel,
            ScalarOutcome,
        )

    spans = default_ranges()
    if uncertainties is None or levers is None:
        default_u, default_l = split_by_level(n for n in spans if n not in NOT_BY_DEFAULT)
        uncertainties = default_u if uncertainties is None else uncertainties
        levers = default_l if levers is None else levers
    uncertainties, levers, outcomes = list(uncertainties), list(levers), list(outcomes)
    constants = dict(constants or {})
    spans.update(ranges or {})
    for field, names in (("uncertainties", uncertainties), ("levers", levers), ("constants", list(constants))):
        for n in names:
            if n not in PARAMETERS or (field != "constants" and not PARAMETERS[n].sweepable):
                allowed = "a numeric parameter of the schema" if field != "constants" else "a parameter of the schema"
                raise ValueError(f"{field}: {n!r} is not allowed: {allowed} (phc-synergy params)")
    both = set(uncertainties) & set(levers) | (set(uncertainties) | set(levers)) & set(constants)
    if both:
        raise ValueError(f"{sorted(both)} given twice: a parameter is an uncertainty, a lever or a constant")
    for n in outcomes:
        if n not in SUMMARY_OUTPUTS:
            raise ValueError(f"outcomes: {n!r} is not a run-summary output: one of {', '.join(SUMMARY_OUTPUTS)}")

    def parameter(n: str):
        p = PARAMETERS[n]
        low, high = spans.get(n, (p.low, p.high))
        p.validate(low, where=f"range of {n}")
        p.validate(high, where=f"range of {n}")
        if p.kind is int:
            return IntegerParameter(n, int(low), int(high))
        return RealParameter(n, float(low), float(high))

    if replications is None:
        model = Model(name, function=run_model)
        model.constants = [Constant("seed", int(seed)), *(Constant(k, v) for k, v in constants.items())]
        model.outcomes = [ScalarOutcome(n) for n in outcomes]
    else:
        model = ReplicatorModel(name, function=run_model)
        model.replications = [{"seed": s} for s in replicate_seeds(int(seed), int(replications))]
        model.constants = [Constant(k, v) for k, v in constants.items()]
        model.outcomes = [ScalarOutcome(n, function=np.mean) for n in outcomes]
    model.uncertainties = [parameter(n) for n in uncertainties]
    model.levers = [parameter(n) for n in levers]
    return model

"""The EMA workbench adapter (experiments/ema.py) run by the real workbench, and Mesa's conventions (rng=, batch_run)."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.ema import default_ranges, ema_model, run_model, split_by_level
from model.model import PartnershipModel
from model.parameters import ParameterError

ema = pytest.importorskip("ema_workbench", reason="the 'ema' extra (make installs it)")


def _perform(model, scenarios, policies):
    from ema_workbench import SequentialEvaluator, perform_experiments

    with SequentialEvaluator(model) as evaluator:
        return perform_experiments(model, scenarios=scenarios, policies=policies, evaluator=evaluator)


def test_the_workbench_runs_the_model_and_each_experiment_replays_with_run_model():
    model = ema_model(constants={"steps": 12, "population_size": 200})
    names = [p.name for p in (*model.uncertainties, *model.levers)]
    assert set(names) == set(default_ranges()) - {"shock_month", "shock_severity"}
    assert {p.name for p in model.levers} >= {"leadership", "coordination", "seats", "meeting_interval"}
    assert {p.name for p in model.uncertainties} >= {"communication", "external_support", "individual_turnover"}
    experiments, outcomes = _perform(model, 4, 2)
    assert len(experiments) == 8 and set(outcomes) == {"final_access", "access_gain", "final_equity_gap",
                                                        "mean_synergy", "retention"}  # fmt: skip
    assert experiments["seats"].dtype == np.int64 and experiments["seats"].between(6, 40).all()
    for i in (0, 5):
        row = experiments.iloc[i]
        replay = run_model(seed=0, steps=12, population_size=200, **{n: row[n] for n in names})
        assert replay["final_access"] == outcomes["final_access"][i]
        assert replay["mean_synergy"] == outcomes["mean_synergy"][i]


def test_replications_use_the_sweeps_replicate_seeds_and_average():
    from experiments.engine import replicate_seeds

    model = ema_model(uncertainties=["trust_gain"], levers=["leadership"], constants={"steps": 12}, seed=77,
                      replications=3)  # fmt: skip
    experiments, outcomes = _perform(model, 2, 1)
    row = experiments.iloc[1]
    runs = [run_model(seed=s, steps=12, trust_gain=row["trust_gain"], leadership=row["leadership"])
            for s in replicate_seeds(77, 3)]  # fmt: skip
    assert outcomes["final_access"][1] == pytest.approx(np.mean([r["final_access"] for r in runs]), abs=0)


def test_run_model_is_a_plain_reproducible_function():
    a, b = run_model(seed=3, steps=12, leadership=0.9), run_model(seed=3, steps=12, leadership=0.9)
    assert a == b and all(isinstance(v, float) for v in a.values())
    assert np.isnan(a["recovery_months"])  # undefined (no shock): NaN, not None
    assert run_model(seed=4, steps=12, leadership=0.9) != a


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"uncertainties": ["trust_gian"]}, "uncertainties: 'trust_gian' is not allowed"),
        ({"levers": ["composition"]}, "levers: 'composition' is not allowed: a numeric parameter"),
        ({"uncertainties": ["leadership"], "levers": ["leadership"]}, "given twice"),
        ({"outcomes": ["final_acess"]}, "outcomes: 'final_acess' is not a run-summary output"),
        ({"ranges": {"leadership": (0.2, 1.5)}}, "parameter 'leadership' = 1.5 is not allowed"),
    ],
)
def test_bad_adapter_arguments_name_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ema_model(**kwargs)


def test_levels_split_levers_from_uncertainties():
    u, levers = split_by_level(["leadership", "external_support", "seats", "communication", "steps"])
    assert u == ["external_support", "communication"] and levers == ["leadership", "seats"]


def test_mesa_rng_is_taken_as_the_seed():
    assert PartnershipModel(rng=11, steps=6).run() == PartnershipModel(seed=11, steps=6).run()
    first, second = (PartnershipModel(rng=np.random.default_rng(5), steps=6) for _ in range(2))
    assert first.seed == second.seed and first.run() == second.run()  # recorded: the run replays
    sequence = PartnershipModel(rng=np.random.SeedSequence(5), steps=6)
    assert 0 <= sequence.seed < 2**63
    with pytest.raises(ParameterError, match="parameter 'rng'.*not both seed and rng"):
        PartnershipModel(seed=1, rng=2)
    with pytest.raises(ParameterError, match="parameter 'rng' = 'abc'"):
        PartnershipModel(rng="abc")


def test_mesa_batch_run_gives_one_reproducible_run_per_seed():
    import mesa

    def batch():
        return mesa.batch_run(PartnershipModel, parameters={"seed": [1, 2], "leadership": [0.2, 0.8], "steps": 12},
                              max_steps=12, display_progress=False)  # fmt: skip

    rows = batch()
    assert len(rows) == 4 and rows == batch()
    by_key = {(r["seed"], r["leadership"]): r for r in rows}
    series = PartnershipModel(seed=2, leadership=0.8, steps=12)
    series.run()
    # Mesa 3.3's batch_run reads the collector's row model.steps - 1 (mesa issue #2514): month 11 here
    row = by_key[(2, 0.8)]
    assert row["step"] == 11 and row["synergy"] == series.series()["synergy"][11]

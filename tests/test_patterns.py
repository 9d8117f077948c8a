"""The patterns P1-P5 of MODEL.md section 5, each over several replicates with common random numbers.

Replicate k of every arm uses seed k, so arms differ only by their parameters;
each pattern is judged on medians or paired differences, never on one seed.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import PartnershipModel

REPLICATES = 12
SMALL = {"population_size": 1000}  # access is a share; a smaller cohort keeps the tests fast


def ensemble(replicates: int = REPLICATES, **parameters) -> list[PartnershipModel]:
    """Run one arm: replicate k uses seed k (common random numbers across arms)."""
    models = []
    for seed in range(replicates):
        model = PartnershipModel(seed=seed, **{**SMALL, **parameters})
        model.run()
        models.append(model)
    return models


def outcome(models, name: str) -> np.ndarray:
    return np.array([m.summary()[name] for m in models], dtype=float)


@pytest.fixture(scope="module")
def baseline():
    return ensemble()


def test_p1_synergy_reaches_half_its_rise_months_before_access(baseline):
    lags = outcome(baseline, "synergy_access_lag")
    assert np.isfinite(lags).sum() >= REPLICATES - 1, "synergy and access should both rise in the default scenario"
    assert np.nanmedian(lags) >= 3, f"median lag {np.nanmedian(lags)} months"
    assert np.mean(lags[np.isfinite(lags)] > 0) >= 0.75


@pytest.mark.parametrize(
    "level, weakened",
    [
        ("interpersonal", {"communication": 0.3, "trust_gain": 0.07}),
        ("operational", {"leadership": 0.2, "coordination": 0.2, "decision_inclusiveness": 0.2}),
        ("system", {"external_support": 0.2}),
    ],
)
def test_p2_weakening_enabling_processes_lowers_synergy_and_access(baseline, level, weakened):
    weak = ensemble(**weakened)
    for name in ("mean_synergy", "final_access"):
        diff = outcome(baseline, name) - outcome(weak, name)
        assert np.median(diff) > 0, f"{level}: {name} not lowered (median paired difference {np.median(diff):.4f})"
        assert np.mean(diff > 0) >= 0.75, f"{level}: {name} lowered in only {np.mean(diff > 0):.0%} of pairs"


def test_p3_diverse_table_integrates_more_than_homogeneous_one_when_resources_complement():
    diverse = ensemble(type_diversity=1.0, resource_complementarity=0.8)
    homogeneous = ensemble(type_diversity=0.0, resource_complementarity=0.8)
    integration = [np.array([m.series()["resource_integration"][1:].mean() for m in arm]) for arm in (diverse, homogeneous)]
    assert np.median(integration[0] - integration[1]) > 0.05
    synergy_gap = outcome(diverse, "mean_synergy") - outcome(homogeneous, "mean_synergy")
    assert np.mean(synergy_gap > 0) >= 0.9


def test_p3_complementarity_is_what_makes_diversity_integrate_more():
    """With substitutable resources the same tables integrate about equally; with complements they do not."""
    advantage = {}
    for complementarity in (0.0, 0.8):
        arms = [
            ensemble(6, type_diversity=d, resource_complementarity=complementarity, synergy_feedback=0.0)
            for d in (1.0, 0.0)
        ]
        means = [np.array([m.series()["resource_integration"][1:].mean() for m in arm]) for arm in arms]
        advantage[complementarity] = np.median(means[0] / np.maximum(means[1], 1e-9))
    assert advantage[0.8] > 1.5 * advantage[0.0], advantage


def test_p4_turning_synergy_feedback_off_lowers_engagement_and_retention(baseline):
    off = ensemble(synergy_feedback=0.0)
    engagement = outcome(baseline, "mean_engagement") - outcome(off, "mean_engagement")
    assert np.median(engagement) > 0.05 and np.mean(engagement > 0) >= 0.9
    retention = outcome(baseline, "retention") - outcome(off, "retention")
    assert np.median(retention) >= 0 and retention.mean() > 0, retention


def _shock_recovery_months(replicates: int, shock_month: int, **parameters) -> tuple[float, float]:
    """Mean months the shock's synergy deficit lasts: area under the mean deficit curve over its peak.

    Each replicate is run twice with the same seed, with and without the shock, so
    the deficit (calm minus shocked synergy, mean over replicates) measures the shock
    alone. For a deficit that decays exponentially from its peak, area / peak is its
    time constant. Returns (months, adaptive capacity before the shock).
    """
    deficits, adaptive = [], []
    for seed in range(replicates):
        common = {**SMALL, "steps": shock_month + 54, **parameters}
        calm = PartnershipModel(seed=seed, **common)
        calm.run()
        hit = PartnershipModel(seed=seed, shock_month=shock_month, shock_severity=0.6, **common)
        hit.run()
        deficits.append(calm.series()["synergy"] - hit.series()["synergy"])
        adaptive.append(calm.series()["adaptive_capacity"][shock_month - 1])
    deficit = np.mean(deficits, axis=0)[shock_month:]
    assert deficit.max() > 0.01, "the shock should lower synergy"
    return float(deficit.sum() / deficit.max()), float(np.mean(adaptive))


def test_p5_higher_adaptive_capacity_recovers_pre_shock_synergy_faster():
    high_months, high_capacity = _shock_recovery_months(24, 24)
    low_months, low_capacity = _shock_recovery_months(24, 24, seats=8)  # fewer holders of each kind
    assert high_capacity > low_capacity + 0.15
    assert high_months < low_months - 3, (high_months, low_months)

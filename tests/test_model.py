"""Model invariants (property tests), reproducibility, bad parameters, and the Mesa face."""

from __future__ import annotations

import gc
import math
import weakref
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import OUTPUTS, PARAMETERS, ParameterError, PartnershipModel
from model.dynamics import half_rise_month
from model.kernels import power_mean

SHARES = [
    "synergy", "resource_integration", "atmosphere", "stakeholder_benefit", "adaptive_capacity", "mean_trust",
    "conflict", "engagement", "attendance", "implementation", "access", "access_approachability",
    "access_acceptability", "access_availability", "access_affordability", "access_appropriateness",
]  # fmt: skip


def _value(p):
    if p.kind is int:
        return st.integers(int(p.low), int(p.high))
    return st.floats(p.low, p.high, allow_nan=False)


# keep property runs small: bounded seats, cohort and horizon; everything else over its full range
_SMALLER = {"seats": (3, 60), "population_size": (100, 1500), "steps": (1, 36), "committee_size": (4, 60)}


@st.composite
def valid_parameters(draw):
    params = {}
    for name, p in PARAMETERS.items():
        if not p.sweepable:
            continue
        if name in _SMALLER:
            params[name] = draw(st.integers(*_SMALLER[name]))
        elif name != "shock_month":
            params[name] = draw(_value(p))
    params["shock_month"] = draw(st.integers(0, params["steps"]))
    return params


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=valid_parameters(), seed=st.integers(0, 2**32))
def test_outputs_stay_within_their_ranges_for_any_valid_parameters(params, seed):
    model = PartnershipModel(seed=seed, **params)
    summary = model.run()
    series = model.series()
    for name in OUTPUTS:
        assert not np.isnan(series[name]).any(), name
    for name in SHARES:
        assert ((series[name] >= 0) & (series[name] <= 1)).all(), (name, series[name].min(), series[name].max())
    assert (series["synergy_psat"] >= 1).all() and (series["synergy_psat"] <= 5).all()
    assert (series["active_seats"] <= params["seats"]).all()
    assert (series["cumulative_members"] >= series["active_seats"]).all()
    assert (np.diff(series["cumulative_members"]) >= 0).all()
    assert (np.abs(series["equity_gap"]) <= 1).all()
    assert 0 <= summary["retention"] <= 1
    assert len(model.stakeholders) == series["active_seats"][-1]


def _series(seed, **params):
    model = PartnershipModel(seed=seed, population_size=800, **params)
    model.run()
    return model.series()


def test_same_seed_and_parameters_give_identical_series():
    a, b = _series(7, shock_month=20), _series(7, shock_month=20)
    for name in OUTPUTS:
        np.testing.assert_array_equal(a[name], b[name])


def test_another_seed_gives_a_different_series():
    a, b = _series(7), _series(8)
    assert any(not np.array_equal(a[name], b[name]) for name in OUTPUTS)


def test_runs_in_worker_processes_are_bit_identical_to_serial_runs():
    serial = [_series(seed)["synergy"] for seed in (1, 2, 3)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        parallel = [s["synergy"] for s in pool.map(_series, (1, 2, 3))]
    for s, p in zip(serial, parallel, strict=True):
        assert s.tobytes() == p.tobytes()


def test_seed_is_recorded_even_when_not_given():
    model = PartnershipModel(population_size=200, steps=3)
    summary = model.run()
    assert isinstance(summary["seed"], int)
    replay = PartnershipModel(seed=summary["seed"], population_size=200, steps=3)
    assert replay.run()["final_access"] == summary["final_access"]


def test_datacollector_holds_the_same_series_as_the_model():
    model = PartnershipModel(seed=3, population_size=500, steps=24)
    model.run()
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame.columns) == list(OUTPUTS)
    assert len(frame) == 25
    np.testing.assert_allclose(frame["synergy"].to_numpy(), model.series()["synergy"])


def test_summary_carries_seed_and_every_parameter():
    summary = PartnershipModel(seed=5, population_size=300, steps=6).run()
    assert summary["seed"] == 5
    for name in PARAMETERS:
        assert name in summary


@pytest.mark.parametrize(
    "params, field",
    [
        ({"seats": 2}, "seats"),
        ({"seats": 2.5}, "seats"),
        ({"seats": "many"}, "seats"),
        ({"leadership": 1.5}, "leadership"),
        ({"leadership": -0.1}, "leadership"),
        ({"leadership": float("nan")}, "leadership"),
        ({"leadership": True}, "leadership"),
        ({"leadership": None}, "leadership"),
        ({"steps": 0}, "steps"),
        ({"shock_month": 70}, "shock_month"),
        ({"teleportation": 1}, "teleportation"),
        ({"composition": {"wizard": 1}}, "composition.wizard"),
        ({"composition": {"clinician": -1}}, "composition.clinician"),
        ({"composition": {"clinician": 0}}, "composition"),
        ({"composition": [1, 2]}, "composition"),
    ],
)
def test_bad_parameters_are_refused_with_the_field_value_and_what_is_allowed(params, field):
    with pytest.raises(ParameterError) as err:
        PartnershipModel(seed=1, **params)
    assert err.value.name == field
    message = str(err.value)
    assert f"'{field}'" in message and "not allowed" in message


@pytest.mark.parametrize("seed", [-1, 1.5, "42", True])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(ParameterError, match="seed"):
        PartnershipModel(seed=seed)


def test_numeric_strings_and_integral_floats_are_accepted_for_integers():
    model = PartnershipModel(seed=1, seats="12", steps=4.0, population_size=300)
    assert model.params["seats"] == 12 and model.params["steps"] == 4


def test_stakeholders_are_the_readable_face_of_the_arrays():
    model = PartnershipModel(seed=2, population_size=300, steps=30, individual_turnover=0.1)
    model.run()
    people = model.stakeholders
    assert len(people) == model.observed["active_seats"]
    assert len(model.agents) == len(people)  # departed people are removed from Mesa's registry
    for person in people:
        assert person.active and 0 <= person.engagement <= 1 and 0 <= person.trust <= 1
        assert set(person.endowment) == {"financial", "expertise", "information", "connections", "legitimacy",
                                         "convening", "in_kind"}  # fmt: skip
    graph = model.network()
    assert sorted(graph.nodes) == list(range(model.params["seats"]))
    states = {graph.nodes[n]["state"] for n in graph.nodes}
    assert states <= {"occupied", "vacant", "closed"}
    assert all(0 < d["weight"] <= 1 for *_, d in graph.edges(data=True))
    assert model.cumulative_members > len(people)


def test_finished_models_are_freed():
    """Mesa 3.3.1's class-level Agent._ids keeps models alive; our agents must not."""
    refs = []
    for seed in range(5):
        model = PartnershipModel(seed=seed, population_size=200, steps=12, individual_turnover=0.1)
        model.run(6)
        model.network()  # the Mesa agents are made when looked at
        model.run()
        assert len(model.agents) > 0
        refs.append(weakref.ref(model))
        del model
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


def test_power_mean_is_the_mean_for_substitutes_and_penalises_imbalance_for_complements():
    balanced, skewed = np.array([1.0, 1.0, 1.0]), np.array([2.5, 0.25, 0.25])
    assert power_mean(balanced, 1.0) == pytest.approx(1.0)
    assert power_mean(skewed, 1.0) == pytest.approx(1.0)
    assert power_mean(skewed, -4.0) < 0.4
    assert power_mean(skewed, 0.0) == pytest.approx(math.exp(np.log(skewed).mean()))


def test_half_rise_month():
    assert half_rise_month(np.array([0, 0, 1, 2, 2, 2, 2])) == 2
    assert math.isnan(half_rise_month(np.array([1.0, 0.9, 0.8, 0.7])))


def test_interventions_change_the_partnership_and_are_recorded():
    model = PartnershipModel(seed=4, population_size=300, steps=40)
    model.run(10)
    before = model.observed["active_seats"]
    seat = model.remove_key_partner()
    assert model.seat_state(seat) == "vacant" and model.observed["active_seats"] == before  # observed next month
    assert len(model.stakeholders) == before - 1
    new_seat = model.recruit_member("patient_partner")
    assert model.network().nodes[new_seat]["stakeholder_type"] == "patient_partner"
    model.add_coordinator()
    assert model.params["coordination"] == 0.9
    model.apply_shock(0.5)
    model.run()
    assert [label.split()[0] for _, label in model.events] == ["key", "patient_partner", "coordinator", "shock"]
    assert all(month == 10 for month, _ in model.events)
    with pytest.raises(ParameterError, match="seats"):
        model.set_parameter("seats", 30)
    with pytest.raises(ParameterError, match="stakeholder_type"):
        model.recruit_member("astronaut")


def test_recruiting_into_a_full_table_is_refused():
    model = PartnershipModel(seed=1, population_size=200, steps=3)
    with pytest.raises(ParameterError, match="every seat is taken"):
        model.recruit_member("clinician")


def test_shares_stay_in_range_at_the_extremes_of_every_bound():
    """Every enabling process at its maximum (the strongest trust gain) and at its minimum."""
    for extreme in ("high", "low"):
        params = {}
        for name, p in PARAMETERS.items():
            if p.sweepable and name not in ("seats", "population_size", "steps", "shock_month", "committee_size"):
                params[name] = p.high if extreme == "high" else p.low
        model = PartnershipModel(seed=1, population_size=300, steps=48, shock_month=24, **params)
        model.run()
        series = model.series()
        for name in SHARES:
            assert ((series[name] >= 0) & (series[name] <= 1)).all(), (extreme, name, series[name].max())
        trust = model.trust
        assert (trust <= 1).all() and (trust >= 0).all()


def test_large_partnerships_work_in_committees_with_a_chair_each():
    model = PartnershipModel(seed=1, seats=100, committee_size=12, population_size=300, steps=6, centralization=1.0)
    assert model.n_groups > 1 and model.group_size <= 13
    chairs = model.seats["lead"].reshape(model.n_groups, model.group_size).sum(axis=1)
    assert (chairs == 1).all()  # one chair in every committee
    model.run()
    assert model.observed["active_seats"] <= 100


_JIT_PROBE = """
import json, sys
from model import PartnershipModel
m = PartnershipModel(seed=5, steps=24, shock_month=10, meeting_interval=2, population_size=300)
m.run(12)
m.remove_key_partner()
m.recruit_member()
m.run()
json.dump({k: v.tolist() for k, v in m.series().items()}, sys.stdout)
"""


def test_compiled_kernels_compute_what_their_python_source_says():
    """The same run with numba's compiler off (the kernels as plain Python) gives the same series.

    Counts are identical; shares agree to float rounding (the compiled exp and pow may
    differ from Python's in the last bits).
    """
    import json
    import os
    import subprocess
    import sys

    runs = []
    for disable in ("1", "0"):
        env = {**os.environ, "NUMBA_DISABLE_JIT": disable}
        out = subprocess.run([sys.executable, "-c", _JIT_PROBE], capture_output=True, text=True, env=env, check=True)
        runs.append(json.loads(out.stdout))
    python, compiled = runs
    for name in ("active_seats", "cumulative_members", "departures"):
        assert python[name] == compiled[name], name
    for name in OUTPUTS:
        assert np.allclose(python[name], compiled[name], rtol=0, atol=1e-6), name
    assert np.ptp(compiled["synergy"]) > 0.01  # the run did something


def test_meeting_draws_from_raw_words_equal_numpys_own_draws():
    """kernels.meeting_draws gives what Generator.random gives, over meetings with an odd count of singles."""
    from model.kernels import meeting_draws

    ours, theirs = np.random.default_rng(11), np.random.default_rng(11)
    held = -1
    for n_attend, n_form in ((7, 5), (3, 4), (0, 9), (5, 1), (4, 0), (6, 6)):
        u_attend, u_form = np.empty(n_attend), np.empty(n_form, dtype=np.float32)
        halves = n_form - (held >= 0)
        words = ours.bit_generator.random_raw(n_attend + (halves + 1) // 2)
        held = meeting_draws(words, held, u_attend, u_form)
        assert u_attend.tobytes() == theirs.random(n_attend).tobytes()
        assert u_form.tobytes() == theirs.random(n_form, dtype=np.float32).tobytes()


def test_need_ranks_are_the_ranks_of_a_stable_sort():
    from model.kernels import need_ranks

    ability = np.random.default_rng(3).integers(0, 16, size=(5, 500)).astype(np.uint16)  # many equal abilities
    order = np.argsort(ability, axis=1, kind="stable")
    expected = np.empty_like(order)
    np.put_along_axis(expected, order, np.arange(500)[None, :], axis=1)
    assert np.array_equal(need_ranks(ability, 16), expected)


def test_recruited_types_follow_the_cumulative_composition():
    from model.kernels import recruited_types

    cumulative = np.cumsum([0.2, 0.0, 0.3, 0.5])  # a type with no share is never drawn
    u = np.concatenate([np.random.default_rng(4).random(2000), cumulative, [0.0, 0.2, 1.0]])  # edges; 1.0 is rounding
    kinds = recruited_types(u, cumulative)
    assert np.array_equal(kinds, np.minimum(np.searchsorted(cumulative, u, side="right"), cumulative.size - 1))
    assert 1 not in kinds and kinds.max() == 3
    shares = np.bincount(kinds[:2000], minlength=4) / 2000
    assert np.allclose(shares, [0.2, 0.0, 0.3, 0.5], atol=0.04)


def test_uniform_from_a_raw_word_is_numpys_random():
    from model.kernels import uniform

    ours, theirs = np.random.default_rng(5), np.random.default_rng(5)
    words = ours.bit_generator.random_raw(3 * 7).reshape(3, -1)
    expected = theirs.random((3, 7))
    assert all(uniform(words[i, j]) == expected[i, j] for i in range(3) for j in range(7))

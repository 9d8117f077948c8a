"""Scenarios that carry a posterior (calibrated.toml) and ensembles over their draws."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.compare import comparison_plan, from_scenarios
from experiments.engine import replicate_seeds
from experiments.spec import load_spec
from model.scenarios import ScenarioError, load_scenario, posterior_draws, read_scenario


def test_posterior_is_read_and_normalised(calibrated: Path) -> None:
    scenario = read_scenario(calibrated)
    post = scenario.posterior
    assert post is not None and post.size == 3
    assert post.weights == pytest.approx([0.25, 0.75, 0.0])
    # a single run uses the weighted median of what [parameters] does not set
    assert scenario.overrides["individual_turnover"] == 0.04
    assert load_scenario(calibrated)["trust_gain"] == 0.15


def test_draws_follow_the_weights_and_the_seed(calibrated: Path) -> None:
    draws = posterior_draws(calibrated, 400, seed=7)
    assert draws == posterior_draws(calibrated, 400, seed=7)
    turnover = np.array([d["individual_turnover"] for d in draws])
    assert set(turnover) <= {0.01, 0.04}  # the particle of weight 0 is never drawn
    assert 0.65 < np.mean(turnover == 0.04) < 0.85
    assert all(d["seats"] == 10 for d in draws)  # the rest of the scenario comes along
    assert posterior_draws(calibrated, 50, seed=8) != posterior_draws(calibrated, 50, seed=7)


def test_weights_are_relative_so_huge_ones_do_not_overflow(tmp_path: Path, calibrated_toml: str, capsys) -> None:
    """[1e308, 1e308] sums to inf: the weights are scaled by the largest first, so they are two equal weights."""
    from model.cli import main

    path = tmp_path / "huge.toml"
    path.write_text(calibrated_toml.replace("weights = [1.0, 3.0, 0.0]", "weights = [1e308, 1e308, 0.0]"))
    assert read_scenario(path).posterior.weights == [0.5, 0.5, 0.0]
    assert {d["trust_gain"] for d in posterior_draws(path, 40, seed=1)} == {0.05, 0.15}
    status = main(["run", "--scenario", str(path), "--posterior", "--draws", "3", "--seed", "1"])
    assert status == 0, capsys.readouterr().err
    path.write_text(calibrated_toml.replace("weights = [1.0, 3.0, 0.0]", "weights = [1" + "0" * 400 + ", 1.0, 0.0]"))
    with pytest.raises(ScenarioError) as info:  # an int no float can hold: refused, not an OverflowError
        read_scenario(path)
    assert info.value.field == "posterior.weights"


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("weights = [1.0, 3.0, 0.0]", "weights = [1.0, -3.0, 0.0]", "posterior.weights"),
        ("weights = [1.0, 3.0, 0.0]", "weights = [0.0, 0.0, 0.0]", "posterior.weights"),
        ("trust_gain = [0.05, 0.15, 0.25]", "trust_gain = [0.05, 0.15]", "posterior.parameters.trust_gain"),
        ("trust_gain = [0.05, 0.15, 0.25]", "trust_gain = [0.05, 0.15, 7.0]", "posterior.parameters.trust_gain"),
        ("trust_gain =", "trust_gainz =", "posterior.parameters.trust_gainz"),
        ('source = "hand-made for tests"\n', 'source = "x"\nseed = 3\n', "posterior.seed"),
        ('source = "hand-made for tests"\n', "", "posterior.source"),
    ],
)
def test_bad_posteriors_are_refused_naming_the_field(
    tmp_path: Path, calibrated_toml: str, old: str, new: str, field: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(calibrated_toml.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        read_scenario(path)
    assert info.value.field == field
    assert str(path) in str(info.value)


def test_draws_of_a_scenario_without_posterior_are_refused() -> None:
    with pytest.raises(ScenarioError, match="no posterior"):
        posterior_draws("pccp", 3, seed=1)


def test_sweep_replicate_k_takes_draw_k_and_the_spec_wins(tmp_path: Path, calibrated: Path) -> None:
    spec_path = tmp_path / "sweep.toml"
    spec_path.write_text(
        'scenario = "calibrated.toml"\nroot_seed = 5\nreplicates = 6\n'
        "[fixed]\ntrust_gain = 0.3\n[vary]\nseats = { low = 8, high = 12 }\n[design]\nmethod = \"grid\"\nlevels = 2\n"
    )
    spec = load_spec(spec_path)
    plan = spec.plan()
    expected = read_scenario(calibrated).posterior.sample(6, 5)
    for run in plan.runs():
        assert run.params["individual_turnover"] == expected[run.replicate]["individual_turnover"]
        assert run.params["trust_gain"] == 0.3  # [fixed] wins over the posterior
        assert run.params["seats"] in (8, 12)  # the design wins too
        assert run.seed == replicate_seeds(5, 6)[run.replicate]
    off = tmp_path / "off.toml"
    off.write_text(spec_path.read_text().replace("replicates = 6\n", "replicates = 6\nposterior = false\n"))
    assert load_spec(off).plan().draws is None
    assert load_spec(off).hash != spec.hash


def test_compare_runs_a_calibrated_variant_over_its_posterior(calibrated: Path) -> None:
    comp = from_scenarios(["default", str(calibrated)], replicates=5, root_seed=11, steps=12)
    plan = comparison_plan(comp)
    expected = read_scenario(calibrated).posterior.sample(5, 11)
    runs = list(plan.runs())
    assert [r.params["trust_gain"] for r in runs if r.point_id == 0] == [load_scenario("default")["trust_gain"]] * 5
    assert [r.params["trust_gain"] for r in runs if r.point_id == 1] == [d["trust_gain"] for d in expected]
    assert all(r.params["steps"] == 12 for r in runs)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_run_posterior_writes_an_ensemble_that_replays(tmp_path: Path, calibrated: Path) -> None:
    res = _cli(
        "run", "--scenario", str(calibrated), "--posterior", "--draws", "4", "--seed", "3",
        "--summary", "s.json", "--out", "s.csv", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "median" in res.stdout and "final_access" in res.stdout
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["draws"] == 4 and len(doc["runs"]) == 4
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0].startswith("draw,step,")
    assert len(lines) == 1 + 4 * 19  # 18 months plus month 0, per draw
    # each run replays from its recorded seed and the draw's parameters
    from model.model import PartnershipModel

    draw = posterior_draws(calibrated, 4, seed=3)[2]
    replay = PartnershipModel(seed=doc["runs"][2]["seed"], **draw).run()
    assert replay["final_access"] == doc["runs"][2]["final_access"]


def test_run_posterior_errors(tmp_path: Path) -> None:
    res = _cli("run", "--scenario", "pccp", "--posterior", "--seed", "1", cwd=tmp_path)
    assert res.returncode == 2 and "carries no posterior" in res.stderr and "Traceback" not in res.stderr
    res = _cli("run", "--draws", "3", "--seed", "1", cwd=tmp_path)
    assert res.returncode == 2 and "--draws goes with --posterior" in res.stderr

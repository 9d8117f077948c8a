"""Scenario discovery: the EMA workbench's own PRIM and feature scoring on the sweep store, and phc-synergy discover."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.discover import DiscoverError, DiscoverySettings, discover_in
from experiments.spec import load_spec
from experiments.store import load_experiments_outcomes, load_manifest
from experiments.sweep import run_sweep
from model.cli import main

ema = pytest.importorskip("ema_workbench", reason="the 'ema' extra (make installs it)")

SPEC = """\
name = "discovery"
description = "a small space-filling sweep for the discovery tests"
scenario = "default"
root_seed = 4242
replicates = 2
steps = 24

[fixed]
population_size = 200

[vary]
trust_gain = { low = 0.02, high = 0.5 }
trust_decay = { low = 0.0, high = 0.15 }
seats = { low = 6, high = 30 }
lead_type = {}

[design]
method = "lhs"
n = 60
"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("discover")
    (folder / "spec.toml").write_text(SPEC, encoding="utf-8")
    run_sweep(load_spec(folder / "spec.toml"), folder / "sweep")
    return folder / "sweep"


def cli(capsys, *args) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_emas_prim_and_feature_scoring_take_the_store_unchanged(sweep):
    from ema_workbench.analysis import feature_scoring, prim

    experiments, outcomes = load_experiments_outcomes(sweep)
    assert list(experiments.columns) == load_manifest(sweep)["columns"]["varied"]
    assert list(experiments.columns) == ["trust_gain", "trust_decay", "seats", "lead_type"]
    assert experiments["seats"].dtype == np.int64 and experiments["trust_gain"].dtype == np.float64
    y = outcomes["mean_synergy"] > np.median(outcomes["mean_synergy"])
    box = prim.Prim(experiments, y.astype(int), threshold=0.5).find_box()
    assert set(box.box_lim.columns) == set(experiments.columns)  # no replicate, seed or run id to restrict
    scores = feature_scoring.get_feature_scores_all(experiments, outcomes)
    assert set(scores.index) == set(experiments.columns) and np.isfinite(scores.to_numpy()).all()
    # trust decay drives synergy in this model; the ids never enter
    assert scores["mean_synergy"].idxmax() in ("trust_decay", "trust_gain")


def _planted(n=2000, noise=0.03, seed=1):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({name: rng.uniform(0, 1, n) for name in ("leadership", "coordination", "communication",
                                                               "external_support")})  # fmt: skip
    x["lead_type"] = rng.integers(0, 6, n).astype(np.int64)
    inside = (x["leadership"] > 0.6) & (x["coordination"] < 0.4)
    flip = rng.uniform(0, 1, n) < noise
    return x, np.where(inside ^ flip, 0.9, 0.1)


def test_prim_finds_a_planted_box_and_nothing_else():
    x, values = _planted()
    result = discover_in(x, values, DiscoverySettings("final_access", above=0.5))
    box = result.boxes[0]
    limits = {lim["name"]: lim for lim in box.limits}
    assert set(limits) == {"leadership", "coordination"}  # the noise inputs' trims were dropped as weak
    assert limits["leadership"]["low"] == pytest.approx(0.6, abs=0.05) and limits["leadership"]["high"] > 0.99
    assert limits["coordination"]["high"] == pytest.approx(0.4, abs=0.05) and limits["coordination"]["low"] < 0.01
    assert box.coverage > 0.8 and box.density > 0.8
    assert all(lim["qp_value"] < 1e-6 for lim in box.limits)
    # the cases outside box 1 are label noise: no firm second box
    assert len(result.boxes) == 1 and result.stopped


def test_prim_below_and_a_category():
    x, _ = _planted(seed=2)
    values = np.where(x["lead_type"].to_numpy() == 2, 0.05, 0.5) + 0.02 * (x["communication"].to_numpy() - 0.5)
    result = discover_in(x, values, DiscoverySettings("final_equity_gap", below=0.2))
    limits = {lim["name"]: lim for lim in result.boxes[0].limits}
    assert list(limits) == ["lead_type"] and limits["lead_type"]["low"] == ["clinician"]  # a type, not a scale
    assert result.boxes[0].density == 1.0


def test_no_box_when_the_outcome_ignores_the_inputs():
    x, _ = _planted(seed=3)
    values = np.random.default_rng(9).uniform(0, 1, len(x))
    result = discover_in(x, values, DiscoverySettings("final_access", above=0.7))
    assert result.boxes == [] and "quasi-p" in result.stopped or "whole space" in result.stopped


def test_discover_command_writes_report_tables_and_figures(sweep, tmp_path, capsys):
    out = tmp_path / "found"
    threshold = float(np.quantile(load_experiments_outcomes(sweep)[1]["mean_synergy"], 0.7))
    status, stdout, err = cli(capsys, "discover", sweep, "--outcome", "mean_synergy", "--above", threshold,
                              "--out", out)  # fmt: skip
    assert status == 0, err
    assert err == ""  # the EMA workbench's warnings are not the user's business
    assert stdout.startswith("discover: 36 of 120 runs have mean_synergy above") and "box 1" in stdout
    names = {p.name for p in out.iterdir()}
    assert {"discover.md", "boxes.csv", "trajectory.csv", "box1.png", "box1.svg", "peeling-box1.png",
            "peeling-box1.svg"} <= names  # fmt: skip
    assert (out / "box1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in (out / "box1.svg").read_bytes()
    boxes = pd.read_csv(out / "boxes.csv")
    report = (out / "discover.md").read_text()
    assert "*Coverage* is the share" in report and "*density* is the share" in report
    for row in boxes.itertuples():
        assert f"(`{row.input}`)" in report  # every restricted input named in words and by name
    trajectory = pd.read_csv(out / "trajectory.csv")
    assert trajectory["coverage"].iloc[0] == 1.0 and trajectory["coverage"].is_monotonic_decreasing
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_discover_takes_a_commands_folder(sweep, tmp_path, capsys):
    status, stdout, err = cli(capsys, "discover", sweep.parent, "--outcome", "mean_synergy", "--below", 0.2,
                              "--out", tmp_path / "d")  # fmt: skip
    assert status == 0, err and "report" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--outcome", "final_acess", "--above", "0.5"], "--outcome 'final_acess' is not a run-summary output"),
        (["--outcome", "final_access", "--above", "7"], "0 of 120 runs have final_access above 7"),
        (["--outcome", "final_access", "--above", "x"], "--above 'x' is not allowed: a number"),
        (["--outcome", "final_access", "--above", "inf"], "--above = inf is not allowed: a finite number"),
        (["--outcome", "final_access", "--above", "0.2", "--min-coverage", "0"], "--min-coverage = 0.0"),
        (["--outcome", "final_access", "--above", "0.2", "--boxes", "11"], "--boxes '11' is not allowed"),
        (["--outcome", "final_access", "--above", "0.2", "--peel-alpha", "0.7"], "--peel-alpha = 0.7"),
        (["--outcome", "final_access"], "one of the arguments --above --below is required"),
    ],
)
def test_discover_bad_requests_are_one_line_and_write_nothing(sweep, tmp_path, capsys, args, message):
    out = tmp_path / "never"
    status, _, err = cli(capsys, "discover", sweep, *args, "--out", out)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_discover_names_the_sweep_for_its_parts(sweep, tmp_path, capsys):
    status, _, err = cli(capsys, "discover", sweep / "runs", "--outcome", "final_access", "--above", "0.3",
                         "--out", tmp_path / "d")  # fmt: skip
    assert status == 2 and "did you mean" in err


def test_the_discovery_needs_no_ema_at_import():
    import subprocess
    import sys

    code = "import sys; import experiments.discover, model.cli; assert 'ema_workbench' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_missing_extra_is_named(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_ema(name, *args, **kwargs):
        if name.startswith("ema_workbench"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ema)
    x, values = _planted(n=200)
    with pytest.raises(DiscoverError, match=r"needs the EMA workbench: pip install -e '\.\[ema\]'"):
        discover_in(x, values, DiscoverySettings("final_access", above=0.5))

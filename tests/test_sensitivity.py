"""Sensitivity analysis (Morris, Sobol'), the Ishigami check, scenario comparison and their CLI errors."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.compare import CompareError, from_scenarios, load_config, run_compare
from experiments.engine import SerialEngine
from experiments.sensitivity import (
    ISHIGAMI_S1,
    ISHIGAMI_ST,
    analyse_folder,
    ishigami_plan,
    run_sensitivity,
)
from experiments.spec import spec_from_dict
from experiments.store import load_sweep
from experiments.sweep import run_sweep
from model.cli import main

OUTPUTS = ("final_access", "access_gain", "final_equity_gap", "mean_synergy", "retention")
CONFIGS = Path(__file__).resolve().parent.parent / "experiments" / "configs"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def tiny_doc(method: str = "morris") -> dict:
    design = {"method": "morris", "trajectories": 4, "dummy": True}
    if method == "sobol":
        design = {"method": "sobol", "n": 8, "dummy": True}
    elif method == "grid":
        design = {"method": "grid", "levels": 2}
    return {
        "name": "tiny",
        "scenario": "default",
        "root_seed": 7,
        "replicates": 2,
        "steps": 12,
        "fixed": {"population_size": 300},
        "vary": {"communication": {}, "coordination": {}, "seats": {"low": 6, "high": 20}},
        "design": design,
    }


def write_spec(path: Path, doc: dict) -> Path:
    lines = [f'name = "{doc["name"]}"', f'scenario = "{doc["scenario"]}"', f"root_seed = {doc['root_seed']}",
             f"replicates = {doc['replicates']}", f"steps = {doc['steps']}", "[fixed]", "population_size = 300",
             "[vary]", "communication = {}", "coordination = {}", "seats = { low = 6, high = 20 }", "[design]"]
    for k, v in doc["design"].items():
        lines.append(f"{k} = " + (f'"{v}"' if isinstance(v, str) else str(v).lower()))
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------- Morris
def test_morris_on_a_tiny_spec_writes_indices_figures_and_report(tmp_path, capsys):
    spec_path = write_spec(tmp_path / "tiny.toml", tiny_doc("morris"))
    status, _, err = cli(capsys, "sensitivity", spec_path, "--out", tmp_path / "sa", "--quiet")
    assert status == 0, err
    sa = tmp_path / "sa"
    indices = pd.read_csv(sa / "indices.csv")
    assert {"output", "statistic", "parameter", "mu_star", "mu_star_conf", "sigma", "noise_mu_star", "above_noise",
            "rank_low", "rank_high"} <= set(indices)  # fmt: skip
    means = indices[indices["statistic"] == "mean"]
    assert set(means["output"]) <= set(OUTPUTS) and "final_access" in set(means["output"])
    for _, group in means.groupby("output"):
        assert set(group["parameter"]) == {"communication", "coordination", "seats", "dummy"}
    assert (indices["statistic"] == "replicate_sd").any()  # the replicate spread as its own output
    assert (sa / "morris_final_access.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (sa / "report.md").read_text()
    assert "## final_access" in report and "stands out from chance" in report and "morris_final_access.png" in report
    # the sweep is stored under sweep/ and the whole thing resumes (nothing left to run)
    assert len(load_sweep(sa / "sweep")) == 20 * 2
    status, _, err = cli(capsys, "sensitivity", spec_path, "--out", sa, "--quiet", "--resume")
    assert status == 0, err
    assert not list(sa.glob("*.tmp")) and not list(sa.glob(".*.tmp"))


def test_sobol_on_a_tiny_spec(tmp_path):
    spec = spec_from_dict(tiny_doc("sobol"))
    result = run_sensitivity(spec, tmp_path / "sa", engine=SerialEngine())
    idx = result.indices
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(idx)
    assert (tmp_path / "sa" / "sobol_final_access.png").exists()
    assert (tmp_path / "sa" / "report.md").exists()
    assert len(load_sweep(tmp_path / "sa" / "sweep")) == spec.n_runs


def _morris_table(varied, effect, replicates=4, trajectories=30, seed=3):
    """A Morris design over ``varied`` and a run table whose outputs ``effect(point, replicate)`` gives."""
    from experiments.spec import sample_design

    design = sample_design("morris", varied, trajectories=trajectories, levels=4, seed=seed)
    rows = []
    for i, values in enumerate(design.values):
        point = dict(zip(design.names, values, strict=True))
        for k in range(replicates):
            rows.append({"run_id": i * replicates + k, "point_id": i, "replicate": k, "status": "ok", **point,
                         "y": effect(point, k)})  # fmt: skip
    return design, pd.DataFrame(rows)


def _analyse(design, df, replicates=4):
    from experiments.sensitivity import analyse

    indices, _, skipped = analyse(df, design.problem, design.X, method="morris", outputs=["y"], replicates=replicates)
    return indices[indices["statistic"] == "mean"].set_index("parameter"), indices, skipped


def test_morris_effects_are_computed_on_what_was_run():
    from experiments.spec import Varied

    # meeting_interval 1-6 on 4 levels runs 1, 3, 4, 6: uneven steps. y = 2 x months is linear in what was run,
    # so every elementary effect is 2 x (6 - 1) = 10 per full range; on the nominal grid step they would not be
    varied = [Varied("meeting_interval", "int", 1, 6), Varied("leadership", "float", 0.0, 1.0)]
    design, df = _morris_table(varied, lambda p, k: 2.0 * p["meeting_interval"] + p["leadership"], replicates=1)
    idx, _, _ = _analyse(design, df, replicates=1)
    assert idx.loc["meeting_interval", "mu_star"] == pytest.approx(10.0) and idx.loc["meeting_interval", "sigma"] < 1e-9
    assert idx.loc["leadership", "mu_star"] == pytest.approx(1.0)
    from SALib.analyze import morris

    nominal = morris.analyze(design.problem, design.X, df.groupby("point_id")["y"].mean().to_numpy(), num_levels=4)
    assert abs(nominal["mu_star"][0] - 10.0) > 0.5  # what the nominal step gives: off


def test_morris_tests_inputs_against_replicate_noise_not_the_dummy():
    from experiments.spec import Varied

    def effect(p, k):  # a matters; b is read by the model but only reshuffles chance; c is never read
        rng = np.random.default_rng([k, int(p["a"] * 1000), int(p["b"] * 1000)])  # chance depends on what is read
        return 3.0 * p["a"] + rng.normal(0, 0.5)

    varied = [Varied(n, "float", 0.0, 1.0) for n in ("a", "b", "c")]
    design, df = _morris_table(varied, effect)
    idx, _, _ = _analyse(design, df)
    assert idx.loc["a", "above_noise"] == True
    assert idx.loc["b", "above_noise"] == False and idx.loc["b", "mu_star"] > 0.1
    assert idx.loc["b", "noise_mu_star"] > 0.1 and idx.loc["c", "mu_star"] == 0 and idx.loc["c", "noise_mu_star"] == 0
    assert idx.loc["c", "above_noise"] == False


def test_morris_report_says_when_an_output_hardly_varies_and_ranks_are_unstable(tmp_path):
    from experiments.sensitivity import report_text
    from experiments.spec import Varied

    names = ("a", "b", "c", "d", "e", "f", "g", "h")

    def effect(p, k):  # eight inputs of about equal, small effect: their order is chance with 4 trajectories
        rng = np.random.default_rng([k, *(int(p[n] * 1000) for n in names)])
        return 0.5 + 0.01 * sum(p[n] for n in names) + rng.normal(0, 0.05)

    varied = [Varied(n, "float", 0.0, 1.0) for n in names]
    design, df = _morris_table(varied, effect, trajectories=4)
    _, indices, skipped = _analyse(design, df)
    text = report_text(indices, method="morris", title="t", description="", n_points=design.n_points,
                       replicates=4, outputs=["y"], skipped=skipped, figures={}, has_dummy=False, runs_dir="sweep",
                       spread=indices.attrs["spread"], trajectories=4)  # fmt: skip
    assert "This output hardly varies across the design" in text
    assert "Too few trajectories for stable ranks" not in text  # no input stands out: no ranks to settle

    def strong(p, k):  # eight inputs of equal, clear effect: each stands out, their order is chance
        rng = np.random.default_rng([k, *(int(p[n] * 1000) for n in names)])
        return sum(p[n] * (1 + 0.3 * rng.normal()) for n in names) + rng.normal(0, 0.02)

    design, df = _morris_table(varied, strong, trajectories=4)
    _, indices, skipped = _analyse(design, df)
    text = report_text(indices, method="morris", title="t", description="", n_points=design.n_points,
                       replicates=4, outputs=["y"], skipped=skipped, figures={}, has_dummy=False, runs_dir="sweep",
                       spread=indices.attrs["spread"], trajectories=4)  # fmt: skip
    assert "Too few trajectories for stable ranks" in text
    ranked = text.split("Too few trajectories for stable ranks")[1].split("\n\n")[0]
    assert "Not distinguishable from chance here" not in ranked


# ---------------------------------------------------------------------------- Ishigami
def test_ishigami_indices_through_sampling_engine_and_analysis(tmp_path):
    t0 = time.monotonic()
    plan = ishigami_plan(n=1024, seed=1)
    run_sweep(plan, tmp_path / "sweep", engine=SerialEngine())
    result = analyse_folder(tmp_path, method="sobol", outputs=["y"], replicates=1)
    idx = result.indices.set_index("parameter")
    for name in ("x1", "x2", "x3"):
        for col, published in (("S1", ISHIGAMI_S1[name]), ("ST", ISHIGAMI_ST[name])):
            estimate, conf = idx.loc[name, col], idx.loc[name, f"{col}_conf"]
            assert abs(estimate - published) <= max(conf, 0.02), (name, col, estimate, conf, published)
    assert (tmp_path / "sobol_y.png").exists()
    assert time.monotonic() - t0 < 20


# ---------------------------------------------------------------------------- compare
def test_compare_two_scenarios_writes_tables_differences_and_fan_charts(tmp_path, capsys):
    out = tmp_path / "cmp"
    status, _, err = cli(capsys, "compare", "pccp", "chrp", "--replicates", "4", "--steps", "12", "--out", out,
                         "--quiet")
    assert status == 0, err
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["variant"]) == {"pccp", "chrp"}
    assert {"median", "q05", "q95"} <= set(summary)
    row = summary[(summary["variant"] == "pccp") & (summary["output"] == "final_access")].iloc[0]
    assert row["q05"] <= row["median"] <= row["q95"] and row["n"] == 4
    diffs = pd.read_csv(out / "differences.csv")
    assert set(diffs["variant"]) == {"chrp"} and set(diffs["against"]) == {"pccp"}
    # paired: the difference of replicate k uses the same seed in both scenarios
    runs = load_sweep(out / "sweep")
    a = runs[runs["point_id"] == 0].sort_values("replicate")
    b = runs[runs["point_id"] == 1].sort_values("replicate")
    assert list(a["seed"]) == list(b["seed"])
    d = b["final_access"].to_numpy() - a["final_access"].to_numpy()
    got = diffs[diffs["output"] == "final_access"].iloc[0]["median_diff"]
    assert math.isclose(got, float(np.median(d)), rel_tol=1e-5, abs_tol=1e-9)
    for name in ("fan_synergy.png", "fan_access.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    text = (out / "compare.md").read_text()
    assert "fan_access.png" in text and "Differences from pccp (paired runs)" in text
    assert text.startswith("# Scenario comparison: pccp vs chrp") and "Final access (%)" in text
    assert "**chrp** against pccp:" in text and "final_access" in text  # every output defined once, by name too


def test_cases_config_has_the_case_variants():
    comp = load_config(CONFIGS / "cases.toml")
    names = [v.name for v in comp.variants]
    assert names[:2] == ["PCCP", "CHRP"] and len(names) == 8
    by = {v.name: v for v in comp.variants}
    assert by["PCCP + coordinator"].params["coordination"] == 0.9
    assert by["CHRP + patient partners kept"].params["patient_partner_support"] == 0.9
    assert by["PCCP + shock at 30"].params["shock_month"] == 30


def test_compare_on_a_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'replicates = 2\nsteps = 12\n[fixed]\npopulation_size = 300\n'
        '[[variant]]\nname = "A"\nscenario = "pccp"\n'
        '[[variant]]\nname = "A+coord"\nscenario = "pccp"\nset = { coordination = 0.9 }\n'
    )
    comp = load_config(cfg)
    result = run_compare(comp, tmp_path / "out", engine=SerialEngine())
    assert set(result.summary["variant"]) == {"A", "A+coord"}
    assert (tmp_path / "out" / "compare.md").exists()


def test_shipped_sensitivity_specs_load():
    from experiments.spec import load_spec

    for name in ("structures_morris", "structures_sobol"):
        spec = load_spec(CONFIGS / f"{name}.toml")
        assert "dummy" in spec.design.names and len(spec.varied) == 23
        levels = {"structure", "interpersonal", "operational", "system", "resources"}
        from model.parameters import PARAMETERS

        assert {PARAMETERS[v.name].level for v in spec.varied} == levels


# ---------------------------------------------------------------------------- bad inputs
def test_unknown_scenario_in_compare_exits_2(tmp_path, capsys):
    status, _, err = cli(capsys, "compare", "pccp", "nosuch", "--out", tmp_path / "o")
    assert status == 2
    assert err.startswith("phc-synergy: error:") and "nosuch" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(CompareError):
        from_scenarios(["pccp", "pccp"])


def test_sensitivity_with_a_grid_design_exits_2(tmp_path, capsys):
    spec_path = write_spec(tmp_path / "grid.toml", tiny_doc("grid"))
    status, _, err = cli(capsys, "sensitivity", spec_path, "--out", tmp_path / "o")
    assert status == 2
    assert err.startswith("phc-synergy: error:") and "grid" in err and "morris" in err
    assert not (tmp_path / "o").exists()


def test_compare_option_errors(tmp_path, capsys):
    status, _, err = cli(capsys, "compare", "--out", tmp_path / "o")
    assert status == 2 and "scenario" in err
    status, _, err = cli(capsys, "compare", "pccp", "--config", CONFIGS / "cases.toml", "--out", tmp_path / "o")
    assert status == 2 and "not both" in err
    status, _, err = cli(capsys, "compare", "pccp", "--replicates", "0", "--out", tmp_path / "o")
    assert status == 2 and "--replicates" in err


# ---------------------------------------------------------------------------- the main job
def test_main_job_writes_a_report_linking_both_parts(tmp_path):
    from experiments.main import run_main

    cases = tmp_path / "cases.toml"
    cases.write_text(
        'replicates = 2\nsteps = 12\n[fixed]\npopulation_size = 300\n'
        '[[variant]]\nname = "PCCP"\nscenario = "pccp"\n[[variant]]\nname = "CHRP"\nscenario = "chrp"\n'
    )
    morris = write_spec(tmp_path / "tiny.toml", tiny_doc("morris"))
    report = run_main(tmp_path / "results", workers=1, quiet=True, cases=cases, morris=morris)
    text = report.read_text()
    assert "cases/compare.md" in text and "morris/report.md" in text
    assert "cases/fan_access.png" in text and "morris/morris_final_access.png" in text
    # a second run resumes both sweeps (nothing to run again) and rewrites the report
    assert run_main(tmp_path / "results", workers=1, quiet=True, cases=cases, morris=morris) == report

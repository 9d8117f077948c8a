"""Calibration with ABC-SMC: parameter recovery, resume, outputs, the calibrated scenario, the command.

Every calibration here is small (few seats, short horizons, a small cohort, few
particles) so that the file runs in well under a minute.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyabc")

from calibration.abc import CalibrationError, Progress, calibrate, make_settings
from calibration.cases import load_case
from calibration.outputs import posterior_frame, summary_frame
from model.model import PartnershipModel
from model.parameters import validate_parameters
from model.toml_writer import dumps

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"seats": 8, "population_size": 100}


def write_case(path: Path, targets: list[dict], *, structure=None, steps=12, calibrate_=("individual_turnover",
               "trust_gain"), priors=None, **settings) -> Path:
    doc = {
        "name": path.stem,
        "provenance": {"citation": "synthetic: made by a test", "observed": "nothing", "period": "none",
                       "synthetic": True},
        "structure": dict(structure if structure is not None else SMALL),
        "priors": dict(priors or {"individual_turnover": [0.0, 0.08]}),
        "settings": {"steps": steps, "calibrate": list(calibrate_), **settings},
        "targets": targets,
    }
    path.write_text(dumps(doc), encoding="utf-8")
    return path


TINY_TARGETS = [
    {"output": "cumulative_members", "month": 12, "value": 10, "sd": 1.5},
    {"output": "mean_trust", "months": [6, 12], "values": [0.35, 0.4], "sd": 0.05},
    {"output": "active_seats", "month": 12, "interval": [6, 8]},
]


def tiny_case(tmp_path: Path, name: str = "tiny", **settings) -> Path:
    settings = {"population": 20, "generations": 3, "seed": 11, "ppc_draws": 30, "min_epsilon": 0.0, **settings}
    return write_case(tmp_path / f"{name}.toml", TINY_TARGETS, **settings)


def _posterior(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "posterior.parquet")


def test_the_distance_is_the_worst_met_target_in_its_own_units(tmp_path):
    from calibration.abc import case_distance, target_distances

    case = load_case(tiny_case(tmp_path))
    x = {"cumulative_members@12": 13, "mean_trust@6": 0.35, "mean_trust@12": 0.5, "active_seats@12": 7}
    per_target = target_distances(x, case.observations)
    assert per_target == pytest.approx({1: 2.0, 2: math.sqrt((0 + 2.0**2) / 2), 3: 0.0})
    assert case_distance(x, case.observations) == pytest.approx(2.0)
    x["active_seats@12"] = 4  # 2 below [6, 8]: two half-widths
    assert target_distances(x, case.observations)[3] == pytest.approx(2.0)


# ---------------------------------------------------------------------------- a small calibration, all outputs
@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("small")
    case = load_case(tiny_case(tmp))
    out = tmp / "out"
    lines: list[str] = []

    class Lines:
        def write(self, text):
            lines.append(text)

        def flush(self):
            pass

    result = calibrate(case, out, make_settings(case), progress=Progress(Lines()))
    return case, out, result, "".join(lines)


def test_a_calibration_writes_every_output(small_run):
    _, out, result, _ = small_run
    for name in ("history.db", "_calibration.json", "posterior.parquet", "summary.csv", "generations.csv",
                 "marginals.png", "pairs.png", "ppc.csv", "ppc.png", "calibrated.toml"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert result.generations == 3 and result.stop_reason == "3 generations"


def test_the_posterior_is_weighted_particles_within_the_prior(small_run):
    _, out, result, _ = small_run
    post = _posterior(out)
    assert len(post) == 20 and (post.generation == result.generations - 1).all()
    assert post.weight.sum() == pytest.approx(1.0) and (post.weight > 0).all()
    assert post.individual_turnover.between(0, 0.08).all() and post.trust_gain.between(0, 1).all()
    assert {"distance", "seed", "sim:cumulative_members@12", "sim:mean_trust@6"} <= set(post.columns)
    assert (post.distance <= result.epsilon + 1e-12).all()


def test_a_posterior_particle_replays_from_its_seed(small_run):
    case, out, _, _ = small_run
    post = _posterior(out)
    row = post.iloc[0]
    params = {**case.fixed_parameters(), "individual_turnover": row.individual_turnover,
              "trust_gain": row.trust_gain}
    model = PartnershipModel(seed=int(post["seed"].iloc[0]), **params)  # not row.seed: a row is all floats
    model.run()
    assert model.series()["cumulative_members"][12] == row["sim:cumulative_members@12"]
    assert model.series()["mean_trust"][6] == pytest.approx(row["sim:mean_trust@6"])


def test_summary_reports_the_interval_and_the_spread_against_the_prior(small_run):
    _, out, _, _ = small_run
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.parameter) == ["individual_turnover", "trust_gain"]
    for col in ("mean", "median", "q05", "q95", "spread_ratio", "identified", "prior_low", "prior_high"):
        assert col in summary.columns
    assert (summary.q05 <= summary["median"]).all() and (summary["median"] <= summary.q95).all()
    assert summary.spread_ratio.gt(0).all() and set(summary.identified) <= {"yes", "partly", "no"}


def test_ppc_puts_every_observation_against_the_simulated_interval(small_run):
    case, out, _, _ = small_run
    ppc = pd.read_csv(out / "ppc.csv")
    assert len(ppc) == len(case.observations) == 4
    assert (ppc.sim_q05 <= ppc.sim_median).all() and (ppc.sim_median <= ppc.sim_q95).all()
    assert ppc.share_met.between(0, 1).all()
    assert set(ppc.kind) == {"value", "interval"}


def test_progress_prints_one_line_per_generation(small_run):
    _, _, result, text = small_run
    lines = [line for line in text.splitlines() if line.startswith("generation ")]
    assert len(lines) == result.generations
    assert all("epsilon" in line and "acceptance" in line and "simulations" in line for line in lines)


def test_progress_shows_inside_a_generation_and_changes_nothing(tmp_path, small_run):
    import io

    case = load_case(tiny_case(tmp_path))
    stream = io.StringIO()
    calibrate(case, tmp_path / "watched", make_settings(case, generations=2), progress=Progress(stream, every=0.0),
              write_outputs=False)
    inside = [line.strip() for line in stream.getvalue().splitlines() if line.startswith("  ")]
    assert any(line.startswith("calibrating epsilon on a sample of the prior:") for line in inside)
    assert any(line.startswith("generation 0:") and "accepted" in line and "simulations/s" in line for line in inside)
    counts = [int(line.split(": ")[1].split()[0]) for line in inside if line.startswith("generation 0:")]
    assert counts == sorted(counts) and counts[-1] > 0
    _same_generation(small_run[1], tmp_path / "watched", 1)


def test_the_calibration_record_holds_the_case_hash_seed_and_log(small_run):
    case, out, result, _ = small_run
    meta = json.loads((out / "_calibration.json").read_text())
    assert meta["case"]["hash"] == case.hash and meta["root_seed"] == 11 and meta["status"] == "finished"
    assert [e["generation"] for e in meta["log"]] == list(range(result.generations))


def test_calibrated_toml_is_a_scenario_carrying_the_posterior(small_run):
    _, out, _, _ = small_run
    doc = tomllib.loads((out / "calibrated.toml").read_text(encoding="utf-8"))
    assert set(doc) == {"name", "description", "source", "parameters", "posterior"}
    assert doc["name"] == "tiny_calibrated" and "individual_turnover" not in doc["parameters"]
    assert doc["parameters"]["seats"] == 8 and doc["parameters"]["steps"] == 12
    post = doc["posterior"]
    assert set(post) == {"source", "weights", "parameters"} and set(post["parameters"]) == {
        "individual_turnover", "trust_gain"}
    assert math.fsum(post["weights"]) == pytest.approx(1.0) and len(post["weights"]) == 20
    frame = _posterior(out)
    assert post["parameters"]["trust_gain"] == frame.trust_gain.tolist()  # exact round trip
    for i in range(20):
        validate_parameters({**doc["parameters"], **{k: v[i] for k, v in post["parameters"].items()}})


def test_calibrated_toml_gives_posterior_draws_to_scenarios(small_run):
    scenarios = pytest.importorskip("model.scenarios")
    if not hasattr(scenarios, "posterior_draws"):
        pytest.skip("model.scenarios.posterior_draws is not there yet")
    _, out, _, _ = small_run
    draws = scenarios.posterior_draws(out / "calibrated.toml", 5, 1)
    frame = _posterior(out)
    assert len(draws) == 5
    for d in draws:
        assert d["seats"] == 8 and d["trust_gain"] in frame.trust_gain.tolist()


# ---------------------------------------------------------------------------- resume
def _same_generation(out_a: Path, out_b: Path, t: int) -> None:
    """The two calibration folders hold the same particles and weights at generation t."""
    import pyabc

    a = pyabc.History("sqlite:///" + str(out_a / "history.db")).get_distribution(t=t)
    b = pyabc.History("sqlite:///" + str(out_b / "history.db")).get_distribution(t=t)
    pd.testing.assert_frame_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_a_killed_calibration_resumes_to_the_posterior_of_an_uninterrupted_one(tmp_path, small_run):
    path = tiny_case(tmp_path)
    out = tmp_path / "killed"
    script = (
        "from calibration.cases import load_case; from calibration.abc import calibrate, make_settings\n"
        f"case = load_case({str(path)!r})\n"
        f"calibrate(case, {str(out)!r}, make_settings(case, generations=50), write_outputs=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            meta = out / "_calibration.json"
            if meta.exists() and len(json.loads(meta.read_text()).get("log", [])) >= 1:
                break
            if proc.poll() is not None:
                pytest.fail(f"the calibration ended before it was killed: {proc.stderr.read().decode()}")
            time.sleep(0.02)
        else:
            pytest.fail("no generation finished within 120 s")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    case = load_case(path)
    with pytest.raises(CalibrationError, match="--resume"):
        calibrate(case, out, make_settings(case, generations=3))
    stored = json.loads((out / "_calibration.json").read_text())
    assert stored["status"] == "running"  # killed: it never said it finished
    assert 1 <= len(stored["log"]) < 3, "killed too late to test a resume"
    result = calibrate(case, out, make_settings(case, generations=3), resume=True)
    assert result.generations == 3
    post = _posterior(out)
    assert post.weight.sum() == pytest.approx(1.0) and len(post) == 20
    assert post.individual_turnover.between(0, 0.08).all() and post.trust_gain.between(0, 1).all()
    assert json.loads((out / "_calibration.json").read_text())["status"] == "finished"
    _same_generation(small_run[1], out, 2)


def test_resume_refuses_another_case_file_or_other_parameters(tmp_path):
    case = load_case(tiny_case(tmp_path))
    out = tmp_path / "out"
    calibrate(case, out, make_settings(case, generations=1), write_outputs=False)
    other = load_case(tiny_case(tmp_path, name="other", seed=12))
    with pytest.raises(CalibrationError, match="another case file"):
        calibrate(other, out, make_settings(other, generations=2), resume=True)
    with pytest.raises(CalibrationError, match="parameters"):
        calibrate(case, out, make_settings(case, ["trust_gain"], generations=2), resume=True)
    with pytest.raises(CalibrationError, match="holds no calibration"):
        calibrate(case, tmp_path / "empty", make_settings(case), resume=True)


# ---------------------------------------------------------------------------- parameter recovery
RECOVERY_STRUCTURE = {"seats": 10, "population_size": 100}
RECOVERY_TARGET_MONTHS = {"cumulative_members": [8, 16, 24], "active_seats": [12, 24], "mean_trust": [4, 8, 16, 24]}
SD_FLOOR = {"cumulative_members": 0.75, "active_seats": 0.75, "mean_trust": 0.02}


def truth_targets(truth: dict[str, float], replicates: int = 20) -> list[dict]:
    """Targets generated by the model at known parameter values: the mean and sd over replicate runs."""
    runs = []
    for seed in range(1000, 1000 + replicates):
        model = PartnershipModel(seed=seed, **RECOVERY_STRUCTURE, **truth, steps=24)
        model.run()
        runs.append(model.series())
    targets = []
    for output, months in RECOVERY_TARGET_MONTHS.items():
        values = np.array([[r[output][m] for m in months] for r in runs])
        targets.append({
            "output": output, "months": months,
            "values": [round(float(v), 4) for v in values.mean(axis=0)],
            "sd": [round(max(float(s), SD_FLOOR[output]), 4) for s in values.std(axis=0, ddof=1)],
        })
    return targets


@pytest.mark.parametrize(
    "truth",
    [
        {"individual_turnover": 0.01, "trust_gain": 0.1},
        {"individual_turnover": 0.04, "trust_gain": 0.35},
        {"individual_turnover": 0.025, "trust_gain": 0.7},
    ],
    ids=["slow-turnover-low-trust-gain", "fast-turnover", "high-trust-gain"],
)
def test_parameter_recovery_90_percent_intervals_cover_the_truth(tmp_path, truth):
    path = write_case(tmp_path / "truth.toml", truth_targets(truth), structure=RECOVERY_STRUCTURE, steps=24,
                      population=40, generations=6, seed=5, min_epsilon=1.0)
    case = load_case(path)
    settings = make_settings(case)
    calibrate(case, tmp_path / "out", settings, write_outputs=False)
    import pyabc

    history = pyabc.History("sqlite:///" + str(tmp_path / "out" / "history.db"))
    summary = summary_frame(posterior_frame(history), settings.ranges).set_index("parameter")
    for name, value in truth.items():
        row = summary.loc[name]
        assert row.q05 <= value <= row.q95, f"{name} = {value} outside [{row.q05:.4g}, {row.q95:.4g}]"
        assert row.spread_ratio < 0.7, f"{name}: the targets should narrow it (spread ratio {row.spread_ratio:.2f})"


def test_pyabcs_dashboard_reads_the_history_db(small_run):
    # abc-server-flask is pyabc's dashboard (the `calibration` extra installs what it imports); its Flask app is
    # driven with a test client in a child process, because importing it installs its own SIGINT handler.
    script = (
        "import sys, pyabc\n"
        "from pyabc.visserver import server_flask as s\n"
        "s.app.config['HISTORY'] = pyabc.History('sqlite:///' + sys.argv[1])\n"
        "client = s.app.test_client()\n"
        "for url in ('/abc', '/abc/1', '/abc/1/model/0/t/max'):\n"
        "    page = client.get(url)\n"
        "    print(url, page.status_code, 'individual_turnover' in page.get_data(as_text=True))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(small_run[1] / "history.db")],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.split("\n")
    assert lines[:3] == ["/abc 200 False", "/abc/1 200 False", "/abc/1/model/0/t/max 200 True"], done.stdout


# ---------------------------------------------------------------------------- engines
def test_a_local_dask_cluster_gives_the_posterior_of_the_serial_engine(tmp_path, small_run):
    from experiments.engine import DaskEngine

    case = load_case(tiny_case(tmp_path))
    engine = DaskEngine(workers=1)  # one worker process is enough to cross a process boundary
    calibrate(case, tmp_path / "dask", make_settings(case, generations=2), engine=engine, write_outputs=False)
    assert json.loads((tmp_path / "dask" / "_calibration.json").read_text())["engine"]["engine"] == "dask-local"
    _same_generation(small_run[1], tmp_path / "dask", 1)


# ---------------------------------------------------------------------------- the command
def test_the_calibrate_command_runs_and_reports(tmp_path, capsys):
    from model.cli import main

    path = tiny_case(tmp_path, generations=2)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "cli"), "--params", "trust_gain",
                 "--population", "15"]) == 0
    captured = capsys.readouterr()
    assert "calibration done" in captured.out and "trust_gain" in captured.out
    assert "generation 1:" in captured.err
    summary = pd.read_csv(tmp_path / "cli" / "summary.csv")
    assert list(summary.parameter) == ["trust_gain"]
    assert len(_posterior(tmp_path / "cli")) == 15
    assert not (tmp_path / "cli" / "pairs.png").exists()  # one parameter: no pairs


def test_the_calibrate_command_resumes_with_the_stored_choices(tmp_path, capsys):
    from model.cli import main

    path, out = tiny_case(tmp_path), str(tmp_path / "cli")
    assert main(["calibrate", str(path), "--out", out, "--generations", "1", "--seed", "3", "--population", "12",
                 "--params", "trust_gain", "--quiet"]) == 0
    assert main(["calibrate", str(path), "--out", out]) == 2  # a folder holding a calibration needs --resume
    assert "--resume" in capsys.readouterr().err
    assert main(["calibrate", str(path), "--out", out, "--resume", "--generations", "2"]) == 0
    assert "resuming after generation 0" in capsys.readouterr().err
    meta = json.loads((tmp_path / "cli" / "_calibration.json").read_text())
    assert meta["root_seed"] == 3 and meta["settings"]["population"] == 12 and len(meta["log"]) == 2
    post = _posterior(tmp_path / "cli")
    assert (post.generation == 1).all() and len(post) == 12 and post.weight.sum() == pytest.approx(1.0)
    assert post.trust_gain.between(0, 1).all()
    assert main(["calibrate", str(path), "--out", out, "--resume", "--seed", "4"]) == 2
    assert "seed = 3" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--params", "seats"], "not a continuous parameter"),
        (["--params", "sparkle"], "not a parameter of the model"),
        (["--population", "0"], "--population"),
        (["--generations", "two"], "--generations"),
        (["--generations", "2", "--max-simulations", "100"], "not allowed with"),
    ],
)
def test_the_calibrate_command_refuses_bad_options_with_one_line(tmp_path, capsys, extra, words):
    from model.cli import main

    path = tiny_case(tmp_path)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "x"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("phc-synergy: error: ") and words in err
    assert not (tmp_path / "x").exists()


def test_the_calibrate_command_refuses_a_bad_case_file_naming_it(tmp_path, capsys):
    from model.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(tiny_case(tmp_path).read_text().replace("interval = [6, 8]", "interval = [8, 6]"))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.toml: targets[3].interval: [8, 6] is upside down" in err


def test_run_posterior_runs_an_ensemble_over_the_calibrated_scenario(small_run, capsys):
    from model.cli import main

    _, out, _, _ = small_run
    assert main(["run", "--scenario", str(out / "calibrated.toml"), "--posterior", "--draws", "3", "--seed", "1"]) == 0
    assert "3 posterior draws" in capsys.readouterr().out


def test_an_existing_calibration_folder_is_refused_without_resume(small_run):
    case, out, _, _ = small_run
    with pytest.raises(CalibrationError, match="holds a calibration already"):
        calibrate(case, out, make_settings(case))

"""Sweeps: spec checks, designs, common random numbers, the three engines, storage, resume and export."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.engine import (
    SUMMARY_KINDS,
    DaskEngine,
    SweepPlan,
    execute_batch,
    make_batches,
    model_target,
    replicate_seeds,
)
from experiments.spec import SpecError, load_spec, spec_from_dict, spec_hash
from experiments.store import (
    StoreError,
    chunk_files,
    load_design,
    load_experiments_outcomes,
    load_manifest,
    load_series,
    load_sweep,
)
from experiments.sweep import run_sweep
from model.cli import main
from model.outputs import SUMMARY_OUTPUTS
from model.parameters import PARAMETERS

REPO = Path(__file__).resolve().parents[1]

# A tiny sweep: 6 LHS points x 2 replicates, 12 months, a small cohort (a few ms per run).
SMALL_SPEC = """\
name = "tiny"
description = "a tiny sweep for the tests"
scenario = "default"
root_seed = 12345
replicates = 2
steps = 12

[fixed]
population_size = 200

[vary]
communication = {}
trust_gain = { low = 0.05, high = 0.3 }
seats = [6, 24]

[design]
method = "lhs"
n = 6

[outputs]
series = ["synergy", "access", "active_seats"]
"""


def write_spec(folder: Path, text: str = SMALL_SPEC, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(capsys, *args: str) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The tiny sweep run serially in this process: the table every engine must reproduce."""
    folder = tmp_path_factory.mktemp("reference")
    spec = load_spec(write_spec(folder))
    result = run_sweep(spec, folder / "sweep")
    assert result.complete and result.errors == 0
    return folder / "sweep"


def assert_same_sweep(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(load_sweep(a), load_sweep(b))
    pd.testing.assert_frame_equal(load_series(a), load_series(b))


# ---------------------------------------------------------------- spec checks, before any run
BAD_SPECS = {
    "unknown parameter": (("communication = {}", "comunication = {}"), "comunication", "did you mean 'communication'"),
    "bounds outside the schema": (("low = 0.05, high = 0.3", "low = 0.05, high = 1.5"), "trust_gain.high", "[0, 1]"),
    "integer bounds outside the schema": (("seats = [6, 24]", "seats = [1, 24]"), "seats.low", "[3, 2000]"),
    "unknown design": (('method = "lhs"', 'method = "factorial"'), "factorial", "grid, lhs, sobol, morris"),
    "sobol n not a power of two": (('method = "lhs"\nn = 6', 'method = "sobol"\nn = 100'), "n = 100", "power of two"),
    "non-sweepable parameter": (("communication = {}", "composition = {}"), "composition", "cannot be varied"),
    "morris odd levels": (('method = "lhs"\nn = 6', 'method = "morris"\ntrajectories = 4\nlevels = 3'), "levels", "even"),
    "key of another design": (('method = "lhs"\nn = 6', 'method = "lhs"\nn = 6\ntrajectories = 3'), "trajectories", "morris"),
    "unknown output": (('"active_seats"]', '"active_seat"]'), "active_seat", "did you mean 'active_seats'"),
    "bad fixed value": (("population_size = 200", "population_size = -5"), "fixed.population_size", "[100, 200000]"),
    "a design point the schema refuses": (
        ("seats = [6, 24]", "shock_month = [0, 100]"),
        "shock_month",
        "steps = 12",
    ),
    "unknown top-level key": (("replicates = 2", "replicates = 2\nreplicate = 3"), "replicate", "replicates"),
    "missing root seed": (("root_seed = 12345\n", ""), "root_seed", "missing"),
    "unknown scenario": (('scenario = "default"', 'scenario = "pcpp"'), "pcpp", "pccp"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_spec_is_refused_before_any_run(case, tmp_path, capsys, monkeypatch):
    (old, new), *expected = BAD_SPECS[case]
    spec_path = write_spec(tmp_path, replace(SMALL_SPEC, old, new))
    with pytest.raises(SpecError) as info:
        load_spec(spec_path)
    message = str(info.value)
    assert message.startswith(str(spec_path)), message  # names the file
    for text in expected:
        assert text in message, message

    ran = []
    monkeypatch.setattr("experiments.engine.execute_batch", lambda b: ran.append(b))
    out = tmp_path / "out"
    status, _, err = cli(capsys, "sweep", spec_path, "--out", out)
    assert status == 2
    assert err.startswith("phc-synergy: error: ") and str(spec_path) in err and "Traceback" not in err
    assert not out.exists() and not ran  # nothing was started


def test_spec_error_names_field_value_and_allowed(tmp_path):
    spec_path = write_spec(tmp_path, replace(SMALL_SPEC, 'method = "lhs"\nn = 6', 'method = "sobol"\nn = 100'))
    with pytest.raises(SpecError) as info:
        load_spec(spec_path)
    err = info.value
    assert (err.path, err.field, err.value) == (str(spec_path), "design.n", 100)
    assert "power of two" in err.allowed
    assert "64" in str(err) and "128" in str(err)  # the nearest allowed sizes


def test_sweep_option_errors(tmp_path, capsys):
    spec_path = write_spec(tmp_path)
    for args, text in [
        (["--workers", "0"], "--workers"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
        (["--chunk-runs", "x"], "--chunk-runs"),
    ]:
        status, _, err = cli(capsys, "sweep", spec_path, "--out", tmp_path / "o", *args)
        assert status == 2 and text in err, err
        assert not (tmp_path / "o").exists()
    status, _, err = cli(capsys, "sweep", spec_path)
    assert status == 2 and "--out" in err


# ---------------------------------------------------------------- designs
def doc(**design) -> dict:
    return {
        "scenario": "default",
        "root_seed": 7,
        "replicates": 3,
        "steps": 12,
        "fixed": {"population_size": 200},
        "vary": {"communication": {}, "seats": {"low": 6, "high": 30}, "meeting_interval": {}},
        "design": design,
    }


def test_design_sizes_and_integer_rounding():
    grid = spec_from_dict({**doc(method="grid", levels=3), "vary": {"communication": {}, "seats": {"values": [6, 9]}}})
    assert grid.n_points == 3 * 2 and grid.n_runs == 18
    assert [grid.design.point(i)["seats"] for i in range(6)] == [6, 9] * 3
    assert [grid.design.point(i)["communication"] for i in range(0, 6, 2)] == [0.0, 0.5, 1.0]

    lhs = spec_from_dict(doc(method="lhs", n=10))
    assert lhs.n_points == 10 and lhs.design.X.shape == (10, 3)

    sobol = spec_from_dict(doc(method="sobol", n=8, dummy=True))
    assert sobol.design.names == ("communication", "seats", "meeting_interval", "dummy")
    assert sobol.n_points == 8 * (4 + 2)
    sobol2 = spec_from_dict(doc(method="sobol", n=8, calc_second_order=True))
    assert sobol2.n_points == 8 * (2 * 3 + 2)

    morris = spec_from_dict(doc(method="morris", trajectories=5, levels=4, dummy=True))
    assert morris.n_points == 5 * (4 + 1)

    for spec in (lhs, sobol, morris):
        X = spec.design.X
        for i in range(spec.n_points):
            point = spec.design.point(i)
            assert isinstance(point["seats"], int) and 6 <= point["seats"] <= 30
            assert point["seats"] == int(np.floor(X[i, 1] + 0.5))  # rounded to nearest, raw sample kept in X
            assert isinstance(point["meeting_interval"], int) and 1 <= point["meeting_interval"] <= 12
            assert isinstance(point["communication"], float)
            # every point is a valid parameter set, and the dummy never reaches the model
            assert "dummy" not in spec.point_parameters(i)
    assert morris.design.problem["names"][-1] == "dummy" and morris.design.problem["bounds"][-1] == [0.0, 1.0]


def test_a_grid_without_varied_parameters_is_one_replicated_point(tmp_path):
    spec = spec_from_dict({**doc(method="grid"), "vary": {}, "scenario": "pccp", "replicates": 4})
    assert spec.n_points == 1 and spec.n_runs == 4
    run_sweep(spec, tmp_path / "one")
    table = load_sweep(tmp_path / "one")
    assert list(table.replicate) == [0, 1, 2, 3] and (table.seats == 14).all()
    assert json.loads(table.composition[0])["academic"] == 5.0  # the scenario's composition, as JSON
    with pytest.raises(SpecError, match="varies at least one parameter"):
        spec_from_dict({**doc(method="lhs", n=4), "vary": {}})


def test_spec_hash_is_stable_and_sensitive():
    a = spec_from_dict(doc(method="lhs", n=10))
    b = spec_from_dict({**doc(method="lhs", n=10), "name": "other", "description": "other words"})
    assert a.hash == b.hash == spec_hash(a.to_dict())  # names and descriptions do not change the runs
    assert len(a.hash) == 64
    # explicit defaults normalise to the same spec
    c = spec_from_dict({**doc(method="lhs", n=10, seed=7), "vary": {**doc()["vary"], "communication": [0, 1]}})
    assert c.hash == a.hash
    for changed in (
        {**doc(method="lhs", n=10), "root_seed": 8},
        {**doc(method="lhs", n=11)},
        {**doc(method="lhs", n=10), "replicates": 2},
        {**doc(method="lhs", n=10), "fixed": {"population_size": 300}},
        {**doc(method="lhs", n=10), "scenario": "pccp"},
    ):
        assert spec_from_dict(changed).hash != a.hash


def test_common_random_numbers(reference):
    table = load_sweep(reference)
    manifest = load_manifest(reference)
    seeds = replicate_seeds(12345, 2)
    assert manifest["replicate_seeds"] == seeds
    # the documented derivation
    child = np.random.SeedSequence(12345).spawn(2)[1]
    w0, w1 = child.generate_state(2, dtype=np.uint32)
    assert seeds[1] == ((int(w0) << 32) | int(w1)) & (2**63 - 1)
    for k in (0, 1):
        assert set(table.loc[table.replicate == k, "seed"]) == {seeds[k]}
    assert list(table.run_id) == list(range(12))
    assert list(table.point_id) == [i // 2 for i in range(12)]
    # any run can be replayed from its row
    row = table.iloc[5]
    params = {name: row[name] for name in PARAMETERS if name != "composition"}
    from model.model import PartnershipModel

    summary = PartnershipModel(seed=int(row.seed), **params).run()
    assert summary["final_access"] == row.final_access and summary["mean_synergy"] == row.mean_synergy


def test_summary_kinds_match_a_real_run():
    summary, series = model_target({"population_size": 200, "steps": 6}, 3, ("synergy",))
    for name in SUMMARY_OUTPUTS:
        kind = SUMMARY_KINDS.get(name, "float")
        expected = {"int": int, "float": float, "bool": bool}[kind]
        assert isinstance(summary[name], expected) and not isinstance(summary[name], bool) or kind == "bool", name
    assert list(series) == ["step", "synergy"] and len(series["synergy"]) == 7


# ---------------------------------------------------------------- storage
def test_the_fields_readers_read_runs_and_series_as_they_are(reference):
    # runs/ holds the run table only and series/ the series only: each is one dataset with one schema, read by
    # pandas, pyarrow, duckdb and polars with no glue, and giving the rows load_sweep and load_series give
    import duckdb
    import polars as pl
    import pyarrow.dataset as ds

    runs, series = load_sweep(reference), load_series(reference)
    by_pandas = pd.read_parquet(reference / "runs").sort_values("run_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(by_pandas, runs)
    assert ds.dataset(reference / "runs").count_rows() == len(runs) == 12
    assert ds.dataset(reference / "series").count_rows() == len(series) == 12 * 13
    con = duckdb.connect()
    assert con.execute(f"select count(*) from read_parquet('{reference}/runs/*.parquet')").fetchone()[0] == 12
    joined = con.execute(
        f"select r.run_id, r.seats, s.step, s.synergy from read_parquet('{reference}/runs/*.parquet') r"
        f" join read_parquet('{reference}/series/*.parquet') s using (run_id) order by run_id, step"
    ).df()
    assert len(joined) == 12 * 13 and np.allclose(joined.synergy.to_numpy(), series.synergy.to_numpy())
    by_polars = pl.read_parquet(reference / "runs").sort("run_id")
    assert by_polars.height == 12 and by_polars["final_access"].to_list() == runs.final_access.tolist()
    assert pl.read_parquet(reference / "series").height == 12 * 13


def test_undefined_outcomes_are_nulls_not_nan(reference):
    import pyarrow.dataset as ds

    # no shock in the tiny sweep, so the months to recover from one are undefined in every run: nulls, as in the
    # JSON summaries (a NaN would be a number to duckdb and polars)
    table = ds.dataset(reference / "runs").to_table()
    recovery = table.column("recovery_months")
    assert recovery.null_count == len(recovery) == 12
    assert table.column("final_access").null_count == 0
    assert load_sweep(reference).recovery_months.isna().all()


def test_sweep_folder_contents(reference):
    names = {p.name for p in reference.iterdir()}
    # no _lock: a finished sweep removes its lock file
    assert names == {"_manifest.json", "_design.parquet", "columns.json", "runs", "series"}
    assert [p.name for p in (reference / "runs").iterdir()] == ["part-00000.parquet"]
    assert [p.name for p in (reference / "series").iterdir()] == ["part-00000.parquet"]
    manifest = load_manifest(reference)
    for key in ("spec", "spec_hash", "root_seed", "versions", "git", "started", "finished", "counts"):
        assert key in manifest, key
    for dist in ("phc-synergy", "mesa", "numpy", "SALib", "dask"):
        assert dist in manifest["versions"]
    assert manifest["status"] == "complete"
    assert manifest["counts"]["runs_total"] == manifest["counts"]["runs_done"] == 12
    assert manifest["spec"]["design"] == {"method": "lhs", "n": 6, "seed": 12345}

    table = load_sweep(reference)
    meta = ["run_id", "point_id", "replicate", "seed"]
    assert list(table.columns) == [*meta, *PARAMETERS, *SUMMARY_OUTPUTS, "status", "error"]
    assert (table.status == "ok").all() and table.error.isna().all()
    assert (table.population_size == 200).all() and (table.steps == 12).all()

    series = load_series(reference)
    assert list(series.columns) == ["run_id", "step", "synergy", "access", "active_seats"]
    assert len(series) == 12 * 13 and series.active_seats.dtype == np.int64

    problem, X = load_design(reference)
    assert problem["names"] == ["communication", "trust_gain", "seats"] and X.shape == (6, 3)

    experiments, outcomes = load_experiments_outcomes(reference)
    # only the varied inputs, typed: no ids, seeds, constants or the empty composition
    assert experiments.columns.tolist() == ["communication", "trust_gain", "seats"] and len(experiments) == 12
    assert experiments.dtypes.tolist() == [np.float64, np.float64, np.int64]
    with_ids, _ = load_experiments_outcomes(reference, ids=True)
    assert with_ids.columns.tolist()[:5] == ["run_id", "point_id", "replicate", "seed", "status"]
    # every output defined in every run; the others (NaN somewhere) only when asked for by name
    defined = {name for name in SUMMARY_OUTPUTS if table[name].notna().all()}
    assert set(outcomes) == defined and "recovery_months" not in outcomes and "final_access" in outcomes
    assert all(v.dtype == np.float64 and v.shape == (12,) for v in outcomes.values())
    _, asked = load_experiments_outcomes(reference, outcomes=["recovery_months", "final_access"])
    assert list(asked) == ["recovery_months", "final_access"] and np.isnan(asked["recovery_months"]).all()
    with pytest.raises(StoreError, match="not run-summary outputs"):
        load_experiments_outcomes(reference, outcomes=["final_acess"])
    np.testing.assert_array_equal(outcomes["final_access"], table.final_access.to_numpy())
    _, per_step = load_experiments_outcomes(reference, series=True)
    assert set(per_step) == {"synergy", "access", "active_seats"} and per_step["access"].shape == (12, 13)
    np.testing.assert_array_equal(per_step["access"][:, -1], table.final_access.to_numpy())


def test_existing_folder_is_refused_without_resume_and_other_specs_always(reference, tmp_path, capsys):
    spec_path = write_spec(tmp_path)
    before = sorted(p.name for p in reference.iterdir())
    status, _, err = cli(capsys, "sweep", spec_path, "--out", reference)
    assert status == 2 and "already holds this sweep" in err and "--resume" in err

    other = write_spec(tmp_path, replace(SMALL_SPEC, "root_seed = 12345", "root_seed = 54321"), "other.toml")
    for extra in ([], ["--resume"]):
        status, _, err = cli(capsys, "sweep", other, "--out", reference, *extra)
        assert status == 2 and "different spec" in err and "other.toml" in err, err
    assert sorted(p.name for p in reference.iterdir()) == before

    status, out, _ = cli(capsys, "sweep", spec_path, "--out", reference, "--resume")
    assert status == 0 and "nothing to run" in out
    assert sorted(p.name for p in reference.iterdir()) == before

    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    status, _, err = cli(capsys, "sweep", spec_path, "--out", stranger)
    assert status == 2 and "holds no sweep" in err


def test_cli_sweep_prints_progress_and_summary(tmp_path, capsys, reference):
    spec_path = write_spec(tmp_path)
    out = tmp_path / "sweep"
    status, stdout, err = cli(capsys, "sweep", spec_path, "--out", out, "--chunk-runs", "5", "--batch-size", "5")
    assert status == 0, err
    assert "12 runs" in err and "runs/s" in err and "12/12 runs (100%)" in err
    assert "sweep done: 12 runs" in stdout and "0 errors" in stdout and str(out) in stdout
    assert len(chunk_files(out)) == 3  # 5 + 5 + 2 runs
    assert_same_sweep(reference, out)  # chunking and batching do not change the table


def test_a_run_that_raises_is_recorded(tmp_path, capsys, monkeypatch):
    from model.model import PartnershipModel

    real_run = PartnershipModel.run

    def flaky_run(self, *args, **kwargs):
        if self.params["seats"] > 15:
            raise RuntimeError(f"boom at {self.params['seats']} seats")
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(PartnershipModel, "run", flaky_run)
    spec_path = write_spec(tmp_path)
    out = tmp_path / "sweep"
    status, stdout, err = cli(capsys, "sweep", spec_path, "--out", out)
    assert status == 0, err
    table = load_sweep(out)
    bad = table.seats > 15
    assert 0 < bad.sum() < len(table) and len(table) == 12  # none dropped
    assert (table.status[bad] == "error").all() and (table.status[~bad] == "ok").all()
    assert all(e.startswith("RuntimeError: boom at ") for e in table.error[bad])
    assert table.final_access[bad].isna().all() and table.final_access[~bad].notna().all()
    assert (table.seats[bad] > 15).all()  # parameters and seeds are kept for the failed runs
    assert f"{bad.sum()} errors" in stdout and "status 'error'" in err
    assert load_manifest(out)["counts"]["runs_error"] == bad.sum()
    failed = set(table.run_id[bad])
    assert failed.isdisjoint(load_series(out).run_id)


def toy_target(params, seed, series):
    """A target other than the model: raises for some inputs."""
    if params["x"] > 0.5:
        raise ValueError("x too large")
    return {"y": params["x"] * 2 + seed % 7, "n": 3}, None


def test_any_target_through_the_same_engine_and_store(tmp_path):
    plan = SweepPlan(
        name="toy",
        spec={"toy": 1},
        spec_hash="0" * 64,
        base={},
        varied=("x",),
        values=[(0.1,), (0.4,), (0.9,)],
        replicates=2,
        root_seed=1,
        parameters={"x": "float"},
        outputs={"y": "float", "n": "int"},
        target=toy_target,
    )
    result = run_sweep(plan, tmp_path / "toy")
    table = load_sweep(tmp_path / "toy")
    assert result.ran == 6 and result.errors == 2
    assert list(table.status) == ["ok"] * 4 + ["error"] * 2
    assert list(table.error[4:]) == ["ValueError: x too large"] * 2
    assert table.y[0] == 0.2 + table.seed[0] % 7
    # batches are plain data: the same rows however they are cut
    rows = [r.row for b in make_batches(plan, list(range(6)), 4) for r in execute_batch(b)]
    assert [r["run_id"] for r in rows] == list(range(6))
    assert pd.DataFrame(rows).drop(columns=["n"]).equals(table.drop(columns=["n"]))


def interrupting_target(params, seed, series):
    """Ctrl-C arrives during the run of x = 0.9."""
    if params["x"] == 0.9:
        raise KeyboardInterrupt
    return {"y": params["x"]}, None


def test_ctrl_c_keeps_the_finished_runs_and_resume_completes(tmp_path):
    plan = SweepPlan(
        name="toy", spec={"toy": 2}, spec_hash="1" * 64, base={}, varied=("x",), values=[(0.1,), (0.2,), (0.9,)],
        replicates=2, root_seed=1, parameters={"x": "float"}, outputs={"y": "float"}, target=interrupting_target,
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan, tmp_path / "toy", batch_size=2)
    assert list(load_sweep(tmp_path / "toy").run_id) == [0, 1, 2, 3]  # the batches finished before Ctrl-C
    assert load_manifest(tmp_path / "toy")["status"] == "interrupted"
    resumed = run_sweep(replace_target(plan, toy_target), tmp_path / "toy", resume=True)
    assert resumed.stored_before == 4 and resumed.ran == 2
    assert list(load_sweep(tmp_path / "toy").run_id) == list(range(6))


def replace_target(plan, target):
    import dataclasses

    return dataclasses.replace(plan, target=target)


# ---------------------------------------------------------------- engines
def test_two_local_workers_give_the_serial_table(reference, tmp_path, capsys):
    out = tmp_path / "dask"
    status, _, err = cli(capsys, "sweep", write_spec(tmp_path), "--out", out, "--workers", "2")
    assert status == 0, err
    assert "local Dask cluster of 2 processes" in err
    assert_same_sweep(reference, out)
    assert load_manifest(out)["sessions"][-1]["engine"] == "dask-local"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the dask scheduler exited with status {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def _http_status(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


def test_a_local_cluster_prints_its_dashboard_and_a_callers_client_is_used_and_left_open(reference, tmp_path):
    from distributed import Client

    engine = DaskEngine(workers=2)
    try:
        assert engine.dashboard.startswith("http://127.0.0.1:") and _http_status(engine.dashboard) == 200
        client = Client(engine.client.scheduler.address)  # a caller's own client on that cluster
        try:
            run_sweep(load_spec(write_spec(tmp_path)), tmp_path / "by_client", scheduler=client)
            assert_same_sweep(reference, tmp_path / "by_client")
            assert client.status == "running"  # the sweep did not close what it did not open
            assert load_manifest(tmp_path / "by_client")["sessions"][-1]["dashboard"] == engine.dashboard
        finally:
            client.close()
    finally:
        engine.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_an_existing_dask_cluster_gives_the_serial_table(reference, tmp_path, capsys):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    common = {"cwd": REPO, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
              "start_new_session": True}  # fmt: skip
    board = _free_port()
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--dashboard-address", f"127.0.0.1:{board}"],
        **common,
    )  # fmt: skip
    worker = None
    try:
        _wait_for_port(port, scheduler)
        worker = subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--nworkers", "1",
             "--no-dashboard", "--host", "127.0.0.1"],
            **common,
        )  # fmt: skip
        out = tmp_path / "cluster"
        status, _, err = cli(capsys, "sweep", write_spec(tmp_path), "--out", out, "--scheduler", address)
        assert status == 0, err
        assert f"the Dask cluster at {address}" in err
        assert f"Dask dashboard (task stream, worker load): http://127.0.0.1:{board}/status" in err
        assert _http_status(f"http://127.0.0.1:{board}/status") == 200  # bokeh is installed: the page is served
        assert_same_sweep(reference, out)
        assert load_manifest(out)["sessions"][-1]["scheduler"] == address
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                _stop(proc)


def test_unreachable_scheduler_is_a_clean_error(tmp_path, capsys):
    status, _, err = cli(
        capsys, "sweep", write_spec(tmp_path), "--out", tmp_path / "o", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"
    )
    assert status == 2 and "cannot connect to the Dask scheduler" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing written


def _scheduler(port: int) -> tuple[subprocess.Popen, dict]:
    """A real `dask scheduler` on 127.0.0.1:port (its own process group) and the options for its workers."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    common = {"cwd": REPO, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
              "start_new_session": True}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        **common,
    )
    _wait_for_port(port, proc)
    return proc, common


def _worker(address: str, common: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1", "--nworkers", "1",
         "--no-dashboard", "--host", "127.0.0.1"],
        **common,
    )  # fmt: skip


def test_a_cluster_without_workers_says_once_where_it_waits(reference, tmp_path, capsys, monkeypatch):
    import threading

    import experiments.engine

    monkeypatch.setattr(experiments.engine, "NO_WORKER_NOTICE_SECONDS", 1.0)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler, common = _scheduler(port)
    workers: list[subprocess.Popen] = []
    timer = threading.Timer(4.0, lambda: workers.append(_worker(address, common)))  # after the notice
    try:
        timer.start()
        out = tmp_path / "late"
        status, _, err = cli(capsys, "sweep", write_spec(tmp_path), "--out", out, "--scheduler", address, "--quiet")
        assert status == 0, err
        notices = [line for line in err.splitlines() if "waiting for a Dask worker" in line]
        assert len(notices) == 1, err
        assert address in notices[0] and f"'dask worker {address}'" in notices[0]
        assert_same_sweep(reference, out)
    finally:
        timer.cancel()
        for proc in (*workers, scheduler):
            _stop(proc)


def test_a_scheduler_lost_mid_sweep_is_one_line_and_resume_finishes(tmp_path, capsys):
    import threading

    spec_path = write_spec(tmp_path, KILL_SPEC)
    whole = tmp_path / "whole"
    run_sweep(load_spec(spec_path), whole)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler, common = _scheduler(port)
    worker = _worker(address, common)
    out = tmp_path / "lost"

    def kill_scheduler_after_the_first_chunk() -> None:
        deadline = time.monotonic() + 120
        while not (out / "runs" / "part-00000.parquet").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(scheduler.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_scheduler_after_the_first_chunk, daemon=True)
    try:
        killer.start()
        status, _, err = cli(
            capsys, "sweep", spec_path, "--out", out, "--scheduler", address, "--quiet",
            "--chunk-runs", "10", "--batch-size", "5",
        )  # fmt: skip
        killer.join(timeout=30)
    finally:
        for proc in (worker, scheduler):
            _stop(proc)
    assert status == 1, err
    lines = err.splitlines()
    assert lines[0].startswith("sweep 'tiny'") and len(lines) == 2, err  # the header, then one line
    stored = len(load_sweep(out))
    assert 0 < stored < 150
    assert lines[1].startswith(f"phc-synergy: error: lost the connection to the Dask scheduler at {address}")
    assert f"{stored} of 150 runs are stored in {str(out)!r}" in lines[1] and "--resume" in lines[1]
    assert "Traceback" not in err and load_manifest(out)["status"] == "failed"

    status, _, err = cli(capsys, "sweep", spec_path, "--out", out, "--resume")
    assert status == 0, err
    assert f"its last session failed; {stored} of 150 runs are stored" in err
    assert_same_sweep(whole, out)


# ---------------------------------------------------------------- kill -9 and resume
KILL_SPEC = replace(replace(SMALL_SPEC, "n = 6", "n = 50"), "replicates = 2", "replicates = 3")


def test_a_sweep_killed_with_sigkill_resumes_to_the_same_table(tmp_path, capsys):
    spec_path = write_spec(tmp_path, KILL_SPEC)
    total = 150
    # the uninterrupted sweep
    whole = tmp_path / "whole"
    assert run_sweep(load_spec(spec_path), whole).ran == total

    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "model.cli", "sweep", str(spec_path), "--out", str(killed),
         "--chunk-runs", "10", "--batch-size", "5", "--quiet"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (killed / "runs" / "part-00000.parquet").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no chunk appeared"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    stored = load_sweep(killed)
    assert 0 < len(stored) < total, "the sweep finished before it could be killed"
    assert load_manifest(killed)["status"] == "running"  # it never got to record its end
    assert (killed / "_lock").exists()  # left by the killed process, but nobody holds it

    # without --resume: refused, and the sweep is called what it is, interrupted (nobody holds its lock)
    status, _, err = cli(capsys, "sweep", spec_path, "--out", killed)
    assert status == 2 and "(interrupted, " in err and "--resume" in err and len(err.splitlines()) == 1, err

    status, stdout, err = cli(capsys, "sweep", spec_path, "--out", killed, "--resume", "--chunk-runs", "50")
    assert status == 0, err
    assert f"its last session was interrupted; {len(stored)} of {total} runs are stored" in err
    assert f"{len(stored)} stored before" in stdout
    table = load_sweep(killed)
    assert list(table.run_id) == list(range(total))  # none lost, none duplicated
    assert_same_sweep(whole, killed)
    manifest = load_manifest(killed)
    assert manifest["status"] == "complete" and manifest["counts"]["runs_done"] == total
    assert manifest["sessions"][-1]["resumed_from"] == len(stored)
    assert manifest["sessions"][-2]["status"] == "interrupted" and "found_interrupted" in manifest["sessions"][-2]
    assert not [p for p in killed.iterdir() if p.name.endswith(".tmp") or p.name == "_lock"]


def _as_format_1(folder: Path, keep: int | None = None) -> None:
    """Put a sweep folder back in the first layout (chunk-*.parquet and series-*.parquet beside the manifest)."""
    for index, part in sorted(chunk_files(folder).items()):
        if keep is not None and index >= keep:
            part.unlink()
            (folder / "series" / part.name).unlink()
            continue
        part.rename(folder / f"chunk-{index:05d}.parquet")
        (folder / "series" / part.name).rename(folder / f"series-{index:05d}.parquet")
    (folder / "runs").rmdir()
    (folder / "series").rmdir()
    manifest = json.loads((folder / "_manifest.json").read_text())
    manifest["format"] = "phc-synergy-sweep/1"
    del manifest["columns"]["varied"]
    (folder / "_manifest.json").write_text(json.dumps(manifest))


def test_a_folder_of_the_first_layout_still_loads_and_resuming_moves_it(reference, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(reference, old)
    _as_format_1(old)
    assert_same_sweep(reference, old)
    assert load_experiments_outcomes(old)[0].columns.tolist() == ["communication", "trust_gain", "seats"]

    # a format-1 sweep stopped half-way: resuming moves its parts into runs/ and series/, then finishes it
    half = tmp_path / "half"
    run_sweep(load_spec(write_spec(tmp_path)), half, batch_size=4, chunk_runs=4)
    _as_format_1(half, keep=1)
    status, _, err = cli(capsys, "sweep", tmp_path / "spec.toml", "--out", half, "--resume", "--quiet")
    assert status == 0, err
    assert {p.name for p in half.iterdir()} == {"_manifest.json", "_design.parquet", "columns.json", "runs", "series"}
    manifest = load_manifest(half)
    assert manifest["format"] == "phc-synergy-sweep/2" and manifest["upgraded_from"] == "phc-synergy-sweep/1"
    assert_same_sweep(reference, half)


# ---------------------------------------------------------------- export
def test_export_csv(reference, tmp_path, capsys):
    out = tmp_path / "runs.csv"
    status, stdout, err = cli(capsys, "export", reference, "--format", "csv", "--out", out)
    assert status == 0, err and "12 rows" in stdout
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    table = load_sweep(reference)
    assert len(rows) == 12 and list(rows[0]) == list(table.columns)
    assert [int(r["seed"]) for r in rows] == list(table.seed)
    assert [float(r["final_access"]) for r in rows] == list(table.final_access)
    assert {r["sustained"] for r in rows} <= {"true", "false"} and rows[0]["error"] == ""


def test_export_behaviorspace(reference, tmp_path, capsys):
    out = tmp_path / "bs.csv"
    status, _, err = cli(capsys, "export", reference, "--format", "behaviorspace", "--out", out)
    assert status == 0, err
    with open(out, newline="") as f:
        lines = list(csv.reader(f))
    raw = out.read_text().splitlines()
    assert raw[0].startswith('"BehaviorSpace results (phc-synergy ') and all(ln.startswith('"') for ln in raw)
    assert lines[2] == ["tiny"]
    assert lines[4][:2] == ["spec-hash", "root-seed"] and lines[5][0] == load_manifest(reference)["spec_hash"]
    header, data = lines[6], lines[7:]
    assert header[:5] == ["[run number]", "communication", "trust_gain", "seats", "[step]"]  # the varied only
    assert header[5:8] == ["synergy", "access", "active_seats"]
    assert header[-5:] == ["point_id", "replicate", "seed", "seed_hi", "seed_lo"]
    assert set(PARAMETERS) - set(header) <= set(lines[4])  # the constants: in the header lines
    assert len(data) == 12 * 13  # one row per run per month
    col = {name: i for i, name in enumerate(header)}
    assert [r[col["[step]"]] for r in data[:13]] == [str(s) for s in range(13)]
    assert {r[col["[run number]"]] for r in data} == {str(i) for i in range(1, 13)}
    table = load_sweep(reference)
    last = [r for r in data if r[col["[run number]"]] == "1"][-1]
    assert float(last[col["access"]]) == table.final_access[0] and int(last[col["seed"]]) == table.seed[0]


def test_export_behaviorspace_without_series(tmp_path, capsys):
    spec_path = write_spec(tmp_path, replace(SMALL_SPEC, 'series = ["synergy", "access", "active_seats"]', ""))
    folder = tmp_path / "sweep"
    run_sweep(load_spec(spec_path), folder)
    assert {p.name for p in folder.iterdir()} == {"_manifest.json", "_design.parquet", "columns.json", "runs"}  # no series/
    status, _, err = cli(capsys, "export", folder, "--format", "behaviorspace")
    assert status == 0, err
    with open(folder / "behaviorspace.csv", newline="") as f:
        lines = list(csv.reader(f))
    header, data = lines[6], lines[7:]
    assert len(data) == 12 and header[-len(SUMMARY_OUTPUTS) - 6 : -5] == ["[step]", *SUMMARY_OUTPUTS]
    assert {r[header.index("[step]")] for r in data} == {"12"}


def test_export_refuses_a_folder_that_is_not_a_sweep(tmp_path, capsys):
    status, _, err = cli(capsys, "export", tmp_path, "--format", "csv")
    assert status == 2 and "not a sweep folder" in err
    with pytest.raises(StoreError):
        load_sweep(tmp_path)


def test_export_takes_a_commands_folder_and_names_the_sweep_for_its_parts(tmp_path, capsys):
    folder = tmp_path / "sens" / "sweep"  # where sensitivity, compare and validate keep their sweep
    run_sweep(load_spec(write_spec(tmp_path)), folder)
    status, stdout, err = cli(capsys, "export", tmp_path / "sens", "--format", "csv")
    assert status == 0 and "12 rows" in stdout, err
    assert f"reading the sweep in {folder}" in err and (tmp_path / "sens" / "runs.csv").exists()
    assert len(pd.read_csv(tmp_path / "sens" / "runs.csv")) == 12
    status, _, err = cli(capsys, "export", folder / "runs", "--format", "csv")
    assert status == 2 and f"did you mean {str(folder)!r}?" in err and len(err.strip().splitlines()) == 1
    assert not [p for p in folder.rglob("*") if p.name == "_lock" or p.name.endswith(".tmp")]


def _partial_sweep(tmp_path: Path) -> tuple[Path, int, int]:
    """The tiny sweep stopped after its first chunk: (folder, runs stored, runs in all)."""
    folder = tmp_path / "partial"
    run_sweep(load_spec(write_spec(tmp_path)), folder, batch_size=4, chunk_runs=4)
    chunks = chunk_files(folder)
    for index in list(chunks)[1:]:
        chunks[index].unlink()
        (folder / "series" / f"part-{index:05d}.parquet").unlink()
    return folder, 4, 12


def test_export_of_an_incomplete_sweep_is_refused_unless_partial(tmp_path, capsys):
    folder, stored, total = _partial_sweep(tmp_path)
    for fmt in ("csv", "behaviorspace"):
        status, _, err = cli(capsys, "export", folder, "--format", fmt)
        assert status == 2 and len(err.splitlines()) == 1
        assert f"{stored} of {total} runs are stored" in err and "--resume" in err and "--partial" in err
        assert f"phc-synergy sweep {tmp_path / 'spec.toml'} --out {folder} --resume" in err
    assert not (folder / "runs.csv").exists() and not (folder / "behaviorspace.csv").exists()

    status, out, err = cli(capsys, "export", folder, "--format", "csv", "--partial")
    assert status == 0, err
    assert f"partial: {stored} of {total} runs" in out
    lines = (folder / "runs.csv").read_text().splitlines()
    assert lines[0].startswith(f"# partial export: {stored} of {total} runs of sweep 'tiny'")
    assert len(pd.read_csv(folder / "runs.csv", skiprows=1)) == stored

    status, _, err = cli(capsys, "export", folder, "--format", "behaviorspace", "--partial")
    assert status == 0, err
    with open(folder / "behaviorspace.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][0].endswith(f"(partial: {stored} of {total} runs)")
    info = dict(zip(rows[4], rows[5], strict=True))
    assert info["partial"] == "true" and info["stored-runs"] == str(stored) and info["runs"] == str(total)
    assert rows[6][0] == "[run number]"  # still six header lines, then the header row


def test_export_of_a_whole_sweep_says_it_is_not_partial(reference, tmp_path, capsys):
    out = tmp_path / "bs.csv"
    assert cli(capsys, "export", reference, "--format", "behaviorspace", "--out", out)[0] == 0
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert dict(zip(rows[4], rows[5], strict=True))["partial"] == "false" and "partial" not in rows[0][0]
    assert cli(capsys, "export", reference, "--format", "csv", "--out", tmp_path / "r.csv", "--partial")[0] == 0
    assert (tmp_path / "r.csv").read_text().startswith("run_id,")  # --partial on a whole sweep changes nothing


def test_folder_lock_frees_itself_and_leaves_no_file(tmp_path):
    from experiments.lock import FolderLock, held_by_another

    (tmp_path / "_lock").write_text("")  # left by a process that was killed: nobody holds it
    assert not held_by_another(tmp_path) and not (tmp_path / "_lock").exists()  # the probe removed it
    first, second = FolderLock(tmp_path), FolderLock(tmp_path)
    assert first.acquire() and first.held
    assert not second.acquire() and held_by_another(tmp_path)
    first.release()
    assert not (tmp_path / "_lock").exists()
    assert second.acquire()
    second.release()
    assert list(tmp_path.iterdir()) == []


def test_two_processes_never_write_one_sweep(tmp_path):
    from experiments.store import SweepStore

    plan = load_spec(write_spec(tmp_path)).plan()
    first = SweepStore.open(tmp_path / "sweep", plan)
    try:
        with pytest.raises(StoreError, match=rf"another process \(pid {os.getpid()} on "):
            SweepStore.open(tmp_path / "sweep", plan, resume=True)  # the lock is per open file: refused here too
    finally:
        first.close(status="interrupted")
    second = SweepStore.open(tmp_path / "sweep", plan, resume=True)  # free again
    second.close(status="interrupted")
    manifest = load_manifest(tmp_path / "sweep")
    assert manifest["status"] == "interrupted" and len(manifest["sessions"]) == 2
    assert not (tmp_path / "sweep" / "_lock").exists()


def test_manifest_is_json_without_nan(reference):
    json.loads((reference / "_manifest.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in manifest"))


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_stored_design_feeds_salib_analysis(method, tmp_path):
    """The stored raw design, dummy included, and the run table are what SALib's analysers take."""
    design = {"method": "morris", "trajectories": 3, "levels": 4} if method == "morris" else {"method": "sobol", "n": 4}
    spec = spec_from_dict({**doc(**design, dummy=True), "replicates": 2, "vary": {"communication": {}, "seats": [6, 20]}})
    folder = tmp_path / method
    run_sweep(spec, folder)
    table = load_sweep(folder)
    problem, X = load_design(folder)
    assert problem["names"] == ["communication", "seats", "dummy"] and X.shape == (spec.n_points, 3)
    assert table.dummy.between(0, 1).all() and (table.dummy.to_numpy()[::2] == X[:, 2]).all()
    Y = table.groupby("point_id").final_access.mean().to_numpy()  # replicate means, in point order
    if method == "morris":
        from SALib.analyze import morris

        result = morris.analyze(problem, X, Y, num_levels=4, seed=1)
        assert list(result["names"]) == problem["names"]
    else:
        from SALib.analyze import sobol

        result = sobol.analyze(problem, Y, calc_second_order=False, seed=1, num_resamples=20)
        assert len(result["ST"]) == 3


def test_preparing_an_engine_runs_the_warm_up_of_modules_that_define_one(monkeypatch):
    import types

    from experiments.engine import SerialEngine, model_target, target_modules

    calls = []
    fake = types.ModuleType("fake_kernels")
    fake.warm_up = lambda: calls.append("warm")
    monkeypatch.setitem(sys.modules, "fake_kernels", fake)
    SerialEngine().prepare(["experiments.engine", "fake_kernels"])
    assert calls == ["warm"]
    assert "model.kernels" in target_modules(model_target)  # the model's compiled kernels load before any batch

"""Designs beyond grid, lhs, sobol and morris: scipy.stats.qmc sequences and your own points from a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.spec import SpecError, load_spec
from experiments.store import load_manifest, load_sweep
from experiments.sweep import run_sweep
from model.cli import main

HEAD = """\
name = "own"
scenario = "default"
root_seed = 99
replicates = 2
steps = 6

[fixed]
population_size = 200
"""


def spec(folder: Path, design: str, vary: str = "", name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(HEAD + (f"\n[vary]\n{vary}\n" if vary else "") + f"\n[design]\n{design}\n", encoding="utf-8")
    return path


VARY = 'leadership = {}\nseats = { low = 6, high = 30 }'


@pytest.mark.parametrize("sampler", ["sobol", "halton"])
def test_qmc_sequences_fill_the_space_evenly_and_replay(tmp_path, sampler):
    s = load_spec(spec(tmp_path, f'method = "qmc"\nsampler = "{sampler}"\nn = 64', VARY))
    X = s.design.X
    assert X.shape == (64, 2) and s.n_runs == 128
    assert (X[:, 0] >= 0).all() and (X[:, 0] <= 1).all() and {v[1] for v in s.design.values} <= set(range(6, 31))
    # a scrambled Sobol' sequence of 2^k points puts exactly one point in each of 2^k equal slices of
    # every axis; Halton comes close. Latin hypercubes do that too, but not in 2-D squares: check 8 x 8
    slices = np.bincount(np.minimum((X[:, 0] * 64).astype(int), 63), minlength=64)
    squares = np.bincount(
        (np.minimum(X[:, 0] * 8, 7).astype(int) * 8 + np.minimum((X[:, 1] - 6) / 24 * 8, 7).astype(int)),
        minlength=64,
    )
    if sampler == "sobol":
        assert (slices == 1).all() and (squares == 1).all()
    else:
        assert slices.max() <= 2 and squares.max() <= 3
    again = load_spec(spec(tmp_path, f'method = "qmc"\nsampler = "{sampler}"\nn = 64', VARY, "again.toml"))
    assert np.array_equal(again.design.X, X) and again.hash == s.hash
    other = load_spec(spec(tmp_path, f'method = "qmc"\nsampler = "{sampler}"\nn = 64\nseed = 5', VARY, "o.toml"))
    assert not np.array_equal(other.design.X, X) and other.hash != s.hash


@pytest.mark.parametrize(
    ("design", "message"),
    [
        ('method = "qmc"\nn = 100', "n = 100 is not allowed for a Sobol' sequence: a power of two"),
        ('method = "qmc"\nsampler = "niederreiter"\nn = 64', "design.sampler = 'niederreiter' is not allowed"),
        ('method = "qmc"', "missing [design] n"),
        ('method = "qmc"\nn = 64\nlevels = 4', "'levels' does not apply to method 'qmc'"),
    ],
)
def test_bad_qmc_designs_name_the_field(tmp_path, design, message):
    with pytest.raises(SpecError, match=_escape(message)):
        load_spec(spec(tmp_path, design, VARY))


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def _points(folder: Path, text: str, name: str = "points.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_of_points_is_the_design_and_its_points_are_in_the_hash(tmp_path):
    _points(tmp_path, "leadership,seats\n0.2,10\n0.8,10\n0.5,30\n")
    s = load_spec(spec(tmp_path, 'method = "file"\npath = "points.csv"'))
    assert [v.name for v in s.varied] == ["leadership", "seats"]
    assert s.design.values == [(0.2, 10), (0.8, 10), (0.5, 30)] and s.n_runs == 6
    run_sweep(s, tmp_path / "sweep")
    table = load_sweep(tmp_path / "sweep")
    assert table.groupby("point_id")[["leadership", "seats"]].first().values.tolist() == [[0.2, 10], [0.8, 10],
                                                                                         [0.5, 30]]  # fmt: skip
    assert load_manifest(tmp_path / "sweep")["spec"]["design"]["path"] == "points.csv"
    # the same points as Parquet: the same sweep; other points: another one, which a resume refuses
    pd.DataFrame({"leadership": [0.2, 0.8, 0.5], "seats": [10, 10, 30]}).to_parquet(tmp_path / "points.parquet")
    assert load_spec(spec(tmp_path, 'method = "file"\npath = "points.parquet"', name="p.toml")).design.hash == (
        s.design.hash
    )
    _points(tmp_path, "leadership,seats\n0.2,10\n0.8,12\n0.5,30\n")
    changed = load_spec(spec(tmp_path, 'method = "file"\npath = "points.csv"'))
    assert changed.hash != s.hash
    status = main(["sweep", str(tmp_path / "spec.toml"), "--out", str(tmp_path / "sweep"), "--resume", "--quiet"])
    assert status == 2


def test_a_file_design_with_vary_keeps_to_its_ranges(tmp_path):
    _points(tmp_path, "seats,leadership\n10,0.2\n12,0.3\n")
    s = load_spec(spec(tmp_path, 'method = "file"\npath = "points.csv"', VARY))
    assert [v.name for v in s.varied] == ["seats", "leadership"] and s.design.values == [(10, 0.2), (12, 0.3)]
    _points(tmp_path, "seats,leadership\n40,0.2\n")
    with pytest.raises(SpecError, match=r"points.csv: row 1, column 'seats': '40' is outside the range \[6, 30\]"):
        load_spec(spec(tmp_path, 'method = "file"\npath = "points.csv"', VARY))
    _points(tmp_path, "seats\n10\n")
    with pytest.raises(SpecError, match="the columns must be the parameters of \\[vary\\]; missing: leadership"):
        load_spec(spec(tmp_path, 'method = "file"\npath = "points.csv"', VARY))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("leadership,seats\n0.2,3.5\n", "row 1, column 'seats': '3.5' is not allowed: an integer in [3, 2000]"),
        ("leadership,seats\n0.2,10\n1.2,10\n", "row 2, column 'leadership': '1.2' is not allowed: a number in [0, 1]"),
        ("leadership,seats\nhigh,10\n", "row 1, column 'leadership': 'high' is not allowed"),
        ("leadership,seats\n0.2,\n", "row 1, column 'seats': '' is not allowed: a number"),
        ("leadership,seats\n0.2\n", "row 1: 1 cells, but the header has 2"),
        ("leadersip,seats\n0.2,10\n", "column 'leadersip' is not a model parameter (did you mean 'leadership'?)"),
        ("composition\n1\n", "column 'composition' cannot be varied"),
        ("population_size\n300\n", "column 'population_size' is also set in [fixed]"),
        ("leadership,leadership\n0.2,0.3\n", "column 'leadership' appears twice"),
        ("leadership\n", "has no rows"),
        ("", "is empty"),
    ],
)
def test_bad_points_files_are_one_line_naming_file_row_and_column(tmp_path, capsys, text, message):
    _points(tmp_path, text)
    path = spec(tmp_path, 'method = "file"\npath = "points.csv"')
    status = main(["sweep", str(path), "--out", str(tmp_path / "sweep"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and _escape(message).replace("\\", "") in err.replace("\\", ""), err
    assert len(err.strip().splitlines()) == 1 and "points.csv" in err
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("design", "message"),
    [
        ('method = "file"', "design.path = (missing) is not allowed"),
        ('method = "file"\npath = "nowhere.csv"', "[design] path = 'nowhere.csv': no such file"),
        ('method = "file"\npath = "points.xlsx"', "[design] path = 'points.xlsx': a .csv or .parquet file is needed"),
    ],
)
def test_bad_file_design_keys(tmp_path, design, message):
    with pytest.raises(SpecError, match=_escape(message)):
        load_spec(spec(tmp_path, design))


def test_a_parquet_that_is_not_one_is_named(tmp_path):
    (tmp_path / "points.parquet").write_text("not parquet")
    with pytest.raises(SpecError, match="points.parquet: cannot be read as Parquet"):
        load_spec(spec(tmp_path, 'method = "file"\npath = "points.parquet"'))

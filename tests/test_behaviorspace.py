"""The NetLogo BehaviorSpace exports (experiments/export.py): table and spreadsheet layouts, against the data."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from experiments.export import ID_COLUMNS, export, seed_halves
from experiments.spec import load_spec
from experiments.store import chunk_files, load_manifest, load_series, load_sweep, varied_inputs
from experiments.sweep import run_sweep
from model.cli import main
from model.outputs import SUMMARY_OUTPUTS

# The tiny sweep of tests/test_sweep.py: 6 LHS points x 2 replicates, 12 months, a small cohort.
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
SERIES = ["synergy", "access", "active_seats"]
VARIED = ["communication", "trust_gain", "seats"]
HEADER_LINES = 6  # BehaviorSpace's header lines before the data


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


# Smaller still, for the sweeps only one test needs: 3 points x 2 replicates, 6 months.
SMALLER_SPEC = replace(replace(SMALL_SPEC, "n = 6", "n = 3"), "steps = 12", "steps = 6")
NO_SERIES_SPEC = replace(SMALLER_SPEC, 'series = ["synergy", "access", "active_seats"]', "")


def write_spec(folder: Path, text: str = SMALL_SPEC, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def make_sweep(folder: Path, text: str, **kwargs: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    result = run_sweep(load_spec(write_spec(folder, text)), folder / "sweep", **kwargs)
    assert result.errors == 0
    return folder / "sweep"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """The tiny sweep with per-step series (12 runs, months 0 to 12)."""
    return make_sweep(tmp_path_factory.mktemp("series"), SMALL_SPEC)


@pytest.fixture(scope="module")
def no_series(tmp_path_factory) -> Path:
    """A smaller sweep that kept no series (6 runs of 6 months)."""
    return make_sweep(tmp_path_factory.mktemp("no_series"), NO_SERIES_SPEC)


def cli(capsys, *args: Any) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def cell(value: Any) -> str:
    """A value of load_sweep/load_series as the exports write it."""
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def table_export(folder: Path, out: Path) -> tuple[list[list[str]], list[str], list[list[str]]]:
    """(the six header lines, the header row, the data rows) of a behaviorspace export."""
    export(folder, "behaviorspace", out)
    lines = read_csv(out)
    return lines[:HEADER_LINES], lines[HEADER_LINES], lines[HEADER_LINES + 1 :]


def info(header_lines: list[list[str]]) -> dict[str, str]:
    names, values = header_lines[4], header_lines[5]
    assert len(names) == len(values) == len(set(names))
    return dict(zip(names, values, strict=True))


def tamper(folder: Path) -> Path:
    """A copy of a sweep where run 1 failed and population_size differs in run 0 (as a posterior draw would)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    copy = folder.parent / "tampered"
    shutil.copytree(folder, copy)
    for part in chunk_files(copy).values():
        table = pq.read_table(part)
        rows = table.to_pylist()
        for row in rows:
            if row["run_id"] == 0:
                row["population_size"] = 300
            if row["run_id"] == 1:
                row.update({o: None for o in load_manifest(copy)["columns"]["outputs"]})
                row.update(status="error", error="boom")
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), part)
    return copy


# ---------------------------------------------------------------- seeds
def test_seed_halves_recombine_to_the_exact_seed(sweep, tmp_path):
    _, header, data = table_export(sweep, tmp_path / "bs.csv")
    col = {name: i for i, name in enumerate(header)}
    table = load_sweep(sweep).set_index("run_id")
    assert any(int(float(s)) != s for s in table.seed)  # the problem: a double does not hold these seeds
    for row in data:
        seed, hi, lo = (int(row[col[c]]) for c in ("seed", "seed_hi", "seed_lo"))
        assert seed == table.seed[int(row[col["[run number]"]]) - 1]  # `seed` is written exactly
        assert 0 <= hi < 2**32 and 0 <= lo < 2**32
        assert float(row[col["seed_hi"]]) == hi and float(row[col["seed_lo"]]) == lo  # a double holds each half
        assert hi * 2**32 + lo == seed and seed_halves(seed) == (hi, lo)
    # read as any spreadsheet reader would (every column a double), the halves still give the seed back
    df = pd.read_csv(tmp_path / "bs.csv", skiprows=HEADER_LINES, dtype={"seed_hi": float, "seed_lo": float})
    recombined = [int(h) * 2**32 + int(lo) for h, lo in zip(df.seed_hi, df.seed_lo, strict=True)]
    assert recombined == [table.seed[r - 1] for r in df["[run number]"]]


# ---------------------------------------------------------------- table layout
def test_table_gives_only_the_varied_parameters_per_run_and_the_constants_in_the_header(sweep, tmp_path):
    lines, header, data = table_export(sweep, tmp_path / "bs.csv")
    manifest = load_manifest(sweep)
    assert varied_inputs(manifest) == VARIED
    step = header.index("[step]")
    assert header[:step] == ["[run number]", *VARIED]  # BehaviorSpace: [run number], the varied, [step]
    assert header[step + 1 : step + 1 + len(SERIES)] == SERIES
    assert header[-len(ID_COLUMNS) :] == list(ID_COLUMNS)  # the ids after the outputs
    constants = [p for p in manifest["columns"]["parameters"] if p not in VARIED]
    assert not set(constants) & set(header)
    assert lines[0][0].startswith("BehaviorSpace results (phc-synergy ") and lines[2] == ["tiny"]
    meta = info(lines)
    assert list(meta)[:7] == ["spec-hash", "root-seed", "design", "replicates", "runs", "stored-runs", "partial"]
    assert list(meta)[7:] == constants  # every constant, with its value
    assert meta["population_size"] == "200" and meta["steps"] == "12" and meta["partial"] == "false"
    table = load_sweep(sweep)
    assert all(meta[p] == cell(table[p][0]) for p in constants)
    assert all(table[p].nunique(dropna=False) == 1 for p in constants)
    col = {name: i for i, name in enumerate(header)}
    for row in data:
        run = table.iloc[int(row[col["[run number]"]]) - 1]
        assert [row[col[p]] for p in VARIED] == [cell(run[p]) for p in VARIED]
        assert [row[col[c]] for c in ("point_id", "replicate")] == [cell(run.point_id), cell(run.replicate)]


def test_table_keeps_the_summary_outputs_with_the_series(sweep, tmp_path):
    _, header, data = table_export(sweep, tmp_path / "bs.csv")
    assert len(data) == 12 * 13  # one row per run per month
    step = header.index("[step]")
    assert header[step + 1 : -len(ID_COLUMNS)] == [*SERIES, *SUMMARY_OUTPUTS]
    col = {name: i for i, name in enumerate(header)}
    table, series = load_sweep(sweep), load_series(sweep)
    assert [[r[col["[run number]"]], r[col["[step]"]]] for r in data] == [
        [str(run + 1), str(s)] for run, s in zip(series.run_id, series.step, strict=True)
    ]
    for i, row in enumerate(data):
        assert [row[col[s]] for s in SERIES] == [cell(series[s][i]) for s in SERIES]
        summary = [row[col[o]] for o in SUMMARY_OUTPUTS]
        if series.step[i] == 12:  # the run's last month: its summary
            run = series.run_id[i]
            assert summary == [cell(table[o][run]) for o in SUMMARY_OUTPUTS]
            assert float(row[col["final_access"]]) == table.final_access[run] == series.access[i]
        else:
            assert summary == [""] * len(SUMMARY_OUTPUTS)


def test_table_names_a_summary_output_that_is_also_a_series(tmp_path):
    spec = replace(SMALLER_SPEC, '"active_seats"]', '"active_seats", "cumulative_members"]')
    folder = make_sweep(tmp_path, spec)
    _, header, data = table_export(folder, tmp_path / "bs.csv")
    assert len(header) == len(set(header))
    assert "cumulative_members" in header and "summary_cumulative_members" in header
    col = {name: i for i, name in enumerate(header)}
    table = load_sweep(folder)
    last = [r for r in data if r[col["[step]"]] == "6"]
    assert [int(r[col["summary_cumulative_members"]]) for r in last] == list(table.cumulative_members)


def test_table_without_series_has_one_row_per_run_with_the_summary(no_series, tmp_path):
    lines, header, data = table_export(no_series, tmp_path / "bs.csv")
    assert header == ["[run number]", *VARIED, "[step]", *SUMMARY_OUTPUTS, *ID_COLUMNS]
    table = load_sweep(no_series)
    assert len(data) == len(table) == 6
    for row, (_, run) in zip(data, table.iterrows(), strict=True):
        assert row == [str(run.run_id + 1), *(cell(run[p]) for p in VARIED), "6"] + [
            cell(run[o]) for o in SUMMARY_OUTPUTS
        ] + [cell(run.point_id), cell(run.replicate), cell(run.seed), *map(str, seed_halves(int(run.seed)))]
    assert info(lines)["steps"] == "6"


def test_table_keeps_a_failed_run_and_a_parameter_drawn_per_run(no_series, tmp_path):
    folder = tamper(no_series)
    lines, header, data = table_export(folder, tmp_path / "bs.csv")
    assert "population_size" not in info(lines)  # no longer the same in every run: not a constant
    assert header[: header.index("[step]")] == ["[run number]", *VARIED]  # still the design's inputs only
    assert header[-len(ID_COLUMNS) - 1 :] == [*ID_COLUMNS, "population_size"]
    assert [r[-1] for r in data] == ["300", *["200"] * 5]
    failed = data[1]
    step = header.index("[step]")
    assert failed[0] == "2" and failed[step : step + 1 + len(SUMMARY_OUTPUTS)] == [""] * (1 + len(SUMMARY_OUTPUTS))
    assert failed[-len(ID_COLUMNS) - 1] != ""  # its seed is kept


# ---------------------------------------------------------------- spreadsheet layout
def spreadsheet(folder: Path, out: Path) -> tuple[list[list[str]], dict[str, list[str]], list[list[str]], list[str]]:
    """(header lines, the rows before the empty line by their first cell, the rows after it, the raw lines)."""
    export(folder, "behaviorspace-spreadsheet", out)
    lines = read_csv(out)
    raw = out.read_text(encoding="utf-8").splitlines()
    blank = lines.index([])
    assert raw[blank] == "" and lines.count([]) == 1
    summary = {row[0]: row[1:] for row in lines[HEADER_LINES:blank]}
    assert len(summary) == blank - HEADER_LINES  # no first cell twice
    return lines[:HEADER_LINES], summary, lines[blank + 1 :], raw


def test_spreadsheet_layout_with_series(sweep, tmp_path):
    head, rows, data, raw = spreadsheet(sweep, tmp_path / "ss.csv")
    table, series = load_sweep(sweep), load_series(sweep)
    n, k = len(table), len(SERIES)
    assert info(head)["population_size"] == "200"
    # the rows, in BehaviorSpace's order: [run number], the varied parameters, the summary rows, [steps]; then ours
    assert list(rows) == [
        "[run number]", *VARIED, "[reporter]", "[final]", "[min]", "[max]", "[mean]", "[steps]", *ID_COLUMNS
    ]  # fmt: skip
    assert all(len(values) == n * k for values in rows.values())
    assert rows["[run number]"] == [str(i + 1) for i in range(n) for _ in range(k)]
    assert rows["[reporter]"] == SERIES * n
    assert rows["[steps]"] == ["12"] * (n * k)
    for p in [*VARIED, "point_id", "replicate", "seed"]:  # each run's value in its first column, the others empty
        assert rows[p] == [v for x in table[p] for v in (cell(x), *[""] * (k - 1))]
    seeds = [int(h) * 2**32 + int(lo) for h, lo in zip(rows["seed_hi"][::k], rows["seed_lo"][::k], strict=True)]
    assert seeds == list(table.seed)
    grouped = series.groupby("run_id")
    for stat, fn in (("[final]", "last"), ("[min]", "min"), ("[max]", "max")):
        expected = grouped[SERIES].agg(fn)
        assert rows[stat] == [cell(expected[s][r]) for r in range(n) for s in SERIES]
    means = grouped[SERIES].mean()
    assert [float(v) for v in rows["[mean]"]] == pytest.approx([means[s][r] for r in range(n) for s in SERIES])
    # the run data: one row per month, a first cell empty, then each run's metrics
    assert data[0] == ["[all run data]", *SERIES * n]
    assert len(data) == 1 + 13
    wide = {s: series.pivot(index="step", columns="run_id", values=s) for s in SERIES}  # each keeps its dtype
    for month, row in enumerate(data[1:]):
        assert row == ["", *(cell(wide[s][r][month]) for r in range(n) for s in SERIES)]
    # BehaviorSpace's quoting: every value in double quotes, a cell with no value empty and unquoted
    assert all(line.startswith('"') for line in raw[:HEADER_LINES])
    assert raw[HEADER_LINES + 1].startswith(f'"communication","{cell(table.communication[0])}",,,"')
    assert raw[-1].startswith(',"0.')


def test_spreadsheet_layout_without_series(no_series, tmp_path):
    _, rows, data, _ = spreadsheet(no_series, tmp_path / "ss.csv")
    table = load_sweep(no_series)
    n, k = len(table), len(SUMMARY_OUTPUTS)
    assert list(rows) == ["[run number]", *VARIED, "[steps]", *ID_COLUMNS]  # no [reporter] ... [mean]
    assert rows["[run number]"] == [str(i + 1) for i in range(n) for _ in range(k)]
    assert rows["[steps]"] == ["6"] * (n * k)
    assert data[0] == ["[initial & final values]", *SUMMARY_OUTPUTS * n]
    assert len(data) == 2  # one row: the run-summary outputs
    assert data[1] == ["", *(cell(table[o][r]) for r in range(n) for o in SUMMARY_OUTPUTS)]


def test_spreadsheet_keeps_a_failed_run_with_its_parameters(sweep, tmp_path):
    folder = tamper(sweep)
    _, rows, data, _ = spreadsheet(folder, tmp_path / "ss.csv")
    k = len(SERIES)
    failed = slice(k, 2 * k)  # run 2 (run_id 1): its columns
    assert rows["[run number]"][failed] == ["2"] * k and rows["communication"][failed][0] != ""
    assert rows["seed"][failed][0] != "" and "population_size" in rows  # the drawn parameter gets a row
    for stat in ("[final]", "[min]", "[max]", "[mean]", "[steps]"):
        assert rows[stat][failed] == [""] * k and "" not in rows[stat][:k]
    assert all(row[1 + k : 1 + 2 * k] == [""] * k for row in data[1:])
    assert len(data) == 1 + 13


def test_cli_writes_the_spreadsheet_where_asked_and_leaves_no_temporary_file(sweep, tmp_path, capsys):
    folder = tmp_path / "copy"
    shutil.copytree(sweep, folder)
    status, out, err = cli(capsys, "export", folder, "--format", "behaviorspace-spreadsheet")
    assert status == 0, err
    assert out.strip() == f"wrote {folder / 'behaviorspace-spreadsheet.csv'} (12 runs, behaviorspace-spreadsheet)"
    assert read_csv(folder / "behaviorspace-spreadsheet.csv")[HEADER_LINES][0] == "[run number]"
    status, out, err = cli(capsys, "export", folder, "--format", "behaviorspace", "--out", tmp_path / "t.csv")
    assert status == 0 and "(156 rows, behaviorspace)" in out, err
    assert not [p for p in [*folder.rglob("*"), *tmp_path.iterdir()] if p.name.endswith(".tmp")]


def test_partial_spreadsheet_says_so_in_its_six_header_lines(tmp_path, capsys):
    folder = make_sweep(tmp_path, NO_SERIES_SPEC, batch_size=2, chunk_runs=2)
    chunks = chunk_files(folder)
    assert len(chunks) == 3
    chunks[max(chunks)].unlink()  # a sweep stopped before its last chunk: 4 of 6 runs
    status, _, err = cli(capsys, "export", folder, "--format", "behaviorspace-spreadsheet")
    assert status == 2 and "4 of 6 runs are stored" in err and "--partial" in err
    assert not (folder / "behaviorspace-spreadsheet.csv").exists()
    status, out, err = cli(capsys, "export", folder, "--format", "behaviorspace-spreadsheet", "--partial")
    assert status == 0 and "partial: 4 of 6 runs" in out, err
    lines = read_csv(folder / "behaviorspace-spreadsheet.csv")
    assert lines[0][0].endswith("(partial: 4 of 6 runs)") and lines[HEADER_LINES][0] == "[run number]"
    meta = info(lines[:HEADER_LINES])
    assert meta["partial"] == "true" and meta["stored-runs"] == "4" and meta["runs"] == "6"
    assert lines[HEADER_LINES][1:] == [str(i + 1) for i in range(4) for _ in SUMMARY_OUTPUTS]


@pytest.mark.parametrize("kept", ["sweep", "no_series"])
def test_table_has_a_column_dictionary_with_every_column_defined(kept, request, tmp_path):
    from experiments.columns import check_dictionary

    out = tmp_path / "bs.csv"
    _, header, _ = table_export(request.getfixturevalue(kept), out)
    assert check_dictionary(out, header) == []
    assert (tmp_path / "bs.columns.json").exists()


def test_table_dictionary_defines_a_summary_output_that_is_also_a_series(tmp_path):
    import json

    from experiments.columns import check_dictionary

    spec = replace(SMALLER_SPEC, '"active_seats"]', '"active_seats", "cumulative_members"]')
    out = tmp_path / "bs.csv"
    _, header, _ = table_export(make_sweep(tmp_path, spec), out)
    assert check_dictionary(out, header) == []
    entries = {e["name"]: e for e in json.loads((tmp_path / "bs.columns.json").read_text())["tables"]["bs.csv"]}
    assert "last month only" in entries["summary_cumulative_members"]["meaning"]

"""Column dictionaries: every table a command writes has one beside it, listing its columns with a meaning."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from experiments.columns import check_dictionary, column_meaning, undefined
from model.cli import main
from model.outputs import OUTPUT_MEANINGS, OUTPUT_UNITS, SUMMARY_MEANINGS, SUMMARY_UNITS

SPEC = """\
name = "cols"
scenario = "default"
root_seed = 5
replicates = 2
steps = 12

[fixed]
population_size = 200

[vary]
trust_gain = { low = 0.02, high = 0.5 }
trust_decay = { low = 0.0, high = 0.15 }
seats = { low = 6, high = 30 }

[design]
method = "morris"
trajectories = 4
dummy = true

[outputs]
series = ["synergy", "access", "active_seats"]
"""


def run(*args) -> None:
    assert main([str(a) for a in args]) == 0


def test_every_output_has_a_unit():
    assert set(OUTPUT_UNITS) == set(OUTPUT_MEANINGS) and set(SUMMARY_UNITS) == set(SUMMARY_MEANINGS)
    assert all(OUTPUT_UNITS.values()) and all(SUMMARY_UNITS.values())


def test_meanings_come_from_the_schema_and_the_outputs():
    assert column_meaning("leadership")[0].startswith("parameter: ") and column_meaning("leadership")[1] == "share"
    assert column_meaning("final_access") == ("run summary: access at the horizon", "share 0-1")
    assert column_meaning("access")[1] == "share 0-1" and column_meaning("nonsense") == ("", "")


def test_sweeps_runs_exports_and_analyses_write_complete_dictionaries(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    run("sensitivity", spec, "--out", tmp_path / "sa", "--quiet")
    sweep = tmp_path / "sa" / "sweep"
    doc = json.loads((sweep / "columns.json").read_text())
    assert undefined(doc) == [] and set(doc["tables"]) == {"runs", "series", "_design.parquet"}
    import pyarrow.dataset as ds

    assert [c["name"] for c in doc["tables"]["runs"]] == ds.dataset(sweep / "runs").schema.names
    assert [c["name"] for c in doc["tables"]["series"]] == ds.dataset(sweep / "series").schema.names
    assert [c["name"] for c in doc["tables"]["_design.parquet"]] == ds.dataset(sweep / "_design.parquet").schema.names
    types = {c["name"]: c["type"] for c in doc["tables"]["runs"]}
    assert types["seats"] == "integer" and types["trust_gain"] == "number" and types["sustained"] == "boolean"
    assert check_dictionary(tmp_path / "sa" / "indices.csv") == []
    run("export", sweep, "--format", "csv", "--out", tmp_path / "runs.csv")
    assert check_dictionary(tmp_path / "runs.csv") == []
    for suffix in ("csv", "parquet"):
        run("run", "--steps", "6", "--seed", "1", "--out", tmp_path / f"one.{suffix}")
        assert check_dictionary(tmp_path / f"one.{suffix}") == []
    run("compare", "default", "weak_enabling", "--replicates", "2", "--steps", "6", "--out", tmp_path / "cmp", "--quiet")
    for table in ("summary.csv", "differences.csv"):
        assert check_dictionary(tmp_path / "cmp" / table) == []
    run("scenarios", "--run", "--seeds", "1", "--out", tmp_path / "scn")
    for table in ("scenarios.csv", "scenarios_summary.csv"):
        assert check_dictionary(tmp_path / "scn" / table) == []
    run("observe", "--steps", "12", "--waves", "6,12", "--seed", "2", "--out", tmp_path / "obs")
    for table in ("survey.csv", "attendance.csv", "roster.csv", "milestones.csv"):
        assert check_dictionary(tmp_path / "obs" / table) == []
    capsys.readouterr()


def test_discovery_tables_have_dictionaries(tmp_path):
    pytest.importorskip("ema_workbench")
    import numpy as np
    import pandas as pd

    from experiments.discover import DiscoverySettings, discover_in, write_discovery

    rng = np.random.default_rng(1)
    x = pd.DataFrame({"leadership": rng.uniform(0, 1, 400), "coordination": rng.uniform(0, 1, 400)})
    values = np.where(x["leadership"] > 0.6, 0.9, 0.1)
    write_discovery(discover_in(x, values, DiscoverySettings("final_access", above=0.5)), tmp_path)
    assert check_dictionary(tmp_path / "boxes.csv") == [] and check_dictionary(tmp_path / "trajectory.csv") == []


def test_a_dictionary_that_does_not_match_its_table_is_reported(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    assert check_dictionary(table) == ["t.columns.json is missing"]
    from experiments.columns import write_dictionary

    write_dictionary(table, [("a", "int")], {"a": "the first"})
    assert check_dictionary(table) == ["t.columns.json lists ['a'], the table has ['a', 'b']"]
    write_dictionary(table, [("a", "int"), ("b", "int")], {"a": "the first"})
    assert check_dictionary(table) == ["t.csv.b"]
    assert Path(tmp_path / "t.columns.json").exists()


def test_validation_tables_have_dictionaries(tmp_path):
    import pandas as pd

    from experiments.validation_report import write_report

    verdicts = pd.read_csv(Path(__file__).resolve().parent.parent / "docs" / "validation" / "validation.csv")
    morris = pd.read_csv(Path(__file__).resolve().parent.parent / "docs" / "validation" / "constants_morris.csv")
    with contextlib.suppress(Exception):  # the figures need the run table; the tables and dictionaries come first
        write_report(tmp_path, None, verdicts, morris, None)
    for table in ("validation.csv", "robustness.csv", "constants_morris.csv"):
        assert check_dictionary(tmp_path / table) == [], table

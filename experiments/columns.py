"""Column dictionaries: next to every table a command writes, a small JSON file saying what each column is.

``runs.columns.json`` next to ``runs.csv`` (and ``columns.json`` in a sweep folder, for
its ``runs/`` and ``series/`` datasets) lists, per column: ``name``, ``meaning``,
``unit`` and ``type``. Meanings and units come from the schema (``model.parameters``),
the outputs' definitions (``model.outputs``) and, for the columns a table adds, the
writer's own words, so a dictionary is never written by hand and cannot drift from the
code. A test fails when a column of any table has no meaning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from model.outputs import OUTPUT_MEANINGS, OUTPUT_UNITS, SUMMARY_MEANINGS, SUMMARY_UNITS
from model.parameters import PARAMETERS

DICTIONARY_SUFFIX = ".columns.json"
FORMAT = "phc-synergy-columns/1"

# Columns many tables share: (meaning, unit).
COMMON: dict[str, tuple[str, str]] = {
    "run_id": ("the run's number in its sweep, from 0 (point_id x replicates + replicate)", ""),
    "point_id": ("the design point the run belongs to, from 0", ""),
    "replicate": ("the replicate number at its design point, from 0 (replicate k of every point has one seed)", ""),
    "seed": ("the run's integer seed (63-bit; the same seed and parameters give the same run)", ""),
    "status": ("'ok', or 'error' when the run raised", ""),
    "error": ("the error's message when status is 'error', else empty", ""),
    "draw": ("the posterior draw a run used, from 0", ""),
    "dummy": ("an input the model never reads (a sensitivity design's noise reference)", "share of its range"),
}


def column_meaning(name: str, extra: Mapping[str, tuple[str, str] | str] | None = None) -> tuple[str, str]:
    """(meaning, unit) of a column: the table's own words first, then the shared, schema and output ones."""
    if extra and name in extra:
        value = extra[name]
        return (value, "") if isinstance(value, str) else value
    if name in COMMON:
        return COMMON[name]
    if name in PARAMETERS:
        p = PARAMETERS[name]
        unit = "JSON table of seat weights by stakeholder type" if p.kind is dict else p.unit
        return f"parameter: {p.meaning}", unit
    if name in SUMMARY_MEANINGS:
        return f"run summary: {SUMMARY_MEANINGS[name]}", SUMMARY_UNITS.get(name, "")
    if name in OUTPUT_MEANINGS:
        return OUTPUT_MEANINGS[name], OUTPUT_UNITS.get(name, "")
    return "", ""


def type_name(dtype: Any) -> str:
    """A plain type name for a pandas dtype, a pyarrow type or a schema kind."""
    text = str(dtype).lower()
    if text in ("int", "int64", "int32", "uint64") or text.startswith("int"):
        return "integer"
    if text in ("float", "double", "float64", "float32") or text.startswith("float"):
        return "number"
    if text.startswith("bool"):
        return "boolean"
    if text in ("category",) or text.startswith("dictionary"):
        return "category"
    return "text"


def dictionary(columns: Iterable[tuple[str, Any]], extra: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
    """One entry per (name, type) column: name, meaning, unit, type."""
    out = []
    for name, dtype in columns:
        meaning, unit = column_meaning(name, extra)
        out.append({"name": name, "meaning": meaning, "unit": unit, "type": type_name(dtype)})
    return out


def frame_columns(frame: Any) -> list[tuple[str, Any]]:
    """(name, dtype) of a pandas DataFrame, a pyarrow Table/Schema, or a list of (name, type) already."""
    if isinstance(frame, list):
        return frame
    if hasattr(frame, "dtypes") and hasattr(frame, "columns"):
        return [(str(c), frame.dtypes[c]) for c in frame.columns]
    schema = getattr(frame, "schema", frame)
    return [(f.name, f.type) for f in schema]


def dictionary_path(table: Path) -> Path:
    """Where a table's dictionary goes: runs.csv -> runs.columns.json."""
    table = Path(table)
    return table.with_name(table.name.split(".")[0] + DICTIONARY_SUFFIX)


def dictionary_text(tables: Mapping[str, list[dict[str, str]]]) -> str:
    return json.dumps({"format": FORMAT, "tables": dict(tables)}, indent=1, ensure_ascii=False) + "\n"


def write_dictionary(table: Path, frame: Any, extra: Mapping[str, Any] | None = None) -> Path:
    """Write TABLE's column dictionary beside it, atomically; returns its path."""
    from experiments.sensitivity import write_text_atomic

    path = dictionary_path(table)
    write_text_atomic(path, dictionary_text({Path(table).name: dictionary(frame_columns(frame), extra)}))
    return path


def check_dictionary(table: Path, columns: Iterable[str] | None = None) -> list[str]:
    """What is wrong with TABLE's dictionary: missing file, columns it lacks or adds, columns without a meaning.

    ``columns`` defaults to the table's own (read from its header or schema).
    """
    table = Path(table)
    path = dictionary_path(table)
    if not path.exists():
        return [f"{path.name} is missing"]
    doc = json.loads(path.read_text(encoding="utf-8"))
    entries = doc["tables"].get(table.name)
    if entries is None:
        return [f"{path.name} does not describe {table.name}"]
    if columns is None:
        if table.suffix == ".parquet":
            import pyarrow.parquet as pq

            columns = pq.read_schema(table).names
        else:
            import csv

            with open(table, newline="", encoding="utf-8") as f:
                columns = next(row for row in csv.reader(f) if row and not row[0].startswith("#"))
    listed = [c["name"] for c in entries]
    problems = []
    if list(columns) != listed:
        problems.append(f"{path.name} lists {listed}, the table has {list(columns)}")
    return problems + undefined(doc)


def undefined(doc: Mapping[str, Any]) -> list[str]:
    """Columns of a dictionary document without a meaning (what the tests check is empty)."""
    return [f"{t}.{c['name']}" for t, cols in doc["tables"].items() for c in cols if not c["meaning"]]


# The words of the analysis tables' own columns (the writers pass them to write_dictionary).
SENSITIVITY_COLUMNS: dict[str, tuple[str, str]] = {
    "output": ("the run-summary output analysed", ""),
    "statistic": ("'mean': the output's replicate mean; 'replicate_sd': its spread across replicates", ""),
    "parameter": ("the input (a parameter, or the dummy)", ""),
    "level": ("the input's level in the schema (structure, interpersonal, operational, system, resources, ...)", ""),
    "mu": ("Morris: mean elementary effect (signed)", "output units per full range of the input"),
    "mu_star": ("Morris: mean absolute elementary effect", "output units per full range of the input"),
    "mu_star_conf": ("Morris: 95% bootstrap confidence half-width of mu_star", "as mu_star"),
    "sigma": ("Morris: standard deviation of the elementary effects (non-linearity, interactions)", "as mu_star"),
    "noise_mu_star": ("Morris: the mu_star chance alone would give the input (replicate noise)", "as mu_star"),
    "above_noise": ("Morris: true when mu_star minus its half-width exceeds noise_mu_star", "true or false"),
    "rank_low": ("Morris: 5th percentile of the input's rank over bootstrap resamples of the trajectories", "rank"),
    "rank_high": ("Morris: 95th percentile of that rank", "rank"),
    "rank": ("the input's rank by mu_star (Morris) or ST (Sobol'), 1 = most influential", "rank"),
    "S1": ("Sobol': first-order index (share of variance the input explains alone)", "share 0-1"),
    "S1_conf": ("Sobol': 95% bootstrap confidence half-width of S1", "share 0-1"),
    "ST": ("Sobol': total index (share of variance the input explains with all its interactions)", "share 0-1"),
    "ST_conf": ("Sobol': 95% bootstrap confidence half-width of ST", "share 0-1"),
    "above_dummy": ("Sobol': true when ST minus its half-width exceeds the dummy's ST", "true or false"),
    "parameter_1": ("Sobol' second order: the first input of the pair", ""),
    "parameter_2": ("Sobol' second order: the second input of the pair", ""),
    "S2": ("Sobol': second-order index of the pair", "share 0-1"),
    "S2_conf": ("Sobol': 95% bootstrap confidence half-width of S2", "share 0-1"),
}
COMPARE_COLUMNS: dict[str, tuple[str, str]] = {
    "variant": ("the scenario (variant) compared", ""),
    "against": ("the reference variant of the paired differences (the first one)", ""),
    "output": ("the run-summary output", ""),
    "meaning": ("what the output means", ""),
    "median": ("median over the replicates", "the output's unit"),
    "q05": ("5th percentile over the replicates (or over the paired differences)", "the output's unit"),
    "q95": ("95th percentile over the replicates (or over the paired differences)", "the output's unit"),
    "mean": ("mean over the replicates", "the output's unit"),
    "n": ("replicates with a defined value", "runs"),
    "median_diff": ("median of the paired differences (variant minus reference, same seed)", "the output's unit"),
    "share_positive": ("share of pairs where the variant's value is larger", "share 0-1"),
    "n_pairs": ("pairs with both values defined", "pairs"),
}
DISCOVER_COLUMNS: dict[str, tuple[str, str]] = {
    "box": ("the box's number (1 = found first)", ""),
    "input": ("the restricted input (parameter name)", ""),
    "label": ("the input in plain words", ""),
    "low": ("the box's lower limit on the input (empty for a category)", "the input's unit"),
    "high": ("the box's upper limit on the input (empty for a category)", "the input's unit"),
    "values": ("a category's values kept in the box, space-separated", ""),
    "design_low": ("the lowest value of the input in the sweep", "the input's unit"),
    "design_high": ("the highest value of the input in the sweep", "the input's unit"),
    "qp_value": ("quasi-p value of the restriction (Bryant and Lempert 2010): small = firm", "probability"),
    "coverage": ("cases of interest inside the box, as a share of all cases of interest", "share 0-1"),
    "density": ("cases of interest among the box's runs", "share 0-1"),
    "mass": ("the box's runs as a share of all runs", "share 0-1"),
    "point": ("the point's index on the peeling trajectory (0 = the whole space)", ""),
    "res_dim": ("inputs restricted at that point", "inputs"),
    "n": ("runs in the box", "runs"),
    "k": ("cases of interest in the box", "runs"),
}
VALIDATION_COLUMNS: dict[str, tuple[str, str]] = {
    "check": ("the check's name (docs/ODD.md 1.2)", ""),
    "pattern": ("the pattern it tests (P1-P6, or a mechanism)", ""),
    "kind": ("pattern, causal (an ablation), horizon or mechanism", ""),
    "condition": ("'defaults', or the constant moved and its direction (robustness)", ""),
    "constant": ("the mechanics constant moved (robustness runs), else empty", ""),
    "value": ("the check's statistic (its point estimate)", "see statistic"),
    "low": ("lower end of its 90% interval", "see statistic"),
    "high": ("upper end of its 90% interval", "see statistic"),
    "passed": ("true when the check passed", "true or false"),
    "statistic": ("what value measures, and over which runs", ""),
    "claim": ("the claim the check tests, in words", ""),
    "detail": ("how it passes (the threshold) and what was seen", ""),
    "conditions": ("conditions run (defaults and each constant at -30% and +30%)", ""),
    "broken_by": ("the conditions under which the check failed", ""),
    "output": ("the statistic screened", ""),
    "mu_star": ("Morris: mean absolute elementary effect of the constant", "the statistic's unit per full range"),
    "mu_star_conf": ("Morris: 95% bootstrap confidence half-width of mu_star", "as mu_star"),
    "sigma": ("Morris: standard deviation of the elementary effects", "as mu_star"),
    "noise": ("the mu_star chance alone gives (replicate noise)", "as mu_star"),
}
SCENARIO_COLUMNS: dict[str, tuple[str, str]] = {
    "scenario": ("the shipped scenario", ""),
    "runs": ("runs (seeds 0..N-1) the medians are over", "runs"),
    "sustained_share": ("share of runs in which the partnership had not dissolved", "share 0-1"),
}

"""Export a sweep folder as a flat CSV table or in one of NetLogo BehaviorSpace's layouts.

``csv``: the run table of :func:`experiments.store.load_sweep` as one CSV: one
row per run, sorted by run_id, a header row of column names; numbers at full
precision, booleans ``true``/``false``, missing values empty, the composition as
its JSON string.

The two BehaviorSpace formats write what NetLogo 6's BehaviorSpace writes, so tools
that read BehaviorSpace output read them (in the form of NetLogo 6.0 to 6.3: 6.4 and
later also name a format version on the first line, e.g. ``"Table version 2.0"``).
Both start with the same six header lines, every cell in double quotes. Where NetLogo
has the program version, the model file, the experiment name, the date and the
world's ``min-pxcor ... max-pycor`` (names on line 5, values on line 6), we write the
program version, the spec file, the sweep name, the date (NetLogo's
``MM/dd/yyyy HH:mm:ss:SSS Z``) and the sweep information, names on line 5 and values
on line 6: ``spec-hash``, ``root-seed``, ``design``, ``replicates``, ``runs``,
``stored-runs``, ``partial``, then every *constant* (a parameter the sweep did not
vary, with the same value in every stored run) by name, with its value (e.g.
``"population_size"`` above ``"200"``). Only the varied parameters
(:func:`experiments.store.varied_inputs`: the design's inputs) are given per run, as
BehaviorSpace gives only the variables the experiment varies.

Seeds: a run's seed is a 63-bit integer, which R, Excel and most CSV readers turn
into a double, losing its last digits. Each run carries ``seed`` exactly as stored
(read it as text, or as a 64-bit integer, e.g. R's ``bit64::integer64``, to keep it)
and its two 32-bit halves ``seed_hi`` and ``seed_lo``, each an integer in
[0, 2^32 - 1] that a double holds exactly, so they survive any reader::

    seed = seed_hi * 2**32 + seed_lo      (seed_hi = seed >> 32, seed_lo = seed & 0xFFFFFFFF)

Recombine them in 64-bit integer arithmetic (a Python int, ``bit64``), not in
doubles. Neither half is a seed: unlike a NetLogo run, whose ``random-seed`` is
32-bit, a run is replayed only from the whole seed (e.g. ``phc-synergy run --seed SEED``
with the run's parameters).

``behaviorspace``: BehaviorSpace's "table" layout. After the six header lines, one
header row and the data::

    "[run number]",<varied parameters>,"[step]",<outputs>,"point_id","replicate","seed","seed_hi","seed_lo"

``[run number]`` is run_id + 1 (BehaviorSpace counts from 1). When the sweep kept
per-step series, each run has one row per month (``[step]`` 0 to the horizon), the
outputs being the kept per-step outputs then every run-summary output; the summary
outputs are filled on the run's last-month row only and empty on its other rows (a
summary output named like a kept series, ``cumulative_members``, is headed
``summary_cumulative_members``). Without series, each run has one row, at its last
month, with the run-summary outputs. A run that failed has one row with ``[step]``
and the outputs empty. A parameter the design did not vary that still differs
between runs (the posterior draw each replicate takes from a calibrated scenario)
is neither a constant nor a design input: it is given per run after ``seed_lo``.

``behaviorspace-spreadsheet``: BehaviorSpace's "spreadsheet" layout: one column per
run and metric, the metrics being the kept per-step outputs or, without series, the
run-summary outputs. After the six header lines::

    "[run number]","1","1","1","2","2","2",...     each run's number once per metric
    "<varied parameter>","0.3",,,"0.7",,,...       one row each: the value in the run's first column
    "[reporter]","synergy","access","active_seats","synergy",...    (with series only)
    "[final]",...                                   the metric at the run's last month  (with series only)
    "[min]",...  "[max]",...  "[mean]",...          over months 0 to the horizon         (with series only)
    "[steps]","12","12","12","12",...               the run's horizon, in every column
    "point_id",... "replicate",... "seed",... "seed_hi",... "seed_lo",...   as the parameters
                                                    (an empty line)
    "[all run data]","synergy","access","active_seats","synergy",...
    ,"0.0","0.17","19","0.0",...                    one row per month, 0 to the longest horizon
    ...

Without series (BehaviorSpace's "measure runs at every step" off) there are no
``[reporter]`` ... ``[mean]`` rows, and ``"[initial & final values]"`` heads one row
of the run-summary outputs instead of the months. As in BehaviorSpace, a cell with no
value (a month after a run's horizon, a parameter's repeat columns, ``[mean]`` of a
metric with a missing month) is empty and unquoted. The id rows are ours
(BehaviorSpace writes no seeds); they come after ``[steps]``, so the rows between
``[run number]`` and ``[reporter]`` (``[steps]`` without series) are the varied
parameters only, as in BehaviorSpace. A non-design parameter that differs between
runs (see above) gets a row after the ids. A run that failed keeps its columns with
its parameters and ids, every metric and ``[steps]`` empty (BehaviorSpace leaves out
a run that did not finish).

A sweep that does not hold all its runs yet (stopped, or still running) is refused
(:class:`IncompleteSweepError`, with the counts) unless ``partial=True``
(``--partial``). A partial export says so in its header: ``csv`` gets one line
before the header row, ``# partial export: N of M runs ...`` (CSV has no comments:
skip it, e.g. ``pandas.read_csv(f, skiprows=1)``); the BehaviorSpace formats keep
their six header lines, with ``(partial: N of M runs)`` after the program version on
the first and ``partial`` = ``true`` in the sweep information (``false`` for a whole
sweep), so readers that skip six lines read them as before.

Every file is written to a temporary name in its folder and then renamed: it is
either complete or absent.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.store import (
    StoreError,
    chunk_files,
    load_manifest,
    series_files,
    stored_count,
    varied_inputs,
)

FORMATS = ("csv", "behaviorspace", "behaviorspace-spreadsheet")
# The file each format writes when no --out is given, in the sweep folder.
DEFAULT_NAMES = {
    "csv": "runs.csv",
    "behaviorspace": "behaviorspace.csv",
    "behaviorspace-spreadsheet": "behaviorspace-spreadsheet.csv",
}
ID_COLUMNS = ("point_id", "replicate", "seed", "seed_hi", "seed_lo")
SEED_HALF = 2**32


class IncompleteSweepError(StoreError):
    """An export of a sweep that does not hold every run, asked for without ``partial``."""


def check_complete(path: str | Path, partial: bool = False) -> tuple[int, int]:
    """(runs stored, runs in the sweep); IncompleteSweepError when some are missing and ``partial`` is False."""
    path = Path(path)
    done, total = stored_count(path)
    if done < total and not partial:
        manifest = load_manifest(path)
        spec_path = manifest.get("spec_path")
        kind = manifest.get("spec", {}).get("kind") if isinstance(manifest.get("spec"), dict) else None
        if isinstance(spec_path, str) and spec_path.endswith(".toml") and kind is None:
            how = f"run 'phc-synergy sweep {spec_path} --out {path} --resume' to finish"
        else:
            how = "run the command that made it again with --resume to finish"
        raise IncompleteSweepError(
            f"{str(path)!r} is not a complete sweep: {done} of {total} runs are stored; {how}, or pass --partial"
            " to export what is stored"
        )
    return done, total


def _partial_note(manifest: dict[str, Any], done: int, total: int) -> str:
    return (
        f"partial export: {done} of {total} runs of sweep '{manifest.get('name')}' (spec hash"
        f" {str(manifest.get('spec_hash', ''))[:12]}) are stored; the others are missing"
    )


def _run_rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for chunk in chunk_files(path).values():
        rows.extend(pq.read_table(chunk).to_pylist())
    rows.sort(key=lambda r: r["run_id"])
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return repr(value)
    return str(value)


def seed_halves(seed: int) -> tuple[int, int]:
    """(seed_hi, seed_lo): the high and low 32 bits of a seed; ``seed == seed_hi * 2**32 + seed_lo``."""
    return seed >> 32, seed & (SEED_HALF - 1)


def export_csv(path: str | Path, out: str | Path, partial: bool = False) -> int:
    """Write the run table of the sweep at ``path`` to ``out`` as CSV; returns the number of rows."""
    from model.cli import _write_atomic

    path = Path(path)
    done, total = check_complete(path, partial)
    manifest = load_manifest(path)
    cols = manifest["columns"]
    header = [*cols["meta"], *cols["parameters"], *cols["outputs"], "status", "error"]
    rows = _run_rows(path)

    def write(f: Any) -> None:
        if done < total:
            f.write(f"# {_partial_note(manifest, done, total)}\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow([_cell(row.get(h)) for h in header])

    _write_atomic(Path(out), write)
    from experiments.columns import write_dictionary

    kinds = {**dict.fromkeys(cols["meta"], "int"), **cols["parameters"], **cols["outputs"], "status": "text",
             "error": "text"}  # fmt: skip
    write_dictionary(Path(out), [(h, kinds[h]) for h in header])
    return len(rows)


# ---------------------------------------------------------------------------- BehaviorSpace
@dataclass
class _Sweep:
    """What both BehaviorSpace layouts write, read once from a sweep folder."""

    manifest: dict[str, Any]
    done: int
    total: int
    rows: list[dict[str, Any]]  # the run table, by run_id
    varied: list[str]  # the design's inputs: given per run
    constants: dict[str, Any]  # not varied, the same in every stored run: given in the header
    drawn: list[str]  # not varied, yet different between runs (posterior draws): given per run, last
    series: list[str]  # the kept per-step outputs ([] when none were kept)
    summary: list[str]  # the run-summary outputs
    per_step: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # run_id -> its months, by step


def _read_sweep(path: Path, partial: bool) -> _Sweep:
    import pyarrow.parquet as pq

    done, total = check_complete(path, partial)
    manifest = load_manifest(path)
    cols = manifest["columns"]
    parameters = list(cols["parameters"])
    varied = [p for p in varied_inputs(manifest) if p in parameters]
    rows = _run_rows(path)
    constants: dict[str, Any] = {}
    drawn: list[str] = []
    spec = manifest.get("spec") if isinstance(manifest.get("spec"), dict) else {}
    known = {**(spec.get("base") or {}), **(spec.get("fixed") or {})}  # only when no run is stored yet
    for name in parameters:
        if name in varied:
            continue
        if not rows:
            constants[name] = known.get(name)
        elif len({_cell(r.get(name)) for r in rows}) == 1:
            constants[name] = rows[0].get(name)
        else:
            drawn.append(name)
    series = list(cols.get("series") or [])
    per_step: dict[int, list[dict[str, Any]]] = {}
    if series:
        chunks = chunk_files(path)
        for index, f in series_files(path).items():
            if index in chunks:
                for r in pq.read_table(f).to_pylist():
                    per_step.setdefault(r["run_id"], []).append(r)
        for months in per_step.values():
            months.sort(key=lambda r: r["step"])
    return _Sweep(manifest, done, total, rows, varied, constants, drawn, series, list(cols["outputs"]), per_step)


def _header_lines(sweep: _Sweep) -> list[list[Any]]:
    """BehaviorSpace's six header lines (see the module docstring)."""
    from model.cli import _version

    manifest = sweep.manifest
    spec = manifest.get("spec") if isinstance(manifest.get("spec"), dict) else {}
    design = spec.get("design") if isinstance(spec.get("design"), dict) else {}
    counts = manifest.get("counts", {})
    partial = sweep.done < sweep.total
    now = _dt.datetime.now().astimezone()
    date = now.strftime("%m/%d/%Y %H:%M:%S:") + f"{now.microsecond // 1000:03d} " + now.strftime("%z")
    note = f" (partial: {sweep.done} of {sweep.total} runs)" if partial else ""
    names = ["spec-hash", "root-seed", "design", "replicates", "runs", "stored-runs", "partial", *sweep.constants]
    values = [
        manifest.get("spec_hash", ""),
        manifest.get("root_seed", ""),
        design.get("method", ""),
        spec.get("replicates", ""),
        counts.get("runs_total", ""),
        len(sweep.rows),
        "true" if partial else "false",
        *sweep.constants.values(),
    ]
    return [
        [f"BehaviorSpace results (phc-synergy {_version()}){note}"],
        [manifest.get("spec_path") or ""],
        [manifest.get("name") or ""],
        [date],
        names,
        values,
    ]


def _ids(row: dict[str, Any]) -> list[Any]:
    return [row["point_id"], row["replicate"], row["seed"], *seed_halves(int(row["seed"]))]


def _summary_headers(sweep: _Sweep) -> list[str]:
    """The run-summary outputs' column names next to kept series: ``summary_<name>`` where a series has the name."""
    return [f"summary_{o}" if o in sweep.series else o for o in sweep.summary]


def export_behaviorspace(path: str | Path, out: str | Path, partial: bool = False) -> int:
    """Write the sweep at ``path`` to ``out`` in BehaviorSpace's table layout; returns the number of data rows."""
    from model.cli import _write_atomic

    sweep = _read_sweep(Path(path), partial)
    if sweep.series:
        outputs = [*sweep.series, *_summary_headers(sweep)]
    else:
        outputs = list(sweep.summary)
    header = ["[run number]", *sweep.varied, "[step]", *outputs, *ID_COLUMNS, *sweep.drawn]
    n_rows = 0

    def write(f: Any) -> None:
        nonlocal n_rows
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerows([[_cell(v) for v in line] for line in _header_lines(sweep)])
        w.writerow(header)
        for row in sweep.rows:
            lead = [row["run_id"] + 1, *(row.get(p) for p in sweep.varied)]
            tail = [*_ids(row), *(row.get(p) for p in sweep.drawn)]
            summary = [row.get(o) for o in sweep.summary]
            lines: list[list[Any]]
            if row.get("status") != "ok":
                lines = [[*lead, None, *([None] * len(outputs)), *tail]]
            elif not sweep.series:
                lines = [[*lead, row.get("steps"), *summary, *tail]]
            elif months := sweep.per_step.get(row["run_id"]):
                blank = [None] * len(summary)
                last = months[-1]
                lines = [
                    [*lead, m["step"], *(m.get(s) for s in sweep.series), *(summary if m is last else blank), *tail]
                    for m in months
                ]
            else:  # an ok run without its months (should not happen): its summary at its last month
                lines = [[*lead, row.get("steps"), *([None] * len(sweep.series)), *summary, *tail]]
            w.writerows([[_cell(v) for v in line] for line in lines])
            n_rows += len(lines)

    _write_atomic(Path(out), write)
    _write_behaviorspace_dictionary(Path(out), sweep, header)
    return n_rows


def _write_behaviorspace_dictionary(out: Path, sweep: _Sweep, header: list[str]) -> None:
    """The table layout's column dictionary beside it (its header row is the 7th line, after NetLogo's six)."""
    from experiments.columns import write_dictionary

    cols = sweep.manifest["columns"]
    kinds = {**cols["parameters"], **cols["outputs"]}
    extra: dict[str, tuple[str, str] | str] = {
        "[run number]": "BehaviorSpace's run number, from 1 (run_id + 1)",
        "[step]": ("the month of this row (with no kept series, the run's horizon: its row is the run summary)",
                   "month"),
        "seed_hi": ("the seed's upper 32 bits (seed = seed_hi x 2^32 + seed_lo; spreadsheets keep both exactly)", ""),
        "seed_lo": ("the seed's lower 32 bits", ""),
    }  # fmt: skip
    for name in sweep.summary:
        if name in sweep.series:  # the summary value of an output also kept per month
            from experiments.columns import column_meaning

            meaning, unit = column_meaning(name)
            extra[f"summary_{name}"] = (f"{meaning} (given on the run's last month only)", unit)
            kinds[f"summary_{name}"] = kinds.get(name, "float")
    types = {"[run number]": "int", "[step]": "int", **dict.fromkeys(ID_COLUMNS, "int")}
    write_dictionary(out, [(h, types.get(h, kinds.get(h, "float"))) for h in header], extra)


def _spreadsheet_cell(value: Any) -> str:
    """A value as BehaviorSpace's spreadsheet writes it: in double quotes; no value (None, NaN) empty, unquoted."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return '"' + _cell(value).replace('"', '""') + '"'


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def export_behaviorspace_spreadsheet(path: str | Path, out: str | Path, partial: bool = False) -> int:
    """Write the sweep at ``path`` to ``out`` in BehaviorSpace's spreadsheet layout; returns the number of runs."""
    from model.cli import _write_atomic

    sweep = _read_sweep(Path(path), partial)
    every_step = bool(sweep.series)
    metrics = sweep.series if every_step else sweep.summary
    width = max(1, len(metrics))
    runs = sweep.rows

    # Per run: its measurements (one list of metric values per month; the summary once without series), its steps.
    measurements: list[list[list[Any]]] = []
    steps: list[int | None] = []
    for row in runs:
        if row.get("status") != "ok":
            measurements.append([])
            steps.append(None)
        elif every_step:
            months = sweep.per_step.get(row["run_id"], [])
            measurements.append([[m.get(s) for s in metrics] for m in months])
            steps.append(months[-1]["step"] if months else row.get("steps"))
        else:
            measurements.append([[row.get(o) for o in metrics]])
            steps.append(row.get("steps"))

    def per_run(values: Sequence[Any]) -> list[Any]:
        """One value per run, in the run's first column; its other columns empty."""
        return [v if j == 0 else None for v in values for j in range(width)]

    def per_metric(fn) -> list[Any]:
        return [fn(i, j) for i in range(len(runs)) for j in range(width)]

    def column(i: int, j: int) -> list[Any]:
        return [m[j] for m in measurements[i]]

    def final(i: int, j: int) -> Any:
        return measurements[i][-1][j] if measurements[i] else None

    def lowest(i: int, j: int) -> Any:
        numbers = [v for v in column(i, j) if _is_number(v)]
        return min(numbers) if numbers else None

    def highest(i: int, j: int) -> Any:
        numbers = [v for v in column(i, j) if _is_number(v)]
        return max(numbers) if numbers else None

    def mean(i: int, j: int) -> Any:  # BehaviorSpace's: month 0 included, only when every month is a number
        values = column(i, j)
        return math.fsum(values) / len(values) if values and all(_is_number(v) for v in values) else None

    body: list[list[Any] | None] = [["[run number]", *(row["run_id"] + 1 for row in runs for _ in range(width))]]
    body += [[name, *per_run([row.get(name) for row in runs])] for name in sweep.varied]
    if every_step:
        body.append(["[reporter]", *(m for _ in runs for m in metrics)])
        body.append(["[final]", *per_metric(final)])
        body.append(["[min]", *per_metric(lowest)])
        body.append(["[max]", *per_metric(highest)])
        body.append(["[mean]", *per_metric(mean)])
    body.append(["[steps]", *(steps[i] for i in range(len(runs)) for _ in range(width))])
    ids = [_ids(row) for row in runs]
    body += [[name, *per_run([r[k] for r in ids])] for k, name in enumerate(ID_COLUMNS)]
    body += [[name, *per_run([row.get(name) for row in runs])] for name in sweep.drawn]
    body.append(None)  # BehaviorSpace's empty line before the run data
    body.append(["[all run data]" if every_step else "[initial & final values]", *(m for _ in runs for m in metrics)])
    # One row per month, 0 to the longest horizon (one row of the summary without series); empty past a run's end.
    for k in range(max((len(m) for m in measurements), default=0)):
        cells: list[Any] = [None]
        for i in range(len(runs)):
            month = measurements[i][k] if k < len(measurements[i]) else None
            cells += [month[j] if month is not None and j < len(month) else None for j in range(width)]
        body.append(cells)

    def write(f: Any) -> None:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerows([[_cell(v) for v in line] for line in _header_lines(sweep)])
        for line in body:
            f.write("\n" if line is None else ",".join(_spreadsheet_cell(v) for v in line) + "\n")

    _write_atomic(Path(out), write)
    return len(runs)


def export(path: str | Path, fmt: str, out: str | Path, partial: bool = False) -> int:
    """Export in ``fmt`` (one of :data:`FORMATS`); returns the number of data rows (runs, for the spreadsheet).

    A sweep missing runs raises IncompleteSweepError unless ``partial``.
    """
    if fmt == "csv":
        return export_csv(path, out, partial)
    if fmt == "behaviorspace":
        return export_behaviorspace(path, out, partial)
    if fmt == "behaviorspace-spreadsheet":
        return export_behaviorspace_spreadsheet(path, out, partial)
    raise ValueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")

"""Export a sweep folder as a flat CSV table or in NetLogo BehaviorSpace's "table" layout.

``csv``: the run table of :func:`experiments.store.load_sweep` as one CSV: one
row per run, sorted by run_id, a header row of column names; numbers at full
precision, booleans ``true``/``false``, missing values empty, the composition as
its JSON string.

``behaviorspace``: what NetLogo's BehaviorSpace writes in its "table" format,
every cell in double quotes, so tools that read BehaviorSpace tables read it.
Six header lines, where NetLogo has the program version, the model file, the
experiment name, the date and the world's ``min-pxcor ... max-pycor``, we
write the program version, the spec file, the sweep name, the date (NetLogo's
``MM/dd/yyyy HH:mm:ss:SSS Z``) and two lines of sweep information (spec hash,
root seed, design, replicates, runs, stored runs). Then one header row and the
data::

    "[run number]","point_id","replicate","seed",<every parameter>,"[step]",<outputs>

``[run number]`` is run_id + 1 (BehaviorSpace counts from 1), ``seed`` the run's
seed. When the sweep kept per-step series, each run has one row per month
(``[step]`` 0 to the horizon) with the kept per-step outputs; otherwise one row
at its last month with the run-summary outputs. A run that failed has one row
with ``[step]`` and the outputs empty.

A sweep that does not hold all its runs yet (stopped, or still running) is refused
(:class:`IncompleteSweepError`, with the counts) unless ``partial=True``
(``--partial``). A partial export says so in its header: ``csv`` gets one line
before the header row, ``# partial export: N of M runs ...`` (CSV has no comments:
skip it, e.g. ``pandas.read_csv(f, skiprows=1)``); ``behaviorspace`` keeps its
six header lines, with ``(partial: N of M runs)`` after the program version on the
first and ``partial`` = ``true`` in the sweep information (``false`` for a whole
sweep), so readers that skip six lines read it as before.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
from pathlib import Path
from typing import Any

from experiments.store import StoreError, chunk_files, load_manifest, series_files, stored_count

FORMATS = ("csv", "behaviorspace")


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
    return len(rows)


def export_behaviorspace(path: str | Path, out: str | Path, partial: bool = False) -> int:
    """Write the sweep at ``path`` to ``out`` in BehaviorSpace's table layout; returns the number of data rows."""
    import pyarrow.parquet as pq

    from model.cli import _version, _write_atomic

    path = Path(path)
    done, total = check_complete(path, partial)
    manifest = load_manifest(path)
    cols = manifest["columns"]
    parameters = list(cols["parameters"])
    series_names = list(cols.get("series") or [])
    rows = _run_rows(path)
    per_step: dict[int, list[dict[str, Any]]] = {}
    if series_names:
        chunks = chunk_files(path)
        for index, f in series_files(path).items():
            if index in chunks:
                for r in pq.read_table(f).to_pylist():
                    per_step.setdefault(r["run_id"], []).append(r)
        outputs = series_names
    else:
        outputs = list(cols["outputs"])
    spec = manifest.get("spec", {})
    design = spec.get("design", {}) if isinstance(spec, dict) else {}
    counts = manifest.get("counts", {})
    header = ["[run number]", "point_id", "replicate", "seed", *parameters, "[step]", *outputs]
    now = _dt.datetime.now().astimezone()
    date = now.strftime("%m/%d/%Y %H:%M:%S:") + f"{now.microsecond // 1000:03d} " + now.strftime("%z")
    n_rows = 0

    def write(f: Any) -> None:
        nonlocal n_rows
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)
        note = f" (partial: {done} of {total} runs)" if done < total else ""
        w.writerow([f"BehaviorSpace results (phc-synergy {_version()}){note}"])
        w.writerow([manifest.get("spec_path") or ""])
        w.writerow([manifest.get("name") or ""])
        w.writerow([date])
        w.writerow(["spec-hash", "root-seed", "design", "replicates", "runs", "stored-runs", "partial"])
        w.writerow(
            [
                manifest.get("spec_hash", ""),
                manifest.get("root_seed", ""),
                design.get("method", ""),
                spec.get("replicates", "") if isinstance(spec, dict) else "",
                counts.get("runs_total", ""),
                len(rows),
                "true" if done < total else "false",
            ]
        )
        w.writerow(header)
        for row in rows:
            lead = [row["run_id"] + 1, row["point_id"], row["replicate"], row["seed"]]
            lead += [row.get(p) for p in parameters]
            if row.get("status") != "ok":
                w.writerow([_cell(v) for v in lead] + [""] * (1 + len(outputs)))
                n_rows += 1
                continue
            if series_names:
                for step_row in sorted(per_step.get(row["run_id"], []), key=lambda r: r["step"]):
                    w.writerow([_cell(v) for v in (*lead, step_row["step"], *(step_row[o] for o in outputs))])
                    n_rows += 1
            else:
                step = row.get("steps")
                w.writerow([_cell(v) for v in (*lead, step, *(row.get(o) for o in outputs))])
                n_rows += 1

    _write_atomic(Path(out), write)
    return n_rows


def export(path: str | Path, fmt: str, out: str | Path, partial: bool = False) -> int:
    """Export in ``fmt`` ('csv' or 'behaviorspace'); returns the number of data rows written.

    A sweep missing runs raises IncompleteSweepError unless ``partial``.
    """
    if fmt == "csv":
        return export_csv(path, out, partial)
    if fmt == "behaviorspace":
        return export_behaviorspace(path, out, partial)
    raise ValueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")

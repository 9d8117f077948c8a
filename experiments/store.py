"""A sweep on disk: a folder of Parquet chunks and a manifest.

    DIR/_manifest.json             the spec, its hash, root seed, versions, git commit, times, counts
    DIR/_design.parquet            point_id and the raw design matrix (SALib's X, before rounding)
    DIR/_lock                      held while a process writes the sweep, so two never do (removed at the end)
    DIR/runs/part-00000.parquet    the run table, one row per run: run_id, point_id, replicate, seed,
    DIR/runs/part-00001.parquet    every parameter, every run-summary output, status, error
    DIR/series/part-00000.parquet  per-step series of the runs of runs/part-00000 (long format:
                                   run_id, step, outputs), only when the spec keeps them

``DIR/runs`` and ``DIR/series`` are each one Parquet dataset with one schema in every
file, so ``pandas.read_parquet(DIR / "runs")``, ``pyarrow.dataset.dataset(DIR / "runs")``,
duckdb's ``read_parquet('DIR/runs/*.parquet')`` and ``polars.read_parquet`` read them as
they are; undefined outcomes are nulls. Every file is written to a temporary name
in its folder and renamed into place (``os.replace``), so a file is complete or absent.
A part's series file is written before its run file: the run file is what makes its
runs count as done, so a sweep killed at any moment loses only the runs not yet in a
part, and a resumed sweep runs exactly those.

Folders written before this layout (format 1: ``chunk-*.parquet`` and
``series-*.parquet`` beside the manifest) are read as they are, and moved into this
layout (file by file, under the lock) when they are resumed.

Read a sweep with :func:`load_sweep` (one row per run, sorted by run_id),
:func:`load_series`, :func:`load_experiments_outcomes` (EMA-workbench style),
:func:`load_design` and :func:`load_manifest`.

The manifest's ``status`` (and each session's) is one of::

    running       a process is writing the sweep (it holds DIR/_lock)
    complete      every run is stored
    incomplete    the session ended without error before every run was stored
    interrupted   Ctrl-C, or a process that died without a word (kill -9, a crash, power):
                  found 'running' while nobody holds the lock
    failed        the engine stopped (a lost Dask scheduler, a task that failed)

A new sweep starts 'running'. Resuming one that was left 'running' by a process
that is gone first records 'interrupted' (the manifest and that session), then
'running' for the new session. Every session ends in one of the four others.
The lock is :class:`experiments.lock.FolderLock` (advisory on NFS and other shared
file systems: see there).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from experiments.engine import SERIES_INT_OUTPUTS, STATUS_ERROR, RunResult, SweepPlan
from experiments.lock import LOCK, FolderLock, held_by_another

MANIFEST = "_manifest.json"
DESIGN = "_design.parquet"
RUNNING, COMPLETE, INCOMPLETE, INTERRUPTED, FAILED = "running", "complete", "incomplete", "interrupted", "failed"
RUNS, SERIES = "runs", "series"  # the two datasets' folders
PART_RE = re.compile(r"^part-(\d{5,})\.parquet$")
LEGACY_CHUNK_RE = re.compile(r"^chunk-(\d{5,})\.parquet$")  # format 1, beside the manifest
LEGACY_SERIES_RE = re.compile(r"^series-(\d{5,})\.parquet$")
FORMAT = "phc-synergy-sweep/2"
LEGACY_FORMATS = ("phc-synergy-sweep/1",)
META_COLUMNS: dict[str, str] = {"run_id": "int", "point_id": "int", "replicate": "int", "seed": "int"}
VERSIONED = ("phc-synergy", "mesa", "numpy", "numba", "SALib", "dask", "distributed", "pandas", "pyarrow")


class StoreError(ValueError):
    """A sweep folder that cannot be used as asked (exists, differs, is not a sweep, is damaged)."""


def _arrow_type(kind: str):
    import pyarrow as pa

    return {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string(), "json": pa.string()}[
        kind
    ]


def run_schema(parameters: dict[str, str], outputs: dict[str, str]):
    """The Arrow schema of the run table."""
    import pyarrow as pa

    cols = {**META_COLUMNS, **parameters, **outputs}
    fields = [pa.field(name, _arrow_type(kind)) for name, kind in cols.items()]
    fields += [pa.field("status", pa.string()), pa.field("error", pa.string())]
    return pa.schema(fields)


def series_schema(series: Iterable[str]):
    import pyarrow as pa

    fields = [pa.field("run_id", pa.int64()), pa.field("step", pa.int64())]
    fields += [pa.field(n, pa.int64() if n in SERIES_INT_OUTPUTS else pa.float64()) for n in series]
    return pa.schema(fields)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------- provenance
def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for dist in VERSIONED:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out


def git_state() -> dict[str, Any] | None:
    """The commit of the checkout the code runs from, and whether it has uncommitted edits (None outside git)."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


# ---------------------------------------------------------------------------- writing
def _write_atomic_bytes(path: Path, write) -> None:
    """Write through a temporary file in the same folder and rename it into place (model.cli's helper)."""
    from model.cli import _write_atomic

    _write_atomic(path, write, binary=True)


def _write_json_atomic(path: Path, doc: dict[str, Any]) -> None:
    from model.cli import _write_atomic

    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    _write_atomic(path, lambda f: f.write(text))


COLUMNS = "columns.json"  # the column dictionary of runs/ and series/ (experiments.columns)


def _write_columns(path: Path, plan: SweepPlan) -> None:
    """DIR/columns.json: name, meaning, unit and type of every column of runs/ and series/."""
    from experiments.columns import dictionary, dictionary_text, frame_columns

    tables = {RUNS: dictionary(frame_columns(run_schema(plan.parameters, plan.outputs)))}
    if plan.series:
        tables[SERIES] = dictionary(frame_columns(series_schema(plan.series)))
    if plan.X is not None:  # the raw design: what the sampler drew, before integers were rounded
        raw = {name: ("the sampler's raw value (before an integer input is rounded)", "") for name in plan.varied}
        tables[DESIGN] = dictionary([("point_id", "int"), *((name, "float") for name in plan.varied)], raw)
    text = dictionary_text(tables)
    _write_atomic_bytes(path / COLUMNS, lambda f: f.write(text.encode("utf-8")))


class SweepStore:
    """A sweep folder being written. Open with :meth:`open`; add results; :meth:`close` at the end.

    Results are buffered and written as one chunk when ``chunk_runs`` runs are
    waiting or ``chunk_seconds`` have passed since the last chunk.
    """

    def __init__(self, path: Path, plan: SweepPlan, manifest: dict[str, Any], done: set[int], errors: int):
        self.path = path
        self.plan = plan
        self.manifest = manifest
        self.done = done  # run_ids in a chunk
        self.errors = errors  # runs with status error among them
        self._next_chunk = self._max_chunk() + 1
        self._buffer: list[RunResult] = []
        self._schema = run_schema(plan.parameters, plan.outputs)
        self._series_schema = series_schema(plan.series) if plan.series else None
        self._last_flush = _monotonic()
        self._lock: FolderLock | None = None
        self.chunk_runs = 2000
        self.chunk_seconds = 30.0
        self.previous_status: str | None = None  # on resume: how the last session ended ('interrupted' if killed)

    # -- opening
    @classmethod
    def check(cls, path: str | Path, plan: SweepPlan, resume: bool = False) -> set[int]:
        """Check, without writing anything, that ``plan`` may run in ``path``; returns the run_ids stored there.

        Refuses (StoreError) an existing sweep without ``resume``, a folder holding a
        sweep of a different spec (or whose design changed), a non-empty folder that is
        not a sweep, and a folder that cannot be created.
        """
        path = Path(path).expanduser()
        if path.exists() and not path.is_dir():
            raise StoreError(f"{str(path)!r} exists and is not a folder")
        if not path.exists():
            parent = next((p for p in path.parents if p.exists()), Path("."))
            if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
                raise StoreError(f"cannot create the folder {str(path)!r}: {str(parent)!r} is not a writable folder")
            return set()
        manifest_path = path / MANIFEST
        if not any(p.name != LOCK for p in path.iterdir()):
            return set()
        if not manifest_path.exists():
            raise StoreError(
                f"{str(path)!r} is not empty and holds no sweep ({MANIFEST} is missing); choose an empty or new folder"
            )
        old = load_manifest(path)
        old_hash = old.get("spec_hash", "")
        if old_hash != plan.spec_hash:
            raise StoreError(
                f"{str(path)!r} holds a sweep of a different spec ('{old.get('name')}' from"
                f" {old.get('spec_path') or 'an unknown file'}, hash {old_hash[:12]}); this spec"
                f" ('{plan.name}' from {plan.source or 'a dict'}) has hash {plan.spec_hash[:12]}."
                " Use another --out folder, or resume with the spec that made it"
            )
        if not resume:
            counts = old.get("counts", {})
            raise StoreError(
                f"{str(path)!r} already holds this sweep ({effective_status(path, old)},"
                f" {counts.get('runs_done', '?')} of {counts.get('runs_total', '?')} runs stored): use --resume to"
                " continue it, or choose another --out folder"
            )
        if plan.design_hash and old.get("design_hash") and old["design_hash"] != plan.design_hash:
            raise StoreError(
                f"{str(path)!r}: the same spec now gives a different design than when the sweep started"
                " (the sampler changed: compare the SALib version in the manifest,"
                f" {old.get('versions', {}).get('SALib')}, with this one); resuming would mix two designs."
                " Start the sweep again in another folder"
            )
        done, _ = _stored_runs(path, plan)
        return done

    @classmethod
    def open(cls, path: str | Path, plan: SweepPlan, resume: bool = False, engine: dict | None = None) -> SweepStore:
        """Create a new sweep folder, or (``resume``) reopen one made by the same spec (after :meth:`check`)."""
        path = Path(path).expanduser()
        cls.check(path, plan, resume)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder {str(path)!r}: {exc.strerror or exc}") from None
        lock = _acquire_lock(path)
        try:
            cls.check(path, plan, resume)  # again, now that no other process can write here
            if (path / MANIFEST).exists():
                store = cls._reopen(path, plan, load_manifest(path), engine)
            else:
                store = cls._create(path, plan, engine)
        except BaseException:
            lock.release()
            raise
        store._lock = lock
        return store

    @classmethod
    def _create(cls, path: Path, plan: SweepPlan, engine: dict | None) -> SweepStore:
        now = _now()
        manifest = {
            "format": FORMAT,
            "name": plan.name,
            "spec_path": plan.source,
            "spec_hash": plan.spec_hash,
            "design_hash": plan.design_hash,
            "root_seed": plan.root_seed,
            "replicate_seeds": plan.seeds,
            "spec": plan.spec,
            "problem": plan.problem,
            "columns": {
                "meta": list(META_COLUMNS),
                "parameters": plan.parameters,
                "outputs": plan.outputs,
                "series": list(plan.series),
                "varied": [name for name in plan.varied if name in plan.parameters],
            },
            "versions": package_versions(),
            "git": git_state(),
            "started": now,
            "finished": None,
            "status": RUNNING,
            "counts": {"points": plan.n_points, "runs_total": plan.n_runs, "runs_done": 0, "runs_error": 0, "chunks": 0},
            "sessions": [{"started": now, "finished": None, "status": RUNNING, **_process(), **(engine or {})}],
        }
        _make_dataset_folders(path, plan)
        if plan.X is not None:
            _write_design(path / DESIGN, plan)
        _write_columns(path, plan)
        _write_json_atomic(path / MANIFEST, manifest)
        return cls(path, plan, manifest, set(), 0)

    @classmethod
    def _reopen(cls, path: Path, plan: SweepPlan, manifest: dict[str, Any], engine: dict | None) -> SweepStore:
        _clean_temporaries(path)
        if manifest.get("format") != FORMAT:
            manifest = _upgrade_layout(path, plan, manifest)
        _make_dataset_folders(path, plan)
        done, errors = _stored_runs(path, plan)
        chunks = chunk_files(path)
        # series files whose chunk never landed (killed between the two renames) are dropped
        for index, series in series_files(path).items():
            if index not in chunks:
                with contextlib.suppress(OSError):
                    series.unlink()
        now = _now()
        manifest = dict(manifest)
        previous = manifest.get("status")
        if previous == RUNNING:
            # we hold the lock, so the process that wrote 'running' is gone without recording its end
            previous = INTERRUPTED
            manifest["status"] = INTERRUPTED
            if manifest.get("sessions"):
                manifest["sessions"][-1] = {**manifest["sessions"][-1], "status": INTERRUPTED, "found_interrupted": now}
            _write_json_atomic(path / MANIFEST, manifest)
        manifest["status"] = RUNNING
        manifest["finished"] = None
        manifest["counts"] = {
            **manifest.get("counts", {}),
            "runs_done": len(done),
            "runs_error": errors,
            "chunks": len(chunks),
        }
        if manifest.get("versions") != (versions := package_versions()):
            manifest.setdefault("resumed_with_versions", []).append(versions)
        manifest["sessions"] = [
            *manifest.get("sessions", []),
            {
                "started": now,
                "finished": None,
                "status": RUNNING,
                "resumed_from": len(done),
                **_process(),
                **(engine or {}),
            },
        ]
        if plan.X is not None and not (path / DESIGN).exists():
            _write_design(path / DESIGN, plan)
        _write_columns(path, plan)
        _write_json_atomic(path / MANIFEST, manifest)
        store = cls(path, plan, manifest, done, errors)
        store.previous_status = previous
        return store

    def _max_chunk(self) -> int:
        indices = list(chunk_files(self.path)) + list(series_files(self.path))
        return max(indices, default=-1)

    # -- adding results
    @property
    def pending(self) -> int:
        """Results buffered, not yet in a chunk."""
        return len(self._buffer)

    @property
    def error_count(self) -> int:
        """Runs with status 'error', stored or buffered."""
        return self.errors + sum(1 for r in self._buffer if not r.ok)

    def add(self, results: Iterable[RunResult]) -> None:
        """Buffer results; write a chunk when enough are waiting or enough time has passed."""
        for r in results:
            self._buffer.append(r)
        if len(self._buffer) >= self.chunk_runs or (
            self._buffer and _monotonic() - self._last_flush >= self.chunk_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Write the buffered results as one chunk (and its series file)."""
        if not self._buffer:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        results = [r for r in self._buffer if r.row["run_id"] not in self.done]
        self._buffer = []
        self._last_flush = _monotonic()
        if not results:
            return
        index = self._next_chunk
        rows = [r.row for r in results]
        table = pa.Table.from_pylist(rows, schema=self._schema)
        if self._series_schema is not None:
            stable = _series_table(results, self._series_schema)
            _write_atomic_bytes(self.path / SERIES / _part(index), lambda f: pq.write_table(stable, f))
        _write_atomic_bytes(self.path / RUNS / _part(index), lambda f: pq.write_table(table, f))
        self._next_chunk += 1
        self.done.update(r["run_id"] for r in rows)
        self.errors += sum(1 for r in rows if r["status"] == STATUS_ERROR)
        counts = self.manifest["counts"]
        counts.update(runs_done=len(self.done), runs_error=self.errors, chunks=counts.get("chunks", 0) + 1)
        self._write_manifest()

    def close(self, status: str = COMPLETE, **session: Any) -> None:
        """Flush, then record the end of this session (and of the sweep when every run is stored)."""
        self.flush()
        now = _now()
        complete = len(self.done) == self.plan.n_runs
        if status == COMPLETE and not complete:
            status = INCOMPLETE
        self.manifest["status"] = status
        self.manifest["finished"] = now if complete else None
        self.manifest["counts"].update(
            runs_done=len(self.done), runs_error=self.errors, chunks=len(chunk_files(self.path))
        )
        if self.manifest.get("sessions"):
            self.manifest["sessions"][-1].update(finished=now, status=status, **session)
        try:
            self._write_manifest()
        finally:
            if self._lock is not None:
                self._lock.release()
            self._lock = None

    def _write_manifest(self) -> None:
        _write_json_atomic(self.path / MANIFEST, self.manifest)


def _acquire_lock(path: Path) -> FolderLock:
    """Hold DIR/_lock so that two processes never write one sweep (StoreError if another holds it)."""
    lock = FolderLock(path)
    try:
        got = lock.acquire()
    except OSError as exc:
        raise StoreError(f"cannot write in {str(path)!r}: {exc.strerror or exc}") from None
    if not got:
        holder = ""
        with contextlib.suppress(StoreError, KeyError, IndexError, TypeError):
            last = load_manifest(path)["sessions"][-1]
            if last.get("pid"):
                holder = f" (pid {last['pid']} on {last.get('host', '?')}, since {last.get('started', '?')})"
        raise StoreError(
            f"another process{holder} is writing the sweep in {str(path)!r}; wait for it to end or stop it"
        )
    return lock


def _process() -> dict[str, Any]:
    """Who writes this session: the pid and host a refusal names when the lock is taken."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def effective_status(path: str | Path, manifest: dict[str, Any]) -> str:
    """The manifest's status, with 'running' read as 'interrupted' when no process holds the lock any more."""
    status = str(manifest.get("status"))
    if status == RUNNING and not held_by_another(path):
        return INTERRUPTED
    return status


def stored_count(path: str | Path) -> tuple[int, int]:
    """(runs stored, runs in the sweep) of a sweep folder, from the chunks' metadata (nothing is read in full)."""
    import pyarrow.parquet as pq

    path = Path(path).expanduser()
    manifest = load_manifest(path)
    done = 0
    for chunk in chunk_files(path).values():
        try:
            done += pq.ParquetFile(chunk).metadata.num_rows
        except Exception as exc:  # noqa: BLE001 - a damaged file
            raise StoreError(f"{str(chunk)!r} cannot be read ({exc}); move it away and resume again") from None
    total = manifest.get("counts", {}).get("runs_total")
    if isinstance(total, bool) or not isinstance(total, int):
        raise StoreError(f"{str(path / MANIFEST)!r} has no run count (counts.runs_total)")
    return done, total


def _stored_runs(path: Path, plan: SweepPlan) -> tuple[set[int], int]:
    """The run_ids in the chunks of ``path`` and how many have status error (StoreError if damaged)."""
    import pyarrow.parquet as pq

    done: set[int] = set()
    errors = 0
    for chunk in chunk_files(path).values():
        try:
            table = pq.read_table(chunk, columns=["run_id", "status"])
        except Exception as exc:  # noqa: BLE001 - a damaged file
            raise StoreError(f"{str(chunk)!r} cannot be read ({exc}); move it away and resume again") from None
        ids = table.column("run_id").to_pylist()
        dup = done.intersection(ids)
        if dup or len(set(ids)) != len(ids):
            raise StoreError(f"{str(chunk)!r} repeats runs already stored (e.g. run {sorted(dup)[:1]}): damaged")
        bad = [i for i in ids if not 0 <= i < plan.n_runs]
        if bad:
            raise StoreError(f"{str(chunk)!r} holds run {bad[0]}, not a run of this spec: damaged")
        done.update(ids)
        errors += sum(1 for st in table.column("status").to_pylist() if st == STATUS_ERROR)
    return done, errors


def _monotonic() -> float:
    import time

    return time.monotonic()


def _series_table(results: list[RunResult], schema):
    import pyarrow as pa

    ok = [r for r in results if r.series is not None]
    names = [f.name for f in schema][2:]
    if not ok:
        return pa.Table.from_pylist([], schema=schema)
    lengths = [len(r.series["step"]) for r in ok]
    cols: dict[str, Any] = {
        "run_id": np.repeat(np.array([r.row["run_id"] for r in ok], dtype=np.int64), lengths),
        "step": np.concatenate([np.asarray(r.series["step"]) for r in ok]).round().astype(np.int64),
    }
    for name in names:
        data = np.concatenate([np.asarray(r.series[name], dtype=float) for r in ok])
        cols[name] = data.round().astype(np.int64) if name in SERIES_INT_OUTPUTS else data
    return pa.table(cols, schema=schema)


def _write_design(path: Path, plan: SweepPlan) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    X = np.asarray(plan.X, dtype=float)
    cols = {"point_id": np.arange(X.shape[0], dtype=np.int64)}
    for j, name in enumerate(plan.varied):
        cols[name] = X[:, j]
    table = pa.table(cols)
    _write_atomic_bytes(path, lambda f: pq.write_table(table, f))


def _part(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _make_dataset_folders(path: Path, plan: SweepPlan) -> None:
    (path / RUNS).mkdir(exist_ok=True)
    if plan.series:
        (path / SERIES).mkdir(exist_ok=True)


def _upgrade_layout(path: Path, plan: SweepPlan, manifest: dict[str, Any]) -> dict[str, Any]:
    """Move a format-1 folder's files into runs/ and series/ (called under the lock, before a resume).

    Each move is a rename, so a file is in one place or the other; a move killed half-way
    is finished by the next resume (readers look in both places until the manifest says 2).
    """
    _make_dataset_folders(path, plan)
    (path / SERIES).mkdir(exist_ok=True)
    for p in list(path.iterdir()):
        if m := LEGACY_CHUNK_RE.match(p.name):
            os.replace(p, path / RUNS / _part(int(m.group(1))))
        elif m := LEGACY_SERIES_RE.match(p.name):
            os.replace(p, path / SERIES / _part(int(m.group(1))))
    with contextlib.suppress(OSError):
        (path / SERIES).rmdir()  # only when empty: a spec that keeps no series
    manifest = {**manifest, "format": FORMAT, "upgraded_from": manifest.get("format"), "upgraded": _now()}
    columns = manifest.get("columns", {})
    if "varied" not in columns:
        columns = {**columns, "varied": [name for name in plan.varied if name in plan.parameters]}
        manifest["columns"] = columns
    _write_json_atomic(path / MANIFEST, manifest)
    return manifest


def _clean_temporaries(path: Path) -> None:
    """Remove temporary files left by a write that was killed before its rename."""
    for folder in (path, path / RUNS, path / SERIES):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    p.unlink()


# ---------------------------------------------------------------------------- where commands keep their sweeps
SWEEP_SUBFOLDER = "sweep"  # compare, sensitivity and validate keep their runs in OUT/sweep (a sweep folder)
LEGACY_SWEEP_SUBFOLDER = "runs"  # ... which earlier versions called OUT/runs


def sweep_subfolder(out: str | Path) -> Path:
    """The sweep folder inside a command's output folder: OUT/sweep, or OUT/runs when an earlier version made it."""
    out = Path(out).expanduser()
    legacy = out / LEGACY_SWEEP_SUBFOLDER
    if (legacy / MANIFEST).exists():
        return legacy
    return out / SWEEP_SUBFOLDER


def find_sweep_folder(path: str | Path) -> Path:
    """The sweep folder a user means by PATH: PATH itself, or the sweep kept inside a command's folder.

    ``sensitivity``, ``compare`` and ``validate`` keep their sweep in OUT/sweep: given OUT, this
    returns OUT/sweep. Given a sweep's own runs/ or series/ folder, the error names the sweep.
    """
    path = Path(path).expanduser()
    if (path / MANIFEST).exists() or not path.is_dir():
        return path
    inner = sweep_subfolder(path)
    if (inner / MANIFEST).exists():
        return inner
    if path.name in (RUNS, SERIES) and (path.parent / MANIFEST).exists():
        raise StoreError(f"{str(path)!r} is a part of a sweep folder: did you mean {str(path.parent)!r}?")
    return path  # load_manifest says what is missing


# ---------------------------------------------------------------------------- reading
def _indexed(folder: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    out = {}
    if folder.is_dir():
        for p in folder.iterdir():
            if m := pattern.match(p.name):
                out[int(m.group(1))] = p
    return out


def chunk_files(path: str | Path) -> dict[int, Path]:
    """The run table's parts (``runs/part-*.parquet``, and a format-1 folder's ``chunk-*.parquet``) by index."""
    path = Path(path)
    return dict(sorted({**_indexed(path, LEGACY_CHUNK_RE), **_indexed(path / RUNS, PART_RE)}.items()))


def series_files(path: str | Path) -> dict[int, Path]:
    """The series' parts (``series/part-*.parquet``, and a format-1 folder's ``series-*.parquet``) by index."""
    path = Path(path)
    return dict(sorted({**_indexed(path, LEGACY_SERIES_RE), **_indexed(path / SERIES, PART_RE)}.items()))


def load_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a sweep folder (raises StoreError if there is none or it is unreadable)."""
    path = Path(path).expanduser()
    manifest = path / MANIFEST
    if not path.is_dir():
        raise StoreError(f"{str(path)!r} is not a folder")
    if not manifest.exists():
        raise StoreError(f"{str(path)!r} is not a sweep folder ({MANIFEST} is missing)")
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{str(manifest)!r} cannot be read: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") not in (FORMAT, *LEGACY_FORMATS):
        raise StoreError(f"{str(manifest)!r} is not a phc-synergy sweep manifest ({FORMAT})")
    return doc


def _read_tables(files: Iterable[Path], schema):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(f) for f in files]
    if not tables:
        return pa.Table.from_pylist([], schema=schema)
    return pa.concat_tables(tables)


def load_sweep(path: str | Path):
    """The run table of a sweep: a pandas DataFrame, one row per stored run, sorted by run_id.

    Columns: run_id, point_id, replicate, seed, every parameter (composition as a
    JSON string; the dummy when the design has one), every run-summary output,
    status ('ok' or 'error') and error (the message, or None).
    """
    path = Path(path).expanduser()
    manifest = load_manifest(path)
    cols = manifest["columns"]
    schema = run_schema(cols["parameters"], cols["outputs"])
    df = _read_tables(chunk_files(path).values(), schema).to_pandas()
    return df.sort_values("run_id", kind="stable").reset_index(drop=True)


def load_series(path: str | Path):
    """The per-step series of a sweep (long format: run_id, step, outputs), sorted by run_id and step.

    Empty when the spec kept no series.
    """
    path = Path(path).expanduser()
    manifest = load_manifest(path)
    schema = series_schema(manifest["columns"].get("series", []))
    chunks = chunk_files(path)
    files = [p for i, p in series_files(path).items() if i in chunks]
    df = _read_tables(files, schema).to_pandas()
    return df.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)


def load_design(path: str | Path) -> tuple[dict[str, Any] | None, np.ndarray | None]:
    """(SALib problem, raw design matrix X) of a sweep; X has one row per design point."""
    import pyarrow.parquet as pq

    path = Path(path).expanduser()
    manifest = load_manifest(path)
    design = path / DESIGN
    if not design.exists():
        return manifest.get("problem"), None
    table = pq.read_table(design)
    names = [n for n in table.column_names if n != "point_id"]
    X = np.column_stack([table.column(n).to_numpy() for n in names]) if names else None
    return manifest.get("problem"), X


def varied_inputs(manifest: dict[str, Any]) -> list[str]:
    """The parameters a sweep varied (its design's inputs, without the dummy), from its manifest."""
    columns = manifest.get("columns", {})
    if "varied" in columns:
        return list(columns["varied"])
    vary = (manifest.get("spec") or {}).get("vary") or {}  # format 1 kept no list: the spec's [vary] table
    return [name for name in vary if name in columns.get("parameters", {})]


def load_experiments_outcomes(
    path: str | Path,
    series: bool = False,
    ids: bool = False,
    outcomes: Iterable[str] | None = None,
    failed: bool = False,
):
    """A sweep as ``(experiments, outcomes)``, as the EMA workbench's analysis functions take them.

    ``experiments`` is a DataFrame with one row per successful run (sorted by run_id) and one
    column per *varied* input only (integers as int64, reals as float64, anything else as a
    category), so that ``ema_workbench.analysis.prim.Prim(experiments, y, ...)`` and
    ``feature_scoring.get_feature_scores_all(experiments, outcomes)`` take it as it is:
    run ids, seeds, replicate numbers and constants are not inputs of the experiment, and a
    box restricted on them would mean nothing. ``ids=True`` adds run_id, point_id,
    replicate, seed and status in front (to join back to the run table); ``failed=True``
    keeps the runs that raised too (their outcomes NaN).

    ``outcomes`` maps run-summary outputs to float64 numpy arrays aligned with those rows
    (booleans as 0/1). By default it holds every output defined in every row: an output
    that is undefined in some runs (``months_to_access`` of a run whose access never rose,
    ``recovery_months`` without a shock) is NaN there, which the workbench's estimators
    refuse, so it comes only when named in ``outcomes=[...]``. With ``series=True`` it maps
    each kept per-step output instead to a 2-D float64 array (runs x steps, month 0 first;
    NaN after a run's horizon and for failed runs).
    """
    import pandas as pd

    df = load_sweep(path)
    if not failed:
        df = df[df["status"] == "ok"].reset_index(drop=True)
    manifest = load_manifest(path)
    cols = manifest["columns"]
    kinds = cols["parameters"]
    experiments = pd.DataFrame(index=df.index)
    if ids:
        for name in [*cols["meta"], "status"]:
            experiments[name] = df[name]
    for name in varied_inputs(manifest):
        kind = kinds.get(name, "float")
        if kind == "int":
            experiments[name] = df[name].astype(np.int64)
        elif kind == "float":
            experiments[name] = df[name].astype(np.float64)
        else:
            experiments[name] = df[name].astype("category")
    if not series:
        if outcomes is not None:
            names = list(outcomes)
            unknown = [n for n in names if n not in cols["outputs"]]
            if unknown:
                raise StoreError(
                    f"outcomes {unknown} are not run-summary outputs of this sweep: {', '.join(cols['outputs'])}"
                )
            return experiments, {name: _float_array(df[name]) for name in names}
        arrays = {name: _float_array(df[name]) for name in cols["outputs"]}
        return experiments, {name: a for name, a in arrays.items() if failed or np.isfinite(a).all()}
    names = cols.get("series", [])
    long = load_series(path)
    n = len(df)
    width = int(long["step"].max()) + 1 if len(long) else 0
    row_of = {rid: i for i, rid in enumerate(df["run_id"].to_numpy())}
    rows = np.array([row_of.get(r, -1) for r in long["run_id"].to_numpy()], dtype=np.int64)
    steps = long["step"].to_numpy(dtype=np.int64)
    mask = rows >= 0
    outcomes = {}
    for name in names:
        arr = np.full((n, width), np.nan)
        arr[rows[mask], steps[mask]] = long[name].to_numpy(dtype=float)[mask]
        outcomes[name] = arr
    return experiments, outcomes


def _float_array(column) -> np.ndarray:
    import pandas as pd

    if column.dtype == object:
        column = pd.to_numeric(column.map(lambda v: np.nan if v is None else float(v)), errors="coerce")
    return column.to_numpy(dtype=float, na_value=np.nan)

"""Run a sweep: spec -> runs -> engine -> Parquet chunks, with progress and resume.

    from experiments.spec import load_spec
    from experiments.sweep import run_sweep
    from experiments.store import load_sweep

    result = run_sweep(load_spec("experiments/configs/example_sweep.toml"), "results/example", workers=2)
    table = load_sweep(result.path)

``run_sweep`` accepts a :class:`~experiments.spec.Spec` or any
:class:`~experiments.engine.SweepPlan` (another target function, e.g. a test
function with known sensitivity indices), and either engine options
(``workers``, ``scheduler``) or an :class:`~experiments.engine.Engine` to reuse
across several sweeps.

A script that runs a sweep with ``workers > 1`` needs the usual
``if __name__ == "__main__":`` guard: the local Dask cluster starts its worker
processes with the "spawn" method, which imports the main module again.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from experiments.engine import (
    Engine,
    SweepPlan,
    default_batch_size,
    execute_batch,
    failed_batch,
    make_batches,
    make_engine,
    target_modules,
)
from experiments.store import SweepStore

DEFAULT_CHUNK_RUNS = 2000
DEFAULT_CHUNK_SECONDS = 30.0


@dataclass(frozen=True)
class SweepStart:
    """What :func:`run_sweep` tells its ``on_start`` once the folder is locked and the engine is ready."""

    path: Path
    total: int  # runs in the sweep
    stored: int  # runs already stored (resume)
    previous_status: str | None  # how the last session ended ('interrupted' after a kill); None for a new sweep
    engine: dict[str, Any]


@dataclass
class SweepResult:
    """What a call of :func:`run_sweep` did."""

    path: Path
    total: int  # runs in the sweep
    stored_before: int  # runs already stored when the call started (resume)
    ran: int  # runs executed by this call
    errors: int  # runs with status 'error' in the whole table
    seconds: float  # wall time of the call, engine start included
    run_seconds: float  # from the engine being ready to the last result stored
    engine: dict[str, Any] = field(default_factory=dict)

    @property
    def runs_per_second(self) -> float:
        return self.ran / self.run_seconds if self.run_seconds > 0 else math.nan

    @property
    def complete(self) -> bool:
        return self.stored_before + self.ran >= self.total


class Progress:
    """A progress line on a stream: runs done/total, runs per second, errors, time left.

    On a terminal the line is redrawn in place (at most every ``interval`` s);
    otherwise a new line is printed at most every ``log_interval`` s.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.2, log_interval: float = 10.0):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if self.tty else log_interval
        self.total = self.before = self.done = self.errors = 0
        self.t0 = time.monotonic()
        self._last = 0.0
        self._width = 0

    def start(self, total: int, done: int, errors: int = 0) -> None:
        self.total, self.before, self.done, self.errors = total, done, done, errors
        self.t0 = time.monotonic()
        self._last = self.t0

    def update(self, done: int, errors: int) -> None:
        self.done, self.errors = done, errors
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._emit(final=False)

    def finish(self) -> None:
        self._emit(final=True)

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        ran = self.done - self.before
        rate = ran / elapsed if elapsed > 0 and ran > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else math.nan
        pct = 100.0 * self.done / self.total if self.total else 100.0
        parts = [
            f"sweep: {self.done}/{self.total} runs ({pct:.0f}%)",
            f"{rate:.1f} runs/s",
            f"{self.errors} error{'s' if self.errors != 1 else ''}",
            f"elapsed {_clock(elapsed)}",
            f"left {_clock(left)}" if self.done < self.total else "done",
        ]
        return " | ".join(parts)

    def _emit(self, final: bool) -> None:
        text = self.line()
        if self.tty:
            pad = " " * max(0, self._width - len(text))
            self.stream.write("\r" + text + pad + ("\n" if final else ""))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def run_sweep(
    spec_or_plan: Any,
    out: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    engine: Engine | None = None,
    resume: bool = False,
    batch_size: int | None = None,
    chunk_runs: int = DEFAULT_CHUNK_RUNS,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    progress: Progress | None = None,
    on_start: Callable[[SweepStart], None] | None = None,
) -> SweepResult:
    """Run every run of a spec (or plan) not yet stored in ``out``; returns a :class:`SweepResult`.

    The folder is checked before any engine starts: a new or empty folder starts a
    sweep; an existing sweep of the same spec needs ``resume=True``; one of another
    spec is refused (StoreError). With ``engine`` given, ``workers`` and
    ``scheduler`` are ignored and the engine is left open for the caller.
    ``on_start`` is called once every refusal is behind (the folder is locked, the
    engine ready) and before the first run: where a command says what it starts,
    so that a refused command says only why.
    """
    t_start = time.monotonic()
    plan: SweepPlan = spec_or_plan if isinstance(spec_or_plan, SweepPlan) else spec_or_plan.plan()
    stored = SweepStore.check(out, plan, resume=resume)  # refusals before any engine starts
    todo = [r for r in range(plan.n_runs) if r not in stored]
    if not todo:  # a complete sweep: nothing to run, nothing to write
        from experiments.store import _stored_runs

        _, errors = _stored_runs(Path(out).expanduser(), plan)
        elapsed = time.monotonic() - t_start
        return SweepResult(Path(out), plan.n_runs, len(stored), 0, errors, elapsed, 0.0, {"engine": None})
    own_engine = engine is None
    if own_engine:
        engine = make_engine(workers=workers, scheduler=scheduler)  # EngineStartError: nothing written yet
    try:
        engine.prepare(target_modules(plan.target))
        engine_info = engine.describe()
        store = SweepStore.open(out, plan, resume=resume, engine=engine_info)
    except BaseException:
        if own_engine:
            engine.close()
        raise
    store.chunk_runs, store.chunk_seconds = max(1, int(chunk_runs)), float(chunk_seconds)
    before = len(store.done)
    todo = [r for r in range(plan.n_runs) if r not in store.done]
    ran = 0
    t_ready = time.monotonic()
    status = "failed"
    try:
        if on_start is not None:
            on_start(SweepStart(Path(out), plan.n_runs, before, store.previous_status, engine_info))
        if todo:  # (empty only if another process stored the rest meanwhile)
            workers_now = engine.workers
            size = batch_size or default_batch_size(len(todo), workers_now)
            guided = workers_now if (batch_size is None and workers_now > 1) else None
            if progress is not None:
                progress.start(plan.n_runs, before, store.errors)
            t_ready = time.monotonic()
            for batch, results, error in engine.map(execute_batch, make_batches(plan, todo, size, guided)):
                if error is not None:
                    results = failed_batch(batch, error)
                store.add(results)
                ran += len(results)
                if progress is not None:
                    progress.update(before + ran, store.error_count)
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        t_end = time.monotonic()
        try:
            store.close(status=status, runs=ran)
        finally:
            if own_engine:
                engine.close()
            if progress is not None and todo:
                progress.update(len(store.done), store.errors)
                progress.finish()
    return SweepResult(
        path=Path(out),
        total=plan.n_runs,
        stored_before=before,
        ran=ran,
        errors=store.errors,
        seconds=t_end - t_start,
        run_seconds=t_end - t_ready,
        engine=engine_info,
    )

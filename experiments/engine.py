"""Runs and the engines that execute them: serial, a local Dask cluster, or an existing one.

A sweep is a list of runs ``(run_id, point_id, replicate, seed, params)``
described by a :class:`SweepPlan`. Runs are grouped into batches (one task
per batch, 150 runs by default) and handed to an :class:`Engine`, whose
``map(fn, items)`` yields ``(item, result, error)`` as tasks complete:

- :class:`SerialEngine` runs every task in this process, in order (``--workers 1``);
- :class:`DaskEngine` runs them on a ``LocalCluster(n_workers=N,
  threads_per_worker=1, processes=True)`` (``--workers N``) or on an existing
  cluster (``--scheduler tcp://HOST:PORT``), with at most a few tasks in flight
  per worker so memory stays bounded however long the sweep.

A run is a pure function of its parameters and seed, and nothing about where or
when it ran enters its row, so every engine gives the same run table.

Common random numbers
---------------------
Replicate ``k`` of every design point uses the same seed::

    child = numpy.random.SeedSequence(root_seed).spawn(replicates)[k]
    w0, w1 = child.generate_state(2, dtype=numpy.uint32)
    seed = ((int(w0) << 32) | int(w1)) & (2**63 - 1)      # a 63-bit non-negative int

so differences between design points are not blurred by different random
streams, and any run can be replayed from its row:
``PartnershipModel(seed=row.seed, **params).run()``.

Errors
------
A run that raises is recorded (``status="error"``, ``error="Type: message"``,
outputs missing), never dropped. A task whose Dask worker died (after
``retries``) is recorded the same way for each of its runs. Any other task
failure (e.g. workers that cannot import the project, a lost scheduler) stops the
sweep with :class:`EngineError`; the runs finished so far are already stored
and ``--resume`` continues.

An existing cluster
-------------------
``--scheduler`` takes ``SCHEME://HOST:PORT`` (scheme tcp, tls, ws or wss; a bare
``HOST:PORT`` is tcp) or an ``inproc://`` address; :func:`check_scheduler_address`
refuses anything else before a connection is tried. While the scheduler has no
worker (at the start, or when every worker has gone), the engine waits, and after
:data:`NO_WORKER_NOTICE_SECONDS` says so once on stderr, with the command that
starts a worker.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np

SEED_MASK = 2**63 - 1
DEFAULT_BATCH_SIZE = 150  # runs per task: about 0.35 s of work at 2.3 ms a run (Dask wants tasks of 0.1-1 s)
MIN_TAIL_BATCH = 16  # smallest batch near the end of a parallel sweep (tens of ms: well above a task's round trip)
STATUS_OK = "ok"
STATUS_ERROR = "error"
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "inproc")
# Seconds an existing cluster may have no worker before the engine says that it waits for one
# (a module constant so that tests can lower it).
NO_WORKER_NOTICE_SECONDS = 30.0

# Column kinds of the run table: "int", "float", "bool", "str", "json" (a dict stored as a JSON string).
# Summary outputs that are not floats (a test checks these against a real run).
SUMMARY_KINDS: dict[str, str] = {
    "final_seats": "int",
    "cumulative_members": "int",
    "total_departures": "int",
    "sustained": "bool",
}
# Per-step outputs that count things (stored as integers; every other per-step output is a float).
SERIES_INT_OUTPUTS = frozenset({"step", "active_seats", "cumulative_members", "departures"})


# Dask settings for the local cluster (measured on 2 cores; see benchmarks/bench_sweep.py).
# A worker runs our GIL-bound runs in one thread while its event loop wakes up for bookkeeping
# (every 20 ms by default, plus a 10 ms profiler); each wake-up takes the GIL from the run, and
# waking less often makes the runs ~10% faster. Sending tasks to the workers as soon as they are
# submitted (we bound the tasks in flight ourselves) rather than holding them in the scheduler's
# queue removes a gap between two tasks on a worker: ~6% more runs per second.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,  # statistical profiler (samples every 10 ms)
    "distributed.admin.tick.interval": "1000ms",  # event-loop blockage check (default 20 ms)
    "distributed.admin.system-monitor.interval": "5s",  # CPU/memory metrics for the dashboard (default 500 ms)
    "distributed.worker.memory.monitor-interval": "1s",  # the nanny's memory-limit check (default 100 ms)
    "distributed.scheduler.worker-saturation": "inf",  # no scheduler-side queue (default 1.1)
}


class EngineError(RuntimeError):
    """The engine cannot go on (not a run's own error): the sweep stops and can be resumed."""


class EngineStartError(EngineError):
    """The engine could not start (no cluster at that address, workers that cannot import the project)."""


class ClusterLostError(EngineError):
    """The connection to the Dask scheduler was lost while runs were in flight."""


class SchedulerAddressError(ValueError):
    """A --scheduler value that is not a Dask scheduler address (refused before any connection)."""


def check_scheduler_address(text: str) -> str:
    """The scheduler address to connect to (a bare HOST:PORT becomes tcp://HOST:PORT).

    Raises SchedulerAddressError saying what is wrong: an unknown scheme, no host, or a
    port that is missing or outside 1..65535.
    """
    from urllib.parse import urlsplit

    address = text.strip()
    if not address:
        raise SchedulerAddressError("it is empty")
    if any(c.isspace() for c in address) or not address.isprintable():
        raise SchedulerAddressError("it holds blanks or control characters")
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest, address = "tcp", address, "tcp://" + address
    scheme = scheme.lower()
    if scheme not in SCHEDULER_SCHEMES:
        raise SchedulerAddressError(f"unknown scheme {scheme!r} (allowed: {', '.join(SCHEDULER_SCHEMES)})")
    if scheme == "inproc":
        if not rest:
            raise SchedulerAddressError("an inproc:// address names the scheduler after inproc://")
        return f"inproc://{rest}"
    netloc, _, tail = rest.partition("/")
    if tail or "?" in netloc or "#" in netloc or "@" in netloc:
        raise SchedulerAddressError("an address is SCHEME://HOST:PORT, nothing more")
    host, sep, port_text = netloc.rpartition(":")
    if netloc.startswith("[") and netloc.endswith("]"):
        host, sep, port_text = netloc, "", ""  # [IPv6] without a port
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise SchedulerAddressError("an IPv6 host goes in brackets, e.g. tcp://[::1]:8786")
    if not sep or host.startswith("[") != host.endswith("]"):
        host, port_text = netloc, ""
    if not host.strip("[]"):
        raise SchedulerAddressError("no host")
    if not port_text:
        raise SchedulerAddressError("no port (the scheduler's port, 8786 unless it was started with another)")
    if not (port_text.isascii() and port_text.isdigit()):
        raise SchedulerAddressError(f"port {port_text!r} is not a number")
    if not 1 <= int(port_text) <= 65535:
        raise SchedulerAddressError(f"port {int(port_text)} is outside 1..65535")
    try:
        _ = urlsplit(f"{scheme}://{netloc}").port  # what Dask will parse: a malformed [IPv6] host fails here
    except ValueError as exc:
        raise SchedulerAddressError(f"bad host ({exc})") from None
    return f"{scheme}://{netloc}"


def _stderr_notice(text: str) -> None:
    print(f"phc-synergy: {text}", file=sys.stderr, flush=True)


class _NoWorkerWatch:
    """Says once, after ``after`` seconds without a worker, that the engine waits for one (a daemon thread).

    It reads the client's cached view of the scheduler (refreshed by the client every few
    seconds), so it costs nothing while workers are there; a new notice comes only after
    workers came back and went again.
    """

    def __init__(self, client: Any, address: str, notice: Callable[[str], None], after: float):
        self.client, self.address, self.notice, self.after = client, address, notice, after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="phc-synergy-no-worker-watch", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _workers(self) -> int | None:
        try:
            info = self.client.scheduler_info(n_workers=-1) if _takes_n_workers(self.client) else self.client.scheduler_info()
            return len(info.get("workers", {}))
        except Exception:  # noqa: BLE001 - a client closing or reconnecting: no reading this time
            return None

    def _watch(self) -> None:
        since: float | None = None
        told = False
        poll = min(1.0, max(0.05, self.after / 10))
        while not self._stop.wait(poll):
            n = self._workers()
            if n is None:
                continue
            if n > 0:
                since, told = None, False
                continue
            since = since if since is not None else time.monotonic()
            if not told and time.monotonic() - since >= self.after:
                told = True
                self.notice(
                    f"waiting for a Dask worker: the scheduler at {self.address} has had none for"
                    f" {self.after:.0f} s; start one where this project is installed with"
                    f" 'dask worker {self.address}' (Ctrl-C stops)"
                )


# ---------------------------------------------------------------------------- seeds
def replicate_seeds(root_seed: int, replicates: int) -> list[int]:
    """The seed of each replicate: 63-bit ints from ``SeedSequence(root_seed).spawn(replicates)``."""
    seeds = []
    for child in np.random.SeedSequence(int(root_seed)).spawn(int(replicates)):
        w0, w1 = child.generate_state(2, dtype=np.uint32)
        seeds.append(((int(w0) << 32) | int(w1)) & SEED_MASK)
    return seeds


# ---------------------------------------------------------------------------- runs and plans
@dataclass(frozen=True)
class Run:
    """One run: ids, seed, the parameters the target gets, and inputs it does not get (e.g. the dummy)."""

    run_id: int
    point_id: int
    replicate: int
    seed: int
    params: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)


def model_target(params: dict[str, Any], seed: int, series: Sequence[str]) -> tuple[dict[str, Any], dict | None]:
    """Run the partnership model: (run summary, per-step series of the outputs in ``series`` or None)."""
    from model.model import PartnershipModel

    model = PartnershipModel(seed=seed, **params)
    summary = model.run()
    if not series:
        return summary, None
    all_series = model.series()
    return summary, {name: all_series[name] for name in ("step", *series)}


@dataclass(frozen=True)
class SweepPlan:
    """Everything needed to make, run and store the runs of a sweep, for any target function.

    ``target(params, seed, series) -> (summary dict, series dict or None)`` must be
    a module-level function (Dask workers import it by name). Design point ``i``
    sets ``varied`` to ``values[i]``; names in ``ignored`` (the dummy) are stored
    but not passed to the target. Run ``r`` is point ``r // replicates``,
    replicate ``r % replicates``.
    """

    name: str
    spec: dict[str, Any]  # JSON-able description stored in the manifest (the normalised spec)
    spec_hash: str
    base: dict[str, Any]
    varied: tuple[str, ...]
    values: list[tuple]
    replicates: int
    root_seed: int
    parameters: dict[str, str]  # run-table parameter columns -> kind, in column order
    outputs: dict[str, str]  # run-table output columns -> kind
    series: tuple[str, ...] = ()  # per-step outputs kept (besides 'step')
    ignored: tuple[str, ...] = ()
    target: Callable[..., tuple[dict[str, Any], dict | None]] = model_target
    problem: dict[str, Any] | None = None  # SALib problem of the design (None when not sampled)
    X: np.ndarray | None = None  # raw design matrix, one row per point, columns = varied
    design_hash: str | None = None
    source: str | None = None  # where the plan came from (the spec file)
    # Posterior ensembles: draws[point_id][replicate] is a dict of parameter values that run takes last
    # (a posterior draw, already stripped of what the spec fixes or varies); None entries take nothing.
    draws: tuple[tuple[dict[str, Any], ...] | None, ...] | None = None

    @property
    def n_points(self) -> int:
        return len(self.values)

    @property
    def n_runs(self) -> int:
        return len(self.values) * self.replicates

    @property
    def seeds(self) -> list[int]:
        return replicate_seeds(self.root_seed, self.replicates)

    def runs(self, run_ids: Iterable[int] | None = None) -> Iterator[Run]:
        """The runs (all, or those in ``run_ids``), made one at a time."""
        seeds = self.seeds
        ids = range(self.n_runs) if run_ids is None else run_ids
        for run_id in ids:
            yield self._run(int(run_id), seeds)

    def run(self, run_id: int) -> Run:
        return self._run(int(run_id), self.seeds)

    def _run(self, run_id: int, seeds: list[int]) -> Run:
        if not 0 <= run_id < self.n_runs:
            raise IndexError(f"run_id {run_id} is not in [0, {self.n_runs})")
        point_id, replicate = divmod(run_id, self.replicates)
        params = dict(self.base)
        inputs: dict[str, Any] = {}
        for name, value in zip(self.varied, self.values[point_id], strict=True):
            (inputs if name in self.ignored else params)[name] = value
        if self.draws is not None and self.draws[point_id] is not None:
            params.update(self.draws[point_id][replicate])
        return Run(run_id, point_id, replicate, seeds[replicate], params, inputs)

    @classmethod
    def from_spec(cls, spec) -> SweepPlan:
        """The plan of a validated :class:`experiments.spec.Spec` (the partnership model as target)."""
        from experiments.spec import DUMMY
        from model.outputs import SUMMARY_OUTPUTS
        from model.parameters import PARAMETERS

        parameters = {name: {int: "int", float: "float", dict: "json"}[p.kind] for name, p in PARAMETERS.items()}
        if spec.dummy:
            parameters[DUMMY] = "float"
        doc = spec.to_dict()
        return cls(
            name=spec.name,
            spec=doc,
            spec_hash=spec.hash,
            base=spec.parameters,
            varied=spec.design.names,
            values=spec.design.values,
            replicates=spec.replicates,
            root_seed=spec.root_seed,
            parameters=parameters,
            outputs={name: SUMMARY_KINDS.get(name, "float") for name in SUMMARY_OUTPUTS},
            series=spec.series,
            ignored=(DUMMY,) if spec.dummy else (),
            target=model_target,
            problem=spec.design.problem,
            X=spec.design.X,
            design_hash=spec.design.hash,
            source=str(spec.path.resolve()) if spec.path is not None else None,
            draws=(spec.draws,) * spec.design.n_points if spec.draws is not None else None,
        )


# ---------------------------------------------------------------------------- batches
@dataclass(frozen=True)
class Batch:
    """One task: runs, the target, and the columns the results must have."""

    runs: tuple[Run, ...]
    target: Callable[..., Any]
    parameters: dict[str, str]
    outputs: dict[str, str]
    series: tuple[str, ...] = ()


@dataclass
class RunResult:
    """One row of the run table, and the run's per-step series (None when not kept or on error)."""

    row: dict[str, Any]
    series: dict[str, np.ndarray] | None = None

    @property
    def ok(self) -> bool:
        return self.row["status"] == STATUS_OK


def make_batches(plan: SweepPlan, run_ids: Sequence[int], size: int, workers: int | None = None) -> Iterator[Batch]:
    """Consecutive groups of runs from ``run_ids``, made lazily.

    Every batch has ``size`` runs; with ``workers`` given, batches shrink towards
    the end of the sweep (to about a quarter of the remaining runs per worker, at
    least MIN_TAIL_BATCH) so that the workers finish together.
    """
    seeds = plan.seeds
    start, n = 0, len(run_ids)
    while start < n:
        step = size
        if workers:
            step = max(1, min(size, max(MIN_TAIL_BATCH, -(-(n - start) // (4 * workers)))))
        runs = tuple(plan._run(int(r), seeds) for r in run_ids[start : start + step])
        yield Batch(runs, plan.target, plan.parameters, plan.outputs, plan.series)
        start += step


def default_batch_size(n_runs: int, workers: int) -> int:
    """Up to DEFAULT_BATCH_SIZE runs per task, fewer for small sweeps (at least 4 tasks per worker)."""
    return max(1, min(DEFAULT_BATCH_SIZE, -(-n_runs // max(1, 4 * workers))))


def execute_batch(batch: Batch) -> list[RunResult]:
    """Run every run of a batch; a run that raises becomes a row with status 'error'."""
    return [_execute_run(run, batch) for run in batch.runs]


def _execute_run(run: Run, batch: Batch) -> RunResult:
    try:
        summary, series = batch.target(dict(run.params), run.seed, batch.series)
        outputs = {name: _coerce(summary[name], kind) for name, kind in batch.outputs.items()}
        kept = None
        if batch.series:
            kept = {name: np.asarray(series[name]) for name in ("step", *batch.series)}
        status, error = STATUS_OK, None
    except Exception as exc:  # noqa: BLE001 - any failure of a run is recorded, not raised
        outputs = dict.fromkeys(batch.outputs)
        kept, status, error = None, STATUS_ERROR, f"{type(exc).__name__}: {exc}"
    return RunResult(_row(run, batch, outputs, status, error), kept)


def _row(run: Run, batch: Batch, outputs: dict[str, Any], status: str, error: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run.run_id, "point_id": run.point_id, "replicate": run.replicate, "seed": run.seed}
    for name, kind in batch.parameters.items():
        value = run.params[name] if name in run.params else run.inputs.get(name)
        row[name] = _coerce(value, kind)
    row.update(outputs)
    row["status"] = status
    row["error"] = error
    return row


def failed_batch(batch: Batch, error: str) -> list[RunResult]:
    """Rows with status 'error' for every run of a batch whose task failed."""
    outputs = dict.fromkeys(batch.outputs)
    return [RunResult(_row(run, batch, outputs, STATUS_ERROR, error)) for run in batch.runs]


def _coerce(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    if kind == "float":
        value = float(value)
        return None if math.isnan(value) else value  # undefined: a null in the table, as in the JSON summaries
    if kind == "bool":
        return bool(value)
    return str(value)


# ---------------------------------------------------------------------------- engines
class Engine:
    """The common interface: ``map(fn, items)`` yields ``(item, result, error)`` as tasks complete.

    ``error`` is None when the task returned; otherwise it is the message of a
    task failure the sweep records per run (a dead worker). Use as a context
    manager, or call ``close()``.
    """

    name = "engine"
    workers = 1

    def prepare(self, modules: Sequence[str] = ()) -> None:
        """Import ``modules`` where the tasks will run (fails early if they cannot be imported).

        A module that defines ``warm_up()`` has it run there once (``model.kernels``
        compiles its kernels or loads them from numba's cache), so the first batch does
        not pay for it.
        """

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any, str | None]]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "workers": self.workers}

    @property
    def dashboard(self) -> str | None:
        """The address of the engine's live dashboard (Dask's), or None."""
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialEngine(Engine):
    """Every task in this process, one after another, in order."""

    name = "serial"
    workers = 1

    def prepare(self, modules: Sequence[str] = ()) -> None:
        _import_modules(list(modules))

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any, str | None]]:
        for item in items:
            yield item, fn(item), None


class DaskEngine(Engine):
    """Tasks on a Dask cluster: a LocalCluster of ``workers`` processes, or the one at ``scheduler``.

    ``scheduler`` is an address (``tcp://HOST:PORT``) or a ``distributed.Client`` the caller
    made and keeps (it is used as it is and left open by :meth:`close`). At most ``window``
    tasks (default 4 per worker thread, at least 8) are in flight at once.
    """

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        *,
        retries: int = 2,
        window: int | None = None,
        connect_timeout: float = 20.0,
        notice: Callable[[str], None] | None = None,
    ):
        if (workers is None) == (scheduler is None):
            raise ValueError("give either workers (a local cluster) or scheduler (an existing cluster)")
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a normal dependency
            raise EngineError(f"Dask is not installed ({exc}): pip install 'dask[distributed]'") from None
        self.retries = retries
        self.scheduler = scheduler
        self._cluster = None
        self._own_client = True
        self._notice = notice or _stderr_notice
        self._quiet_logs = contextlib.ExitStack()
        if isinstance(scheduler, Client):  # the caller's client, on the caller's cluster
            self.name, self.client, self._own_client = "dask", scheduler, False
            self.scheduler = scheduler.scheduler.address
            self._window = window
            return
        if scheduler is None:
            self.name = "dask-local"
            import dask

            try:
                with dask.config.set(LOCAL_CLUSTER_CONFIG):
                    self._cluster = LocalCluster(
                        n_workers=int(workers),
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address="127.0.0.1:0",  # Dask's dashboard, on a free loopback port
                        silence_logs=logging.ERROR,
                    )
            except Exception as exc:  # noqa: BLE001
                raise EngineStartError(
                    f"cannot start a local Dask cluster of {workers} processes ({type(exc).__name__}: {exc});"
                    " a script that starts one needs an 'if __name__ == \"__main__\":' guard"
                ) from None
            try:
                self.client = Client(self._cluster)
            except BaseException:
                self._cluster.close()
                raise
        else:
            self.name = "dask"
            try:
                scheduler = self.scheduler = check_scheduler_address(scheduler)
            except SchedulerAddressError as exc:
                raise EngineStartError(f"--scheduler {scheduler!r} is not a scheduler address: {exc}") from None
            _probe(scheduler, connect_timeout)
            # The client logs its connection troubles itself, tracebacks included; what went wrong is
            # reported once, by the command, from the exception. Dask's log handlers are quiet while we run.
            from distributed.utils import silence_logging_cmgr

            self._quiet_logs.enter_context(silence_logging_cmgr(logging.CRITICAL + 1))
            try:
                self.client = Client(scheduler, timeout=f"{connect_timeout}s")
            except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, and a tls:// without certificates
                self._quiet_logs.close()
                raise EngineStartError(
                    f"cannot connect to the Dask scheduler at {scheduler}: {type(exc).__name__}: {exc}"
                ) from None
            try:
                with _NoWorkerWatch(self.client, scheduler, self._notice, NO_WORKER_NOTICE_SECONDS):
                    self.client.wait_for_workers(1)  # as long as it takes: workers may still be starting
            except BaseException:
                self.close()
                raise
        self._window = window

    @property
    def workers(self) -> int:  # type: ignore[override]
        info = (
            self.client.scheduler_info(n_workers=-1) if _takes_n_workers(self.client) else self.client.scheduler_info()
        )
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def describe(self) -> dict[str, Any]:
        info = {"engine": self.name, "workers": self.workers, "scheduler": self.client.scheduler.address}
        if self.dashboard:
            info["dashboard"] = self.dashboard
        return info

    @property
    def dashboard(self) -> str | None:
        """Dask's dashboard (task stream, worker load) of this cluster, or None when it has none."""
        if hasattr(self, "_dashboard"):
            return self._dashboard
        self._dashboard = None
        try:
            if "dashboard" not in self.client.scheduler_info().get("services", {}):
                return None
            link = self.client.dashboard_link
        except Exception:  # noqa: BLE001 - a scheduler that cannot say: no dashboard to show
            return None
        if not link:
            return None
        if self._cluster is None and self.scheduler and "://" in str(self.scheduler):
            # the scheduler reports its own host name; the address the user gave is the one that reaches it
            from urllib.parse import urlsplit

            given, shown = urlsplit(str(self.scheduler)).hostname, urlsplit(link)
            if given and shown.hostname in ("0.0.0.0", "::", None):
                link = link.replace(f"//{shown.netloc}", f"//{given}:{shown.port}", 1)
        if self._cluster is not None:  # our own cluster, started with a dashboard: no need to render its page
            self._dashboard = link
            return link
        # a scheduler started with --no-dashboard still names the port of its HTTP server, which then
        # serves no dashboard page: show the address only when the page answers
        import urllib.request

        try:
            with urllib.request.urlopen(link, timeout=2) as response:
                ok = response.status == 200
        except Exception:  # noqa: BLE001 - 404, refused, timeout: no dashboard to show
            ok = False
        self._dashboard = link if ok else None
        return self._dashboard

    def prepare(self, modules: Sequence[str] = ()) -> None:
        if not modules:
            return
        try:
            self.client.run(_import_modules, list(modules))
        except Exception as exc:  # noqa: BLE001
            raise EngineStartError(
                f"the Dask workers cannot import {', '.join(modules)} ({type(exc).__name__}: {exc});"
                " install phc-synergy where the workers run, or start them with the project on PYTHONPATH"
            ) from None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any, str | None]]:
        from asyncio import CancelledError

        from distributed import as_completed
        from distributed.client import FutureCancelledError

        try:
            from distributed.scheduler import KilledWorker
        except ImportError:  # pragma: no cover
            KilledWorker = ()  # type: ignore[assignment]

        window = self._window or max(8, 4 * self.workers)
        it = iter(items)
        pending: dict[str, Any] = {}
        queue = as_completed()

        def submit_next() -> bool:
            for item in it:
                future = self.client.submit(fn, item, pure=False, retries=self.retries)
                pending[future.key] = item
                queue.add(future)
                return True
            return False

        for _ in range(window):
            if not submit_next():
                break
        # only an existing cluster can be left without workers: a local one has its own processes
        watch = (
            _NoWorkerWatch(self.client, self.scheduler, self._notice, NO_WORKER_NOTICE_SECONDS)
            if self._cluster is None
            else contextlib.nullcontext()
        )
        try:
            with watch:
                for future in queue:
                    item = pending.pop(future.key)
                    try:
                        result, error = future.result(), None
                    except KilledWorker as exc:
                        result, error = None, f"KilledWorker: the Dask worker running this batch died ({exc})"
                    except (FutureCancelledError, CancelledError, OSError, TimeoutError) as exc:
                        raise ClusterLostError(self._lost(exc)) from None
                    except Exception as exc:  # noqa: BLE001
                        if self._cluster is None and self.client.status not in ("running", "connecting"):
                            raise ClusterLostError(self._lost(exc)) from None
                        raise EngineError(
                            f"a task failed on the Dask cluster: {type(exc).__name__}: {exc}"
                        ) from None
                    finally:
                        future.release()
                    yield item, result, error
                    submit_next()
        finally:
            for future in list(queue.futures):
                with contextlib.suppress(Exception):  # a client without a scheduler cannot cancel: nothing to do
                    future.cancel()

    def _lost(self, exc: BaseException) -> str:
        where = f"the Dask scheduler at {self.scheduler}" if self._cluster is None else "the local Dask cluster"
        return f"lost the connection to {where} ({type(exc).__name__})"

    def close(self) -> None:
        try:
            if self._own_client:  # a caller's client stays theirs
                with contextlib.suppress(Exception):  # a client whose scheduler is gone may fail to say goodbye
                    self.client.close()
        finally:
            try:
                if self._cluster is not None:
                    self._cluster.close()
            finally:
                self._quiet_logs.close()


def _probe(address: str, timeout: float) -> None:
    """Fail at once when nothing listens at the address (Dask itself retries until its timeout).

    tcp, tls, ws and wss all run over TCP, so one TCP connection tells whether anything
    listens there; inproc:// addresses live in this process and are left to Dask.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme == "inproc" or not parts.hostname or parts.port is None:
        return
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
    except ConnectionRefusedError:
        raise EngineStartError(
            f"cannot connect to the Dask scheduler at {address}: connection refused (is a scheduler running there?"
            f" start one with 'dask scheduler --port {parts.port}')"
        ) from None
    except socket.gaierror as exc:
        raise EngineStartError(
            f"cannot connect to the Dask scheduler at {address}: unknown host {parts.hostname!r} ({exc.strerror})"
        ) from None
    except TimeoutError:
        raise EngineStartError(
            f"cannot connect to the Dask scheduler at {address}: no answer within {timeout:.0f} s"
        ) from None
    except OSError as exc:
        raise EngineStartError(f"cannot connect to the Dask scheduler at {address}: {exc.strerror or exc}") from None


def _takes_n_workers(client: Any) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def _import_modules(modules: list[str]) -> list[str]:
    """Import these modules; run ``warm_up()`` of those that define one (compiled kernels: model.kernels)."""
    for name in modules:
        module = importlib.import_module(name)
        warm_up = getattr(module, "warm_up", None)
        if callable(warm_up):
            warm_up()
    return modules


def dashboard_line(engine: dict[str, Any] | None) -> str:
    """A second line for a command's header: where Dask's dashboard shows the workers (empty without one)."""
    link = (engine or {}).get("dashboard")
    return f"\nDask dashboard (task stream, worker load): {link}" if link else ""


def make_engine(workers: int = 1, scheduler: Any = None) -> Engine:
    """Serial for ``workers=1``, a local Dask cluster for ``workers>1``, an existing cluster for ``scheduler``.

    ``scheduler`` is an address or a ``distributed.Client`` (used as it is and left open).
    """
    if scheduler is not None:
        return DaskEngine(scheduler=scheduler)
    if workers <= 1:
        return SerialEngine()
    return DaskEngine(workers=workers)


def target_modules(target: Callable[..., Any]) -> list[str]:
    """Modules a worker must import to run ``target`` (its own, and the model for the model target)."""
    modules = [__name__]
    module = getattr(target, "__module__", None)
    if module and module != "__main__" and module not in modules:
        modules.append(module)
    if target is model_target:
        modules += ["model.model", "model.kernels"]
    return modules


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1

"""Benchmark 4: sweep throughput (runs per second) with 1 worker (serial) and with 2 (a local Dask cluster).

Target: 2 workers at least 1.7 x the runs per second of 1 worker.

The spec is fixed: the default scenario (default steps and cohort), an LHS design of
250 points over five enabling processes, 4 replicates = 1,000 runs. Throughput counts
the runs from the engine being ready to the last result stored (Parquet chunks and
manifest included); starting the Dask cluster is reported separately.

The machines this runs on are virtual and their speed drifts by tens of percent
over a minute, so the two engines are measured in alternating rounds (serial then
2 workers, 2 workers then serial, ...; each round is the whole 1,000-run sweep, and the
cluster is started for each 2-worker round and closed after it, so that its
scheduler, which lives in this process, is not running during serial rounds); the
figures are medians over rounds and the ratio is the median of the per-round
ratios. The run tables of the two engines are checked to be identical.

Run from the repository root:  python -m benchmarks.bench_sweep [--rounds 8] [--points 250] [--replicates 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import machine_info, print_machine, verdict, write_results

NAME = "sweep"
TARGET_RATIO = 1.7


def spec_doc(points: int, replicates: int) -> dict:
    return {
        "name": "bench_sweep",
        "scenario": "default",
        "root_seed": 2024,
        "replicates": replicates,
        "vary": {
            "communication": {},
            "leadership": {},
            "coordination": {},
            "trust_gain": {"low": 0.05, "high": 0.4},
            "external_support": {},
        },
        "design": {"method": "lhs", "n": points},
    }


def _spin(n: int) -> float:
    """A pure-CPU loop (no memory traffic, no numpy); returns its seconds."""
    start = time.perf_counter()
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1_000_003
    return time.perf_counter() - start


def machine_scaling(pool, n: int = 3_000_000) -> float:
    """The machine's own 2-process speed-up on a pure-CPU loop: the most two workers could give."""
    start = time.perf_counter()
    pool.submit(_spin, n).result()
    one = time.perf_counter() - start
    start = time.perf_counter()
    list(pool.map(_spin, [n, n]))
    return 2 * one / (time.perf_counter() - start)


def measure(spec, engine, folder: Path) -> dict:
    from experiments.sweep import run_sweep

    result = run_sweep(spec, folder, engine=engine)
    return {"runs": result.ran, "errors": result.errors, "run_s": result.run_seconds, "runs_per_s": result.runs_per_second}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8, help="alternating rounds of each engine (default 8)")
    ap.add_argument("--points", type=int, default=250, help="LHS design points (default 250)")
    ap.add_argument("--replicates", type=int, default=4, help="replicates per point (default 4)")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when the target is missed")
    args = ap.parse_args(argv)

    import pandas as pd

    from experiments.engine import DaskEngine, SerialEngine, model_target, target_modules
    from experiments.spec import spec_from_dict
    from experiments.store import load_sweep

    spec = spec_from_dict(spec_doc(args.points, args.replicates))
    info = machine_info()
    print("=== Benchmark: sweep throughput, 1 worker (serial) vs 2 workers (local Dask cluster) ===")
    print_machine(info)
    print(
        f"spec: default scenario (steps={spec.parameters['steps']}, population_size="
        f"{spec.parameters['population_size']}), lhs over {len(spec.varied)} parameters, "
        f"{spec.n_points} points x {spec.replicates} replicates = {spec.n_runs} runs; "
        f"{args.rounds} alternating rounds"
    )
    modules = target_modules(model_target)
    serial_rounds: list[dict] = []
    dask_rounds: list[dict] = []
    scaling: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp, ProcessPoolExecutor(2) as pool:
        serial = SerialEngine()
        serial.prepare(modules)
        starts: list[float] = []
        for i in range(args.rounds):
            # serial first in even rounds, 2 workers first in odd ones (a drift in machine speed cancels out);
            # no cluster is alive during a serial round (its scheduler would share this process)
            order = ("serial", "dask") if i % 2 == 0 else ("dask", "serial")
            for which in order:
                if which == "serial":
                    serial_rounds.append(measure(spec, serial, Path(tmp) / f"serial{i}"))
                    continue
                t0 = time.perf_counter()
                with DaskEngine(workers=2) as dask2:
                    dask2.prepare(modules)
                    starts.append(time.perf_counter() - t0)
                    dask_rounds.append(measure(spec, dask2, Path(tmp) / f"dask{i}"))
            scaling.append(machine_scaling(pool))
            print(
                f"round {i + 1}: 1 worker {serial_rounds[-1]['runs_per_s']:6.1f} runs/s, "
                f"2 workers {dask_rounds[-1]['runs_per_s']:6.1f} runs/s "
                f"({dask_rounds[-1]['runs_per_s'] / serial_rounds[-1]['runs_per_s']:.2f}x); "
                f"machine's own 2-process scaling {scaling[-1]:.2f}x",
                flush=True,
            )
        a, b = load_sweep(Path(tmp) / "serial0"), load_sweep(Path(tmp) / "dask0")
        identical = a.equals(b)
        if not identical:  # show how they differ
            pd.testing.assert_frame_equal(a, b)
    ratios = [d["runs_per_s"] / s["runs_per_s"] for s, d in zip(serial_rounds, dask_rounds, strict=True)]
    ratio = statistics.median(ratios)
    one = statistics.median(r["runs_per_s"] for r in serial_rounds)
    two = statistics.median(r["runs_per_s"] for r in dask_rounds)
    start_s = statistics.median(starts)
    ok = ratio >= TARGET_RATIO and identical

    print()
    print(f"median runs/s: 1 worker {one:.1f}, 2 workers {two:.1f}; local cluster start {start_s:.2f} s (median)")
    print(f"identical run tables: {identical}")
    print(
        f"the machine's own 2-process scaling (a pure-CPU loop, once per round): median "
        f"{statistics.median(scaling):.2f}x (range {min(scaling):.2f}-{max(scaling):.2f}); "
        f"the sweep reaches {ratio / statistics.median(scaling):.0%} of it"
    )
    print(
        f"target: 2 workers >= {TARGET_RATIO} x 1 worker -> measured {ratio:.2f}x "
        f"(median of {', '.join(f'{r:.2f}' for r in ratios)}): {verdict(ok)}"
    )

    path = write_results(
        NAME,
        {
            "spec": spec.to_dict(),
            "runs": spec.n_runs,
            "rounds": args.rounds,
            "one_worker": {"runs_per_s": one, "rounds": serial_rounds},
            "two_workers": {"runs_per_s": two, "rounds": dask_rounds, "cluster_start_s": start_s},
            "ratios": ratios,
            "machine_scaling": {"per_round": scaling, "median": statistics.median(scaling)},
            "ratio": ratio,
            "identical_tables": identical,
            "target": {"metric": "median over rounds of runs/s with 2 workers / runs/s with 1 worker", "bound": TARGET_RATIO},
            "passed": ok,
        },
    )
    print(f"results: {path}")
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())

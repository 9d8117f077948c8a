"""Benchmark 1: one run of the default scenario (build + run), over many seeds.

Target: median build + run time <= 20 ms for the default scenario
(default parameters: 20 seats, 2,000-person cohort, 60 months).

This machine's speed drifts (a fixed workload takes from 1x to 2x its best time from
one minute to the next), so after every run the benchmark also times a fixed
reference workload (small numpy operations, like the model's) and reports how slow
the machine was during the measurement, and the run times scaled to the machine's
best speed. The verdict is on the raw median.

Run from the repository root:  python -m benchmarks.bench_default_run [--runs 200] [--warmup 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import describe_ms, machine_info, print_machine, verdict, write_results

NAME = "default_run"
TARGET_MEDIAN_MS = 10.0
FIRST_SEED = 1  # measured runs use seeds FIRST_SEED .. FIRST_SEED + runs - 1
WARMUP_SEED = 1_000_000  # warm-up runs use seeds from here (not reused by measured runs)


def time_one(seed: int) -> tuple[int, int, int]:
    """(construction ns, run ns, months stepped) for one default model."""
    from model import PartnershipModel

    t0 = time.perf_counter_ns()
    m = PartnershipModel(seed=seed)
    t1 = time.perf_counter_ns()
    m.run()
    t2 = time.perf_counter_ns()
    return t1 - t0, t2 - t1, m.steps


def time_reference() -> int:
    """ns for a fixed workload of 20,000 small numpy operations (the machine's speed right now)."""
    import numpy as np

    a = np.linspace(0.0, 1.0, 20)
    t0 = time.perf_counter_ns()
    for _ in range(20_000):
        a * 1.0001
    return time.perf_counter_ns() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200, help="measured runs (default 200)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up runs, not measured (default 5)")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when the target is missed")
    args = ap.parse_args(argv)

    from model import DEFAULTS

    info = machine_info()
    print("=== Benchmark: default scenario, one run (build + run) ===")
    print_machine(info)
    print(
        f"scenario: defaults (seats={DEFAULTS['seats']}, population_size={DEFAULTS['population_size']}, "
        f"steps={DEFAULTS['steps']} months); {args.warmup} warm-up + {args.runs} measured runs, "
        f"one seed each; GC enabled as in normal use"
    )

    for i in range(args.warmup):
        time_one(WARMUP_SEED + i)

    build_ns: list[int] = []
    run_ns: list[int] = []
    total_ns: list[int] = []
    reference_ns: list[int] = []
    months: set[int] = set()
    for i in range(args.runs):
        b, r, n_steps = time_one(FIRST_SEED + i)
        build_ns.append(b)
        run_ns.append(r)
        total_ns.append(b + r)
        months.add(n_steps)
        reference_ns.append(time_reference())
    best_reference = min(reference_ns)
    slowdown = [ref / best_reference for ref in reference_ns]
    scaled = describe_ms([t / f for t, f in zip(total_ns, slowdown, strict=True)])

    total = describe_ms(total_ns)
    build = describe_ms(build_ns)
    run = describe_ms(run_ns)
    steps = DEFAULTS["steps"]
    per_month_us = run["median_ms"] * 1e3 / steps
    ok = total["median_ms"] <= TARGET_MEDIAN_MS

    print()
    print(f"{'':22s}{'median':>10s}{'p10':>10s}{'p90':>10s}{'min':>10s}{'max':>10s}   (ms)")
    for label, d in (("total (build + run)", total), ("  construction", build), ("  stepping (run())", run)):
        print(
            f"{label:22s}{d['median_ms']:10.2f}{d['p10_ms']:10.2f}{d['p90_ms']:10.2f}"
            f"{d['min_ms']:10.2f}{d['max_ms']:10.2f}"
        )
    share = build["median_ms"] / (build["median_ms"] + run["median_ms"])
    print(
        f"split of medians: construction {share:.0%}, stepping {1 - share:.0%}; "
        f"stepping is {per_month_us:.0f} us per month (run() includes the final summary)"
    )
    print(f"months stepped per run: {sorted(months)}")
    slow = sorted(slowdown)
    print(
        f"machine speed during the measurement: the reference workload took {slow[len(slow) // 2]:.2f}x its best "
        f"time (median; p90 {slow[int(0.9 * (len(slow) - 1))]:.2f}x); run times scaled to the best: "
        f"median {scaled['median_ms']:.2f} ms, p90 {scaled['p90_ms']:.2f} ms"
    )
    print()
    print(f"target: median total <= {TARGET_MEDIAN_MS:.0f} ms -> measured {total['median_ms']:.2f} ms: {verdict(ok)}")

    path = write_results(
        NAME,
        {
            "machine": info,
            "scenario": {
                "parameters": "defaults",
                "seats": DEFAULTS["seats"],
                "population_size": DEFAULTS["population_size"],
                "steps": steps,
            },
            "warmup_runs": args.warmup,
            "measured_runs": args.runs,
            "seeds": [FIRST_SEED, FIRST_SEED + args.runs - 1],
            "total": total,
            "construction": build,
            "stepping": run,
            "stepping_median_us_per_month": per_month_us,
            "samples_ms": {
                "construction": [v / 1e6 for v in build_ns],
                "stepping": [v / 1e6 for v in run_ns],
            },
            "reference_workload_ms": [v / 1e6 for v in reference_ns],
            "machine_slowdown_median": slow[len(slow) // 2],
            "total_scaled_to_best_machine_speed": scaled,
            "target": {"metric": "median total (build + run) ms", "bound": TARGET_MEDIAN_MS},
            "passed": ok,
        },
    )
    print(f"results: {path}")
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())

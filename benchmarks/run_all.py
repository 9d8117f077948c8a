"""Run every benchmark, each in a fresh Python process, then print a summary of the targets.

Run from the repository root:  python -m benchmarks.run_all [--quick] [--strict] [--only NAME ...]

Each benchmark runs in its own process so that one cannot skew another (the memory
benchmark in particular needs a clean process, and Mesa's Boltzmann example leaks).
Results are written to benchmarks/results/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import REPO_ROOT, RESULTS_DIR

# name -> (module, result file stem, arguments for --quick)
BENCHMARKS: dict[str, tuple[str, str, list[str]]] = {
    "default_run": ("benchmarks.bench_default_run", "default_run", ["--runs", "20", "--warmup", "2"]),
    "vs_boltzmann": ("benchmarks.bench_vs_boltzmann", "vs_boltzmann", ["--reps", "3"]),
    "memory": ("benchmarks.bench_memory", "memory", ["--models", "300", "--contrast-models", "200"]),
    "sweep": ("benchmarks.bench_sweep", "sweep", ["--points", "50", "--rounds", "2"]),
}


def _headline(stem: str) -> str:
    path = RESULTS_DIR / f"{stem}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no results file"
    if stem == "default_run":
        t = data["total"]
        return (
            f"median {t['median_ms']:.2f} ms (p10 {t['p10_ms']:.2f}, p90 {t['p90_ms']:.2f}); "
            f"target <= {data['target']['bound']:.0f} ms"
        )
    if stem == "vs_boltzmann":
        return (
            f"{data['ours']['ns_per_agent_step']['total']:,.0f} vs "
            f"{data['boltzmann']['ns_per_agent_step']['total']:,.0f} ns/agent-step, "
            f"{data['speedup_build_and_run']:.1f}x; target >= {data['target']['bound']:.0f}x"
        )
    if stem == "memory":
        o = data["ours"]
        a, b = o["growth_window"]
        text = (
            f"RSS {o['rss_growth_mb']:+.2f} MB from model {a} to {b}, max live models {o['max_live_models']}; "
            f"target < {data['target']['rss_growth_mb_below']:.0f} MB, <= {data['target']['live_models_at_most']} live"
        )
        c = data.get("contrast_boltzmann")
        if c:
            text += f" (Mesa Boltzmann: {c['final_live_models']} live, RSS {c['rss_growth_mb']:+.0f} MB)"
        return text
    if stem == "sweep":
        return (
            f"{data['one_worker']['runs_per_s']:.1f} runs/s with 1 worker, {data['two_workers']['runs_per_s']:.1f}"
            f" with 2: {data['ratio']:.2f}x; target >= {data['target']['bound']}x"
        )
    return ""


def _passed(stem: str) -> bool | None:
    try:
        return bool(json.loads((RESULTS_DIR / f"{stem}.json").read_text(encoding="utf-8"))["passed"])
    except (OSError, ValueError, KeyError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    ap.add_argument("--quick", action="store_true", help="fewer runs/models: a rough reading in about 30 s")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when any target is missed")
    args = ap.parse_args(argv)

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    names = args.only or list(BENCHMARKS)
    outcome: dict[str, tuple[int, float]] = {}
    for name in names:
        module, _stem, quick_args = BENCHMARKS[name]
        cmd = [sys.executable, "-m", module, *(quick_args if args.quick else [])]
        print(f"\n$ {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, cwd=REPO_ROOT, env=env)
        outcome[name] = (rc, time.perf_counter() - t0)

    print("\n=== Summary ===")
    all_ok = True
    for name in names:
        rc, secs = outcome[name]
        stem = BENCHMARKS[name][1]
        passed = _passed(stem) if rc == 0 else None
        status = "ERROR" if rc != 0 else ("PASS" if passed else "FAIL")
        all_ok &= status == "PASS"
        print(f"{name:13s} {status:5s} [{secs:5.1f} s]  {_headline(stem) if rc == 0 else f'exit status {rc}'}")
    print(f"results in {RESULTS_DIR}")
    if not all(rc == 0 for rc, _ in outcome.values()):
        return 2
    return 1 if (args.strict and not all_ok) else 0


if __name__ == "__main__":
    sys.exit(main())

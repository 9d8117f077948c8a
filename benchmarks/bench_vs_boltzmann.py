"""Benchmark 2: time per agent-step, our model against Mesa's own Boltzmann wealth example.

Both run side by side in one process, alternating, several repetitions each:

* Mesa 3.3.1's ``BoltzmannWealth(n=1000, seed=...)`` (the example's default 10 x 10
  grid), built and stepped 100 times: 1,000 x 100 = 100,000 agent-steps.
* ``PartnershipModel(seed=..., seats=1000, steps=100)`` (other parameters default),
  built and run: seats x steps = 1,000 x 100 = 100,000 agent-steps. Our "agents" are
  seats; a seat may be empty for a while after turnover, so this counts seat-months.

Both times include construction and the example's / model's own per-step data
collection. Every timed run starts after ``gc.collect()`` (outside the timing), so a
model is not billed for the other's leftover garbage. Target: ours at least 15x faster
per agent-step (median of build + run).

Run from the repository root:  python -m benchmarks.bench_vs_boltzmann [--reps 7]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import describe_ms, machine_info, print_machine, verdict, write_results

NAME = "vs_boltzmann"
AGENTS = 1000
STEPS = 100
TARGET_SPEEDUP = 15.0


def release_mesa_leaks() -> None:
    """Free finished Boltzmann models that Mesa 3.3.1 keeps alive (STACK.md, "Memory leak").

    Called after each Boltzmann timing, outside the timed region, so the leaked agents
    and cells do not make later garbage collections (in either model) slower.
    """
    import mesa
    from mesa.discrete_space import Cell

    mesa.Agent._ids.clear()
    Cell.get_neighborhood.cache_clear()
    Cell._neighborhood.cache_clear()


def time_boltzmann(seed: int) -> tuple[int, int]:
    """(construction ns, stepping ns) for Mesa's Boltzmann wealth example."""
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

    t0 = time.perf_counter_ns()
    m = BoltzmannWealth(n=AGENTS, seed=seed)
    t1 = time.perf_counter_ns()
    for _ in range(STEPS):
        m.step()
    t2 = time.perf_counter_ns()
    assert m.steps == STEPS
    del m
    release_mesa_leaks()
    return t1 - t0, t2 - t1


def time_ours(seed: int) -> tuple[int, int]:
    """(construction ns, run ns) for our model with seats=AGENTS, steps=STEPS."""
    from model import PartnershipModel

    t0 = time.perf_counter_ns()
    m = PartnershipModel(seed=seed, seats=AGENTS, steps=STEPS)
    t1 = time.perf_counter_ns()
    m.run()
    t2 = time.perf_counter_ns()
    assert m.steps == STEPS
    return t1 - t0, t2 - t1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7, help="measured repetitions of each model (default 7)")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when the target is missed")
    args = ap.parse_args(argv)

    import mesa

    info = machine_info()
    agent_steps = AGENTS * STEPS
    print("=== Benchmark: time per agent-step, ours vs Mesa's Boltzmann wealth example ===")
    print_machine(info)
    print(
        f"Boltzmann: BoltzmannWealth(n={AGENTS}) on the example's default 10x10 grid, {STEPS} steps "
        f"-> {agent_steps:,} agent-steps"
    )
    print(
        f"ours:      PartnershipModel(seats={AGENTS}, steps={STEPS}), other parameters default "
        f"-> {agent_steps:,} agent-steps (= seats x steps; a seat counts whether or not it is filled)"
    )
    print(f"1 warm-up + {args.reps} measured repetitions each, alternating; times include construction")

    time_boltzmann(10_000)  # warm-up (imports, caches)
    time_ours(10_000)

    times: dict[str, dict[str, list[int]]] = {k: {"build": [], "step": [], "total": []} for k in ("boltzmann", "ours")}
    for rep in range(args.reps):
        seed = rep + 1
        # Alternate which goes first so slow drift on the machine hits both equally.
        order = (("boltzmann", time_boltzmann), ("ours", time_ours))
        for key, fn in order if rep % 2 == 0 else order[::-1]:
            # Each timing starts from a collected heap, so neither model pays for the other's
            # garbage (a finished Boltzmann model is a web of cycles; collected, or left to
            # slow the next allocations, it is billed to whoever runs next). As in timeit and
            # pyperf; collections a model's own allocations trigger stay in its time.
            gc.collect()
            b, s = fn(seed)
            times[key]["build"].append(b)
            times[key]["step"].append(s)
            times[key]["total"].append(b + s)

    stats = {k: {part: describe_ms(v) for part, v in parts.items()} for k, parts in times.items()}
    per_agent_step_ns = {
        k: {part: statistics.median(v) / agent_steps for part, v in parts.items()} for k, parts in times.items()
    }
    ratio_total = per_agent_step_ns["boltzmann"]["total"] / per_agent_step_ns["ours"]["total"]
    ratio_step = per_agent_step_ns["boltzmann"]["step"] / per_agent_step_ns["ours"]["step"]
    ok = ratio_total >= TARGET_SPEEDUP

    print()
    print(f"{'':12s}{'build+run ms':>14s}{'  (p10-p90)':>18s}{'ns/agent-step':>16s}{'stepping only':>16s}")
    for key, label in (("boltzmann", "Boltzmann"), ("ours", "ours")):
        t = stats[key]["total"]
        print(
            f"{label:12s}{t['median_ms']:14.1f}   ({t['p10_ms']:6.1f}-{t['p90_ms']:6.1f})"
            f"{per_agent_step_ns[key]['total']:16,.0f}{per_agent_step_ns[key]['step']:16,.0f}"
        )
    print(f"speed-up (Boltzmann / ours per agent-step): {ratio_total:.1f}x build+run, {ratio_step:.1f}x stepping only")
    print(f"note: our agent-steps are seats x steps ({AGENTS} x {STEPS}); medians over {args.reps} repetitions")
    print()
    print(
        f"target: ours >= {TARGET_SPEEDUP:.0f}x faster per agent-step (build + run) -> "
        f"measured {ratio_total:.1f}x: {verdict(ok)}"
    )

    path = write_results(
        NAME,
        {
            "machine": info,
            "setup": {
                "agents": AGENTS,
                "steps": STEPS,
                "agent_steps": agent_steps,
                "boltzmann": f"mesa {mesa.__version__} BoltzmannWealth(n={AGENTS}, width=10, height=10, seed=rep)",
                "ours": f"PartnershipModel(seed=rep, seats={AGENTS}, steps={STEPS}), other parameters default",
                "agent_step_definition_ours": "seats x steps (empty seats included)",
                "repetitions": args.reps,
                "alternating": True,
                "gc_collect_before_each_timing": True,
            },
            "boltzmann": {"ms": stats["boltzmann"], "ns_per_agent_step": per_agent_step_ns["boltzmann"]},
            "ours": {"ms": stats["ours"], "ns_per_agent_step": per_agent_step_ns["ours"]},
            "speedup_build_and_run": ratio_total,
            "speedup_stepping_only": ratio_step,
            "target": {"metric": "Boltzmann / ours, median ns per agent-step, build + run", "bound": TARGET_SPEEDUP},
            "passed": ok,
        },
    )
    print(f"results: {path}")
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())

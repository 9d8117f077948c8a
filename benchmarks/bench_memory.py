"""Benchmark 3: memory over many models built one after another in one process.

Builds and runs 1,000 default models (60 months each) in a row, dropping each one,
and every 100 models, after ``gc.collect()``, samples the resident set size, the
number of GC-tracked objects and the number of model instances still alive.

Pass: RSS grows by less than 20 MB from model 100 to model 1,000, and no finished
model stays alive (live PartnershipModel instances stay O(1): at most 1 at every sample).

Contrast: the same loop with Mesa 3.3.1's own Boltzmann wealth example
(n=100 agents, 10 steps, 1,000 models). Mesa keeps every model alive through the
class-level ``Agent._ids`` dict (and the class-level caches on ``Cell`` methods), so
the live model count grows with every model; our ``Stakeholder`` overrides ``_ids``
with a weak-keyed counter (model/agents.py), which is what keeps our count at zero.

Run from the repository root:  python -m benchmarks.bench_memory [--models 1000] [--every 100]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import machine_info, print_machine, rss_bytes, verdict, write_results

NAME = "memory"
RSS_GROWTH_BOUND_MB = 20.0
LIVE_MODELS_BOUND = 1
MB = 1024 * 1024


def _count_instances(cls: type) -> int:
    """Instances of ``cls`` among the objects the garbage collector tracks."""
    return sum(1 for o in gc.get_objects() if isinstance(o, cls))


def soak(
    label: str,
    build_and_run: Callable[[int], Any],
    model_cls: type,
    n_models: int,
    every: int,
    extra: Callable[[], dict[str, int]] | None = None,
) -> dict[str, Any]:
    """Build and run ``n_models`` models in a row; sample memory every ``every`` models."""
    built: weakref.WeakSet = weakref.WeakSet()
    samples: list[dict[str, Any]] = []

    def sample(i: int, elapsed: float) -> None:
        gc.collect()
        row = {
            "models_built": i,
            "rss_mb": rss_bytes() / MB,
            "gc_objects": len(gc.get_objects()),
            "live_models_weakref": len(built),
            "live_models_gc_scan": _count_instances(model_cls),
            "elapsed_s": elapsed,
        }
        extras = extra() if extra else {}
        row.update(extras)
        samples.append(row)
        extra_text = "".join(f"  {k} {v:>6}" for k, v in extras.items())
        print(
            f"  {label:10s} after {i:5d} models: RSS {row['rss_mb']:8.1f} MB  "
            f"gc objects {row['gc_objects']:>9,}  live models {row['live_models_weakref']:>5} "
            f"(gc scan {row['live_models_gc_scan']}){extra_text}  [{elapsed:5.1f} s]",
            flush=True,
        )

    t0 = time.perf_counter()
    sample(0, 0.0)
    for i in range(1, n_models + 1):
        m = build_and_run(i)
        built.add(m)
        del m
        if i % every == 0:
            sample(i, time.perf_counter() - t0)
    elapsed = time.perf_counter() - t0

    first = next(s for s in samples if s["models_built"] == every)
    last = samples[-1]
    span = last["models_built"] - first["models_built"]
    return {
        "models": n_models,
        "sample_every": every,
        "seconds": elapsed,
        "ms_per_model": elapsed * 1e3 / n_models,
        "samples": samples,
        "rss_growth_mb": last["rss_mb"] - first["rss_mb"],
        "rss_growth_kb_per_model": (last["rss_mb"] - first["rss_mb"]) * 1024 / span if span else 0.0,
        "gc_objects_growth": last["gc_objects"] - first["gc_objects"],
        "growth_window": [first["models_built"], last["models_built"]],
        "max_live_models": max(s["live_models_weakref"] for s in samples),
        "final_live_models": last["live_models_weakref"],
    }


def run_ours(seed: int):
    from model import PartnershipModel

    m = PartnershipModel(seed=seed)
    m.run(30)
    m.network()  # look at the partnership half-way, as the workshop page does: makes the Mesa agents
    m.run()
    len(m.agents)  # and at the end, after turnover replaced people
    return m


def run_boltzmann(seed: int):
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

    m = BoltzmannWealth(n=100, seed=seed)
    for _ in range(10):
        m.step()
    return m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=1000, help="default models to build (default 1000)")
    ap.add_argument("--every", type=int, default=100, help="sample every this many models (default 100)")
    ap.add_argument("--contrast-models", type=int, default=1000, help="Boltzmann models (default 1000; 0 = skip)")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when the target is missed")
    args = ap.parse_args(argv)
    if args.models < 2 * args.every:
        ap.error("--models must be at least twice --every (growth is measured from the first sample on)")

    import mesa

    from model import PartnershipModel
    from model.agents import Stakeholder

    info = machine_info()
    print("=== Benchmark: memory over many models in one process ===")
    print_machine(info)
    print(
        f"ours: {args.models} default PartnershipModel runs (60 months each) in a row; each model dropped "
        f"after its run; sampled every {args.every} after gc.collect()"
    )
    ours = soak(
        "ours",
        run_ours,
        PartnershipModel,
        args.models,
        args.every,
        extra=lambda: {"Stakeholder._ids": len(Stakeholder._ids)},
    )
    a, b = ours["growth_window"]
    rss_ok = ours["rss_growth_mb"] < RSS_GROWTH_BOUND_MB
    live_ok = ours["max_live_models"] <= LIVE_MODELS_BOUND
    ok = rss_ok and live_ok
    print(
        f"  ours: RSS growth model {a} -> {b}: {ours['rss_growth_mb']:+.2f} MB "
        f"({ours['rss_growth_kb_per_model']:+.2f} KB/model); gc objects {ours['gc_objects_growth']:+,}; "
        f"max live models {ours['max_live_models']}; {ours['ms_per_model']:.1f} ms/model"
    )

    contrast = None
    if args.contrast_models > 0:
        every = max(1, min(args.every, args.contrast_models // 2))
        print()
        print(
            f"contrast: Mesa {mesa.__version__} BoltzmannWealth(n=100), 10 steps, {args.contrast_models} models "
            f"in a row, each dropped after its run (plain mesa.Agent: class-level Agent._ids)"
        )
        contrast = soak(
            "Boltzmann",
            run_boltzmann,
            mesa.Model,
            args.contrast_models,
            every,
            extra=lambda: {"Agent._ids": len(mesa.Agent._ids)},
        )
        a2, b2 = contrast["growth_window"]
        contrast["leak_shown"] = contrast["final_live_models"] > LIVE_MODELS_BOUND
        print(
            f"  Boltzmann: RSS growth model {a2} -> {b2}: {contrast['rss_growth_mb']:+.2f} MB "
            f"({contrast['rss_growth_kb_per_model']:+.2f} KB/model); gc objects {contrast['gc_objects_growth']:+,}; "
            f"live models at the end {contrast['final_live_models']} of {args.contrast_models} built"
        )
        if contrast["leak_shown"]:
            print(
                "  -> Mesa's own agents keep every finished model alive (Agent._ids holds a strong reference "
                "to each model); without the weak-keyed Stakeholder._ids our models would pile up the same way."
            )
        # Confirm the mechanism: drop Mesa's class-level references and the models go.
        from mesa.discrete_space import Cell

        mesa.Agent._ids.clear()
        Cell.get_neighborhood.cache_clear()
        Cell._neighborhood.cache_clear()
        gc.collect()
        contrast["live_models_after_clearing_mesa_refs"] = _count_instances(mesa.Model)
        contrast["rss_mb_after_clearing_mesa_refs"] = rss_bytes() / MB
        print(
            "  after clearing mesa.Agent._ids and the Cell method caches + gc.collect(): "
            f"{contrast['live_models_after_clearing_mesa_refs']} live models, "
            f"RSS {contrast['rss_mb_after_clearing_mesa_refs']:.1f} MB (Python's allocator keeps freed memory, "
            "so RSS need not fall)"
        )

    print()
    print(
        f"target: RSS growth model {a} -> {b} < {RSS_GROWTH_BOUND_MB:.0f} MB -> "
        f"{ours['rss_growth_mb']:+.2f} MB: {verdict(rss_ok)}"
    )
    print(
        f"target: live PartnershipModel instances <= {LIVE_MODELS_BOUND} at every sample -> "
        f"max {ours['max_live_models']}: {verdict(live_ok)}"
    )
    print(f"overall: {verdict(ok)}")

    path = write_results(
        NAME,
        {
            "machine": info,
            "ours": {"setup": "PartnershipModel(seed=i).run(), defaults (60 months), i = 1..models", **ours},
            "contrast_boltzmann": (
                {"setup": f"mesa {mesa.__version__} BoltzmannWealth(n=100, seed=i), 10 steps", **contrast}
                if contrast
                else None
            ),
            "target": {
                "rss_growth_mb_below": RSS_GROWTH_BOUND_MB,
                "rss_growth_window_models": ours["growth_window"],
                "live_models_at_most": LIVE_MODELS_BOUND,
            },
            "passed_rss": rss_ok,
            "passed_live_models": live_ok,
            "passed": ok,
        },
    )
    print(f"results: {path}")
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())

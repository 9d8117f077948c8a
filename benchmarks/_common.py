"""Shared helpers for the benchmarks: machine info, percentiles, memory probes, JSON results."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def ensure_repo_on_path() -> None:
    """Make ``model`` and ``benchmarks`` importable when a script is run by file path."""
    root = str(REPO_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine_info() -> dict[str, Any]:
    """CPU count, CPU model, Python/numpy/numba/mesa versions, date, and the git state of the model."""
    import mesa
    import numba
    import numpy

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    model_status = _git("status", "--porcelain", "--", "model")
    return {
        "date_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "mesa": mesa.__version__,
        "git_commit": _git("rev-parse", "HEAD"),
        # The model is being optimised in parallel: record whether model/ had local edits.
        "model_dirty": bool(model_status) if model_status is not None else None,
        # Other work on the machine skews timings: record the load when the figures were taken.
        "load_average_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def print_machine(info: dict[str, Any]) -> None:
    print(
        f"machine: {info['cpu_model']} | cpus {info['cpu_count']} (usable {info['cpu_usable']}) | "
        f"python {info['python']} | numpy {info['numpy']} | numba {info.get('numba')} | mesa {info['mesa']}"
    )
    dirty = " (model/ has uncommitted edits)" if info.get("model_dirty") else ""
    load = info.get("load_average_1_5_15")
    load_text = f" | load avg {load[0]:.2f}" if load else ""
    print(f"commit:  {info['git_commit']}{dirty} | {info['date_utc']}{load_text}")


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100] (numpy's default method)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def describe_ms(values_ns: list[int]) -> dict[str, float]:
    """Median, p10, p90, min, max and mean in milliseconds of a list of nanosecond timings."""
    ms = [v / 1e6 for v in values_ns]
    return {
        "median_ms": statistics.median(ms),
        "p10_ms": percentile(ms, 10),
        "p90_ms": percentile(ms, 90),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
        "n": len(ms),
    }


def rss_bytes() -> int:
    """Current resident set size of this process, in bytes."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            resident_pages = int(fh.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        # ru_maxrss is the peak (KiB on Linux, bytes on macOS): the best available fallback.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (with machine info added) to benchmarks/results/<name>.json."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    data = {"benchmark": name, "machine": machine_info(), **payload}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path

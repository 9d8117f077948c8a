"""The main job: the case comparison plus the Morris screening, and one report linking both.

    phc-synergy main --out results [--workers 2]      (what `make run` does)
    python -m experiments.main --out results

Writes ``OUT/cases/`` (experiments/configs/cases.toml through
:mod:`experiments.compare`), ``OUT/morris/`` (structures_morris.toml through
:mod:`experiments.sensitivity`) and ``OUT/report.md``. Both sweeps are resumed
when their folders already hold them (an interrupted or repeated ``make run``
continues; nothing already stored is run again).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from experiments.sensitivity import write_text_atomic

CONFIGS = Path(__file__).resolve().parent / "configs"
CASES = CONFIGS / "cases.toml"
MORRIS = CONFIGS / "structures_morris.toml"


def run_main(out: str | Path = "results", *, workers: int = 2, scheduler: str | None = None, quiet: bool = False,
             cases: Path = CASES, morris: Path = MORRIS) -> Path:
    """Run both parts on one engine and write OUT/report.md; returns its path."""
    from experiments.compare import load_config, run_compare
    from experiments.engine import make_engine
    from experiments.sensitivity import check_spec, run_sensitivity
    from experiments.spec import load_spec
    from experiments.store import StoreError
    from experiments.sweep import Progress

    out = Path(out).expanduser()
    comp = load_config(cases)
    spec = load_spec(morris)
    check_spec(spec)
    if out.exists() and not out.is_dir():
        raise StoreError(f"--out {str(out)!r} exists and is not a folder")
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    with make_engine(workers=workers, scheduler=scheduler) as engine:  # before the folder: a refusal leaves nothing
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"--out {str(out)!r}: cannot create the folder: {exc.strerror or exc}") from None
        where = engine.describe()
        t = time.monotonic()
        if not quiet:
            print(f"case comparison: {len(comp.variants)} variants x {comp.replicates} replicates", file=sys.stderr)
        compared = run_compare(comp, out / "cases", engine=engine, resume=True,
                               progress=None if quiet else Progress(sys.stderr))
        timings["cases"] = time.monotonic() - t
        t = time.monotonic()
        if not quiet:
            print(f"Morris screening: {spec.n_points} points x {spec.replicates} replicates", file=sys.stderr)
        sens = run_sensitivity(spec, out / "morris", engine=engine, resume=True,
                               progress=None if quiet else Progress(sys.stderr))
        timings["morris"] = time.monotonic() - t
    total = time.monotonic() - t0
    cases_md = (out / "cases" / "compare.md").read_text(encoding="utf-8")
    morris_md = (out / "morris" / "report.md").read_text(encoding="utf-8")
    lines = [
        "# phc-synergy: how partnership structure shapes access to primary health care",
        "",
        (f"Two experiments, {total:.0f} s in all on {where.get('engine')} with {where.get('workers')} worker(s)"
        f" ({timings['cases']:.0f} s for the cases, {timings['morris']:.0f} s for the screening)."),
        "",
        (f"1. [Case comparison](cases/compare.md): {len(comp.variants)} variants of the two case-like partnerships"
        f" (PCCP, CHRP), {comp.replicates} paired replicates each. Tables:"
        " [summary](cases/summary.csv), [differences](cases/differences.csv). Figures:"
        " [synergy](cases/fan_synergy.png), [access](cases/fan_access.png)."),
        (f"2. [Morris screening](morris/report.md) of {len(spec.varied)} structural and enabling parameters"
        f" ({spec.n_points} points x {spec.replicates} replicates). Indices: [indices.csv](morris/indices.csv)."),
        "",
        "Config files: `experiments/configs/cases.toml`, `experiments/configs/structures_morris.toml`.",
        "",
        "---",
        "",
        _shift(_relink(cases_md, "cases/")),
        "---",
        "",
        _shift(_relink(morris_md, "morris/")),
    ]
    report = out / "report.md"
    write_text_atomic(report, "\n".join(lines).rstrip() + "\n")
    del compared, sens
    return report


def _relink(text: str, prefix: str) -> str:
    """Links and images of a sub-report, made relative to the main report's folder."""
    import re

    return re.sub(r"\]\((?!https?:)([^)]+)\)", lambda m: f"]({prefix}{m.group(1)})", text)


def _shift(text: str) -> str:
    """Headings one level down (the sub-report's title becomes a section)."""
    return "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines()) + "\n"


if __name__ == "__main__":  # pragma: no cover
    from model.cli import main

    sys.exit(main(["main", *sys.argv[1:]]))

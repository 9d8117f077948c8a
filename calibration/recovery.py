"""Identifiability, measured: draw truths, observe them, calibrate, and see what comes back.

    result = recovery(load_case("calibration/data/synthetic_evaluation.toml"), Path("out/rec"), truths=20)

For each of ``truths`` parameter sets drawn from the case's priors, one run at those
values is observed by the virtual evaluator (``calibration.observe``) with the case's
design (its tables, waves and sections), and the run's tables are calibrated, under
every data design asked for (``roster``, ``roster+survey1``, ...: what an evaluation
would collect). Per design and parameter it reports:

- coverage: the share of truths inside the posterior's central 50% and 90% intervals
  (a calibrated posterior covers about 50% and 90%);
- simulation-based-calibration ranks (Talts et al. 2018): the rank of the truth among
  ``RANK_DRAWS`` posterior draws, uniform over truths when the posterior is calibrated;
- contraction: posterior sd / prior sd (1 = the data taught nothing);
- trade-offs: pairs of parameters whose posterior correlation is strong on average
  (the data identify a combination of them rather than each).

Each (truth, design) is one calibration folder ``DIR/truths/T###/DESIGN`` (pyabc's
history, resumable) and one result file ``DIR/results/T###__DESIGN.json``, written
atomically when it is done; ``resume=True`` skips finished ones and continues the
others. The report (``recovery.csv``, ``recovery.md``, figures) is written at the end
from the result files, so it can be rebuilt at any time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calibration.cases import Case, table_observations
from calibration.tables import Design, parse_design, restrict

RANK_DRAWS = 99  # posterior draws per truth for the SBC rank (ranks 0..99)
TRADE_OFF = 0.4  # mean posterior |correlation| above which two parameters are said to trade off
FORMAT = "phc-synergy-recovery/1"
META = "_recovery.json"
DEFAULT_DESIGNS = ("roster", "roster+psat1", "roster+psat", "roster+survey", "roster+survey+attendance")
TARGET = {"coverage90": 0.85, "contraction": 0.6}  # the target, for the report


class RecoveryError(ValueError):
    """A recovery that cannot run as asked (a case without tables, an unknown design, another folder's run)."""


@dataclass(frozen=True)
class Plan:
    """What a recovery runs: the truths, the designs, the calibration settings."""

    truths: list[dict[str, float]]
    run_seeds: list[int]
    designs: dict[str, Design]
    settings: Any  # calibration.abc.Settings

    def to_json(self) -> dict[str, Any]:
        return {"truths": self.truths, "run_seeds": self.run_seeds,
                "designs": {name: d.describe() for name, d in self.designs.items()},
                "settings": self.settings.to_json()}


def design_name(text: str) -> str:
    return text.replace("+", "_")


def make_plan(case: Case, truths: int, settings: Any, designs: Sequence[str] | None, seed: int) -> Plan:
    """Truths drawn uniformly on the priors; one run seed per truth; the designs parsed against the case's."""
    if case.design is None:
        raise RecoveryError(f"{case.path}: recovery needs a case with [tables] (survey, attendance, roster): the"
                            " design it simulates; make one with phc-synergy observe")
    parsed: dict[str, Design] = {}
    for text in designs or [d for d in DEFAULT_DESIGNS if _possible(d, case.design)] or ["+".join(case.design.tables)]:
        try:
            parsed[text] = parse_design(text, case.design)
        except ValueError as exc:
            raise RecoveryError(str(exc)) from None
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
    draws = [{name: float(rng.uniform(lo, hi)) for name, (lo, hi) in settings.ranges.items()} for _ in range(truths)]
    run_seeds = [int(np.random.SeedSequence([int(seed), 2, i]).generate_state(2, np.uint64)[0] % 2**63)
                 for i in range(truths)]
    return Plan(draws, run_seeds, parsed, settings)


def _possible(text: str, full: Design) -> bool:
    try:
        parse_design(text, full)
    except ValueError:
        return False
    return True


def truth_case(case: Case, plan: Plan, index: int, design: Design) -> Case:
    """The case a truth's run gives under a design: the tables it would have collected, as observations."""
    from calibration.observe import observe_run

    params = {**case.fixed_parameters(), **plan.truths[index]}
    evaluation = observe_run(params, plan.run_seeds[index], case.design.waves, case.design.evaluator_sections())
    observed = restrict(evaluation, design)
    observations = table_observations(observed, design, case.types, first=1)
    return dataclasses.replace(case, name=f"{case.name} truth {index}", observations=observations, targets=(),
                               evaluation=observed, design=design,
                               hash=f"{case.hash}:{index}:{plan.run_seeds[index]}:{design.describe()}")


def posterior_result(posterior: Any, truth: dict[str, float], ranges: dict[str, tuple[float, float]],
                     rng: np.random.Generator) -> dict[str, Any]:
    """Coverage, rank, contraction and correlations of one posterior against its truth."""
    from calibration.outputs import weighted_quantile

    w = posterior["weight"].to_numpy(dtype=float)
    w = w / w.sum()
    names = list(ranges)
    out: dict[str, Any] = {"parameters": {}}
    draws = rng.choice(len(posterior), size=RANK_DRAWS, replace=True, p=w)
    for name in names:
        x = posterior[name].to_numpy(dtype=float)
        lo, hi = ranges[name]
        mean = float(np.sum(w * x))
        sd = math.sqrt(max(0.0, float(np.sum(w * (x - mean) ** 2))))
        q05, q25, q50, q75, q95 = (float(v) for v in weighted_quantile(x, w, [0.05, 0.25, 0.5, 0.75, 0.95]))
        t = truth[name]
        out["parameters"][name] = {
            "truth": t, "mean": mean, "median": q50, "sd": sd, "q05": q05, "q25": q25, "q75": q75, "q95": q95,
            "covered50": bool(q25 <= t <= q75), "covered90": bool(q05 <= t <= q95),
            "rank": int(np.sum(x[draws] < t)),
            "contraction": sd / ((hi - lo) / math.sqrt(12.0)),
        }
    if len(names) > 1:
        x = np.stack([posterior[n].to_numpy(dtype=float) for n in names])
        centred = x - (x * w).sum(axis=1, keepdims=True)
        cov = (centred * w) @ centred.T
        sd = np.sqrt(np.maximum(np.diag(cov), 1e-300))
        corr = cov / np.outer(sd, sd)
        out["correlation"] = {a: {b: float(corr[i, j]) for j, b in enumerate(names)} for i, a in enumerate(names)}
    return out


def recovery(
    case: Case,
    out: Path,
    truths: int,
    settings: Any,
    *,
    designs: Sequence[str] | None = None,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    say: Callable[[str], None] = lambda text: None,
    engine: Any = None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run (or continue) a recovery study into ``out``; returns the report's summary (also written).

    The folder is checked, and the engine started, before anything is written; then ``on_start`` is called.
    """
    from calibration.abc import CalibrationError, calibrate
    from calibration.outputs import posterior_frame
    from experiments.engine import make_engine
    from experiments.lock import LOCK, FolderLock
    from model.cli import _write_atomic

    out = Path(out)
    plan = make_plan(case, truths, settings, designs, seed)
    meta_path = out / META
    record = {"format": FORMAT, "case": {"name": case.name, "path": str(case.path), "hash": case.hash},
              "seed": int(seed), **plan.to_json()}
    if out.exists() and not out.is_dir():
        raise RecoveryError(f"--out {str(out)!r} exists and is not a folder")
    if meta_path.exists():
        stored = json.loads(meta_path.read_text(encoding="utf-8"))
        if not resume:
            raise RecoveryError(f"{out} holds a recovery already; continue it with --resume, or choose another --out")
        for key in ("case", "seed", "truths", "designs", "settings"):
            if stored.get(key) != json.loads(json.dumps(record[key])):
                raise RecoveryError(f"{out} holds a recovery with other {key}; --resume needs the same case, truths,"
                                    " designs, seed and calibration settings (or choose another --out)")
    elif resume:
        raise RecoveryError(f"{out} holds no recovery to resume (no {META}); run without --resume")
    elif out.exists() and any(out.iterdir()):
        raise RecoveryError(f"--out {str(out)!r}: the folder is not empty; allowed: a new or empty folder")
    own_engine = engine is None
    engine = engine or make_engine(workers, scheduler)
    if on_start is not None:
        on_start(engine.describe())
    started = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results").mkdir(exist_ok=True)
        lock = FolderLock(out, LOCK)
        if not lock.acquire():
            raise RecoveryError(f"{out}: another process is running a recovery in this folder")
        try:
            if not meta_path.exists():
                _write_atomic(meta_path, lambda f: f.write(json.dumps(record, indent=2) + "\n"))
            jobs = [(i, name) for i in range(truths) for name in plan.designs]
            done = sum((out / "results" / _result_name(i, n)).exists() for i, n in jobs)
            if done:
                say(f"resuming: {done} of {len(jobs)} calibrations already done")
            for count, (i, name) in enumerate(jobs, start=1):
                result_path = out / "results" / _result_name(i, name)
                if result_path.exists():
                    continue
                folder = out / "truths" / f"T{i:03d}" / design_name(name)
                t0 = time.perf_counter()
                tcase = truth_case(case, plan, i, plan.designs[name])
                again = (folder / "_calibration.json").exists()
                if (folder / "history.db").exists() and not again:
                    shutil.rmtree(folder)  # a calibration that died before its record: start it again
                try:
                    result = calibrate(tcase, folder, settings, engine=engine, keep_engine=True, resume=again,
                                       write_outputs=False)
                except CalibrationError as exc:
                    raise RecoveryError(f"truth {i}, design {name}: {exc}") from None
                import pyabc

                history = pyabc.History("sqlite:///" + str((folder / "history.db").resolve()))
                posterior = posterior_frame(history)
                rng = np.random.default_rng(np.random.SeedSequence([int(seed), 3, i]))
                doc = {"truth_index": i, "design": name, "run_seed": plan.run_seeds[i],
                       "generations": result.generations, "simulations": result.simulations,
                       "seconds": round(time.perf_counter() - t0, 2),
                       **posterior_result(posterior, plan.truths[i], settings.ranges, rng)}
                text = json.dumps(doc, indent=2) + "\n"
                _write_atomic(result_path, lambda f, text=text: f.write(text))
                shown = ", ".join(f"{p} {v['contraction']:.2f}" for p, v in doc["parameters"].items())
                say(f"[{count}/{len(jobs)}] truth {i}, {name}: {result.simulations} simulations in"
                    f" {doc['seconds']:.0f} s; contraction {shown}; {time.perf_counter() - started:.0f} s in all")
        finally:
            lock.release()
    finally:
        if own_engine:
            engine.close()
    from calibration.recovery_report import write_report

    return write_report(out, plan, case)


def _result_name(index: int, design: str) -> str:
    return f"T{index:03d}__{design_name(design)}.json"


def load_results(out: Path) -> list[dict[str, Any]]:
    """Every finished (truth, design) result in ``out``."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((Path(out) / "results").glob("*.json"))]

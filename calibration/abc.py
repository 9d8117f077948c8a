"""ABC-SMC calibration of the partnership model against a case, with pyabc.

    result = calibrate(load_case("calibration/data/pccp.toml"), Path("out/pccp"))

What is fitted
--------------
The parameters named in the case's ``settings.calibrate`` (or given explicitly)
get uniform priors on the case's ``[priors]`` range, else on the schema's bounds;
every other parameter is fixed at the case's ``[structure]`` value or its default.
Each particle is one run of the model (one seed), so the posterior carries the
model's own randomness as well as the data's uncertainty.

Distance
--------
Each observation ``i`` (an output at a month) has a normalised distance ``d_i``:
``|sim - value| / sd`` for a value; for an interval, 0 anywhere inside it and,
outside, the gap to the nearest bound divided by half the interval's width (an
interval reads as centre +- half-width, flat inside). A ``[[targets]]`` entry's
distance is the root mean square of its observations' (a time series has one per
month); the distance of a simulation is the largest over the entries: the
worst-met target, in its own units of uncertainty. So ``epsilon <= 1`` means that
every target is met within its uncertainty, and no target can be traded for
another. Epsilon is pyabc's median epsilon (the weighted median of the last
generation's distances), floored at ``min_epsilon``.

Stopping
--------
After the generation in which any of these holds: epsilon reached
``min_epsilon`` (default 1: every target met within its uncertainty; the last
generation runs at exactly that epsilon); ``generations`` generations are
stored; ``max_simulations`` simulations were made (the count includes pyabc's
initial prior sample); the acceptance rate fell below ``min_acceptance_rate`` (a
generation that would need more than ``population / min_acceptance_rate``
simulations is abandoned, and the previous one is the posterior).

Engine and reproducibility
--------------------------
Particles are evaluated through the project's engines (``experiments.engine``):
in this process (``workers=1``), on a local Dask cluster (``workers=N``) or on an
existing one (``scheduler``). Evaluation ``i`` of a generation first reseeds
numpy's global generator (which pyabc uses to sample and perturb parameters)
from ``SeedSequence([root_seed, generation + 1, i])`` and the model's seed is
then drawn from it, so a particle does not depend on where, when or in which
batch it ran. The generation keeps the first ``population`` accepted particles
in evaluation order. Hence serial and parallel runs, and a calibration that was
stopped and resumed, give the same posterior for the same root seed.

The folder
----------
``DIR/history.db`` is pyabc's SQLite history (one row set per generation, written
when the generation completes), ``DIR/_calibration.json`` the case's hash, the
settings, the root seed and the per-generation log; ``--resume`` (``resume=True``)
continues from them. The outputs (``calibration.outputs``) are written at the end.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyabc
from pyabc.sampler import Sampler

from calibration.cases import MISSING_DISTANCE, SETTINGS, Case, Observation, check_calibrated_name
from experiments.lock import LOCK, FolderLock
from model.parameters import PARAMETERS
from model.seeds import MAX_SEED, SEED_RULE, is_seed

SEED_MASK = MAX_SEED
HISTORY = "history.db"
META = "_calibration.json"
FORMAT = "phc-synergy-calibration/1"
MAX_BATCH = 50  # evaluations per task at most


class CalibrationError(ValueError):
    """A calibration that cannot run as asked (bad parameters, a folder that holds another calibration, ...)."""


# ---------------------------------------------------------------------------- model, prior, distance
@dataclass(frozen=True)
class CaseSimulator:
    """The model as pyabc sees it: parameters in, the observed quantities (``output@month``) out.

    The run's seed is drawn from numpy's global generator, which the sampler
    seeds for every evaluation; it is returned as ``_seed`` so any particle can be replayed.
    With a ``design`` (a case with tables) the run is observed by the virtual evaluator
    (``calibration.observe``) and its tables summarised as the case's were.
    """

    fixed: dict[str, Any]
    names: tuple[str, ...]
    observations: tuple[Observation, ...]
    design: Any = None
    types: tuple[int, ...] = ()

    def parameters(self, pars: dict[str, Any]) -> dict[str, Any]:
        return {**self.fixed, **{name: float(pars[name]) for name in self.names}}

    def __call__(self, pars: dict[str, Any]) -> dict[str, float]:
        seed = int(np.random.randint(0, SEED_MASK, dtype=np.int64))
        values = simulate_observations(self.parameters(pars), seed, self.observations, self.design, self.types)
        return {"_seed": seed, **values}


def simulate_observations(params: dict[str, Any], seed: int, observations: Sequence[Observation],
                          design: Any = None, types: Sequence[int] = ()) -> dict[str, float]:
    """One run's value of each observation, by key: outputs from its series, statistics from its observed tables."""
    from model.model import PartnershipModel

    model = PartnershipModel(seed=seed, **params)
    statistics: dict[str, float] = {}
    if design is not None:
        from calibration.observe import observe_model
        from calibration.tables import statistic_values

        statistics = statistic_values(observe_model(model, design.waves, design.evaluator_sections()), design, types)
    else:
        model.run()
    series = model.series()
    return {obs.key: float(series[obs.output][obs.month]) if obs.source == "targets"
            else statistics.get(obs.key, math.nan) for obs in observations}


def observed_values(series: dict[str, np.ndarray], observations: Sequence[Observation]) -> dict[str, float]:
    """The simulated value of each [[targets]] observation, by its key (a run's series)."""
    return {obs.key: float(series[obs.output][obs.month]) for obs in observations if obs.source == "targets"}


@dataclass(frozen=True)
class CaseDistance:
    """The worst-met target: the largest, over [[targets]] entries, of the RMS of their normalised distances."""

    observations: tuple[Observation, ...]

    def __call__(self, x: dict[str, float], x_0: dict[str, float] | None = None) -> float:
        return case_distance(x, self.observations)


def target_distances(x: dict[str, float], observations: Sequence[Observation]) -> dict[int, float]:
    """Each [[targets]] entry's distance: the root mean square of its observations' normalised distances."""
    squares: dict[int, list[float]] = {}
    for obs in observations:
        squares.setdefault(obs.target, []).append(obs.distance(float(x[obs.key])) ** 2)
    return {target: math.sqrt(math.fsum(sq) / len(sq)) for target, sq in squares.items()}


def case_distance(x: dict[str, float], observations: Sequence[Observation]) -> float:
    """The distance of a simulation to the case: its worst-met target's distance."""
    return max(target_distances(x, observations).values())


class StandardisedStatistics(pyabc.sumstat.Sumstat):
    """A simulation's observed quantities as z-scores against the case: (x - value) / sd, in the case's order.

    The first step of the tables' distance (semi-automatic ABC below). An interval
    counts from its centre in half-widths; a quantity the run cannot give (nan) is
    MISSING_DISTANCE away; the run's seed is left out.
    """

    def __init__(self, observations: Sequence[Observation]):
        super().__init__()
        self.keys = [obs.key for obs in observations]
        self.centre = np.array([obs.centre for obs in observations])
        self.scale = np.array([obs.sd if obs.kind == "value" else 0.5 * (obs.high - obs.low) for obs in observations])

    def __call__(self, data: dict[str, float] | np.ndarray) -> np.ndarray:
        # pyabc hands a dict, or an array in the order of the observed data's keys (the case's order)
        x = np.array([float(data[k]) for k in self.keys]) if isinstance(data, dict) else np.asarray(data, float)
        z = (x - self.centre) / self.scale
        return np.where(np.isfinite(z), z, MISSING_DISTANCE)

    def get_ids(self) -> list[str]:
        return list(self.keys)


TABLE_FIT_GENERATIONS = (0, 2)  # generations at which the regression of parameters on statistics is (re)fitted


def table_distance(observations: Sequence[Observation]) -> pyabc.Distance:
    """The distance of a case with tables: semi-automatic ABC (Fearnhead and Prangle 2012), with pyabc's parts.

    The tables give dozens of statistics, most of them noisy and each informative about
    a few parameters; a plain distance over all of them is dominated by noise. So the
    statistics (as z-scores) are first mapped to predictions of the calibrated
    parameters by a linear regression fitted on the simulations themselves (pyabc's
    PredictorSumstat with LinearPredictor, fitted on the prior sample and refitted at
    generation 2), and the distance is the Euclidean distance between predicted
    parameters, each scaled by its spread in the last generation (AdaptivePNormDistance).
    """
    from pyabc.predictor import LinearPredictor
    from pyabc.sumstat import PredictorSumstat

    sumstat = PredictorSumstat(LinearPredictor(), fit_ixs=set(TABLE_FIT_GENERATIONS),
                               pre=StandardisedStatistics(observations))
    return pyabc.PNormDistance(p=2, sumstat=sumstat)


def prior_ranges(case: Case, names: Sequence[str] | None = None) -> dict[str, tuple[float, float]]:
    """The calibrated parameters and their uniform prior ranges (the case's [priors], else the schema's bounds)."""
    names = list(names) if names is not None else list(case.settings["calibrate"])
    if not names:
        raise CalibrationError("no parameter to calibrate: name at least one")
    if len(set(names)) != len(names):
        raise CalibrationError(f"a parameter is named twice in {', '.join(names)}")
    out: dict[str, tuple[float, float]] = {}
    for name in names:
        def fail(problem: str, allowed: str, name: str = name) -> CalibrationError:
            return CalibrationError(f"parameter {name!r} {problem}; allowed: {allowed}")

        check_calibrated_name(name, fail)
        p = PARAMETERS[name]
        out[name] = case.priors.get(name, (float(p.low), float(p.high)))
    return out


class FlooredMedianEpsilon(pyabc.MedianEpsilon):
    """pyabc's default epsilon (the weighted median of the last generation's distances), never below ``floor``.

    With ``floor = min_epsilon`` the last generation runs at exactly ``min_epsilon``
    rather than at whatever median first falls below it.
    """

    def __init__(self, floor: float = 0.0):
        super().__init__()
        self.floor = float(floor)

    def _update(self, t: int, weighted_distances: Any) -> None:
        super()._update(t, weighted_distances)
        self._look_up[t] = max(self._look_up[t], self.floor)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "floor": self.floor}


def make_prior(ranges: dict[str, tuple[float, float]]) -> pyabc.Distribution:
    return pyabc.Distribution(**{n: pyabc.RV("uniform", lo, hi - lo) for n, (lo, hi) in ranges.items()})


# ---------------------------------------------------------------------------- the sampler
_PAYLOAD: dict[str, Any] = {}  # the generation's simulate function, unpickled once per process


def evaluation_seed(root_seed: int, code: int, index: int) -> np.ndarray:
    """Words seeding numpy's global generator for evaluation ``index`` of sampler call ``code``."""
    return np.random.SeedSequence([int(root_seed), int(code), int(index)]).generate_state(4)


def _evaluate(item: tuple[str, bytes, int, int, int, int]) -> list[Any]:
    """Evaluate particles ``start..stop-1`` of one generation (runs wherever the engine puts it)."""
    key, payload, root_seed, code, start, stop = item
    simulate_one = _PAYLOAD.get(key)
    if simulate_one is None:
        import cloudpickle

        _PAYLOAD.clear()
        simulate_one = _PAYLOAD[key] = cloudpickle.loads(payload)
    out = []
    for index in range(start, stop):
        np.random.seed(evaluation_seed(root_seed, code, index))
        out.append(simulate_one())
    return out


class EngineSampler(Sampler):
    """A pyabc sampler that evaluates particles through an ``experiments.engine`` Engine.

    Evaluations are numbered; each is seeded from (root seed, generation, number),
    handed to the engine in batches, and taken in number order until ``n`` are
    accepted, so the sample does not depend on the engine or the batching.
    """

    def __init__(self, engine: Any, root_seed: int, on_progress: Callable[[dict[str, Any]], None] | None = None):
        super().__init__()
        self.engine = engine
        self.root_seed = int(root_seed)
        self.on_progress = on_progress  # called after every batch that comes back: counts so far (never changes them)
        self.acceptance = 0.5  # estimate of the acceptance rate, for batch sizes
        self.run_evaluations_ = 0  # evaluations made, including those beyond the n-th acceptance

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        import cloudpickle

        code = int(t) + 1  # pyabc's initial prior sample has t = -1
        key = f"{self.analysis_id}-{code}-{time.monotonic_ns()}"
        payload = cloudpickle.dumps(simulate_one)
        workers = max(1, int(getattr(self.engine, "workers", 1)))
        limit = n if all_accepted else max_eval
        state = {"next": 0, "accepted": 0, "evaluated": 0}
        rate = 1.0 if all_accepted else max(self.acceptance, 0.01)

        def items() -> Iterator[tuple]:
            while state["next"] < limit:
                remaining = max(1, math.ceil((n - state["accepted"]) / rate))
                size = max(1, min(MAX_BATCH, math.ceil(remaining / (2 * workers))))
                start = state["next"]
                stop = int(min(start + size, limit))
                state["next"] = stop
                yield (key, payload, self.root_seed, code, start, stop)

        sample = self._create_empty_sample()
        done: dict[int, tuple[int, list[Any]]] = {}  # start -> (stop, particles), not yet taken
        cursor = 0  # first evaluation not yet taken into the sample
        made = 0
        finished = False
        started = time.perf_counter()
        with contextlib.closing(self.engine.map(_evaluate, items())) as results:
            for item, particles, error in results:
                if error is not None:
                    from experiments.engine import EngineError

                    raise EngineError(error)
                made += len(particles)
                done[item[4]] = (item[5], particles)
                while cursor in done and not finished:
                    stop, batch = done.pop(cursor)
                    for particle in batch:
                        sample.append(particle)
                        state["evaluated"] += 1
                        if particle.accepted:
                            state["accepted"] += 1
                            if state["accepted"] >= n:
                                finished = True
                                break
                    cursor = stop
                if self.on_progress is not None:
                    self.on_progress({"generation": int(t), "prior_sample": bool(all_accepted), "simulations": made,
                                      "accepted": state["accepted"], "needed": int(n),
                                      "seconds": time.perf_counter() - started})
                if finished or cursor >= limit:
                    break
        self.nr_evaluations_ = state["evaluated"]
        self.run_evaluations_ = made
        if not all_accepted and state["evaluated"]:
            self.acceptance = max(0.005, state["accepted"] / state["evaluated"])
        if sample.n_accepted < n:
            sample.ok = False
        return sample


# ---------------------------------------------------------------------------- the calibration
@dataclass
class Settings:
    """What a calibration runs with: the parameters and priors, the budget, the root seed."""

    ranges: dict[str, tuple[float, float]]
    population: int
    generations: float  # math.inf = no limit
    max_simulations: float  # math.inf = no limit
    min_epsilon: float
    min_acceptance_rate: float
    seed: int
    ppc_draws: int

    def to_json(self) -> dict[str, Any]:
        return {
            "parameters": {n: list(r) for n, r in self.ranges.items()},
            "population": self.population,
            "generations": None if math.isinf(self.generations) else int(self.generations),
            "max_simulations": None if math.isinf(self.max_simulations) else int(self.max_simulations),
            "min_epsilon": self.min_epsilon,
            "min_acceptance_rate": self.min_acceptance_rate,
            "seed": self.seed,
            "ppc_draws": self.ppc_draws,
        }


def make_settings(
    case: Case,
    parameters: Sequence[str] | None = None,
    population: int | None = None,
    generations: int | None = None,
    max_simulations: int | None = None,
    seed: int | None = None,
) -> Settings:
    """The case's settings with the caller's choices on top.

    Giving ``generations`` or ``max_simulations`` replaces the case's budget with
    that one alone; giving neither keeps both of the case's (whichever comes first).
    """
    s = case.settings
    if generations is None and max_simulations is None:
        generations, max_simulations = s["generations"], s["max_simulations"]
    # the bounds of a case file's [settings], whether a value comes from there or from an option
    for label, value in (("population", population), ("generations", generations),
                         ("max_simulations", max_simulations)):
        _, _, low, high, allowed = SETTINGS[label]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            raise CalibrationError(f"{label} = {value!r} is not allowed: {allowed}")
    if seed is not None and not is_seed(seed):
        raise CalibrationError(f"seed = {seed!r} is not allowed: {SEED_RULE}")
    return Settings(
        ranges=prior_ranges(case, parameters),
        population=int(population if population is not None else s["population"]),
        generations=math.inf if generations is None else int(generations),
        max_simulations=math.inf if max_simulations is None else int(max_simulations),
        min_epsilon=float(s["min_epsilon"]),
        min_acceptance_rate=float(s["min_acceptance_rate"]),
        seed=int(seed if seed is not None else s["seed"]),
        ppc_draws=int(s["ppc_draws"]),
    )


@dataclass
class CalibrationResult:
    """What :func:`calibrate` did: the folder, generations, simulations, why it stopped, the files written."""

    out: Path
    generations: int
    simulations: int
    epsilon: float
    stop_reason: str
    seconds: float
    ran: int  # generations run by this call
    files: list[Path] = field(default_factory=list)


class Progress:
    """One line per generation (epsilon, acceptance rate, simulations, elapsed time), and within a generation a
    line at most every ``every`` seconds: simulations done, accepted so far of those needed, simulations per second.
    """

    def __init__(self, stream: IO[str] | None = None, every: float = 5.0):
        self.stream = stream if stream is not None else sys.stderr
        self.every = float(every)
        self._last = time.perf_counter()

    def step(self, info: dict[str, Any]) -> None:
        """Inside a generation (EngineSampler's on_progress): a line when ``every`` seconds have passed."""
        now = time.perf_counter()
        if now - self._last < self.every:
            return
        self._last = now
        rate = info["simulations"] / info["seconds"] if info["seconds"] > 0 else 0.0
        what = ("calibrating epsilon on a sample of the prior" if info["prior_sample"]
                else f"generation {info['generation']}")
        print(f"  {what}: {info['simulations']} simulations, {info['accepted']}/{info['needed']} accepted,"
              f" {rate:.0f} simulations/s", file=self.stream, flush=True)

    def __call__(self, entry: dict[str, Any]) -> None:
        self._last = time.perf_counter()
        print(
            f"generation {entry['generation']}: epsilon {entry['epsilon']:.4g}, acceptance"
            f" {100 * entry['acceptance_rate']:.1f}% ({entry['accepted']}/{entry['simulations']}),"
            f" {entry['total_simulations']} simulations in all, {entry['elapsed']:.1f} s",
            file=self.stream,
            flush=True,
        )

    def message(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    from model.cli import _write_atomic

    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    _write_atomic(path, lambda f: f.write(text))


def read_meta(out: Path) -> dict[str, Any] | None:
    """The folder's ``_calibration.json`` (None when there is none)."""
    path = Path(out) / META
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"{path}: cannot read the calibration's record ({exc})") from None


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold OUT/_lock (experiments.lock.FolderLock) while this process writes the calibration folder."""
    lock = FolderLock(out, LOCK)
    try:
        got = lock.acquire()
    except OSError as exc:
        raise CalibrationError(f"{out}: cannot write in the folder: {exc.strerror or exc}") from None
    if not got:
        raise CalibrationError(f"{out}: another process is calibrating in this folder; wait for it to end or stop it")
    try:
        yield
    finally:
        lock.release()


def _check_out(out: Path, resume: bool) -> None:
    """Refusals about the folder itself, before anything is created or started."""
    if out.exists() and not out.is_dir():
        raise CalibrationError(f"--out {str(out)!r} exists and is not a folder")
    if not out.exists():
        if resume:
            raise CalibrationError(f"{out} holds no calibration to resume (the folder does not exist); run without"
                                   " --resume")
        parent = next((p for p in out.parents if p.exists()), Path("."))
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise CalibrationError(f"--out {str(out)!r}: cannot create the folder: {str(parent)!r} is not a"
                                   " writable folder")


def _check_folder(case: Case, settings: Settings, out: Path, resume: bool) -> dict[str, Any] | None:
    """The stored record to continue (resume), or None for a new calibration; refuses a mismatch."""
    meta = read_meta(out)
    has_history = (out / HISTORY).exists()
    if not resume:
        if meta is not None or has_history:
            raise CalibrationError(
                f"{out} holds a calibration already ({HISTORY if has_history else META}); continue it with"
                " --resume, or choose another --out"
            )
        return None
    if meta is None:
        if has_history:
            raise CalibrationError(f"{out} has {HISTORY} but no {META}: it was not made by phc-synergy calibrate")
        raise CalibrationError(f"{out} holds no calibration to resume (no {META}); run without --resume")
    if meta.get("format") != FORMAT:
        raise CalibrationError(f"{out / META}: format {meta.get('format')!r} is not {FORMAT!r}")
    if meta["case"]["hash"] != case.hash:
        raise CalibrationError(
            f"{out} holds a calibration of another case file ({meta['case']['path']}, sha256"
            f" {meta['case']['hash'][:12]}); {case.path} has sha256 {case.hash[:12]}: resume with the same file,"
            " or choose another --out"
        )
    stored = meta["settings"]
    mine = settings.to_json()
    for name in ("parameters", "population", "seed"):
        if stored[name] != mine[name]:
            raise CalibrationError(
                f"{out} holds a calibration with {name} = {stored[name]!r}; --resume cannot change it to"
                f" {mine[name]!r} (give the stored value or leave the option out, or choose another --out)"
            )
    return meta


def resume_defaults(out: Path) -> dict[str, Any]:
    """The stored choices of the calibration in ``out`` (for options a resume leaves out); {} when there is none."""
    meta = read_meta(Path(out))
    if meta is None:
        return {}
    s = meta.get("settings", {})
    return {
        "parameters": list(s.get("parameters", {})) or None,
        "population": s.get("population"),
        "seed": s.get("seed"),
        "generations": s.get("generations"),
        "max_simulations": s.get("max_simulations"),
    }


def _stop_reason(settings: Settings, generations: int, total: int, eps: float | None,
                 acceptance: float | None) -> str | None:
    if generations >= settings.generations:
        return f"{generations} generations"
    if eps is not None and eps <= settings.min_epsilon:
        return f"epsilon {eps:.4g} <= min_epsilon {settings.min_epsilon:g}"
    if acceptance is not None and acceptance < settings.min_acceptance_rate:
        return f"acceptance rate {acceptance:.3g} < min_acceptance_rate {settings.min_acceptance_rate:g}"
    if total >= settings.max_simulations:
        return f"{total} simulations >= max_simulations {int(settings.max_simulations)}"
    return None


def build_abc(case: Case, settings: Settings, sampler: Sampler) -> pyabc.ABCSMC:
    """The pyabc ABCSMC object of a case and settings (the same for a new and a resumed calibration)."""
    simulator = CaseSimulator(case.fixed_parameters(), tuple(settings.ranges), case.observations, case.design,
                              case.types)
    tables = case.design is not None
    return pyabc.ABCSMC(
        simulator,
        make_prior(settings.ranges),
        table_distance(case.observations) if tables else CaseDistance(case.observations),
        population_size=settings.population,
        eps=pyabc.MedianEpsilon() if tables else FlooredMedianEpsilon(settings.min_epsilon),
        sampler=sampler,
    )


def calibrate(
    case: Case,
    out: Path,
    settings: Settings | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    write_outputs: bool = True,
    engine: Any = None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
    keep_engine: bool = False,
) -> CalibrationResult:
    """Calibrate the model to ``case`` with ABC-SMC; the history and outputs go to the folder ``out``.

    The particles run on ``engine`` when given (an ``experiments.engine.Engine``, closed at the end),
    else on ``make_engine(workers, scheduler)``. The folder is checked, and the engine started, before
    anything is written; ``on_start(engine.describe())`` is called once all that went well (where the command says
    what starts, and where the engine's dashboard is).
    With ``keep_engine`` a given engine stays open (``recovery`` runs many calibrations on one).
    """
    from experiments.engine import make_engine

    settings = settings or make_settings(case)
    out = Path(out)
    _check_out(out, resume)
    if out.is_dir():
        _check_folder(case, settings, out, resume)  # refusals before an engine starts (again below, under the lock)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    started = time.perf_counter()
    try:
        if engine is None:
            engine = make_engine(workers, scheduler)  # EngineStartError: nothing written yet
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CalibrationError(f"--out {str(out)!r}: cannot create the folder: {exc.strerror or exc}") from None
        with _locked(out):
            meta = _check_folder(case, settings, out, resume)
            if meta is None:
                meta = {
                    "format": FORMAT,
                    "case": {"name": case.name, "path": str(case.path.resolve()), "hash": case.hash},
                    "settings": settings.to_json(),
                    "root_seed": settings.seed,
                    "abc_id": None,
                    "engine": None,
                    "versions": _versions(),
                    "started": _now(),
                    "status": "running",
                    "log": [],
                }
            else:
                meta["settings"] = settings.to_json()  # the budget may change on resume
                meta["status"] = "running"
            _write_json(out / META, meta)
            if on_start is not None:
                on_start(engine.describe())
            try:
                return _calibrate(case, settings, out, meta, engine, started, progress, write_outputs)
            except BaseException:
                meta["status"] = "interrupted"
                with contextlib.suppress(Exception):
                    _write_json(out / META, meta)
                raise
    finally:
        if engine is not None and not keep_engine:
            engine.close()


def _calibrate(case: Case, settings: Settings, out: Path, meta: dict[str, Any], engine: Any, started: float,
               progress: Progress | None, write_outputs: bool) -> CalibrationResult:
    say = progress.message if progress is not None else (lambda text: None)
    engine.prepare(["calibration.abc", "model.model", "model.kernels"])
    meta["engine"] = engine.describe()
    abc = build_abc(case, settings, EngineSampler(engine, settings.seed, progress.step if progress is not None else None))
    db = "sqlite:///" + str((out / HISTORY).resolve())
    if (out / HISTORY).exists() and meta.get("abc_id") is not None:
        history = abc.load(db, meta["abc_id"])
    else:
        observed = {obs.key: obs.centre for obs in case.observations}
        history = abc.new(db, observed, meta_info={"case": case.name, "case_hash": case.hash,
                                                   "root_seed": settings.seed})
        meta["abc_id"] = history.id
        _write_json(out / META, meta)
    done = history.n_populations
    total = int(history.total_nr_simulations or 0)
    reason = None
    if done:
        pops = history.get_all_populations()
        last = pops[pops.t == history.max_t].iloc[0]
        reason = _stop_reason(settings, done, total, float(last.epsilon), float(last.particles) / float(last.samples))
    ran = 0
    if reason is None:
        if done:
            say(f"resuming after generation {done - 1} ({total} simulations so far)")
        reason, ran = _run_generations(abc, history, settings, meta, out, started, progress)
    else:
        say(f"nothing to run: {reason}")
    meta["stop_reason"] = reason
    result = CalibrationResult(
        out=out,
        generations=history.n_populations,
        simulations=int(history.total_nr_simulations or 0),
        epsilon=_last_epsilon(history),
        stop_reason=reason,
        seconds=time.perf_counter() - started,
        ran=ran,
    )
    if write_outputs:
        from calibration.outputs import write_outputs as _write_outputs

        say(f"writing the outputs (posterior predictive check: {settings.ppc_draws} runs)")
        t_outputs = time.perf_counter()
        result.files = _write_outputs(case, settings, history, out, engine=engine, meta=meta)
        meta["seconds_outputs"] = round(time.perf_counter() - t_outputs, 2)
    result.seconds = time.perf_counter() - started
    meta["status"] = "finished"
    meta["finished"] = _now()
    meta["seconds_last_call"] = round(result.seconds, 2)
    _write_json(out / META, meta)
    return result


def _run_generations(abc: pyabc.ABCSMC, history: Any, settings: Settings, meta: dict[str, Any], out: Path,
                     started: float, progress: Progress | None) -> tuple[str, int]:
    """Run generations until a stopping rule holds; log each one. Returns (why it stopped, generations run)."""
    done = history.n_populations
    remaining = settings.generations - done
    t = abc.initialize_components_before_run(
        minimum_epsilon=settings.min_epsilon,
        max_nr_populations=remaining,
        min_acceptance_rate=settings.min_acceptance_rate,
        max_total_nr_simulations=settings.max_simulations,
        max_walltime=None,
        min_eps_diff=0.0,
    )
    ran = 0
    try:
        while True:
            eps = float(abc.eps(t))
            t_start = time.perf_counter()
            ret = abc.run_generation(t=t)
            if not ret["successful"]:
                return (f"acceptance rate below min_acceptance_rate {settings.min_acceptance_rate:g}:"
                        f" generation {t} was abandoned"), ran
            ran += 1
            total = int(history.total_nr_simulations)
            n_sim = abc.sampler.nr_evaluations_
            entry = {
                "generation": t,
                "epsilon": eps,
                "accepted": settings.population,
                "simulations": int(n_sim),
                "acceptance_rate": settings.population / n_sim,
                "total_simulations": total,
                "simulations_run": int(abc.sampler.run_evaluations_),
                "seconds": round(time.perf_counter() - t_start, 3),
                "elapsed": time.perf_counter() - started,
                "finished": _now(),
            }
            meta["log"].append({k: (round(v, 3) if k == "elapsed" else v) for k, v in entry.items()})
            _write_json(out / META, meta)
            if progress is not None:
                progress(entry)
            reason = _stop_reason(settings, t + 1, total, eps, entry["acceptance_rate"])
            if reason is not None:
                return reason, ran
            t += 1
    finally:
        history.done(end_time=_dt.datetime.now())
        abc.sampler.stop()


def _last_epsilon(history: Any) -> float:
    if history.n_populations == 0:
        return math.nan
    pops = history.get_all_populations()
    return float(pops[pops.t == history.max_t].iloc[0].epsilon)


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for dist in ("phc-synergy", "pyabc", "mesa", "numpy", "numba"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out

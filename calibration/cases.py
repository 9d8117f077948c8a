"""Case files: what was observed in a real partnership, in a form the model can be fitted to.

A case file is TOML (full commented example in ``docs/CALIBRATION.md``)::

    name = "pccp"                          # required: a short name
    description = "one line"               # optional

    [provenance]                           # required: where the data come from
    citation = "Loban E et al. ... doi:10.1002/hsr2.397"
    observed = "what was observed (Table 1: 13 members in 2018; 30-40 people since the start)"
    period = "when (2013-2018)"
    notes = "optional: how the facts were turned into targets"
    synthetic = false                      # optional: true for made-up data (then say how in citation)

    [structure]                            # fixed parameter values: seats, composition, anything else
    seats = 18
    [structure.composition]
    academic = 5

    [priors]                               # optional: name = [low, high] within the schema's bounds
    individual_turnover = [0.0, 0.1]

    [settings]                             # all optional
    steps = 60                             # horizon of each simulation, months
    calibrate = ["individual_turnover", "leadership"]   # parameters to fit by default
    population = 300                       # particles per generation
    generations = 8                        # at most this many generations ...
    max_simulations = 20000                # ... or this many simulations, whichever first
    min_epsilon = 1.0                      # the last generation runs at this epsilon (then stop)
    min_acceptance_rate = 0.01             # stop when a generation would accept fewer
    seed = 1                               # root seed of the calibration
    ppc_draws = 200                        # posterior draws in the posterior predictive check

    [[targets]]                            # one observation: a value with an sd ...
    output = "active_seats"                # a per-step output (model/outputs.py), not "step"
    month = 60
    value = 13
    sd = 1

    [[targets]]                            # ... or an interval, met anywhere inside
    output = "cumulative_members"
    month = 60
    interval = [30, 40]

    [[targets]]                            # a time series: months with values (sd one or per month) ...
    output = "synergy_psat"
    months = [12, 24]
    values = [3.4, 3.7]
    sd = 0.15                              # ... or intervals = [[lo, hi], ...]

:func:`load_case` reads and checks a file; every problem raises :class:`CaseError`,
whose message names the file, the field and the problem (and what is allowed).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.errors import InputFileError, file_kind, read_toml
from model.outputs import OUTPUT_MEANINGS, OUTPUTS
from model.parameters import PARAMETERS, ParameterError, validate_parameters
from model.seeds import MAX_SEED, SEED_RULE

MISSING_DISTANCE = 5.0  # distance of a statistic a simulation cannot give (calibration.tables)

DATA_DIR: Path = Path(__file__).with_name("data")

# Outputs a target may name: every per-step output but the month itself.
TARGET_OUTPUTS: tuple[str, ...] = tuple(name for name in OUTPUTS if name != "step")
COUNT_OUTPUTS = frozenset({"active_seats", "cumulative_members", "departures"})

# The values an output can take (lower, upper); None = unbounded. Counts are whole and non-negative.
OUTPUT_RANGES: dict[str, tuple[float | None, float | None]] = {
    name: (0.0, None) if name in COUNT_OUTPUTS else (1.0, 5.0) if name == "synergy_psat"
    else (-1.0, 1.0) if name == "equity_gap" else (0.0, 1.0)
    for name in TARGET_OUTPUTS
}

TOP_LEVEL: dict[str, tuple[bool, str]] = {
    "name": (True, "a non-empty string naming the case"),
    "description": (False, "a one-line string"),
    "provenance": (True, "a table: citation, observed, period (and optional notes, synthetic, generated)"),
    "structure": (False, "a table of fixed parameter values (seats, [structure.composition], ...)"),
    "priors": (False, "a table of prior ranges: name = [low, high]"),
    "settings": (False, "a table of calibration settings"),
    "tables": (False, "a table naming the evaluators' CSV files: survey, attendance, roster"),
    "targets": (False, "one or more [[targets]] tables (required unless [tables] names a table)"),
}
PROVENANCE_KEYS: dict[str, tuple[bool, str]] = {
    "citation": (True, "a non-empty string: the source of the data (or how synthetic data were made)"),
    "observed": (True, "a non-empty string: what was observed"),
    "period": (True, "a non-empty string: when it was observed"),
    "notes": (False, "a string"),
    "synthetic": (False, "true or false: whether the data were made up"),
    "generated": (False, "a table: how synthetic data were generated (parameters, seed, ...)"),
}

# Settings: name -> (default, check kind, lower bound, upper bound, what is allowed)
SETTINGS: dict[str, tuple[Any, str, float | None, float | None, str]] = {
    "steps": (PARAMETERS["steps"].default, "int", 1, PARAMETERS["steps"].high, "an integer number of months in [1, 600]"),
    "calibrate": (None, "names", None, None, "a list of continuous parameter names"),
    "population": (200, "int", 10, 100_000, "an integer in [10, 100000]: particles per generation"),
    "generations": (8, "int", 1, 1000, "an integer in [1, 1000]"),
    "max_simulations": (20_000, "int", 1, 10**9, "a positive integer"),
    "min_epsilon": (1.0, "float", 0, None, "a number >= 0"),
    "min_acceptance_rate": (0.01, "float", 0, 1, "a number in [0, 1)"),
    "seed": (20211, "int", 0, MAX_SEED, SEED_RULE),
    "ppc_draws": (200, "int", 1, 100_000, "an integer in [1, 100000]"),
}
DEFAULT_CALIBRATE: tuple[str, ...] = ("individual_turnover", "leadership", "trust_gain")

TARGET_KEYS = ("output", "month", "months", "value", "values", "sd", "interval", "intervals", "note")


class CaseError(InputFileError):
    """A case file that cannot be used: names the file, the field, the problem and what is allowed."""


@dataclass(frozen=True)
class Observation:
    """One observed point: an output at a month, as value +- sd or as an interval [low, high]."""

    output: str
    month: int
    value: float | None = None
    sd: float | None = None
    low: float | None = None
    high: float | None = None
    target: int = 1  # the [[targets]] entry (1-based) it comes from; a table's statistics share one number
    source: str = "targets"  # "targets", or the table a statistic summarises (survey, attendance, roster)

    @property
    def key(self) -> str:
        """Its name among the summary statistics: ``output@month``."""
        return f"{self.output}@{self.month}"

    @property
    def kind(self) -> str:
        return "interval" if self.low is not None else "value"

    @property
    def centre(self) -> float:
        """The value, or the middle of the interval."""
        return self.value if self.value is not None else 0.5 * (self.low + self.high)

    def distance(self, simulated: float) -> float:
        """Normalised distance: |sim - value| / sd; for an interval 0 inside, the gap / half its width outside.

        A value the simulation cannot give (nan: no respondents, a type absent) is MISSING_DISTANCE away.
        """
        if math.isnan(simulated):
            return MISSING_DISTANCE
        if self.value is not None:
            return abs(simulated - self.value) / self.sd
        half = 0.5 * (self.high - self.low)
        if simulated < self.low:
            return (self.low - simulated) / half
        if simulated > self.high:
            return (simulated - self.high) / half
        return 0.0

    def met(self, simulated: float) -> bool:
        """Inside the interval, or within one sd of the value."""
        return self.distance(simulated) <= (0.0 if self.value is None else 1.0)


@dataclass(frozen=True)
class Case:
    """A case file as read and checked."""

    name: str
    path: Path
    hash: str  # sha256 of the file's bytes
    description: str
    provenance: dict[str, Any]
    structure: dict[str, Any]  # the fixed parameter values the file sets (checked against the schema)
    priors: dict[str, tuple[float, float]]  # prior ranges the file sets
    settings: dict[str, Any]  # every setting, defaults filled in
    observations: tuple[Observation, ...]
    targets: tuple[dict[str, Any], ...] = field(default=(), repr=False)  # the [[targets]] tables as written
    tables: dict[str, Path] = field(default_factory=dict)  # the evaluators' tables it names, by kind
    evaluation: Any = field(default=None, repr=False)  # those tables as read (calibration.observe.Evaluation)
    design: Any = None  # what they collected (calibration.tables.Design), None without tables
    types: tuple[int, ...] = ()  # stakeholder types whose attendance and departures are summarised

    @property
    def steps(self) -> int:
        return self.settings["steps"]

    @property
    def synthetic(self) -> bool:
        return bool(self.provenance.get("synthetic", False))

    def fixed_parameters(self) -> dict[str, Any]:
        """Complete, validated parameters of the case: defaults, then structure, then the horizon."""
        return validate_parameters({**self.structure, "steps": self.steps}, where=str(self.path))


def shipped_cases() -> dict[str, Path]:
    """The shipped case files by name (file stem)."""
    return {p.stem: p for p in sorted(DATA_DIR.glob("*.toml"))}


def resolve_case(name_or_path: str | Path) -> Path:
    """The file a shipped case name or a path refers to."""
    text = str(name_or_path)
    shipped = shipped_cases()
    path = Path(text).expanduser()
    kind = file_kind(path, CaseError)
    if isinstance(name_or_path, str) and text in shipped and file_kind(Path(text), CaseError) == "missing":
        return shipped[text]
    if kind == "missing":
        raise CaseError(
            "no such case file" + (f" (shipped cases: {', '.join(shipped)})" if shipped else ""),
            path=path, field="case", value=text, allowed="an existing .toml case file or a shipped case name",
        )
    if kind != "file":
        raise CaseError("not a file", path=path, field="case", value=text, allowed="a .toml case file")
    return path


def load_case(name_or_path: str | Path) -> Case:
    """Read and check a case file (a path, or the name of a shipped case)."""
    path = resolve_case(name_or_path)
    doc = read_toml(path, CaseError)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    def fail(fld: str, problem: str, value: Any = None, allowed: str | None = None) -> CaseError:
        return CaseError(f"{fld}: {problem}", path=path, field=fld, value=value, allowed=allowed)

    for k in doc:
        if k not in TOP_LEVEL:
            raise fail(k, f"unknown top-level key; allowed keys are {', '.join(TOP_LEVEL)}", doc[k], ", ".join(TOP_LEVEL))
    for k, (required, allowed) in TOP_LEVEL.items():
        if k not in doc:
            if required:
                raise fail(k, f"missing: it must be {allowed}", allowed=allowed)
            continue
        v = doc[k]
        ok = {
            "name": isinstance(v, str) and v.strip() != "",
            "description": isinstance(v, str),
            "targets": isinstance(v, list) and bool(v) and all(isinstance(t, dict) for t in v),
        }.get(k, isinstance(v, dict))
        if not ok:
            raise fail(k, f"{v!r} is not allowed: it must be {allowed}", v, allowed)

    provenance = _provenance(doc["provenance"], fail)
    settings = _settings(doc.get("settings", {}), fail)
    structure = _structure(doc.get("structure", {}), settings["steps"], fail, path)
    priors = _priors(doc.get("priors", {}), fail)
    seats = validate_parameters({**structure, "steps": settings["steps"]})["seats"]
    tables = _table_paths(doc.get("tables", {}), path, fail)
    if not tables and "targets" not in doc:
        raise fail("targets", "missing: a case needs [[targets]] or [tables] (or both)",
                   allowed="one or more [[targets]] tables, or [tables] naming survey, attendance or roster files")
    observations = _targets(doc.get("targets", []), settings["steps"], seats, fail)
    if tables and "min_epsilon" not in doc.get("settings", {}):
        settings["min_epsilon"] = 0.0  # the tables' distance has no unit to stop at (calibration.abc.table_distance)
    evaluation = design = None
    types: tuple[int, ...] = ()
    if tables:
        from calibration.tables import TableError, design_of, read_tables

        try:
            evaluation = read_tables(tables, settings["steps"], path)
        except TableError as exc:
            raise CaseError(str(exc)) from None
        design = design_of(evaluation, tables)
        types = tuple(sorted(set(evaluation.roster["type"].tolist()) | set(evaluation.attendance["type"].tolist())))
        observations += table_observations(evaluation, design, types, first=len(doc.get("targets", [])) + 1)
        for kind in sorted(tables):
            digest = hashlib.sha256((digest + hashlib.sha256(tables[kind].read_bytes()).hexdigest()).encode()).hexdigest()
    return Case(
        name=doc["name"].strip(),
        path=path,
        hash=digest,
        description=doc.get("description", ""),
        provenance=provenance,
        structure=structure,
        priors=priors,
        settings=settings,
        observations=observations,
        targets=tuple(doc.get("targets", [])),
        tables=tables,
        evaluation=evaluation,
        design=design,
        types=types,
    )


def _table_paths(table: dict[str, Any], path: Path, fail) -> dict[str, Path]:
    """The tables a case names, as paths (relative ones from the case file's folder); each must be a file."""
    from calibration.tables import TABLE_KINDS

    out: dict[str, Path] = {}
    for kind, v in table.items():
        fld = f"tables.{kind}"
        if kind not in TABLE_KINDS:
            raise fail(fld, f"unknown table; allowed tables are {', '.join(TABLE_KINDS)}", v, ", ".join(TABLE_KINDS))
        if not isinstance(v, str) or not v.strip():
            raise fail(fld, f"{v!r} is not allowed: it must be a CSV file's path", v, "a path (relative to the case file)")
        file = Path(v).expanduser()
        file = file if file.is_absolute() else path.parent / file
        if file_kind(file, CaseError) != "file":
            raise fail(fld, f"{v!r}: no such file ({file})", v, "an existing CSV file (relative to the case file)")
        out[kind] = file
    return out


def table_observations(evaluation: Any, design: Any, types: tuple[int, ...], first: int) -> tuple[Observation, ...]:
    """The statistics of the tables as observations: value +- sd, sd = sqrt(2) x the sampling error.

    The simulated statistic has about the same sampling error as the observed one, so
    their difference has twice its variance. A table's statistics share one target number
    (survey, attendance and roster in that order, after the [[targets]] entries).
    """
    from calibration.tables import TABLE_KINDS, summarise

    numbers = {kind: first + i for i, kind in enumerate(k for k in TABLE_KINDS if k in design.tables)}
    out = []
    for stat in summarise(evaluation, design, types):
        if math.isnan(stat.value):
            continue  # the observed tables cannot give it (a wave without answers to a section)
        output, month = stat.key.rsplit("@", 1)
        out.append(Observation(output, int(month), value=stat.value, sd=math.sqrt(2.0) * stat.se,
                               target=numbers[stat.table], source=stat.table))
    return tuple(out)


def _provenance(table: dict[str, Any], fail) -> dict[str, Any]:
    for k, v in table.items():
        if k not in PROVENANCE_KEYS:
            raise fail(f"provenance.{k}", f"unknown key; allowed keys are {', '.join(PROVENANCE_KEYS)}",
                       v, ", ".join(PROVENANCE_KEYS))
    for k, (required, allowed) in PROVENANCE_KEYS.items():
        if k not in table:
            if required:
                raise fail(f"provenance.{k}", f"missing: it must be {allowed}", allowed=allowed)
            continue
        v = table[k]
        ok = isinstance(v, bool) if k == "synthetic" else isinstance(v, dict) if k == "generated" else (
            isinstance(v, str) and (k == "notes" or v.strip() != ""))
        if not ok:
            raise fail(f"provenance.{k}", f"{v!r} is not allowed: it must be {allowed}", v, allowed)
    return dict(table)


def _settings(table: dict[str, Any], fail) -> dict[str, Any]:
    out = {name: spec[0] for name, spec in SETTINGS.items()}
    for k, v in table.items():
        fld = f"settings.{k}"
        if k not in SETTINGS:
            raise fail(fld, f"unknown setting; allowed settings are {', '.join(SETTINGS)}", v, ", ".join(SETTINGS))
        _, kind, low, high, allowed = SETTINGS[k]
        if kind == "names":
            if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
                raise fail(fld, f"{v!r} is not allowed: it must be {allowed}", v, allowed)
            for name in v:
                check_calibrated_name(name, lambda problem, allowed_, name=name, fld=fld: fail(
                    fld, f"{name!r} {problem}", name, allowed_))
            if len(set(v)) != len(v):
                raise fail(fld, f"{v!r} names a parameter twice", v, allowed)
            out[k] = list(v)
            continue
        number = _number(v, integer=(kind == "int"))
        too_high = (
            number is not None and high is not None and (number >= high if k == "min_acceptance_rate" else number > high)
        )
        if number is None or (low is not None and number < low) or too_high:
            raise fail(fld, f"{v!r} is not allowed: it must be {allowed}", v, allowed)
        out[k] = number
    if out["calibrate"] is None:
        out["calibrate"] = list(DEFAULT_CALIBRATE)
    return out


def check_calibrated_name(name: str, fail) -> None:
    """Raise ``fail(problem, allowed)`` unless ``name`` is a parameter calibration can vary."""
    allowed = "a continuous model parameter (see 'phc-synergy params'), not 'steps'"
    if name not in PARAMETERS:
        raise fail("is not a parameter of the model", allowed)
    if PARAMETERS[name].kind is not float:
        raise fail("is not a continuous parameter (integers and tables cannot be calibrated)", allowed)


def _structure(table: dict[str, Any], steps: int, fail, path: Path) -> dict[str, Any]:
    if "steps" in table:
        raise fail("structure.steps", "the horizon is set in [settings] steps, not in [structure]",
                   table["steps"], "settings.steps")
    try:
        full = validate_parameters({**table, "steps": steps}, strict=True)
    except ParameterError as exc:
        raise fail(f"structure.{exc.name}", f"{exc.value!r} is not allowed: {exc.allowed}", exc.value,
                   exc.allowed) from None
    return {name: full[name] for name in table}


def _priors(table: dict[str, Any], fail) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for name, v in table.items():
        fld = f"priors.{name}"
        check_calibrated_name(name, lambda problem, allowed, fld=fld, v=v: fail(fld, problem, v, allowed))
        p = PARAMETERS[name]
        allowed = f"[low, high] with {p.low:g} <= low < high <= {p.high:g} (the schema's bounds)"
        pair = [_number(x) for x in v] if isinstance(v, list) and len(v) == 2 else None
        if pair is None or None in pair:
            raise fail(fld, f"{v!r} is not allowed: it must be {allowed}", v, allowed)
        low, high = pair
        if low >= high:
            raise fail(fld, f"{v!r} is upside down or empty: low must be below high", v, allowed)
        if low < p.low or high > p.high:
            raise fail(fld, f"{v!r} goes beyond the schema's bounds", v, allowed)
        out[name] = (float(low), float(high))
    return out


def _number(v: Any, integer: bool = False) -> float | int | None:
    """A finite number (an integer when ``integer``), else None."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if integer:
        if isinstance(v, float):
            if not v.is_integer():
                return None
            v = int(v)
        return v
    try:
        return float(v)
    except OverflowError:  # an int too large for a float (TOML allows any size)
        return None


def _targets(targets: list[dict[str, Any]], steps: int, seats: int, fail) -> tuple[Observation, ...]:
    observations: list[Observation] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(targets, start=1):
        base = f"targets[{i}]"
        for k in t:
            if k not in TARGET_KEYS:
                raise fail(f"{base}.{k}", f"unknown key in [[targets]] entry {i}; allowed keys are"
                           f" {', '.join(TARGET_KEYS)}", t[k], ", ".join(TARGET_KEYS))
        output = t.get("output")
        if output is None:
            raise fail(f"{base}.output", f"missing in [[targets]] entry {i}: the output observed",
                       allowed="one of " + ", ".join(TARGET_OUTPUTS))
        if output not in TARGET_OUTPUTS:
            raise fail(f"{base}.output", f"unknown output {output!r}; allowed outputs are "
                       + ", ".join(TARGET_OUTPUTS), output, ", ".join(TARGET_OUTPUTS))
        series = "months" in t
        if series == ("month" in t):
            raise fail(f"{base}.month", "give either 'month' (one observation) or 'months' (a time series)",
                       allowed="month = M, or months = [M1, M2, ...]")
        months = _months(t, base, series, steps, fail)
        n = len(months)
        has_value = ("values" if series else "value") in t
        has_interval = ("intervals" if series else "interval") in t
        vkey, ikey = ("values", "intervals") if series else ("value", "interval")
        if has_value == has_interval:
            raise fail(f"{base}.{vkey}", f"give either '{vkey}' with 'sd', or '{ikey}'",
                       allowed=f"{vkey} and sd, or {ikey}")
        low_ok, high_ok = OUTPUT_RANGES[output]
        if output == "active_seats":
            high_ok = float(seats)
        possible = _range_text(output, low_ok, high_ok)
        for other in ("value", "values", "interval", "intervals"):
            if other in t and other not in (vkey, ikey):
                raise fail(f"{base}.{other}", f"'{other}' goes with {'month' if other in ('value', 'interval') else 'months'}",
                           t[other], f"{vkey} or {ikey} with {'months' if series else 'month'}")
        if has_value:
            if "sd" not in t:
                raise fail(f"{base}.sd", "missing: a value needs its uncertainty (sd > 0)", allowed="a number > 0")
            raw_values = t[vkey] if series else [t[vkey]]
            if series and (not isinstance(raw_values, list) or len(raw_values) != n):
                raise fail(f"{base}.values", f"{raw_values!r} is not allowed: one number per month ({n})",
                           raw_values, f"a list of {n} numbers")
            raw_sd = t["sd"]
            sds = raw_sd if isinstance(raw_sd, list) else [raw_sd] * n
            if not series and isinstance(raw_sd, list):
                raise fail(f"{base}.sd", f"{raw_sd!r} is not allowed: one number", raw_sd, "a number > 0")
            if len(sds) != n:
                raise fail(f"{base}.sd", f"{raw_sd!r} is not allowed: one sd, or one per month ({n})",
                           raw_sd, f"a number > 0 or a list of {n}")
            for j, (raw, raw_s) in enumerate(zip(raw_values, sds, strict=True)):
                fld = f"{base}.{vkey}" + (f"[{j + 1}]" if series else "")
                value = _number(raw)
                if value is None:
                    raise fail(fld, f"{raw!r} is not allowed: a number", raw, "a number")
                if not _within(value, low_ok, high_ok):
                    raise fail(fld, f"{raw!r} is impossible for {output} ({possible})", raw, possible)
                sd = _number(raw_s)
                if sd is None or sd <= 0:
                    sfld = f"{base}.sd" + (f"[{j + 1}]" if isinstance(raw_sd, list) else "")
                    raise fail(sfld, f"{raw_s!r} is not allowed: an uncertainty must be a number > 0", raw_s,
                               "a number > 0")
                observations.append(Observation(output, months[j], value=value, sd=sd, target=i))
        else:
            raw_intervals = t[ikey] if series else [t[ikey]]
            if series and (not isinstance(raw_intervals, list) or len(raw_intervals) != n):
                raise fail(f"{base}.intervals", f"{raw_intervals!r} is not allowed: one [low, high] per month ({n})",
                           raw_intervals, f"a list of {n} [low, high] pairs")
            for j, raw in enumerate(raw_intervals):
                fld = f"{base}.{ikey}" + (f"[{j + 1}]" if series else "")
                pair = [_number(x) for x in raw] if isinstance(raw, list) and len(raw) == 2 else None
                if pair is None or None in pair:
                    raise fail(fld, f"{raw!r} is not allowed: an interval [low, high] of two numbers", raw,
                               "[low, high]")
                low, high = pair
                if low > high:
                    raise fail(fld, f"{raw!r} is upside down: low must be below high", raw, "[low, high], low < high")
                if low == high:
                    raise fail(fld, f"{raw!r} is empty: for an exact value give 'value' and 'sd'", raw,
                               "[low, high], low < high")
                if not (_within(low, low_ok, high_ok) and _within(high, low_ok, high_ok)):
                    raise fail(fld, f"{raw!r} is impossible for {output} ({possible})", raw, possible)
                observations.append(Observation(output, months[j], low=low, high=high, target=i))
        for obs in observations[-n:]:
            if obs.key in seen:
                raise fail(f"{base}.{'months' if series else 'month'}",
                           f"{output} at month {obs.month} is already a target ([[targets]] entry {seen[obs.key]})",
                           obs.month, "each output at each month once")
            seen[obs.key] = i
    return tuple(observations)


def _months(t: dict[str, Any], base: str, series: bool, steps: int, fail) -> list[int]:
    allowed = f"a whole month in [0, {steps}] (the horizon, settings.steps)"
    raw = t["months"] if series else [t["month"]]
    if series and (not isinstance(raw, list) or not raw):
        raise fail(f"{base}.months", f"{raw!r} is not allowed: a non-empty list of months", raw, allowed)
    months: list[int] = []
    for j, m in enumerate(raw):
        fld = f"{base}.months[{j + 1}]" if series else f"{base}.month"
        month = _number(m, integer=True)
        if month is None or month < 0:
            raise fail(fld, f"{m!r} is not allowed: {allowed}", m, allowed)
        if month > steps:
            raise fail(fld, f"month {month} is beyond the horizon (steps = {steps})", m, allowed)
        if months and month <= months[-1]:
            raise fail(fld, f"months must increase ({month} after {months[-1]})", m, "increasing months")
        months.append(int(month))
    return months


def _within(x: float, low: float | None, high: float | None) -> bool:
    return (low is None or x >= low) and (high is None or x <= high)


def _range_text(output: str, low: float | None, high: float | None) -> str:
    meaning = OUTPUT_MEANINGS[output]
    if output in COUNT_OUTPUTS:
        bound = "a count >= 0" + (f" and <= {high:g} (the seats)" if high is not None else "")
        return f"{bound}: {meaning}"
    return f"a value in [{low:g}, {high:g}]: {meaning}"

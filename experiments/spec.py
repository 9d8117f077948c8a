"""Sweep specifications: a TOML file that says which runs a sweep makes.

A spec names a base scenario, fixed overrides, the varied parameters with their
ranges, a design, replicates, the horizon, the root seed and the outputs to keep.
``experiments/configs/example_sweep.toml`` is a commented example of every key.

    spec = load_spec("experiments/configs/example_sweep.toml")
    spec.n_points, spec.n_runs          # design points, runs (points x replicates)
    spec.design                         # Design: SALib problem, raw sample X, rounded values
    spec.hash                           # stable hash of the normalised spec
    spec.plan()                         # the SweepPlan the engine runs (experiments.engine)

Everything is checked when the spec is loaded, before any run starts: every
problem raises :class:`SpecError`, whose message names the file, the field, the
value and what is allowed. Every design point is validated against the model's
parameter schema too (for example ``shock_month`` must not exceed ``steps``).

Designs (``[design] method``):

- ``grid``: full factorial; each varied parameter takes ``levels`` evenly spaced
  values from low to high (``[design] levels``, or per parameter ``levels`` or an
  explicit ``values`` list). Points in ``itertools.product`` order (the first
  varied parameter changes slowest).
- ``lhs``: Latin hypercube of ``n`` points (``SALib.sample.latin``).
- ``sobol``: Saltelli/Sobol' sample (``SALib.sample.sobol``, scrambled) with base
  sample size ``n``, a power of two; ``n x (D + 2)`` points, or ``n x (2D + 2)``
  with ``calc_second_order = true`` (D counts the dummy).
- ``morris``: ``trajectories`` one-at-a-time trajectories on a grid of ``levels``
  (even) levels (``SALib.sample.morris``); ``trajectories x (D + 1)`` points.
- ``qmc``: a space-filling quasi-Monte Carlo sequence of ``n`` points from
  ``scipy.stats.qmc``: ``sampler = "sobol"`` (scrambled Sobol', ``n`` a power of
  two, the default) or ``"halton"`` (scrambled Halton, any ``n``). More even than
  ``lhs`` in every projection, for sweeps that map the space (and ``discover``).
- ``file``: your own points, ``path = "points.csv"`` (or ``.parquet``; relative to the
  spec): one column per varied parameter, one row per design point. Without
  ``[vary]`` the columns are the varied parameters (ranges: the schema's bounds);
  with it, the columns must be its parameters and every value inside its ranges.
  Every value is checked against the schema (a wrong column, a text, a value out
  of range: one line naming the file, the row and the column). The spec's hash
  covers the points, so a changed file is a different sweep.

Integer parameters are rounded to the nearest integer (halves up) after sampling,
so the two end values of an integer range get half the weight of the others. The
raw sample (``Design.X``, before rounding) is what SALib's analysers expect and is
stored with every sweep (``_design.parquet``). With ``dummy = true`` (sobol and
morris) the design gets one more input, ``dummy``, uniform on [0, 1], which the
model never sees: an index at or below the dummy's is indistinguishable from noise.

The sampler's seed is ``[design] seed``, by default the root seed.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import InputFileError, read_toml
from model.outputs import OUTPUTS, SUMMARY_OUTPUTS
from model.parameters import PARAMETERS, ParameterError, validate_parameters
from model.scenarios import ScenarioError, load_scenario, read_scenario
from model.seeds import MAX_SEED, SEED_RULE

SPEC_FORMAT = 1  # bumped when the meaning of a normalised spec changes (changes every hash)
DESIGNS: tuple[str, ...] = ("grid", "lhs", "sobol", "morris", "qmc", "file")
QMC_SAMPLERS: tuple[str, ...] = ("sobol", "halton")
POINTS_FORMATS: tuple[str, ...] = (".csv", ".parquet")
DUMMY = "dummy"  # name of the input the model ignores (morris and sobol designs)
MAX_RUNS = 10_000_000
MAX_REPLICATES = 100_000
MAX_LEVELS = MAX_RUNS  # grid and Morris levels of one input (a grid's size is checked from the product)
MAX_SOBOL_N = 2**23  # the largest power of two whose base sample fits in MAX_RUNS
DEFAULT_GRID_LEVELS = 3
DEFAULT_MORRIS_LEVELS = 4

TOP_LEVEL: dict[str, str] = {
    "name": "a string naming the sweep (default: the file name)",
    "description": "a one-line string",
    "scenario": "a shipped scenario name or a path to a scenario .toml file (relative to the spec)",
    "root_seed": SEED_RULE,
    "replicates": f"an integer in [1, {MAX_REPLICATES:,}]",
    "steps": "an integer number of months in [1, 600] (the model's 'steps' parameter)",
    "fixed": "a table of parameter values every run gets ([fixed])",
    "vary": "a table of varied parameters ([vary]; optional for a grid: one point)",
    "design": "a table describing the design ([design])",
    "outputs": "a table of outputs to keep ([outputs])",
    "posterior": "true (default) or false: when the scenario is a calibrated.toml, replicate k of every point"
    " takes posterior draw k",
}
REQUIRED = ("scenario", "root_seed", "replicates", "design")
DESIGN_KEYS: dict[str, dict[str, str]] = {
    "grid": {"levels": f"an integer in [2, {MAX_LEVELS:,}]: values per varied parameter (default 3)"},
    "lhs": {
        "n": f"an integer in [2, {MAX_RUNS:,}]: the number of design points",
        "seed": f"the sampler's seed, {SEED_RULE} (default: root_seed)",
    },
    "sobol": {
        "n": f"a power of two in [2, {MAX_SOBOL_N:,}] (e.g. 256, 512, 1024): the base sample size",
        "calc_second_order": "true or false (default false): sample for second-order indices too",
        "dummy": "true or false (default false): add an input the model ignores",
        "seed": f"the sampler's seed, {SEED_RULE} (default: root_seed)",
    },
    "qmc": {
        "sampler": "'sobol' (default: scrambled Sobol' sequence) or 'halton' (scrambled Halton sequence)",
        "n": f"an integer in [2, {MAX_RUNS:,}]: the number of points (a power of two for sobol)",
        "seed": f"the scrambling seed, {SEED_RULE} (default: root_seed)",
    },
    "file": {
        "path": "a .csv or .parquet file of design points (relative to the spec): one column per varied parameter",
    },
    "morris": {
        "trajectories": f"an integer in [2, {MAX_RUNS:,}]: the number of trajectories",
        "levels": f"an even integer in [2, {MAX_LEVELS:,}]: grid levels of each input (default 4)",
        "dummy": "true or false (default false): add an input the model ignores",
        "seed": f"the sampler's seed, {SEED_RULE} (default: root_seed)",
    },
}
VARY_KEYS: dict[str, str] = {
    "low": "the lowest value (default: the schema's lower bound)",
    "high": "the highest value (default: the schema's upper bound)",
    "levels": f"grid only: an integer in [2, {MAX_LEVELS:,}], values for this parameter",
    "values": "grid only: an explicit list of values",
}
OUTPUT_KEYS: dict[str, str] = {
    "series": "false (default), true (every per-step output) or a list of per-step output names",
}


class SpecError(InputFileError):
    """A sweep spec that cannot be used: names the file, the field, the value and what is allowed."""


@dataclass(frozen=True)
class Varied:
    """One varied input: its name, kind ('int' or 'float'), range and (grid) values."""

    name: str
    kind: str
    low: float
    high: float
    levels: int | None = None  # grid: number of values (when values is None)
    values: tuple | None = None  # grid: explicit values

    def grid_size(self) -> int:
        """How many values :meth:`grid_values` gives, from the numbers alone (nothing is built)."""
        if self.values is not None:
            return len(self.values)
        levels = self.levels or DEFAULT_GRID_LEVELS
        if self.kind == "int":
            # levels evenly spaced and rounded give every integer of the range once the spacing is below 1
            return min(levels, math.floor(self.high) - math.ceil(self.low) + 1)
        return levels

    def grid_values(self) -> list:
        """The values a grid design gives this input (integers rounded and de-duplicated, in order)."""
        if self.values is not None:
            return list(self.values)
        levels = self.levels or DEFAULT_GRID_LEVELS
        if self.kind == "int":
            lo, hi = math.ceil(self.low), math.floor(self.high)
            if levels >= hi - lo + 1:  # every integer of the range, without a linspace of `levels` values
                return list(range(lo, hi + 1))
        raw = np.linspace(self.low, self.high, levels)
        values = (_round_int(x) for x in raw) if self.kind == "int" else (float(x) for x in raw)
        return list(dict.fromkeys(values))  # de-duplicated in one pass, first occurrence kept

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "low": self.low, "high": self.high}
        if self.levels is not None:
            d["levels"] = self.levels
        if self.values is not None:
            d["values"] = list(self.values)
        return d


@dataclass(frozen=True)
class Design:
    """A design: the SALib problem, the raw sample and the values each point gives the model.

    ``X`` has one row per design point and one column per name (SALib's layout:
    what its analysers expect); ``values[i]`` is the tuple of values point ``i``
    gives, integers rounded.
    """

    method: str
    names: tuple[str, ...]
    kinds: tuple[str, ...]  # 'int' or 'float' per name
    problem: dict[str, Any]
    X: np.ndarray
    values: list[tuple]

    @property
    def n_points(self) -> int:
        return len(self.values)

    def point(self, i: int) -> dict[str, Any]:
        """Point ``i`` as a dict name -> value (integers rounded)."""
        return dict(zip(self.names, self.values[i], strict=True))

    @cached_property
    def hash(self) -> str:
        """A hash of the names and raw sample: detects a sampler that changed between two versions."""
        h = hashlib.sha256()
        h.update(json.dumps([self.method, list(self.names)]).encode())
        h.update(np.ascontiguousarray(self.X, dtype="<f8").tobytes())
        h.update(json.dumps([list(v) for v in self.values]).encode())
        return h.hexdigest()


@dataclass(frozen=True)
class Spec:
    """A validated sweep spec. Build with :func:`load_spec` or :func:`spec_from_dict`."""

    name: str
    description: str
    path: Path | None
    scenario: str
    base: dict[str, Any]  # the scenario's complete parameters
    fixed: dict[str, Any]  # overrides every run gets (includes 'steps' when the spec sets it)
    varied: tuple[Varied, ...]
    method: str
    n: int | None
    levels: int | None
    trajectories: int | None
    calc_second_order: bool
    dummy: bool
    sample_seed: int
    replicates: int
    root_seed: int
    series: tuple[str, ...]
    design: Design = field(repr=False, compare=False)
    sampler: str | None = None  # qmc: 'sobol' or 'halton'
    points_path: str | None = None  # file: the path as the spec gives it
    # Per replicate, the posterior values it takes (calibrated scenario, 'posterior = true'), without the
    # parameters that [fixed] sets or the design varies: those win. None when there is no posterior.
    draws: tuple[dict[str, Any], ...] | None = None

    # ------------------------------------------------------------------ derived
    @property
    def n_points(self) -> int:
        return self.design.n_points

    @property
    def n_runs(self) -> int:
        return self.design.n_points * self.replicates

    @property
    def summary_outputs(self) -> tuple[str, ...]:
        return SUMMARY_OUTPUTS

    @property
    def parameters(self) -> dict[str, Any]:
        """What every run gets before its design point: the scenario's parameters with the fixed overrides."""
        return {**copy.deepcopy(self.base), **copy.deepcopy(self.fixed)}

    def point_parameters(self, point_id: int) -> dict[str, Any]:
        """The complete model parameters of a design point (without the dummy)."""
        params = self.parameters
        params.update({k: v for k, v in self.design.point(point_id).items() if k != DUMMY})
        return params

    def to_dict(self) -> dict[str, Any]:
        """The normalised spec: every default filled in, every value of its schema type (JSON-able)."""
        design: dict[str, Any] = {"method": self.method}
        if self.method == "grid":
            design["levels"] = self.levels
        elif self.method == "lhs":
            design.update(n=self.n, seed=self.sample_seed)
        elif self.method == "sobol":
            design.update(n=self.n, calc_second_order=self.calc_second_order, dummy=self.dummy, seed=self.sample_seed)
        elif self.method == "qmc":
            design.update(sampler=self.sampler, n=self.n, seed=self.sample_seed)
        elif self.method == "file":
            design.update(path=self.points_path, points=self.design.hash)  # the points, not just the name
        else:
            design.update(trajectories=self.trajectories, levels=self.levels, dummy=self.dummy, seed=self.sample_seed)
        return {
            "format": SPEC_FORMAT,
            "name": self.name,
            "description": self.description,
            "scenario": self.scenario,
            "base": _json_params(self.base),
            "fixed": _json_params(self.fixed),
            "vary": {v.name: v.to_dict() for v in self.varied},
            "design": design,
            "replicates": self.replicates,
            "root_seed": self.root_seed,
            "outputs": {"summary": list(SUMMARY_OUTPUTS), "series": list(self.series)},
            **({"posterior_draws": [_json_params(d) for d in self.draws]} if self.draws is not None else {}),
        }

    @cached_property
    def hash(self) -> str:
        return spec_hash(self)

    def plan(self):  # -> experiments.engine.SweepPlan
        """The runs of this spec as a SweepPlan (what experiments.sweep.run_sweep executes)."""
        from experiments.engine import SweepPlan

        return SweepPlan.from_spec(self)


# ---------------------------------------------------------------------------- hashing
def spec_hash(spec: Spec | dict[str, Any]) -> str:
    """SHA-256 (hex) of the normalised spec, without its name and description.

    Two specs with the same hash make the same runs: same base parameters (the
    scenario's values, not just its name), overrides, varied ranges, design,
    replicates, root seed and kept outputs.
    """
    doc = spec.to_dict() if isinstance(spec, Spec) else dict(spec)
    doc = {k: v for k, v in doc.items() if k not in ("name", "description")}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in params.items()}


# ---------------------------------------------------------------------------- loading
def load_spec(path: str | Path) -> Spec:
    """Read, check and normalise a sweep spec file (raises SpecError)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise SpecError("no such spec file", path=path)
    if not path.is_file():
        raise SpecError("not a file", path=path)
    doc = read_toml(path, SpecError)
    return spec_from_dict(doc, path=path)


def spec_from_dict(doc: dict[str, Any], path: str | Path | None = None, base_dir: str | Path | None = None) -> Spec:
    """Check and normalise a spec given as a dict (the parsed TOML).

    ``path`` names the source in error messages; a relative scenario path is
    resolved against ``base_dir`` (default: the folder of ``path``, else the
    current folder).
    """
    return _Checker(doc, path, base_dir).spec()


class _Checker:
    def __init__(self, doc: dict[str, Any], path: str | Path | None, base_dir: str | Path | None):
        self.doc = doc
        self.path = Path(path) if path is not None else None
        if base_dir is not None:
            self.base_dir = Path(base_dir)
        elif self.path is not None:
            self.base_dir = self.path.parent
        else:
            self.base_dir = Path.cwd()

    # -- error helpers
    def fail(self, field_: str, value: Any, allowed: str, problem: str | None = None) -> SpecError:
        message = problem or f"{field_} = {_show(value)} is not allowed: {allowed}"
        return SpecError(message, path=self.path or "<spec>", field=field_, value=value, allowed=allowed)

    def unknown_key(self, section: str, key: str, allowed: dict[str, str] | tuple[str, ...], value: Any) -> SpecError:
        names = list(allowed)
        near = difflib.get_close_matches(key, names, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        where = f"[{section}] " if section else ""
        return self.fail(
            f"{section}.{key}" if section else key,
            value,
            "one of " + ", ".join(names),
            f"{where}unknown key {key!r}{hint}; allowed keys are {', '.join(names)}",
        )

    def table(self, key: str, required: bool = False) -> dict[str, Any]:
        value = self.doc.get(key)
        if value is None:
            if required:
                raise self.fail(key, None, TOP_LEVEL[key], f"missing [{key}]: it must be {TOP_LEVEL[key]}")
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, value, TOP_LEVEL[key])
        return value

    def integer(self, field_: str, value: Any, low: int, high: int | None, allowed: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            raise self.fail(field_, value, allowed)
        return value

    def boolean(self, field_: str, value: Any, allowed: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field_, value, allowed)
        return value

    # -- the whole spec
    def spec(self) -> Spec:
        doc = self.doc
        if not isinstance(doc, dict):
            raise SpecError("a spec must be a table of keys", path=self.path or "<spec>")
        for key in doc:
            if key not in TOP_LEVEL:
                raise self.unknown_key("", key, TOP_LEVEL, doc[key])
        for key in REQUIRED:
            if key not in doc:
                raise self.fail(key, None, TOP_LEVEL[key], f"missing {key!r}: it must be {TOP_LEVEL[key]}")

        default_name = self.path.stem if self.path is not None else "sweep"
        name = doc.get("name", default_name)
        if not isinstance(name, str) or not name.strip():
            raise self.fail("name", name, TOP_LEVEL["name"])
        description = doc.get("description", "")
        if not isinstance(description, str):
            raise self.fail("description", description, TOP_LEVEL["description"])
        root_seed = self.integer("root_seed", doc["root_seed"], 0, MAX_SEED, TOP_LEVEL["root_seed"])
        replicates = self.integer("replicates", doc["replicates"], 1, MAX_REPLICATES, TOP_LEVEL["replicates"])

        scenario, base = self.scenario(doc["scenario"])
        use_posterior = doc.get("posterior", True)
        if not isinstance(use_posterior, bool):
            raise self.fail("posterior", use_posterior, TOP_LEVEL["posterior"])
        fixed = self.fixed(base)
        design_doc = self.table("design", required=True)
        method = self.method(design_doc)
        varied = self.vary(method, fixed)
        series = self.outputs()

        # design keys
        for key in design_doc:
            if key != "method" and key not in DESIGN_KEYS[method]:
                allowed_here = ("method", *DESIGN_KEYS[method])
                other = [m for m in DESIGNS if key in DESIGN_KEYS[m]]
                if other:
                    raise self.fail(
                        f"design.{key}",
                        design_doc[key],
                        "one of " + ", ".join(allowed_here),
                        f"[design] {key!r} does not apply to method {method!r} (it is for {', '.join(other)});"
                        f" {method!r} takes {', '.join(allowed_here)}",
                    )
                raise self.unknown_key("design", key, dict.fromkeys(allowed_here, ""), design_doc[key])
        n = levels = trajectories = sampler = points_path = point_rows = None
        calc_second_order = dummy = False
        seed = root_seed
        if "seed" in design_doc:
            seed = self.integer("design.seed", design_doc["seed"], 0, MAX_SEED, DESIGN_KEYS[method]["seed"])
        if "dummy" in design_doc:
            dummy = self.boolean("design.dummy", design_doc["dummy"], DESIGN_KEYS[method]["dummy"])
        if method == "grid":
            levels = self.integer(
                "design.levels",
                design_doc.get("levels", DEFAULT_GRID_LEVELS),
                2,
                MAX_LEVELS,
                DESIGN_KEYS["grid"]["levels"],
            )
            # [design] levels is the default for every varied input that sets neither levels nor values
            varied = tuple(
                dataclasses.replace(v, levels=levels) if v.levels is None and v.values is None else v for v in varied
            )
        elif method == "lhs":
            if "n" not in design_doc:
                raise self.fail("design.n", None, DESIGN_KEYS["lhs"]["n"], "missing [design] n: the number of points")
            n = self.integer("design.n", design_doc["n"], 2, MAX_RUNS, DESIGN_KEYS["lhs"]["n"])
        elif method == "sobol":
            if "n" not in design_doc:
                raise self.fail("design.n", None, DESIGN_KEYS["sobol"]["n"], "missing [design] n: the base sample size")
            n = design_doc["n"]
            allowed = DESIGN_KEYS["sobol"]["n"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 2 or n > MAX_SOBOL_N or n & (n - 1):
                plain = isinstance(n, int) and not isinstance(n, bool)
                lower = 2 ** max(1, n.bit_length() - 1) if plain and n >= 2 else 2
                hint = f" (nearest below: {lower}, above: {lower * 2})" if plain and 2 < n < MAX_SOBOL_N else ""
                raise self.fail(
                    "design.n",
                    n,
                    allowed,
                    f"[design] n = {_show(n)} is not allowed for a sobol design: it must be {allowed}{hint}",
                )
            calc_second_order = self.boolean(
                "design.calc_second_order",
                design_doc.get("calc_second_order", False),
                DESIGN_KEYS["sobol"]["calc_second_order"],
            )
        elif method == "qmc":
            sampler = design_doc.get("sampler", "sobol")
            if sampler not in QMC_SAMPLERS:
                raise self.fail("design.sampler", sampler, DESIGN_KEYS["qmc"]["sampler"])
            if "n" not in design_doc:
                raise self.fail("design.n", None, DESIGN_KEYS["qmc"]["n"], "missing [design] n: the number of points")
            n = self.integer("design.n", design_doc["n"], 2, MAX_RUNS, DESIGN_KEYS["qmc"]["n"])
            if sampler == "sobol" and n & (n - 1):
                lower = 2 ** (n.bit_length() - 1)
                raise self.fail(
                    "design.n",
                    n,
                    DESIGN_KEYS["qmc"]["n"],
                    f"[design] n = {n} is not allowed for a Sobol' sequence: a power of two keeps its balance"
                    f" (nearest below: {lower}, above: {lower * 2}); sampler = 'halton' takes any n",
                )
        elif method == "file":
            points_path, columns, point_rows = self.points(design_doc)
            varied = self.file_varied(columns, varied, fixed, points_path)
            n = len(point_rows)
        else:  # morris
            if "trajectories" not in design_doc:
                raise self.fail(
                    "design.trajectories",
                    None,
                    DESIGN_KEYS["morris"]["trajectories"],
                    "missing [design] trajectories: the number of Morris trajectories",
                )
            trajectories = self.integer(
                "design.trajectories", design_doc["trajectories"], 2, MAX_RUNS, DESIGN_KEYS["morris"]["trajectories"]
            )
            levels = design_doc.get("levels", DEFAULT_MORRIS_LEVELS)
            levels = self.integer("design.levels", levels, 2, MAX_LEVELS, DESIGN_KEYS["morris"]["levels"])
            if levels % 2:
                raise self.fail("design.levels", levels, DESIGN_KEYS["morris"]["levels"])

        # size check from the numbers, before anything is sampled or built
        D = len(varied) + (1 if dummy else 0)
        if method == "grid":
            points = math.prod(v.grid_size() for v in varied)
        elif method in ("lhs", "qmc", "file"):
            points = n
        elif method == "sobol":
            points = n * ((2 * D + 2) if calc_second_order else (D + 2))
        else:
            points = trajectories * (D + 1)
        if points * replicates > MAX_RUNS:
            sizes = " x ".join(f"{v.grid_size():,}" for v in varied) + " = " if method == "grid" else ""
            raise self.fail(
                "design",
                points * replicates,
                f"at most {MAX_RUNS:,} runs",
                f"the {method} design makes {sizes}{_big(points)} points x {replicates:,} replicates ="
                f" {_big(points * replicates)} runs; at most {MAX_RUNS:,} runs are allowed",
            )

        design = sample_design(
            method,
            varied,
            n=n,
            levels=levels,
            trajectories=trajectories,
            calc_second_order=calc_second_order,
            dummy=dummy,
            seed=seed,
            sampler=sampler,
            points=point_rows,
            points_path=points_path,
        )
        spec = Spec(
            name=name,
            description=description,
            path=self.path,
            scenario=scenario,
            base=base,
            fixed=fixed,
            varied=varied,
            method=method,
            n=n,
            levels=levels,
            trajectories=trajectories,
            calc_second_order=calc_second_order,
            dummy=dummy,
            sample_seed=seed,
            replicates=replicates,
            root_seed=root_seed,
            series=series,
            design=design,
            draws=self.draws(doc["scenario"], replicates, root_seed, fixed, varied) if use_posterior else None,
            sampler=sampler,
            points_path=design_doc.get("path") if method == "file" else None,
        )
        self.check_points(spec)
        return spec

    def scenario_target(self, value: str) -> str | Path:
        looks_like_path = value.endswith(".toml") or "/" in value or "\\" in value
        if looks_like_path:
            p = Path(value).expanduser()
            return p if p.is_absolute() else self.base_dir / p
        return value

    def draws(
        self, value: str, replicates: int, root_seed: int, fixed: dict[str, Any], varied: tuple[Varied, ...]
    ) -> tuple[dict[str, Any], ...] | None:
        """Posterior draw k for replicate k (drawn with the root seed), or None if the scenario has no posterior."""
        posterior = read_scenario(self.scenario_target(value)).posterior
        if posterior is None:
            return None
        return posterior.replicate_draws(replicates, root_seed, exclude={*fixed, *(v.name for v in varied)})

    def scenario(self, value: Any) -> tuple[str, dict[str, Any]]:
        allowed = TOP_LEVEL["scenario"]
        if not isinstance(value, str) or not value.strip():
            raise self.fail("scenario", value, allowed)
        target = self.scenario_target(value)
        try:
            base = load_scenario(target)
        except ScenarioError as exc:
            raise self.fail("scenario", value, allowed, f"scenario = {value!r}: {exc}") from None
        return value, base

    def fixed(self, base: dict[str, Any]) -> dict[str, Any]:
        fixed_doc = self.table("fixed")
        out: dict[str, Any] = {}
        for key, value in fixed_doc.items():
            p = self.parameter("fixed", key, value)
            try:
                out[key] = p.validate(value, strict=True)
            except ParameterError as exc:
                raise self.fail(f"fixed.{key}", value, exc.allowed) from None
        if "steps" in self.doc:
            steps = self.doc["steps"]
            if "steps" in out:
                raise self.fail(
                    "steps", steps, "one place", "'steps' is given both at the top level and in [fixed]: keep one"
                )
            try:
                out["steps"] = PARAMETERS["steps"].validate(steps, strict=True)
            except ParameterError as exc:
                raise self.fail("steps", steps, exc.allowed) from None
        try:
            validate_parameters({**base, **out}, strict=True)
        except ParameterError as exc:
            raise self.fail(
                f"fixed.{exc.name}",
                exc.value,
                exc.allowed,
                f"[fixed] with the scenario's parameters: {exc.name} = {_show(exc.value)} is not allowed:"
                f" {exc.allowed}",
            ) from None
        return out

    def parameter(self, section: str, key: str, value: Any):
        if key not in PARAMETERS:
            near = difflib.get_close_matches(key, list(PARAMETERS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise self.fail(
                f"{section}.{key}",
                value,
                "a parameter of the model (see 'phc-synergy params')",
                f"[{section}] unknown parameter {key!r}{hint}; see 'phc-synergy params' for the parameters",
            )
        return PARAMETERS[key]

    def method(self, design_doc: dict[str, Any]) -> str:
        if "method" not in design_doc:
            raise self.fail(
                "design.method",
                None,
                "one of " + ", ".join(DESIGNS),
                "missing [design] method: one of " + ", ".join(DESIGNS),
            )
        method = design_doc["method"]
        if method not in DESIGNS:
            near = difflib.get_close_matches(str(method), DESIGNS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise self.fail(
                "design.method",
                method,
                "one of " + ", ".join(DESIGNS),
                f"[design] method = {_show(method)} is not a known design{hint}; allowed: {', '.join(DESIGNS)}",
            )
        return method

    def vary(self, method: str, fixed: dict[str, Any]) -> tuple[Varied, ...]:
        vary_doc = self.table("vary")
        if not vary_doc and method not in ("grid", "file"):
            raise self.fail(
                "vary",
                vary_doc,
                "at least one varied parameter",
                f"[vary] is missing or empty: a {method} design varies at least one parameter"
                " (a grid without [vary] is one point: the scenario with [fixed], replicated)",
            )
        out: list[Varied] = []
        for key, entry in vary_doc.items():
            p = self.parameter("vary", key, entry)
            if not p.sweepable:
                raise self.fail(
                    f"vary.{key}",
                    entry,
                    "a numeric parameter",
                    f"[vary] {key!r} cannot be varied: it is a table of weights, not a number"
                    " (set it in [fixed] or in the scenario)",
                )
            if key in fixed:
                raise self.fail(
                    f"vary.{key}", entry, "varied or fixed, not both", f"{key!r} is both in [fixed] and in [vary]"
                )
            out.append(self.varied(method, p, entry))
        return tuple(out)

    def varied(self, method: str, p, entry: Any) -> Varied:
        name, kind = p.name, "int" if p.kind is int else "float"
        schema = f"[{_num(p.low)}, {_num(p.high)}]"
        if entry is True or entry == {}:
            entry = {}
        elif isinstance(entry, list):
            if len(entry) != 2:
                raise self.fail(f"vary.{name}", entry, "[low, high], {}, true, or a table with low/high/levels/values")
            entry = {"low": entry[0], "high": entry[1]}
        elif not isinstance(entry, dict):
            raise self.fail(f"vary.{name}", entry, "[low, high], {}, true, or a table with low/high/levels/values")
        for key in entry:
            if key not in VARY_KEYS:
                raise self.unknown_key(f"vary.{name}", key, VARY_KEYS, entry[key])
            if key in ("levels", "values") and method != "grid":
                raise self.fail(
                    f"vary.{name}.{key}",
                    entry[key],
                    "low and high",
                    f"[vary] {name}.{key} is for grid designs only; a {method} design samples between low and high",
                )

        def bound(which: str, default: float | None) -> float:
            value = entry.get(which, default)
            where = f"vary.{name}.{which}"
            if value is None:  # the schema has no bound there
                raise self.fail(where, value, f"a number (the schema of {name} has no {which} bound)")
            try:
                return p.validate(value, strict=True)
            except ParameterError:
                outside = (
                    isinstance(value, int | float)
                    and not isinstance(value, bool)
                    and ((p.low is not None and value < p.low) or (p.high is not None and value > p.high))
                )
                problem = (
                    f"[vary] {name}.{which} = {_show(value)} is outside the schema's bounds {schema} of {name}:"
                    f" it must be {p.allowed()}"
                    if outside
                    else None
                )
                raise self.fail(where, value, f"{p.allowed()} (the schema's bounds of {name})", problem) from None

        if "values" in entry:
            if "low" in entry or "high" in entry or "levels" in entry:
                raise self.fail(
                    f"vary.{name}",
                    entry,
                    "either values or low/high/levels",
                    "[vary] give either values or low/high/levels",
                )
            values = entry["values"]
            if not isinstance(values, list) or not values:
                raise self.fail(f"vary.{name}.values", values, "a non-empty list of values")
            checked: list = []
            for v in values:
                try:
                    c = p.validate(v, strict=True)
                except ParameterError:
                    raise self.fail(
                        f"vary.{name}.values",
                        v,
                        f"{p.allowed()} (the schema's bounds of {name})",
                        f"[vary] {name}.values: {_show(v)} is outside the schema's bounds {schema}: it must be"
                        f" {p.allowed()}",
                    ) from None
                if c in checked:
                    raise self.fail(
                        f"vary.{name}.values", v, "distinct values", f"[vary] {name}.values repeats {_show(v)}"
                    )
                checked.append(c)
            return Varied(name, kind, low=min(checked), high=max(checked), values=tuple(checked))

        low, high = bound("low", p.low), bound("high", p.high)
        if not low < high:
            raise self.fail(
                f"vary.{name}",
                {"low": low, "high": high},
                "low < high",
                f"[vary] {name}: low = {_num(low)} must be below high = {_num(high)}"
                " (to hold a parameter constant, set it in [fixed])",
            )
        levels = None
        if "levels" in entry:
            levels = self.integer(f"vary.{name}.levels", entry["levels"], 2, MAX_LEVELS, VARY_KEYS["levels"])
        return Varied(name, kind, low=low, high=high, levels=levels)

    def points(self, design_doc: dict[str, Any]) -> tuple[Path, list[str], list[list[Any]]]:
        """A file design's points as (path, column names, rows of raw cells); the cells are checked later."""
        text = design_doc.get("path")
        if not isinstance(text, str) or not text.strip():
            raise self.fail("design.path", text, DESIGN_KEYS["file"]["path"])
        path = Path(text).expanduser()
        path = path if path.is_absolute() else self.base_dir / path
        if path.suffix.lower() not in POINTS_FORMATS:
            raise self.fail("design.path", text, DESIGN_KEYS["file"]["path"],
                            f"[design] path = {text!r}: a .csv or .parquet file is needed")  # fmt: skip
        if not path.is_file():
            raise self.fail("design.path", text, DESIGN_KEYS["file"]["path"],
                            f"[design] path = {text!r}: no such file ({path})")  # fmt: skip
        return path, *read_points(path)

    def file_varied(self, columns: list[str], varied: tuple[Varied, ...], fixed: dict[str, Any], path: Path):
        """The varied inputs of a file design: [vary]'s (the columns must be its names) or the columns'."""
        if len(set(columns)) != len(columns):
            twice = sorted({c for c in columns if columns.count(c) > 1})
            raise SpecError(f"column {twice[0]!r} appears twice", path=path, field=twice[0])
        for name in columns:
            if name not in PARAMETERS:
                near = difflib.get_close_matches(name, list(PARAMETERS), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise SpecError(f"column {name!r} is not a model parameter{hint}: see phc-synergy params",
                                path=path, field=name)  # fmt: skip
            p = PARAMETERS[name]
            if not p.sweepable:
                raise SpecError(f"column {name!r} cannot be varied: it is a table of weights", path=path, field=name)
            if name in fixed:
                raise SpecError(f"column {name!r} is also set in [fixed]: a parameter is varied or fixed, not both",
                                path=path, field=name)  # fmt: skip
        if varied:
            names = [v.name for v in varied]
            if sorted(names) != sorted(columns):
                missing, extra = sorted(set(names) - set(columns)), sorted(set(columns) - set(names))
                raise SpecError(
                    "the columns must be the parameters of [vary]"
                    + (f"; missing: {', '.join(missing)}" if missing else "")
                    + (f"; not in [vary]: {', '.join(extra)}" if extra else ""),
                    path=path,
                    field="columns",
                )
            by_name = {v.name: v for v in varied}
            return tuple(by_name[c] for c in columns)
        return tuple(
            Varied(c, "int" if PARAMETERS[c].kind is int else "float", PARAMETERS[c].low, PARAMETERS[c].high)
            for c in columns
        )

    def outputs(self) -> tuple[str, ...]:
        doc = self.table("outputs")
        for key in doc:
            if key not in OUTPUT_KEYS:
                raise self.unknown_key("outputs", key, OUTPUT_KEYS, doc[key])
        series = doc.get("series", False)
        if series is False:
            return ()
        if series is True:
            return tuple(o for o in OUTPUTS if o != "step")
        if not isinstance(series, list) or not series:
            raise self.fail("outputs.series", series, OUTPUT_KEYS["series"])
        out: list[str] = []
        for name in series:
            if name == "step":
                continue  # always there
            if name not in OUTPUTS:
                near = difflib.get_close_matches(str(name), OUTPUTS, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise self.fail(
                    "outputs.series",
                    name,
                    "per-step outputs: " + ", ".join(OUTPUTS),
                    f"[outputs] series: unknown per-step output {_show(name)}{hint}; allowed: {', '.join(OUTPUTS)}",
                )
            if name not in out:
                out.append(name)
        return tuple(out)

    def check_points(self, spec: Spec) -> None:
        """Validate every design point's complete parameters (cross-parameter rules included)."""
        base = spec.parameters
        design = spec.design
        model_names = [n for n in design.names if n != DUMMY]
        idx = [design.names.index(n) for n in model_names]
        seen: set[tuple] = set()
        for i, values in enumerate(design.values):
            key = tuple(values[j] for j in idx)
            if key in seen:
                continue
            seen.add(key)
            try:
                validate_parameters({**base, **dict(zip(model_names, key, strict=True))})
            except ParameterError as exc:
                shown = ", ".join(f"{n} = {_num(v)}" for n, v in zip(model_names, key, strict=True))
                raise self.fail(
                    "vary",
                    dict(zip(model_names, key, strict=True)),
                    exc.allowed,
                    f"design point {i} ({shown}) is not a valid parameter set: {exc.name} = {_show(exc.value)}"
                    f" is not allowed: {exc.allowed}; narrow the ranges in [vary]",
                ) from None


# ---------------------------------------------------------------------------- sampling
def sample_design(
    method: str,
    varied: tuple[Varied, ...] | list[Varied],
    *,
    n: int | None = None,
    levels: int | None = None,
    trajectories: int | None = None,
    calc_second_order: bool = False,
    dummy: bool = False,
    seed: int = 0,
    sampler: str | None = None,
    points: list[list[Any]] | None = None,
    points_path: Path | None = None,
) -> Design:
    """Sample a design over ``varied`` inputs (works for any names and bounds, not only the model's).

    grid: itertools.product of each input's grid values; lhs/sobol/morris: SALib's
    samplers with the given seed; qmc: scipy.stats.qmc's scrambled Sobol' or Halton
    sequence; file: ``points`` (rows of cells, one per input, checked against each
    input's range here). Integer inputs are rounded (halves up) and clipped to their
    range in ``values``; ``X`` keeps the raw sample.
    """
    varied = list(varied)
    if dummy:
        if method not in ("sobol", "morris"):
            raise ValueError("a dummy input is only for sobol and morris designs")
        varied.append(Varied(DUMMY, "float", 0.0, 1.0))
    names = tuple(v.name for v in varied)
    kinds = tuple(v.kind for v in varied)
    problem = {
        "num_vars": len(varied),
        "names": list(names),
        "bounds": [[float(v.low), float(v.high)] for v in varied],
    }
    if method == "grid":
        grids = [v.grid_values() for v in varied]
        values = [tuple(p) for p in itertools.product(*grids)]
        X = np.array(values, dtype=float).reshape(len(values), len(varied))
        return Design(method, names, kinds, problem, X, values)
    if method == "file":
        values = [file_point(varied, row, i, points_path) for i, row in enumerate(points or [])]
        X = np.array(values, dtype=float).reshape(len(values), len(varied))
        return Design(method, names, kinds, problem, X, values)
    if method == "lhs":
        from SALib.sample import latin

        X = latin.sample(problem, int(n), seed=seed)
    elif method == "qmc":
        from scipy.stats import qmc

        engine = (qmc.Halton if sampler == "halton" else qmc.Sobol)(d=len(varied), scramble=True, rng=seed)
        unit = engine.random(int(n))
        X = qmc.scale(unit, [v.low for v in varied], [v.high for v in varied]) if len(varied) else unit
    elif method == "sobol":
        from SALib.sample import sobol

        X = sobol.sample(problem, int(n), calc_second_order=calc_second_order, scramble=True, seed=seed)
    elif method == "morris":
        from SALib.sample import morris

        X = morris.sample(problem, int(trajectories), num_levels=int(levels or DEFAULT_MORRIS_LEVELS), seed=seed)
    else:
        raise ValueError(f"unknown design method {method!r}; allowed: {', '.join(DESIGNS)}")
    X = np.asarray(X, dtype=float)
    columns = []
    for j, v in enumerate(varied):
        col = X[:, j]
        if v.kind == "int":
            ints = np.clip(np.floor(col + 0.5), v.low, v.high).astype(np.int64)
            columns.append([int(x) for x in ints])
        else:
            columns.append([float(x) for x in np.clip(col, v.low, v.high)])
    values = list(zip(*columns, strict=True))
    return Design(method, names, kinds, problem, X, values)


class PointsError(SpecError):
    """A file design's cell that cannot be used (names the file, the row and the column)."""


def read_points(path: Path) -> tuple[list[str], list[list[Any]]]:
    """(column names, rows) of a CSV or Parquet file of design points; cells as read (text or numbers)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise SpecError(f"cannot be read as Parquet: {exc}", path=path) from None
        columns = list(table.column_names)
        data = [table.column(c).to_pylist() for c in columns]
        rows = [list(r) for r in zip(*data, strict=True)] if columns else []
    else:
        import csv

        try:
            with open(path, newline="", encoding="utf-8-sig") as f:
                lines = list(csv.reader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise SpecError(f"cannot be read as CSV: {exc}", path=path) from None
        lines = [ln for ln in lines if any(cell.strip() for cell in ln)]
        if not lines:
            raise SpecError("is empty: a header row of parameter names, then one row per point", path=path)
        columns = [c.strip() for c in lines[0]]
        rows = []
        for i, ln in enumerate(lines[1:], start=1):
            if len(ln) != len(columns):
                raise PointsError(f"row {i}: {len(ln)} cells, but the header has {len(columns)}", path=path,
                                  field=f"row {i}")  # fmt: skip
            rows.append(ln)
    if not columns:
        raise SpecError("has no columns: one column per varied parameter", path=path)
    if not rows:
        raise SpecError("has no rows: one row per design point", path=path)
    return columns, rows


def file_point(varied: list[Varied], row: list[Any], index: int, path: Path | None = None) -> tuple:
    """Row ``index`` (0-based) of a file design, checked: each cell a value of its parameter inside its range."""
    out = []
    for v, cell in zip(varied, row, strict=True):
        p = PARAMETERS.get(v.name)
        where = f"row {index + 1}, column {v.name!r}"
        text = cell.strip() if isinstance(cell, str) else cell
        if text is None or text == "" or (isinstance(text, float) and not math.isfinite(text)):
            raise PointsError(f"{where}: {_show(cell)} is not allowed: a number", path=path, field=where)
        if hasattr(text, "item"):
            text = text.item()
        try:
            value = p.validate(text) if p is not None else float(text)
        except (ParameterError, ValueError):
            allowed = p.allowed() if p is not None else "a number"
            raise PointsError(f"{where}: {_show(cell)} is not allowed: {allowed}", path=path, field=where) from None
        if isinstance(value, float) and v.kind == "int":
            value = int(value)
        if not v.low <= value <= v.high:
            raise PointsError(
                f"{where}: {_show(cell)} is outside the range [{_num(v.low)}, {_num(v.high)}] of {v.name}",
                path=path,
                field=where,
            )
        out.append(value)
    return tuple(out)


# ---------------------------------------------------------------------------- helpers
def _round_int(x: float) -> int:
    return math.floor(float(x) + 0.5)


def _big(n: int) -> str:
    """A count with thousands separators, or as a power of ten when it would be longer than a line can hold."""
    return f"{n:,}" if n < 10**15 else f"about 10^{len(str(n)) - 1}"


def _num(x: Any) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def _show(value: Any) -> str:
    if value is None:
        return "(missing)"
    return repr(value)

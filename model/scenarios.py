"""Named scenarios: small TOML files that set some parameters of the model.

A scenario file looks like this::

    name = "pccp"
    description = "one line"
    source = "citation or 'synthetic'"   # optional

    [parameters]
    seats = 20

    [parameters.composition]              # optional: seat weights by stakeholder type
    academic = 5

Parameters the file does not set keep their defaults (``model.parameters``).

A scenario made by ``phc-synergy calibrate`` (``calibrated.toml``) also carries
the posterior, as weighted particles::

    [posterior]
    source = "phc-synergy calibrate calibration/data/pccp.toml, ..."
    weights = [0.01, 0.02, ...]               # one per particle, >= 0, not all 0

    [posterior.parameters]                    # one array per calibrated parameter,
    individual_turnover = [0.021, 0.030, ...] # as long as ``weights``
    trust_gain = [0.08, 0.11, ...]

A single run of such a scenario uses ``[parameters]`` (where a calibrated
parameter is missing there, its weighted posterior median). Ensembles over the
posterior (``run --posterior``, ``compare``, ``sweep``, the workshop page) draw
particles by weight with :func:`posterior_draws`: draw ``k`` goes with
replicate ``k``, so the draws pair up with the common random numbers.
The shipped scenarios live in ``model/scenarios/*.toml``; any other file can be
given by its path.  Every problem with a file raises :class:`ScenarioError`,
whose message names the file, the field, the problem and what is allowed.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import InputFileError, file_kind, read_toml
from model.parameters import PARAMETERS, ParameterError, validate_parameters

SCENARIO_DIR: Path = Path(__file__).with_name("scenarios")

# Shipped scenarios in the order they are listed (any other shipped file follows, by name).
ORDER: tuple[str, ...] = ("default", "pccp", "chrp", "homogeneous", "weak_enabling", "shock")

# Top-level keys of a scenario file: key -> (required, what it must be)
TOP_LEVEL: dict[str, tuple[bool, str]] = {
    "name": (True, "a string naming the scenario"),
    "description": (True, "a one-line string"),
    "source": (False, "a string: a citation, or 'synthetic'"),
    "parameters": (True, "a table of parameter values ([parameters])"),
    "posterior": (False, "a table: source, weights and [posterior.parameters] (written by 'phc-synergy calibrate')"),
}
POSTERIOR_KEYS: dict[str, str] = {
    "source": "a string saying where the posterior comes from",
    "weights": "an array of particle weights, each >= 0, not all 0",
    "parameters": "a table with one array of values per calibrated parameter, as long as 'weights'",
}


class ScenarioError(InputFileError):
    """A scenario that cannot be loaded: names the file, the field, the problem and what is allowed."""


@dataclass(frozen=True)
class Posterior:
    """Weighted particles of a calibration: ``parameters[name][i]`` is particle i's value, ``weights`` sum to 1."""

    parameters: dict[str, list[Any]]
    weights: list[float]
    source: str = ""

    @property
    def size(self) -> int:
        return len(self.weights)

    def median(self, name: str) -> float:
        """The weighted median of one calibrated parameter."""
        values = np.asarray(self.parameters[name], dtype=float)
        order = np.argsort(values, kind="stable")
        cum = np.cumsum(np.asarray(self.weights)[order])
        return float(values[order][int(np.searchsorted(cum, 0.5 * cum[-1]))])

    def sample(self, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` particles drawn with replacement by weight (their calibrated values only)."""
        rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
        picks = rng.choice(self.size, size=int(n), replace=True, p=np.asarray(self.weights))
        return [{name: values[i] for name, values in self.parameters.items()} for i in picks]

    def replicate_draws(
        self, replicates: int, seed: int, exclude: Iterable[str] = ()
    ) -> tuple[dict[str, Any], ...] | None:
        """Draw k for replicate k, without the parameters in ``exclude`` (set by the caller); None if none is left."""
        excluded = set(exclude)
        names = [n for n in self.parameters if n not in excluded]
        if not names:
            return None
        return tuple({n: d[n] for n in names} for d in self.sample(replicates, seed))


@dataclass(frozen=True)
class Scenario:
    """A scenario file as read: its name, description, source, path, parameter overrides and posterior."""

    name: str
    description: str
    path: Path
    overrides: dict[str, Any]
    source: str | None = None
    posterior: Posterior | None = None


def shipped_paths() -> dict[str, Path]:
    """Shipped scenario files by name (file stem), in listing order."""
    found = {p.stem: p for p in SCENARIO_DIR.glob("*.toml")}
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    return {name: found[name] for name in names}


def list_scenarios() -> list[tuple[str, str]]:
    """(name, description) of every shipped scenario, default first, in a stable order."""
    return [(name, read_scenario(path).description) for name, path in shipped_paths().items()]


def resolve(name_or_path: str | Path) -> Path:
    """The file a shipped scenario name or a path refers to (raises ScenarioError if there is none)."""
    text = str(name_or_path)
    shipped = shipped_paths()
    if isinstance(name_or_path, str) and text in shipped:
        return shipped[text]
    path = Path(text).expanduser()
    looks_like_path = isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text
    kind = file_kind(path, ScenarioError)
    if not looks_like_path and kind == "missing":
        raise ScenarioError(
            f"unknown scenario {text!r}; shipped scenarios are {', '.join(shipped)}, or give the path to a .toml file",
            field="scenario",
            value=text,
            allowed=", ".join(shipped) + ", or a path to a .toml file",
        )
    if kind == "missing":
        raise ScenarioError(
            "no such scenario file", path=path, field="scenario", value=text, allowed="an existing .toml file"
        )
    if kind != "file":
        raise ScenarioError("not a file", path=path, field="scenario", value=text, allowed="a .toml file")
    return path


def read_scenario(name_or_path: str | Path) -> Scenario:
    """Read and check the structure of a scenario file (parameters are not validated here)."""
    path = resolve(name_or_path)
    return scenario_from_doc(read_toml(path, ScenarioError), path)


def scenario_from_doc(doc: dict[str, Any], path: Path) -> Scenario:
    """Check the structure of a scenario already parsed from TOML (``path`` names it in errors)."""
    unknown = [k for k in doc if k not in TOP_LEVEL]
    if unknown:
        key = unknown[0]
        raise ScenarioError(
            f"unknown top-level key {key!r}; allowed keys are {', '.join(TOP_LEVEL)}"
            " (parameters go in the [parameters] table)",
            path=path,
            field=key,
            value=doc[key],
            allowed=", ".join(TOP_LEVEL),
        )
    for key, (required, allowed) in TOP_LEVEL.items():
        if key not in doc:
            if required:
                raise ScenarioError(f"missing {key!r}: it must be {allowed}", path=path, field=key, allowed=allowed)
            continue
        value = doc[key]
        kind = dict if key in ("parameters", "posterior") else str
        if not isinstance(value, kind):
            raise ScenarioError(
                f"{key!r} = {value!r} is not allowed: it must be {allowed}",
                path=path,
                field=key,
                value=value,
                allowed=allowed,
            )
    overrides = copy.deepcopy(doc["parameters"])
    posterior = _read_posterior(doc["posterior"], path) if "posterior" in doc else None
    if posterior is not None:
        for name in posterior.parameters:
            overrides.setdefault(name, posterior.median(name))
    return Scenario(
        name=doc["name"],
        description=doc["description"],
        path=path,
        overrides=overrides,
        source=doc.get("source"),
        posterior=posterior,
    )


def _read_posterior(table: dict[str, Any], path: Path) -> Posterior:
    def fail(field: str, value: Any, problem: str) -> ScenarioError:
        return ScenarioError(
            problem,
            path=path,
            field=f"posterior.{field}",
            value=value,
            allowed=POSTERIOR_KEYS.get(field.split(".")[0], POSTERIOR_KEYS["parameters"]),
        )

    for key, value in table.items():
        if key not in POSTERIOR_KEYS:
            raise fail(key, value, f"unknown key {key!r} in [posterior]; allowed keys are {', '.join(POSTERIOR_KEYS)}")
    for key, allowed in POSTERIOR_KEYS.items():
        if key not in table:
            raise fail(key, None, f"[posterior] has no {key!r}: it must be {allowed}")
    source, weights, params = table["source"], table["weights"], table["parameters"]
    if not isinstance(source, str):
        raise fail("source", source, f"[posterior] source = {source!r} is not allowed: it must be a string")
    scaled = _relative_weights(weights)
    if scaled is None:
        raise fail("weights", weights, f"[posterior] weights is not allowed: it must be {POSTERIOR_KEYS['weights']}")
    if not isinstance(params, dict) or not params:
        raise fail("parameters", params, "[posterior.parameters] must name at least one calibrated parameter")
    checked: dict[str, list[Any]] = {}
    for name, values in params.items():
        if name not in PARAMETERS:
            raise fail(f"parameters.{name}", values, f"[posterior.parameters] {name!r} is not a parameter of the model")
        if not PARAMETERS[name].sweepable:  # a posterior is over numbers: its medians and draws are numbers
            raise fail(
                f"parameters.{name}", values, f"[posterior.parameters] {name!r} is a table of weights, not a number"
            )
        if not isinstance(values, list) or len(values) != len(weights):
            raise fail(
                f"parameters.{name}",
                values,
                f"[posterior.parameters] {name} must be an array of {len(weights)} values (one per weight)",
            )
        try:
            checked[name] = [PARAMETERS[name].validate(v, where=str(path), strict=True) for v in values]
        except ParameterError as exc:
            raise fail(
                f"parameters.{name}",
                exc.value,
                f"[posterior.parameters] {name}: {exc.value!r} is not allowed: {exc.allowed}",
            ) from None
    return Posterior(checked, scaled, source)


def _relative_weights(weights: Any) -> list[float] | None:
    """Weights scaled to sum to 1, or None unless they are a non-empty list of finite numbers >= 0, not all 0.

    Weights are relative, so they are divided by the largest first: no sum can overflow
    (``[1e308, 1e308]`` is two equal weights) and ints too large for a float are refused.
    """
    if not isinstance(weights, list) or not weights:
        return None
    values: list[float] = []
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, int | float):
            return None
        try:
            f = float(w)
        except OverflowError:
            return None
        if not (math.isfinite(f) and f >= 0):
            return None
        values.append(f)
    largest = max(values)
    if largest <= 0:
        return None
    relative = [v / largest for v in values]
    total = math.fsum(relative)
    return [v / total for v in relative]


def posterior_draws(name_or_path: str | Path, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` complete, validated parameter sets: the scenario's parameters with posterior particles drawn by weight.

    Draw ``k`` is meant for replicate ``k`` of an ensemble. A scenario without a
    posterior raises ScenarioError.
    """
    scenario = read_scenario(name_or_path)
    if scenario.posterior is None:
        raise ScenarioError(
            "this scenario carries no posterior (make one with 'phc-synergy calibrate')",
            path=scenario.path,
            field="posterior",
            allowed="a calibrated.toml written by 'phc-synergy calibrate'",
        )
    base = _validated(scenario)
    return [
        validate_parameters({**base, **draw}, where=str(scenario.path)) for draw in scenario.posterior.sample(n, seed)
    ]


def load_scenario(name_or_path: str | Path) -> dict[str, Any]:
    """The complete, validated parameters of a scenario (a shipped name or a path to a .toml file)."""
    scenario = read_scenario(name_or_path)
    return _validated(scenario)


def scenario_overrides(name_or_path: str | Path) -> dict[str, Any]:
    """Only the parameters the scenario sets (checked against the schema, coerced to their types)."""
    scenario = read_scenario(name_or_path)
    full = _validated(scenario)
    return {name: copy.deepcopy(full[name]) for name in scenario.overrides}


def _validated(scenario: Scenario) -> dict[str, Any]:
    try:
        return validate_parameters(scenario.overrides, where=str(scenario.path), strict=True)
    except ParameterError as exc:
        err = ScenarioError(
            f"[parameters] {exc.name} = {exc.value!r} is not allowed: {exc.allowed}",
            path=scenario.path,
            field=exc.name,
            value=exc.value,
            allowed=exc.allowed,
        )
        raise err from None

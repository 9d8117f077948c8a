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
The shipped scenarios live in ``model/scenarios/*.toml``; any other file can be
given by its path.  Every problem with a file raises :class:`ScenarioError`,
whose message names the file, the field, the problem and what is allowed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.errors import InputFileError, read_toml
from model.parameters import ParameterError, validate_parameters

SCENARIO_DIR: Path = Path(__file__).with_name("scenarios")

# Shipped scenarios in the order they are listed (any other shipped file follows, by name).
ORDER: tuple[str, ...] = ("default", "pccp", "chrp", "homogeneous", "weak_enabling", "shock")

# Top-level keys of a scenario file: key -> (required, what it must be)
TOP_LEVEL: dict[str, tuple[bool, str]] = {
    "name": (True, "a string naming the scenario"),
    "description": (True, "a one-line string"),
    "source": (False, "a string: a citation, or 'synthetic'"),
    "parameters": (True, "a table of parameter values ([parameters])"),
}


class ScenarioError(InputFileError):
    """A scenario that cannot be loaded: names the file, the field, the problem and what is allowed."""


@dataclass(frozen=True)
class Scenario:
    """A scenario file as read: its name, description, source, path and parameter overrides."""

    name: str
    description: str
    path: Path
    overrides: dict[str, Any]
    source: str | None = None


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
    if not looks_like_path and not path.exists():
        raise ScenarioError(
            f"unknown scenario {text!r}; shipped scenarios are {', '.join(shipped)}, or give the path to a .toml file",
            field="scenario",
            value=text,
            allowed=", ".join(shipped) + ", or a path to a .toml file",
        )
    if not path.exists():
        raise ScenarioError(
            "no such scenario file", path=path, field="scenario", value=text, allowed="an existing .toml file"
        )
    if not path.is_file():
        raise ScenarioError("not a file", path=path, field="scenario", value=text, allowed="a .toml file")
    return path


def read_scenario(name_or_path: str | Path) -> Scenario:
    """Read and check the structure of a scenario file (parameters are not validated here)."""
    path = resolve(name_or_path)
    doc = read_toml(path, ScenarioError)

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
        kind = dict if key == "parameters" else str
        if not isinstance(value, kind):
            raise ScenarioError(
                f"{key!r} = {value!r} is not allowed: it must be {allowed}",
                path=path,
                field=key,
                value=value,
                allowed=allowed,
            )
    return Scenario(
        name=doc["name"],
        description=doc["description"],
        path=path,
        overrides=copy.deepcopy(doc["parameters"]),
        source=doc.get("source"),
    )


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
        return validate_parameters(scenario.overrides, where=str(scenario.path))
    except ParameterError as exc:
        err = ScenarioError(
            f"[parameters] {exc.name} = {exc.value!r} is not allowed: {exc.allowed}",
            path=scenario.path,
            field=exc.name,
            value=exc.value,
            allowed=exc.allowed,
        )
        raise err from None

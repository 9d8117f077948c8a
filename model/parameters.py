"""The parameter schema: the single source of truth for every model parameter.

Validation, the command line, sensitivity-analysis bounds, calibration priors,
the workshop controls and the ODD parameter table all read :data:`PARAMETERS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

STAKEHOLDER_TYPES: tuple[str, ...] = (
    "decision_maker",
    "academic",
    "clinician",
    "administrator",
    "patient_partner",
    "community_org",
)

LEVELS: tuple[str, ...] = (
    "structure",
    "interpersonal",
    "operational",
    "system",
    "resources",
    "population",
    "simulation",
)


class ParameterError(ValueError):
    """A parameter value that the schema refuses (names the field, value and what is allowed)."""

    def __init__(self, name: str, value: Any, allowed: str, where: str | None = None):
        self.name, self.value, self.allowed, self.where = name, value, allowed, where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}parameter '{name}' = {value!r} is not allowed: {allowed}")


@dataclass(frozen=True)
class Parameter:
    """One model parameter: name, default, bounds, unit, level and one-line meaning."""

    name: str
    default: Any
    low: float | None
    high: float | None
    unit: str
    level: str
    meaning: str
    kind: type = float  # float, int, or dict (composition)

    @property
    def sweepable(self) -> bool:
        """True when the parameter is a number that sweeps and priors can vary."""
        return self.kind in (int, float)

    def allowed(self) -> str:
        """What values are allowed, in words."""
        if self.kind is dict:
            return (
                "a table of non-negative seat weights by stakeholder type ("
                + ", ".join(STAKEHOLDER_TYPES)
                + ") with a positive, finite total"
            )
        word = "an integer" if self.kind is int else "a number"
        return f"{word} in [{_fmt(self.low)}, {_fmt(self.high)}]"

    def validate(self, value: Any, where: str | None = None, *, strict: bool = False) -> Any:
        """Return ``value`` coerced to the parameter's type, or raise ParameterError.

        Text is parsed as a number (``--set seats=12``, a form field) unless ``strict``:
        files in TOML (scenarios, sweep specs, case files, configs) have real numbers and
        tables, so there ``"12"`` is a mistake worth naming rather than guessing at.
        """
        if self.kind is dict:
            return _validate_composition(self, value, where, strict)
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str) and not strict:
                value = _parse_number(self, value, where)
            elif hasattr(value, "item") and not isinstance(value, bool):  # numpy scalar
                value = value.item()
                if isinstance(value, bool):
                    raise ParameterError(self.name, value, self.allowed(), where)
            else:
                raise ParameterError(self.name, value, self.allowed(), where)
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(self.name, value, self.allowed(), where)
        if self.kind is int and isinstance(value, float):
            if not value.is_integer():
                raise ParameterError(self.name, value, self.allowed(), where)
            value = int(value)
        # bounds before float(): an int too large for a float (TOML allows any size) is simply out of bounds
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ParameterError(self.name, value, self.allowed(), where)
        return value if self.kind is int else float(value)


def _fmt(x: float | None) -> str:
    if x is None:
        return "-inf"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _parse_number(p: Parameter, text: str, where: str | None) -> float | int:
    try:
        return int(text) if p.kind is int and text.strip().lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise ParameterError(p.name, text, p.allowed(), where) from None


def _validate_composition(p: Parameter, value: Any, where: str | None, strict: bool = False) -> dict | None:
    if value is None:
        return None
    if isinstance(value, str) and not strict:  # "clinician:3,academic:2"
        parsed: dict[str, Any] = {}
        for part in filter(None, (s.strip() for s in value.split(","))):
            key, sep, num = part.partition(":")
            if not sep:
                raise ParameterError(p.name, value, p.allowed() + ", written type:weight,...", where)
            parsed[key.strip()] = num.strip()
        value = parsed
    if not isinstance(value, dict):
        raise ParameterError(p.name, value, p.allowed(), where)
    out: dict[str, float] = {}
    for key, weight in value.items():
        if key not in STAKEHOLDER_TYPES:
            raise ParameterError(f"{p.name}.{key}", weight, "a stakeholder type, one of " + ", ".join(STAKEHOLDER_TYPES), where)
        numeric = isinstance(weight, int | float) or (isinstance(weight, str) and not strict)
        try:
            w = float(weight) if numeric and not isinstance(weight, bool) else math.nan
        except (ValueError, OverflowError):  # OverflowError: an int too large for a float
            w = math.nan
        if not math.isfinite(w) or w < 0:
            raise ParameterError(f"{p.name}.{key}", weight, "a non-negative number", where)
        out[key] = w
    total = sum(out.values())  # inf when it overflows (math.fsum would raise OverflowError)
    if not (0 < total < math.inf):  # the model divides by the total: it must be a positive, finite number
        raise ParameterError(p.name, value, p.allowed(), where)
    return out


def _p(name, default, low, high, unit, level, meaning, kind=float) -> Parameter:
    return Parameter(name, default, low, high, unit, level, meaning, kind)


PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in [
        # --- structure: who sits at the table and how they are tied
        _p("seats", 20, 3, 2000, "seats", "structure",
           "Seats at the table, one per organisational place; also the most members at once.", int),
        _p("type_diversity", 1.0, 0, 1, "share", "structure",
           "How many of the six stakeholder types hold seats (0 = one type, 1 = all six, evenly)."),
        _p("composition", None, None, None, "seat weights", "structure",
           "Seat weights by stakeholder type; when given it replaces type_diversity.", dict),
        _p("initial_tie_density", 0.3, 0, 1, "share", "structure",
           "Share of pairs of members who already have a working relationship at the start."),
        _p("centralization", 0.3, 0, 1, "share", "structure",
           "How much the work runs through the lead: ties to the lead vs among other members."),
        _p("committee_size", 12, 4, 60, "people", "structure",
           "Size of the working committees of a partnership too big (over 30 seats) to work as one table.", int),
        # --- interpersonal enabling processes
        _p("communication", 0.6, 0, 1, "share", "interpersonal",
           "Quality of communication at meetings and in joint work."),
        _p("power_asymmetry", 0.4, 0, 1, "share", "interpersonal",
           "How much power differences between members turn into conflict."),
        _p("trust_gain", 0.15, 0, 1, "per meeting", "interpersonal",
           "Share of the distance to full trust closed by one good meeting together."),
        _p("trust_decay", 0.03, 0, 0.5, "per month", "interpersonal",
           "Share of trust lost per month without contact."),
        _p("synergy_feedback", 1.0, 0, 3, "multiplier", "interpersonal",
           "Strength of synergy's feedback as energy on engagement and trust building (0 = none)."),
        # --- operational enabling processes
        _p("meeting_interval", 1, 1, 12, "months", "operational",
           "Months between partnership meetings.", int),
        _p("leadership", 0.6, 0, 1, "share", "operational",
           "Facilitative leadership: combines perspectives and resolves conflict."),
        _p("coordination", 0.5, 0, 1, "share", "operational",
           "Administration and coordination: turns contributions into usable capacity, cuts partners' time costs."),
        _p("decision_inclusiveness", 0.5, 0, 1, "share", "operational",
           "How widely influence over decisions is shared (governance)."),
        _p("patient_partner_support", 0.5, 0, 1, "share", "operational",
           "Support for patient partners (preparation, compensation): their time cost and whether their seats are refilled."),
        # --- system context
        _p("external_support", 0.6, 0, 1, "share", "system",
           "Policy alignment, organisational mandates and funding stability; scales what the partnership can implement."),
        _p("individual_turnover", 0.015, 0, 0.2, "per month", "system",
           "Monthly chance that a member moves on for reasons outside the partnership (job change)."),
        _p("shock_month", 0, 0, 600, "month", "system",
           "Month of a system shock (reform, funding cut); 0 = no shock.", int),
        _p("shock_severity", 0.5, 0, 1, "share", "system",
           "Share of external support and of the hit organisations' resources that a shock removes."),
        # --- resources
        _p("resource_complementarity", 0.6, 0, 1, "share", "resources",
           "How much resource kinds complement rather than substitute each other (0 = substitutes)."),
        _p("financial_resources", 1.0, 0, 3, "x reference", "resources",
           "Financial resources members hold, relative to the reference endowment."),
        _p("nonfinancial_resources", 1.0, 0, 3, "x reference", "resources",
           "Non-financial resources (expertise, information, connections, legitimacy, convening, in-kind), relative to reference."),
        # --- population served
        _p("access_lag", 6.0, 1, 36, "months", "population",
           "Time constant of access's response to what the partnership implemented."),
        _p("population_size", 2000, 100, 200000, "people", "population",
           "People in the vulnerable-population cohort.", int),
        _p("population_vulnerability", 0.5, 0, 1, "share", "population",
           "How far the cohort's abilities to perceive, seek, reach, pay and engage fall short (1 = most vulnerable)."),
        # --- simulation
        _p("steps", 60, 1, 600, "months", "simulation",
           "Horizon of a run.", int),
    ]
}

DEFAULTS: dict[str, Any] = {name: p.default for name, p in PARAMETERS.items()}


def validate_parameters(values: dict[str, Any], where: str | None = None, *, strict: bool = False) -> dict[str, Any]:
    """Return a complete, validated parameter dict (defaults filled in).

    Raises ParameterError naming the first unknown, mistyped or out-of-bounds parameter.
    ``strict`` refuses numbers written as text (see :meth:`Parameter.validate`).
    """
    out = dict(DEFAULTS)
    for name, value in values.items():
        if name not in PARAMETERS:
            raise ParameterError(name, value, "not a parameter of the model; see 'phc-synergy params'", where)
        out[name] = PARAMETERS[name].validate(value, where, strict=strict)
    if out["shock_month"] > out["steps"]:
        raise ParameterError(
            "shock_month", out["shock_month"], f"0 (no shock) or a month in [1, steps = {out['steps']}]", where
        )
    return out


def parameters_by_level() -> dict[str, list[Parameter]]:
    """Parameters grouped by level, in schema order."""
    groups: dict[str, list[Parameter]] = {level: [] for level in LEVELS}
    for p in PARAMETERS.values():
        groups[p.level].append(p)
    return groups

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
    "mechanics",
    "ablation",
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
           "How much the work runs through the lead: contact with the lead vs among other members."),
        _p("lead_type", 1, 0, 5, "type index", "structure",
           "Who leads: the stakeholder type of the lead, by index (0 decision maker, 1 academic, 2 clinician, "
           "3 administrator, 4 patient partner, 5 community organisation); the first seat of that type, else seat 0.",
           int),
        _p("committee_size", 12, 4, 60, "people", "structure",
           "Size of the working committees of a partnership too big (over 30 seats) to work as one table.", int),
        # --- interpersonal enabling processes
        _p("communication", 0.6, 0, 1, "share", "interpersonal",
           "Quality of communication: how much trust a contact builds, and how few misunderstandings it breeds."),
        _p("power_asymmetry", 0.4, 0, 1, "share", "interpersonal",
           "How much power differences between members turn into conflict."),
        _p("trust_gain", 0.2, 0, 1, "per contact", "interpersonal",
           "Share of the distance to full trust closed by one contact with perfect communication."),
        _p("trust_decay", 0.02, 0, 0.5, "per month", "interpersonal",
           "Share of trust lost per month without contact."),
        _p("tie_capacity", 6.0, 1, 50, "ties", "interpersonal",
           "Working relationships a member can keep up at once (upkeep takes time); more ties share the attention."),
        _p("synergy_feedback", 1.0, 0, 3, "multiplier", "interpersonal",
           "Strength of every path from synergy to behaviour: engagement, refilling and recruiting (0 = none)."),
        # --- operational enabling processes
        _p("meeting_interval", 1, 1, 12, "months", "operational",
           "Months between partnership meetings.", int),
        _p("leadership", 0.6, 0, 1, "share", "operational",
           "Facilitative leadership: resolves conflict, brokers new working relationships, recruits organisations."),
        _p("coordination", 0.5, 0, 1, "share", "operational",
           "Administration and coordination: removes barriers to attending, cuts time costs, orients newcomers, "
           "steers resources to where they are missing."),
        _p("decision_inclusiveness", 0.5, 0, 1, "share", "operational",
           "How widely influence over decisions is shared (governance): voice of low-power members, less conflict."),
        _p("patient_partner_support", 0.5, 0, 1, "share", "operational",
           "Support for patient partners (preparation, compensation): their time cost and whether their seats are refilled."),
        # --- system context
        _p("external_support", 0.6, 0, 1, "share", "system",
           "Policy alignment, organisational mandates, funding and protected time from the system around the partnership."),
        _p("individual_turnover", 0.015, 0, 0.2, "per month", "system",
           "Monthly chance that a member moves on for reasons outside the partnership (job change)."),
        _p("shock_month", 0, 0, 600, "month", "system",
           "Month of a system shock (reform, funding cut); 0 = no shock.", int),
        _p("shock_severity", 0.5, 0, 1, "share", "system",
           "Share of external support, of the organisations (by sector) and of their funding, staff and convening that a shock removes."),
        # --- resources
        _p("resource_complementarity", 0.6, 0, 1, "share", "resources",
           "How much resource kinds complement rather than substitute each other (0 = substitutes)."),
        _p("financial_resources", 1.0, 0, 3, "x reference", "resources",
           "Financial resources members hold, relative to the reference endowment."),
        _p("nonfinancial_resources", 1.0, 0, 3, "x reference", "resources",
           "Non-financial resources (expertise, information, connections, legitimacy, convening, in-kind), relative to reference."),
        # --- population served
        _p("access_lag", 4.0, 1, 36, "months", "population",
           "Time constant of access's response to what the partnership has implemented (IMPACT: effects within 3-6 months)."),
        _p("population_size", 2000, 100, 200000, "people", "population",
           "People in the vulnerable-population cohort.", int),
        _p("population_vulnerability", 0.5, 0, 1, "share", "population",
           "How far the cohort's abilities to perceive, seek, reach, pay and engage fall short (1 = most vulnerable)."),
        # --- simulation
        _p("steps", 60, 1, 600, "months", "simulation",
           "Horizon of a run.", int),
        # --- mechanics: the constants of the rules (docs/ODD.md section 7 gives each its rationale or source);
        # in the schema so that sensitivity and robustness runs can vary them like any parameter
        _p("lead_capacity", 3.0, 1, 20, "x tie_capacity", "mechanics",
           "Working relationships the lead keeps up, as a multiple of tie_capacity (relating to partners is the lead's job). [7.7]"),
        _p("lead_contact_drop", 0.6, 0, 1, "share", "mechanics",
           "At centralization 1, members meet each other this much less often than they meet the lead. [7.3, 7.7]"),
        _p("endowment_spread", 0.2, 0, 1, "log sd", "mechanics",
           "Spread (sd of the log) of an organisation's resources around its type's profile. [7.2]"),
        _p("initial_trust", 0.3, 0.02, 0.8, "share", "mechanics",
           "Mean trust on working relationships that exist at the start (drawn between half and one and a half times it). [7.3]"),
        _p("new_tie_trust", 0.1, 0.02, 0.5, "share", "mechanics",
           "Trust on a working relationship that has just formed. [7.7]"),
        _p("tie_formation", 0.3, 0, 1, "per contact", "mechanics",
           "Chance that a contact between two members without a tie starts one, with full facilitation and time to spare. [7.7]"),
        _p("brokerage", 0.5, 0, 1, "share", "mechanics",
           "Share of tie formation and of recruitment that depends on facilitative leadership (introductions). [7.7, 7.10]"),
        _p("communication_share", 0.5, 0, 1, "share", "mechanics",
           "Share of the trust a contact builds that depends on the quality of communication (the rest: working together). [7.7]"),
        _p("attendance_floor", 0.4, 0, 1, "share", "mechanics",
           "Chance a barely engaged member still comes to a meeting (meetings are the least one does); "
           "it rises to 1 with engagement. [7.7]"),
        _p("attendance_barrier", 0.3, 0, 1, "share", "mechanics",
           "Share of meetings an engaged member misses for practical reasons with no coordination support. [7.7]"),
        _p("conflict_trust_loss", 1.0, 0, 5, "per unit conflict", "mechanics",
           "Trust lost per contact, per unit of conflict met, as a share of the trust on the tie. [7.7]"),
        _p("power_conflict", 0.3, 0, 3, "per unit power gap", "mechanics",
           "Conflict from a power difference between two members when decisions are exclusive and asymmetry is full. [7.7]"),
        _p("miscommunication", 0.04, 0, 1, "share", "mechanics",
           "Conflict from misunderstandings in a contact with no communication quality. [7.7]"),
        _p("competition", 0.06, 0, 1, "share", "mechanics",
           "Conflict between two organisations doing the same work when funding is fully scarce (turf). [7.7]"),
        _p("escalation", 2.0, 0, 10, "per unit grievance", "mechanics",
           "How much unresolved grievance multiplies the conflict in a contact (conflict breeds conflict). [7.7]"),
        _p("grievance_resolution", 0.3, 0, 1, "per month", "mechanics",
           "Share of members' unresolved grievances a fully facilitative leader resolves each month. [7.8]"),
        _p("grievance_fade", 0.05, 0, 0.5, "per month", "mechanics",
           "Share of unresolved grievances that fades each month on its own. [7.8]"),
        _p("strength_scale", 2.0, 0.2, 10, "trust-weighted ties", "mechanics",
           "Trust-weighted ties at which 63% of what a member offers reaches the group. [7.9]"),
        _p("task_size", 0.15, 0.01, 2, "x reference per seat", "mechanics",
           "Combined contribution (per seat and kind, relative to a reference endowment) at which integration is one half. [7.9]"),
        _p("partner_access", 1.0, 0, 5, "x contribution", "mechanics",
           "How much of what a fully trusted partner brings a member can draw on (their benefit from partnering). [7.9]"),
        _p("surge", 0.25, 0, 2, "share", "mechanics",
           "Extra share of their current contribution an engaged member can give when resources run short. [7.9]"),
        _p("rebalance_rate", 0.3, 0, 1, "per month", "mechanics",
           "Monthly rate at which full coordination steers members' spare resources to the kinds in short supply. [7.9]"),
        _p("time_cost", 0.25, 0, 1, "benefit units", "mechanics",
           "Drawback of monthly meetings with no coordination and no protected time. [7.9]"),
        _p("meeting_cost_exponent", 0.5, 0, 1, "exponent", "mechanics",
           "Time cost falls as meeting_interval to the minus this (fewer meetings, but longer ones). [7.9]"),
        _p("coordination_time_saving", 0.5, 0, 1, "share", "mechanics",
           "Share of the time cost that full coordination removes. [7.9]"),
        _p("protected_time", 0.5, 0, 1, "share", "mechanics",
           "Share of the time cost that full external support removes (time protected by employers' mandates). [7.9]"),
        _p("frustration", 1.0, 0, 5, "per unit grievance", "mechanics",
           "Drawback per unit of a member's unresolved grievance. [7.9]"),
        _p("exclusion", 0.2, 0, 1, "benefit units", "mechanics",
           "Drawback of having no influence on decisions. [7.9]"),
        _p("mandate_weight", 0.2, 0, 1, "benefit units", "mechanics",
           "Motive to take part given by a full organisational mandate. [7.9]"),
        _p("stake_weight", 0.2, 0, 1, "benefit units", "mechanics",
           "Motive to take part given by a personal stake of 1 (researchers' stakes are higher). [7.9]"),
        _p("engagement_beta", 4.0, 0.5, 20, "per benefit unit", "mechanics",
           "Sensitivity of engagement to the net benefit of taking part. [7.9]"),
        _p("engagement_net0", 0.3, -1, 2, "benefit units", "mechanics",
           "Net benefit (with motives) at which engagement settles at one half without synergy. [7.9]"),
        _p("synergy_energy", 1.5, 0, 10, "logit per unit synergy", "mechanics",
           "Shift of engagement's logit per unit of synergy at synergy_feedback 1. [7.9]"),
        _p("engagement_rate", 0.3, 0.01, 1, "per month", "mechanics",
           "Monthly adjustment of engagement towards its target. [7.9]"),
        _p("new_member_engagement", 0.5, 0, 1, "share", "mechanics",
           "Engagement of a person who has just taken a seat. [7.10]"),
        _p("dropout", 0.05, 0, 0.5, "per month", "mechanics",
           "Extra monthly leaving hazard of a fully disengaged member (falls as (1 - engagement) squared). [7.10]"),
        _p("refill_rate", 0.35, 0, 1, "per month", "mechanics",
           "Monthly chance, at best, that an organisation names a new person to its empty seat. [7.10]"),
        _p("refill_mandate", 0.5, 0, 1, "share", "mechanics",
           "Share of an organisation's will to refill its seat that rests on its mandate (the rest on its benefits). [7.10]"),
        _p("organisation_patience", 6, 1, 36, "months", "mechanics",
           "Months a seat stays empty before its organisation gives it up. [7.10]", int),
        _p("recruitment_rate", 0.1, 0, 1, "per month", "mechanics",
           "Monthly chance, at best, that a given-up seat is taken by a new organisation. [7.10]"),
        _p("synergy_reputation", 1.0, 0, 3, "per unit synergy", "mechanics",
           "How much synergy (times synergy_feedback) raises organisations' will to refill and join. [7.10]"),
        _p("orientation_trust", 0.3, 0, 1, "share", "mechanics",
           "Trust on a newcomer's tie to the lead with full coordination (orientation of new partners). [7.10]"),
        _p("synergy_rate", 0.2, 0.01, 1, "per month", "mechanics",
           "Monthly weight of the current manifestations in members' view of synergy. [7.9]"),
        _p("development_rate", 0.1, 0.005, 1, "per month", "mechanics",
           "Monthly progress of a solution per unit of integrated capacity aimed at it. [7.12]"),
        _p("lapse_rate", 0.05, 0, 0.5, "per month", "mechanics",
           "Monthly loss of an implemented solution that nothing sustains. [7.12]"),
        _p("institutionalisation", 0.8, 0, 1, "share", "mechanics",
           "Share of the lapse that full external support prevents (policy takes solutions up). [7.12]"),
        _p("supply_baseline", 0.45, 0, 0.9, "share", "mechanics",
           "Accessibility of local PHC on each dimension before the partnership. [7.13]"),
        _p("service_impact", 0.5, 0, 1, "share", "mechanics",
           "Share of the accessibility gap a fully implemented service-side solution closes. [7.13]"),
        _p("ability_impact", 0.3, 0, 1, "ability units", "mechanics",
           "Rise in the ability of a person reached by a fully implemented outreach or navigation solution. [7.13]"),
        _p("outreach_reach", 0.4, 0, 1, "share", "mechanics",
           "Share of the cohort, the least able first, that a fully implemented ability-side solution reaches. [7.13]"),
        _p("support_recovery", 12.0, 1, 240, "months", "mechanics",
           "Time constant of the system's return to its support after a shock (new policies, new funds). [7.6]"),
        _p("org_recovery", 36.0, 1, 240, "months", "mechanics",
           "Time constant of a hit organisation's return to its funding, staff and convening. [7.6]"),
        _p("shock_support_share", 0.5, 0, 1, "share", "mechanics",
           "Share of a shock's severity that falls on external support (the rest of its force hits sectors' resources). [7.5]"),
        _p("system_shock_weight", 3.0, 1, 10, "x", "mechanics",
           "How much more likely a shock hits the public system's sectors (decision makers, administrators). [7.5]"),
        _p("shock_departure", 0.2, 0, 1, "per unit severity", "mechanics",
           "Chance, per unit severity, that the person of a hit organisation is reassigned. [7.5]"),
        _p("ability_slope", 1.2, 0.1, 5, "logit", "mechanics",
           "Abilities are sigmoid(slope x (shared + specific) + shift). [7.4]"),
        _p("ability_specific_sd", 0.6, 0, 3, "sd", "mechanics",
           "Spread of the dimension-specific part of abilities (the shared part has sd 1). [7.4]"),
        _p("ability_vulnerability_shift", 1.5, 0, 5, "logit", "mechanics",
           "Logit shift of abilities per unit of (0.5 - population_vulnerability). [7.4]"),
        _p("dissolution_months", 6, 1, 36, "months", "mechanics",
           "Months below a floor (seats or engagement) that end a partnership. [7.11]", int),
        _p("dissolution_seats", 3, 1, 20, "seats", "mechanics",
           "Fewest members a working partnership has. [7.11]", int),
        _p("dissolution_engagement", 0.15, 0, 1, "share", "mechanics",
           "Lowest mean engagement of a working partnership. [7.11]"),
        # --- ablations: switches that cut one mechanism, for the causal checks of docs/ODD.md section 1.2
        _p("implementation_follows_partnership", 1, 0, 1, "switch", "ablation",
           "1: what is implemented follows the partnership's integrated capacity and its mix; "
           "0: a fixed capacity and an even mix (P1's causal check). [7.12]", int),
        _p("fixed_capacity", 0.5, 0, 1, "share", "ablation",
           "Capacity used when implementation_follows_partnership is 0. [7.12]"),
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

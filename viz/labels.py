"""Words and colours of the workshop page: plain-language labels for people who are not modellers.

Every parameter of the schema (``model.parameters.PARAMETERS``) has a label here; a
test fails when one is missing, so a new parameter shows up on the page with words.
"""

from __future__ import annotations

from model.parameters import PARAMETERS, STAKEHOLDER_TYPES

TITLE = "Partnership synergy: a what-if model for primary health care partnerships"

INTRO = (
    "Decision makers, researchers, clinicians, managers, community organisations and patient partners "
    "sit at one table. Meeting after meeting they build (or lose) trust and pool what they have. "
    "When it works, the partners together achieve more than any of them could alone (synergy), and "
    "months later more people in a vulnerable population can get the care they need (access). "
    "This is a thinking tool, not a forecast: the numbers are plausible starting points, not predictions."
)

# Parameter labels: short, in the words of a partnership's members.
PARAMETER_LABELS: dict[str, str] = {
    "seats": "Seats at the table",
    "type_diversity": "Variety of stakeholder types (0 = one type, 1 = all six)",
    "composition": "Seats by stakeholder type (weights; empty = use the variety above)",
    "initial_tie_density": "Working relationships already there at the start",
    "centralization": "How much the work runs through the lead",
    "lead_type": "Who leads (0 decision maker, 1 researcher, 2 clinician, 3 manager, 4 patient partner, 5 community organisation)",
    "committee_size": "Committee size (tables of more than 30 seats)",
    "communication": "Quality of communication",
    "power_asymmetry": "Power differences turning into conflict",
    "trust_gain": "Trust gained per contact",
    "trust_decay": "Trust lost per month without contact",
    "synergy_feedback": "Energy that synergy gives back (0 = none)",
    "meeting_interval": "Months between meetings",
    "leadership": "Facilitative leadership",
    "coordination": "Coordination and administrative support",
    "decision_inclusiveness": "Shared decision-making",
    "patient_partner_support": "Support for patient partners",
    "external_support": "Support from the system (policy, mandates, funding)",
    "individual_turnover": "Chance a member moves on, per month",
    "shock_month": "Month of a planned system shock (0 = none)",
    "shock_severity": "Severity of a planned system shock",
    "resource_complementarity": "How much the partners' resources complement each other",
    "financial_resources": "Money the partners bring (x usual)",
    "nonfinancial_resources": "Expertise, contacts, time the partners bring (x usual)",
    "access_lag": "Months access takes to respond",
    "population_size": "People in the population served",
    "population_vulnerability": "How vulnerable the population is (1 = most)",
    "steps": "Months to simulate",
    "tie_capacity": "Working relationships a member can keep up",
    "lead_capacity": "Relationships the lead keeps up (x a member's)",
    "lead_contact_drop": "How much less members meet each other than the lead (full centralisation)",
    "endowment_spread": "How much organisations of one type differ in resources",
    "initial_trust": "Trust on the relationships there at the start",
    "new_tie_trust": "Trust on a relationship that has just formed",
    "tie_formation": "Chance a first contact starts a working relationship",
    "brokerage": "Share of new relationships and new members owed to the leader",
    "communication_share": "Share of the trust a contact builds that depends on communication",
    "attendance_floor": "Chance a barely engaged member still comes to a meeting",
    "attendance_barrier": "Meetings missed for practical reasons without coordination",
    "conflict_trust_loss": "Trust lost to conflict in a contact",
    "power_conflict": "Conflict from a power difference",
    "miscommunication": "Conflict from misunderstandings",
    "competition": "Conflict from competing for scarce funds",
    "escalation": "How much grievances escalate conflict",
    "grievance_resolution": "Grievances a strong leader resolves each month",
    "grievance_fade": "Grievances that fade each month on their own",
    "strength_scale": "Trusted ties needed for a member's resources to reach the group",
    "task_size": "Size of the task the partnership takes on",
    "partner_access": "How much of a trusted partner's contribution a member can use",
    "surge": "Extra a member can give when resources run short",
    "rebalance_rate": "Speed at which coordination steers resources to what is missing",
    "time_cost": "Time cost of monthly meetings",
    "meeting_cost_exponent": "How the time cost falls with fewer meetings",
    "coordination_time_saving": "Share of the time cost coordination removes",
    "protected_time": "Share of the time cost the system's support removes",
    "frustration": "Drawback of unresolved grievances",
    "exclusion": "Drawback of having no say in decisions",
    "mandate_weight": "Motive given by an organisational mandate",
    "stake_weight": "Motive given by a personal stake",
    "engagement_beta": "How strongly engagement follows benefits minus drawbacks",
    "engagement_net0": "Net benefit at which engagement is one half",
    "synergy_energy": "Energy synergy gives to engagement",
    "engagement_rate": "Speed at which engagement changes",
    "new_member_engagement": "Engagement of a new member",
    "dropout": "Extra chance a disengaged member leaves, per month",
    "refill_rate": "Chance an organisation names someone to its empty seat, per month",
    "refill_mandate": "Share of an organisation's will to refill that rests on its mandate",
    "organisation_patience": "Months before an organisation gives up an empty seat",
    "recruitment_rate": "Chance a new organisation takes a given-up seat, per month",
    "synergy_reputation": "How much synergy draws organisations in",
    "orientation_trust": "Trust a newcomer starts with towards the lead (full coordination)",
    "synergy_rate": "Speed at which members' view of synergy changes",
    "development_rate": "Speed at which solutions are developed",
    "lapse_rate": "Speed at which unsupported solutions lapse",
    "institutionalisation": "Share of the lapse that the system's support prevents",
    "supply_baseline": "Accessibility of services before the partnership",
    "service_impact": "Share of the accessibility gap a full service solution closes",
    "ability_impact": "Rise in ability of a person reached by outreach or navigation",
    "outreach_reach": "Share of the people a full outreach solution reaches",
    "support_recovery": "Months for the system's support to come back after a shock",
    "org_recovery": "Months for a hit organisation to recover",
    "shock_support_share": "Share of a shock that falls on the system's support",
    "system_shock_weight": "How much more often a shock hits the public system",
    "shock_departure": "Chance a hit organisation's person is reassigned",
    "ability_slope": "Spread of people's abilities",
    "ability_specific_sd": "How much one ability differs from a person's others",
    "ability_vulnerability_shift": "How much vulnerability lowers abilities",
    "dissolution_months": "Months below a floor that end a partnership",
    "dissolution_seats": "Fewest members a partnership works with",
    "dissolution_engagement": "Lowest engagement a partnership works with",
    "implementation_follows_partnership": "Implementation follows the partnership (1) or a fixed capacity (0)",
    "fixed_capacity": "Capacity used when implementation does not follow the partnership",
}

LEVEL_TITLES: dict[str, str] = {
    "structure": "Who sits at the table (structure)",
    "interpersonal": "Working together (interpersonal)",
    "operational": "Running the partnership (operational)",
    "system": "The system around it",
    "resources": "Resources",
    "population": "The population served",
    "simulation": "Simulation",
    "mechanics": "The constants of the model's rules (for modellers)",
    "ablation": "Ablations: switches that cut one mechanism (for modellers)",
}
# Levels shown open on the settings tab; the others are folded under "More settings".
MAIN_LEVELS = ("structure", "interpersonal", "operational", "system")

# Stakeholder types: words and colours (Okabe-Ito palette, readable with colour-blindness).
TYPE_LABELS: dict[str, str] = {
    "decision_maker": "Decision maker",
    "academic": "Researcher",
    "clinician": "Clinician",
    "administrator": "Manager / administrator",
    "patient_partner": "Patient partner",
    "community_org": "Community organisation",
}
TYPE_COLOURS: dict[str, str] = {
    "decision_maker": "#0072B2",
    "academic": "#E69F00",
    "clinician": "#009E73",
    "administrator": "#CC79A7",
    "patient_partner": "#D55E00",
    "community_org": "#56B4E9",
}

# Time-series outputs: labels and colours.
SYNERGY_LINES: dict[str, tuple[str, str]] = {
    "synergy": ("Synergy", "#000000"),
    "resource_integration": ("Resources combined", "#0072B2"),
    "atmosphere": ("Atmosphere (trust, little conflict)", "#009E73"),
    "stakeholder_benefit": ("Benefits partners see", "#E69F00"),
    "adaptive_capacity": ("Capacity to adapt", "#CC79A7"),
}
ACCESS_LINES: dict[str, tuple[str, str]] = {
    "access": ("Access (all five passed)", "#000000"),
    "access_approachability": ("Approachability", "#0072B2"),
    "access_acceptability": ("Acceptability", "#009E73"),
    "access_availability": ("Availability", "#E69F00"),
    "access_affordability": ("Affordability", "#CC79A7"),
    "access_appropriateness": ("Appropriateness", "#56B4E9"),
}
MEMBERSHIP_LINES: dict[str, tuple[str, str]] = {
    "active_seats": ("Seats filled now", "#0072B2"),
    "cumulative_members": ("People who ever held a seat", "#D55E00"),
}

# "How to read this" for each view.
HOW_TO_READ: dict[str, str] = {
    "network": (
        "Each circle is a seat at the table, coloured by who holds it; a bigger circle is a more engaged member. "
        "Lines are working relationships: darker and thicker means more trust. A hollow circle is a seat whose "
        "member has left and that their organisation has not filled yet; a grey dotted circle is a seat its "
        "organisation gave up. The lead has a black ring. Seats keep their place while the model runs."
    ),
    "synergy": (
        "Synergy (black, 0 to 1) is what the partners achieve together beyond what each could alone. It is the "
        "average of four things the partners would notice: how far their resources are combined, the atmosphere, "
        "the benefits they see for themselves, and the table's capacity to adapt. Dashed lines mark what was done "
        "during the run."
    ),
    "access": (
        "Share of the people served whose need for care can be met (black): they must get past all five "
        "dimensions of access (coloured: can they find out about care, is it acceptable to them, available, "
        "affordable, appropriate). Access follows what the partnership implements, months later."
    ),
    "membership": (
        "Seats filled now, and how many different people have held a seat since the start. A growing gap between "
        "the two lines means people come and go (turnover)."
    ),
    "compare": (
        "Runs the model many times (with different chance events) for your current settings and for the "
        "baseline scenario, with the same chance events for each pair. The line is the middle run (median); the "
        "band holds 90% of runs. Bands that overlap a lot mean the difference is small against chance."
    ),
    "export": (
        "The current settings as a scenario file, to download. It can be loaded back here (drop it on the "
        "scenario box), run from the command line (phc-synergy run --scenario FILE) and used as the base of a sweep."
    ),
}

INTERVENTION_HELP: dict[str, str] = {
    "shock": "A reform or a funding cut, now: support from the system falls and some organisations lose money, staff or their person.",
    "coordinator": "A dedicated coordinator joins: coordination rises to 0.9, cutting partners' time costs.",
    "key_partner": "The most connected member leaves now; their relationships go with them.",
    "recruit": "A patient partner takes an empty seat (there must be one).",
}


def parameter_label(name: str) -> str:
    """The plain-language label of a parameter (its name when there is none)."""
    return PARAMETER_LABELS.get(name, name.replace("_", " "))


def parameter_hint(name: str) -> str:
    """One line under a field: what the parameter means, its unit and what is allowed."""
    p = PARAMETERS[name]
    unit = f" Unit: {p.unit}." if p.unit and p.kind is not dict else ""
    return f"{p.meaning}{unit} Allowed: {p.allowed()}. ({name})"


def type_label(stakeholder_type: str) -> str:
    return TYPE_LABELS.get(stakeholder_type, stakeholder_type)


def check_complete() -> list[str]:
    """Names of schema parameters or stakeholder types with no label (empty when complete)."""
    missing = [n for n in PARAMETERS if n not in PARAMETER_LABELS]
    missing += [t for t in STAKEHOLDER_TYPES if t not in TYPE_LABELS or t not in TYPE_COLOURS]
    return missing

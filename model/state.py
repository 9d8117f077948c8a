"""The model's state as numpy record arrays: one record per seat, per pair, for the partnership, and the rules.

The compiled rules (``model.kernels``) read and write these records by field name
(``seat.engagement``, ``pair.contact``, ``rules.leadership``), so a rule reads like the
ODD's equation and takes a few structured arguments instead of dozens of arrays.
A record array crosses into compiled code as one pointer, so the structure costs
nothing at run time.

- ``SEAT``: one record per *slot* (a seat's place in its committee; docs/ODD.md 2.2).
- ``PAIR``: one record per ordered pair of slots in the same committee (G x g x g):
  the pair's constants; the arrays are kept symmetric.
- trust on each pair's working relationship: a plain ``TRUST_DTYPE`` array of the
  same shape (0 = no tie), kept symmetric. It is apart from the pair records because
  it changes every month and the monthly passes read it whole: contiguous, they run as
  vector instructions.
- ``TYPE``: one record per stakeholder type, its constants (``type_table``).
- ``PARTNERSHIP``: the partnership-level state and this month's observations (one record).
- ``rules_record(params)``: every numeric parameter of the schema by its name, plus
  the few values derived from them once per run (one record).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model.agents import DIMENSIONS, RESOURCE_KINDS
from model.parameters import PARAMETERS, STAKEHOLDER_TYPES

K = len(RESOURCE_KINDS)  # resource kinds
D = len(DIMENSIONS)  # accessibility dimensions (and the abilities paired with them)
TARGETS = 2 * D  # what a solution can act on: the five dimensions of services, then the five abilities of people

PAIR_DTYPE = np.float32  # pair records: half the memory traffic of float64 (they need no more precision)
TRUST_DTYPE = np.float32  # trust on working relationships (G x g x g), likewise

SEAT = np.dtype(
    [
        ("occupied", "b1"),  # a person holds the seat
        ("attended", "b1"),  # came to the last meeting
        ("lead", "b1"),  # the partnership's lead (or a committee's chair)
        ("org", "b1"),  # an organisation holds the seat (it may be empty)
        ("valid", "b1"),  # the slot is a real seat (committees are padded to equal size)
        ("ties", "i8"),  # working relationships held
        ("type", "i8"),  # stakeholder type (index into STAKEHOLDER_TYPES)
        ("engagement", "f8"),  # 0-1
        ("grievance", "f8"),  # unresolved conflict felt, 0-1
        ("exposure", "f8"),  # conflict per contact met at the last meeting, 0-1
        ("capacity", "f8"),  # working relationships this person can keep up
        ("strength", "f8"),  # sum of trust on ties
        ("trust_held", "f8"),  # mean trust on ties (0 without ties)
        ("reach", "f8"),  # share of what the member offers that reaches the group (7.9b)
        ("benefits", "f8"),  # perceived benefits of taking part, 0-1
        ("drawbacks", "f8"),  # perceived drawbacks
        ("benefit_share", "f8"),  # benefits / (benefits + drawbacks)
        ("voice", "f8"),  # influence on decisions: decision_inclusiveness + (1 - it) x power
        ("time_cost", "f8"),  # drawback of the time taking part costs
        ("stake", "f8"),  # personal stake in the work (type), 0-1
        ("own_capacity", "f8"),  # CES capacity of the endowment alone (what the member could do without partners)
        ("power", "f8"),  # influence from position (type), 0-1
        ("refill_factor", "f8"),  # 1, or patient_partner_support for patient partners' seats
        ("last_benefit_share", "f8"),  # the seat's last holder's benefit share (the organisation remembers)
        ("person", "i8"),  # id of the holder (from 1); 0 = empty
        ("joined", "i8"),  # month the holder took the seat
        ("vacant_months", "i8"),
        ("endowment", "f8", (K,)),  # what the organisation puts at the holder's disposal now (a shock lowers it)
        ("full_endowment", "f8", (K,)),  # what it holds in normal times
        ("contribution", "f8", (K,)),  # what reaches the group this month
        ("spare", "f8", (K,)),  # what the holder could still offer this month
    ],
    align=True,  # fields on 8-byte boundaries; what each month's passes read sits in the first cache lines
)

PAIR = np.dtype(
    [
        ("contact", PAIR_DTYPE),  # chance the two have a working contact at a meeting both attend
        ("power_gap", PAIR_DTYPE),  # |power_i - power_j|
        ("overlap", PAIR_DTYPE),  # 1 - distance of their resource profiles (same work: competition)
        ("distance", PAIR_DTYPE),  # distance of their resource profiles (0-1)
    ]
)

TYPE = np.dtype(
    [
        ("power", "f8"),  # influence from position, 0-1
        ("stake", "f8"),  # personal stake in the work, 0-1
        ("patient", "b1"),  # patient partners (their seats' support and time cost, 7.7, 7.10)
        ("distance", "f8", (len(STAKEHOLDER_TYPES),)),  # distance of resource profiles to each type, 0-1
        ("profile", "f8", (K,)),  # the type's characteristic resource profile (sums to 1)
    ]
)

PARTNERSHIP = np.dtype(
    [
        ("synergy", "f8"),
        ("raw_synergy", "f8"),  # this month's mean of the four manifestations
        ("integration", "f8"),  # manifestation (a)
        ("atmosphere", "f8"),  # manifestation (b)
        ("benefit", "f8"),  # manifestation (c)
        ("adaptive", "f8"),  # manifestation (d)
        ("capacity", "f8"),  # combined capacity Q (CES of the pool against the task)
        ("convening", "f8"),  # pooled convening power against the task's need, 0-1
        ("mean_trust", "f8"),
        ("conflict", "f8"),  # conflict per contact at the last meeting
        ("grievance", "f8"),  # mean unresolved grievance of members
        ("engagement", "f8"),
        ("attendance", "f8"),
        ("density", "f8"),  # ties / possible pairs
        ("support_factor", "f8"),  # share of external support a shock has left (1 = none lost)
        ("shocked", "b1"),
        ("dissolved", "b1"),
        ("low_months", "i8"),
        ("occupied", "i8"),
        ("departures", "i8"),  # this month
        ("cumulative", "i8"),  # people who have held a seat
        ("pool", "f8", (K,)),  # resources reaching the group this month, by kind
        ("voiced", "f8", (K,)),  # the pool weighted by each contributor's voice in decisions
        ("spare", "f8", (K,)),  # what members could add if asked, by kind (before mobilisation)
        ("shortfall", "f8", (K,)),  # what members would bring in normal times but a shock has taken, by kind
        ("mobilisation", "f8", (K,)),  # share of spare capacity steered to each kind
        ("implementation", "f8", (TARGETS,)),  # solutions in place: services by dimension, then abilities
        ("supply", "f8", (D,)),  # accessibility of services, by dimension
        ("reach", "f8", (D,)),  # share of the cohort reached by ability-side solutions, by ability
        ("per_dimension", "f8", (D,)),  # share of the cohort passing each dimension
        ("access", "f8"),
        ("access_low", "f8"),  # access of the least-able fifth
        ("access_rest", "f8"),  # access of the other four fifths
    ]
)

# values the rules need beyond the parameters, derived once per run (model.PartnershipModel._derive_rules)
DERIVED: tuple[str, ...] = (
    "rho",  # CES exponent from resource_complementarity
    "need",  # the task's need of each kind: task_size x seats / K (reference endowments)
)


def type_table(power: np.ndarray, stake: np.ndarray, patient: int, distance: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """The stakeholder types' constants as ``TYPE`` records (power, stake, the patient partner, distances, profiles)."""
    table = np.zeros(len(power), dtype=TYPE)
    table["power"], table["stake"], table["distance"], table["profile"] = power, stake, distance, profile
    table["patient"][patient] = True
    return records(table)


def records(array: np.ndarray) -> np.ndarray:
    """The array the rules get: itself compiled; a recarray view when numba's compiler is off.

    Compiled code reads fields of plain structured arrays by name; plain Python needs
    recarray records for that (``NUMBA_DISABLE_JIT=1``). A recarray costs compiled calls
    a little more, so it is used only when nothing is compiled.
    """
    from numba import config

    return array.view(np.recarray) if config.DISABLE_JIT else array


def rules_dtype() -> np.dtype:
    """One float field per numeric parameter (schema order), then the derived values."""
    names = [name for name, p in PARAMETERS.items() if p.sweepable] + list(DERIVED)
    return np.dtype([(name, "f8") for name in names])


RULES = rules_dtype()


_NUMERIC = tuple(name for name, p in PARAMETERS.items() if p.sweepable)


def rules_record(params: dict[str, Any], **derived: float) -> np.ndarray:
    """A one-record array of the rules: every numeric parameter, and the derived values given (others 0)."""
    unknown = set(derived) - set(DERIVED)
    if unknown:
        raise ValueError(f"not a derived value of the rules: {sorted(unknown)}")
    values = tuple(params[name] for name in _NUMERIC) + tuple(derived.get(name, 0.0) for name in DERIVED)
    return records(np.array([values], dtype=RULES))

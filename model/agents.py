"""Stakeholders: who sits at the table, what they bring, and their Mesa face.

The numbers of the model live in arrays owned by the model (one entry per seat);
a :class:`Stakeholder` is the readable view of one person holding one seat.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING

import mesa
import numpy as np

from model.parameters import STAKEHOLDER_TYPES

if TYPE_CHECKING:  # pragma: no cover
    from model.model import PartnershipModel

# Resource kinds (Lasker et al. 2001): money, and six non-financial kinds.
RESOURCE_KINDS: tuple[str, ...] = (
    "financial",
    "expertise",
    "information",
    "connections",
    "legitimacy",
    "convening",
    "in_kind",
)
FINANCIAL = 0
CONVENING = RESOURCE_KINDS.index("convening")

# Levesque et al. 2013: accessibility dimensions, each paired with an ability of people.
DIMENSIONS: tuple[str, ...] = (
    "approachability",
    "acceptability",
    "availability",
    "affordability",
    "appropriateness",
)
ABILITIES: tuple[str, ...] = ("perceive", "seek", "reach", "pay", "engage")

# Characteristic resource profile of each type (relative weights; rows are
# normalised to sum to 1, so every member holds the same total endowment and
# composition changes *which* kinds a table holds, not how much).
_RAW_PROFILES = {
    #                  fin  exp  info conn legit conv inkind
    "decision_maker": (3.0, 1.0, 2.0, 1.0, 3.0, 3.0, 1.0),
    "academic":       (2.0, 3.0, 3.0, 0.5, 1.0, 1.0, 1.0),
    "clinician":      (0.5, 3.0, 1.0, 1.0, 1.0, 0.5, 3.0),
    "administrator":  (2.0, 1.0, 2.0, 1.0, 1.0, 1.0, 3.0),
    "patient_partner": (0.2, 0.5, 2.0, 3.0, 2.0, 0.5, 0.2),
    "community_org":  (0.5, 1.0, 1.0, 3.0, 2.0, 1.0, 2.0),
}  # fmt: skip
TYPE_PROFILES: np.ndarray = np.array([_RAW_PROFILES[t] for t in STAKEHOLDER_TYPES])
TYPE_PROFILES /= TYPE_PROFILES.sum(axis=1, keepdims=True)

# Power/influence a member brings from their position (0-1).
TYPE_POWER = np.array([0.9, 0.75, 0.6, 0.7, 0.2, 0.4])
# Personal stake in the partnership's work; researchers' stakes were perceived
# to be higher (Loban et al. 2021, Table 1).
TYPE_STAKE = np.array([0.5, 0.8, 0.4, 0.4, 0.4, 0.5])
PATIENT_PARTNER = STAKEHOLDER_TYPES.index("patient_partner")

# Complementarity between two types: half the L1 distance of their profiles (0-1).
TYPE_DISTANCE = 0.5 * np.abs(TYPE_PROFILES[:, None, :] - TYPE_PROFILES[None, :, :]).sum(axis=2)

# What a solution can act on (Levesque et al. 2013): the five accessibility dimensions of
# services, and the five abilities of people that face them (the IMPACT interventions worked
# on both sides: Russell et al. 2019; Spooner et al. 2021).
TARGETS: tuple[str, ...] = DIMENSIONS + ABILITIES

# Which targets each resource kind can be turned to (docs/ODD.md 7.12): money buys affordable,
# available services and help to pay (transport); expertise appropriate care and health
# literacy; information approachability and people's ability to perceive a need and find
# care; connections to the population (community organisations, patient partners) outreach
# and navigation (perceive, seek, reach, engage); legitimacy acceptability and trusted
# messengers (seek); convening a little of everything; in-kind staff time and space
# availability and help to reach care.
_RAW_KIND_TO_TARGET = np.array(
    [
        # appr  acce  avai  affo  appro | perc  seek  reach pay   engage
        [0.0, 0.0, 0.3, 0.4, 0.0, 0.0, 0.0, 0.1, 0.2, 0.0],  # financial
        [0.0, 0.0, 0.2, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.3],  # expertise
        [0.3, 0.0, 0.0, 0.0, 0.1, 0.4, 0.2, 0.0, 0.0, 0.0],  # information
        [0.1, 0.1, 0.0, 0.0, 0.0, 0.2, 0.2, 0.2, 0.0, 0.2],  # connections
        [0.1, 0.5, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0, 0.0, 0.1],  # legitimacy
        [0.2, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.0, 0.0],  # convening
        [0.0, 0.0, 0.5, 0.1, 0.0, 0.0, 0.0, 0.3, 0.1, 0.0],  # in_kind
    ]
)
# Columns normalised so that an even pool of resources is aimed evenly at every target.
KIND_TO_TARGET = _RAW_KIND_TO_TARGET / _RAW_KIND_TO_TARGET.sum(axis=0, keepdims=True)

# Order in which types join the table as type_diversity rises from 0 to 1.
DIVERSITY_ORDER: tuple[str, ...] = (
    "clinician",
    "academic",
    "decision_maker",
    "administrator",
    "community_org",
    "patient_partner",
)


class _PerModelCounter(weakref.WeakKeyDictionary):
    """Per-model id counters that do not keep finished models alive.

    Mesa 3.3.1 keeps ``Agent._ids`` in a class-level ``defaultdict`` keyed by the
    model, so every model ever built stays in memory (STACK.md). Keyed weakly, a
    model is freed as soon as nothing else refers to it.
    """

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class Stakeholder(mesa.Agent):
    """One person holding a seat for an organisation (a readable view on the model's arrays).

    The model keeps every person's state in arrays and makes these views when
    someone looks (``model.agents``, ``model.stakeholders``, ``model.network()``);
    a view of a person who has left reports ``active == False``.
    """

    _ids = _PerModelCounter()

    def __init__(self, model: PartnershipModel, person: int, seat: int, slot: int):
        super().__init__(model)
        self.unique_id = person  # the model's person id: stable whenever the view is made
        self.seat = seat  # seat number 0..seats-1 (the node id in the network)
        self._slot = slot
        self.type_index = int(model.seats["type"][slot])
        self.joined = int(model.seats["joined"][slot])  # month this person took the seat

    def _field(self, name: str) -> float:
        return float(self.model.seats[name][self._slot])

    @property
    def stakeholder_type(self) -> str:
        """The person's stakeholder type."""
        return STAKEHOLDER_TYPES[self.type_index]

    @property
    def active(self) -> bool:
        """True while this person still holds the seat."""
        return int(self.model.seats["person"][self._slot]) == self.unique_id

    @property
    def engagement(self) -> float:
        """Engagement, share 0-1."""
        return self._field("engagement")

    @property
    def trust(self) -> float:
        """Mean trust on this person's ties (0-1; 0 with no ties)."""
        return self._field("trust_held")

    @property
    def ties(self) -> int:
        """Working relationships this person holds."""
        return int(self.model.seats["ties"][self._slot])

    @property
    def grievance(self) -> float:
        """Unresolved conflict this person feels, 0-1."""
        return self._field("grievance")

    @property
    def power(self) -> float:
        """Power/influence from position, 0-1."""
        return float(TYPE_POWER[self.type_index])

    @property
    def benefits(self) -> float:
        """Perceived benefits of taking part, 0-1 (what partners make possible)."""
        return self._field("benefits")

    @property
    def drawbacks(self) -> float:
        """Perceived drawbacks of taking part (time, frustration, lack of influence)."""
        return self._field("drawbacks")

    @property
    def net_benefit(self) -> float:
        """Perceived benefits minus drawbacks of taking part (about -1 to 1)."""
        return self.benefits - self.drawbacks

    @property
    def benefit_share(self) -> float:
        """Benefits as a share of benefits plus drawbacks (0-1; above 0.5, benefits outweigh)."""
        return self._field("benefit_share")

    @property
    def tenure(self) -> int:
        """Months this person has held the seat."""
        return self.model.steps - self.joined

    @property
    def endowment(self) -> dict[str, float]:
        """Resources this person's organisation puts at their disposal, by kind."""
        return dict(zip(RESOURCE_KINDS, self.model.seats["endowment"][self._slot].tolist(), strict=True))

    @property
    def is_lead(self) -> bool:
        """True for the partnership lead's seat."""
        return self._slot == self.model.lead_slot

    def __repr__(self) -> str:
        return f"Stakeholder(id={self.unique_id}, seat={self.seat}, type={self.stakeholder_type})"

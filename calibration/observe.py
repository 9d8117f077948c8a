"""The virtual evaluator: the data an evaluation team would hold about a run (docs/ODD.md 4.11.1).

    evaluation = observe_run(params, seed=7, waves=(12, 24, 36))
    evaluation.survey      # PSAT answers: wave, respondent, type, section, item, answer (0 = "don't know")
    evaluation.attendance  # meeting, person, type, attended
    evaluation.roster      # person, organisation, type, joined, left (-1 = still a member)
    evaluation.milestones  # month, target, level: when a solution first reached a level

It steps an ordinary :class:`model.model.PartnershipModel` month by month and reads
its state after each month; the model does not know it is observed. Every table is a
dict of numpy columns (:mod:`calibration.tables` writes, reads and summarises them).

The measurement model (how an answer arises from the state) is one short function per
step below: who is asked, who answers, what each section measures, the respondent's
bias and halo, the item's noise, and "don't know". Its constants are conventions of
survey research, set here once and documented in docs/ODD.md 4.11.1; the observation's
random numbers come from their own stream, so observing a run never changes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.agents import ABILITIES, DIMENSIONS, RESOURCE_KINDS

# ---- the survey's sections (docs/ODD.md 4.11.1): name -> items. The first ten are the PSAT's
# (Center for the Advancement of Collaborative Strategies in Health 2002; item counts as in
# EVIDENCE.md); trust and mistrust are the adapted scales of Jones and Barry (2011, 2018),
# communication the communication factors of the Wilder Collaboration Factors Inventory
# (Mattessich, Murray-Close and Monsey 2001); these three are asked here with five, five
# and four items (the sources' item counts are not used).
PSAT_SECTIONS: dict[str, int] = {
    "synergy": 9,
    "leadership": 11,
    "efficiency": 3,
    "administration": 9,
    "nonfinancial_resources": 6,
    "financial_resources": 3,
    "decision_making": 3,
    "benefits": 11,
    "drawbacks": 6,
    "satisfaction": 5,
}
ADAPTED_SECTIONS: dict[str, int] = {"trust": 5, "mistrust": 5, "communication": 4}
SECTIONS: dict[str, int] = {**PSAT_SECTIONS, **ADAPTED_SECTIONS}
SECTION_INDEX: dict[str, int] = {name: i for i, name in enumerate(SECTIONS)}
SECTION_NAMES: tuple[str, ...] = tuple(SECTIONS)
# sections about how the partnership runs, which a newcomer often cannot judge yet
RUNNING_SECTIONS = frozenset({"leadership", "efficiency", "administration", "nonfinancial_resources",
                              "financial_resources", "decision_making"})

# ---- constants of the measurement model (docs/ODD.md 4.11.1)
RESPONSE_FLOOR = 0.3  # chance a fully disengaged member still answers; an engaged one answers with certainty
RESPONDENT_SD = 0.08  # a respondent's own leniency (shared by all their answers in a wave), on the 0-1 scale
HALO = 0.25  # share of each answer that reflects the respondent's overall satisfaction (halo effect)
ITEM_SD = 0.6  # noise of one answer, in scale points (1-5), before rounding
DONT_KNOW_BASE = 0.03  # chance of "don't know" on any item
DONT_KNOW_NEWCOMER = 0.4  # extra chance for a newcomer on how the partnership runs, fading with tenure
NEWCOMER_MONTHS = 4.0  # months over which a newcomer's extra "don't know" fades (e-folding)
MILESTONE_LEVELS = (0.25, 0.5, 0.75)  # levels of a solution's implementation the evaluators record

OBSERVATION_STREAM = 0x0B5E  # the observation's random stream: SeedSequence([seed, OBSERVATION_STREAM])
TARGET_NAMES: tuple[str, ...] = tuple(f"service:{d}" for d in DIMENSIONS) + tuple(f"ability:{a}" for a in ABILITIES)


@dataclass
class Evaluation:
    """What the evaluators hold about one run: four tables (dicts of equal-length numpy columns)."""

    survey: dict[str, np.ndarray]
    attendance: dict[str, np.ndarray]
    roster: dict[str, np.ndarray]
    milestones: dict[str, np.ndarray]
    steps: int
    meta: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ the measurement model
def response_chance(engagement: np.ndarray) -> np.ndarray:
    """Who answers a wave: the more engaged, the likelier (non-response depends on engagement)."""
    return RESPONSE_FLOOR + (1.0 - RESPONSE_FLOOR) * np.clip(engagement, 0.0, 1.0)


def section_constructs(seats: np.ndarray, part: Any, rules: Any) -> dict[str, np.ndarray]:
    """What each section measures, per member (0-1), from the state the month a wave is asked.

    Each is the quantity of the model the section's items ask about: leadership and
    administration are the processes members see at work (the lead's facilitation, the
    coordinator's support); resources are the pool against the task's need; decision
    making is the member's voice; benefits, drawbacks and satisfaction are the member's
    own; trust is the mean trust on their ties, mistrust their unresolved grievance;
    communication is the quality of communication members experience.
    """
    n = seats.size
    pool = np.asarray(part.pool, dtype=float)
    cover = pool / rules.need
    cover = cover / (1.0 + cover)  # one half when the pool meets the need
    financial = RESOURCE_KINDS.index("financial")
    nonfinancial = np.delete(cover, financial).mean()
    share = np.clip(seats["benefit_share"], 0.0, 1.0)
    return {
        "synergy": np.full(n, float(part.synergy)),
        "leadership": np.full(n, float(rules.leadership)),
        "efficiency": np.clip(1.0 - seats["time_cost"] / max(rules.time_cost, 1e-12), 0.0, 1.0),
        "administration": np.full(n, float(rules.coordination)),
        "nonfinancial_resources": np.full(n, float(nonfinancial)),
        "financial_resources": np.full(n, float(cover[financial])),
        "decision_making": np.clip(seats["voice"], 0.0, 1.0),
        "benefits": np.clip(seats["benefits"], 0.0, 1.0),
        "drawbacks": np.clip(seats["drawbacks"], 0.0, 1.0),
        "satisfaction": share,
        "trust": np.clip(seats["trust_held"], 0.0, 1.0),
        "mistrust": np.clip(seats["grievance"], 0.0, 1.0),
        "communication": np.full(n, float(rules.communication)),
    }


def latent_answer(construct: np.ndarray, satisfaction: np.ndarray, leniency: np.ndarray) -> np.ndarray:
    """A respondent's view of each section, 0-1 (respondents x sections): the construct, coloured by their
    overall satisfaction and leniency."""
    return (1.0 - HALO) * construct + HALO * satisfaction[:, None] + leniency[:, None]


def item_answers(latent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Answers on the 1-5 scale (respondents x items, ``latent`` given per item): rounded, with item noise."""
    points = 1.0 + 4.0 * latent + rng.normal(0.0, ITEM_SD, latent.shape)
    return np.clip(np.rint(points), 1, 5).astype(np.int64)


def dont_know_chance(section: str, tenure: np.ndarray) -> np.ndarray:
    """Chance of "don't know": a little on any item, more for newcomers on how the partnership runs."""
    if section not in RUNNING_SECTIONS:
        return np.full(tenure.shape, DONT_KNOW_BASE)
    return DONT_KNOW_BASE + DONT_KNOW_NEWCOMER * np.exp(-tenure / NEWCOMER_MONTHS)


# ------------------------------------------------------------------ the evaluator
class Evaluator:
    """Reads a model's state after each month and keeps the evaluators' records."""

    def __init__(self, model: Any, waves: Sequence[int], sections: dict[str, int] | None, seed: int):
        self.model = model
        self.waves = frozenset(int(w) for w in waves)
        self.sections = dict(SECTIONS if sections is None else sections)
        self.rng = np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, OBSERVATION_STREAM]))
        slots = model._slot_of_seat
        self.slots = slots
        seats = model.seats
        self.person = seats["person"][slots].copy()
        self.org_open = seats["org"][slots].copy()
        self.org_id = np.where(self.org_open, np.arange(1, slots.size + 1), 0)
        self.next_org = slots.size + 1
        self.roster: dict[int, list[int]] = {}  # person -> [organisation, type, joined, left]
        for seat in np.nonzero(self.person)[0].tolist():
            self.roster[int(self.person[seat])] = [int(self.org_id[seat]), int(seats["type"][slots[seat]]), 0, -1]
        self.survey: list[np.ndarray] = []
        self.attendance: list[np.ndarray] = []
        self.reached = np.zeros((len(TARGET_NAMES), len(MILESTONE_LEVELS)), dtype=bool)
        self.next_level = np.full(len(TARGET_NAMES), MILESTONE_LEVELS[0])
        self.milestones: list[tuple[int, int, int]] = []
        counts = np.array(list(self.sections.values()))
        self.item_section = np.repeat(np.arange(counts.size), counts)
        self.item_section_index = np.repeat([SECTION_INDEX[n] for n in self.sections], counts)
        self.item_number = np.concatenate([np.arange(1, c + 1) for c in counts]) if counts.size else np.zeros(0, int)

    def after_month(self) -> None:
        """Record what happened this month: joins and departures, a meeting's attendance, milestones, a wave."""
        model = self.model
        month = int(model.steps)
        all_seats, slots = model.seats, self.slots
        person = all_seats["person"][slots]  # the few fields needed every month (a whole-record copy costs more)
        self._roster(person, all_seats["org"][slots], all_seats["type"], month)
        meets = not model.dissolved and (month - 1) % model.params["meeting_interval"] == 0
        present = person > 0
        if meets and present.any():
            who = slots[present]
            self.attendance.append((np.full(who.size, month), person[present], all_seats["type"][who],
                                    all_seats["attended"][who]))
        self._milestones(month)
        if month in self.waves and present.any():
            self._wave(all_seats[slots], month)

    def _roster(self, person: np.ndarray, org: np.ndarray, types: np.ndarray, month: int) -> None:
        changed = person != self.person
        if changed.any():
            for seat in np.nonzero(changed & (self.person > 0))[0].tolist():
                self.roster[int(self.person[seat])][3] = month
            self.org_id[self.org_open & ~org] = 0
            for seat in np.nonzero(changed & (person > 0))[0].tolist():
                if self.org_id[seat] == 0:  # an organisation new to the partnership takes the seat
                    self.org_id[seat] = self.next_org
                    self.next_org += 1
                self.roster[int(person[seat])] = [int(self.org_id[seat]), int(types[self.slots[seat]]), month, -1]
            self.person = person
        else:
            self.org_id[self.org_open & ~org] = 0
        self.org_open = org

    def _milestones(self, month: int) -> None:
        level = self.model.part_record["implementation"][0]
        if (level >= self.next_level).any():  # a solution passed its next recorded level
            now = level[:, None] >= np.asarray(MILESTONE_LEVELS)[None, :]
            for target, lv in zip(*np.nonzero(now & ~self.reached), strict=True):
                self.milestones.append((month, int(target), int(lv)))
            self.reached |= now
            passed = self.reached.sum(axis=1)
            self.next_level = np.array([MILESTONE_LEVELS[k] if k < len(MILESTONE_LEVELS) else np.inf for k in passed])

    def _wave(self, seats: np.ndarray, month: int) -> None:
        rng = self.rng
        members = np.nonzero(seats["occupied"])[0]
        answers = rng.random(members.size) < response_chance(seats["engagement"][members])
        s = seats[members[answers]]
        if not s.size:
            return
        constructs = section_constructs(s, self.model.part, self.model.rules)
        leniency = rng.normal(0.0, RESPONDENT_SD, s.size)
        tenure = (month - s["joined"]).astype(float)
        names = list(self.sections)
        column = self.item_section  # the section (position in names) of each item asked, in order
        view = latent_answer(np.stack([constructs[n] for n in names], axis=1), constructs["satisfaction"], leniency)
        points = item_answers(view[:, column], rng)
        unknown = np.stack([dont_know_chance(n, tenure) for n in names], axis=1)[:, column]
        points[rng.random(points.shape) < unknown] = 0
        n = points.size
        self.survey.append(np.stack([
            np.full(n, month), np.repeat(s["person"], column.size), np.repeat(s["type"], column.size),
            np.tile(self.item_section_index, s.size), np.tile(self.item_number, s.size), points.ravel(),
        ], axis=1))

    def evaluation(self) -> Evaluation:
        """The four tables, sorted as an evaluator would file them."""
        survey = np.concatenate(self.survey) if self.survey else np.zeros((0, 6), dtype=np.int64)
        attendance = (np.stack([np.concatenate([m[i] for m in self.attendance]).astype(np.int64) for i in range(4)], axis=1)
                      if self.attendance else np.zeros((0, 4), dtype=np.int64))
        people = sorted(self.roster)
        roster = np.array([[p, *self.roster[p]] for p in people], dtype=np.int64).reshape(-1, 5)
        milestones = np.array(self.milestones, dtype=np.int64).reshape(-1, 3)
        return Evaluation(
            survey={name: survey[:, i].astype(np.int64) for i, name in
                    enumerate(("wave", "respondent", "type", "section", "item", "answer"))},
            attendance={name: attendance[:, i].astype(np.int64) for i, name in
                        enumerate(("month", "person", "type", "attended"))},
            roster={name: roster[:, i] for i, name in enumerate(("person", "organisation", "type", "joined", "left"))},
            milestones={name: milestones[:, i] for i, name in enumerate(("month", "target", "level"))},
            steps=int(self.model.horizon),
        )




def observe_model(model: Any, waves: Sequence[int] = (12, 24, 36), sections: dict[str, int] | None = None,
                  observation_seed: int | None = None) -> Evaluation:
    """Run ``model`` to its horizon and return what the evaluators hold (the model must be at month 0)."""
    if model.steps != 0:
        raise ValueError("observe_model needs a model at month 0")
    evaluator = Evaluator(model, waves, sections, model.seed if observation_seed is None else observation_seed)
    while model.steps < model.horizon:
        model.step()
        evaluator.after_month()
    evaluation = evaluator.evaluation()
    evaluation.meta = {"seed": model.seed, "observation_seed": model.seed if observation_seed is None
                       else int(observation_seed), "waves": sorted(evaluator.waves)}
    return evaluation


def observe_run(params: dict[str, Any], seed: int, waves: Sequence[int] = (12, 24, 36),
                sections: dict[str, int] | None = None, observation_seed: int | None = None) -> Evaluation:
    """Build a model with ``params`` and ``seed``, run it, and return what the evaluators hold."""
    from model.model import PartnershipModel

    return observe_model(PartnershipModel(seed=seed, **params), waves, sections, observation_seed)

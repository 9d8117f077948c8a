"""The partnership: a Mesa model whose whole-population updates run on numpy arrays.

Read top to bottom, this file is the model's schedule (docs/ODD.md, "Process
overview and scheduling"): ``__init__`` is the ODD Initialization element and
``step`` runs one month.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import mesa
import networkx as nx
import numpy as np

from model import dynamics as dyn
from model import kernels as kn
from model.agents import (
    CONVENING,
    DIMENSIONS,
    DIVERSITY_ORDER,
    KIND_TO_DIMENSION,
    PATIENT_PARTNER,
    RESOURCE_KINDS,
    TYPE_DISTANCE,
    TYPE_POWER,
    TYPE_PROFILES,
    TYPE_STAKE,
    Stakeholder,
)
from model.outputs import OUTPUTS, summarise
from model.parameters import STAKEHOLDER_TYPES, ParameterError, validate_parameters
from model.seeds import SEED_RULE, is_seed

# ---- constants of the mechanics (rationale in docs/ODD.md, "Submodels")
PLENARY_SEATS = 30  # largest partnership that works as one table; larger ones work in committees
PAIR_DTYPE = np.float32  # pair arrays (trust and per-pair constants): half the memory traffic of float64
NEW_TIE_TRUST = 0.1  # trust on a tie that has just formed
ENDOWMENT_SPREAD = 0.2  # sd of the log of individual variation around a type's resource profile
INITIAL_TRUST = (0.2, 0.5)  # range of trust on ties that exist at the start
TIE_FLOOR = 0.02  # a tie whose trust falls below this is gone
CONFLICT_WEIGHT = 2.0  # trust lost per unit of conflict at a meeting
LEAD_CONTACT_DROP = 0.6  # at centralization 1, members meet each other 60% less than the lead
TIE_FORMATION = (0.3, 0.5)  # chance a first contact becomes a tie: base + facilitation x leadership
STRENGTH_SCALE = 2.0  # trust-weighted ties at which a member's resources reach 63% of the group
COORDINATION_FLOOR = 0.4  # share of integrated capacity usable with no coordination at all
REFERENCE_SEATS = 20  # the implementation task is sized for a table of this many reference endowments
MOBILISATION_RATE = 0.15  # monthly rate (times adaptive capacity) of re-balancing towards scarce kinds
BENEFIT_SCALE = 1.5  # trust-weighted complementarity at which resource benefits reach 63%
GAIN_WEIGHTS = (0.3, 0.15, 0.25, 0.1, 0.2)  # resources, influence, visible progress, stake, mandate
TIME_COST = 0.25  # drawback of monthly meetings with no coordination support
MEETING_COST_EXPONENT = 0.5  # time cost falls as meeting_interval ** -0.5 (fewer meetings, longer ones)
COORDINATION_TIME_SAVING = 0.7  # share of the time cost a full coordination removes
FRUSTRATION_WEIGHT = 2.0  # drawback per unit of conflict met at meetings
ENGAGEMENT_BETA = 6.0  # sensitivity of engagement to net benefit
ENGAGEMENT_NET0 = 0.1  # net benefit at which (without synergy) engagement settles at one half
SYNERGY_ENERGY = 2.0  # logit shift of engagement per unit synergy at synergy_feedback = 1
ENGAGEMENT_RATE = 0.3  # monthly adjustment of engagement towards its target
NEW_MEMBER_ENGAGEMENT = 0.5
ATTENDANCE = (0.1, 0.9)  # chance to attend a meeting: base + engagement x slope
DROPOUT = 0.1  # extra monthly leaving hazard at zero engagement (falls with (1 - engagement)^2)
REFILL_RATE = 0.35  # monthly chance an organisation names a new person to an empty seat, at best
ORGANISATION_PATIENCE = 6  # months a seat stays empty before its organisation gives it up
RECRUITMENT_RATE = 0.1  # monthly chance a given-up seat is taken by a new organisation, at best
STRONG_SHARE = 0.2  # a member "holds" a kind when it is at least this share of their endowment
COVER_SCALE = 1.5  # engaged holders of a kind at which its cover reaches 63%
SYNERGY_SMOOTHING = 0.2  # monthly weight of the current manifestations in synergy
IMPLEMENTATION_SPEED = 0.08  # monthly progress per unit of support and capacity
UNSUSTAINED_DECAY = 0.02  # monthly loss of an implemented solution after dissolution
SUPPLY_BASELINE = 0.45  # accessibility of local PHC before the partnership, each dimension
ACCESS_IMPACT = 0.6  # share of the remaining accessibility gap a fully implemented solution closes
RECOVERY_RATE = 0.15  # monthly recovery of what a shock took (support, resources), times adaptive capacity
SYSTEM_SHOCK_WEIGHT = 3.0  # a shock hits decision makers' and administrators' organisations 3 times as often
SHOCK_ORG_SHARE = 1.0  # share of organisations hit by a shock of severity 1
SHOCK_DEPARTURE = 0.2  # chance, per unit severity, that the person of a hit organisation is reassigned
SHOCKED_KINDS = [RESOURCE_KINDS.index(k) for k in ("financial", "in_kind", "convening")]  # funding, staff, mandate
ABILITY_LEVELS = 1024  # abilities are held in steps of 1/1024
ABILITY_SLOPE = 1.2  # abilities = sigmoid(slope * (shared + specific) + shift)
ABILITY_SPECIFIC_SD = 0.6  # spread of the dimension-specific part (the shared factor has sd 1)
ABILITY_VULNERABILITY_SHIFT = 1.5  # logit shift of abilities per unit of (0.5 - population_vulnerability)
DISSOLUTION_MONTHS = 6  # months below the floor that end a partnership
DISSOLUTION_SEATS = 3
DISSOLUTION_ENGAGEMENT = 0.15


# parameters that fix the table and the cohort when the model is built
FIXED_AT_START = ("seats", "type_diversity", "composition", "initial_tie_density", "committee_size",
                  "financial_resources", "nonfinancial_resources", "population_size", "population_vulnerability")  # fmt: skip


def _observed(model: PartnershipModel, name: str) -> float:
    """DataCollector reporter: the value of an output this month."""
    return model.observed[name]


class SeriesCollector(mesa.DataCollector):
    """Mesa's DataCollector, collecting the model's outputs without a deep copy per value.

    The outputs are plain numbers, so Mesa's per-value deepcopy only costs time.
    """

    def collect(self, model: PartnershipModel) -> None:
        """Append this month's outputs to ``model_vars`` (its columns are OUTPUTS, in order)."""
        for values, value in zip(self.model_vars.values(), model._row, strict=True):
            values.append(value)


class PartnershipModel(mesa.Model):
    """A multi-stakeholder PHC partnership and the vulnerable population it serves.

    All parameters are keyword arguments named in ``model.parameters.PARAMETERS``;
    ``seed`` is the run's integer seed (drawn and recorded when omitted).
    """

    def __init__(self, seed: int | None = None, **parameters: Any):
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))
        if not is_seed(seed):
            raise ParameterError("seed", seed, SEED_RULE)
        seed = int(seed)
        super().__init__(seed=seed)
        self.seed = seed
        self.params = p = validate_parameters(parameters)
        self.horizon = p["steps"]
        streams = np.random.SeedSequence(seed).spawn(5)
        self._rng_structure, self._rng_meetings, self._rng_turnover, rng_population, self._rng_shock = (
            np.random.default_rng(s) for s in streams
        )

        # -- the table: one table up to PLENARY_SEATS, otherwise committees of about committee_size
        n = p["seats"]
        self.n_groups = G = 1 if n <= PLENARY_SEATS else math.ceil(n / p["committee_size"])
        self.group_size = g = math.ceil(n / G)
        S = G * g
        seat_slot = (np.arange(n) % G) * g + np.arange(n) // G  # round-robin over committees
        self._slot_of_seat = seat_slot
        self._seat_of_slot = np.full(S, -1)
        self._seat_of_slot[seat_slot] = np.arange(n)
        self._valid = self._seat_of_slot >= 0
        self._composition = self._composition_weights()
        types = self._allocate_types(n)
        self._type = np.zeros(S, dtype=np.int64)
        self._type[seat_slot] = types
        lead_candidates = np.nonzero(types == STAKEHOLDER_TYPES.index("academic"))[0]
        self._lead_slot = int(seat_slot[lead_candidates[0] if lead_candidates.size else 0])

        # -- organisations' resources (profile x level x individual variation)
        levels = np.full(len(RESOURCE_KINDS), p["nonfinancial_resources"])
        levels[0] = p["financial_resources"]
        self._levels = levels
        self._org_endowment = np.zeros((S, len(RESOURCE_KINDS)))
        self._org_endowment[seat_slot] = self._draw_endowment(types)
        self._endowment = self._org_endowment  # what the current holder can bring (lowered by shocks)
        self._full_endowment = self._org_endowment.copy()  # what the organisation holds in normal times
        self._reference_pool = self._org_endowment.sum(axis=0)
        self._reference_capacity = max(self._reference_pool.mean(), 1e-12)
        self._reference_convening = max(self._reference_pool[CONVENING], 1e-12)
        self._task = REFERENCE_SEATS / len(RESOURCE_KINDS)
        self._rho = dyn.ces_exponent(p["resource_complementarity"])

        # -- people: one Stakeholder per occupied seat
        self._org = self._valid.copy()  # the organisation still holds the seat
        self._occupant = np.zeros(S, dtype=np.int64)  # unique_id of the holder; 0 = empty
        self._occupied = np.zeros(S, dtype=bool)
        self._joined = np.zeros(S, dtype=np.int64)  # month the holder took the seat
        self._agent_at: list[Stakeholder | None] = [None] * S  # Mesa agents, made when looked at
        self._agent_id = np.zeros(S, dtype=np.int64)  # person each of those agents stands for
        self._engagement = np.zeros(S)
        self._vacant_months = np.zeros(S, dtype=np.int64)
        self._member_trust = np.zeros(S)
        self._net_benefit = np.zeros(S)
        self._benefit_share = np.zeros(S)
        self._conflict_exposure = np.zeros(S)
        self.cumulative_members = 0
        self._seat_people(seat_slot)
        self._founders = set(self._occupant[seat_slot].tolist())

        # -- the partnership network: trust on ties, one block per committee (always updated in place,
        # so that the view with one row per seat stays valid)
        self._W = np.zeros((G, g, g), dtype=PAIR_DTYPE)
        self._init_ties()
        self._pair_arrays()

        # -- partnership-level state
        self.synergy = 0.0
        self.implementation_by_dimension = [0.0] * len(DIMENSIONS)
        self._mobilisation = np.zeros(len(RESOURCE_KINDS))  # extra share offered of each kind
        self._pool = np.zeros(len(RESOURCE_KINDS))  # resources reaching the group this month, by kind
        self._support_factor = 1.0
        self._shocked = False
        self._conflict = 0.0
        self._attendance = 0.0
        self._departures = 0
        self._low_months = 0
        self.dissolved = False
        self.dissolved_month: int | None = None
        self.events: list[tuple[int, str]] = []

        # -- the vulnerable population: abilities (5 x people), fixed over the run
        self._init_population(rng_population)
        self.supply = [SUPPLY_BASELINE] * len(DIMENSIONS)  # accessibility of local PHC, by dimension

        # -- observation
        self._row: tuple = ()  # this month's outputs, in the order of OUTPUTS
        self._rows: list[tuple] = []  # the outputs of months 0, 1, ... up to the horizon
        self._members_update(feedback=False)
        self.synergy = self._raw_synergy  # synergy starts where its manifestations stand
        self._observe()
        self.datacollector = SeriesCollector(
            model_reporters={name: functools.partial(_observed, name=name) for name in OUTPUTS}
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ set-up
    def _composition_weights(self) -> np.ndarray:
        comp = self.params["composition"]
        weights = np.zeros(len(STAKEHOLDER_TYPES))
        if comp is not None:
            for name, w in comp.items():
                weights[STAKEHOLDER_TYPES.index(name)] = w
        else:
            m = 1 + round(5 * self.params["type_diversity"])
            for name in DIVERSITY_ORDER[:m]:
                weights[STAKEHOLDER_TYPES.index(name)] = 1.0
        return weights / weights.sum()

    def _allocate_types(self, n: int) -> np.ndarray:
        """Seats by type in proportion to the composition (largest remainder), shuffled."""
        quota = self._composition * n
        counts = np.floor(quota).astype(int)
        order = np.argsort(-(quota - counts), kind="stable")
        counts[order[: n - counts.sum()]] += 1
        types = np.repeat(np.arange(len(STAKEHOLDER_TYPES)), counts)
        return self._rng_structure.permutation(types)

    def _draw_endowment(self, types: np.ndarray) -> np.ndarray:
        noise = self._rng_structure.lognormal(0.0, ENDOWMENT_SPREAD, size=(types.size, len(RESOURCE_KINDS)))
        return TYPE_PROFILES[types] * self._levels * noise

    def _init_ties(self) -> None:
        """Initial working relationships, denser around the lead when centralised."""
        p = self.params
        G, g = self.n_groups, self.group_size
        valid = self._valid.reshape(G, g)
        both = valid[:, :, None] & valid[:, None, :] & ~np.eye(g, dtype=bool)
        lead = self._lead_pairs()
        d, c = p["initial_tie_density"], p["centralization"]
        prob = np.where(lead, d + c * (1 - d), d * (1 - c * LEAD_CONTACT_DROP))
        upper = np.triu(np.ones((g, g), dtype=bool), 1)  # pairs i < j (drawn once, mirrored)
        u = self._rng_structure.random((G, g, g))
        u = np.where(upper, u, 0.0)
        u = u + u.transpose(0, 2, 1)
        tie = both & (u < prob)
        trust = self._rng_structure.uniform(*INITIAL_TRUST, size=(G, g, g))
        trust = np.where(upper, trust, 0.0)
        trust = trust + trust.transpose(0, 2, 1)
        self._W[...] = np.where(tie, trust, 0.0)

    def _lead_pairs(self) -> np.ndarray:
        """Pairs that involve a committee's chair: the lead in its committee, the first seat in the others."""
        G, g = self.n_groups, self.group_size
        lead = np.zeros((G, g, g), dtype=bool)
        chairs = np.zeros(G, dtype=np.int64)  # position of each committee's chair
        lead_group, lead_position = divmod(self._lead_slot, g)
        chairs[lead_group] = lead_position
        groups = np.arange(G)
        lead[groups, chairs, :] = True
        lead[groups, :, chairs] = True
        return lead

    def _pair_arrays(self) -> None:
        """Per-pair and per-seat constants that depend on parameters and seats' types."""
        p = self.params
        G, g = self.n_groups, self.group_size
        t = self._type.reshape(G, g)
        self._pair_distance = TYPE_DISTANCE[t[:, :, None], t[:, None, :]].astype(PAIR_DTYPE)
        power = TYPE_POWER[t]
        self._conflict_scale = dyn.conflict_scale(p["power_asymmetry"], p["decision_inclusiveness"], p["leadership"])
        conflict = (self._conflict_scale * np.abs(power[:, :, None] - power[:, None, :])).astype(PAIR_DTYPE)
        off = ~np.eye(g, dtype=bool)
        p_contact = np.where(self._lead_pairs(), 1.0, 1.0 - LEAD_CONTACT_DROP * p["centralization"])
        self._p_contact = (p_contact * off).astype(PAIR_DTYPE)
        self._coordination_factor = COORDINATION_FLOOR + (1 - COORDINATION_FLOOR) * p["coordination"]
        self._p_form = TIE_FORMATION[0] + TIE_FORMATION[1] * p["leadership"]
        self._p_formed_upper = np.triu(self._p_contact * self._p_form, 1)  # on pairs i < j
        self._contact_conflict = conflict * self._p_contact  # conflict met per contact, times contact chance
        self._conflict_loss = CONFLICT_WEIGHT * conflict
        self._meeting_gain = p["trust_gain"] * dyn.interaction_quality(p["communication"], p["leadership"])
        self._seat_constants()

    def _seat_constants(self, slots: np.ndarray | None = None) -> None:
        """Per-seat constants from the seat's type and resources (all seats, or just these)."""
        p = self.params
        if slots is None:
            # what each type brings to benefits and costs, under this run's parameters
            di, support = p["decision_inclusiveness"], p["patient_partner_support"]
            patient = np.arange(len(STAKEHOLDER_TYPES)) == PATIENT_PARTNER
            self._type_gain = GAIN_WEIGHTS[1] * (di + (1.0 - di) * TYPE_POWER) + GAIN_WEIGHTS[3] * TYPE_STAKE
            self._type_cost = (
                TIME_COST
                * p["meeting_interval"] ** -MEETING_COST_EXPONENT
                * (1.0 - COORDINATION_TIME_SAVING * p["coordination"])
                * (1.0 + (1.0 - support) * patient)
            )
            self._type_refill = np.where(patient, support, 1.0)
            # new organisations' types follow the intended composition (patient partners if supported)
            weights = self._composition * np.where(patient, support, 1.0)
            self._recruit_cumulative = np.cumsum(weights / weights.sum()) if weights.sum() > 0 else None
            slots = slice(None)
            self._holds = np.zeros((self._type.size, len(RESOURCE_KINDS)))
        kinds = self._type[slots]
        if isinstance(slots, slice):
            self._gain_base, self._time_cost = self._type_gain[kinds], self._type_cost[kinds]
            self._refill_factor = self._type_refill[kinds]
        else:
            self._gain_base[slots], self._time_cost[slots] = self._type_gain[kinds], self._type_cost[kinds]
            self._refill_factor[slots] = self._type_refill[kinds]
        endowment = self._full_endowment[slots]  # kinds held in normal times, not as cut by a shock
        self._holds[slots] = endowment >= STRONG_SHARE * endowment.sum(axis=1, keepdims=True)
        self._costs = self._time_cost + FRUSTRATION_WEIGHT * self._conflict_exposure

    def _retype(self, slots: np.ndarray) -> None:
        """Seats whose organisation (type) changed: refresh their rows and columns of the pair arrays only."""
        kn.retype(
            slots, self._type, TYPE_POWER, TYPE_DISTANCE, self._conflict_scale, CONFLICT_WEIGHT,
            self._p_contact, self._pair_distance, self._contact_conflict, self._conflict_loss,
        )  # fmt: skip
        self._seat_constants(slots)

    def _init_population(self, rng: np.random.Generator) -> None:
        """Abilities to perceive, seek, reach, pay and engage: a shared factor plus noise."""
        p = self.params
        n = p["population_size"]
        general = rng.standard_normal(n)
        specific = rng.standard_normal((len(DIMENSIONS), n)) * ABILITY_SPECIFIC_SD
        shift = ABILITY_VULNERABILITY_SHIFT * (0.5 - p["population_vulnerability"])
        ability = dyn.sigmoid(ABILITY_SLOPE * (general + specific) + shift)
        # abilities held in steps of 1/ABILITY_LEVELS, the least-able fifth first
        self._n_people, self._n_low = n, max(1, n // 5)
        low = np.argpartition(ability.sum(axis=0), self._n_low - 1)[: self._n_low]
        first = np.zeros(n, dtype=bool)
        first[low] = True
        levels = np.minimum(ability * ABILITY_LEVELS, ABILITY_LEVELS - 1).astype(np.uint16)
        ordered = np.concatenate([levels[:, first], levels[:, ~first]], axis=1)
        self._ability = np.ascontiguousarray(ordered.T)  # people x dimensions
        # people at or above each level, per dimension: the share passing a dimension is a look-up
        counts = np.stack([np.bincount(row, minlength=ABILITY_LEVELS + 1) for row in ordered])
        self._at_least = np.ascontiguousarray(np.cumsum(counts[:, ::-1], axis=1)[:, ::-1])
        self._per_dimension = np.zeros(len(DIMENSIONS))

    def _seat_people(self, slots: np.ndarray) -> None:
        """New people take these seats: no trust history, middling engagement."""
        first = self.cumulative_members + 1
        self.cumulative_members += slots.size
        self._occupant[slots] = np.arange(first, first + slots.size)  # person ids count from 1
        self._joined[slots] = self.steps
        self._occupied[slots] = True
        self._engagement[slots] = NEW_MEMBER_ENGAGEMENT
        self._vacant_months[slots] = 0

    def _sync_agents(self) -> None:
        """Bring the Mesa agents in line with who holds each seat (created when first looked at)."""
        stale = np.nonzero(self._agent_id != self._occupant)[0]
        for slot in stale.tolist():
            agent = self._agent_at[slot]
            if agent is not None:
                agent.remove()
                self._agent_at[slot] = None
            person = int(self._occupant[slot])
            if person:
                self._agent_at[slot] = Stakeholder(self, person, int(self._seat_of_slot[slot]), slot)
        self._agent_id[stale] = self._occupant[stale]

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """One month: shock, meeting or drift, members' choices, turnover, implementation, access."""
        p = self.params
        month = self.steps
        self._departures = 0
        if p["shock_month"] and month == p["shock_month"]:
            self.apply_shock(p["shock_severity"])
        if self._shocked:
            # a partnership that adapts to the new context regains policy alignment and mandates,
            # and helps its organisations find other funding and staff, as fast as it can adapt
            recovery = RECOVERY_RATE * self._manifestations[3]
            self._support_factor += (1.0 - self._support_factor) * recovery
            self._org_endowment += (self._full_endowment - self._org_endowment) * recovery
        if not self.dissolved:
            if (month - 1) % p["meeting_interval"] == 0:
                self._meet()
            else:  # attendance and conflict keep the values of the last meeting
                kn.decay_ties(self._W, p["trust_decay"], TIE_FLOOR)
            self._members_update()
            self._turnover()
            self._check_dissolution()
        else:
            self._members_update()
        self._implement()
        self._update_supply()
        self._observe()
        self.datacollector.collect(self)
        if month >= self.horizon:
            self.running = False

    def _meet(self) -> None:
        """A meeting: attendance, work on existing ties, new ties, conflict met (kernels.meet)."""
        p = self.params
        rng = self._rng_meetings
        u_attend = rng.random(self._occupied.size)
        # one uniform per pair (only pairs i < j are used: a tie is formed once for both)
        u_form = rng.random(self._W.shape, dtype=PAIR_DTYPE)
        # ties between members who both attend are worked on, in proportion to their chance of contact
        # (the expected effect of contact; see docs/ODD.md); other ties decay
        gain = min(1.0, self._meeting_gain * (1.0 + p["synergy_feedback"] * self.synergy))
        n_occ, n_att, self._conflict = kn.meet(
            self._W, u_attend, self._engagement, self._occupied, ATTENDANCE[0], ATTENDANCE[1],
            u_form, self._p_contact, self._p_formed_upper, self._contact_conflict, self._conflict_loss,
            gain, p["trust_decay"], TIE_FLOOR, NEW_TIE_TRUST, self._time_cost, FRUSTRATION_WEIGHT,
            self._conflict_exposure, self._costs,
        )  # fmt: skip
        self._attendance = n_att / n_occ if n_occ else 0.0

    def _members_update(self, feedback: bool = True) -> None:
        """Trust held, contributions and their integration, benefits, engagement, synergy (kernels.members).

        Without ``feedback`` (month 0) engagement, mobilisation and synergy do not move.
        """
        p = self.params
        progress = math.fsum(self.implementation_by_dimension) / len(DIMENSIONS)
        mandate = p["external_support"] * self._support_factor
        (integration, atmosphere, benefit, adaptive, self._mean_trust, self._raw_synergy, synergy,
         self._usable, self._convening) = kn.members(
            self._W, self._pair_distance, self._engagement, self._occupied, self._endowment, self._mobilisation,
            self._holds, self._gain_base, self._costs, self._member_trust, self._net_benefit, self._benefit_share,
            self._pool, STRENGTH_SCALE, self._rho, self._coordination_factor, self._reference_capacity,
            self._reference_convening, CONVENING, COVER_SCALE, MOBILISATION_RATE, BENEFIT_SCALE, GAIN_WEIGHTS[0],
            GAIN_WEIGHTS[0] + GAIN_WEIGHTS[2] * progress + GAIN_WEIGHTS[4] * mandate, self._conflict,
            self.synergy, SYNERGY_SMOOTHING, SYNERGY_ENERGY * p["synergy_feedback"], ENGAGEMENT_BETA,
            ENGAGEMENT_NET0, ENGAGEMENT_RATE, feedback,
        )  # fmt: skip
        self._manifestations = (integration, atmosphere, benefit, adaptive)
        if feedback:
            self.synergy = synergy

    def _turnover(self) -> None:
        """Departures, seats refilled by the same organisation, seats given up, new organisations (kernels.turnover)."""
        p = self.params
        draws = self._rng_turnover.random((3, self._occupied.size))
        refill = REFILL_RATE * (0.5 + 0.5 * self._convening) * (0.5 + 0.5 * self.synergy)  # halves at none
        departures, self.cumulative_members, joining = kn.turnover(
            draws, self._occupant, self._occupied, self._engagement, self._vacant_months, self._joined, self._org,
            self._valid, self._W, p["individual_turnover"], DROPOUT, refill, self._refill_factor,
            ORGANISATION_PATIENCE, RECRUITMENT_RATE * self._convening * self.synergy, self.steps,
            self.cumulative_members, NEW_MEMBER_ENGAGEMENT,
        )  # fmt: skip
        self._departures += departures
        if joining.size:
            self._recruit(joining)

    def _depart(self, slots: np.ndarray) -> None:
        """The people in these seats leave; their ties go with them."""
        slots = np.asarray(slots, dtype=np.int64)
        kn.vacate(slots, self._occupant, self._occupied, self._engagement, self._vacant_months, self._W)
        self._departures += slots.size

    def _recruit(self, slots: np.ndarray, kinds: np.ndarray | None = None) -> None:
        """New organisations take given-up seats; their type follows the intended composition."""
        rng = self._rng_turnover
        if kinds is None:
            cumulative = self._recruit_cumulative
            if cumulative is None:  # only patient partners at the table, and no support for them
                return
            kinds = np.minimum(np.searchsorted(cumulative, rng.random(slots.size), side="right"), cumulative.size - 1)
        self._type[slots] = kinds
        endowment = self._draw_endowment(kinds)
        self._org_endowment[slots] = endowment
        self._full_endowment[slots] = endowment
        self._org[slots] = True
        self._retype(slots)
        self._seat_people(slots)

    def _check_dissolution(self) -> None:
        """The partnership ends after months with too few members or too little engagement."""
        n_occ, engagement = kn.occupancy(self._occupied, self._engagement)
        low = n_occ < DISSOLUTION_SEATS or engagement / n_occ < DISSOLUTION_ENGAGEMENT
        self._low_months = self._low_months + 1 if low else 0
        if self._low_months >= DISSOLUTION_MONTHS:
            self.dissolved = True
            self.dissolved_month = self.steps
            self.events.append((self.steps, "dissolved"))
            self._depart(np.flatnonzero(self._occupied))
            self._org[:] = False

    def _implement(self) -> None:
        """Usable capacity, scaled by external support, advances the solution where resources point."""
        I = self.implementation_by_dimension  # five numbers: plain Python beats numpy's call overhead
        if self.dissolved:
            self.implementation_by_dimension = [x * (1.0 - UNSUSTAINED_DECAY) for x in I]
            return
        support = self.params["external_support"] * self._support_factor
        capacity = 1.0 - math.exp(-self._usable / self._task)
        aimed = np.dot(self._pool, KIND_TO_DIMENSION).tolist()
        total = sum(aimed)
        n = len(DIMENSIONS)
        rate = IMPLEMENTATION_SPEED * support * capacity * n
        shares = [a / total for a in aimed] if total > 0 else [1.0 / n] * n
        self.implementation_by_dimension = [
            min(1.0, max(0.0, x + rate * s * (1.0 - x))) for x, s in zip(I, shares, strict=True)
        ]

    def _update_supply(self) -> None:
        """Each dimension's accessibility moves towards what the implemented solution supports (lag in months)."""
        lag = self.params["access_lag"]
        reach = (1.0 - SUPPLY_BASELINE) * ACCESS_IMPACT
        self.supply = [
            s + (SUPPLY_BASELINE + reach * i - s) / lag for s, i in zip(self.supply, self.implementation_by_dimension, strict=True)
        ]

    # ------------------------------------------------------------------ interventions
    def apply_shock(self, severity: float) -> None:
        """A system shock: external support falls; organisations (system ones first) lose funding, staff and mandate."""
        severity = float(severity)
        if not 0.0 <= severity <= 1.0:
            raise ParameterError("shock_severity", severity, "a number in [0, 1]")
        self._support_factor *= 1.0 - severity
        self._shocked = self._shocked or severity > 0
        rng = self._rng_shock
        present = np.nonzero(self._org)[0]
        if present.size and severity > 0:
            system = np.isin(self._type[present], [0, 3])  # decision makers, administrators
            weights = np.where(system, SYSTEM_SHOCK_WEIGHT, 1.0)
            n_hit = min(present.size, max(1, round(SHOCK_ORG_SHARE * severity * present.size)))
            hit = rng.choice(present, size=n_hit, replace=False, p=weights / weights.sum())
            self._org_endowment[np.ix_(hit, SHOCKED_KINDS)] *= 1.0 - severity
            leave = hit[(self._occupant[hit] > 0) & (rng.random(hit.size) < SHOCK_DEPARTURE * severity)]
            self._depart(leave)
        self.events.append((self.steps, f"shock {severity:g}"))

    def set_parameter(self, name: str, value: Any) -> None:
        """Change a parameter mid-run (validated); structural ones that fix the table cannot change."""
        if name in FIXED_AT_START:
            raise ParameterError(name, value, "fixed when the partnership is built; start a new run to change it")
        self.params = validate_parameters({**self.params, name: value})
        self.horizon = max(self.horizon, self.params["steps"])
        self._rho = dyn.ces_exponent(self.params["resource_complementarity"])
        self._pair_arrays()

    def add_coordinator(self, coordination: float = 0.9) -> None:
        """Intervention: a dedicated coordinator raises coordination (at least to ``coordination``)."""
        self.set_parameter("coordination", max(self.params["coordination"], coordination))
        self.events.append((self.steps, "coordinator added"))

    def remove_key_partner(self) -> int | None:
        """Intervention: the most connected member (trust-weighted) leaves; returns their seat, or None."""
        if not self._occupied.any():
            return None
        strength = np.where(self._occupied, self._W.sum(axis=2).reshape(-1), -1.0)
        slot = int(strength.argmax())
        seat = int(self._seat_of_slot[slot])
        self._depart(np.array([slot]))
        self.events.append((self.steps, f"key partner left (seat {seat})"))
        return seat

    def recruit_member(self, stakeholder_type: str = "patient_partner") -> int:
        """Intervention: a new organisation's person of this type takes an empty seat; returns the seat."""
        if stakeholder_type not in STAKEHOLDER_TYPES:
            raise ParameterError("stakeholder_type", stakeholder_type, "one of " + ", ".join(STAKEHOLDER_TYPES))
        if self.dissolved:
            raise ParameterError("recruit", stakeholder_type, "a partnership that has not dissolved; reset to start again")
        empty = np.nonzero(self._valid & ~self._occupied)[0]
        if not empty.size:
            raise ParameterError("seats", self.params["seats"], "an empty seat to recruit into; every seat is taken")
        closed = empty[~self._org[empty]]
        slot = int((closed if closed.size else empty)[0])
        self._recruit(np.array([slot]), np.array([STAKEHOLDER_TYPES.index(stakeholder_type)]))
        self.events.append((self.steps, f"{stakeholder_type} recruited"))
        return int(self._seat_of_slot[slot])

    # ------------------------------------------------------------------ observation
    def _access(self) -> tuple[list[float], float, float, float]:
        """Share passing each dimension; access overall, of the least-able fifth and of the rest (kernels.access).

        A person passes a dimension when supply plus their matching ability reaches 1.
        """
        per_dimension = self._per_dimension
        passing, low = kn.access(self._ability, np.array(self.supply), ABILITY_LEVELS, self._at_least, self._n_low,
                                 per_dimension)  # fmt: skip
        n, n_low = self._n_people, self._n_low
        return per_dimension.tolist(), passing / n, low / n_low, (passing - low) / (n - n_low)

    def _observe(self) -> None:
        """Record this month's outputs (the per-step series and the DataCollector read them)."""
        n_occ, engagement = kn.occupancy(self._occupied, self._engagement)
        integration, atmosphere, benefit, adaptive = self._manifestations
        per_dimension, access, access_low, access_rest = self._access()
        row = (
            self.steps,
            self.synergy,
            1.0 + 4.0 * self.synergy,
            integration,
            atmosphere,
            benefit,
            adaptive,
            self._mean_trust,
            self._conflict,
            engagement / n_occ if n_occ else 0.0,
            self._attendance,
            n_occ,
            self.cumulative_members,
            self._departures,
            math.fsum(self.implementation_by_dimension) / len(DIMENSIONS),
            access,
            *per_dimension,
            access_rest - access_low,
        )
        self._row = row
        if self.steps <= self.horizon:
            rows = self._rows
            if len(rows) < self.steps:  # months stepped past an earlier horizon were not recorded
                rows.extend([(0,) * len(OUTPUTS)] * (self.steps - len(rows)))
            rows.append(row)

    @property
    def observed(self) -> dict[str, float]:
        """This month's outputs by name."""
        return dict(zip(OUTPUTS, self._row, strict=True))

    def series(self) -> dict[str, np.ndarray]:
        """The per-step outputs so far, as arrays (month 0 to the current month)."""
        upto = min(self.steps, self.horizon) + 1
        rows = self._rows[:upto]
        rows += [(0,) * len(OUTPUTS)] * (upto - len(rows))  # months not recorded (see _observe)
        table = np.array(rows, dtype=float).reshape(upto, len(OUTPUTS))
        return {name: table[:, i].copy() for i, name in enumerate(OUTPUTS)}

    def summary(self) -> dict[str, Any]:
        """The run summary: outcomes, the seed and every parameter value."""
        retained = len(self._founders.intersection(self._occupant.tolist()))
        out = summarise(self.series(), retention=retained / max(1, len(self._founders)), dissolved=self.dissolved)
        out["seed"] = self.seed
        out.update(self.params)
        return out

    def run(self, steps: int | None = None) -> dict[str, Any]:
        """Run to the horizon (or ``steps`` more months, at most to the horizon) and return the summary."""
        end = self.horizon if steps is None else min(self.horizon, self.steps + int(steps))
        while self.steps < end:
            self.step()
        return self.summary()

    # ------------------------------------------------------------------ views
    @property
    def agents(self) -> mesa.agent.AgentSet:
        """Mesa's AgentSet of the people holding seats now (their Stakeholder views)."""
        self._sync_agents()
        return super().agents

    @property
    def stakeholders(self) -> list[Stakeholder]:
        """The people holding seats now, by seat."""
        self._sync_agents()
        return [a for a in (self._agent_at[s] for s in self._slot_of_seat) if a is not None]

    def seat_state(self, seat: int) -> str:
        """'occupied', 'vacant' (the organisation will name someone) or 'closed'."""
        slot = self._slot_of_seat[seat]
        if self._occupant[slot] > 0:
            return "occupied"
        return "vacant" if self._org[slot] else "closed"

    def network(self) -> nx.Graph:
        """The partnership network: nodes are seats 0..seats-1, edges carry trust as 'weight'."""
        graph = nx.Graph()
        self._sync_agents()
        for seat, slot in enumerate(self._slot_of_seat):
            agent = self._agent_at[slot]
            graph.add_node(
                seat,
                state=self.seat_state(seat),
                stakeholder_type=STAKEHOLDER_TYPES[self._type[slot]],
                engagement=float(self._engagement[slot]),
                agent=agent,
            )
        grp, i, j = np.nonzero(np.triu(self._W, 1))
        g = self.group_size
        seats_i = self._seat_of_slot[grp * g + i]
        seats_j = self._seat_of_slot[grp * g + j]
        weights = self._W[grp, i, j]
        graph.add_weighted_edges_from(zip(seats_i.tolist(), seats_j.tolist(), weights.tolist(), strict=True))
        return graph

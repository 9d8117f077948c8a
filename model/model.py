"""The partnership: a Mesa model whose state lives in numpy records updated by compiled rules.

Read top to bottom, this file is the model's schedule (docs/ODD.md, "Process
overview and scheduling"): ``__init__`` is the ODD Initialization element and
``step`` runs one month. The rules themselves are short named functions in
``model/kernels.py``, by ODD section; the state they act on is described in
``model/state.py``.
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
    DIMENSIONS,
    DIVERSITY_ORDER,
    KIND_TO_TARGET,
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
from model.seeds import SEED_RULE, is_seed, seed_from_rng
from model.state import PAIR, PARTNERSHIP, SEAT, TRUST_DTYPE, records, rules_record, type_table

# ---- constants of the set-up (conventions and storage; the behavioural constants are schema
# parameters at the level 'mechanics', docs/ODD.md 7.16)
PLENARY_SEATS = 30  # largest partnership that works as one table; larger ones work in committees
SYSTEM_TYPES = [STAKEHOLDER_TYPES.index(t) for t in ("decision_maker", "administrator")]  # the public system's sectors
ABILITY_LEVELS = 1024  # abilities are held in steps of 1/1024
LEAST_ABLE_SHARE = 5  # the least-able fifth (1/5) of the cohort is the equity measure's reference group

_TYPES = type_table(TYPE_POWER, TYPE_STAKE, PATIENT_PARTNER, TYPE_DISTANCE, TYPE_PROFILES)  # the types' constants
assert kn.FINANCIAL == RESOURCE_KINDS.index("financial"), "model.kernels.FINANCIAL is out of step with RESOURCE_KINDS"
assert kn.CONVENING == RESOURCE_KINDS.index("convening"), "model.kernels.CONVENING is out of step with RESOURCE_KINDS"

# parameters that fix the table and the cohort when the model is built
FIXED_AT_START = ("seats", "type_diversity", "composition", "initial_tie_density", "committee_size", "lead_type",
                  "financial_resources", "nonfinancial_resources", "population_size", "population_vulnerability",
                  "initial_trust", "endowment_spread", "ability_slope", "ability_specific_sd", "ability_vulnerability_shift")  # fmt: skip


def _observed(model: PartnershipModel, name: str) -> float:
    """DataCollector reporter: the value of an output this month."""
    return model.observed[name]


class SeriesCollector(mesa.DataCollector):
    """Mesa's DataCollector, collecting the model's outputs as one row a month.

    The outputs are plain numbers, so Mesa's per-value deepcopy only costs time; a month
    is kept as the model's row of outputs, and ``model_vars`` (Mesa's columns, one list
    per output in the order of OUTPUTS) is built from the rows when it is read, once
    per month collected.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._collected: list[tuple] = []
        self._columns: dict[str, list] = {}  # Mesa's __init__ fills it with an empty list per reporter
        super().__init__(*args, **kwargs)
        self._names = list(self.model_reporters)
        self._built = 0  # rows in _columns

    @property
    def model_vars(self) -> dict[str, list]:
        """The collected values of each output, by name (Mesa's DataCollector.model_vars)."""
        if getattr(self, "_names", None) is not None and self._built != len(self._collected):
            self._columns = {name: [row[i] for row in self._collected] for i, name in enumerate(self._names)}
            self._built = len(self._collected)
        return self._columns

    @model_vars.setter
    def model_vars(self, columns: dict[str, list]) -> None:
        self._columns = columns

    def collect(self, model: PartnershipModel) -> None:
        """Keep this month's outputs (a row in the order of OUTPUTS)."""
        self._collected.append(model._row)


class PartnershipModel(mesa.Model):
    """A multi-stakeholder PHC partnership and the vulnerable population it serves.

    All parameters are keyword arguments named in ``model.parameters.PARAMETERS``;
    ``seed`` is the run's integer seed (drawn and recorded when omitted). Mesa 3's
    ``rng=`` is taken too: an integer is the seed; a numpy Generator or SeedSequence
    gives the seed drawn from it, recorded in ``self.seed`` like any other.
    """

    def __init__(self, seed: int | None = None, rng: Any = None, **parameters: Any):
        try:
            seed = seed_from_rng(seed, rng)
        except ValueError as exc:
            raise ParameterError("rng", rng, str(exc)) from None
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

        # -- the table (7.1): one table up to PLENARY_SEATS, otherwise committees of about committee_size
        n = p["seats"]
        self.n_groups = G = 1 if n <= PLENARY_SEATS else math.ceil(n / p["committee_size"])
        self.group_size = g = math.ceil(n / G)
        S = G * g
        seat_slot = (np.arange(n) % G) * g + np.arange(n) // G  # round-robin over committees
        self._slot_of_seat = seat_slot
        self._seat_of_slot = np.full(S, -1)
        self._seat_of_slot[seat_slot] = np.arange(n)
        self.seats = seats = records(np.zeros(S, dtype=SEAT))
        seats["valid"][seat_slot] = True
        self._composition = self._composition_weights()
        types = self._allocate_types(n)
        seats["type"][seat_slot] = types
        lead_candidates = np.nonzero(types == p["lead_type"])[0]  # by default an academic (IMPACT: research-led)
        self.lead_slot = int(seat_slot[lead_candidates[0] if lead_candidates.size else 0])
        chairs = np.arange(G) * g  # the lead chairs its committee; the first seat chairs each other one
        chairs[self.lead_slot // g] = self.lead_slot
        seats["lead"][chairs] = True

        # -- organisations' resources (7.2): profile x level x individual variation
        self._derive_rules()
        endowment = kn.endowment_of(types, self._endowment_noise(types.size), _TYPES, self.rules_record)
        seats["full_endowment"][seat_slot] = endowment
        seats["endowment"][seat_slot] = endowment
        seats["org"] = seats["valid"]

        # -- the partnership and its rules
        # compiled rules take the one-record arrays; Python reads fields through a recarray view
        self.part_record = records(np.zeros(1, dtype=PARTNERSHIP))
        self.part = part = self.part_record.view(np.recarray)[0]
        self.part_record["support_factor"] = 1.0
        self.pairs = records(np.zeros((G, g, g), dtype=PAIR))
        self.trust = np.zeros((G, g, g), dtype=TRUST_DTYPE)  # trust on each pair's working relationship; 0 = no tie
        self._u_attend, self._u_form = np.empty(S), np.empty(G * (g * (g - 1) // 2), dtype=np.float32)  # meetings' draws
        self._held_half = -1  # a 32-bit half of the meetings' stream drawn but not yet used (-1: none)
        self._recruit_weights()
        self._seat_constants()
        self._pair_constants(np.arange(S))

        # -- people: one per seat, then the working relationships that already exist (7.3)
        kn.seat_people(seats, self.trust, self.part_record, seat_slot.astype(np.int64), 0, self.rules_record)
        self.trust[:] = 0.0  # founders' ties are drawn below, not given by orientation
        self._init_ties()
        self._founders = set(seats["person"][seat_slot].tolist())
        self.dissolved_month: int | None = None
        self.dissolved = False
        self.events: list[tuple[int, str]] = []

        # -- the vulnerable population (7.4): abilities (people x 5), fixed over the run
        self._init_population(rng_population)
        part.supply[:] = p["supply_baseline"]

        # -- observation: month 0 shows the manifestations; synergy, members' view of them, starts at 0
        self._row: tuple = ()
        self._row_buffer = np.zeros(len(OUTPUTS))
        self._rows: list[tuple] = []
        kn.members_update(seats, self.trust, self.part_record, self.rules_record, len(STAKEHOLDER_TYPES), False)
        self._observe_access()
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

    def _endowment_noise(self, n: int) -> np.ndarray:
        """Individual variation of n organisations' endowments, kind by kind (7.2)."""
        return self._rng_structure.lognormal(0.0, self.params["endowment_spread"], size=(n, len(RESOURCE_KINDS)))

    def _derive_rules(self) -> None:
        """The rules record: every numeric parameter, the CES exponent and the task's need of each kind."""
        p = self.params
        need = p["task_size"] * p["seats"] / len(RESOURCE_KINDS)  # reference endowments are 1/K of each kind
        self.rules_record = rules_record(p, rho=dyn.ces_exponent(p["resource_complementarity"]), need=need)
        self.rules = self.rules_record.view(np.recarray)[0]

    def _init_ties(self) -> None:
        """Initial working relationships (7.3): denser around the lead when centralised."""
        m = self.params["initial_trust"]
        u = self._rng_structure.random(self.trust.shape)  # pairs i < j used (drawn once, mirrored)
        drawn_trust = self._rng_structure.uniform(0.5 * m, min(1.0, 1.5 * m), size=self.trust.shape)
        kn.initial_ties(self.seats, self.trust, u, drawn_trust, self.rules_record)

    def _seat_constants(self, slots: np.ndarray | None = None) -> None:
        """Per-seat constants from the seat's type and the parameters (all seats, or just these; kernels.seat_constants)."""
        slots = np.arange(self.seats.size) if slots is None else np.asarray(slots, dtype=np.int64)
        kn.seat_constants(self.seats, slots, _TYPES, self.rules_record)

    def _recruit_weights(self) -> None:
        """New organisations' types follow the intended composition (patient partners as far as supported)."""
        p = self.params
        support = np.where(np.arange(len(STAKEHOLDER_TYPES)) == PATIENT_PARTNER, p["patient_partner_support"], 1.0)
        weights = self._composition * support
        self._recruit_cumulative = np.cumsum(weights / weights.sum()) if weights.sum() > 0 else None

    def _pair_constants(self, slots: np.ndarray) -> None:
        """Per-pair constants of these slots' rows and columns (kernels.pair_constants, 7.3)."""
        kn.pair_constants(self.seats, self.pairs, np.asarray(slots, dtype=np.int64), _TYPES, self.rules_record)

    def _init_population(self, rng: np.random.Generator) -> None:
        """Abilities to perceive, seek, reach, pay and engage (7.4): a shared factor plus noise."""
        p = self.params
        n = p["population_size"]
        D = len(DIMENSIONS)
        general = rng.standard_normal(n)
        specific = rng.standard_normal((D, n)) * p["ability_specific_sd"]
        shift = p["ability_vulnerability_shift"] * (0.5 - p["population_vulnerability"])
        ability = dyn.sigmoid(p["ability_slope"] * (general + specific) + shift)
        # the least-able fifth first (by the sum of abilities), in steps of 1/ABILITY_LEVELS
        self._n_people, self._n_low = n, max(1, n // LEAST_ABLE_SHARE)
        low = np.argpartition(ability.sum(axis=0), self._n_low - 1)[: self._n_low]
        first = np.zeros(n, dtype=bool)
        first[low] = True
        levels = np.minimum(ability * ABILITY_LEVELS, ABILITY_LEVELS - 1).astype(np.uint16)
        ordered = np.concatenate([levels[:, first], levels[:, ~first]], axis=1)
        self._ability = np.ascontiguousarray(ordered)  # dimensions x people
        # each person's place in the order of need on each ability (0 = least able): outreach goes there first
        self._rank = kn.need_ranks(self._ability, ABILITY_LEVELS)

    def _sync_agents(self) -> None:
        """Bring the Mesa agents in line with who holds each seat (created when first looked at)."""
        if not hasattr(self, "_agent_at"):
            self._agent_at: list[Stakeholder | None] = [None] * self.seats.size
            self._agent_id = np.zeros(self.seats.size, dtype=np.int64)
        person = self.seats["person"]
        stale = np.nonzero(self._agent_id != person)[0]
        for slot in stale.tolist():
            agent = self._agent_at[slot]
            if agent is not None:
                agent.remove()
                self._agent_at[slot] = None
            who = int(person[slot])
            if who:
                self._agent_at[slot] = Stakeholder(self, who, int(self._seat_of_slot[slot]), slot)
        self._agent_id[stale] = person[stale]

    # ------------------------------------------------------------------ the month (ODD section 3)
    def step(self) -> None:
        """One month: shock, recovery, meeting or drift, members, turnover, implementation, access."""
        p = self.params
        month = self.steps
        kn.month_start(self.seats, self.part_record, self.rules_record)
        if p["shock_month"] and month == p["shock_month"]:
            self.apply_shock(p["shock_severity"])
        if not self.dissolved:
            if (month - 1) % p["meeting_interval"] == 0:
                self._meet()
            else:
                kn.drift(self.trust, self.rules_record)
            kn.members_update(self.seats, self.trust, self.part_record, self.rules_record, len(STAKEHOLDER_TYPES), True)
            self._turnover()
            self._check_dissolution()
        else:
            kn.members_update(self.seats, self.trust, self.part_record, self.rules_record, len(STAKEHOLDER_TYPES), True)
        kn.implement(self.part_record, KIND_TO_TARGET, self.rules_record)
        kn.respond(self.part_record, self.rules_record)
        self._observe_access()
        self._observe()
        self.datacollector.collect(self)
        if month >= self.horizon:
            self.running = False

    def _meet(self) -> None:
        """A meeting (7.7): attendance, contacts, trust, new ties, conflict (kernels.meet)."""
        # rng.random(seats) then rng.random(one per pair i < j of each committee, dtype=float32), from raw words
        u_attend, u_form = self._u_attend, self._u_form
        halves = u_form.size - (self._held_half >= 0)
        words = self._rng_meetings.bit_generator.random_raw(u_attend.size + (halves + 1) // 2)
        self._held_half = kn.meeting_draws(words, self._held_half, u_attend, u_form)
        kn.meet(self.seats, self.pairs, self.trust, self.part_record, self.rules_record, u_attend, u_form)

    def _turnover(self) -> None:
        """Departures, refills, given-up seats (kernels.turnover), then new organisations (7.10)."""
        words = self._rng_turnover.bit_generator.random_raw(3 * self.seats.size).reshape(3, -1)  # rng.random((3, S))
        joining = kn.turnover(self.seats, self.trust, self.part_record, self.rules_record, words, self.steps)
        if joining.size:
            self._recruit(joining)

    def _depart(self, slots: np.ndarray) -> None:
        """The people in these seats leave; their ties go with them."""
        kn.vacate_all(self.seats, self.trust, self.part_record, np.asarray(slots, dtype=np.int64))

    def _recruit(self, slots: np.ndarray, kinds: np.ndarray | None = None) -> None:
        """New organisations take given-up seats; their type follows the intended composition."""
        rng = self._rng_turnover
        if kinds is None:
            cumulative = self._recruit_cumulative
            if cumulative is None:  # only patient partners at the table, and no support for them
                return
            kinds = kn.recruited_types(rng.random(slots.size), cumulative)
        else:
            slots, kinds = np.asarray(slots, dtype=np.int64), np.asarray(kinds, dtype=np.int64)
        kn.seat_organisations(self.seats, self.pairs, self.trust, self.part_record, slots, kinds,
                              self._endowment_noise(kinds.size), _TYPES, self.steps, self.rules_record)  # fmt: skip

    def _check_dissolution(self) -> None:
        """The partnership ends after months with too few members or too little engagement (7.11)."""
        if kn.dissolves(self.seats, self.part_record, self.rules_record):
            self.part.dissolved = self.dissolved = True
            self.dissolved_month = self.steps
            self.events.append((self.steps, "dissolved"))
            self._depart(np.flatnonzero(self.seats["occupied"]))
            self.seats["org"] = False

    # ------------------------------------------------------------------ interventions (7.14)
    def apply_shock(self, severity: float) -> None:
        """A system shock (7.5): support falls; whole sectors, the public system's first, lose funding, staff, mandate."""
        severity = float(severity)
        if not 0.0 <= severity <= 1.0:
            raise ParameterError("shock_severity", severity, "a number in [0, 1]")
        part, seats = self.part, self.seats
        part.support_factor *= 1.0 - severity * self.params["shock_support_share"]
        part.shocked = part.shocked or severity > 0
        present = np.nonzero(seats["org"])[0]
        if present.size and severity > 0:
            hit = self._hit_sectors(present, severity)
            seats["endowment"][hit] *= 1.0 - severity  # a cut hits everything an organisation can put in
            self._seat_constants(hit)  # their CES capacity alone changed
            occupied = hit[seats["occupied"][hit]]
            leave = occupied[self._rng_shock.random(occupied.size) < self.params["shock_departure"] * severity]
            self._depart(leave)
        self.events.append((self.steps, f"shock {severity:g}"))

    def _hit_sectors(self, present: np.ndarray, severity: float) -> np.ndarray:
        """Organisations of the sectors a shock hits: sectors drawn (system ones first) until they hold ``severity``."""
        types = self.seats["type"][present]
        sectors = np.unique(types)
        weights = np.where(np.isin(sectors, SYSTEM_TYPES), self.params["system_shock_weight"], 1.0)
        order = self._rng_shock.choice(sectors, size=sectors.size, replace=False, p=weights / weights.sum())
        hit_types: list[int] = []
        for sector in order.tolist():
            hit_types.append(sector)
            if np.isin(types, hit_types).mean() >= severity:
                break
        return present[np.isin(types, hit_types)]

    def set_parameter(self, name: str, value: Any) -> None:
        """Change a parameter mid-run (validated); structural ones that fix the table cannot change."""
        if name in FIXED_AT_START:
            raise ParameterError(name, value, "fixed when the partnership is built; start a new run to change it")
        self.params = validate_parameters({**self.params, name: value})
        self.horizon = max(self.horizon, self.params["steps"])
        self._derive_rules()
        self._recruit_weights()
        self._seat_constants()
        self._pair_constants(np.arange(self.seats.size))

    def add_coordinator(self, coordination: float = 0.9) -> None:
        """Intervention: a dedicated coordinator raises coordination (at least to ``coordination``)."""
        self.set_parameter("coordination", max(self.params["coordination"], coordination))
        self.events.append((self.steps, "coordinator added"))

    def remove_key_partner(self) -> int | None:
        """Intervention: the most connected member (trust-weighted) leaves; returns their seat, or None."""
        occupied = self.seats["occupied"]
        if not occupied.any():
            return None
        strength = np.where(occupied, self.trust.sum(axis=2).reshape(-1), -1.0)
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
        seats = self.seats
        empty = np.nonzero(seats["valid"] & ~seats["occupied"])[0]
        if not empty.size:
            raise ParameterError("seats", self.params["seats"], "an empty seat to recruit into; every seat is taken")
        closed = empty[~seats["org"][empty]]
        slot = int((closed if closed.size else empty)[0])
        self._recruit(np.array([slot]), np.array([STAKEHOLDER_TYPES.index(stakeholder_type)]))
        self.events.append((self.steps, f"{stakeholder_type} recruited"))
        return int(self._seat_of_slot[slot])

    # ------------------------------------------------------------------ observation (ODD 4.11)
    def _observe_access(self) -> None:
        """Who can get care this month (kernels.access)."""
        kn.access(self._ability, self._rank, self._n_low, ABILITY_LEVELS, self.part_record, self.rules_record)

    def _observe(self) -> None:
        """Record this month's outputs (kernels.observe; the per-step series and the DataCollector read them)."""
        kn.observe(self.seats, self.part_record, self.steps, self._row_buffer)
        row = tuple(self._row_buffer.tolist())
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

    @property
    def synergy(self) -> float:
        """Synergy now, 0-1."""
        return float(self.part.synergy)

    @property
    def cumulative_members(self) -> int:
        """People who have held a seat so far."""
        return int(self.part.cumulative)

    def series(self) -> dict[str, np.ndarray]:
        """The per-step outputs so far, as arrays (month 0 to the current month)."""
        upto = min(self.steps, self.horizon) + 1
        rows = self._rows[:upto]
        rows += [(0,) * len(OUTPUTS)] * (upto - len(rows))  # months not recorded (see _observe)
        table = np.array(rows, dtype=float).reshape(upto, len(OUTPUTS))
        return {name: table[:, i].copy() for i, name in enumerate(OUTPUTS)}

    def summary(self) -> dict[str, Any]:
        """The run summary: outcomes, the seed and every parameter value."""
        retained = len(self._founders.intersection(self.seats["person"].tolist()))
        out = summarise(self.series(), retention=retained / max(1, len(self._founders)),
                        dissolved_month=self.dissolved_month, shock_month=self.params["shock_month"])  # fmt: skip
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
        if self.seats["person"][slot] > 0:
            return "occupied"
        return "vacant" if self.seats["org"][slot] else "closed"

    def network(self) -> nx.Graph:
        """The partnership network: nodes are seats 0..seats-1, edges carry trust as 'weight'."""
        graph = nx.Graph()
        self._sync_agents()
        seats = self.seats
        for seat, slot in enumerate(self._slot_of_seat):
            graph.add_node(
                seat,
                state=self.seat_state(seat),
                stakeholder_type=STAKEHOLDER_TYPES[seats["type"][slot]],
                engagement=float(seats["engagement"][slot]),
                agent=self._agent_at[slot],
            )
        trust = self.trust
        grp, i, j = np.nonzero(np.triu(trust, 1))
        g = self.group_size
        seats_i = self._seat_of_slot[grp * g + i]
        seats_j = self._seat_of_slot[grp * g + j]
        weights = trust[grp, i, j]
        graph.add_weighted_edges_from(zip(seats_i.tolist(), seats_j.tolist(), weights.tolist(), strict=True))
        return graph

"""The rules of the month, compiled with numba: one short function per rule, by ODD section (docs/ODD.md 7).

Each rule reads and writes the model's records by field name (``model.state``:
``seat``, ``pair``, ``part`` for the partnership, ``r`` for the rules, which hold every
numeric parameter by its schema name). The composed processes (``meet``,
``members_update``, ``turnover``, ``implement``, ``access``) loop over seats or pairs
and call the rules; ``model.py`` calls them in the order of ODD section 3.

The random draws stay in numpy (drawn by the model's generators in ``model.py`` in a
fixed order), so every function here is a deterministic function of its inputs: a seed
gives a bit-identical run in any process or machine. Compiled code is cached on disk
(``cache=True``): the first run after an install compiles for a few seconds, later
processes load the cache. ``NUMBA_DISABLE_JIT=1`` runs the same functions as plain
Python, slowly, for debugging.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from model.state import K  # resource kinds: a compile-time constant, so loops over kinds unroll

# Every rule is compiled with numpy's error model: a float division by zero gives inf or
# nan instead of raising, so divisions need no check and loops with them vectorise. No
# rule divides by zero (each guards its divisor), so results are the same as under
# Python's error model, which raised.
kernel = njit(cache=True, error_model="numpy")

# Loop indices of the hottest loops are unsigned (``range(U(n))``): numba then leaves out
# the check for negative (from-the-end) indices on every array access, which made those
# loops two to three times slower. Numba makes a signed integer of any sum or product
# with a signed one, so every part of such an index is unsigned (a slip costs speed,
# never correctness).
U = np.uint64

# ================================================================ shared: the CES aggregate (7.9)


@kernel
def power_mean(x, rho):
    """Equal-weight CES aggregate (power mean with exponent rho) of non-negative amounts.

    rho = 1 is the arithmetic mean (kinds substitute); rho -> 0 the geometric mean;
    rho < 0 is dominated by the scarcest kind (kinds complement). Never above the
    arithmetic mean, equal to it when every kind is held equally. Whole-number exponents
    (the default complementarity gives rho = -2) take a fast path of multiplications.
    """
    n = x.size
    total = 0.0
    if abs(rho) < 1e-9:
        for k in range(n):
            total += math.log(max(x[k], 1e-12))
        return math.exp(total / n)
    whole = round(rho)
    if abs(rho - whole) < 1e-9 and -4 <= whole <= 4:
        e = int(whole)
        if e == -2:  # the default; one loop per exponent keeps the branch out of the loop
            for k in range(n):
                v = max(x[k], 1e-12)
                total += 1.0 / (v * v)
            return 1.0 / math.sqrt(total / n)
        if e == 1:
            for k in range(n):
                total += max(x[k], 1e-12)
            return total / n
        if e == -1:
            for k in range(n):
                total += 1.0 / max(x[k], 1e-12)
            return 1.0 / (total / n)
        for k in range(n):
            total += max(x[k], 1e-12) ** e
        mean = total / n
        if e == 2:
            return math.sqrt(mean)
        return mean ** (1.0 / e)
    for k in range(n):
        total += max(x[k], 1e-12) ** rho
    return (total / n) ** (1.0 / rho)


@kernel
def sigmoid(x):
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-x))


# ================================================================ 7.1-7.3 the seats' and pairs' constants


@kernel
def endowment_of(kinds, noise, types, rules):
    """What organisations of these ``kinds`` hold (7.2): their type's profile x the level of each kind x ``noise``.

    The level is ``financial_resources`` for money and ``nonfinancial_resources`` for
    every other kind; ``noise`` (organisations x kinds) is their individual variation.
    """
    r = rules[0]
    endowment = np.empty((kinds.size, K))
    for n in range(kinds.size):
        profile = types[kinds[n]].profile
        for k in range(K):
            level = r.financial_resources if k == FINANCIAL else r.nonfinancial_resources
            endowment[n, k] = profile[k] * level * noise[n, k]
    return endowment


@kernel
def seat_constants(seats, slots, types, rules):
    """Per-seat constants of these slots from their type and the parameters (7.9e, 7.10, 7.7).

    Power and stake by type; voice in decisions; the time cost of taking part before
    protected time (fewer, longer meetings cost less per month, coordination cuts it,
    unsupported patient partners pay more); the refill factor; the tie capacity.
    """
    r = rules[0]
    meeting = r.meeting_interval ** -r.meeting_cost_exponent * (1.0 - r.coordination_time_saving * r.coordination)
    for n in range(slots.size):
        seat = seats[slots[n]]
        kind = types[seat.type]  # the type's constants (model.state.TYPE)
        patient = kind.patient
        seat.power = kind.power
        seat.stake = kind.stake
        seat.voice = r.decision_inclusiveness + (1.0 - r.decision_inclusiveness) * seat.power
        unsupported = (1.0 - r.patient_partner_support) if patient else 0.0
        seat.time_cost = r.time_cost * meeting * (1.0 + unsupported)
        seat.refill_factor = r.patient_partner_support if patient else 1.0
        seat.capacity = r.tie_capacity * (r.lead_capacity if seat.lead else 1.0)
        seat.own_capacity = power_mean(seat.endowment, r.rho)


# ================================================================ 7.3 the pairs' constants


@kernel
def pair_constants(seats, pairs, slots, types, rules):
    """Contact chance, power gap, profile distance and overlap of the pairs these slots are in (both orders).

    A pair with a committee's chair meets with chance 1, any other pair with
    ``1 - lead_contact_drop * centralization`` (7.3); a slot has no pair with itself.
    """
    r = rules[0]
    g = pairs.shape[1]
    peer_contact = 1.0 - r.lead_contact_drop * r.centralization
    for n in range(slots.size):
        s = slots[n]
        k, i = s // g, s % g
        a = seats[s]
        for j in range(g):
            b = seats[k * g + j]
            contact = 0.0 if j == i else (1.0 if (a.lead or b.lead) else peer_contact)
            distance = types[a.type].distance[b.type]
            for x, y in ((i, j), (j, i)):
                pair = pairs[k, x, y]
                pair.contact = contact
                pair.power_gap = abs(a.power - b.power)
                pair.distance = distance
                pair.overlap = 1.0 - distance


@kernel
def initial_ties(seats, trust, u, drawn_trust, rules):
    """Working relationships that exist at the start (7.3): denser around a committee's chair when centralised.

    A pair i < j of real seats has a tie with chance ``initial_tie_density`` raised
    towards 1 by ``centralization`` when it includes the chair, lowered by
    ``centralization x lead_contact_drop`` when not; ``u`` and ``drawn_trust`` (G x g x
    g, pairs i < j used) are the draws for the tie and its trust. Mirrored to j, i.
    """
    r = rules[0]
    G, g = trust.shape[0], trust.shape[1]
    d, c = r.initial_tie_density, r.centralization
    with_chair = d + c * (1 - d)
    without = d * (1 - c * r.lead_contact_drop)
    for k in range(G):
        for i in range(g):
            a = seats[k * g + i]
            for j in range(i + 1, g):
                b = seats[k * g + j]
                chance = with_chair if (a.lead or b.lead) else without
                w = drawn_trust[k, i, j] if (a.valid and b.valid and u[k, i, j] < chance) else 0.0
                trust[k, i, j] = w
                trust[k, j, i] = w


# ================================================================ 7.6 recovery after a shock


@kernel
def month_start(seats, partnership, rules):
    """A new month: no departures yet; after a shock, the system and hit organisations recover (7.6)."""
    part = partnership[0]
    r = rules[0]
    part.departures = 0
    if part.shocked:
        recover(seats, part, r)


@kernel
def recover(seats, part, r):
    """The system and hit organisations regain what a shock took, at their own pace (new policies, new funds)."""
    part.support_factor += (1.0 - part.support_factor) / r.support_recovery
    for s in range(U(seats.size)):
        seat = seats[s]
        endowment, full = seat.endowment, seat.full_endowment
        for k in range(endowment.size):
            endowment[k] += (full[k] - endowment[k]) / r.org_recovery
        seat.own_capacity = power_mean(endowment, r.rho)


# ================================================================ 7.7 meetings


@kernel
def attendance_chance(seat, r):
    """Chance to come to a meeting: rises with engagement, less the practical barriers coordination removes."""
    willing = r.attendance_floor + (1.0 - r.attendance_floor) * seat.engagement
    return willing * (1.0 - r.attendance_barrier * (1.0 - r.coordination))


@kernel
def attention(seat):
    """Share of full upkeep each of a member's ties gets: all of it up to their tie capacity, then shared."""
    return min(1.0, seat.capacity / seat.ties) if seat.ties > 0 else 1.0


@kernel
def time_to_spare(seat):
    """Room for a new working relationship: 1 with no ties, 0 at tie capacity."""
    return max(0.0, 1.0 - seat.ties / seat.capacity)


@kernel
def brokered(r):
    """How much of tie formation and recruitment waits on a facilitator: 1 - brokerage + brokerage x leadership."""
    return 1.0 - r.brokerage + r.brokerage * r.leadership


@kernel
def funding_scarcity(part, r):
    """How scarce funding is for the organisations at the table: 1 - the external support they get now."""
    return 1.0 - r.external_support * part.support_factor


# What the meeting rules need of the parameters and of the month, the same for every pair:
# worked out once per meeting (meeting_terms) and held in registers over the pair loop.
MeetingTerms = namedtuple(
    "MeetingTerms",
    ["power", "exclusive", "miscommunication", "competition", "escalation",  # conflict
     "gain", "quality", "conflict_loss", "keep",  # trust
     "formation", "brokered", "new_tie_trust"],  # new ties
)  # fmt: skip


@kernel
def meeting_terms(part, r):
    """This meeting's terms of the three pair rules below (their products grouped as those rules group them)."""
    return MeetingTerms(
        r.power_conflict * r.power_asymmetry,
        1.0 - r.decision_inclusiveness,
        r.miscommunication * (1.0 - r.communication),
        r.competition * funding_scarcity(part, r),
        r.escalation * 0.5,
        r.trust_gain,
        1.0 - r.communication_share + r.communication_share * r.communication,
        r.conflict_trust_loss,
        1.0 - r.trust_decay,
        r.tie_formation,
        brokered(r),
        r.new_tie_trust,
    )


@kernel
def conflict_in_contact(grievance_a, grievance_b, power_gap, overlap, t):
    """Conflict two members meet in a contact, 0-1.

    Sources (Lasker et al. 2001; Weiss et al. 2002): power differences when decisions are
    exclusive (power_conflict x power_asymmetry x their power gap x (1 -
    decision_inclusiveness)), misunderstandings when communication is poor
    (miscommunication x (1 - communication)), competition for scarce funding between
    organisations doing the same work (competition x funding scarcity x their overlap).
    Unresolved grievances of either member escalate it (conflict breeds conflict).
    """
    base = t.power * power_gap * t.exclusive + t.miscommunication + t.competition * overlap
    return min(1.0, base * (1.0 + t.escalation * (grievance_a + grievance_b)))


@kernel
def trust_after_meeting(w, contact, upkeep, conflict, t):
    """Expected trust on a tie after a meeting both attended.

    With chance ``contact`` they work together: a contact closes part of the gap to full
    trust (trust_gain, more with good communication: quality = 1 - communication_share
    + communication_share x communication, shared by the attention ``upkeep`` the tie
    gets) and conflict erodes a share of it (conflict_trust_loss); otherwise the tie
    decays as in a month without contact (keep = 1 - trust_decay).
    """
    worked = w + upkeep * t.gain * t.quality * (1.0 - w) - t.conflict_loss * conflict * w
    kept = w * t.keep
    return min(1.0, max(0.0, kept + contact * (worked - kept)))


@kernel
def tie_chance(spare_a, spare_b, contact, t):
    """Chance a meeting starts a working relationship between two members without one.

    They must have a contact (chance ``contact``), time to spare for a new tie
    (``spare_a``, ``spare_b``: time_to_spare of each), and (for part of it) a
    facilitator who introduces them (brokered = 1 - brokerage + brokerage x leadership).
    """
    return contact * t.formation * t.brokered * min(spare_a, spare_b)


@kernel
def grievance_after_meeting(g, exposure):
    """A meeting's conflict adds to a member's unresolved grievance (bounded by 1)."""
    return g + exposure * (1.0 - g)


@kernel
def uniform(word):
    """A uniform draw on [0, 1) from a raw 64-bit word, as numpy's ``Generator.random()`` makes it."""
    return (word >> U(11)) * (1.0 / 9007199254740992.0)


@kernel
def single_uniform(half):
    """A float32 uniform on [0, 1) from a 32-bit half of a raw word, as ``Generator.random(dtype=float32)`` makes it."""
    return np.float32(np.uint32(half) >> np.uint32(8)) * np.float32(1.0 / 16777216.0)


@kernel
def meeting_draws(words, held, u_attend, u_form):
    """The meeting's uniform draws from raw 64-bit words of the meetings' PCG64 stream, as numpy draws them.

    ``u_attend`` (doubles) take one word each: ``Generator.random()``. ``u_form``
    (singles) take 32-bit halves, low half first, as ``Generator.random(dtype=float32)``
    does; ``held`` is a high half left over from the last meeting (-1: none), used first.
    Returns the half left over now (-1: none). Numpy's own calls give the same numbers
    (tested); from raw words they cost a third less.
    """
    n_attend = u_attend.size
    for s in range(U(n_attend)):
        u_attend[s] = uniform(words[s])
    n = u_form.size
    if n == 0:
        return held
    first = 0
    if held >= 0:
        u_form[0] = single_uniform(held)
        first = 1
    pairs_of_halves = (n - first) // 2
    for w in range(U(pairs_of_halves)):  # whole words: low half, then high half
        word = words[U(n_attend) + w]
        at = U(first) + U(2) * w
        u_form[at] = single_uniform(word & U(0xFFFFFFFF))
        u_form[at + U(1)] = single_uniform(word >> U(32))
    if (n - first) % 2 == 0:
        return -1
    word = words[n_attend + pairs_of_halves]  # an odd count: the last word's low half; its high half is held
    u_form[n - 1] = single_uniform(word & U(0xFFFFFFFF))
    return np.int64(word >> U(32))


@kernel
def meet(seats, pairs, trust, partnership, rules, u_attend, u_form):
    """A meeting in every committee: attendance, contacts, trust, new ties, conflict met and grievances.

    ``u_attend`` (per slot) and ``u_form`` (one per pair i < j of every committee, in
    row order) are uniform draws. Fills ``part.attendance`` and ``part.conflict``.

    Pairs are taken a row at a time: every tie on the row first decays (as with a
    partner who did not come); then, if the row's member came, the partners who came
    (listed without branches) meet, in slot order, so every sum adds the same terms in
    the same order as a loop over all pairs. Whether a tie exists or forms is chosen
    arithmetically, not by branches (they are coin flips a processor cannot predict).
    """
    part = partnership[0]
    r = rules[0]
    G, g = pairs.shape[0], pairs.shape[1]
    S = G * g
    n_occ = 0
    n_att = 0
    # what the pair loop needs of each member, read once into plain arrays
    present = np.zeros(S)  # 1.0 if the member came
    upkeep = np.empty(S)
    spare = np.empty(S)
    grievance = np.empty(S)
    for s in range(U(S)):
        seat = seats[s]
        upkeep[s] = attention(seat)
        spare[s] = time_to_spare(seat)
        grievance[s] = seat.grievance
        came = seat.occupied and u_attend[s] < attendance_chance(seat, r)
        seat.attended = came
        seat.exposure = 0.0
        present[s] = 1.0 if came else 0.0
        n_occ += seat.occupied
        n_att += came
    t = meeting_terms(part, r)
    met = np.zeros(S)  # contact weight each member had
    exposure = np.zeros(S)  # conflict met, weighted by contact
    all_contact = 0.0
    all_conflict = 0.0
    contact_chance, power_gap, overlap = pairs.contact, pairs.power_gap, pairs.overlap
    here = np.empty(g, dtype=np.uint64)  # a committee's members who came, in slot order
    after = np.empty(g)  # trust on a row's ties after the meeting
    first_draw = U(0)  # index into u_form of the committee's first pair
    for k in range(U(G)):
        base = k * U(g)
        n_here = U(0)
        for i in range(U(g)):  # compacted without branches
            here[n_here] = i
            n_here += U(present[base + i] > 0.0)
        h = U(0)  # position in ``here`` after the row's member
        for i in range(U(g)):
            a = base + i
            for j in range(i + U(1), U(g)):  # with whoever did not come, a tie only decays
                w = np.float64(trust[k, i, j]) * t.keep
                after[j] = w if w >= TIE_FLOOR else 0.0
            if present[a] > 0.0:
                h += U(1)
                row_draw = first_draw + i * (U(2) * U(g) - i - U(1)) // U(2)  # u_form index of pair (i, i + 1)
                # member a's sums are held in registers over its row (the same additions in the same order)
                met_a, exposure_a = met[a], exposure[a]
                for q in range(h, n_here):  # partners who came, in slot order
                    j = here[q]
                    b = base + j
                    w = np.float64(trust[k, i, j])
                    contact = np.float64(contact_chance[k, i, j])
                    conflict = conflict_in_contact(
                        grievance[a], grievance[b], np.float64(power_gap[k, i, j]), np.float64(overlap[k, i, j]), t
                    )
                    met_a += contact
                    met[b] += contact
                    exposure_a += contact * conflict
                    exposure[b] += contact * conflict
                    all_contact += contact
                    all_conflict += contact * conflict
                    worked = trust_after_meeting(w, contact, min(upkeep[a], upkeep[b]), conflict, t)
                    chance = tie_chance(spare[a], spare[b], contact, t)
                    formed = t.new_tie_trust if u_form[row_draw + j - i - U(1)] < chance else 0.0
                    w = worked if w > 0.0 else formed
                    after[j] = w if w >= TIE_FLOOR else 0.0
                met[a], exposure[a] = met_a, exposure_a
            for j in range(i + U(1), U(g)):
                trust[k, i, j] = after[j]
                trust[k, j, i] = after[j]
        first_draw += U(g) * (U(g) - U(1)) // U(2)
    for s in range(U(S)):
        if met[s] > 0.0:
            seat = seats[s]
            seat.exposure = exposure[s] / met[s]
            seat.grievance = grievance_after_meeting(seat.grievance, seat.exposure)
    part.attendance = n_att / n_occ if n_occ else 0.0
    part.conflict = all_conflict / all_contact if all_contact > 0.0 else 0.0

TIE_FLOOR = 0.02  # a tie whose trust falls below this is gone [convention]


@kernel
def drift(trust, rules):
    """A month without a meeting: every tie decays; ties below the floor are gone."""
    r = rules[0]
    keep = 1.0 - r.trust_decay
    flat = trust.reshape(-1)
    for n in range(U(flat.size)):  # no tie stays 0 (0 x keep is below the floor)
        w = np.float64(flat[n]) * keep
        flat[n] = w if w >= TIE_FLOOR else 0.0


# ================================================================ 7.8 grievances


@kernel
def grievance_after_month(g, r):
    """Unresolved grievances fade a little on their own; a facilitative leader resolves more."""
    return g * max(0.0, 1.0 - r.grievance_fade - r.grievance_resolution * r.leadership)


# ================================================================ 7.9 members' update


@kernel
def hold_ties(seats, trust, r):
    """Each member's ties, their trust-weighted strength, mean trust and reach; returns the ties (pairs) in the network."""
    G, g = trust.shape[0], trust.shape[1]
    ties_held, strength_held, trust_held, reach = seats.ties, seats.strength, seats.trust_held, seats.reach
    scale = r.strength_scale
    ties = np.empty(g, dtype=np.int64)
    strength = np.empty(g)
    total = 0
    for k in range(U(G)):
        ties[:] = 0
        strength[:] = 0.0
        # member i's ties summed over partners j in order; trust is symmetric, so row j holds
        # every member's tie to j side by side (the sums run over members at once, without
        # branches: no tie adds exactly 0, trust is never negative)
        for j in range(U(g)):
            for i in range(U(g)):
                w = np.float64(trust[k, j, i])
                ties[i] += w > 0.0
                strength[i] += w
        for i in range(U(g)):
            s = k * U(g) + i
            ties_held[s] = ties[i]
            strength_held[s] = strength[i]
            trust_held[s] = strength[i] / ties[i] if ties[i] else 0.0
            reach[s] = reach_of(strength[i], scale) if ties[i] else 0.0
            total += ties[i]
    return total // 2


@kernel
def offered_share(seat):
    """Share of their resources a member offers: engaged members share with partners they trust."""
    return seat.engagement * seat.trust_held


@kernel
def reach_of(strength, scale):
    """Share of what a member offers that reaches the group, through their trusted ties (``strength``: trust summed)."""
    return 1.0 - math.exp(-strength / scale)


@kernel
def contribute(seat, part, r):
    """What a member gives this month, what more they could give if asked, and what a shock took from it.

    They give their offered share of what reaches the group. In normal times they could
    give up to ``surge`` more of each kind if resource management asks (their spare);
    an organisation a shock has cut first spends that spare on its own loss, so it has
    only what is left. Resource management mobilises a share of the spare of each kind
    (re-balancing); the partnership's shortfall is what members would give in normal
    times minus what they give now.
    """
    share = offered_share(seat)
    reach = seat.reach
    # the record's fields as arrays, taken once (a field read in a loop rebuilds its view every time)
    endowment, full, contribution, spares = seat.endowment, seat.full_endowment, seat.contribution, seat.spare
    mobilisation, shortfall = part.mobilisation, part.shortfall
    for k in range(endowment.size):
        usual = reach * share * endowment[k]
        loss = reach * share * full[k] - usual
        spare = max(0.0, r.surge * (usual + loss) - loss)
        mobilised = mobilisation[k] * spare
        contribution[k] = usual + mobilised
        spares[k] = spare
        shortfall[k] += loss


@kernel
def capacity_of(pool, r):
    """Combined capacity Q: CES of the pooled kinds, each against the task's need of it."""
    return power_mean(pool / r.need, r.rho)


@kernel
def integration_of(capacity):
    """Manifestation (a), integration of resources: combined capacity on a 0-1 scale, one half when Q = 1."""
    return capacity / (1.0 + capacity)


@kernel
def adaptive_capacity(seats, part, r, n_types):
    """Manifestation (d), capacity for adaptation: how much of a kind's main sector the others could replace.

    For each kind, the stakeholder type that usually brings most of it drops out; what
    the other members could add if asked (their spare) replaces a share of that
    contribution, at most all of it. It measures a capacity, not its use: both sides are
    what members would bring in normal times, so neither a shock's cut nor what
    re-balancing mobilises now changes it; engagement, trust and who sits at the table do. Kinds also make good one another to the degree they substitute (the
    CES exponent rho, when positive). The mean over kinds (docs/ODD.md 7.9d).
    """
    K = part.pool.size
    given = np.zeros((n_types, K))
    spare = np.zeros((n_types, K))
    for s in range(U(seats.size)):
        seat = seats[s]
        if seat.occupied:
            # a capacity, not its use: what each would bring in normal times (a shock's cut and what
            # re-balancing mobilises now count for neither side), shared as far as trust and ties reach
            usual = offered_share(seat) * seat.reach
            full = seat.full_endowment
            t = seat.type
            for k in range(K):
                given[t, k] += usual * full[k]
                spare[t, k] += r.surge * usual * full[k]
    all_spare = spare.sum()
    substitutability = max(0.0, r.rho)  # CES: other kinds can make good a kind lost outright only if rho > 0
    cover = 0.0
    for k in range(K):
        top = 0
        for t in range(n_types):
            if given[t, k] > given[top, k]:
                top = t
        if given[top, k] > 0.0:
            same_kind = spare[:, k].sum()
            replacing = same_kind - spare[top, k] + substitutability * (all_spare - same_kind)
            cover += min(1.0, replacing / given[top, k])
    return cover / K


@kernel
def benefits_of(own_capacity, with_partners):
    """Perceived benefits of taking part, 0-1: the share of what a member can do that partners make possible.

    A member draws on a share (partner_access x trust) of what each partner brings to
    the partnership (their contribution); the benefit is 1 - (what they could do alone)
    / (what they can do with partners), both as CES capacities (``with_partners``:
    committee_benefits). With substitutable kinds any partner adds the same; with
    complements, partners who bring what the member lacks add most; partners who bring
    little (disengaged, distrusted, cut by a shock) add little.
    """
    if with_partners <= 1e-12:
        return 0.0
    return 1.0 - own_capacity / with_partners


@kernel
def power_mean_columns(x, rho, out):
    """power_mean of every column of ``x`` (kinds x members) into ``out``, the same sums in the same order.

    The loops run over members innermost, so they vectorise; the results are bit-identical
    to power_mean of each column.
    """
    n, m = x.shape
    whole = round(rho)
    if abs(rho) >= 1e-9 and abs(rho - whole) < 1e-9 and int(whole) == -2:
        out[:] = 0.0
        for k in range(U(n)):
            for i in range(U(m)):
                v = max(x[k, i], 1e-12)
                out[i] += 1.0 / (v * v)
        for i in range(U(m)):
            out[i] = 1.0 / math.sqrt(out[i] / n)
    else:
        for i in range(m):
            out[i] = power_mean(x[:, i].copy(), rho)


@kernel
def committee_benefits(seats, trust, r):
    """Every member's benefits (7.9e), a committee at a time.

    What member i can do with partners: the CES of their endowment plus the share
    (partner_access x trust) they draw of each partner j's contribution, added in the
    order of j. The committee's trust is read once, and held kinds by members, so the
    sums vectorise over members.
    """
    G, g = trust.shape[0], trust.shape[1]
    contribution, endowment, own_capacity = seats.contribution, seats.endowment, seats.own_capacity
    occupied, benefits = seats.occupied, seats.benefits
    drawn = np.empty((g, g))  # drawn[j, i]: the share of partner j's contribution member i draws on
    combined = np.empty((K, g))  # what member i holds of each kind with partners
    with_partners = np.empty(g)
    access, rho = r.partner_access, r.rho
    for k in range(U(G)):
        base = k * U(g)
        for i in range(U(g)):
            for n in range(U(K)):
                combined[n, i] = endowment[base + i, n]
        for j in range(U(g)):  # trust is symmetric: row j holds every member's tie to j
            for i in range(U(g)):
                drawn[j, i] = access * np.float64(trust[k, j, i])
        for j in range(U(g)):  # no tie: a share of 0 adds exactly nothing
            for n in range(U(K)):
                c = contribution[base + j, n]
                for i in range(U(g)):
                    combined[n, i] += drawn[j, i] * c
        power_mean_columns(combined, rho, with_partners)
        for i in range(U(g)):
            if occupied[base + i]:
                benefits[base + i] = benefits_of(own_capacity[base + i], with_partners[i])


@kernel
def drawbacks_of(seat, part, r):
    """Perceived drawbacks: time taken (less what external support protects), frustration, lack of influence."""
    time = seat.time_cost * (1.0 - r.protected_time * r.external_support * part.support_factor)
    return time + r.frustration * seat.grievance + r.exclusion * (1.0 - seat.voice)


@kernel
def motive_of(seat, part, r):
    """Reasons to take part beyond benefits: the organisation's mandate and one's personal stake."""
    return r.mandate_weight * r.external_support * part.support_factor + r.stake_weight * seat.stake


@kernel
def engagement_target(seat, part, r):
    """Engagement a member drifts towards: net benefit with motives, plus synergy's energy (if fed back)."""
    net = seat.benefits - seat.drawbacks + motive_of(seat, part, r)
    energy = r.synergy_feedback * r.synergy_energy * part.synergy
    return sigmoid(r.engagement_beta * (net - r.engagement_net0) + energy)


@kernel
def rebalance(part, r):
    """Resource management after a loss: members' spare is steered to the kinds a shock took, as much as fills the gap.

    Mobilisation of each kind moves, at a rate set by coordination, towards the share of
    the members' spare of that kind that would make good what a shock took from it
    (nothing in normal times: a table's own mix is its composition).
    """
    rate = r.rebalance_rate * r.coordination
    for k in range(part.pool.size):
        wanted = min(1.0, part.shortfall[k] / part.spare[k]) if part.spare[k] > 0.0 else 0.0
        part.mobilisation[k] += rate * (wanted - part.mobilisation[k])


@kernel
def members_update(seats, trust, partnership, rules, n_types, feedback):
    """Ties held, contributions, the four manifestations, synergy; with ``feedback``, mobilisation and engagement.

    Without ``feedback`` (month 0, and after dissolution) nothing members do changes.
    """
    part = partnership[0]
    r = rules[0]
    S = seats.size
    G, g = trust.shape[0], trust.shape[1]
    n_ties = hold_ties(seats, trust, r)
    possible = 0
    part.pool[:] = 0.0
    part.voiced[:] = 0.0
    part.spare[:] = 0.0
    part.shortfall[:] = 0.0
    n_occ = 0
    engagement = 0.0
    pool, voiced, spare = part.pool, part.voiced, part.spare
    for s in range(U(S)):
        seat = seats[s]
        contribution, seat_spare = seat.contribution, seat.spare
        if seat.occupied:
            contribute(seat, part, r)
            for k in range(pool.size):  # explicit loops: no temporary arrays per member
                pool[k] += contribution[k]
                voiced[k] += seat.voice * contribution[k]
                spare[k] += seat_spare[k]
            n_occ += 1
            engagement += seat.engagement
        else:
            for k in range(pool.size):
                contribution[k] = 0.0
                seat_spare[k] = 0.0
    for k in range(G):
        n_k = 0
        for i in range(g):
            if seats[k * g + i].occupied:
                n_k += 1
        possible += n_k * (n_k - 1) // 2
    part.occupied = n_occ
    part.engagement = engagement / n_occ if n_occ else 0.0
    part.density = n_ties / possible if possible else 0.0
    part.capacity = capacity_of(part.pool, r)
    part.integration = integration_of(part.capacity)
    part.convening = min(1.0, part.pool[CONVENING] / r.need)
    part.adaptive = adaptive_capacity(seats, part, r, n_types) if n_occ else 0.0

    trust_held = 0.0
    atmosphere = 0.0
    benefit = 0.0
    grievance = 0.0
    committee_benefits(seats, trust, r)
    for s in range(U(S)):
        seat = seats[s]
        if not seat.occupied:
            continue
        seat.drawbacks = drawbacks_of(seat, part, r)
        total = seat.benefits + seat.drawbacks
        seat.benefit_share = seat.benefits / total if total > 0.0 else 0.0
        trust_held += seat.trust_held
        atmosphere += seat.trust_held * (1.0 - seat.grievance)
        benefit += seat.benefit_share
        grievance += seat.grievance
    n = max(n_occ, 1)
    part.mean_trust = trust_held / n
    part.atmosphere = atmosphere / n
    part.benefit = benefit / n
    part.grievance = grievance / n
    part.raw_synergy = 0.25 * (part.integration + part.atmosphere + part.benefit + part.adaptive)
    if not feedback:
        return
    part.synergy += r.synergy_rate * (part.raw_synergy - part.synergy)
    rebalance(part, r)
    for s in range(U(S)):
        seat = seats[s]
        if seat.occupied:
            seat.engagement += r.engagement_rate * (engagement_target(seat, part, r) - seat.engagement)
            seat.grievance = grievance_after_month(seat.grievance, r)


CONVENING = 5  # index of 'convening' in RESOURCE_KINDS (checked in model.py)
FINANCIAL = 0  # index of 'financial' in RESOURCE_KINDS (checked in model.py)


# ================================================================ 7.10 turnover


@kernel
def leaving_hazard(seat, r):
    """Monthly chance a member leaves: moving on for outside reasons, or disengaged (falls as (1 - e)^2)."""
    x = 1.0 - seat.engagement
    return r.individual_turnover + r.dropout * x * x


@kernel
def vitality(part, r):
    """Synergy's pull on organisations deciding to (re)join: 1 + its energy, when synergy is fed back."""
    return 1.0 + r.synergy_feedback * r.synergy_reputation * part.synergy


@kernel
def refill_chance(seat, part, r):
    """Monthly chance an organisation names a new person to its empty seat.

    Its will rests on its mandate (external support) and on the benefits its last
    representative reported; synergy's vitality adds to it when fed back.
    """
    mandate = r.external_support * part.support_factor
    will = r.refill_mandate * mandate + (1.0 - r.refill_mandate) * seat.last_benefit_share
    return min(1.0, r.refill_rate * seat.refill_factor * will * vitality(part, r))


@kernel
def recruitment_chance(part, r):
    """Monthly chance a new organisation takes a given-up seat: convening power, and (in part) a leader who recruits."""
    return min(1.0, r.recruitment_rate * brokered(r) * part.convening * vitality(part, r))


@kernel
def vacate(seats, trust, s):
    """The person in slot ``s`` leaves; their ties go with them; the organisation remembers their benefits."""
    g = trust.shape[1]
    seat = seats[s]
    seat.last_benefit_share = seat.benefit_share
    seat.person = 0
    seat.occupied = False
    seat.attended = False
    seat.engagement = 0.0
    seat.grievance = 0.0
    seat.vacant_months = 0
    k, i = s // g, s % g
    for j in range(g):
        trust[k, i, j] = 0.0
        trust[k, j, i] = 0.0


@kernel
def vacate_all(seats, trust, partnership, slots):
    """The people in these slots leave (counted as this month's departures)."""
    part = partnership[0]
    for n in range(slots.size):
        vacate(seats, trust, slots[n])
    part.departures += slots.size


@kernel
def seat_people(seats, trust, partnership, slots, month, rules):
    """New people take these slots."""
    part = partnership[0]
    r = rules[0]
    for n in range(slots.size):
        seat_person(seats, trust, part, slots[n], month, r)


@kernel
def seat_person(seats, trust, part, s, month, r):
    """A new person takes slot ``s``: middling engagement, no trust history but an orientation tie to the lead."""
    g = trust.shape[1]
    seat = seats[s]
    part.cumulative += 1  # person ids count from 1
    seat.person = part.cumulative
    seat.joined = month
    seat.occupied = True
    seat.engagement = r.new_member_engagement
    seat.grievance = 0.0
    seat.vacant_months = 0
    k, i = s // g, s % g
    oriented = r.orientation_trust * r.coordination
    if oriented >= TIE_FLOOR and not seat.lead:
        for j in range(g):
            other = seats[k * g + j]
            if other.lead and other.occupied:
                trust[k, i, j] = oriented
                trust[k, j, i] = oriented


@kernel
def recruited_types(u, cumulative):
    """The types of new organisations: the first type whose cumulative share exceeds each uniform draw ``u``.

    ``cumulative`` is the intended composition's running sum (model._recruit_weights);
    a draw at or above its last value (rounding) takes the last type.
    """
    kinds = np.searchsorted(cumulative, u, side="right")
    for n in range(kinds.size):
        kinds[n] = min(kinds[n], cumulative.size - 1)
    return kinds


@kernel
def seat_organisations(seats, pairs, trust, partnership, slots, kinds, noise, types, month, rules):
    """New organisations of these ``kinds`` take these given-up slots and name a person.

    What they hold follows from their type (endowment_of, with their individual
    ``noise``), as do their seats' and pairs' constants (seat_constants,
    pair_constants); they bring no remembered benefits.
    """
    endowment = endowment_of(kinds, noise, types, rules)
    for n in range(slots.size):
        seat = seats[slots[n]]
        seat.type = kinds[n]
        seat.endowment[:] = endowment[n]
        seat.full_endowment[:] = endowment[n]
        seat.org = True
        seat.last_benefit_share = 0.0
    seat_constants(seats, slots, types, rules)
    pair_constants(seats, pairs, slots, types, rules)
    seat_people(seats, trust, partnership, slots, month, rules)


@kernel
def turnover(seats, trust, partnership, rules, words, month):
    """Departures, seats refilled by the same organisation, seats given up; returns slots open to new organisations.

    ``words`` (3 x slots, raw 64-bit words of the turnover stream) give three uniform
    draws per slot (leaving, refilling, recruiting), as ``Generator.random((3, slots))``
    gives them (``uniform``).
    """
    u = words
    part = partnership[0]
    r = rules[0]
    S = seats.size
    departures = 0
    for s in range(U(S)):
        seat = seats[s]
        if seat.occupied and uniform(u[0, s]) < leaving_hazard(seat, r):
            vacate(seats, trust, s)
            departures += 1
    for s in range(U(S)):
        seat = seats[s]
        if seat.org and not seat.occupied:
            seat.vacant_months += 1
            if uniform(u[1, s]) < refill_chance(seat, part, r):
                seat_person(seats, trust, part, s, month, r)
            elif seat.vacant_months > r.organisation_patience:
                seat.org = False
    joining = np.empty(S, dtype=np.int64)
    n_new = 0
    chance = recruitment_chance(part, r)
    for s in range(U(S)):
        seat = seats[s]
        if seat.valid and not seat.org and uniform(u[2, s]) < chance:
            joining[n_new] = s
            n_new += 1
    part.departures += departures
    return joining[:n_new]


# ================================================================ 7.11 dissolution


@kernel
def occupancy(seats):
    """(seats held, their engagement summed), counted now."""
    n_occ = 0
    engagement = 0.0
    for s in range(U(seats.size)):
        if seats[s].occupied:
            n_occ += 1
            engagement += seats[s].engagement
    return n_occ, engagement


@kernel
def dissolves(seats, partnership, rules):
    """Another month below a floor (too few members, too little engagement); True when that ends the partnership."""
    part = partnership[0]
    r = rules[0]
    n_occ, engagement = occupancy(seats)
    low = n_occ < r.dissolution_seats or engagement < r.dissolution_engagement * n_occ
    part.low_months = part.low_months + 1 if low else 0
    return part.low_months >= r.dissolution_months


# ================================================================ 7.12 implementation


@kernel
def aim(part, kind_to_target, r):
    """How the partnership's effort is spread over the targets (mean 1): the kinds pooled, weighted by voice."""
    T = kind_to_target.shape[1]
    aimed = np.zeros(T)
    if r.implementation_follows_partnership > 0.5:
        for k in range(part.voiced.size):
            aimed += part.voiced[k] * kind_to_target[k]
    total = aimed.sum()
    if total <= 0.0:
        return np.ones(T)
    return aimed * (T / total)


@kernel
def implement(partnership, kind_to_target, rules):
    """Solutions develop with the integrated capacity aimed at them and lapse unless policy takes them up."""
    part = partnership[0]
    r = rules[0]
    if part.dissolved:
        capacity = 0.0
    elif r.implementation_follows_partnership > 0.5:
        capacity = part.integration
    else:
        capacity = r.fixed_capacity
    effort = aim(part, kind_to_target, r)
    lapse = r.lapse_rate * (1.0 - r.institutionalisation * r.external_support * part.support_factor)
    for t in range(part.implementation.size):
        x = part.implementation[t]
        x += r.development_rate * capacity * effort[t] * (1.0 - x) - lapse * x
        part.implementation[t] = min(1.0, max(0.0, x))


# ================================================================ 7.13 supply, abilities and access


@kernel
def respond(partnership, rules):
    """Services' accessibility and the reach of ability-side solutions move towards what is implemented."""
    part = partnership[0]
    r = rules[0]
    D = part.supply.size
    for d in range(D):
        supply = r.supply_baseline + (1.0 - r.supply_baseline) * r.service_impact * part.implementation[d]
        reach = r.outreach_reach * part.implementation[D + d]
        part.supply[d] += (supply - part.supply[d]) / r.access_lag
        part.reach[d] += (reach - part.reach[d]) / r.access_lag


@kernel
def need_ranks(ability, levels):
    """Each person's place in the order of need on each ability (0 = least able; equal abilities in person order).

    ``ability`` (dimensions x people) holds whole steps 0 .. levels - 1, so a counting
    sort gives the ranks a stable sort would, in one pass per dimension.
    """
    D, n = ability.shape
    rank = np.empty((D, n), dtype=np.int32)
    below = np.empty(levels + 1, dtype=np.int64)  # below[v]: people with an ability under v (then the next free place)
    for d in range(D):
        below[:] = 0
        for p in range(n):
            below[ability[d, p] + 1] += 1
        for v in range(levels):
            below[v + 1] += below[v]
        for p in range(n):
            rank[d, p] = below[ability[d, p]]
            below[ability[d, p]] += 1
    return rank


@kernel
def access(ability, rank, n_low, levels, partnership, rules):
    """Who can get care: a person passes a dimension when supply plus their ability reaches 1.

    ``ability`` (dimensions x people, in steps of 1/levels, the least-able fifth first)
    and ``rank`` (each person's place in the order of need on each ability, 0 = least
    able). Ability-side solutions reach the least able first, up to ``part.reach`` of
    the cohort, and raise their ability by ``ability_impact``. Fills the access fields of ``part``.
    """
    part = partnership[0]
    r = rules[0]
    D, n = ability.shape
    everywhere = np.ones(n, dtype=np.uint8)  # passes every dimension so far
    for d in range(D):
        cut = np.int32(math.ceil((1.0 - part.supply[d]) * levels - 1e-9))
        cut_reached = np.int32(math.ceil((1.0 - part.supply[d] - r.ability_impact) * levels - 1e-9))
        reached = np.int32(int(part.reach[d] * n))
        passing = 0
        # counted without branches (who passes is a coin flip to the processor), a dimension at a time
        for p in range(U(n)):
            a = np.int32(ability[d, p])
            passes = (a >= cut) | ((rank[d, p] < reached) & (a >= cut_reached))
            passing += passes
            everywhere[p] &= passes
        part.per_dimension[d] = passing / n
    passing = 0
    low = 0
    for p in range(U(n)):
        passing += everywhere[p]
        low += everywhere[p] if p < U(n_low) else 0
    part.access = passing / n
    part.access_low = low / n_low
    part.access_rest = (passing - low) / (n - n_low) if n > n_low else 0.0


# ================================================================ 4.11 observation


@kernel
def observe(seats, partnership, month, row):
    """This month's outputs into ``row``, in the order of model.outputs.OUTPUTS.

    Seats held and mean engagement are counted now: departures after the members'
    update (turnover, a shock, dissolution) count in the month they happen.
    """
    part = partnership[0]
    n_occ, engagement = occupancy(seats)
    part.occupied = n_occ
    part.engagement = engagement / n_occ if n_occ else 0.0
    D = part.supply.size
    services = part.implementation[:D].mean()
    abilities = part.implementation[D:].mean()
    values = (
        float(month), part.synergy, 1.0 + 4.0 * part.synergy, part.integration, part.atmosphere, part.benefit,
        part.adaptive, part.mean_trust, part.conflict, part.grievance, part.engagement, part.attendance,
        part.density, float(part.occupied), float(part.cumulative), float(part.departures),
        0.5 * (services + abilities), services, abilities, part.access,
    )  # fmt: skip (a homogeneous tuple: numba iterates over it)
    n = 0
    for v in values:
        row[n] = v
        n += 1
    for d in range(D):
        row[n] = part.per_dimension[d]
        n += 1
    row[n] = part.access_low
    row[n + 1] = part.access_rest - part.access_low


# ================================================================ compile ahead


def warm_up() -> float:
    """Compile every kernel (or load it from the cache) by running a small model through every process.

    ``make`` runs this after installing (``python -m model.kernels``), so that the
    first real run, test worker or web visitor does not wait for the compiler.
    Returns the seconds taken.
    """
    import time

    from model.model import PartnershipModel

    start = time.perf_counter()
    m = PartnershipModel(seed=0, seats=40, steps=8, meeting_interval=2, shock_month=2, population_size=100)
    for month in range(8):
        if month == 4:
            m.remove_key_partner()
            m.recruit_member()
        m.step()
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"model kernels compiled (or loaded from the cache) in {warm_up():.1f} s")

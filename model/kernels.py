"""The month's numeric work, compiled with numba: one call per process instead of dozens of numpy calls.

A default partnership has 20 seats; its pair arrays hold 400 numbers. At that size a
numpy call costs more in overhead than in arithmetic, and a month took about 120 of
them. Each function here does one process of the month (docs/ODD.md, section 7) in a
single pass over seats or pairs, with the equations of the ODD written out as loops.
The random draws stay in numpy (the model's generators, drawn in ``model.py`` in the
same order as before), so the kernels are deterministic functions of their inputs:
the same seed gives bit-identical runs whichever process or machine runs them.

Arithmetic is in float64; trust and the per-pair constants are stored in float32
(``PAIR_DTYPE``). Compiled code is cached on disk (``cache=True``): the first run in a
fresh install compiles for a few seconds, later processes load the cache.

Every function also runs as plain Python (``NUMBA_DISABLE_JIT=1``), slowly, for debugging.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------- scalar rules (also used by the tests)


@njit(cache=True)
def power_mean(x, rho):
    """Equal-weight CES aggregate (power mean with exponent rho) of non-negative amounts.

    rho = 1 is the arithmetic mean (kinds substitute); rho -> 0 the geometric mean;
    rho < 0 is dominated by the scarcest kind (kinds complement). Never above the
    arithmetic mean, equal to it when every kind is held equally.
    """
    n = x.size
    total = 0.0
    if abs(rho) < 1e-9:
        for k in range(n):
            total += math.log(max(x[k], 1e-12))
        return math.exp(total / n)
    for k in range(n):
        total += max(x[k], 1e-12) ** rho
    return (total / n) ** (1.0 / rho)


@njit(cache=True)
def trust_after_meeting(w, worked, gain, decay, conflict_loss):
    """Expected trust on a tie after a month with a meeting.

    A tie worked on (weight ``worked``: both attended, times their chance of contact)
    moves towards ``w + gain * (1 - w) - conflict_loss * w`` (small wins close part of
    the gap to full trust, conflict erodes it); a tie not worked on decays to
    ``w * (1 - decay)``.
    """
    kept = w * (1.0 - decay)
    met = w + gain * (1.0 - w) - conflict_loss * w
    return kept + worked * (met - kept)


@njit(cache=True)
def engagement_target(net_benefit, synergy, synergy_feedback, beta, net0):
    """Engagement a member drifts towards: sigmoid(beta * (net_benefit - net0) + synergy_feedback * synergy)."""
    return 1.0 / (1.0 + math.exp(-(beta * (net_benefit - net0) + synergy_feedback * synergy)))


# ---------------------------------------------------------------- meetings (ODD 7.7)


@njit(cache=True)
def meet(W, u_attend, engagement, occupied, attend_base, attend_slope,
         u_form, p_contact, p_formed, contact_conflict, conflict_loss,
         gain, decay, tie_floor, new_tie, time_cost, frustration, conflict_exposure, costs):  # fmt: skip
    """A meeting in every committee: attendance, trust on ties, new ties, conflict met.

    Updates ``W`` (committees x g x g, symmetric), ``conflict_exposure`` and ``costs``
    (per slot) in place; returns (occupied seats, attending seats, conflict).
    ``u_attend`` (per slot) and ``u_form`` (per pair, used on i < j) are uniform draws.
    """
    G, g = W.shape[0], W.shape[1]
    S = G * g
    attend = np.zeros(S)
    n_occ = 0
    n_att = 0
    for s in range(S):
        if occupied[s]:
            n_occ += 1
            if u_attend[s] < attend_base + attend_slope * engagement[s]:
                attend[s] = 1.0
                n_att += 1
    keep = 1.0 - decay
    for k in range(G):
        base = k * g
        for i in range(g):
            ai = attend[base + i] > 0.0
            for j in range(i + 1, g):
                w = np.float64(W[k, i, j])
                together = ai and attend[base + j] > 0.0
                if w > 0.0:
                    if together:
                        w = trust_after_meeting(w, np.float64(p_contact[k, i, j]), gain, decay,
                                                np.float64(conflict_loss[k, i, j]))  # fmt: skip
                    else:
                        w = w * keep
                    if w < tie_floor:
                        w = 0.0
                elif together and u_form[k, i, j] < p_formed[k, i, j]:
                    w = new_tie  # trust there was 0: no tie, so not worked on
                else:
                    continue
                W[k, i, j] = w
                W[k, j, i] = w
    # conflict met: power differences with the others present, weighted by contact chance
    all_contacts = 0.0
    all_exposure = 0.0
    for k in range(G):
        base = k * g
        for i in range(g):
            s = base + i
            if attend[s] == 0.0:
                conflict_exposure[s] = 0.0
            else:
                contacts = 0.0
                exposure = 0.0
                for j in range(g):
                    if attend[base + j] > 0.0:
                        contacts += p_contact[k, i, j]
                        exposure += contact_conflict[k, i, j]
                conflict_exposure[s] = exposure / max(contacts, 1e-12)
                all_contacts += contacts
                all_exposure += exposure
            costs[s] = time_cost[s] + frustration * conflict_exposure[s]
    conflict = all_exposure / all_contacts if all_contacts > 0.0 else 0.0
    return n_occ, n_att, conflict


@njit(cache=True)
def decay_ties(W, decay, tie_floor):
    """A month without a meeting: every tie decays; ties below the floor are gone."""
    keep = 1.0 - decay
    flat = W.reshape(-1)
    for n in range(flat.size):
        w = np.float64(flat[n])
        if w > 0.0:
            w *= keep
            flat[n] = w if w >= tie_floor else 0.0


# ---------------------------------------------------------------- members' update (ODD 7.8)


@njit(cache=True)
def members(W, distance, engagement, occupied, endowment, mobilisation, holds, gain_base, costs,
            member_trust, net_benefit, benefit_share, pool,
            strength_scale, rho, coordination_factor, reference_capacity, reference_convening, convening_kind,
            cover_scale, mobilisation_rate, benefit_scale, gain_resources, gain_other, conflict,
            synergy, smoothing, synergy_energy, beta, net0, rate, feedback):  # fmt: skip
    """Trust held, contributions and their integration, benefits, synergy, engagement.

    Fills ``member_trust``, ``net_benefit``, ``benefit_share`` (per slot) and ``pool``
    (per kind). With ``feedback``, also moves ``mobilisation`` and ``engagement``
    (in place). Returns (integration, atmosphere, benefit, adaptive, mean trust,
    raw synergy, synergy, usable capacity, convening).
    """
    G, g = W.shape[0], W.shape[1]
    S = G * g
    K = endowment.shape[1]
    given = np.zeros(K)
    spare = np.zeros(K)
    holders = np.zeros(K)
    complement = np.empty(S)
    n_occ = 0
    for s in range(S):
        k, i = s // g, s % g
        strength = 0.0
        ties = 0
        comp = 0.0
        for j in range(g):
            w = np.float64(W[k, i, j])
            if w > 0.0:
                strength += w
                ties += 1
                comp += w * distance[k, i, j]
        trust = strength / max(ties, 1)
        member_trust[s] = trust
        complement[s] = comp
        e = engagement[s]
        if occupied[s]:
            n_occ += 1
        if e == 0.0:
            continue
        # members share a share e*t of what they hold, through their ties; where a kind is scarce
        # they add part of what they hold back (mobilisation)
        share = e * trust
        reach = share * (1.0 - math.exp(-strength / strength_scale))
        kept_back = reach * (1.0 - share)
        for r in range(K):
            given[r] += reach * endowment[s, r]
            spare[r] += kept_back * endowment[s, r]
            holders[r] += e * holds[s, r]
    total_pool = 0.0
    for r in range(K):
        pool[r] = given[r] + mobilisation[r] * spare[r]
        total_pool += pool[r]
    usable = power_mean(pool, rho) * coordination_factor
    integration = min(1.0, usable / reference_capacity)
    convening = min(1.0, pool[convening_kind] / reference_convening)

    # adaptive capacity: engaged holders of each kind, and re-balancing towards scarce kinds
    adaptive = 0.0
    for r in range(K):
        adaptive += 1.0 - math.exp(-holders[r] / cover_scale)
    adaptive /= K
    mean_pool = total_pool / K
    if feedback and mean_pool > 0.0:
        step = mobilisation_rate * adaptive
        for r in range(K):
            mobilisation[r] += step * (max(0.0, 1.0 - pool[r] / mean_pool) - mobilisation[r])

    # perceived benefits and drawbacks of taking part; the four manifestations
    trust_sum = 0.0
    benefit_sum = 0.0
    for s in range(S):
        gains = gain_base[s] - gain_resources * math.exp(-complement[s] / benefit_scale) + gain_other
        net_benefit[s] = gains - costs[s]
        benefit_share[s] = gains / (gains + costs[s])
        if occupied[s]:
            trust_sum += member_trust[s]
            benefit_sum += benefit_share[s]
    mean_trust = trust_sum / n_occ if n_occ else 0.0
    benefit = benefit_sum / n_occ if n_occ else 0.0
    atmosphere = max(0.0, mean_trust - conflict)
    raw = 0.25 * (integration + atmosphere + benefit + adaptive)
    synergy = synergy + smoothing * (raw - synergy)

    # engagement follows net benefit, fuelled by synergy
    if feedback:
        for s in range(S):
            if occupied[s]:
                target = engagement_target(net_benefit[s], synergy, synergy_energy, beta, net0)
                engagement[s] += rate * (target - engagement[s])
            else:
                engagement[s] = 0.0
    return integration, atmosphere, benefit, adaptive, mean_trust, raw, synergy, usable, convening


# ---------------------------------------------------------------- turnover (ODD 7.9)


@njit(cache=True)
def _vacate_slot(s, occupant, occupied, engagement, vacant_months, W):
    """The person in slot ``s`` leaves; their ties go with them."""
    g = W.shape[1]
    occupant[s] = 0
    occupied[s] = False
    engagement[s] = 0.0
    vacant_months[s] = 0
    k, i = s // g, s % g
    for j in range(g):
        W[k, i, j] = 0.0
        W[k, j, i] = 0.0


@njit(cache=True)
def vacate(slots, occupant, occupied, engagement, vacant_months, W):
    """The people in these slots leave; their ties go with them."""
    for n in range(slots.size):
        _vacate_slot(slots[n], occupant, occupied, engagement, vacant_months, W)


@njit(cache=True)
def turnover(u, occupant, occupied, engagement, vacant_months, joined, org, valid, W,
             individual_turnover, dropout, refill, refill_factor, patience, recruit, month,
             cumulative, new_engagement):  # fmt: skip
    """Departures, seats refilled by the same organisation, seats given up; seats open to new organisations.

    ``u`` holds three uniform draws per slot (leaving, refilling, recruiting). Updates
    the seat arrays and ``W`` in place. Returns (departures, people who have held a
    seat so far, slots where a new organisation joins).
    """
    S = occupied.size
    departures = 0
    for s in range(S):
        if occupied[s]:
            x = 1.0 - engagement[s]
            if u[0, s] < x * x * dropout + individual_turnover:  # leaving hazard
                _vacate_slot(s, occupant, occupied, engagement, vacant_months, W)
                departures += 1
    # the organisation holds the seat, nobody sits in it: it names someone, or gives the seat up
    for s in range(S):
        if org[s] and not occupied[s]:
            vacant_months[s] += 1
            if u[1, s] < refill * refill_factor[s]:
                cumulative += 1
                occupant[s] = cumulative  # person ids count from 1, in slot order
                joined[s] = month
                occupied[s] = True
                engagement[s] = new_engagement
                vacant_months[s] = 0
            elif vacant_months[s] > patience:
                org[s] = False
    joining = np.empty(S, dtype=np.int64)
    n_new = 0
    for s in range(S):
        if valid[s] and not org[s] and u[2, s] < recruit:
            joining[n_new] = s
            n_new += 1
    return departures, cumulative, joining[:n_new]


@njit(cache=True)
def occupancy(occupied, engagement):
    """(occupied seats, sum of engagement)."""
    n = 0
    total = 0.0
    for s in range(occupied.size):
        if occupied[s]:
            n += 1
        total += engagement[s]
    return n, total


# ---------------------------------------------------------------- access (ODD 7.12)


@njit(cache=True)
def access(ability, supply, levels, at_least, n_low, per_dimension):
    """Who passes every dimension: a person passes one when supply plus their ability reaches 1.

    ``ability`` is people x dimensions in steps of 1/levels, the least-able fifth first
    (``n_low`` people). Fills ``per_dimension`` with the share passing each dimension;
    returns (people passing all, of them in the least-able fifth).
    """
    n, D = ability.shape
    cut = np.empty(D, dtype=np.int64)
    for d in range(D):
        cut[d] = math.ceil((1.0 - supply[d]) * levels)
        per_dimension[d] = at_least[d, cut[d]] / n
    passing = 0
    low = 0
    for p in range(n):
        ok = True
        for d in range(D):
            if ability[p, d] < cut[d]:
                ok = False
                break
        if ok:
            passing += 1
            if p < n_low:
                low += 1
    return passing, low


# ---------------------------------------------------------------- new organisations (ODD 7.9)


@njit(cache=True)
def retype(slots, types, type_power, type_distance, conflict_scale, conflict_weight,
           p_contact, pair_distance, contact_conflict, conflict_loss):  # fmt: skip
    """Seats whose organisation (type) changed: refresh their rows and columns of the pair arrays."""
    g = p_contact.shape[1]
    for n in range(slots.size):
        k, i = slots[n] // g, slots[n] % g
        kind = types[k * g + i]
        for j in range(g):
            other = types[k * g + j]
            conflict = conflict_scale * abs(type_power[kind] - type_power[other])
            distance = type_distance[kind, other]
            met = conflict * p_contact[k, i, j]  # symmetric
            loss = conflict_weight * conflict
            pair_distance[k, i, j] = distance
            pair_distance[k, j, i] = distance
            contact_conflict[k, i, j] = met
            contact_conflict[k, j, i] = met
            conflict_loss[k, i, j] = loss
            conflict_loss[k, j, i] = loss


# ---------------------------------------------------------------- compile ahead


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

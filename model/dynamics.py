"""Pure functions for the model's dynamics (testable alone; documented in docs/ODD.md)."""

from __future__ import annotations

import math

import numpy as np


def sigmoid(x):
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


CES_SPAN = 5.0  # rho falls from 1 to 1 - CES_SPAN as resource_complementarity goes from 0 to 1


def ces_exponent(resource_complementarity: float) -> float:
    """CES exponent rho: 1 (perfect substitutes) falling to -4 (strong complements)."""
    return 1.0 - CES_SPAN * resource_complementarity


def power_mean(x, rho: float) -> float:
    """Equal-weight CES aggregate (power mean with exponent rho) of non-negative amounts.

    rho = 1 is the arithmetic mean (kinds substitute); rho -> 0 the geometric mean;
    rho < 0 is dominated by the scarcest kind (kinds complement). Never above the
    arithmetic mean, equal to it when every kind is held equally.
    """
    # few kinds: plain Python is faster than numpy's per-call overhead here
    values = x if isinstance(x, list) else np.asarray(x, dtype=float).tolist()
    values = [v if v > 1e-12 else 1e-12 for v in values]  # noqa: FURB136 - max(1e-12, v) without the calls
    if abs(rho) < 1e-9:
        return math.exp(math.fsum([math.log(v) for v in values]) / len(values))
    return (math.fsum([v**rho for v in values]) / len(values)) ** (1.0 / rho)


def interaction_quality(communication: float, leadership: float) -> float:
    """Quality of an interaction at a meeting, 0-1: communication, helped by facilitation."""
    return communication * (0.5 + 0.5 * leadership)


def conflict_scale(power_asymmetry: float, decision_inclusiveness: float, leadership: float) -> float:
    """Conflict per unit of power difference between two members who meet."""
    return power_asymmetry * (1.0 - decision_inclusiveness) * (1.0 - leadership)


def trust_after_meeting(w, worked, gain, decay, conflict_loss, out=None):
    """Expected trust on each tie after a month with a meeting (arrays over pairs).

    A tie worked on at the meeting (weight ``worked``: both attended, times their
    chance of contact) moves towards ``w + gain * (1 - w) - conflict_loss * w``
    (small wins close part of the gap to full trust, conflict erodes it); a tie not
    worked on decays to ``w * (1 - decay)``. Computed with one temporary array;
    ``out`` may be ``w`` itself (updated in place).
    """
    change = (decay - gain) - conflict_loss
    change *= w
    change += gain
    change *= worked
    out = np.multiply(w, 1.0 - decay, out=out)
    out += change
    return out


def engagement_target(net_benefit, synergy: float, synergy_feedback: float, beta: float, net0: float):
    """Engagement a member drifts towards: sigmoid(beta * (net_benefit - net0) + synergy_feedback * synergy)."""
    # sigmoid(x) = (1 + tanh(x / 2)) / 2: three array operations instead of five
    target = np.tanh(net_benefit * (0.5 * beta) + 0.5 * (synergy_feedback * synergy - beta * net0))
    target += 1.0
    target *= 0.5
    return target


def half_rise_month(series: np.ndarray, plateau_months: int = 12) -> float:
    """First month a series has completed half of its rise from month 0 to its final plateau.

    The plateau is the mean of the last ``plateau_months`` values. NaN when the
    series does not rise.
    """
    series = np.asarray(series, dtype=float)
    if series.size < 3:
        return math.nan
    start = series[0]
    plateau = series[-min(plateau_months, series.size - 1):].mean()
    rise = plateau - start
    if rise <= 1e-6:
        return math.nan
    above = np.nonzero(series >= start + 0.5 * rise)[0]
    return float(above[0]) if above.size else math.nan

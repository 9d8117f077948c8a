"""Pure functions for the model's set-up rules and summaries (testable alone; documented in docs/ODD.md).

The rules applied every month (trust after a meeting, engagement target, the CES
pool) are in ``model.kernels``, compiled.
"""

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


def interaction_quality(communication: float, leadership: float) -> float:
    """Quality of an interaction at a meeting, 0-1: communication, helped by facilitation."""
    return communication * (0.5 + 0.5 * leadership)


def conflict_scale(power_asymmetry: float, decision_inclusiveness: float, leadership: float) -> float:
    """Conflict per unit of power difference between two members who meet."""
    return power_asymmetry * (1.0 - decision_inclusiveness) * (1.0 - leadership)


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

"""Pure functions for the model's set-up rules and run summaries (testable alone; documented in docs/ODD.md).

The rules applied every month are in ``model.kernels``, compiled.
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


def rise_month(series: np.ndarray, share: float, plateau_months: int = 12) -> float:
    """First month a series has completed ``share`` of its rise from month 0 to its final plateau.

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
    above = np.nonzero(series >= start + share * rise)[0]
    return float(above[0]) if above.size else math.nan


def half_rise_month(series: np.ndarray, plateau_months: int = 12) -> float:
    """First month a series has completed half of its rise from month 0 to its final plateau (NaN if no rise)."""
    return rise_month(series, 0.5, plateau_months)


PRE_SHOCK_MONTHS = 6  # synergy before a shock is its mean over these months


def recovery_months(synergy: np.ndarray, shock_month: int) -> float:
    """Months from a shock until synergy is back at its pre-shock level (mean of the months before).

    NaN when there was no shock, it came too early to have a level before it, or
    synergy had not recovered by the end of the series.
    """
    synergy = np.asarray(synergy, dtype=float)
    if shock_month < PRE_SHOCK_MONTHS or shock_month >= synergy.size:
        return math.nan
    before = synergy[shock_month - PRE_SHOCK_MONTHS : shock_month].mean()
    after = synergy[shock_month:]
    back = np.nonzero(after >= before)[0]
    # the month of the shock itself may still be at the old level (synergy moves slowly): skip
    # months before synergy first fell below its old level
    fell = np.nonzero(after < before)[0]
    if not fell.size:
        return 0.0
    back = back[back > fell[0]]
    return float(back[0]) if back.size else math.nan

"""The patterns P1-P5 and the strengthened mechanisms, checked by the code of ``phc-synergy validate`` in quick mode.

Each check (experiments/validate.py) states part of a pattern's claim with a per-run
statistic over replicates with common random numbers, and its causal check (an
ablation removes the pattern; an unrelated ablation does not). Quick mode runs the
checks at the defaults only (no robustness runs, horizons 60 and 120); the full run
(``phc-synergy validate``, docs/ODD.md 1.2) adds 240 months and every constant moved
by +-30%.
"""

from __future__ import annotations

import pytest

from experiments.validate import pattern_checks, run_validation

QUICK_REPLICATES = 12
KNOWN_BREAKS = {
    # The more diverse table's advantage after a shock survives cutting re-balancing: it comes from exposure
    # (a shock that hits whole sectors reaches a larger share of a table with fewer, bigger sectors), not from
    # re-balancing; recovery itself does depend on re-balancing (P5-rebalancing). docs/ODD.md 1.2.
    "P5-cut": "the diversity advantage after a shock comes from exposure, not re-balancing",
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    result = run_validation(out, quick=True, replicates=QUICK_REPLICATES, write=False)
    return result.verdicts.set_index("check")


CHECKS = [c.id for c in pattern_checks(quick=True)]


@pytest.mark.parametrize("check", CHECKS)
def test_pattern_check_passes_at_the_defaults(verdicts, check, request):
    if check in KNOWN_BREAKS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_BREAKS[check], strict=True))
    row = verdicts.loc[check]
    assert row["condition"] == "defaults"
    assert row["passed"], f"{check}: {row['detail']}"


def test_every_pattern_has_a_causal_check():
    checks = pattern_checks(quick=True)
    for pattern in ("P1", "P2", "P3", "P4", "P5"):
        kinds = {c.kind for c in checks if c.pattern == pattern}
        assert {"pattern", "causal"} <= kinds, (pattern, kinds)

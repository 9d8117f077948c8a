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
    # P5's causal checks fail their pre-set thresholds (docs/ODD.md 1.2): without re-balancing partnerships lose
    # about 1.4 times the synergy (threshold 1.5), and the more diverse table's advantage shrinks by a quarter to 40%
    # (threshold: by half). Re-balancing carries part of P5, not all of it. Strict: a model that mends either
    # is noticed, and its docs must change with it.
    "P5-rebalancing": "without re-balancing about 1.4 times the synergy lost, not 1.5",
    "P5-cut": "the diversity advantage after a shock (mostly exposure) shrinks by a quarter to 40% without re-balancing",
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

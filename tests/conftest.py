"""Fixtures shared by several test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

# a scenario carrying a hand-made posterior (the format calibrations write), small and short
CALIBRATED_TOML = """\
name = "toy_calibrated"
description = "a hand-made posterior for tests (synthetic)"
source = "synthetic"

[parameters]
seats = 10
population_size = 200
steps = 18

[posterior]
source = "hand-made for tests"
weights = [1.0, 3.0, 0.0]

[posterior.parameters]
individual_turnover = [0.01, 0.04, 0.09]
trust_gain = [0.05, 0.15, 0.25]
"""


@pytest.fixture
def calibrated_toml() -> str:
    """The text of the toy calibrated scenario (to edit into bad variants)."""
    return CALIBRATED_TOML


@pytest.fixture
def calibrated(tmp_path: Path) -> Path:
    """The toy calibrated scenario, written to a file."""
    path = tmp_path / "calibrated.toml"
    path.write_text(CALIBRATED_TOML)
    return path

"""Calibration of the model against observed case data: ABC-SMC with pyabc, posteriors, checks.

- :mod:`calibration.cases`: the case-file format (TOML): provenance, structure, priors,
  settings and targets; loading and checking (``load_case``, ``CaseError``).
- :mod:`calibration.abc`: the calibration itself (``calibrate``, ``make_settings``):
  priors, distance, a pyabc sampler running on the project's engines, resume.
- :mod:`calibration.outputs`: posterior.parquet, summary.csv, figures, the posterior
  predictive check and calibrated.toml.
- :mod:`calibration.cli`: the ``phc-synergy calibrate`` subcommand.
- :mod:`calibration.synthetic`: regenerates the synthetic example case.

Shipped cases are in ``calibration/data/``; the format and method are documented in
``docs/CALIBRATION.md``. pyabc is imported only by ``calibration.abc`` (and what
uses it), never by importing this package.
"""

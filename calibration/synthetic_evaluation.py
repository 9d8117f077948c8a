"""The shipped synthetic evaluation: three survey waves, attendance and the roster of one run, made by ``observe``.

    python -m calibration.synthetic_evaluation            # (re)writes calibration/data/synthetic_evaluation*
    python -m calibration.synthetic_evaluation --check    # exit 1 if the files differ from what the model makes now

Plainly synthetic (its name, description and provenance say so): it is not observed
data. It is what ``phc-synergy observe --set seats=20 ... --steps 48 --seed 2026``
writes, with the case's priors and calibration settings added, so that the shipped
example can be calibrated (``phc-synergy calibrate synthetic_evaluation``) and used
for ``phc-synergy recovery``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

from calibration.cases import DATA_DIR
from model.toml_writer import dumps

CASE = DATA_DIR / "synthetic_evaluation.toml"
TABLES = DATA_DIR / "synthetic_evaluation"
SEED = 2026
WAVES = (12, 24, 36)
GIVEN: dict[str, Any] = {"seats": 20, "steps": 48}
TRUTH: dict[str, float] = {"leadership": 0.45, "coordination": 0.35, "communication": 0.7, "trust_gain": 0.15,
                           "individual_turnover": 0.02}
PRIORS = {"trust_gain": [0.02, 0.6], "individual_turnover": [0.0, 0.08]}
SETTINGS = {"population": 200, "generations": 7, "max_simulations": 6000, "seed": 48, "ppc_draws": 100}


def generate() -> dict[Path, str]:
    """The files of the example (path -> text), from one observed run at TRUTH with SEED."""
    from calibration.observe import observe_run
    from calibration.tables import COLUMNS, case_document, table_rows
    from model.parameters import validate_parameters

    given = {**GIVEN, **TRUTH}
    params = validate_parameters(given)
    evaluation = observe_run(params, SEED, WAVES)
    files = {kind: f"{TABLES.name}/{kind}.csv" for kind in ("survey", "attendance", "roster")}
    doc = case_document(evaluation, params, given, CASE.stem, files)
    doc["description"] = ("SYNTHETIC evaluation data (not observed): three PSAT survey waves, attendance at every"
                          " meeting and the roster of one simulated 20-seat partnership over 48 months.")
    doc["priors"] = PRIORS
    doc["settings"].update(SETTINGS)
    header = ("SYNTHETIC case data, made by the model itself: not observed data.\n"
              "Made by python -m calibration.synthetic_evaluation (phc-synergy observe, with priors and settings);"
              " the true values are in [provenance.generated.truth].")
    out = {CASE: dumps(doc, header=header)}
    for kind in ("survey", "attendance", "roster", "milestones"):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(COLUMNS[kind])
        writer.writerows(table_rows(evaluation, kind))
        out[TABLES / f"{kind}.csv"] = text.getvalue()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped files differ")
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        for p in stale:
            print(f"{p} differs from what the model makes now; regenerate with python -m"
                  " calibration.synthetic_evaluation", file=sys.stderr)
        return 1 if stale else 0
    TABLES.mkdir(exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

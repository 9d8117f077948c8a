"""The files of a validation: validation.md, validation.csv, robustness.csv, constants_morris.csv, figures.

Called by :func:`experiments.validate.run_validation`; every file is written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from experiments.sensitivity import pyplot, write_csv_atomic, write_figure_atomic, write_text_atomic

PATTERN_TITLES: dict[str, str] = {
    "P1": "P1 synergy leads access",
    "P2": "P2 enabling processes matter",
    "P3": "P3 complementarity",
    "P4": "P4 synergy is a source of energy",
    "P5": "P5 adaptation after a shock",
    "network": "Working relationships",
    "conflict": "Conflict",
    "sustainment": "Sustainment and dissolution",
    "access": "Access for the least able",
    "synergy": "Synergy at the start",
    "separable": "Separable processes",
}


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def robustness_table(verdicts: Any) -> Any:
    """One row per robust check: how many perturbed conditions it passed, and which broke it."""
    import pandas as pd

    rob = verdicts[verdicts["condition"] != "defaults"]
    rows = []
    for check, group in rob.groupby("check", sort=False):
        broken = group[~group["passed"]]
        rows.append({"check": check, "conditions": len(group), "passed": int(group["passed"].sum()),
                     "broken_by": "; ".join(broken["condition"].tolist())})  # fmt: skip
    return pd.DataFrame(rows, columns=["check", "conditions", "passed", "broken_by"])


def report_text(plan: Any, verdicts: Any, morris: Any, figures: list[str]) -> str:
    """validation.md: each pattern's checks with their statistics and verdicts, robustness, the constants' Morris."""
    main = verdicts[verdicts["condition"] == "defaults"]
    n_pass = int(main["passed"].sum())
    lines = [
        "# Pattern validation",
        "",
        (
            f"{n_pass} of {len(main)} checks pass at the defaults "
            f"({plan.replicates} replicates per arm, common random numbers: replicate k of every arm has the same "
            "seed; intervals are 90% bootstrap intervals over replicates). Each check states part of a pattern's "
            "claim (docs/ODD.md section 1.2): the pattern itself on a per-run statistic, its causal check (cutting "
            "the mechanism removes it; cutting an unrelated one does not), the horizon check, and checks of the "
            "mechanisms the model's second version strengthened."
        ),
        "",
        "| | check | kind | claim | statistic | value | 90% interval | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in main.iterrows():
        interval = f"[{_fmt(r['low'])}, {_fmt(r['high'])}]" if np.isfinite(r["low"]) else ""
        lines.append(
            f"| {r['pattern']} | {r['check']} | {r['kind']} | {_cell(r['claim'])} | {_cell(r['statistic'])} | "
            f"{_fmt(r['value'])} | {interval} | {'pass' if r['passed'] else '**FAIL**'} |"
        )
    lines += ["", "## What each check found", ""]
    for pattern, group in main.groupby("pattern", sort=False):
        lines.append(f"### {PATTERN_TITLES.get(pattern, pattern)}")
        lines.append("")
        for _, r in group.iterrows():
            lines.append(f"- **{r['check']}** ({'pass' if r['passed'] else 'FAIL'}): {_cell(r['detail'])}")
        lines.append("")
    rob = verdicts[verdicts["condition"] != "defaults"]
    if len(rob):
        table = robustness_table(verdicts)
        lines += [
            "## Robustness: each mechanics constant moved by -30% and +30%, one at a time",
            "",
            (
                f"{len(rob['condition'].unique())} perturbed conditions, {plan.robust_replicates} replicates each. "
                "A check 'broken by' a condition fails under it; the full table is `robustness.csv`."
            ),
            "",
            "| check | conditions | passed | broken by |",
            "| --- | --- | --- | --- |",
        ]
        for _, r in table.iterrows():
            lines.append(f"| {r['check']} | {r['conditions']} | {r['passed']} | {_cell(r['broken_by']) or '(none)'} |")
        lines.append("")
    if morris is not None and len(morris):
        lines += [
            "## Which constants the results lean on (Morris screening, +-30% of each)",
            "",
            (
                "mu* is the mean absolute elementary effect (output units over the constant's range, 0.7 to 1.3 "
                "times its default); 'noise' is the size an elementary effect would have from replicate noise alone. "
                "The five constants with the largest mu* for each output (all in `constants_morris.csv`):"
            ),
            "",
        ]
        for output, group in morris.groupby("output", sort=False):
            top = group.sort_values("mu_star", ascending=False).head(5)
            lines.append(f"- **{output}**: " + ", ".join(
                f"{r['constant']} {_fmt(r['mu_star'])}" + (" (within noise)" if r["mu_star"] <= r["noise"] else "")
                for _, r in top.iterrows()))  # fmt: skip
        lines.append("")
    if figures:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    lines += [
        "## Files",
        "",
        "- `validation.csv`: every check under every condition (value, interval, verdict, what it measured).",
        "- `robustness.csv`: per check, the perturbed conditions it passed and those that broke it.",
        "- `constants_morris.csv`: Morris mu*, its confidence, sigma and the replicate-noise level, per constant and output.",
        "- `sweep/`: the sweep store of every run (resume with `--resume`).",
        "",
    ]
    return "\n".join(lines)


PASS_COLOUR, FAIL_COLOUR = "#0072B2", "#D55E00"  # Okabe-Ito blue and vermillion (colour-blind safe)


def figure_checks(verdicts: Any, path: Path) -> None:
    """Robustness at a glance: for each check, how many perturbed conditions it passes, and which break it."""
    plt = pyplot()
    rob = verdicts[verdicts["condition"] != "defaults"]
    checks = list(dict.fromkeys(rob["check"]))
    n_conditions = rob["condition"].nunique()
    fig, ax = plt.subplots(figsize=(9.5, 0.42 * len(checks) + 1.4))
    for row, check in enumerate(checks):
        runs = rob[rob["check"] == check]
        passed = runs["passed"].astype(bool)
        n_pass, n = int(passed.sum()), len(runs)
        ax.barh(row, n_pass / n, color=PASS_COLOUR, height=0.6)
        ax.barh(row, (n - n_pass) / n, left=n_pass / n, color=FAIL_COLOUR, height=0.6)
        broken = list(runs.loc[~passed, "condition"])
        note = f"{n_pass} of {n}"
        if broken:
            shown = ", ".join(broken[:4]) + (f" and {len(broken) - 4} more" if len(broken) > 4 else "")
            note += f"; breaks at {shown}"
        ax.text(1.01, row, note, va="center", fontsize=8)
    ax.set_yticks(range(len(checks)), checks, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.5, 1], ["0%", "50%", "100%"])
    ax.set_xlabel(f"share of the {n_conditions} perturbed conditions under which the check passes")
    ax.set_title("Robustness: each check with every built-in constant moved by -30% and +30%, one at a time",
                 fontsize=10, loc="left")  # fmt: skip
    handles = [plt.Rectangle((0, 0), 1, 1, color=PASS_COLOUR), plt.Rectangle((0, 0), 1, 1, color=FAIL_COLOUR)]
    ax.legend(handles, ["passes", "fails"], loc="lower left", bbox_to_anchor=(0, 1.06), ncol=2, frameon=False,
              fontsize=8)  # fmt: skip
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    write_figure_atomic(fig, path)


def figure_p5(table: Any, plan: Any, path: Path) -> None:
    """P5 per run: adaptive capacity before the shock against the synergy lost to it, by diversity."""
    import json

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    markers = {1.0: "o", 0.6: "s", 0.4: "^"}
    colours = {1.0: PASS_COLOUR, 0.6: "#E69F00", 0.4: FAIL_COLOUR}  # Okabe-Ito
    for key, group in table.groupby("arm"):
        arm = json.loads(key)
        if arm["protocol"] != "shock_pair" or len(arm["params"]) != 2 or "type_diversity" not in arm["params"]:
            continue
        d = arm["params"]["type_diversity"]
        ax.scatter(group["adaptive_before"], group["lost_synergy"], marker=markers.get(d, "o"), alpha=0.75,
                   color=colours.get(d, "0.4"), label=f"type diversity {d:g}")  # fmt: skip
    ax.set_xlabel("adaptive capacity before the shock (0-1)")
    ax.set_ylabel("synergy lost to the shock (synergy-months over 36 months)")
    ax.set_ylim(bottom=0)
    ax.set_title("P5: partnerships that can cover a lost sector lose less (20 seats)")
    ax.legend(fontsize=8)
    write_figure_atomic(fig, path)


def figure_p1(table: Any, path: Path) -> bool:
    """P1 across horizons: the synergy-access lag per run at 60, 120 and 240 months."""
    import json

    plt = pyplot()
    data = []
    for key, group in table.groupby("arm"):
        arm = json.loads(key)
        if arm["protocol"] == "plain" and set(arm["params"]) == {"population_size", "steps"}:
            data.append((arm["params"]["steps"], group["synergy_access_lag"].dropna().to_numpy()))
    data.sort(key=lambda item: item[0])
    if not data:
        return False
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.boxplot([d for _, d in data])
    ax.set_xticks(range(1, len(data) + 1), [f"{h} months" for h, _ in data])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("horizon of the run")
    ax.set_ylabel("months from synergy's half-rise to access's")
    ax.set_title("P1: the lag does not depend on the horizon")
    write_figure_atomic(fig, path)
    return True


def write_report(out: Path, plan: Any, verdicts: Any, morris: Any, table: Any) -> list[Path]:
    """Every file of the validation, atomically; returns their paths."""
    out = Path(out)
    files = []
    from experiments.columns import VALIDATION_COLUMNS, write_dictionary

    write_csv_atomic(out / "validation.csv", verdicts)
    files += [out / "validation.csv", write_dictionary(out / "validation.csv", verdicts, VALIDATION_COLUMNS)]
    if (verdicts["condition"] != "defaults").any():
        robustness = robustness_table(verdicts)
        write_csv_atomic(out / "robustness.csv", robustness)
        files += [out / "robustness.csv", write_dictionary(out / "robustness.csv", robustness, VALIDATION_COLUMNS)]
    if morris is not None:
        write_csv_atomic(out / "constants_morris.csv", morris)
        files += [out / "constants_morris.csv",
                  write_dictionary(out / "constants_morris.csv", morris, VALIDATION_COLUMNS)]  # fmt: skip
    figures = []
    if (verdicts["condition"] != "defaults").any():
        figure_checks(verdicts, out / "robustness.png")
        figures.append("robustness.png")
    if (verdicts["check"] == "P5-recovery").any():
        figure_p5(table, plan, out / "p5_recovery.png")
        figures.append("p5_recovery.png")
    if (verdicts["check"] == "P1-horizon").any() and figure_p1(table, out / "p1_horizons.png"):
        figures.append("p1_horizons.png")
    files += [out / f for f in figures]
    write_text_atomic(out / "validation.md", report_text(plan, verdicts, morris, figures))
    files.append(out / "validation.md")
    return files

"""The recovery study's report: recovery.csv, recovery.md and figures, from its result files."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np

from calibration.recovery import RANK_DRAWS, TARGET, TRADE_OFF, load_results

# The words of recovery.csv's and recovery_table.csv's columns (their *.columns.json dictionaries).
RECOVERY_COLUMNS: dict[str, tuple[str, str]] = {
    "truth_index": ("the truth's number, from 0", ""),
    "design": ("the data design calibrated against (tables joined with +)", ""),
    "parameter": ("the recovered parameter", ""),
    "run_seed": ("the seed of the run the virtual evaluator observed", ""),
    "generations": ("ABC-SMC generations the calibration ran", ""),
    "simulations": ("simulations the calibration ran", "simulations"),
    "truth": ("the parameter's true value (drawn from its prior)", "the parameter's unit"),
    "mean": ("weighted posterior mean", "the parameter's unit"),
    "median": ("weighted posterior median", "the parameter's unit"),
    "sd": ("weighted posterior standard deviation", "the parameter's unit"),
    "q05": ("posterior 5th percentile", "the parameter's unit"),
    "q25": ("posterior 25th percentile", "the parameter's unit"),
    "q75": ("posterior 75th percentile", "the parameter's unit"),
    "q95": ("posterior 95th percentile", "the parameter's unit"),
    "covered50": ("true when the 50% interval (q25-q75) holds the truth", "true or false"),
    "covered90": ("true when the 90% interval (q05-q95) holds the truth", "true or false"),
    "rank": ("rank of the truth among 99 posterior draws (simulation-based calibration, Talts et al. 2018)",
             "0-99"),
    "contraction": ("posterior sd / prior sd (1 = the data taught nothing)", "ratio"),
    "truths": ("truths calibrated", ""),
    "coverage50": ("share of truths inside their 50% interval (calibrated: about 0.5)", "share 0-1"),
    "coverage90": ("share of truths inside their 90% interval (calibrated: about 0.9)", "share 0-1"),
    "contraction_mean": ("mean contraction over the truths", "ratio"),
    "contraction_median": ("median contraction over the truths", "ratio"),
    "sbc_p": ("chi-square p of the ranks' uniformity (small: miscalibrated)", "probability"),
    "meets_target": ("true when 90% coverage >= 0.85 and mean contraction <= 0.6", "true or false"),
}


def rows_of(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (truth, design, parameter)."""
    rows = []
    for r in results:
        for name, v in r["parameters"].items():
            rows.append({"truth_index": r["truth_index"], "design": r["design"], "parameter": name,
                         "run_seed": r["run_seed"], "generations": r["generations"], "simulations": r["simulations"],
                         **v})
    return rows


def table_of(rows: list[dict[str, Any]], designs: list[str], names: list[str]) -> list[dict[str, Any]]:
    """Per design and parameter: truths, coverage of the 50% and 90% intervals, contraction, SBC uniformity."""
    from scipy.stats import chisquare

    out = []
    for design in designs:
        for name in names:
            mine = [r for r in rows if r["design"] == design and r["parameter"] == name]
            if not mine:
                continue
            n = len(mine)
            ranks = np.array([r["rank"] for r in mine])
            bins = max(2, min(10, n // 5))
            counts = np.histogram(ranks, bins=bins, range=(0, RANK_DRAWS + 1))[0]
            p = float(chisquare(counts).pvalue) if n >= 2 * bins else math.nan
            contraction = np.array([r["contraction"] for r in mine])
            cov90 = float(np.mean([r["covered90"] for r in mine]))
            out.append({
                "design": design, "parameter": name, "truths": n,
                "coverage50": float(np.mean([r["covered50"] for r in mine])), "coverage90": cov90,
                "contraction_mean": float(contraction.mean()), "contraction_median": float(np.median(contraction)),
                "sbc_p": p,
                "meets_target": bool(cov90 >= TARGET["coverage90"] and contraction.mean() <= TARGET["contraction"]),
            })
    return out


def trade_offs(results: list[dict[str, Any]], design: str) -> list[tuple[str, str, float]]:
    """Pairs of parameters whose mean posterior correlation under a design is strong."""
    mine = [r["correlation"] for r in results if r["design"] == design and "correlation" in r]
    if not mine:
        return []
    names = list(mine[0])
    pairs = []
    for a, b in itertools.combinations(names, 2):
        mean = float(np.mean([c[a][b] for c in mine]))
        if abs(mean) >= TRADE_OFF:
            pairs.append((a, b, mean))
    return sorted(pairs, key=lambda t: -abs(t[2]))


def write_report(out: Path, plan: Any, case: Any) -> dict[str, Any]:
    """Write recovery.csv, recovery_table.csv, recovery.md and the figures; returns the summary table."""
    import pandas as pd

    from model.cli import _write_atomic

    out = Path(out)
    results = load_results(out)
    rows = rows_of(results)
    designs = list(plan.designs)
    names = list(plan.settings.ranges)
    table = table_of(rows, designs, names)
    frame = pd.DataFrame(rows)
    summary = pd.DataFrame(table)
    _write_atomic(out / "recovery.csv", lambda f: frame.to_csv(f, index=False, lineterminator="\n"))
    _write_atomic(out / "recovery_table.csv", lambda f: summary.to_csv(f, index=False, lineterminator="\n"))
    from experiments.columns import write_dictionary

    for name, written in (("recovery.csv", frame), ("recovery_table.csv", summary)):
        write_dictionary(out / name, written, RECOVERY_COLUMNS)
    figures = []
    if rows:
        figures = [_figure_summary(summary, designs, names, out / "recovery.png"),
                   _figure_ranks(frame, designs[-1], names, out / "sbc_ranks.png"),
                   _figure_truth(frame, designs[-1], names, out / "truth_vs_posterior.png")]
    text = _markdown(case, plan, results, table, designs, names, figures)
    _write_atomic(out / "recovery.md", lambda f: f.write(text))
    return {"table": table, "results": len(results), "expected": len(plan.truths) * len(designs)}


def _markdown(case: Any, plan: Any, results: list[dict[str, Any]], table: list[dict[str, Any]], designs: list[str],
              names: list[str], figures: list[str]) -> str:
    s = plan.settings
    expected = len(plan.truths) * len(designs)
    lines = [
        f"# Recovery: {case.name}",
        "",
        (f"{len(plan.truths)} truths drawn uniformly on the priors, each one run observed by the virtual evaluator"
        f" (docs/ODD.md 4.11.1) with the case's design ({case.design.describe()}), then calibrated under each data"
        f" design: {s.population} particles, at most {s.to_json()['generations']} generations or"
        f" {s.to_json()['max_simulations']} simulations. {len(results)} of {expected} calibrations done."),
        "",
        (f"Target: 90% coverage >= {TARGET['coverage90']:.0%} and mean contraction (posterior sd / prior sd) <="
        f" {TARGET['contraction']}. A calibrated posterior covers its truth in about 50% and 90% of truths;"
        " SBC p is a chi-square test of the ranks' uniformity (Talts et al. 2018; small p: miscalibrated)."),
        "",
        ("| design | parameter | truths | 50% coverage | 90% coverage | contraction (mean) | contraction (median)"
        " | SBC p | target |"),
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in table:
        p = "" if math.isnan(row["sbc_p"]) else f"{row['sbc_p']:.2f}"
        lines.append(f"| {row['design']} | {row['parameter']} | {row['truths']} | {row['coverage50']:.0%} |"
                     f" {row['coverage90']:.0%} | {row['contraction_mean']:.2f} | {row['contraction_median']:.2f} |"
                     f" {p} | {'met' if row['meets_target'] else 'not met'} |")
    lines += ["", "## What each design identifies", ""]
    for design in designs:
        mine = [r for r in table if r["design"] == design]
        if not mine:
            continue
        identified = [r["parameter"] for r in mine if r["contraction_mean"] <= TARGET["contraction"]]
        weak = [r["parameter"] for r in mine if r["contraction_mean"] > TARGET["contraction"]]
        pairs = trade_offs(results, design)
        text = f"- **{design}**: identifies {', '.join(identified) or 'nothing'}"
        if weak:
            text += f"; not {', '.join(weak)}"
        if pairs:
            text += "; trade-offs (mean posterior correlation): " + ", ".join(
                f"{a} with {b} ({c:+.2f})" for a, b, c in pairs)
        lines.append(text + ".")
    lines += ["", "## Files", "",
              ("- `recovery.csv`: one row per truth, design and parameter (truth, posterior quantiles, rank,"
              " contraction)"), "- `recovery_table.csv`: the table above",
              *[f"- `{f}`" for f in figures],
              "- `truths/T###/DESIGN/history.db`: each calibration's pyabc history", ""]
    return "\n".join(lines)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> str:
    from calibration.outputs import _save as save

    save(fig, path)
    return path.name


def _figure_summary(summary: Any, designs: list[str], names: list[str], path: Path) -> str:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.9 + 0.5 * len(names) * max(1, len(designs)) / 2.5))
    height = 0.8 / max(1, len(designs))
    colours = plt.cm.viridis(np.linspace(0.1, 0.9, len(designs)))
    y = np.arange(len(names))
    for k, design in enumerate(designs):
        d = summary[summary.design == design].set_index("parameter").reindex(names)
        axes[0].barh(y + k * height, d.coverage90, height, color=colours[k], label=design)
        axes[1].barh(y + k * height, d.contraction_mean, height, color=colours[k], label=design)
    axes[0].axvline(0.9, color="black", lw=1, ls="--")
    axes[0].axvline(TARGET["coverage90"], color="red", lw=1, ls=":")
    axes[0].set_xlim(0, 1)
    axes[0].set_title("90% interval coverage (dashed: nominal; dotted: target)", fontsize=9)
    axes[1].axvline(TARGET["contraction"], color="red", lw=1, ls=":")
    axes[1].axvline(1.0, color="grey", lw=1, ls="--")
    axes[1].set_xlim(0, 1.1)
    axes[1].set_title("contraction: posterior sd / prior sd (dotted: target)", fontsize=9)
    for ax in axes:
        ax.set_yticks(y + 0.4 - height / 2)
        ax.set_yticklabels(names, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _save(fig, path)


def _figure_ranks(frame: Any, design: str, names: list[str], path: Path) -> str:
    plt = _pyplot()
    d = frame[frame.design == design]
    fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.6), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=True):
        ranks = d[d.parameter == name]["rank"].to_numpy()
        bins = max(2, min(10, len(ranks) // 5))
        ax.hist(ranks, bins=bins, range=(0, RANK_DRAWS + 1), color="#4c78a8", alpha=0.8)
        ax.axhline(len(ranks) / bins, color="black", lw=1, ls="--")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("rank of the truth", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"SBC rank histograms, design {design} (dashed: uniform)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def _figure_truth(frame: Any, design: str, names: list[str], path: Path) -> str:
    plt = _pyplot()
    d = frame[frame.design == design]
    fig, axes = plt.subplots(1, len(names), figsize=(2.8 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=True):
        r = d[d.parameter == name]
        ax.errorbar(r.truth, r["median"], yerr=[r["median"] - r.q05, r.q95 - r["median"]], fmt="o", ms=3,
                    color="#4c78a8", lw=0.8, alpha=0.8)
        lo, hi = float(min(r.truth.min(), r.q05.min())), float(max(r.truth.max(), r.q95.max()))
        ax.plot([lo, hi], [lo, hi], color="black", lw=1, ls="--")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("truth", fontsize=7)
        ax.set_ylabel("posterior median, 90%", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"Truth against posterior, design {design}", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)

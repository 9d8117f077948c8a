"""Sensitivity analysis with SALib: a Morris or Sobol' sweep, its indices, figures and a plain report.

    from experiments.sensitivity import run_sensitivity
    result = run_sensitivity(load_spec("experiments/configs/structures_morris.toml"), "results/morris", workers=2)

``run_sensitivity`` runs the spec's sweep through :func:`experiments.sweep.run_sweep`
into ``OUT/sweep`` (so ``resume=True`` continues a sweep that stopped), then
analyses the stored run table:

- every output is averaged over the replicates of each design point (common
  random numbers: replicate k of every point has the same seed), in point order;
  no row is ever dropped (a point without a defined mean makes that output
  unanalysable, and the report says so);
- with more than one replicate the replicate spread (standard deviation across
  replicates) of each output is analysed as an output of its own
  (``statistic = replicate_sd``): which inputs make the model noisier;
- Morris: ``SALib.analyze.morris`` on the raw design matrix (mu, mu_star,
  mu_star_conf, sigma); Sobol': ``SALib.analyze.sobol`` with the
  ``calc_second_order`` used when sampling (S1, ST with bootstrap confidence
  intervals; S2 in ``indices_s2.csv``). Bootstrap resamples use a fixed seed.
- An index "rises above the dummy" when its lower confidence bound (index minus
  its confidence half-width) exceeds the dummy's index.

Files in ``OUT``: ``indices.csv``, ``morris_<output>.png`` (mu*-sigma) or
``sobol_<output>.png`` (ST and S1 bars with intervals), ``report.md``; each written
atomically.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.spec import DUMMY, Spec, SpecError

ANALYSIS_SEED = 12345  # the bootstrap's seed (fixed: the same sweep gives the same confidence intervals)
NUM_RESAMPLES = 1000
CONF_LEVEL = 0.95
SENSITIVITY_METHODS = ("morris", "sobol")

# The outputs the report is about, with what they mean in plain words.
REPORT_OUTPUTS: dict[str, str] = {
    "final_access": "final access to primary health care",
    "access_gain": "gain in access over the run",
    "final_equity_gap": "access equity gap at the end (lower is more equitable)",
    "mean_synergy": "mean partnership synergy",
    "retention": "retention of partnership members",
}
LEVEL_WORDS: dict[str, str] = {
    "structure": "structure",
    "interpersonal": "interpersonal (enabling)",
    "operational": "operational (enabling)",
    "system": "system (context)",
    "resources": "resources (enabling)",
    "population": "population",
    "simulation": "simulation",
}


class SensitivityError(ValueError):
    """A spec or sweep that cannot be analysed (e.g. a grid design)."""


@dataclass
class SensitivityResult:
    path: Path
    method: str
    indices: Any  # pandas DataFrame
    files: list[Path] = field(default_factory=list)
    sweep: Any = None  # experiments.sweep.SweepResult
    skipped: dict[str, str] = field(default_factory=dict)  # output -> why it was not analysed


# ---------------------------------------------------------------------------- atomic writes
def write_atomic(path: Path, write: Callable[[Any], None], binary: bool = False) -> None:
    """Write through a temporary file in the same folder, then rename into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        mode = "wb" if binary else "w"
        with os.fdopen(fd, mode, **({} if binary else {"encoding": "utf-8", "newline": ""})) as f:
            write(f)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda f: f.write(text))


def write_figure_atomic(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=110, bbox_inches="tight"), binary=True)
    finally:
        plt.close(fig)


def write_csv_atomic(path: Path, df: Any) -> None:
    write_atomic(path, lambda f: df.to_csv(f, index=False, lineterminator="\n", float_format="%.6g"))


def pyplot():
    """matplotlib.pyplot with the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------------- checking
def check_spec(spec: Spec) -> None:
    """A sensitivity analysis needs a morris or sobol design (raises SensitivityError otherwise)."""
    where = f"{spec.path}: " if spec.path is not None else ""
    if spec.method not in SENSITIVITY_METHODS:
        raise SensitivityError(
            f"{where}[design] method = {spec.method!r} cannot be analysed for sensitivity: use method = \"morris\""
            " (screening) or method = \"sobol\" (variance-based indices); "
            "'phc-synergy sweep' runs grid and lhs designs"
        )
    if spec.method == "morris" and spec.n_points < 2:
        raise SensitivityError(f"{where}a Morris design needs at least 2 points")


# ---------------------------------------------------------------------------- analysis
def point_statistics(df: Any, outputs: Sequence[str], n_points: int, replicates: int) -> dict[str, np.ndarray]:
    """Per design point (in point order, every point): replicate mean and sd of each output.

    Runs with status 'error' or an undefined value count as missing; a point with
    no defined value gets NaN (the caller decides; rows are never dropped).
    Keys: the output name (mean) and ``(name, 'replicate_sd')``.
    """
    import pandas as pd

    out: dict[Any, np.ndarray] = {}
    ok = df["status"].to_numpy() == "ok"
    points = df["point_id"].to_numpy(dtype=np.int64)
    for name in outputs:
        values = pd.to_numeric(df[name].map(lambda v: np.nan if v is None else float(v)), errors="coerce").to_numpy(
            dtype=float
        )
        values = np.where(ok, values, np.nan)
        frame = pd.DataFrame({"point": points, "y": values})
        grouped = frame.groupby("point")["y"]
        mean = grouped.mean().reindex(range(n_points)).to_numpy(dtype=float)
        out[name] = mean
        if replicates > 1:
            sd = grouped.std(ddof=1).reindex(range(n_points)).to_numpy(dtype=float)
            out[(name, "replicate_sd")] = sd
    return out


def analyse(
    df: Any,
    problem: dict[str, Any],
    X: np.ndarray,
    *,
    method: str,
    outputs: Sequence[str],
    replicates: int,
    calc_second_order: bool = False,
    num_levels: int = 4,
    seed: int = ANALYSIS_SEED,
    num_resamples: int = NUM_RESAMPLES,
    levels: dict[str, str] | None = None,
) -> tuple[Any, Any, dict[str, str]]:
    """Sensitivity indices of a stored sweep's run table.

    Returns ``(indices, s2, skipped)``: ``indices`` a DataFrame with one row per
    output x statistic x parameter (columns depend on the method, plus
    ``above_dummy`` and ``rank``), ``s2`` the second-order indices (Sobol' with
    calc_second_order) or None, ``skipped`` outputs that could not be analysed
    and why.
    """
    import pandas as pd

    if method not in SENSITIVITY_METHODS:
        raise SensitivityError(f"unknown sensitivity method {method!r}; allowed: {', '.join(SENSITIVITY_METHODS)}")
    X = np.asarray(X, dtype=float)
    n_points = X.shape[0]
    names = list(problem["names"])
    levels = levels or {}
    stats = point_statistics(df, outputs, n_points, replicates)
    rows: list[dict[str, Any]] = []
    s2_rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for key, Y in stats.items():
        output, statistic = (key, "mean") if isinstance(key, str) else key
        label = output if statistic == "mean" else f"{output} ({statistic})"
        missing = int(np.isnan(Y).sum())
        if missing:
            skipped[label] = f"{missing} of {n_points} design points have no defined value"
            continue
        if np.ptp(Y) == 0:
            skipped[label] = "constant over the design (every index is zero)"
            continue
        if method == "morris":
            from SALib.analyze import morris

            res = morris.analyze(
                problem, X, Y, num_resamples=num_resamples, conf_level=CONF_LEVEL, num_levels=num_levels, seed=seed
            )
            for j, name in enumerate(names):
                rows.append(
                    {
                        "output": output,
                        "statistic": statistic,
                        "parameter": name,
                        "level": levels.get(name, ""),
                        "mu": float(res["mu"][j]),
                        "mu_star": float(res["mu_star"][j]),
                        "mu_star_conf": float(res["mu_star_conf"][j]),
                        "sigma": float(res["sigma"][j]),
                    }
                )
        else:
            from SALib.analyze import sobol

            res = sobol.analyze(
                problem,
                Y,
                calc_second_order=calc_second_order,
                num_resamples=num_resamples,
                conf_level=CONF_LEVEL,
                seed=seed,
            )
            for j, name in enumerate(names):
                rows.append(
                    {
                        "output": output,
                        "statistic": statistic,
                        "parameter": name,
                        "level": levels.get(name, ""),
                        "S1": float(res["S1"][j]),
                        "S1_conf": float(res["S1_conf"][j]),
                        "ST": float(res["ST"][j]),
                        "ST_conf": float(res["ST_conf"][j]),
                    }
                )
            if calc_second_order:
                for j in range(len(names)):
                    for k in range(j + 1, len(names)):
                        s2_rows.append(
                            {
                                "output": output,
                                "statistic": statistic,
                                "parameter_1": names[j],
                                "parameter_2": names[k],
                                "S2": float(res["S2"][j, k]),
                                "S2_conf": float(res["S2_conf"][j, k]),
                            }
                        )
    indices = pd.DataFrame(rows)
    if len(indices):
        index, conf = ("mu_star", "mu_star_conf") if method == "morris" else ("ST", "ST_conf")
        above: list[Any] = []
        ranks: list[int] = []
        for (_, _), group in indices.groupby(["output", "statistic"], sort=False):
            dummy = group.loc[group["parameter"] == DUMMY, index]
            ref = float(dummy.iloc[0]) if len(dummy) else None
            order = group[index].rank(ascending=False, method="min").astype(int)
            for i, row in group.iterrows():
                if row["parameter"] == DUMMY or ref is None:
                    above.append((i, None))
                else:
                    above.append((i, bool(row[index] - row[conf] > ref)))
                ranks.append((i, int(order[i])))
        indices["above_dummy"] = pd.Series(dict(above), dtype=object)
        indices["rank"] = pd.Series(dict(ranks)).astype(int)
    s2 = pd.DataFrame(s2_rows) if s2_rows else None
    return indices, s2, skipped


# ---------------------------------------------------------------------------- figures
def morris_figure(group: Any, output: str, path: Path) -> None:
    """mu* (x) against sigma (y), one point per input; the dummy in red; the top inputs labelled."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    is_dummy = group["parameter"] == DUMMY
    ax.errorbar(
        group.loc[~is_dummy, "mu_star"],
        group.loc[~is_dummy, "sigma"],
        xerr=group.loc[~is_dummy, "mu_star_conf"],
        fmt="o",
        color="tab:blue",
        ecolor="0.7",
        label="inputs (bars: 95% CI of mu*)",
    )
    if is_dummy.any():
        d = group.loc[is_dummy].iloc[0]
        ax.plot([d["mu_star"]], [d["sigma"]], "s", color="tab:red", label="dummy (noise level)")
        ax.axvline(d["mu_star"], color="tab:red", lw=0.8, ls="--")
    top = group.loc[~is_dummy].sort_values("mu_star", ascending=False).head(8)
    for _, r in top.iterrows():
        ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), fontsize=8, xytext=(4, 3), textcoords="offset points")
    lim = max(float(group["mu_star"].max()), float(group["sigma"].max())) * 1.1 or 1.0
    ax.plot([0, lim], [0, lim], color="0.85", lw=0.8, zorder=0)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("mu* (mean absolute elementary effect)")
    ax.set_ylabel("sigma (non-linearity / interactions)")
    ax.set_title(f"Morris screening: {output}")
    ax.legend(fontsize=8, loc="upper left")
    write_figure_atomic(fig, path)


def sobol_figure(group: Any, output: str, path: Path) -> None:
    """Total (ST) and first-order (S1) indices as bars with their confidence intervals."""
    plt = pyplot()
    g = group.sort_values("ST", ascending=True)
    y = np.arange(len(g))
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.32 * len(g) + 1.2)))
    colors = ["tab:red" if p == DUMMY else "tab:blue" for p in g["parameter"]]
    ax.barh(y + 0.2, g["ST"], height=0.4, xerr=g["ST_conf"], color=colors, ecolor="0.3", label="ST (total)")
    ax.barh(y - 0.2, g["S1"], height=0.4, xerr=g["S1_conf"], color="0.7", ecolor="0.3", label="S1 (first order)")
    d = group.loc[group["parameter"] == DUMMY]
    if len(d):
        ax.axvline(float(d["ST"].iloc[0]), color="tab:red", lw=0.8, ls="--", label="dummy ST (noise level)")
    ax.set_yticks(y)
    ax.set_yticklabels(g["parameter"], fontsize=8)
    ax.set_xlabel("Sobol' index (bars: 95% bootstrap CI)")
    ax.set_title(f"Sobol' indices: {output}")
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    handles[labels.index("ST (total)")] = Patch(color="tab:blue")  # not the dummy's red bar
    ax.legend(handles, labels, fontsize=8, loc="lower right")
    write_figure_atomic(fig, path)


def figure_name(method: str, output: str, statistic: str) -> str:
    suffix = "" if statistic == "mean" else f"_{statistic}"
    return f"{method}_{output}{suffix}.png"


# ---------------------------------------------------------------------------- report
def _fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else "n/a"


def report_text(
    indices: Any,
    *,
    method: str,
    title: str,
    description: str,
    n_points: int,
    replicates: int,
    outputs: Sequence[str],
    skipped: dict[str, str],
    figures: dict[str, str],
    has_dummy: bool,
    runs_dir: str,
    errors: int = 0,
) -> str:
    index, conf = ("mu_star", "mu_star_conf") if method == "morris" else ("ST", "ST_conf")
    what = (
        "Morris elementary-effects screening: mu* is the mean absolute effect of moving one input across its range"
        " (larger = more influential), sigma the spread of those effects (large = non-linear or interacting)."
        if method == "morris"
        else "Sobol' variance decomposition: ST is the share of output variance an input explains with all its"
        " interactions, S1 the share it explains alone."
    )
    lines = [
        f"# Sensitivity analysis: {title}".rstrip(": "),
        "",
        *([description, ""] if description else []),
        f"- Method: {what}",
        f"- Design: {n_points} design points x {replicates} replicates = {n_points * replicates} runs"
        f" (common random numbers; each output averaged over replicates). Runs: `{runs_dir}/`"
        + (f"; {errors} run(s) raised an error (kept in the run table)." if errors else "."),
        f"- Confidence: {int(CONF_LEVEL * 100)}% bootstrap intervals ({NUM_RESAMPLES} resamples, seed {ANALYSIS_SEED}).",
    ]
    if has_dummy:
        lines.append(
            "- The `dummy` input does nothing in the model: its index is what noise alone produces. An input"
            " *rises above the dummy* when its index minus its confidence half-width exceeds the dummy's index."
            " With common random numbers, runs that differ only in the dummy are identical, so the dummy's index"
            " is 0 and the test asks whether the input's confidence interval excludes 0."
        )
    lines.append("- All indices: [indices.csv](indices.csv).")
    lines.append("")
    for output in outputs:
        meaning = REPORT_OUTPUTS.get(output, output)
        lines += [f"## {output}: {meaning}", ""]
        group = indices[(indices["output"] == output) & (indices["statistic"] == "mean")] if len(indices) else []
        if output in skipped or not len(group):
            lines += [f"Not analysed: {skipped.get(output, 'no indices')}.", ""]
            continue
        if output in figures:
            lines += [f"![{output}]({figures[output]})", ""]
        g = group[group["parameter"] != DUMMY].sort_values(index, ascending=False)
        if has_dummy:
            drivers = g[g["above_dummy"] == True]
            quiet = g[g["above_dummy"] != True]
        else:
            drivers, quiet = g, g.iloc[0:0]
        if len(drivers):
            lines.append(f"What drives it, most influential first ({index} with its confidence half-width):")
            lines.append("")
            for k, (_, r) in enumerate(drivers.iterrows(), start=1):
                level = LEVEL_WORDS.get(r["level"], r["level"])
                extra = f", sigma {_fmt(r['sigma'])}" if method == "morris" else f", S1 {_fmt(r['S1'])}"
                lines.append(f"{k}. `{r['parameter']}`{f' ({level})' if level else ''}: {index} {_fmt(r[index])}"
                             f" ± {_fmt(r[conf])}{extra}")
            lines.append("")
            by_level: dict[str, list[str]] = {}
            for _, r in drivers.iterrows():
                by_level.setdefault(LEVEL_WORDS.get(r["level"], r["level"]) or "other", []).append(r["parameter"])
            summary = "; ".join(f"{lvl}: {', '.join(names)}" for lvl, names in by_level.items())
            lines += [f"In short, by level: {summary}.", ""]
        else:
            lines += [("No input rises above the dummy's index: at this sample size, nothing is distinguishable"
                      " from noise."), ""]
        if has_dummy:
            d = group[group["parameter"] == DUMMY]
            dval = _fmt(float(d[index].iloc[0])) if len(d) else "n/a"
            if len(quiet):
                names = ", ".join(f"`{p}`" for p in quiet["parameter"])
                lines += [(f"Not above the dummy ({index} of the dummy = {dval}), i.e. indistinguishable from noise"
                          f" here: {names}."), ""]
            else:
                lines += [f"Every input rises above the dummy ({index} of the dummy = {dval}).", ""]
        sd = indices[(indices["output"] == output) & (indices["statistic"] == "replicate_sd")] if len(indices) else []
        if len(sd):
            top = sd[sd["parameter"] != DUMMY].sort_values(index, ascending=False)
            top = top[top["above_dummy"] == True] if has_dummy else top.head(3)
            if len(top):
                lines += ["Replicate spread (how much runs with the same inputs differ) depends most on: "
                          + ", ".join(f"`{p}`" for p in top["parameter"].head(5)) + ".", ""]
    if skipped:
        lines += ["## Not analysed", ""]
        lines += [f"- {name}: {why}" for name, why in skipped.items()]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------- the whole job
def analyse_folder(
    out: str | Path,
    *,
    method: str,
    outputs: Sequence[str],
    replicates: int,
    calc_second_order: bool = False,
    num_levels: int = 4,
    title: str = "",
    description: str = "",
    runs_dir: str | None = None,
    levels: dict[str, str] | None = None,
) -> SensitivityResult:
    """Analyse the sweep in ``OUT/runs_dir`` (default: OUT/sweep) and write indices.csv, the figures and report.md."""
    from experiments.store import load_design, load_sweep, sweep_subfolder

    out = Path(out)
    runs = out / runs_dir if runs_dir is not None else sweep_subfolder(out)
    runs_dir = runs.name
    df = load_sweep(runs)
    problem, X = load_design(runs)
    if problem is None or X is None:
        raise SensitivityError(f"{str(runs)!r} has no sampled design to analyse")
    n_points = X.shape[0]
    expected = n_points * replicates
    if len(df) != expected:
        raise SensitivityError(
            f"{str(runs)!r} holds {len(df)} of {expected} runs: finish the sweep (resume) before analysing"
        )
    indices, s2, skipped = analyse(
        df,
        problem,
        X,
        method=method,
        outputs=outputs,
        replicates=replicates,
        calc_second_order=calc_second_order,
        num_levels=num_levels,
        levels=levels,
    )
    files: list[Path] = []
    path = out / "indices.csv"
    write_csv_atomic(path, indices)
    files.append(path)
    if s2 is not None:
        path = out / "indices_s2.csv"
        write_csv_atomic(path, s2)
        files.append(path)
    figures: dict[str, str] = {}
    if len(indices):
        for (output, statistic), group in indices.groupby(["output", "statistic"], sort=False):
            name = figure_name(method, output, statistic)
            draw = morris_figure if method == "morris" else sobol_figure
            label = output if statistic == "mean" else f"{output} ({statistic})"
            draw(group, label, out / name)
            files.append(out / name)
            if statistic == "mean":
                figures[output] = name
    errors = int((df["status"] != "ok").sum())
    text = report_text(
        indices,
        method=method,
        title=title,
        description=description,
        n_points=n_points,
        replicates=replicates,
        outputs=outputs,
        skipped=skipped,
        figures=figures,
        has_dummy=DUMMY in problem["names"],
        runs_dir=runs_dir,
        errors=errors,
    )
    path = out / "report.md"
    write_text_atomic(path, text)
    files.append(path)
    return SensitivityResult(out, method, indices, files, skipped=skipped)


def spec_outputs(spec: Spec) -> list[str]:
    """The outputs a spec's analysis covers: those the report is about (every run summary keeps them)."""
    return [o for o in REPORT_OUTPUTS if o in spec.summary_outputs]


def run_sensitivity(
    spec: Spec,
    out: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    engine: Any = None,
    resume: bool = False,
    progress: Any = None,
    on_start: Any = None,
    outputs: Sequence[str] | None = None,
) -> SensitivityResult:
    """Run the spec's sweep into ``OUT/sweep`` (resumable), then analyse it into ``OUT``."""
    from experiments.store import sweep_subfolder
    from experiments.sweep import run_sweep
    from model.parameters import PARAMETERS

    check_spec(spec)
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise SensitivityError(f"{str(out)!r} exists and is not a folder")
    sweep = run_sweep(
        spec,
        sweep_subfolder(out),
        workers=workers,
        scheduler=scheduler,
        engine=engine,
        resume=resume,
        progress=progress,
        on_start=on_start,
    )
    result = analyse_folder(
        out,
        method=spec.method,
        outputs=list(outputs) if outputs is not None else spec_outputs(spec),
        replicates=spec.replicates,
        calc_second_order=spec.calc_second_order,
        num_levels=spec.levels or 4,
        title=spec.name,
        description=spec.description,
        levels={name: p.level for name, p in PARAMETERS.items()},
    )
    result.sweep = sweep
    return result


__all__ = [
    "SensitivityError",
    "SensitivityResult",
    "SpecError",
    "analyse",
    "analyse_folder",
    "check_spec",
    "run_sensitivity",
]


# ---------------------------------------------------------------------------- a check with known indices
ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
# Published indices of the Ishigami function for a = 7, b = 0.1 (Saltelli et al. 2008; Sobol' & Levitan 1999).
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def ishigami_target(params: dict[str, Any], seed: int, series: Sequence[str]) -> tuple[dict[str, Any], None]:
    """The Ishigami function as a sweep target: y = sin x1 + a sin^2 x2 + b x3^4 sin x1 (deterministic)."""
    x1, x2, x3 = float(params["x1"]), float(params["x2"]), float(params["x3"])
    y = math.sin(x1) + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * math.sin(x1)
    return {"y": y}, None


def ishigami_plan(n: int = 1024, seed: int = 1, calc_second_order: bool = False):
    """A Sobol' sweep plan of the Ishigami function on [-pi, pi]^3 (same sampler as the specs)."""
    import json

    from experiments.engine import SweepPlan
    from experiments.spec import Varied, sample_design

    varied = [Varied(f"x{i}", "float", -math.pi, math.pi) for i in (1, 2, 3)]
    design = sample_design("sobol", varied, n=n, calc_second_order=calc_second_order, seed=seed)
    doc = {"target": "ishigami", "n": n, "seed": seed, "calc_second_order": calc_second_order}
    import hashlib

    return SweepPlan(
        name="ishigami",
        spec=doc,
        spec_hash=hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest(),
        base={},
        varied=design.names,
        values=design.values,
        replicates=1,
        root_seed=seed,
        parameters={name: "float" for name in design.names},
        outputs={"y": "float"},
        target=ishigami_target,
        problem=design.problem,
        X=design.X,
        design_hash=design.hash,
    )

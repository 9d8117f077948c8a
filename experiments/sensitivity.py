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
- Morris: the elementary effects of SALib's trajectories computed on the values
  that were run (:func:`elementary_effects`: SALib's analyser divides by the nominal
  grid step, wrong for integer inputs whose rounded levels are uneven; on real
  inputs the two agree), then mu, mu_star, its bootstrap confidence half-width and
  sigma as SALib computes them; each input is tested against replicate noise
  (:func:`replicate_noise`), its rank given as a bootstrap interval over the
  trajectories (:func:`rank_intervals`), and an output that barely varies across
  the design is flagged (:func:`design_spread`). Sobol': ``SALib.analyze.sobol``
  with the ``calc_second_order`` used when sampling (S1, ST with bootstrap
  confidence intervals; S2 in ``indices_s2.csv``), an index "rising above the
  dummy" when its lower confidence bound exceeds the dummy's index. Bootstrap
  resamples use a fixed seed.

Files in ``OUT``: ``indices.csv``, ``morris_<output>.png|svg`` (mu*-sigma) or
``sobol_<output>.png|svg`` (ST and S1 bars with intervals), ``report.md``; each
written atomically.
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
    """The figure as PNG at ``path`` and as SVG beside it (same name, .svg), for papers that want vectors."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=130, bbox_inches="tight"), binary=True)
        write_atomic(path.with_suffix(".svg"), lambda f: fig.savefig(f, format="svg", bbox_inches="tight"), binary=True)
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


# -- Morris on what was run (docs/SENSITIVITY notes in the module docstring)
def values_run(df: Any, names: Sequence[str], X: np.ndarray) -> np.ndarray:
    """The design as it was run: integer inputs rounded, one row per design point (raw X where not stored)."""
    X_run = np.array(X, dtype=float, copy=True)
    first = df.sort_values("run_id").groupby("point_id").first()
    for j, name in enumerate(names):
        if name in first.columns:
            col = first[name].reindex(range(X.shape[0]))
            X_run[:, j] = np.where(col.notna(), col.to_numpy(dtype=float, na_value=np.nan), X_run[:, j])
    return X_run


def morris_steps(X: np.ndarray, n_inputs: int) -> np.ndarray:
    """(row from, row to, input moved) for every step of every trajectory of a raw Morris design."""
    size = n_inputs + 1
    steps = []
    for t in range(X.shape[0] // size):
        for k in range(1, size):
            a, b = t * size + k - 1, t * size + k
            moved = np.nonzero(X[b] != X[a])[0]
            if moved.size == 1:  # SALib's trajectories move exactly one input per step
                steps.append((a, b, int(moved[0])))
    return np.array(steps, dtype=np.int64).reshape(-1, 3)


def elementary_effects(X_run: np.ndarray, Y: np.ndarray, bounds: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Elementary effects (n_inputs x trajectories, NaN where undefined) on the values that were run.

    EE = change in output / change in the input as run, as a share of its range. SALib
    divides by the nominal grid step instead, which is wrong for an integer input whose
    rounded levels are unevenly spaced (meeting_interval 1-6 on 4 levels runs 1, 3, 4, 6:
    steps of 2, 1 and 2 months, not 1.67); for real inputs the two agree. A step that
    rounding made zero (two levels on one integer) gives no effect and is left out.
    """
    n_inputs = X_run.shape[1]
    size = n_inputs + 1
    ee = np.full((n_inputs, X_run.shape[0] // size), np.nan)
    width = bounds[:, 1] - bounds[:, 0]
    for a, b, j in steps:
        dx = (X_run[b, j] - X_run[a, j]) / width[j]
        if dx != 0:
            ee[j, a // size] = (Y[b] - Y[a]) / dx
    return ee


def morris_indices(X_run, Y, bounds, steps, Yr=None, *, seed: int, num_resamples: int) -> dict[str, np.ndarray]:
    """mu, mu*, its bootstrap confidence half-width, sigma; the replicate-noise level of mu*; rank intervals."""
    from scipy.stats import norm

    ee = elementary_effects(X_run, Y, bounds, steps)
    n_inputs, _r = ee.shape
    rng = np.random.default_rng(seed)
    mu, mu_star, sigma, conf = (np.full(n_inputs, np.nan) for _ in range(4))
    z = norm.ppf(0.5 + CONF_LEVEL / 2)
    for j in range(n_inputs):
        e = ee[j][np.isfinite(ee[j])]
        if e.size == 0:
            continue
        mu[j], mu_star[j] = e.mean(), np.abs(e).mean()
        sigma[j] = e.std(ddof=1) if e.size > 1 else np.nan
        boot = np.abs(e[rng.integers(0, e.size, (num_resamples, e.size))]).mean(axis=1)  # as SALib resamples
        conf[j] = z * boot.std(ddof=1)
    rank_low, rank_high = rank_intervals(ee, rng)
    noise = replicate_noise(X_run, Yr, bounds, steps) if Yr is not None else np.full(n_inputs, np.nan)
    return {"mu": mu, "mu_star": mu_star, "mu_star_conf": conf, "sigma": sigma, "noise_mu_star": noise,
            "rank_low": rank_low, "rank_high": rank_high}  # fmt: skip


def replicate_noise(X_run: np.ndarray, Yr: np.ndarray, bounds: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Per input, the mu* that chance alone would give the replicate-mean effects.

    Each elementary effect is computed per replicate (replicate k of both points shares its
    seed); the spread of those R effects over sqrt(R) is the standard error of the
    averaged effect. An input without influence has true effects 0 and averaged effects
    of about that size, so its expected mu* is sqrt(2/pi) x the root mean square of those
    standard errors. A dummy input (which the model never reads) would show 0 here, as its
    runs are identical under common random numbers: that is why the dummy test said
    nothing; any input the model reads reshuffles the chance events and shows this noise.
    """
    R = Yr.shape[1]
    if R < 2:
        return np.full(X_run.shape[1], np.nan)
    per_rep = np.stack([elementary_effects(X_run, Yr[:, k], bounds, steps) for k in range(R)])  # R x D x r
    with np.errstate(invalid="ignore"):
        se2 = np.nanvar(per_rep, axis=0, ddof=1) / R
        return np.sqrt(2 / np.pi) * np.sqrt(np.nanmean(se2, axis=1))


def rank_intervals(ee: np.ndarray, rng: np.random.Generator, resamples: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """5th and 95th percentiles of each input's mu* rank over bootstrap resamples of the trajectories.

    Wide intervals say the trajectories are too few for the ranks to be read (Ruano et al. 2012 on
    screening convergence); the report says so.
    """
    n_inputs, r = ee.shape
    ranks = np.empty((resamples, n_inputs))
    absolute = np.abs(ee)
    for b in range(resamples):
        pick = rng.integers(0, r, r)
        with np.errstate(invalid="ignore"):
            m = np.nanmean(absolute[:, pick], axis=1) if r else np.zeros(n_inputs)
        m = np.where(np.isfinite(m), m, -np.inf)
        ranks[b] = (-m).argsort().argsort() + 1
    return np.percentile(ranks, 5, axis=0), np.percentile(ranks, 95, axis=0)


def replicate_matrix(df: Any, output: str, n_points: int, replicates: int) -> np.ndarray:
    """Design points x replicates of one output (NaN for failed runs and undefined values)."""
    import pandas as pd

    values = pd.to_numeric(df[output].map(lambda v: np.nan if v is None else float(v)), errors="coerce")
    values = np.where(df["status"].to_numpy() == "ok", values.to_numpy(dtype=float), np.nan)
    Yr = np.full((n_points, replicates), np.nan)
    Yr[df["point_id"].to_numpy(dtype=np.int64), df["replicate"].to_numpy(dtype=np.int64)] = values
    return Yr


def design_spread(Y: np.ndarray, Yr: np.ndarray | None) -> dict[str, float]:
    """How much an output varies across the design, against how much a point's mean varies by chance.

    ``ratio`` is the sd of the point means over the design divided by the typical standard
    error of one point's mean (replicate sd / sqrt(R)); below 2 the design barely moves the
    output beyond chance and the indices say little (the report says so).
    """
    sd = float(np.std(Y, ddof=1)) if Y.size > 1 else 0.0
    out = {"sd": sd, "mean": float(np.mean(Y)), "ratio": math.nan}
    if Yr is not None and Yr.shape[1] > 1:
        with np.errstate(invalid="ignore"):
            se = float(np.sqrt(np.nanmean(np.nanvar(Yr, axis=1, ddof=1)) / Yr.shape[1]))
        out["se"] = se
        out["ratio"] = sd / se if se > 0 else math.inf
    return out


HARDLY_VARIES = 2.0  # design sd below this many standard errors of a point mean: the output hardly varies


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
    spread: dict[str, dict[str, float]] = {}
    if method == "morris":
        X_run = values_run(df, names, X)
        bounds = np.array(problem["bounds"], dtype=float)
        steps = morris_steps(X, len(names))
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
            Yr = replicate_matrix(df, output, n_points, replicates) if statistic == "mean" else None
            res = morris_indices(X_run, Y, bounds, steps, Yr, seed=seed, num_resamples=num_resamples)
            if statistic == "mean":
                spread[output] = design_spread(Y, Yr)
            for j, name in enumerate(names):
                rows.append(
                    {
                        "output": output,
                        "statistic": statistic,
                        "parameter": name,
                        "level": levels.get(name, ""),
                        **{k: float(v[j]) for k, v in res.items()},
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
        if method == "morris":  # against replicate noise, which common random numbers do not hide
            noise = indices["noise_mu_star"].to_numpy()
            lower = (indices["mu_star"] - indices["mu_star_conf"]).to_numpy()
            indices["above_noise"] = pd.Series(
                [None if not np.isfinite(n) or p == DUMMY else bool(lo > n)
                 for n, lo, p in zip(noise, lower, indices["parameter"], strict=True)],
                dtype=object,
            )  # fmt: skip
        else:
            indices["above_dummy"] = pd.Series(dict(above), dtype=object)
        indices["rank"] = pd.Series(dict(ranks)).astype(int)
    indices.attrs["spread"] = spread
    s2 = pd.DataFrame(s2_rows) if s2_rows else None
    return indices, s2, skipped


# ---------------------------------------------------------------------------- figures
# Okabe and Ito's colour-blind-safe palette, one colour per level of the schema
LEVEL_COLOURS: dict[str, str] = {
    "structure": "#0072B2",
    "interpersonal": "#E69F00",
    "operational": "#009E73",
    "system": "#CC79A7",
    "resources": "#D55E00",
    "population": "#56B4E9",
    "simulation": "#999999",
    "mechanics": "#000000",
    "ablation": "#999999",
}


def short_label(name: str) -> str:
    """A parameter's plain label without its explanation in brackets (figures have little room)."""
    from viz.labels import parameter_label

    if name == DUMMY:
        return "dummy (read by nothing)"
    label = parameter_label(name)
    return label.split(" (")[0] if " (" in label else label


def morris_figure(group: Any, output: str, path: Path) -> None:
    """mu* (x) against sigma (y), one point per input coloured by level; chance's level; labels that do not overlap."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 5.6))
    fig.subplots_adjust(right=0.68)  # room for the column of labels
    g = group[group["parameter"] != DUMMY]
    noise = g["noise_mu_star"].to_numpy(dtype=float) if "noise_mu_star" in g else np.full(len(g), np.nan)
    above = g["above_noise"].to_numpy() if "above_noise" in g else np.full(len(g), None)
    for level, colour in LEVEL_COLOURS.items():
        sel = (g["level"] == level).to_numpy()
        if not sel.any():
            continue
        firm = sel & (above == True)
        weak = sel & ~(above == True)
        ax.errorbar(g.loc[firm, "mu_star"], g.loc[firm, "sigma"], xerr=g.loc[firm, "mu_star_conf"], fmt="o",
                    color=colour, ecolor="0.75", label=LEVEL_WORDS.get(level, level))  # fmt: skip
        ax.scatter(g.loc[weak, "mu_star"], g.loc[weak, "sigma"], facecolors="white", edgecolors=colour, s=30,
                   label=None if firm.any() else LEVEL_WORDS.get(level, level))  # fmt: skip
    if np.isfinite(noise).any():
        level = float(np.nanmedian(noise))
        ax.axvspan(0, level, color="0.9", zorder=0)
        # each input is tested against its own chance level; the band is their median, so an open circle
        # (not standing out) can sit right of it
        ax.text(level, 0, " chance alone\n (median of\n the inputs')", fontsize=7, color="0.4", va="bottom")
    lim = max(float(group["mu_star"].max()), float(group["sigma"].max())) * 1.12 or 1.0
    ax.plot([0, lim], [0, lim], color="0.8", lw=0.8, ls=":", zorder=0)
    ax.text(lim * 0.97, lim * 0.97, "sigma = mu*", fontsize=7, color="0.5", ha="right", va="top", rotation=35)
    firm_rows = g[g["above_noise"] == True] if "above_noise" in g else g.iloc[0:0]
    _label_points(ax, (firm_rows if len(firm_rows) else g).sort_values("mu_star", ascending=False).head(16), lim)
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    ax.set_xlabel("mu*: mean absolute effect of moving the input across its range (output units)")
    ax.set_ylabel("sigma: spread of the effects (non-linearity, interactions)")
    ax.set_title(f"Morris screening: {output.replace('_', ' ')}", fontsize=11)
    ax.legend(fontsize=7, loc="upper left", title="filled: stands out from chance", title_fontsize=7, frameon=False)
    fig.text(0.01, -0.02, "Above the dotted diagonal, an input's effect varies more than its mean: it depends on the"
             " other inputs or is non-linear. Axes start at zero.", fontsize=7, color="0.35")  # fmt: skip
    write_figure_atomic(fig, path)


def _label_points(ax: Any, rows: Any, lim: float) -> None:
    """Plain labels in a column right of the axes, in the points' vertical order, each with a leader line.

    Labels inside a crowded scatter overlap one another and the points; a column never does.
    """
    rows = rows.sort_values("sigma")
    n = len(rows)
    if not n:
        return
    lo, hi = 0.02 * lim, 0.98 * lim
    wanted = rows["sigma"].to_numpy(dtype=float)
    d = min(0.045 * lim, (hi - lo) / max(n - 1, 1))  # the smallest gap between two labels
    ys = wanted.copy()
    for i in range(1, n):  # upwards: each label at least d above the one below
        ys[i] = max(ys[i], ys[i - 1] + d)
    ys[-1] = min(ys[-1], hi)
    for i in range(n - 2, -1, -1):  # then down from the top, if the column ran out of room
        ys[i] = min(ys[i], ys[i + 1] - d)
    for (_, r), y in zip(rows.iterrows(), ys, strict=True):
        ax.annotate(short_label(r["parameter"]), (float(r["mu_star"]), float(r["sigma"])), xytext=(lim * 1.03, y),
                    textcoords="data", fontsize=7, va="center", ha="left", annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": "0.75", "lw": 0.5, "shrinkA": 0, "shrinkB": 2})  # fmt: skip


def sobol_figure(group: Any, output: str, path: Path) -> None:
    """Total (ST) and first-order (S1) indices as bars with their confidence intervals, inputs in plain words."""
    plt = pyplot()
    g = group.sort_values("ST", ascending=True)
    y = np.arange(len(g))
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.32 * len(g) + 1.4)))
    colours = [LEVEL_COLOURS.get(level, "#999999") if p != DUMMY else "#999999"
               for p, level in zip(g["parameter"], g["level"], strict=True)]  # fmt: skip
    ax.barh(y + 0.2, g["ST"].clip(lower=0), height=0.4, xerr=g["ST_conf"], color=colours, ecolor="0.3",
            label="ST: total (with interactions)")  # fmt: skip
    ax.barh(y - 0.2, g["S1"].clip(lower=0), height=0.4, xerr=g["S1_conf"], color="white", edgecolor=colours,
            ecolor="0.3", label="S1: alone")  # fmt: skip
    d = group.loc[group["parameter"] == DUMMY]
    if len(d):
        ax.axvline(float(d["ST"].iloc[0]), color="0.4", lw=0.8, ls="--", label="dummy's ST (noise level)")
    ax.set_yticks(y)
    ax.set_yticklabels([short_label(p) for p in g["parameter"]], fontsize=8)
    ax.set_xlim(left=0)
    ax.set_xlabel("Sobol' index: share of the output's variance (bars: 95% bootstrap CI; axis from zero)")
    ax.set_title(f"Sobol' indices: {output.replace('_', ' ')} (colour: level of the input)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
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
    spread: dict[str, dict[str, float]] | None = None,
    trajectories: int | None = None,
) -> str:
    morris = method == "morris"
    spread = spread or {}
    index, conf = ("mu_star", "mu_star_conf") if morris else ("ST", "ST_conf")
    what = (
        "Morris elementary-effects screening: mu* is the mean absolute effect of moving one input across its range"
        " (larger = more influential; in the output's units per full range of the input), sigma the spread of"
        " those effects (large = non-linear or interacting). Effects are computed on the values that were run"
        " (integer inputs rounded), not on the sampler's nominal grid."
        if morris
        else "Sobol' variance decomposition: ST is the share of output variance an input explains with all its"
        " interactions, S1 the share it explains alone."
    )
    lines = [
        f"# Sensitivity analysis: {title}".rstrip(": "),
        "",
        *([description, ""] if description else []),
        f"- Method: {what}",
        f"- Design: {n_points} design points x {replicates} replicates = {n_points * replicates} runs"
        + (f" ({trajectories} trajectories)" if morris and trajectories else "")
        + f" (common random numbers; each output averaged over replicates). Runs: `{runs_dir}/`"
        + (f"; {errors} run(s) raised an error (kept in the run table)." if errors else "."),
        f"- Confidence: {int(CONF_LEVEL * 100)}% bootstrap intervals ({NUM_RESAMPLES} resamples, seed {ANALYSIS_SEED}).",
    ]
    if morris:
        lines.append(
            "- An input *stands out from chance* when its mu* minus its confidence half-width exceeds the mu* that"
            " chance alone would give it (`noise_mu_star`: from how much each of its effects differs between"
            " replicates; each input has its own, and the figure's grey band shows their median). A dummy"
            " input cannot play that part: under common random numbers its runs are"
            " identical, so its mu* is exactly 0 whatever the noise."
            + (" With 1 replicate the noise cannot be measured, so no input is tested." if replicates < 2 else "")
        )
        lines.append(
            "- Rank intervals (`rank_low`, `rank_high`): the 5th-95th percentiles of each input's rank over"
            " bootstrap resamples of the trajectories; wide intervals mean too few trajectories to rank."
        )
    elif has_dummy:
        lines.append(
            "- The `dummy` input does nothing in the model: its index is what noise alone produces. An input"
            " *rises above the dummy* when its index minus its confidence half-width exceeds the dummy's index."
            " With common random numbers, runs that differ only in the dummy are identical, so the dummy's index"
            " is 0 and the test asks whether the input's confidence interval excludes 0."
        )
    lines.append("- All indices: [indices.csv](indices.csv).")
    lines.append("")
    flag = "above_noise" if morris else "above_dummy"
    tested = (morris and replicates > 1) or (not morris and has_dummy)
    for output in outputs:
        meaning = REPORT_OUTPUTS.get(output, output)
        lines += [f"## {output}: {meaning}", ""]
        group = indices[(indices["output"] == output) & (indices["statistic"] == "mean")] if len(indices) else []
        if output in skipped or not len(group):
            lines += [f"Not analysed: {skipped.get(output, 'no indices')}.", ""]
            continue
        if output in figures:
            lines += [f"![{output}]({figures[output]})", ""]
        sp = spread.get(output, {})
        if math.isfinite(sp.get("ratio", math.nan)) and sp["ratio"] < HARDLY_VARIES:
            lines += [
                (f"**This output hardly varies across the design**: the spread of its point means (sd"
                f" {_fmt(sp['sd'])} around {_fmt(sp['mean'])}) is only {sp['ratio']:.1f} times the chance"
                f" spread of one point's mean (standard error {_fmt(sp['se'])}), so its indices say little."),
                "",
            ]
        g = group[group["parameter"] != DUMMY].sort_values(index, ascending=False)
        same = _same_indices_as(indices, output, outputs, index)
        if same:
            lines += [
                (f"Its indices are those of `{same}`: the two outputs differ by the same amount in every run of"
                 f" this design (for `access_gain` and `final_access`: access at month 0, which these inputs do"
                 f" not change), so it adds nothing here."
                 if {output, same} == {"access_gain", "final_access"} else
                 f"Its indices are those of `{same}`: the two outputs differ by the same amount in every run of"
                 f" this design, so it adds nothing here."),
                "",
            ]
        if tested:
            drivers = g[g[flag] == True]
            quiet = g[g[flag] != True]
        else:
            drivers, quiet = g, g.iloc[0:0]
        if len(drivers):
            lines.append(f"What drives it, most influential first ({index} with its confidence half-width):")
            lines.append("")
            for k, (_, r) in enumerate(drivers.iterrows(), start=1):
                level = LEVEL_WORDS.get(r["level"], r["level"])
                extra = f", sigma {_fmt(r['sigma'])}" if morris else f", S1 {_fmt(r['S1'])}"
                if morris and math.isfinite(r.get("noise_mu_star", math.nan)):
                    extra += f", chance alone {_fmt(r['noise_mu_star'])}"
                if morris:
                    extra += f"; rank {_rank(r)}"
                lines.append(f"{k}. `{r['parameter']}`{f' ({level})' if level else ''}: {index} {_fmt(r[index])}"
                             f" ± {_fmt(r[conf])}{extra}")  # fmt: skip
            lines.append("")
            by_level: dict[str, list[str]] = {}
            for _, r in drivers.iterrows():
                by_level.setdefault(LEVEL_WORDS.get(r["level"], r["level"]) or "other", []).append(r["parameter"])
            summary = "; ".join(f"{lvl}: {', '.join(names)}" for lvl, names in by_level.items())
            lines += [f"In short, by level: {summary}.", ""]
        else:
            lines += [("No input stands out from chance at this sample size." if morris else
                       "No input rises above the dummy's index: at this sample size, nothing is distinguishable"
                       " from noise."), ""]  # fmt: skip
        if tested and len(quiet):
            names = ", ".join(f"`{p}`" for p in quiet["parameter"])
            if morris:
                lines += [f"Not distinguishable from chance here: {names}.", ""]
            else:
                d = group[group["parameter"] == DUMMY]
                dval = _fmt(float(d[index].iloc[0])) if len(d) else "n/a"
                lines += [(f"Not above the dummy ({index} of the dummy = {dval}), i.e. indistinguishable from noise"
                          f" here: {names}."), ""]  # fmt: skip
        elif tested:
            lines += ["Every input stands out from chance." if morris else "Every input rises above the dummy.", ""]
        if morris:
            ranked = drivers if tested else g  # inputs listed as chance have no rank worth settling
            unstable = [r for _, r in ranked.head(5).iterrows() if r["rank_high"] - r["rank_low"] >= 3]
            if unstable:
                shown = ", ".join(f"`{r['parameter']}` {_rank(r)}" for r in unstable)
                lines += [
                    (f"**Too few trajectories for stable ranks**: among the five largest mu*, the rank could be"
                    f" anywhere in {shown} (90% of bootstrap resamples of the {trajectories or 'design'}"
                    " trajectories). Read the order as rough; more trajectories (Campolongo et al. 2007 use 10-50,"
                    " more for many inputs) would settle it."),
                    "",
                ]
        sd = indices[(indices["output"] == output) & (indices["statistic"] == "replicate_sd")] if len(indices) else []
        if len(sd):
            top = sd[sd["parameter"] != DUMMY].sort_values(index, ascending=False)
            top = top[top["above_dummy"] == True] if (has_dummy and not morris) else top.head(3)
            if len(top):
                lines += ["Replicate spread (how much runs with the same inputs differ) depends most on: "
                          + ", ".join(f"`{p}`" for p in top["parameter"].head(5)) + ".", ""]  # fmt: skip
    if skipped:
        lines += ["## Not analysed", ""]
        lines += [f"- {name}: {why}" for name, why in skipped.items()]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _same_indices_as(indices: Any, output: str, outputs: Sequence[str], index: str) -> str | None:
    """An earlier output whose indices equal this one's for every input (the two differ by a constant), or None."""
    if not len(indices):
        return None
    mine = indices[(indices["output"] == output) & (indices["statistic"] == "mean")].set_index("parameter")[index]
    for other in outputs:
        if other == output:
            return None
        theirs = indices[(indices["output"] == other) & (indices["statistic"] == "mean")].set_index("parameter")[index]
        if len(mine) and mine.index.equals(theirs.index) and np.allclose(mine, theirs, rtol=1e-9, atol=1e-12):
            return other
    return None


def _rank(r: Any) -> str:
    low, high = round(r["rank_low"]), round(r["rank_high"])
    return f"{low}" if low == high else f"{low}-{high}"


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
    from experiments.columns import SENSITIVITY_COLUMNS, write_dictionary

    path = out / "indices.csv"
    write_csv_atomic(path, indices)
    files += [path, write_dictionary(path, indices, SENSITIVITY_COLUMNS)]
    if s2 is not None:
        path = out / "indices_s2.csv"
        write_csv_atomic(path, s2)
        files += [path, write_dictionary(path, s2, SENSITIVITY_COLUMNS)]
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
        spread=indices.attrs.get("spread") if len(indices) else None,
        trajectories=n_points // (len(problem["names"]) + 1) if method == "morris" else None,
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

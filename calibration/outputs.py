"""What a calibration writes: the posterior, its summary, figures, the posterior predictive check, a scenario.

    DIR/posterior.parquet   the last generation's weighted particles: generation, particle, every calibrated
                            parameter, weight, distance, seed (replays the particle's run), and the simulated
                            value of every target (``sim:output@month``)
    DIR/summary.csv         per parameter: prior range, posterior mean, median, sd, 90% interval (q05, q95),
                            spread_ratio (posterior sd / prior sd) and identified (yes < 0.5 <= partly < 0.8 <= no)
    DIR/generations.csv     per generation: epsilon, accepted, simulations, acceptance rate
    DIR/marginals.png       each parameter's posterior over its prior range, median and 90% interval
    DIR/pairs.png           every pair of parameters (weighted particles), when there are two or more
    DIR/ppc.csv             posterior predictive check: every observation against the simulated 90% interval
    DIR/ppc.png             the same as a figure
    DIR/calibrated.toml     a scenario carrying the posterior ([parameters] fixed, [posterior] the particles)

The posterior predictive check runs the model at ``ppc_draws`` parameter sets
drawn from the posterior by weight, each with its own seed (derived from the
root seed), through the same engine as the calibration.
Every file is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import datetime as _dt
import math
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calibration.cases import Case
from model.parameters import validate_parameters
from model.scenarios import Scenario, ScenarioError, scenario_from_doc
from model.toml_writer import dumps

PPC_CODE = 10**9  # seeds of the posterior predictive runs: SeedSequence([root_seed, PPC_CODE])
IDENTIFIED = ((0.5, "yes"), (0.8, "partly"))  # spread ratio below -> label; else "no"


# ---------------------------------------------------------------------------- statistics
def weighted_quantile(values: Sequence[float], weights: Sequence[float], q: float | Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample (linear interpolation between the midpoints of the sorted weights)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(np.atleast_1d(q), cum, v)


# The words of the calibration tables' columns (their dictionaries: *.columns.json, experiments.columns).
CALIBRATION_COLUMNS: dict[str, tuple[str, str]] = {
    "generation": ("the ABC-SMC generation (posterior.parquet: the last one, which the particles are from)", ""),
    "particle": ("the particle's number in its generation", ""),
    "weight": ("the particle's importance weight (they sum to 1)", "share 0-1"),
    "distance": ("the particle's distance to the observations (docs/CALIBRATION.md)", ""),
    "seed": ("the seed of the particle's run", ""),
    "parameter": ("the calibrated parameter", ""),
    "prior_low": ("lower end of the uniform prior", "the parameter's unit"),
    "prior_high": ("upper end of the uniform prior", "the parameter's unit"),
    "prior_sd": ("standard deviation of the prior", "the parameter's unit"),
    "mean": ("weighted posterior mean", "the parameter's unit"),
    "median": ("weighted posterior median", "the parameter's unit"),
    "sd": ("weighted posterior standard deviation (ppc: the observation's sd)", "the unit of the value"),
    "q05": ("weighted posterior 5th percentile", "the parameter's unit"),
    "q95": ("weighted posterior 95th percentile", "the parameter's unit"),
    "spread_ratio": ("posterior sd / prior sd (contraction; 1 = the data taught nothing)", "ratio"),
    "interval_ratio": ("posterior 90% interval width / prior 90% interval width", "ratio"),
    "identified": ("true when spread_ratio is below 0.7 (the data narrowed the parameter)", "true or false"),
    "epsilon": ("the generation's acceptance threshold on the distance", ""),
    "accepted": ("particles accepted in the generation", "particles"),
    "simulations": ("simulations the generation needed", "simulations"),
    "acceptance_rate": ("accepted / simulations", "share 0-1"),
    "seconds": ("wall time of the generation, as pyabc records it", "seconds"),
    "target": ("the observation (a target of the case file, or a table statistic)", ""),
    "output": ("the model output it is compared with", ""),
    "month": ("the month observed", "month"),
    "kind": ("how the observation is given: value with sd, interval, or a table statistic", ""),
    "value": ("the observed value", "the output's unit"),
    "low": ("lower end of an observed interval", "the output's unit"),
    "high": ("upper end of an observed interval", "the output's unit"),
    "source": ("where the observation comes from (its citation, or synthetic)", ""),
    "note": ("the case file's note on the observation", ""),
    "sim_mean": ("mean of the simulated value over the posterior draws", "the output's unit"),
    "sim_median": ("median of the simulated value over the posterior draws", "the output's unit"),
    "sim_q05": ("5th percentile of the simulated value", "the output's unit"),
    "sim_q95": ("95th percentile of the simulated value", "the output's unit"),
    "share_met": ("share of simulations within one sd of the value or inside the interval", "share 0-1"),
    "observed_in_sim_90": ("true when the observation lies inside the simulated 90% interval", "true or false"),
    "mean_distance": ("mean distance of the posterior draws' simulations to the observations", ""),
}


def posterior_frame(history: Any) -> pd.DataFrame:
    """The last generation's particles, one row each."""
    t = history.max_t
    population = history.get_population(t)
    rows = []
    for i, particle in enumerate(population.particles):
        row: dict[str, Any] = {"generation": int(t), "particle": i}
        row.update({name: float(v) for name, v in particle.parameter.items()})
        row["weight"] = float(particle.weight)
        row["distance"] = float(particle.distance)
        stats = particle.sum_stat
        row["seed"] = int(np.asarray(stats.get("_seed", -1)).item())
        row.update({f"sim:{k}": float(np.asarray(v).item()) for k, v in stats.items() if not k.startswith("_")})
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["weight"] = frame["weight"] / frame["weight"].sum()
    return frame


def summary_frame(posterior: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Per parameter: prior range, posterior mean, median, sd, 90% interval, spread ratio, identified."""
    w = posterior["weight"].to_numpy()
    rows = []
    for name, (low, high) in ranges.items():
        v = posterior[name].to_numpy()
        mean = float(np.average(v, weights=w))
        sd = float(math.sqrt(np.average((v - mean) ** 2, weights=w)))
        q05, median, q95 = weighted_quantile(v, w, [0.05, 0.5, 0.95])
        prior_sd = (high - low) / math.sqrt(12)
        ratio = sd / prior_sd
        label = next((lab for limit, lab in IDENTIFIED if ratio < limit), "no")
        rows.append({
            "parameter": name, "prior_low": low, "prior_high": high, "mean": mean, "median": float(median),
            "sd": sd, "q05": float(q05), "q95": float(q95), "prior_sd": prior_sd, "spread_ratio": ratio,
            "interval_ratio": float(q95 - q05) / (0.9 * (high - low)), "identified": label,
        })
    return pd.DataFrame(rows)


def generations_frame(history: Any) -> pd.DataFrame:
    pops = history.get_all_populations()
    pops = pops[pops.t >= 0].copy()
    pops["acceptance_rate"] = pops["particles"] / pops["samples"]
    return pops[["t", "epsilon", "particles", "samples", "acceptance_rate", "wall_time"]].rename(
        columns={"t": "generation", "particles": "accepted", "samples": "simulations", "wall_time": "seconds"}
    )


# ---------------------------------------------------------------------------- posterior predictive check
def _ppc_batch(item: tuple) -> list:
    """Run the model at each (draw, seed) of a batch; the simulated value of each observation."""
    from calibration.abc import simulate_observations

    fixed, draws, observations, design, types = item
    return [simulate_observations({**fixed, **draw}, seed, observations, design, types) for draw, seed in draws]


def ppc_draws(posterior: pd.DataFrame, names: Sequence[str], n: int, root_seed: int) -> list[tuple[dict, int]]:
    """``n`` parameter sets drawn from the posterior by weight, each with its own run seed."""
    from experiments.engine import replicate_seeds

    rng = np.random.default_rng(np.random.SeedSequence([int(root_seed), PPC_CODE]))
    w = posterior["weight"].to_numpy()
    idx = rng.choice(len(posterior), size=n, replace=True, p=w / w.sum())
    seeds = replicate_seeds(int(np.random.SeedSequence([int(root_seed), PPC_CODE]).generate_state(1)[0]), n)
    return [({name: float(posterior[name].iloc[i]) for name in names}, seeds[k]) for k, i in enumerate(idx)]


def run_ppc(case: Case, posterior: pd.DataFrame, names: Sequence[str], n: int, root_seed: int,
            engine: Any | None = None) -> pd.DataFrame:
    """Simulated values of every observation at ``n`` posterior draws (rows: draws, columns: observation keys)."""
    from experiments.engine import SerialEngine

    engine = engine or SerialEngine()
    draws = ppc_draws(posterior, names, n, root_seed)
    fixed = {k: v for k, v in case.fixed_parameters().items() if k not in names}
    size = max(1, min(25, math.ceil(n / (4 * max(1, engine.workers)))))
    batches = [(fixed, draws[i:i + size], case.observations, case.design, case.types) for i in range(0, n, size)]
    index = {id(b): i for i, b in enumerate(batches)}
    results: list[list | None] = [None] * len(batches)
    for item, values, error in engine.map(_ppc_batch, batches):
        if error is not None:
            from experiments.engine import EngineError

            raise EngineError(error)
        results[index[id(item)]] = values  # engines hand back the item they were given
    rows = [row for batch in results for row in batch]  # type: ignore[union-attr]
    return pd.DataFrame(rows, columns=[obs.key for obs in case.observations])


def ppc_frame(case: Case, simulated: pd.DataFrame) -> pd.DataFrame:
    """Each observation against its simulated distribution: median, 90% interval, share of draws meeting it."""
    rows = []
    for obs in case.observations:
        sim = simulated[obs.key].to_numpy(dtype=float)
        q05, median, q95 = np.nanquantile(sim, [0.05, 0.5, 0.95]) if np.isfinite(sim).any() else (np.nan,) * 3
        if obs.kind == "value":
            inside = q05 <= obs.value <= q95
        else:
            inside = obs.low <= q95 and obs.high >= q05
        rows.append({
            "target": obs.target, "output": obs.output, "month": obs.month, "kind": obs.kind,
            "value": obs.value, "sd": obs.sd, "low": obs.low, "high": obs.high,
            "sim_mean": float(np.nanmean(sim)) if np.isfinite(sim).any() else math.nan, "sim_median": float(median), "sim_q05": float(q05), "sim_q95": float(q95),
            "share_met": float(np.mean([obs.met(x) for x in sim])),
            "observed_in_sim_90": bool(inside),
            "mean_distance": float(np.mean([obs.distance(x) for x in sim])),
            "note": case.targets[obs.target - 1].get("note", "") if obs.source == "targets" else obs.source,
            "source": obs.source,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- figures
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_marginals(posterior: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    plt = _pyplot()
    k = len(summary)
    cols = min(3, k)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    w = posterior["weight"].to_numpy()
    for ax, (_, s) in zip(axes.flat, summary.iterrows(), strict=False):
        low, high = s.prior_low, s.prior_high
        ax.hist(posterior[s.parameter], bins=30, range=(low, high), weights=w, density=True, color="#4c78a8",
                alpha=0.75, label="posterior")
        ax.axhline(1 / (high - low), color="grey", ls="--", lw=1, label="prior")
        ax.axvspan(s.q05, s.q95, color="#f58518", alpha=0.15, label="90% interval", zorder=0)
        ax.axvline(s["median"], color="#f58518", lw=1.5, label="median")
        ax.set_xlim(low, high)
        ax.set_title(f"{_parameter_words(s.parameter)}\n({s.parameter}; posterior sd / prior sd {s.spread_ratio:.2f})",
                     fontsize=8)  # fmt: skip
        ax.set_yticks([])
        ax.set_ylabel("posterior density", fontsize=7)
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="upper right")
    fig.suptitle("Posterior marginals (dashed: uniform prior)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def figure_pairs(posterior: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    plt = _pyplot()
    names = list(summary.parameter)
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.6 * k, 2.6 * k), squeeze=False)
    w = posterior["weight"].to_numpy()
    size = 4 + 60 * w / w.max()
    bounds = {s.parameter: (s.prior_low, s.prior_high) for _, s in summary.iterrows()}
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i, j]
            if i == j:
                ax.hist(posterior[xj], bins=25, range=bounds[xj], weights=w, color="#4c78a8", alpha=0.75)
                ax.set_yticks([])
            elif i > j:
                ax.scatter(posterior[xj], posterior[yi], s=size, alpha=0.35, color="#4c78a8", linewidths=0)
                ax.set_ylim(*bounds[yi])
            else:
                ax.axis("off")
                continue
            ax.set_xlim(*bounds[xj])
            if i == k - 1:
                ax.set_xlabel(xj, fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(yi, fontsize=8)
            ax.tick_params(labelsize=6)
    fig.suptitle("Posterior pairs (point size: weight)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def figure_ppc_tables(case: Case, ppc: pd.DataFrame, path: Path) -> None:
    """The tables' statistics: each simulated 90% interval and median in observed sds from the observed value."""
    plt = _pyplot()
    d = ppc[ppc.source != "targets"].reset_index(drop=True)
    sd = d.sd.to_numpy(float)
    lo, med, hi = ((d[c].to_numpy(float) - d.value.to_numpy(float)) / sd for c in ("sim_q05", "sim_median", "sim_q95"))
    y = np.arange(len(d))[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.19 * len(d)))
    colours = {"survey": "#4c78a8", "attendance": "#f58518", "roster": "#54a24b"}
    for source, colour in colours.items():
        rows = (d.source == source).to_numpy()
        if rows.any():
            ax.errorbar(med[rows], y[rows], xerr=np.vstack([med[rows] - lo[rows], hi[rows] - med[rows]]), fmt="o",
                        ms=3, color=colour, lw=1.2, capsize=2, label=f"{source}: simulated median, 90%")
    ax.axvline(0, color="black", lw=1)
    ax.axvspan(-1, 1, color="grey", alpha=0.15, label="within 1 sd of the observed")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{o}@{m}" for o, m in zip(d.output, d.month, strict=True)], fontsize=6)
    ax.set_xlabel("(simulated - observed) / sd", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"Posterior predictive check of the tables' statistics: {case.name}", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def figure_ppc(case: Case, ppc: pd.DataFrame, path: Path) -> None:
    plt = _pyplot()
    ppc = ppc[ppc.source == "targets"]
    outputs = list(dict.fromkeys(ppc.output))
    k = len(outputs)
    cols = min(2, k)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
    for ax, output in zip(axes.flat, outputs, strict=False):
        d = ppc[ppc.output == output].sort_values("month")
        m = d.month.to_numpy(dtype=float)
        span = max(float(m.max() - m.min()), 10.0)
        shift = 0.012 * span  # observed drawn just right of the simulated
        ax.set_xlim(m.min() - 0.08 * span, m.max() + 0.08 * span)
        if len(d) > 1:
            ax.fill_between(m, d.sim_q05, d.sim_q95, color="#4c78a8", alpha=0.25, label="simulated 90%")
            ax.plot(m, d.sim_median, color="#4c78a8", lw=1.5, label="simulated median")
        else:
            med, q05, q95 = (d[c].to_numpy(dtype=float) for c in ("sim_median", "sim_q05", "sim_q95"))
            ax.errorbar(m, med, yerr=np.vstack([med - q05, q95 - med]), fmt="o",
                        color="#4c78a8", capsize=6, lw=2, label="simulated median, 90%")
        val = d[d.kind == "value"]
        if len(val):
            ax.errorbar(val.month.to_numpy(float) + shift, val.value.to_numpy(float), yerr=val.sd.to_numpy(float), fmt="s", color="black", capsize=4, ms=4,
                        label="observed +- sd")
        ivl = d[d.kind == "interval"]
        if len(ivl):
            low, high = ivl.low.to_numpy(float), ivl.high.to_numpy(float)
            ax.errorbar(ivl.month.to_numpy(float) + shift, (low + high) / 2, yerr=(high - low) / 2, fmt="none", ecolor="black",
                        capsize=6, lw=2, label="observed interval")
        if len(m) <= 12:
            ax.set_xticks(m)
        title, unit = _output_words(output)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("months since the partnership started", fontsize=8)
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    fig.suptitle(f"Posterior predictive check: {case.name}", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def _output_words(output: str) -> tuple[str, str]:
    """(plain title, y label with unit) of an output a case observes, for the figures."""
    from model.outputs import OUTPUT_MEANINGS, OUTPUT_UNITS

    meaning = OUTPUT_MEANINGS.get(output, output.replace("_", " "))
    title = meaning.split(",")[0].split(" (")[0]
    return f"{title[0].upper()}{title[1:]} ({output})", OUTPUT_UNITS.get(output, "")


def _parameter_words(name: str) -> str:
    from viz.labels import parameter_label

    label = parameter_label(name)
    return label.split(" (")[0] if " (" in label else label


def _save(fig: Any, path: Path) -> None:
    from model.cli import _write_atomic

    try:
        _write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=130), binary=True)
        _write_atomic(path.with_suffix(".svg"), lambda f: fig.savefig(f, format="svg"), binary=True)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


# ---------------------------------------------------------------------------- calibrated scenario
def calibrated_scenario(case: Case, posterior: pd.DataFrame, names: Sequence[str], meta: dict[str, Any]) -> str:
    """``calibrated.toml``: a scenario whose [parameters] fix every other value and whose [posterior] holds the particles."""
    fixed = {k: v for k, v in case.fixed_parameters().items() if k not in names}
    parameters = {k: v for k, v in fixed.items() if v is not None}
    weights = posterior["weight"].to_numpy(dtype=float)
    weights = (weights / weights.sum()).tolist()
    generation = int(posterior["generation"].iloc[0])
    date = _dt.date.today().isoformat()
    source = (
        f"phc-synergy calibrate {case.path.name} (case sha256 {case.hash[:12]}, root seed {meta['root_seed']},"
        f" generation {generation}, {len(weights)} particles, {date})"
    )
    citation = case.provenance["citation"]
    doc = {
        "name": f"{case.name}_calibrated",
        "description": (
            f"{case.name} with the posterior of {', '.join(names)} calibrated to "
            + ("synthetic data" if case.synthetic else "its case data")
            + f" ({len(weights)} weighted particles)."
        ),
        "source": f"{source}; data: {citation}",
        "parameters": parameters,
        "posterior": {
            "source": source,
            "weights": weights,
            "parameters": {name: [float(x) for x in posterior[name]] for name in names},
        },
    }
    header = (
        f"Calibrated scenario written by phc-synergy calibrate from {case.path.name}.\n"
        "[parameters]: every parameter not calibrated (the case's structure and settings, defaults otherwise).\n"
        "[posterior]: the last generation's weighted particles; run ensembles over posterior draws with\n"
        "'phc-synergy run --posterior', compare, sweep or the workshop page."
    )
    text = dumps(doc, header=header)
    check_calibrated_text(text, names, len(weights))
    return text


def check_calibrated_text(text: str, names: Sequence[str], n: int) -> Scenario:
    """Re-read calibrated.toml text as a scenario (model.scenarios checks the posterior), and check every particle.

    Raises ScenarioError or ParameterError: a file that would not load is never written.
    """
    scenario = scenario_from_doc(tomllib.loads(text), Path("calibrated.toml"))
    post = scenario.posterior
    if post is None or post.size != n or sorted(post.parameters) != sorted(names):
        raise ScenarioError(f"the posterior written is not the {n} particles of {', '.join(names)}",
                            path="calibrated.toml", field="posterior")
    fixed = {k: v for k, v in scenario.overrides.items() if k not in post.parameters}
    for i in range(n):
        validate_parameters({**fixed, **{k: post.parameters[k][i] for k in names}}, where="calibrated.toml")
    return scenario


# ---------------------------------------------------------------------------- all of it
def write_outputs(case: Case, settings: Any, history: Any, out: Path, engine: Any = None,
                  meta: dict[str, Any] | None = None) -> list[Path]:
    """Write every output file of a calibration into ``out``; returns their paths."""
    from model.cli import _write_atomic

    names = list(settings.ranges)
    meta = meta or {"root_seed": settings.seed}
    posterior = posterior_frame(history)
    summary = summary_frame(posterior, settings.ranges)
    generations = generations_frame(history)
    if engine is not None:
        engine.prepare(["calibration.outputs", "model.kernels"])
    simulated = run_ppc(case, posterior, names, settings.ppc_draws, settings.seed, engine)
    ppc = ppc_frame(case, simulated)
    files: list[Path] = []

    def write(name: str, writer, binary: bool = False) -> None:
        path = out / name
        _write_atomic(path, writer, binary=binary)
        files.append(path)

    write("posterior.parquet", lambda f: posterior.to_parquet(f, index=False), binary=True)
    write("summary.csv", lambda f: summary.to_csv(f, index=False, lineterminator="\n"))
    write("generations.csv", lambda f: generations.to_csv(f, index=False, lineterminator="\n"))
    write("ppc.csv", lambda f: ppc.to_csv(f, index=False, lineterminator="\n"))
    from experiments.columns import write_dictionary

    sims = {c: (f"the particle's simulated summary statistic {c[4:]}", "") for c in posterior.columns
            if c.startswith("sim:")}  # fmt: skip
    for name, table in (("posterior.parquet", posterior), ("summary.csv", summary),
                        ("generations.csv", generations), ("ppc.csv", ppc)):  # fmt: skip
        files.append(write_dictionary(out / name, table, {**CALIBRATION_COLUMNS, **sims}))
    text = calibrated_scenario(case, posterior, names, meta)
    write("calibrated.toml", lambda f: f.write(text))
    figure_marginals(posterior, summary, out / "marginals.png")
    files.append(out / "marginals.png")
    if len(names) >= 2:
        figure_pairs(posterior, summary, out / "pairs.png")
        files.append(out / "pairs.png")
    if (ppc.source == "targets").any():
        figure_ppc(case, ppc, out / "ppc.png")
        files.append(out / "ppc.png")
    if (ppc.source != "targets").any():
        figure_ppc_tables(case, ppc, out / "ppc_tables.png")
        files.append(out / "ppc_tables.png")
    return files

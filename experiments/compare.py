"""Scenario comparison: several scenarios (or variants of them), the same replicate seeds, paired differences.

    phc-synergy compare pccp chrp --replicates 20 --out results/compare
    phc-synergy compare --config experiments/configs/cases.toml --out results/cases

A *variant* is a base scenario (a shipped name or a scenario .toml file) plus
parameter overrides. ``cases.toml`` lists named variants::

    name = "cases"
    replicates = 20
    root_seed = 2021
    [[variant]]
    name = "PCCP + coordinator"
    scenario = "pccp"
    set = { coordination = 0.9 }

Every variant runs with the same ``replicates`` seeds (common random numbers:
replicate k of every variant has the same seed); a variant whose scenario is a
``calibrated.toml`` runs over its posterior: replicate k takes posterior draw k
(drawn with the root seed; the variant's own overrides win), through the sweep engine
(``OUT/sweep``, resumable) with the per-step series of synergy, access and equity
gap kept. Written into ``OUT`` (each file atomically):

- ``summary.csv``: per variant and run-level output, the median and the 90%
  interval (5th and 95th percentiles) over replicates;
- ``differences.csv``: per variant (after the first) and output, the paired
  difference against the first variant (same seed), its median, 90% interval and
  the share of replicates where it is positive;
- ``fan_synergy.png``, ``fan_access.png``: median and 90% band over months;
- ``compare.md``: the two tables and the figures, in words.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.sensitivity import pyplot, write_csv_atomic, write_figure_atomic, write_text_atomic
from model.errors import file_kind, read_toml
from model.outputs import SUMMARY_MEANINGS
from model.parameters import PARAMETERS, ParameterError, validate_parameters
from model.scenarios import ScenarioError, load_scenario, read_scenario
from model.seeds import SEED_RULE, is_seed

COMPARE_FORMAT = 1
MAX_REPLICATES = 100_000  # as for a sweep spec (experiments.spec.MAX_REPLICATES)
DEFAULT_REPLICATES = 20
DEFAULT_ROOT_SEED = 20211
SERIES = ("synergy", "access", "equity_gap")
FAN_SERIES = ("synergy", "access")
QUANTILES = (0.05, 0.5, 0.95)
# Run-level outputs in the tables (booleans as shares).
COMPARE_OUTPUTS: dict[str, str] = {
    "final_access": "final access",
    "access_gain": "access gain",
    "final_equity_gap": "equity gap at the end",
    "mean_synergy": "mean synergy",
    "final_synergy": "final synergy",
    "months_to_synergy": "months to synergy",
    "retention": "retention",
    "final_seats": "seats at the end",
    "sustained": "share sustained",
}
CONFIG_KEYS = ("name", "description", "replicates", "root_seed", "steps", "fixed", "variant")
VARIANT_KEYS = ("name", "scenario", "set")


class CompareError(ValueError):
    """A comparison that cannot run: an unknown scenario, a bad override, a malformed config."""


@dataclass(frozen=True)
class Variant:
    name: str
    scenario: str
    overrides: dict[str, Any]
    params: dict[str, Any] = field(repr=False)


@dataclass
class Comparison:
    name: str
    description: str
    variants: list[Variant]
    replicates: int
    root_seed: int
    source: str | None = None


@dataclass
class CompareResult:
    path: Path
    summary: Any
    differences: Any
    files: list[Path]
    sweep: Any = None


# ---------------------------------------------------------------------------- building
def make_variant(
    name: str, scenario: str, overrides: dict[str, Any] | None = None, where: str = "", strict: bool = False
) -> Variant:
    """A variant: the scenario's parameters with ``overrides`` (checked against the schema).

    ``strict`` refuses numbers written as text (overrides read from a TOML config).
    """
    prefix = f"{where}: " if where else ""
    try:
        params = load_scenario(scenario)
    except ScenarioError as exc:
        raise CompareError(f"{prefix}scenario {scenario!r}: {exc}") from None
    checked: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key not in PARAMETERS:
            near = difflib.get_close_matches(key, list(PARAMETERS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise CompareError(f"{prefix}unknown parameter {key!r}{hint}; see 'phc-synergy params'")
        try:
            checked[key] = PARAMETERS[key].validate(value, strict=strict)
        except ParameterError as exc:
            raise CompareError(f"{prefix}{exc}") from None
    params.update(copy.deepcopy(checked))
    try:
        validate_parameters(params)
    except ParameterError as exc:
        raise CompareError(f"{prefix}{exc}") from None
    return Variant(name, scenario, checked, params)


def from_scenarios(
    scenarios: list[str],
    replicates: int = DEFAULT_REPLICATES,
    root_seed: int = DEFAULT_ROOT_SEED,
    steps: int | None = None,
) -> Comparison:
    """A comparison of scenarios named on the command line (shipped names or .toml files)."""
    if not scenarios:
        raise CompareError("name at least one scenario (or give --config FILE)")
    overrides = {"steps": steps} if steps is not None else {}
    variants = []
    for s in scenarios:
        name = Path(s).stem if s.endswith(".toml") else s
        if name in (v.name for v in variants):
            raise CompareError(f"scenario {s!r} is named twice")
        variants.append(make_variant(name, s, overrides))
    return Comparison("compare", "", variants, replicates, root_seed)


def load_config(path: str | Path) -> Comparison:
    """Read a comparison config (see the module doc and experiments/configs/cases.toml)."""
    path = Path(path).expanduser()

    def error(message: str, path: Any) -> CompareError:
        return CompareError(f"{path}: {message}")

    kind = file_kind(path, error)
    if kind != "file":
        raise CompareError(f"{path}: {'no such config file' if kind == 'missing' else 'not a file'}")
    doc = read_toml(path, error)
    for key in doc:
        if key not in CONFIG_KEYS:
            raise CompareError(f"{path}: unknown key {key!r}; allowed: {', '.join(CONFIG_KEYS)}")
    replicates = _int(doc.get("replicates", DEFAULT_REPLICATES), f"{path}: replicates", 1, MAX_REPLICATES)
    root_seed = doc.get("root_seed", DEFAULT_ROOT_SEED)
    if not is_seed(root_seed):
        raise CompareError(f"{path}: root_seed = {root_seed!r} is not allowed: {SEED_RULE}")
    for key in ("name", "description"):
        if key in doc and not isinstance(doc[key], str):
            raise CompareError(f"{path}: {key} = {doc[key]!r} is not allowed: a string")
    fixed = doc.get("fixed", {})
    if not isinstance(fixed, dict):
        raise CompareError(f"{path}: [fixed] must be a table of parameter values")
    fixed = dict(fixed)
    if "steps" in doc:
        fixed["steps"] = doc["steps"]
    entries = doc.get("variant")
    if not isinstance(entries, list) or not entries:
        raise CompareError(f"{path}: no [[variant]] entries: each names a scenario and optional overrides (set)")
    variants: list[Variant] = []
    base_dir = path.parent
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: variant {i}"
        if not isinstance(entry, dict):
            raise CompareError(f"{where}: expected a table")
        for key in entry:
            if key not in VARIANT_KEYS:
                raise CompareError(f"{where}: unknown key {key!r}; allowed: {', '.join(VARIANT_KEYS)}")
        scenario = entry.get("scenario")
        if not isinstance(scenario, str) or not scenario:
            raise CompareError(f"{where}: 'scenario' must name a shipped scenario or a .toml file")
        if scenario.endswith(".toml") and not Path(scenario).is_absolute():
            scenario = str(base_dir / scenario)
        if "name" in entry and not (isinstance(entry["name"], str) and entry["name"].strip()):
            raise CompareError(f"{where}: name = {entry['name']!r} is not allowed: a non-empty string")
        name = entry.get("name") or scenario
        if name in (v.name for v in variants):
            raise CompareError(f"{where}: the name {name!r} is used twice")
        overrides = entry.get("set", {})
        if not isinstance(overrides, dict):
            raise CompareError(f"{where}: 'set' must be a table of parameter values")
        variants.append(make_variant(name, scenario, {**fixed, **overrides}, where=f"{where} ({name})", strict=True))
    return Comparison(
        str(doc.get("name") or path.stem), str(doc.get("description", "")), variants, replicates, root_seed, str(path)
    )


def _int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CompareError(f"{what} = {value!r} is not allowed: an integer in [{low}, {high:,}]")
    return value


def comparison_plan(comp: Comparison):
    """The comparison as a SweepPlan: one design point per variant, complete parameters, series kept."""
    from experiments.engine import SUMMARY_KINDS, SweepPlan, model_target
    from model.outputs import SUMMARY_OUTPUTS

    names = tuple(PARAMETERS)
    kinds = {name: {int: "int", float: "float", dict: "json"}[p.kind] for name, p in PARAMETERS.items()}
    doc = {
        "format": COMPARE_FORMAT,
        "kind": "compare",
        "variants": [{"name": v.name, "scenario": v.scenario, "parameters": v.params} for v in comp.variants],
        "replicates": comp.replicates,
        "root_seed": comp.root_seed,
        "series": list(SERIES),
    }
    draws = tuple(_posterior_draws(v, comp.replicates, comp.root_seed) for v in comp.variants)
    if any(d is not None for d in draws):
        doc["posterior_draws"] = [list(d) if d is not None else None for d in draws]
    else:
        draws = None
    text = json.dumps({k: v for k, v in doc.items()}, sort_keys=True, default=str)
    return SweepPlan(
        name=comp.name,
        spec=json.loads(text),
        spec_hash=hashlib.sha256(text.encode()).hexdigest(),
        base={},
        varied=names,
        values=[tuple(v.params[n] for n in names) for v in comp.variants],
        replicates=comp.replicates,
        root_seed=comp.root_seed,
        parameters=kinds,
        outputs={name: SUMMARY_KINDS.get(name, "float") for name in SUMMARY_OUTPUTS},
        series=SERIES,
        target=model_target,
        source=comp.source,
        draws=draws,
    )


def _posterior_draws(variant: Variant, replicates: int, root_seed: int) -> tuple[dict[str, Any], ...] | None:
    """Posterior draw k for replicate k of a variant whose scenario carries a posterior (else None)."""
    posterior = read_scenario(variant.scenario).posterior
    return None if posterior is None else posterior.replicate_draws(replicates, root_seed, exclude=variant.overrides)


# ---------------------------------------------------------------------------- analysis
def _values(df: Any, output: str) -> np.ndarray:
    col = df[output].map(lambda v: np.nan if v is None else float(v))
    return col.to_numpy(dtype=float)


def _q(values: np.ndarray) -> tuple[float, float, float, int]:
    defined = values[np.isfinite(values)]
    if not len(defined):
        return math.nan, math.nan, math.nan, 0
    q = np.quantile(defined, QUANTILES)
    if np.all(defined == np.round(defined)):  # whole numbers (months, people): the interval's ends are values that occur
        q[0], q[2] = np.quantile(defined, QUANTILES[0], method="lower"), np.quantile(defined, QUANTILES[2], method="higher")
    return float(q[1]), float(q[0]), float(q[2]), len(defined)


def tables(df: Any, comp: Comparison) -> tuple[Any, Any]:
    """(summary, differences) DataFrames from the run table."""
    import pandas as pd

    ok = df["status"].to_numpy() == "ok"
    by_variant: dict[int, Any] = {}
    for i in range(len(comp.variants)):
        sub = df[(df["point_id"] == i)].sort_values("replicate")
        by_variant[i] = sub
    rows, diffs = [], []
    for i, v in enumerate(comp.variants):
        sub = by_variant[i]
        sub_ok = ok[sub.index.to_numpy()]
        for output, meaning in COMPARE_OUTPUTS.items():
            vals = np.where(sub_ok, _values(sub, output), np.nan)
            med, lo, hi, n = _q(vals)
            rows.append(
                {
                    "variant": v.name,
                    "output": output,
                    "meaning": meaning,
                    "median": med,
                    "q05": lo,
                    "q95": hi,
                    "mean": float(np.nanmean(vals)) if n else math.nan,
                    "n": n,
                }
            )
            if i == 0:
                continue
            first = by_variant[0]
            first_ok = ok[first.index.to_numpy()]
            base = np.where(first_ok, _values(first, output), np.nan)
            d = vals - base  # paired by replicate (same seed)
            med, lo, hi, n = _q(d)
            defined = d[np.isfinite(d)]
            diffs.append(
                {
                    "variant": v.name,
                    "against": comp.variants[0].name,
                    "output": output,
                    "median_diff": med,
                    "q05": lo,
                    "q95": hi,
                    "share_positive": float((defined > 0).mean()) if n else math.nan,
                    "n_pairs": n,
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(diffs)


# Okabe and Ito's colour-blind-safe palette (readable in grey too, with the line styles)
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
STYLES = ("-", "--", "-.", ":")
FAN_TITLES: dict[str, tuple[str, str]] = {  # per-step output: (plain title, y label with its scale)
    "synergy": ("Partnership synergy", "synergy (score from 0 to 1)"),
    "access": ("Access to primary health care", "people whose need for care can be met (%)"),
}
PERCENT = {"final_access", "retention", "sustained"}  # shares: shown in percent
POINTS = {"access_gain", "final_equity_gap"}  # differences of shares: in percentage points
SHARES = PERCENT | POINTS


def fan_chart(series: Any, df: Any, comp: Comparison, name: str, path: Path) -> None:
    """Median and 90% band over months of one per-step output, one colour and line style per variant.

    The y axis starts at zero and shows the whole scale of the output (a cut axis makes small
    differences look large); bands are light and edged, so overlapping ones stay readable.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    point_of = dict(zip(df["run_id"].to_numpy(), df["point_id"].to_numpy(), strict=True))
    s = series.copy()
    s["point_id"] = s["run_id"].map(point_of)
    percent = name == "access"
    scale = 100.0 if percent else 1.0
    for i, v in enumerate(comp.variants):
        sub = s[s["point_id"] == i]
        if not len(sub):
            continue
        q = sub.groupby("step")[name].quantile(list(QUANTILES)).unstack() * scale
        color, style = PALETTE[i % len(PALETTE)], STYLES[(i // len(PALETTE)) % len(STYLES)]
        ax.fill_between(q.index, q[QUANTILES[0]], q[QUANTILES[2]], color=color, alpha=0.10, lw=0)
        for edge in (QUANTILES[0], QUANTILES[2]):
            ax.plot(q.index, q[edge], color=color, lw=0.6, ls=style, alpha=0.6)
        ax.plot(q.index, q[QUANTILES[1]], color=color, lw=2.0, ls=style, label=v.name)
    title, ylabel = FAN_TITLES.get(name, (name.replace("_", " ").capitalize(), name.replace("_", " ")))
    ax.set_ylim(0, 100 if percent else (5 if name == "synergy_psat" else 1))
    ax.set_xlim(left=0)
    ax.set_xlabel("months since the partnership started")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}: median (thick line) and 90% of runs (band), {comp.replicates} runs per scenario",
                 fontsize=10)  # fmt: skip
    ax.legend(fontsize=8, ncol=2, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    write_figure_atomic(fig, path)


def _fmt(x: float) -> str:
    return f"{x:.3g}" if isinstance(x, float) and math.isfinite(x) else ("n/a" if isinstance(x, float) else str(x))


def _show(output: str, x: Any, difference: bool = False) -> str:
    """A value in the reader's units (the column header names them): shares x 100, others as they are."""
    if not isinstance(x, float | int) or isinstance(x, bool) or not math.isfinite(float(x)):
        return "n/a"
    value = 100 * float(x) if output in SHARES else float(x)
    if output in SHARES:
        return f"{value:+.1f}" if difference else f"{value:.1f}"
    return f"{value:+.3g}" if difference else f"{value:.3g}"


def _header(output: str, difference: bool = False) -> str:
    label = COMPARE_OUTPUTS[output]
    unit = " (pp)" if output in POINTS or (difference and output in PERCENT) else " (%)" if output in PERCENT else ""
    return label[0].upper() + label[1:] + unit


def _same_as(summary: Any, outputs: list[str]) -> dict[str, str]:
    """Outputs whose medians and intervals equal an earlier one's in every variant (shown once)."""
    seen: dict[tuple, str] = {}
    same: dict[str, str] = {}
    for o in outputs:
        rows = summary[summary["output"] == o].sort_values("variant")[["median", "q05", "q95"]]
        key = tuple(round(float(v), 12) for v in rows.to_numpy().ravel())
        if key in seen:
            same[o] = seen[key]
        else:
            seen[key] = o
    return same


def report_text(comp: Comparison, summary: Any, differences: Any, figures: list[str], errors: int) -> str:
    names = [v.name for v in comp.variants]
    # a few scenarios: their names; many: the config's description says what is compared
    title = " vs ".join(names) if len(names) <= 3 or not comp.description else comp.description.rstrip(".")
    lines = [f"# Scenario comparison: {title}", ""]
    if comp.description and title != comp.description.rstrip("."):
        lines += [comp.description, ""]
    lines += [
        f"{len(comp.variants)} scenarios x {comp.replicates} runs each; run k of every scenario uses the same"
        f" seed (root seed {comp.root_seed}), so each difference is taken between two runs that share their chance"
        " events (paired). Runs: `sweep/`" + (f"; {errors} run(s) raised an error." if errors else "."),
        "",
        "| scenario | from | changes |",
        "|---|---|---|",
    ]
    for v in comp.variants:
        over = ", ".join(f"{k} = {val}" for k, val in v.overrides.items()) or "-"
        lines.append(f"| {v.name} | {Path(v.scenario).name} | {over} |")
    outputs = list(COMPARE_OUTPUTS)
    same = _same_as(summary, outputs)
    shown = [o for o in outputs if o not in same]
    lines += ["", "## What each output means", ""]
    for o in shown:
        lines.append(f"- **{_header(o)}** (`{o}`): {SUMMARY_MEANINGS.get(o, COMPARE_OUTPUTS[o])}"
                     + ("; shown as the percent of runs" if o == "sustained" else "") + ".")  # fmt: skip
    for o, first in same.items():
        lines.append(f"- {_header(o)} (`{o}`) equals {_header(first).lower()} in every scenario here, so it is"
                     " shown once.")  # fmt: skip
    lines += ["", "## Each scenario: median [5th, 95th percentile] over its runs", "",
              "Table: [summary.csv](summary.csv).", ""]  # fmt: skip
    lines.append("| scenario | " + " | ".join(_header(o) for o in shown) + " |")
    lines.append("|---|" + "---|" * len(shown))
    for v in comp.variants:
        cells = []
        for o in shown:
            r = summary[(summary["variant"] == v.name) & (summary["output"] == o)].iloc[0]
            if o == "sustained":
                cells.append(f"{100 * float(r['mean']):.0f}" if math.isfinite(float(r["mean"])) else "n/a")
            else:
                cells.append(f"{_show(o, r['median'])} [{_show(o, r['q05'])}, {_show(o, r['q95'])}]")
        lines.append(f"| {v.name} | " + " | ".join(cells) + " |")
    if len(differences):
        first = comp.variants[0].name
        lines += [
            "",
            f"## Differences from {first} (paired runs): median [5th, 95th percentile]",
            "",
            ("Table: [differences.csv](differences.csv). Differences of shares are in percentage points (pp). A"
            " difference whose 90% interval excludes 0 is marked *."),
            "",
            "| scenario | " + " | ".join(_header(o, difference=True) for o in shown) + " |",
            "|---|" + "---|" * len(shown),
        ]
        for v in comp.variants[1:]:
            cells = []
            for o in shown:
                r = differences[(differences["variant"] == v.name) & (differences["output"] == o)].iloc[0]
                star = "*" if (r["q05"] > 0 or r["q95"] < 0) else ""
                cells.append(f"{_show(o, r['median_diff'], True)} [{_show(o, r['q05'], True)},"
                             f" {_show(o, r['q95'], True)}]{star}")  # fmt: skip
            lines.append(f"| {v.name} | " + " | ".join(cells) + " |")
        lines += ["", "In words:", ""]
        for v in comp.variants[1:]:
            clear, unclear = [], []
            for o in shown:
                r = differences[(differences["variant"] == v.name) & (differences["output"] == o)].iloc[0]
                if r["q05"] > 0 or r["q95"] < 0:
                    word = "higher" if r["q05"] > 0 else "lower"
                    unit = " pp" if o in SHARES else ""
                    clear.append(f"{COMPARE_OUTPUTS[o]} is {word} ({_show(o, r['median_diff'], True)}{unit})")
                else:
                    unclear.append(COMPARE_OUTPUTS[o])
            said = "; ".join(clear) if clear else "no output differs clearly"
            rest = f" Not clearly different: {', '.join(unclear)}." if unclear and clear else ""
            lines.append(f"- **{v.name}** against {first}: {said}.{rest}")
    lines += ["", "## Over time", ""]
    lines += [f"![{f}]({f})" for f in figures]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------- the whole job
def run_compare(
    comp: Comparison,
    out: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    engine: Any = None,
    resume: bool = False,
    progress: Any = None,
    on_start: Any = None,
) -> CompareResult:
    """Run every variant's replicates into ``OUT/sweep`` (resumable) and write the tables, fan charts and compare.md."""
    import pandas  # noqa: F401 - imported before Dask's dashboard thread starts: importing it from two threads at once fails

    from experiments.store import load_series, load_sweep, sweep_subfolder
    from experiments.sweep import run_sweep

    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise CompareError(f"{str(out)!r} exists and is not a folder")
    plan = comparison_plan(comp)
    sweep = run_sweep(
        plan,
        sweep_subfolder(out),
        workers=workers,
        scheduler=scheduler,
        engine=engine,
        resume=resume,
        progress=progress,
        on_start=on_start,
    )
    df = load_sweep(sweep_subfolder(out))
    series = load_series(sweep_subfolder(out))
    summary, differences = tables(df, comp)
    files = []
    from experiments.columns import COMPARE_COLUMNS, write_dictionary

    for name, table in (("summary.csv", summary), ("differences.csv", differences)):
        write_csv_atomic(out / name, table)
        files += [out / name, write_dictionary(out / name, table, COMPARE_COLUMNS)]
    figures = []
    for name in FAN_SERIES:
        fig = f"fan_{name}.png"
        fan_chart(series, df, comp, name, out / fig)
        files.append(out / fig)
        figures.append(fig)
    errors = int((df["status"] != "ok").sum())
    write_text_atomic(out / "compare.md", report_text(comp, summary, differences, figures, errors))
    files.append(out / "compare.md")
    return CompareResult(out, summary, differences, files, sweep)

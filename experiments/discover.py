"""Scenario discovery on a finished sweep: which inputs lead to an outcome above (or below) a threshold.

PRIM, the patient rule induction method (Friedman and Fisher 1999), as scenario discovery
uses it (Bryant and Lempert 2010): a run is a *case of interest* when its outcome passes
the threshold; PRIM peels the input space, a little at a time, towards a box (a range per
input) in which cases of interest are dense, and the *peeling trajectory* trades coverage
(the share of all cases of interest inside the box) against density (the share of the
box's runs that are cases of interest). The EMA workbench's PRIM (Kwakkel 2017) does the
work; this module chooses a box on each trajectory by a documented rule, names the inputs
in plain words and writes the tables, figures and ``discover.md``.

The EMA workbench is an optional extra (``pip install -e '.[ema]'``): only this module
imports it, when it runs.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.sensitivity import pyplot, write_csv_atomic, write_figure_atomic, write_text_atomic
from model.outputs import SUMMARY_MEANINGS
from model.parameters import STAKEHOLDER_TYPES

EMA_MISSING = "phc-synergy discover needs the EMA workbench: pip install -e '.[ema]' (make installs it)"
MIN_CASES = 5  # fewer cases of interest (or of the rest) than this leave PRIM nothing to learn from


class DiscoverError(ValueError):
    """A discovery that cannot run as asked (one line naming what and what is allowed)."""


@dataclass(frozen=True)
class DiscoverySettings:
    """What a discovery looks for, and PRIM's knobs (the EMA workbench's defaults where it has them)."""

    outcome: str
    above: float | None = None
    below: float | None = None
    min_coverage: float = 0.5  # the box chosen on a trajectory keeps at least this share of the cases
    max_boxes: int = 2
    min_density: float = 0.0  # a box is reported only when at least this dense (0: any box with a firm restriction)
    max_qp: float = 0.05  # restrictions with a larger quasi-p value are dropped as weak
    peel_alpha: float = 0.05  # share of the remaining runs peeled off per step
    paste_alpha: float = 0.05
    mass_min: float = 0.05  # smallest box, as a share of all runs

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]

    @property
    def direction(self) -> str:
        return "above" if self.above is not None else "below"


@dataclass
class Box:
    """One box of a discovery, at the point chosen on its peeling trajectory."""

    number: int
    chosen: int  # index on the trajectory
    coverage: float
    density: float
    mass: float
    runs: int  # runs in the box
    cases: int  # cases of interest in the box
    limits: list[dict[str, Any]]  # one per restricted input: name, label, low, high, range, qp_value
    trajectory: Any  # DataFrame: PRIM's peeling and pasting trajectory (before weak restrictions were dropped)
    dropped: list[str]  # inputs whose restriction was dropped as weak (quasi-p above max_qp)
    remaining: int  # cases of interest outside the earlier boxes when this one was sought


@dataclass
class Discovery:
    settings: DiscoverySettings
    sweep: Path
    runs: int  # runs analysed (ok, outcome defined)
    dropped: int  # runs left out (failed, or outcome undefined)
    cases: int  # cases of interest among the runs analysed
    inputs: list[str]
    ranges: dict[str, tuple[Any, Any]]  # every input's range over the design
    outcome_range: tuple[float, float]
    boxes: list[Box] = field(default_factory=list)
    stopped: str = ""  # why no further box was sought


# ---------------------------------------------------------------------------- rules
def case_of_interest(values: np.ndarray, settings: DiscoverySettings) -> np.ndarray:
    """1 where a run's outcome passes the threshold (strictly above, or strictly below), else 0."""
    if settings.above is not None:
        return (values > settings.above).astype(int)
    return (values < settings.below).astype(int)


def choose_on_trajectory(trajectory, min_coverage: float) -> int:
    """The point of a peeling trajectory a discovery reports.

    The densest box that still holds at least ``min_coverage`` of the cases of interest
    (Bryant and Lempert 2010 choose by eye on the coverage-density trade-off; this is the
    usual rule written down); among equally dense boxes, the one restricting fewest
    inputs. When no point keeps that coverage, the first point (the whole space).
    """
    ok = trajectory[trajectory["coverage"] >= min_coverage - 1e-12]
    if ok.empty:
        return int(trajectory.index[0])
    best = ok[ok["density"] >= ok["density"].max() - 1e-12]
    return int(best.sort_values(["res_dim"], kind="stable").index[0])


def lead_type_names(codes) -> Any:
    """lead_type is a type index: PRIM should treat it as a category, not a scale."""
    import pandas as pd

    return pd.Categorical([STAKEHOLDER_TYPES[int(c)] for c in codes], categories=list(STAKEHOLDER_TYPES))


# ---------------------------------------------------------------------------- the analysis
def check_settings(settings: DiscoverySettings, outputs: list[str]) -> None:
    if settings.outcome not in outputs:
        raise DiscoverError(
            f"--outcome '{settings.outcome}' is not a run-summary output of this sweep: one of {', '.join(outputs)}"
        )
    if (settings.above is None) == (settings.below is None):
        raise DiscoverError("give exactly one of --above X or --below X (the threshold of the outcome)")
    if not math.isfinite(settings.threshold):
        raise DiscoverError(f"--{settings.direction} = {settings.threshold!r} is not allowed: a finite number")
    if not 0 < settings.min_coverage <= 1:
        raise DiscoverError(f"--min-coverage = {settings.min_coverage!r} is not allowed: a number in (0, 1]")
    if not 0 <= settings.min_density <= 1:
        raise DiscoverError(f"--min-density = {settings.min_density!r} is not allowed: a number in [0, 1]")
    if not 0 < settings.max_qp <= 1:
        raise DiscoverError(f"--max-qp = {settings.max_qp!r} is not allowed: a number in (0, 1]")
    if not 1 <= settings.max_boxes <= 10:
        raise DiscoverError(f"--boxes = {settings.max_boxes!r} is not allowed: an integer in [1, 10]")
    for name in ("peel_alpha", "paste_alpha", "mass_min"):
        value = getattr(settings, name)
        if not 0 < value < 0.5:
            raise DiscoverError(f"--{name.replace('_', '-')} = {value!r} is not allowed: a number in (0, 0.5)")


def discover(sweep: str | Path, settings: DiscoverySettings) -> Discovery:
    """Run PRIM on a finished sweep's run table; raises DiscoverError (or StoreError) on a bad request."""
    from experiments.store import load_experiments_outcomes, load_manifest

    sweep = Path(sweep)
    manifest = load_manifest(sweep)
    check_settings(settings, list(manifest["columns"]["outputs"]))
    experiments, outcomes = load_experiments_outcomes(sweep, ids=True, outcomes=[settings.outcome], failed=True)
    inputs = [c for c in experiments.columns if c not in (*manifest["columns"]["meta"], "status")]
    if not inputs:
        raise DiscoverError(f"{str(sweep)!r}: the sweep varied no parameter, so there is nothing to discover")
    values = outcomes[settings.outcome]
    ok = experiments["status"].to_numpy() == "ok"
    values = np.where(ok, values, np.nan)  # a failed run has no outcome
    return discover_in(experiments[inputs], values, settings, sweep)


def discover_in(x, values: np.ndarray, settings: DiscoverySettings, sweep: str | Path = "") -> Discovery:
    """PRIM on any table of inputs ``x`` (one row per run) and outcome ``values`` (NaN: left out)."""
    check_settings(settings, [settings.outcome])
    with _quiet_ema():
        try:
            from ema_workbench.analysis import prim
        except ImportError:
            raise DiscoverError(EMA_MISSING) from None
    inputs = list(x.columns)
    keep = np.isfinite(values)
    x = x.loc[keep].reset_index(drop=True)
    if "lead_type" in x and str(x["lead_type"].dtype) != "category":
        x["lead_type"] = lead_type_names(x["lead_type"])
    y = case_of_interest(values[keep], settings)
    n, k = len(y), int(y.sum())
    defined = values[keep]
    span = (float(defined.min()), float(defined.max())) if n else (math.nan, math.nan)
    if k < MIN_CASES or n - k < MIN_CASES:
        raise DiscoverError(
            f"{k} of {n} runs have {settings.outcome} {settings.direction} {settings.threshold:g} (its range in the"
            f" sweep: {span[0]:.4g} to {span[1]:.4g}): PRIM needs at least {MIN_CASES} runs on each side;"
            " choose a threshold with at least that many runs above and below it"
        )
    ranges = {c: _range(x[c]) for c in inputs}
    result = Discovery(settings, Path(sweep), n, int((~keep).sum()), k, inputs, ranges, span)
    with _quiet_ema():
        return _find_boxes(prim, x, y, settings, result, ranges, k)


@contextlib.contextmanager
def _quiet_ema():
    """The EMA workbench warns about an optional backend it does not need here and about pandas' future."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ipyparallel not installed")
        warnings.filterwarnings("ignore", category=FutureWarning, module="ema_workbench")
        yield


def _find_boxes(prim, x, y, settings: DiscoverySettings, result: Discovery, ranges, k: int) -> Discovery:
    finder = prim.Prim(
        x,
        y,
        # y is 0/1, so any threshold in (0, 1] makes the cases of interest y == 1; PRIM also keeps a box
        # only when its last (smallest) box is at least this dense, else it returns the whole space
        threshold=max(settings.min_density, 1e-9),
        peel_alpha=settings.peel_alpha,
        paste_alpha=settings.paste_alpha,
        mass_min=settings.mass_min,
    )
    for number in range(1, settings.max_boxes + 1):
        remaining = int(y[finder.yi_remaining].sum())
        if number > 1 and remaining < MIN_CASES:
            result.stopped = f"fewer than {MIN_CASES} cases of interest lie outside the boxes found"
            break
        box = finder.find_box()
        if box is None:
            result.stopped = "no runs remain outside the boxes found"
            break
        if len(box.peeling_trajectory) == 1:  # PRIM's "dump box": its smallest box missed the threshold
            result.stopped = f"PRIM found no box {number} whose smallest box reaches density {settings.min_density:g}"
            break
        # coverage counts all cases of interest; a later box can only cover those left outside the earlier ones
        chosen = choose_on_trajectory(box.peeling_trajectory, settings.min_coverage * remaining / k)
        box.select(chosen)
        trajectory = box.peeling_trajectory.copy()  # before dropping: the figure shows PRIM's own peeling
        if int(trajectory.at[chosen, "res_dim"]) == 0:
            result.stopped = (
                f"box {number} would restrict no input while keeping {100 * settings.min_coverage:.0f}% of the"
                " cases left: they are spread over the whole space"
            )
            break
        dropped = drop_weak_restrictions(box, settings.max_qp)
        density = float(box.peeling_trajectory.iloc[-1]["density"])
        if not _firm(box, settings.max_qp):
            result.stopped = f"box {number} keeps no restriction with a quasi-p value <= {settings.max_qp:g}"
            break
        if density < settings.min_density:
            result.stopped = (
                f"the best box {number} (keeping {100 * settings.min_coverage:.0f}% of the {remaining} cases left)"
                f" has density {100 * density:.0f}%, below --min-density {settings.min_density:g}"
            )
            break
        result.boxes.append(_box(number, box, chosen, trajectory, dropped, remaining, ranges))
    else:
        result.stopped = f"--boxes {settings.max_boxes} reached"
    return result


def drop_weak_restrictions(box, max_qp: float) -> list[str]:
    """Drop the box's restrictions whose quasi-p value exceeds max_qp, until every one left is below it.

    Peeling trims a little off many inputs on its way; a trim that a box of the same size
    would often show by chance (quasi-p above 0.05, Bryant and Lempert 2010) says nothing
    about the outcome and makes the box harder to read, so it goes (the EMA workbench's
    ``drop_restriction``), and the others' quasi-p values are computed again.
    """
    dropped: list[str] = []
    while True:  # one at a time, weakest first: a trim weak alone may matter once another is gone
        _, table = box.inspect(style="data")[0]
        qp = table.iloc[:, 2:].min(axis=1, skipna=True).fillna(1.0)
        if len(qp) <= 1 or qp.max() <= max_qp:
            return dropped
        name = str(qp.idxmax())
        box.drop_restriction(name)
        dropped.append(name)


def _firm(box, max_qp: float) -> bool:
    """True when the box's current restrictions are all firm (quasi-p at most max_qp), and there is one."""
    _, table = box.inspect(style="data")[0]
    qp = table.iloc[:, 2:].min(axis=1, skipna=True).fillna(1.0)
    return len(qp) > 0 and bool(qp.max() <= max_qp)


def _range(column) -> tuple[Any, Any]:
    if str(column.dtype) == "category":
        return tuple(sorted(set(column.astype(str)))), None
    return column.min(), column.max()


def _box(number, box, chosen, trajectory, dropped, remaining, ranges) -> Box:
    stats, table = box.inspect(style="data")[0]
    limits = []
    for name in table.index:
        low, high, qp_low, qp_high = table.loc[name].to_numpy().tolist()
        qp = [q for q in (qp_low, qp_high) if q is not None and not (isinstance(q, float) and math.isnan(q))]
        limit = {"name": name, "label": input_label(name), "range": ranges[name], "qp_value": min(qp) if qp else math.nan}
        if isinstance(low, set | frozenset):  # a category: the values kept in the box
            limit.update(low=sorted(str(v) for v in low), high=None)
        else:
            limit.update(low=float(low), high=float(high))
        limits.append(limit)
    trajectory = trajectory[["coverage", "density", "mass", "res_dim", "n", "k"]].copy()
    trajectory.insert(0, "box", number)
    trajectory.insert(1, "point", range(len(trajectory)))
    return Box(
        number, chosen, float(stats["coverage"]), float(stats["density"]), float(stats["mass"]),
        int(stats["n"]), int(stats["k"]), limits, trajectory, dropped, remaining,
    )  # fmt: skip


def input_label(name: str) -> str:
    """An input's plain-language label (the workshop page's words), or its name."""
    from viz.labels import parameter_label

    return parameter_label(name)


# ---------------------------------------------------------------------------- writing
def write_discovery(result: Discovery, out: str | Path) -> list[Path]:
    """boxes.csv, trajectory.csv, peeling and box figures (PNG and SVG) and discover.md in OUT."""
    import pandas as pd

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    rows = []
    for box in result.boxes:
        for lim in box.limits:
            categorical = isinstance(lim["low"], list)
            rows.append(
                {
                    "box": box.number,
                    "input": lim["name"],
                    "label": lim["label"],
                    "low": math.nan if categorical else lim["low"],
                    "high": math.nan if categorical else lim["high"],
                    "values": " ".join(lim["low"]) if categorical else "",
                    "design_low": math.nan if categorical else float(lim["range"][0]),
                    "design_high": math.nan if categorical else float(lim["range"][1]),
                    "qp_value": lim["qp_value"],
                    "coverage": box.coverage,
                    "density": box.density,
                    "mass": box.mass,
                }
            )
    columns = ["box", "input", "label", "low", "high", "values", "design_low", "design_high", "qp_value",
               "coverage", "density", "mass"]  # fmt: skip
    from experiments.columns import DISCOVER_COLUMNS, write_dictionary

    boxes = pd.DataFrame(rows, columns=columns)
    write_csv_atomic(out / "boxes.csv", boxes)
    files += [out / "boxes.csv", write_dictionary(out / "boxes.csv", boxes, DISCOVER_COLUMNS)]
    if result.boxes:
        trajectory = pd.concat([b.trajectory for b in result.boxes], ignore_index=True)
    else:
        trajectory = pd.DataFrame(columns=["box", "point", "coverage", "density", "mass", "res_dim", "n", "k"])
    write_csv_atomic(out / "trajectory.csv", trajectory)
    files += [out / "trajectory.csv", write_dictionary(out / "trajectory.csv", trajectory, DISCOVER_COLUMNS)]
    for box in result.boxes:
        files += _write_figure(peeling_figure(result, box), out / f"peeling-box{box.number}")
        files += _write_figure(box_figure(result, box), out / f"box{box.number}")
    write_text_atomic(out / "discover.md", discover_report(result, files))
    files.append(out / "discover.md")
    return files


def _write_figure(fig, stem: Path) -> list[Path]:
    write_figure_atomic(fig, stem.with_suffix(".png"))  # PNG, and SVG beside it
    return [stem.with_suffix(".png"), stem.with_suffix(".svg")]


def peeling_figure(result: Discovery, box: Box):
    """Coverage against density along the peeling trajectory, coloured by inputs restricted; the chosen box ringed."""
    plt = pyplot()
    t = box.trajectory
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    dims = t["res_dim"].to_numpy()
    cmap = plt.get_cmap("viridis", max(int(dims.max()), 1) + 1)  # viridis: readable in colour-blindness and in grey
    points = ax.scatter(100 * t["coverage"], 100 * t["density"], c=dims, cmap=cmap, vmin=-0.5,
                        vmax=int(dims.max()) + 0.5, s=22, edgecolors="none")  # fmt: skip
    c = t.iloc[box.chosen]
    ax.scatter([100 * c["coverage"]], [100 * c["density"]], s=140, facecolors="none", edgecolors="black", lw=1.4,
               label=f"chosen on the trajectory ({int(c['res_dim'])} inputs)")  # fmt: skip
    ax.scatter([100 * box.coverage], [100 * box.density], s=120, marker="*", color="#D55E00",
               label=f"reported, weak restrictions dropped ({len(box.limits)} inputs)")  # fmt: skip
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    base = 100 * result.cases / result.runs
    ax.axhline(base, color="0.5", lw=0.8, ls="--")
    ax.text(2, base + 1, f"share of all runs: {base:.0f}%", fontsize=8, color="0.35")
    ax.set_xlim(0, 102)
    ax.set_ylim(0, 102)
    ax.set_xlabel("coverage: cases of interest inside the box (% of all cases)")
    ax.set_ylabel("density: cases of interest among the box's runs (%)")
    ax.set_title(f"Peeling trajectory, box {box.number}: {_goal(result.settings)}", fontsize=10)
    bar = fig.colorbar(points, ax=ax, ticks=range(int(dims.max()) + 1))
    bar.set_label("inputs restricted")
    return fig


def box_figure(result: Discovery, box: Box):
    """Each restricted input: its range in the design (grey) and in the box (coloured), with its quasi-p value."""
    plt = pyplot()
    limits = box.limits
    fig, ax = plt.subplots(figsize=(7.4, 0.55 * len(limits) + 1.4))
    for i, lim in enumerate(reversed(limits)):
        ax.barh(i, 1.0, left=0.0, color="0.88", height=0.55)
        if isinstance(lim["low"], list):
            values, _ = lim["range"]
            inside = [v in lim["low"] for v in values]
            width = 1 / len(values)
            for j, kept in enumerate(inside):
                if kept:
                    ax.barh(i, width * 0.9, left=j * width, color="#0072B2", height=0.55)
            text = ", ".join(lim["low"])
        else:
            lo, hi = (float(v) for v in lim["range"])
            scale = (hi - lo) or 1.0
            ax.barh(i, (lim["high"] - lim["low"]) / scale, left=(lim["low"] - lo) / scale, color="#0072B2",
                    height=0.55)  # fmt: skip
            text = f"{_num(lim['low'])} to {_num(lim['high'])} (design {_num(lo)} to {_num(hi)})"
        qp = lim["qp_value"]
        flag = f"qp {qp:.2g}" if math.isfinite(qp) else ""
        ax.text(1.02, i, f"{text}  {flag}", va="center", fontsize=8)
    ax.set_yticks(range(len(limits)))
    ax.set_yticklabels([_short(lim["label"]) for lim in reversed(limits)], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.5, 1])
    ax.set_xticklabels(["low end", "middle", "high end"], fontsize=8)
    ax.set_xlabel("position in the design's range of each input")
    ax.set_title(
        f"Box {box.number}: {_goal(result.settings)}\ncoverage {100 * box.coverage:.0f}%,"
        f" density {100 * box.density:.0f}% ({box.cases} of {box.runs} runs in the box)",
        fontsize=10,
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def _short(label: str, width: int = 48) -> str:
    return label if len(label) <= width else label[: width - 1].rstrip() + "…"


def _num(v: float) -> str:
    return f"{v:.3g}"


def _goal(settings: DiscoverySettings) -> str:
    return f"{settings.outcome} {settings.direction} {settings.threshold:g}"


def discover_report(result: Discovery, files: list[Path]) -> str:
    """discover.md: what was asked, what PRIM found, in words, with every term defined once."""
    s = result.settings
    meaning = SUMMARY_MEANINGS.get(s.outcome, s.outcome)
    share = 100 * result.cases / result.runs
    lines = [
        f"# Scenario discovery: which inputs give {s.outcome} {s.direction} {s.threshold:g}",
        "",
        (f"Sweep: `{result.sweep}`. Outcome: `{s.outcome}` ({meaning}); across the sweep it ranges from"
        f" {result.outcome_range[0]:.3g} to {result.outcome_range[1]:.3g}."),
        "",
        f"Of {result.runs} runs, **{result.cases} ({share:.0f}%)** have {s.outcome} {s.direction} {s.threshold:g}:"
        " these are the *cases of interest*."
        + (f" {result.dropped} run(s) were left out (failed, or the outcome undefined)." if result.dropped else ""),
        "",
        "PRIM (the patient rule induction method, as the EMA workbench implements it) looks for a *box*: a"
        " range for some inputs inside which cases of interest are common. *Coverage* is the share of all"
        " cases of interest that fall inside the box; *density* is the share of the box's runs that are cases"
        " of interest (compare it with the share of all runs above). Narrowing a box raises density and lowers"
        f" coverage; the box reported is the densest on PRIM's trajectory that keeps at least"
        f" {100 * s.min_coverage:.0f}% coverage, without the restrictions that are weak evidence (below)"
        + (f", and only if its density reaches {100 * s.min_density:.0f}%." if s.min_density > 0 else ".")
        + " The *quasi-p value* of a restriction says how likely a box that much denser would arise by chance"
        f" if that input did not matter (Bryant and Lempert 2010); restrictions above {s.max_qp:g} are dropped.",
        "",
    ]
    if not result.boxes:
        lines += [f"**No box found**: {result.stopped}.", ""]
    for box in result.boxes:
        lines += [
            f"## Box {box.number}: coverage {100 * box.coverage:.0f}%, density {100 * box.density:.0f}%",
            "",
            (f"{box.runs} runs ({100 * box.mass:.0f}% of all) lie in the box; {box.cases} of them are cases of"
            f" interest. Inside it, {100 * box.density:.0f}% of runs reach the outcome, against {share:.0f}% over"
            " the whole sweep."),
            "",
            "| input | in the box | design range | quasi-p |",
            "|---|---|---|---|",
        ]
        for lim in box.limits:
            if isinstance(lim["low"], list):
                inside, design = ", ".join(lim["low"]), ", ".join(lim["range"][0])
            else:
                inside = f"{_num(lim['low'])} to {_num(lim['high'])}"
                design = f"{_num(float(lim['range'][0]))} to {_num(float(lim['range'][1]))}"
            qp = lim["qp_value"]
            lines.append(
                f"| {lim['label']} (`{lim['name']}`) | {inside} | {design} | {qp:.2g} |"
                if math.isfinite(qp)
                else f"| {lim['label']} (`{lim['name']}`) | {inside} | {design} | |"
            )
        lines += ["", "In words: " + _in_words(box, result) + ".", ""]
        if box.dropped:
            c = box.trajectory.iloc[box.chosen]
            lines += [
                f"On PRIM's trajectory the chosen box restricted {int(c['res_dim'])} inputs (coverage"
                f" {100 * c['coverage']:.0f}%, density {100 * c['density']:.0f}%). {len(box.dropped)} of those"
                " restrictions were small trims whose quasi-p values stayed above"
                f" {s.max_qp:g} and were dropped, weakest first: "
                + ", ".join(f"`{name}`" for name in box.dropped)
                + ". Together they may still matter (the difference in density above); singly, none is firm.",
                "",
            ]
        if box.number > 1:
            lines += [
                (f"Box {box.number} was sought among the runs outside the earlier boxes ({box.remaining} cases of"
                " interest were left): its density counts those runs only; its coverage is a share of all cases."),
                "",
            ]
        lines += [f"![Box {box.number}](box{box.number}.png)", f"![Peeling trajectory](peeling-box{box.number}.png)",
                  ""]  # fmt: skip
    if result.boxes and result.stopped:
        lines += [f"No further box: {result.stopped}.", ""]
    lines += [
        "## Files",
        "",
        ("- `boxes.csv`: one row per restricted input of each box (limits, the design's range, quasi-p value,"
        " the box's coverage, density and mass)."),
        ("- `trajectory.csv`: every point of each peeling trajectory (coverage, density, mass, inputs restricted,"
        " runs `n` and cases `k` in the box), the pasting steps after the last peel included."),
        "- `box*.png|svg`, `peeling-box*.png|svg`: the figures; `*.columns.json`: what each column of the tables means.",
        "",
        (f"Settings: peel alpha {s.peel_alpha:g} (each peeling step removes that share of the runs still in the"
        f" box, from one end of one input), paste alpha {s.paste_alpha:g} (each pasting step may add back that"
        f" share), minimum mass {s.mass_min:g} (peeling stops at a box of that share of all runs), minimum density"
        f" {s.min_density:g}, largest quasi-p {s.max_qp:g}, minimum coverage {s.min_coverage:g}, at most"
        f" {s.max_boxes} box(es). Each replicate of a design point counts as a run; inputs held fixed by the"
        " sweep are not candidates."),
        "",
        ("References: Friedman J.H., Fisher N.I. (1999) Bump hunting in high-dimensional data. Statistics and"
        " Computing 9:123-143. Bryant B.P., Lempert R.J. (2010) Thinking inside the box: a participatory,"
        " computer-assisted approach to scenario discovery. Technological Forecasting and Social Change"
        " 77:34-49. Kwakkel J.H. (2017) The Exploratory Modeling Workbench. Environmental Modelling & Software"
        " 96:239-250."),
        "",
    ]
    return "\n".join(lines)


def _in_words(box: Box, result: Discovery) -> str:
    parts = []
    for lim in box.limits:
        label = lim["label"][0].lower() + lim["label"][1:]
        if isinstance(lim["low"], list):
            parts.append(f"{label} is {' or '.join(lim['low'])}")
            continue
        lo, hi = (float(v) for v in lim["range"])
        at_low, at_high = lim["low"] <= lo + 1e-9 * max(1, abs(lo)), lim["high"] >= hi - 1e-9 * max(1, abs(hi))
        if at_low and not at_high:
            parts.append(f"{label} is at most {_num(lim['high'])}")
        elif at_high and not at_low:
            parts.append(f"{label} is at least {_num(lim['low'])}")
        else:
            parts.append(f"{label} is between {_num(lim['low'])} and {_num(lim['high'])}")
    goal = f"{result.settings.outcome} is {result.settings.direction} {result.settings.threshold:g}"
    where = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{goal} in {100 * box.density:.0f}% of runs where {where}"


__all__ = [
    "Box",
    "DiscoverError",
    "Discovery",
    "DiscoverySettings",
    "case_of_interest",
    "choose_on_trajectory",
    "discover",
    "discover_in",
    "write_discovery",
]

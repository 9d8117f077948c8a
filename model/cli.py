"""The ``phc-synergy`` command: list parameters and scenarios, run the model, write its outputs.

    phc-synergy params [--format table|json]
    phc-synergy scenarios [--run] [--seeds N] [--out DIR]
    phc-synergy run [--scenario NAME|FILE] [--set NAME=VALUE ...] [--steps N] [--seed S]
                    [--out FILE.csv|FILE.parquet] [--summary FILE.json]
    phc-synergy sweep SPEC.toml --out DIR [--workers N | --scheduler tcp://HOST:PORT] [--resume]
    phc-synergy export DIR --format csv|behaviorspace|behaviorspace-spreadsheet [--out FILE] [--partial]
    phc-synergy sensitivity SPEC.toml --out DIR [--workers N | --scheduler tcp://HOST:PORT] [--resume]
    phc-synergy compare SCENARIO... | --config CASES.toml [--replicates R] --out DIR [engine options] [--resume]
    phc-synergy discover SWEEP_DIR --outcome NAME --above X|--below X --out DIR [PRIM options]
    phc-synergy main [--out results] [--workers N]
    phc-synergy calibrate CASE.toml --out DIR [--params NAME,...] [--population P]
                          [--generations G | --max-simulations M] [engine options] [--resume]
    phc-synergy viz [--host H] [--port P] [--scenarios DIR] [--token T | --no-token]

Every user error prints one line, ``phc-synergy: error: <message>``, on stderr and
exits with status 2. Files are written to a temporary name in the target folder and
then renamed, so an output file is either complete or absent. An engine that stops
part-way (a lost Dask scheduler) prints one line saying what is stored and exits
with status 1; output cut short by a closed pipe (``phc-synergy params | head``)
ends quietly with status 141, as a Unix tool killed by SIGPIPE does.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import math
import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import InputFileError
from model.parameters import LEVELS, PARAMETERS, ParameterError, validate_parameters
from model.scenarios import list_scenarios, load_scenario
from model.seeds import SEED_RULE, parse_seed

PROG = "phc-synergy"
DISTRIBUTION = "phc-synergy"
SERIES_FORMATS = (".csv", ".parquet")
DEFAULT_SEEDS = 5
DEFAULT_DRAWS = 100
MAX_ENSEMBLE = 100_000  # --seeds, --draws, --replicates: as many as a sweep's replicates may be
SIGPIPE_STATUS = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away

# Per-step outputs that count things (written as integers; every other output is a float).
INTEGER_OUTPUTS = frozenset({"draw", "step", "active_seats", "cumulative_members", "departures"})

# The summary outputs `scenarios --run` reports (medians over seeds), and the share sustained.
SCENARIO_COLUMNS: tuple[str, ...] = (
    "final_access",
    "access_gain",
    "mean_synergy",
    "months_to_synergy",
    "synergy_access_lag",
    "retention",
    "final_seats",
    "cumulative_members",
)


class UserError(Exception):
    """A mistake in what the user asked for: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so main() reports every error the same way.

    The message is one line (argparse would add its usage after it): the subcommand, what is
    wrong, and where the usage is.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog[len(PROG) :].strip()
        where = f"{command}: " if command else ""
        raise UserError(f"{where}{message}; see '{self.prog} --help'")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        # argparse reports arguments no subcommand took on the top parser; name the subcommand instead
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            prog = f"{PROG} {command}" if command else PROG
            where = f"{command}: " if command else ""
            raise UserError(f"{where}unrecognized arguments: {' '.join(extras)}; see '{prog} --help'")
        return parsed


# ---------------------------------------------------------------------------- entry point
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 user error, 1 an engine that stopped)."""
    try:
        status = _main(argv)
        sys.stdout.flush()  # here, where a closed pipe can still be caught, not at the interpreter's exit
        return status
    except BrokenPipeError:
        _quiet_streams()
        return SIGPIPE_STATUS


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
        if args.command is None:
            commands = ", ".join(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
            return _fail(f"name a command: {commands}; see '{PROG} --help'")
        return args.handler(args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except (UserError, ParameterError, InputFileError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _quiet_streams() -> None:
    """After a closed pipe: point stdout and stderr at /dev/null, so nothing more fails or is printed.

    Python flushes stdout once more at exit; on the closed pipe that would print
    'Exception ignored ... BrokenPipeError' (the recipe of the Python docs, signal module).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # a test's captured stream has no fileno
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


def _engine_stopped(exc: Exception, runs: Path) -> int:
    """An engine that stopped part-way (exit 1), in one line: what happened, what is stored, how to continue."""
    return _stopped(f"{exc}; {_stored_runs_text(runs)}; run the same command with --resume to continue")


def _stored_runs_text(runs: Path) -> str:
    from experiments.store import StoreError, stored_count

    try:
        done, total = stored_count(runs)
    except (StoreError, OSError):
        return f"nothing is stored in {str(runs)!r} yet"
    return f"{done} of {total} runs are stored in {str(runs)!r}"


def _stopped(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


def _fail(message: str) -> int:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
    return 2


def _one_line(message: str) -> str:
    """A message on one line: a value quoted with a newline in it (a file name, a TOML string) stays one line."""
    return " ".join(message.splitlines()) if "\n" in message or "\r" in message else message


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="An agent-based model of synergy in multi-stakeholder primary health care partnerships.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("params", help="list every model parameter (default, bounds, unit, level, meaning)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.set_defaults(handler=cmd_params)

    p = sub.add_parser("scenarios", help="list the shipped scenarios; with --run, run each and compare")
    p.add_argument("--run", action="store_true", help="run every scenario for --seeds seeds and print medians")
    p.add_argument("--seeds", metavar="N", help=f"seeds per scenario, 0..N-1 (default: {DEFAULT_SEEDS})")
    p.add_argument(
        "--out", metavar="DIR", help="write DIR/scenarios.csv (one row per run) and DIR/scenarios_summary.csv"
    )
    p.set_defaults(handler=cmd_scenarios)

    p = sub.add_parser("run", help="run the model once and write its per-step series and summary")
    p.add_argument(
        "--scenario", metavar="NAME|FILE", default="default", help="shipped scenario or .toml file (default: default)"
    )
    p.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="set a parameter (repeatable), e.g. --set seats=12 --set composition=clinician:3,academic:2",
    )
    p.add_argument("--steps", metavar="N", help="months to simulate (the 'steps' parameter)")
    p.add_argument(
        "--seed", metavar="S", help="run seed, an integer in [0, 2^63 - 1] (default: drawn at random and printed)"
    )
    p.add_argument("--out", metavar="FILE", help="write the per-step series to FILE.csv or FILE.parquet")
    p.add_argument("--summary", metavar="FILE", help="write the run summary (seed, outcomes, every parameter) as JSON")
    p.add_argument(
        "--posterior",
        action="store_true",
        help="the scenario is a calibrated.toml: run an ensemble over its posterior (draw k with seed k of --seed)",
    )
    p.add_argument(
        "--draws", metavar="N", help=f"with --posterior: the number of posterior draws (default {DEFAULT_DRAWS})"
    )
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser(
        "sweep",
        help="run the runs of a sweep spec (grid, lhs, sobol, morris) and store them in a folder of Parquet chunks",
        description="Run a sweep spec (see experiments/configs/example_sweep.toml). Runs are stored as they finish;"
        " a sweep that stopped is continued with --resume.",
    )
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep spec")
    p.add_argument(
        "--out", metavar="DIR", required=True, help="the sweep folder (new or empty, or the sweep to resume)"
    )
    p.add_argument(
        "--workers",
        metavar="N",
        help="1 = serial, in this process (default); N > 1 = a local Dask cluster of N processes",
    )
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster")
    p.add_argument("--resume", action="store_true", help="continue the sweep in DIR: run only the runs not stored yet")
    p.add_argument("--batch-size", metavar="N", help="runs per task (default: up to 150, fewer for small sweeps)")
    p.add_argument("--chunk-runs", metavar="N", help="write a Parquet chunk every N finished runs (default: 2000) ...")
    p.add_argument("--chunk-seconds", metavar="S", help="... or every S seconds, whichever comes first (default: 30)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(handler=cmd_sweep)

    p = sub.add_parser(
        "export",
        help="write a sweep's runs as a flat CSV table or in a NetLogo BehaviorSpace layout (table, spreadsheet)",
        description="csv: one row per run (every column of the run table). behaviorspace: BehaviorSpace's 'table'"
        " format: one row per run per month when the sweep kept per-step series (the run-summary outputs on its"
        " last month), else one row per run at its last month, with [run number], the varied parameters, [step],"
        " the outputs, then point_id, replicate, seed, seed_hi and seed_lo (seed = seed_hi * 2^32 + seed_lo); the"
        " constants are in the header lines. behaviorspace-spreadsheet: BehaviorSpace's 'spreadsheet' format: one"
        " column per run and metric, [final], [min], [max], [mean], [steps], then the months.",
    )
    p.add_argument(
        "dir", metavar="DIR", help="a sweep folder, or the --out folder of sensitivity, compare or validate"
    )
    p.add_argument(
        "--format", choices=("csv", "behaviorspace", "behaviorspace-spreadsheet"), required=True, help="the layout"
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="default: DIR/runs.csv (csv), DIR/behaviorspace.csv or DIR/behaviorspace-spreadsheet.csv",
    )
    p.add_argument(
        "--partial",
        action="store_true",
        help="export a sweep that does not hold all its runs yet (refused without it); the header says so",
    )
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser(
        "sensitivity",
        help="Morris or Sobol' sensitivity analysis of a sweep spec: indices.csv, figures and report.md",
        description="Runs the spec's sweep into DIR/sweep (resumable with --resume), then analyses it with SALib:"
        " Morris (mu*, sigma) or Sobol' (S1, ST on replicate means, bootstrap CIs), by the spec's design.",
    )
    p.add_argument("spec", metavar="SPEC.toml", help="a sweep spec with a morris or sobol design")
    p.add_argument("--out", metavar="DIR", required=True, help="the output folder (the sweep goes to DIR/sweep)")
    _engine_options(p)
    p.set_defaults(handler=cmd_sensitivity)

    p = sub.add_parser(
        "compare",
        help="compare scenarios (or the variants of a config) with paired replicates: tables and fan charts",
        description="Each scenario runs the same R replicate seeds; writes summary.csv, differences.csv (paired,"
        " against the first scenario), fan_synergy.png, fan_access.png and compare.md into DIR.",
    )
    p.add_argument("scenarios", metavar="SCENARIO", nargs="*", help="shipped scenario names or scenario .toml files")
    p.add_argument(
        "--config", metavar="CASES.toml", help="a file of named variants (see experiments/configs/cases.toml)"
    )
    p.add_argument("--replicates", metavar="R", help="replicates per scenario (default: 20, or the config's)")
    p.add_argument("--steps", metavar="N", help="months per run (scenarios only; default: each scenario's)")
    p.add_argument("--seed", metavar="S", help="root seed of the replicate seeds (default: 20211, or the config's)")
    p.add_argument("--out", metavar="DIR", required=True, help="the output folder (runs go to DIR/sweep)")
    _engine_options(p)
    p.set_defaults(handler=cmd_compare)

    p = sub.add_parser(
        "main",
        help="the main job: the case comparison plus the Morris screening, with results/report.md",
        description="Runs experiments/configs/cases.toml and structures_morris.toml (resuming what is stored) and"
        " writes OUT/report.md linking both reports and their figures.",
    )
    p.add_argument("--out", metavar="DIR", default="results", help="the output folder (default: results)")
    p.add_argument("--workers", metavar="N", help="local Dask workers (default: 2, or 1 on a 1-core machine)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=cmd_main)

    p = sub.add_parser(
        "validate",
        help="run every pattern with its causal, horizon and robustness checks: validation.md, CSVs, figures",
        description="Runs the pattern checks of docs/ODD.md 1.2 (P1-P5 and the mechanisms) as one sweep into"
        " DIR/sweep (resumable with --resume, on --workers or --scheduler), with each mechanics constant moved by"
        " -30%% and +30%% and a Morris screening of the constants (skipped with --quick), then writes"
        " DIR/validation.md, validation.csv, robustness.csv, constants_morris.csv and figures.",
    )
    p.add_argument("--out", metavar="DIR", required=True, help="the output folder (the runs go to DIR/sweep)")
    p.add_argument("--replicates", metavar="R", help="replicates per arm (default: 16; --quick: 8)")
    p.add_argument("--quick", action="store_true",
                   help="defaults only: no robustness runs, no Morris, horizons 60 and 120 (as the tests run it)")
    p.add_argument("--only", metavar="CHECK,...", help="run only these checks (e.g. P1-lag,P5-recovery)")
    _engine_options(p)
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser(
        "discover",
        help="scenario discovery (PRIM) on a finished sweep: which inputs give an outcome above or below X",
        description="Runs PRIM (the EMA workbench's; the 'ema' extra) on a sweep's run table: a run is a case of"
        " interest when OUTCOME is above (or below) X; PRIM finds boxes of the varied inputs where such runs are"
        " dense. Writes DIR/discover.md (in words), boxes.csv, trajectory.csv and figures (PNG and SVG).",
    )
    p.add_argument("sweep", metavar="SWEEP_DIR", help="a sweep folder (or the --out folder of sensitivity or compare)")
    p.add_argument("--outcome", required=True, help="a run-summary output (e.g. final_access, access_gain)")
    side = p.add_mutually_exclusive_group(required=True)
    side.add_argument("--above", metavar="X", help="cases of interest: OUTCOME > X")
    side.add_argument("--below", metavar="X", help="cases of interest: OUTCOME < X")
    p.add_argument("--out", metavar="DIR", required=True, help="the output folder (created if missing)")
    p.add_argument("--boxes", metavar="N", help="at most N boxes, each among the runs the earlier ones leave (default: 2)")
    p.add_argument("--min-coverage", metavar="C", help="the box reported keeps at least this share of the cases (default: 0.5)")
    p.add_argument("--max-qp", metavar="Q", help="drop restrictions with a quasi-p value above Q (default: 0.05)")
    p.add_argument("--min-density", metavar="D", help="report a box only when at least this dense (default: 0, any)")
    p.add_argument("--peel-alpha", metavar="A", help="share peeled off per step (default: 0.05)")
    p.add_argument("--mass-min", metavar="M", help="smallest box, as a share of all runs (default: 0.05)")
    p.set_defaults(handler=cmd_discover)

    from calibration.cli import add_parser as add_calibrate_parser  # imports neither pyabc nor the model

    add_calibrate_parser(sub)

    p = sub.add_parser(
        "viz",
        help="start the workshop page (Solara, works offline) in the browser",
        description="Serves the workshop page (viz/app.py) until Ctrl-C; open the address it prints. Nothing is"
        " fetched from the internet: front-end files come from the solara-assets package and telemetry is off.",
    )
    from viz.serve import add_arguments as add_viz_arguments  # standard library only: no solara, no model

    add_viz_arguments(p)
    p.set_defaults(handler=cmd_viz)
    return parser


def cmd_viz(args: argparse.Namespace) -> int:
    port = _positive_int("--port", args.port)
    if port > 65535:
        raise UserError(f"--port {args.port!r} is not allowed: an integer in [1, 65535]")
    if args.token is not None and args.no_token:
        raise UserError("--token and --no-token cannot be given together: choose one")
    from viz.serve import serve  # prints its own one-line errors (--scenarios, --token) and returns 2

    return serve(args.host, port, scenarios=args.scenarios, token=args.token, no_token=args.no_token)


def _engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers",
        metavar="N",
        help="1 = serial, in this process (default); N > 1 = a local Dask cluster of N processes",
    )
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster")
    p.add_argument("--resume", action="store_true", help="continue the runs stored in DIR/sweep")
    p.add_argument("--quiet", action="store_true", help="no progress line")


def _engine_args(args: argparse.Namespace, default_workers: int = 1) -> tuple[int, str | None]:
    """--workers and --scheduler, checked (one or the other; a worker count this machine can run; an address)."""
    from experiments.engine import cpu_count

    if args.workers is not None and args.scheduler is not None:
        raise UserError("give --workers N (a local cluster) or --scheduler ADDRESS (an existing one), not both")
    # more local worker processes than 4 per core only slow a sweep down (and thousands would stall the machine)
    most = 4 * cpu_count()
    workers = (
        _positive_int("--workers", args.workers, most, f"{most} (4 per core here)")
        if args.workers is not None
        else default_workers
    )
    scheduler = _scheduler(args.scheduler) if args.scheduler is not None else None
    return workers, scheduler


def _scheduler(text: str) -> str:
    from experiments.engine import SchedulerAddressError, check_scheduler_address

    try:
        return check_scheduler_address(text)
    except SchedulerAddressError as exc:
        raise UserError(
            f"--scheduler {text!r} is not allowed: {exc}; expected SCHEME://HOST:PORT (SCHEME tcp, tls, ws or wss;"
            " PORT in 1..65535), e.g. tcp://127.0.0.1:8786"
        ) from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "(not installed)"


# ---------------------------------------------------------------------------- params
def cmd_params(args: argparse.Namespace) -> int:
    if args.format == "json":
        rows = [
            {
                "name": p.name,
                "default": p.default,
                "low": p.low,
                "high": p.high,
                "unit": p.unit,
                "level": p.level,
                "kind": {int: "int", float: "float", dict: "table"}[p.kind],
                "allowed": p.allowed(),
                "meaning": p.meaning,
            }
            for p in PARAMETERS.values()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    rows = [
        (p.name, _fmt_value(p.default), _bounds(p), p.unit, p.meaning)
        for level in LEVELS
        for p in PARAMETERS.values()
        if p.level == level
    ]
    header = ("name", "default", "bounds", "unit", "meaning")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)) + "  " + header[-1]
    print(line)
    for level in LEVELS:
        members = [p for p in PARAMETERS.values() if p.level == level]
        if not members:
            continue
        print(f"\n[{level}]")
        for p in members:
            cells = (p.name, _fmt_value(p.default), _bounds(p), p.unit)
            print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + p.meaning)
    return 0


def _bounds(p: Any) -> str:
    if p.kind is dict:
        return "type:weight,..."
    low = "-inf" if p.low is None else _fmt_value(p.low)
    high = "inf" if p.high is None else _fmt_value(p.high)
    return f"[{low}, {high}]"


def _fmt_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "null"  # undefined, as the --summary JSON writes it
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, dict):
        return _composition_text(value)
    return str(value)


def _composition_text(value: dict | None) -> str:
    """A composition in the --set syntax: 'academic:5,clinician:4'."""
    if not value:
        return ""
    return ",".join(f"{k}:{_fmt_value(float(v))}" for k, v in value.items())


# ---------------------------------------------------------------------------- scenarios
def cmd_scenarios(args: argparse.Namespace) -> int:
    scenarios = list_scenarios()
    if not args.run:
        if args.seeds is not None or args.out is not None:
            raise UserError("--seeds and --out need --run")
        width = max(len(name) for name, _ in scenarios)
        for name, description in scenarios:
            print(f"{name.ljust(width)}  {description}")
        return 0

    n_seeds = _positive_int("--seeds", args.seeds, MAX_ENSEMBLE) if args.seeds is not None else DEFAULT_SEEDS
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {str(out_dir)!r}: cannot create the folder: {exc.strerror or exc}") from None
    params = {name: load_scenario(name) for name, _ in scenarios}  # all files checked before any run

    from model.model import PartnershipModel

    runs: list[dict[str, Any]] = []
    for name, _ in scenarios:
        for seed in range(n_seeds):
            summary = PartnershipModel(seed=seed, **params[name]).run()
            runs.append({"scenario": name, **summary})

    summary_rows = []
    for name, _ in scenarios:
        mine = [r for r in runs if r["scenario"] == name]
        row: dict[str, Any] = {"scenario": name, "runs": len(mine)}
        for col in SCENARIO_COLUMNS:
            row[col] = _median([r[col] for r in mine])
        row["sustained_share"] = sum(bool(r["sustained"]) for r in mine) / len(mine)
        summary_rows.append(row)

    header = list(summary_rows[0])
    cells = [[_fmt_cell(r[h]) for h in header] for r in summary_rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    print(f"medians over seeds 0..{n_seeds - 1} (sustained_share: share of runs not dissolved)")
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))))
    for c in cells:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths, strict=True))))

    if out_dir is not None:
        run_header = list(runs[0])
        _write_atomic(out_dir / "scenarios.csv", lambda f: _write_csv(f, run_header, runs))
        _write_atomic(out_dir / "scenarios_summary.csv", lambda f: _write_csv(f, header, summary_rows))
        from experiments import columns

        for table, names, rows in (("scenarios.csv", run_header, runs), ("scenarios_summary.csv", header, summary_rows)):
            kinds = [(h, type(rows[0][h]).__name__) for h in names]
            columns.write_dictionary(out_dir / table, kinds, columns.SCENARIO_COLUMNS)
        print(f"wrote {out_dir / 'scenarios.csv'} ({len(runs)} runs) and {out_dir / 'scenarios_summary.csv'}")
    return 0


def _median(values: Iterable[Any]) -> float:
    """Median of the defined values (NaN and None ignored); NaN when none is defined."""
    defined = sorted(float(v) for v in values if v is not None and not _isnan(v))
    if not defined:
        return math.nan
    mid = len(defined) // 2
    return defined[mid] if len(defined) % 2 else 0.5 * (defined[mid - 1] + defined[mid])


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _fmt_cell(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return _fmt_value(value)


def _csv_value(value: Any) -> str:
    """One CSV cell: full precision numbers, empty for missing, compositions in the --set syntax."""
    value = _plain(value)
    if value is None or _isnan(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return _composition_text(value)
    return str(value)


def _write_csv(f: Any, header: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    import csv

    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(row.get(h)) for h in header])


# ---------------------------------------------------------------------------- sweep, export
def cmd_sweep(args: argparse.Namespace) -> int:
    # The options, the spec (with every design point) and the folder are checked before any run starts.
    from experiments.engine import EngineError, EngineStartError
    from experiments.spec import SpecError, load_spec
    from experiments.store import StoreError
    from experiments.sweep import DEFAULT_CHUNK_SECONDS, Progress, run_sweep

    workers, scheduler = _engine_args(args)
    options: dict[str, Any] = {}
    if args.batch_size is not None:
        options["batch_size"] = _positive_int("--batch-size", args.batch_size)
    if args.chunk_runs is not None:
        options["chunk_runs"] = _positive_int("--chunk-runs", args.chunk_runs)
    options["chunk_seconds"] = (
        _positive_float("--chunk-seconds", args.chunk_seconds)
        if args.chunk_seconds is not None
        else DEFAULT_CHUNK_SECONDS
    )
    out = Path(args.out).expanduser()
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        raise UserError(str(exc)) from None
    header = (
        f"sweep '{spec.name}': {spec.method} design, {spec.n_points} points x {spec.replicates} replicates ="
        f" {spec.n_runs} runs on {_where(workers, scheduler)}; spec hash {spec.hash[:12]}"
    )
    try:
        result = run_sweep(
            spec,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=args.resume,
            progress=None if args.quiet else Progress(sys.stderr),
            on_start=_announce(header),
            **options,
        )
    except (StoreError, EngineStartError) as exc:
        raise UserError(str(exc)) from None
    except EngineError as exc:
        return _engine_stopped(exc, out)
    if result.ran == 0:
        print(f"nothing to run: all {result.total} runs are already stored in {out} ({result.errors} errors)")
        return 0
    if result.errors:
        print(
            f"{result.errors} run(s) raised an error: their rows have status 'error' and the message in 'error'",
            file=sys.stderr,
        )
    resumed = f", {result.stored_before} stored before" if result.stored_before else ""
    print(
        f"sweep done: {result.total} runs ({result.ran} in this session{resumed}), {result.errors} errors,"
        f" {_duration(result.seconds)} ({result.runs_per_second:.1f} runs/s);"
        f" table: {out} (experiments.store.load_sweep, or '{PROG} export {out} --format csv')"
    )
    return 0


def _where(workers: int, scheduler: str | None) -> str:
    if scheduler:
        return f"the Dask cluster at {scheduler}"
    return f"a local Dask cluster of {workers} processes" if workers > 1 else "this process"


def _announce(header: str) -> Callable[[Any], None]:
    """What a sweep command says when its runs start (after every refusal): the header, and what a resume finds."""

    def on_start(start: Any) -> None:
        from experiments.engine import dashboard_line

        print(header + dashboard_line(start.engine), file=sys.stderr)
        if start.stored:
            how = {
                "interrupted": "its last session was interrupted; ",
                "failed": "its last session failed; ",
                "incomplete": "its last session ended before the last run; ",
            }.get(start.previous_status or "", "")
            print(
                f"resuming the sweep in {str(start.path)!r}: {how}{start.stored} of {start.total} runs are stored",
                file=sys.stderr,
            )

    return on_start


def cmd_export(args: argparse.Namespace) -> int:
    from experiments.export import DEFAULT_NAMES, check_complete, export
    from experiments.store import StoreError, find_sweep_folder

    given = Path(args.dir).expanduser()
    default = given / DEFAULT_NAMES[args.format]
    out = _output_path("--out", args.out) if args.out else None
    try:
        folder = find_sweep_folder(given)  # a sensitivity, compare or validate folder: the sweep inside it
        if folder != given:
            print(f"reading the sweep in {folder}", file=sys.stderr)
        done, total = check_complete(folder, args.partial)  # a folder that is no sweep, or misses runs: refused
        if out is None:
            out = _output_path("--out", str(default))
        rows = export(folder, args.format, out, partial=args.partial)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    partial = f"; partial: {done} of {total} runs, marked in its header" if done < total else ""
    unit = "runs" if args.format == "behaviorspace-spreadsheet" else "rows"  # the spreadsheet: a column per run
    print(f"wrote {out} ({rows} {unit}, {args.format}{partial})")
    return 0


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


# ---------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    # Everything the user gave is checked before the model runs or any file is touched.
    out = _series_path(args.out) if args.out else None
    summary_path = _output_path("--summary", args.summary) if args.summary else None
    if out is not None and summary_path is not None and out.resolve() == summary_path.resolve():
        raise UserError("--out and --summary name the same file")
    seed_given = args.seed is not None
    seed = _seed(args.seed) if seed_given else secrets.randbits(32)

    base = load_scenario(args.scenario)
    overrides = _parse_overrides(args.overrides)
    if args.steps is not None:
        overrides["steps"] = PARAMETERS["steps"].validate(args.steps, where="--steps")
    params = validate_parameters({**base, **overrides})
    if args.draws is not None and not args.posterior:
        raise UserError("--draws goes with --posterior (an ensemble over a calibrated scenario's posterior)")
    draws = _positive_int("--draws", args.draws, MAX_ENSEMBLE) if args.draws is not None else DEFAULT_DRAWS

    if not seed_given:
        print(f"seed {seed} (drawn at random; replay with --seed {seed})")
    if args.posterior:
        return _run_posterior(args.scenario, overrides, draws, seed, out, summary_path)

    from model.model import PartnershipModel

    model = PartnershipModel(seed=seed, **params)
    summary = model.run()

    _print_summary(summary)

    writers: list[tuple[Path, Callable[[Any], None], bool]] = []
    if summary_path is not None:
        text = json.dumps(_json_ready(summary), indent=2, allow_nan=False) + "\n"
        writers.append((summary_path, lambda f: f.write(text), False))
    if out is not None:
        writers += _series_writers(out, model.series())
    return _write_and_report(writers)


def _print_summary(summary: dict[str, Any]) -> None:
    """A run's outcomes with what each means and its unit, then the seed and the parameters it ran with."""
    from model.outputs import SUMMARY_MEANINGS, SUMMARY_UNITS

    outcomes = [(n, _fmt_value(_plain(summary[n]))) for n in SUMMARY_MEANINGS if n in summary]
    params = [(n, _fmt_value(_plain(v))) for n, v in summary.items() if n not in SUMMARY_MEANINGS]
    width = max(len(n) for n, _ in outcomes + params)
    vwidth = max(len(v) for _, v in outcomes)
    print("Outcomes (value, unit: meaning)")
    for name, value in outcomes:
        unit = SUMMARY_UNITS.get(name, "")
        print(f"  {name.ljust(width)}  {value.ljust(vwidth)}  {unit}: {SUMMARY_MEANINGS[name]}")
    print("Seed and parameters (phc-synergy params explains each)")
    for name, value in params:
        print(f"  {name.ljust(width)}  {value}")


def _run_posterior(
    scenario: str, overrides: dict[str, Any], draws: int, seed: int, out: Path | None, summary_path: Path | None
) -> int:
    """``run --posterior``: draw k of the posterior (drawn with ``seed``) runs with replicate seed k of ``seed``."""
    from experiments.engine import replicate_seeds
    from model.model import PartnershipModel
    from model.outputs import SUMMARY_OUTPUTS
    from model.scenarios import posterior_draws, read_scenario

    posterior = read_scenario(scenario).posterior
    if posterior is None:
        raise UserError(
            f"--posterior: scenario {scenario!r} carries no posterior; give a calibrated.toml written by"
            f" '{PROG} calibrate'"
        )
    param_sets = [validate_parameters({**d, **overrides}) for d in posterior_draws(scenario, draws, seed)]
    seeds = replicate_seeds(seed, draws)
    summaries: list[dict[str, Any]] = []
    series_rows: list[dict[str, Any]] = []
    print(f"{draws} posterior draws of {scenario} ({posterior.size} particles; {posterior.source})")
    for k, (params, run_seed) in enumerate(zip(param_sets, seeds, strict=True)):
        model = PartnershipModel(seed=run_seed, **params)
        summaries.append({"draw": k, **model.run()})
        if out is not None:
            series_rows.append({"draw": k, **model.series()})
        if (k + 1) % max(1, draws // 10) == 0 or k + 1 == draws:
            print(f"\r  {k + 1}/{draws} runs", end="", flush=True)
    print()
    numeric = [n for n in SUMMARY_OUTPUTS if all(isinstance(s.get(n), int | float) for s in summaries)]
    quantiles: dict[str, dict[str, float]] = {}
    for name in numeric:
        values = np.asarray([float(s[name]) for s in summaries])
        values = values[~np.isnan(values)]
        if values.size:
            q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
            quantiles[name] = {"median": float(q50), "q05": float(q05), "q95": float(q95), "n": int(values.size)}
    width = max(len(n) for n in quantiles)
    print(f"{'output'.ljust(width)}  median  [5%, 95%] over {draws} draws")
    for name, q in quantiles.items():
        print(f"{name.ljust(width)}  {_fmt_value(q['median'])}  [{_fmt_value(q['q05'])}, {_fmt_value(q['q95'])}]")

    writers: list[tuple[Path, Callable[[Any], None], bool]] = []
    if summary_path is not None:
        doc = {
            "seed": seed,
            "scenario": scenario,
            "posterior_source": posterior.source,
            "draws": draws,
            "quantiles": quantiles,
            "runs": [dict(s, seed=int(run_seed)) for s, run_seed in zip(summaries, seeds, strict=True)],
        }
        text = json.dumps(_json_ready(doc), indent=2, allow_nan=False) + "\n"
        writers.append((summary_path, lambda f: f.write(text), False))
    if out is not None:
        long: dict[str, list] = {}
        for rows in series_rows:
            n = len(rows["step"])
            long.setdefault("draw", []).extend([rows["draw"]] * n)
            for name, values in rows.items():
                if name != "draw":
                    long.setdefault(name, []).extend(list(values))
        writers += _series_writers(out, long)
    return _write_and_report(writers)


def _series_writers(out: Path, series: dict[str, Any]) -> list[tuple[Path, Callable[[Any], None], bool]]:
    """Writers of per-step series for _write_all_atomic (CSV by the file's suffix, otherwise Parquet),
    and of its column dictionary beside it (FILE.columns.json)."""
    from experiments.columns import dictionary, dictionary_path, dictionary_text
    from model.outputs import OUTPUTS

    names = (("draw",) if "draw" in series else ()) + tuple(OUTPUTS)
    kinds = [(n, "int" if n in ("draw", "step", "active_seats", "cumulative_members", "departures") else "float")
             for n in names]  # fmt: skip
    text = dictionary_text({out.name: dictionary(kinds)})
    columns = (dictionary_path(out), lambda f: f.write(text), False)
    if out.suffix.lower() == ".csv":
        return [(out, lambda f: _write_series_csv(f, series), False), columns]
    return [(out, lambda f: _write_series_parquet(f, series), True), columns]


def _write_and_report(writers: list[tuple[Path, Callable[[Any], None], bool]]) -> int:
    """Write every file atomically (all or none), then say where."""
    _write_all_atomic(writers)
    for path, _, _ in writers:
        print(f"wrote {path}")
    return 0


def _parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """--set NAME=VALUE items, each checked against the schema (the last of a repeated name wins)."""
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UserError(f"--set {item!r}: expected NAME=VALUE, e.g. --set seats=12")
        if name not in PARAMETERS:
            close = difflib.get_close_matches(name, PARAMETERS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(
                f"--set: parameter {name!r} = {text!r} is not allowed: not a parameter of the model{hint};"
                f" see '{PROG} params'"
            )
        values[name] = PARAMETERS[name].validate(text.strip(), where="--set")
    return values


def _seed(text: str, option: str = "--seed") -> int:
    """A seed option (model.seeds: the one rule for every seed)."""
    seed = parse_seed(text)
    if seed is None:
        raise UserError(f"{option} {text!r} is not allowed: {SEED_RULE}")
    return seed


def _positive_int(option: str, text: str, most: int | None = None, most_text: str | None = None) -> int:
    """A whole number >= 1 (and <= ``most``), written in plain digits."""
    digits = text.strip()
    # plain digits only (int() takes '+3', '1_0' and non-ASCII digits), and few enough for int() to take
    value = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 30 else 0
    if value < 1 or (most is not None and value > most):
        allowed = f"an integer in [1, {most_text or f'{most:,}'}]" if most is not None else "a positive integer"
        raise UserError(f"{option} {text!r} is not allowed: {allowed}")
    return value


def _positive_float(option: str, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise UserError(f"{option} {text!r} is not allowed: a positive number")
    return value


def _output_path(option: str, text: str) -> Path:
    """A file path to write: its folder must exist and be a folder, the path must not be a folder."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise UserError(f"{option} {text!r}: is a folder, expected a file name")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise UserError(f"{option} {text!r}: cannot write there: {str(parent)!r} is not a folder")
    if not parent.is_dir():
        raise UserError(f"{option} {text!r}: cannot write there: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{option} {text!r}: cannot write there: folder {str(parent)!r} is not writable")
    return path


def _series_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in SERIES_FORMATS:
        raise UserError(
            f"--out {text!r}: unknown file extension {path.suffix or '(none)'!r}; allowed: .csv or .parquet"
        )
    return _output_path("--out", text)


def _write_series_csv(f: Any, series: dict[str, Any]) -> None:
    import csv

    from model.outputs import OUTPUTS

    names = (("draw",) if "draw" in series else ()) + tuple(OUTPUTS)
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(names)
    columns = [_column(name, series[name]) for name in names]
    for row in zip(*columns, strict=True):
        writer.writerow([repr(v) if isinstance(v, float) else str(v) for v in row])


def _write_series_parquet(f: Any, series: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from model.outputs import OUTPUTS

    names = (("draw",) if "draw" in series else ()) + tuple(OUTPUTS)
    table = pa.table({name: _column(name, series[name]) for name in names})
    pq.write_table(table, f)


def _column(name: str, values: Any) -> list:
    """One per-step output as a list of Python ints (counts) or floats."""
    if name in INTEGER_OUTPUTS:
        return [round(float(v)) for v in values]
    return [float(v) for v in values]


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def _json_ready(value: Any) -> Any:
    """A JSON-serialisable copy: numpy scalars to Python, NaN and infinities to null."""
    value = _plain(value)
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------- sensitivity, compare, main
def cmd_sensitivity(args: argparse.Namespace) -> int:
    from experiments.engine import EngineError, EngineStartError
    from experiments.sensitivity import SensitivityError, check_spec, run_sensitivity
    from experiments.spec import SpecError, load_spec
    from experiments.store import StoreError, sweep_subfolder
    from experiments.sweep import Progress

    workers, scheduler = _engine_args(args)
    try:
        spec = load_spec(args.spec)
        check_spec(spec)
    except (SpecError, SensitivityError) as exc:
        raise UserError(str(exc)) from None
    out = Path(args.out).expanduser()
    header = (
        f"sensitivity '{spec.name}': {spec.method}, {spec.n_points} points x {spec.replicates} replicates ="
        f" {spec.n_runs} runs on {_where(workers, scheduler)}"
    )
    try:
        result = run_sensitivity(
            spec,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=args.resume,
            progress=None if args.quiet else Progress(sys.stderr),
            on_start=_announce(header),
        )
    except (StoreError, EngineStartError, SensitivityError) as exc:
        raise UserError(str(exc)) from None
    except EngineError as exc:
        return _engine_stopped(exc, sweep_subfolder(out))
    for name, why in result.skipped.items():
        print(f"not analysed: {name}: {why}", file=sys.stderr)
    print(f"sensitivity done: {out / 'indices.csv'}, {len(result.files) - 2} figure(s), report {out / 'report.md'}")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from experiments.discover import DiscoverError, DiscoverySettings, discover, write_discovery
    from experiments.store import StoreError, find_sweep_folder

    def number(option: str, text: str | None, default: float) -> float:
        if text is None:
            return default
        try:
            return float(text.strip())
        except ValueError:
            raise UserError(f"{option} {text!r} is not allowed: a number") from None

    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {args.out!r}: is not a folder")
    settings = DiscoverySettings(
        outcome=args.outcome,
        above=number("--above", args.above, math.nan) if args.above is not None else None,
        below=number("--below", args.below, math.nan) if args.below is not None else None,
        min_coverage=number("--min-coverage", args.min_coverage, 0.5),
        max_boxes=_positive_int("--boxes", args.boxes, 10) if args.boxes else 2,
        min_density=number("--min-density", args.min_density, 0.0),
        max_qp=number("--max-qp", args.max_qp, 0.05),
        peel_alpha=number("--peel-alpha", args.peel_alpha, 0.05),
        mass_min=number("--mass-min", args.mass_min, 0.05),
    )
    try:
        folder = find_sweep_folder(args.sweep)
        result = discover(folder, settings)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {args.out!r}: cannot create the folder: {exc.strerror}") from None
        write_discovery(result, out)
    except (StoreError, DiscoverError) as exc:
        raise UserError(str(exc)) from None
    found = ", ".join(f"box {b.number}: coverage {100 * b.coverage:.0f}%, density {100 * b.density:.0f}%, "
                      + " & ".join(lim["name"] for lim in b.limits) for b in result.boxes)  # fmt: skip
    print(
        f"discover: {result.cases} of {result.runs} runs have {settings.outcome} {settings.direction}"
        f" {settings.threshold:g}; " + (found or f"no box ({result.stopped})") + f"; report {out / 'discover.md'}"
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from experiments.engine import EngineError, EngineStartError
    from experiments.store import StoreError, sweep_subfolder
    from experiments.sweep import Progress
    from experiments.validate import build_plan, pattern_checks, run_validation

    workers, scheduler = _engine_args(args)
    replicates = _positive_int("--replicates", args.replicates, most=1000) if args.replicates is not None else None
    only = None
    if args.only is not None:
        only = [c.strip() for c in args.only.split(",") if c.strip()]
        known = [c.id for c in pattern_checks(args.quick)]
        unknown = [c for c in only if c not in known]
        if not only or unknown:
            raise UserError(f"--only {args.only!r} is not allowed: a comma-separated list of checks, from "
                            + ", ".join(known))  # fmt: skip
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {args.out!r}: is not a folder")
    plan = build_plan(quick=args.quick, replicates=replicates, only=only)
    header = (
        f"validate: {len(plan.checks)} checks under {len(plan.conditions)} condition(s), {len(plan.arms)} arms x "
        f"{plan.replicates} replicates = {len(plan.arms) * plan.replicates} runs on {_where(workers, scheduler)}"
    )
    try:
        result = run_validation(out, quick=args.quick, replicates=replicates, only=only, workers=workers,
                                scheduler=scheduler, resume=args.resume,
                                progress=None if args.quiet else Progress(sys.stderr), on_start=_announce(header))  # fmt: skip
    except (StoreError, EngineStartError) as exc:
        raise UserError(str(exc)) from None
    except EngineError as exc:
        return _engine_stopped(exc, sweep_subfolder(out))
    main = result.verdicts[result.verdicts["condition"] == "defaults"]
    for _, row in main.iterrows():
        print(f"{'pass' if row['passed'] else 'FAIL'}  {row['check']}: {row['claim']}")
    print(f"validate done: {int(main['passed'].sum())} of {len(main)} checks pass at the defaults; report "
          f"{out / 'validation.md'}")  # fmt: skip
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from experiments.compare import CompareError, load_config, run_compare
    from experiments.engine import EngineError, EngineStartError
    from experiments.store import StoreError, sweep_subfolder
    from experiments.sweep import Progress

    workers, scheduler = _engine_args(args)
    try:
        if args.config is not None:
            if args.scenarios:
                raise UserError("give scenarios or --config FILE, not both")
            if args.steps is not None:
                raise UserError("--steps is for scenarios named on the command line; set steps in the config")
            comp = load_config(args.config)
            if args.replicates is not None:
                comp.replicates = _positive_int("--replicates", args.replicates, MAX_ENSEMBLE)
            if args.seed is not None:
                comp.root_seed = _seed(args.seed)
        else:
            from experiments.compare import DEFAULT_REPLICATES, DEFAULT_ROOT_SEED, from_scenarios

            if not args.scenarios:
                raise UserError("name at least one scenario (see 'phc-synergy scenarios'), or give --config FILE")
            steps = PARAMETERS["steps"].validate(args.steps, where="--steps") if args.steps is not None else None
            comp = from_scenarios(
                list(args.scenarios),
                replicates=(
                    _positive_int("--replicates", args.replicates, MAX_ENSEMBLE)
                    if args.replicates is not None
                    else DEFAULT_REPLICATES
                ),
                root_seed=_seed(args.seed) if args.seed is not None else DEFAULT_ROOT_SEED,
                steps=steps,
            )
    except CompareError as exc:
        raise UserError(str(exc)) from None
    out = Path(args.out).expanduser()
    header = f"compare: {len(comp.variants)} variants x {comp.replicates} replicates on {_where(workers, scheduler)}"
    try:
        run_compare(
            comp,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=args.resume,
            progress=None if args.quiet else Progress(sys.stderr),
            on_start=_announce(header),
        )
    except (StoreError, EngineStartError, CompareError) as exc:
        raise UserError(str(exc)) from None
    except EngineError as exc:
        return _engine_stopped(exc, sweep_subfolder(out))
    print(f"compare done: {out / 'summary.csv'}, {out / 'differences.csv'}, fan charts, report {out / 'compare.md'}")
    return 0


def cmd_main(args: argparse.Namespace) -> int:
    from experiments.compare import CompareError
    from experiments.engine import EngineError, EngineStartError, cpu_count
    from experiments.main import run_main
    from experiments.sensitivity import SensitivityError
    from experiments.spec import SpecError
    from experiments.store import StoreError, sweep_subfolder

    workers, scheduler = _engine_args(args, default_workers=min(2, cpu_count()))
    out = Path(args.out).expanduser()
    try:
        report = run_main(out, workers=workers, scheduler=scheduler, quiet=args.quiet)
    except (CompareError, SpecError, SensitivityError, StoreError, EngineStartError) as exc:
        raise UserError(str(exc)) from None
    except EngineError as exc:
        stored = "; ".join(_stored_runs_text(sweep_subfolder(out / part)) for part in ("cases", "morris"))
        return _stopped(f"{exc}; {stored}; run the same command again to continue where it stopped")
    print(f"report: {report}")
    return 0


# ---------------------------------------------------------------------------- atomic writes
def _write_atomic(path: Path, write: Callable[[Any], None], binary: bool = False) -> None:
    _write_all_atomic([(path, write, binary)])


def _write_all_atomic(writers: Sequence[tuple[Path, Callable[[Any], None], bool]]) -> None:
    """Write every file to a temporary name in its own folder, then rename them all into place.

    If any write fails, no temporary file is left and no target is touched.
    """
    temps: list[tuple[str, Path]] = []
    target: Path | None = None
    try:
        for path, write, binary in writers:
            target = path
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append((tmp, path))
            mode = "wb" if binary else "w"
            with os.fdopen(fd, mode, **({} if binary else {"encoding": "utf-8", "newline": ""})) as f:
                write(f)
        for tmp, path in temps:
            os.chmod(tmp, 0o666 & ~_umask())
        for tmp, path in temps:
            target = path
            os.replace(tmp, path)
    except BaseException as exc:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

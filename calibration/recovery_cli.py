"""The ``recovery`` subcommand of ``phc-synergy``: identifiability, measured, and which data identify what.

    phc-synergy recovery CASE.toml --truths N --out DIR [--params NAME,...] [--designs D,...]
                         [--population P] [--generations G] [--max-simulations M] [--seed S]
                         [--workers N | --scheduler tcp://HOST:PORT] [--resume] [--quiet]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "recovery",
        help="draw truths from the priors, observe and calibrate each: coverage, SBC ranks, contraction by data design",
        description="For N parameter sets drawn from the case's priors, observes one run with the case's design"
        " (the virtual evaluator, docs/ODD.md 4.11.1), calibrates it under each data design, and reports per"
        " parameter the coverage of the 50% and 90% intervals, simulation-based-calibration ranks and contraction"
        " (posterior sd / prior sd), with the trade-offs between parameters: recovery.md, recovery.csv,"
        " recovery_table.csv, figures. The case needs [tables]; designs join roster, attendance and one of"
        " survey, survey1 (first wave only), psat, psat1 (the PSAT's ten sections only) with '+'.",
    )
    p.add_argument("case", metavar="CASE.toml", help="a case file with [tables], or a shipped case's name")
    p.add_argument("--truths", metavar="N", required=True, help="truths drawn from the priors")
    p.add_argument("--out", metavar="DIR", required=True, help="the recovery folder (new, or the one to resume)")
    p.add_argument("--params", metavar="NAME,...", help="parameters to recover (default: the case's settings.calibrate)")
    p.add_argument("--designs", metavar="D,...",
                   help="data designs, e.g. roster,roster+survey1,roster+survey+attendance (default: roster,"
                   " roster+psat1, roster+psat, roster+survey, roster+survey+attendance, as far as the case has them)")
    p.add_argument("--population", metavar="P", help="particles per generation (default: the case's)")
    p.add_argument("--generations", metavar="G", help="generations per calibration (default: the case's)")
    p.add_argument("--max-simulations", metavar="M", dest="max_simulations",
                   help="simulations per calibration at most (default: the case's)")
    p.add_argument("--seed", metavar="S", help="root seed of the truths and calibrations (default: 1)")
    p.add_argument("--workers", metavar="N", help="1 = serial (default); N > 1 = a local Dask cluster")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster")
    p.add_argument("--resume", action="store_true", help="continue the recovery in DIR (same options)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=cmd_recovery)
    return p


def cmd_recovery(args: argparse.Namespace) -> int:
    from calibration.cases import CaseError, load_case
    from model.cli import PROG, UserError, _engine_args, _positive_int, _seed, _where

    workers, scheduler = _engine_args(args)
    truths = _positive_int("--truths", args.truths, 10_000)
    try:
        case = load_case(args.case)
    except CaseError as exc:
        raise UserError(str(exc)) from None
    names = None
    if args.params is not None:
        names = [n.strip() for n in args.params.split(",") if n.strip()]
        if not names:
            raise UserError(f"--params {args.params!r}: expected NAME,... (parameters to recover)")
    designs = None
    if args.designs is not None:
        designs = [d.strip() for d in args.designs.split(",") if d.strip()]
        if not designs or len(set(designs)) != len(designs):
            raise UserError(f"--designs {args.designs!r}: expected distinct designs D,... such as roster+survey1")
    population = _positive_int("--population", args.population) if args.population is not None else None
    generations = _positive_int("--generations", args.generations) if args.generations is not None else None
    max_sims = _positive_int("--max-simulations", args.max_simulations) if args.max_simulations is not None else None
    seed = _seed(args.seed) if args.seed is not None else 1
    out = Path(args.out).expanduser()

    from calibration.abc import CalibrationError, make_settings
    from calibration.recovery import RecoveryError, make_plan, recovery
    from experiments.engine import EngineError, EngineStartError

    try:
        settings = make_settings(case, names, population, None, None, None)
        if generations is not None or max_sims is not None:
            settings.generations = generations if generations is not None else settings.generations
            settings.max_simulations = max_sims if max_sims is not None else settings.max_simulations
        plan = make_plan(case, truths, settings, designs, seed)
    except (CalibrationError, RecoveryError) as exc:
        raise UserError(str(exc)) from None
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    header = (f"recovery of '{case.name}': {truths} truths x {len(plan.designs)} designs ({', '.join(plan.designs)});"
              f" {', '.join(settings.ranges)}; {settings.population} particles; seed {seed};"
              f" on {_where(workers, scheduler)}")
    try:
        report = recovery(case, out, truths, settings, designs=list(plan.designs), seed=seed, workers=workers,
                          scheduler=scheduler, resume=args.resume, say=say, on_start=lambda info: say(header + _dashboard(info)))
    except (RecoveryError, CalibrationError, EngineStartError) as exc:
        raise UserError(str(exc)) from None
    except EngineError as exc:
        print(f"{PROG}: error: {exc}; finished calibrations are stored in {str(out)!r}; continue with --resume",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; finished calibrations are stored in {str(out)!r}; continue with --resume",
              file=sys.stderr)
        return 130
    columns = ("design", "parameter", "90% coverage", "50% coverage", "contraction", "target")
    rows = [(r["design"], r["parameter"], f"{r['coverage90']:.0%}", f"{r['coverage50']:.0%}",
             f"{r['contraction_mean']:.2f}", "met" if r["meets_target"] else "not met") for r in report["table"]]
    widths = [max(len(str(c)) for c in col) for col in zip(columns, *rows, strict=True)]
    for row in (columns, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"wrote {out}: recovery.md, recovery.csv, recovery_table.csv, figures")
    return 0


def _dashboard(info: dict) -> str:
    from experiments.engine import dashboard_line

    return dashboard_line(info)

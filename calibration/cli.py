"""The ``calibrate`` subcommand of ``phc-synergy``.

    phc-synergy calibrate CASE.toml --out DIR [--params NAME,...] [--population P]
                          [--generations G | --max-simulations M] [--seed S]
                          [--workers N | --scheduler tcp://HOST:PORT] [--resume] [--quiet]

``model.cli`` wires it in with ``calibration.cli.add_parser(sub)``; the handler is
:func:`cmd_calibrate`. This module imports neither pyabc nor the model at import
time, so the listing commands stay instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``calibrate`` to the subcommands of ``phc-synergy``; returns its parser."""
    p = subparsers.add_parser(
        "calibrate",
        help="fit parameters to a case's observations with ABC-SMC (pyabc): posterior, summary, figures, PPC",
        description="Calibrates the model to the targets of a case file (see docs/CALIBRATION.md) with ABC-SMC."
        " Writes into DIR: history.db (pyabc's history; --resume continues it), posterior.parquet, summary.csv,"
        " generations.csv, marginals.png, pairs.png, ppc.csv, ppc.png and calibrated.toml (a scenario carrying"
        " the posterior). Shipped cases: calibration/data/*.toml (or give their name: pccp, chrp, synthetic_series).",
    )
    p.add_argument("case", metavar="CASE.toml", help="a case file, or the name of a shipped case")
    p.add_argument("--out", metavar="DIR", required=True, help="the calibration folder (new, or the one to resume)")
    p.add_argument(
        "--params", metavar="NAME,...", help="parameters to calibrate (default: the case's settings.calibrate)"
    )
    p.add_argument("--population", metavar="P", help="particles per generation (default: the case's)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--generations", metavar="G", help="stop after G generations in all")
    budget.add_argument(
        "--max-simulations", metavar="M", dest="max_simulations",
        help="stop after the generation in which M simulations in all are reached",
    )
    p.add_argument("--seed", metavar="S", help="root seed of the calibration (default: the case's settings.seed)")
    # the engine options of the other commands (model.cli._engine_options), with --resume meaning a calibration's
    p.add_argument(
        "--workers", metavar="N", help="1 = serial, in this process (default); N > 1 = a local Dask cluster of N processes"
    )
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster")
    p.add_argument(
        "--resume", action="store_true",
        help="continue the calibration in DIR from its last stored generation (options left out keep the stored ones)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=cmd_calibrate)
    add_observe_parser(subparsers)
    from calibration.recovery_cli import add_parser as add_recovery_parser

    add_recovery_parser(subparsers)
    return p


def add_observe_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``observe``: the data a virtual evaluator would hold about one run, and a case file for them."""
    p = subparsers.add_parser(
        "observe",
        help="run the model once and write what an evaluation team would hold: survey waves, attendance, roster",
        description="Runs the model once and writes into DIR the tables a virtual evaluator records"
        " (docs/ODD.md 4.11.1): survey.csv (PSAT sections plus trust and mistrust, 1-5, 'dk' for don't know),"
        " attendance.csv, roster.csv, milestones.csv, the same as Parquet, and case.toml: a case file that"
        " references them, labelled synthetic, with the true parameter values in its provenance"
        " (phc-synergy calibrate DIR/case.toml --out ...).",
    )
    p.add_argument("--scenario", metavar="NAME|FILE", default="default",
                   help="shipped scenario or .toml file (default: default)")
    p.add_argument("--set", metavar="NAME=VALUE", action="append", default=[], dest="overrides",
                   help="set a parameter (repeatable), e.g. --set seats=18 --set leadership=0.3")
    p.add_argument("--seed", metavar="S", help="run seed (default: drawn at random and printed)")
    p.add_argument("--steps", metavar="N", help="months to simulate (default: the scenario's)")
    p.add_argument("--waves", metavar="M,...", default="12,24,36",
                   help="months of the survey waves (default: 12,24,36; each within the run)")
    p.add_argument("--name", metavar="NAME", help="the case's name (default: the folder's name)")
    p.add_argument("--out", metavar="DIR", required=True, help="the folder to write (new, or empty)")
    p.set_defaults(handler=cmd_observe)
    return p


def cmd_observe(args: argparse.Namespace) -> int:
    """Run ``phc-synergy observe``."""
    import secrets

    from model.cli import UserError, _parse_overrides, _seed, _write_all_atomic
    from model.parameters import PARAMETERS, validate_parameters
    from model.scenarios import load_scenario

    seed_given = args.seed is not None
    seed = _seed(args.seed) if seed_given else secrets.randbits(32)
    base = load_scenario(args.scenario)
    overrides = _parse_overrides(args.overrides)
    if args.steps is not None:
        overrides["steps"] = PARAMETERS["steps"].validate(args.steps, where="--steps")
    given = {**base, **overrides}
    params = validate_parameters(given)
    steps = params["steps"]
    waves = _months_list("--waves", args.waves, steps)
    out = Path(args.out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {str(out)!r}: {'not a folder' if not out.is_dir() else 'the folder is not empty'};"
                        " allowed: a new or empty folder (observe never overwrites)")
    name = args.name if args.name is not None else (out.resolve().name or "observed")
    if not name.strip():
        raise UserError(f"--name {args.name!r}: allowed: a non-empty name")
    if not seed_given:
        print(f"seed {seed} (drawn at random; replay with --seed {seed})")

    from calibration.observe import observe_run
    from calibration.tables import COLUMN_MEANINGS, COLUMNS, case_document, frame, table_rows
    from model.toml_writer import dumps

    evaluation = observe_run(params, seed, waves)
    files = {kind: f"{kind}.csv" for kind in ("survey", "attendance", "roster")}
    doc = case_document(evaluation, params, given, name.strip(), files)
    text = dumps(doc, header="Synthetic evaluation data made by phc-synergy observe: not observed data.\n"
                 "Calibrate with: phc-synergy calibrate case.toml --out DIR")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {str(out)!r}: cannot create the folder: {exc.strerror or exc}") from None

    def csv_writer(kind: str):
        import csv

        def write(f) -> None:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(COLUMNS[kind])
            w.writerows(table_rows(evaluation, kind))
        return write

    from experiments.columns import dictionary, dictionary_path, dictionary_text, frame_columns

    writers = []
    for kind in ("survey", "attendance", "roster", "milestones"):
        writers.append((out / f"{kind}.csv", csv_writer(kind), False))
        df = frame(evaluation, kind)
        writers.append((out / f"{kind}.parquet", lambda f, df=df: df.to_parquet(f, index=False), True))
        words = dictionary_text({f"{kind}.csv": dictionary(frame_columns(df), COLUMN_MEANINGS[kind])})
        writers.append((dictionary_path(out / f"{kind}.csv"), lambda f, words=words: f.write(words), False))
    writers.append((out / "case.toml", lambda f: f.write(text), False))
    _write_all_atomic(writers)
    s, a, r = evaluation.survey, evaluation.attendance, evaluation.roster
    respondents = [len({int(x) for x in s["respondent"][s["wave"] == w]}) for w in waves]
    print(f"observed months 0-{steps}: {len(r['person'])} people on the roster ({int((r['left'] < 0).sum())} at the"
          f" end), {len(a['month'])} attendance records ({a['attended'].mean():.0%} attended),"
          f" survey waves {', '.join(map(str, waves))} with {', '.join(map(str, respondents))} respondents")
    print(f"wrote {out}: case.toml, survey, attendance, roster, milestones (.csv and .parquet)")
    return 0


def _months_list(option: str, text: str, steps: int) -> list[int]:
    """A comma list of increasing months within [1, steps]."""
    from model.cli import UserError

    allowed = f"increasing whole months in [1, {steps}] (the run's steps), e.g. 12,24,36"
    try:
        months = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"{option} {text!r} is not allowed: {allowed}") from None
    if not months or any(not 1 <= m <= steps for m in months) or months != sorted(set(months)):
        raise UserError(f"{option} {text!r} is not allowed: {allowed}")
    return months


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Run ``phc-synergy calibrate``; user errors raise ``model.cli.UserError`` (one line, exit 2)."""
    from calibration.cases import CaseError, load_case
    from model.cli import PROG, UserError, _duration, _engine_args, _positive_int, _seed, _where

    workers, scheduler = _engine_args(args)
    try:
        case = load_case(args.case)
    except CaseError as exc:
        raise UserError(str(exc)) from None
    names = None
    if args.params is not None:
        names = [n.strip() for n in args.params.split(",") if n.strip()]
        if not names:
            raise UserError(f"--params {args.params!r}: expected NAME,... (parameters to calibrate)")
    population = _positive_int("--population", args.population) if args.population is not None else None
    generations = _positive_int("--generations", args.generations) if args.generations is not None else None
    max_simulations = (
        _positive_int("--max-simulations", args.max_simulations) if args.max_simulations is not None else None
    )
    seed = _seed(args.seed) if args.seed is not None else None
    out = Path(args.out).expanduser()

    from calibration.abc import CalibrationError, Progress, calibrate, make_settings, resume_defaults
    from experiments.engine import EngineError, EngineStartError

    try:
        if args.resume:  # options left out keep the stored calibration's choices
            stored = resume_defaults(out)
            names = names if names is not None else stored.get("parameters")
            population = population if population is not None else stored.get("population")
            seed = seed if seed is not None else stored.get("seed")
            if generations is None and max_simulations is None and stored:
                generations, max_simulations = stored.get("generations"), stored.get("max_simulations")
                if generations is None and max_simulations is None:
                    generations = case.settings["generations"]
        settings = make_settings(case, names, population, generations, max_simulations, seed)
    except CalibrationError as exc:
        raise UserError(f"{exc}") from None
    budget = []
    if settings.generations != float("inf"):
        budget.append(f"at most {int(settings.generations)} generations")
    if settings.max_simulations != float("inf"):
        budget.append(f"at most {int(settings.max_simulations)} simulations")
    header = (
        f"calibrate '{case.name}'{' (synthetic data)' if case.synthetic else ''}: {', '.join(settings.ranges)};"
        f" {len(case.observations)} observations; {settings.population} particles, {' or '.join(budget)};"
        f" root seed {settings.seed}; on {_where(workers, scheduler)}"
    )
    try:
        result = calibrate(
            case, out, settings, workers=workers, scheduler=scheduler, resume=args.resume,
            progress=None if args.quiet else Progress(sys.stderr),
            on_start=lambda info: print(header + _dashboard(info), file=sys.stderr),  # after every refusal: a refused command says only why
        )
    except (CalibrationError, EngineStartError) as exc:
        raise UserError(str(exc)) from None
    except EngineError as exc:
        print(f"{PROG}: error: {exc}; the generations finished so far are stored in {str(out)!r};"
              " run the same command with --resume to continue", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the generations finished so far are stored in {str(out)!r};"
              " continue with --resume", file=sys.stderr)
        return 130

    import pandas as pd

    summary = pd.read_csv(out / "summary.csv")
    ppc = pd.read_csv(out / "ppc.csv")
    print(
        f"calibration done: {result.generations} generations, {result.simulations} simulations, final epsilon"
        f" {result.epsilon:.4g} (stopped: {result.stop_reason}); {_duration(result.seconds)}"
    )
    _table(
        ("parameter", "median", "90% interval", "spread ratio", "identified"),
        [(s.parameter, f"{s['median']:.4g}", f"[{s.q05:.4g}, {s.q95:.4g}]", f"{s.spread_ratio:.2f}", s.identified)
         for _, s in summary.iterrows()],
    )
    _table(
        ("target", "observed", "simulated median [90%]", "share met"),
        [(f"{r.output} @ {r.month}",
          f"{r.value:g} +- {r.sd:g}" if r.kind == "value" else f"[{r.low:g}, {r.high:g}]",
          f"{r.sim_median:.4g} [{r.sim_q05:.4g}, {r.sim_q95:.4g}]", f"{r.share_met:.0%}")
         for _, r in ppc.iterrows()],
    )
    print(f"wrote {out}: posterior.parquet, summary.csv, ppc.csv, figures, calibrated.toml")
    return 0


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print rows in aligned columns under a header."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _dashboard(info: dict) -> str:
    from experiments.engine import dashboard_line

    return dashboard_line(info)

"""Bad input at every entry point: one line, exit status 2, no traceback, nothing left on disk.

Every case runs ``phc-synergy`` in-process (``model.cli.main(argv)``) in a fresh folder that
holds only the case's input files, and checks the contract for bad input:

- exit status 2;
- exactly one line on stderr, starting ``phc-synergy: error:``, and no traceback;
- the folder afterwards holds the same files with the same bytes (nothing new, nothing
  half-written, no manifest touched).

The cases are rows of tables, one table per command (and one per kind of input file). A
few of them are run again as real processes (the installed ``phc-synergy``), where a
traceback or a second line could come from outside ``main()``.

The workshop page's fields and uploads are checked by their own engineer's cases:
add them to :data:`PAGE_CASES` (same row format).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from model.cli import main

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    """One bad input: the arguments, the input files the folder holds first, and words the message must have.

    In ``argv``, ``{port}`` becomes a free port of 127.0.0.1 (nothing listens there). ``files``
    maps a name to its text, to ``DIR`` (an empty folder), or to ``SWEEP`` / ``PARTIAL`` (a
    copy of a finished / an incomplete tiny sweep folder). ``words`` are checked in the message.
    """

    id: str
    argv: tuple[str, ...]
    files: dict[str, str] = field(default_factory=dict)
    words: tuple[str, ...] = ()


DIR, SWEEP, PARTIAL = "<folder>", "<sweep>", "<partial sweep>"


def case(id: str, *argv: str, files: dict[str, str] | None = None, words: tuple[str, ...] = ()) -> Case:
    return Case(id, tuple(argv), dict(files or {}), tuple(words))


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ---------------------------------------------------------------------------- input files
SCENARIO = 'name = "mine"\ndescription = "a scenario"\n[parameters]\nseats = 9\n'
CALIBRATED = """\
name = "cal"
description = "a posterior"
[parameters]
seats = 10
[posterior]
source = "hand-made"
weights = [1.0, 3.0]
[posterior.parameters]
trust_gain = [0.1, 0.2]
"""
SPEC = """\
name = "tiny"
scenario = "default"
root_seed = 1
replicates = 2
steps = 3
[fixed]
population_size = 100
[vary]
communication = {}
[design]
method = "lhs"
n = 2
"""
MORRIS = edit(SPEC, 'method = "lhs"\nn = 2', 'method = "morris"\ntrajectories = 2')
CASE_FILE = """\
name = "case"
[provenance]
citation = "made up for a test"
observed = "nothing"
period = "now"
synthetic = true
[structure]
seats = 10
[settings]
steps = 12
population = 20
generations = 1
[[targets]]
output = "active_seats"
month = 12
value = 8
sd = 1
"""
CONFIG = """\
name = "cmp"
replicates = 2
steps = 3
[[variant]]
name = "a"
scenario = "default"
[[variant]]
name = "b"
scenario = "default"
set = { coordination = 0.9 }
"""
NOT_UTF8 = "\udcff"  # written as the byte 0xff (surrogateescape): not UTF-8 text

# ---------------------------------------------------------------------------- the tables
MAIN_CASES = [
    case("no-command", words=("name a command",)),
    case("unknown-command", "nonesuch", words=("invalid choice", "'nonesuch'")),
    case("unknown-global-option", "--bogus", words=("unrecognized arguments", "--bogus")),
    case("option-before-command", "--out", "x", words=("invalid choice", "'x'")),
]

PARAMS_CASES = [
    case("params-format-xml", "params", "--format", "xml", words=("params:", "invalid choice", "'xml'")),
    case("params-format-missing-value", "params", "--format", words=("expected one argument",)),
    case("params-extra-argument", "params", "extra", words=("unrecognized arguments", "extra")),
]

SCENARIOS_CASES = [
    case("scenarios-seeds-without-run", "scenarios", "--seeds", "3", words=("need --run",)),
    case("scenarios-out-without-run", "scenarios", "--out", "d", words=("need --run",)),
    *[
        case(f"scenarios-seeds-{label}", "scenarios", "--run", "--seeds", value, words=("--seeds", "[1, 100,000]"))
        for label, value in [
            ("0", "0"), ("negative", "-1"), ("text", "x"), ("fraction", "1.5"), ("too-many", "100001"),
            ("empty", ""), ("plus", "+3"), ("underscore", "1_0"), ("arabic-digit", "\u0663"),
        ]
    ],
    case("scenarios-out-is-a-file", "scenarios", "--run", "--seeds", "1", "--out", "afile",
         files={"afile": "x"}, words=("--out", "afile")),
    case("scenarios-out-under-a-file", "scenarios", "--run", "--seeds", "1", "--out", "afile/sub",
         files={"afile": "x"}, words=("--out", "afile/sub")),
    case("scenarios-out-unwritable", "scenarios", "--run", "--seeds", "1", "--out", "/proc/phc-synergy-test/x",
         words=("cannot create",)),
]

RUN_SET_CASES = [
    case(f"run-set-{label}", "run", "--set", item, words=words)
    for label, item, words in [
        ("unknown", "sets=3", ("'sets'", "not a parameter", "did you mean 'seats'")),
        ("below", "seats=1", ("'seats'", "[3, 2000]")),
        ("fraction-of-int", "seats=2.5", ("'seats'", "an integer")),
        ("text", "seats=abc", ("'seats'", "'abc'")),
        ("no-equals", "seats", ("NAME=VALUE",)),
        ("no-name", "=3", ("NAME=VALUE",)),
        ("empty-value", "seats=", ("'seats'",)),
        ("above", "leadership=1.5", ("'leadership'", "[0, 1]")),
        ("nan", "leadership=nan", ("'leadership'",)),
        ("inf", "leadership=inf", ("'leadership'",)),
        ("overflow", "leadership=1e400", ("'leadership'",)),
        ("huge-int", "seats=" + "9" * 5000, ("'seats'",)),
        ("steps-zero", "steps=0", ("'steps'", "[1, 600]")),
        ("shock-after-horizon", "shock_month=100", ("'shock_month'", "steps = 60")),
        ("composition-type", "composition=nurse:1", ("composition.nurse", "stakeholder type")),
        ("composition-negative", "composition=academic:-1", ("composition.academic", "non-negative")),
        ("composition-no-weight", "composition=academic", ("'composition'", "type:weight")),
        ("composition-zero", "composition=academic:0", ("'composition'", "positive, finite total")),
        ("composition-inf", "composition=academic:1e400", ("composition.academic",)),
        ("composition-text", "composition=academic:x", ("composition.academic",)),
    ]
]

RUN_OPTION_CASES = [
    *[
        case(f"run-steps-{label}", "run", "--steps", value, words=("'steps'",))
        for label, value in [("zero", "0"), ("text", "abc"), ("above", "601"), ("negative", "-1"), ("fraction", "1.5"),
                             ("empty", "")]
    ],
    *[
        case(f"run-seed-{label}", "run", "--seed", value, words=("--seed", "an integer in [0, 2^63 - 1]"))
        for label, value in [
            ("negative", "-1"), ("text", "x"), ("2^63", str(2**63)), ("float", "1e3"), ("empty", ""), ("plus", "+1"),
            ("5000-digits", "7" * 5000), ("fraction", "1.5"), ("arabic-digit", "\u0661"),
        ]
    ],
    case("run-scenario-unknown", "run", "--scenario", "nonesuch", words=("unknown scenario", "pccp")),
    case("run-scenario-missing-file", "run", "--scenario", "missing.toml", words=("no such scenario file",)),
    case("run-scenario-folder", "run", "--scenario", "d.toml", files={"d.toml": DIR}, words=("not a file",)),
    case("run-scenario-nul", "run", "--scenario", "a\x00b.toml", words=("NUL",)),
    case("run-scenario-name-too-long", "run", "--scenario", "a" * 300 + ".toml", words=("cannot look it up",)),
    case("run-out-extension", "run", "--out", "s.txt", words=("'.txt'", ".csv or .parquet")),
    case("run-out-no-extension", "run", "--out", "s", words=("extension",)),
    case("run-out-no-folder", "run", "--out", "nofolder/s.csv", words=("does not exist",)),
    case("run-out-under-a-file", "run", "--out", "afile/s.csv", files={"afile": "x"}, words=("not a folder",)),
    case("run-out-is-a-folder", "run", "--out", "d.csv", files={"d.csv": DIR}, words=("is a folder",)),
    case("run-out-unwritable", "run", "--steps", "2", "--set", "population_size=100", "--seed", "1",
         "--out", "/proc/phc-synergy-test.csv", words=("cannot write",)),
    case("run-summary-no-folder", "run", "--summary", "nofolder/s.json", words=("--summary", "does not exist")),
    case("run-summary-is-a-folder", "run", "--summary", "d", files={"d": DIR}, words=("is a folder",)),
    case("run-out-and-summary-same", "run", "--out", "s.csv", "--summary", "s.csv", words=("the same file",)),
    case("run-draws-without-posterior", "run", "--draws", "3", words=("--posterior",)),
    case("run-posterior-without-one", "run", "--posterior", "--scenario", "pccp", words=("carries no posterior",)),
    case("run-posterior-draws-zero", "run", "--posterior", "--scenario", "cal.toml", "--draws", "0",
         files={"cal.toml": CALIBRATED}, words=("--draws",)),
    case("run-posterior-draws-too-many", "run", "--posterior", "--scenario", "cal.toml", "--draws", "100001",
         files={"cal.toml": CALIBRATED}, words=("--draws", "100,000")),
    case("run-unknown-option", "run", "--bogus", words=("run:", "unrecognized arguments")),
    case("run-option-without-value", "run", "--seed", words=("run:", "expected one argument")),
]

# Scenario files, each given to `run --scenario FILE`.
SCENARIO_FILES = {
    "malformed": ('name = "x"\ndescription = "d"\n[parameters]\nseats = \n', ("malformed TOML", "line 4")),
    "not-utf8": ('name = "x' + NOT_UTF8 + '"\n', ("not UTF-8",)),
    "empty": ("", ("missing 'name'",)),
    "top-level-parameter": ('name = "x"\ndescription = "d"\nseats = 3\n[parameters]\n', ("unknown top-level key",)),
    "unknown-parameter": ('name = "x"\ndescription = "d"\n[parameters]\nsets = 3\n', ("sets", "not a parameter")),
    "out-of-bounds": ('name = "x"\ndescription = "d"\n[parameters]\nseats = 1\n', ("seats", "[3, 2000]")),
    "number-as-text": ('name = "x"\ndescription = "d"\n[parameters]\nseats = "12"\n', ("seats", "'12'")),
    "composition-as-text": ('name = "x"\ndescription = "d"\n[parameters]\ncomposition = "academic:1"\n',
                            ("composition",)),
    "composition-type": ('name = "x"\ndescription = "d"\n[parameters.composition]\nnurse = 1\n', ("nurse",)),
    "composition-negative": ('name = "x"\ndescription = "d"\n[parameters.composition]\nacademic = -1\n',
                             ("composition.academic",)),
    "composition-overflow": ('name = "x"\ndescription = "d"\n[parameters.composition]\nacademic = 1e308\n'
                             + "clinician = 1e308\n", ("positive, finite total",)),
    "int-too-big-for-a-float": ('name = "x"\ndescription = "d"\n[parameters]\nleadership = 1' + "0" * 400 + "\n",
                                ("leadership",)),
    "name-not-a-string": ('name = 3\ndescription = "d"\n[parameters]\n', ("'name' = 3",)),
    "parameters-not-a-table": ('name = "x"\ndescription = "d"\nparameters = 3\n', ("'parameters' = 3",)),
    "shock-after-horizon": ('name = "x"\ndescription = "d"\n[parameters]\nsteps = 10\nshock_month = 20\n',
                            ("shock_month",)),
    "posterior-negative-weight": (edit(CALIBRATED, "[1.0, 3.0]", "[1.0, -3.0]"), ("posterior", "weights")),
    "posterior-zero-weights": (edit(CALIBRATED, "[1.0, 3.0]", "[0.0, 0.0]"), ("weights",)),
    "posterior-weight-too-big": (edit(CALIBRATED, "[1.0, 3.0]", "[1" + "0" * 400 + ", 3.0]"), ("weights",)),
    "posterior-length": (edit(CALIBRATED, "[0.1, 0.2]", "[0.1]"), ("trust_gain", "2 values")),
    "posterior-out-of-bounds": (edit(CALIBRATED, "[0.1, 0.2]", "[0.1, 7.0]"), ("trust_gain",)),
    "posterior-composition": (edit(CALIBRATED, "trust_gain = [0.1, 0.2]", "composition = [{}, {}]"),
                              ("composition", "not a number")),
    "posterior-unknown-key": (edit(CALIBRATED, 'source = "hand-made"', 'source = "x"\nseed = 1'), ("seed",)),
    "deeply-nested": ("a = " + "[" * 3000 + "]" * 3000 + "\n", ("nested too deeply",)),
}  # fmt: skip
SCENARIO_FILE_CASES = [
    case(f"scenario-file-{name}", "run", "--scenario", "s.toml", files={"s.toml": text}, words=("s.toml", *words))
    for name, (text, words) in SCENARIO_FILES.items()
]

# Sweep specs, each given to `sweep SPEC --out out`.
SPECS = {
    "malformed": ("scenario = \n", ("malformed TOML",)),
    "not-utf8": ('name = "' + NOT_UTF8 + '"\n', ("not UTF-8",)),
    "unknown-key": (edit(SPEC, "replicates = 2", "replicates = 2\nreplicate = 3"), ("replicate", "unknown key")),
    "missing-root-seed": (edit(SPEC, "root_seed = 1\n", ""), ("root_seed", "missing")),
    "root-seed-negative": (edit(SPEC, "root_seed = 1", "root_seed = -1"), ("root_seed", "[0, 2^63 - 1]")),
    "root-seed-2^63": (edit(SPEC, "root_seed = 1", f"root_seed = {2**63}"), ("root_seed", "[0, 2^63 - 1]")),
    "root-seed-text": (edit(SPEC, "root_seed = 1", 'root_seed = "1"'), ("root_seed",)),
    "root-seed-float": (edit(SPEC, "root_seed = 1", "root_seed = 1.0"), ("root_seed",)),
    "replicates-zero": (edit(SPEC, "replicates = 2", "replicates = 0"), ("replicates",)),
    "replicates-text": (edit(SPEC, "replicates = 2", 'replicates = "2"'), ("replicates",)),
    "replicates-too-many": (edit(SPEC, "replicates = 2", "replicates = 100001"), ("replicates", "100,000")),
    "steps-text": (edit(SPEC, "steps = 3", 'steps = "12"'), ("steps", "'12'")),
    "steps-zero": (edit(SPEC, "steps = 3", "steps = 0"), ("steps", "[1, 600]")),
    "steps-twice": (edit(SPEC, "population_size = 100", "population_size = 100\nsteps = 4"), ("steps", "keep one")),
    "fixed-unknown": (edit(SPEC, "population_size = 100", "population = 100"), ("population", "unknown parameter")),
    "fixed-text": (edit(SPEC, "population_size = 100", 'population_size = "100"'), ("fixed.population_size",)),
    "fixed-bounds": (edit(SPEC, "population_size = 100", "population_size = -5"), ("fixed.population_size",)),
    "vary-unknown": (edit(SPEC, "communication = {}", "comunication = {}"), ("did you mean 'communication'",)),
    "vary-composition": (edit(SPEC, "communication = {}", "composition = {}"), ("cannot be varied",)),
    "vary-bounds": (edit(SPEC, "communication = {}", "communication = [0, 2]"), ("communication.high",)),
    "vary-upside-down": (edit(SPEC, "communication = {}", "communication = [0.8, 0.2]"), ("must be below",)),
    "vary-text-bound": (edit(SPEC, "communication = {}", 'communication = ["0", 1]'), ("communication.low",)),
    "vary-huge-bound": (edit(SPEC, "communication = {}", "communication = [0, 1" + "0" * 400 + "]"),
                        ("communication.high",)),
    "vary-both-fixed": (edit(SPEC, "communication = {}", "population_size = {}"), ("both in [fixed] and in [vary]",)),
    "vary-levels-not-grid": (edit(SPEC, "communication = {}", "communication = { levels = 3 }"), ("grid designs",)),
    "vary-list-of-three": (edit(SPEC, "communication = {}", "communication = [0, 0.5, 1]"), ("[low, high]",)),
    "design-missing": (edit(SPEC, '[design]\nmethod = "lhs"\nn = 2\n', ""), ("missing 'design'",)),
    "method-unknown": (edit(SPEC, 'method = "lhs"', 'method = "factorial"'), ("factorial", "grid, lhs")),
    "method-missing": (edit(SPEC, 'method = "lhs"\n', ""), ("missing [design] method",)),
    "lhs-n-missing": (edit(SPEC, "n = 2\n", ""), ("missing [design] n",)),
    "lhs-n-one": (edit(SPEC, "n = 2", "n = 1"), ("design.n", "[2, 10,000,000]")),
    "lhs-n-too-big": (edit(SPEC, "n = 2", "n = 20000000"), ("design.n", "[2, 10,000,000]")),
    "lhs-n-text": (edit(SPEC, "n = 2", 'n = "2"'), ("design.n",)),
    "sobol-n-not-power-of-two": (edit(SPEC, 'method = "lhs"\nn = 2', 'method = "sobol"\nn = 100'),
                                 ("power of two", "64", "128")),
    "sobol-n-too-big": (edit(SPEC, 'method = "lhs"\nn = 2', 'method = "sobol"\nn = 16777216'), ("8,388,608",)),
    "morris-odd-levels": (edit(MORRIS, "trajectories = 2", "trajectories = 2\nlevels = 3"), ("design.levels", "even")),
    "morris-no-trajectories": (edit(MORRIS, "trajectories = 2\n", ""), ("missing [design] trajectories",)),
    "key-of-another-design": (edit(SPEC, "n = 2", "n = 2\ntrajectories = 3"), ("trajectories", "morris")),
    "grid-levels-huge": (edit(SPEC, 'method = "lhs"\nn = 2', 'method = "grid"\nlevels = 1000000000'),
                         ("design.levels", "10,000,000")),
    "grid-product-too-big": (edit(edit(SPEC, 'method = "lhs"\nn = 2', 'method = "grid"\nlevels = 100000'),
                                  "communication = {}", "communication = {}\nleadership = {}"),
                             ("100,000 x 100,000", "at most 10,000,000 runs")),
    "grid-levels-text": (edit(SPEC, 'method = "lhs"\nn = 2', 'method = "grid"\nlevels = "3"'), ("design.levels",)),
    "dummy-on-grid": (edit(SPEC, 'method = "lhs"\nn = 2', 'method = "grid"\ndummy = true'), ("dummy",)),
    "dummy-not-bool": (edit(SPEC, 'method = "lhs"\nn = 2', 'method = "sobol"\nn = 2\ndummy = "yes"'),
                       ("design.dummy",)),
    "design-seed-negative": (edit(SPEC, "n = 2", "n = 2\nseed = -1"), ("design.seed", "[0, 2^63 - 1]")),
    "outputs-unknown": (SPEC + '[outputs]\nseries = ["synergi"]\n', ("synergi", "did you mean 'synergy'")),
    "outputs-not-a-list": (SPEC + '[outputs]\nseries = "synergy"\n', ("outputs.series",)),
    "outputs-unknown-key": (SPEC + "[outputs]\nsummary = true\n", ("summary", "unknown key")),
    "scenario-unknown": (edit(SPEC, 'scenario = "default"', 'scenario = "pcpp"'), ("pcpp", "pccp")),
    "scenario-missing-file": (edit(SPEC, 'scenario = "default"', 'scenario = "gone.toml"'), ("no such scenario",)),
    "scenario-not-a-string": (edit(SPEC, 'scenario = "default"', "scenario = 3"), ("scenario = 3",)),
    "posterior-not-bool": (edit(SPEC, "root_seed = 1", 'root_seed = 1\nposterior = "yes"'), ("posterior",)),
    "name-not-a-string": (edit(SPEC, 'name = "tiny"', "name = 5"), ("name = 5",)),
    "design-point-invalid": (edit(SPEC, "communication = {}", "shock_month = [0, 100]"), ("shock_month", "steps = 3")),
}  # fmt: skip
SPEC_FILE_CASES = [
    case(f"spec-{name}", "sweep", "spec.toml", "--out", "out", files={"spec.toml": text}, words=("spec.toml", *words))
    for name, (text, words) in SPECS.items()
]

SWEEP_CASES = [
    case("sweep-spec-missing", "sweep", "nope.toml", "--out", "out", words=("no such spec file",)),
    case("sweep-spec-folder", "sweep", "d.toml", "--out", "out", files={"d.toml": DIR}, words=("not a file",)),
    case("sweep-out-missing", "sweep", "spec.toml", files={"spec.toml": SPEC}, words=("--out",)),
    *[
        case(f"sweep-{label}", "sweep", "spec.toml", "--out", "out", *options, files={"spec.toml": SPEC}, words=words)
        for label, options, words in [
            ("workers-zero", ("--workers", "0"), ("--workers",)),
            ("workers-text", ("--workers", "x"), ("--workers",)),
            ("workers-too-many", ("--workers", "100000"), ("--workers", "4 per core")),
            ("workers-and-scheduler", ("--workers", "2", "--scheduler", "tcp://127.0.0.1:1"), ("not both",)),
            ("scheduler-not-an-address", ("--scheduler", "notaurl"), ("--scheduler 'notaurl'", "no port")),
            ("scheduler-port-out-of-range", ("--scheduler", "tcp://127.0.0.1:99999"), ("port 99999", "1..65535")),
            ("scheduler-port-zero", ("--scheduler", "tcp://127.0.0.1:0"), ("port 0",)),
            ("scheduler-port-text", ("--scheduler", "tcp://127.0.0.1:abc"), ("port 'abc'",)),
            ("scheduler-scheme", ("--scheduler", "http://127.0.0.1:8786"), ("unknown scheme 'http'",)),
            ("scheduler-no-host", ("--scheduler", "tcp://:8786"), ("no host",)),
            ("scheduler-path", ("--scheduler", "tcp://127.0.0.1:8786/x"), ("nothing more",)),
            ("scheduler-empty", ("--scheduler", ""), ("it is empty",)),
            ("scheduler-ipv6-no-brackets", ("--scheduler", "tcp://::1:8786"), ("brackets",)),
            ("scheduler-nobody-there", ("--scheduler", "tcp://127.0.0.1:{port}"), ("connection refused",)),
            ("scheduler-unknown-host", ("--scheduler", "tcp://no-such-host.invalid:8786"), ("unknown host",)),
            ("batch-size-zero", ("--batch-size", "0"), ("--batch-size",)),
            ("chunk-runs-text", ("--chunk-runs", "x"), ("--chunk-runs",)),
            ("chunk-seconds-zero", ("--chunk-seconds", "0"), ("--chunk-seconds",)),
            ("chunk-seconds-nan", ("--chunk-seconds", "nan"), ("--chunk-seconds",)),
            ("chunk-seconds-inf", ("--chunk-seconds", "inf"), ("--chunk-seconds",)),
        ]
    ],
    case("sweep-out-is-a-file", "sweep", "spec.toml", "--out", "afile", files={"spec.toml": SPEC, "afile": "x"},
         words=("not a folder",)),
    case("sweep-out-not-a-sweep", "sweep", "spec.toml", "--out", "d", files={"spec.toml": SPEC, "d": DIR,
         "d/notes.txt": "mine"}, words=("holds no sweep",)),
    case("sweep-out-exists-without-resume", "sweep", "spec.toml", "--out", "sweep",
         files={"spec.toml": SPEC, "sweep": SWEEP}, words=("already holds this sweep", "--resume")),
    case("sweep-out-another-spec", "sweep", "spec.toml", "--out", "sweep", "--resume",
         files={"spec.toml": edit(SPEC, "root_seed = 1", "root_seed = 2"), "sweep": SWEEP},
         words=("a different spec",)),
    case("sweep-out-unwritable", "sweep", "spec.toml", "--out", "/proc/phc-synergy-test", files={"spec.toml": SPEC},
         words=("cannot create",)),
]

EXPORT_CASES = [
    case("export-dir-missing", "export", "nope", "--format", "csv", words=("not a folder",)),
    case("export-dir-is-a-file", "export", "afile", "--format", "csv", files={"afile": "x"}, words=("not a folder",)),
    case("export-not-a-sweep", "export", "d", "--format", "csv", files={"d": DIR}, words=("not a sweep folder",)),
    case("export-damaged-manifest", "export", "d", "--format", "csv", files={"d": DIR, "d/_manifest.json": "{"},
         words=("cannot be read",)),
    case("export-format-missing", "export", "sweep", files={"sweep": SWEEP}, words=("--format",)),
    case("export-format-unknown", "export", "sweep", "--format", "xml", files={"sweep": SWEEP},
         words=("invalid choice",)),
    case("export-out-is-a-folder", "export", "sweep", "--format", "csv", "--out", "d", files={"sweep": SWEEP, "d": DIR},
         words=("is a folder",)),
    case("export-out-no-folder", "export", "sweep", "--format", "csv", "--out", "nofolder/r.csv",
         files={"sweep": SWEEP}, words=("does not exist",)),
    case("export-out-under-a-file", "export", "sweep", "--format", "csv", "--out", "afile/r.csv",
         files={"sweep": SWEEP, "afile": "x"}, words=("not a folder",)),
    case("export-out-unwritable", "export", "sweep", "--format", "csv", "--out", "/proc/phc-synergy-test.csv",
         files={"sweep": SWEEP}, words=("cannot write",)),
    case("export-incomplete-csv", "export", "part", "--format", "csv", files={"part": PARTIAL},
         words=("2 of 4 runs are stored", "--resume", "--partial")),
    case("export-incomplete-behaviorspace", "export", "part", "--format", "behaviorspace", files={"part": PARTIAL},
         words=("2 of 4 runs are stored", "--partial")),
]

SENSITIVITY_CASES = [
    case("sensitivity-lhs-design", "sensitivity", "spec.toml", "--out", "o", files={"spec.toml": SPEC},
         words=("cannot be analysed", "morris")),
    case("sensitivity-spec-missing", "sensitivity", "nope.toml", "--out", "o", words=("no such spec file",)),
    case("sensitivity-bad-spec", "sensitivity", "spec.toml", "--out", "o",
         files={"spec.toml": edit(MORRIS, "trajectories = 2", "trajectories = 1")}, words=("design.trajectories",)),
    case("sensitivity-out-missing", "sensitivity", "spec.toml", files={"spec.toml": MORRIS}, words=("--out",)),
    case("sensitivity-out-is-a-file", "sensitivity", "spec.toml", "--out", "afile",
         files={"spec.toml": MORRIS, "afile": "x"}, words=("not a folder",)),
    case("sensitivity-workers-zero", "sensitivity", "spec.toml", "--out", "o", "--workers", "0",
         files={"spec.toml": MORRIS}, words=("--workers",)),
    case("sensitivity-scheduler-bad", "sensitivity", "spec.toml", "--out", "o", "--scheduler", "tcp://h:99999",
         files={"spec.toml": MORRIS}, words=("port 99999",)),
    case("sensitivity-scheduler-refused", "sensitivity", "spec.toml", "--out", "o", "--scheduler",
         "tcp://127.0.0.1:{port}", files={"spec.toml": MORRIS}, words=("connection refused",)),
]

COMPARE_CONFIGS = {
    "malformed": ("replicates = \n", ("malformed TOML",)),
    "unknown-key": (CONFIG + "colour = 1\n", ("colour",)),
    "replicates-zero": (edit(CONFIG, "replicates = 2", "replicates = 0"), ("replicates",)),
    "replicates-text": (edit(CONFIG, "replicates = 2", 'replicates = "2"'), ("replicates",)),
    "replicates-too-many": (edit(CONFIG, "replicates = 2", "replicates = 100001"), ("replicates", "100,000")),
    "root-seed-negative": (edit(CONFIG, "replicates = 2", "replicates = 2\nroot_seed = -1"), ("root_seed",)),
    "root-seed-2^63": (edit(CONFIG, "replicates = 2", f"replicates = 2\nroot_seed = {2**63}"), ("[0, 2^63 - 1]",)),
    "steps-text": (edit(CONFIG, "steps = 3", 'steps = "3"'), ("steps",)),
    "no-variants": ('name = "x"\n', ("no [[variant]]",)),
    "variant-unknown-key": (edit(CONFIG, 'name = "a"', 'name = "a"\ncolour = 1'), ("colour",)),
    "variant-no-scenario": (edit(CONFIG, 'name = "a"\nscenario = "default"', 'name = "a"'), ("'scenario'",)),
    "variant-unknown-scenario": (edit(CONFIG, 'name = "a"\nscenario = "default"', 'name = "a"\nscenario = "pcpp"'),
                                 ("pcpp",)),
    "variant-name-twice": (edit(CONFIG, 'name = "b"', 'name = "a"'), ("used twice",)),
    "variant-name-not-a-string": (edit(CONFIG, 'name = "b"', "name = 2"), ("name = 2",)),
    "set-unknown": (edit(CONFIG, "coordination = 0.9", "coordinaton = 0.9"), ("did you mean 'coordination'",)),
    "set-text": (edit(CONFIG, "coordination = 0.9", 'coordination = "0.9"'), ("coordination",)),
    "set-bounds": (edit(CONFIG, "coordination = 0.9", "coordination = 9"), ("coordination",)),
    "set-not-a-table": (edit(CONFIG, "set = { coordination = 0.9 }", "set = 3"), ("'set'",)),
}  # fmt: skip
COMPARE_CASES = [
    case("compare-nothing", "compare", "--out", "o", words=("name at least one scenario",)),
    case("compare-out-missing", "compare", "default", words=("--out",)),
    case("compare-unknown-scenario", "compare", "nonesuch", "--out", "o", words=("nonesuch",)),
    case("compare-scenario-twice", "compare", "default", "default", "--out", "o", words=("named twice",)),
    case("compare-bad-scenario-file", "compare", "s.toml", "--out", "o",
         files={"s.toml": SCENARIO_FILES["number-as-text"][0]}, words=("seats",)),
    case("compare-config-and-scenarios", "compare", "default", "--config", "c.toml", "--out", "o",
         files={"c.toml": CONFIG}, words=("not both",)),
    case("compare-steps-with-config", "compare", "--config", "c.toml", "--steps", "3", "--out", "o",
         files={"c.toml": CONFIG}, words=("--steps",)),
    case("compare-config-missing", "compare", "--config", "nope.toml", "--out", "o", words=("no such config file",)),
    case("compare-config-folder", "compare", "--config", "d", "--out", "o", files={"d": DIR}, words=("not a file",)),
    case("compare-replicates-zero", "compare", "default", "--replicates", "0", "--out", "o", words=("--replicates",)),
    case("compare-replicates-too-many", "compare", "default", "--replicates", "100001", "--out", "o",
         words=("--replicates", "100,000")),
    case("compare-seed-negative", "compare", "default", "--seed", "-1", "--out", "o", words=("[0, 2^63 - 1]",)),
    case("compare-seed-2^63", "compare", "default", "--seed", str(2**63), "--out", "o", words=("[0, 2^63 - 1]",)),
    case("compare-steps-zero", "compare", "default", "--steps", "0", "--out", "o", words=("'steps'",)),
    case("compare-out-is-a-file", "compare", "default", "--replicates", "2", "--steps", "2", "--out", "afile",
         files={"afile": "x"}, words=("not a folder",)),
    case("compare-workers-zero", "compare", "default", "--out", "o", "--workers", "0", words=("--workers",)),
    case("compare-scheduler-bad", "compare", "default", "--out", "o", "--scheduler", "notaurl", words=("no port",)),
    case("compare-scheduler-refused", "compare", "default", "--steps", "2", "--out", "o", "--scheduler",
         "tcp://127.0.0.1:{port}", words=("connection refused",)),
    *[
        case(f"compare-config-{name}", "compare", "--config", "c.toml", "--out", "o", files={"c.toml": text},
             words=("c.toml", *words))
        for name, (text, words) in COMPARE_CONFIGS.items()
    ],
]

MAIN_JOB_CASES = [
    case("main-workers-zero", "main", "--workers", "0", words=("--workers",)),
    case("main-workers-text", "main", "--workers", "two", words=("--workers",)),
    case("main-workers-and-scheduler", "main", "--workers", "2", "--scheduler", "tcp://h:1", words=("not both",)),
    case("main-scheduler-bad", "main", "--scheduler", "tcp://h", words=("no port",)),
    case("main-scheduler-refused", "main", "--out", "res", "--scheduler", "tcp://127.0.0.1:{port}",
         words=("connection refused",)),
    case("main-out-is-a-file", "main", "--out", "afile", "--workers", "1", files={"afile": "x"},
         words=("not a folder",)),
]

# Case files, each given to `calibrate CASE --out cal`.
CASE_FILES = {
    "malformed": ('name = "x"\n[[', ("malformed TOML",)),
    "not-utf8": ('name = "' + NOT_UTF8 + '"\n', ("not UTF-8",)),
    "missing-name": (edit(CASE_FILE, 'name = "case"\n', ""), ("name: missing",)),
    "unknown-top-level": (CASE_FILE + "colour = 1\n", ("colour",)),
    "missing-provenance": (edit(CASE_FILE, 'citation = "made up for a test"\n', ""), ("provenance.citation",)),
    "synthetic-not-bool": (edit(CASE_FILE, "synthetic = true", 'synthetic = "yes"'), ("provenance.synthetic",)),
    "missing-targets": (CASE_FILE.split("[[targets]]")[0], ("targets: missing",)),
    "target-unknown-output": (edit(CASE_FILE, '"active_seats"', '"active_seat"'), ("active_seat",)),
    "target-month-beyond": (edit(CASE_FILE, "month = 12", "month = 13"), ("beyond the horizon",)),
    "target-month-text": (edit(CASE_FILE, "month = 12", 'month = "12"'), ("targets[1].month",)),
    "target-value-impossible": (edit(CASE_FILE, "value = 8", "value = 11"), ("impossible",)),
    "target-value-huge": (edit(CASE_FILE, "value = 8", "value = 1" + "0" * 400), ("targets[1].value",)),
    "target-sd-zero": (edit(CASE_FILE, "sd = 1", "sd = 0"), ("targets[1].sd",)),
    "target-sd-missing": (edit(CASE_FILE, "sd = 1\n", ""), ("targets[1].sd",)),
    "target-interval-upside-down": (edit(CASE_FILE, "value = 8\nsd = 1", "interval = [9, 3]"), ("upside down",)),
    "target-value-and-interval": (edit(CASE_FILE, "sd = 1", "sd = 1\ninterval = [1, 2]"), ("give either",)),
    "target-months-not-increasing": (edit(CASE_FILE, "month = 12\nvalue = 8", "months = [6, 3]\nvalues = [8, 8]"),
                                     ("months must increase",)),
    "settings-unknown": (edit(CASE_FILE, "population = 20", "population = 20\ncolour = 1"), ("settings.colour",)),
    "settings-population-small": (edit(CASE_FILE, "population = 20", "population = 5"), ("settings.population",)),
    "settings-seed-negative": (edit(CASE_FILE, "population = 20", "population = 20\nseed = -1"),
                               ("settings.seed", "[0, 2^63 - 1]")),
    "settings-steps-text": (edit(CASE_FILE, "steps = 12", 'steps = "12"'), ("settings.steps",)),
    "settings-steps-list": (edit(CASE_FILE, "steps = 12", "steps = []"), ("settings.steps",)),
    "settings-calibrate-integer": (edit(CASE_FILE, "population = 20", 'population = 20\ncalibrate = ["seats"]'),
                                   ("not a continuous parameter",)),
    "priors-upside-down": (CASE_FILE + "[priors]\nleadership = [0.9, 0.1]\n", ("upside down",)),
    "priors-beyond-bounds": (CASE_FILE + "[priors]\nleadership = [0, 2]\n", ("beyond the schema",)),
    "priors-unknown": (CASE_FILE + "[priors]\nleadershp = [0, 1]\n", ("priors.leadershp",)),
    "priors-huge": (CASE_FILE + "[priors]\nleadership = [0, 1" + "0" * 400 + "]\n", ("priors.leadership",)),
    "structure-text": (edit(CASE_FILE, "seats = 10", 'seats = "10"'), ("structure.seats",)),
    "structure-steps": (edit(CASE_FILE, "seats = 10", "seats = 10\nsteps = 12"), ("[settings] steps",)),
    "structure-composition-overflow": (edit(CASE_FILE, "seats = 10", "seats = 10\n[structure.composition]\n"
                                            "academic = 1e308\nclinician = 1e308"), ("structure.composition",)),
}  # fmt: skip
CASE_FILE_CASES = [
    case(f"case-file-{name}", "calibrate", "case.toml", "--out", "cal", files={"case.toml": text},
         words=("case.toml", *words))
    for name, (text, words) in CASE_FILES.items()
]  # fmt: skip

CALIBRATE_CASES = [
    case("calibrate-case-missing", "calibrate", "nope.toml", "--out", "cal", words=("no such case file",)),
    case("calibrate-case-unknown-name", "calibrate", "pcpp", "--out", "cal", words=("no such case file", "pccp")),
    case("calibrate-case-folder", "calibrate", "d", "--out", "cal", files={"d": DIR}, words=("not a file",)),
    case("calibrate-out-missing", "calibrate", "case.toml", files={"case.toml": CASE_FILE}, words=("--out",)),
    *[
        case(f"calibrate-{label}", "calibrate", "case.toml", "--out", "cal", *options, files={"case.toml": CASE_FILE},
             words=words)
        for label, options, words in [
            ("params-empty", ("--params", ","), ("--params",)),
            ("params-unknown", ("--params", "leadershp"), ("leadershp",)),
            ("params-integer", ("--params", "seats"), ("seats", "continuous")),
            ("params-twice", ("--params", "leadership,leadership"), ("twice",)),
            ("population-zero", ("--population", "0"), ("--population",)),
            ("population-small", ("--population", "5"), ("population = 5",)),
            ("population-huge", ("--population", "1000000"), ("population = 1000000",)),
            ("generations-zero", ("--generations", "0"), ("--generations",)),
            ("generations-and-max-simulations", ("--generations", "2", "--max-simulations", "9"),
             ("not allowed with argument",)),
            ("max-simulations-text", ("--max-simulations", "x"), ("--max-simulations",)),
            ("seed-negative", ("--seed", "-1"), ("--seed", "[0, 2^63 - 1]")),
            ("seed-2^63", ("--seed", str(2**63)), ("--seed", "[0, 2^63 - 1]")),
            ("workers-zero", ("--workers", "0"), ("--workers",)),
            ("scheduler-bad", ("--scheduler", "wss://h:0"), ("port 0",)),
            ("scheduler-refused", ("--scheduler", "tcp://127.0.0.1:{port}"), ("connection refused",)),
            ("resume-nothing", ("--resume",), ("no calibration to resume",)),
        ]
    ],
    case("calibrate-out-is-a-file", "calibrate", "case.toml", "--out", "afile",
         files={"case.toml": CASE_FILE, "afile": "x"}, words=("not a folder",)),
    case("calibrate-out-holds-one", "calibrate", "case.toml", "--out", "cal",
         files={"case.toml": CASE_FILE, "cal": DIR, "cal/history.db": "x"}, words=("holds a calibration already",)),
    case("calibrate-resume-empty-folder", "calibrate", "case.toml", "--out", "cal", "--resume",
         files={"case.toml": CASE_FILE, "cal": DIR}, words=("no calibration to resume",)),
]

# A case with the evaluators' tables (docs/CALIBRATION.md), and bad tables and options around it.
TABLE_CASE = """\
name = "tables"
[provenance]
citation = "made up for a test"
observed = "x"
period = "y"
synthetic = true
[structure]
seats = 6
[tables]
survey = "survey.csv"
attendance = "attendance.csv"
roster = "roster.csv"
[settings]
steps = 12
population = 20
"""
SURVEY = "wave,respondent,type,section,item,answer\n6,R1,clinician,leadership,1,4\n6,R2,,synergy,2,dk\n"
ATTENDANCE = "month,person,type,attended\n1,P1,clinician,1\n1,P2,academic,0\n"
ROSTER = "person,organisation,type,joined,left\nP1,O1,clinician,0,\nP2,O2,academic,0,8\n"
TABLE_FILES = {"case.toml": TABLE_CASE, "survey.csv": SURVEY, "attendance.csv": ATTENDANCE, "roster.csv": ROSTER}
BAD_TABLES = {
    "survey-unknown-section": ("survey.csv", edit(SURVEY, "leadership", "leadrship"), ("line 2", "section")),
    "survey-item-beyond": ("survey.csv", edit(SURVEY, "leadership,1", "leadership,12"), ("line 2", "item", "[1, 11]")),
    "survey-answer-seven": ("survey.csv", edit(SURVEY, ",4\n", ",7\n"), ("line 2", "answer")),
    "survey-wave-beyond": ("survey.csv", edit(SURVEY, "6,R1", "13,R1"), ("line 2", "wave", "outside the period")),
    "survey-wave-fraction": ("survey.csv", edit(SURVEY, "6,R1", "6.5,R1"), ("line 2", "wave")),
    "survey-missing-column": ("survey.csv", SURVEY.replace(",answer", "").replace(",4\n", "\n").replace(",dk\n", "\n"),
                              ("line 1", "answer", "missing")),
    "survey-unknown-column": ("survey.csv", edit(SURVEY, "answer\n", "answer,colour\n"), ("line 1", "colour")),
    "survey-short-row": ("survey.csv", SURVEY + "6,R3,clinician\n", ("line 4", "cells")),
    "survey-unknown-type": ("survey.csv", edit(SURVEY, "clinician", "doctor"), ("line 2", "type")),
    "survey-empty": ("survey.csv", "", ("empty",)),
    "survey-header-only": ("survey.csv", "wave,respondent,type,section,item,answer\n", ("no rows",)),
    "survey-not-text": ("survey.csv", "\udcff" * 3, ("survey.csv",)),
    "roster-left-before-joined": ("roster.csv", edit(ROSTER, "0,8", "9,8"), ("line 3", "left", "before")),
    "roster-twice": ("roster.csv", ROSTER + "P1,O3,clinician,2,\n", ("line 4", "person", "twice")),
    "roster-joined-negative": ("roster.csv", edit(ROSTER, "clinician,0,", "clinician,-1,"), ("line 2", "joined")),
    "attendance-not-in-roster": ("attendance.csv", ATTENDANCE + "2,P9,academic,1\n", ("line 4", "P9", "roster")),
    "attendance-maybe": ("attendance.csv", edit(ATTENDANCE, "clinician,1", "clinician,maybe"), ("line 2", "attended")),
}  # fmt: skip
TABLE_CASES = [
    *[case(f"tables-{name}", "calibrate", "case.toml", "--out", "cal", files={**TABLE_FILES, file: text},
           words=(file, *words)) for name, (file, text, words) in BAD_TABLES.items()],
    case("tables-file-missing", "calibrate", "case.toml", "--out", "cal",
         files={k: v for k, v in TABLE_FILES.items() if k != "roster.csv"}, words=("tables.roster", "no such file")),
    case("tables-unknown-kind", "calibrate", "case.toml", "--out", "cal",
         files={**TABLE_FILES, "case.toml": edit(TABLE_CASE, "[tables]\n", '[tables]\nminutes = "m.csv"\n')},
         words=("tables.minutes", "unknown table")),
    case("tables-not-a-path", "calibrate", "case.toml", "--out", "cal",
         files={**TABLE_FILES, "case.toml": edit(TABLE_CASE, 'survey = "survey.csv"', "survey = 3")},
         words=("tables.survey",)),
    case("tables-and-no-targets-or-tables", "calibrate", "case.toml", "--out", "cal",
         files={"case.toml": TABLE_CASE.split("[tables]")[0] + "[settings]\nsteps = 12\n"}, words=("targets: missing",)),
]  # fmt: skip

OBSERVE_CASES = [
    case(f"observe-{label}", "observe", *options, files=files or {}, words=words)
    for label, options, words, files in [
        ("out-missing", ("--seed", "1"), ("--out",), None),
        ("waves-zero", ("--waves", "0", "--out", "o"), ("--waves",), None),
        ("waves-down", ("--waves", "24,12", "--out", "o"), ("--waves", "increasing"), None),
        ("waves-beyond", ("--waves", "12,99", "--out", "o"), ("--waves", "[1, 60]"), None),
        ("waves-text", ("--waves", "twelve", "--out", "o"), ("--waves",), None),
        ("seed-negative", ("--seed", "-1", "--out", "o"), ("--seed",), None),
        ("set-unknown", ("--set", "leadershp=1", "--out", "o"), ("leadershp",), None),
        ("steps-zero", ("--steps", "0", "--out", "o"), ("--steps",), None),
        ("scenario-missing", ("--scenario", "nope", "--out", "o"), ("nope",), None),
        ("out-not-empty", ("--out", "o"), ("not empty",), {"o": DIR, "o/x.txt": "x"}),
        ("out-is-a-file", ("--out", "o"), ("not a folder",), {"o": "x"}),
        ("name-empty", ("--name", " ", "--out", "o"), ("--name",), None),
    ]
]  # fmt: skip

RECOVERY_CASES = [
    case(f"recovery-{label}", "recovery", "case.toml", *options, files={**TABLE_FILES, **(files or {})}, words=words)
    for label, options, words, files in [
        ("truths-zero", ("--truths", "0", "--out", "r"), ("--truths",), None),
        ("truths-missing", ("--out", "r"), ("--truths",), None),
        ("design-unknown", ("--truths", "2", "--designs", "roster+minutes", "--out", "r"), ("minutes",), None),
        ("design-two-surveys", ("--truths", "2", "--designs", "survey+survey1", "--out", "r"), ("survey1",), None),
        ("designs-twice", ("--truths", "2", "--designs", "roster,roster", "--out", "r"), ("--designs",), None),
        ("params-unknown", ("--truths", "2", "--params", "leadershp", "--out", "r"), ("leadershp",), None),
        ("out-not-empty", ("--truths", "2", "--out", "r"), ("not empty",), {"r": DIR, "r/x.txt": "x"}),
        ("resume-nothing", ("--truths", "2", "--out", "r", "--resume"), ("no recovery to resume",), {"r": DIR}),
        ("no-tables", ("--truths", "2", "--out", "r"), ("needs a case with [tables]",), {"case.toml": CASE_FILE}),
    ]
]  # fmt: skip

VIZ_CASES = [
    case("viz-port-zero", "viz", "--port", "0", words=("--port",)),
    case("viz-port-too-big", "viz", "--port", "70000", words=("--port", "65535")),
    case("viz-port-text", "viz", "--port", "http", words=("--port",)),
]

# The workshop page's fields and uploads have no exit status: they are checked by PAGE_INPUTS below (one
# message naming the field, no traceback, nothing written), not by rows of this table.
PAGE_CASES: list[Case] = []

ALL_CASES = [
    *TABLE_CASES,
    *OBSERVE_CASES,
    *RECOVERY_CASES,
    *MAIN_CASES, *PARAMS_CASES, *SCENARIOS_CASES, *RUN_SET_CASES, *RUN_OPTION_CASES, *SCENARIO_FILE_CASES,
    *SPEC_FILE_CASES, *SWEEP_CASES, *EXPORT_CASES, *SENSITIVITY_CASES, *COMPARE_CASES, *MAIN_JOB_CASES,
    *CASE_FILE_CASES, *CALIBRATE_CASES, *VIZ_CASES, *PAGE_CASES,
]  # fmt: skip


def test_the_table_is_large_and_its_ids_unique():
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert len(ALL_CASES) >= 150


# ---------------------------------------------------------------------------- running a case
@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, Path]:
    """A finished tiny sweep (SPEC: 2 points x 2 replicates) and one holding 2 of its 4 runs."""
    from experiments.spec import load_spec
    from experiments.store import chunk_files
    from experiments.sweep import run_sweep

    folder = tmp_path_factory.mktemp("sweeps")
    spec = folder / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    run_sweep(load_spec(spec), folder / "done", batch_size=2, chunk_runs=2)
    run_sweep(load_spec(spec), folder / "partial", batch_size=2, chunk_runs=2)
    chunks = chunk_files(folder / "partial")
    assert len(chunks) == 2
    chunks[max(chunks)].unlink()  # as if it was stopped after its first chunk
    return {SWEEP: folder / "done", PARTIAL: folder / "partial"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lay_out(folder: Path, files: dict[str, str], sweeps: dict[str, Path]) -> None:
    for name, content in files.items():
        path = folder / name
        if content == DIR:
            path.mkdir(parents=True, exist_ok=True)
        elif content in (SWEEP, PARTIAL):
            shutil.copytree(sweeps[content], path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode("utf-8", "surrogateescape"))


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with a hash of its bytes (folders as 'folder')."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "folder" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def argv_of(c: Case) -> list[str]:
    port = _free_port() if any("{port}" in a for a in c.argv) else None
    return [a.replace("{port}", str(port)) for a in c.argv]


@pytest.mark.parametrize("c", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(c, tmp_path, monkeypatch, capsys, sweeps):
    lay_out(tmp_path, c.files, sweeps)
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    status = main(argv_of(c))
    out, err = capsys.readouterr()
    assert status == 2, (status, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("phc-synergy: error: "), err
    for word in c.words:
        assert word in lines[0], (word, lines[0])
    assert snapshot(tmp_path) == before  # nothing new, nothing changed, nothing half-written


# ---------------------------------------------------------------------------- a sample as real processes
PROCESS_SAMPLE = [
    "no-command",
    "params-format-xml",
    "run-seed-2^63",
    "spec-steps-text",
    "spec-grid-levels-huge",
    "sweep-scheduler-not-an-address",
    "export-incomplete-csv",
    "case-file-target-month-beyond",
    "calibrate-generations-and-max-simulations",
]


def _console_script() -> str | None:
    candidate = Path(sys.executable).with_name("phc-synergy")
    return str(candidate) if candidate.exists() else None


@pytest.mark.skipif(_console_script() is None, reason="the phc-synergy console script is not installed here")
@pytest.mark.parametrize("case_id", PROCESS_SAMPLE)
def test_bad_input_in_a_real_process(case_id, tmp_path, sweeps):
    (c,) = [c for c in ALL_CASES if c.id == case_id]
    lay_out(tmp_path, c.files, sweeps)
    before = snapshot(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.run(
        [_console_script(), *argv_of(c)], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("phc-synergy: error: ") and "Traceback" not in proc.stderr
    assert snapshot(tmp_path) == before


def test_huge_grid_is_refused_in_well_under_a_second(tmp_path, capsys):
    """levels = 1,000,000,000 and a 10^10-point grid: refused from the numbers, before any value is built."""
    import time

    from experiments.spec import SpecError, load_spec

    for text in (SPECS["grid-levels-huge"][0], SPECS["grid-product-too-big"][0]):
        path = tmp_path / "spec.toml"
        path.write_text(text, encoding="utf-8")
        load_spec_started = time.perf_counter()
        with pytest.raises(SpecError, match="10,000,000"):
            load_spec(path)
        assert time.perf_counter() - load_spec_started < 0.5


# ---------------------------------------------------------------------------- the workshop page's fields and uploads
PAGE_TOML_OK = b'name = "mine"\ndescription = "x"\n[parameters]\nseats = 12\n'
PAGE_INPUTS: list[tuple[str, str, object, str]] = [
    # (id, what the visitor does, what they give, words the message must have)
    ("setting-out-of-range", "set", ("leadership", "7"), "leadership"),
    ("setting-not-a-number", "set", ("communication", "lots"), "communication"),
    ("setting-negative-seats", "set", ("seats", "-3"), "seats"),
    ("setting-fraction-seats", "set", ("seats", "12.5"), "seats"),
    ("setting-nan", "set", ("trust_gain", "nan"), "trust_gain"),
    ("setting-inf", "set", ("external_support", "inf"), "external_support"),
    ("setting-huge-steps", "set", ("steps", "1e30"), "steps"),
    ("setting-composition-unknown-type", "set", ("composition", "astronaut:3"), "composition"),
    ("setting-composition-negative", "set", ("composition", "clinician:-1"), "composition"),
    ("setting-composition-no-colon", "set", ("composition", "clinician"), "composition"),
    ("setting-shock-after-horizon", "set", ("shock_month", "500"), "shock_month"),
    ("seed-negative", "seed", "-1", "seed"),
    ("seed-too-big", "seed", str(2**63), "seed"),
    ("seed-word", "seed", "lucky", "seed"),
    ("seed-fraction", "seed", "1.5", "seed"),
    ("upload-not-utf8", "upload", b"\xff\xfe\x00", "not UTF-8"),
    ("upload-not-toml", "upload", b"name = [unclosed", "malformed TOML"),
    ("upload-unknown-parameter", "upload", b'name = "m"\ndescription = "d"\n[parameters]\nwarp_drive = 1\n', "warp_drive"),
    ("upload-out-of-range", "upload", b'name = "m"\ndescription = "d"\n[parameters]\nleadership = 7.0\n', "leadership"),
    ("upload-number-as-text", "upload", b'name = "m"\ndescription = "d"\n[parameters]\nseats = "12"\n', "seats"),
    ("upload-bad-weights", "upload", (b'name = "m"\ndescription = "d"\n[parameters]\n[posterior]\n'
                                      b'parameters = ["leadership"]\nweights = [-1.0]\nvalues = [[0.5]]\n'), "weights"),
    ("upload-too-large", "upload-info", {"name": "big.toml", "size": 2 * 1024 * 1024, "data": b"x"}, "larger than"),
    ("upload-lies-about-size", "upload-info", {"name": "big.toml", "size": 10, "data": b"#" * (1024 * 1024 + 1)},
     "larger than"),
    ("upload-path-as-name", "upload-named", ("../../etc/passwd", b"name = [unclosed"), "passwd"),
    ("folder-dotdot", "folder", "../outside.toml", "not one of the scenario files"),
    ("folder-absolute", "folder", "/etc/passwd", "not one of the scenario files"),
    ("folder-not-listed", "folder", "missing.toml", "not one of the scenario files"),
    ("shipped-unknown", "shipped", "/etc/passwd", "not a shipped scenario"),
]


@pytest.mark.parametrize("case", PAGE_INPUTS, ids=[c[0] for c in PAGE_INPUTS])
def test_a_bad_page_input_gets_one_plain_message_and_touches_no_file(case, tmp_path, monkeypatch):
    """What a visitor types, chooses or uploads: refused with one line naming the field, never a server path."""
    from viz.files import FileRefused, ScenarioFolder, read_upload
    from viz.session import SessionError, WorkshopSession

    _, kind, given, words = case
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "ok.toml").write_bytes(PAGE_TOML_OK)
    (tmp_path / "outside.toml").write_bytes(PAGE_TOML_OK)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    session = WorkshopSession()
    try:
        with pytest.raises((SessionError, FileRefused)) as refused:
            if kind == "set":
                session.set_parameter(*given)
            elif kind == "seed":
                session.set_seed(given)
            elif kind == "upload":
                session.load_bytes(given, "mine.toml")
            elif kind == "upload-info":
                session.load_bytes(read_upload(given), "big.toml")
            elif kind == "upload-named":
                name, data = given
                from viz.files import display_name

                session.load_bytes(data, display_name(name))
            elif kind == "folder":
                session.load_bytes(ScenarioFolder(folder).read(given), given)
            elif kind == "shipped":
                session.load_shipped(given)
    finally:
        session.close()
    message = str(refused.value)
    assert "\n" not in message.strip(), message
    if kind == "set":  # the page names a setting in its plain words
        from viz.labels import parameter_label

        words = parameter_label(words)
    assert words in message, message
    assert "Traceback" not in message
    assert str(tmp_path) not in message, message  # nothing of the server's files: no path of it
    if "/etc/" not in str(given):
        assert "/etc/" not in message, message
    assert _snapshot(tmp_path) == before, "a page input left a file behind"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

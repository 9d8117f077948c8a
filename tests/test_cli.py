"""The phc-synergy command: listings, runs and their files, and clean errors for bad input."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from model.cli import main
from model.outputs import OUTPUTS, SUMMARY_OUTPUTS
from model.parameters import PARAMETERS
from model.scenarios import load_scenario

SMALL = ["--steps", "12", "--set", "population_size=500"]
SHIPPED = ["default", "pccp", "chrp", "homogeneous", "weak_enabling", "shock"]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the command in-process; returns (status, stdout, stderr)."""
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ---------------------------------------------------------------- params, scenarios, version
def test_params_table_lists_every_parameter_with_bounds(capsys):
    status, out, _ = cli(capsys, "params")
    assert status == 0
    lines = out.splitlines()
    for name, p in PARAMETERS.items():
        (line,) = [ln for ln in lines if ln.split() and ln.split()[0] == name]
        if p.sweepable:
            assert f"[{fmt(p.low)}, {fmt(p.high)}]" in line, name
        assert p.unit in line and p.meaning in line, name
    for level in {p.level for p in PARAMETERS.values()}:
        assert f"[{level}]" in lines


def test_params_table_columns_are_aligned(capsys):
    _, out, _ = cli(capsys, "params")
    rows = [ln for ln in out.splitlines() if ln.split() and ln.split()[0] in PARAMETERS]
    starts = {ln.index(ln.split()[1], len(ln.split()[0])) for ln in rows}
    assert len(starts) == 1  # every default starts in the same column


def test_params_json_lists_every_parameter_with_bounds(capsys):
    status, out, _ = cli(capsys, "params", "--format", "json")
    assert status == 0
    rows = json.loads(out)
    assert isinstance(rows, list)
    assert [r["name"] for r in rows] == list(PARAMETERS)
    for r in rows:
        p = PARAMETERS[r["name"]]
        assert (r["default"], r["low"], r["high"], r["unit"], r["level"], r["meaning"]) == (
            p.default,
            p.low,
            p.high,
            p.unit,
            p.level,
            p.meaning,
        )


def test_scenarios_lists_the_six(capsys):
    status, out, _ = cli(capsys, "scenarios")
    assert status == 0
    assert [ln.split()[0] for ln in out.splitlines()] == SHIPPED


def test_version(capsys):
    status, out, _ = cli(capsys, "--version")
    assert status == 0 and out.startswith("phc-synergy ")


def test_help_returns_zero(capsys):
    status, out, _ = cli(capsys, "run", "--help")
    assert status == 0 and "--scenario" in out


def test_scenarios_run_writes_both_tables(capsys, tmp_path):
    out_dir = tmp_path / "results"
    status, out, err = cli(capsys, "scenarios", "--run", "--seeds", "2", "--out", str(out_dir))
    assert status == 0, err
    for name in SHIPPED:
        assert re.search(rf"^{name}\s", out, re.MULTILINE), name
    assert files_in(out_dir) == {"scenarios.csv", "scenarios_summary.csv", "scenarios.columns.json", "scenarios_summary.columns.json"}  # no temporary files left
    with open(out_dir / "scenarios.csv", newline="") as f:
        runs = list(csv.DictReader(f))
    assert len(runs) == 2 * len(SHIPPED)
    assert [(r["scenario"], r["seed"]) for r in runs[:2]] == [("default", "0"), ("default", "1")]
    assert set(SUMMARY_OUTPUTS) | set(PARAMETERS) <= set(runs[0])
    with open(out_dir / "scenarios_summary.csv", newline="") as f:
        summary = list(csv.DictReader(f))
    assert [r["scenario"] for r in summary] == SHIPPED
    for col in ("final_access", "access_gain", "mean_synergy", "months_to_synergy", "synergy_access_lag",
                "retention", "final_seats", "cumulative_members", "sustained_share"):  # fmt: skip
        assert col in summary[0] and col in out


# ---------------------------------------------------------------- run
def test_run_writes_csv_and_json(capsys, tmp_path):
    series, summary = tmp_path / "s.csv", tmp_path / "s.json"
    status, out, err = cli(capsys, "run", *SMALL, "--seed", "7", "--out", str(series), "--summary", str(summary))
    assert status == 0, err
    assert files_in(tmp_path) == {"s.csv", "s.json", "s.columns.json"}  # the series' column dictionary beside it
    with open(series, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == OUTPUTS
    assert len(rows) - 1 == 12 + 1
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(13)]
    data = json.loads(summary.read_text())
    assert data["seed"] == 7
    assert set(PARAMETERS) <= set(data) and set(SUMMARY_OUTPUTS) <= set(data)
    assert data["steps"] == 12 and data["population_size"] == 500
    # the printed summary: aligned "name  value" lines
    printed = dict(ln.split(None, 1) for ln in out.splitlines() if not ln.startswith("wrote "))
    assert printed["seed"] == "7" and printed["steps"] == "12"
    assert set(SUMMARY_OUTPUTS) <= set(printed)


def test_run_writes_parquet(capsys, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    series = tmp_path / "s.parquet"
    status, _, err = cli(capsys, "run", *SMALL, "--seed", "7", "--out", str(series))
    assert status == 0, err
    table = pq.read_table(series)
    assert tuple(table.column_names) == OUTPUTS
    assert table.num_rows == 12 + 1
    assert table.column("step").to_pylist() == list(range(13))
    with open(tmp_path / "s.parquet", "rb") as f:
        assert f.read(4) == b"PAR1"


def test_csv_and_parquet_hold_the_same_numbers(capsys, tmp_path):
    pd = pytest.importorskip("pandas")
    for ext in ("csv", "parquet"):
        assert cli(capsys, "run", *SMALL, "--seed", "3", "--out", str(tmp_path / f"s.{ext}"))[0] == 0
    a, b = pd.read_csv(tmp_path / "s.csv"), pd.read_parquet(tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_same_seed_gives_identical_files(capsys, tmp_path):
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        for ext in ("csv", "parquet"):
            args = ["run", *SMALL, "--seed", "11", "--out", str(folder / f"s.{ext}")]
            if ext == "csv":
                args += ["--summary", str(folder / "s.json")]
            assert cli(capsys, *args)[0] == 0
    for name in ("s.csv", "s.parquet", "s.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_drawn_seed_is_printed_and_replays(capsys, tmp_path):
    status, out, _ = cli(capsys, "run", *SMALL, "--summary", str(tmp_path / "a.json"))
    assert status == 0
    seed = int(re.search(r"replay with --seed (\d+)", out).group(1))
    assert 0 <= seed < 2**32
    assert cli(capsys, "run", *SMALL, "--seed", str(seed), "--summary", str(tmp_path / "b.json"))[0] == 0
    assert json.loads((tmp_path / "a.json").read_text()) == json.loads((tmp_path / "b.json").read_text())


def test_scenario_and_overrides_reach_the_model(capsys, tmp_path):
    summary = tmp_path / "s.json"
    status, _, err = cli(
        capsys, "run", "--scenario", "chrp", *SMALL, "--set", "composition=clinician:3,academic:2",
        "--set", "leadership=0.9", "--seed", "1", "--summary", str(summary),
    )  # fmt: skip
    assert status == 0, err
    data = json.loads(summary.read_text())
    chrp = load_scenario("chrp")
    assert (data["seats"], data["individual_turnover"]) == (chrp["seats"], chrp["individual_turnover"])
    assert data["composition"] == {"clinician": 3.0, "academic": 2.0} and data["leadership"] == 0.9


def test_scenario_file_by_path(capsys, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\ndescription = "d"\n[parameters]\nseats = 9\n')
    summary = tmp_path / "s.json"
    assert cli(capsys, "run", "--scenario", str(path), *SMALL, "--seed", "1", "--summary", str(summary))[0] == 0
    assert json.loads(summary.read_text())["seats"] == 9


def test_nan_is_written_as_null(capsys, tmp_path):
    # one month is too short for synergy to rise: months_to_synergy is undefined
    summary = tmp_path / "s.json"
    status, _, _ = cli(capsys, "run", "--steps", "1", "--set", "population_size=500", "--seed", "1",
                       "--summary", str(summary))  # fmt: skip
    assert status == 0
    text = summary.read_text()
    assert "NaN" not in text
    data = json.loads(text)
    for value in data.values():
        assert not (isinstance(value, float) and math.isnan(value))


# ---------------------------------------------------------------- bad input
BAD_FILES = {
    "malformed.toml": 'name = "x"\ndescription = "d"\n[parameters]\nseats = \n',
    "toplevel.toml": 'name = "x"\ndescription = "d"\nseats = 3\n[parameters]\n',
    "unknown.toml": 'name = "x"\ndescription = "d"\n[parameters]\nsets = 3\n',
    "bounds.toml": 'name = "x"\ndescription = "d"\n[parameters]\nseats = 1\n',
    "comptype.toml": 'name = "x"\ndescription = "d"\n[parameters.composition]\nnurse = 1\n',
    "compneg.toml": 'name = "x"\ndescription = "d"\n[parameters.composition]\nacademic = -1\n',
}

BAD_INPUTS = [
    # (extra arguments, words the message must contain)
    (["--set", "sets=3"], ["'sets'", "'3'", "not a parameter"]),
    (["--set", "seats=1"], ["'seats'", "1", "[3, 2000]"]),
    (["--set", "seats=2.5"], ["'seats'", "2.5", "an integer"]),
    (["--set", "seats=abc"], ["'seats'", "'abc'", "an integer"]),
    (["--set", "seats"], ["--set", "'seats'", "NAME=VALUE"]),
    (["--set", "=3"], ["--set", "'=3'", "NAME=VALUE"]),
    (["--set", "composition=nurse:1"], ["composition.nurse", "'1'", "stakeholder type"]),
    (["--set", "composition=academic:-1"], ["composition.academic", "'-1'", "non-negative"]),
    (["--set", "composition=academic"], ["'composition'", "'academic'", "type:weight"]),
    (["--steps", "0"], ["'steps'", "0", "[1, 600]"]),
    (["--steps", "abc"], ["'steps'", "'abc'"]),
    (["--seed", "-1"], ["--seed", "'-1'", "an integer in [0, 2^63 - 1]"]),
    (["--scenario", "nonesuch"], ["'nonesuch'", "unknown scenario", "pccp"]),
    (["--scenario", "shock", "--steps", "12"], ["'shock_month'", "30", "steps = 12"]),
    (["--scenario", "FILE:missing.toml"], ["missing.toml", "no such scenario file"]),
    (["--scenario", "FILE:malformed.toml"], ["malformed.toml", "malformed TOML", "line 4, column"]),
    (["--scenario", "FILE:toplevel.toml"], ["toplevel.toml", "'seats'", "unknown top-level key"]),
    (["--scenario", "FILE:unknown.toml"], ["unknown.toml", "sets", "3", "not a parameter"]),
    (["--scenario", "FILE:bounds.toml"], ["bounds.toml", "seats", "1", "[3, 2000]"]),
    (["--scenario", "FILE:comptype.toml"], ["comptype.toml", "composition.nurse", "stakeholder type"]),
    (["--scenario", "FILE:compneg.toml"], ["compneg.toml", "composition.academic", "-1", "non-negative"]),
    (["--out", "OUT:s.txt"], ["--out", "s.txt", "'.txt'", ".csv or .parquet"]),
    (["--out", "OUT:s"], ["--out", "extension", ".csv or .parquet"]),
    (["--out", "OUT:nofolder/s.csv"], ["--out", "nofolder", "does not exist"]),
    (["--summary", "OUT:nofolder/s.json"], ["--summary", "nofolder", "does not exist"]),
    (["--out", "OUT:afile/s.csv"], ["--out", "afile", "not a folder"]),
    (["--bogus"], ["unrecognized arguments", "--bogus"]),
]


def _materialise(args: list[str], inputs: Path, outputs: Path) -> list[str]:
    out = []
    for a in args:
        if a.startswith("FILE:"):
            name = a[5:]
            if name in BAD_FILES:
                (inputs / name).write_text(BAD_FILES[name])
            a = str(inputs / name)
        elif a.startswith("OUT:"):
            a = str(outputs / a[4:])
        out.append(a)
    return out


@pytest.mark.parametrize(("args", "words"), BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_exits_2_with_a_clear_message_and_no_files(capsys, tmp_path, args, words):
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    (outputs / "afile").write_text("a file, not a folder")
    argv = ["run", *SMALL, *_materialise(args, inputs, outputs)]
    if "--out" not in args:
        argv += ["--out", str(outputs / "series.csv")]
    if "--summary" not in args:
        argv += ["--summary", str(outputs / "summary.json")]
    status, _, err = cli(capsys, *argv)
    assert status == 2
    assert err.startswith("phc-synergy: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    assert files_in(outputs) == {"afile"}  # nothing written, no temporary file left


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["scenarios", "--run", "--seeds", "0"], ["--seeds", "'0'", "an integer in [1, 100,000]"]),
        (["scenarios", "--seeds", "3"], ["need --run"]),
        (["params", "--format", "xml"], ["invalid choice", "'xml'"]),
        (["nonesuch"], ["invalid choice", "'nonesuch'"]),
    ],
)
def test_other_bad_commands_exit_2(capsys, args, words):
    status, _, err = cli(capsys, *args)
    assert status == 2 and err.startswith("phc-synergy: error: ") and "Traceback" not in err
    for word in words:
        assert word in err


def test_unwritable_target_is_an_error_and_leaves_nothing(capsys, tmp_path, monkeypatch):
    """A write that fails (here the series, after the summary was written) leaves no file and no temporary."""
    import model.cli as cli_module

    def fail(f, series):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli_module, "_write_series_parquet", fail)
    status, _, err = cli(capsys, "run", *SMALL, "--seed", "1", "--summary", str(tmp_path / "s.json"),
                         "--out", str(tmp_path / "s.parquet"))  # fmt: skip
    assert status == 2 and "No space left on device" in err and "s.parquet" in err
    assert files_in(tmp_path) == set()


# ---------------------------------------------------------------- the installed command
def _console_script() -> str | None:
    candidate = Path(sys.executable).with_name("phc-synergy")
    return str(candidate) if candidate.exists() else None


@pytest.mark.skipif(_console_script() is None, reason="the phc-synergy console script is not installed here")
def test_installed_console_script(tmp_path):
    script = _console_script()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    ok = subprocess.run(
        [script, "run", *SMALL, "--seed", "5", "--out", str(tmp_path / "s.csv")],
        check=False, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "final_access" in ok.stdout and (tmp_path / "s.csv").exists()
    bad = subprocess.run(
        [script, "run", *SMALL, "--set", "seats=abc", "--out", str(tmp_path / "t.csv")],
        check=False, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("phc-synergy: error: ") and "seats" in bad.stderr and "abc" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "t.csv").exists()


@pytest.mark.skipif(_console_script() is None, reason="the phc-synergy console script is not installed here")
def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """stdout closed before anything is written: exit 141 (as a tool killed by SIGPIPE), nothing on stderr."""
    proc = subprocess.Popen(
        [_console_script(), "params", "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the only reading end: every write of the command now fails with EPIPE
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert err == ""


@pytest.mark.skipif(_console_script() is None, reason="the phc-synergy console script is not installed here")
@pytest.mark.parametrize("command", ["params --format json", "params", "scenarios"])
def test_piped_into_head_ends_quietly(command):
    """`phc-synergy params --format json | head -1`: one line out, nothing on stderr, status 0 or 141."""
    script = f"set -o pipefail; '{_console_script()}' {command} | head -1"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert proc.stderr == "" and len(proc.stdout.splitlines()) == 1
    assert proc.returncode in (0, 141)

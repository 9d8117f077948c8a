"""Case files: the shipped ones load, and every bad file is refused naming the file, the field and the problem."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from calibration.cases import TARGET_OUTPUTS, CaseError, Observation, load_case, shipped_cases
from model.scenarios import scenario_overrides
from model.toml_writer import dumps

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
name = "tiny"

[provenance]
citation = "a test"
observed = "nothing"
period = "now"

[structure]
seats = 8

[settings]
steps = 24

[[targets]]
output = "active_seats"
month = 24
value = 6
sd = 1

[[targets]]
output = "cumulative_members"
month = 24
interval = [8, 14]

[[targets]]
output = "synergy_psat"
months = [12, 24]
values = [3.0, 3.2]
sd = [0.2, 0.2]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_case_file_loads_with_one_observation_per_month(tmp_path):
    case = load_case(_write(tmp_path, GOOD))
    assert case.name == "tiny" and case.steps == 24 and case.structure == {"seats": 8}
    assert [o.key for o in case.observations] == [
        "active_seats@24", "cumulative_members@24", "synergy_psat@12", "synergy_psat@24"
    ]
    assert case.observations[1].kind == "interval" and case.observations[2].sd == 0.2
    assert case.settings["calibrate"] == ["individual_turnover", "leadership", "trust_gain"]
    assert case.fixed_parameters()["seats"] == 8 and case.fixed_parameters()["steps"] == 24


def test_distance_is_zero_inside_an_interval_and_scaled_by_width_or_sd_outside():
    interval = Observation("cumulative_members", 60, low=30, high=40)
    assert interval.distance(30) == interval.distance(35) == interval.distance(40) == 0
    assert interval.distance(45) == pytest.approx(1.0) and interval.distance(28) == pytest.approx(0.4)
    value = Observation("active_seats", 60, value=13, sd=2)
    assert value.distance(13) == 0 and value.distance(16) == pytest.approx(1.5)
    assert value.met(14) and not value.met(16) and interval.met(40) and not interval.met(41)


@pytest.mark.parametrize("name", ["pccp", "chrp", "synthetic_series"])
def test_shipped_cases_load_with_provenance(name):
    case = load_case(name)
    assert shipped_cases()[name] == case.path
    assert case.provenance["citation"] and case.provenance["observed"] and case.provenance["period"]
    assert case.synthetic == (name == "synthetic_series")
    if case.synthetic:
        assert "synthetic" in case.name.lower() and "SYNTHETIC" in case.description
        assert "not observed" in case.provenance["citation"].lower()
    else:
        assert "doi:10.1002/hsr2.397" in case.provenance["citation"]


@pytest.mark.parametrize("name", ["pccp", "chrp"])
def test_shipped_cases_have_the_structure_of_their_case_like_scenario(name):
    case = load_case(name)
    scenario = scenario_overrides(name)
    for key, value in case.structure.items():
        assert scenario[key] == value, key
    assert {o.output for o in case.observations} == {"active_seats", "cumulative_members"}


def test_pccp_and_chrp_targets_are_the_table_1_facts():
    for name, members in (("pccp", 13), ("chrp", 23)):
        obs = {o.output: o for o in load_case(name).observations}
        assert obs["active_seats"].value == members and obs["active_seats"].month == 60
        assert (obs["cumulative_members"].low, obs["cumulative_members"].high) == (30, 40)


def test_synthetic_case_is_what_the_generator_makes():
    from calibration.synthetic import PATH, generate

    assert PATH.read_text(encoding="utf-8") == generate(), (
        "calibration/data/synthetic_series.toml is out of date: run 'python -m calibration.synthetic'"
    )


def test_toml_writer_round_trips_through_tomllib():
    doc = {
        "name": 'a "quoted" name with ünïcode and \\ backslash',
        "n": 3, "x": 1e-05, "y": 0.1, "z": 2.0, "flag": True,
        "empty": [],
        "long": [i / 7 for i in range(40)],
        "table": {"a": 1, "sub": {"b": [1, 2]}, "odd key": "v"},
        "items": [{"k": 1}, {"k": 2, "inner": {"c": "d"}}],
    }
    assert tomllib.loads(dumps(doc, header="line one\nline two")) == doc


def test_importing_calibration_does_not_import_pyabc():
    code = (
        "import sys, calibration, calibration.cases, calibration.cli, calibration.synthetic;"
        " print('pyabc' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------- bad case files
def _replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


BAD = {
    "malformed TOML": ("name = \"tiny\nx = ", None, "malformed TOML"),
    "missing provenance": (GOOD.replace('[provenance]\ncitation = "a test"\nobserved = "nothing"\nperiod = "now"\n', ""),
                           "provenance", "missing"),
    "missing citation": (_replace('citation = "a test"\n', ""), "provenance.citation", "missing"),
    "unknown top-level key": (_replace('name = "tiny"', 'name = "tiny"\nflavour = 1'), "flavour", "unknown top-level key"),
    "no targets": (GOOD.split("[[targets]]")[0], "targets", "missing"),
    "unknown output": (_replace('output = "active_seats"', 'output = "happiness"'), "targets[1].output", "unknown output"),
    "negative count": (_replace("value = 6", "value = -2"), "targets[1].value", "impossible for active_seats"),
    "negative count in an interval": (_replace("interval = [8, 14]", "interval = [-3, 14]"), "targets[2].interval",
                                      "impossible for cumulative_members"),
    "more seats than the table": (_replace("value = 6", "value = 9"), "targets[1].value", "impossible"),
    "share above one": (_replace('output = "active_seats"\nmonth = 24\nvalue = 6',
                                 'output = "attendance"\nmonth = 24\nvalue = 1.5'), "targets[1].value", "impossible"),
    "synergy off the survey scale": (_replace("values = [3.0, 3.2]", "values = [3.0, 5.5]"), "targets[3].values[2]",
                                     "impossible for synergy_psat"),
    "interval upside down": (_replace("interval = [8, 14]", "interval = [14, 8]"), "targets[2].interval", "upside down"),
    "empty interval": (_replace("interval = [8, 14]", "interval = [8, 8]"), "targets[2].interval", "empty"),
    "month beyond the horizon": (_replace("month = 24\nvalue = 6", "month = 30\nvalue = 6"), "targets[1].month",
                                 "beyond the horizon"),
    "month in a series beyond the horizon": (_replace("months = [12, 24]", "months = [12, 48]"),
                                             "targets[3].months[2]", "beyond the horizon"),
    "negative month": (_replace("month = 24\nvalue = 6", "month = -1\nvalue = 6"), "targets[1].month", "not allowed"),
    "zero sd": (_replace("sd = 1\n", "sd = 0\n"), "targets[1].sd", "> 0"),
    "value without sd": (_replace("sd = 1\n", ""), "targets[1].sd", "missing"),
    "value and interval": (_replace("value = 6", "value = 6\ninterval = [1, 2]"), "targets[1].value", "either"),
    "series of the wrong length": (_replace("values = [3.0, 3.2]", "values = [3.0]"), "targets[3].values",
                                   "one number per month"),
    "same target twice": (GOOD + '\n[[targets]]\noutput = "active_seats"\nmonth = 24\ninterval = [1, 8]\n',
                          "targets[4].month", "already a target"),
    "unknown key in a target": (_replace("sd = 1\n", "sd = 1\nweight = 2\n"), "targets[1].weight", "unknown key"),
    "unknown parameter in structure": (_replace("seats = 8", "seats = 8\nsparkle = 1"), "structure.sparkle",
                                       "not a parameter"),
    "structure out of bounds": (_replace("seats = 8", "seats = 1"), "structure.seats", "not allowed"),
    "prior beyond the schema": (_replace("[settings]", "[priors]\nleadership = [0.0, 1.5]\n\n[settings]"),
                                "priors.leadership", "beyond the schema's bounds"),
    "prior upside down": (_replace("[settings]", "[priors]\nleadership = [0.8, 0.2]\n\n[settings]"),
                          "priors.leadership", "upside down"),
    "integer parameter calibrated": (_replace("steps = 24", 'steps = 24\ncalibrate = ["seats"]'),
                                     "settings.calibrate", "not a continuous parameter"),
    "unknown setting": (_replace("steps = 24", "steps = 24\nspeed = 3"), "settings.speed", "unknown setting"),
    "horizon in structure": (_replace("seats = 8", "seats = 8\nsteps = 24"), "structure.steps", "[settings]"),
}


@pytest.mark.parametrize("problem", list(BAD))
def test_a_bad_case_file_is_refused_naming_the_file_the_field_and_the_problem(tmp_path, problem):
    text, field, words = BAD[problem]
    path = _write(tmp_path, text)
    with pytest.raises(CaseError) as info:
        load_case(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert words in message, message
    if field is not None:
        assert info.value.field == field, message
        assert field in message, message


def test_a_missing_case_file_is_refused(tmp_path):
    with pytest.raises(CaseError, match="no such case file"):
        load_case(tmp_path / "nope.toml")


def test_every_per_step_output_but_the_month_can_be_a_target():
    from model.outputs import OUTPUTS

    assert set(TARGET_OUTPUTS) == set(OUTPUTS) - {"step"}

"""Scenario files: the shipped ones load and run; every kind of bad file is refused clearly."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import PartnershipModel
from model.parameters import PARAMETERS, STAKEHOLDER_TYPES, validate_parameters
from model.scenarios import (
    SCENARIO_DIR,
    ScenarioError,
    list_scenarios,
    load_scenario,
    read_scenario,
    scenario_overrides,
)

SHIPPED = ["default", "pccp", "chrp", "homogeneous", "weak_enabling", "shock"]


def write(tmp_path: Path, text: str, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEAD = 'name = "case"\ndescription = "a test case"\n'


# ---------------------------------------------------------------- shipped scenarios
def test_list_scenarios_gives_the_six_in_a_stable_order_default_first():
    listed = list_scenarios()
    assert [name for name, _ in listed] == SHIPPED
    assert listed == list_scenarios()
    for name, description in listed:
        assert description and "\n" not in description, name


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_is_named_after_its_scenario(name):
    scenario = read_scenario(name)
    assert scenario.path == SCENARIO_DIR / f"{name}.toml"
    assert scenario.name == name


@pytest.mark.parametrize("name", SHIPPED)
def test_load_scenario_returns_complete_validated_parameters(name):
    params = load_scenario(name)
    assert list(params) == list(PARAMETERS)
    assert params == validate_parameters(scenario_overrides(name))


def test_shipped_scenarios_set_what_they_describe():
    assert scenario_overrides("default") == {}
    # pccp and chrp are tuned by hand: check what they set and the study's contrasts, not the numbers
    pccp, chrp = scenario_overrides("pccp"), scenario_overrides("chrp")
    for case in (pccp, chrp):
        assert set(case) == {"seats", "individual_turnover", "patient_partner_support", "composition"}
        assert set(case["composition"]) == set(STAKEHOLDER_TYPES)
    assert pccp["individual_turnover"] > chrp["individual_turnover"]  # more individual flow-through in PCCP
    assert pccp["seats"] < chrp["seats"]  # about 13 vs about 23 members in 2018
    assert pccp["patient_partner_support"] < chrp["patient_partner_support"]  # patient partners only early in PCCP
    assert scenario_overrides("homogeneous") == {"type_diversity": 0.0}
    assert scenario_overrides("weak_enabling") == {
        "communication": 0.3,
        "leadership": 0.2,
        "coordination": 0.2,
        "decision_inclusiveness": 0.2,
        "power_asymmetry": 0.7,
        "external_support": 0.3,
        "trust_gain": 0.08,
    }
    assert scenario_overrides("shock") == {"shock_month": 30, "shock_severity": 0.6}


def test_case_like_scenarios_cite_the_study():
    for name in ("pccp", "chrp"):
        source = read_scenario(name).source
        assert source and "Health Sci Rep" in source and "hsr2.397" in source


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_runs(name):
    params = {**load_scenario(name), "steps": 36, "population_size": 500}
    summary = PartnershipModel(seed=0, **params).run()
    assert 0.0 <= summary["final_access"] <= 1.0
    assert summary["seed"] == 0


def test_a_scenario_can_be_given_by_path(tmp_path):
    path = write(
        tmp_path, HEAD + "source = 'synthetic'\n[parameters]\nseats = 12\n[parameters.composition]\nclinician = 2\n"
    )
    params = load_scenario(str(path))
    assert params["seats"] == 12 and params["composition"] == {"clinician": 2.0}
    assert scenario_overrides(str(path)) == {"seats": 12, "composition": {"clinician": 2.0}}
    assert load_scenario(path) == params  # a Path works too
    assert load_scenario(str(SCENARIO_DIR / "pccp.toml")) == load_scenario("pccp")


def test_overrides_are_copies(tmp_path):
    first = scenario_overrides("pccp")
    first["composition"]["academic"] = 99
    assert scenario_overrides("pccp")["composition"]["academic"] == 5.0


# ---------------------------------------------------------------- bad scenarios
def test_unknown_scenario_name_lists_the_shipped_ones():
    with pytest.raises(ScenarioError) as info:
        load_scenario("nonesuch")
    message = str(info.value)
    assert "nonesuch" in message and all(name in message for name in SHIPPED)
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    missing = tmp_path / "gone.toml"
    with pytest.raises(ScenarioError, match="no such scenario file") as info:
        load_scenario(str(missing))
    assert str(missing) in str(info.value)


def test_malformed_toml_reports_line_and_column(tmp_path):
    path = write(tmp_path, HEAD + "[parameters]\nseats = \n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    message = str(info.value)
    assert str(path) in message and "malformed TOML" in message and "line 4" in message and "column" in message


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match="UTF-8"):
        load_scenario(str(path))


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('name = "case"\ndescription = "d"\n', "parameters", "missing"),
        ('name = "case"\ndescription = "d"\nparameters = 3\n', "parameters", "table"),
        ('description = "d"\n[parameters]\n', "name", "missing"),
        ('name = "case"\n[parameters]\n', "description", "missing"),
        ('name = 3\ndescription = "d"\n[parameters]\n', "name", "string"),
        ('name = "case"\ndescription = "d"\nsource = 1\n[parameters]\n', "source", "string"),
        (HEAD + "seats = 12\n[parameters]\n", "seats", "unknown top-level key"),
        (HEAD + "[parameters]\n[extra]\nx = 1\n", "extra", "unknown top-level key"),
    ],
)
def test_bad_structure(tmp_path, text, field, words):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    err = info.value
    assert err.field == field and err.path == str(path)
    assert str(path) in str(err) and repr(field) in str(err) and words in str(err)


@pytest.mark.parametrize(
    ("body", "field", "value", "allowed"),
    [
        ("sets = 12", "sets", "12", "not a parameter"),
        ("seats = 1", "seats", "1", "[3, 2000]"),
        ("seats = 2.5", "seats", "2.5", "an integer"),
        ('seats = "abc"', "seats", "abc", "an integer"),
        ("seats = true", "seats", "True", "an integer"),
        ("communication = 1.5", "communication", "1.5", "[0, 1]"),
        ("shock_month = 100", "shock_month", "100", "steps"),
        ("[parameters.seats]\nx = 1", "seats", "x", "an integer"),
        ("[parameters.composition]\nnurse = 1", "composition.nurse", "1", "stakeholder type"),
        ("[parameters.composition]\nacademic = -1", "composition.academic", "-1", "non-negative"),
        ("[parameters.composition]\nacademic = 0", "composition", "academic", "positive, finite total"),
    ],
)
def test_bad_parameter_names_file_field_value_and_what_is_allowed(tmp_path, body, field, value, allowed):
    text = HEAD + "[parameters]\n" + body + "\n"
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    err = info.value
    message = str(err)
    assert err.field == field
    assert str(path) in message and field in message and value in message and allowed in message
    with pytest.raises(ScenarioError):
        scenario_overrides(str(path))


# ---------------------------------------------------------------- round trip
NUMERIC = sorted(name for name, p in PARAMETERS.items() if p.sweepable and name not in ("steps", "shock_month"))


def _value(name: str) -> st.SearchStrategy:
    p = PARAMETERS[name]
    if p.kind is int:
        return st.integers(int(p.low), int(p.high))
    return st.floats(p.low, p.high, allow_nan=False, allow_infinity=False)


@st.composite
def overrides(draw) -> dict:
    names = draw(st.lists(st.sampled_from(NUMERIC), unique=True, max_size=6))
    values = {name: draw(_value(name)) for name in names}
    if draw(st.booleans()):
        types = draw(st.lists(st.sampled_from(STAKEHOLDER_TYPES), unique=True, min_size=1))
        values["composition"] = {t: draw(st.integers(1, 9)) for t in types}
    return values


def _toml(values: dict) -> str:
    lines = [HEAD.rstrip("\n"), "[parameters]"]
    lines += [f"{k} = {v!r}" for k, v in values.items() if k != "composition"]
    if "composition" in values:
        lines.append("[parameters.composition]")
        lines += [f"{k} = {v!r}" for k, v in values["composition"].items()]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=overrides())
def test_any_valid_file_loads_as_the_schema_validates_it(tmp_path, values):
    text = _toml(values)
    assert tomllib.loads(text)["parameters"] == values  # the hand-written TOML is what we meant
    path = write(tmp_path, text)
    loaded = load_scenario(str(path))
    expected = validate_parameters(values)
    assert loaded.keys() == expected.keys()
    for key, want in expected.items():
        got = loaded[key]
        if isinstance(want, float):
            assert math.isclose(got, want, rel_tol=0, abs_tol=0), key
        else:
            assert got == want, key

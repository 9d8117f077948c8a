"""Random TOML documents and random values for known keys, fed to the loaders of every input file.

Whatever a file holds, a loader either returns or raises one of the project's own errors
(which the command line reports in one line): never KeyError, TypeError, ValueError,
OverflowError, RecursionError or anything else a user would see as a traceback.

Each loader gets two kinds of documents: fully random ones (any keys, any values), and a
valid document with a few known keys set to random values, removed, or joined by unknown
keys, which is what reaches the checks deep inside. Bounded (max_examples per loader) and
deterministic (derandomize, no example database), so CI sees the same examples every run.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibration.cases import CaseError, load_case
from experiments.compare import CompareError, load_config
from experiments.spec import SpecError, load_spec
from model.errors import InputFileError
from model.parameters import ParameterError
from model.scenarios import ScenarioError, load_scenario, read_scenario
from model.toml_writer import key as toml_key
from model.toml_writer import string as toml_string

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# The errors a loader may raise: the project's own (InputFileError covers ScenarioError, SpecError and CaseError).
PROJECT_ERRORS = (InputFileError, ParameterError, CompareError)


# ---------------------------------------------------------------------------- TOML text
def toml_value(v: Any) -> str:
    """Any value as inline TOML (tables inline too), so every generated document is one valid TOML text."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        text = repr(v)
        return text if any(c in text for c in ".eE") else text + ".0"
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_text(doc: dict[str, Any]) -> str:
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in doc.items())


def test_the_test_serialiser_writes_valid_toml():
    import tomllib

    doc = {"a b": [1, 2.5, "x\x7f\n", {"t": dt.date(2020, 1, 2)}], "n": math.inf, "t": {"": dt.time(1, 2, 3)}}
    back = tomllib.loads(toml_text(doc))
    assert back["a b"][2] == "x\x7f\n" and back["t"] == {"": dt.time(1, 2, 3)} and back["n"] == math.inf


# ---------------------------------------------------------------------------- strategies
def keys_among(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(known), st.text(max_size=10))


SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=-5, max_value=700),
    st.sampled_from([0, 1, 2, 3, 10**400, -(10**400), 2**63 - 1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 1.0, 1e308, -1e308, 5e-324]),
    st.text(max_size=12),
    st.sampled_from(["12", "0.5", "default", "pccp", "x.toml", "nonesuch/file.toml", "\x00", "a" * 300 + ".toml"]),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.times(),
)


def values(known_keys: list[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys_among(known_keys), children, max_size=4),
        ),
        max_leaves=10,
    )


def random_doc(known_keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(keys_among(known_keys), values(known_keys), max_size=6)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in a document (dict keys and list indexes)."""
    out: list[tuple] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


def _tables(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Paths to every table of a document (the root included)."""
    out = [prefix] if isinstance(doc, dict) else []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        out.extend(_tables(v, (*prefix, k)))
    return out


def _at(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], known_keys: list[str]) -> dict[str, Any]:
    """The valid document ``base`` with one to three known keys changed: set to a random value, removed, or a new key."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if action == "add":
            table = _at(doc, draw(st.sampled_from(_tables(doc))))
            table[draw(keys_among(known_keys))] = draw(values(known_keys))
            continue
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _at(doc, path[:-1])
        if action == "delete":
            del parent[path[-1]]
        else:
            # mostly one scalar in place of another (a number as text, a huge int, NaN, a NUL in a name),
            # which is what gets past the type checks to the arithmetic
            parent[path[-1]] = draw(st.one_of(SCALARS, SCALARS, values(known_keys)))
    return doc


def documents(base: dict[str, Any], known_keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(random_doc(known_keys), mutated(base, known_keys))


def load_or_refuse(tmp_path: Path, doc: dict[str, Any], loader, name: str = "input.toml") -> None:
    """Write the document and load it: anything but success or a project error fails the test."""
    path = tmp_path / name
    path.write_text(toml_text(doc), encoding="utf-8")
    try:
        loader(path)
    except PROJECT_ERRORS as exc:
        message = str(exc)
        assert message and "Traceback" not in message
    # any other exception propagates: hypothesis shrinks it to the smallest document that raises it


# ---------------------------------------------------------------------------- the loaders
SCENARIO = {
    "name": "mine",
    "description": "a scenario",
    "source": "synthetic",
    "parameters": {"seats": 12, "leadership": 0.7, "composition": {"academic": 2, "clinician": 1}, "steps": 24},
    "posterior": {
        "source": "hand-made",
        "weights": [1.0, 2.0],
        "parameters": {"individual_turnover": [0.01, 0.05], "trust_gain": [0.1, 0.2]},
    },
}
SCENARIO_KEYS = [
    "name", "description", "source", "parameters", "posterior", "weights", "seats", "leadership", "composition",
    "academic", "clinician", "steps", "shock_month", "individual_turnover", "trust_gain",
]  # fmt: skip

SPEC = {
    "name": "tiny",
    "scenario": "default",
    "root_seed": 1,
    "replicates": 2,
    "steps": 6,
    "fixed": {"population_size": 200},
    "vary": {"communication": {}, "seats": [6, 12], "leadership": {"low": 0.1, "high": 0.9}},
    "design": {"method": "lhs", "n": 3, "seed": 5},
    "outputs": {"series": ["synergy"]},
}
SPEC_KEYS = [
    "name", "description", "scenario", "root_seed", "replicates", "steps", "fixed", "vary", "design", "outputs",
    "posterior", "method", "n", "levels", "trajectories", "calc_second_order", "dummy", "seed", "low", "high",
    "values", "series", "communication", "seats", "leadership", "population_size", "shock_month", "composition",
]  # fmt: skip
SPEC_METHODS = st.sampled_from(
    [
        {"method": "lhs", "n": 3},
        {"method": "grid", "levels": 2},
        {"method": "sobol", "n": 2, "dummy": True},
        {"method": "morris", "trajectories": 2, "levels": 4},
    ]
)

CASE = {
    "name": "case",
    "description": "a case",
    "provenance": {"citation": "made up", "observed": "nothing", "period": "now", "synthetic": True},
    "structure": {"seats": 10, "composition": {"academic": 1}},
    "priors": {"individual_turnover": [0.0, 0.1]},
    "settings": {"steps": 24, "population": 20, "generations": 2, "seed": 3, "calibrate": ["individual_turnover"]},
    "targets": [
        {"output": "active_seats", "month": 24, "value": 8, "sd": 1},
        {"output": "cumulative_members", "month": 24, "interval": [10, 20]},
        {"output": "synergy_psat", "months": [6, 12], "values": [3.0, 3.5], "sd": [0.2, 0.3]},
        {"output": "access", "months": [6, 12], "intervals": [[0.1, 0.5], [0.2, 0.6]]},
    ],
}
CASE_KEYS = [
    "name", "description", "provenance", "structure", "priors", "settings", "targets", "citation", "observed",
    "period", "notes", "synthetic", "generated", "seats", "composition", "individual_turnover", "steps",
    "calibrate", "population", "generations", "max_simulations", "min_epsilon", "min_acceptance_rate", "seed",
    "ppc_draws", "output", "month", "months", "value", "values", "sd", "interval", "intervals", "note",
]  # fmt: skip

CONFIG = {
    "name": "cases",
    "replicates": 2,
    "root_seed": 7,
    "steps": 12,
    "fixed": {"population_size": 200},
    "variant": [{"name": "a", "scenario": "pccp"}, {"name": "b", "scenario": "chrp", "set": {"coordination": 0.9}}],
}
CONFIG_KEYS = [
    "name", "description", "replicates", "root_seed", "steps", "fixed", "variant", "scenario", "set",
    "coordination", "population_size",
]  # fmt: skip


def test_the_valid_documents_load(tmp_path):
    """The documents the mutations start from are valid, so a refusal of a mutated one is about its change."""
    for name, doc, loader in (
        ("s.toml", SCENARIO, load_scenario),
        ("spec.toml", SPEC, load_spec),
        ("case.toml", CASE, load_case),
        ("config.toml", CONFIG, load_config),
    ):
        path = tmp_path / name
        path.write_text(toml_text(doc), encoding="utf-8")
        loader(path)


@PROPERTY_SETTINGS
@given(doc=documents(SCENARIO, SCENARIO_KEYS))
def test_scenario_loader_raises_only_project_errors(tmp_path, doc):
    def load(path: Path) -> None:
        scenario = read_scenario(path)
        load_scenario(path)
        if scenario.posterior is not None:  # weights that loaded must be usable: sum to 1, drawable
            assert math.isclose(sum(scenario.posterior.weights), 1.0)
            scenario.posterior.sample(3, seed=1)

    load_or_refuse(tmp_path, doc, load)


@PROPERTY_SETTINGS
@given(doc=documents(SPEC, SPEC_KEYS), design=SPEC_METHODS)
def test_spec_loader_raises_only_project_errors(tmp_path, doc, design):
    (tmp_path / "x.toml").write_text(toml_text(SCENARIO), encoding="utf-8")  # 'x.toml' names a valid scenario
    if isinstance(doc.get("design"), dict) and doc["design"] == SPEC["design"]:
        doc["design"] = {**design}  # the other designs' keys and checks too
    load_or_refuse(tmp_path, doc, load_spec, "spec.toml")


@PROPERTY_SETTINGS
@given(doc=documents(CASE, CASE_KEYS))
def test_case_loader_raises_only_project_errors(tmp_path, doc):
    load_or_refuse(tmp_path, doc, load_case, "case.toml")


@PROPERTY_SETTINGS
@given(doc=documents(CONFIG, CONFIG_KEYS))
def test_comparison_config_loader_raises_only_project_errors(tmp_path, doc):
    load_or_refuse(tmp_path, doc, load_config, "config.toml")


# Values that have broken loaders: numbers as text, ints no float can hold, NaN and infinities, the largest
# floats (whose sums overflow), seeds just past the rule, a NUL character and a name too long for a path.
AWKWARD = [
    "12", "0.5", "", "\x00", "a" * 300 + ".toml", 10**400, -(10**400), 2**63, 2**63 - 1, -1, 0, 1e308, -1e308,
    math.nan, math.inf, -math.inf, 5e-324, True, [], {}, [1e308, 1e308], {"academic": 1e308, "clinician": 1e308},
    dt.date(2020, 1, 1),
]  # fmt: skip
def _load_and_draw_scenario(path: Path) -> None:
    load_scenario(path)
    posterior = read_scenario(path).posterior
    if posterior is not None:
        posterior.sample(3, seed=1)  # weights that loaded are weights one can draw with ([1e308, 1e308] once gave 0, 0)


LOADERS = {
    "scenario": (SCENARIO, _load_and_draw_scenario),
    "spec": (SPEC, load_spec),
    "case": (CASE, load_case),
    "config": (CONFIG, load_config),
}


@pytest.mark.parametrize("name", list(LOADERS))
def test_every_known_key_with_every_awkward_value(tmp_path, name):
    """Each value of the valid document in turn (every path, lists included) replaced by each awkward value."""
    base, loader = LOADERS[name]
    (tmp_path / "x.toml").write_text(toml_text(SCENARIO), encoding="utf-8")
    for path in _paths(base):
        for value in AWKWARD:
            doc = copy.deepcopy(base)
            _at(doc, path[:-1])[path[-1]] = copy.deepcopy(value)
            try:
                load_or_refuse(tmp_path, doc, loader)
            except Exception as exc:  # noqa: BLE001 - say which key and value
                pytest.fail(f"{name}: {'.'.join(map(str, path))} = {value!r}: {type(exc).__name__}: {exc}")


@pytest.mark.parametrize(
    ("text", "loader", "error"),
    [
        ("a = " + "[" * 2000 + "]" * 2000 + "\n", load_scenario, ScenarioError),
        ("a = " + "[" * 2000 + "]" * 2000 + "\n", load_spec, SpecError),
        ("a = " + "[" * 2000 + "]" * 2000 + "\n", load_case, CaseError),
        ("a = 1\n\xff\n", load_scenario, ScenarioError),
        ('name = "x"\n[[', load_case, CaseError),
    ],
    ids=["deep-scenario", "deep-spec", "deep-case", "not-utf8", "truncated"],
)
def test_files_tomllib_cannot_read_are_input_errors(tmp_path, text, loader, error):
    path = tmp_path / "f.toml"
    path.write_bytes(text.encode("utf-8", "surrogateescape") if "\xff" not in text else text.encode("latin-1"))
    with pytest.raises(error):
        loader(path)

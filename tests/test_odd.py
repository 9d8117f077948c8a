"""docs/ODD.md stays true to the code: its generated tables are current, every parameter and constant is documented."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from model import OUTPUTS, PARAMETERS, SUMMARY_OUTPUTS, docs
from model import model as model_module
from model.parameters import LEVELS

ROOT = Path(__file__).resolve().parents[1]
ODD = ROOT / "docs" / "ODD.md"
MODEL_PY = ROOT / "model" / "model.py"

ELEMENTS = (
    "Purpose and patterns",
    "Entities, state variables, and scales",
    "Process overview and scheduling",
    "Design concepts",
    "Initialization",
    "Input data",
    "Submodels",
)
DESIGN_CONCEPTS = (
    "Basic principles",
    "Emergence",
    "Adaptation",
    "Objectives",
    "Learning",
    "Prediction",
    "Sensing",
    "Interaction",
    "Stochasticity",
    "Collectives",
    "Observation",
)
_GENERATED = re.compile(r"<!-- BEGIN GENERATED: ([\w-]+) -->\n(.*?)<!-- END GENERATED: \1 -->", re.DOTALL)


@pytest.fixture(scope="module")
def odd() -> str:
    assert ODD.exists(), "docs/ODD.md is missing"
    return ODD.read_text(encoding="utf-8")


def _block(text: str, name: str) -> str:
    blocks = {m[1]: m[2] for m in _GENERATED.finditer(text)}
    assert name in blocks, f"docs/ODD.md has no generated block '{name}'"
    return blocks[name]


def _handwritten(text: str) -> str:
    """The document without its generated tables (what a person wrote)."""
    return _GENERATED.sub("", text)


def _constants_in_source() -> list[str]:
    """Upper-case names assigned at module level in model/model.py (read without model.docs)."""
    return re.findall(
        r"^([A-Z][A-Z0-9_]*)\s*(?::[^=\n]*)?=(?!=)", MODEL_PY.read_text(encoding="utf-8"), flags=re.MULTILINE
    )


# ---------------------------------------------------------------------------- the parameter table
def test_parameter_table_in_the_odd_is_the_one_generated_from_the_schema(odd):
    in_doc = _block(odd, "parameters").strip("\n") + "\n"
    assert in_doc == docs.parameter_table_markdown(), (
        "the parameter table in docs/ODD.md differs from the schema; run: python -m model.docs --write docs/ODD.md"
    )


def test_every_parameter_is_in_the_table_once_grouped_by_level_in_schema_order(odd):
    rows = [line for line in _block(odd, "parameters").splitlines() if line.startswith("| `")]
    names = [row.split("|")[1].strip().strip("`") for row in rows]
    levels = [row.split("|")[2].strip() for row in rows]
    assert sorted(names) == sorted(PARAMETERS), set(names) ^ set(PARAMETERS)
    assert len(names) == len(set(names))
    assert levels == sorted(levels, key=LEVELS.index), "rows are not grouped by level in the order of LEVELS"
    for level in LEVELS:
        schema_order = [p.name for p in PARAMETERS.values() if p.level == level]
        assert [n for n, lv in zip(names, levels, strict=True) if lv == level] == schema_order, level


def test_composition_row_says_it_comes_from_type_diversity():
    row = next(line for line in docs.parameter_table_markdown().splitlines() if line.startswith("| `composition`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "from type_diversity" and cells[3] == "weights by type"


def test_every_generated_table_in_the_odd_is_up_to_date(odd):
    assert docs.stale_blocks(odd) == [], "run: python -m model.docs --write docs/ODD.md"


# ---------------------------------------------------------------------------- constants
def test_the_constant_finder_sees_the_constants_of_model_py():
    found = _constants_in_source()
    assert {"PLENARY_SEATS", "ABILITY_LEVELS", "FIXED_AT_START"} <= set(found), found
    assert [c.name for c in docs.model_constants()] == found


def test_every_constant_at_the_top_of_model_py_is_explained_in_the_odd_text(odd):
    """Not only in the generated constants table: a person must have written its rationale."""
    text = _handwritten(odd)
    missing = [name for name in _constants_in_source() if not re.search(rf"\b{name}\b", text)]
    assert not missing, f"constants of model/model.py not explained in docs/ODD.md: {missing}"


def test_every_mechanics_constant_has_its_rationale_in_the_odd_text(odd):
    """Each behavioural constant (schema level 'mechanics') is named in the hand-written text of section 7,
    next to its value and a mark saying where the value comes from."""
    section7 = _handwritten(odd).split("## 7 Submodels", 1)[1]
    mechanics = [name for name, p in PARAMETERS.items() if p.level == "mechanics"]
    unnamed = [name for name in mechanics if f"`{name}" not in section7]
    assert not unnamed, f"mechanics constants without a rationale in section 7 of docs/ODD.md: {unnamed}"
    for name in mechanics:
        default = PARAMETERS[name].default
        quoted = re.findall(rf"`{name} = ([^`]+)`", section7)
        for text in quoted:
            assert float(text.split()[0]) == float(default), f"docs/ODD.md says {name} = {text}, the schema {default}"
    marks = len(re.findall(r"\*\*\[(assumption|source|convention)\]\*\*", section7))
    assert marks >= 40, "each constant of section 7 carries a mark: [assumption], [source] or [convention]"


def _plain(value):
    """Tuples as lists, recursively, so that (0.2, 0.5) in the text equals the code's (0.2, 0.5) or [0.2, 0.5]."""
    return [_plain(v) for v in value] if isinstance(value, list | tuple) else value


def test_constant_values_quoted_in_the_odd_are_those_of_the_code(odd):
    constants = {c.name: c for c in docs.model_constants()}
    quoted = re.findall(r"`([A-Z][A-Z0-9_]*) = ([^`]+)`", _handwritten(odd))
    checked = 0
    for name, text in quoted:
        if name not in constants:
            continue
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            assert " ".join(text.split()) == " ".join(constants[name].source.split()), (name, text)
        else:
            assert _plain(value) == _plain(getattr(model_module, name)), (
                f"docs/ODD.md says {name} = {text}, the code {constants[name].source}"
            )
        checked += 1
    assert checked >= 3, "the ODD should quote the constants' values as `NAME = value`"


# ---------------------------------------------------------------------------- structure and outputs
def test_the_odd_has_the_seven_elements_and_the_design_concepts_in_order(odd):
    headings = [line.lstrip("#").strip() for line in odd.splitlines() if line.startswith("#")]

    def position(title: str) -> int:
        hits = [i for i, h in enumerate(headings) if re.sub(r"^[\d.]+\s*", "", h).startswith(title)]
        assert hits, f"no heading '{title}'"
        return hits[0]

    positions = [position(t) for t in ELEMENTS]
    assert positions == sorted(positions), "ODD elements out of order"
    concepts = [position(t) for t in DESIGN_CONCEPTS]
    assert concepts == sorted(concepts) and positions[3] < concepts[0] < concepts[-1] < positions[4]


def test_every_output_and_summary_output_is_listed(odd):
    outputs, summary = _block(odd, "outputs"), _block(odd, "summary")
    assert all(f"`{name}`" in outputs for name in OUTPUTS)
    assert all(f"`{name}`" in summary for name in SUMMARY_OUTPUTS)


# ---------------------------------------------------------------------------- the command
def test_check_exits_1_on_a_stale_table_and_write_makes_it_current(odd, tmp_path, capsys):
    doc = tmp_path / "ODD.md"
    stale = odd.replace("| `trust_decay` | interpersonal | 0.02 |", "| `trust_decay` | interpersonal | 0.05 |")
    assert stale != odd
    doc.write_text(stale, encoding="utf-8")
    assert docs.main(["--check", str(doc)]) == 1
    err = capsys.readouterr().err
    assert "out of date" in err and "parameters" in err and "--write" in err
    assert docs.main(["--write", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == odd
    assert docs.main(["--check", str(doc)]) == 0


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("<!-- BEGIN GENERATED: constants -->", ""), "marker without its partner"),
        (lambda t: t.replace("<!-- END GENERATED: parameters -->", ""), "is closed by"),
        (lambda t: _GENERATED.sub(lambda m: "" if m[1] == "parameters" else m[0], t), "missing generated block"),
        (lambda t: t + "\n<!-- BEGIN GENERATED: nonsense -->\n<!-- END GENERATED: nonsense -->\n", "unknown"),
    ],
)
def test_check_refuses_a_document_whose_blocks_cannot_be_read(odd, tmp_path, capsys, edit, message):
    doc = tmp_path / "ODD.md"
    doc.write_text(edit(odd), encoding="utf-8")
    assert docs.main(["--check", str(doc)]) == 1
    assert message in capsys.readouterr().err
    assert docs.main(["--write", str(doc)]) == 1


def test_python_m_model_docs_check_passes_on_the_shipped_odd():
    done = subprocess.run(
        [sys.executable, "-m", "model.docs", "--check", str(ODD)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr

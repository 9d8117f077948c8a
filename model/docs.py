"""Tables of the ODD model description (docs/ODD.md), generated from the code.

The parameter schema, the output definitions, the constants at the top of
``model/model.py`` and the stakeholder-type tables of ``model/agents.py`` are the
single source of truth; docs/ODD.md holds copies of them between markers::

    <!-- BEGIN GENERATED: parameters -->
    ...
    <!-- END GENERATED: parameters -->

``python -m model.docs --write docs/ODD.md`` refreshes every marked table in
place; ``python -m model.docs --check docs/ODD.md`` exits 1 when one is out of
date (or missing), so a test or CI step can keep the document true to the code.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import re
import sys
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model import agents
from model import model as model_module
from model.outputs import OUTPUT_MEANINGS, SUMMARY_MEANINGS
from model.parameters import LEVELS, PARAMETERS, STAKEHOLDER_TYPES, Parameter

MODEL_SOURCE: Path = Path(model_module.__file__)
_CONSTANT_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_BLOCK = re.compile(
    r"<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- END GENERATED: (?P<end>[\w-]+) -->",
    re.DOTALL,
)
_TOOL_COMMENT = re.compile(r"(fmt|noqa|type|pragma|ruff)\b", re.IGNORECASE)  # directives, not explanations
_MARKER = re.compile(r"<!-- (BEGIN|END) GENERATED: [\w-]+ -->")


class DocsError(ValueError):
    """A document whose generated blocks cannot be read (unbalanced, unknown, duplicated or missing)."""


# ---------------------------------------------------------------------------- cells
def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _number(x: float | None) -> str:
    if x is None:
        return "-"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _default(p: Parameter) -> str:
    if p.kind is dict:
        return "from type_diversity" if p.default is None else ", ".join(f"{k}: {v:g}" for k, v in p.default.items())
    if p.kind is int:
        return str(int(p.default))
    return repr(float(p.default))


def _bounds(p: Parameter) -> str:
    if p.kind is dict:
        return "weights by type"
    return f"[{_number(p.low)}, {_number(p.high)}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- tables
def parameters_in_table_order() -> list[Parameter]:
    """Every parameter, grouped by level (in the order of LEVELS), schema order within a level."""
    return [p for level in LEVELS for p in PARAMETERS.values() if p.level == level]


def parameter_table_markdown() -> str:
    """The parameter table: name, level, default, bounds, unit, meaning (from the schema)."""
    rows = [(f"`{p.name}`", p.level, _default(p), _bounds(p), p.unit, p.meaning) for p in parameters_in_table_order()]
    return _table(("name", "level", "default", "bounds", "unit", "meaning"), rows)


def outputs_table_markdown() -> str:
    """The per-step outputs (DataCollector columns), in output order."""
    return _table(("output", "meaning"), [(f"`{k}`", v) for k, v in OUTPUT_MEANINGS.items()])


def summary_table_markdown() -> str:
    """The run-summary outputs, in summary order (the summary also carries the seed and every parameter)."""
    return _table(("summary output", "meaning"), [(f"`{k}`", v) for k, v in SUMMARY_MEANINGS.items()])


@dataclass(frozen=True)
class Constant:
    """One upper-case constant defined at module level in model/model.py."""

    name: str
    source: str  # the right-hand side as written (whitespace runs collapsed)
    value: Any  # the value the running model uses
    comment: str  # the comment at the end of its line ("" if none)


def model_constants(path: Path = MODEL_SOURCE) -> list[Constant]:
    """The upper-case module-level constants of model/model.py, in the order they are defined."""
    source = path.read_text(encoding="utf-8")
    trailing: dict[int, str] = {}  # comments at the end of a line of code
    whole: dict[int, str] = {}  # comments on a line of their own
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            (whole if tok.line.strip().startswith("#") else trailing)[tok.start[0]] = text

    def comment(node: ast.stmt) -> str:
        text = trailing.get(node.end_lineno or node.lineno, "")
        if text and not _TOOL_COMMENT.match(text):
            return text
        return whole.get(node.lineno - 1, "")  # the comment line just above, if any

    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and _CONSTANT_NAME.fullmatch(target.id):
            found.append(
                Constant(
                    name=target.id,
                    source=" ".join((ast.get_source_segment(source, value) or "").split()),
                    value=getattr(model_module, target.id, None),
                    comment=comment(node),
                )
            )
    return found


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False
    return True


def constants_table_markdown() -> str:
    """The constants of the mechanics at the top of model/model.py: name, value, the code's comment."""
    rows = []
    for c in model_constants():
        value = f"`{c.source}`" if _is_literal(c.source) else f"`{c.source}` = `{c.value!r}`"
        rows.append((f"`{c.name}`", value, c.comment))
    return _table(("constant", "value", "comment in model/model.py"), rows)


def types_table_markdown() -> str:
    """Stakeholder types: power, stake and resource profile (shares of the endowment by kind)."""
    header = ("type", "power", "stake", *(f"{k}" for k in agents.RESOURCE_KINDS))
    rows = [
        (
            f"`{t}`",
            f"{agents.TYPE_POWER[i]:.2f}",
            f"{agents.TYPE_STAKE[i]:.2f}",
            *(f"{x:.3f}" for x in agents.TYPE_PROFILES[i]),
        )
        for i, t in enumerate(STAKEHOLDER_TYPES)
    ]
    return _table(header, rows)


def kinds_table_markdown() -> str:
    """What each resource kind can be turned to: the ten targets (KIND_TO_TARGET, columns sum to 1)."""
    header = ("resource kind", *agents.DIMENSIONS, *(f"ability to {a}" for a in agents.ABILITIES))
    rows = [(f"`{k}`", *(f"{x:.3f}" for x in agents.KIND_TO_TARGET[i])) for i, k in enumerate(agents.RESOURCE_KINDS)]
    return _table(header, rows)


def scenarios_table_markdown() -> str:
    """The shipped scenarios: name, what they set, source (case-like ones cite the study)."""
    from model.scenarios import list_scenarios, read_scenario

    rows = []
    for name, _ in list_scenarios():
        scenario = read_scenario(name)
        values = []
        for key, value in scenario.overrides.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v:g}" for k, v in value.items())
                values.append(f"`{key}` = {{{value}}}")
            else:
                values.append(f"`{key}` = {value:g}" if isinstance(value, int | float) else f"`{key}` = {value}")
        rows.append((f"`{name}`", "; ".join(values) or "(defaults)", scenario.source or "synthetic"))
    return _table(("scenario", "parameters set", "source"), rows)


BLOCKS: dict[str, Callable[[], str]] = {
    "parameters": parameter_table_markdown,
    "outputs": outputs_table_markdown,
    "summary": summary_table_markdown,
    "constants": constants_table_markdown,
    "types": types_table_markdown,
    "kinds": kinds_table_markdown,
    "scenarios": scenarios_table_markdown,
}


# ---------------------------------------------------------------------------- blocks
def _body(table: str) -> str:
    return "\n" + table.rstrip("\n") + "\n\n"


def generated_blocks(text: str) -> dict[str, str]:
    """The generated blocks of a document: name -> table (as it stands in the document).

    Raises DocsError for a marker without its partner, a block closed under another
    name, an unknown block name or a block that appears twice.
    """
    blocks: dict[str, str] = {}
    spans = []
    for m in _BLOCK.finditer(text):
        name = m["name"]
        if m["end"] != name:
            raise DocsError(f"block '{name}' is closed by 'END GENERATED: {m['end']}'")
        if name not in BLOCKS:
            raise DocsError(f"unknown generated block '{name}'; known: {', '.join(BLOCKS)}")
        if name in blocks:
            raise DocsError(f"generated block '{name}' appears twice")
        blocks[name] = m["body"].strip("\n") + "\n"
        spans.append(m.span())
    for m in _MARKER.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            raise DocsError(f"marker without its partner: {m.group(0)}")
    return blocks


def render(text: str, required: Sequence[str] = tuple(BLOCKS)) -> str:
    """The document with every generated block replaced by the table generated from the code."""
    present = generated_blocks(text)
    missing = [name for name in required if name not in present]
    if missing:
        raise DocsError(
            "missing generated block(s): "
            + ", ".join(missing)
            + " (add '<!-- BEGIN GENERATED: name -->' and '<!-- END GENERATED: name -->' lines)"
        )

    def replace(m: re.Match) -> str:
        name = m["name"]
        return f"<!-- BEGIN GENERATED: {name} -->\n{_body(BLOCKS[name]())}<!-- END GENERATED: {name} -->"

    return _BLOCK.sub(replace, text)


def stale_blocks(text: str, required: Sequence[str] = tuple(BLOCKS)) -> list[str]:
    """Names of the generated blocks whose table differs from the code (raises DocsError when unreadable)."""
    present = generated_blocks(text)
    render(text, required)  # raises for missing blocks
    return [name for name, table in present.items() if table != BLOCKS[name]()]


# ---------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m model.docs --write FILE`` or ``--check FILE`` (exit 1 when out of date)."""
    parser = argparse.ArgumentParser(
        prog="python -m model.docs",
        description="Refresh or check the tables of docs/ODD.md that are generated from the code.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="FILE", type=Path, help="replace the generated tables in FILE")
    action.add_argument("--check", metavar="FILE", type=Path, help="exit 1 if a generated table in FILE is stale")
    action.add_argument("--print", metavar="BLOCK", choices=list(BLOCKS), help="print one generated table")
    args = parser.parse_args(argv)

    if args.print:
        sys.stdout.write(BLOCKS[args.print]())
        return 0
    path: Path = args.write or args.check
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        if args.check:
            stale = stale_blocks(text)
            if stale:
                print(
                    f"{path} is out of date: generated table(s) {', '.join(stale)} differ from the code; "
                    f"run: python -m model.docs --write {path}",
                    file=sys.stderr,
                )
                return 1
            print(f"{path}: generated tables are up to date ({', '.join(BLOCKS)})")
            return 0
        new = render(text)
    except DocsError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 1
    if new != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(new, encoding="utf-8")
        os.replace(tmp, path)
        print(f"{path}: generated tables rewritten")
    else:
        print(f"{path}: generated tables already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

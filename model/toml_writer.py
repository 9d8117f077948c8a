"""A small TOML writer for the files the project writes (scenarios, case files, ``calibrated.toml``).

It writes what those files hold and nothing more: strings, booleans, integers,
finite floats, arrays of these (or of arrays), tables and arrays of tables. The
output always re-reads with :mod:`tomllib` to the same values (tested).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
ARRAY_LINE = 100  # arrays longer than this (as text) are written one item per line


def key(name: str) -> str:
    """A TOML key: bare when it can be, quoted otherwise."""
    return name if BARE_KEY.match(name) else string(name)


def string(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML escapes).

    JSON leaves DEL (U+007F) as it is, which TOML forbids in a string: it is escaped too.
    """
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def value(v: Any) -> str:
    """A TOML value for a scalar or an array."""
    if hasattr(v, "item") and not isinstance(v, str | bytes | Mapping | Sequence):  # numpy scalar
        v = v.item()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v!r}: only finite numbers are written")
        text = repr(v)
        return text if any(c in text for c in ".eEn") else text + ".0"
    if isinstance(v, str):
        return string(v)
    if isinstance(v, Sequence) or hasattr(v, "tolist"):
        items = [value(x) for x in (v.tolist() if hasattr(v, "tolist") else v)]
        one_line = "[" + ", ".join(items) + "]"
        if len(one_line) <= ARRAY_LINE:
            return one_line
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    raise TypeError(f"cannot write a {type(v).__name__} as a TOML value")


def _is_table(v: Any) -> bool:
    return isinstance(v, Mapping)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def dumps(doc: Mapping[str, Any], header: str = "", comments: Mapping[str, str] | None = None) -> str:
    """``doc`` as TOML text, with ``header`` as leading comment lines.

    ``comments`` maps a table's dotted name (``"structure"``, ``"targets"``) to a
    comment written above it.
    """
    lines: list[str] = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    if lines:
        lines.append("")
    _table(doc, (), lines, comments or {})
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def _table(doc: Mapping[str, Any], path: tuple[str, ...], lines: list[str], comments: Mapping[str, str]) -> None:
    for k, v in doc.items():
        if v is None or _is_table(v) or _is_table_array(v):
            continue
        lines.append(f"{key(k)} = {value(v)}")
    for k, v in doc.items():
        sub = (*path, k)
        dotted = ".".join(sub)
        if _is_table(v):
            if lines and lines[-1] != "":
                lines.append("")
            if dotted in comments:
                lines.extend(f"# {line}".rstrip() for line in comments[dotted].splitlines())
            lines.append("[" + ".".join(key(p) for p in sub) + "]")
            _table(v, sub, lines, comments)
        elif _is_table_array(v):
            if dotted in comments:
                if lines and lines[-1] != "":
                    lines.append("")
                lines.extend(f"# {line}".rstrip() for line in comments[dotted].splitlines())
            for item in v:
                if lines and lines[-1] != "":
                    lines.append("")
                lines.append("[[" + ".".join(key(p) for p in sub) + "]]")
                _table(item, sub, lines, comments)

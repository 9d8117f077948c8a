"""Errors about a user's input file: they name the file, the field, the value and what is allowed."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any


class InputFileError(ValueError):
    """An input file (scenario, sweep spec, ...) that cannot be used.

    ``path`` is the file (None when there is no file, e.g. an unknown scenario name);
    ``field``, ``value`` and ``allowed`` describe the offending entry when there is one.
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        field: str | None = None,
        value: Any = None,
        allowed: str | None = None,
    ):
        self.path = str(path) if path is not None else None
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{self.path}: {message}" if self.path else message)


def file_kind(path: Path, error: Callable[..., Exception] = InputFileError) -> str:
    """'file', 'folder', 'missing' or 'other' (a device, a socket); a path that cannot even be looked up
    (a NUL byte, a name too long, no permission on a folder on the way) raises ``error(message, path=path)``.

    ``Path.exists()`` itself raises for those (ValueError, or OSError such as ENAMETOOLONG).
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except ValueError:
        raise error("cannot be a file name (it holds a NUL character)", path=repr(str(path))) from None
    except OSError as exc:
        raise error(f"cannot look it up: {exc.strerror or exc}", path=path) from None
    if stat.S_ISREG(st.st_mode):
        return "file"
    return "folder" if stat.S_ISDIR(st.st_mode) else "other"


def read_toml(path: Path, error: Callable[..., Exception] = InputFileError) -> dict[str, Any]:
    """Read a TOML file; an unreadable, non-UTF-8 or malformed file raises ``error(message, path=path)``."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from None
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    try:
        return tomllib.loads(text)
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise error("malformed TOML: arrays or tables nested too deeply", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)  # tomllib's message ends with '(at line L, column C)' when it knows
        if not re.search(r"line \d+", message):
            message += " (position unknown)"
        raise error(f"malformed TOML: {message}", path=path) from None

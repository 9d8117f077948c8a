"""Errors about a user's input file: they name the file, the field, the value and what is allowed."""

from __future__ import annotations

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

"""The files a workshop page may take in: a visitor's upload, and the facilitator's scenario folder.

No web code here. A visitor gives the page a file only by upload (or drop) and
takes one only by download: no field of the page names a path on the server.
A facilitator who wants files on the server names one folder when starting
(``phc-synergy viz --scenarios DIR``); the page lists the ``*.toml`` files
directly inside it, by name, and can open nothing else.

Errors about these files name the file (by the name the visitor or facilitator
gave it), the scenario-format field and the problem, never a path on the server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

# A scenario file is a few kB (a calibrated one with its posterior, tens of kB): 1 MiB is ample,
# and refusing beyond it keeps one visitor from filling the server's memory.
UPLOAD_LIMIT_BYTES = 1024 * 1024
UPLOAD_LIMIT_WORDS = "1 MiB"

# The environment variable through which `phc-synergy viz --scenarios DIR` hands the folder to the
# page's server process (an absolute, resolved path; unset: no folder, only uploads and shipped scenarios).
SCENARIOS_DIR_ENV = "PHC_SYNERGY_SCENARIOS_DIR"


class FileRefused(ValueError):
    """A file the page will not take; the message says why in words and names no server path."""


def display_name(name: object) -> str:
    """A visitor's file name as the page shows it: the last part only, odd characters replaced."""
    base = re.split(r"[\\/]", str(name))[-1]
    cleaned = re.sub(r"[^A-Za-z0-9 _.()+-]", "_", base).strip().lstrip(".")
    return cleaned[:80] or "scenario.toml"


def read_upload(info: Mapping[str, Any], limit: int = UPLOAD_LIMIT_BYTES) -> bytes:
    """The bytes of a file given to the page (solara's FileInfo: name, size, file_obj or data), at most ``limit``.

    The size the browser announces is checked before anything is read; the read
    itself stops one byte past the limit, so a browser that announced less than it
    sends is refused too, without the rest being read.
    """
    name = display_name(info.get("name", ""))
    refused = FileRefused(
        f"{name} is larger than {UPLOAD_LIMIT_WORDS}: a scenario file is a few kB; choose the scenario file itself"
    )
    announced = info.get("size")
    if isinstance(announced, int) and announced > limit:
        raise refused
    data = info.get("data")
    if data is None:
        file_obj: BinaryIO | None = info.get("file_obj")
        if file_obj is None:
            raise FileRefused(f"{name}: the file could not be read from the browser; drop or choose it again")
        try:
            data = file_obj.read(limit + 1)
        except Exception:  # noqa: BLE001  the browser went away or the file changed (ipyvuetify raises plain Exception)
            raise FileRefused(f"{name}: the file could not be read from the browser; drop or choose it again") from None
    if len(data) > limit:
        raise refused
    return bytes(data)


class ScenarioFolder:
    """The facilitator's folder of scenario files: lists and opens only regular ``*.toml`` files directly inside it.

    A name with a path separator, ``..`` or a leading dot is refused, and so is a
    symbolic link that leads out of the folder (a link to another file inside it is
    followed). What is opened is the resolved file that was checked.
    """

    def __init__(self, folder: str | Path):
        self.root = check_folder(folder)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ScenarioFolder | None:
        """The folder named by ``PHC_SYNERGY_SCENARIOS_DIR`` (set by ``phc-synergy viz --scenarios``), or None."""
        value = (os.environ if env is None else env).get(SCENARIOS_DIR_ENV, "")
        if not value:
            return None
        try:
            return cls(value)
        except FileRefused:  # the folder went away since the server started: the page offers uploads only
            return None

    def names(self) -> list[str]:
        """The scenario files that can be opened, by name, sorted."""
        try:
            entries = sorted(os.listdir(self.root))
        except OSError:
            return []
        return [name for name in entries if self._target(name) is not None]

    def read(self, name: str, limit: int = UPLOAD_LIMIT_BYTES) -> bytes:
        """The bytes of one listed file (FileRefused for any other name, or a file over ``limit``)."""
        target = self._target(name)
        if target is None:
            raise FileRefused("that is not one of the scenario files of this workshop")  # the asked name is not echoed
        try:
            with open(target, "rb") as handle:
                data = handle.read(limit + 1)
        except OSError:
            raise FileRefused(f"{display_name(name)}: the file cannot be read now") from None
        if len(data) > limit:
            raise FileRefused(f"{display_name(name)} is larger than {UPLOAD_LIMIT_WORDS}: it is not a scenario file")
        return data

    def _target(self, name: str) -> Path | None:
        """The resolved file behind ``name`` when it may be opened, else None."""
        if not isinstance(name, str) or not name.endswith(".toml") or name.startswith("."):
            return None
        if "/" in name or "\\" in name or "\0" in name or os.sep in name or (os.altsep and os.altsep in name):
            return None
        try:
            target = (self.root / name).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, a dangling or looping link
            return None
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        return target


def check_folder(folder: str | Path) -> Path:
    """The folder, resolved; FileRefused saying what is wrong when it is not an existing folder."""
    text = str(folder)
    if not text.strip():
        raise FileRefused("--scenarios '': expected the path of a folder of scenario files (.toml)")
    try:
        path = Path(text).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise FileRefused(f"--scenarios {text!r}: no such folder") from None
    if not path.is_dir():
        raise FileRefused(f"--scenarios {text!r} is not a folder: give the folder that holds the scenario files")
    if not os.access(path, os.R_OK | os.X_OK):
        raise FileRefused(f"--scenarios {text!r}: the folder cannot be read")
    return path

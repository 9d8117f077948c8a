"""The evaluators' tables: their formats, reading and checking them, and their summaries for calibration.

Three tables can be a case's observations (``[tables]`` in a case file; docs/CALIBRATION.md):

``survey`` (one row per answer to one item)
    ``wave`` month the wave was asked (months since the partnership's start);
    ``respondent`` any id (anonymised is fine); ``type`` the respondent's stakeholder
    type (optional: may be empty); ``section`` a survey section (``SECTIONS``: the
    PSAT's ten, plus ``trust``, ``mistrust``, ``communication``); ``item`` the item's number in its
    section, from 1; ``answer`` 1-5, or empty or ``dk`` for "don't know".
``attendance`` (one row per member per meeting)
    ``month`` of the meeting; ``person`` the member's id; ``type`` their stakeholder
    type; ``attended`` 1 or 0 (``yes``/``no``, ``true``/``false``).
``roster`` (one row per person who held a seat)
    ``person`` id; ``organisation`` id of the organisation they represented; ``type``
    stakeholder type; ``joined`` month; ``left`` month, or empty if still a member at
    the end of the period.

A fourth, ``milestones`` (``month``, ``target``, ``level``), is written by ``observe``
for evaluators' reports; calibration does not use it yet.

:func:`summarise` turns tables into the statistics calibration compares (section
means per wave with their sampling error, respondents per wave, attendance by type
and by year, people, members at the end, departures by type, tenure of those who
left and by type); observed and simulated tables are summarised by the same function.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calibration.observe import (
    MILESTONE_LEVELS,
    PSAT_SECTIONS,
    SECTION_INDEX,
    SECTION_NAMES,
    SECTIONS,
    TARGET_NAMES,
    Evaluation,
)
from model.parameters import STAKEHOLDER_TYPES

TABLE_KINDS: tuple[str, ...] = ("survey", "attendance", "roster")  # what a case can calibrate against
COLUMNS: dict[str, tuple[str, ...]] = {
    "survey": ("wave", "respondent", "type", "section", "item", "answer"),
    "attendance": ("month", "person", "type", "attended"),
    "roster": ("person", "organisation", "type", "joined", "left"),
    "milestones": ("month", "target", "level"),
}
OPTIONAL_COLUMNS = {"survey": {"type"}}
# The column dictionary written beside each table (experiments.columns): meaning, unit; the type is the table's.
COLUMN_MEANINGS: dict[str, dict[str, tuple[str, str]]] = {
    "survey": {
        "wave": ("month the survey wave was asked (months since the partnership's start)", "month"),
        "respondent": ("the respondent's id", ""),
        "type": ("the respondent's stakeholder type (may be empty)", ""),
        "section": ("the survey section: the PSAT's ten, or trust, mistrust, communication", ""),
        "item": ("the item's number in its section, from 1", ""),
        "answer": ("the answer, 1 (lowest) to 5; empty for don't know", "Likert 1-5"),
    },
    "attendance": {
        "month": ("month of the meeting", "month"),
        "person": ("the member's id", ""),
        "type": ("the member's stakeholder type", ""),
        "attended": ("1 if the member came, else 0", "0 or 1"),
    },
    "roster": {
        "person": ("the person's id", ""),
        "organisation": ("the organisation they represented", ""),
        "type": ("their stakeholder type", ""),
        "joined": ("month they took the seat", "month"),
        "left": ("month they left; empty if still a member at the end of the period", "month"),
    },
    "milestones": {
        "month": ("month the level was first reached", "month"),
        "target": ("the implementation target: service:<accessibility dimension> or ability:<people's ability>", ""),
        "level": ("the share of the target's solution in place that was reached (0.25, 0.5 or 0.75)", "share 0-1"),
    },
}
DONT_KNOW = ("", "dk", "don't know", "dont know", "na")
YES, NO = ("1", "yes", "true", "y"), ("0", "no", "false", "n")

# sampling errors are never taken below these (a table too small to show its own spread)
SE_FLOOR = {"mean": 0.05, "share": 0.02, "count": 1.0, "months": 1.0}


class TableError(ValueError):
    """A table that cannot be used: names the file, the row, the field, the value and what is allowed."""


# ------------------------------------------------------------------ designs (what was collected)
@dataclass(frozen=True)
class Design:
    """What an evaluation collected: which tables, the survey's waves and sections, the attendance months."""

    tables: tuple[str, ...]
    waves: tuple[int, ...] = ()
    sections: tuple[tuple[str, int], ...] = ()  # (section, items asked)

    def evaluator_sections(self) -> dict[str, int]:
        return dict(self.sections) if self.sections else dict(SECTIONS)

    def describe(self) -> str:
        parts = []
        for kind in self.tables:
            if kind == "survey":
                parts.append(f"survey ({len(self.waves)} wave{'s' * (len(self.waves) != 1)}:"
                             f" {', '.join(map(str, self.waves))}; {len(self.sections) or len(SECTIONS)} sections)")
            else:
                parts.append(kind)
        return " + ".join(parts) if parts else "nothing"


def design_of(evaluation: Evaluation, tables: Iterable[str]) -> Design:
    """The design an evaluation's tables show (waves and sections from the survey)."""
    tables = tuple(t for t in TABLE_KINDS if t in set(tables))
    waves: tuple[int, ...] = ()
    sections: tuple[tuple[str, int], ...] = ()
    if "survey" in tables:
        s = evaluation.survey
        waves = tuple(int(w) for w in np.unique(s["wave"]))
        sections = tuple((SECTION_NAMES[i], int(s["item"][s["section"] == i].max()))
                         for i in np.unique(s["section"]).tolist())
    return Design(tables=tables, waves=waves, sections=sections)


DESIGN_PARTS = ("roster", "attendance", "survey", "survey1", "psat", "psat1")


def parse_design(text: str, full: Design) -> Design:
    """A design named like ``roster+survey1+attendance``, within what ``full`` collected.

    ``survey`` is every wave of ``full``, ``survey1`` its first wave only; ``psat`` and
    ``psat1`` the same with only the PSAT's ten sections (no trust, mistrust or communication scales).
    """
    parts = [p.strip() for p in text.split("+") if p.strip()]
    if not parts:
        raise ValueError(f"design {text!r}: name one or more of {', '.join(DESIGN_PARTS)} joined by '+'")
    for part in parts:
        if part not in DESIGN_PARTS:
            raise ValueError(f"design {text!r}: unknown part {part!r}; allowed: {', '.join(DESIGN_PARTS)}")
        kind = "survey" if part.startswith(("survey", "psat")) else part
        if kind not in full.tables:
            raise ValueError(f"design {text!r}: the case has no {kind} table to take {part!r} from")
    surveys = [p for p in parts if p.startswith(("survey", "psat"))]
    if len(surveys) > 1:
        raise ValueError(f"design {text!r}: give one of survey, survey1, psat, psat1, not {' and '.join(surveys)}")
    tables = tuple(t for t in TABLE_KINDS if t in {"survey" if p in surveys else p for p in parts})
    if not surveys:
        return Design(tables=tables)
    first = surveys[0].endswith("1")
    sections = full.sections
    if surveys[0].startswith("psat"):
        sections = tuple((name, items) for name, items in sections if name in PSAT_SECTIONS)
    return Design(tables=tables, waves=full.waves[:1] if first else full.waves, sections=sections)


def restrict(evaluation: Evaluation, design: Design) -> Evaluation:
    """The part of an evaluation a design collected."""
    survey = evaluation.survey
    if "survey" in design.tables:
        asked = [SECTION_INDEX[name] for name, _ in design.sections]
        keep = np.isin(survey["wave"], design.waves) & np.isin(survey["section"], asked)
        survey = {k: v[keep] for k, v in survey.items()}
    else:
        survey = {k: v[:0] for k, v in survey.items()}
    attendance = evaluation.attendance if "attendance" in design.tables else {
        k: v[:0] for k, v in evaluation.attendance.items()}
    roster = evaluation.roster if "roster" in design.tables else {k: v[:0] for k, v in evaluation.roster.items()}
    return Evaluation(survey, attendance, roster, evaluation.milestones, evaluation.steps, dict(evaluation.meta))


# ------------------------------------------------------------------ summaries
@dataclass(frozen=True)
class Statistic:
    """One summary of a table: its name, value and sampling error (nan when the tables cannot give it)."""

    key: str  # e.g. survey:leadership@24
    table: str
    value: float
    se: float
    kind: str  # mean, share, count or months (its SE floor)


def _mean_se(values: np.ndarray, kind: str) -> tuple[float, float]:
    if values.size == 0:
        return math.nan, math.nan
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), max(sd / math.sqrt(values.size), SE_FLOOR[kind])


def survey_statistics(survey: dict[str, np.ndarray], design: Design) -> list[Statistic]:
    """Per wave: respondents, and each section's mean over respondents of their mean answer ("don't know" left out)."""
    out: list[Statistic] = []
    waves = np.asarray(design.waves)
    sections = np.array([SECTION_INDEX[name] for name, _ in design.sections], dtype=np.int64)
    wave_at = np.searchsorted(waves, survey["wave"])
    asked = (wave_at < waves.size) & (waves[np.minimum(wave_at, waves.size - 1)] == survey["wave"])
    # one group per (wave, section, respondent) with an answer: each respondent's mean answer to the section
    rows = asked & (survey["answer"] > 0)
    key = (wave_at[rows] * len(SECTIONS) + survey["section"][rows]) * (int(survey["respondent"].max(initial=0)) + 1)
    groups, inverse = np.unique(key + survey["respondent"][rows], return_inverse=True)
    means = np.bincount(inverse, weights=survey["answer"][rows].astype(float)) / np.bincount(inverse)
    cell = groups // (int(survey["respondent"].max(initial=0)) + 1)  # wave x section of each respondent mean
    for w, wave in enumerate(design.waves):
        n = np.unique(survey["respondent"][asked & (wave_at == w)]).size
        out.append(Statistic(f"survey:respondents@{wave}", "survey", float(n), max(math.sqrt(n), 1.0), "count"))
        for name, section in zip((name for name, _ in design.sections), sections, strict=True):
            value, se = _mean_se(means[cell == w * len(SECTIONS) + section], "mean")
            out.append(Statistic(f"survey:{name}@{wave}", "survey", value, se, "mean"))
    return out


def _share_se(attended: np.ndarray, person: np.ndarray) -> tuple[float, float]:
    """A share of records, with its sampling error clustered by person (a ratio estimator)."""
    if attended.size == 0:
        return math.nan, math.nan
    p = float(attended.mean())
    who, inverse = np.unique(person, return_inverse=True)
    n_p = np.bincount(inverse, minlength=who.size).astype(float)
    a_p = np.bincount(inverse, weights=attended.astype(float), minlength=who.size)
    clustered = math.sqrt(float(np.sum((a_p - p * n_p) ** 2))) / float(n_p.sum())
    binomial = math.sqrt(p * (1 - p) / attended.size)
    return p, max(clustered, binomial, SE_FLOOR["share"])


def attendance_statistics(attendance: dict[str, np.ndarray], steps: int, types: Sequence[int]) -> list[Statistic]:
    """Attendance by stakeholder type over the period, and of everyone by year."""
    out: list[Statistic] = []
    attended, person, month, kind = attendance["attended"], attendance["person"], attendance["month"], attendance["type"]
    for t in types:
        rows = kind == t
        value, se = _share_se(attended[rows], person[rows])
        out.append(Statistic(f"attendance:{STAKEHOLDER_TYPES[t]}@{steps}", "attendance", value, se, "share"))
    for end in range(12, steps + 1, 12):
        rows = (month > end - 12) & (month <= end)
        value, se = _share_se(attended[rows], person[rows])
        out.append(Statistic(f"attendance:all@{end}", "attendance", value, se, "share"))
    return out


def roster_statistics(roster: dict[str, np.ndarray], steps: int, types: Sequence[int]) -> list[Statistic]:
    """People who held a seat, members at the end, departures by type, months in the seat of those who left, and
    tenure by type (months each person of the type held their seat, up to the end of the period)."""
    left = roster["left"] >= 0
    people = float(roster["person"].size)
    members = float(np.sum(~left))
    out = [
        Statistic(f"roster:people@{steps}", "roster", people, max(math.sqrt(people), 1.0), "count"),
        Statistic(f"roster:members@{steps}", "roster", members, max(math.sqrt(members), 1.0), "count"),
    ]
    for t in types:
        n = float(np.sum(left & (roster["type"] == t)))
        out.append(Statistic(f"roster:departures:{STAKEHOLDER_TYPES[t]}@{steps}", "roster", n,
                             max(math.sqrt(n), 1.0), "count"))
    tenure = (roster["left"] - roster["joined"])[left].astype(float)
    value, se = _mean_se(tenure, "months")
    out.append(Statistic(f"roster:tenure@{steps}", "roster", value, se, "months"))
    held = (np.where(left, roster["left"], steps) - roster["joined"]).astype(float)  # months in the seat so far
    for t in types:
        value, se = _mean_se(held[roster["type"] == t], "months")
        out.append(Statistic(f"roster:tenure:{STAKEHOLDER_TYPES[t]}@{steps}", "roster", value, se, "months"))
    return out


def summarise(evaluation: Evaluation, design: Design, types: Sequence[int] | None = None) -> list[Statistic]:
    """The statistics of an evaluation under a design.

    ``types``: the stakeholder types whose attendance and departures are summarised
    (the observed tables' types; by default those in the evaluation's own tables).
    """
    if types is None:
        found = set(evaluation.roster["type"].tolist()) | set(evaluation.attendance["type"].tolist())
        types = sorted(found)
    out: list[Statistic] = []
    if "survey" in design.tables:
        out += survey_statistics(evaluation.survey, design)
    if "attendance" in design.tables:
        out += attendance_statistics(evaluation.attendance, evaluation.steps, types)
    if "roster" in design.tables:
        out += roster_statistics(evaluation.roster, evaluation.steps, types)
    return out


def statistic_values(evaluation: Evaluation, design: Design, types: Sequence[int]) -> dict[str, float]:
    """The statistics' values by key (what a simulation returns to calibration)."""
    return {s.key: s.value for s in summarise(evaluation, design, types)}


# ------------------------------------------------------------------ writing
def table_rows(evaluation: Evaluation, kind: str) -> Iterable[list[Any]]:
    """A table's rows as an evaluator's spreadsheet shows them (names, empty cells)."""
    t = getattr(evaluation, kind)
    if kind == "survey":
        for w, r, ty, s, i, a in zip(*(t[c] for c in COLUMNS[kind]), strict=True):
            yield [int(w), f"R{int(r)}", STAKEHOLDER_TYPES[ty], SECTION_NAMES[s], int(i), "dk" if a == 0 else int(a)]
    elif kind == "attendance":
        for m, p, ty, a in zip(*(t[c] for c in COLUMNS[kind]), strict=True):
            yield [int(m), f"P{int(p)}", STAKEHOLDER_TYPES[ty], int(a)]
    elif kind == "roster":
        for p, o, ty, j, left in zip(*(t[c] for c in COLUMNS[kind]), strict=True):
            yield [f"P{int(p)}", f"O{int(o)}", STAKEHOLDER_TYPES[ty], int(j), "" if left < 0 else int(left)]
    else:
        for m, target, level in zip(*(t[c] for c in COLUMNS[kind]), strict=True):
            yield [int(m), TARGET_NAMES[target], MILESTONE_LEVELS[level]]


def frame(evaluation: Evaluation, kind: str):
    """A table as a pandas DataFrame (for Parquet and for users)."""
    import pandas as pd

    df = pd.DataFrame(list(table_rows(evaluation, kind)), columns=list(COLUMNS[kind]))
    if kind == "survey":
        df["answer"] = pd.to_numeric(df["answer"].replace("dk", None)).astype("Int64")
    if kind == "roster":
        df["left"] = pd.to_numeric(df["left"].replace("", None)).astype("Int64")
    return df


# ------------------------------------------------------------------ reading and checking
def read_tables(paths: dict[str, Path], steps: int, where: Path) -> Evaluation:
    """Read and check the tables a case names; ids become numbers (consistent across the tables)."""
    ids: dict[str, int] = {}
    tables: dict[str, dict[str, np.ndarray]] = {}
    for kind in TABLE_KINDS:
        if kind in paths:
            tables[kind] = _read(kind, paths[kind], steps, ids)
        else:
            tables[kind] = {c: np.zeros(0, dtype=np.int64) for c in COLUMNS[kind]}
    if "roster" in paths and "attendance" in paths:
        known = set(tables["roster"]["person"].tolist())
        rows = tables["attendance"]
        for line, person in enumerate(rows["person"].tolist(), start=2):
            if person not in known:
                name = next(k for k, v in ids.items() if v == person)
                raise TableError(f"{paths['attendance']}: line {line}: person: {name!r} is not in the roster"
                                 f" ({paths['roster'].name}); allowed: a person listed in the roster")
    milestones = {c: np.zeros(0, dtype=np.int64) for c in COLUMNS["milestones"]}
    return Evaluation(tables["survey"], tables["attendance"], tables["roster"], milestones, steps,
                      {"source": str(where)})


def _read(kind: str, path: Path, steps: int, ids: dict[str, int]) -> dict[str, np.ndarray]:
    def fail(line: int, fld: str, value: Any, allowed: str, problem: str = "") -> TableError:
        return TableError(f"{path}: line {line}: {fld}: {value!r} {problem or 'is not allowed'}; allowed: {allowed}")

    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise TableError(f"{path}: cannot read the {kind} table: {exc.strerror or exc}") from None
    columns = COLUMNS[kind]
    rows: list[list[int]] = []
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise TableError(f"{path}: the {kind} table is empty; allowed: a header line ({','.join(columns)})"
                             " and rows") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise TableError(f"{path}: line 1: not a CSV text file ({exc})") from None
        required = [c for c in columns if c not in OPTIONAL_COLUMNS.get(kind, set())]
        for c in required:
            if c not in header:
                raise TableError(f"{path}: line 1: column {c!r} is missing; allowed: the columns"
                                 f" {','.join(columns)}")
        for h in header:
            if h not in columns:
                raise TableError(f"{path}: line 1: column {h!r} is unknown; allowed: the columns"
                                 f" {','.join(columns)}")
        if len(set(header)) != len(header):
            raise TableError(f"{path}: line 1: a column is named twice; allowed: each of {','.join(columns)} once")
        at = {c: header.index(c) for c in header}
        parse = ROW_PARSERS[kind]
        try:
            for line, raw in enumerate(reader, start=2):
                if not any(cell.strip() for cell in raw):
                    continue
                if len(raw) != len(header):
                    raise TableError(f"{path}: line {line}: {len(raw)} cells for {len(header)} columns;"
                                     f" allowed: one cell per column ({','.join(header)})")
                cells = {c: raw[i].strip() for c, i in at.items()}
                rows.append(parse(cells, steps, ids, lambda fld, v, allowed, problem="", line=line:
                                  fail(line, fld, v, allowed, problem)))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise TableError(f"{path}: not a CSV text file ({exc})") from None
    if not rows:
        raise TableError(f"{path}: the {kind} table has no rows; allowed: at least one row under the header")
    table = np.array(rows, dtype=np.int64).reshape(-1, len(columns))
    out = {c: table[:, i] for i, c in enumerate(columns)}
    if kind == "roster":
        _, counts = np.unique(out["person"], return_counts=True)
        if (counts > 1).any():
            dup = int(np.unique(out["person"])[counts > 1][0])
            name = next(k for k, v in ids.items() if v == dup)
            line = 2 + int(np.nonzero(out["person"] == dup)[0][1])
            raise fail(line, "person", name, "each person once in the roster", "is listed twice")
    return out


Fail = Callable[..., TableError]


def _month(cells: dict[str, str], fld: str, steps: int, fail: Fail, empty_ok: bool = False) -> int:
    text = cells[fld]
    allowed = f"a whole month in [0, {steps}] (months since the start; the case's period, settings.steps)"
    if text == "" and empty_ok:
        return -1
    try:
        value = float(text)
    except ValueError:
        raise fail(fld, text, allowed + (", or empty" if empty_ok else "")) from None
    if not math.isfinite(value) or not value.is_integer():
        raise fail(fld, text, allowed)
    if not 0 <= value <= steps:
        raise fail(fld, text, allowed, "is outside the period")
    return int(value)


def _id(cells: dict[str, str], fld: str, ids: dict[str, int], fail: Fail, prefix: str = "") -> int:
    text = cells[fld]
    if text == "":
        raise fail(fld, text, "a non-empty id", "is empty")
    return ids.setdefault(prefix + text, len(ids) + 1)


def _type(cells: dict[str, str], fail: Fail, optional: bool = False) -> int:
    text = cells.get("type", "")
    if text == "" and optional:
        return 0
    if text not in STAKEHOLDER_TYPES:
        raise fail("type", text, "one of " + ", ".join(STAKEHOLDER_TYPES))
    return STAKEHOLDER_TYPES.index(text)


def _survey_row(cells: dict[str, str], steps: int, ids: dict[str, int], fail: Fail) -> list[int]:
    wave = _month(cells, "wave", steps, fail)
    respondent = _id(cells, "respondent", ids, fail, "respondent:")
    kind = _type(cells, fail, optional=True)
    section = cells["section"]
    if section not in SECTIONS:
        raise fail("section", section, "one of " + ", ".join(SECTIONS), "is not a known section")
    items = SECTIONS[section]
    item_text = cells["item"]
    try:
        item = int(item_text)
    except ValueError:
        item = 0
    if not 1 <= item <= items:
        raise fail("item", item_text, f"a whole number in [1, {items}] (the items of {section})")
    text = cells["answer"].lower()
    if text in DONT_KNOW:
        answer = 0
    else:
        try:
            answer = int(text)
        except ValueError:
            answer = -1
        if not 1 <= answer <= 5:
            raise fail("answer", cells["answer"], "1, 2, 3, 4 or 5, or empty or dk for \"don't know\"")
    return [wave, respondent, kind, SECTION_INDEX[section], item, answer]


def _attendance_row(cells: dict[str, str], steps: int, ids: dict[str, int], fail: Fail) -> list[int]:
    month = _month(cells, "month", steps, fail)
    person = _id(cells, "person", ids, fail)
    kind = _type(cells, fail)
    text = cells["attended"].lower()
    if text not in YES + NO:
        raise fail("attended", cells["attended"], "1 or 0 (yes or no, true or false)")
    return [month, person, kind, int(text in YES)]


def _roster_row(cells: dict[str, str], steps: int, ids: dict[str, int], fail: Fail) -> list[int]:
    person = _id(cells, "person", ids, fail)
    organisation = _id(cells, "organisation", ids, fail, "organisation:")
    kind = _type(cells, fail)
    joined = _month(cells, "joined", steps, fail)
    left = _month(cells, "left", steps, fail, empty_ok=True)
    if 0 <= left < joined:
        raise fail("left", cells["left"], f"a month >= joined ({joined}), or empty", "is before the person joined")
    return [person, organisation, kind, joined, left]


ROW_PARSERS = {"survey": _survey_row, "attendance": _attendance_row, "roster": _roster_row}


# ------------------------------------------------------------------ a case file for observed tables
DEFAULT_CALIBRATE = ("leadership", "coordination", "communication", "trust_gain", "individual_turnover")


def case_document(evaluation: Evaluation, params: dict[str, Any], given: dict[str, Any], name: str,
                  files: dict[str, str], calibrate: Sequence[str] = DEFAULT_CALIBRATE) -> dict[str, Any]:
    """The case file of an observed run: its tables, labelled synthetic, with the true values in its provenance.

    ``given``: the parameters the scenario and the user set (the case's [structure], but
    for the calibrated ones); ``params``: every parameter of the run (the truth).
    """
    from model.parameters import PARAMETERS

    meta = evaluation.meta
    structure = {k: v for k, v in given.items() if k not in calibrate and k != "steps" and v is not None}
    truth = {k: params[k] for k in calibrate}
    return {
        "name": name,
        "description": f"Synthetic evaluation data made by phc-synergy observe from one run (seed {meta['seed']});"
                       " not observed data.",
        "provenance": {
            "citation": f"Synthetic: made by 'phc-synergy observe' (calibration/observe.py) from one run of the model"
                        f" with seed {meta['seed']}; not observed data.",
            "observed": f"Survey waves at months {', '.join(map(str, meta['waves']))} (PSAT sections, the trust, mistrust and"
                        " communication scales), attendance at every meeting, the roster, milestones; as a virtual"
                        " evaluator records them (docs/ODD.md 4.11.1).",
            "period": f"months 0-{evaluation.steps} of the simulated partnership",
            "synthetic": True,
            "generated": {
                "seed": int(meta["seed"]),
                "observation_seed": int(meta["observation_seed"]),
                "waves": [int(w) for w in meta["waves"]],
                "truth": {k: float(v) if PARAMETERS[k].kind is float else v for k, v in truth.items()},
                "parameters": {k: v for k, v in params.items() if v is not None and k != "composition"},
                **({"composition": params["composition"]} if params.get("composition") else {}),
            },
        },
        "structure": structure,
        "tables": files,
        "settings": {"steps": int(evaluation.steps), "calibrate": list(calibrate)},
    }

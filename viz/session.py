"""One visitor's workshop: settings, the running model, interventions and the export (no web code here).

The page (``viz/app.py``) makes one :class:`WorkshopSession` per browser tab; every
method is safe to call from the page's threads (the model is stepped under
``session.lock``).
"""

from __future__ import annotations

import datetime as _dt
import math
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from model.errors import InputFileError
from model.model import FIXED_AT_START, PartnershipModel
from model.parameters import DEFAULTS, PARAMETERS, STAKEHOLDER_TYPES, ParameterError, validate_parameters
from model.scenarios import Scenario, list_scenarios, load_scenario, read_scenario, scenario_from_doc, shipped_paths
from model.seeds import SEED_RULE, parse_seed
from model.toml_writer import dumps
from viz.labels import parameter_label, type_label

DEFAULT_SCENARIO = "default"
DEFAULT_SEED = 1
SPRING_LAYOUT_MAX_SEATS = 300  # above this, seats sit on a spiral (a spring layout would take seconds)
# Settings that only a new run can take (the table, the cohort, the horizon) besides the model's own list.
AT_RESET = frozenset(FIXED_AT_START) | {"steps"}
SHOCK_SEVERITY = 0.5  # default severity of the "system shock now" intervention
UPLOADED = "your file"  # where a scenario loaded from bytes came from, in the page's words
FROM_FOLDER = "this workshop's files"


class SessionError(ValueError):
    """Something the visitor asked for that cannot be done; the message says why, in words."""


@dataclass
class Snapshot:
    """What the views draw, copied under the lock: month, horizon, series, seats, ties and marks."""

    month: int
    horizon: int
    series: dict[str, np.ndarray]
    seat_state: list[str]  # 'occupied', 'vacant' or 'closed', by seat
    seat_type: list[str]
    engagement: np.ndarray
    lead_seat: int | None
    edges: list[tuple[int, int, float]]
    positions: np.ndarray  # (seats, 2)
    marks: list[tuple[int, str]]
    dissolved: bool


@dataclass
class Intervention:
    """An intervention done during the run: the month it was done, its kind and argument."""

    month: int
    kind: str  # 'shock', 'coordinator', 'key_partner', 'recruit'
    arg: Any = None


@dataclass
class WorkshopSession:
    """Settings (parameters, seed, scenario), the model built from them, and what was done to it."""

    scenario: str = DEFAULT_SCENARIO
    seed: int = DEFAULT_SEED
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        self.model: PartnershipModel | None = None
        self.positions = np.zeros((0, 2))
        self.param_marks: list[tuple[int, str]] = []
        self.interventions: list[Intervention] = []
        self.pending: set[str] = set()  # settings changed that take effect at the next reset
        self.notice: tuple[str, str] = ("info", "Press Play, or Step through the months one at a time.")
        self.builds = 0
        self._snapshot: tuple[object, Snapshot] | None = None
        self.load(self.scenario)

    # ------------------------------------------------------------------ scenarios and settings
    def load(self, name_or_path: str | Path) -> None:
        """Load a shipped scenario or a scenario file and start a new run with it (SessionError if it cannot).

        For Python users and tests: the page never passes a visitor's text here (it
        uses :meth:`load_shipped` and :meth:`load_bytes`), so no path comes from a browser.
        """
        text = str(name_or_path).strip()
        if not text:
            raise SessionError("type the path of a scenario file (.toml)")
        try:
            scenario = read_scenario(text)
            params = load_scenario(text)
        except InputFileError as exc:
            raise SessionError(str(exc)) from None
        self._start(text, scenario, params)

    def load_shipped(self, name: str) -> None:
        """Load one of the shipped scenarios by name; any other text is refused without looking at files."""
        if not is_shipped(name):
            raise SessionError(f"{str(name)[:40]!r} is not a shipped scenario; they are {', '.join(shipped_paths())}")
        self.load(name)

    def load_bytes(self, data: bytes, file_name: str, origin: str = UPLOADED) -> None:
        """Load a scenario from a file's bytes (an upload, or a file of the scenario folder), named ``file_name``.

        Nothing is written to disk or read from it. Errors name ``file_name``, the field
        of the scenario format and the problem, and quote only this file's own values.
        ``origin`` says, in the page's words, where the file came from.
        """
        scenario, params = scenario_from_bytes(data, file_name)
        self._start(source_label(file_name, origin), scenario, params)

    def _start(self, label: str, scenario: Scenario, params: dict[str, Any]) -> None:
        self.scenario = label
        self.scenario_info = scenario
        self.base_params = params
        self.params = dict(params)
        self.reset()

    def posterior_draws(self, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` complete parameter sets of the loaded scenario, posterior particles drawn by weight (as
        ``model.scenarios.posterior_draws`` does from a file: draw k for replicate k)."""
        if self.posterior is None:
            raise SessionError("this scenario carries no posterior")
        return [validate_parameters({**self.base_params, **draw}) for draw in self.posterior.sample(n, seed)]

    @property
    def posterior(self) -> Any:
        """The loaded scenario's calibration posterior, or None."""
        return getattr(self.scenario_info, "posterior", None)

    def set_parameter(self, name: str, value: Any) -> str:
        """Change a setting (text as typed, or a number); returns what happened, raises SessionError if refused.

        Settings that shape the table, the cohort or the horizon take effect at the next
        reset; the others change the running model now (marked on the plots).
        """
        p = PARAMETERS[name]
        if isinstance(value, str):
            value = value.strip()
            if p.kind is dict and value in ("", "none", "None"):
                value = None
        try:
            checked = p.validate(value)
            new = validate_parameters({**self.params, name: checked})
        except ParameterError as exc:
            raise SessionError(_refusal(exc)) from None
        old = self.params[name]
        if _same(old, new[name]):
            return "unchanged"
        self.params = new
        with self.lock:
            model = self.model
            live = name not in AT_RESET and model is not None and model.running
            if live:
                try:
                    model.set_parameter(name, new[name])
                except ParameterError:
                    live = False
            if live:
                self.pending.discard(name)
                if model.steps > 0:
                    mark = (model.steps, f"{parameter_label(name)}: {_show(new[name])}")
                    last = self.param_marks[-1] if self.param_marks else None
                    if last and last[0] == model.steps and last[1].startswith(parameter_label(name) + ":"):
                        self.param_marks[-1] = mark  # a slider dragged: one mark per setting and month
                    else:
                        self.param_marks.append(mark)
                return "applied now"
        self.pending.add(name)
        return "takes effect when you press Reset"

    def set_seed(self, value: Any) -> str:
        """Change the seed (the one seed rule of model.seeds); it takes effect at the next reset."""
        text = str(value).strip()
        seed = parse_seed(text)
        if seed is None:
            raise SessionError(f"seed = {text[:40]!r} is not allowed: {SEED_RULE}")
        if seed == self.seed:
            return "unchanged"
        self.seed = seed
        self.pending.add("seed")
        return "takes effect when you press Reset"

    def changed_settings(self) -> dict[str, Any]:
        """Settings that differ from the loaded scenario's."""
        return {k: v for k, v in self.params.items() if not _same(v, self.base_params.get(k))}

    # ------------------------------------------------------------------ the run
    def reset(self) -> None:
        """A new run from the current settings and seed (the old model is dropped)."""
        model = PartnershipModel(seed=self.seed, **self.params)
        positions = seat_positions(model.network(), self.seed)
        with self.lock:
            self.model = None  # drop the old model before anything else refers to it
            self.model = model
            self.positions = positions
            self.param_marks = []
            self.interventions = []
            self.pending = set()
            self.builds += 1

    @property
    def month(self) -> int:
        return self.model.steps if self.model is not None else 0

    @property
    def horizon(self) -> int:
        return self.model.horizon if self.model is not None else self.params["steps"]

    @property
    def finished(self) -> bool:
        return self.model is None or not self.model.running

    def step(self, months: int = 1) -> int:
        """Run ``months`` more months (stopping at the horizon); returns the month reached."""
        with self.lock:
            model = self.model
            for _ in range(months):
                if not model.running:
                    break
                model.step()
            return model.steps

    # ------------------------------------------------------------------ interventions
    def _intervene(self, kind: str, arg: Any, action) -> str:
        with self.lock:
            model = self.model
            if not model.running:
                raise SessionError("the run has reached its last month: press Reset to start again")
            try:
                result = action(model)
            except ParameterError as exc:
                raise SessionError(_refusal(exc)) from None
            self.interventions.append(Intervention(model.steps, kind, arg))
            return f"Month {model.steps}: {result}"

    def shock(self, severity: float = SHOCK_SEVERITY) -> str:
        """A system shock now (reform or funding cut) of this severity (0-1)."""
        try:
            severity = PARAMETERS["shock_severity"].validate(severity)
        except ParameterError as exc:
            raise SessionError(_refusal(exc)) from None
        return self._intervene(
            "shock", severity, lambda m: (m.apply_shock(severity), f"system shock ({severity:.0%} severity)")[1]
        )

    def add_coordinator(self) -> str:
        """A dedicated coordinator joins (coordination to at least 0.9)."""
        return self._intervene("coordinator", None, lambda m: (m.add_coordinator(), "a dedicated coordinator joined")[1])

    def key_partner_leaves(self) -> str:
        """The most connected member leaves."""

        def act(m: PartnershipModel) -> str:
            seat = m.remove_key_partner()
            if seat is None:
                raise ParameterError("key partner", None, "a member at the table; nobody holds a seat")
            return f"the key partner in seat {seat} left"

        return self._intervene("key_partner", None, act)

    def recruit(self, stakeholder_type: str = "patient_partner") -> str:
        """A new member of this type takes an empty seat."""

        def act(m: PartnershipModel) -> str:
            seat = m.recruit_member(stakeholder_type)
            return f"a {type_label(stakeholder_type).lower()} joined (seat {seat})"

        return self._intervene("recruit", stakeholder_type, act)

    def notify(self, kind: str, text: str) -> None:
        """Set the notice shown to the visitor: kind 'info', 'success' or 'error'."""
        self.notice = (kind, text)

    # ------------------------------------------------------------------ views
    def snapshot_for(self, key: object) -> Snapshot:
        """The snapshot, taken once per ``key`` (the page's refresh count): the four views share it."""
        with self.lock:
            cached = self._snapshot
            if cached is None or cached[0] != (key, self.builds, self.month):
                cached = ((key, self.builds, self.month), self.snapshot())
                self._snapshot = cached
            return cached[1]

    def marks(self) -> list[tuple[int, str]]:
        """(month, words) of everything done during the run: interventions, planned shocks, setting changes."""
        out = [(month, _event_words(text)) for month, text in self.model.events]
        out += self.param_marks
        return sorted(out, key=lambda m: m[0])

    def snapshot(self) -> Snapshot:
        """A copy of what the views draw, taken under the lock."""
        with self.lock:
            model = self.model
            graph = model.network()
            states = [graph.nodes[s]["state"] for s in graph.nodes]
            types = [graph.nodes[s]["stakeholder_type"] for s in graph.nodes]
            engagement = np.array([graph.nodes[s]["engagement"] for s in graph.nodes])
            lead = next((s for s in graph.nodes if (a := graph.nodes[s]["agent"]) is not None and a.is_lead), None)
            edges = [(int(u), int(v), float(w)) for u, v, w in graph.edges(data="weight")]
            return Snapshot(
                month=model.steps,
                horizon=model.horizon,
                series=model.series(),
                seat_state=states,
                seat_type=types,
                engagement=engagement,
                lead_seat=lead,
                edges=edges,
                positions=self.positions,
                marks=self.marks(),
                dissolved=model.dissolved,
            )

    # ------------------------------------------------------------------ export
    def export_toml(self, name: str = "workshop", description: str = "") -> str:
        """The current settings as a scenario file (every parameter), for ``run``, ``sweep`` and this page."""
        name = name.strip() or "workshop"
        description = description.strip() or f"Settings from the workshop page, starting from '{self.scenario_info.name}'."
        return scenario_toml(
            name,
            description,
            self.params,
            source=f"phc-synergy workshop page, from scenario '{self.scenario_info.name}'",
            comments=self._export_comments(),
        )

    def _export_comments(self) -> list[str]:
        when = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        lines = [
            f"Exported from the phc-synergy workshop page on {when}; the run there used seed {self.seed}.",
            f"Replay: phc-synergy run --scenario THIS_FILE --seed {self.seed}",
        ]
        changed = self.changed_settings()
        if changed:
            lines.append(
                "Changed from '" + self.scenario_info.name + "': "
                + ", ".join(f"{k} = {_show(v)}" for k, v in changed.items())
            )
        if self.interventions:
            lines.append(
                "Interventions made during that run (not part of a scenario): "
                + "; ".join(f"month {i.month} {i.kind}" + (f" {_show(i.arg)}" if i.arg is not None else "")
                            for i in self.interventions)
            )
        if self.posterior is not None:
            lines.append("The calibration posterior of the loaded scenario is not copied: these are single values.")
        return lines

    def close(self) -> None:
        """Drop the model (the page calls this when the browser tab goes away)."""
        with self.lock:
            self.model = None


# ---------------------------------------------------------------------- helpers
def scenario_choices() -> list[tuple[str, str]]:
    """(name, description) of the shipped scenarios."""
    return list_scenarios()


def source_label(file_name: str, origin: str) -> str:
    """How the page names a scenario loaded from a file: 'NAME (ORIGIN)'."""
    return f"{file_name} ({origin})"


def is_shipped(name: object) -> bool:
    return isinstance(name, str) and name in shipped_paths()


def scenario_from_bytes(data: bytes, file_name: str) -> tuple[Scenario, dict[str, Any]]:
    """A scenario file's bytes, checked as ``load_scenario`` checks a file: (its Scenario, its complete parameters).

    Parsed in memory, so nothing of the server (no path, no other file) can enter a
    message: each names ``file_name``, the field and the problem, quoting only this file.
    """
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SessionError(f"{file_name}: not UTF-8 text ({exc.reason} at byte {exc.start}): not a scenario file") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SessionError(f"{file_name}: malformed TOML: {exc}") from None
    try:
        scenario = scenario_from_doc(doc, Path(file_name))
    except InputFileError as exc:
        raise SessionError(str(exc)) from None
    try:
        params = validate_parameters(scenario.overrides, strict=True)  # numbers as numbers, as from a file
    except ParameterError as exc:  # worded as model.scenarios words it for a file
        raise SessionError(f"{file_name}: [parameters] {exc.name} = {exc.value!r} is not allowed: {exc.allowed}") from None
    return scenario, params


def seat_positions(graph: nx.Graph, seed: int) -> np.ndarray:
    """Where each seat is drawn, (seats, 2) in [-1, 1]: computed once per run so the picture stays put.

    Up to SPRING_LAYOUT_MAX_SEATS seats: a spring layout (fixed seed) over every seat,
    empty ones too, pulled by the ties at the start plus a weak pull between all seats
    (so seats without ties stay near the table). Larger tables: a sunflower spiral.
    """
    n = graph.number_of_nodes()
    if n == 0:
        return np.zeros((0, 2))
    if n == 1:
        return np.zeros((1, 2))
    if n > SPRING_LAYOUT_MAX_SEATS:
        k = np.arange(n) + 0.5
        r = np.sqrt(k / n)
        theta = k * math.pi * (3.0 - math.sqrt(5.0))
        return np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    weights = np.full((n, n), 0.05)
    for u, v, w in graph.edges(data="weight"):
        weights[u, v] = weights[v, u] = 0.05 + float(w)
    np.fill_diagonal(weights, 0.0)
    layout_graph = nx.from_numpy_array(weights)
    pos = nx.spring_layout(layout_graph, weight="weight", seed=int(seed) % (2**32), iterations=100)
    xy = np.array([pos[i] for i in range(n)], dtype=float)
    xy -= xy.mean(axis=0)
    scale = np.abs(xy).max()
    return xy / scale if scale > 0 else xy


def scenario_toml(
    name: str, description: str, params: dict[str, Any], source: str | None = None, comments: list[str] | None = None
) -> str:
    """A scenario file (model/scenarios.py format) setting every parameter in ``params``."""
    checked = validate_parameters(params)
    parameters = {key: checked[key] for key in PARAMETERS if key != "composition"}
    composition = checked.get("composition")
    if composition is not None:
        parameters["composition"] = {t: composition[t] for t in STAKEHOLDER_TYPES if t in composition}
    doc = {"name": str(name), "description": str(description), "source": source, "parameters": parameters}
    return dumps(doc, header="\n".join(comments or []))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return a == b


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}:{_show(v)}" for k, v in value.items())
    return str(value)


def _refusal(exc: ParameterError) -> str:
    """A ParameterError in words for the page: the value and what is allowed."""
    head, _, part = str(exc.name).partition(".")
    label = parameter_label(head) if head in PARAMETERS else str(exc.name)
    if part:
        label += f", {type_label(part) if part in STAKEHOLDER_TYPES else part}"
    return f"{exc.value!r} is not allowed for '{label}': {exc.allowed}"


def _event_words(text: str) -> str:
    """The model's event strings in plain words."""
    if text.startswith("shock"):
        try:
            return f"System shock ({float(text.split()[1]):.0%})"
        except (IndexError, ValueError):
            return "System shock"
    if text == "coordinator added":
        return "Coordinator joined"
    if text.startswith("key partner left"):
        return "Key partner left"
    if text.endswith(" recruited"):
        return type_label(text[: -len(" recruited")]) + " joined"
    if text == "dissolved":
        return "Partnership dissolved"
    return text


def default_text(name: str, params: dict[str, Any] | None = None) -> str:
    """How a parameter's value is shown in its field."""
    value = (params or DEFAULTS)[name]
    if value is None:
        return ""
    return _show(value)
